//! Attribute macros of agent-trace. Use them through the `agent-trace` crate, which
//! re-exports them; this crate is an implementation detail.
//!
//! Each macro runs the same pipeline: parse the options (`attr`) and the function
//! (`ast`), check them (`valid`), then generate code (`expand`). Problems are
//! collected and reported together, each at the token that causes it; the original
//! function is emitted beside them so that an editor keeps working.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout))]

mod ast;
mod attr;
mod expand;
mod source;
mod valid;

use proc_macro::TokenStream;

use crate::attr::{MacroKind, Options};

/// Problems found while expanding, reported together.
#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    /// The errors as `compile_error!`s, followed by `item` (the user's, or what stands in for it).
    fn with_item(self, item: proc_macro2::TokenStream) -> TokenStream {
        let mut tokens: proc_macro2::TokenStream = self.0.into_iter().map(|error| error.to_compile_error()).collect();
        tokens.extend(item);
        tokens.into()
    }
}

fn entry(kind: MacroKind, args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let mut errors = Errors::default();
    let options = Options::parse(kind, args.into(), &mut errors);
    let function = match ast::TracedFn::parse(item.clone(), kind.attribute()) {
        Ok(function) => function,
        Err(error) => {
            errors.push(error);
            return errors.with_item(item);
        }
    };
    valid::validate(kind, &options, &function, &mut errors);
    if !errors.0.is_empty() {
        if kind == MacroKind::Bundle {
            // Callers expect `Node<R>` back: give them that, or every call errs too.
            return errors.with_item(expand::bundle_fallback(&options, &function));
        }
        return errors.with_item(item);
    }
    expand::expand(kind, &options, &function).into()
}

/// Traces a function of the agent: every call made inside a `TracerContext` scope becomes
/// an event of kind `Agent` (system id `"agent"` unless `system_id` says otherwise).
///
#[doc = include_str!("../options.md")]
#[proc_macro_attribute]
pub fn trace_agent(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::Agent, args, item)
}

/// Makes a function a node of the computation graph (kind `Bundle`, system id `"bundle"`).
///
/// The function keeps its parameters; its return type `R` becomes `Node<R>`. The `Node`s
/// among its arguments — by value or by reference, and inside `Option`, `Vec`, slices,
/// arrays, boxes and tuples — found from the values at each call, are the dependencies of
/// the result's node. A call that returns `Err`, panics or is cancelled makes an error node
/// holding the error and the failing call's inputs, so that feedback reaches failures too.
/// An event is recorded as with the other attributes, and the options of
/// [`macro@trace_agent`] apply, plus:
///
/// - `trainable`: the function's exact source text becomes a trainable parameter named
///   `"<module>::<fn>::code"`, which the result's node depends on. There is one such
///   parameter per function, shared by every call — on a method too: the code is the same
///   for every instance, so instance data that should be trained belongs in a `parameter`.
/// - `description = "…"`: what the function does, shown to optimizers.
///
/// ```
/// use agent_trace::{Node, SessionTracer, TracerContext, bundle, node, parameter};
///
/// #[bundle(trainable, description = "Says whether a score passes the threshold.")]
/// fn passes(score: Node<f64>, threshold: &Node<f64>) -> bool {
///     *score >= **threshold
/// }
///
/// let session = SessionTracer::default().start_session();
/// let verdict = TracerContext::new(&session).sync_scope(|| passes(node(0.7), &parameter("threshold", 0.5)));
/// assert!(*verdict);
/// let graph = session.graph();
/// assert_eq!(graph.node(verdict.id()).unwrap().dependencies.len(), 3); // score, threshold, code
/// ```
#[proc_macro_attribute]
pub fn bundle(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::Bundle, args, item)
}

/// Traces a function of the environment: events of kind `Environment`, system id
/// `"environment"`. Takes the options of [`macro@trace_agent`].
///
/// ```
/// use agent_trace::trace_env;
///
/// struct GridWorld { position: i64 }
///
/// impl GridWorld {
///     #[trace_env]
///     fn step(&mut self, action: &str) -> i64 {
///         self.position += if action == "right" { 1 } else { -1 };
///         self.position
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn trace_env(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::Environment, args, item)
}

/// Traces a function of the runtime around agent and environment: events of kind
/// `Runtime`, system id `"runtime"`. Takes the options of [`macro@trace_agent`].
///
/// ```
/// #[agent_trace::trace_runtime(name = "episode")]
/// async fn run_episode(turns: u32) -> u32 {
///     turns
/// }
/// ```
#[proc_macro_attribute]
pub fn trace_runtime(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::Runtime, args, item)
}

/// Traces a call to a language model: events of kind `Llm`, system id `"agent"`. Takes the
/// options of [`macro@trace_agent`], and:
///
/// - `model = "…"` records `gen_ai.request.model` in the event's metadata;
/// - `provider = "…"` records `gen_ai.provider.name`.
///
/// When the return value (or its `Ok` value) implements `agent_trace::LlmUsage`, its token
/// counts are recorded as `gen_ai.usage.input_tokens` and `gen_ai.usage.output_tokens`, and
/// the cached and reasoning tokens, response model, id and finish reasons it gives under
/// their GenAI names too.
///
/// ```
/// use agent_trace::{LlmUsage, trace_llm_call};
///
/// struct Completion { text: String, prompt_tokens: u64, completion_tokens: u64 }
///
/// impl LlmUsage for Completion {
///     fn input_tokens(&self) -> Option<u64> { Some(self.prompt_tokens) }
///     fn output_tokens(&self) -> Option<u64> { Some(self.completion_tokens) }
/// }
///
/// #[trace_llm_call(model = "scripted-1", provider = "local")]
/// async fn complete(prompt: &str) -> Result<Completion, std::io::Error> {
///     Ok(Completion { text: "move east".into(), prompt_tokens: 12, completion_tokens: 2 })
/// }
/// ```
#[proc_macro_attribute]
pub fn trace_llm_call(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::Llm, args, item)
}

/// Traces a tool the agent uses: events of kind `Tool`, system id `"agent"`. Takes the
/// options of [`macro@trace_agent`], and `tool = "…"`, the tool's name (default: the
/// event's name).
///
/// Each call also records a `Message` of type `"tool_call"` from the system id to
/// `"environment"`, with content `{"tool": …, "args": {…}, "result": …}` (the result is
/// the output, or the error when the call failed).
///
/// ```
/// #[agent_trace::trace_tool_call(tool = "calculator")]
/// fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
/// ```
#[proc_macro_attribute]
pub fn trace_tool_call(args: TokenStream, item: TokenStream) -> TokenStream {
    entry(MacroKind::Tool, args, item)
}
