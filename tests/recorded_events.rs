//! A session's events as `end()` returns them: kept as recorded, read as `Event`s, in id
//! order, serialized the same either way.

use std::time::Duration;

use agent_trace::{
    ErrorRecord, Event, EventKind, Events, Outcome, SessionTrace, SessionTracer, TracerContext, trace_agent,
    trace_tool_call,
};
use serde_json::{Value, json};

#[trace_tool_call]
fn double(n: u64) -> u64 {
    n * 2
}

#[trace_agent]
fn step(n: u64, note: &str) -> Result<u64, std::io::Error> {
    if note.is_empty() {
        return Err(std::io::Error::other("no note"));
    }
    Ok(double(n) + 1)
}

/// 300 steps, each calling a tool: 600 events, finished child-first, over several chunks.
fn nested_trace() -> SessionTrace {
    let session = SessionTracer::default().start_session();
    TracerContext::new(&session).sync_scope(|| {
        for n in 0..300 {
            let note = if n == 7 { "" } else { "a \"quoted\" note" };
            let _ = step(n, note);
        }
    });
    session.end().expect("the session ends once")
}

#[test]
fn nested_calls_read_in_id_order_with_parents_before_children() {
    let trace = nested_trace();
    assert_eq!(trace.events.len(), 599, "step 7 fails before calling the tool");
    let ids: Vec<u64> = trace.events.records().map(|record| record.id()).collect();
    assert_eq!(ids, (1..=599).collect::<Vec<_>>());
    assert_eq!(trace.events[0].name, "step");
    assert_eq!(trace.events[1].name, "double");
    assert_eq!(trace.events[1].parent, Some(trace.events[0].id));
    assert_eq!(trace.events[0].inputs["note"], "a \"quoted\" note");
    assert_eq!(trace.events[0].output, Some(json!(1)));
    let failed = trace
        .events
        .iter()
        .find(|event| event.outcome == Outcome::Err)
        .expect("step 7");
    assert_eq!(failed.inputs["n"], 7);
    assert_eq!(
        failed.error.as_ref().map(|error| error.message.as_str()),
        Some("no note")
    );
    assert_eq!(trace.error_count(), 1);
}

#[test]
fn a_record_reads_and_serializes_as_its_decoded_event() {
    let trace = nested_trace();
    for (record, event) in trace.events.records().zip(trace.events.iter()) {
        assert_eq!(record.to_event(), *event);
        assert_eq!(
            (
                record.id(),
                record.parent(),
                record.name(),
                record.kind(),
                record.outcome()
            ),
            (event.id, event.parent, event.name.as_str(), &event.kind, event.outcome)
        );
        assert_eq!(
            (record.started_at(), record.duration()),
            (event.started_at, event.duration)
        );
        assert_eq!(record.error(), event.error.as_ref());
        assert_eq!(
            serde_json::to_value(record).expect("serializes"),
            serde_json::to_value(event).expect("serializes")
        );
        let inputs: Value = serde_json::from_slice(&record.inputs_json()).expect("JSON");
        assert_eq!(inputs, Value::Object(event.inputs.clone()));
    }
}

#[test]
fn recorded_and_decoded_events_serialize_alike_and_round_trip() {
    let trace = nested_trace();
    let recorded = serde_json::to_string(&trace).expect("serializes");
    let decoded = SessionTrace {
        events: Events::from(trace.events.clone().into_vec()),
        ..trace.clone()
    };
    assert_eq!(
        serde_json::from_str::<Value>(&recorded).expect("JSON"),
        serde_json::to_value(&decoded).expect("serializes")
    );
    let back: SessionTrace = serde_json::from_str(&recorded).expect("deserializes");
    assert_eq!(back, trace);
    assert_eq!(decoded, trace);
    assert_eq!(trace.events, trace.events.clone().into_vec());
}

#[test]
fn events_can_be_changed_like_a_vector() {
    let trace = nested_trace();
    let mut events = trace.events.clone();
    events.retain(|event| event.name == "step");
    assert_eq!(events.len(), 300);
    assert_eq!(events.records().count(), 300);
    assert!(events.records().all(|record| record.name() == "step"));
    for event in &mut events {
        event.metadata.insert("seen".into(), json!(true));
    }
    assert!(events.iter().all(|event| event.metadata["seen"] == json!(true)));
    assert_eq!(trace.events.len(), 599, "the original is untouched");
    let empty = Events::new();
    assert!(empty.is_empty() && empty.records().next().is_none());
    assert_eq!(serde_json::to_value(&empty).expect("serializes"), json!([]));
}

