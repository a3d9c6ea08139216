//! What a session adds up to ([`SessionTrace::totals`]): events, errors, time, reward, and
//! the tokens its LLM calls report, by model — and their cost under a [`Pricing`] of the
//! user's (agent-trace keeps no price list: prices change, and differ by contract).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{EventKind, Map, SessionTrace, genai_keys};

/// Tokens that calls report (`LlmUsage`, `current_call().set_usage`), summed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenCounts {
    /// How many calls reported any.
    pub calls: u64,
    /// Input (prompt) tokens, cached ones included.
    pub input: u64,
    /// Of the input tokens, those read from the provider's cache.
    pub cached_input: u64,
    /// Of the input tokens, those written to the provider's cache.
    pub cache_creation_input: u64,
    /// Output tokens, reasoning ones included.
    pub output: u64,
    /// Of the output tokens, those spent on reasoning.
    pub reasoning: u64,
}

impl TokenCounts {
    /// The counts an event adds to its session's totals: those its metadata reports, for an
    /// LLM call. Another event's (an agent span that reports the sum of its model calls, as
    /// the GenAI conventions allow) would count them twice.
    pub fn of_event(kind: &EventKind, metadata: &Map) -> Option<TokenCounts> {
        if *kind != EventKind::Llm {
            return None;
        }
        TokenCounts::of_metadata(metadata)
    }

    /// The counts an event's metadata reports, if it reports any.
    pub fn of_metadata(metadata: &Map) -> Option<TokenCounts> {
        let count = |key: &str| metadata.get(key).and_then(Value::as_u64);
        let input = count(genai_keys::INPUT_TOKENS);
        let output = count(genai_keys::OUTPUT_TOKENS);
        if input.is_none() && output.is_none() {
            return None;
        }
        Some(TokenCounts {
            calls: 1,
            input: input.unwrap_or(0),
            cached_input: count(genai_keys::CACHE_READ_INPUT_TOKENS).unwrap_or(0),
            cache_creation_input: count(genai_keys::CACHE_CREATION_INPUT_TOKENS).unwrap_or(0),
            output: output.unwrap_or(0),
            reasoning: count(genai_keys::REASONING_OUTPUT_TOKENS).unwrap_or(0),
        })
    }

    /// Adds `other` to these.
    pub fn add(&mut self, other: &TokenCounts) {
        self.calls = self.calls.saturating_add(other.calls);
        self.input = self.input.saturating_add(other.input);
        self.cached_input = self.cached_input.saturating_add(other.cached_input);
        self.cache_creation_input = self.cache_creation_input.saturating_add(other.cache_creation_input);
        self.output = self.output.saturating_add(other.output);
        self.reasoning = self.reasoning.saturating_add(other.reasoning);
    }

    /// Input and output tokens together.
    pub fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }

    /// What tokens of no named model are counted under.
    pub const UNKNOWN_MODEL: &str = "(unknown)";

    /// The model an event's tokens are counted under: the one that answered, else the one
    /// asked for, else [`UNKNOWN_MODEL`](Self::UNKNOWN_MODEL).
    pub fn model_of(metadata: &Map) -> &str {
        named_model(metadata).unwrap_or(Self::UNKNOWN_MODEL)
    }
}

/// The model an event names: the one that answered, else the one asked for.
pub(crate) fn named_model(metadata: &Map) -> Option<&str> {
    [genai_keys::RESPONSE_MODEL, genai_keys::REQUEST_MODEL]
        .into_iter()
        .find_map(|key| metadata.get(key).and_then(Value::as_str))
}

/// What a session adds up to. From [`SessionTrace::totals`]; `cost` is there once
/// [`priced`](Totals::priced).
///
/// ```
/// use agent_trace::{Event, EventKind, ModelPrice, Pricing, SessionTracer};
/// let session = SessionTracer::default().start_session();
/// session.record_event(
///     Event::builder(EventKind::Llm, "agent", "complete")
///         .metadata("gen_ai.request.model", "gpt-5-mini")
///         .metadata("gen_ai.usage.input_tokens", 1_000_000)
///         .metadata("gen_ai.usage.cache_read.input_tokens", 400_000)
///         .metadata("gen_ai.usage.output_tokens", 100_000),
/// )?;
/// let trace = session.end()?;
/// let pricing = Pricing::new().model("gpt-5-mini", ModelPrice::per_million(0.25, 2.0)?.cached_input(0.025)?);
/// let totals = trace.totals().priced(&pricing);
/// assert_eq!(totals.tokens.input, 1_000_000);
/// // 600,000 uncached input at 0.25, 400,000 cached at 0.025, 100,000 output at 2.0, per million.
/// assert!((totals.cost.unwrap() - (0.15 + 0.01 + 0.2)).abs() < 1e-12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// How many events.
    pub events: usize,
    /// How many ended in `Err` or `Panicked`.
    pub errors: usize,
    /// How long the session ran (`None` while it runs).
    pub duration: Option<Duration>,
    /// The sum of its outcome rewards.
    pub outcome_reward: f64,
    /// Every call's tokens.
    pub tokens: TokenCounts,
    /// The tokens by model ([`TokenCounts::model_of`]).
    pub by_model: BTreeMap<String, TokenCounts>,
    /// What the tokens cost under a [`Pricing`]: `None` until priced, or when a model with
    /// tokens has no price (see `unpriced_models`).
    pub cost: Option<f64>,
    /// The models with tokens that the pricing had no price for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
}

