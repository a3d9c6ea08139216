//! Code generation: the traced function, rebuilt from the user's own tokens.
//!
//! The expansion keeps the signature as written, puts the options in a `static CallSite`,
//! opens a `Call` (one task-local lookup outside a scope, and nothing else), captures the
//! arguments by reference, runs the body (a closure for sync functions, an async block for
//! async ones, the inner future of a `Box::pin(async move { .. })` method), and finishes
//! the call from the return value. Every generated name starts with `__trace`, and every
//! path goes through `::agent_trace::__private` (or the `crate = ".."` override).

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{LitStr, ReturnType};

mod body;
mod early_exit;

use body::{ItemOptions, Shape, returns_never, with_return_edge};

use crate::ast::TracedFn;
use crate::attr::{MacroKind, Options, Setting, Text};

pub(crate) fn expand(kind: MacroKind, options: &Options, function: &TracedFn) -> TokenStream {
    let private = private_path(options);
    let site = call_site(kind, options, function, &private);
    let names = names_at_run_time(kind, options, &private);
    let captures = captures(kind, options, function, &private);
    let finish = finish(kind, options, function, &private);

    let shape = Shape::of(kind, function, stream_alias(options));
    // A sync call is the task's parent from its start; an async one while it is polled.
    let start = if shape.is_async() {
        quote!(start)
    } else {
        quote!(start_sync)
    };
    let items = ItemOptions {
        replays: replays(kind, options)
            && !(matches!(shape, Shape::ReturnsItems(..)) && function.items_replayable().is_err()),
        output: options.capture_result.as_ref().is_none_or(|s| s.value),
        usage: kind == MacroKind::Llm,
        continue_on_err: options.stream_errors.as_ref().is_some_and(|s| s.value),
        accumulate: options.accumulate.as_ref().map(|s| &s.value),
    };
    // A replay answers the call before its body runs; for a method `#[async_trait]` wrote,
    // inside the future it returns.
    let replay = replay_step(kind, options, function, shape, &finish, &private);
    let (replay_first, replay_in_future) = match shape {
        Shape::BoxedBlock(..) => (TokenStream::new(), replay),
        _ => (replay, TokenStream::new()),
    };
    let body = body::run(shape, function, &finish, &items, &replay_in_future, &private);

    let TracedFn {
        outer_attrs,
        inner_attrs,
        vis,
        sig,
        ..
    } = function;
    let mut sig = sig.clone();
    let (node_slot, body) = if kind == MacroKind::Bundle {
        sig.output = node_output(&sig.output, &private);
        (
            quote!(let mut __trace_node = #private::NodeId::DETACHED;),
            quote! {
                let __trace_output = { #body };
                #private::Node::from_parts(__trace_node, __trace_output)
            },
        )
    } else {
        (TokenStream::new(), body)
    };
    // The braces keep the user's span, so that the function is the user's item to the
    // compiler's lints (`dead_code` looks at the whole item's span).
    let mut block = proc_macro2::Group::new(
        proc_macro2::Delimiter::Brace,
        quote! {
            #(#inner_attrs)*
            #site
            #[allow(unused_mut)]
            let mut __trace_call = #private::Call::#start(&__TRACE_SITE);
            #names
            #node_slot
            #captures
            #replay_first
            #body
        },
    );
    block.set_span(function.body.span());
    quote! {
        #(#outer_attrs)*
        #vis #sig #block
    }
}

/// What a replaying call does before its body: take the recorded answer (finished as the
/// body's return value, and returned) or go on — for a function that replays (LLM and tool
/// calls unless `replay = false`, any other with `replay = true`). Nothing for one that
/// does not.
fn replay_step(
    kind: MacroKind,
    options: &Options,
    function: &TracedFn,
    shape: Shape<'_>,
    finish: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    if !replays(kind, options) {
        return TokenStream::new();
    }
    let replayed = match shape {
        // A stream's or an iterator's items are replayed where they are wrapped (`body`).
        Shape::ReturnsItems(..) => match function.items_replayable() {
            Ok(()) => return TokenStream::new(),
            Err(reason) => Err(reason),
        },
        _ => function.replayed_type(),
    };
    let answered = match replayed {
        Ok(returned) => {
            // An async call recorded as cancelled never completes: its caller drops it again.
            let hang = if shape.is_async() {
                quote!({
                    let __trace_held = __trace_open;
                    match ::core::future::pending::<::core::convert::Infallible>().await {}
                })
            } else {
                quote!(::core::option::Option::Some(__trace_open))
            };
            quote! {
                match #private::replay!(__trace_open, #returned) {
                    #private::Replayed::Answer(__trace_open, __trace_return) => {
                        #private::finish_with(__trace_open, &__trace_return, |__trace_open, __trace_return| { #finish });
                        return __trace_return;
                    }
                    #private::Replayed::Live(__trace_open) => ::core::option::Option::Some(__trace_open),
                    #private::Replayed::Hang(__trace_open) => #hang,
                }
            }
        }
        Err(reason) => quote!(#private::replay_unsupported(__trace_open, #reason)),
    };
    quote! {
        #[allow(unused_mut)]
        let mut __trace_call = match __trace_call {
            ::core::option::Option::Some(__trace_open) if #private::Call::is_replaying(&__trace_open) => #answered,
            __trace_other => __trace_other,
        };
    }
}

/// Whether a replay answers the function's calls: LLM and tool calls unless `replay =
/// false`, any other with `replay = true`; never a bundle.
fn replays(kind: MacroKind, options: &Options) -> bool {
    kind != MacroKind::Bundle
        && options
            .replay
            .as_ref()
            .map_or(matches!(kind, MacroKind::Llm | MacroKind::Tool), |setting| {
                setting.value
            })
}

/// The `stream` option: the return type is a boxed stream's alias.
fn stream_alias(options: &Options) -> bool {
    options.stream.as_ref().is_some_and(|s| s.value)
}

/// `::agent_trace::__private`, or the path under the `crate = ".."` override.
fn private_path(options: &Options) -> TokenStream {
    let krate = options
        .krate
        .as_ref()
        .map_or_else(|| quote!(::agent_trace), |setting| setting.value.to_token_stream());
    quote!(#krate::__private)
}

/// A bundle returns its value as a node of the graph: `-> R` becomes `-> Node<R>`.
fn node_output(output: &ReturnType, private: &TokenStream) -> ReturnType {
    let returned = match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    syn::parse_quote!(-> #private::Node<#returned>)
}

/// What a `#[bundle]` function becomes when its attribute has an error: untraced, with the
/// signature its callers expect (`-> Node<R>`, a node in no graph), so that the mistake is
/// reported once, at the attribute, rather than again at every caller.
pub(crate) fn bundle_fallback(options: &Options, function: &TracedFn) -> TokenStream {
    let private = private_path(options);
    let TracedFn {
        outer_attrs,
        inner_attrs,
        vis,
        sig,
        body,
    } = function;
    let mut node_sig = sig.clone();
    node_sig.output = node_output(&sig.output, &private);
    let block = with_return_edge(body, &sig.output);
    let value = if sig.asyncness.is_some() {
        quote!(async move #block.await)
    } else {
        quote!((move || #block)())
    };
    quote! {
        #(#outer_attrs)*
        #vis #node_sig {
            #(#inner_attrs)*
            #private::Node::from_parts(#private::NodeId::DETACHED, #value)
        }
    }
}

/// The `static` holding the function's options.
fn call_site(kind: MacroKind, options: &Options, function: &TracedFn, private: &TokenStream) -> TokenStream {
    let variant = format_ident!("{}", kind.event_kind());
    let literal = |setting: &Option<Setting<Text>>| setting.as_ref().and_then(|s| s.value.literal());
    let system_id = literal(&options.system_id).unwrap_or_else(|| kind.default_system_id().to_owned());
    // A tool call is named after its tool, unless `name` says otherwise; a name given by
    // an expression is set when the call starts (`names_at_run_time`).
    let name = match (&options.name, kind, &options.tool) {
        (Some(name), _, _) => name.value.literal(),
        (None, MacroKind::Tool, Some(tool)) => tool.value.literal(),
        (None, _, _) => None,
    }
    .unwrap_or_else(|| fn_name(function));
    let flag = |setting: &Option<Setting<bool>>, default: bool| setting.as_ref().map_or(default, |s| s.value);
    let string = |setting: &Option<Setting<LitStr>>| match setting {
        Some(s) => {
            let value = &s.value;
            quote!(::core::option::Option::Some(#value))
        }
        None => quote!(::core::option::Option::None),
    };
    let text = |setting: &Option<Setting<Text>>| match literal(setting) {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let include_timing = flag(&options.include_timing, true);
    let include_memory = flag(&options.include_memory, false);
    let auto_timestep = flag(&options.auto_timestep, false) || options.timestep_name.is_some();
    let timestep_name = string(&options.timestep_name);
    let model = text(&options.model);
    let provider = text(&options.provider);
    let tool = match (kind, &options.tool) {
        (MacroKind::Tool, Some(tool)) => match tool.value.literal() {
            Some(tool) => quote!(::core::option::Option::Some(#tool)),
            // Named when the call starts: the event's name.
            None => quote!(::core::option::Option::Some("")),
        },
        (MacroKind::Tool, None) => quote!(::core::option::Option::Some(#name)),
        _ => quote!(::core::option::Option::None),
    };
    let hook = |setting: &Option<Setting<syn::Path>>, signature: TokenStream| match setting {
        Some(s) => {
            let path = &s.value;
            // A typed `let` makes a wrong signature an error at the user's path.
            quote!(::core::option::Option::Some({ let __trace_hook: #signature = #path; __trace_hook }))
        }
        None => quote!(::core::option::Option::None),
    };
    let arg_filter = hook(&options.arg_filter, quote!(fn(&mut #private::Map)));
    let result_filter = hook(&options.result_filter, quote!(fn(&#private::Value) -> #private::Value));
    let metadata = hook(
        &options.metadata,
        quote!(fn(&#private::CallRecord<'_>) -> #private::Map),
    );
    let message = hook(
        &options.message,
        quote!(fn(&#private::CallRecord<'_>) -> ::core::option::Option<#private::Message>),
    );
    let error_handler = hook(&options.error_handler, quote!(fn(&#private::ErrorRecord)));
    let bundle = if kind == MacroKind::Bundle {
        let description = string(&options.description);
        let code = if options.trainable.as_ref().is_some_and(|s| s.value) {
            let text = crate::source::function_text(function);
            quote!(::core::option::Option::Some(#text))
        } else {
            quote!(::core::option::Option::None)
        };
        quote!(::core::option::Option::Some(#private::BundleSite { description: #description, code: #code }))
    } else {
        quote!(::core::option::Option::None)
    };
    quote! {
        static __TRACE_SITE: #private::CallSite = #private::CallSite {
            names: #private::EventNames {
                kind: #private::EventKind::#variant,
                system_id: ::std::borrow::Cow::Borrowed(#system_id),
                name: ::std::borrow::Cow::Borrowed(#name),
                module_path: ::std::borrow::Cow::Borrowed(::core::module_path!()),
            },
            include_timing: #include_timing,
            include_memory: #include_memory,
            auto_timestep: #auto_timestep,
            timestep_name: #timestep_name,
            model: #model,
            provider: #provider,
            tool: #tool,
            arg_filter: #arg_filter,
            result_filter: #result_filter,
            metadata: #metadata,
            message: #message,
            error_handler: #error_handler,
            bundle: #bundle,
            outside_reported: ::core::sync::atomic::AtomicBool::new(false),
        };
    }
}

/// Sets, when a call records, the names and request fields given as expressions.
fn names_at_run_time(kind: MacroKind, options: &Options, private: &TokenStream) -> TokenStream {
    fn expr(setting: &Option<Setting<Text>>) -> Option<&syn::Expr> {
        setting.as_ref().and_then(|s| s.value.expr())
    }
    let name = expr(&options.name).or_else(|| match (kind, &options.name) {
        (MacroKind::Tool, None) => expr(&options.tool),
        _ => None,
    });
    let system_id = expr(&options.system_id);
    let model = expr(&options.model);
    let provider = expr(&options.provider);
    if name.is_none() && system_id.is_none() && model.is_none() && provider.is_none() {
        return TokenStream::new();
    }
    let some = |value: Option<&syn::Expr>| match value {
        Some(value) => quote!(::core::option::Option::Some(::core::convert::AsRef::<str>::as_ref(&(#value)))),
        None => quote!(::core::option::Option::None),
    };
    let (name, system_id, model, provider) = (some(name), some(system_id), some(model), some(provider));
    quote! {
        if let ::core::option::Option::Some(__trace_open) = &mut __trace_call {
            #private::Call::named(__trace_open, #name, #system_id, #model, #provider);
        }
    }
}

fn fn_name(function: &TracedFn) -> String {
    let name = function.sig.ident.to_string();
    name.strip_prefix("r#").map_or_else(|| name.clone(), str::to_owned)
}

/// Captures the arguments, by reference, before the body can move them.
fn captures(kind: MacroKind, options: &Options, function: &TracedFn, private: &TokenStream) -> TokenStream {
    let no_args =
        options.skip_all.as_ref().is_some_and(|s| s.value) || options.capture_args.as_ref().is_some_and(|s| !s.value);
    // A bundle's dependencies come from the values of its arguments, whatever is captured.
    let dependencies = (kind == MacroKind::Bundle).then(|| {
        let probes = function
            .bindings()
            .into_iter()
            .filter(|binding| !binding.is_self)
            .map(|binding| {
                let ident = at_attribute(&binding.ident);
                let cfgs = binding.cfgs;
                quote!(#(#cfgs)* #private::nodes!(&#ident, &mut __trace_dependencies);)
            });
        quote! {
            let mut __trace_dependencies = ::std::vec::Vec::new();
            #(#probes)*
            __trace_node = __trace_open.bundle(__trace_dependencies);
        }
    });
    let capture_self = options.capture_self.as_ref().is_some_and(|s| s.value);
    let captured: Vec<_> = function
        .bindings()
        .into_iter()
        .filter(|_| !no_args)
        .filter(|binding| {
            if binding.is_self {
                capture_self
            } else {
                !options.skip.contains(&binding.ident)
            }
        })
        .map(|binding| {
            // The expansion's own use of the parameter (not the user's): spanned at the
            // attribute, so that lints on uses of `_x` parameters see only the body's.
            let ident = at_attribute(&binding.ident);
            let cfgs = binding.cfgs;
            let name = ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
            // The key as JSON, written once here: an identifier holds nothing JSON escapes.
            let json_key = format!("\"{name}\":");
            quote! {
                #(#cfgs)*
                #private::capture!(__trace_open, #private::Capture::input(#name, #json_key, &#ident));
            }
        })
        .collect();
    // An LLM call's arguments that are requests (`LlmRequest`) give its parameters,
    // whatever is captured.
    let requests: Vec<_> = if kind == MacroKind::Llm {
        function
            .bindings()
            .into_iter()
            .map(|binding| {
                let ident = at_attribute(&binding.ident);
                let cfgs = binding.cfgs;
                quote!(#(#cfgs)* #private::request!(__trace_open, &#ident);)
            })
            .collect()
    } else {
        Vec::new()
    };
    // `fields(key = expr)`: evaluated when the call records, before the body runs.
    let fields: Vec<_> = options
        .fields
        .iter()
        .map(|field| {
            let key = &field.key;
            let value = &field.value;
            quote!(#private::capture!(__trace_open, #private::Capture::field(#key, &(#value)));)
        })
        .collect();
    if captured.is_empty() && fields.is_empty() && dependencies.is_none() && requests.is_empty() {
        return TokenStream::new();
    }
    quote! {
        if __trace_call.is_some() {
            #private::capture_inputs(&mut __trace_call, |__trace_open| {
                #(#captured)*
                #(#requests)*
                #(#fields)*
                #dependencies
            });
        }
    }
}

/// The same name, spanned at the attribute: the expansion's own use of a parameter.
fn at_attribute(ident: &proc_macro2::Ident) -> proc_macro2::Ident {
    let span = proc_macro2::Span::call_site();
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(raw) => proc_macro2::Ident::new_raw(raw, span),
        None => proc_macro2::Ident::new(&name, span),
    }
}

/// Finishes `__trace_open` from `__trace_return`.
fn finish(kind: MacroKind, options: &Options, function: &TracedFn, private: &TokenStream) -> TokenStream {
    if (matches!(function.sig.output, ReturnType::Default) || returns_never(&function.sig.output))
        && !Shape::of(kind, function, stream_alias(options)).is_async()
    {
        return quote!(#private::finish_ok(__trace_open););
    }
    let output = options.capture_result.as_ref().is_none_or(|s| s.value);
    let usage = kind == MacroKind::Llm;
    quote!(#private::finish!(__trace_open, __trace_return, output: #output, usage: #usage);)
}
