//! Label printing end to end: rendering (every label type, long names, European scripts, QR codes
//! read back with a QR decoder), the TCP transport against a test printer on 127.0.0.1 (offline,
//! refusing, slow, accepting and never reading, reconnecting, wrong media, out of labels), the
//! print queue's once-only guarantee (including "the answer never came" and a restart with a
//! persistent store), and the preview route.

use crate::common::{TestApp, TestCluster, eventually, fast_config, free_port};
use conferenceli::labels::layout::{self, Label};
use conferenceli::labels::queue::{self, JobStore, LocalStore, PrintJob, PrintState, QueueConfig, QueueWaker};
use conferenceli::labels::raster::{self, RasterJob};
use conferenceli::labels::render::INK;
use conferenceli::labels::status::encode_status;
use conferenceli::labels::transport::{self, Delivery, PrinterTransport, PrinterUrl, SendError, Timeouts};
use conferenceli::labels::{LabelSize, PrinterHealth, fonts};
use image::GrayImage;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// Rendering

fn decode_qr(image: &GrayImage) -> Vec<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(image.width() as usize, image.height() as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    prepared.detect_grids().iter().filter_map(|grid| grid.decode().ok().map(|(_, text)| text)).collect()
}

fn ink(image: &GrayImage) -> usize {
    image.pixels().filter(|p| p.0[0] == INK).count()
}

/// No ink in the left and right padding: nothing ran into the edge of the tape.
fn assert_margins_blank(image: &GrayImage, what: &str) {
    for y in 0..image.height() {
        for x in (0..20).chain(image.width() - 20..image.width()) {
            assert_ne!(image.get_pixel(x, y).0[0], INK, "{what}: ink at the edge ({x}, {y})");
        }
    }
}

#[test]
fn every_label_type_renders_for_both_tapes_and_its_qr_code_reads_back() {
    let labels = [
        Label::Raffle { name: "Zoë Müller".into(), header: "KubeCon EU".into(), code: "bakoru".into() },
        Label::Appuio { name: "Zoë Müller".into(), code: "AP-123 ü".into() },
        Label::Servala { name: "Zoë Müller".into(), code: "SERVALA2026".into() },
    ];
    for size in [LabelSize::Mm54, LabelSize::Mm62] {
        for label in &labels {
            let image = layout::render(label, size);
            assert_eq!(image.width(), size.printable_dots());
            assert!(image.height() > 300, "{label:?} is a real label ({} dots)", image.height());
            assert!(image.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255), "1-bit");
            assert_margins_blank(&image, &format!("{label:?}"));
            match label.qr_url() {
                Some(url) => assert_eq!(decode_qr(&image), vec![url], "{label:?} on {size}"),
                None => assert!(decode_qr(&image).is_empty()),
            }
        }
    }
    assert_eq!(labels[1].qr_url().unwrap(), "https://portal.appuio.cloud/signup?voucher=AP-123%20%C3%BC");
}

#[test]
fn names_in_european_scripts_print_every_character() {
    let names = [
        "Zoë Müller",
        "François Gérard-Lefèvre",
        "Łukasz Wróblewski-Żółć",
        "Jiří Dvořák Šťastný",
        "Ελένη Παπαδοπούλου",
        "Юлия Смирнова",
        "Søren Ærø Åsa",
        "İlkay Gündoğan",
    ];
    let blank = layout::render(&Label::Raffle { name: "".into(), header: "".into(), code: "".into() }, LabelSize::Mm54);
    for name in names {
        assert!(fonts::missing_chars(name).is_empty(), "{name} has no glyph for {:?}", fonts::missing_chars(name));
        let image =
            layout::render(&Label::Raffle { name: name.into(), header: "".into(), code: "x".into() }, LabelSize::Mm54);
        assert!(ink(&image) > ink(&blank), "{name} is printed");
    }
    // A character no bundled font has prints as a box: the label carries more ink than without it.
    let with =
        layout::render(&Label::Raffle { name: "Ann 李".into(), header: "".into(), code: "".into() }, LabelSize::Mm54);
    let without =
        layout::render(&Label::Raffle { name: "Ann".into(), header: "".into(), code: "".into() }, LabelSize::Mm54);
    assert_eq!(fonts::missing_chars("Ann 李"), vec!['李']);
    assert!(ink(&with) > ink(&without) + 200, "the missing character is visible");
}

