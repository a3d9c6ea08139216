//! Every shape the macros accept compiles without warnings in the user's crate.
#![deny(warnings)]

use std::fmt::{Debug, Display};
use std::future::Future;
use std::pin::Pin;

use agent_trace::prelude::*;

#[trace_agent]
fn free(x: u32) -> u32 {
    x
}

#[trace_agent]
async fn free_async(x: u32) -> u32 {
    x
}

#[trace_agent]
fn no_return(_x: u32) {}

#[trace_agent]
fn one_expression(a: u32, b: u32) -> u32 {
    a + b
}

// On one line on purpose: `unused_braces` looks only at single-line blocks.
#[trace_agent]
fn one_line(a: u32, b: u32) -> u32 { a + b }

#[derive(Debug)]
struct Reply {
    text: String,
}

#[trace_agent]
fn struct_literal(text: &str) -> Reply {
    Reply { text: text.to_owned() }
}

#[trace_agent]
async fn one_expression_async(a: u32, b: u32) -> u32 {
    a + b
}

#[derive(Debug)]
struct Agent {
    hp: u32,
}

impl Agent {
    #[trace_agent(capture_self)]
    fn by_ref(&self) -> u32 {
        self.hp
    }

    #[trace_agent]
    fn by_mut(&mut self, damage: u32) {
        self.hp -= damage;
    }

    #[trace_agent]
    fn by_value(self) -> u32 {
        self.hp
    }

    #[trace_agent]
    async fn by_ref_async(&self) -> u32 {
        self.hp
    }
}

trait Policy {
    fn act(&self, observation: u32) -> u32;
    async fn act_async(&self, observation: u32) -> u32;
    fn act_boxed(&self, observation: u32) -> Pin<Box<dyn Future<Output = u32> + Send + '_>>;
}

impl Policy for Agent {
    #[trace_agent]
    fn act(&self, observation: u32) -> u32 {
        observation + self.hp
    }

    #[trace_agent]
    async fn act_async(&self, observation: u32) -> u32 {
        observation
    }

    #[trace_agent]
    fn act_boxed(&self, observation: u32) -> Pin<Box<dyn Future<Output = u32> + Send + '_>> {
        Box::pin(async move { observation + self.hp })
    }
}

#[trace_agent]
fn generic<T>(value: T) -> T {
    value
}

#[trace_agent]
fn bounded<T: Debug + Clone>(value: &T) -> T {
    value.clone()
}

#[trace_agent]
fn with_where<T, E>(value: Result<T, E>) -> Result<T, E>
where
    T: Display,
    E: std::error::Error,
{
    value
}

#[trace_agent]
fn lifetimes<'a, 'b: 'a>(first: &'a str, _second: &'b str) -> &'a str {
    first
}

#[trace_agent]
fn impl_trait(items: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    items.into_iter()
}

#[trace_agent]
fn patterns(mut count: u32, (a, b): (u32, u32), [first, ..]: [u8; 3], _: bool) -> u32 {
    count += a + b + u32::from(first);
    count
}

/// # Safety
/// Always safe; `unsafe` only to show the shape.
#[trace_agent]
unsafe fn unsafe_fn(x: u32) -> u32 {
    x
}

#[trace_agent]
fn question_mark(text: &str) -> Result<u32, std::num::ParseIntError> {
    let value: u32 = text.parse()?;
    if value == 0 {
        return Ok(1);
    }
    Ok(value)
}

#[trace_agent]
fn option(value: Option<u32>) -> Option<u32> {
    let inner = value?;
    Some(inner + 1)
}

#[trace_agent]
fn boxed_error(text: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    Ok(text.parse()?)
}

#[trace_agent]
fn r#type(r#in: u32) -> u32 {
    r#in
}

#[trace_agent]
fn returns_a_future(x: u32) -> impl Future<Output = u32> { async move { x } }

#[trace_agent]
fn returns_a_boxed_future(x: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    let y = x + 1;
    Box::pin(async move { y })
}

#[trace_agent]
#[track_caller]
fn tracks_its_caller(x: &str) -> Result<u32, std::num::ParseIntError> { Ok(x.parse::<u32>()? + 1) }

#[trace_agent(fields(length = x.len(), user.id = "ada"))]
fn with_fields(x: &str) -> usize { x.len() }

#[trace_llm_call]
fn returns_a_stream(x: u32) -> impl futures_util::Stream<Item = u32> { futures_util::stream::iter(0..x) }

#[trace_llm_call(stream_errors = "continue")]
fn returns_a_result_stream(x: u32) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send {
    futures_util::stream::iter((0..x).map(|i| Ok(i.to_string())))
}

struct Model {
    words: Vec<String>,
}

impl Model {
    #[trace_llm_call]
    fn stream_words(&self) -> futures_util::stream::BoxStream<'_, &str> {
        Box::pin(futures_util::stream::iter(self.words.iter().map(String::as_str)))
    }

    #[trace_llm_call]
    async fn connect_then_stream(&self, limit: usize) -> impl futures_util::Stream<Item = String> + use<'_> {
        futures_util::stream::iter(self.words.iter().take(limit).cloned())
    }
}

#[trace_runtime]
fn generic_items<T: Clone>(items: &[T]) -> impl Iterator<Item = T> + '_ { items.iter().cloned() }

fn main() {
    let model = Model { words: vec!["a".into()] };
    let _ = (returns_a_stream(1), returns_a_result_stream(1), model.stream_words(), model.connect_then_stream(1));
    let _ = generic_items(&[1]).count();
    let _ = (returns_a_future(1), returns_a_boxed_future(1), tracks_its_caller("1"), with_fields("a"));
    let agent = Agent { hp: 3 };
    let _ = (one_expression(1, 2), one_line(1, 2), struct_literal("a").text, one_expression_async(1, 2));
    let _ = (free(1), free_async(1), no_return(1), agent.by_ref(), agent.act(1), agent.act_async(1), agent.act_boxed(1));
    let mut agent = agent;
    agent.by_mut(1);
    let _ = agent.by_ref_async();
    let _ = agent.by_value();
    let _ = (generic(1), bounded(&2), with_where::<u32, std::io::Error>(Ok(3)), lifetimes("a", "b"));
    let _ = (impl_trait(vec![1]).count(), patterns(1, (2, 3), [4, 5, 6], true), unsafe { unsafe_fn(1) });
    let _ = (question_mark("1"), option(Some(1)), boxed_error("1"), r#type(1));
}
