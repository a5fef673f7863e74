//! Integration tests over real HTTP: the simulated Kubernetes API driven by kube-rs and kubectl,
//! the watch loop, and the `conferenceli` binary itself. One test binary, one link.

mod common;

mod binary;
mod browser;
mod cluster_state;
mod dashboard;
mod kubectl;
mod sim_api;
