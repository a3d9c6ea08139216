//! The ReAct agent, its tools, the environment and the episode loop, traced with the
//! attribute macros. The hand-traced twin of this file is `tests/support/react_manual.rs`.

use std::time::Duration;

use agent_trace::replay::FromRecordedError;
use agent_trace::{
    CallRecord, ErrorRecord, LlmUsage, Message, Reward, current_call, set_turn_number, trace_agent, trace_env,
    trace_llm_call, trace_runtime, trace_tool_call,
};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::world::{Action, Cell, Direction, Observation, StepOutcome, World, nearest_resource, route_to};

/// Faults to inject, by turn, to see failures in a trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Faults {
    /// The `scan` tool fails on this turn (the agent then waits a turn).
    pub tool_error_turn: Option<u32>,
    /// The `plan_route` tool panics on this turn (the agent catches it and waits).
    pub tool_panic_turn: Option<u32>,
    /// The environment fails on this step (counted from 0), which ends the episode.
    pub env_error_step: Option<u32>,
    /// The environment hangs on this step (counted from 0), so the runtime's step timeout
    /// cancels it.
    pub slow_step: Option<u32>,
}

/// One episode's settings.
#[derive(Debug, Clone, Serialize)]
pub struct EpisodeConfig {
    pub seed: u64,
    pub turns: u32,
    pub world_size: usize,
    pub faults: Faults,
    /// The scripted policy's simulated latency per completion.
    pub llm_latency: Duration,
    /// How long the runtime lets one environment step take.
    pub step_timeout: Duration,
    /// Whether the scripted policy answers as a stream of chunks.
    pub stream: bool,
}

impl EpisodeConfig {
    /// A fault-free episode with no simulated latency.
    pub fn new(seed: u64, turns: u32) -> EpisodeConfig {
        EpisodeConfig {
            seed,
            turns,
            world_size: 9,
            faults: Faults::default(),
            llm_latency: Duration::ZERO,
            step_timeout: Duration::from_millis(200),
            stream: false,
        }
    }
}

/// What a completion returned (`Deserialize`, so that a replay can give it back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl LlmUsage for Completion {
    fn input_tokens(&self) -> Option<u64> {
        Some(self.prompt_tokens)
    }
    fn output_tokens(&self) -> Option<u64> {
        Some(self.completion_tokens)
    }
}

/// A language model failure.
#[derive(Debug, thiserror::Error)]
#[error("the model did not answer: {0}")]
pub struct PolicyError(pub String);

/// A replay gives a recorded policy failure back from its message.
impl FromRecordedError for PolicyError {
    fn from_recorded(error: &ErrorRecord) -> Option<Self> {
        let reason = error.message.strip_prefix("the model did not answer: ")?;
        Some(PolicyError(reason.to_owned()))
    }
}

/// The language model the agent thinks with. Implement it for a real client (an HTTP call
/// to a model provider) and pass it to [`ReactAgent::new`].
#[async_trait::async_trait]
pub trait Policy: Send + Sync {
    /// Completes a prompt.
    async fn complete(&self, prompt: String) -> Result<Completion, PolicyError>;
}

/// A deterministic stand-in for a language model — **scripted, not a model**: it reads the
/// prompt and answers by a fixed rule, with a simulated token count and latency; with
/// `stream`, as a stream of chunks, the way a provider's streaming API answers.
pub struct ScriptedPolicy {
    pub latency: Duration,
    pub stream: bool,
}

#[async_trait::async_trait]
impl Policy for ScriptedPolicy {
    async fn complete(&self, prompt: String) -> Result<Completion, PolicyError> {
        if !self.stream {
            return self.complete_at_once(prompt).await;
        }
        // What a streaming client does with the chunks: put the text together.
        let mut chunks = std::pin::pin!(self.complete_streamed(prompt));
        let mut completion = Completion {
            text: String::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
        };
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            completion.text.push_str(&chunk.text);
            if let Some(usage) = chunk.usage {
                (completion.prompt_tokens, completion.completion_tokens) = (usage.prompt, usage.completion);
            }
        }
        Ok(completion)
    }
}

