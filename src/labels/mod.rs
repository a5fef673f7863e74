//! Label printing on a Brother QL-820NWB: the booth's labels (raffle ticket, APPUiO and Servala
//! vouchers) rendered natively to 1-bit images at 300 dpi, compiled into Brother's raster command
//! stream with the `brother_ql` crate, and sent through a transport (TCP port 9100, the kernel's USB
//! printer device, or a directory) by a queue that prints every job once, in order.
//!
//! The parts, from pure to I/O:
//! - [`fonts`], `qr`, [`render`]: glyphs, QR codes and logos drawn onto a 1-bit canvas;
//! - [`layout`]: the label types, each a stack of blocks fitted to the tape's printable width;
//! - [`raster`]: the `brother_ql` job plus what the crate lacks (PackBits compression) and a
//!   decoder of the command stream used to check the job against Brother's reference;
//! - [`status`]: the printer's 32-byte status reply turned into problems with clear messages;
//! - [`transport`]: where the bytes go (`tcp://`, `usb://`, `file://`), behind [`transport::PrinterTransport`];
//! - [`queue`]: the print queue over a [`queue::JobStore`] (the Lead resource in the app), with its
//!   once-only contract.
//!
//! It reports the printer's health to the Booth.
//!
//! May call: `crate::backoff`, `crate::booth`, `crate::tasks`.

pub mod fonts;
pub mod layout;
pub(crate) mod qr;
pub mod queue;
pub mod raster;
pub mod render;
pub mod snmp;
pub mod status;
pub mod transport;

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use layout::Label;

/// Width of the endless label tape loaded in the printer (`LABEL_SIZE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LabelSize {
    /// 54 mm (DK-N55224), 590 printable dots.
    #[default]
    Mm54,
    /// 62 mm (DK-22205 and friends), 696 printable dots.
    Mm62,
}

impl LabelSize {
    /// The `brother_ql` media for this tape.
    pub(crate) fn media(self) -> brother_ql::media::Media {
        match self {
            LabelSize::Mm54 => brother_ql::media::Media::C54,
            LabelSize::Mm62 => brother_ql::media::Media::C62,
        }
    }

    pub fn width_mm(self) -> u8 {
        self.media().width_mm()
    }

    /// Printable dots across the tape at 300 dpi: the width of every rendered label.
    pub fn printable_dots(self) -> u32 {
        self.media().width_dots()
    }
}

impl std::str::FromStr for LabelSize {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim().trim_end_matches("mm") {
            "54" => Ok(LabelSize::Mm54),
            "62" => Ok(LabelSize::Mm62),
            _ => Err("expected 54 or 62 (the width of the endless tape in mm)".into()),
        }
    }
}

impl std::fmt::Display for LabelSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} mm", self.width_mm())
    }
}

/// The printer models whose raster dialect this module speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrinterModel {
    #[value(name = "QL-820NWB")]
    Ql820nwb,
    #[value(name = "QL-810W")]
    Ql810w,
    #[value(name = "QL-800")]
    Ql800,
}

/// Printer settings shared by `run`, `demo` and `label --print`.
#[derive(Debug, Clone, Args)]
pub struct PrinterArgs {
    /// Where labels go: `tcp://host[:9100]`, `usb:///dev/usb/lp0` or `file:///dir` (demo: a temporary directory).
    #[arg(long, env = "PRINTER_URL", value_parser = transport::PrinterUrl::parse)]
    pub(crate) printer_url: Option<transport::PrinterUrl>,
    /// The printer's IP address (upstream setting): the same as PRINTER_URL=tcp://IP:9100.
    #[arg(long, env = "PRINTER_IP", value_parser = parse_printer_ip)]
    pub(crate) printer_ip: Option<std::net::IpAddr>,
    /// The printer model (QL-800 series raster dialect).
    #[arg(long, env = "PRINTER_MODEL", value_enum, default_value = "QL-820NWB")]
    pub(crate) printer_model: PrinterModel,
    /// Width of the endless label tape in mm: 54 or 62.
    #[arg(long, env = "LABEL_SIZE", default_value = "54", value_parser = clap::value_parser!(LabelSize))]
    pub label_size: LabelSize,
}

fn parse_printer_ip(value: &str) -> Result<std::net::IpAddr, String> {
    value.parse().map_err(|_| "expected an IP address such as 192.168.1.50".to_string())
}

