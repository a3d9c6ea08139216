//! Replay as a user runs it: the example agent recorded once and run again with its LLM
//! and tool calls answered from the recording, divergences reported, cassettes.

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
mod support;
#[path = "../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_trace::replay::{Divergence, OnDivergence, ReplayError};
use agent_trace::testing::{CassetteError, cassette};
use agent_trace::{
    EventKind, JsonlSink, Outcome, Replay, SessionTrace, SessionTracer, SqliteSink, TraceStore, TracerContext,
    assert_parity, trace_agent, trace_llm_call, trace_tool_call,
};
use futures_util::StreamExt;
use support::TempDir;

/// An episode of the example agent, recorded.
async fn record(config: &agent::EpisodeConfig) -> (Result<agent::EpisodeSummary, String>, SessionTrace) {
    let session = SessionTracer::default().start_session();
    session.set_metadata("seed", config.seed);
    let result = TracerContext::new(&session).try_scope(agent::run_episode(config)).await;
    (result.map_err(|e| e.to_string()), session.end().unwrap())
}

/// The same episode, replayed (in a task of its own, so that a divergence that fails a
/// call, and the episode with it, is an `Err` here).
async fn replay(
    config: &agent::EpisodeConfig,
    replay: &Replay,
) -> (Result<agent::EpisodeSummary, String>, SessionTrace) {
    let session = SessionTracer::default().start_session();
    session.set_metadata("seed", config.seed);
    let (config, context) = (config.clone(), TracerContext::new(&session).replaying(replay));
    let ran = tokio::spawn(async move { context.try_scope(agent::run_episode(&config)).await }).await;
    let result = match ran {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(join) => Err(format!("panicked: {join}")),
    };
    (result, session.end().unwrap())
}

fn faulty(seed: u64) -> agent::EpisodeConfig {
    let mut config = agent::EpisodeConfig::new(seed, 12);
    config.faults = agent::Faults {
        tool_error_turn: Some(1),
        tool_panic_turn: Some(3),
        slow_step: Some(2),
        env_error_step: None,
    };
    config.step_timeout = Duration::from_millis(30);
    config.llm_latency = Duration::from_millis(2);
    config
}

#[tokio::test]
async fn the_example_agent_replays_to_the_same_session() {
    let config = faulty(5);
    let (recorded_result, recorded) = record(&config).await;
    let answered_calls = recorded
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Llm | EventKind::Tool))
        .count();
    let failures: Vec<Outcome> = recorded
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Tool && e.outcome != Outcome::Ok)
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        failures,
        [Outcome::Err, Outcome::Panicked],
        "a failing and a panicking tool"
    );

    let replay_of = Replay::from_trace(&recorded).strict_inputs(true);
    let (replayed_result, replayed) = replay(&config, &replay_of).await;
    assert_eq!(replayed_result, recorded_result);
    assert_eq!(replay_of.divergence(), None);
    assert_eq!(replay_of.answered(), answered_calls);
    assert_parity!(recorded, replayed);
    assert_eq!(replayed.metadata["replay.of"], recorded.session_id.as_str());
    assert!(!replayed.metadata.contains_key("replay.diverged"));

    // The store and a file of sessions give the same replay.
    let dir = TempDir::new("replay-sources");
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.db()).unwrap())
        .build();
    let session = tracer.start_session();
    session.set_metadata("seed", config.seed);
    TracerContext::new(&session)
        .try_scope(agent::run_episode(&config))
        .await
        .unwrap();
    let stored_id = session.end().unwrap().session_id;
    tracer.flush().unwrap();
    let from_store = Replay::from_store(&TraceStore::open(dir.db()).unwrap(), &stored_id[..8]).unwrap();
    assert_eq!(from_store.session_id(), stored_id);
    let (_, again) = replay(&config, &from_store).await;
    assert_eq!(from_store.divergence(), None);
    assert_parity!(recorded, again);

    let file = dir.0.join("sessions.jsonl");
    let mut sink = JsonlSink::open(&file).unwrap();
    agent_trace::sink::Sink::write_session(&mut sink, &recorded).unwrap();
    agent_trace::sink::Sink::write_session(&mut sink, &replayed).unwrap();
    agent_trace::sink::Sink::flush(&mut sink).unwrap();
    drop(sink);
    let from_file = Replay::from_jsonl(&file, Some(&recorded.session_id)).unwrap();
    assert_eq!(from_file.session_id(), recorded.session_id);
    let which = Replay::from_jsonl(&file, None).unwrap_err();
    assert!(matches!(which, ReplayError::WhichSession { count: 2, .. }), "{which}");
    let missing = Replay::from_jsonl(&file, Some("nope")).unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!("{}: no session nope to replay", file.display())
    );
}

