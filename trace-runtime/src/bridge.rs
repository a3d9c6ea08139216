//! [`TracingLayer`]: `tracing` spans and events recorded in the current session.

use std::fmt;

use serde_json::Value;
use trace_core::{EventKind, Map};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Subscriber};
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
/// its fields as inputs, its target as module path) under the traced call it was created
/// in; while the span is entered it is the parent of what is recorded. A `tracing` event
/// becomes an event of kind `Custom("tracing")` with its fields as inputs (the message
/// under `"message"`) and its level in metadata. Outside a scope nothing is recorded.
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
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer {
    _private: (),
}

impl TracingLayer {
    /// The layer.
    pub fn new() -> TracingLayer {
        TracingLayer::default()
    }
}

/// What a span carries while it is recorded.
struct SpanCall {
    call: Option<Call>,
    /// What to give back to the task on each exit, one entry per enter.
    entered: Vec<Option<Option<u64>>>,
}

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

/// Records the fields `record` visits as inputs of `call`, under its capture policy.
fn record_fields(call: &mut Call, record: impl FnOnce(&mut FieldVisitor<'_>)) {
    let mut fields = Map::new();
    record(&mut FieldVisitor(&mut fields));
    for (name, value) in fields {
        let key = ArgKey {
            name: &name,
            json: None,
        };
        call.capture_input(key, Source::<()>::Value(&value));
    }
}

impl<S: Subscriber + for<'span> LookupSpan<'span>> Layer<S> for TracingLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(session) = current_session() else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let metadata = attrs.metadata();
        let parent = current_parent(&session);
        let mut call = Call::open(
            session,
            parent,
            EventKind::Runtime,
            "tracing",
            metadata.name(),
            metadata.target(),
        );
        record_fields(&mut call, |visitor| attrs.record(visitor));
        span.extensions_mut().insert(SpanCall {
            call: Some(call),
            entered: Vec::new(),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        with_span_call(id, &ctx, |span_call| {
            if let Some(call) = &mut span_call.call {
                record_fields(call, |visitor| values.record(visitor));
            }
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
        let call = span
            .extensions_mut()
            .get_mut::<SpanCall>()
            .and_then(|span_call| span_call.call.take());
        if let Some(call) = call {
            // A refusal (the session ended meanwhile) is counted in the tracer's stats.
            let _ = call.finish_ok();
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(session) = current_session() else {
            return;
        };
        let metadata = event.metadata();
        let mut fields = Map::new();
        event.record(&mut FieldVisitor(&mut fields));
        let name = match fields.get("message") {
            Some(Value::String(message)) => message.clone(),
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
