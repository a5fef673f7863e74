//! conferenceli: one binary that runs a conference booth's Kubernetes show.
//!
//! The parts, each in its own module with a doc comment that says what it owns:
//!
//! - [`cluster`]: the kube client, one watch per resource, the shared [`cluster::ClusterState`];
//! - [`sim`]: the simulated Kubernetes API server for `demo` and the tests;
//! - [`web`]: the HTTP listeners (kiosk, staff, probes);
//! - [`booth`]: the `Booth` custom resource (settings and counters);
//! - [`leads`]: the contact form's leads, their outbox controller and the Odoo clients;
//! - [`config`], [`telemetry`], [`metrics`], [`app`], [`commands`]: settings, logs, metrics, wiring,
//!   subcommands;
//! - [`crds`]: the CRDs this project defines.

pub mod app;
pub mod booth;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod crds;
pub mod leads;
pub mod metrics;
pub mod sim;
pub mod telemetry;
pub mod web;
