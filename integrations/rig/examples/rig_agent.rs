//! A rig agent traced with no annotations: rig's own `tracing` spans, read by agent-trace's
//! `TracingLayer` inside a `TracerContext` scope, become the session's Agent, Llm and Tool
//! events, stored in `rig_traces.db` and printed.
//!
//! ```text
//! cargo run -p agent-trace-rig-example --example rig_agent
//! ```

use agent_trace::{SessionTracer, SqliteSink, TraceStore, TracerContext, TracingLayer};
use agent_trace_rig_example::run_calc_agent;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // DEBUG: rig's TRACE dumps of whole responses are left out.
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new().with_max_level(tracing::Level::DEBUG));
    tracing::subscriber::set_global_default(subscriber)?;

    let path = "rig_traces.db";
    let tracer = SessionTracer::builder().sink(SqliteSink::open(path)?).build();
    let session = tracer.start_session();
    let answer = TracerContext::new(&session).scope(run_calc_agent(true)).await?;
    let trace = session.end()?;
    tracer.flush()?;

    println!("{answer}\n");
    print!("{}", trace.display_tree());
    let stored = TraceStore::open(path)?.get(&trace.session_id)?;
    println!(
        "\nstored in {path}: session {} with {} events",
        trace.session_id,
        stored.map_or(0, |s| s.events.len())
    );
    Ok(())
}