#[tokio::test]
async fn a_changed_prompt_diverges_at_the_first_call_it_changes() {
    let (_, recorded) = record(&agent::EpisodeConfig::new(5, 6)).await;
    // Another world: the first prompt differs from the recorded one.
    let changed = agent::EpisodeConfig::new(6, 6);

    let strict = Replay::from_trace(&recorded).strict_inputs(true);
    let (result, replayed) = replay(&changed, &strict).await;
    assert!(result.is_err(), "the failed call ends the episode: {result:?}");
    let divergence = strict.divergence().expect("the prompt changed");
    assert_eq!(divergence.path, "runtime run_episode/agent decide/llm complete");
    assert_eq!((divergence.index, divergence.field.as_str()), (0, "inputs.prompt"));
    let first_llm = recorded.events.iter().find(|e| e.kind == EventKind::Llm).unwrap();
    assert_eq!(divergence.recorded_event, Some(first_llm.id));
    assert_eq!(divergence.recorded.as_ref(), Some(&first_llm.inputs["prompt"]));
    assert!(divergence.to_string().starts_with(&format!(
        "call 1 of runtime run_episode/agent decide/llm complete (recorded event {}): inputs.prompt: the inputs differ",
        first_llm.id
    )));
    assert_eq!(replayed.metadata["replay.diverged"], divergence.to_string().as_str());
    let failed = replayed.events.iter().find(|e| e.kind == EventKind::Llm).unwrap();
    assert_eq!(
        failed.outcome,
        Outcome::Panicked,
        "under the default policy the call fails"
    );

    // Live after divergence: the rest runs for real, as a fresh run of the changed agent.
    let live = Replay::from_trace(&recorded)
        .strict_inputs(true)
        .on_divergence(OnDivergence::Live);
    let (live_result, live_run) = replay(&changed, &live).await;
    let (fresh_result, fresh) = record(&changed).await;
    assert_eq!(live_result, fresh_result);
    assert_eq!(live.divergence().map(|d| d.field), Some("inputs.prompt".to_owned()));
    let report = agent_trace::parity::compare(&fresh, &live_run);
    assert!(report.is_valid(), "{report}");

    // Matched by place alone, the other world's prompts get the recorded answers.
    let loose = Replay::from_trace(&recorded);
    replay(&changed, &loose).await.0.unwrap();
    assert_eq!(loose.divergence(), None);
}

#[tokio::test]
async fn a_longer_run_diverges_where_the_recording_ends() {
    let (_, recorded) = record(&agent::EpisodeConfig::new(5, 2)).await;
    let replay_of = Replay::from_trace(&recorded);
    let (result, _) = replay(&agent::EpisodeConfig::new(5, 4), &replay_of).await;
    assert!(result.is_err());
    let divergence = replay_of.divergence().expect("a third turn");
    assert_eq!(divergence.path, "runtime run_episode/agent decide/llm complete");
    assert_eq!(
        (divergence.index, divergence.field.as_str(), divergence.recorded_event),
        (2, "call", None)
    );
    assert_eq!(divergence.reason, "the recording has no such call");
}

static BODY_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Not `Deserialize`: a replay cannot give it back.
#[derive(Debug, Clone, PartialEq)]
struct Opaque(u32);

#[trace_llm_call]
fn opaque() -> Opaque {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    Opaque(7)
}

#[trace_tool_call]
fn fails(text: &str) -> Result<u32, String> {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    Err(format!("cannot read {text}"))
}

#[derive(Debug, thiserror::Error)]
#[error("no luck")]
struct NoLuck;

#[trace_tool_call]
fn unlucky() -> Result<u32, NoLuck> {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    Err(NoLuck)
}

#[trace_tool_call]
fn boxed() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    Err(std::io::Error::other("disk full").into())
}

/// Not replayed by default (an agent call), and opted in.
#[trace_agent(replay = true)]
fn pick(options: Vec<u32>) -> u32 {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    options.iter().sum::<u32>() + BODY_RUNS.load(Ordering::SeqCst) as u32
}

#[trace_llm_call(replay = false)]
fn never_replayed() -> u32 {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    1
}

