//! Training data from the example agent's sessions, as a user exports them:
//! `agent_trace::dataset` over a store, and the record formats' rules on sessions made to
//! test them.

#[path = "../examples/react_agent/agent.rs"]
#[allow(dead_code)]
mod agent;
mod support;
#[path = "../examples/react_agent/world.rs"]
#[allow(dead_code)]
mod world;

use agent_trace::dataset::{self, DatasetWriter, Format, Per, SftRecord, Skipped, Trajectory};
use agent_trace::{
    Event, EventKind, Outcome, Reward, SessionTrace, SessionTracer, SqliteSink, TraceFilter, TraceStore, TracerContext,
};
use serde_json::{Value, json};
use support::TempDir;

/// Runs one episode of the example agent in a session of `tracer`, tagged `tag`.
async fn episode(tracer: &SessionTracer, config: &agent::EpisodeConfig, tag: &str) -> agent::EpisodeSummary {
    let session = tracer.start_session();
    session.add_tag(tag);
    let summary = TracerContext::new(&session)
        .try_scope(agent::run_episode(config))
        .await
        .expect("the episode runs");
    session.end().expect("the session ends");
    summary
}

/// The JSON lines of an export, parsed.
fn records<T: serde::de::DeserializeOwned>(lines: &[u8]) -> Vec<T> {
    std::str::from_utf8(lines)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn export(store: &TraceStore, filter: &TraceFilter, format: Format) -> (Vec<u8>, dataset::Report) {
    let mut lines = Vec::new();
    let report = dataset::export(store, filter, format, &mut lines).unwrap();
    (lines, report)
}

const PER_CALL: Format = Format::Sft {
    per: Per::Call,
    metadata: true,
};

#[tokio::test]
async fn the_example_agents_sessions_export_as_fine_tuning_records_and_trajectories() {
    let dir = TempDir::new("dataset-example");
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.db()).unwrap())
        .build();
    let config = agent::EpisodeConfig::new(3, 12);
    let summary = episode(&tracer, &config, "train").await;
    episode(&tracer, &agent::EpisodeConfig::new(4, 12), "held-out").await;
    tracer.flush().unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    let train = TraceFilter {
        tag: Some("train".into()),
        ..TraceFilter::default()
    };
    let session_id = store.list(&train).unwrap()[0].session_id.clone();
    let trace = store.get(&session_id).unwrap().unwrap();
    let llm_calls: Vec<&Event> = trace.events.iter().filter(|e| e.kind == EventKind::Llm).collect();
    assert_eq!(llm_calls.len() as u32, summary.turns_played);

    // One record per LLM call: the prompt as the user's message, the completion's text as
    // the assistant's.
    let (lines, report) = export(&store, &train, PER_CALL);
    let per_call: Vec<SftRecord> = records(&lines);
    assert_eq!(
        (report.sessions, report.records, report.skipped),
        (1, llm_calls.len(), Skipped::default())
    );
    for (record, call) in per_call.iter().zip(&llm_calls) {
        assert_eq!(
            record.messages,
            vec![
                json!({"role": "user", "content": call.inputs["prompt"]}),
                json!({"role": "assistant", "content": call.output.as_ref().unwrap()["text"]}),
            ]
        );
        assert_eq!(record.metadata.session_id, session_id);
        assert_eq!(record.metadata.events, vec![call.id]);
        assert_eq!(record.metadata.models, vec!["scripted-policy".to_owned()]);
        assert_eq!(record.metadata.turn, call.turn);
    }
    assert!(per_call[0].messages[0]["content"].as_str().unwrap().contains("Turn 0."));

    // One record per session: the turns' prompts and answers in order.
    let per_session = Format::Sft {
        per: Per::Session,
        metadata: true,
    };
    let (lines, report) = export(&store, &train, per_session);
    let whole: Vec<SftRecord> = records(&lines);
    assert_eq!((report.records, whole.len()), (1, 1));
    let expected: Vec<Value> = per_call.iter().flat_map(|record| record.messages.clone()).collect();
    assert_eq!(whole[0].messages, expected);
    assert_eq!(
        whole[0].metadata.events,
        llm_calls.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(whole[0].metadata.turn, None);

    // One trajectory: what the agent saw is what it was given, the rewards add up to the
    // episode's, the outcome is the goal.
    let (lines, report) = export(&store, &train, Format::Trajectories);
    let trajectories: Vec<Trajectory> = records(&lines);
    assert_eq!((report.records, trajectories.len()), (1, 1));
    let trajectory = &trajectories[0];
    check_trajectory(&trace, trajectory);
    assert_eq!(trajectory.steps.len() as u32, summary.turns_played);
    let rewards: f64 = trajectory.steps.iter().map(|step| step.reward).sum();
    assert_eq!(rewards, summary.total_reward);
    assert!(summary.total_reward > 0.0, "the episode collected something");
    assert_eq!(trajectory.outcome_reward, if summary.terminated { 1.0 } else { 0.0 });
    let reset = trace.events.iter().find(|e| e.name == "reset").unwrap();
    assert_eq!(trajectory.steps[0].observation, reset.output);
    let last_step = trace.events.iter().rev().find(|e| e.name == "step").unwrap();
    assert_eq!(
        trajectory.final_observation.as_ref(),
        Some(&last_step.output.as_ref().unwrap()["observation"])
    );

    // Every session when the filter selects all, newest first.
    let (_, report) = export(&store, &TraceFilter::default(), Format::Trajectories);
    assert_eq!((report.sessions, report.records), (2, 2));
}

