//! Chat messages in an LLM event's inputs and output (as [`crate::chat`] reads them),
//! exported as the conventions' message attributes: each message's role, and its content as
//! text (content that is not text goes as its JSON text).

use serde_json::Value;

use super::{Attributes, Content, text};
use crate::{Event, chat, genai_keys};

/// One message: its role and its content as text.
struct Message<'a> {
    role: &'a str,
    content: String,
}

fn message(value: &Value) -> Option<Message<'_>> {
    let object = value.as_object()?;
    let role = object.get("role")?.as_str()?;
    let content = match object.get("content")? {
        Value::String(content) => content.clone(),
        other => other.to_string(),
    };
    Some(Message { role, content })
}

/// The GenAI convention's `gen_ai.*.messages` value: messages of text parts.
fn genai_messages(messages: &[Message<'_>], finish_reason: Option<&str>) -> String {
    let list: Vec<Value> = messages
        .iter()
        .map(|message| {
            let mut entry = serde_json::json!({
                "role": message.role,
                "parts": [{ "type": "text", "content": message.content }],
            });
            if let (Some(reason), Some(object)) = (finish_reason, entry.as_object_mut()) {
                object.insert("finish_reason".into(), Value::from(reason));
            }
            entry
        })
        .collect();
    Value::Array(list).to_string()
}

fn openinference_messages(prefix: &str, messages: &[Message<'_>], attributes: &mut Attributes) {
    for (index, message) in messages.iter().enumerate() {
        attributes.push((format!("{prefix}.{index}.message.role"), text(message.role)));
        attributes.push((format!("{prefix}.{index}.message.content"), text(&message.content)));
    }
}

/// The message attributes of an LLM event, as far as `content` lets them out.
pub(super) fn message_attributes(event: &Event, content: &Content, attributes: &mut Attributes) {
    let held = chat::input_messages(&event.inputs);
    let inputs: Vec<Message<'_>> = held.iter().filter_map(|value| message(value)).collect();
    if !inputs.is_empty() && content.inputs {
        if content.input_messages {
            openinference_messages("llm.input_messages", &inputs, attributes);
        }
        if content.genai_messages {
            attributes.push(("gen_ai.input.messages".into(), text(&genai_messages(&inputs, None))));
        }
    }
    let held = event.output.as_ref().and_then(chat::output_message);
    let Some(output) = held.as_deref().and_then(message) else {
        return;
    };
    if !content.outputs {
        return;
    }
    if content.output_messages {
        openinference_messages("llm.output_messages", std::slice::from_ref(&output), attributes);
    }
    if content.genai_messages {
        let reason = event
            .metadata
            .get(genai_keys::RESPONSE_FINISH_REASONS)
            .and_then(|reasons| reasons.get(0))
            .and_then(Value::as_str);
        attributes.push((
            "gen_ai.output.messages".into(),
            text(&genai_messages(std::slice::from_ref(&output), reason)),
        ));
    }
}
