//! Checks of the options against each other and against the function. Each problem is
//! reported at the token that causes it.

use syn::spanned::Spanned;

use crate::Errors;
use crate::ast::TracedFn;
use crate::attr::{MacroKind, Options};

pub(crate) fn validate(kind: MacroKind, options: &Options, function: &TracedFn, errors: &mut Errors) {
    let attribute = kind.attribute();
    let fn_name = &function.sig.ident;

    if let Some(constness) = &function.sig.constness {
        errors.push(syn::Error::new(
            constness.span(),
            format!(
                "#[{attribute}] cannot trace a `const fn`: recording reads the clock and the task's context at run time"
            ),
        ));
    }

    if let Some(capture_self) = options.capture_self.as_ref().filter(|setting| setting.value) {
        if !function.has_receiver() {
            errors.push(syn::Error::new(
                capture_self.span,
                format!("`capture_self` needs a method that takes `self`; `{fn_name}` does not"),
            ));
        }
        if let Some(skip_self) = options.skip.iter().find(|name| *name == "self") {
            errors.push(syn::Error::new(
                skip_self.span(),
                "`self` cannot be both skipped and captured (`capture_self`)",
            ));
        }
    }

    let bindings = function.bindings();
    for skipped in &options.skip {
        if !bindings.iter().any(|binding| binding.ident == *skipped) {
            let names: Vec<String> = bindings.iter().map(|binding| binding.ident.to_string()).collect();
            let known = if names.is_empty() {
                "it has none".to_owned()
            } else {
                format!("its parameters are: {}", names.join(", "))
            };
            errors.push(syn::Error::new(
                skipped.span(),
                format!("`{skipped}` is not a parameter of `{fn_name}`; {known}"),
            ));
        }
    }

    let no_args = options
        .skip_all
        .as_ref()
        .filter(|s| s.value)
        .map(|s| (s.span, "skip_all"))
        .or_else(|| {
            options
                .capture_args
                .as_ref()
                .filter(|s| !s.value)
                .map(|s| (s.span, "capture_args = false"))
        });
    if let Some((_, what)) = no_args {
        for skipped in &options.skip {
            errors.push(syn::Error::new(
                skipped.span(),
                format!("`skip({skipped})` has no effect with `{what}`; remove one"),
            ));
        }
        if let Some(capture_self) = options.capture_self.as_ref().filter(|s| s.value) {
            errors.push(syn::Error::new(
                capture_self.span,
                format!("`capture_self` has no effect with `{what}`; remove one"),
            ));
        }
    }
    if let (Some(skip_all), Some(capture_args)) = (options.skip_all.as_ref(), options.capture_args.as_ref())
        && skip_all.value
        && !capture_args.value
    {
        errors.push(syn::Error::new(
            capture_args.span,
            "`skip_all` and `capture_args = false` say the same thing; keep one",
        ));
    }

    if let (Some(name), Some(auto)) = (options.timestep_name.as_ref(), options.auto_timestep.as_ref())
        && !auto.value
    {
        errors.push(syn::Error::new(
            name.span,
            "`timestep_name` names the timesteps that `auto_timestep` opens; remove `auto_timestep = false`",
        ));
    }

    if let (Some(filter), Some(capture)) = (options.result_filter.as_ref(), options.capture_result.as_ref())
        && !capture.value
    {
        errors.push(syn::Error::new(
            filter.span,
            "`result_filter` has no effect with `capture_result = false`; remove one",
        ));
    }

    let stream_alias = options.stream.as_ref().is_some_and(|s| s.value);
    if let Some(replay) = &options.replay {
        if kind == MacroKind::Bundle {
            errors.push(syn::Error::new(
                replay.span,
                "a #[bundle] call is not replayed: it returns a node of the graph, which a recording cannot give back",
            ));
        } else if replay.value
            && let Err(reason) = match function.returned_items(stream_alias) {
                Some(_) => function.items_replayable(),
                None => function.replayed_type().map(drop),
            }
        {
            errors.push(syn::Error::new(
                replay.span,
                format!("`replay` cannot answer `{fn_name}`: {reason}"),
            ));
        }
    }
    let item_options = [
        options.stream.as_ref().filter(|s| s.value).map(|s| (s.span, "stream")),
        options.stream_errors.as_ref().map(|s| (s.span, "stream_errors")),
        options.accumulate.as_ref().map(|s| (s.span, "accumulate")),
    ];
    for (span, option) in item_options.into_iter().flatten() {
        let problem = if kind == MacroKind::Bundle {
            Some("a #[bundle] call is a node of the value it returns, not of a stream's items".to_owned())
        } else if function.returned_items(stream_alias).is_none() {
            Some(match &function.sig.output {
                syn::ReturnType::Default => format!("`{fn_name}` returns nothing"),
                syn::ReturnType::Type(_, ty) if option == "stream" => {
                    format!("`{fn_name}` returns `{}`", type_text(ty))
                }
                syn::ReturnType::Type(_, ty) => format!(
                    "`{fn_name}` returns `{}` (for an alias of a boxed stream, add `stream`)",
                    type_text(ty)
                ),
            })
        } else {
            None
        };
        if let Some(problem) = problem {
            errors.push(syn::Error::new(
                span,
                format!("`{option}` applies to a function that returns a stream or an iterator; {problem}"),
            ));
        }
    }
}

/// A type as the user wrote it, near enough: its tokens without the spaces `quote` puts
/// around punctuation.
fn type_text(ty: &syn::Type) -> String {
    let text = quote::ToTokens::to_token_stream(ty).to_string();
    let mut tidy = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let glued =
            c == ' ' && (matches!(next, Some('<' | '>' | ',' | ':' | ')')) || tidy.ends_with(['<', '(', '&', ':']));
        if !glued {
            tidy.push(c);
        }
    }
    tidy
}