impl PrinterArgs {
    /// The printer to use: PRINTER_URL wins over PRINTER_IP; `demo_dir` is the fallback of `demo`.
    pub(crate) fn resolve(&self, demo_dir: Option<PathBuf>) -> Option<transport::PrinterUrl> {
        if let Some(url) = &self.printer_url {
            return Some(url.clone());
        }
        if let Some(ip) = self.printer_ip {
            return Some(transport::PrinterUrl::Tcp(std::net::SocketAddr::new(ip, 9100).to_string()));
        }
        demo_dir.map(transport::PrinterUrl::File)
    }
}

/// Which label `conferenceli label` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LabelType {
    Raffle,
    Appuio,
    Servala,
}

/// `conferenceli label`: renders one label to a PNG and/or prints it.
#[derive(Debug, Args)]
pub struct LabelArgs {
    /// The label: raffle ticket, APPUiO voucher or Servala voucher.
    #[arg(long = "type", env = "LABEL_TYPE", value_enum, default_value = "raffle")]
    pub(crate) label_type: LabelType,
    /// The visitor's name.
    #[arg(long, env = "LABEL_NAME", default_value = "")]
    pub name: String,
    /// Raffle tickets: the header line (usually the event).
    #[arg(long, env = "LABEL_HEADER", default_value = "")]
    pub header: String,
    /// The code: the raffle code, the APPUiO voucher code or the Servala voucher code.
    #[arg(long, env = "LABEL_CODE", default_value = "")]
    pub code: String,
    /// Write the rendered label as a PNG here.
    #[arg(long, env = "LABEL_OUT")]
    pub out: Option<PathBuf>,
    /// Print the label on this printer (tcp://, usb:// or file://).
    #[arg(long = "print", env = "LABEL_PRINT_URL", value_parser = transport::PrinterUrl::parse)]
    pub(crate) print: Option<transport::PrinterUrl>,
    /// Width of the endless label tape in mm: 54 or 62.
    #[arg(long, env = "LABEL_SIZE", default_value = "54", value_parser = clap::value_parser!(LabelSize))]
    pub label_size: LabelSize,
}

impl LabelArgs {
    pub fn label(&self) -> Label {
        match self.label_type {
            LabelType::Raffle => {
                Label::Raffle { name: self.name.clone(), header: self.header.clone(), code: self.code.clone() }
            }
            LabelType::Appuio => Label::Appuio { name: self.name.clone(), code: self.code.clone() },
            LabelType::Servala => Label::Servala { name: self.name.clone(), code: self.code.clone() },
        }
    }
}

/// What the booth knows about its printer right now: shown in `/readyz` and the Booth status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterHealth {
    pub healthy: bool,
    /// A CamelCase reason (`Ready`, `NoMedia`, `Offline`, ...).
    pub reason: String,
    pub message: String,
}

/// The latest [`PrinterHealth`], shared between the queue and the web handlers.
#[derive(Clone)]
pub struct PrinterHealthHandle(Arc<Mutex<PrinterHealth>>);

impl Default for PrinterHealthHandle {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(PrinterHealth {
            healthy: false,
            reason: "NotConfigured".into(),
            message: "no printer configured (PRINTER_URL or PRINTER_IP)".into(),
        })))
    }
}

impl PrinterHealthHandle {
    pub fn get(&self) -> PrinterHealth {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stores `health`; returns whether it changed (so only transitions are reported further).
    pub fn set(&self, health: PrinterHealth) -> bool {
        let mut current = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let changed = *current != health;
        *current = health;
        changed
    }

    /// One line for `/readyz`.
    pub(crate) fn summary(&self) -> String {
        let health = self.get();
        if health.healthy { "ready".into() } else { format!("{}: {}", health.reason, health.message) }
    }
}

/// What the rest of the app uses of label printing: the tape, the printer's health, and the
/// queue's wake-up (new job, reprint).
#[derive(Clone)]
pub struct LabelService {
    pub size: LabelSize,
    pub model: PrinterModel,
    pub printer: Option<transport::PrinterUrl>,
    pub health: PrinterHealthHandle,
    pub waker: queue::QueueWaker,
    pub metrics: queue::QueueMetrics,
}

impl LabelService {
    pub fn new(args: &PrinterArgs) -> Self {
        Self {
            size: args.label_size,
            model: args.printer_model,
            printer: args.resolve(None),
            health: PrinterHealthHandle::default(),
            waker: queue::QueueWaker::default(),
            metrics: queue::QueueMetrics::default(),
        }
    }

    /// The configured printer, logged once where the queue starts.
    fn announce(&self) -> Option<&transport::PrinterUrl> {
        let url = self.printer.as_ref();
        match url {
            Some(url) => tracing::info!(printer = %url, model = ?self.model, tape = %self.size, "label printer"),
            None => tracing::info!("no label printer configured (PRINTER_URL or PRINTER_IP)"),
        }
        url
    }

