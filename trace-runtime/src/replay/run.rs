//! [`ReplayRun`]: one scope's run against a recording — the paths of its calls as they
//! start, how many calls of each path it has taken, and its first divergence.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use trace_core::{EventKind, Map};

use super::{Answer, Divergence, OnDivergence, Options, Recording, step};
use crate::sync::lock;

/// One scope's run against a recording.
#[derive(Debug)]
pub(crate) struct ReplayRun {
    recording: Arc<Recording>,
    options: Options,
    state: Mutex<RunState>,
}

#[derive(Debug, Default)]
struct RunState {
    /// The path of each call of the run, by its event id.
    paths: HashMap<u64, Arc<str>>,
    /// How many calls of each path have been taken.
    taken: HashMap<Arc<str>, usize>,
    answered: usize,
    divergence: Option<Divergence>,
    /// Past a divergence under [`OnDivergence::Live`]: every call runs its body.
    live: bool,
}

/// What a replaying call is to do.
pub(crate) enum Lookup {
    /// Run its body (the run is live).
    Live,
    /// Return this recorded answer.
    Answer(Answer),
    /// The recording cannot answer: the divergence is kept, and the call follows the
    /// policy ([`ReplayRun::diverged`]).
    Diverged(Divergence),
}

impl ReplayRun {
    pub(crate) fn new(recording: Arc<Recording>, options: Options) -> ReplayRun {
        ReplayRun {
            recording,
            options,
            state: Mutex::default(),
        }
    }

    /// The recorded session's id.
    pub(crate) fn recorded_session(&self) -> &str {
        &self.recording.session_id
    }

    /// Notes a call that starts (or is renamed): its path is its parent's and its own step.
    pub(crate) fn register(&self, id: u64, parent: Option<u64>, kind: &EventKind, name: &str) {
        let mut state = lock(&self.state);
        let own = step(kind, name);
        let path: Arc<str> = match parent.and_then(|parent| state.paths.get(&parent)) {
            Some(parent) => format!("{parent}/{own}").into(),
            None => own.into(),
        };
        state.paths.insert(id, path);
    }

    /// The answer for call `id`: the next recorded call of its path, if its inputs (read
    /// only under `strict_inputs`) match.
    pub(crate) fn lookup(&self, id: u64, inputs: impl FnOnce() -> Map) -> Lookup {
        let mut state = lock(&self.state);
        if state.live {
            return Lookup::Live;
        }
        let Some(path) = state.paths.get(&id).cloned() else {
            return Lookup::Live;
        };
        let taken = state.taken.entry(path.clone()).or_default();
        let index = *taken;
        *taken += 1;
        let diverged = |field: &str, recorded_event, recorded, replayed, reason: &str| Divergence {
            path: path.to_string(),
            index,
            recorded_event,
            replayed_event: Some(id),
            field: field.to_owned(),
            recorded,
            replayed,
            reason: reason.to_owned(),
        };
        let recorded = self
            .recording
            .by_path
            .get(&*path)
            .and_then(|calls| calls.get(index))
            .map(|at| &self.recording.events[*at]);
        let Some(recorded) = recorded else {
            return Lookup::Diverged(diverged("call", None, None, None, "the recording has no such call"));
        };
        if self.options.strict_inputs {
            let inputs = inputs();
            if let Some((name, was, is)) = first_difference(&recorded.inputs, &inputs) {
                return Lookup::Diverged(diverged(
                    &format!("inputs.{name}"),
                    Some(recorded.id),
                    was,
                    is,
                    "the inputs differ",
                ));
            }
        }
        Lookup::Answer(Answer {
            path,
            index,
            event: recorded.id,
            outcome: recorded.outcome,
            output: recorded.output.clone(),
            error: recorded.error.clone(),
            metadata: recorded.metadata.clone(),
        })
    }

    /// Keeps `divergence` (the first is kept) and says whether the call is to run its body
    /// (`true`, under [`OnDivergence::Live`], as every call after it will) or fail.
    pub(crate) fn diverged(&self, divergence: Divergence) -> bool {
        let mut state = lock(&self.state);
        if state.divergence.is_none() {
            state.divergence = Some(divergence);
        }
        let live = self.options.on_divergence == OnDivergence::Live;
        state.live |= live;
        live
    }

    /// Whether replayed items come no earlier than they did in the recording.
    pub(crate) fn waits_between_items(&self) -> bool {
        self.options.wait_between_items
    }

    /// Counts a call answered from the recording.
    pub(crate) fn count_answered(&self) {
        lock(&self.state).answered += 1;
    }

    pub(crate) fn divergence(&self) -> Option<Divergence> {
        lock(&self.state).divergence.clone()
    }

    pub(crate) fn answered(&self) -> usize {
        lock(&self.state).answered
    }
}

/// The first argument (by name) whose value differs between the recorded and the replayed
/// inputs, with both values (`None` for an argument one side does not have).
fn first_difference(recorded: &Map, replayed: &Map) -> Option<(String, Option<Value>, Option<Value>)> {
    let mut names: Vec<&String> = recorded.keys().chain(replayed.keys()).collect();
    names.sort();
    names.dedup();
    names.into_iter().find_map(|name| {
        let (was, is) = (recorded.get(name), replayed.get(name));
        (was != is).then(|| (name.clone(), was.cloned(), is.cloned()))
    })
}
