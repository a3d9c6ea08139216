//! Trajectories for reinforcement learning: per turn, what the agent saw, what it did and
//! what that earned.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Ancestry;
use crate::{Event, EventKind, Outcome, SessionStatus, SessionTrace};

/// A session as an episode: its steps, turn by turn, and its outcome.
///
/// ```
/// use agent_trace::{Event, EventKind, Reward, SessionTracer};
///
/// let session = SessionTracer::default().start_session();
/// session.record_event(Event::builder(EventKind::Environment, "env", "reset").output("start"))?;
/// session.set_turn(0);
/// let act = session.record_event(Event::builder(EventKind::Agent, "agent", "act").output("left"))?;
/// session.record_reward(Reward::for_event(act, "progress", 0.5))?;
/// session.record_reward(Reward::outcome("goal_reached", 1.0))?;
/// let trajectory = agent_trace::dataset::trajectory(&session.end()?);
/// assert_eq!(trajectory.steps[0].observation, Some("start".into()));
/// assert_eq!(trajectory.steps[0].action, Some("left".into()));
/// assert_eq!(trajectory.steps[0].reward, 0.5);
/// assert_eq!(trajectory.outcome_reward, 1.0);
/// # Ok::<(), agent_trace::TraceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// The session.
    pub session_id: String,
    /// How the session went.
    pub status: SessionStatus,
    /// The sum of the session's outcome rewards (those given to no event).
    pub outcome_reward: f64,
    /// One step per turn, in turn order.
    pub steps: Vec<Step>,
    /// The output of the last environment call (its `observation` field when it has one):
    /// where the episode ended.
    pub final_observation: Option<Value>,
}

/// One turn of a [`Trajectory`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The turn number.
    pub turn: u32,
    /// What the agent acted on: the output of the last environment call that ended before
    /// the turn's agent call started (for the first turn, usually the reset's) — its
    /// `observation` field when it has one; `None` when there was none.
    pub observation: Option<Value>,
    /// What the agent did: the output of the turn's first agent call (an agent call inside
    /// another is part of it); `None` when the turn has none, or it failed.
    pub action: Option<Value>,
    /// The sum of the rewards given to the turn's events.
    pub reward: f64,
}

/// The session as a trajectory: a step for every turn number its events carry.
///
/// The environment's answers are the outputs of its environment calls (`#[trace_env]`)
/// that ended `Ok` (an environment call inside another is part of it): each the output's
/// `observation` field when it has one (a gym-style step result), else the whole output.
/// The agent's actions are the outputs of its agent calls (`#[trace_agent]`). Rewards are
/// the session's rewards given to events, added up by the turn of the event they were
/// given to (`Session::record_reward`, `current_call().record_reward`); rewards of events
/// without a turn are in no step.
pub fn trajectory(trace: &SessionTrace) -> Trajectory {
    let events: &[Event] = &trace.events;
    let ancestry = Ancestry::of(events);

    // The environment's answers, by the time they ended.
    let mut answers: Vec<(DateTime<Utc>, &Value)> = events
        .iter()
        .filter(|event| event.kind == EventKind::Environment && event.outcome == Outcome::Ok)
        .filter(|event| !ancestry.inside(event, &EventKind::Environment))
        .filter_map(|event| Some((event.ended_at(), observation_in(event.output.as_ref()?))))
        .collect();
    answers.sort_by_key(|(ended, _)| *ended);

    let mut steps: BTreeMap<u32, Step> = BTreeMap::new();
    let mut acted: BTreeSet<u32> = BTreeSet::new();
    for event in events {
        let Some(turn) = event.turn else { continue };
        let step = steps.entry(turn).or_insert(Step {
            turn,
            observation: None,
            action: None,
            reward: 0.0,
        });
        if event.kind != EventKind::Agent || acted.contains(&turn) || ancestry.inside(event, &EventKind::Agent) {
            continue;
        }
        acted.insert(turn);
        let seen = answers.partition_point(|(ended, _)| *ended <= event.started_at);
        step.observation = seen.checked_sub(1).map(|last| answers[last].1.clone());
        step.action = if event.outcome == Outcome::Ok {
            event.output.clone()
        } else {
            None
        };
    }
    for reward in &trace.rewards {
        let turn = reward
            .event
            .and_then(|id| ancestry.get(id))
            .and_then(|event| event.turn);
        if let Some(step) = turn.and_then(|turn| steps.get_mut(&turn)) {
            step.reward += reward.value;
        }
    }
    Trajectory {
        session_id: trace.session_id.clone(),
        status: trace.status,
        outcome_reward: trace.outcome_reward(),
        steps: steps.into_values().collect(),
        final_observation: answers.last().map(|(_, output)| (*output).clone()),
    }
}

/// What an environment's answer shows the agent: its `observation` field when it has one
/// (a step's result, as gym-style environments return it with the reward and whether the
/// episode is over), else the whole answer.
fn observation_in(output: &Value) -> &Value {
    output.get("observation").unwrap_or(output)
}
