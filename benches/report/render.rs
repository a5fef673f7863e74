//! Renders the performance report. `.ci/perf-report` runs every benchmark, each appending its
//! headline figures as JSON lines (`mod.rs` in this folder writes them), then runs this program
//! (`cargo run --release --example perf_report`).
//!
//! It reads the results file, the previous report's figures (`docs/performance.json`) and this
//! machine (`/proc/cpuinfo`, `/proc/meminfo`, the kernel release, `rustc --version`, the load
//! average), and writes:
//! - `docs/performance.json`: this report's machine and figures, the next report's "previous";
//! - `docs/performance.md`, between `<!-- perf-report:start -->` and `<!-- perf-report:end -->`:
//!   both machines side by side and, per benchmark, each figure with its method, the previous
//!   value and the ratio between them.
//!
//! Those are the only places a benchmark's figure is written: every other page links to
//! docs/performance.md rather than copying a number that the next run would make stale. The
//! hand-written text around the markers stays as it is. Nothing is written unless every input
//! was read and every output rendered.
//!
//! It lives under `benches/`, next to the writer of the format it reads, because DESIGN.md's
//! layout has no `examples/` folder; Cargo.toml declares it as the example `perf_report` with
//! `test = true`, so that `cargo test` runs the tests of the rendering below.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const DOC_MARKERS: (&str, &str) = ("<!-- perf-report:start -->", "<!-- perf-report:end -->");
/// Shown where there is nothing to compare with.
const NONE: &str = "—";

/// `.ci/perf-report` passes what it noted when the benchmarks started.
#[derive(clap::Parser)]
struct Args {
    /// The JSON lines the benchmarks appended.
    #[arg(long)]
    results: PathBuf,
    /// When the benchmarks started (RFC 3339).
    #[arg(long)]
    started: jiff::Timestamp,
    /// The three load averages of /proc/loadavg when the benchmarks started.
    #[arg(long)]
    load_average: String,
    /// `git describe --always --dirty` when the benchmarks started.
    #[arg(long)]
    commit: String,
    /// The machine-readable report: read as the previous one, then replaced by this one.
    #[arg(long, default_value = "docs/performance.json")]
    figures: PathBuf,
    /// The report's page: its part between the markers is replaced.
    #[arg(long, default_value = "docs/performance.md")]
    doc: PathBuf,
}

/// What can stop a report; each names the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
enum ReportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}, line {line}: not a benchmark figure: {source}")]
    Figure { path: PathBuf, line: usize, source: serde_json::Error },
    #[error("{path}: figure {bench}/{key} appears twice (was the results file emptied before the run?)")]
    Duplicate { path: PathBuf, bench: String, key: String },
    #[error("{path}: no figures (did the benchmarks run with CONFERENCELI_BENCH_RESULTS set?)")]
    NoFigures { path: PathBuf },
    #[error("{path}: not a performance report: {source}")]
    Previous { path: PathBuf, source: serde_json::Error },
    #[error("{path}: needs exactly one `{start}` followed by exactly one `{end}`")]
    Markers { path: PathBuf, start: &'static str, end: &'static str },
}

/// One figure, as a benchmark reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Figure {
    bench: String,
    key: String,
    what: String,
    value: f64,
    unit: String,
    better: Better,
    method: String,
}

/// Which way is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Better {
    Lower,
    Higher,
}

/// Where the figures were measured. Text throughout: the first report's machine was described
/// by hand, and a reader compares these, nothing computes with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Machine {
    cpu: String,
    cores: String,
    memory: String,
    kernel: String,
    rustc: String,
}

/// One report: docs/performance.json holds the latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Report {
    /// When the benchmarks ran, e.g. "2026-11-21 11:30 → 11:42 UTC".
    ran: String,
    commit: String,
    machine: Machine,
    load_average_start: String,
    load_average_end: String,
    figures: Vec<Figure>,
}

impl Report {
    fn figure(&self, bench: &str, key: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.bench == bench && f.key == key)
    }
}