fn runs() -> usize {
    BODY_RUNS.load(Ordering::SeqCst)
}

fn recorded<R>(f: impl FnOnce() -> R) -> (R, Replay) {
    let (value, trace) = support::traced(f);
    (value, Replay::from_trace(&trace))
}

fn replayed<R>(replay: &Replay, f: impl FnOnce() -> R) -> (std::thread::Result<R>, SessionTrace) {
    let session = support::session();
    let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        TracerContext::new(&session).replaying(replay).sync_scope(f)
    }));
    (value, session.end().unwrap())
}

#[test]
fn what_each_return_type_replays() {
    // Errors that rebuild (String, boxed errors) come back; the body does not run.
    let (was, replay) = recorded(|| (fails("a"), boxed().map_err(|e| e.to_string()), pick(vec![1, 2])));
    let before = runs();
    let (again, _) = replayed(&replay, || {
        (fails("a"), boxed().map_err(|e| e.to_string()), pick(vec![1, 2]))
    });
    assert_eq!(again.unwrap(), was);
    assert_eq!(runs(), before, "no body ran");
    assert_eq!(replay.answered(), 3);

    // An error type without `FromRecordedError`, and a type without `Deserialize`: a
    // divergence naming the type, and the call fails (or runs, live).
    let (_, replay) = recorded(unlucky);
    let (failed, trace) = replayed(&replay, unlucky);
    let message = failed.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("`replay::NoLuck` does not implement `FromRecordedError`"),
        "{message}"
    );
    assert_eq!(trace.events[0].outcome, Outcome::Panicked);
    let divergence: Divergence = replay.divergence().unwrap();
    assert_eq!(divergence.field, "error");

    let (_, replay) = recorded(opaque);
    let replay = replay.on_divergence(OnDivergence::Live);
    let before = runs();
    let (value, _) = replayed(&replay, opaque);
    assert_eq!(value.unwrap(), Opaque(7));
    assert_eq!(runs(), before + 1, "live: the body ran");
    let divergence = replay.divergence().unwrap();
    assert_eq!(divergence.field, "return type");
    assert!(
        divergence
            .reason
            .contains("replay::Opaque` does not implement `Deserialize`"),
        "{divergence}"
    );

    // `replay = false`: the body runs, and a recorded call does not diverge.
    let (_, replay) = recorded(never_replayed);
    let before = runs();
    replayed(&replay, never_replayed).0.unwrap();
    assert_eq!((runs(), replay.answered(), replay.divergence()), (before + 1, 0, None));
}

#[tokio::test]
async fn a_cancelled_call_is_cancelled_again_and_spawned_tasks_replay() {
    #[trace_llm_call]
    async fn slow(prompt: String) -> String {
        tokio::time::sleep(Duration::from_millis(if prompt == "slow" { 10_000 } else { 1 })).await;
        format!("{prompt} done")
    }
    async fn episode() -> Vec<Option<String>> {
        let mut answers = Vec::new();
        for prompt in ["fast", "slow"] {
            answers.push(
                tokio::time::timeout(Duration::from_millis(50), slow(prompt.into()))
                    .await
                    .ok(),
            );
        }
        let spawned = agent_trace::spawn(slow("spawned".into())).await.unwrap();
        answers.push(Some(spawned));
        answers
    }
    let session = support::session();
    let was = TracerContext::new(&session).scope(episode()).await;
    let recorded = session.end().unwrap();
    assert_eq!(was, [Some("fast done".into()), None, Some("spawned done".into())]);
    assert_eq!(recorded.events[1].outcome, Outcome::Cancelled);

    let replay = Replay::from_trace(&recorded);
    let session = support::session();
    let again = TracerContext::new(&session).replaying(&replay).scope(episode()).await;
    assert_eq!(again, was);
    assert_eq!(replay.answered(), 3);
    assert_parity!(recorded, session.end().unwrap());
}

