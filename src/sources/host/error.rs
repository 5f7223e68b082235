//! Why a host could not be read or told to signal: ssh's failures and an answer that is not
//! botctl's scan. `Display` is the sentence the user reads.

use std::fmt;
use std::time::Duration;

use crate::model::{HostName, Pid};
use crate::process::ExecError;

#[derive(Debug, Clone)]
pub enum HostError {
    /// ssh is not on PATH here.
    NoSsh,
    /// ssh did not answer within the host's timeout.
    SshTimedOut {
        ssh: String,
        after: Duration,
        host: HostName,
    },
    /// ssh could not be run (or printed too much, or was interrupted).
    SshRun(ExecError),
    /// ssh's own failure (unreachable, refused key, unknown host): its last line.
    Ssh { ssh: String, said: String },
    /// The signalling script ran and failed.
    SignalFailed {
        host: HostName,
        status: String,
        said: String,
    },
    /// The scan script ran and failed.
    ScanFailed {
        host: HostName,
        status: String,
        said: String,
    },
    /// The scan ran, and its answer is not one botctl trusts.
    Answer {
        host: HostName,
        problem: ScanProblem,
    },
}

/// What is wrong with a scan's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanProblem {
    /// Something else answered (a login banner, another shell): its first characters.
    NotTheScan {
        start: String,
    },
    CutShort,
    NoUid,
    NotWhatBotctlPrinted,
    /// A pid named twice among the command lines: another user's argv forged a header.
    Tampered {
        pid: Pid,
    },
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NoSsh => f.write_str("ssh is not installed (not on PATH)"),
            HostError::SshTimedOut { ssh, after, host } => write!(
                f,
                "ssh {ssh} did not answer within {}s (timeout of host {host})",
                after.as_secs_f32().round()
            ),
            HostError::SshRun(e) => write!(f, "{e}"),
            HostError::Ssh { ssh, said } => write!(f, "ssh {ssh}: {said}"),
            HostError::SignalFailed { host, status, said } => {
                write!(f, "signalling on {host} failed ({status}): {said}")
            }
            HostError::ScanFailed { host, status, said } => {
                write!(f, "the scan failed on {host} ({status}): {said}")
            }
            HostError::Answer { host, problem } => write!(f, "{host}: {problem}"),
        }
    }
}

impl fmt::Display for ScanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanProblem::NotTheScan { start } => write!(
                f,
                "the server did not run botctl's scan (it printed {start:?}); does the login \
shell run `sh -s`?"
            ),
            ScanProblem::CutShort => f.write_str("the scan's output was cut short"),
            ScanProblem::NoUid => f.write_str("the scan printed no uid"),
            ScanProblem::NotWhatBotctlPrinted => {
                f.write_str("the scan's output is not what botctl printed")
            }
            ScanProblem::Tampered { pid } => write!(
                f,
                "the scan's answer was tampered with: process {pid} is named twice in the list \
of command lines (a process's arguments imitate botctl's records); not trusting this host's \
answer"
            ),
        }
    }
}

impl std::error::Error for HostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HostError::SshRun(e) => Some(e),
            HostError::Answer { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

impl std::error::Error for ScanProblem {}