fn main() {
    use clap::Parser;
    if let Err(e) = run(&Args::parse()) {
        eprintln!("perf_report: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), ReportError> {
    let figures = parse_results(&args.results, &read(&args.results)?)?;
    let previous = read_previous(&args.figures)?;
    let finished = jiff::Timestamp::now();
    let report = Report {
        ran: format!("{} → {} UTC", args.started.strftime("%Y-%m-%d %H:%M"), finished.strftime("%H:%M")),
        commit: args.commit.clone(),
        machine: this_machine(),
        load_average_start: args.load_average.clone(),
        load_average_end: load_average(),
        figures,
    };
    let json = serde_json::to_string_pretty(&report).expect("a report serialises") + "\n";
    let doc = replace_between(&args.doc, &read(&args.doc)?, DOC_MARKERS, &render_doc(&report, previous.as_ref()))?;
    write_atomically(&args.figures, &json)?;
    write_atomically(&args.doc, &doc)?;
    println!(
        "perf_report: {} figures of {} benchmarks written to {} and {}",
        report.figures.len(),
        by_bench(&report.figures).len(),
        args.doc.display(),
        args.figures.display()
    );
    Ok(())
}

fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Io { path: path.into(), source })
}

/// The previous report, or none when this is the first one.
fn read_previous(path: &Path) -> Result<Option<Report>, ReportError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).map(Some).map_err(|source| ReportError::Previous { path: path.into(), source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReportError::Io { path: path.into(), source }),
    }
}

/// Writes to a temporary file next to `path`, then renames it over `path`: a reader (or an
/// interrupted run) never sees half a file.
fn write_atomically(path: &Path, contents: &str) -> Result<(), ReportError> {
    let temporary = path.with_extension("perf-report.tmp");
    std::fs::write(&temporary, contents)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| ReportError::Io { path: path.into(), source })
}

/// The figures of a results file: one JSON object a line, blank lines ignored, each (bench, key)
/// once.
fn parse_results(path: &Path, text: &str) -> Result<Vec<Figure>, ReportError> {
    let mut figures: Vec<Figure> = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let figure: Figure = serde_json::from_str(line).map_err(|source| ReportError::Figure {
            path: path.into(),
            line: index + 1,
            source,
        })?;
        if figures.iter().any(|f| f.bench == figure.bench && f.key == figure.key) {
            return Err(ReportError::Duplicate { path: path.into(), bench: figure.bench, key: figure.key });
        }
        figures.push(figure);
    }
    if figures.is_empty() {
        return Err(ReportError::NoFigures { path: path.into() });
    }
    Ok(figures)
}

/// `text` with what stands between the `markers` replaced by `content`; the markers stay.
fn replace_between(
    path: &Path,
    text: &str,
    (start, end): (&'static str, &'static str),
    content: &str,
) -> Result<String, ReportError> {
    let markers = || ReportError::Markers { path: path.into(), start, end };
    if text.matches(start).count() != 1 || text.matches(end).count() != 1 {
        return Err(markers());
    }
    let (from, to) = (text.find(start).ok_or_else(markers)? + start.len(), text.find(end).ok_or_else(markers)?);
    if from > to {
        return Err(markers());
    }
    Ok(format!("{}\n{}\n{}", &text[..from], content.trim_end(), &text[to..]))
}

