//! The example agent of `examples/react_agent`, traced by hand with the manual API only —
//! the way a careful user would have written it before the attribute macros existed. It
//! plays the same game with the same logic; only the instrumentation differs, which is
//! what the parity tests compare.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use agent_trace::{ErrorRecord, EventKind, Message, Reward, capture, current_session, enter, set_turn_number};
use serde::Serialize;
use serde_json::{Value, json};

use crate::agent::{
    AgentError, Completion, EnvError, EpisodeConfig, EpisodeError, EpisodeSummary, Faults, PolicyError, ToolError,
    explore, render_prompt, scripted_completion,
};
use crate::world::{Action, Observation, StepOutcome, World, nearest_resource, route_to};

fn record_message(message: Message) {
    if let Some(session) = current_session() {
        session.record_message(message).expect("the session is open");
    }
}

/// The `tool_call` message a tool call sends, with the call's captured arguments.
fn tool_message(tool: &str, args: Value, result: Value) {
    record_message(Message::new(
        "agent",
        "environment",
        "tool_call",
        json!({ "tool": tool, "args": args, "result": result }),
    ));
}

struct ManualPolicy {
    latency: Duration,
}

impl ManualPolicy {
    async fn complete(&self, prompt: String) -> Result<Completion, PolicyError> {
        let mut span = enter(EventKind::Llm, "agent", "complete");
        span.record_input("prompt", &prompt);
        span.record_metadata("gen_ai.request.model", "scripted-policy");
        span.record_metadata("gen_ai.provider.name", "agent-trace-example");
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let completion = scripted_completion(&prompt);
        span.record_metadata("gen_ai.usage.input_tokens", completion.prompt_tokens);
        span.record_metadata("gen_ai.usage.output_tokens", completion.completion_tokens);
        span.finish_ok(&completion).expect("the session is open");
        Ok(completion)
    }
}

struct ManualToolbox {
    faults: Faults,
}

impl ManualToolbox {
    fn scan(&self, observation: &Observation) -> Result<Option<(i64, i64)>, ToolError> {
        let mut span = enter(EventKind::Tool, "agent", "scan");
        span.record_input("observation", observation);
        let args = json!({ "observation": observation });
        if self.faults.tool_error_turn == Some(observation.turn) {
            let error = ToolError::SensorFailure { turn: observation.turn };
            let record = ErrorRecord::from_error(&error);
            span.finish_err(record.clone()).expect("the session is open");
            tool_message("scan", args, capture::to_value(&record));
            return Err(error);
        }
        let found = nearest_resource(observation);
        span.finish_ok(found).expect("the session is open");
        tool_message("scan", args, json!(found));
        Ok(found)
    }

    fn plan_route(&self, turn: u32, offset: (i64, i64)) -> Vec<Action> {
        let mut span = enter(EventKind::Tool, "agent", "plan_route");
        span.record_input("turn", turn);
        span.record_input("offset", offset);
        let args = json!({ "turn": turn, "offset": offset });
        let planned = catch_unwind(AssertUnwindSafe(|| {
            if self.faults.tool_panic_turn == Some(turn) {
                panic!("route planner crashed on turn {turn}");
            }
            route_to(offset)
        }));
        match planned {
            Ok(route) => {
                span.finish_ok(&route).expect("the session is open");
                tool_message("plan_route", args, json!(route));
                route
            }
            Err(payload) => {
                let record = ErrorRecord::from_panic(payload.as_ref());
                span.finish_panic(payload.as_ref()).expect("the session is open");
                tool_message("plan_route", args, capture::to_value(&record));
                resume_unwind(payload)
            }
        }
    }
}

struct ManualAgent {
    policy: ManualPolicy,
    tools: ManualToolbox,
}

impl ManualAgent {
    async fn decide(&self, observation: &Observation) -> Result<Vec<Action>, AgentError> {
        let mut span = enter(EventKind::Agent, "agent", "decide");
        span.record_input("observation", observation);
        let actions = self.decide_untraced(observation).await;
        match &actions {
            Ok(actions) => span.finish_ok(actions),
            Err(error) => span.finish_err(error),
        }
        .expect("the session is open");
        actions
    }