/// Each step's observation is the observation its agent call was given, and its action is
/// what that call returned.
fn check_trajectory(trace: &SessionTrace, trajectory: &Trajectory) {
    let decisions: Vec<&Event> = trace.events.iter().filter(|e| e.name == "decide").collect();
    assert_eq!(trajectory.steps.len(), decisions.len());
    for (step, decide) in trajectory.steps.iter().zip(decisions) {
        assert_eq!(Some(step.turn), decide.turn);
        assert_eq!(
            step.observation.as_ref(),
            Some(&decide.inputs["observation"]),
            "turn {}",
            step.turn
        );
        assert_eq!(step.action, decide.output, "turn {}", step.turn);
    }
}

#[tokio::test]
async fn faults_and_streams_keep_the_records_true() {
    // A failing tool, a panicking tool and a step the runtime cancels: the agent acts on
    // the last observation it had, and the cancelled step earns nothing.
    let mut config = agent::EpisodeConfig::new(3, 12);
    config.faults = agent::Faults {
        tool_error_turn: Some(1),
        tool_panic_turn: Some(3),
        slow_step: Some(2),
        env_error_step: None,
    };
    config.step_timeout = std::time::Duration::from_millis(30);
    let (summary, trace) = support::traced_async(agent::run_episode(&config)).await;
    let summary = summary.unwrap();
    assert_eq!(summary.timed_out_steps, 1);
    let trajectory = dataset::trajectory(&trace);
    check_trajectory(&trace, &trajectory);
    assert_eq!(trajectory.steps[2].reward, 0.0, "the cancelled step");
    assert_eq!(trajectory.steps[3].observation, trajectory.steps[2].observation);
    let (per_call, skipped) = dataset::sft_records(&trace, Per::Call);
    assert_eq!(per_call.len() as u32, summary.turns_played);
    assert_eq!(skipped, Skipped::default(), "the tools' failures are not the model's");

    // Streamed completions are the same conversation.
    let mut streamed = agent::EpisodeConfig::new(3, 12);
    streamed.stream = true;
    let (_, streamed) = support::traced_async(agent::run_episode(&streamed)).await;
    let (_, plain) = support::traced_async(agent::run_episode(&agent::EpisodeConfig::new(3, 12))).await;
    let messages = |trace: &SessionTrace| -> Vec<Vec<Value>> {
        dataset::sft_records(trace, Per::Call)
            .0
            .into_iter()
            .map(|record| record.messages)
            .collect()
    };
    assert_eq!(messages(&streamed), messages(&plain));
    assert!(!messages(&plain).is_empty());
}

/// A session recorded by hand, one LLM call an event.
fn session_of(calls: Vec<agent_trace::EventBuilder>) -> SessionTrace {
    let session = support::session();
    for call in calls {
        session.record_event(call).unwrap();
    }
    session.end().unwrap()
}

fn llm() -> agent_trace::EventBuilder {
    Event::builder(EventKind::Llm, "agent", "chat").metadata("gen_ai.request.model", "gpt-5-mini")
}

#[test]
fn messages_come_from_requests_responses_and_text_and_what_is_not_chat_is_counted() {
    let system = json!({"role": "system", "content": "Answer in one word."});
    let ask = |content: &str| json!({"role": "user", "content": content});
    let answer = |content: &str| json!({"role": "assistant", "content": content});
    let trace = session_of(vec![
        // A request with the history, and a provider's response.
        llm()
            .input(
                "request",
                json!({"model": "gpt-5-mini", "messages": [system, ask("Capital of France?")]}),
            )
            .output(json!({"id": "r1", "choices": [{"message": answer("Paris")}]})),
        // The next call re-sends the history: only what is new joins the conversation.
        llm()
            .input(
                "messages",
                json!([system, ask("Capital of France?"), answer("Paris"), ask("And of Italy?")]),
            )
            .output(answer("Rome")),
        llm()
            .input("request", json!({"max_tokens": 3}))
            .output("no messages in"),
        llm().input("prompt", "count").output(json!({"tokens": 3})),
        llm().input("prompt", "fail").outcome(Outcome::Err),
        llm()
            .input("prompt", json!({"$truncated": true, "len": 100_000, "head": "You are"}))
            .input("question", "Why?")
            .output(json!({"$truncated": true, "len": 90_000, "head": "Because"})),
    ]);

    let (per_call, skipped) = dataset::sft_records(&trace, Per::Call);
    assert_eq!(per_call.len(), 2);
    assert_eq!(
        per_call[0].messages,
        vec![system.clone(), ask("Capital of France?"), answer("Paris")]
    );
    assert_eq!(per_call[0].metadata.models, vec!["gpt-5-mini".to_owned()]);
    assert_eq!(
        skipped,
        Skipped {
            failed_calls: 1,
            calls_without_input: 1,
            calls_without_output: 1,
            incomplete_calls: 1,
            empty_sessions: 0,
        }
    );

    let (whole, _) = dataset::sft_records(&trace, Per::Session);
    assert_eq!(
        whole[0].messages,
        vec![
            system,
            ask("Capital of France?"),
            answer("Paris"),
            ask("And of Italy?"),
            answer("Rome")
        ]
    );
    assert_eq!(whole[0].metadata.events, vec![1, 2]);

    // The writer counts the same, and says so.
    let mut writer = DatasetWriter::new(Vec::new(), PER_CALL);
    assert_eq!(writer.write(&trace).unwrap(), 2);
    let (_, report) = writer.finish().unwrap();
    assert_eq!(
        report.to_string(),
        "2 records from 1 session (skipped: 1 failed LLM call, 1 LLM call without input messages, \
         1 LLM call without an output message, 1 LLM call with a value not captured whole)"
    );
}

