//! The commands, one module each.

mod diff;
mod export;
mod ls;
mod show;
mod stats;
mod tail;

use std::io::Write;
use std::process::ExitCode;

use agent_trace::store::StoreError;
use agent_trace::{Score, ScoreSource, SessionTrace, TraceStore};
use clap::CommandFactory;

pub(crate) use self::diff::diff_lines;
pub(crate) use self::ls::summary_json;
use crate::cli::{Cli, Command, SessionArg};
use crate::error::CliError;
use crate::output::colored;

/// Runs the command; its exit code (0, or 1 for `diff` of sessions that differ).
pub(crate) fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let color = colored(cli.color);
    let db = cli.db;
    let open = || -> Result<TraceStore, CliError> { Ok(TraceStore::open(&db)?) };
    match cli.command {
        Command::Ls(args) => ls::run(&open()?, &args).map(|()| ExitCode::SUCCESS),
        Command::Show(args) => show::run(&open()?, &args, color).map(|()| ExitCode::SUCCESS),
        Command::Diff(args) => diff::run(&open()?, &args),
        Command::Stats(args) => stats::run(&open()?, &args).map(|()| ExitCode::SUCCESS),
        Command::Export(args) => export::export(&open()?, &args).map(|()| ExitCode::SUCCESS),
        Command::Import(args) => export::import(&db, &args).map(|()| ExitCode::SUCCESS),
        Command::Dot(args) => {
            let trace = session(&open()?, &args.which)?;
            print(&trace.graph.to_dot())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Purge(args) => {
            let age = crate::filter::duration("--older-than", &args.older_than)?;
            let store = open()?;
            let purged = store.purge_older_than(age)?;
            print(&format!("purged {purged} session(s) from {}\n", store.path().display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tail(args) => tail::run(&open()?, &args, color).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "serve")]
        Command::Serve(args) => crate::serve::run(db, &args).map(|()| ExitCode::SUCCESS),
        Command::Score(args) => {
            let store = TraceStore::open_writable(&db)?;
            let source = match args.source {
                crate::cli::Source::Human => ScoreSource::Human,
                crate::cli::Source::Evaluator => ScoreSource::Evaluator,
                crate::cli::Source::Code => ScoreSource::Code,
            };
            let mut score = match args.value.trim().parse::<f64>() {
                Ok(number) => Score::number(&args.name, number, source),
                Err(_) => Score::label(&args.name, &args.value, source),
            };
            if let Some(comment) = &args.comment {
                score = score.comment(comment);
            }
            let id = resolve(&store, &args.session)?;
            store.add_score(&id, args.event, score)?;
            print(&format!("scored {id}: {} = {}\n", args.name, args.value))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions(args) => {
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "agent-trace", &mut std::io::stdout().lock());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The session an argument names: by id or prefix, or the newest.
fn session(store: &TraceStore, which: &SessionArg) -> Result<SessionTrace, CliError> {
    let id = match (&which.session, which.last) {
        (_, true) => store.latest()?.ok_or_else(|| CliError::Empty {
            path: store.path().to_path_buf(),
        })?,
        (Some(id), false) => resolve(store, id)?,
        (None, false) => {
            return Err(CliError::BadArgument {
                flag: "SESSION",
                value: String::new(),
                reason: "give a session id (or the start of one), or --last".to_owned(),
            });
        }
    };
    load(store, &id)
}

/// The full id of the session `id` names.
fn resolve(store: &TraceStore, id: &str) -> Result<String, CliError> {
    if id.is_empty() {
        return Err(CliError::BadArgument {
            flag: "SESSION",
            value: String::new(),
            reason: "a session id cannot be empty".to_owned(),
        });
    }
    Ok(store.resolve(id)?)
}

/// The stored session with this full id.
fn load(store: &TraceStore, id: &str) -> Result<SessionTrace, CliError> {
    store.get(id)?.ok_or_else(|| {
        CliError::Store(StoreError::NoSuchSession {
            path: store.path().to_path_buf(),
            id: id.to_owned(),
        })
    })
}

/// Writes to standard output; a closed pipe (`| head`) ends the output quietly.
fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
