//! Integration tests over real HTTP: the booth against the simulated Kubernetes API (its own
//! conformance tests are in crates/kube-sim), the watch loop, and the `conferenceli` binary
//! itself. One test binary, one link.

mod common;

mod architecture;
mod attract;
mod automations;
mod availability;
mod binary;
mod blinkt;
mod booth_day;
mod browser;
mod check;
mod chromium;
mod cluster_state;
mod dashboard;
mod docs;
mod evictions;
mod form;
mod fuzz;
mod fuzz_http;
mod headers;
mod kiosk_health;
mod kiosk_soak;
mod kubectl;
mod labels;
mod leads;
mod leds;
mod limits;
mod manifests;
mod observability;
mod odoo_double;
mod secrets;
mod security;
mod settings;
mod shipping;
mod theatre;
mod under_fire;
mod visitor;
mod webdriver;
