//! A record as `status --json` shows it.

use std::time::Duration;

use serde::Serialize;

use super::Record;
use crate::model::MachineId;

/// `status --json`'s `handoff`.
#[derive(Debug, Serialize)]
pub struct HandoffJson {
    pub by: String,
    /// When it was written; for a record stamped in the future, its first sight.
    pub at: String,
    pub machines: Vec<MachineId>,
    pub mine: bool,
    pub stale: bool,
}

impl HandoffJson {
    pub fn new(r: &Record, stale: Duration) -> Self {
        HandoffJson {
            by: r.by.to_string(),
            at: r
                .at
                .map(|t| t.to_string())
                .unwrap_or_else(|| r.at_text.clone()),
            machines: r.machines.clone(),
            mine: r.is_mine(),
            stale: r.is_stale(stale),
        }
    }
}