impl ScriptedPolicy {
    #[trace_llm_call(name = "complete", model = "scripted-policy", provider = "agent-trace-example")]
    async fn complete_at_once(&self, prompt: String) -> Result<Completion, PolicyError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok(scripted_completion(&prompt))
    }

    /// The same answer, a line a chunk, the first after the latency; the last chunk carries
    /// the usage, with the prompt's fixed instructions counted as cached after the first turn.
    #[trace_llm_call(name = "complete", model = "scripted-policy", provider = "agent-trace-example")]
    fn complete_streamed(&self, prompt: String) -> impl Stream<Item = Result<Chunk, PolicyError>> + use<> {
        let completion = scripted_completion(&prompt);
        let cached = if prompt.contains("Turn 0.") {
            0
        } else {
            INSTRUCTION_TOKENS
        };
        let lines: Vec<String> = completion.text.split_inclusive('\n').map(str::to_owned).collect();
        let count = lines.len();
        let latency = self.latency;
        stream::iter(lines.into_iter().enumerate()).then(move |(index, text)| async move {
            if index == 0 && !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            let usage = (index + 1 == count).then_some(ChunkUsage {
                prompt: completion.prompt_tokens,
                cached,
                completion: completion.completion_tokens,
            });
            Ok(Chunk { text, usage })
        })
    }
}

/// The words of the prompt's fixed instructions, the part a provider would serve from its
/// prompt cache after the first turn.
const INSTRUCTION_TOKENS: u64 = 14;

/// A piece of a streamed completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub text: String,
    pub usage: Option<ChunkUsage>,
}

/// The usage the last chunk reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChunkUsage {
    pub prompt: u64,
    pub cached: u64,
    pub completion: u64,
}

/// A chunk is its text: the call's output is the chunks' text put together.
impl AsRef<str> for Chunk {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl LlmUsage for Chunk {
    fn input_tokens(&self) -> Option<u64> {
        self.usage.map(|usage| usage.prompt)
    }
    fn output_tokens(&self) -> Option<u64> {
        self.usage.map(|usage| usage.completion)
    }
    fn cache_read_input_tokens(&self) -> Option<u64> {
        self.usage.map(|usage| usage.cached)
    }
}

/// The scripted rule: collect what is underfoot if it is useful, else look around.
pub fn scripted_completion(prompt: &str) -> Completion {
    let text = if prompt.contains("Underfoot: tree") || prompt.contains("Underfoot: stone, holding wood") {
        "Thought: there is something useful right here.\nAction: collect"
    } else {
        "Thought: nothing useful here; I should look around.\nAction: scan"
    };
    let words = |text: &str| text.split_whitespace().count() as u64;
    Completion {
        text: text.to_owned(),
        prompt_tokens: words(prompt),
        completion_tokens: words(text),
    }
}

/// The prompt the agent sends for an observation.
pub fn render_prompt(observation: &Observation) -> String {
    let underfoot = match observation.underfoot {
        Cell::Tree => "tree",
        Cell::Stone if observation.inventory.wood > 0 => "stone, holding wood",
        Cell::Stone => "stone",
        Cell::Grass | Cell::Water => "grass",
    };
    format!(
        "You gather wood (T) and stone (S) on a grid. Turn {}. Inventory: {} wood, {} stone.\nView:\n{}\nUnderfoot: {}\nReply with a thought and an action: collect or scan.",
        observation.turn,
        observation.inventory.wood,
        observation.inventory.stone,
        observation.view.join("\n"),
        underfoot,
    )
}

/// A tool failure.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("the scanner is broken on turn {turn}")]
    SensorFailure { turn: u32 },
}

/// A replay gives a recorded tool failure back from its message.
impl FromRecordedError for ToolError {
    fn from_recorded(error: &ErrorRecord) -> Option<Self> {
        let turn = error
            .message
            .strip_prefix("the scanner is broken on turn ")?
            .parse()
            .ok()?;
        Some(ToolError::SensorFailure { turn })
    }
}

/// The tools the agent can use.
pub struct Toolbox {
    pub faults: Faults,
}

impl Toolbox {
    /// Finds the nearest wanted resource in view, as an offset from the agent.
    #[trace_tool_call(tool = "scan")]
    pub fn scan(&self, observation: &Observation) -> Result<Option<(i64, i64)>, ToolError> {
        if self.faults.tool_error_turn == Some(observation.turn) {
            return Err(ToolError::SensorFailure { turn: observation.turn });
        }
        Ok(nearest_resource(observation))
    }

    /// Plans the moves to an offset, then `collect`.
    #[trace_tool_call(tool = "plan_route")]
    pub fn plan_route(&self, turn: u32, offset: (i64, i64)) -> Vec<Action> {
        if self.faults.tool_panic_turn == Some(turn) {
            panic!("route planner crashed on turn {turn}");
        }
        route_to(offset)
    }
}

/// The agent's failure.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the policy failed")]
    Policy(#[from] PolicyError),
}

