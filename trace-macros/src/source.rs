//! The exact source text of a function, for `#[bundle(trainable)]`.
//!
//! Read from the file the spans point into, from the first token of the function (after
//! its attributes) to its closing brace, so that the text is what the user wrote —
//! comments and layout included — not a re-printed token stream. Where the file cannot be
//! read (an editor's macro expansion, a generated file), the text is the signature as
//! tokens and the body as its span reports it.

use proc_macro2::Span;
use quote::ToTokens;

use crate::ast::{Body, TracedFn};

pub(crate) fn function_text(function: &TracedFn) -> String {
    from_file(function).unwrap_or_else(|| {
        let signature = {
            let vis = &function.vis;
            let sig = &function.sig;
            quote::quote!(#vis #sig).to_string()
        };
        let body = body_span(&function.body)
            .unwrap()
            .source_text()
            .unwrap_or_else(|| function.body.to_token_stream().to_string());
        format!("{signature} {body}")
    })
}

fn body_span(body: &Body) -> Span {
    match body {
        Body::Parsed(block) => block.brace_token.span.join(),
        Body::Raw(group) => group.span(),
    }
}

fn from_file(function: &TracedFn) -> Option<String> {
    let vis = function.vis.to_token_stream();
    let first = vis
        .into_iter()
        .chain(function.sig.to_token_stream())
        .next()?
        .span()
        .unwrap();
    let last = body_span(&function.body).unwrap();
    let path = first.local_file()?;
    if last.local_file()? != path {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let start = offset(&text, first.start().line(), first.start().column())?;
    let end = offset(&text, last.end().line(), last.end().column())?;
    text.get(start..end).map(str::to_owned)
}

/// The byte offset of a line and column as `proc_macro` counts them: both from 1, the
/// column in characters.
fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let column = column.checked_sub(1)?;
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2).map(|(index, _)| index + 1)?
    };
    let rest = &text[line_start..];
    let within = rest.char_indices().nth(column).map_or(rest.len(), |(index, _)| index);
    Some(line_start + within)
}
