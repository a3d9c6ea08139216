//! The chat messages an LLM event holds: the one reading of its inputs and output as a
//! conversation, for the OTLP export's message attributes and for
//! [`dataset`](crate::dataset)'s fine-tuning records.
//!
//! The shape looked for, as captured:
//!
//! - A **message** is an object with a string `role` and a `content` (text, or any value).
//!   It is taken whole: other fields (`name`, `tool_calls`, …) stay.
//! - The **input messages** are every argument that is a message, a list of messages, or
//!   an object whose `messages` field is a list of messages (a request), taken in the order
//!   of the arguments' names (captured inputs are a map). When no argument holds one, the
//!   text arguments are the messages: first a `system` message for an argument named
//!   `system`, `system_prompt` or `instructions`, then a `user` message for each other (a
//!   prompt).
//! - The **output message** is the output when it is a message; the `message` of an object
//!   that has one, or of its first `choices` entry (a provider's response); else an
//!   `assistant` message of the output's text: the output itself when it is text, or its
//!   `content` or `text` field when that is text.
//!
//! A value captured by its `Debug` text is text to this reading: implement `Serialize` for
//! a response type (or return its text) for its messages to be found.

use std::borrow::Cow;

use serde_json::Value;

use crate::Map;

/// Whether `value` is a message: an object with a string `role` and a `content`.
pub(crate) fn is_message(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|object| object.get("role").is_some_and(Value::is_string) && object.contains_key("content"))
}

/// A message of `role` with text `content`.
pub(crate) fn text_message(role: &str, content: &str) -> Value {
    serde_json::json!({ "role": role, "content": content })
}

/// The messages one argument holds: itself, its items, or its `messages` field's items.
fn messages_in(value: &Value) -> &[Value] {
    if is_message(value) {
        return std::slice::from_ref(value);
    }
    let list = match value {
        Value::Array(items) => items,
        Value::Object(object) => match object.get("messages") {
            Some(Value::Array(items)) => items,
            _ => return &[],
        },
        _ => return &[],
    };
    // A list is a conversation only when every item is a message.
    if !list.is_empty() && list.iter().all(is_message) {
        list
    } else {
        &[]
    }
}

/// The argument names whose text is the system prompt.
const SYSTEM_ARGUMENTS: [&str; 3] = ["system", "system_prompt", "instructions"];

/// The input messages of an LLM event's inputs (see the module's documentation).
pub(crate) fn input_messages(inputs: &Map) -> Vec<Cow<'_, Value>> {
    let held = held_messages(inputs);
    if held.is_empty() { text_messages(inputs) } else { held }
}

/// The messages the arguments hold: messages, lists of them, requests' `messages`.
pub(crate) fn held_messages(inputs: &Map) -> Vec<Cow<'_, Value>> {
    inputs.values().flat_map(messages_in).map(Cow::Borrowed).collect()
}

/// The text arguments as messages: the system prompt's first, then the others as the user's.
pub(crate) fn text_messages(inputs: &Map) -> Vec<Cow<'_, Value>> {
    let texts = |system: bool| {
        inputs
            .iter()
            .filter(move |(name, _)| SYSTEM_ARGUMENTS.contains(&name.as_str()) == system)
            .filter_map(move |(_, value)| {
                let role = if system { "system" } else { "user" };
                Some(Cow::Owned(text_message(role, value.as_str()?)))
            })
    };
    texts(true).chain(texts(false)).collect()
}

/// The output message of an LLM event's output (see the module's documentation).
pub(crate) fn output_message(output: &Value) -> Option<Cow<'_, Value>> {
    if is_message(output) {
        return Some(Cow::Borrowed(output));
    }
    match output {
        Value::String(text) => Some(Cow::Owned(text_message("assistant", text))),
        Value::Object(object) => {
            let nested = object
                .get("message")
                .or_else(|| object.get("choices")?.get(0)?.get("message"))
                .filter(|message| is_message(message));
            if let Some(message) = nested {
                return Some(Cow::Borrowed(message));
            }
            let text = ["content", "text"]
                .iter()
                .find_map(|field| object.get(*field)?.as_str())?;
            Some(Cow::Owned(text_message("assistant", text)))
        }
        _ => None,
    }
}

/// Whether `value` holds what capture put in place of a value it did not keep whole: a
/// marker object (`$truncated`, `$unserializable`, `$unreadable`), or the `"<type name>"`
/// text of a value that is neither `Serialize` nor `Debug` (a path, so with `::` in it).
pub(crate) fn is_incomplete(value: &Value) -> bool {
    const MARKERS: [&str; 3] = [
        crate::TRUNCATED_KEY,
        crate::capture::UNSERIALIZABLE_KEY,
        crate::capture::UNREADABLE_KEY,
    ];
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(object) => {
                if MARKERS.iter().any(|marker| object.contains_key(*marker)) {
                    return true;
                }
                pending.extend(object.values());
            }
            Value::Array(items) => pending.extend(items),
            Value::String(text) => {
                let opaque = text.len() < 512
                    && text.starts_with('<')
                    && text.ends_with('>')
                    && text.contains("::")
                    && !text.contains(char::is_whitespace);
                if opaque {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn inputs(value: Value) -> Map {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn inputs_are_the_messages_held_else_the_text_arguments() {
        let request = inputs(json!({
            "request": {"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]},
            "note": "not a message when messages are held",
        }));
        let found: Vec<Value> = input_messages(&request).into_iter().map(Cow::into_owned).collect();
        assert_eq!(found.len(), 2);
        assert_eq!(found[1]["content"], "Hi");

        let prompts = inputs(json!({"instructions": "Be brief.", "prompt": "Hi", "temperature": 0.2}));
        let found: Vec<Value> = input_messages(&prompts).into_iter().map(Cow::into_owned).collect();
        assert_eq!(
            found,
            vec![text_message("system", "Be brief."), text_message("user", "Hi")]
        );

        let mixed = inputs(json!({"history": [{"role": "user", "content": "Hi"}, 3]}));
        assert_eq!(
            input_messages(&mixed),
            Vec::<Cow<'_, Value>>::new(),
            "a list with a non-message is not a conversation"
        );
    }

    #[test]
    fn the_output_is_a_message_a_response_or_text() {
        let message = json!({"role": "assistant", "content": "Paris", "tool_calls": []});
        assert_eq!(output_message(&message).unwrap().as_ref(), &message);
        let response = json!({"id": "r1", "choices": [{"message": {"role": "assistant", "content": "Paris"}}]});
        assert_eq!(output_message(&response).unwrap()["content"], "Paris");
        assert_eq!(
            output_message(&json!({"text": "Paris", "prompt_tokens": 3}))
                .unwrap()
                .as_ref(),
            &text_message("assistant", "Paris")
        );
        assert_eq!(
            output_message(&json!("Paris")).unwrap().as_ref(),
            &text_message("assistant", "Paris")
        );
        assert!(output_message(&json!({"tokens": 3})).is_none());
        assert!(is_incomplete(&json!("<cli::Usage>")));
        assert!(is_incomplete(
            &json!({"role": "user", "content": {"$truncated": true, "len": 9, "head": "a"}})
        ));
        assert!(!is_incomplete(&json!({"role": "user", "content": "<b>bold</b> a::b"})));
        assert!(output_message(&json!([1, 2])).is_none());
    }
}
