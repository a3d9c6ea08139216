//! What the capture policy's safety costs.
//!
//! - `large_string::*`: one traced call given a 100 MB `&str` argument (no sink), against
//!   the same call untraced. The argument is cut while it is written: its text is counted,
//!   not kept. Before timing, `main` prints the extra peak memory of one such call (the
//!   process's high-water mark before and after, the string already in memory).
//! - `secrets::*`: the built-in secret matcher (`CapturePolicy::redact_string`) against
//!   `regex-lite` matching the same shapes, on a short argument, a 4 KB prompt without
//!   secrets and the same prompt with one (outputs checked equal first).
//! - `call_with_a_prompt::*`: a traced call in a scope given a 200-byte prompt, with the
//!   built-in secret shapes on (the default) and off: what looking for secrets costs a call.
//!
//! Run with `cargo bench --bench capture`; the figures are in `docs/performance.md`.

use std::hint::black_box;
use std::sync::LazyLock;

use agent_trace::{CapturePolicy, SessionTracer, TracerContext, trace_tool_call};
use divan::Bencher;

#[path = "common/memory.rs"]
mod memory;

use memory::peak_rss as peak_memory;

fn main() {
    for text in [SHORT, PROMPT_200, &PROMPT, &PROMPT_WITH_SECRET] {
        assert_eq!(
            CapturePolicy::default().redact_string(text, false),
            regex_redact(text),
            "{text}"
        );
    }
    assert!(regex_redact(&PROMPT_WITH_SECRET).is_some());
    report_peak_memory();
    divan::main();
}

#[trace_tool_call]
#[inline(never)]
fn count_bytes(text: &str) -> usize {
    text.len()
}

#[inline(never)]
fn count_bytes_untraced(text: &str) -> usize {
    text.len()
}

static LARGE: LazyLock<String> = LazyLock::new(|| "an argument of text, \"quoted\"\n".repeat(100_000_000 / 30));

fn report_peak_memory() {
    let text: &str = &LARGE;
    let tracer = SessionTracer::default();
    let before = peak_memory();
    let session = tracer.start_session();
    TracerContext::new(&session).sync_scope(|| black_box(count_bytes(black_box(text))));
    let trace = session.end().expect("the session ends once");
    let after = peak_memory();
    drop(trace);
    println!(
        "one traced call with a {} MB argument: extra peak memory {} KiB",
        text.len() / 1_000_000,
        after.saturating_sub(before) / 1024
    );
}

mod large_string {
    use super::*;

    #[divan::bench(sample_count = 20)]
    fn traced_100_mb(bencher: Bencher<'_, '_>) {
        let text: &str = &LARGE;
        let tracer = SessionTracer::default();
        bencher.bench_local(|| {
            let session = tracer.start_session();
            TracerContext::new(&session).sync_scope(|| black_box(count_bytes(black_box(text))));
            session.end().expect("the session ends once")
        });
    }

    /// Measuring the escaped length of the whole argument, which the traced call does.
    #[divan::bench(sample_count = 20)]
    fn escaped_len_100_mb(bencher: Bencher<'_, '_>) {
        let text: &str = &LARGE;
        bencher.bench_local(|| trace_core::json::escaped_len(black_box(text.as_bytes())));
    }

    #[divan::bench(sample_count = 20)]
    fn untraced_100_mb(bencher: Bencher<'_, '_>) {
        let text: &str = &LARGE;
        bencher.bench_local(|| black_box(count_bytes_untraced(black_box(text))));
    }
}

const SHORT: &str = "search the docs for the answer";

const PROMPT_200: &str = "Find the three nearest hardware stores that are open on Sunday \
    and list them with their opening hours, the distance from the user's address, and a \
    phone number to call before going there.";

/// Prose of about 4 KB, as a prompt is.
static PROMPT: LazyLock<String> = LazyLock::new(|| {
    "You are a helpful assistant. Answer the question below using the search results, and \
     say so when they do not hold the answer. Basic facts first, then the details. "
        .repeat(24)
});

static PROMPT_WITH_SECRET: LazyLock<String> = LazyLock::new(|| {
    let mut text = PROMPT.clone();
    text.insert_str(
        2000,
        " Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl ",
    );
    text
});

/// The built-in shapes as one regular expression.
static SHAPES: LazyLock<regex_lite::Regex> = LazyLock::new(|| {
    regex_lite::Regex::new(concat!(
        r"(?i:\b(?:bearer|basic) +)(?P<credential>[A-Za-z0-9\-._~+/=]{8,})",
        r"|\bsk-[A-Za-z0-9_\-]{20,}",
        r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        r"|\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
        r"|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
    ))
    .expect("the shapes are a regular expression")
});

/// What the regex makes of `text` (the credential after `Bearer` redacted, not the word).
fn regex_redact(text: &str) -> Option<String> {
    if !SHAPES.is_match(text) {
        return None;
    }
    Some(
        SHAPES
            .replace_all(text, |captures: &regex_lite::Captures<'_>| {
                match captures.name("credential") {
                    Some(credential) => {
                        let whole = &captures[0];
                        format!(
                            "{}[REDACTED]",
                            &whole[..credential.start() - captures.get(0).map_or(0, |m| m.start())]
                        )
                    }
                    None => "[REDACTED]".to_owned(),
                }
            })
            .into_owned(),
    )
}

mod secrets {
    use super::*;

    /// By index: a short argument, a 200-byte prompt, a 4 KB prompt, the same with a token.
    fn inputs() -> [&'static str; 4] {
        [SHORT, PROMPT_200, &PROMPT, &PROMPT_WITH_SECRET]
    }

    #[divan::bench(args = [0, 1, 2, 3])]
    fn built_in(bencher: Bencher<'_, '_>, input: usize) {
        let policy = CapturePolicy::default();
        let text = inputs()[input];
        bencher.bench_local(|| policy.redact_string(black_box(text), false));
    }

    #[divan::bench(args = [0, 1, 2, 3])]
    fn regex_lite(bencher: Bencher<'_, '_>, input: usize) {
        let text = inputs()[input];
        bencher.bench_local(|| regex_redact(black_box(text)));
    }
}

mod call_with_a_prompt {
    use super::*;

    fn calls(bencher: Bencher<'_, '_>, policy: CapturePolicy) {
        let tracer = SessionTracer::builder().capture(policy).build();
        bencher.bench_local(|| {
            let session = tracer.start_session();
            TracerContext::new(&session).sync_scope(|| {
                for _ in 0..100 {
                    black_box(count_bytes(black_box(PROMPT_200)));
                }
            });
            session.end().expect("the session ends once")
        });
    }

    /// 100 calls a sample.
    #[divan::bench]
    fn secrets_on(bencher: Bencher<'_, '_>) {
        calls(bencher, CapturePolicy::default());
    }

    /// 100 calls a sample.
    #[divan::bench]
    fn secrets_off(bencher: Bencher<'_, '_>) {
        calls(bencher, CapturePolicy::default().redact_known_secrets(false));
    }
}
