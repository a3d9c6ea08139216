//! The `agent-trace` command as a user runs it, over a store written by traced code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use agent_trace::{Reward, SessionTracer, SqliteSink, TracerContext, trace_agent, trace_llm_call, trace_tool_call};
use serde_json::Value;

struct Usage(u64, u64);

impl agent_trace::LlmUsage for Usage {
    fn input_tokens(&self) -> Option<u64> {
        Some(self.0)
    }
    fn output_tokens(&self) -> Option<u64> {
        Some(self.1)
    }
}

#[trace_llm_call(model = "scripted")]
fn think(prompt: &str) -> Usage {
    Usage(prompt.len() as u64, 3)
}

#[trace_tool_call(tool = "search")]
fn search(query: &str) -> Result<usize, String> {
    if query == "broken" {
        Err("the index is down".to_owned())
    } else {
        Ok(query.len())
    }
}

#[trace_agent]
fn answer(question: &str) -> usize {
    think(question);
    search(question).unwrap_or(0)
}

/// A directory for one test, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("agent-trace-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store with three sessions: `run-a` and `run-b` ask the same, `other` fails a tool.
fn store(dir: &Dir) -> PathBuf {
    let db = dir.0.join("traces.db");
    let tracer = SessionTracer::builder().sink(SqliteSink::open(&db).unwrap()).build();
    for (id, question, user) in [
        ("run-a", "rust", "ada"),
        ("run-b", "rust", "bob"),
        ("other", "broken", "ada"),
    ] {
        let session = tracer.start_session_with_id(id);
        session.set_metadata("user.id", user);
        session.set_user(user);
        session.add_tag(if id == "other" { "flaky" } else { "steady" });
        TracerContext::new(&session).sync_scope(|| answer(question));
        if id == "run-a" {
            session.record_reward(Reward::outcome("solved", 1.0)).unwrap();
        }
        session.end().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    tracer.flush().unwrap();
    db
}

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agent-trace"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("AGENT_TRACE_DB")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a command that must succeed; its standard output.
fn ok(db: &Path, args: &[&str]) -> String {
    let output = run(db, args);
    assert!(output.status.success(), "{args:?} failed: {}", stderr(&output));
    stdout(&output)
}

#[test]
fn ls_lists_newest_first_with_filters_as_flags() {
    let dir = Dir::new("ls");
    let db = store(&dir);
    let table = ok(&db, &["ls"]);
    let ids: Vec<&str> = table
        .lines()
        .skip(2)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(ids, vec!["other", "run-b", "run-a"], "{table}");
    assert!(table.lines().next().unwrap().contains("tokens in/out"), "{table}");

    let listed: Vec<Value> = serde_json::from_str(&ok(&db, &["ls", "--json"])).unwrap();
    let run_a = &listed[2];
    assert_eq!(run_a["session_id"], "run-a");
    assert_eq!(run_a["event_count"], 3);
    assert_eq!(run_a["input_tokens"], 4);
    assert_eq!(run_a["output_tokens"], 3);
    assert_eq!(run_a["outcome_reward"], 1.0);
    assert_eq!(listed[0]["error_count"], 1);

    let lines = ok(&db, &["ls", "--jsonl", "--status", "error"]);
    let failed: Vec<Value> = lines.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["session_id"], "other");
    let by_user = ok(
        &db,
        &[
            "ls",
            "--jsonl",
            "--meta",
            "user.id=ada",
            "--since",
            "1h",
            "--limit",
            "1",
        ],
    );
    assert_eq!(by_user.lines().count(), 1);
    assert!(by_user.contains("\"other\""), "{by_user}");
    let ada: Vec<Value> = serde_json::from_str(&ok(&db, &["ls", "--json", "--user", "ada"])).unwrap();
    assert_eq!(ada.len(), 2);
    assert_eq!(ada[0]["user"], "ada");
    let flaky = ok(&db, &["ls", "--jsonl", "--tag", "flaky", "--has-errors"]);
    assert!(flaky.contains("\"other\"") && flaky.lines().count() == 1, "{flaky}");
    assert!(ok(&db, &["ls", "--tag", "flaky", "--no-errors"]).starts_with("no sessions"));
    assert!(table.contains("#steady"), "{table}");
    let by_tokens = ok(&db, &["ls", "--jsonl", "--order", "tokens"]);
    assert!(by_tokens.lines().next().unwrap().contains("\"other\""), "{by_tokens}");
    let rewarded = ok(&db, &["ls", "--jsonl", "--min-reward", "0.5"]);
    assert!(
        rewarded.contains("run-a") && rewarded.lines().count() == 1,
        "{rewarded}"
    );
    assert!(ok(&db, &["ls", "--until", "2000-01-01"]).starts_with("no sessions"));

    let bad = run(&db, &["ls", "--since", "yesterday-ish"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--since \"yesterday-ish\": give an age"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn show_prints_the_tree_the_events_or_one_event_by_prefix() {
    let dir = Dir::new("show");
    let db = store(&dir);
    let tree = ok(&db, &["show", "--last"]);
    assert!(tree.starts_with("session other · error · 3 events"), "{tree}");
    assert!(
        tree.contains("tool search err") && tree.contains("! the index is down"),
        "{tree}"
    );
    assert!(!tree.contains('\x1b'), "no colour in a pipe");
    assert!(ok(&db, &["--color", "always", "show", "oth"]).contains('\x1b'));

    let events = ok(&db, &["show", "run-a", "--events"]);
    assert_eq!(events.lines().count(), 2 + 3, "{events}");
    let one = ok(&db, &["show", "other", "--event", "3"]);
    assert!(one.starts_with("event 3 · tool search · err"), "{one}");
    assert!(
        one.contains("\"query\": \"broken\"") && one.contains("error: "),
        "{one}"
    );
    let json: Value = serde_json::from_str(&ok(&db, &["show", "run-b", "--json"])).unwrap();
    assert_eq!(json["session_id"], "run-b");
    assert_eq!(json["events"].as_array().unwrap().len(), 3);

    let ambiguous = run(&db, &["show", "run-"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    let message = stderr(&ambiguous);
    assert!(
        message.contains(&db.display().to_string()) && message.contains("run-a, run-b"),
        "{message}"
    );
    let missing = stderr(&run(&db, &["show", "nope"]));
    assert!(
        missing.contains("no session nope") && missing.contains("traces.db"),
        "{missing}"
    );
    let no_event = stderr(&run(&db, &["show", "run-a", "--event", "99"]));
    assert!(no_event.contains("session run-a has no event 99"), "{no_event}");
    let no_store = stderr(&run(&dir.0.join("none.db"), &["ls"]));
    assert!(no_store.contains("none.db: no trace store there"), "{no_store}");
}

#[test]
fn diff_names_the_differing_event_and_field_and_exits_1() {
    let dir = Dir::new("diff");
    let db = store(&dir);
    let same = run(&db, &["diff", "run-a", "run-b"]);
    let text = stdout(&same);
    // The sessions differ only in what is not compared (ids, times) and their metadata.
    assert_eq!(same.status.code(), Some(1), "{text}");
    assert!(
        text.contains("session metadata.user.id: A \"ada\" · B \"bob\""),
        "{text}"
    );
    let differ = run(&db, &["diff", "run-a", "other"]);
    assert_eq!(differ.status.code(), Some(1));
    let text = stdout(&differ);
    assert!(
        text.contains("event #2 (tool search) outcome: A \"ok\" · B \"err\""),
        "{text}"
    );
    let report: Value = serde_json::from_str(&stdout(&run(&db, &["diff", "run-a", "other", "--json"]))).unwrap();
    assert_eq!(report["state_match"], false);
    let itself = run(&db, &["diff", "run-a", "run-a"]);
    assert_eq!(itself.status.code(), Some(0));
    assert!(stdout(&itself).contains("are the same (3 events)"));
}

#[test]
fn stats_counts_calls_errors_and_tokens() {
    let dir = Dir::new("stats");
    let db = store(&dir);
    let stats: Value = serde_json::from_str(&ok(&db, &["stats", "--json"])).unwrap();
    assert_eq!(
        (
            stats["sessions"].as_u64(),
            stats["events"].as_u64(),
            stats["errors"].as_u64()
        ),
        (Some(3), Some(9), Some(1))
    );
    let search = stats["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "search")
        .unwrap();
    assert_eq!(
        (search["calls"].as_u64(), search["errors"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(stats["models"][0]["model"], "scripted");
    assert_eq!(stats["models"][0]["input_tokens"], 4 + 4 + 6);
    assert_eq!(stats["input_tokens"], 14);
    assert_eq!(stats["per_session"]["events"], 3.0);
    assert_eq!(stats["per_session"]["outcome_reward"], 1.0 / 3.0);
    let text = ok(&db, &["stats", "--status", "success"]);
    assert!(text.contains("\nper session: 3.0 events, "), "{text}");
    assert!(text.starts_with("2 session(s), 6 events, 0 errors"), "{text}");
}

#[test]
fn export_import_dot_and_purge() {
    let dir = Dir::new("export");
    let db = store(&dir);
    let file = dir.0.join("sessions.jsonl");
    let file_arg = file.display().to_string();
    ok(&db, &["export", "--out", &file_arg]);
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 3);
    let copy = dir.0.join("copy.db");
    let imported = ok(&copy, &["import", &file_arg]);
    assert!(imported.starts_with("imported 3 session(s)"), "{imported}");
    assert_eq!(ok(&copy, &["ls", "--jsonl"]), ok(&db, &["ls", "--jsonl"]));
    let again = ok(&copy, &["import", &file_arg]);
    assert!(
        again.contains("imported 0 session(s)") && again.contains("3 were there already"),
        "{again}"
    );
    let one = ok(&db, &["export", "--status", "error"]);
    assert_eq!(one.lines().count(), 1);
    std::fs::write(&file, "{\"not\": \"a session\"}\n").unwrap();
    let bad = stderr(&run(&copy, &["import", &file_arg]));
    assert!(bad.contains("sessions.jsonl:1: not a session"), "{bad}");

    assert!(ok(&db, &["dot", "--last"]).starts_with("digraph"));
    #[cfg(not(feature = "otlp"))]
    assert!(stderr(&run(&db, &["export", "--format", "otlp"])).contains("needs the `otlp` feature"));
    #[cfg(feature = "otlp")]
    {
        // Nothing listens there: the export fails, naming the endpoint.
        let refused = run(
            &db,
            &[
                "export",
                "--format",
                "otlp",
                "--endpoint",
                "http://127.0.0.1:9/v1/traces",
            ],
        );
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            stderr(&refused).contains("http://127.0.0.1:9/v1/traces"),
            "{}",
            stderr(&refused)
        );
    }

    assert!(ok(&copy, &["purge", "--older-than", "1h"]).starts_with("purged 0 session(s)"));
    std::thread::sleep(Duration::from_millis(20));
    assert!(ok(&copy, &["purge", "--older-than", "10ms"]).starts_with("purged 3 session(s)"));
    let bad_age = stderr(&run(&copy, &["purge", "--older-than", "soon"]));
    assert!(bad_age.contains("--older-than \"soon\""), "{bad_age}");
}

#[test]
fn tail_prints_events_of_running_sessions_as_they_land() {
    let dir = Dir::new("tail");
    let db = store(&dir);
    let tracer = SessionTracer::builder().sink(SqliteSink::open(&db).unwrap()).build();
    let tail = Command::new(env!("CARGO_BIN_EXE_agent-trace"))
        .arg("--db")
        .arg(&db)
        .args(["tail", "--every", "50ms", "--for", "3s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let session = tracer.start_session_with_id("live-one");
    tracer.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    TracerContext::new(&session).sync_scope(|| answer("tail"));
    tracer.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    session.end().unwrap();
    tracer.flush().unwrap();
    let printed = String::from_utf8(tail.wait_with_output().unwrap().stdout).unwrap();
    assert!(printed.contains("live-one started"), "{printed}");
    assert!(printed.contains("live-one #2 llm think ok"), "{printed}");
    assert!(printed.contains("live-one #3 tool search ok"), "{printed}");
    assert!(printed.contains("live-one ended: success"), "{printed}");
}

#[trace_llm_call(model = "scripted")]
fn reply(prompt: &str) -> String {
    format!("you said {prompt}")
}

#[trace_agent]
fn act(turn: u32) -> String {
    reply(&format!("turn {turn}"))
}

#[test]
fn export_writes_fine_tuning_records_and_trajectories() {
    let dir = Dir::new("dataset");
    let db = store(&dir);
    let tracer = SessionTracer::builder().sink(SqliteSink::open(&db).unwrap()).build();
    let session = tracer.start_session_with_id("chat");
    session.add_tag("chat");
    TracerContext::new(&session).sync_scope(|| {
        for turn in 0..2 {
            agent_trace::set_turn_number(turn);
            act(turn);
        }
    });
    session.end().unwrap();
    tracer.flush().unwrap();

    let output = run(&db, &["export", "--format", "sft", "--tag", "chat"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[1]["messages"],
        serde_json::json!([{"role": "user", "content": "turn 1"}, {"role": "assistant", "content": "you said turn 1"}])
    );
    assert_eq!(lines[1]["metadata"]["turn"], 1);
    assert_eq!(stderr(&output).trim(), "exported 2 records from 1 session");

    let bare = ok(
        &db,
        &[
            "export",
            "--format",
            "sft",
            "--tag",
            "chat",
            "--per",
            "session",
            "--no-metadata",
        ],
    );
    let record: Value = serde_json::from_str(bare.trim()).unwrap();
    assert_eq!(record.as_object().unwrap().len(), 1, "messages alone: {bare}");
    assert_eq!(record["messages"].as_array().unwrap().len(), 4);

    let trajectory: Value =
        serde_json::from_str(ok(&db, &["export", "--format", "trajectories", "--tag", "chat"]).trim()).unwrap();
    assert_eq!(trajectory["steps"][1]["action"], "you said turn 1");

    // The other sessions' LLM calls return a type that is neither `Serialize` nor `Debug`:
    // nothing to train on, and said.
    let file = dir.0.join("train.jsonl");
    let output = run(
        &db,
        &[
            "export",
            "--format",
            "sft",
            "--tag",
            "steady",
            "-o",
            &file.display().to_string(),
        ],
    );
    assert!(output.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
    assert_eq!(
        stderr(&output).trim(),
        "exported 0 records from 2 sessions (skipped: 2 LLM calls with values not captured whole, 2 sessions \
         without a record)"
    );
}

#[test]
fn replayed_sessions_are_shown_and_diff_with_their_recording() {
    let dir = Dir::new("replay");
    let db = dir.0.join("traces.db");
    let tracer = SessionTracer::builder().sink(SqliteSink::open(&db).unwrap()).build();
    let episode = || (0..2).map(act).collect::<Vec<_>>();
    let recorded = tracer.start_session_with_id("recorded-1");
    let was = TracerContext::new(&recorded).sync_scope(episode);
    let replay = agent_trace::Replay::from_trace(&recorded.end().unwrap());
    let replayed = tracer.start_session_with_id("replayed-1");
    assert_eq!(
        TracerContext::new(&replayed).replaying(&replay).sync_scope(episode),
        was
    );
    replayed.end().unwrap();
    tracer.flush().unwrap();

    let listed = ok(&db, &["ls"]);
    let line = listed.lines().find(|line| line.contains("replayed")).unwrap();
    assert!(line.contains("(replay of recorded)"), "{listed}");
    let shown = ok(&db, &["show", "replayed-1"]);
    assert!(
        shown.lines().next().unwrap().contains("· replay of recorded-1"),
        "{shown}"
    );
    let same = run(&db, &["diff", "recorded-1", "replayed-1"]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
}

#[test]
fn score_adds_a_judgement_that_show_and_filters_see() {
    let dir = Dir::new("score");
    let db = store(&dir);
    assert!(
        ok(&db, &["score", "run-a", "accuracy", "0.9", "--comment", "fine"])
            .starts_with("scored run-a: accuracy = 0.9")
    );
    ok(
        &db,
        &["score", "oth", "tone", "curt", "--event", "2", "--source", "evaluator"],
    );
    assert!(
        ok(&db, &["show", "run-a"])
            .lines()
            .next()
            .unwrap()
            .contains("◆ accuracy=0.9 (human)")
    );
    assert!(ok(&db, &["show", "other"]).contains("◆ tone=curt (evaluator)"));
    let good = ok(&db, &["ls", "--jsonl", "--min-score", "accuracy=0.8"]);
    assert!(good.contains("run-a") && good.lines().count() == 1, "{good}");
    let bad = stderr(&run(&db, &["score", "run-a", "x", "1", "--event", "99"]));
    assert!(bad.contains("it has no event 99"), "{bad}");
    let bound = stderr(&run(&db, &["ls", "--min-score", "accuracy"]));
    assert!(
        bound.contains("--min-score \"accuracy\": write it as NAME=VALUE"),
        "{bound}"
    );
}

#[test]
fn completions_and_help() {
    let dir = Dir::new("help");
    let script = ok(&dir.0.join("unused.db"), &["completions", "bash"]);
    assert!(script.contains("agent-trace"), "{script}");
    for command in [
        "ls",
        "show",
        "diff",
        "stats",
        "export",
        "import",
        "dot",
        "purge",
        "tail",
        "completions",
    ] {
        let help = ok(&dir.0.join("unused.db"), &[command, "--help"]);
        assert!(help.contains("Example"), "{command} --help has no example:\n{help}");
    }
}
