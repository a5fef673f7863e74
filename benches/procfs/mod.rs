//! Readings of another process from `/proc`, for the benchmarks that measure the release binary
//! from outside (`sse` for `conferenceli run`, `leds` for `conferenceli blinkt`): resident memory
//! from `/proc/<pid>/status` and CPU time (`utime + stime`) from `/proc/<pid>/stat`, over an idle
//! window whose length `BENCH_IDLE_SECONDS` sets.
//!
//! Included with `#[path = "procfs/mod.rs"] mod procfs;` (a folder, so that Cargo does not take
//! it for a benchmark of its own), next to `mod report;`, whose figures [`Idle::figures`] makes.

use crate::report::Figure;
use std::time::Duration;

/// Idle window when `BENCH_IDLE_SECONDS` is not set: short enough for the whole report to run in
/// a few minutes, long enough that one 10 ms CPU tick is 0.05 % of a core.
const DEFAULT_IDLE_SECONDS: u64 = 20;

/// A child process of a benchmark, killed and reaped when the benchmark ends however it ends: a
/// benchmark that panics would otherwise leave `conferenceli` (or Chromium) running.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of `/proc/<pid>/status` given in kB (`VmRSS:`, `VmHWM:`), 0 when the process is gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks, and its process group.
pub fn cpu_ticks_and_group(pid: u32) -> Option<(u64, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces: fields 5,
    // 14 and 15 of the man page (pgrp, utime, stime) are 2, 11 and 12 here.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let group = rest.get(2)?.parse().ok()?;
    let ticks = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some((ticks, group))
}

/// `CLK_TCK`: the unit of utime and stime (100 on every Linux this runs on; asked, not assumed).
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

/// `ticks` of CPU time spent over `over`, as a percentage of one core.
pub fn cpu_percent(ticks: u64, over: Duration) -> f64 {
    ticks as f64 / clock_ticks_per_second() as f64 / over.as_secs_f64() * 100.0
}

/// The idle window: `BENCH_IDLE_SECONDS`, or [`DEFAULT_IDLE_SECONDS`].
pub fn idle_window() -> Duration {
    let seconds = std::env::var("BENCH_IDLE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_IDLE_SECONDS);
    Duration::from_secs(seconds)
}

/// What a process used while left alone.
pub struct Idle {
    /// CPU time over the window as a percentage of one core.
    pub cpu_percent: f64,
    /// The CPU ticks behind it: 0 ticks means "below one tick per window", not "exactly zero".
    pub ticks: u64,
    /// Resident memory (VmRSS) at the end of the window.
    pub rss_kib: u64,
}

impl Idle {
    /// The report's two figures of an idle process, `who` (e.g. "`conferenceli run`"): CPU
    /// (`cpu_key`) and resident memory (`rss_key`); `method` says how the window was set up.
    pub fn figures(&self, who: &str, cpu_key: &'static str, rss_key: &'static str, method: &str) -> [Figure; 2] {
        let method = format!("{method}: {} ticks", self.ticks);
        [
            Figure {
                key: cpu_key,
                what: format!("{who} idle"),
                value: self.cpu_percent,
                unit: "% of a core",
                higher_is_better: false,
                method: method.clone(),
            },
            Figure {
                key: rss_key,
                what: format!("resident memory of idle {who}"),
                value: self.rss_kib as f64 / 1024.0,
                unit: "MiB",
                higher_is_better: false,
                method: format!("{method}; VmRSS at the end of the window"),
            },
        ]
    }
}

/// Leaves process `pid` alone for `window` and reads its CPU time and resident memory.
///
/// Panics when the process is gone: an idle figure of a dead process would be a lie.
pub async fn measure_idle(pid: u32, window: Duration) -> Idle {
    let ticks_of = |pid| cpu_ticks_and_group(pid).unwrap_or_else(|| panic!("process {pid} is gone")).0;
    let before = ticks_of(pid);
    let started = std::time::Instant::now();
    tokio::time::sleep(window).await;
    let ticks = ticks_of(pid) - before;
    Idle { cpu_percent: cpu_percent(ticks, started.elapsed()), ticks, rss_kib: status_kib(pid, "VmRSS:") }
}