#[tokio::test]
async fn a_cassette_records_then_replays_and_reports_a_changed_policy() {
    let dir = TempDir::new("cassette");
    let path = dir.0.join("cassettes").join("episode.jsonl");
    let config = agent::EpisodeConfig::new(9, 8);

    let first = cassette(&path).run(agent::run_episode(&config)).await.unwrap();
    assert!(path.exists(), "the first run records");
    assert!(!cassette(&path).records());
    let second = cassette(&path).run(agent::run_episode(&config)).await.unwrap();
    assert_eq!(first, second);

    // The agent changed (here: it plays another world, so its prompts differ): the
    // cassette says where.
    let error = cassette(&path)
        .try_run(agent::run_episode(&agent::EpisodeConfig::new(10, 8)))
        .await
        .unwrap_err();
    let CassetteError::Diverged { divergence, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(divergence.field, "inputs.prompt");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "{}: the run diverged from the recording: call 1 of runtime run_episode/agent decide/llm complete",
            path.display()
        )),
        "{message}"
    );

    // The environment changed under unchanged answers: not the recorded run.
    let mut bigger = config.clone();
    bigger.world_size = 11;
    let error = cassette(&path)
        .strict_inputs(false)
        .try_run(agent::run_episode(&bigger))
        .await
        .unwrap_err();
    assert!(matches!(error, CassetteError::NotTheRecordedRun { .. }), "{error}");
}

/// The example agent's episode, kept in the repository: this test fails when a change to
/// the agent makes it ask its model or tools for something else, or do something else
/// with their answers (`AGENT_TRACE_RECORD=1` records it again, for a change meant).
#[tokio::test]
async fn the_example_agent_matches_its_cassette() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cassettes/react_episode.jsonl");
    let summary = cassette(path).run(agent::run_episode(&faulty(3))).await.unwrap();
    assert!(summary.turns_played > 0);
}

#[tokio::test]
async fn the_streaming_agent_replays_its_chunks() {
    let mut config = faulty(4);
    config.stream = true;
    let (recorded_result, recorded) = record(&config).await;
    let streamed = recorded.events.iter().find(|e| e.kind == EventKind::Llm).unwrap();
    // Chunks with usage are more than their text: kept as values.
    let kept = &streamed.metadata["stream.replay_items"];
    assert_eq!(kept["values"].as_array().map(Vec::len), Some(2), "{kept}");
    let replay_of = Replay::from_trace(&recorded).strict_inputs(true);
    let (replayed_result, replayed) = replay(&config, &replay_of).await;
    assert_eq!(replayed_result, recorded_result);
    assert_eq!(replay_of.divergence(), None);
    assert_parity!(recorded, replayed);
}

mod items {
    use futures_util::stream::{self, Stream, StreamExt};

    use super::*;

    thread_local! {
        /// The bodies that ran on this test's thread.
        pub static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Chunk {
        pub text: String,
    }

    #[trace_llm_call]
    pub fn words(prompt: &str) -> impl Stream<Item = String> + use<> {
        RUNS.set(RUNS.get() + 1);
        let words: Vec<String> = prompt.split(' ').map(|word| format!("{word} ")).collect();
        stream::iter(words)
    }

    #[trace_llm_call(stream_errors = "continue")]
    pub fn chunks() -> impl Stream<Item = Result<Chunk, String>> + use<> {
        RUNS.set(RUNS.get() + 1);
        stream::iter(vec![
            Ok(Chunk { text: "a".into() }),
            Err("rate limited".into()),
            Ok(Chunk { text: "b".into() }),
        ])
    }

    #[trace_tool_call]
    pub fn numbers(count: u32) -> Box<dyn Iterator<Item = u32>> {
        RUNS.set(RUNS.get() + 1);
        Box::new(0..count)
    }

    #[trace_tool_call]
    pub async fn pages(count: u32) -> impl Iterator<Item = Vec<u32>> + use<> {
        RUNS.set(RUNS.get() + 1);
        (0..count).map(|page| vec![page; 2]).collect::<Vec<_>>().into_iter()
    }

    #[trace_llm_call]
    pub async fn boxed_chunks(prompt: String) -> Pin<Box<dyn Stream<Item = Chunk> + Send>> {
        RUNS.set(RUNS.get() + 1);
        let chunks: Vec<Chunk> = prompt.chars().map(|text| Chunk { text: text.into() }).collect();
        Box::pin(stream::iter(chunks))
    }

    pub type Read = (
        String,
        Vec<Result<Chunk, String>>,
        Vec<u32>,
        Vec<u32>,
        Vec<Vec<u32>>,
        Vec<Chunk>,
    );

    pub async fn read() -> Read {
        let text: String = words("the quick brown fox").collect::<Vec<_>>().await.concat();
        let chunks = chunks().collect().await;
        let all = numbers(5).collect();
        // Dropped after two: cancelled, with the two.
        let some = numbers(5).take(2).collect();
        let pages = pages(3).await.collect();
        let boxed = boxed_chunks("ok".into()).await.collect().await;
        (text, chunks, all, some, pages, boxed)
    }
}

#[tokio::test]
async fn streams_and_iterators_replay_their_items_errors_and_early_drops() {
    let (was, recorded) = support::traced_async(items::read()).await;
    assert_eq!(recorded.events[3].outcome, Outcome::Cancelled);
    // What the output holds is not kept twice: text items are where they end in its text,
    // listed items are its list; only the times they came are added.
    let kept = |index: usize| &recorded.events[index].metadata["stream.replay_items"];
    assert_eq!(kept(0)["text_ends"], "4 10 16 20");
    assert_eq!(kept(1)["listed"], serde_json::json!(2));
    assert_eq!(
        kept(1)["errors"][0][0],
        serde_json::json!(1),
        "the error is the second item"
    );
    assert_eq!(kept(2)["at_us"].as_str().unwrap().split(' ').count(), 5);
    let before = items::RUNS.get();
    let replay_of = Replay::from_trace(&recorded);
    let session = support::session();
    let again = TracerContext::new(&session)
        .replaying(&replay_of)
        .scope(items::read())
        .await;
    assert_eq!(again, was);
    assert_eq!(items::RUNS.get(), before, "no body ran");
    assert_eq!(replay_of.answered(), 6);
    assert_parity!(recorded, session.end().unwrap());

    // A recording without the items (an older one): a stream of text is its output, as one
    // item.
    let mut older = recorded.clone();
    older.events[0].metadata.remove("stream.replay_items");
    let replay_of = Replay::from_trace(&older);
    let session = support::session();
    let again = TracerContext::new(&session)
        .replaying(&replay_of)
        .scope(items::read())
        .await;
    assert_eq!(again.0, was.0);
    assert_eq!(replay_of.divergence(), None);
}

mod paced {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use agent_trace::{trace_llm_call, trace_tool_call};
    use futures_util::stream::{self, Stream, StreamExt};

