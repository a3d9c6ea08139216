//! Parsing a traced function's attribute into [`Options`].
//!
//! Every option is stored with the span of its key, set at most once (a second setting is
//! reported at its own key), and checked for the type of its value. Problems are collected,
//! not returned at the first one, so the user sees them all at once.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitStr, Path, Token};

use crate::Errors;

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacroKind {
    Agent,
    Environment,
    Runtime,
    Llm,
    Tool,
    Bundle,
}

impl MacroKind {
    /// The attribute's name, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            MacroKind::Agent => "trace_agent",
            MacroKind::Environment => "trace_env",
            MacroKind::Runtime => "trace_runtime",
            MacroKind::Llm => "trace_llm_call",
            MacroKind::Tool => "trace_tool_call",
            MacroKind::Bundle => "bundle",
        }
    }

    /// The `EventKind` variant it records.
    pub(crate) fn event_kind(self) -> &'static str {
        match self {
            MacroKind::Agent => "Agent",
            MacroKind::Environment => "Environment",
            MacroKind::Runtime => "Runtime",
            MacroKind::Llm => "Llm",
            MacroKind::Tool => "Tool",
            MacroKind::Bundle => "Bundle",
        }
    }

    /// The system id when none is given.
    pub(crate) fn default_system_id(self) -> &'static str {
        match self {
            MacroKind::Agent | MacroKind::Llm | MacroKind::Tool => "agent",
            MacroKind::Environment => "environment",
            MacroKind::Runtime => "runtime",
            MacroKind::Bundle => "bundle",
        }
    }

    /// Every attribute.
    const ALL: [MacroKind; 6] = [
        MacroKind::Agent,
        MacroKind::Environment,
        MacroKind::Runtime,
        MacroKind::Llm,
        MacroKind::Tool,
        MacroKind::Bundle,
    ];

    /// The options this attribute accepts, in the order the docs list them.
    fn options(self) -> Vec<&'static str> {
        let mut options = COMMON_OPTIONS.to_vec();
        match self {
            MacroKind::Llm => options.extend(["model", "provider"]),
            MacroKind::Tool => options.extend(["tool", "call_id"]),
            MacroKind::Bundle => options.extend(["trainable", "description"]),
            MacroKind::Agent | MacroKind::Environment | MacroKind::Runtime => {}
        }
        options
    }
}

const COMMON_OPTIONS: &[&str] = &[
    "system_id",
    "name",
    "skip",
    "skip_all",
    "capture_self",
    "capture_args",
    "capture_result",
    "arg_filter",
    "result_filter",
    "metadata",
    "message",
    "auto_timestep",
    "timestep_name",
    "include_timing",
    "include_memory",
    "error_handler",
    "fields",
    "stream",
    "stream_errors",
    "accumulate",
    "replay",
    "crate",
];

/// An option's value and the span of its key; set once.
pub(crate) struct Setting<T> {
    pub(crate) span: Span,
    pub(crate) value: T,
}

fn set_once<T>(slot: &mut Option<Setting<T>>, key: &Ident, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(syn::Error::new(key.span(), format!("duplicate option `{key}`")));
    } else {
        *slot = Some(Setting {
            span: key.span(),
            value,
        });
    }
}

/// What the attribute said.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) system_id: Option<Setting<Text>>,
    pub(crate) name: Option<Setting<Text>>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) skip_all: Option<Setting<bool>>,
    pub(crate) capture_self: Option<Setting<bool>>,
    pub(crate) capture_args: Option<Setting<bool>>,
    pub(crate) capture_result: Option<Setting<bool>>,
    pub(crate) arg_filter: Option<Setting<Path>>,
    pub(crate) result_filter: Option<Setting<Path>>,
    pub(crate) metadata: Option<Setting<Path>>,
    pub(crate) message: Option<Setting<Path>>,
    pub(crate) auto_timestep: Option<Setting<bool>>,
    pub(crate) timestep_name: Option<Setting<LitStr>>,
    pub(crate) include_timing: Option<Setting<bool>>,
    pub(crate) include_memory: Option<Setting<bool>>,
    pub(crate) error_handler: Option<Setting<Path>>,
    pub(crate) krate: Option<Setting<Path>>,
    pub(crate) model: Option<Setting<Text>>,
    pub(crate) provider: Option<Setting<Text>>,
    pub(crate) tool: Option<Setting<Text>>,
    pub(crate) trainable: Option<Setting<bool>>,
    pub(crate) description: Option<Setting<LitStr>>,
    /// `stream`: the return type is a boxed stream's alias.
    pub(crate) stream: Option<Setting<bool>>,
    /// `stream_errors = "continue"`: an `Err` item does not end the call.
    pub(crate) stream_errors: Option<Setting<bool>>,
    /// `accumulate = Type`: the items' output, by the user's `Accumulate` impl.
    pub(crate) accumulate: Option<Setting<Path>>,
    /// `fields(key = expr, ..)`: metadata computed from the arguments when a call starts.
    pub(crate) fields: Vec<Field>,
    /// `replay = bool`: whether a replay answers the call (default: LLM and tool calls).
    pub(crate) replay: Option<Setting<bool>>,
}