#[test]
fn long_names_and_headers_wrap_instead_of_clipping() {
    let short = layout::render(
        &Label::Raffle { name: "Ann".into(), header: "KubeCon".into(), code: "abc".into() },
        LabelSize::Mm54,
    );
    let long_name = "Maria Magdalena Anastasia Konstantinopoulou-Wolfeschlegelsteinhausenbergerdorff von Hohenzollern";
    for size in [LabelSize::Mm54, LabelSize::Mm62] {
        let long = layout::render(
            &Label::Raffle {
                name: long_name.into(),
                header: "KubeCon + CloudNativeCon Europe 2026, London, United Kingdom".into(),
                code: "a-very-long-raffle-code-that-does-not-fit".into(),
            },
            size,
        );
        assert_margins_blank(&long, long_name);
        if size == LabelSize::Mm54 {
            assert!(long.height() > short.height(), "the label grows instead of clipping");
        }
        let voucher = layout::render(&Label::Servala { name: long_name.into(), code: "X".repeat(60) }, size);
        assert_margins_blank(&voucher, "servala");
        assert_eq!(decode_qr(&voucher), vec!["https://servala.com/".to_string()]);
    }
}

// ---------------------------------------------------------------------------------------------
// A Brother printer on 127.0.0.1

/// How the test printer behaves on its next connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Answers the status request with this tape width and error bits, reads the job until the
    /// client's end, reports "printing completed" per page and closes.
    Ready { media_mm: u8, errors: u16 },
    /// Like the QL-820NWB on port 9100: no status replies; reads the job and closes after it.
    NoStatus,
    /// Answers the status request, reads the job, then never answers nor closes.
    Silent,
    /// Reads slowly (512 bytes every 5 ms), otherwise like `Ready`.
    Slow,
    /// Accepts and never reads.
    NeverRead,
    /// Accepts and closes at once.
    CloseAtOnce,
}

/// Every job a test printer received in full (the bytes after the status request).
pub type Received = Arc<Mutex<Vec<Vec<u8>>>>;

pub struct TestPrinter {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    jobs: Received,
    task: tokio::task::JoinHandle<()>,
}

impl TestPrinter {
    pub async fn start(port: u16, mode: Mode) -> Self {
        Self::start_with(port, Arc::new(Mutex::new(mode)), Arc::new(Mutex::new(Vec::new()))).await
    }

    pub async fn start_with(port: u16, mode: Arc<Mutex<Mode>>, jobs: Received) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind the printer's port");
        let (m, j) = (mode.clone(), jobs.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let mode = *m.lock().unwrap();
                tokio::spawn(serve_connection(stream, mode, j.clone()));
            }
        });
        Self { port, mode, jobs, task }
    }

    fn url(&self) -> PrinterUrl {
        PrinterUrl::Tcp(format!("127.0.0.1:{}", self.port))
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.jobs.lock().unwrap().clone()
    }

    /// Stops listening (the printer goes away); a new one can start on the same port.
    pub fn stop(self) -> (Arc<Mutex<Mode>>, Received) {
        self.task.abort();
        (self.mode, self.jobs)
    }
}