/// A number with three significant digits (whole numbers in full), trailing zeros dropped and
/// thousands separated: 38,800; 210; 14.4; 0.36; 0.0167.
fn format_number(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    let (sign, digits) = text.strip_prefix('-').map_or(("", text), |rest| ("-", rest));
    let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

fn value_with_unit(figure: &Figure) -> String {
    format!("{} {}", format_number(figure.value), figure.unit)
}

/// This value ÷ the previous one, "0.82× better" or "1.30× worse" by the figure's direction, or
/// why there is no ratio.
fn compare(figure: &Figure, previous: Option<&Figure>) -> String {
    let Some(previous) = previous else { return NONE.into() };
    if previous.unit != figure.unit {
        return format!("{NONE} (unit was {})", previous.unit);
    }
    let ratio = match (figure.value, previous.value) {
        (0.0, 0.0) => 1.0,
        (_, 0.0) => return format!("{NONE} (previous 0)"),
        (now, before) => now / before,
    };
    let shown = format!("{ratio:.2}×");
    if shown == "1.00×" {
        return shown;
    }
    let improved = (ratio < 1.0) == (figure.better == Better::Lower);
    format!("{shown} {}", if improved { "better" } else { "worse" })
}

/// A Markdown table cell: a `|` would end the cell, a line break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The benchmarks in the order they first report, each with its figures.
fn by_bench(figures: &[Figure]) -> Vec<(&str, Vec<&Figure>)> {
    let mut benches: Vec<(&str, Vec<&Figure>)> = Vec::new();
    for figure in figures {
        match benches.iter_mut().find(|(bench, _)| *bench == figure.bench) {
            Some((_, group)) => group.push(figure),
            None => benches.push((figure.bench.as_str(), vec![figure])),
        }
    }
    benches
}

/// The machine table's rows for one report: what, and its value.
fn machine_rows(report: &Report) -> [(&'static str, String); 9] {
    [
        ("benchmarks ran", report.ran.clone()),
        ("commit", format!("`{}`", report.commit)),
        ("CPU", report.machine.cpu.clone()),
        ("cores", report.machine.cores.clone()),
        ("memory", report.machine.memory.clone()),
        ("kernel", report.machine.kernel.clone()),
        ("rustc", report.machine.rustc.clone()),
        ("load average at start (1, 5, 15 min)", report.load_average_start.clone()),
        ("load average at end", report.load_average_end.clone()),
    ]
}

/// The generated part of docs/performance.md.
fn render_doc(report: &Report, previous: Option<&Report>) -> String {
    let mut out =
        String::from("<!-- Generated by .ci/perf-report: edits between these markers are overwritten. -->\n\n");
    out.push_str("### Machine\n\n| | this report | previous report |\n| --- | --- | --- |\n");
    let before = previous.map(machine_rows);
    for (i, (name, value)) in machine_rows(report).into_iter().enumerate() {
        let previous_value = before.as_ref().map_or(NONE, |rows| rows[i].1.as_str());
        out.push_str(&format!("| {name} | {} | {} |\n", cell(&value), cell(previous_value)));
    }
    out.push_str(
        "\n### Figures\n\nRatio: this report's value ÷ the previous report's, \"better\" or \"worse\" by the \
         figure's direction; \"—\" where the previous report has no such figure.\n",
    );
    for (bench, figures) in by_bench(&report.figures) {
        out.push_str(&format!(
            "\n#### {bench} (`cargo bench --bench {bench}`)\n\n| what | figure | previous | ratio | method |\n| --- | ---: | ---: | --- | --- |\n"
        ));
        for figure in figures {
            let before = previous.and_then(|p| p.figure(&figure.bench, &figure.key));
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&figure.what),
                value_with_unit(figure),
                before.map_or(NONE.into(), value_with_unit),
                compare(figure, before),
                cell(&figure.method)
            ));
        }
    }
    let dropped: Vec<&Figure> = previous
        .map(|p| p.figures.iter().filter(|f| report.figure(&f.bench, &f.key).is_none()).collect())
        .unwrap_or_default();
    if !dropped.is_empty() {
        out.push_str("\n### In the previous report, not measured this time\n\n| bench | what | previous |\n| --- | --- | ---: |\n");
        for figure in dropped {
            out.push_str(&format!("| {} | {} | {} |\n", figure.bench, cell(&figure.what), value_with_unit(figure)));
        }
    }
    out
}

/// The CPU's name in /proc/cpuinfo: `model name` on x86, `Model` on a Raspberry Pi.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware"].iter().find_map(|wanted| {
        cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == *wanted && !value.trim().is_empty()).then(|| value.trim().to_string())
        })
    })
}

