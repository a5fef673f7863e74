//! The booth under fire: `kill -9` in the middle of a busy moment and a restart lose nothing
//! and duplicate nothing.

use crate::binary::{BIN, Running};
use crate::common::{TestCluster, eventually, fast_config, free_port, kubeconfig_for};
use crate::labels::{Mode, TestPrinter};
use crate::leads::{Visitor, all_leads, as_refs, complete};
use crate::odoo_double::OdooDouble;
use conferenceli::leads::crd::{PrintState, SyncState};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

const VISITORS: usize = 8;

/// `conferenceli run` against the test's API, Odoo double and printer.
fn start_run(kubeconfig: &std::path::Path, private: u16, public: u16, odoo: &OdooDouble, printer: u16) -> Running {
    let child = Command::new(BIN)
        .args(["run", "--listen-addr", &format!("127.0.0.1:{private}"), "--public-listen-addr"])
        .arg(format!("127.0.0.1:{public}"))
        .args(["--health-listen-addr", "127.0.0.1:0"])
        .args(odoo.app_flags(true))
        .args(["--printer-url", &format!("tcp://127.0.0.1:{printer}"), "--print-raffle-ticket", "true"])
        .args(["--label-header", "KubeCon", "--leds", "virtual", "--odoo-retry-min-ms", "50"])
        .env("KUBECONFIG", kubeconfig)
        .env("CHAOS_BASIC_AUTH_PASSWORD", "booth-secret")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start conferenceli run");
    Running(child)
}

async fn ready(private: u16) {
    eventually(Duration::from_secs(30), "the app ready", || async {
        let response = reqwest::get(format!("http://127.0.0.1:{private}/readyz")).await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_and_a_restart_lose_nothing_and_duplicate_nothing() {
    let cluster = TestCluster::start(fast_config()).await;
    let odoo = OdooDouble::start().await;
    let printer_port = free_port();
    let printer = TestPrinter::start(printer_port, Mode::Ready { media_mm: 54, errors: 0 }).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(&cluster.url(), dir.path());
    let (private, public) = (free_port(), free_port());

    // A slow Odoo keeps the leads in flight when the process dies.
    odoo.set_delay(Duration::from_millis(300));
    let mut first = start_run(&kubeconfig, private, public, &odoo, printer_port);
    ready(private).await;
    for n in 0..VISITORS {
        let visitor = Visitor::open(&format!("http://127.0.0.1:{public}")).await;
        let fields = complete(&format!("visitor{n}@example.org"));
        assert_eq!(visitor.submit(&as_refs(&fields)).await.status(), 200, "visitor {n} thanked");
    }
    let synced_before = all_leads(&cluster)
        .await
        .iter()
        .filter(|l| l.status.as_ref().is_some_and(|s| s.sync_state == SyncState::Synced))
        .count();
    assert!(synced_before < VISITORS, "the kill lands while leads are still on their way to Odoo");
    // No warning, no shutdown: the process is gone with Odoo calls and print jobs in flight.
    first.0.kill().unwrap();
    first.0.wait().unwrap();

    let _second = start_run(&kubeconfig, private, public, &odoo, printer_port);
    let leads = eventually(Duration::from_secs(60), "every lead settled", || async {
        let leads = all_leads(&cluster).await;
        let settled = leads.iter().all(|lead| {
            lead.status.as_ref().is_some_and(|s| {
                s.sync_state == SyncState::Synced && matches!(s.print_state, PrintState::Printed | PrintState::Failed)
            })
        });
        (leads.len() == VISITORS && settled).then_some(leads)
    })
    .await;

    // Odoo: every lead exactly once.
    let codes: Vec<String> = leads.iter().map(|l| l.spec.code.clone()).collect();
    let created = odoo.records("crm.lead");
    assert_eq!(created.len(), VISITORS, "one crm.lead per visitor, no duplicate");
    for code in &codes {
        let with_code = created.iter().filter(|r| r["description"].as_str().is_some_and(|d| d.contains(code))).count();
        assert_eq!(with_code, 1, "lead {code} is in Odoo exactly once");
    }
    // The printer: nothing twice. A job the kill interrupted mid-attempt is left Failed ("may
    // have printed") for staff, never sent again by itself.
    let jobs = printer.jobs();
    let distinct: BTreeSet<&Vec<u8>> = jobs.iter().collect();
    assert_eq!(distinct.len(), jobs.len(), "no label printed twice");
    let printed = leads.iter().filter(|l| l.status.as_ref().unwrap().print_state == PrintState::Printed).count();
    let failed = VISITORS - printed;
    assert!(failed <= 1, "only a job in flight at the kill may be left to staff, got {failed}");
    assert!(
        (printed..=printed + failed).contains(&jobs.len()),
        "every printed lead reached the printer once: {} jobs for {printed} printed, {failed} failed",
        jobs.len()
    );
}
