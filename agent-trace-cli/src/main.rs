//! `agent-trace`: list, show, compare, export and follow the sessions of an agent-trace
//! store (a SQLite file written by `SqliteSink`), from a terminal or a script.
//!
//! ```sh
//! agent-trace ls --status error --since 2h
//! agent-trace show --last
//! agent-trace diff 3f2a 9c1e        # exit status 1 when the sessions differ
//! agent-trace serve                  # the web viewer on http://127.0.0.1:7777/
//! ```
//!
//! See `agent-trace --help`, and `docs/cli.md` in the repository.

mod cli;
mod commands;
mod error;
mod filter;
mod output;
#[cfg(feature = "serve")]
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("agent-trace: {error}");
            ExitCode::from(2)
        }
    }
}
