//! `#[trace_llm_call]` on functions that return the LLM clients' own types records their
//! tokens, model, response id and finish reasons, and reads the request's parameters, with
//! no glue code (features `async-openai` and `genai`). The values are the crates' real
//! types, made from a response body as the provider sends it (no network).
#![cfg(any(feature = "async-openai", feature = "genai"))]

use agent_trace::{Event, SessionTrace, SessionTracer, TracerContext, trace_llm_call};
use serde_json::{Value, json};

fn traced<R>(f: impl FnOnce() -> R) -> (R, SessionTrace) {
    let session = SessionTracer::default().start_session();
    let value = TracerContext::new(&session).sync_scope(f);
    (value, session.end().unwrap())
}

fn only(trace: &SessionTrace) -> &Event {
    assert_eq!(trace.events.len(), 1, "{:#?}", trace.events);
    &trace.events[0]
}

fn metadata(event: &Event, key: &str) -> Value {
    event.metadata.get(key).cloned().unwrap_or(Value::Null)
}

#[cfg(feature = "async-openai")]
mod async_openai_types {
    use async_openai::types::chat::{
        CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
    };
    use futures_core::Stream as _;

    use super::*;

    fn response() -> CreateChatCompletionResponse {
        serde_json::from_value(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                "message": {"role": "assistant", "content": "Paris."}}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 3, "total_tokens": 24,
                "prompt_tokens_details": {"cached_tokens": 16},
                "completion_tokens_details": {"reasoning_tokens": 0}}
        }))
        .expect("a chat completion as OpenAI sends it")
    }

    fn request() -> CreateChatCompletionRequest {
        serde_json::from_value(json!({
            "model": "gpt-4o-mini", "temperature": 0.5, "max_completion_tokens": 64, "seed": 7, "stop": ["\n\n"],
            "messages": [{"role": "user", "content": "The capital of France?"}]
        }))
        .expect("a request")
    }

    #[trace_llm_call]
    fn complete(request: &CreateChatCompletionRequest) -> CreateChatCompletionResponse {
        assert_eq!(request.model, "gpt-4o-mini");
        response()
    }

    #[test]
    fn a_chat_completion_records_its_usage_model_and_the_requests_parameters() {
        let request = request();
        let (_, trace) = traced(|| complete(&request));
        let event = only(&trace);
        assert_eq!(metadata(event, "gen_ai.usage.input_tokens"), json!(21));
        assert_eq!(metadata(event, "gen_ai.usage.output_tokens"), json!(3));
        assert_eq!(metadata(event, "gen_ai.usage.cache_read.input_tokens"), json!(16));
        assert_eq!(
            metadata(event, "gen_ai.response.model"),
            json!("gpt-4o-mini-2024-07-18")
        );
        assert_eq!(metadata(event, "gen_ai.response.id"), json!("chatcmpl-1"));
        assert_eq!(metadata(event, "gen_ai.response.finish_reasons"), json!(["stop"]));
        assert_eq!(metadata(event, "gen_ai.request.model"), json!("gpt-4o-mini"));
        assert_eq!(metadata(event, "gen_ai.request.temperature"), json!(0.5));
        assert_eq!(metadata(event, "gen_ai.request.max_tokens"), json!(64));
        assert_eq!(metadata(event, "gen_ai.request.seed"), json!(7));
        assert_eq!(metadata(event, "gen_ai.request.stop_sequences"), json!(["\n\n"]));
    }

    fn chunk(content: Option<&str>, usage: Option<Value>) -> CreateChatCompletionStreamResponse {
        let finish = if usage.is_some() { json!("stop") } else { Value::Null };
        serde_json::from_value(json!({
            "id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": finish, "delta": {"content": content}}],
            "usage": usage,
        }))
        .expect("a chunk as OpenAI streams it")
    }

    #[trace_llm_call]
    fn stream() -> impl futures_core::Stream<Item = CreateChatCompletionStreamResponse> {
        let usage = json!({"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11});
        Chunks(
            vec![
                chunk(Some("Hi"), None),
                chunk(Some("!"), None),
                chunk(None, Some(usage)),
            ]
            .into(),
        )
    }

    /// A stream of the chunks, polled by hand (no runtime needed).
    struct Chunks(std::collections::VecDeque<CreateChatCompletionStreamResponse>);

    impl futures_core::Stream for Chunks {
        type Item = CreateChatCompletionStreamResponse;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.pop_front())
        }
    }

    #[test]
    fn a_streamed_completion_records_the_usage_of_its_last_chunk() {
        let (read, trace) = traced(|| {
            let mut stream = Box::pin(stream());
            let mut context = std::task::Context::from_waker(std::task::Waker::noop());
            let mut read = 0;
            while let std::task::Poll::Ready(Some(_)) = stream.as_mut().poll_next(&mut context) {
                read += 1;
            }
            read
        });
        assert_eq!(read, 3);
        let event = only(&trace);
        assert_eq!(metadata(event, "gen_ai.usage.input_tokens"), json!(9));
        assert_eq!(metadata(event, "gen_ai.usage.output_tokens"), json!(2));
        assert_eq!(metadata(event, "gen_ai.response.id"), json!("chatcmpl-2"));
    }
}