    /// The bodies that ran (each test its own).
    pub static WORDS: AtomicUsize = AtomicUsize::new(0);
    pub static BREAKING: AtomicUsize = AtomicUsize::new(0);

    #[trace_llm_call]
    pub async fn slow_words() -> impl Stream<Item = String> {
        WORDS.fetch_add(1, Ordering::SeqCst);
        stream::iter(["a", "b"]).then(|word| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            word.to_owned()
        })
    }

    #[trace_tool_call]
    pub fn slow_numbers() -> impl Iterator<Item = u32> {
        (0..2).inspect(|_| std::thread::sleep(Duration::from_millis(5)))
    }

    /// The words, joined: an output that is not the items.
    #[derive(Default)]
    pub struct Joined(String);

    impl agent_trace::Accumulate<String> for Joined {
        type Output = String;
        fn push(&mut self, word: &String) {
            self.0.push_str(word);
        }
        fn output(&self) -> String {
            self.0.clone()
        }
    }

    #[trace_llm_call(accumulate = Joined)]
    pub fn joined_words(text: &str) -> impl Stream<Item = String> + use<> {
        stream::iter(text.split(' ').map(str::to_owned).collect::<Vec<_>>())
    }

    #[trace_tool_call]
    pub fn breaking() -> impl Iterator<Item = String> {
        BREAKING.fetch_add(1, Ordering::SeqCst);
        (0..2).map(|n| {
            if n == 1 {
                panic!("the reader broke")
            } else {
                "first".to_owned()
            }
        })
    }
}

/// The last kept item of each event made to have come at `at` seconds.
fn last_item_at(trace: &mut SessionTrace, at: f64) {
    for event in &mut trace.events {
        let kept = event.metadata.get_mut("stream.replay_items").expect("kept items");
        let times = kept["at_us"].as_str().expect("the times items came");
        let mut times: Vec<String> = times.split(' ').map(str::to_owned).collect();
        assert!(
            times.iter().all(|at| at.parse::<u64>().is_ok()),
            "every item timed: {times:?}"
        );
        *times.last_mut().unwrap() = ((at * 1e6) as u64).to_string();
        kept["at_us"] = serde_json::Value::String(times.join(" "));
    }
}

