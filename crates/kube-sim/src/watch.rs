//! Watches: the history's records, what a watch is interested in, and how a change looks to it.
//!
//! May call: `crate::selectors`.

use crate::selectors::Selectors;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The type of a change as watch events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change in the history: the object after it and, for modifications and deletions, before
/// it (so that a watch with a selector can tell "stopped matching" from "changed", and a list
/// can be answered exactly at an older version).
#[derive(Debug)]
pub struct WatchRecord {
    pub rv: u64,
    /// When the change was made: the history forgets changes older than its retention.
    pub at: std::time::Instant,
    pub resource: String,
    pub namespace: String,
    pub event: EventType,
    pub object: Arc<Value>,
    pub previous: Option<Arc<Value>>,
}

/// What a watch is interested in.
#[derive(Debug, Clone)]
pub struct WatchFilter {
    pub resource: String,
    pub namespace: Option<String>,
    pub selectors: Selectors,
}

impl WatchFilter {
    /// The event this watch sees for a record, if any: an object that starts matching the
    /// selectors is ADDED for it, one that stops matching is DELETED, as the real API does.
    pub(crate) fn event_for(&self, record: &WatchRecord) -> Option<EventType> {
        if record.resource != self.resource || self.namespace.as_ref().is_some_and(|ns| *ns != record.namespace) {
            return None;
        }
        let now = self.selectors.matches(&record.object);
        let before = record.previous.as_ref().map(|p| self.selectors.matches(p));
        match (record.event, before, now) {
            (EventType::Modified, Some(false), true) => Some(EventType::Added),
            (EventType::Modified, Some(true), false) => Some(EventType::Deleted),
            (EventType::Modified, Some(false), false) => None,
            (event, _, true) => Some(event),
            (_, _, false) => None,
        }
    }
}

/// The start of a watch: what to send first, and the live feed after it.
pub struct WatchStart {
    pub initial: Vec<(EventType, Arc<Value>)>,
    pub(crate) start_rv: u64,
    pub live: broadcast::Receiver<Arc<WatchRecord>>,
}
