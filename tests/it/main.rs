//! Integration tests over real HTTP: the simulated Kubernetes API driven by kube-rs and kubectl,
//! the watch loop, and the `conferenceli` binary itself. One test binary, one link.

mod common;

mod binary;
mod cluster_state;
mod form;
mod kubectl;
mod leads;
mod odoo_double;
mod sim_api;
