//! Where raster jobs go: the printer's raw TCP port (`tcp://host[:9100]`), the kernel's USB
//! printer device (`usb:///dev/usb/lp0`) or a directory (`file:///dir`: the job and a PNG
//! decoded back from it, the default of `demo`).
//!
//! Every transport sends a job in two steps, so the queue can tell "nothing was sent" (retry
//! freely) from "bytes left" (never resend on its own): [`PrinterTransport::connect`] reaches the
//! printer and reads its status where the transport can (wrong media, no labels, cover open...
//! refuse the job before any of it is sent); [`PrinterTransport::transmit`] sends the job and
//! waits for the printer's confirmation.
//!
//! TCP: Brother's QL-820NWB does not answer `ESC i S` on port 9100 (its reference shows no status
//! in the network flow); it gives the same 32 bytes over SNMP ([`super::snmp`]). We ask both ways
//! at once and take the first answer; with neither within the status timeout the status is
//! "unknown", not "offline". After the job we half-close the connection; the printer reading up to our
//! end and closing its side, or reporting "printing completed" for every page, confirms the job.
//! Anything else after job bytes left is [`SendError::Unconfirmed`].
//!
//! May call: nothing else of the crate.

use super::LabelSize;
use super::raster::RasterJob;
use super::status::{self, PrinterStatus, Problem, StatusKind};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A printer address (`PRINTER_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterUrl {
    /// `host:port` of the raw print port.
    Tcp(String),
    /// A kernel USB printer device such as `/dev/usb/lp0`.
    Usb(PathBuf),
    /// A directory that receives jobs and previews.
    File(PathBuf),
}

impl PrinterUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        if let Some(rest) = value.strip_prefix("tcp://") {
            let host = rest.trim_end_matches('/');
            if host.is_empty() || host.contains('/') {
                return Err("expected tcp://host[:port]".into());
            }
            let with_port = if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
                host.to_string()
            } else {
                format!("{host}:9100")
            };
            return Ok(PrinterUrl::Tcp(with_port));
        }
        if let Some(path) = value.strip_prefix("usb://").filter(|p| p.starts_with('/')) {
            return Ok(PrinterUrl::Usb(PathBuf::from(path)));
        }
        if let Some(path) = value.strip_prefix("file://").filter(|p| p.starts_with('/')) {
            return Ok(PrinterUrl::File(PathBuf::from(path)));
        }
        Err("expected tcp://host[:9100], usb:///dev/usb/lp0 or file:///directory".into())
    }
}

impl std::fmt::Display for PrinterUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrinterUrl::Tcp(addr) => write!(f, "tcp://{addr}"),
            PrinterUrl::Usb(path) => write!(f, "usb://{}", path.display()),
            PrinterUrl::File(path) => write!(f, "file://{}", path.display()),
        }
    }
}

/// How long each step may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// Writing the whole job (the printer reads as it prints).
    pub write: Duration,
    /// Waiting for a status reply before treating the status as unknown.
    pub status: Duration,
    /// Waiting for the printer to confirm the job once it is sent.
    pub confirm: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            write: Duration::from_secs(20),
            status: Duration::from_secs(2),
            confirm: Duration::from_secs(30),
        }
    }
}

/// How a job was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The printer confirmed it.
    Confirmed,
    /// Written where the transport writes (a file, the kernel's device); nothing to read back.
    Written,
}

/// Why a job was not (known to be) printed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The printer cannot be reached; nothing of the job was sent.
    #[error("printer {printer} unreachable: {message}")]
    Offline { printer: String, message: String },
    /// The printer's status says it cannot print now; nothing of the job was sent.
    #[error("printer not ready: {}", status::describe(.0))]
    NotReady(Vec<Problem>),
    /// The printer reported an error while printing: the job did not complete.
    #[error("printing failed: {}", status::describe(.0))]
    PrintFailed(Vec<Problem>),
    /// Job bytes left but no confirmation came: the label may or may not have printed.
    #[error("sent to the printer but not confirmed ({0}): it may have printed; reprint if it did not")]
    Unconfirmed(String),
}

impl SendError {
    /// Whether the job is known not to have printed, so sending it again cannot print it twice.
    pub fn safe_to_retry(&self) -> bool {
        !matches!(self, SendError::Unconfirmed(_))
    }

    /// A CamelCase reason for health conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            SendError::Offline { .. } => "Offline",
            SendError::NotReady(problems) | SendError::PrintFailed(problems) => {
                problems.first().map_or("PrinterError", Problem::reason)
            }
            SendError::Unconfirmed(_) => "Unconfirmed",
        }
    }
}

/// A printer reached and ready for a job.
pub struct Session {
    link: Link,
    /// The status read while connecting (`None`: this transport or printer does not report one).
    pub status: Option<PrinterStatus>,
}

enum Link {
    Tcp(TcpStream),
    Usb(PathBuf),
    File(PathBuf),
}

/// The two steps of sending a job; see the module documentation.
pub trait PrinterTransport: Send + Sync + 'static {
    /// Reaches the printer and checks its status for `size` tape; sends nothing of a job.
    fn connect(&self, size: LabelSize) -> impl Future<Output = Result<Session, SendError>> + Send;
    /// Sends `job` (named `name` where the transport keeps names) and waits for its confirmation.
    fn transmit(
        &self,
        session: Session,
        job: &RasterJob,
        name: &str,
    ) -> impl Future<Output = Result<Delivery, SendError>> + Send;

    /// Both steps.
    fn send(&self, job: &RasterJob, name: &str) -> impl Future<Output = Result<Delivery, SendError>> + Send {
        async move {
            let session = self.connect(job.size()).await?;
            self.transmit(session, job, name).await
        }
    }
}

/// The transport for a URL.
#[derive(Debug, Clone)]
pub struct Printer {
    url: PrinterUrl,
    timeouts: Timeouts,
    /// Where a `tcp://` printer's SNMP agent listens.
    snmp_port: u16,
}

