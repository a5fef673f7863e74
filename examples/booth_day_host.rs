//! The app of the booth-day scenario (`tests/it/booth_day.rs`): `conferenceli demo`, the same
//! code the binary runs, except that its BlinkStick sits on a simulated USB port. The scenario
//! unplugs and replugs the stick, and a hidraw node only answers the ioctls of a kernel device,
//! which CI machines do not have; everything else (the simulated API, listeners, Odoo, printer)
//! is reached over the network exactly as in `demo`.
//!
//! The port is a directory, `BOOTH_DAY_USB`: the stick is plugged in while `<dir>/plugged`
//! exists, and every feature report it receives is appended to `<dir>/reports` as one line of
//! hex, the bytes a real BlinkStick would get.
//!
//! Also an example of embedding the app with hardware of one's own (`app::Devices`).

use conferenceli::app::Devices;
use conferenceli::config::{self, Command};
use conferenceli::leds::blinkstick::HidPort;
use conferenceli::leds::driver::LedError;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The system allocator, counting the bytes in use, so the scenario can tell memory the process
/// holds on to (a leak) from memory the allocator keeps after it was freed.
struct CountingAllocator;

static HEAP_IN_USE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let pointer = unsafe { std::alloc::System.alloc(layout) };
        if !pointer.is_null() {
            HEAP_IN_USE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(pointer, layout) };
        HEAP_IN_USE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { std::alloc::System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            HEAP_IN_USE.fetch_add(new_size, std::sync::atomic::Ordering::Relaxed);
            HEAP_IN_USE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Writes the heap in use to `<dir>/heap` twice a second.
fn report_heap(dir: PathBuf) {
    std::thread::spawn(move || {
        loop {
            let bytes = HEAP_IN_USE.load(std::sync::atomic::Ordering::Relaxed);
            let _ = std::fs::write(dir.join("heap.tmp"), bytes.to_string())
                .and_then(|()| std::fs::rename(dir.join("heap.tmp"), dir.join("heap")));
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    });
}

/// A USB port with a BlinkStick that a test can pull out.
struct SimulatedUsbPort {
    dir: PathBuf,
    open: bool,
}

impl SimulatedUsbPort {
    fn plugged(&self) -> bool {
        self.dir.join("plugged").exists()
    }
}

impl HidPort for SimulatedUsbPort {
    fn open(&mut self) -> Result<(), LedError> {
        self.open = self.plugged();
        if self.open { Ok(()) } else { Err(LedError::Unavailable("no BlinkStick on the simulated USB port".into())) }
    }

    fn send_feature_report(&mut self, report: &[u8]) -> Result<(), LedError> {
        // Pulled out since it was opened: the kernel answers writes to the old node with ENODEV.
        if !self.open || !self.plugged() {
            return Err(LedError::Io("No such device (os error 19)".into()));
        }
        let mut reports = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("reports"))
            .map_err(|e| LedError::Io(e.to_string()))?;
        writeln!(reports, "{}", hex::encode(report)).map_err(|e| LedError::Io(e.to_string()))
    }

    fn close(&mut self) {
        self.open = false;
    }
}

fn main() -> ExitCode {
    let Some(dir) = std::env::var_os("BOOTH_DAY_USB").map(PathBuf::from) else {
        eprintln!("booth_day_host: BOOTH_DAY_USB must name the simulated USB port's directory");
        return ExitCode::from(2);
    };
    let cli = config::parse_or_exit();
    conferenceli::http::install_crypto_provider();
    conferenceli::telemetry::init(&cli.log);
    let Command::Demo(args) = cli.command else {
        eprintln!("booth_day_host: only `demo` runs here");
        return ExitCode::from(2);
    };
    report_heap(dir.clone());
    let devices = Devices { blinkstick: Some(Box::new(SimulatedUsbPort { dir, open: false })) };
    let result = match tokio::runtime::Runtime::new() {
        Ok(runtime) => {
            runtime.block_on(conferenceli::commands::demo_with_devices(args, devices)).map_err(|e| e.to_string())
        }
        Err(error) => Err(format!("cannot start the async runtime: {error}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("booth_day_host: {message}");
            ExitCode::FAILURE
        }
    }
}
