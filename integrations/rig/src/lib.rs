//! A rig agent, "calc-agent", with two tools (`add` and `weather`) and rig's scripted
//! model, which asks for both tools and then answers: the agent `examples/rig_agent.rs`
//! traces with agent-trace's `TracingLayer` and not one attribute of agent-trace's.

use rig_agent::completion::{PromptError, Usage};
use rig_agent::test_utils::{MockAddTool, MockCompletionModel, MockTurn};
use rig_agent::tool::{Tool, ToolContext};
use rig_core::message::AssistantContent;
use serde::Deserialize;
use serde_json::json;

/// What the agent is asked.
pub const PROMPT: &str = "What is 2 + 3, and what is the weather in Paris?";

/// The scripted model's final answer.
pub const ANSWER: &str = "2 + 3 = 5, and it is sunny in Paris.";

/// The scripted model's usage on each of its three turns: (input, output) tokens.
pub const TURN_USAGE: [(u64, u64); 3] = [(40, 12), (58, 10), (75, 14)];

/// The arguments of the `weather` tool.
#[derive(Deserialize)]
pub struct WeatherArgs {
    city: String,
}

/// A failure of the `weather` tool.
#[derive(Debug, thiserror::Error)]
#[error("no forecast for {0}")]
pub struct NoForecast(String);

/// Today's weather in a city (the same answer every time: the example runs offline).
pub struct Weather;

impl Tool for Weather {
    const NAME: &'static str = "weather";
    type Error = NoForecast;
    type Args = WeatherArgs;
    type Output = String;

    fn description(&self) -> String {
        "Today's weather in a city".to_owned()
    }

    fn parameters(&self) -> serde_json::Value {
        json!({
            "type": "object",
            "properties": { "city": { "type": "string", "description": "The city" } },
            "required": ["city"],
        })
    }

    async fn call(&self, _context: &mut ToolContext, args: WeatherArgs) -> Result<String, NoForecast> {
        match args.city.as_str() {
            "Paris" => Ok("sunny, 21 °C".to_owned()),
            city => Err(NoForecast(city.to_owned())),
        }
    }
}

fn usage((input, output): (u64, u64)) -> Usage {
    Usage::new().input_tokens(input).output_tokens(output)
}

/// Runs the agent once on [`PROMPT`]; `record_content` is rig's own switch for prompts,
/// messages, tool arguments and results in its telemetry. Returns the answer's text (rig's
/// error boxed: it is large).
pub async fn run_calc_agent(record_content: bool) -> Result<String, Box<PromptError>> {
    let model = MockCompletionModel::from_turns([
        MockTurn::tool_call("call-1", "add", json!({"x": 2, "y": 3})).with_usage(usage(TURN_USAGE[0])),
        MockTurn::tool_call("call-2", "weather", json!({"city": "Paris"})).with_usage(usage(TURN_USAGE[1])),
        MockTurn::text(ANSWER).with_usage(usage(TURN_USAGE[2])),
    ]);
    let agent = rig_agent::AgentBuilder::new(model)
        .name("calc-agent")
        .preamble("You are a calculator that also knows the weather.")
        .tool(MockAddTool)
        .tool(Weather)
        .record_content_telemetry(record_content)
        .build();
    let response = agent.prompt(PROMPT).max_turns(4).await.map_err(Box::new)?;
    let text = response
        .content
        .iter()
        .filter_map(|content| match content {
            AssistantContent::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect();
    Ok(text)
}