/// Opens the transport of `url` (nothing is connected until a job or probe).
pub fn open(url: &PrinterUrl, timeouts: Timeouts) -> Printer {
    Printer { url: url.clone(), timeouts, snmp_port: super::snmp::PORT }
}

/// Invalidate, initialise, status request: what precedes reading a status.
fn status_request() -> Vec<u8> {
    let mut bytes = vec![0u8; 400];
    bytes.extend([0x1b, b'@', 0x1b, b'i', b'S']);
    bytes
}

impl Printer {
    pub fn url(&self) -> &PrinterUrl {
        &self.url
    }

    #[cfg(any(test, feature = "test-support"))]
    /// Asks a `tcp://` printer's SNMP agent on `port` instead of 161.
    pub fn with_snmp_port(mut self, port: u16) -> Self {
        self.snmp_port = port;
        self
    }

    fn offline(&self, message: impl std::fmt::Display) -> SendError {
        SendError::Offline { printer: self.url.to_string(), message: message.to_string() }
    }

    async fn connect_tcp(&self, addr: &str, size: LabelSize) -> Result<Session, SendError> {
        let mut stream = tokio::time::timeout(self.timeouts.connect, TcpStream::connect(addr))
            .await
            .map_err(|_| self.offline(format!("no connection within {:?}", self.timeouts.connect)))?
            .map_err(|e| self.offline(e))?;
        let _ = stream.set_nodelay(true);
        tokio::time::timeout(self.timeouts.write, stream.write_all(&status_request()))
            .await
            .map_err(|_| self.offline("the printer does not take data"))?
            .map_err(|e| self.offline(e))?;
        let reply = self.status_reply(&mut stream, addr).await?;
        let status = match reply {
            Some(reply) => Some(status::parse_status(&reply).map_err(|e| self.offline(e))?),
            None => None,
        };
        check(status, size)?;
        Ok(Session { link: Link::Tcp(stream), status })
    }

