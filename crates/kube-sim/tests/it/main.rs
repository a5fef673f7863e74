//! The simulated API over real HTTP, held to kube-apiserver's behaviour by clients nobody here
//! wrote: kube-rs, a stock kubectl, the official Python and JavaScript clients, and plain HTTP
//! for the wire details. One test binary, one link.
//!
//! The cluster under test is shaped like the booth's that first used this crate (StatefulSet
//! `critical-prod` in `demopod` over the nodes `conferenceli`, `pico-1`, `pico-2`) and serves
//! that project's two CRDs, kept as fixtures (`tests/fixtures/`): real schemas with enums,
//! defaults, formats, required fields and status subresources.

mod common;

mod api;
mod auth;
mod clients;
mod conformance;
mod disruption;
mod events;
mod kubectl;
mod selectors;