impl Totals {
    /// These totals with `cost` from `pricing`.
    pub fn priced(mut self, pricing: &Pricing) -> Totals {
        (self.cost, self.unpriced_models) = pricing.cost_of(&self.by_model);
        self
    }
}

impl SessionTrace {
    /// What the session adds up to: events, errors, duration, outcome reward, and the
    /// tokens of its LLM calls, by model (read from the events' metadata, without decoding
    /// their values). No cost: see [`Totals::priced`].
    pub fn totals(&self) -> Totals {
        let mut totals = Totals {
            events: self.events.len(),
            duration: self.ended_at.and_then(|end| (end - self.started_at).to_std().ok()),
            outcome_reward: self.outcome_reward(),
            ..Totals::default()
        };
        for record in self.events.records() {
            if record.outcome().is_failure() {
                totals.errors += 1;
            }
            let metadata = record.metadata();
            if let Some(tokens) = TokenCounts::of_event(record.kind(), metadata) {
                totals.tokens.add(&tokens);
                totals
                    .by_model
                    .entry(TokenCounts::model_of(metadata).to_owned())
                    .or_default()
                    .add(&tokens);
            }
        }
        totals
    }
}

/// A price that is not a price: negative, or not a number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("a price per million {what} tokens must be a finite amount of at least 0, not {price}")]
pub struct PriceError {
    what: &'static str,
    price: f64,
}

/// What a model's tokens cost, per million (in the currency of your choice).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    input: f64,
    output: f64,
    cached_input: Option<f64>,
}

fn checked(what: &'static str, price: f64) -> Result<f64, PriceError> {
    if price.is_finite() && price >= 0.0 {
        Ok(price)
    } else {
        Err(PriceError { what, price })
    }
}

impl ModelPrice {
    /// `input` and `output` per million tokens; cached input tokens cost as input ones
    /// unless [`cached_input`](Self::cached_input) says otherwise.
    pub fn per_million(input: f64, output: f64) -> Result<ModelPrice, PriceError> {
        Ok(ModelPrice {
            input: checked("input", input)?,
            output: checked("output", output)?,
            cached_input: None,
        })
    }

    /// What a million input tokens read from the provider's cache cost.
    pub fn cached_input(mut self, price: f64) -> Result<ModelPrice, PriceError> {
        self.cached_input = Some(checked("cached input", price)?);
        Ok(self)
    }

    /// What `tokens` cost at this price.
    pub fn cost(&self, tokens: &TokenCounts) -> f64 {
        let cached = tokens.cached_input.min(tokens.input);
        let uncached = tokens.input - cached;
        let cached_price = self.cached_input.unwrap_or(self.input);
        (uncached as f64 * self.input + cached as f64 * cached_price + tokens.output as f64 * self.output) / 1e6
    }
}

/// Prices by model, given by the user: a model's price is the one given for its name, else
/// for the longest name it starts with (`"gpt-5-mini"` prices `"gpt-5-mini-2026-08-07"`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pricing {
    prices: BTreeMap<String, ModelPrice>,
}

impl Pricing {
    /// No prices.
    pub fn new() -> Pricing {
        Pricing::default()
    }

    /// With `price` for `model` (and the models whose names start with it).
    pub fn model(mut self, model: impl Into<String>, price: ModelPrice) -> Pricing {
        self.prices.insert(model.into(), price);
        self
    }

    /// The price of `model`.
    pub fn price_of(&self, model: &str) -> Option<&ModelPrice> {
        self.prices.get(model).or_else(|| {
            self.prices
                .iter()
                .filter(|(name, _)| model.starts_with(name.as_str()))
                .max_by_key(|(name, _)| name.len())
                .map(|(_, price)| price)
        })
    }

    /// What tokens by model cost: the sum, when every model with tokens has a price, and
    /// the models that have none.
    pub fn cost_of(&self, by_model: &BTreeMap<String, TokenCounts>) -> (Option<f64>, Vec<String>) {
        let mut cost = 0.0;
        let mut unpriced = Vec::new();
        for (model, tokens) in by_model {
            match self.price_of(model) {
                Some(price) => cost += price.cost(tokens),
                None if tokens.total() > 0 => unpriced.push(model.clone()),
                None => {}
            }
        }
        (unpriced.is_empty().then_some(cost), unpriced)
    }
}
