//! Fly.io machines, through flyctl (reference/flyctl.md). Every call has a time limit; every
//! failure becomes a sentence with the command that fixes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::FlySettings;
use crate::exec::{self, ExecError};
use crate::model::MachineId;

pub mod machine_history;
mod platform;
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

/// A Fly machine as botctl needs it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Machine {
    pub id: MachineId,
    pub state: MachineState,
    pub region: String,
    /// Fly Proxy may start it again by itself (a service with autostart, the default).
    #[serde(skip)]
    pub proxy_autostart: bool,
    /// `config.metadata`: where handoff records live (`crate::team`), read from the same list.
    #[serde(skip)]
    pub metadata: BTreeMap<String, String>,
    /// Its creation, recent events and botctl's handoff record (from the same listing).
    #[serde(skip)]
    pub history: machine_history::History,
}

/// A machine's state as flyctl names it (reference/flyctl.md); one flyctl does not know yet
/// is kept as it was printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineState {
    Created,
    Started,
    Stopped,
    Suspended,
    Failed,
    Creating,
    Starting,
    Stopping,
    Restarting,
    Suspending,
    Destroying,
    LaunchFailed,
    Updating,
    Replacing,
    Destroyed,
    Replaced,
    Migrated,
    Other(String),
}

impl MachineState {
    const NAMES: [(&'static str, MachineState); 17] = [
        ("created", MachineState::Created),
        ("started", MachineState::Started),
        ("stopped", MachineState::Stopped),
        ("suspended", MachineState::Suspended),
        ("failed", MachineState::Failed),
        ("creating", MachineState::Creating),
        ("starting", MachineState::Starting),
        ("stopping", MachineState::Stopping),
        ("restarting", MachineState::Restarting),
        ("suspending", MachineState::Suspending),
        ("destroying", MachineState::Destroying),
        ("launch_failed", MachineState::LaunchFailed),
        ("updating", MachineState::Updating),
        ("replacing", MachineState::Replacing),
        ("destroyed", MachineState::Destroyed),
        ("replaced", MachineState::Replaced),
        ("migrated", MachineState::Migrated),
    ];

    pub fn parse(s: &str) -> MachineState {
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, state)| state.clone())
            .unwrap_or_else(|| MachineState::Other(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            MachineState::Other(s) => s,
            known => Self::NAMES
                .iter()
                .find(|(_, state)| state == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// The SPEC's "counts as a place the bot runs".
    pub fn counts_as_running(&self) -> bool {
        matches!(
            self,
            MachineState::Started
                | MachineState::Starting
                | MachineState::Replacing
                | MachineState::Restarting
                | MachineState::Updating
        )
    }

    /// Down, and staying down until somebody starts it.
    pub fn is_stopped(&self) -> bool {
        matches!(self, MachineState::Stopped | MachineState::Suspended)
    }
}

impl From<&str> for MachineState {
    fn from(s: &str) -> Self {
        MachineState::parse(s)
    }
}

impl std::fmt::Display for MachineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MachineState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Machine {
    pub fn is_running(&self) -> bool {
        self.state.counts_as_running()
    }

    /// The command that keeps Fly Proxy from starting this machine by itself.
    pub fn proxy_fix(&self, app: &str) -> String {
        format!(
            "flyctl machine update {} --app {app} --autostart=false \
--skip-start   # or auto_start_machines = false in fly.toml",
            self.id
        )
    }
}

/// After a log line, how long a pause means flyctl has printed its whole buffer (it prints the
/// buffer in one go).
const LOGS_IDLE: Duration = Duration::from_millis(1500);

/// flyctl's own apps, made for `flyctl ssh console` sessions: never a bot.
const FLYCTL_OWN_APPS: &str = "flyctl-interactive-shells-";

/// A Fly secret as `flyctl secrets list --json` shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Secret {
    pub name: String,
    /// Computed by Fly from the value: equal digests mean equal values.
    #[serde(default)]
    pub digest: String,
}

#[derive(Debug, Clone)]
pub struct Flyctl {
    program: Result<PathBuf, FlyError>,
    timeout: Duration,
}

impl Flyctl {
    pub fn new(settings: &FlySettings, root: &Path) -> Self {
        let program = match &settings.flyctl {
            Some(name) => exec::find_program(name, root).ok_or(FlyError::NotInstalled {
                named: Some(name.clone()),
            }),
            None => exec::find_program("flyctl", root)
                .or_else(|| exec::find_program("fly", root))
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
        let out = exec::run(program, args, limit).map_err(|e| from_exec(&command, e))?;
        if out.success() {
            return Ok(out.stdout);
        }
        Err(classify(args, out.error_line()))
    }

    pub fn machines(&self, app: &str) -> Result<Vec<Machine>, FlyError> {
        let args = ["machine", "list", "--app", app, "--json"];
        let stdout = self.call(&args, self.timeout)?;
        parse_machines(&stdout).map_err(|message| FlyError::BadOutput {
            command: format!("flyctl {}", args.join(" ")),
            message,
        })
    }

    pub fn stop(&self, app: &str, id: &str) -> Result<(), FlyError> {
        self.call(&["machine", "stop", id, "--app", app], self.timeout)
            .map(drop)
    }

    pub fn start(&self, app: &str, id: &str) -> Result<(), FlyError> {
        self.call(&["machine", "start", id, "--app", app], self.timeout)
            .map(drop)
    }

    /// Recent buffered log lines. `logs --no-tail` waits for ever on an empty buffer, so a
    /// time-out here means "no lines", not a failure.
    pub fn logs(&self, app: &str, limit: Duration) -> Result<Vec<LogLine>, FlyError> {
        match self.call(&["logs", "--app", app, "--no-tail"], limit) {
            Ok(out) => Ok(out.lines().filter_map(parse_log_line).collect()),
            Err(FlyError::TimedOut { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The buffered log lines, read as flyctl prints them. On an empty buffer flyctl prints
    /// nothing and waits for ever, so no first line within `first_line` means "empty"; after a
    /// line, a short pause means the buffer has been printed.
    pub fn recent_logs(
        &self,
        app: &str,
        first_line: Duration,
        limit: Duration,
    ) -> Result<RecentLogs, FlyError> {
        let program = self.installed()?;
        let args = ["logs", "--app", app, "--no-tail"];
        let command = format!("flyctl {}", args.join(" "));
        let waits = exec::Waits {
            first_line: first_line.min(limit),
            idle: LOGS_IDLE.min(limit),
            limit,
        };
        let out = exec::run_streaming(program, &args, waits).map_err(|e| from_exec(&command, e))?;
        if out.end == exec::StreamEnd::Exited && out.code.is_some_and(|c| c != 0) {
            return Err(classify(&args, out.error_line()));
        }
        let lines: Vec<LogLine> = out.lines.iter().filter_map(|l| parse_log_line(l)).collect();
        Ok(RecentLogs {
            empty: lines.is_empty(),
            complete: out.end != exec::StreamEnd::Limit,
            lines,
        })
    }

    /// Every app this Fly account can see, except flyctl's own (`flyctl-interactive-shells-*`).
    pub fn apps(&self) -> Result<Vec<String>, FlyError> {
        let args = ["apps", "list", "--json"];
        let stdout = self.call(&args, self.timeout)?;
        parse_apps(&stdout).map_err(|message| FlyError::BadOutput {
            command: format!("flyctl {}", args.join(" ")),
            message,
        })
    }

    /// The names and digests of an app's secrets (never their values: flyctl cannot show them).
    pub fn secrets(&self, app: &str) -> Result<Vec<Secret>, FlyError> {
        let args = ["secrets", "list", "--app", app, "--json"];
        let stdout = self.call(&args, self.timeout)?;
        parse_secrets(&stdout).map_err(|message| FlyError::BadOutput {
            command: format!("flyctl {}", args.join(" ")),
            message,
        })
    }

    /// `flyctl machine update ID --app APP --metadata K=V… --skip-start --yes`: merges the keys
    /// into the machine's metadata. A full config update: it reboots a running machine, so
    /// callers (`crate::team`) use it on stopped machines only; `--skip-start` keeps them
    /// stopped. Returns the command as typed, for a retry.
    pub fn update_metadata(
        &self,
        app: &str,
        id: &str,
        pairs: &[(&str, &str)],
    ) -> Result<(), FlyError> {
        let args = metadata_args(app, id, pairs);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.call(&args, self.timeout).map(drop)
    }

    pub fn whoami(&self) -> Result<String, FlyError> {
        self.call(&["auth", "whoami"], self.timeout)
            .map(|s| s.trim().to_string())
    }
}

/// The argv of a metadata update (without the program name).
pub fn metadata_args(app: &str, id: &str, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut args: Vec<String> = ["machine", "update", id, "--app", app]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (key, value) in pairs {
        args.push("--metadata".into());
        args.push(format!("{key}={value}"));
    }
    args.push("--skip-start".into());
    args.push("--yes".into());
    args
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

#[derive(Deserialize)]
struct RawMachine {
    id: MachineId,
    #[serde(default)]
    state: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    config: Option<RawMachineConfig>,
}

#[derive(Deserialize)]
struct RawMachineConfig {
    #[serde(default)]
    services: Option<Vec<RawService>>,
    /// A string→string map; a value of another type (never seen) is dropped, not an error.
    #[serde(default)]
    metadata: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct RawService {
    #[serde(default)]
    autostart: Option<bool>,
}

pub fn parse_machines(json: &str) -> Result<Vec<Machine>, String> {
    let raw: Vec<RawMachine> = serde_json::from_str(json.trim())
        .map_err(|e| format!("expected a JSON list of machines ({e})"))?;
    let mut histories = machine_history::parse_all(json).into_iter();
    Ok(raw
        .into_iter()
        .map(|m| {
            let (services, metadata) = m
                .config
                .map(|c| {
                    (
                        c.services.unwrap_or_default(),
                        c.metadata.unwrap_or_default(),
                    )
                })
                .unwrap_or_default();
            Machine {
                proxy_autostart: services.iter().any(|s| s.autostart != Some(false)),
                metadata: metadata
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
                    .collect(),
                id: m.id,
                state: MachineState::parse(&m.state),
                region: m.region,
                history: histories.next().unwrap_or_default(),
            }
        })
        .collect())
}

/// fly-go's `App`: Go field names as keys; everything but the name is ignored.
#[derive(Deserialize)]
struct RawApp {
    #[serde(rename = "Name")]
    name: String,
}

pub fn parse_apps(json: &str) -> Result<Vec<String>, String> {
    let raw: Vec<RawApp> = serde_json::from_str(json.trim())
        .map_err(|e| format!("expected a JSON list of apps ({e})"))?;
    Ok(raw
        .into_iter()
        .map(|a| a.name)
        .filter(|name| !name.is_empty() && !name.starts_with(FLYCTL_OWN_APPS))
        .collect())
}

pub fn parse_secrets(json: &str) -> Result<Vec<Secret>, String> {
    // flyctl prints `null` rather than `[]` for an app without secrets in some versions.
    let raw: Option<Vec<Secret>> = serde_json::from_str(json.trim())
        .map_err(|e| format!("expected a JSON list of secrets ({e})"))?;
    Ok(raw.unwrap_or_default())
}

/// `2023-03-07T16:18:08Z app[5683606c41098e] lhr [info]Starting init...`
pub fn parse_log_line(raw: &str) -> Option<LogLine> {
    // flyctl colours its log lines on a terminal.
    let text = console::strip_ansi_codes(raw).trim_end().to_string();
    if text.trim().is_empty() {
        return None;
    }
    let mut words = text.splitn(4, ' ');
    let ts = words.next().unwrap_or("");
    let at = crate::time::parse_rfc3339(ts);
    let (machine, message) = match (at, words.next(), words.next(), words.next()) {
        (Some(_), Some(src), Some(_region), Some(rest)) => {
            let machine = src
                .split_once('[')
                .map(|(_, r)| r.trim_end_matches(']').to_string());
            let message = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some((_level, msg)) => msg.trim_start().to_string(),
                None => rest.to_string(),
            };
            (machine, message)
        }
        _ => (None, text.clone()),
    };
    Some(LogLine {
        at,
        machine,
        message,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines() {
        let l = parse_log_line(
            "\u{1b}[2m2023-03-07T16:18:08Z\u{1b}[0m \
\u{1b}[34mapp[5683606c41098e]\u{1b}[0m lhr \
[info]telegram.error.Conflict: Conflict: terminated by other \
getUpdates request",
        )
        .unwrap();
        assert_eq!(l.machine.as_deref(), Some("5683606c41098e"));
        assert!(l.message.starts_with("telegram.error.Conflict"));
        assert!(l.is_conflict());
        assert_eq!(l.at, crate::time::parse_rfc3339("2023-03-07T16:18:08Z"));
    }

    #[test]
    fn apps_and_secrets_json() {
        let apps = parse_apps(
            r#"[{"ID":"a","Name":"loyalitybot-beta","Status":"deployed","Deployed":true,
                 "Organization":{"ID":"o","Slug":"personal","Name":"P","Extra":1},"New":[1]},
                {"ID":"s","Name":"flyctl-interactive-shells-123","Organization":null}]"#,
        )
        .unwrap();
        assert_eq!(apps, ["loyalitybot-beta"]);
        let secrets = parse_secrets(
            r#"[{"name":"BOT_TOKEN","digest":"ab12","status":"Deployed"},{"name":"X","digest":"cd"}]"#,
        )
        .unwrap();
        assert_eq!(secrets[0].name, "BOT_TOKEN");
        assert_eq!(secrets[1].digest, "cd");
        assert!(parse_secrets("null").unwrap().is_empty());
        assert!(parse_apps("Error").is_err());
    }

    #[test]
    fn machines_json() {
        let ms = parse_machines(
            r#"[{"id":"a","name":"n","state":"started","region":"ams","extra":1,
                "config":{"services":[{"autostart":true}]}},
               {"id":"b","state":"stopped","region":"ams","config":{}}]"#,
        )
        .unwrap();
        assert!(ms[0].is_running() && ms[0].proxy_autostart);
        assert!(!ms[1].is_running() && !ms[1].proxy_autostart);
        assert!(parse_machines("<html>").is_err());
        let ms = parse_machines(
            r#"[{"id":"a","state":"stopped","config":{"metadata":
                {"fly_process_group":"app","botctl_by":"alice@mbp","odd":1}}}]"#,
        )
        .unwrap();
        assert_eq!(ms[0].metadata["botctl_by"], "alice@mbp");
        assert_eq!(ms[0].metadata["fly_process_group"], "app");
        assert!(!ms[0].metadata.contains_key("odd"));
    }
}