#[cfg(feature = "genai")]
mod genai_types {
    use genai::chat::{ChatOptions, ChatResponse, ChatStreamEvent, StreamEnd, Usage};

    use super::*;

    fn usage() -> Usage {
        serde_json::from_value(json!({
            "prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36,
            "prompt_tokens_details": {"cached_tokens": 10, "cache_creation_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2}
        }))
        .expect("usage")
    }

    fn response() -> ChatResponse {
        let model = genai::ModelIden::new(genai::adapter::AdapterKind::OpenAI, "gpt-4o-mini");
        ChatResponse {
            content: genai::chat::MessageContent::from_text("Paris."),
            reasoning_content: None,
            model_iden: model.clone(),
            provider_model_iden: genai::ModelIden::new(genai::adapter::AdapterKind::OpenAI, "gpt-4o-mini-2024-07-18"),
            stop_reason: Some(genai::chat::StopReason::Completed("stop".into())),
            usage: usage(),
            captured_raw_body: None,
            response_id: Some("resp-1".into()),
        }
    }

    #[trace_llm_call]
    fn exec_chat(model: &str, options: &ChatOptions) -> ChatResponse {
        let _ = (model, options);
        response()
    }

    #[test]
    fn a_chat_response_records_its_usage_and_the_options_parameters() {
        let options = ChatOptions::default().with_temperature(0.2).with_max_tokens(100);
        let (_, trace) = traced(|| exec_chat("gpt-4o-mini", &options));
        let event = only(&trace);
        assert_eq!(metadata(event, "gen_ai.usage.input_tokens"), json!(30));
        assert_eq!(metadata(event, "gen_ai.usage.output_tokens"), json!(6));
        assert_eq!(metadata(event, "gen_ai.usage.cache_read.input_tokens"), json!(10));
        assert_eq!(metadata(event, "gen_ai.usage.cache_creation.input_tokens"), json!(4));
        assert_eq!(metadata(event, "gen_ai.usage.reasoning.output_tokens"), json!(2));
        assert_eq!(
            metadata(event, "gen_ai.response.model"),
            json!("gpt-4o-mini-2024-07-18")
        );
        assert_eq!(metadata(event, "gen_ai.response.id"), json!("resp-1"));
        assert_eq!(metadata(event, "gen_ai.response.finish_reasons"), json!(["stop"]));
        assert_eq!(metadata(event, "gen_ai.request.temperature"), json!(0.2));
        assert_eq!(metadata(event, "gen_ai.request.max_tokens"), json!(100));
    }

    #[trace_llm_call]
    fn exec_chat_stream() -> impl Iterator<Item = ChatStreamEvent> {
        let end = StreamEnd {
            captured_usage: Some(usage()),
            captured_response_id: Some("resp-2".into()),
            ..StreamEnd::default()
        };
        vec![ChatStreamEvent::Start, ChatStreamEvent::End(end)].into_iter()
    }

    #[test]
    fn a_chat_stream_records_the_usage_its_end_captured() {
        let (read, trace) = traced(|| exec_chat_stream().count());
        assert_eq!(read, 2);
        let event = only(&trace);
        assert_eq!(metadata(event, "gen_ai.usage.input_tokens"), json!(30));
        assert_eq!(metadata(event, "gen_ai.response.id"), json!("resp-2"));
    }
}
