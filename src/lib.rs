//! conferenceli: one binary that runs a conference booth's Kubernetes show.
//!
//! The parts, each in its own module with a doc comment that says what it owns:
//!
//! - [`cluster`]: the kube client, one watch per resource, the shared [`cluster::ClusterState`];
//! - [`demo`]: the simulated cluster (the `kube-sim` crate) shaped as the booth's, for `demo` and the tests;
//! - [`web`]: the HTTP listeners (kiosk, staff, probes);
//! - [`booth`]: the `Booth` custom resource (settings and counters);
//! - [`automations`]: what reacts to chaos kills (the fog machine);
//! - [`leds`]: the BlinkStick and Blinkt! LEDs and their colour model;
//! - [`labels`]: label rendering, Brother QL raster jobs, printer transports and the print queue;
//! - [`leads`]: the contact form's leads, their outbox controller and the Odoo clients;
//! - [`theatre`]: the kiosk's events (the one catalogue), the scene channel, kill animations;
//! - [`visitor`]: the visitors' pages' branding and languages, the raffle, presses from phones;
//! - [`config`], [`telemetry`], [`metrics`], [`app`], [`commands`]: settings, logs, metrics, wiring,
//!   subcommands;
//! - [`crds`]: the CRDs this project defines;
//! - [`workload`]: the demo workload (`conferenceli workload`), also run per pod by [`demo`]'s cluster;
//! - [`availability`]: the booth's trickle of requests to the workload and its counts;
//! - `backoff`: the capped exponential backoff every retry loop uses; `rate`: the sliding-window
//!   rate limit every per-time limit uses;
//! - [`attract`]: attract mode (the autopilot) and the chaos safety settings;
//! - [`health`]: the setup checks (`conferenceli check`, the control panel's Booth health card);
//! - [`tasks`]: the one task tracker every spawned task goes through, and shutdown's wait for them.

pub mod app;
pub mod attract;
pub mod automations;
pub mod availability;
mod backoff;
pub mod booth;
pub mod chaos;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod crds;
pub mod demo;
pub mod error;
pub mod health;
pub mod http;
pub mod labels;
pub mod leads;
pub mod leds;
pub mod metrics;
mod rate;
pub mod secret;
pub mod tasks;
pub mod telemetry;
pub mod theatre;
pub mod visitor;
pub mod web;
pub mod workload;

/// Every request `blinkt` mode sends to the Kubernetes API (its DaemonSet's RBAC).
pub fn blinkt_api_calls() -> Vec<cluster::api_calls::ApiCall> {
    leds::blinkt::API_CALLS.iter().flatten().copied().collect()
}

/// Every request the `run` mode sends to the Kubernetes API (the RBAC in deploy/ must grant
/// exactly these).
pub fn api_calls() -> Vec<cluster::api_calls::ApiCall> {
    let mut calls: Vec<_> = cluster::watch::API_CALLS.iter().flatten().copied().collect();
    calls.extend(cluster::remediation::API_CALLS);
    calls.extend(cluster::recorder::API_CALLS);
    calls.extend(chaos::API_CALLS);
    calls.extend(cluster::drain::API_CALLS);
    calls.extend(booth::API_CALLS);
    calls.extend(leads::API_CALLS);
    calls.extend(leads::print_jobs::API_CALLS);
    calls.extend(health::API_CALLS);
    calls.sort();
    calls.dedup();
    calls
}
