//! `tail`: follows the running sessions of a store, printing each event as it lands, and
//! each session as it starts and ends.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use agent_trace::{Event, Outcome, SessionStatus, TraceFilter, TraceStore};

use super::print;
use crate::cli::TailArgs;
use crate::error::CliError;
use crate::filter::duration;
use crate::output::{self, short_id};

pub(crate) fn run(store: &TraceStore, args: &TailArgs, color: bool) -> Result<(), CliError> {
    let every = duration("--every", &args.every)?.max(Duration::from_millis(10));
    let until = args
        .duration
        .as_deref()
        .map(|text| duration("--for", text))
        .transpose()?
        .map(|length| Instant::now() + length);
    // The events already printed, by session; sessions already running when `tail` starts
    // are followed from their next event.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut first = true;
    loop {
        let running = store.list(&TraceFilter {
            status: Some(SessionStatus::Running),
            ..TraceFilter::default()
        })?;
        let now_running: BTreeSet<String> = running.iter().map(|s| s.session_id.clone()).collect();
        for summary in &running {
            let Some(trace) = store.get(&summary.session_id)? else {
                continue;
            };
            let last = trace.events.iter().map(|event| event.id).max().unwrap_or(0);
            let from = match seen.get(&trace.session_id) {
                Some(from) => *from,
                None if first => last,
                None => {
                    print(&format!("{} started\n", short_id(&trace.session_id, false)))?;
                    0
                }
            };
            let mut text = String::new();
            for event in trace.events.iter().filter(|event| event.id > from) {
                text.push_str(&line(&trace.session_id, event, color));
            }
            print(&text)?;
            seen.insert(trace.session_id.clone(), from.max(last));
        }
        // Sessions that stopped running: ended (or discarded).
        let ended: Vec<String> = seen.keys().filter(|id| !now_running.contains(*id)).cloned().collect();
        for id in ended {
            seen.remove(&id);
            let status = store
                .get(&id)?
                .map_or_else(|| "discarded".to_owned(), |trace| trace.status.to_string());
            print(&format!("{} ended: {status}\n", short_id(&id, false)))?;
        }
        first = false;
        if until.is_some_and(|until| Instant::now() + every > until) {
            return Ok(());
        }
        std::thread::sleep(every);
    }
}

fn line(session_id: &str, event: &Event, color: bool) -> String {
    let outcome = event.outcome.to_string();
    let outcome = match (color, event.outcome) {
        (false, _) | (true, Outcome::Ok) => outcome,
        (true, _) => format!("\x1b[31m{outcome}\x1b[0m"),
    };
    format!(
        "{} #{} {}{} {} {outcome} {}\n",
        short_id(session_id, false),
        event.id,
        event.turn.map_or_else(String::new, |turn| format!("[turn {turn}] ")),
        event.kind,
        event.name,
        output::duration(event.duration),
    )
}