/// A ReAct agent: think (ask the policy), pick a tool, act.
pub struct ReactAgent {
    policy: Box<dyn Policy>,
    tools: Toolbox,
}

impl ReactAgent {
    pub fn new(policy: Box<dyn Policy>, faults: Faults) -> ReactAgent {
        ReactAgent {
            policy,
            tools: Toolbox { faults },
        }
    }

    /// Decides the actions of one turn.
    #[trace_agent]
    pub async fn decide(&self, observation: &Observation) -> Result<Vec<Action>, AgentError> {
        let completion = self.policy.complete(render_prompt(observation)).await?;
        if completion.text.ends_with("Action: collect") {
            return Ok(vec![Action::Collect]);
        }
        let target = match self.tools.scan(observation) {
            Ok(Some(target)) => target,
            Ok(None) => return Ok(vec![explore(observation.turn)]),
            Err(_) => return Ok(vec![Action::Noop]),
        };
        let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.tools.plan_route(observation.turn, target)
        }));
        Ok(planned.unwrap_or_else(|_| vec![Action::Noop]))
    }
}

/// Where to walk when nothing is in view.
pub fn explore(turn: u32) -> Action {
    let directions = [Direction::East, Direction::South, Direction::West, Direction::North];
    Action::Move(directions[(turn as usize / 3) % directions.len()])
}

/// An environment failure.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("the simulator crashed on step {step}")]
    Crashed { step: u32 },
}

/// The grid world behind the environment interface.
pub struct GridEnvironment {
    world: World,
    size: usize,
    max_turns: u32,
    faults: Faults,
    steps_started: u32,
}

/// The `observation` message an environment step sends the agent.
pub fn observation_message(call: &CallRecord<'_>) -> Option<Message> {
    let observation = call.output()?.get("observation")?.clone();
    Some(Message::new("environment", "agent", "observation", observation))
}

impl GridEnvironment {
    pub fn new(size: usize, max_turns: u32, faults: Faults) -> GridEnvironment {
        GridEnvironment {
            world: World::new(0, size, max_turns),
            size,
            max_turns,
            faults,
            steps_started: 0,
        }
    }

    /// Starts a new episode.
    #[trace_env]
    pub fn reset(&mut self, seed: u64) -> Observation {
        self.world = World::new(seed, self.size, self.max_turns);
        self.steps_started = 0;
        self.world.observe()
    }

    /// Plays one turn.
    #[trace_env(message = observation_message)]
    pub async fn step(&mut self, actions: Vec<Action>) -> Result<StepOutcome, EnvError> {
        let step = self.steps_started;
        self.steps_started += 1;
        if self.faults.env_error_step == Some(step) {
            return Err(EnvError::Crashed { step });
        }
        if self.faults.slow_step == Some(step) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        let outcome = self.world.apply(&actions);
        // The step's reward goes to the step's event, for the episode's trajectory.
        current_call()
            .record_reward("step", outcome.reward)
            .expect("a step's reward is finite, and its session open while it runs");
        Ok(outcome)
    }
}

/// How an episode went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeSummary {
    pub turns_played: u32,
    pub total_reward: f64,
    pub terminated: bool,
    pub timed_out_steps: u32,
}

/// An episode's failure.
#[derive(Debug, thiserror::Error)]
pub enum EpisodeError {
    #[error("the agent failed")]
    Agent(#[from] AgentError),
    #[error("the environment failed")]
    Environment(#[from] EnvError),
}

/// Runs one episode: reset, then think → act → observe until the goal, the turn limit or a
/// failure. Each turn sets the turn number and opens a timestep.
#[trace_runtime]
pub async fn run_episode(config: &EpisodeConfig) -> Result<EpisodeSummary, EpisodeError> {
    let agent = ReactAgent::new(
        Box::new(ScriptedPolicy {
            latency: config.llm_latency,
            stream: config.stream,
        }),
        config.faults,
    );
    let mut environment = GridEnvironment::new(config.world_size, config.turns, config.faults);
    let mut observation = environment.reset(config.seed);
    let mut summary = EpisodeSummary {
        turns_played: 0,
        total_reward: 0.0,
        terminated: false,
        timed_out_steps: 0,
    };
    for turn in 0..config.turns {
        set_turn_number(turn);
        if let Some(session) = agent_trace::current_session() {
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
    // The episode's outcome: whether the goal was reached.
    if let Some(session) = agent_trace::current_session() {
        let reached = if summary.terminated { 1.0 } else { 0.0 };
        session
            .record_reward(Reward::outcome("goal_reached", reached))
            .expect("the session is open while the episode runs");
    }
    Ok(summary)
}
