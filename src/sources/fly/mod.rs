//! Fly.io machines, through flyctl (reference/flyctl.md). Every call has a time limit; every
//! failure becomes a sentence with the command that fixes it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::FlySettings;
use crate::fix::Fix;
use crate::outside::Outside;
use crate::process::{self, ExecError};

mod apps;
pub mod groups;
mod logs;
mod machines;
mod metadata;

pub mod deploy_strategy;
pub mod machine_history;
mod platform;
pub use apps::FlySecret;
pub use groups::{AppMachines, BotOnFly};
pub use logs::{logs_failed, parse_log_line};
pub use machines::{Machine, MachineState, ProxyAutostart};
mod version;
pub use super::platform::{LogLine, RecentLogs};
pub use platform::{FlyLook, OnFly};
pub use version::{FlyctlVersion, KEEPS_STOPPED_SINCE};

#[derive(Debug, Clone, PartialEq)]
pub enum FlyError {
    NotInstalled {
        named: Option<String>,
    },
    NotLoggedIn,
    AppNotFound {
        app: String,
    },
    MachineNotFound {
        app: String,
        id: String,
    },
    /// Several process groups, and nothing tells which one runs the bot.
    GroupUnclear {
        app: String,
        groups: Vec<Outside>,
    },
    TimedOut {
        command: String,
        after: Duration,
    },
    Failed {
        command: String,
        message: String,
    },
    BadOutput {
        command: String,
        message: String,
    },
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
            FlyError::GroupUnclear { app, groups } => write!(
                f,
                "Fly app {app:?} has several process groups ({}) and nothing tells which one \
runs the bot: its machines were not checked",
                groups
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            FlyError::TimedOut { command, after } => write!(
                f,
                "flyctl was {} and did not answer within {}s: `{command}` was stopped",
                doing(command),
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
    pub fn fix(&self) -> Option<Fix> {
        match self {
            FlyError::NotInstalled { .. } => Some(Fix::install_flyctl()),
            FlyError::NotLoggedIn => Some(Fix::run(&["flyctl", "auth", "login"])),
            FlyError::AppNotFound { .. } => {
                Some(Fix::run(&["flyctl", "apps", "list"]).note("then fix fly_app in botctl.toml"))
            }
            FlyError::GroupUnclear { groups, .. } => Some(Fix::name_process_group(
                &groups.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )),
            FlyError::TimedOut { .. } => Some(Fix::instruction(
                "check the network and run it again, or raise [fly] timeout",
            )),
            _ => None,
        }
    }

    /// The error and its fix in one sentence, for places with room for one line (JSON).
    pub fn with_fix(&self) -> String {
        crate::fix::with_fix(self, self.fix().as_ref())
    }
}

impl std::error::Error for FlyError {}

/// flyctl's `--json` answer is not the list botctl asked for (`what`: "machines", "apps").
#[derive(Debug)]
pub struct NotAList {
    what: &'static str,
    source: serde_json::Error,
}

impl NotAList {
    fn of(what: &'static str, source: serde_json::Error) -> Self {
        NotAList { what, source }
    }
}

impl std::fmt::Display for NotAList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected a JSON list of {} ({})", self.what, self.source)
    }
}

impl std::error::Error for NotAList {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A flyctl failure inside a workflow is a failed step, told with its fix.
impl From<FlyError> for crate::error::Error {
    fn from(e: FlyError) -> Self {
        match e {
            FlyError::Interrupted => crate::error::Error::Interrupted,
            other => {
                let fix = other.fix();
                crate::error::Error::failed(other, fix)
            }
        }
    }
}
#[derive(Debug, Clone)]
pub struct Flyctl {
    program: Result<PathBuf, FlyError>,
    timeout: Duration,
    /// Inside one look ([`Flyctl::for_one_look`]): each app's machine list, read once.
    lists: Option<std::sync::Arc<Lists>>,
}

/// Per app, its `machine list` answer once it is read; a second asker waits for the first.
type Lists = std::sync::Mutex<
    std::collections::BTreeMap<String, std::sync::Arc<std::sync::OnceLock<MachineList>>>,
>;
type MachineList = Result<Vec<Machine>, FlyError>;

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
            lists: None,
        }
    }

    /// This flyctl for one look at everything (a survey, one round of watch): each app's
    /// `machine list` runs once and its answer is shared, so bots in one app cost one call
    /// however many of them ask through the platform seam. Never for a wait, which must see
    /// the machines change.
    pub fn for_one_look(&self) -> Flyctl {
        Flyctl {
            lists: Some(Default::default()),
            ..self.clone()
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
            lists: self.lists.clone(),
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
    } else if line.contains("app not found")
        || line.contains("Could not find App")
        // The logs API answers a missing app with a bare 404.
        || (args.first() == Some(&"logs") && line.contains("404 Not Found"))
    {
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

/// What flyctl was doing when `command` (`flyctl machine list --app lb --json`) ran past its
/// limit, as a person says it.
fn doing(command: &str) -> String {
    let words: Vec<&str> = command.split(' ').collect();
    let app = flag_value(&words, "--app")
        .map(|a| format!(" of {a}"))
        .unwrap_or_default();
    let id = words.get(3).copied().unwrap_or("");
    match words.get(1..3).unwrap_or(&[]) {
        ["machine", "list"] => format!("listing the machines{app}"),
        ["machine", "stop"] => format!("stopping machine {id}{app}"),
        ["machine", "start"] => format!("starting machine {id}{app}"),
        ["machine", "update"] => format!("writing the handoff record on machine {id}{app}"),
        ["logs", ..] => format!("reading the logs{app}"),
        ["secrets", "list"] => format!("listing the secrets{app}"),
        ["apps", "list"] => "listing the Fly apps".to_string(),
        ["auth", "whoami"] => "checking who is logged in".to_string(),
        ["version", ..] => "telling its version".to_string(),
        ["deploy", ..] => format!("deploying{app}"),
        _ => "running".to_string(),
    }
}

fn flag_value(args: &[&str], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1))
        .map(|s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_says_what_flyctl_was_doing() {
        let e = from_exec(
            "flyctl machine list --app lb --json",
            ExecError::TimedOut {
                command: "flyctl".into(),
                after: Duration::from_secs(2),
            },
        );
        let said = e.to_string();
        assert!(
            said.starts_with("flyctl was listing the machines of lb"),
            "{said}"
        );
        assert!(said.contains("within 2s"), "{said}");
        let stop = doing("flyctl machine stop 148ed193b95089 --app lb");
        assert_eq!(stop, "stopping machine 148ed193b95089 of lb");
    }
}
