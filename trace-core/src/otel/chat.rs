//! Chat messages in an LLM event's inputs and output, exported as the conventions' message
//! attributes.
//!
//! The shape looked for, as captured: a message is an object with a string `role` and a
//! `content` (text, or any value, exported as its JSON text). The input messages are, in
//! argument order, every argument that is a message, a list of messages, or an object whose
//! `messages` field is a list of messages (a request). The output message is the output
//! when it is a message, or an `assistant` message of the output's text when it is text.

use serde_json::Value;

use super::{Attributes, Content, text};
use crate::{Event, genai_keys};

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

/// The messages a value holds: itself, its items, or its `messages` field's items.
fn messages_in(value: &Value) -> Vec<Message<'_>> {
    if let Some(one) = message(value) {
        return vec![one];
    }
    let list = match value {
        Value::Array(items) => items,
        Value::Object(object) => match object.get("messages") {
            Some(Value::Array(items)) => items,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let messages: Vec<_> = list.iter().filter_map(message).collect();
    // A list is a conversation only when every item is a message.
    if messages.len() == list.len() {
        messages
    } else {
        Vec::new()
    }
}

fn output_message(output: &Value) -> Option<Message<'_>> {
    match output {
        Value::String(content) => Some(Message {
            role: "assistant",
            content: content.clone(),
        }),
        other => message(other),
    }
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
    let inputs: Vec<Message<'_>> = event.inputs.values().flat_map(messages_in).collect();
    if !inputs.is_empty() && content.inputs {
        if content.input_messages {
            openinference_messages("llm.input_messages", &inputs, attributes);
        }
        if content.genai_messages {
            attributes.push(("gen_ai.input.messages".into(), text(&genai_messages(&inputs, None))));
        }
    }
    let Some(output) = event.output.as_ref().and_then(output_message) else {
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