/// One `key = expr` of `fields(..)`.
pub(crate) struct Field {
    /// The metadata key: the identifiers as written, joined by dots (`user.id`), or a
    /// string literal's text.
    pub(crate) key: String,
    pub(crate) span: Span,
    pub(crate) value: Expr,
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (key, span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else {
            let first = Ident::parse_any(input)?;
            let span = first.span();
            let mut key = first.to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                key.push('.');
                key.push_str(&Ident::parse_any(input)?.to_string());
            }
            (key, span)
        };
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                span,
                format!("`fields` takes `key = expression` pairs: `fields({key} = …)`"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Field { key, span, value })
    }
}

/// A name-like option's value: a string literal, known when the function is compiled (it
/// lives in the call site's `static`), or any expression, evaluated when a call records.
pub(crate) enum Text {
    Literal(LitStr),
    Expr(Box<Expr>),
}

impl Text {
    /// The literal's text, for a literal.
    pub(crate) fn literal(&self) -> Option<String> {
        match self {
            Text::Literal(lit) => Some(lit.value()),
            Text::Expr(_) => None,
        }
    }

    /// The expression, for one that is not a literal.
    pub(crate) fn expr(&self) -> Option<&Expr> {
        match self {
            Text::Literal(_) => None,
            Text::Expr(expr) => Some(expr),
        }
    }
}

/// `key`, `key = value` or `key(a, b)`.
struct RawOption {
    key: Ident,
    value: RawValue,
}

enum RawValue {
    Bare,
    Assigned(Expr),
    List(Punctuated<Ident, Token![,]>),
    /// Parentheses around something other than names (`fields(user = 1)`).
    Tokens(TokenStream),
}

impl Parse for RawOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawValue::Assigned(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let tokens: TokenStream = content.parse()?;
            let names =
                |input: ParseStream<'_>| Punctuated::<Ident, Token![,]>::parse_terminated_with(input, Ident::parse_any);
            match names.parse2(tokens.clone()) {
                Ok(names) => RawValue::List(names),
                Err(_) => RawValue::Tokens(tokens),
            }
        } else {
            RawValue::Bare
        };
        Ok(RawOption { key, value })
    }
}

impl Options {
    /// Parses the attribute's arguments; problems go to `errors`.
    pub(crate) fn parse(kind: MacroKind, args: TokenStream, errors: &mut Errors) -> Options {
        let mut options = Options::default();
        // `#[trace_agent("name")]`: a name first, without its key.
        let (positional, args) = match split_positional_name(args) {
            Ok(split) => split,
            Err(error) => {
                errors.push(error);
                return options;
            }
        };
        if let Some(name) = positional {
            options.name = Some(Setting {
                span: name.span(),
                value: Text::Literal(name),
            });
        }
        let raw = match Punctuated::<RawOption, Token![,]>::parse_terminated.parse2(args) {
            Ok(raw) => raw,
            Err(error) => {
                errors.push(error);
                return options;
            }
        };
        let valid = kind.options();
        for option in raw {
            let key = option.key.to_string();
            if !valid.contains(&key.as_str()) {
                errors.push(syn::Error::new(option.key.span(), unknown_option(kind, &key, &valid)));
                continue;
            }
            options.set(&key, option, errors);
        }
        options
    }

