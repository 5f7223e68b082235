//! Other hosts (`[[host]]`): the processes, supervisors and autostart entries of a server, read
//! with one ssh round trip. The server only prints records (`scan.sh`); they are matched here
//! by the local scan's own rules (`local::bot_of`, `local::one_per_wrapper`,
//! `supervisor::decide`, `identity::decide`): one set of rules, two readers. Whose copy a
//! process is, there, is told by the SHA-256 of its token variable, computed on the host.
//!
//! By job: the ssh transport (`ssh.rs`), the scan's output read into instances (`scan.rs`) and
//! autostart entries (`autostart.rs`), its named parts (`sections.rs`); here, the two scripts
//! and what dev-stop and the survey call.

mod autostart;
mod error;
mod scan;
mod sections;
mod ssh;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::config::{Bot, Host};
use crate::model::{Pid, ProcessIdentity, Uid};
use crate::sources::autostart::AutostartScan;
use crate::sources::identity;
use crate::sources::local::{BotProcess, Maybe};
use crate::sources::telegram::Tokens;

pub use error::{HostError, ScanProblem};
pub use scan::parse;
pub use ssh::ssh;
use ssh::status_words;

/// The script `sh -s` runs there: fixed text, nothing of botctl's environment in it.
pub(super) const SCAN: &str = include_str!("scan.sh");
/// dev-stop's script: signals (or only checks) the listed processes that are still the ones
/// botctl saw and belong to the ssh user.
pub(super) const SIGNAL: &str = include_str!("signal.sh");

/// What [`signal`] does to each process that is still the one botctl saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    /// Only say whether it still runs.
    Check,
}

/// A process as the scan saw it: signal.sh signals it only while pid, start time, owner and
/// command line are all still these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedProcess {
    /// Its pid and start time (seconds since the epoch, as the scan computed it).
    pub identity: ProcessIdentity,
    /// The first bytes of `/proc/PID/cmdline`, hex (what `od -An -tx1` prints).
    pub cmdline_hex: String,
}

/// How much of a command line signal.sh compares.
const CMDLINE_COMPARED: usize = 4096;

pub(super) fn hex_of(cmdline: &str) -> String {
    use std::fmt::Write;
    let bytes = cmdline.as_bytes();
    let mut out = String::with_capacity(2 * bytes.len().min(CMDLINE_COMPARED));
    for b in bytes.iter().take(CMDLINE_COMPARED) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Sends `signal` to each process on the host that is still the one seen, is the ssh user's
/// and has not exited; returns those pids (with `Check`: the ones still running).
pub fn signal(
    host: &Host,
    signal: Signal,
    targets: &[&ScannedProcess],
) -> Result<Vec<Pid>, HostError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut remote = vec![
        "sh".to_string(),
        "-s".into(),
        "--".into(),
        match signal {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
            Signal::Check => "CHECK",
        }
        .into(),
    ];
    remote.extend(targets.iter().map(|seen| {
        format!(
            "{}:{}:{}",
            seen.identity.pid,
            seen.identity.started.map_or(-1, |s| s.as_second()),
            seen.cmdline_hex
        )
    }));
    let remote: Vec<&str> = remote.iter().map(String::as_str).collect();
    let out = ssh(host, &remote, SIGNAL)?;
    if !out.success() {
        return Err(HostError::SignalFailed {
            host: host.name.clone(),
            status: status_words(&out),
            said: out.error_line(),
        });
    }
    Ok(out
        .stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect())
}

/// One look at a host.
#[derive(Debug, Clone, Default)]
pub struct HostScan {
    pub instances: Vec<BotProcess>,
    /// Processes there that run a bot's entry and cannot be told to be this project's copy.
    pub maybe: Vec<Maybe>,
    pub autostart: AutostartScan,
    /// The uid botctl logs in as there: dev-stop touches that user's processes only.
    pub uid: Uid,
    /// Every process there as it was seen, by pid: dev-stop signals a pid only while it is
    /// still the process it saw.
    pub seen: HashMap<Pid, ScannedProcess>,
}

/// Reads `host` for these bots (those it may run); `tokens`: the project's, which tell each
/// bot's copies there.
pub fn read(host: &Host, bots: &[&Bot], tokens: &Tokens) -> Result<HostScan, HostError> {
    let bots: Vec<&Bot> = bots
        .iter()
        .filter(|b| host.may_run(&b.name))
        .copied()
        .collect();
    let wanted = identity::wanted(&bots, tokens);
    let args = scan_args(&bots);
    let mut remote = vec!["sh", "-s", "--"];
    remote.extend(args.iter().map(String::as_str));
    let out = ssh(host, &remote, SCAN)?;
    if !out.success() {
        return Err(HostError::ScanFailed {
            host: host.name.clone(),
            status: status_words(&out),
            said: out.error_line(),
        });
    }
    parse(&out.stdout, &bots, &wanted).map_err(|problem| HostError::Answer {
        host: host.name.clone(),
        problem,
    })
}

/// scan.sh's arguments, quoted for the login shell: how many token variables, the variables,
/// then the names that mark a process as a candidate (scripts' file names, modules).
fn scan_args(bots: &[&Bot]) -> Vec<String> {
    let mut vars: Vec<&str> = bots
        .iter()
        .filter_map(|b| b.token_env.as_deref())
        // config checks them; only a plain name goes into the script's sed pattern
        .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    vars.sort();
    vars.dedup();
    let mut names: Vec<&str> = bots
        .iter()
        .map(|b| match &b.entry {
            crate::model::Entry::Script(script) => crate::sources::argv::base_name(script),
            crate::model::Entry::Module(module) => module.as_str(),
        })
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    let mut args = vec![vars.len().to_string()];
    args.extend(vars.iter().chain(&names).map(|w| crate::shell::word(w)));
    args
}
