//! How results are printed: colour, tables, durations.

use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::{ContentArrangement, Table, TableComponent, presets};

use crate::cli::Color;

/// Whether to colour what goes to standard output.
pub(crate) fn colored(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// A table with these headers: columns without borders, a rule under the headers.
pub(crate) fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_style(TableComponent::HeaderLines, '─')
        .set_style(TableComponent::MiddleHeaderIntersections, '─')
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().copied());
    table
}

/// A duration to read at a glance: `12µs`, `4.2ms`, `1.25s`, `3m 20s`.
pub(crate) fn duration(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else if duration.as_secs() < 60 {
        format!("{:.2}s", duration.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
    }
}

/// The first 8 characters of an id (as git shortens a hash), unless asked for all.
pub(crate) fn short_id(id: &str, full: bool) -> String {
    if full {
        id.to_owned()
    } else {
        id.chars().take(8).collect()
    }
}
