//! The benchmarks' machine-readable results. Every benchmark prints its Markdown table and then
//! hands its headline figures to [`record`]; when `CONFERENCELI_BENCH_RESULTS` names a file, they
//! are appended to it as JSON lines:
//!
//! `{"bench":"watch","key":"initial_sync_10k_ms","what":"…","value":210.0,"unit":"ms","better":"lower","method":"…"}`
//!
//! `.ci/perf-report` sets the variable, runs every benchmark, and renders docs/performance.md and
//! docs/performance.json from the file with `render.rs` in this folder (the `perf_report` example).
//! Without the variable nothing is written, so `cargo bench --bench <name>` works as before.
//!
//! Included with `#[path = "report/mod.rs"] mod report;` (a folder, so that Cargo does not take
//! it for a benchmark of its own).

use std::io::Write;

/// The variable naming the results file.
const RESULTS_ENV: &str = "CONFERENCELI_BENCH_RESULTS";

/// One headline figure of a benchmark.
pub struct Figure {
    /// Stable name within the benchmark: reports are compared figure by figure on (bench, key),
    /// so a key changes only when what it measures changes.
    pub key: &'static str,
    /// What was measured, as the report's table says it.
    pub what: String,
    pub value: f64,
    pub unit: &'static str,
    /// Whether a larger value is an improvement (rates) or a regression (times, memory, CPU).
    pub higher_is_better: bool,
    /// How it was measured: setup, sample count, statistic.
    pub method: String,
}

/// Appends `figures` of benchmark `bench` to the results file, if one is named.
///
/// Panics when the file cannot be written or a value is not a finite number: a report with a
/// figure silently missing would compare wrong.
pub fn record(bench: &str, figures: &[Figure]) {
    let Some(path) = std::env::var_os(RESULTS_ENV) else { return };
    let mut lines = String::new();
    for figure in figures {
        assert!(figure.value.is_finite(), "{bench}: figure {} is {}", figure.key, figure.value);
        let line = serde_json::json!({
            "bench": bench,
            "key": figure.key,
            "what": figure.what,
            "value": figure.value,
            "unit": figure.unit,
            "better": if figure.higher_is_better { "higher" } else { "lower" },
            "method": figure.method,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let path = std::path::Path::new(&path);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{RESULTS_ENV}: cannot open {}: {e}", path.display()));
    // One write for the whole benchmark, so its lines stay together.
    file.write_all(lines.as_bytes()).unwrap_or_else(|e| panic!("{RESULTS_ENV}: cannot write {}: {e}", path.display()));
}
