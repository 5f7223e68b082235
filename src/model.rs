//! The names and small types every layer shares: a bot's, a host's and an app's name, a
//! machine's id, what a bot runs, how it gets updates, its Fly settings, and the identity of a
//! process seen once. A leaf: it uses nothing else of the crate, so config, sources, survey,
//! commands and ui can all depend on it without a cycle.

use std::fmt;
use std::ops::Deref;

/// A name botctl checked once (bot, host and app names come from botctl.toml; config refuses
/// any that is not `a-z`, `0-9` and `-`). Shown as the user wrote it.
macro_rules! name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The name, checked by whoever read it (config for the user's names).
            pub fn new(name: impl Into<String>) -> Self {
                $name(name.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                $name(name.to_string())
            }
        }
    };
}

name!(
    /// A bot's name in botctl.toml (`partner`).
    BotName
);
name!(
    /// A `[[host]]`'s name in botctl.toml (`server`).
    HostName
);
name!(
    /// A Fly app's name (`loyalitybot-partner`), as botctl.toml names it.
    AppName
);
name!(
    /// The Fly process group that runs a bot (`bot`, `worker`), as botctl.toml names it: a
    /// `[processes]` name of its fly.toml.
    ProcessGroup
);

name!(
    /// Who took a bot, as handoff records and `.botctl/state.json` name a person: `$BOTCTL_WHO`,
    /// else `user@host` (`crate::team::who`). Read back from a machine or a file it is outside
    /// text: shown escaped.
    Person
);
name!(
    /// The machine a person ran botctl on, as handoff records name it (`botctl_on`): a short
    /// id that does not name it (`crate::team::here`); empty when a botctl before it wrote the
    /// record. Outside text when read back.
    Workstation
);

/// A Fly machine's id, as flyctl printed it. Outside text: shown escaped unless it is the
/// letters, digits and dashes real ids are made of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct MachineId(String);

impl MachineId {
    pub fn new(id: impl Into<String>) -> Self {
        MachineId(id.into())
    }

    /// The id as flyctl printed it, for the next flyctl call; never for display.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for MachineId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(MachineId)
    }
}

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self
            .0
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            f.write_str(&self.0)
        } else {
            write!(f, "{}", self.0.escape_debug())
        }
    }
}

impl PartialEq<str> for MachineId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl From<&str> for MachineId {
    fn from(id: &str) -> Self {
        MachineId(id.to_string())
    }
}

/// For joining ids into a flyctl command line or a sentence; ui escapes what it prints.
impl std::borrow::Borrow<str> for MachineId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Deref for MachineId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<String> for MachineId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<MachineId> for String {
    fn eq(&self, other: &MachineId) -> bool {
        *self == other.0
    }
}

impl PartialEq<&str> for MachineId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// The language a script is written in, by its extension: which runtimes can run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    /// `.js`, `.mjs`, `.cjs`, `.ts`, `.mts`, `.cts`: Node, Bun, Deno, tsx, ts-node.
    JavaScript,
}

impl Language {
    /// By the script's extension; anything that is not JavaScript or TypeScript is Python's.
    pub fn of(script: &str) -> Language {
        let file = script.rsplit('/').next().unwrap_or(script);
        match file.rsplit_once('.').map(|(_, e)| e) {
            Some("js" | "mjs" | "cjs" | "ts" | "mts" | "cts") => Language::JavaScript,
            _ => Language::Python,
        }
    }
}

/// What a bot's process runs: a script file, or a Python module (`python3 -m lb.partner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Script(String),
    Module(String),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Script(script) => f.write_str(script),
            Entry::Module(module) => write!(f, "module {module}"),
        }
    }
}

impl Entry {
    /// The script, for a script bot.
    pub fn script(&self) -> Option<&str> {
        match self {
            Entry::Script(s) => Some(s),
            Entry::Module(_) => None,
        }
    }

    /// The language it is written in (a module is Python's).
    pub fn language(&self) -> Language {
        match self {
            Entry::Module(_) => Language::Python,
            Entry::Script(script) => Language::of(script),
        }
    }