    /// The status reply on the connection or, as the QL-820NWB gives it, over SNMP: whichever
    /// answers first within the status timeout; `None` when neither does.
    async fn status_reply(&self, stream: &mut TcpStream, addr: &str) -> Result<Option<Vec<u8>>, SendError> {
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host).trim_start_matches('[').trim_end_matches(']');
        let snmp = super::snmp::query_status(host, self.snmp_port, self.timeouts.status);
        let tcp = tokio::time::timeout(self.timeouts.status, async {
            let mut reply = [0u8; 32];
            stream.read_exact(&mut reply).await.map(|_| reply.to_vec())
        });
        tokio::pin!(snmp, tcp);
        let mut snmp_pending = true;
        loop {
            tokio::select! {
                read = &mut tcp => return match read {
                    Ok(Ok(reply)) => Ok(Some(reply)),
                    Ok(Err(e)) => Err(self.offline(format!("the connection closed before the status reply: {e}"))),
                    // No reply on the connection: the QL-820NWB answers over SNMP only, if at all.
                    Err(_) if snmp_pending => Ok(snmp.await),
                    Err(_) => Ok(None),
                },
                answer = &mut snmp, if snmp_pending => {
                    snmp_pending = false;
                    if answer.is_some() {
                        return Ok(answer);
                    }
                }
            }
        }
    }

    async fn transmit_tcp(&self, mut stream: TcpStream, job: &RasterJob) -> Result<Delivery, SendError> {
        let bytes = job.bytes();
        let mut written = 0;
        let deadline = tokio::time::Instant::now() + self.timeouts.write;
        while written < bytes.len() {
            let end = (written + 16 * 1024).min(bytes.len());
            match tokio::time::timeout_at(deadline, stream.write(&bytes[written..end])).await {
                Ok(Ok(n)) if n > 0 => written += n,
                failure => {
                    let why = match failure {
                        Err(_) => format!("the printer stopped taking data after {written} of {} bytes", bytes.len()),
                        Ok(Err(e)) => format!("{e} after {written} of {} bytes", bytes.len()),
                        Ok(Ok(_)) => format!("the connection closed after {written} of {} bytes", bytes.len()),
                    };
                    return Err(if written == 0 { self.offline(why) } else { SendError::Unconfirmed(why) });
                }
            }
        }
        stream.shutdown().await.map_err(|e| SendError::Unconfirmed(format!("closing the connection: {e}")))?;
        confirm_tcp(&mut stream, job.pages(), self.timeouts.confirm).await
    }

    async fn connect_usb(&self, path: &std::path::Path, size: LabelSize) -> Result<Session, SendError> {
        let device = path.to_path_buf();
        let status = tokio::task::spawn_blocking(move || {
            use brother_ql::connection::{KernelConnection, PrinterConnection};
            let mut connection = KernelConnection::open(&device).map_err(|e| e.to_string())?;
            connection.get_status().map(|info| PrinterStatus::from_info(&info)).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| self.offline(e))?
        .map_err(|e| self.offline(e))?;
        check(Some(status), size)?;
        Ok(Session { link: Link::Usb(path.to_path_buf()), status: Some(status) })
    }

    async fn transmit_usb(&self, path: PathBuf, job: &RasterJob) -> Result<Delivery, SendError> {
        let bytes = job.bytes().to_vec();
        let written = tokio::task::spawn_blocking(move || -> Result<(), (usize, String)> {
            use std::io::Write;
            let mut device = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| (0, e.to_string()))?;
            let mut written = 0;
            while written < bytes.len() {
                match device.write(&bytes[written..]) {
                    Ok(0) => return Err((written, "the device took no more data".into())),
                    Ok(n) => written += n,
                    Err(e) => return Err((written, e.to_string())),
                }
            }
            device.flush().map_err(|e| (written, e.to_string()))
        });
        match tokio::time::timeout(self.timeouts.write, written).await {
            Ok(Ok(Ok(()))) => Ok(Delivery::Written),
            Ok(Ok(Err((0, message)))) => Err(self.offline(message)),
            Ok(Ok(Err((n, message)))) => Err(SendError::Unconfirmed(format!("{message} after {n} bytes"))),
            Ok(Err(e)) => Err(SendError::Unconfirmed(e.to_string())),
            Err(_) => Err(SendError::Unconfirmed("the USB device did not take the job in time".into())),
        }
    }

    async fn transmit_file(&self, dir: PathBuf, job: &RasterJob, name: &str) -> Result<Delivery, SendError> {
        let name = file_name(name);
        let bytes = job.bytes().to_vec();
        let size = job.size();
        let result = tokio::task::spawn_blocking(move || write_job_files(&dir, &name, &bytes, size)).await;
        match result {
            Ok(Ok(())) => Ok(Delivery::Written),
            Ok(Err(e)) => Err(self.offline(e)),
            Err(e) => Err(self.offline(e)),
        }
    }
}

impl PrinterTransport for Printer {
    async fn connect(&self, size: LabelSize) -> Result<Session, SendError> {
        match &self.url {
            PrinterUrl::Tcp(addr) => self.connect_tcp(addr, size).await,
            PrinterUrl::Usb(path) => self.connect_usb(path, size).await,
            PrinterUrl::File(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| self.offline(e))?;
                Ok(Session { link: Link::File(dir.clone()), status: None })
            }
        }
    }

    async fn transmit(&self, session: Session, job: &RasterJob, name: &str) -> Result<Delivery, SendError> {
        match session.link {
            Link::Tcp(stream) => self.transmit_tcp(stream, job).await,
            Link::Usb(path) => self.transmit_usb(path, job).await,
            Link::File(dir) => self.transmit_file(dir, job, name).await,
        }
    }
}

