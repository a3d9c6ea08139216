//! The mapping's span records (`trace_core::otel`) as the OpenTelemetry SDK's `SpanData`.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use trace_core::SessionTrace;
use trace_core::otel::{AttributeValue, Content, SpanRecord, SpanStatus, session_spans_with};

/// The spans of a session, with what `content` lets out, ready for an exporter.
pub(super) fn spans_of(trace: &SessionTrace, content: &Content, scope: &InstrumentationScope) -> Vec<SpanData> {
    session_spans_with(trace, content)
        .into_iter()
        .map(|record| span_data(record, scope))
        .collect()
}

fn span_data(record: SpanRecord, scope: &InstrumentationScope) -> SpanData {
    let mut events = SpanEvents::default();
    events.events = record
        .events
        .into_iter()
        .map(|event| {
            opentelemetry::trace::Event::new(event.name, SystemTime::from(event.at), key_values(event.attributes), 0)
        })
        .collect();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_bytes(record.trace_id),
            SpanId::from_bytes(record.span_id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: record.parent_span_id.map_or(SpanId::INVALID, SpanId::from_bytes),
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Owned(record.name),
        start_time: SystemTime::from(record.start),
        end_time: SystemTime::from(record.end),
        attributes: key_values(record.attributes),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: match record.status {
            SpanStatus::Unset => Status::Unset,
            SpanStatus::Error(description) => Status::error(description),
        },
        instrumentation_scope: scope.clone(),
    }
}

fn key_values(attributes: Vec<(String, AttributeValue)>) -> Vec<KeyValue> {
    attributes
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                AttributeValue::String(text) => Value::from(text),
                AttributeValue::Int(number) => Value::I64(number),
                AttributeValue::Float(number) => Value::F64(number),
                AttributeValue::Bool(flag) => Value::Bool(flag),
                AttributeValue::StringArray(texts) => Value::Array(opentelemetry::Array::String(
                    texts.into_iter().map(Into::into).collect(),
                )),
            };
            KeyValue::new(key, value)
        })
        .collect()
}