#[test]
fn events_recorded_by_hand_keep_every_field() {
    let session = SessionTracer::default().start_session();
    let long = Duration::from_secs(u64::MAX / 2);
    let started = "2001-02-03T04:05:06.789Z".parse().expect("a time");
    session
        .record_event(
            Event::builder(EventKind::Custom("retriever".into()), "memory", "lookup")
                .input("query", "rust")
                .output(json!({"hits": [1, 2]}))
                .error(ErrorRecord::new("io", "late"))
                .outcome(Outcome::Ok)
                .metadata("k", json!([1]))
                .duration(long)
                .started_at(started)
                .parent(99),
        )
        .expect("recorded");
    let trace = session.end().expect("ends");
    let event = &trace.events[0];
    assert_eq!(event.kind, EventKind::Custom("retriever".into()));
    assert_eq!((event.system_id.as_str(), event.name.as_str()), ("memory", "lookup"));
    assert_eq!(
        (event.parent, event.duration, event.started_at),
        (Some(99), long, started)
    );
    assert_eq!(event.output, Some(json!({"hits": [1, 2]})));
    assert_eq!(event.error, Some(ErrorRecord::new("io", "late")));
    assert_eq!(event.outcome, Outcome::Ok);
    assert_eq!(event.metadata["k"], json!([1]));
    let round_trip: SessionTrace =
        serde_json::from_str(&serde_json::to_string(&trace).expect("serializes")).expect("deserializes");
    assert_eq!(round_trip, trace);
}

#[test]
fn write_json_writes_what_serde_json_writes() {
    let mut traces = vec![nested_trace()];
    let session = SessionTracer::default().start_session();
    session
        .record_event(
            Event::builder(EventKind::Custom("a \"custom\" kind".into()), "memory", "look\nup")
                .input("zeta", 1)
                .input("alpha", json!({"b": [1.5, null], "a": "é\u{1}"}))
                .error(ErrorRecord::new("io", "late"))
                .metadata("k", json!([1]))
                .duration(Duration::from_secs(u64::MAX / 2))
                .started_at("2001-02-03T04:05:06.789Z".parse().expect("a time")),
        )
        .expect("recorded");
    traces.push(session.end().expect("ends"));
    for trace in &traces {
        for record in trace.events.records() {
            let mut written = Vec::new();
            record.write_json(&mut written);
            assert_eq!(
                String::from_utf8(written.clone()).expect("UTF-8"),
                serde_json::to_string(&record).expect("serializes")
            );
            // As values: the decoded event's arguments are in key order, the recorded text's
            // in the order they were captured.
            let decoded = serde_json::to_string(&record.to_event()).expect("serializes");
            assert_eq!(
                serde_json::from_slice::<Value>(&written).expect("JSON"),
                serde_json::from_str::<Value>(&decoded).expect("JSON")
            );
        }
        // A decoded event writes as itself too.
        let decoded = Events::from(trace.events.clone().into_vec());
        for record in decoded.records() {
            let mut written = Vec::new();
            record.write_json(&mut written);
            assert_eq!(written, serde_json::to_vec(&record.to_event()).expect("serializes"));
        }
    }
}

#[test]
fn a_trace_writes_as_serde_json_writes_it() {
    let mut trace = nested_trace();
    trace.metadata.insert("env".into(), json!({"grid": [5, 5]}));
    let mut written = Vec::new();
    trace.write_json(&mut written);
    assert_eq!(
        String::from_utf8(written).expect("UTF-8"),
        serde_json::to_string(&trace).expect("serializes")
    );
    let decoded = SessionTrace {
        events: Events::from(trace.events.clone().into_vec()),
        ..trace.clone()
    };
    let mut written = Vec::new();
    decoded.write_json(&mut written);
    assert_eq!(written, serde_json::to_vec(&decoded).expect("serializes"));
}
