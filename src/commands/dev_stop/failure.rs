//! Why a dev-stop step failed: a copy that survived or came back, a stop command that failed.
//! Each `Display` is the sentence the user reads.

use std::fmt;

use crate::model::{HostName, Pid};
use crate::process::ExecError;
use crate::sources::supervisor::SupervisorKind;

#[derive(Debug)]
pub enum StopFailure {
    /// Copies that started again after the stop (`on`: " on host X", or nothing here).
    CameBack { on: String, copies: Vec<String> },
    /// Copies still running after the stop, described.
    StillRunning { copies: Vec<String> },
    /// The shell or reloader that keeps a copy alive could not be signalled.
    ParentNotEnded {
        pid: Pid,
        kind: SupervisorKind,
        name: String,
        source: nix::errno::Errno,
    },
    /// A supervisor's stop command here: its program is not installed.
    NotInstalled { argv: Vec<String> },
    /// A supervisor's stop command here could not be run.
    NotRun {
        argv: Vec<String>,
        source: ExecError,
    },
    /// A supervisor's stop command here ran and failed: what it said.
    CommandFailed { argv: Vec<String>, said: String },
    /// A stop command on a host ran and failed: what it said, shown escaped.
    FailedOnHost {
        shown: String,
        host: HostName,
        said: String,
    },
}

impl fmt::Display for StopFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopFailure::CameBack { on, copies } => {
                write!(
                    f,
                    "a copy came back{on} after the stop: {}",
                    copies.join("; ")
                )
            }
            StopFailure::StillRunning { copies } => {
                write!(f, "still running: {}", copies.join("; "))
            }
            StopFailure::ParentNotEnded {
                pid,
                kind,
                name,
                source,
            } => write!(f, "could not end pid {pid} ({kind} {name}): {source}"),
            StopFailure::NotInstalled { argv } => write!(
                f,
                "{} is not installed (not on PATH); run: {}",
                argv.first().map_or("", String::as_str),
                argv.join(" ")
            ),
            StopFailure::NotRun { argv, source } => write!(f, "`{}`: {source}", argv.join(" ")),
            StopFailure::CommandFailed { argv, said } => {
                write!(f, "`{}` failed: {said}", argv.join(" "))
            }
            StopFailure::FailedOnHost { shown, host, said } => {
                write!(f, "`{shown}` failed on host {host}: {said}")
            }
        }
    }
}

impl std::error::Error for StopFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StopFailure::ParentNotEnded { source, .. } => Some(source),
            StopFailure::NotRun { source, .. } => Some(source),
            _ => None,
        }
    }
}
