//! The command line, as `clap` parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// List, show, compare, export and follow the sessions of an agent-trace store.
///
/// The store is a SQLite file written by `SqliteSink` (the example agent writes
/// `traces.db`). A session is named by its id or by the start of one, as git takes a
/// commit's: `agent-trace show 3f2a`.
#[derive(Debug, Parser)]
#[command(name = "agent-trace", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    /// The trace store.
    #[arg(
        long,
        global = true,
        env = "AGENT_TRACE_DB",
        default_value = "traces.db",
        value_name = "PATH"
    )]
    pub(crate) db: PathBuf,
    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub(crate) color: Color,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List sessions, newest first.
    #[command(
        after_help = "Examples:\n  agent-trace ls --status error --since 2h\n  agent-trace ls --meta user.id=ada --json"
    )]
    Ls(LsArgs),
    /// Show a session as a tree of its calls, a list of its events, or one event whole.
    #[command(
        after_help = "Examples:\n  agent-trace show --last\n  agent-trace show 3f2a --events\n  agent-trace show 3f2a --event 7"
    )]
    Show(ShowArgs),
    /// Compare two sessions field by field; exit status 1 when they differ.
    #[command(after_help = "Examples:\n  agent-trace diff 3f2a 9c1e\n  agent-trace diff 3f2a 9c1e --json")]
    Diff(DiffArgs),
    /// Calls, errors, durations and tokens per function, and totals, over sessions.
    #[command(after_help = "Examples:\n  agent-trace stats --since 1d\n  agent-trace stats --status error --json")]
    Stats(StatsArgs),
    /// Write sessions out: as JSON lines, as training data, or to an OTLP collector.
    #[command(
        after_help = "Examples:\n  agent-trace export --since 1d > sessions.jsonl\n  agent-trace export --format otlp --endpoint http://127.0.0.1:6006/v1/traces\n  agent-trace export --format sft --min-score accuracy=0.8 -o train.jsonl\n  agent-trace export --format trajectories --status success -o episodes.jsonl"
    )]
    Export(ExportArgs),
    /// Read sessions from a JSON-lines file (as `export` writes it) into the store.
    #[command(after_help = "Example:\n  agent-trace --db copy.db import sessions.jsonl")]
    Import(ImportArgs),
    /// A session's `#[bundle]` graph in Graphviz DOT.
    #[command(after_help = "Example:\n  agent-trace dot --last > graph.dot")]
    Dot(DotArgs),
    /// Delete sessions that started longer ago than an age.
    #[command(after_help = "Example:\n  agent-trace purge --older-than 30d")]
    Purge(PurgeArgs),
    /// Follow running sessions: print their events as they land.
    #[command(after_help = "Examples:\n  agent-trace tail\n  agent-trace tail --for 10m")]
    Tail(TailArgs),
    /// Serve the local web viewer: sessions, call trees and timelines, diffs, graphs.
    #[cfg(feature = "serve")]
    #[command(after_help = "Examples:\n  agent-trace serve\n  agent-trace serve other.db --port 8080")]
    Serve(ServeArgs),
    /// Score a stored session, or one of its events: a number or a label, by a person by
    /// default.
    #[command(
        after_help = "Examples:\n  agent-trace score 3f2a accuracy 0.9 --comment \"2 of 20 wrong\"\n  agent-trace score 3f2a tone polite --event 7 --source evaluator"
    )]
    Score(ScoreArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  agent-trace completions bash > ~/.local/share/bash-completion/completions/agent-trace"
    )]
    Completions(CompletionsArgs),
}