    /// How dev-start runs it when `run` is not set: an argv, run without a shell, so a
    /// script named `my bot.py` or `x$(touch INJECTED).py` is one word and runs nothing else.
    pub fn default_run(&self) -> Vec<String> {
        let words: &[&str] = match self {
            Entry::Module(module) => &["python3", "-m", module],
            Entry::Script(script) if self.language() == Language::Python => &["python3", script],
            Entry::Script(script)
                if script.ends_with(".ts")
                    || script.ends_with(".mts")
                    || script.ends_with(".cts") =>
            {
                &["npx", "tsx", script]
            }
            Entry::Script(script) => &["node", script],
        };
        words.iter().map(|w| w.to_string()).collect()
    }
}

/// How a bot gets its updates in production. Locally, dev-start always polls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UpdateMode {
    #[default]
    Polling,
    Webhook,
}

impl UpdateMode {
    pub fn is_webhook(self) -> bool {
        self == UpdateMode::Webhook
    }
}

/// A bot's life on Fly.io: present only for a bot that has an app, so no bot can name a
/// secret or a ready log without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fly {
    pub app: AppName,
    /// The Fly secret holding the token in the app: `token_secret`, else `token_env`.
    pub token_secret: Option<String>,
    /// The log line that says the bot is up again after deploy-resume.
    pub ready_log: Option<String>,
    /// The app's own fly.toml (`fly_toml`, absolute), when it is not the project's (`[fly] toml`).
    pub toml: Option<std::path::PathBuf>,
    /// `fly_process_group`: the app's process group that runs the bot, when the app has
    /// several (else botctl tells it from the machines' commands).
    pub group: Option<ProcessGroup>,
}

/// Which systemd manager runs a unit: the system's, or the user's (`systemctl --user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemdManager {
    System,
    User,
}

/// A process id. Pids are reused: a process botctl may signal is told apart by its
/// [`ProcessIdentity`], not by this alone.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Pid(pub u32);

impl Pid {
    /// init (or launchd): whoever adopts an orphan.
    pub const INIT: Pid = Pid(1);

    /// This process.
    pub fn own() -> Pid {
        Pid(std::process::id())
    }

    /// The pid as the signal calls take it.
    pub fn to_nix(self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.0 as i32)
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Pid {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Pid)
    }
}

/// A user id: whose a process or a file is.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Uid(pub u32);

impl Uid {
    pub const ROOT: Uid = Uid(0);

    /// Who botctl runs as (its real user id).
    pub fn own() -> Uid {
        Uid(nix::unistd::getuid().as_raw())
    }

    /// Whose rights botctl acts with (its effective user id: a file it creates is this user's).
    pub fn effective() -> Uid {
        Uid(nix::unistd::geteuid().as_raw())
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Uid {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Uid)
    }
}

/// One process as botctl saw it: its pid and start time. Pids are reused, so a process is
/// signalled only while both still match ([`ProcessIdentity::is`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessIdentity {
    pub pid: Pid,
    /// When it started, to the second (`None`: the table did not say).
    pub started: Option<jiff::Timestamp>,
}

impl ProcessIdentity {
    /// Is the process now at this pid, started at `started`, still the one seen?
    pub fn is(&self, pid: Pid, started: Option<jiff::Timestamp>) -> bool {
        self.pid == pid && self.started == started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_default_runs() {
        let script = |s: &str| Entry::Script(s.into());
        assert_eq!(script("bot.py").default_run(), ["python3", "bot.py"]);
        assert_eq!(script("my bot.py").default_run(), ["python3", "my bot.py"]);
        assert_eq!(script("bot.cjs").default_run(), ["node", "bot.cjs"]);
        assert_eq!(
            script("src/bot.ts").default_run(),
            ["npx", "tsx", "src/bot.ts"]
        );
        assert_eq!(
            Entry::Module("lb.partner".into()).default_run(),
            ["python3", "-m", "lb.partner"]
        );
        assert_eq!(Language::of("a.b/bot"), Language::Python);
        assert_eq!(Language::of("src/bot.mjs"), Language::JavaScript);
    }

    #[test]
    fn a_machine_id_from_outside_is_shown_escaped() {
        assert_eq!(
            MachineId::new("e7843d9b0e1d28").to_string(),
            "e7843d9b0e1d28"
        );
        assert_eq!(MachineId::new("x\n\u{1b}[8m").to_string(), "x\\n\\u{1b}[8m");
    }

    #[test]
    fn an_identity_is_its_pid_and_start() {
        let seen = ProcessIdentity {
            pid: Pid(7),
            started: jiff::Timestamp::from_second(100).ok(),
        };
        assert!(seen.is(Pid(7), jiff::Timestamp::from_second(100).ok()));
        assert!(
            !seen.is(Pid(7), jiff::Timestamp::from_second(101).ok()),
            "a reused pid is another process"
        );
    }
}

/// The one platform a bot runs on in production, as botctl.toml names it: `fly_app`, or one
/// of the `kubernetes`, `heroku`, `railway` tables (config refuses two on one bot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformConfig {
    Fly(Fly),
    Kubernetes(Kubernetes),
    Heroku(Heroku),
    Railway(Railway),
}