    async fn decide_untraced(&self, observation: &Observation) -> Result<Vec<Action>, AgentError> {
        let completion = self.policy.complete(render_prompt(observation)).await?;
        if completion.text.ends_with("Action: collect") {
            return Ok(vec![Action::Collect]);
        }
        let target = match self.tools.scan(observation) {
            Ok(Some(target)) => target,
            Ok(None) => return Ok(vec![explore(observation.turn)]),
            Err(_) => return Ok(vec![Action::Noop]),
        };
        let planned = catch_unwind(AssertUnwindSafe(|| self.tools.plan_route(observation.turn, target)));
        Ok(planned.unwrap_or_else(|_| vec![Action::Noop]))
    }
}

struct ManualEnvironment {
    world: World,
    size: usize,
    max_turns: u32,
    faults: Faults,
    steps_started: u32,
}

impl ManualEnvironment {
    fn reset(&mut self, seed: u64) -> Observation {
        let mut span = enter(EventKind::Environment, "environment", "reset");
        span.record_input("seed", seed);
        self.world = World::new(seed, self.size, self.max_turns);
        self.steps_started = 0;
        let observation = self.world.observe();
        span.finish_ok(&observation).expect("the session is open");
        observation
    }

    async fn step(&mut self, actions: Vec<Action>) -> Result<StepOutcome, EnvError> {
        let mut span = enter(EventKind::Environment, "environment", "step");
        span.record_input("actions", &actions);
        let step = self.steps_started;
        self.steps_started += 1;
        if self.faults.env_error_step == Some(step) {
            let error = EnvError::Crashed { step };
            span.finish_err(&error).expect("the session is open");
            return Err(error);
        }
        if self.faults.slow_step == Some(step) {
            // Dropped here by the runtime's timeout: the guard records the step as cancelled.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        let outcome = self.world.apply(&actions);
        if let (Some(session), Some(id)) = (current_session(), span.id()) {
            session
                .record_reward(Reward::for_event(id, "step", outcome.reward))
                .expect("the session is open");
        }
        span.finish_ok(&outcome).expect("the session is open");
        record_message(Message::new(
            "environment",
            "agent",
            "observation",
            json!(outcome.observation),
        ));
        Ok(outcome)
    }
}

fn finish_with<T: Serialize, E: std::error::Error>(span: agent_trace::SpanGuard, result: &Result<T, E>) {
    match result {
        Ok(value) => span.finish_ok(value),
        Err(error) => span.finish_err(error),
    }
    .expect("the session is open");
}

/// `run_episode`, traced by hand.
pub async fn run_episode(config: &EpisodeConfig) -> Result<EpisodeSummary, EpisodeError> {
    let mut span = enter(EventKind::Runtime, "runtime", "run_episode");
    span.record_input("config", config);
    let result = run_episode_untraced(config).await;
    finish_with(span, &result);
    result
}

async fn run_episode_untraced(config: &EpisodeConfig) -> Result<EpisodeSummary, EpisodeError> {
    let agent = ManualAgent {
        policy: ManualPolicy {
            latency: config.llm_latency,
        },
        tools: ManualToolbox { faults: config.faults },
    };
    let mut environment = ManualEnvironment {
        world: World::new(0, config.world_size, config.turns),
        size: config.world_size,
        max_turns: config.turns,
        faults: config.faults,
        steps_started: 0,
    };
    let mut observation = environment.reset(config.seed);
    let mut summary = EpisodeSummary {
        turns_played: 0,
        total_reward: 0.0,
        terminated: false,
        timed_out_steps: 0,
    };
    for turn in 0..config.turns {
        set_turn_number(turn);
        if let Some(session) = current_session() {
            session.timestep(turn);
        }
        let actions = agent.decide(&observation).await?;
        summary.turns_played += 1;
        match tokio::time::timeout(config.step_timeout, environment.step(actions)).await {
            Err(_elapsed) => summary.timed_out_steps += 1,
            Ok(outcome) => {
                let outcome = outcome?;
                summary.total_reward += outcome.reward;
                observation = outcome.observation;
                if outcome.terminated || outcome.truncated {
                    summary.terminated = outcome.terminated;
                    break;
                }
            }
        }
    }
    if let Some(session) = current_session() {
        let reached = if summary.terminated { 1.0 } else { 0.0 };
        session
            .record_reward(Reward::outcome("goal_reached", reached))
            .expect("the session is open");
    }
    Ok(summary)
}
