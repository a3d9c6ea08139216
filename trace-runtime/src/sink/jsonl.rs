//! [`JsonlSink`]: one session trace per line of a file.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use trace_core::SessionTrace;

use crate::error::SinkError;
use crate::sink::Sink;

/// Appends each ended session to a file as one line of JSON.
///
/// `flush` writes out the buffer and syncs the file to disk. [`JsonlSink::read`] reads
/// such a file back.
///
/// ```no_run
/// use agent_trace::{JsonlSink, SessionTracer};
/// let tracer = SessionTracer::builder().sink(JsonlSink::open("traces.jsonl")?).build();
/// # Ok::<(), agent_trace::sink::SinkError>(())
/// ```
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: BufWriter<File>,
    line: Vec<u8>,
}

impl JsonlSink {
    /// Opens `path` for appending, creating it if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SinkError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| SinkError::Open {
                path: path.clone(),
                source,
            })?;
        Ok(JsonlSink {
            path,
            file: BufWriter::new(file),
            line: Vec::new(),
        })
    }

    /// The file this sink appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every session trace of a JSONL file, in file order. Blank lines are skipped.
    pub fn read(path: impl AsRef<Path>) -> Result<Vec<SessionTrace>, SinkError> {
        let path = path.as_ref();
        let io_error = |source| SinkError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(|source| SinkError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut traces = Vec::new();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_error)?;
            if line.trim().is_empty() {
                continue;
            }
            let trace = serde_json::from_str(&line).map_err(|source| SinkError::Decode {
                path: path.to_path_buf(),
                line: index + 1,
                source,
            })?;
            traces.push(trace);
        }
        Ok(traces)
    }

    fn io_error(&self, source: std::io::Error) -> SinkError {
        SinkError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl Sink for JsonlSink {
    fn name(&self) -> &str {
        "jsonl"
    }

    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        // Encode the whole line first, so that a failure never leaves half a line behind.
        self.line.clear();
        trace.write_json(&mut self.line);
        self.line.push(b'\n');
        let result = self.file.write_all(&self.line);
        result.map_err(|error| self.io_error(error))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let result = self.file.flush().and_then(|()| self.file.get_ref().sync_data());
        result.map_err(|error| self.io_error(error))
    }
}