    fn set(&mut self, key: &str, option: RawOption, errors: &mut Errors) {
        let RawOption { key: ident, value } = option;
        macro_rules! string {
            ($slot:ident) => {
                if let Some(value) = expect_string(&ident, value, errors) {
                    set_once(&mut self.$slot, &ident, value, errors);
                }
            };
        }
        macro_rules! text {
            ($slot:ident) => {
                if let Some(value) = expect_text(&ident, value, errors) {
                    set_once(&mut self.$slot, &ident, value, errors);
                }
            };
        }
        macro_rules! flag {
            ($slot:ident) => {
                if let Some(value) = expect_bool(&ident, value, errors) {
                    set_once(&mut self.$slot, &ident, value, errors);
                }
            };
        }
        macro_rules! path {
            ($slot:ident, $signature:expr) => {
                if let Some(value) = expect_path(&ident, value, $signature, errors) {
                    set_once(&mut self.$slot, &ident, value, errors);
                }
            };
        }
        match key {
            "system_id" => text!(system_id),
            "name" => text!(name),
            "timestep_name" => string!(timestep_name),
            "model" => text!(model),
            "provider" => text!(provider),
            "tool" => text!(tool),
            "description" => string!(description),
            "trainable" => flag!(trainable),
            "skip_all" => flag!(skip_all),
            "capture_self" => flag!(capture_self),
            "capture_args" => flag!(capture_args),
            "capture_result" => flag!(capture_result),
            "auto_timestep" => flag!(auto_timestep),
            "include_timing" => flag!(include_timing),
            "include_memory" => flag!(include_memory),
            "stream" => flag!(stream),
            "replay" => flag!(replay),
            "stream_errors" => {
                if let Some(lit) = expect_string(&ident, value, errors) {
                    match lit.value().as_str() {
                        "end" => set_once(&mut self.stream_errors, &ident, false, errors),
                        "continue" => set_once(&mut self.stream_errors, &ident, true, errors),
                        other => errors.push(syn::Error::new(
                            lit.span(),
                            format!("`stream_errors` is \"end\" (the default) or \"continue\", not \"{other}\""),
                        )),
                    }
                }
            }
            "accumulate" => match value {
                RawValue::Assigned(Expr::Path(path)) if path.qself.is_none() => {
                    set_once(&mut self.accumulate, &ident, path.path, errors);
                }
                RawValue::Assigned(other) => errors.push(syn::Error::new_spanned(
                    other,
                    "`accumulate` takes the path of a type that implements `Accumulate<Item>`: `accumulate = MyReply`",
                )),
                _ => errors.push(syn::Error::new(
                    ident.span(),
                    "`accumulate` takes the path of a type that implements `Accumulate<Item>`: `accumulate = MyReply`",
                )),
            },
            "arg_filter" => path!(arg_filter, "fn(&mut Map)"),
            "result_filter" => path!(result_filter, "fn(&Value) -> Value"),
            "metadata" => path!(metadata, "fn(&CallRecord) -> Map"),
            "message" => path!(message, "fn(&CallRecord) -> Option<Message>"),
            "error_handler" => path!(error_handler, "fn(&ErrorRecord)"),
            "crate" => {
                if let Some(path) = expect_string(&ident, value, errors).and_then(|lit| parse_crate_path(&lit, errors))
                {
                    set_once(&mut self.krate, &ident, path, errors);
                }
            }
            "fields" => self.set_fields(&ident, value, errors),
            "call_id" => match value {
                RawValue::Assigned(expr) => self.push_field(
                    Field {
                        key: "gen_ai.tool.call.id".to_owned(),
                        span: ident.span(),
                        value: expr,
                    },
                    errors,
                ),
                _ => errors.push(syn::Error::new(
                    ident.span(),
                    "`call_id` takes an expression giving the tool call's id: `call_id = request.id`",
                )),
            },
            "skip" => match value {
                RawValue::List(names) => {
                    for name in names {
                        if self.skip.contains(&name) {
                            errors.push(syn::Error::new(name.span(), format!("`{name}` is already skipped")));
                        } else {
                            self.skip.push(name);
                        }
                    }
                }
                _ => errors.push(syn::Error::new(
                    ident.span(),
                    "`skip` takes a list of parameter names: `skip(a, b)`",
                )),
            },
            _ => errors.push(syn::Error::new(ident.span(), format!("option `{key}` is not handled"))),
        }
    }

    fn set_fields(&mut self, ident: &Ident, value: RawValue, errors: &mut Errors) {
        let tokens = match value {
            RawValue::Tokens(tokens) => tokens,
            RawValue::List(names) => names.to_token_stream(),
            RawValue::Bare | RawValue::Assigned(_) => {
                errors.push(syn::Error::new(
                    ident.span(),
                    "`fields` takes `key = expression` pairs: `fields(user_id = request.user_id)`",
                ));
                return;
            }
        };
        match Punctuated::<Field, Token![,]>::parse_terminated.parse2(tokens) {
            Ok(fields) => {
                for field in fields {
                    self.push_field(field, errors);
                }
            }
            Err(error) => errors.push(error),
        }
    }

    fn push_field(&mut self, field: Field, errors: &mut Errors) {
        if self.fields.iter().any(|known| known.key == field.key) {
            errors.push(syn::Error::new(field.span, format!("duplicate field `{}`", field.key)));
        } else {
            self.fields.push(field);
        }
    }
}

