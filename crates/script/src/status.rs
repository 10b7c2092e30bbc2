//! Per-script status shown by `/scripts/json`, updated by the script's thread and read by REST handlers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use rtflow_engine::SubscriptionStats;
use serde_json::{Value, json};

/// Counters and state of one script.
#[derive(Debug, Default)]
pub(crate) struct ScriptStatus {
    pub alive: AtomicBool,
    /// The script ended without an error (it was stopped).
    pub graceful_exit: AtomicBool,
    /// The last error (`file#line Name: message`).
    pub error: Mutex<Option<String>>,
    /// CPU time spent by the script's thread, in ns.
    pub cpu_ns: AtomicU64,
    pub flows_received: AtomicU64,
    pub events_received: AtomicU64,
    pub requests_received: AtomicU64,
    pub requests_lost: AtomicU64,
    /// Every flow / event subscription the script made (a new handler re-subscribes).
    pub flow_subscriptions: Mutex<Vec<SubscriptionStats>>,
    pub event_subscriptions: Mutex<Vec<SubscriptionStats>>,
    /// Callbacks interrupted for running past the time budget.
    pub interrupted: AtomicU64,
}

fn lost(subscriptions: &Mutex<Vec<SubscriptionStats>>) -> u64 {
    subscriptions
        .lock()
        .iter()
        .map(SubscriptionStats::lost)
        .sum()
}

impl ScriptStatus {
    pub(crate) fn set_error(&self, message: String) {
        *self.error.lock() = Some(message);
    }

    pub(crate) fn is_ok(&self) -> bool {
        self.error.lock().is_none()
            && (self.alive.load(Ordering::Relaxed) || self.graceful_exit.load(Ordering::Relaxed))
    }

    /// The `/scripts/json` entry.
    pub(crate) fn to_json(&self) -> Value {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut entry = json!({
            "alive": self.alive.load(Ordering::Relaxed),
            "gracefulExit": self.graceful_exit.load(Ordering::Relaxed),
            "cpuMs": get(&self.cpu_ns) / 1_000_000,
            "flowsReceived": get(&self.flows_received),
            "flowsLost": lost(&self.flow_subscriptions),
            "eventsReceived": get(&self.events_received),
            "eventsLost": lost(&self.event_subscriptions),
            "requestsReceived": get(&self.requests_received),
            "requestsLost": get(&self.requests_lost),
            "interrupted": get(&self.interrupted),
        });
        if let Some(error) = self.error.lock().clone() {
            entry["error"] = Value::String(error);
        }
        entry
    }
}