/// Which sessions: the filters of `TraceFilter`.
#[derive(Debug, Clone, Args)]
pub(crate) struct FilterArgs {
    /// Only sessions with this status.
    #[arg(long, value_enum)]
    pub(crate) status: Option<Status>,
    /// Only sessions that started since then: an age (`2h`, `30m`, `7d`) or a time
    /// (`2026-12-01`, `2026-12-01T10:00:00Z`).
    #[arg(long, value_name = "AGE|TIME")]
    pub(crate) since: Option<String>,
    /// Only sessions that started before then (an age or a time, as `--since`).
    #[arg(long, value_name = "AGE|TIME")]
    pub(crate) until: Option<String>,
    /// Only sessions whose metadata has `key` with this value (JSON, else text); repeat to
    /// require several.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub(crate) meta: Vec<String>,
    /// Only sessions whose outcome rewards sum to at least this.
    #[arg(long, value_name = "REWARD")]
    pub(crate) min_reward: Option<f64>,
    /// Only sessions with an event of this system id.
    #[arg(long, value_name = "ID")]
    pub(crate) system_id: Option<String>,
    /// Only sessions scored at least this (`accuracy=0.8`).
    #[arg(long, value_name = "NAME=VALUE")]
    pub(crate) min_score: Option<String>,
    /// Only sessions for this user.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Only sessions with this tag.
    #[arg(long)]
    pub(crate) tag: Option<String>,
    /// Only sessions with this name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Only sessions with a failed call.
    #[arg(long, conflicts_with = "no_errors")]
    pub(crate) has_errors: bool,
    /// Only sessions without one.
    #[arg(long)]
    pub(crate) no_errors: bool,
    /// Only sessions that ended and took at least this long (`500ms`, `2m`).
    #[arg(long, value_name = "DURATION")]
    pub(crate) min_duration: Option<String>,
    /// Only sessions that ended and took at most this long.
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_duration: Option<String>,
    /// The order: newest first, or the most costly, the most tokens, the longest first.
    #[arg(long, value_enum, default_value_t = OrderBy::Newest)]
    pub(crate) order: OrderBy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OrderBy {
    Newest,
    Cost,
    Tokens,
    Duration,
}

impl From<OrderBy> for agent_trace::store::Order {
    fn from(order: OrderBy) -> Self {
        match order {
            OrderBy::Newest => agent_trace::store::Order::Newest,
            OrderBy::Cost => agent_trace::store::Order::Cost,
            OrderBy::Tokens => agent_trace::store::Order::Tokens,
            OrderBy::Duration => agent_trace::store::Order::Duration,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Status {
    Running,
    Success,
    Error,
    Cancelled,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// At most this many sessions.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
    /// Every session that passes the filters.
    #[arg(long, conflicts_with = "limit")]
    pub(crate) all: bool,
    /// Show whole session ids, not their first 8 characters.
    #[arg(long)]
    pub(crate) full_ids: bool,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct FormatArgs {
    /// Print JSON (one document).
    #[arg(long, conflicts_with = "jsonl")]
    pub(crate) json: bool,
    /// Print JSON lines (one document a line).
    #[arg(long)]
    pub(crate) jsonl: bool,
}

/// A session: by id or prefix, or the newest.
#[derive(Debug, Clone, Args)]
pub(crate) struct SessionArg {
    /// The session's id, or the start of it.
    #[arg(value_name = "SESSION", required_unless_present = "last")]
    pub(crate) session: Option<String>,
    /// The session that started last.
    #[arg(long, conflicts_with = "session")]
    pub(crate) last: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    pub(crate) which: SessionArg,
    /// A flat list of the events instead of the tree.
    #[arg(long, conflicts_with = "event")]
    pub(crate) events: bool,
    /// One event whole: inputs, output, error and its chain, metadata.
    #[arg(long, value_name = "ID")]
    pub(crate) event: Option<u64>,
    /// Print JSON: the session (or the event) as stored.
    #[arg(long)]
    pub(crate) json: bool,
    /// How many characters of a value the tree shows.
    #[arg(long, default_value_t = 40, value_name = "CHARS")]
    pub(crate) width: usize,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The first session (id or prefix).
    pub(crate) a: String,
    /// The second session (id or prefix).
    pub(crate) b: String,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Over at most this many sessions, the newest.
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// One session a line, as `JsonlSink` writes them.
    Jsonl,
    /// OpenTelemetry traces over OTLP/HTTP (feature `otlp`).
    Otlp,
    /// Chat-format records for supervised fine-tuning: one per LLM call (or per session,
    /// with `--per session`).
    Sft,
    /// One trajectory per session for reinforcement learning: per turn the observation,
    /// the action and the reward, and the outcome reward.
    Trajectories,
}

/// What one fine-tuning record is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SftPer {
    /// One LLM call: its input messages and its answer.
    Call,
    /// A session: the conversation of its LLM calls.
    Session,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// At most this many sessions, the newest.
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// The format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub(crate) format: ExportFormat,
    /// Where JSON lines go (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// The collector's traces URL, for `--format otlp` (default: the OTLP environment
    /// variables, else `http://localhost:4318/v1/traces`).
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// For `--format sft`: a record per LLM call, or per session.
    #[arg(long, value_enum, default_value_t = SftPer::Call)]
    pub(crate) per: SftPer,
    /// For `--format sft`: records of `messages` alone, without where they come from.
    #[arg(long)]
    pub(crate) no_metadata: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The JSON-lines file.
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct DotArgs {
    #[command(flatten)]
    pub(crate) which: SessionArg,
}

#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    /// The age past which sessions go (`30d`, `12h`).
    #[arg(long, value_name = "AGE")]
    pub(crate) older_than: String,
}

#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// How often to look at the store.
    #[arg(long, default_value = "500ms", value_name = "INTERVAL")]
    pub(crate) every: String,
    /// Stop after this long (default: until interrupted).
    #[arg(long = "for", value_name = "DURATION")]
    pub(crate) duration: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(feature = "serve")]
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The trace store (instead of `--db`).
    #[arg(value_name = "DB")]
    pub(crate) db: Option<PathBuf>,
    /// The port (0: any free one; the address is printed).
    #[arg(long, default_value_t = 7777)]
    pub(crate) port: u16,
    /// The address to listen on: loopback unless you mean to share the traces.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
}

#[derive(Debug, Args)]
pub(crate) struct ScoreArgs {
    /// The session's id, or the start of it.
    pub(crate) session: String,
    /// What is judged.
    pub(crate) name: String,
    /// The judgement: a number, else a label.
    pub(crate) value: String,
    /// The event judged (default: the whole session).
    #[arg(long, value_name = "ID")]
    pub(crate) event: Option<u64>,
    /// Why, in words.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    /// Who gives it.
    #[arg(long, value_enum, default_value_t = Source::Human)]
    pub(crate) source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Source {
    Human,
    Evaluator,
    Code,
}
