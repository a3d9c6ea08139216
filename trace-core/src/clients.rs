//! [`LlmUsage`] and [`LlmRequest`] for the response, stream-chunk and request types of the
//! LLM clients people use, behind a feature each (off by default): a `#[trace_llm_call]`
//! function that returns one of these types records its tokens with no glue code.
//!
//! - `async-openai`: `CreateChatCompletionResponse` and `CreateChatCompletionStreamResponse`
//!   (usage, model, response id, finish reasons), `CreateChatCompletionRequest` (model and
//!   sampling parameters).
//! - `genai`: `ChatResponse` and `ChatStreamEvent` (usage from the stream's end, when the
//!   request asked for it), `ChatOptions` (sampling parameters).

use crate::{LlmRequest, LlmUsage};

/// A token count of a client's type, as ours: negative ones (none should be) are no count.
fn count<T: TryInto<u64>>(tokens: Option<T>) -> Option<u64> {
    tokens.and_then(|tokens| tokens.try_into().ok())
}

#[cfg(feature = "async-openai")]
mod async_openai_types {
    use async_openai::types::chat::{
        CompletionUsage, CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
        FinishReason, StopConfiguration,
    };

    use super::{LlmRequest, LlmUsage, count};

    fn reason(reason: &FinishReason) -> &'static str {
        match reason {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::FunctionCall => "function_call",
        }
    }

    fn cached(usage: &CompletionUsage) -> Option<u64> {
        count(
            usage
                .prompt_tokens_details
                .as_ref()
                .and_then(|details| details.cached_tokens),
        )
    }

    fn reasoning(usage: &CompletionUsage) -> Option<u64> {
        count(
            usage
                .completion_tokens_details
                .as_ref()
                .and_then(|details| details.reasoning_tokens),
        )
    }

    /// `LlmUsage` for a chat completion (`$what`): its usage, model, id and each choice's
    /// finish reason — the whole response and a stream's chunk have the same fields.
    macro_rules! completion_usage {
        ($type:ty, $what:literal) => {
            #[doc = $what]
            impl LlmUsage for $type {
                fn input_tokens(&self) -> Option<u64> {
                    self.usage.as_ref().map(|usage| u64::from(usage.prompt_tokens))
                }
                fn output_tokens(&self) -> Option<u64> {
                    self.usage
                        .as_ref()
                        .map(|usage| u64::from(usage.completion_tokens))
                }
                fn cache_read_input_tokens(&self) -> Option<u64> {
                    self.usage.as_ref().and_then(cached)
                }
                fn reasoning_tokens(&self) -> Option<u64> {
                    self.usage.as_ref().and_then(reasoning)
                }
                fn response_model(&self) -> Option<&str> {
                    Some(&self.model)
                }
                fn response_id(&self) -> Option<&str> {
                    Some(&self.id)
                }
                fn finish_reasons(&self) -> Vec<&str> {
                    self.choices
                        .iter()
                        .filter_map(|choice| choice.finish_reason.as_ref())
                        .map(reason)
                        .collect()
                }
            }
        };
    }

    completion_usage!(
        CreateChatCompletionResponse,
        "A chat completion: its usage, model, id and each choice's finish reason."
    );
    completion_usage!(
        CreateChatCompletionStreamResponse,
        "A chunk of a streamed chat completion: the usage the last chunk carries (with `stream_options.include_usage`), its model, id and finish reasons."
    );

    /// A chat completion request: the model and the sampling parameters it sets.
    impl LlmRequest for CreateChatCompletionRequest {
        fn model(&self) -> Option<&str> {
            Some(&self.model)
        }
        fn temperature(&self) -> Option<f64> {
            self.temperature.map(f64::from)
        }
        #[allow(deprecated)] // `max_tokens` is what older models take.
        fn max_tokens(&self) -> Option<u64> {
            self.max_completion_tokens.or(self.max_tokens).map(u64::from)
        }
        fn top_p(&self) -> Option<f64> {
            self.top_p.map(f64::from)
        }
        fn frequency_penalty(&self) -> Option<f64> {
            self.frequency_penalty.map(f64::from)
        }
        fn presence_penalty(&self) -> Option<f64> {
            self.presence_penalty.map(f64::from)
        }
        fn stop_sequences(&self) -> Vec<&str> {
            match &self.stop {
                Some(StopConfiguration::String(stop)) => vec![stop.as_str()],
                Some(StopConfiguration::StringArray(stops)) => stops.iter().map(String::as_str).collect(),
                None => Vec::new(),
            }
        }
        #[allow(deprecated)] // OpenAI marks `seed` deprecated; requests still carry it.
        fn seed(&self) -> Option<i64> {
            self.seed
        }
        fn stream(&self) -> Option<bool> {
            self.stream
        }
    }
}