/// MemTotal of /proc/meminfo in GiB.
fn memory_total(meminfo: &str) -> Option<String> {
    let kib: f64 =
        meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.split_whitespace().next()?.parse().ok()?;
    Some(format!("{:.1} GiB", kib / 1024.0 / 1024.0))
}

/// This machine, as far as it tells.
fn this_machine() -> Machine {
    let proc = |file: &str| std::fs::read_to_string(file).unwrap_or_default();
    let unknown = || "unknown".to_string();
    let model = cpu_model(&proc("/proc/cpuinfo")).unwrap_or_else(unknown);
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    Machine {
        cpu: format!("{model} ({})", std::env::consts::ARCH),
        cores: std::thread::available_parallelism().map_or_else(|_| unknown(), |n| n.to_string()),
        memory: memory_total(&proc("/proc/meminfo")).unwrap_or_else(unknown),
        kernel: Some(proc("/proc/sys/kernel/osrelease").trim().to_string())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(unknown),
        rustc: rustc.unwrap_or_else(unknown),
    }
}

/// The 1, 5 and 15 minute load averages now.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(bench: &str, key: &str, value: f64, unit: &str, better: Better) -> Figure {
        Figure {
            bench: bench.into(),
            key: key.into(),
            what: format!("{key} measured"),
            value,
            unit: unit.into(),
            better,
            method: format!("how {key} is measured"),
        }
    }

    fn machine(cpu: &str) -> Machine {
        Machine {
            cpu: cpu.into(),
            cores: "2".into(),
            memory: "23.5 GiB".into(),
            kernel: "6.1.0".into(),
            rustc: "rustc 1.95.0".into(),
        }
    }

    fn report(ran: &str, figures: Vec<Figure>) -> Report {
        Report {
            ran: ran.into(),
            commit: format!("commit-{ran}"),
            machine: machine(&format!("cpu-{ran}")),
            load_average_start: "0.50 0.40 0.30".into(),
            load_average_end: "1.50 1.40 1.30".into(),
            figures,
        }
    }

    #[test]
    fn numbers_have_three_significant_digits_and_separated_thousands() {
        let cases = [
            (0.0, "0"),
            (210.4, "210"),
            (38_800.0, "38,800"),
            (3_633.4, "3,633"),
            (1_234_567.0, "1,234,567"),
            (14.44, "14.4"),
            (6.4, "6.4"),
            (2.0, "2"),
            (0.36, "0.36"),
            (0.2, "0.2"),
            (0.016_666, "0.0167"),
            (9.996, "10"),
            (-1_500.0, "-1,500"),
        ];
        for (value, shown) in cases {
            assert_eq!(format_number(value), shown, "{value}");
        }
    }

    #[test]
    fn ratio_is_new_over_previous_judged_by_direction() {
        let faster = figure("b", "t", 100.0, "ms", Better::Lower);
        let slower_before = figure("b", "t", 200.0, "ms", Better::Lower);
        assert_eq!(compare(&faster, Some(&slower_before)), "0.50× better");
        assert_eq!(compare(&slower_before, Some(&faster)), "2.00× worse");
        let rate = figure("b", "r", 3_000.0, "events/s", Better::Higher);
        let higher_rate_before = figure("b", "r", 4_000.0, "events/s", Better::Higher);
        assert_eq!(compare(&rate, Some(&higher_rate_before)), "0.75× worse");
        assert_eq!(compare(&higher_rate_before, Some(&rate)), "1.33× better");
        let about_the_same = figure("b", "t", 100.4, "ms", Better::Lower);
        assert_eq!(compare(&about_the_same, Some(&faster)), "1.00×");
    }

    #[test]
    fn no_ratio_without_a_comparable_previous_figure() {
        let now = figure("b", "cpu", 0.05, "% of a core", Better::Lower);
        assert_eq!(compare(&now, None), "—");
        assert_eq!(compare(&now, Some(&figure("b", "cpu", 0.0, "% of a core", Better::Lower))), "— (previous 0)");
        let zero = figure("b", "cpu", 0.0, "% of a core", Better::Lower);
        assert_eq!(compare(&zero, Some(&zero)), "1.00×");
        assert_eq!(compare(&now, Some(&figure("b", "cpu", 0.05, "ms", Better::Lower))), "— (unit was ms)");
    }

    #[test]
    fn results_are_json_lines_each_figure_once() {
        let path = Path::new("results.jsonl");
        let line = |key: &str| serde_json::to_string(&figure("watch", key, 1.5, "ms", Better::Lower)).unwrap();
        let text = format!("{}\n\n{}\n", line("a"), line("b"));
        let figures = parse_results(path, &text).unwrap();
        assert_eq!(figures.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(figures[0], figure("watch", "a", 1.5, "ms", Better::Lower));

        let twice = format!("{}\n{}\n", line("a"), line("a"));
        assert!(matches!(parse_results(path, &twice), Err(ReportError::Duplicate { key, .. }) if key == "a"));
        let broken = format!("{}\n{{\"bench\": \"watch\"}}\n", line("a"));
        let error = parse_results(path, &broken).unwrap_err();
        assert!(matches!(error, ReportError::Figure { line: 2, .. }), "{error}");
        let sideways = line("a").replace("\"lower\"", "\"sideways\"");
        assert!(matches!(parse_results(path, &sideways), Err(ReportError::Figure { line: 1, .. })));
        assert!(matches!(parse_results(path, "\n \n"), Err(ReportError::NoFigures { .. })));
    }

    #[test]
    fn the_results_line_of_a_benchmark_reads_as_a_figure() {
        // The line format written by benches/report/mod.rs.
        let line = r#"{"bench":"watch","key":"initial_sync_10k_ms","what":"initial sync","value":210.0,"unit":"ms","better":"lower","method":"one run"}"#;
        let figures = parse_results(Path::new("r"), line).unwrap();
        assert_eq!(figures[0].better, Better::Lower);
        assert_eq!(figures[0].value, 210.0);
    }

    #[test]
    fn markers_keep_the_text_around_them() {
        let path = Path::new("README.md");
        let markers = ("<!-- a -->", "<!-- b -->");
        let text = "# Title\n\nintro\n<!-- a -->\nold table\nmore\n<!-- b -->\n\noutro\n";
        let once = replace_between(path, text, markers, "new table\n").unwrap();
        assert_eq!(once, "# Title\n\nintro\n<!-- a -->\nnew table\n<!-- b -->\n\noutro\n");
        assert_eq!(replace_between(path, &once, markers, "new table\n").unwrap(), once, "idempotent");
    }

    #[test]
    fn missing_reversed_or_repeated_markers_are_refused() {
        let path = Path::new("README.md");
        let markers = ("<!-- a -->", "<!-- b -->");
        for text in [
            "no markers",
            "<!-- a --> only the start",
            "<!-- b --> end before start <!-- a -->",
            "<!-- a --> x <!-- b --> y <!-- a --> z <!-- b -->",
        ] {
            let error = replace_between(path, text, markers, "x").unwrap_err();
            assert!(error.to_string().starts_with("README.md: needs exactly one `<!-- a -->`"), "{error}");
        }
    }

    #[test]
    fn doc_has_a_row_per_figure_with_its_ratio_and_both_runs_in_the_machine_table() {
        let previous = report("before", vec![figure("watch", "sync", 200.0, "ms", Better::Lower)]);
        let mut new = figure("watch", "sync", 210.0, "ms", Better::Lower);
        new.what = "initial sync | `run`".into();
        let now = report("now", vec![new, figure("sse", "rss", 67.26, "MiB", Better::Lower)]);
        let doc = render_doc(&now, Some(&previous));
        assert!(doc.contains("| benchmarks ran | now | before |"), "{doc}");
        assert!(doc.contains("| commit | `commit-now` | `commit-before` |"), "{doc}");
        assert!(doc.contains("| load average at end | 1.50 1.40 1.30 | 1.50 1.40 1.30 |"), "{doc}");
        assert!(
            doc.contains("| initial sync \\| `run` | 210 ms | 200 ms | 1.05× worse | how sync is measured |"),
            "a `|` in a description stays inside its cell: {doc}"
        );
        assert!(doc.contains("| rss measured | 67.3 MiB | — | — | how rss is measured |"), "{doc}");
        let first = render_doc(&now, None);
        assert!(first.contains("| commit | `commit-now` | — |"), "{first}");
    }

    #[test]
    fn doc_groups_figures_by_bench_and_lists_what_was_not_measured_again() {
        let previous = report(
            "before",
            vec![
                figure("watch", "sync", 200.0, "ms", Better::Lower),
                figure("sse", "kiosk", 6.9, "% of a core", Better::Lower),
            ],
        );
        let now = report(
            "now",
            vec![
                figure("watch", "sync", 100.0, "ms", Better::Lower),
                figure("leds", "p50", 0.2, "ms", Better::Lower),
                figure("watch", "rate", 5_000.0, "events/s", Better::Higher),
            ],
        );
        let doc = render_doc(&now, Some(&previous));
        assert!(doc.contains("| CPU | cpu-now | cpu-before |"), "{doc}");
        assert!(doc.contains("| load average at start (1, 5, 15 min) | 0.50 0.40 0.30 | 0.50 0.40 0.30 |"));
        let watch = doc.find("#### watch (`cargo bench --bench watch`)").expect("watch section");
        let leds = doc.find("#### leds (`cargo bench --bench leds`)").expect("leds section");
        assert!(watch < leds, "benches in the order they reported");
        assert!(doc.contains("| sync measured | 100 ms | 200 ms | 0.50× better | how sync is measured |"), "{doc}");
        assert!(doc.contains("| rate measured | 5,000 events/s | — | — | how rate is measured |"), "{doc}");
        let watch_section = &doc[watch..leds];
        assert!(watch_section.contains("rate measured"), "both watch figures under the watch heading");
        let dropped = doc.find("### In the previous report, not measured this time").expect("dropped section");
        assert!(doc[dropped..].contains("| sse | kiosk measured | 6.9 % of a core |"), "{doc}");

        let first = render_doc(&now, None);
        assert!(first.contains("| CPU | cpu-now | — |"));
        assert!(!first.contains("not measured this time"));
    }

    #[test]
    fn cpu_model_from_x86_or_raspberry_pi_cpuinfo() {
        let x86 =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(cpu_model(x86).as_deref(), Some("Intel(R) Xeon(R) Processor"));
        let pi =
            "processor\t: 0\nBogoMIPS\t: 108.00\n\nRevision\t: d04170\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n";
        assert_eq!(cpu_model(pi).as_deref(), Some("Raspberry Pi 5 Model B Rev 1.0"));
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }

    #[test]
    fn memory_total_in_gib() {
        let meminfo = "MemTotal:       24684084 kB\nMemFree:         1000000 kB\n";
        assert_eq!(memory_total(meminfo).as_deref(), Some("23.5 GiB"));
        assert_eq!(memory_total("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn reports_round_trip_through_json() {
        let original = report("now", vec![figure("watch", "sync", 210.0, "ms", Better::Lower)]);
        let text = serde_json::to_string_pretty(&original).unwrap();
        assert!(text.contains("\"better\": \"lower\""));
        assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), original);
    }

    /// A results file, a report page with its markers and nothing else, in a folder of its own.
    fn report_folder(page: &str) -> (tempfile::TempDir, Args) {
        let dir = tempfile::tempdir().unwrap();
        let line =
            |key: &str, value: f64| serde_json::to_string(&figure("watch", key, value, "ms", Better::Lower)).unwrap();
        std::fs::write(
            dir.path().join("results.jsonl"),
            format!("{}\n{}\n", line("sync", 210.0), line("fan_out", 5.5)),
        )
        .unwrap();
        std::fs::write(dir.path().join("performance.md"), page).unwrap();
        let args = Args {
            results: dir.path().join("results.jsonl"),
            started: "2026-12-07T10:00:00Z".parse().unwrap(),
            load_average: "0.50 0.40 0.30".into(),
            commit: "abc1234".into(),
            figures: dir.path().join("performance.json"),
            doc: dir.path().join("performance.md"),
        };
        (dir, args)
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_run_writes_the_report_page_and_its_figures_and_nothing_else() {
        let page = "# Report\n\nmethod\n<!-- perf-report:start -->\nstale table\n<!-- perf-report:end -->\n\n## Measured by hand\n";
        let (dir, args) = report_folder(page);
        run(&args).unwrap();
        assert_eq!(files_in(dir.path()), ["performance.json", "performance.md", "results.jsonl"]);
        let doc = std::fs::read_to_string(&args.doc).unwrap();
        assert!(doc.starts_with("# Report\n\nmethod\n<!-- perf-report:start -->\n"), "{doc}");
        assert!(doc.ends_with("<!-- perf-report:end -->\n\n## Measured by hand\n"), "{doc}");
        assert!(!doc.contains("stale table"), "{doc}");
        assert!(doc.contains("| commit | `abc1234` | — |"), "{doc}");
        assert!(doc.contains("| sync measured | 210 ms | — | — | how sync is measured |"), "{doc}");
        let report = read_previous(&args.figures).unwrap().expect("the figures were written");
        assert_eq!(report.figures.len(), 2);

        // The next run compares against this one.
        run(&args).unwrap();
        let doc = std::fs::read_to_string(&args.doc).unwrap();
        assert!(doc.contains("| sync measured | 210 ms | 210 ms | 1.00× | how sync is measured |"), "{doc}");
        assert_eq!(files_in(dir.path()), ["performance.json", "performance.md", "results.jsonl"]);
    }

    #[test]
    fn a_page_without_its_markers_stops_the_run_before_anything_is_written() {
        let (dir, args) = report_folder("# Report without markers\n");
        let error = run(&args).unwrap_err();
        assert!(matches!(error, ReportError::Markers { .. }), "{error}");
        assert_eq!(files_in(dir.path()), ["performance.md", "results.jsonl"], "no figures written either");
        assert_eq!(std::fs::read_to_string(&args.doc).unwrap(), "# Report without markers\n");
    }

    #[test]
    fn the_committed_figures_live_only_in_the_performance_page() {
        // Every other page links to docs/performance.md instead of copying a figure, which the
        // next run would leave behind, stale or contradicting the report.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let page = read(&root.join("docs/performance.md")).unwrap();
        replace_between(Path::new("docs/performance.md"), &page, DOC_MARKERS, "").expect("the page keeps its markers");
        let report = read_previous(&root.join("docs/performance.json")).unwrap().expect("docs/performance.json exists");
        let mut pages =
            vec![root.join("README.md"), root.join("ARCHITECTURE.md"), root.join("crates/kube-sim/README.md")];
        pages.extend(
            std::fs::read_dir(root.join("docs"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("performance.md")),
        );
        // Small whole numbers (2 watches, 0 % of a core) are not worth telling apart from prose.
        let telling = report.figures.iter().filter(|f| f.value.fract() != 0.0 || f.value.abs() >= 10.0);
        let shown: Vec<String> = telling.map(value_with_unit).collect();
        assert!(shown.len() > 20, "{shown:?}");
        for path in pages {
            let text = read(&path).unwrap();
            assert!(
                !text.contains("<!-- perf-"),
                "{}: the report's markers belong to docs/performance.md",
                path.display()
            );
            for figure in &shown {
                assert!(
                    !text.contains(figure.as_str()),
                    "{} copies the figure \"{figure}\" of docs/performance.md: link to it instead",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn the_committed_report_parses() {
        // docs/performance.json is the next run's "previous report": it must stay readable.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.json");
        let report = read_previous(&path).unwrap().expect("docs/performance.json exists");
        assert!(!report.figures.is_empty());
    }
}