    /// A health sink that keeps [`Self::health`] and reports transitions as the Booth's `Printer`
    /// condition.
    pub(crate) fn health_sink(&self, booth: crate::booth::BoothHandle) -> queue::HealthSink {
        let handle = self.health.clone();
        std::sync::Arc::new(move |health: PrinterHealth| {
            if handle.set(health.clone()) {
                if health.healthy {
                    tracing::info!(reason = health.reason, "printer: {}", health.message);
                } else {
                    tracing::warn!(reason = health.reason, "printer: {}", health.message);
                }
                booth.report_health(crate::booth::BoothPart::Printer, health.healthy, &health.reason, &health.message);
            }
        })
    }

    /// Starts the print queue over `store` on the configured printer (nothing without a
    /// printer); it ends on the token of `tasks`, between jobs.
    pub(crate) fn start_queue<S: queue::JobStore>(
        &self,
        store: std::sync::Arc<S>,
        booth: crate::booth::BoothHandle,
        tasks: &crate::tasks::Tasks,
    ) {
        let Some(url) = self.announce() else { return };
        let printer = std::sync::Arc::new(transport::open(url, transport::Timeouts::default()));
        let config = queue::QueueConfig::new(self.size);
        let sink = self.health_sink(booth);
        let (waker, metrics) = (self.waker.clone(), self.metrics.clone());
        let shutdown = tasks.token().clone();
        tasks.spawn("print queue", queue::run(store, printer, config, waker, sink, metrics, shutdown));
    }
}

/// Why a label could not be rendered, compiled or printed from the command line.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error(transparent)]
    Raster(#[from] raster::RasterError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot encode the PNG: {0}")]
    Png(#[from] image::ImageError),
    #[error(transparent)]
    Send(#[from] transport::SendError),
    #[error("nothing to do: give --out FILE.png and/or --print PRINTER_URL")]
    NothingToDo,
}

/// Encodes a rendered label as PNG bytes (previews, file transport).
pub(crate) fn png_bytes(image: &image::GrayImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// `conferenceli label`: renders, writes the preview, and prints when asked.
pub(crate) async fn run_label_command(args: LabelArgs) -> Result<(), LabelError> {
    if args.out.is_none() && args.print.is_none() {
        return Err(LabelError::NothingToDo);
    }
    let label = args.label();
    let image = layout::render(&label, args.label_size);
    if let Some(path) = &args.out {
        std::fs::write(path, png_bytes(&image)?).map_err(|source| LabelError::Write { path: path.clone(), source })?;
    }
    if let Some(url) = &args.print {
        let job = raster::RasterJob::compile(std::slice::from_ref(&image), args.label_size)?;
        use transport::PrinterTransport;
        let transport = transport::open(url, transport::Timeouts::default());
        let delivery = transport.send(&job, "cli").await?;
        tracing::info!(?delivery, printer = %url, "label sent");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The printer's flags on their own (the whole command line is `config`'s to test).
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        printer: PrinterArgs,
    }

    fn printer_args(extra: &[&str]) -> PrinterArgs {
        let mut args = vec!["conferenceli"];
        args.extend_from_slice(extra);
        Flags::try_parse_from(args).unwrap().printer
    }

    #[test]
    fn printer_settings_resolve_with_the_upstream_printer_ip() {
        let defaults = printer_args(&[]);
        assert_eq!((defaults.label_size, defaults.printer_model), (LabelSize::Mm54, PrinterModel::Ql820nwb));
        assert_eq!(defaults.resolve(None), None);
        let demo = defaults.resolve(Some("/tmp/x".into()));
        assert_eq!(demo, Some(transport::PrinterUrl::File("/tmp/x".into())));
        let ip = printer_args(&["--printer-ip", "192.168.1.50", "--label-size", "62"]);
        assert_eq!(ip.resolve(None), Some(transport::PrinterUrl::Tcp("192.168.1.50:9100".into())));
        assert_eq!(ip.label_size, LabelSize::Mm62);
        let both = printer_args(&["--printer-ip", "192.168.1.50", "--printer-url", "usb:///dev/usb/lp0"]);
        assert_eq!(both.resolve(None), Some(transport::PrinterUrl::Usb("/dev/usb/lp0".into())));
    }

    #[test]
    fn the_printer_health_reports_only_transitions() {
        let handle = PrinterHealthHandle::default();
        assert!(handle.summary().starts_with("NotConfigured"));
        let ready = PrinterHealth { healthy: true, reason: "Ready".into(), message: "ready".into() };
        assert!(handle.set(ready.clone()));
        assert!(!handle.set(ready));
        assert_eq!(handle.summary(), "ready");
    }
}