async fn serve_connection(mut stream: tokio::net::TcpStream, mode: Mode, jobs: Received) {
    match mode {
        Mode::CloseAtOnce => return,
        Mode::NeverRead => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        _ => {}
    }
    // The preamble and status request: 400 × 00, ESC @, ESC i S.
    let mut request = vec![0u8; 405];
    if stream.read_exact(&mut request).await.is_err() || request[400..] != [0x1b, b'@', 0x1b, b'i', b'S'] {
        return;
    }
    let (media_mm, errors) = match mode {
        Mode::Ready { media_mm, errors } => (media_mm, errors),
        _ => (54, 0),
    };
    let flags = brother_ql::status::ErrorFlags::from_bits_retain(errors);
    if mode != Mode::NoStatus {
        let kind = if errors == 0 { 0x00 } else { 0x02 };
        if stream.write_all(&encode_status(flags, media_mm, 0x0A, kind, false)).await.is_err() {
            return;
        }
    }
    let mut job = Vec::new();
    let mut buffer = vec![0u8; if mode == Mode::Slow { 512 } else { 64 * 1024 }];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) => break,
            Ok(n) => job.extend_from_slice(&buffer[..n]),
            Err(_) => return,
        }
        if mode == Mode::Slow {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    if job.is_empty() {
        return;
    }
    let pages = raster::decode_pages(&job).map(|p| p.len()).unwrap_or(0);
    jobs.lock().unwrap().push(job);
    match mode {
        Mode::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
        Mode::NoStatus => {}
        _ => {
            for _ in 0..pages {
                let done = encode_status(flags, media_mm, 0x0A, 0x01, true);
                if stream.write_all(&done).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn fast_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        write: Duration::from_secs(3),
        status: Duration::from_millis(300),
        confirm: Duration::from_millis(800),
    }
}

fn raffle_job(name: &str, size: LabelSize) -> RasterJob {
    let label = Label::Raffle { name: name.into(), header: "KubeCon EU".into(), code: "bakoru".into() };
    RasterJob::compile(&[layout::render(&label, size)], size).unwrap()
}

#[tokio::test]
async fn a_ready_printer_receives_the_job_byte_for_byte_and_confirms_it() {
    let printer = TestPrinter::start(free_port(), Mode::Ready { media_mm: 54, errors: 0 }).await;
    let job = raffle_job("Zoë Müller", LabelSize::Mm54);
    let delivery = transport::open(&printer.url(), fast_timeouts()).send(&job, "lead-1").await.unwrap();
    assert_eq!(delivery, Delivery::Confirmed);
    assert_eq!(printer.jobs(), vec![job.bytes().to_vec()]);
}

#[tokio::test]
async fn a_printer_without_status_replies_is_used_and_confirms_by_closing() {
    let printer = TestPrinter::start(free_port(), Mode::NoStatus).await;
    let job = raffle_job("Ann", LabelSize::Mm62);
    let transport = transport::open(&printer.url(), fast_timeouts());
    let session = transport.connect(LabelSize::Mm62).await.unwrap();
    assert_eq!(session.status, None, "status unknown, not offline");
    assert_eq!(transport.transmit(session, &job, "x").await.unwrap(), Delivery::Confirmed);
    assert_eq!(printer.jobs().len(), 1);
}

/// A Brother SNMP agent on 127.0.0.1 answering the status OID with `status()`.
async fn snmp_agent(status: Arc<Mutex<[u8; 32]>>) -> u16 {
    use conferenceli::labels::snmp::{COMMUNITY, STATUS_OID, tlv};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buffer).await {
            // 30 len 02 01 00 04 06 "public" A0 len 02 04 <request id>
            let request = &buffer[..n];
            if n < 21 || request[13] != 0xA0 || request[15..17] != [0x02, 0x04] {
                continue;
            }
            let value = *status.lock().unwrap();
            let varbind = tlv(0x30, &[tlv(0x06, &STATUS_OID), tlv(0x04, &value)].concat());
            let pdu = [tlv(0x02, &request[17..21]), tlv(0x02, &[0]), tlv(0x02, &[0]), tlv(0x30, &varbind)].concat();
            let response = tlv(0x30, &[tlv(0x02, &[0]), tlv(0x04, COMMUNITY), tlv(0xA2, &pdu)].concat());
            let _ = socket.send_to(&response, peer).await;
        }
    });
    port
}

#[tokio::test]
async fn a_printer_reporting_over_snmp_is_checked_before_the_job_is_sent() {
    let printer = TestPrinter::start(free_port(), Mode::NoStatus).await;
    let no_media = encode_status(brother_ql::status::ErrorFlags::NoMediaError, 0, 0, 0x02, false);
    let status = Arc::new(Mutex::new(no_media));
    let snmp_port = snmp_agent(status.clone()).await;
    let timeouts = Timeouts { status: Duration::from_secs(2), ..fast_timeouts() };
    let transport = transport::open(&printer.url(), timeouts).with_snmp_port(snmp_port);
    let job = raffle_job("Zoë", LabelSize::Mm54);
    let error = transport.send(&job, "a").await.unwrap_err();
    assert_eq!(error.reason(), "NoMedia", "{error}");
    *status.lock().unwrap() = encode_status(brother_ql::status::ErrorFlags::empty(), 62, 0x0A, 0, false);
    assert_eq!(transport.send(&job, "a").await.unwrap_err().reason(), "WrongMedia");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(printer.jobs().is_empty(), "nothing sent while the printer could not print");
    *status.lock().unwrap() = encode_status(brother_ql::status::ErrorFlags::empty(), 54, 0x0A, 0, false);
    let started = std::time::Instant::now();
    let session = transport.connect(LabelSize::Mm54).await.unwrap();
    assert!(session.status.is_some() && started.elapsed() < Duration::from_secs(1), "SNMP answers first");
    assert_eq!(transport.transmit(session, &job, "a").await.unwrap(), Delivery::Confirmed);
    assert_eq!(printer.jobs(), vec![job.bytes().to_vec()]);
}

#[tokio::test]
async fn refusing_and_closing_printers_are_offline_and_get_nothing() {
    let refused = transport::open(&PrinterUrl::Tcp(format!("127.0.0.1:{}", free_port())), fast_timeouts());
    let error = refused.send(&raffle_job("A", LabelSize::Mm54), "a").await.unwrap_err();
    assert!(matches!(error, SendError::Offline { .. }), "{error}");
    assert!(error.safe_to_retry());
    assert!(error.to_string().contains("unreachable"), "{error}");

    let closing = TestPrinter::start(free_port(), Mode::CloseAtOnce).await;
    let error = transport::open(&closing.url(), fast_timeouts()).send(&raffle_job("A", LabelSize::Mm54), "a").await;
    assert!(matches!(error, Err(SendError::Offline { .. })), "{error:?}");
    assert!(closing.jobs().is_empty());
}

