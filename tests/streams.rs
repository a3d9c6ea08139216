//! Traced functions that return a stream or an iterator: the call stays open while the
//! items are read, records them, and ends with the stream.

mod support;

use std::pin::Pin;

use agent_trace::{
    Accumulate, CapturePolicy, LlmUsage, Outcome, SessionTracer, TracerContext, trace_agent, trace_llm_call,
    trace_runtime, trace_tool_call,
};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use support::{only_event, traced, traced_async};

fn chunks(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|text| (*text).to_owned()).collect()
}

#[trace_llm_call(model = "scripted")]
fn chat_stream(prompt: &str) -> impl Stream<Item = String> + use<> {
    let words = if prompt.is_empty() {
        Vec::new()
    } else {
        chunks(&["Hel", "lo ", "world"])
    };
    stream::iter(words)
}

#[tokio::test]
async fn a_text_stream_is_one_call_with_the_concatenated_text() {
    let (read, trace) = traced_async(async { chat_stream("hi").collect::<Vec<_>>().await }).await;
    assert_eq!(
        read,
        chunks(&["Hel", "lo ", "world"]),
        "the reader gets the items as they are"
    );
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Ok);
    assert_eq!(event.inputs["prompt"], json!("hi"));
    assert_eq!(event.output, Some(json!("Hello world")));
    assert_eq!(event.metadata["stream.items"], json!(3));
    let first = event.metadata["gen_ai.response.time_to_first_chunk"].as_f64().unwrap();
    assert!(first >= 0.0 && first <= event.duration.as_secs_f64(), "{first}");
    assert_eq!(event.metadata["gen_ai.request.model"], json!("scripted"));
    assert_eq!(event.metadata["gen_ai.request.stream"], json!(true));
}

#[tokio::test]
async fn an_empty_stream_ends_ok_with_no_output() {
    let (read, trace) = traced_async(async { chat_stream("").count().await }).await;
    assert_eq!(read, 0);
    let event = only_event(&trace);
    assert_eq!((event.outcome, &event.output), (Outcome::Ok, &None));
    assert_eq!(event.metadata["stream.items"], json!(0));
    assert!(!event.metadata.contains_key("gen_ai.response.time_to_first_chunk"));
}

#[tokio::test]
async fn a_stream_dropped_early_is_cancelled_with_the_items_so_far() {
    let (first, trace) = traced_async(async {
        let mut reply = chat_stream("hi");
        reply.next().await
    })
    .await;
    assert_eq!(first.as_deref(), Some("Hel"));
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Cancelled);
    assert_eq!(event.output, Some(json!("Hel")));
    assert_eq!(event.metadata["stream.items"], json!(1));
}

#[derive(Debug, thiserror::Error)]
#[error("connection reset after {0} chunks")]
struct Reset(usize);

#[trace_llm_call]
fn flaky_stream() -> impl Stream<Item = Result<String, Reset>> {
    stream::iter(vec![Ok("one ".to_owned()), Err(Reset(1)), Ok("two".to_owned())])
}

#[trace_llm_call(stream_errors = "continue")]
fn patient_stream() -> impl Stream<Item = Result<String, Reset>> {
    stream::iter(vec![Ok("one ".to_owned()), Err(Reset(1)), Ok("two".to_owned())])
}

#[tokio::test]
async fn an_err_item_ends_the_call_as_failed_and_the_reader_still_gets_every_item() {
    let (read, trace) = traced_async(async { flaky_stream().collect::<Vec<_>>().await }).await;
    assert_eq!(read.len(), 3, "items after the error still reach the reader");
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Err);
    let error = event.error.as_ref().unwrap();
    assert_eq!(error.message, "connection reset after 1 chunks");
    assert!(error.kind.ends_with("Reset"), "{}", error.kind);
    assert_eq!(event.output, Some(json!("one ")), "the Ok texts up to the error");
    assert_eq!(event.metadata["stream.items"], json!(2));
    assert_eq!(event.metadata["stream.error_items"], json!(1));
}

#[tokio::test]
async fn stream_errors_continue_keeps_the_call_open_to_the_end() {
    let (_, trace) = traced_async(async { patient_stream().collect::<Vec<_>>().await }).await;
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Err, "the first error is the call's");
    assert_eq!(event.error.as_ref().unwrap().message, "connection reset after 1 chunks");
    assert_eq!(event.output, Some(json!("one two")));
    assert_eq!(event.metadata["stream.items"], json!(3));
    assert_eq!(event.metadata["stream.error_items"], json!(1));
}

