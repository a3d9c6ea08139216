//! `export` (JSON lines, or OTLP with the feature `otlp`) and `import` (JSON lines into a
//! store), with a progress bar when standard error is a terminal.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;

use agent_trace::dataset::{DatasetWriter, Format, Per, Report};
use agent_trace::sink::Sink;
use agent_trace::{SessionTrace, SqliteSink, TraceStore};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::load;
use crate::cli::{ExportArgs, ExportFormat, ImportArgs, SftPer};
use crate::error::CliError;
use crate::filter::selection;

/// A progress bar of `total` steps on standard error when it is a terminal, else hidden.
fn progress(total: u64, template: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

pub(crate) fn export(store: &TraceStore, args: &ExportArgs) -> Result<(), CliError> {
    let selection = selection(&args.filter, args.limit)?;
    let mut summaries = store.list(&selection.filter)?;
    summaries.retain(|summary| selection.keeps(&summary.metadata));
    if let Some(limit) = args.limit {
        summaries.truncate(limit);
    }
    let bar = progress(summaries.len() as u64, "{bar:40} {pos}/{len} sessions {eta}");
    let sessions = summaries.iter().map(|summary| {
        bar.inc(1);
        load(store, &summary.session_id)
    });
    let sft = |per| Format::Sft {
        per,
        metadata: !args.no_metadata,
    };
    let dataset = match args.format {
        ExportFormat::Sft if args.per == SftPer::Call => Some(sft(Per::Call)),
        ExportFormat::Sft => Some(sft(Per::Session)),
        ExportFormat::Trajectories => Some(Format::Trajectories),
        ExportFormat::Jsonl | ExportFormat::Otlp => None,
    };
    if let Some(format) = dataset {
        let report = to_dataset(sessions, format, args.out.as_deref());
        bar.finish_and_clear();
        // What was written and what was left out, always: a dataset is read by a program.
        eprintln!("exported {}", report?);
        return Ok(());
    }
    let exported = match args.format {
        ExportFormat::Otlp => to_otlp(sessions, args.endpoint.as_deref()),
        _ => to_jsonl(sessions, args.out.as_deref()),
    };
    bar.finish_and_clear();
    let count = exported?;
    if args.out.is_some() || args.format == ExportFormat::Otlp {
        eprintln!("exported {count} session(s)");
    }
    Ok(())
}

/// Where JSON lines go: the file `out`, or standard output.
fn open_lines(out: Option<&Path>) -> Result<Box<dyn Write>, CliError> {
    Ok(match out {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|source| CliError::Io {
            path: path.to_path_buf(),
            source,
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// Whether writing to standard output failed because its reader stopped early (as `| head`
/// does): not an error, the reader has what it wanted.
fn reader_gone(out: Option<&Path>, error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe && out.is_none()
}

fn write_failed(out: Option<&Path>, source: std::io::Error) -> CliError {
    match out {
        Some(path) => CliError::Io {
            path: path.to_path_buf(),
            source,
        },
        None => CliError::Output(source),
    }
}

fn to_jsonl(
    sessions: impl Iterator<Item = Result<SessionTrace, CliError>>,
    out: Option<&Path>,
) -> Result<usize, CliError> {
    let mut writer = open_lines(out)?;
    let mut line = Vec::new();
    let mut count = 0;
    for trace in sessions {
        line.clear();
        trace?.write_json(&mut line);
        line.push(b'\n');
        match writer.write_all(&line) {
            Err(error) if reader_gone(out, &error) => return Ok(count),
            other => other.map_err(|error| write_failed(out, error))?,
        }
        count += 1;
    }
    match writer.flush() {
        Err(error) if reader_gone(out, &error) => Ok(count),
        other => other.map(|()| count).map_err(|error| write_failed(out, error)),
    }
}

/// Writes the sessions as training data; returns what was written.
fn to_dataset(
    sessions: impl Iterator<Item = Result<SessionTrace, CliError>>,
    format: Format,
    out: Option<&Path>,
) -> Result<Report, CliError> {
    let mut writer = DatasetWriter::new(open_lines(out)?, format);
    for trace in sessions {
        match writer.write(&trace?) {
            Err(error) if reader_gone(out, &error) => return Ok(*writer.report()),
            other => other.map_err(|error| write_failed(out, error))?,
        };
    }
    let report = *writer.report();
    match writer.finish() {
        Err(error) if reader_gone(out, &error) => Ok(report),
        other => other
            .map(|(_, report)| report)
            .map_err(|error| write_failed(out, error)),
    }
}

#[cfg(feature = "otlp")]
fn to_otlp(
    sessions: impl Iterator<Item = Result<SessionTrace, CliError>>,
    endpoint: Option<&str>,
) -> Result<usize, CliError> {
    let mut builder = agent_trace::OtlpSink::builder();
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint(endpoint);
    }
    let mut sink = builder.build()?;
    let mut count = 0;
    for trace in sessions {
        sink.write_session(&trace?)?;
        count += 1;
    }
    sink.flush()?;
    Ok(count)
}

#[cfg(not(feature = "otlp"))]
fn to_otlp(_: impl Iterator<Item = Result<SessionTrace, CliError>>, _: Option<&str>) -> Result<usize, CliError> {
    Err(CliError::Feature {
        what: "export --format otlp",
        feature: "otlp",
    })
}

pub(crate) fn import(db: &Path, args: &ImportArgs) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        path: args.file.clone(),
        source,
    };
    let file = File::open(&args.file).map_err(io)?;
    let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let mut sink = SqliteSink::open(db)?;
    let store = TraceStore::open(db)?;
    let bar = progress(size, "{bar:40} {bytes}/{total_bytes} {eta}");
    let (mut imported, mut present) = (0, 0);
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(io)?;
        if read == 0 {
            break;
        }
        number += 1;
        bar.inc(read as u64);
        if line.trim().is_empty() {
            continue;
        }
        let trace: SessionTrace = serde_json::from_str(&line).map_err(|source| CliError::NotASession {
            path: args.file.clone(),
            line: number,
            source,
        })?;
        if store.get(&trace.session_id)?.is_some() {
            present += 1;
            continue;
        }
        sink.write_session(&trace)?;
        imported += 1;
    }
    sink.flush()?;
    bar.finish_and_clear();
    println!(
        "imported {imported} session(s) into {}{}",
        db.display(),
        if present > 0 {
            format!("; {present} were there already, left as they are")
        } else {
            String::new()
        }
    );
    Ok(())
}