#[cfg(feature = "genai")]
mod genai_types {
    use genai::chat::{ChatOptions, ChatResponse, ChatStreamEvent, StopReason, Usage};

    use super::{LlmRequest, LlmUsage, count};

    fn cached(usage: &Usage) -> Option<u64> {
        count(
            usage
                .prompt_tokens_details
                .as_ref()
                .and_then(|details| details.cached_tokens),
        )
    }

    fn cache_creation(usage: &Usage) -> Option<u64> {
        count(
            usage
                .prompt_tokens_details
                .as_ref()
                .and_then(|details| details.cache_creation_tokens),
        )
    }

    fn reasoning(usage: &Usage) -> Option<u64> {
        count(
            usage
                .completion_tokens_details
                .as_ref()
                .and_then(|details| details.reasoning_tokens),
        )
    }

    fn reason(reason: &StopReason) -> &str {
        match reason {
            StopReason::Completed(_) => "stop",
            StopReason::MaxTokens(_) => "length",
            StopReason::ToolCall(_) => "tool_calls",
            StopReason::ContentFilter(_) => "content_filter",
            StopReason::StopSequence(_) => "stop",
            // The provider's own word for it.
            StopReason::Other(raw) => raw,
        }
    }

    /// A chat response: its usage, the model that answered, its id and stop reason.
    impl LlmUsage for ChatResponse {
        fn input_tokens(&self) -> Option<u64> {
            count(self.usage.prompt_tokens)
        }
        fn output_tokens(&self) -> Option<u64> {
            count(self.usage.completion_tokens)
        }
        fn cache_read_input_tokens(&self) -> Option<u64> {
            cached(&self.usage)
        }
        fn cache_creation_input_tokens(&self) -> Option<u64> {
            cache_creation(&self.usage)
        }
        fn reasoning_tokens(&self) -> Option<u64> {
            reasoning(&self.usage)
        }
        fn response_model(&self) -> Option<&str> {
            Some(self.provider_model_iden.model_name.as_str())
        }
        fn response_id(&self) -> Option<&str> {
            self.response_id.as_deref()
        }
        fn finish_reasons(&self) -> Vec<&str> {
            self.stop_reason.iter().map(reason).collect()
        }
    }

    /// An event of a chat stream: the stream's end carries the usage (with
    /// `ChatOptions::with_capture_usage(true)`), its id and stop reason; other events none.
    impl LlmUsage for ChatStreamEvent {
        fn input_tokens(&self) -> Option<u64> {
            end_usage(self).and_then(|usage| count(usage.prompt_tokens))
        }
        fn output_tokens(&self) -> Option<u64> {
            end_usage(self).and_then(|usage| count(usage.completion_tokens))
        }
        fn cache_read_input_tokens(&self) -> Option<u64> {
            end_usage(self).and_then(cached)
        }
        fn cache_creation_input_tokens(&self) -> Option<u64> {
            end_usage(self).and_then(cache_creation)
        }
        fn reasoning_tokens(&self) -> Option<u64> {
            end_usage(self).and_then(reasoning)
        }
        fn response_id(&self) -> Option<&str> {
            match self {
                ChatStreamEvent::End(end) => end.captured_response_id.as_deref(),
                _ => None,
            }
        }
        fn finish_reasons(&self) -> Vec<&str> {
            match self {
                ChatStreamEvent::End(end) => end.captured_stop_reason.iter().map(reason).collect(),
                _ => Vec::new(),
            }
        }
    }

    fn end_usage(event: &ChatStreamEvent) -> Option<&Usage> {
        match event {
            ChatStreamEvent::End(end) => end.captured_usage.as_ref(),
            _ => None,
        }
    }

    /// A chat request's options: the sampling parameters they set (the model is named
    /// apart, as `exec_chat`'s first argument).
    impl LlmRequest for ChatOptions {
        fn temperature(&self) -> Option<f64> {
            self.temperature
        }
        fn max_tokens(&self) -> Option<u64> {
            self.max_tokens.map(u64::from)
        }
        fn top_p(&self) -> Option<f64> {
            self.top_p
        }
        fn stop_sequences(&self) -> Vec<&str> {
            self.stop_sequences.iter().map(String::as_str).collect()
        }
        fn seed(&self) -> Option<i64> {
            self.seed.and_then(|seed| i64::try_from(seed).ok())
        }
    }
}
