//! [`TracingLayer`]: `tracing` spans and events recorded in the current session.

mod genai;

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;
use trace_core::{EventKind, Map};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, LevelFilter, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::call::Call;
use crate::capture::{ArgKey, Source};
use crate::context::{current_parent, current_session};

/// A `tracing_subscriber` layer that records, inside an active session, the spans and events
/// of any crate that uses `tracing` — HTTP clients, databases, your own `#[instrument]`s — so
/// that a session shows the whole picture.
///
/// A span becomes an event of kind `Runtime` (system id `"tracing"`, named after the span,
/// its fields as inputs — those recorded later with `Span::record` too —, its target as
/// module path) under the traced call it was created in; while the span is entered it is
/// the parent of what is recorded. A span of the OpenTelemetry GenAI conventions (one with
/// a `gen_ai.operation.name`, as rig and genai write them) becomes the event our own
/// attributes would record: `chat`, `text_completion`, `generate_content` and `embeddings`
/// an `Llm` event named by its model, `execute_tool` a `Tool` event named by its tool,
/// `invoke_agent` and `create_agent` an `Agent` event named by its agent (system id: the
/// crate that made it); tool arguments and input messages are its inputs, the tool's result
/// or the output messages its output, usage and the other `gen_ai.*` fields its metadata,
/// and `otel.status_code = "ERROR"`, `error.type` or a failed `gen_ai.tool.call.outcome` its
/// error (docs/integrations.md). A `tracing` event becomes an event of kind
/// `Custom("tracing")` named by its message's first line (at most 80 bytes), with its fields
/// as inputs (the whole message under `"message"`) and its level in metadata.
/// [`with_max_level`](TracingLayer::with_max_level) leaves out the more verbose ones.
/// Outside a scope nothing is recorded.
///
/// ```
/// use agent_trace::{SessionTracer, TracerContext, TracingLayer, trace_agent};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// #[tracing::instrument]
/// fn fetch(url: &str) -> usize {
///     tracing::info!(bytes = 512, "fetched");
///     512
/// }
///
/// #[trace_agent]
/// fn decide() -> usize {
///     fetch("http://localhost/state")
/// }
///
/// let subscriber = tracing_subscriber::registry().with(TracingLayer::new());
/// let session = SessionTracer::default().start_session();
/// tracing::subscriber::with_default(subscriber, || TracerContext::new(&session).sync_scope(decide));
/// let trace = session.end()?;
/// assert_eq!(trace.events[1].name, "fetch");
/// assert_eq!(trace.events[1].parent, Some(trace.events[0].id));
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TracingLayer {
    max_level: LevelFilter,
}

impl Default for TracingLayer {
    fn default() -> TracingLayer {
        TracingLayer {
            max_level: LevelFilter::TRACE,
        }
    }
}

impl TracingLayer {
    /// The layer: every span and event, at any level.
    pub fn new() -> TracingLayer {
        TracingLayer::default()
    }

    /// Only spans and events at `level` or more severe (`Level::DEBUG` leaves out a
    /// client's `TRACE` dumps of whole responses). A span left out is no event: what is
    /// recorded inside it goes to the call around it.
    ///
    /// ```
    /// use agent_trace::TracingLayer;
    ///
    /// let layer = TracingLayer::new().with_max_level(tracing::Level::DEBUG);
    /// # let _ = layer;
    /// ```
    pub fn with_max_level(mut self, level: impl Into<LevelFilter>) -> TracingLayer {
        self.max_level = level.into();
        self
    }

    fn records(&self, metadata: &tracing_core::Metadata<'_>) -> bool {
        *metadata.level() <= self.max_level
    }
}

/// What a span carries while it is recorded.
struct SpanCall {
    call: Option<Call>,
    /// What to give back to the task on each exit, one entry per enter.
    entered: Vec<Option<Option<u64>>>,
    /// The span's fields so far (those recorded later with `Span::record` too), put into
    /// the event when the span closes.
    fields: Map,
}

/// The longest name a log event gets from its message (its first line), in bytes.
const LOG_NAME_LIMIT: usize = 80;

