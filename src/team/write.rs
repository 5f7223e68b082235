//! Writing records onto stopped machines (and clearing them), and the same commands as a
//! person would type them.

use super::{AT, BOT, BY, ON};
use crate::fix::Fix;
use crate::model::MachineId;
use crate::sources::fly::{Flyctl, OnFly};
use crate::sources::platform::{Platform, PlatformError};

/// What a write of the record onto one machine did.
pub struct Written {
    pub machine: MachineId,
    pub result: Result<(), PlatformError>,
    /// The command as typed, to retry it by hand.
    pub command: Fix,
}

/// The keys dev-start writes: who, on which machine, when, which bot.
pub fn record_pairs<'a>(
    who: &'a str,
    on: &'a str,
    at: &'a str,
    bot: &'a str,
) -> [(&'static str, &'a str); 4] {
    [(BY, who), (ON, on), (AT, at), (BOT, bot)]
}

/// The keys deploy-resume writes to clear a record (flyctl has no flag that removes a key).
pub const CLEARED: [(&str, &str); 4] = [(BY, ""), (ON, ""), (AT, ""), (BOT, "")];

/// Writes `pairs` onto each of `ids`, which the caller has seen `stopped`. Every key is a
/// `botctl_` key: Fly rewrites its own `fly_` keys on deploy.
pub fn write(fly: &Flyctl, app: &str, ids: &[MachineId], pairs: &[(&str, &str)]) -> Vec<Written> {
    debug_assert!(pairs.iter().all(|(k, _)| k.starts_with("botctl_")));
    let on_fly = OnFly::app(fly, app);
    ids.iter()
        .zip(write_commands(app, ids, pairs))
        .map(|(id, command)| Written {
            machine: id.clone(),
            result: on_fly.write_record(&id.as_str().into(), pairs),
            command,
        })
        .collect()
}

/// The commands [`write`] runs, as a person would type them (values quoted for the shell).
pub fn write_commands(app: &str, ids: &[MachineId], pairs: &[(&str, &str)]) -> Vec<Fix> {
    ids.iter()
        .map(|id| Fix::set_metadata(app, id, pairs))
        .collect()
}
