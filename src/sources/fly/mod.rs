//! Fly.io machines, through flyctl (reference/flyctl.md). Every call has a time limit; every
//! failure becomes a sentence with the command that fixes it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::FlySettings;
use crate::outside::Outside;
use crate::process::{self, ExecError};

mod apps;
mod logs;
mod machines;
mod metadata;

pub mod deploy_strategy;
pub mod machine_history;
mod platform;
pub use apps::FlySecret;
pub use logs::parse_log_line;
pub use machines::{Machine, MachineState};
pub use metadata::metadata_args;
mod version;
pub use super::platform::{LogLine, RecentLogs};
pub use platform::OnFly;
pub use version::{FlyctlVersion, KEEPS_STOPPED_SINCE};

#[derive(Debug, Clone, PartialEq)]
pub enum FlyError {
    NotInstalled { named: Option<String> },
    NotLoggedIn,
    AppNotFound { app: String },
    MachineNotFound { app: String, id: String },
    TimedOut { command: String, after: Duration },
    Failed { command: String, message: String },
    BadOutput { command: String, message: String },
    Interrupted,
}

impl std::fmt::Display for FlyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlyError::NotInstalled { named: Some(p) } => write!(
                f,
                "flyctl program {p:?} (from [fly] flyctl in botctl.toml) was not found"
            ),
            FlyError::NotInstalled { named: None } => write!(
                f,
                "flyctl is not installed (neither flyctl nor fly is on PATH)"
            ),
            FlyError::NotLoggedIn => {
                write!(f, "flyctl is not logged in")
            }
            FlyError::AppNotFound { app } => write!(
                f,
                "Fly app {app:?} was not found, or this Fly account cannot see it"
            ),
            FlyError::MachineNotFound { app, id } => {
                write!(f, "machine {id} was not found in Fly app {app:?}")
            }
            FlyError::TimedOut { command, after } => write!(
                f,
                "`{command}` did not answer within {}s and was stopped",
                after.as_secs()
            ),
            FlyError::Failed { command, message } => write!(f, "`{command}` failed: {message}"),
            FlyError::BadOutput { command, message } => {
                write!(
                    f,
                    "`{command}` printed something botctl cannot read: {message}"
                )
            }
            FlyError::Interrupted => write!(f, "interrupted"),
        }
    }
}

impl FlyError {
    /// The command that fixes it, when there is one.
    pub fn fix(&self) -> Option<String> {
        match self {
            FlyError::NotInstalled { .. } => {
                Some("curl -L https://fly.io/install.sh | sh   # or: brew install flyctl".into())
            }
            FlyError::NotLoggedIn => Some("flyctl auth login".into()),
            FlyError::AppNotFound { .. } => {
                Some("flyctl apps list   # then fix fly_app in botctl.toml".into())
            }
            FlyError::TimedOut { .. } => {
                Some("check the network and run it again, or raise [fly] timeout".into())
            }
            _ => None,
        }
    }

    /// The error and its fix in one sentence, for places with room for one line (JSON).
    pub fn with_fix(&self) -> String {
        match self.fix() {
            Some(fix) => format!("{self}; fix: {fix}"),
            None => self.to_string(),
        }
    }
}

/// A flyctl failure inside a workflow is a failed step, told with its fix.
impl From<FlyError> for crate::error::Error {
    fn from(e: FlyError) -> Self {
        match e {
            FlyError::Interrupted => crate::error::Error::Interrupted,
            other => crate::error::Error::StepFailed(other.with_fix()),
        }
    }
}
#[derive(Debug, Clone)]
pub struct Flyctl {
    program: Result<PathBuf, FlyError>,
    timeout: Duration,
}

impl Flyctl {
    pub fn new(settings: &FlySettings, root: &Path) -> Self {
        let program = match &settings.flyctl {
            Some(name) => process::find_program(name, root).ok_or(FlyError::NotInstalled {
                named: Some(name.clone()),
            }),
            None => process::find_program("flyctl", root)
                .or_else(|| process::find_program("fly", root))
                .ok_or(FlyError::NotInstalled { named: None }),
        };
        Flyctl {
            program,
            timeout: settings.timeout,
        }
    }

    pub fn installed(&self) -> Result<&Path, FlyError> {
        self.program.as_deref().map_err(Clone::clone)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs flyctl and classifies a failure; returns stdout.
    /// This flyctl with each call limited to `limit` (the rest of a source's own deadline).
    pub fn within(&self, limit: Duration) -> Flyctl {
        Flyctl {
            program: self.program.clone(),
            timeout: self.timeout.min(limit),
        }
    }

    fn call(&self, args: &[&str], limit: Duration) -> Result<String, FlyError> {
        let program = self.installed()?;
        let command = format!("flyctl {}", args.join(" "));
        let out = process::run(program, args, limit).map_err(|e| from_exec(&command, e))?;
        if out.success() {
            return Ok(out.stdout);
        }
        Err(classify(args, out.error_line()))
    }

    pub fn whoami(&self) -> Result<Outside, FlyError> {
        self.call(&["auth", "whoami"], self.timeout)
            .map(|s| Outside::from(s.trim()))
    }
}

fn from_exec(command: &str, e: ExecError) -> FlyError {
    match e {
        ExecError::NotFound { .. } => FlyError::NotInstalled { named: None },
        ExecError::TimedOut { after, .. } => FlyError::TimedOut {
            command: command.to_string(),
            after,
        },
        ExecError::Interrupted => FlyError::Interrupted,
        ExecError::Io { message, .. } => FlyError::Failed {
            command: command.to_string(),
            message,
        },
        e @ ExecError::TooMuch { .. } => FlyError::Failed {
            command: command.to_string(),
            message: e.to_string(),
        },
    }
}

/// flyctl's `Error: …` line as a `FlyError`.
fn classify(args: &[&str], line: String) -> FlyError {
    let command = format!("flyctl {}", args.join(" "));
    let app = flag_value(args, "--app").unwrap_or_default();
    if line.contains("no access token available") || line.contains("auth login") {
        FlyError::NotLoggedIn
    } else if line.contains("app not found") || line.contains("Could not find App") {
        FlyError::AppNotFound { app }
    } else if line.contains("was not found in app") {
        FlyError::MachineNotFound {
            app,
            id: args.get(2).unwrap_or(&"").to_string(),
        }
    } else {
        FlyError::Failed {
            command,
            message: line,
        }
    }
}

fn flag_value(args: &[&str], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1))
        .map(|s| s.to_string())
}