/// Which platform, for messages and JSON (`"kind"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlatformKind {
    Fly,
    Kubernetes,
    Heroku,
    Railway,
}

impl PlatformKind {
    /// The key botctl.toml names it by, and JSON's `kind`.
    pub fn key(self) -> &'static str {
        match self {
            PlatformKind::Fly => "fly",
            PlatformKind::Kubernetes => "kubernetes",
            PlatformKind::Heroku => "heroku",
            PlatformKind::Railway => "railway",
        }
    }

    /// The program a person looks with.
    pub fn cli(self) -> &'static str {
        match self {
            PlatformKind::Fly => "flyctl",
            PlatformKind::Kubernetes => "kubectl",
            PlatformKind::Heroku => "heroku",
            PlatformKind::Railway => "railway",
        }
    }

    /// As a person names it in a sentence.
    pub fn title(self) -> &'static str {
        match self {
            PlatformKind::Fly => "Fly.io",
            PlatformKind::Kubernetes => "Kubernetes",
            PlatformKind::Heroku => "Heroku",
            PlatformKind::Railway => "Railway",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

impl PlatformConfig {
    pub fn kind(&self) -> PlatformKind {
        match self {
            PlatformConfig::Fly(_) => PlatformKind::Fly,
            PlatformConfig::Kubernetes(_) => PlatformKind::Kubernetes,
            PlatformConfig::Heroku(_) => PlatformKind::Heroku,
            PlatformConfig::Railway(_) => PlatformKind::Railway,
        }
    }

    /// What the bot is called there: the app, the workload, the service (JSON's `"name"`).
    pub fn name(&self) -> String {
        match self {
            PlatformConfig::Fly(f) => f.app.to_string(),
            PlatformConfig::Kubernetes(k) => k.workload.to_string(),
            PlatformConfig::Heroku(h) => h.app.clone(),
            PlatformConfig::Railway(r) => r
                .service
                .clone()
                .unwrap_or_else(|| "the linked service".into()),
        }
    }
}

/// `kubernetes = { deployment|statefulset = "…", namespace = "…", context = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kubernetes {
    pub workload: Workload,
    /// `None`: the context's namespace.
    pub namespace: Option<String>,
    /// `None`: the kubeconfig's current context.
    pub context: Option<String>,
    /// The line the bot logs once it polls (`ready_log`): deploy-resume waits for it in
    /// `kubectl logs`.
    pub ready_log: Option<String>,
}

/// The Kubernetes workload that runs the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    Deployment(String),
    StatefulSet(String),
}

impl fmt::Display for Workload {
    /// As kubectl names it: `deployment/lb-partner`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::Deployment(n) => write!(f, "deployment/{n}"),
            Workload::StatefulSet(n) => write!(f, "statefulset/{n}"),
        }
    }
}

/// `heroku = { app = "…", process = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heroku {
    pub app: String,
    /// The Procfile process type that runs the bot; `None`: the one whose command runs it.
    pub process: Option<String>,
    /// The line the bot logs once it polls (`ready_log`): deploy-resume waits for it in
    /// `heroku logs`.
    pub ready_log: Option<String>,
}

/// `railway = { service = "…", environment = "…", project = "…" }`; every key optional (the
/// linked project's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Railway {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub project: Option<String>,
    /// The line the bot logs once it polls (`ready_log`): deploy-resume waits for it in
    /// `railway logs`.
    pub ready_log: Option<String>,
}