/// Runs `f` on the open call a span carries, if it carries one.
fn with_span_call<S: Subscriber + for<'span> LookupSpan<'span>>(
    id: &Id,
    ctx: &Context<'_, S>,
    f: impl FnOnce(&mut SpanCall),
) {
    let Some(span) = ctx.span(id) else { return };
    let mut extensions = span.extensions_mut();
    if let Some(span_call) = extensions
        .get_mut::<SpanCall>()
        .filter(|span_call| span_call.call.is_some())
    {
        f(span_call);
    }
}

/// Records `inputs` as inputs of `call`, under its capture policy.
fn record_inputs(call: &mut Call, inputs: Map) {
    for (name, value) in inputs {
        let key = ArgKey {
            name: &name,
            json: None,
        };
        call.capture_input(key, Source::<()>::Value(&value));
    }
}

impl<S: Subscriber + for<'span> LookupSpan<'span>> Layer<S> for TracingLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let metadata = attrs.metadata();
        if !self.records(metadata) {
            return;
        }
        let Some(session) = current_session() else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut FieldVisitor(&mut fields));
        let parent = current_parent(&session);
        // A span of the GenAI conventions is the event of its operation, by the system
        // (crate) that made it; any other span is a runtime event of `tracing`'s.
        let (kind, system_id, name) = match genai::kind_of(&fields) {
            Some(kind) => {
                let name = genai::name_of(&kind, &fields).map_or(Cow::Borrowed(metadata.name()), Cow::Owned);
                let system = metadata.target().split("::").next().unwrap_or("tracing");
                (kind, Cow::Owned(system.to_owned()), name)
            }
            None => (
                EventKind::Runtime,
                Cow::Borrowed("tracing"),
                Cow::Borrowed(metadata.name()),
            ),
        };
        let call = Call::open(session, parent, kind, system_id, name, metadata.target());
        span.extensions_mut().insert(SpanCall {
            call: Some(call),
            entered: Vec::new(),
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        with_span_call(id, &ctx, |span_call| {
            values.record(&mut FieldVisitor(&mut span_call.fields));
        });
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        with_span_call(id, &ctx, |span_call| {
            let previous = span_call.call.as_ref().and_then(Call::enter_task);
            span_call.entered.push(previous);
        });
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        with_span_call(id, &ctx, |span_call| {
            let previous = span_call.entered.pop().flatten();
            if let Some(call) = &span_call.call {
                call.exit_task(previous);
            }
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let taken = span
            .extensions_mut()
            .get_mut::<SpanCall>()
            .and_then(|span_call| Some((span_call.call.take()?, std::mem::take(&mut span_call.fields))));
        let Some((mut call, fields)) = taken else { return };
        if genai::kind_of(&fields).is_some() {
            return genai::finish(call, span.name(), fields);
        }
        record_inputs(&mut call, fields);
        // A refusal (the session ended meanwhile) is counted in the tracer's stats.
        let _ = call.finish_ok();
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if !self.records(metadata) {
            return;
        }
        let Some(session) = current_session() else {
            return;
        };
        let mut fields = Map::new();
        event.record(&mut FieldVisitor(&mut fields));
        // Named by the message's first line, bounded; the whole message stays an input.
        let name = match fields.get("message") {
            Some(Value::String(message)) => short_name(message),
            _ => metadata.name().to_owned(),
        };
        let mut builder = trace_core::Event::builder(EventKind::Custom("tracing".to_owned()), "tracing", name)
            .module_path(metadata.target())
            .metadata("level", metadata.level().as_str());
        for (field, value) in fields {
            builder = builder.input(field, value);
        }
        // A refusal (the session ended meanwhile) is counted in the tracer's stats.
        let _ = session.record_event(builder);
    }
}

/// A log message's first line, cut at [`LOG_NAME_LIMIT`] bytes (on a character boundary,
/// marked with `…`).
fn short_name(message: &str) -> String {
    let line = message
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.len() <= LOG_NAME_LIMIT && line.len() == message.trim().len() {
        return line.to_owned();
    }
    let mut end = line.len().min(LOG_NAME_LIMIT);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", line[..end].trim_end())
}
/// Collects a span's or event's fields as JSON values.
struct FieldVisitor<'a>(&'a mut Map);

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}