#[tokio::test]
async fn a_replay_asked_to_wait_gives_each_item_no_earlier_than_it_came() {
    let (was, mut recorded) =
        support::traced_async(async { paced::slow_words().await.collect::<Vec<_>>().await }).await;
    last_item_at(&mut recorded, 0.3);
    let before = paced::WORDS.load(Ordering::SeqCst);
    let replay_of = Replay::from_trace(&recorded).wait_between_items(true);
    let session = support::session();
    let started = std::time::Instant::now();
    let read = TracerContext::new(&session)
        .replaying(&replay_of)
        .scope(async { paced::slow_words().await.collect::<Vec<_>>().await });
    // Woken by the replay itself (no timer of the runtime's): a lost wake-up would hang.
    let again = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the reader is woken");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(again, was);
    assert_eq!(paced::WORDS.load(Ordering::SeqCst), before, "no body ran");
    assert_parity!(recorded, session.end().unwrap());

    let (was, mut recorded) = support::traced(|| paced::slow_numbers().collect::<Vec<_>>());
    last_item_at(&mut recorded, 0.3);
    let replay_of = Replay::from_trace(&recorded).wait_between_items(true);
    let session = support::session();
    let started = std::time::Instant::now();
    let again = TracerContext::new(&session)
        .replaying(&replay_of)
        .sync_scope(|| paced::slow_numbers().collect::<Vec<_>>());
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(again, was);
    assert_parity!(recorded, session.end().unwrap());
}

#[test]
fn a_stream_that_panicked_gives_its_items_and_panics_again() {
    let read = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| paced::breaking().collect::<Vec<_>>()));
    let (was, recorded) = support::traced(read);
    assert!(was.is_err());
    assert_eq!(recorded.events[0].outcome, Outcome::Panicked);
    let before = paced::BREAKING.load(Ordering::SeqCst);
    let replay_of = Replay::from_trace(&recorded);
    let session = support::session();
    let again = TracerContext::new(&session).replaying(&replay_of).sync_scope(read);
    let payload = again.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("the reader broke")
    );
    assert_eq!(paced::BREAKING.load(Ordering::SeqCst), before, "no body ran");
    assert_eq!(replay_of.divergence(), None);
    assert_parity!(recorded, session.end().unwrap());
}

#[tokio::test]
async fn items_recorded_whole_that_are_not_text_diverge_and_can_go_live() {
    let (was, mut recorded) = support::traced_async(items::read()).await;
    // An older recording: the numbers' items were not kept, only their list.
    recorded.events[2].metadata.remove("stream.replay_items");
    let replay_of = Replay::from_trace(&recorded).on_divergence(OnDivergence::Live);
    let session = support::session();
    let again = TracerContext::new(&session)
        .replaying(&replay_of)
        .scope(items::read())
        .await;
    assert_eq!(again, was, "the rest of the run is live");
    let divergence = replay_of.divergence().expect("a divergence");
    assert_eq!(divergence.path, "tool numbers");
    assert_eq!(divergence.field, "output");
    assert!(divergence.reason.contains("does not decode as `u32`"), "{divergence}");
}

#[tokio::test]
async fn accumulated_items_are_kept_as_values_and_cut_ones_diverge() {
    let read = || async { paced::joined_words("a b c").collect::<Vec<_>>().await };
    let (was, recorded) = support::traced_async(read()).await;
    let kept = &recorded.events[0].metadata["stream.replay_items"];
    assert_eq!(kept["values"], serde_json::json!(["a", "b", "c"]), "{kept}");
    let replay_of = Replay::from_trace(&recorded);
    let session = support::session();
    let again = TracerContext::new(&session).replaying(&replay_of).scope(read()).await;
    assert_eq!(again, was);
    assert_parity!(recorded, session.end().unwrap());

    // Recorded under a capture limit the text passed: the items are not all there.
    let tracer = SessionTracer::builder()
        .capture(agent_trace::CapturePolicy::default().max_value_bytes(8))
        .build();
    let session = tracer.start_session();
    let long = || async { items::words("a text longer than the limit").collect::<Vec<_>>().await };
    let was = TracerContext::new(&session).scope(long()).await;
    let recorded = session.end().unwrap();
    let replay_of = Replay::from_trace(&recorded).on_divergence(OnDivergence::Live);
    let session = tracer.start_session();
    let again = TracerContext::new(&session).replaying(&replay_of).scope(long()).await;
    assert_eq!(again, was, "run live");
    let divergence = replay_of.divergence().expect("a divergence");
    assert_eq!(divergence.field, "output");
    assert!(divergence.reason.contains("cut at the capture limit"), "{divergence}");
}