/// Items whose type only the signature settles (`.into()` in the body): traced, the
/// function builds as it does untraced.
#[trace_llm_call(stream_errors = "continue")]
fn stream_typed_by_its_signature() -> impl Stream<Item = Result<String, String>> {
    stream::iter(vec![Ok("one".to_owned()), Err("reset".into())])
}

#[trace_tool_call]
async fn iterator_typed_by_its_signature() -> Box<dyn Iterator<Item = Result<u8, String>>> {
    Box::new(vec![Ok(1), Err("reset".into())].into_iter())
}

#[tokio::test]
async fn items_typed_by_the_signature_alone_are_recorded_as_their_type() {
    let (read, trace) = traced_async(async {
        let streamed = stream_typed_by_its_signature().collect::<Vec<_>>().await;
        let iterated = iterator_typed_by_its_signature().await.collect::<Vec<_>>();
        (streamed, iterated)
    })
    .await;
    assert_eq!(read.0, vec![Ok("one".to_owned()), Err("reset".to_owned())]);
    assert_eq!(read.1, vec![Ok(1), Err("reset".to_owned())]);
    for event in &trace.events {
        assert_eq!(event.outcome, Outcome::Err, "{}", event.name);
        assert_eq!(event.error.as_ref().unwrap().message, "reset");
        assert_eq!(event.metadata["stream.error_items"], json!(1));
    }
}

#[trace_tool_call]
fn lookup(word: &str) -> usize {
    word.len()
}

/// A stream whose every item is produced by a tool call, made while the stream is polled.
#[trace_llm_call]
fn tool_backed_stream() -> impl Stream<Item = String> {
    stream::iter(["a", "bb"]).map(|word| format!("{}:{}", word, lookup(word)))
}

#[trace_agent]
async fn agent_reading_between_chunks() -> Vec<String> {
    let mut reply = tool_backed_stream();
    let mut seen = Vec::new();
    while let Some(chunk) = reply.next().await {
        // What the reader does between two items is the agent's, not the LLM call's.
        lookup(&chunk);
        seen.push(chunk);
    }
    seen
}

#[tokio::test]
async fn work_while_polling_is_the_calls_and_work_between_items_is_the_readers() {
    let (seen, trace) = traced_async(agent_reading_between_chunks()).await;
    assert_eq!(seen, vec!["a:1", "bb:2"]);
    let agent = trace
        .events
        .iter()
        .find(|e| e.name == "agent_reading_between_chunks")
        .unwrap();
    let llm = trace.events.iter().find(|e| e.name == "tool_backed_stream").unwrap();
    assert_eq!(llm.parent, Some(agent.id));
    let tools: Vec<_> = trace.events.iter().filter(|e| e.name == "lookup").collect();
    let parents: Vec<(Value, Option<u64>)> = tools.iter().map(|t| (t.inputs["word"].clone(), t.parent)).collect();
    assert_eq!(
        parents,
        vec![
            (json!("a"), Some(llm.id)),
            (json!("a:1"), Some(agent.id)),
            (json!("bb"), Some(llm.id)),
            (json!("bb:2"), Some(agent.id)),
        ]
    );
    assert_eq!(llm.output, Some(json!("a:1bb:2")));
}

#[trace_runtime]
async fn connect(model: &str) -> usize {
    model.len()
}

/// An `async fn` returning a stream: the awaited part and the items are one call.
#[trace_llm_call]
async fn open_stream(model: &str) -> impl Stream<Item = String> + use<> {
    let size = connect(model).await;
    stream::iter((0..size).map(|i| i.to_string()))
}

#[tokio::test]
async fn an_async_fn_returning_a_stream_is_one_call_from_the_await_to_the_last_item() {
    let (read, trace) = traced_async(async { open_stream("abc").await.collect::<String>().await }).await;
    assert_eq!(read, "012");
    assert_eq!(trace.events.len(), 2);
    let llm = trace.events.iter().find(|e| e.name == "open_stream").unwrap();
    let connect = trace.events.iter().find(|e| e.name == "connect").unwrap();
    assert_eq!(connect.parent, Some(llm.id), "the awaited part runs inside the call");
    assert_eq!((llm.outcome, &llm.output), (Outcome::Ok, &Some(json!("012"))));
    assert!(llm.duration >= connect.duration);
}

