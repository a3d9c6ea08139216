//! Reading a session back from Arize Phoenix, for the OTLP end-to-end tests (this crate's
//! and the rig example's): where Phoenix is, and the spans of one trace.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::Value;

/// Phoenix's base address, which `.ci/run` sets.
pub const URL_VAR: &str = "AGENT_TRACE_PHOENIX_URL";
/// Phoenix's OTLP/gRPC address (for the feature `otlp-grpc`).
pub const GRPC_URL_VAR: &str = "AGENT_TRACE_PHOENIX_GRPC_URL";

/// Phoenix's base address; `None` (the test skipped) outside CI when it is not set.
pub fn phoenix_url() -> Option<String> {
    env_url(URL_VAR)
}

/// The address in `var`; `None` outside CI when it is not set, a panic in CI.
pub fn env_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) => Some(url.trim_end_matches('/').to_owned()),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("{var} is not set: in CI, .ci/run starts Phoenix and sets it — this test must run there")
        }
        Err(_) => {
            eprintln!(
                "skipped: set {var} to a running Phoenix (e.g. http://127.0.0.1:6006), or run .ci/run, \
                 which installs and starts one"
            );
            None
        }
    }
}

/// Bytes as lowercase hex (span and trace ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The trace's spans as Phoenix returns them, polled until all have been ingested.
pub fn spans_in_phoenix(base: &str, project: &str, trace_id: &str, expected: usize) -> Vec<Value> {
    let client = reqwest::blocking::Client::new();
    let url = format!("{base}/v1/projects/{project}/spans?trace_id={trace_id}&limit=1000");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        match client.get(&url).send() {
            // 404 until the project's first span is ingested.
            Ok(response) if response.status().is_success() => {
                let body: Value = serde_json::from_str(&response.text().unwrap_or_default()).unwrap_or_default();
                let spans = body["data"].as_array().cloned().unwrap_or_default();
                if spans.len() >= expected {
                    return spans;
                }
                last = format!("{} of {expected} spans", spans.len());
            }
            Ok(response) => last = format!("HTTP {}", response.status()),
            Err(error) => last = error.to_string(),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("Phoenix did not return the trace's spans within 15 s ({url}): {last}");
}