#[tokio::test]
async fn wrong_media_and_printer_errors_refuse_the_job_before_anything_is_sent() {
    let printer = TestPrinter::start(free_port(), Mode::Ready { media_mm: 62, errors: 0 }).await;
    let transport = transport::open(&printer.url(), fast_timeouts());
    let error = transport.send(&raffle_job("A", LabelSize::Mm54), "a").await.unwrap_err();
    assert_eq!(error.reason(), "WrongMedia");
    assert_eq!(
        error.to_string(),
        "printer not ready: wrong labels loaded: 62 mm endless tape but LABEL_SIZE is 54 endless tape"
    );
    for (errors, reason) in [(0x0001, "NoMedia"), (0x1000, "CoverOpen"), (0x0004, "CutterJam")] {
        printer.set_mode(Mode::Ready { media_mm: 54, errors });
        let error = transport.send(&raffle_job("A", LabelSize::Mm54), "a").await.unwrap_err();
        assert_eq!(error.reason(), reason);
        assert!(error.safe_to_retry());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(printer.jobs().is_empty(), "no job byte reached the printer");
}

#[tokio::test]
async fn a_slow_printer_gets_the_whole_job() {
    let printer = TestPrinter::start(free_port(), Mode::Slow).await;
    let job = raffle_job("Slow Reader", LabelSize::Mm54);
    let timeouts = Timeouts { confirm: Duration::from_secs(5), write: Duration::from_secs(10), ..fast_timeouts() };
    assert_eq!(transport::open(&printer.url(), timeouts).send(&job, "s").await.unwrap(), Delivery::Confirmed);
    assert_eq!(printer.jobs(), vec![job.bytes().to_vec()]);
}

#[tokio::test]
async fn a_printer_accepting_and_never_reading_leaves_the_job_unconfirmed() {
    let printer = TestPrinter::start(free_port(), Mode::NeverRead).await;
    let started = std::time::Instant::now();
    let error = transport::open(&printer.url(), fast_timeouts()).send(&raffle_job("A", LabelSize::Mm54), "a").await;
    let error = error.unwrap_err();
    assert!(matches!(error, SendError::Unconfirmed(_)), "{error}");
    assert!(!error.safe_to_retry(), "bytes left: never resent automatically");
    assert!(started.elapsed() < Duration::from_secs(10), "timeouts bound the wait");
}

// ---------------------------------------------------------------------------------------------
// The queue

fn quick_queue() -> QueueConfig {
    QueueConfig {
        label_size: LabelSize::Mm54,
        poll: Duration::from_millis(50),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    }
}

fn job(id: &str) -> PrintJob {
    PrintJob::new(id, vec![Label::Raffle { name: format!("Visitor {id}"), header: "KubeCon".into(), code: id.into() }])
}

struct RunningQueue {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    health: Arc<Mutex<Vec<PrinterHealth>>>,
    waker: QueueWaker,
    metrics: queue::QueueMetrics,
}

impl RunningQueue {
    fn start<S: JobStore>(store: Arc<S>, url: &PrinterUrl, timeouts: Timeouts) -> Self {
        let shutdown = CancellationToken::new();
        let health = Arc::new(Mutex::new(Vec::new()));
        let sink_health = health.clone();
        let sink: queue::HealthSink = Arc::new(move |h| sink_health.lock().unwrap().push(h));
        let waker = QueueWaker::default();
        let transport = Arc::new(transport::open(url, timeouts));
        let metrics = queue::QueueMetrics::default();
        let task = tokio::spawn(queue::run(
            store,
            transport,
            quick_queue(),
            waker.clone(),
            sink,
            metrics.clone(),
            shutdown.clone(),
        ));
        Self { shutdown, task, health, waker, metrics }
    }

    fn last_health(&self) -> Option<PrinterHealth> {
        self.health.lock().unwrap().last().cloned()
    }

    /// The process dies: the task is gone at whatever point it was.
    fn kill(self) {
        self.task.abort();
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// The names printed, in order, read back from the jobs the printer received.
fn printed_names(jobs: &[Vec<u8>], store_jobs: &[PrintJob]) -> Vec<String> {
    jobs.iter()
        .map(|bytes| {
            store_jobs
                .iter()
                .find(|j| {
                    let images: Vec<_> = j.labels.iter().map(|l| layout::render(l, LabelSize::Mm54)).collect();
                    RasterJob::compile(&images, LabelSize::Mm54).unwrap().bytes() == bytes.as_slice()
                })
                .map_or_else(|| "?".into(), |j| j.id.clone())
        })
        .collect()
}

#[tokio::test]
async fn the_queue_retries_while_the_printer_is_away_then_prints_each_job_once_in_order() {
    let port = free_port();
    let url = PrinterUrl::Tcp(format!("127.0.0.1:{port}"));
    let store = Arc::new(LocalStore::in_memory());
    for id in ["a", "b", "c"] {
        store.add(job(id)).unwrap();
    }
    let queue = RunningQueue::start(store.clone(), &url, fast_timeouts());
    eventually(Duration::from_secs(20), "the first job to record the offline printer", || async {
        store.job("a").and_then(|j| j.last_error).filter(|e| e.contains("unreachable"))
    })
    .await;
    assert_eq!(store.job("a").unwrap().state, PrintState::Pending);
    assert_eq!(store.job("b").unwrap().last_error, None, "later jobs wait behind the first");
    assert_eq!(queue.last_health().unwrap().reason, "Offline");

    // The printer comes (back) online, first out of labels.
    let printer = TestPrinter::start(port, Mode::Ready { media_mm: 54, errors: 0x0001 }).await;
    eventually(Duration::from_secs(20), "the out-of-labels error", || async {
        store.job("a").and_then(|j| j.last_error).filter(|e| e.contains("no labels loaded"))
    })
    .await;
    assert_eq!(queue.last_health().unwrap().reason, "NoMedia");
    printer.set_mode(Mode::Ready { media_mm: 54, errors: 0 });
    eventually(Duration::from_secs(30), "all jobs printed", || async {
        store.jobs().iter().all(|j| j.state == PrintState::Printed).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(printed_names(&printer.jobs(), &store.jobs()), ["a", "b", "c"], "once each, in order");
    assert!(queue.last_health().unwrap().healthy);

    // Staff press "reprint": exactly one more copy.
    store.reprint("b").unwrap();
    queue.waker.wake();
    eventually(Duration::from_secs(20), "the reprint", || async { (printer.jobs().len() == 4).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(printed_names(&printer.jobs(), &store.jobs()), ["a", "b", "c", "b"]);
    assert_eq!((queue.metrics.printed.get(), queue.metrics.failed.get()), (4, 0));
    assert!(queue.metrics.retried.get() >= 2, "offline and out of labels were retried");
    queue.stop().await;
}

#[tokio::test]
async fn a_printer_that_drops_away_and_reconnects_prints_the_rest_once() {
    let port = free_port();
    let printer = TestPrinter::start(port, Mode::Ready { media_mm: 54, errors: 0 }).await;
    let store = Arc::new(LocalStore::in_memory());
    store.add(job("a")).unwrap();
    let queue = RunningQueue::start(store.clone(), &printer.url(), fast_timeouts());
    eventually(Duration::from_secs(20), "a printed", || async {
        (store.job("a")?.state == PrintState::Printed).then_some(())
    })
    .await;
    let url = printer.url();
    let (mode, jobs) = printer.stop();
    store.add(job("b")).unwrap();
    queue.waker.wake();
    eventually(Duration::from_secs(20), "b waiting for the printer", || async {
        store.job("b").and_then(|j| j.last_error)
    })
    .await;
    let printer = TestPrinter::start_with(port, mode, jobs).await;
    assert_eq!(printer.url(), url);
    eventually(Duration::from_secs(20), "b printed after the reconnect", || async {
        (store.job("b")?.state == PrintState::Printed).then_some(())
    })
    .await;
    assert_eq!(printed_names(&printer.jobs(), &store.jobs()), ["a", "b"]);
    queue.stop().await;
}

/// A store whose job `gone` is deleted while the printer has it (staff delete its lead): from
/// then on the store knows nothing of it.
struct DeletedWhilePrinting {
    store: LocalStore,
    deleted: std::sync::atomic::AtomicBool,
}

impl DeletedWhilePrinting {
    fn known(&self, id: &str) -> Result<(), queue::StoreError> {
        let deleted = id == "gone" && self.deleted.load(std::sync::atomic::Ordering::SeqCst);
        if deleted { Err(queue::StoreError::UnknownJob(id.into())) } else { Ok(()) }
    }
}

impl JobStore for DeletedWhilePrinting {
    async fn open_jobs(&self) -> Result<Vec<PrintJob>, queue::StoreError> {
        let jobs = self.store.open_jobs().await?;
        Ok(jobs.into_iter().filter(|j| self.known(&j.id).is_ok()).collect())
    }

    async fn begin_attempt(&self, id: &str) -> Result<(), queue::StoreError> {
        self.store.begin_attempt(id).await?;
        self.deleted.store(id == "gone", std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    async fn mark_printed(&self, id: &str) -> Result<(), queue::StoreError> {
        self.known(id)?;
        self.store.mark_printed(id).await
    }

    async fn mark_retry(&self, id: &str, error: &str) -> Result<(), queue::StoreError> {
        self.known(id)?;
        self.store.mark_retry(id, error).await
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), queue::StoreError> {
        self.known(id)?;
        self.store.mark_failed(id, error).await
    }
}

#[tokio::test]
async fn a_job_deleted_while_it_prints_does_not_stop_the_queue() {
    let printer = TestPrinter::start(free_port(), Mode::Ready { media_mm: 54, errors: 0 }).await;
    let store = Arc::new(DeletedWhilePrinting { store: LocalStore::in_memory(), deleted: Default::default() });
    for id in ["gone", "next"] {
        store.store.add(job(id)).unwrap();
    }
    let queue = RunningQueue::start(store.clone(), &printer.url(), fast_timeouts());
    // Writing "printed" for a job that no longer exists used to be retried for ever.
    eventually(Duration::from_secs(20), "the next job printed", || async {
        (store.store.job("next")?.state == PrintState::Printed).then_some(())
    })
    .await;
    assert_eq!(printed_names(&printer.jobs(), &store.store.jobs()), ["gone", "next"], "each once");
    queue.stop().await;
}

/// A store whose first `begin_attempt` lands but whose answer is lost (the API server restarted).
struct AttemptAnswerLost {
    store: LocalStore,
    lost: std::sync::atomic::AtomicBool,
}

impl JobStore for AttemptAnswerLost {
    async fn open_jobs(&self) -> Result<Vec<PrintJob>, queue::StoreError> {
        self.store.open_jobs().await
    }

    async fn begin_attempt(&self, id: &str) -> Result<(), queue::StoreError> {
        self.store.begin_attempt(id).await?;
        if self.lost.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(queue::StoreError::Unavailable("the connection closed before the answer".into()));
        }
        Ok(())
    }

    async fn mark_printed(&self, id: &str) -> Result<(), queue::StoreError> {
        self.store.mark_printed(id).await
    }

    async fn mark_retry(&self, id: &str, error: &str) -> Result<(), queue::StoreError> {
        self.store.mark_retry(id, error).await
    }

    async fn mark_failed(&self, id: &str, error: &str) -> Result<(), queue::StoreError> {
        self.store.mark_failed(id, error).await
    }
}

#[tokio::test]
async fn an_attempt_recorded_without_an_answer_is_printed_once_not_left_to_staff() {
    let printer = TestPrinter::start(free_port(), Mode::Ready { media_mm: 54, errors: 0 }).await;
    let store = Arc::new(AttemptAnswerLost { store: LocalStore::in_memory(), lost: true.into() });
    store.store.add(job("a")).unwrap();
    let queue = RunningQueue::start(store.clone(), &printer.url(), fast_timeouts());
    // The job reads `Printing` on the next pass, but this queue knows it sent nothing of it.
    let printed = eventually(Duration::from_secs(20), "a printed", || async {
        store.store.job("a").filter(|j| j.state == PrintState::Printed)
    })
    .await;
    assert_eq!(printed.attempts, 2);
    assert_eq!(printed_names(&printer.jobs(), &store.store.jobs()), ["a"], "sent once");
    assert_eq!((queue.metrics.printed.get(), queue.metrics.failed.get()), (1, 0));
    queue.stop().await;
}

#[tokio::test]
async fn when_the_answer_never_comes_the_job_is_failed_and_never_resent() {
    let printer = TestPrinter::start(free_port(), Mode::Silent).await;
    let store = Arc::new(LocalStore::in_memory());
    store.add(job("a")).unwrap();
    let queue = RunningQueue::start(store.clone(), &printer.url(), fast_timeouts());
    let failed = eventually(Duration::from_secs(20), "a failed", || async {
        store.job("a").filter(|j| j.state == PrintState::Failed)
    })
    .await;
    assert!(failed.last_error.unwrap().contains("reprint if it did not"));
    assert_eq!(failed.attempts, 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(printer.jobs().len(), 1, "the queue did not send it again");
    assert!(queue.health.lock().unwrap().iter().any(|h| h.reason == "Unconfirmed" && !h.healthy));
    assert_eq!((queue.metrics.printed.get(), queue.metrics.failed.get()), (0, 1));
    queue.stop().await;
}

#[tokio::test]
async fn the_once_only_guarantee_holds_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let printer = TestPrinter::start(free_port(), Mode::Silent).await;
    let store = Arc::new(LocalStore::open(&path).unwrap());
    for id in ["a", "b"] {
        store.add(job(id)).unwrap();
    }
    // The process dies while the printer has job a and its answer is still outstanding.
    let slow_confirm = Timeouts { confirm: Duration::from_secs(30), ..fast_timeouts() };
    let first = RunningQueue::start(store.clone(), &printer.url(), slow_confirm);
    eventually(Duration::from_secs(20), "a on its way", || async { (printer.jobs().len() == 1).then_some(()) }).await;
    first.kill();
    drop(store);
    let on_disk = LocalStore::open(&path).unwrap();
    assert_eq!(on_disk.job("a").unwrap().state, PrintState::Printing, "the attempt was recorded before sending");

    // A new process, the printer healthy again: a may have printed, so it is not resent; b prints.
    printer.set_mode(Mode::Ready { media_mm: 54, errors: 0 });
    let store = Arc::new(on_disk);
    let second = RunningQueue::start(store.clone(), &printer.url(), fast_timeouts());
    eventually(Duration::from_secs(20), "b printed", || async {
        (store.job("b")?.state == PrintState::Printed).then_some(())
    })
    .await;
    let a = store.job("a").unwrap();
    assert_eq!(a.state, PrintState::Failed);
    assert!(a.last_error.unwrap().contains("interrupted while printing"));
    second.stop().await;

    // And a third start finds nothing to print.
    let store = Arc::new(LocalStore::open(&path).unwrap());
    assert!(store.open_jobs().await.unwrap().is_empty());
    let third = RunningQueue::start(store.clone(), &printer.url(), fast_timeouts());
    tokio::time::sleep(Duration::from_millis(500)).await;
    third.stop().await;
    assert_eq!(printed_names(&printer.jobs(), &store.jobs()), ["a", "b"], "a once (unanswered), b once");
}

#[tokio::test]
async fn the_file_printer_writes_the_job_and_a_preview_decoded_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = PrinterUrl::File(dir.path().join("out"));
    let store = Arc::new(LocalStore::in_memory());
    let mut two = job("lead-7");
    two.labels.push(Label::Servala { name: "Zoë".into(), code: "S-1".into() });
    store.add(two.clone()).unwrap();
    let queue = RunningQueue::start(store.clone(), &url, fast_timeouts());
    eventually(Duration::from_secs(20), "printed to files", || async {
        (store.job("lead-7")?.state == PrintState::Printed).then_some(())
    })
    .await;
    queue.stop().await;
    let out = dir.path().join("out");
    let images: Vec<_> = two.labels.iter().map(|l| layout::render(l, LabelSize::Mm54)).collect();
    let expected = RasterJob::compile(&images, LabelSize::Mm54).unwrap();
    assert_eq!(std::fs::read(out.join("lead-7.bin")).unwrap(), expected.bytes());
    for (page, image) in images.iter().enumerate() {
        let preview = image::open(out.join(format!("lead-7-{}.png", page + 1))).unwrap().into_luma8();
        assert_eq!(&preview, image);
    }
}

// ---------------------------------------------------------------------------------------------
// The app

#[tokio::test]
async fn the_preview_route_renders_the_booth_settings_behind_basic_auth() {
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let printer = format!("file://{}", dir.path().display());
    let app = TestApp::start(
        &cluster,
        &[
            "--label-header",
            "Booth Header",
            "--voucher-type",
            "servala",
            "--servala-voucher-code",
            "SV-9",
            "--printer-url",
            &printer,
            "--label-size",
            "62",
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/labels/preview.png", app.url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    eventually(Duration::from_secs(30), "the Booth synced", || async {
        let r = http.get(format!("{}/readyz", app.url)).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    let response = http.get(&url).basic_auth("admin", Some("conferenceli")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png = image::load_from_memory(&response.bytes().await.unwrap()).unwrap().into_luma8();
    let expected = layout::render(
        &Label::Raffle { name: "Zoë Müller".into(), header: "Booth Header".into(), code: "bakoru".into() },
        LabelSize::Mm62,
    );
    assert_eq!(png, expected, "the configured header on 62 mm tape");
    let voucher = http
        .get(format!("{url}?label=voucher&name=Ann"))
        .basic_auth("admin", Some("conferenceli"))
        .send()
        .await
        .unwrap();
    let voucher = image::load_from_memory(&voucher.bytes().await.unwrap()).unwrap().into_luma8();
    assert_eq!(voucher, layout::render(&Label::Servala { name: "Ann".into(), code: "SV-9".into() }, LabelSize::Mm62));
    let bad = http.get(format!("{url}?label=poster")).basic_auth("admin", Some("conferenceli")).send().await.unwrap();
    assert_eq!(bad.status(), 400);

    // The file printer is healthy, and /readyz says so.
    let details = eventually(Duration::from_secs(30), "printer health in /readyz", || async {
        let body: serde_json::Value = http.get(format!("{}/readyz", app.url)).send().await.ok()?.json().await.ok()?;
        let printer = body["checks"]["printer"].as_str()?.to_string();
        (printer == "ready").then_some(printer)
    })
    .await;
    assert_eq!(details, "ready");
    let booths: kube::Api<conferenceli::booth::Booth> = kube::Api::namespaced(cluster.client.clone(), "conferenceli");
    let condition = eventually(Duration::from_secs(30), "the Booth's Printer condition", || async {
        let booth = booths.get("booth").await.ok()?;
        booth.status?.conditions.into_iter().find(|c| c.type_ == "Printer")
    })
    .await;
    assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("True", "Ready"));
    let metrics = http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("conferenceli_label_jobs_printed_total 0"), "{metrics}");
    app.stop().await;
}

#[test]
fn the_label_command_renders_and_prints_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("label.png");
    let printer = format!("file://{}", dir.path().join("printer").display());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_conferenceli"))
        .args(["label", "--type", "raffle", "--name", "Zoë Müller", "--header", "KubeCon EU", "--code", "bakoru"])
        .args(["--out", png.to_str().unwrap(), "--print", &printer])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let image = image::open(&png).unwrap().into_luma8();
    let label = Label::Raffle { name: "Zoë Müller".into(), header: "KubeCon EU".into(), code: "bakoru".into() };
    assert_eq!(image, layout::render(&label, LabelSize::Mm54));
    let job = std::fs::read(dir.path().join("printer/cli.bin")).unwrap();
    assert_eq!(job, RasterJob::compile(&[image], LabelSize::Mm54).unwrap().bytes());

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_conferenceli"))
        .args(["label", "--label-size", "55", "--out", "x.png"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("LABEL_SIZE (--label-size)"), "{stderr}");
}

#[tokio::test]
async fn a_sign_up_is_printed_once_from_its_lead_and_again_only_on_reprint() {
    use crate::leads::{LeadsApp, Visitor, all_leads, as_refs, complete};
    use conferenceli::leads::crd::PrintState;
    let cluster = TestCluster::start(fast_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let printer = format!("file://{}", dir.path().display());
    let app = LeadsApp::start(
        &cluster,
        &[
            "--print-raffle-ticket",
            "true",
            "--label-header",
            "KubeCon EU",
            "--voucher-type",
            "appuio",
            "--printer-url",
            &printer,
        ],
    )
    .await;
    let visitor = Visitor::open(&app.public).await;
    let fields = complete("ada@example.org");
    assert_eq!(visitor.submit(&as_refs(&fields)).await.status(), 200);
    let lead = eventually(Duration::from_secs(30), "the lead printed", || async {
        let lead = all_leads(&cluster).await.into_iter().next()?;
        (lead.status.as_ref()?.print_state == PrintState::Printed).then_some(lead)
    })
    .await;
    let name = lead.metadata.name.clone().unwrap();
    let status = lead.status.clone().unwrap();
    assert_eq!((status.print_attempts, status.last_print_error), (1, None));
    // The job is the lead's two labels (raffle ticket, APPUiO voucher), byte for byte.
    let code = lead.spec.code.clone();
    let expected_labels = vec![
        Label::Raffle { name: "Ada Lovelace".into(), header: "KubeCon EU".into(), code: code.clone() },
        Label::Appuio { name: "Ada Lovelace".into(), code },
    ];
    assert_eq!(lead.spec.labels, expected_labels);
    let images: Vec<_> = expected_labels.iter().map(|l| layout::render(l, LabelSize::Mm54)).collect();
    let job = RasterJob::compile(&images, LabelSize::Mm54).unwrap();
    assert_eq!(std::fs::read(dir.path().join(format!("{name}.bin"))).unwrap(), job.bytes());

    // Nothing prints it again by itself; staff's reprint does, once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = all_leads(&cluster).await.remove(0).status.unwrap();
    assert_eq!((again.print_state, again.print_attempts), (PrintState::Printed, 1));
    // Staff press "Reprint" in the control panel.
    let (status, staff) = crate::dashboard::Staff::login(&app.private, conferenceli::config::DEMO_PASSWORD).await;
    assert_eq!(status, 303);
    let panel = staff.page("/control").await;
    assert!(panel.contains(&format!("/control/leads/{name}/reprint")) && panel.contains("Printed"), "{panel}");
    let (status, answer) = staff.post(&format!("/control/leads/{name}/reprint"), &[], true).await;
    assert_eq!(status, 200, "{answer}");
    let (status, _) = staff.post("/control/leads/lead-unknown/reprint", &[], true).await;
    assert_eq!(status, 404);
    let (status, _) = staff.post(&format!("/control/leads/{name}/reprint"), &[], false).await;
    assert_eq!(status, 403, "CSRF protects the reprint");
    eventually(Duration::from_secs(30), "the reprint", || async {
        let status = all_leads(&cluster).await.remove(0).status?;
        (status.print_state == PrintState::Printed && status.print_attempts == 2).then_some(())
    })
    .await;
    // The print queue's and the panel's status writes passed the Lead CRD's schema whole.
    cluster.assert_nothing_pruned();
    app.stop().await;
}
