//! Integration tests over real HTTP: the simulated Kubernetes API driven by kube-rs and kubectl,
//! the watch loop, and the `conferenceli` binary itself. One test binary, one link.

mod common;

mod automations;
mod binary;
mod blinkt;
mod booth_day;
mod browser;
mod chromium;
mod cluster_state;
mod dashboard;
mod form;
mod fuzz;
mod fuzz_http;
mod headers;
mod kubectl;
mod labels;
mod leads;
mod leds;
mod observability;
mod odoo_double;
mod secrets;
mod security;
mod shipping;
mod sim_api;
mod under_fire;
mod visitor;