/// A string literal standing first, and the options after it.
fn split_positional_name(args: TokenStream) -> syn::Result<(Option<LitStr>, TokenStream)> {
    let parser = |input: ParseStream<'_>| {
        if !input.peek(LitStr) {
            return Ok((None, input.parse::<TokenStream>()?));
        }
        let name: LitStr = input.parse()?;
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        Ok((Some(name), input.parse::<TokenStream>()?))
    };
    parser.parse2(args)
}

/// What to say of an option `key` this attribute does not take: whose it is, or what it
/// was likely meant to be, then the options there are.
fn unknown_option(kind: MacroKind, key: &str, valid: &[&str]) -> String {
    let attribute = kind.attribute();
    let list = valid.join(", ");
    let owner = MacroKind::ALL
        .into_iter()
        .find(|other| *other != kind && other.options().contains(&key));
    if let Some(owner) = owner {
        return format!(
            "option `{key}` belongs to #[{}], not #[{attribute}]; #[{attribute}] takes: {list}",
            owner.attribute()
        );
    }
    let near = valid
        .iter()
        .map(|option| (edit_distance(key, option), *option))
        .filter(|(distance, option)| *distance <= 2.min(option.len() / 2))
        .min();
    match near {
        Some((_, option)) => format!("unknown option `{key}` for #[{attribute}]; did you mean `{option}`?"),
        None => format!("unknown option `{key}` for #[{attribute}]; valid options are: {list}"),
    }
}

/// The Levenshtein distance between two short words.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

fn expect_text(key: &Ident, value: RawValue, errors: &mut Errors) -> Option<Text> {
    match value {
        RawValue::Assigned(Expr::Lit(ExprLit { lit: Lit::Str(lit), .. })) => Some(Text::Literal(lit)),
        RawValue::Assigned(Expr::Lit(other)) => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{key}` takes a string: `{key} = \"…\"`, or an expression giving one"),
            ));
            None
        }
        RawValue::Assigned(expr) => Some(Text::Expr(Box::new(expr))),
        _ => {
            errors.push(syn::Error::new(
                key.span(),
                format!("`{key}` takes a string: `{key} = \"…\"`, or an expression giving one"),
            ));
            None
        }
    }
}

fn expect_string(key: &Ident, value: RawValue, errors: &mut Errors) -> Option<LitStr> {
    match value {
        RawValue::Assigned(Expr::Lit(ExprLit { lit: Lit::Str(lit), .. })) => Some(lit),
        RawValue::Assigned(other) => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{key}` takes a string literal: `{key} = \"…\"`"),
            ));
            None
        }
        _ => {
            errors.push(syn::Error::new(
                key.span(),
                format!("`{key}` takes a string literal: `{key} = \"…\"`"),
            ));
            None
        }
    }
}

fn expect_bool(key: &Ident, value: RawValue, errors: &mut Errors) -> Option<bool> {
    match value {
        RawValue::Bare => Some(true),
        RawValue::Assigned(Expr::Lit(ExprLit {
            lit: Lit::Bool(LitBool { value, .. }),
            ..
        })) => Some(value),
        RawValue::Assigned(other) => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{key}` takes a boolean: `{key}` or `{key} = false`"),
            ));
            None
        }
        RawValue::List(_) | RawValue::Tokens(_) => {
            errors.push(syn::Error::new(
                key.span(),
                format!("`{key}` takes a boolean: `{key}` or `{key} = false`"),
            ));
            None
        }
    }
}

fn expect_path(key: &Ident, value: RawValue, signature: &str, errors: &mut Errors) -> Option<Path> {
    match value {
        RawValue::Assigned(Expr::Path(path)) if path.qself.is_none() => Some(path.path),
        RawValue::Assigned(other) => {
            errors.push(syn::Error::new_spanned(
                other,
                format!("`{key}` takes the path of a function `{signature}`: `{key} = my_fn`"),
            ));
            None
        }
        _ => {
            errors.push(syn::Error::new(
                key.span(),
                format!("`{key}` takes the path of a function `{signature}`: `{key} = my_fn`"),
            ));
            None
        }
    }
}

fn parse_crate_path(lit: &LitStr, errors: &mut Errors) -> Option<Path> {
    match lit.parse_with(Path::parse_mod_style) {
        Ok(path) => Some(path),
        Err(_) => {
            errors.push(syn::Error::new(
                lit.span(),
                "`crate` takes a path to the agent-trace crate: `crate = \"my_reexport::agent_trace\"`",
            ));
            None
        }
    }
}