/// Refuses a job for `size` tape when the status shows a problem.
fn check(status: Option<PrinterStatus>, size: LabelSize) -> Result<(), SendError> {
    let Some(status) = status else { return Ok(()) };
    let problems = status::problems(&status, size);
    if problems.is_empty() { Ok(()) } else { Err(SendError::NotReady(problems)) }
}

/// Reads what the printer says after the job: "printing completed" for every page, or the end of
/// the connection after it read ours, confirm it; an error reply fails it.
async fn confirm_tcp(stream: &mut TcpStream, pages: usize, timeout: Duration) -> Result<Delivery, SendError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pending = Vec::new();
    let mut completed = 0;
    let mut buffer = [0u8; 256];
    loop {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await;
        match read {
            Err(_) => return Err(SendError::Unconfirmed(format!("no answer within {timeout:?}"))),
            Ok(Err(e)) => return Err(SendError::Unconfirmed(format!("the connection failed: {e}"))),
            Ok(Ok(0)) => return Ok(Delivery::Confirmed),
            Ok(Ok(n)) => pending.extend_from_slice(&buffer[..n]),
        }
        while pending.len() >= 32 {
            let reply: Vec<u8> = pending.drain(..32).collect();
            let Ok(status) = status::parse_status(&reply) else { continue };
            match status.kind {
                StatusKind::PrintingCompleted => completed += 1,
                StatusKind::ErrorOccurred | StatusKind::TurnedOff => {
                    let problems = status::problems(&status, LabelSize::Mm54)
                        .into_iter()
                        .filter(|p| !matches!(p, Problem::WrongMedia { .. }))
                        .collect::<Vec<_>>();
                    let problems = if problems.is_empty() { vec![Problem::TurnedOff] } else { problems };
                    return Err(SendError::PrintFailed(problems));
                }
                _ => {}
            }
            if completed >= pages {
                return Ok(Delivery::Confirmed);
            }
        }
    }
}

/// A job name safe as a file name.
fn file_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if cleaned.is_empty() { "job".into() } else { cleaned }
}

/// Writes `<name>.bin` (the raster job) and `<name>-<page>.png` (each page decoded back from the
/// job), each through a temporary file renamed into place, so a reader never sees half a file.
fn write_job_files(dir: &std::path::Path, name: &str, bytes: &[u8], size: LabelSize) -> Result<(), String> {
    let write = |file: String, data: &[u8]| -> Result<(), String> {
        let tmp = dir.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, data).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(&file)).map_err(|e| format!("cannot rename {}: {e}", tmp.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let pages = super::raster::decode_pages(bytes).map_err(|e| e.to_string())?;
    for (index, page) in pages.iter().enumerate() {
        let image = super::raster::image_from_lines(&page.lines, size);
        let png = super::png_bytes(&image).map_err(|e| e.to_string())?;
        write(format!("{name}-{}.png", index + 1), &png)?;
    }
    write(format!("{name}.bin"), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_urls_parse_with_defaults() {
        assert_eq!(PrinterUrl::parse("tcp://10.0.0.5").unwrap(), PrinterUrl::Tcp("10.0.0.5:9100".into()));
        assert_eq!(PrinterUrl::parse("tcp://printer:9101/").unwrap(), PrinterUrl::Tcp("printer:9101".into()));
        assert_eq!(PrinterUrl::parse("usb:///dev/usb/lp0").unwrap(), PrinterUrl::Usb("/dev/usb/lp0".into()));
        assert_eq!(PrinterUrl::parse("file:///tmp/labels").unwrap(), PrinterUrl::File("/tmp/labels".into()));
        for bad in ["", "http://x", "tcp://", "file://relative", "lp0"] {
            assert!(PrinterUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(PrinterUrl::parse("tcp://h").unwrap().to_string(), "tcp://h:9100");
    }

    #[tokio::test]
    async fn a_missing_usb_device_or_unwritable_directory_is_offline() {
        let job = RasterJob::compile(&[image::GrayImage::new(590, 4)], LabelSize::Mm54).unwrap();
        let usb = open(&PrinterUrl::Usb("/nonexistent/usb/lp9".into()), Timeouts::default());
        let error = usb.send(&job, "a").await.unwrap_err();
        assert_eq!(error.reason(), "Offline");
        assert!(error.to_string().starts_with("printer usb:///nonexistent/usb/lp9 unreachable"), "{error}");
        let file = open(&PrinterUrl::File("/proc/conferenceli-labels".into()), Timeouts::default());
        assert_eq!(file.send(&job, "a").await.unwrap_err().reason(), "Offline");
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(file_name("lead-1/../x y"), "lead-1____x_y");
        assert_eq!(file_name(""), "job");
    }
}
