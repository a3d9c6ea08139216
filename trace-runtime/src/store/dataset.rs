//! [`export_dataset`]: the sessions a filter selects, written as training data.

use std::io::Write;

use trace_core::dataset::{DatasetWriter, Format, Report};

use super::{TraceFilter, TraceStore};
use crate::error::DatasetError;

/// Writes the sessions of `store` that pass `filter`, in the filter's order, as `format`
/// records to `out`, one a line (see `agent_trace::dataset` for the records); returns what
/// was written and what was left out. Sessions are read one at a time; a session deleted
/// while the export runs is not in it.
///
/// ```
/// use agent_trace::dataset::{self, Format, Per};
/// use agent_trace::{Event, EventKind, SessionTracer, SqliteSink, TraceFilter, TraceStore};
/// # let dir = std::env::temp_dir().join(format!("agent-trace-dataset-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("traces.db");
/// let tracer = SessionTracer::builder().sink(SqliteSink::open(&path)?).build();
/// let session = tracer.start_session();
/// session.record_event(Event::builder(EventKind::Llm, "agent", "complete").input("prompt", "Hi").output("Hello"))?;
/// session.end()?;
/// tracer.flush()?;
///
/// let store = TraceStore::open(&path)?;
/// let mut lines = Vec::new();
/// let format = Format::Sft { per: Per::Call, metadata: true };
/// let report = dataset::export(&store, &TraceFilter::default(), format, &mut lines)?;
/// assert_eq!(report.records, 1);
/// let record: dataset::SftRecord = serde_json::from_slice(&lines)?;
/// assert_eq!(record.messages[0], serde_json::json!({"role": "user", "content": "Hi"}));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn export_dataset(
    store: &TraceStore,
    filter: &TraceFilter,
    format: Format,
    out: impl Write,
) -> Result<Report, DatasetError> {
    let mut writer = DatasetWriter::new(out, format);
    for summary in store.list(filter)? {
        if let Some(trace) = store.get(&summary.session_id)? {
            writer.write(&trace).map_err(DatasetError::Write)?;
        }
    }
    let (_, report) = writer.finish().map_err(DatasetError::Write)?;
    Ok(report)
}