#[trace_llm_call]
fn boxed_stream<'a>(words: &'a [&'a str]) -> Pin<Box<dyn Stream<Item = &'a str> + Send + 'a>> {
    Box::pin(stream::iter(words.iter().copied()))
}

#[trace_llm_call]
fn box_stream() -> BoxStream<'static, String> {
    stream::iter(chunks(&["x", "y"])).boxed()
}

type ChatStream = Pin<Box<dyn Stream<Item = String> + Send>>;

#[trace_llm_call(stream)]
fn aliased_stream() -> ChatStream {
    Box::pin(stream::iter(chunks(&["al", "ias"])))
}

#[tokio::test]
async fn boxed_streams_and_aliases_with_the_stream_option() {
    let words = ["bo", "xed"];
    let (_, trace) = traced_async(async {
        boxed_stream(&words).collect::<Vec<_>>().await;
        box_stream().collect::<Vec<_>>().await;
        aliased_stream().collect::<Vec<_>>().await;
    })
    .await;
    let outputs: Vec<_> = trace
        .events
        .iter()
        .map(|e| (e.name.as_str(), e.output.clone()))
        .collect();
    assert_eq!(
        outputs,
        vec![
            ("boxed_stream", Some(json!("boxed"))),
            ("box_stream", Some(json!("xy"))),
            ("aliased_stream", Some(json!("alias"))),
        ]
    );
}

#[derive(Serialize)]
struct Delta {
    text: String,
    usage: Option<(u64, u64)>,
}

impl LlmUsage for Delta {
    fn input_tokens(&self) -> Option<u64> {
        self.usage.map(|usage| usage.0)
    }
    fn output_tokens(&self) -> Option<u64> {
        self.usage.map(|usage| usage.1)
    }
}

fn deltas() -> Vec<Delta> {
    vec![
        Delta {
            text: "Hi".into(),
            usage: None,
        },
        Delta {
            text: "!".into(),
            usage: Some((12, 2)),
        },
    ]
}

#[trace_llm_call]
fn delta_stream() -> impl Stream<Item = Delta> {
    stream::iter(deltas())
}

#[tokio::test]
async fn other_items_are_listed_and_the_item_with_usage_gives_the_tokens() {
    let (_, trace) = traced_async(async { delta_stream().count().await }).await;
    let event = only_event(&trace);
    assert_eq!(
        event.output,
        Some(json!([{"text": "Hi", "usage": null}, {"text": "!", "usage": [12, 2]}]))
    );
    assert_eq!(event.metadata["gen_ai.usage.input_tokens"], json!(12));
    assert_eq!(event.metadata["gen_ai.usage.output_tokens"], json!(2));
}

/// The text of the deltas, and how many carried usage.
#[derive(Default)]
struct Reply {
    text: String,
    with_usage: usize,
}

impl Accumulate<Delta> for Reply {
    type Output = Value;
    fn push(&mut self, delta: &Delta) {
        self.text.push_str(&delta.text);
        self.with_usage += usize::from(delta.usage.is_some());
    }
    fn output(&self) -> Value {
        json!({"text": self.text, "with_usage": self.with_usage})
    }
}

#[trace_llm_call(accumulate = Reply)]
fn accumulated_stream() -> impl Stream<Item = Delta> {
    stream::iter(deltas())
}

#[tokio::test]
async fn accumulate_gives_the_output_by_the_users_own_impl() {
    let (_, trace) = traced_async(async {
        accumulated_stream().count().await;
        let mut partial = accumulated_stream();
        partial.next().await;
    })
    .await;
    assert_eq!(trace.events[0].output, Some(json!({"text": "Hi!", "with_usage": 1})));
    assert_eq!(trace.events[0].metadata["gen_ai.usage.input_tokens"], json!(12));
    assert_eq!(trace.events[1].outcome, Outcome::Cancelled);
    assert_eq!(trace.events[1].output, Some(json!({"text": "Hi", "with_usage": 0})));
}

#[derive(Default)]
struct Panicky;

impl Accumulate<String> for Panicky {
    type Output = u8;
    fn push(&mut self, item: &String) {
        assert!(item != "boom", "the accumulator broke");
    }
    fn output(&self) -> u8 {
        1
    }
}

#[trace_runtime(accumulate = Panicky)]
fn panicky_accumulated() -> impl Stream<Item = String> {
    stream::iter(chunks(&["ok", "boom", "after"]))
}

