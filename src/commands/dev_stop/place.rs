//! Where dev-stop works, as the steps see it: the [`Place`] trait (this machine, or a
//! `[[host]]` over ssh) and the signal the steps ask a place to send.

use std::time::Duration;

use crate::config::Bot;
use crate::error::{Error, Result};
use crate::model::Pid;
use crate::sources::local::{BotProcess, Maybe};

/// What one look at a place found: this user's instances, everyone else's, and the processes
/// that may be another project's copy (listed, never touched).
pub(super) type PlaceScan = (Vec<BotProcess>, Vec<BotProcess>, Vec<Maybe>);

/// A signal dev-stop sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sig {
    Term,
    Kill,
}

/// Where dev-stop works: this machine, or a `[[host]]` over ssh. The steps are the same; a
/// place knows how it is scanned, how its supervisors are stopped and how its processes are
/// signalled (only this user's, only while each is still the process the scan saw).
pub(super) trait Place {
    /// "this machine", "host vps".
    fn name(&self) -> String;
    /// "", " on host vps": after "Stop these instances".
    fn on(&self) -> String;
    /// Step 1's title.
    fn find_title(&self) -> String;
    /// How instances that are not ours are described ("another user's").
    fn not_ours(&self) -> &'static str;
    /// How often to look while waiting.
    fn poll(&self) -> Duration;
    /// (this user's instances, everyone else's, the copies that cannot be told), read anew.
    fn find(&mut self, bots: &[&Bot]) -> Result<PlaceScan>;
    fn describe(&self, i: &BotProcess) -> String;
    /// A supervisor that cannot be stopped from here: the refusal with the command to run.
    fn refusal(&self, mine: &[BotProcess]) -> Option<Error>;
    /// Runs each supervisor's stop once; says what was done.
    fn stop_supervisors(&self, supervised: &[&BotProcess]) -> Result<Vec<String>>;
    /// Sends `sig` to those still running; returns the pids signalled.
    fn send(&self, instances: &[BotProcess], sig: Sig) -> Result<Vec<Pid>>;
    /// The pids of those still running.
    fn alive(&self, instances: &[BotProcess]) -> Result<Vec<Pid>>;
}
