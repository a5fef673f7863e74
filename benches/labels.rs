//! Label benchmark (`cargo bench --bench labels`): prints a Markdown table.
//!
//! For each label type on 54 mm and 62 mm tape: the time to render the label (fonts, QR code,
//! logo) and compile it into a compressed Brother raster job, per label (p50 and p90 over 200
//! runs), the labels per second that makes on one core, the job's size in bytes (and what its
//! raster lines would take uncompressed, 93 bytes each), and at the end
//! the process's peak resident memory (VmHWM).
//!
//! The headline figures (54 mm) also go to the performance report (`report::record`).

#[path = "report/mod.rs"]
mod report;

use conferenceli::labels::LabelSize;
use conferenceli::labels::layout::{self, Label};
use conferenceli::labels::raster::RasterJob;
use report::Figure;
use std::time::{Duration, Instant};

const RUNS: usize = 200;

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let labels = [
        ("raffle", Label::Raffle { name: "Zoë Müller".into(), header: "KubeCon EU".into(), code: "bakoru".into() }),
        (
            "raffle, long name",
            Label::Raffle {
                name: "Maria Magdalena Anastasia von Hohenzollern-Sigmaringen".into(),
                header: "KubeCon + CloudNativeCon Europe".into(),
                code: "bakoru".into(),
            },
        ),
        ("APPUiO voucher", Label::Appuio { name: "Łukasz Żółć".into(), code: "APPUIO-2026".into() }),
        ("Servala voucher", Label::Servala { name: "Ελένη Παπαδοπούλου".into(), code: "SERVALA-2026".into() }),
    ];
    println!("| label | tape | render + encode p50 | p90 | labels/s (1 core) | job bytes | uncompressed lines |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    // p50 in ms of each label on 54 mm tape, the booth's default.
    let mut p50s_54mm = Vec::new();
    for size in [LabelSize::Mm54, LabelSize::Mm62] {
        for (name, label) in &labels {
            let mut times = Vec::with_capacity(RUNS);
            let (mut bytes, mut raw) = (0, 0);
            for _ in 0..RUNS {
                let started = Instant::now();
                let image = layout::render(label, size);
                let job = RasterJob::compile(std::slice::from_ref(&image), size).expect("compiles");
                times.push(started.elapsed());
                bytes = job.bytes().len();
                raw = image.height() as usize * 93;
            }
            times.sort();
            let p50 = percentile(&times, 0.5);
            if size == LabelSize::Mm54 {
                p50s_54mm.push((*name, p50.as_secs_f64() * 1e3));
            }
            println!(
                "| {name} | {} mm | {:.2} ms | {:.2} ms | {:.0} | {bytes} | {raw} |",
                size.width_mm(),
                p50.as_secs_f64() * 1e3,
                percentile(&times, 0.9).as_secs_f64() * 1e3,
                1.0 / p50.as_secs_f64()
            );
        }
    }
    println!();
    let peak_kib = proc_status_kib("VmHWM:");
    println!("Peak resident memory of the benchmark process (VmHWM): {} MiB", peak_kib / 1024);

    let p50_of = |name| p50s_54mm.iter().find(|(n, _)| *n == name).map(|(_, ms)| *ms).expect("measured");
    let method = format!(
        "`layout::render` then `RasterJob::compile` on 54 mm tape in the bench process (one thread), {RUNS} runs; median"
    );
    report::record(
        "labels",
        &[
            Figure {
                key: "raffle_54mm_p50_ms",
                what: "render + raster-encode a raffle ticket (54 mm)".into(),
                value: p50_of("raffle"),
                unit: "ms",
                higher_is_better: false,
                method: method.clone(),
            },
            Figure {
                key: "voucher_54mm_p50_ms",
                what: "render + raster-encode a voucher (54 mm), the slower of APPUiO and Servala".into(),
                value: p50_of("APPUiO voucher").max(p50_of("Servala voucher")),
                unit: "ms",
                higher_is_better: false,
                method,
            },
            Figure {
                key: "peak_rss_mib",
                what: "peak resident memory rendering and encoding labels".into(),
                value: peak_kib as f64 / 1024.0,
                unit: "MiB",
                higher_is_better: false,
                method: format!(
                    "VmHWM of the bench process after rendering and encoding all four labels {RUNS} times on 54 and 62 mm tape"
                ),
            },
        ],
    );
}