#[tokio::test]
async fn a_panicking_accumulator_ends_in_its_message_and_the_reader_is_untouched() {
    let (read, trace) = traced_async(async { panicky_accumulated().collect::<Vec<_>>().await }).await;
    assert_eq!(read.len(), 3);
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Ok);
    assert_eq!(
        event.output,
        Some(json!("<Accumulate::push panicked: the accumulator broke>"))
    );
}

#[trace_runtime]
fn numbers(limit: u32) -> impl Iterator<Item = u32> {
    (1..=limit).map(|n| n * lookup("n") as u32)
}

#[trace_runtime]
fn boxed_words() -> Box<dyn Iterator<Item = &'static str>> {
    Box::new(["it", "er"].into_iter())
}

#[test]
fn an_iterator_is_one_call_over_its_items() {
    let ((sum, words, first), trace) = traced(|| {
        let sum: u32 = numbers(3).sum();
        let words: String = boxed_words().collect();
        let first = numbers(5).next();
        (sum, words, first)
    });
    assert_eq!((sum, words.as_str(), first), (6, "iter", Some(1)));
    let calls: Vec<_> = trace.events.iter().filter(|e| e.name != "lookup").collect();
    let summary: Vec<_> = calls
        .iter()
        .map(|e| (e.name.as_str(), e.outcome, e.output.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("numbers", Outcome::Ok, Some(json!([1, 2, 3]))),
            ("boxed_words", Outcome::Ok, Some(json!("iter"))),
            ("numbers", Outcome::Cancelled, Some(json!([1]))),
        ]
    );
    let lookups = trace
        .events
        .iter()
        .filter(|e| e.name == "lookup" && e.parent == Some(calls[0].id));
    assert_eq!(lookups.count(), 3, "work done in `next` is the call's");
}

#[tokio::test]
async fn outside_a_scope_the_stream_is_the_same_and_nothing_records() {
    assert_eq!(chat_stream("hi").collect::<String>().await, "Hello world");
    assert_eq!(flaky_stream().count().await, 3);
    assert_eq!(box_stream().collect::<String>().await, "xy");
    assert_eq!(numbers(2).collect::<Vec<_>>(), vec![1, 2]);
}

#[trace_llm_call]
fn exploding_stream() -> impl Stream<Item = String> {
    stream::iter(chunks(&["fine", "boom"])).map(|chunk| {
        assert!(chunk != "boom", "the provider's parser broke");
        chunk
    })
}

#[tokio::test]
async fn a_panic_while_polling_records_panicked_and_goes_on_unwinding() {
    let session = SessionTracer::default().start_session();
    let context = TracerContext::new(&session);
    let mut reply = std::pin::pin!(context.scope(async { exploding_stream().collect::<Vec<_>>().await }));
    let waker = std::task::Waker::noop();
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reply.as_mut().poll(&mut std::task::Context::from_waker(waker))
    }));
    let payload = polled.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the provider's parser broke"));
    let trace = session.end().unwrap();
    let event = only_event(&trace);
    assert_eq!(event.outcome, Outcome::Panicked);
    assert_eq!(event.error.as_ref().unwrap().message, "the provider's parser broke");
    assert_eq!(event.output, Some(json!("fine")));
}

#[trace_runtime]
fn many_values(count: u64) -> impl Iterator<Item = u64> {
    0..count
}

#[trace_llm_call]
fn long_text() -> impl Iterator<Item = String> {
    (0..10).map(|_| "abcdefghij".to_owned())
}

#[test]
fn what_passes_the_limit_is_counted_not_kept() {
    let tracer = SessionTracer::builder()
        .capture(CapturePolicy::default().max_value_bytes(16))
        .build();
    let session = tracer.start_session();
    TracerContext::new(&session).sync_scope(|| {
        many_values(1000).for_each(drop);
        long_text().for_each(drop);
    });
    let trace = session.end().unwrap();
    let list = trace.events[0].output.as_ref().unwrap().as_array().unwrap();
    assert_eq!(
        list.last(),
        Some(&json!({"$truncated": true, "items": 1000 - (list.len() as u64 - 1)}))
    );
    assert!(list.len() < 20, "{list:?}");
    assert_eq!(trace.events[0].metadata["stream.items"], json!(1000));
    let text = trace.events[1].output.as_ref().unwrap();
    assert_eq!(text["$truncated"], json!(true));
    assert!(text["len"].as_u64().unwrap() >= 100, "{text}");
}