#[test]
fn a_system_prompt_argument_a_nested_call_and_a_session_without_turns() {
    let session = support::session();
    let outer = session
        .record_event(
            llm()
                .input("system_prompt", "Be brief.")
                .input("question", "Why?")
                .output("Because."),
        )
        .unwrap();
    // A retry inside the call is part of it, not a record of its own.
    session
        .record_event(llm().parent(outer).input("question", "Why?").output("Because."))
        .unwrap();
    let trace = session.end().unwrap();
    let (per_call, _) = dataset::sft_records(&trace, Per::Call);
    assert_eq!(per_call.len(), 1);
    assert_eq!(
        per_call[0].messages,
        vec![
            json!({"role": "system", "content": "Be brief."}),
            json!({"role": "user", "content": "Why?"}),
            json!({"role": "assistant", "content": "Because."}),
        ]
    );

    // No turn, no step: the writer leaves the session out and counts it.
    let mut writer = DatasetWriter::new(Vec::new(), Format::Trajectories);
    assert_eq!(writer.write(&trace).unwrap(), 0);
    let (lines, report) = writer.finish().unwrap();
    assert!(lines.is_empty());
    assert_eq!(report.skipped.empty_sessions, 1);
    assert_eq!(
        report.to_string(),
        "0 records from 1 session (skipped: 1 session without a record)"
    );
}

#[test]
fn rewards_go_to_the_turn_of_their_event_and_failed_actions_are_none() {
    let session = support::session();
    session
        .record_event(Event::builder(EventKind::Environment, "env", "reset").output(json!({"at": 0})))
        .unwrap();
    session.set_turn(0);
    session
        .record_event(Event::builder(EventKind::Agent, "agent", "act").output("right"))
        .unwrap();
    let step = session
        .record_event(
            Event::builder(EventKind::Environment, "env", "step")
                .output(json!({"observation": {"at": 1}, "reward": 0.5, "terminated": false})),
        )
        .unwrap();
    session.record_reward(Reward::for_event(step, "progress", 0.5)).unwrap();
    session.set_turn(1);
    session
        .record_event(
            Event::builder(EventKind::Agent, "agent", "act")
                .outcome(Outcome::Err)
                .error(agent_trace::ErrorRecord::new("PolicyError", "no answer")),
        )
        .unwrap();
    session.record_reward(Reward::outcome("goal_reached", 0.0)).unwrap();
    let trajectory = dataset::trajectory(&session.end().unwrap());

    assert_eq!(trajectory.steps.len(), 2);
    assert_eq!(trajectory.steps[0].observation, Some(json!({"at": 0})));
    assert_eq!(trajectory.steps[0].action, Some(json!("right")));
    assert_eq!(trajectory.steps[0].reward, 0.5);
    assert_eq!(
        trajectory.steps[1].observation,
        Some(json!({"at": 1})),
        "the step's observation field"
    );
    assert_eq!(trajectory.steps[1].action, None, "the agent failed");
    assert_eq!(trajectory.steps[1].reward, 0.0);
    assert_eq!(trajectory.final_observation, Some(json!({"at": 1})));
    assert_eq!(trajectory.outcome_reward, 0.0);
}

/// A writer whose disk is full.
struct Full;

impl std::io::Write for Full {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failed_write_is_an_error_not_a_short_dataset() {
    let dir = TempDir::new("dataset-full");
    let tracer = SessionTracer::builder()
        .sink(SqliteSink::open(dir.db()).unwrap())
        .build();
    let session = tracer.start_session();
    session
        .record_event(llm().input("prompt", "Hi").output("Hello"))
        .unwrap();
    session.end().unwrap();
    tracer.flush().unwrap();
    let store = TraceStore::open(dir.db()).unwrap();
    let error = dataset::export(&store, &TraceFilter::default(), PER_CALL, Full).unwrap_err();
    assert!(matches!(error, dataset::DatasetError::Write(_)), "{error:?}");
    assert_eq!(error.to_string(), "could not write the dataset: no space left");
}
