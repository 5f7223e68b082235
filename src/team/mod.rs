//! Handoff records on Fly: who took a bot off Fly.io and when, written by dev-start onto the
//! machines it stopped (machine metadata `botctl_by`, `botctl_at`, `botctl_bot`) and read back
//! from the `machine list` every command makes anyway. The one truth a team shares: a
//! teammate's laptop, which no source of this machine can see, becomes a place botctl can name.
//!
//! A metadata update is a full machine config update (reference/flyctl.md, "Metadata"): it
//! reboots a running machine. So records are written only on stopped machines, with
//! `--skip-start`, and cleared before the machines are started; only `botctl_` keys, never
//! Fly's own `fly_` ones.
//!
//! By job: who and where botctl runs (`whoami.rs`), the records read from machines
//! (`record.rs`) and written onto them (`write.rs`), and `status --json`'s view of a record
//! (`json.rs`). Times as a person says them are `crate::time`'s.

mod json;
mod record;
mod whoami;
mod write;

pub use json::HandoffJson;
pub use record::{Record, on_machine, record, record_in, records, remember_sights_in};
pub use whoami::{here, who};
pub use write::{CLEARED, Written, record_pairs, write, write_commands};

pub const BY: &str = "botctl_by";
pub const AT: &str = "botctl_at";
pub const BOT: &str = "botctl_bot";
/// The machine the record was written on: [`here`], a short id that does not name it.
pub const ON: &str = "botctl_on";
/// On a platform that keeps a count: the count before dev-start scaled it to zero.
pub const SCALE: &str = "botctl_scale";
