//! What keeps a local copy alive: the supervisor of an instance, found from its cgroup and its
//! ancestors, with the command that stops it for good.
//!
//! Deciding is pure: [`needs`] says which outside answers a chain of process records calls for
//! (pm2's app list, supervisorctl's status, launchctl's list, a shell script's text) and
//! [`decide`] names the supervisor from the records, the cgroup text and those answers. Reading
//! this machine (process facts, running pm2 or supervisorctl) lives in [`read`], so records read
//! elsewhere (over ssh) go through the same decisions.

use std::collections::HashMap;

use serde::Serialize;

/// What kind of thing restarts a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SupervisorKind {
    Systemd,
    SystemdUser,
    Docker,
    Pm2,
    Supervisord,
    Launchd,
    Reloader,
    Loop,
    Cron,
}

impl std::fmt::Display for SupervisorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SupervisorKind::Systemd => "systemd",
            SupervisorKind::SystemdUser => "systemd-user",
            SupervisorKind::Docker => "docker",
            SupervisorKind::Pm2 => "pm2",
            SupervisorKind::Supervisord => "supervisord",
            SupervisorKind::Launchd => "launchd",
            SupervisorKind::Reloader => "reloader",
            SupervisorKind::Loop => "loop",
            SupervisorKind::Cron => "cron",
        })
    }
}

/// The supervisor of one instance, as `status --json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Supervisor {
    pub kind: SupervisorKind,
    /// Unit, container, pm2 app, supervisord program, launchd label, or the loop shell's pid:
    /// named by whoever set it up, so outside text.
    pub name: crate::outside::Outside,
    /// The supervising process: the daemon, the loop's shell, the reloader (none for a unit).
    pub pid: Option<u32>,
    /// How it is stopped; JSON's `stop` is what a person types for it ([`StopHow::command`]).
    #[serde(rename = "stop", serialize_with = "stop_command")]
    pub how: StopHow,
}

impl Supervisor {
    /// What a person types to stop it for good.
    pub fn stop(&self) -> String {
        self.how.command()
    }
}

fn stop_command<S: serde::Serializer>(how: &StopHow, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&how.command())
}

/// How dev-stop stops an instance with this supervisor.
#[derive(Debug, Clone, PartialEq)]
pub enum StopHow {
    /// Run this command; it stops the program without the daemon restarting it. `env` is set
    /// for it; `env_shown`: a person must type it too (not for the user's default pm2 home).
    Command {
        argv: Vec<String>,
        env: Vec<(String, String)>,
        env_shown: bool,
    },
    /// Run this command, which needs root (a system unit).
    AsRoot { argv: Vec<String> },
    /// Run these commands in order (launchd: `bootout`, then `disable` so that it does not
    /// come back at the next login); `root`: they need root (the system domain).
    Commands { argvs: Vec<Vec<String>>, root: Root },
    /// End this process first (a loop's shell, a reloader), then the bot.
    EndParent { pid: u32, bot: u32 },
    /// Nothing restarts it at once (cron, a runtime's own watch mode): signal the bot;
    /// `then` is what else to do (cron's line stays).
    SignalBot {
        bot: u32,
        then: Option<&'static str>,
    },
    /// botctl could not name what to stop (the daemon did not answer): `hint` says what to do.
    Manual { hint: String },
    /// The daemon is user `uid`'s: botctl never runs its client against another user's home
    /// or socket, so that user stops it (`hint` says how).
    OtherUser { uid: u32, hint: String },
}

impl StopHow {
    /// The command a person types, as botctl runs it.
    pub fn command(&self) -> String {
        use crate::shell;
        match self {
            StopHow::Command {
                argv,
                env,
                env_shown,
            } => {
                let mut words: Vec<String> = Vec::new();
                if *env_shown {
                    words.extend(env.iter().map(|(k, v)| format!("{k}={}", shell::word(v))));
                }
                words.push(shell::join(argv));
                words.join(" ")
            }
            StopHow::AsRoot { argv } => format!("sudo {}", shell::join(argv)),
            StopHow::Commands { argvs, root } => {
                let sudo = if *root == Root::Needed { "sudo " } else { "" };
                argvs
                    .iter()
                    .map(|a| format!("{sudo}{}", shell::join(a)))
                    .collect::<Vec<_>>()
                    .join(" && ")
            }
            StopHow::EndParent { pid, bot } => format!("kill {pid} {bot}"),
            StopHow::SignalBot { bot, then: None } => format!("kill {bot}"),
            StopHow::SignalBot {
                bot,
                then: Some(then),
            } => format!("kill {bot}   # {then}"),
            StopHow::Manual { hint } | StopHow::OtherUser { hint, .. } => hint.clone(),
        }
    }
}

/// Whether a stop needs root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Needed,
    NotNeeded,
}

/// One process as the decisions see it: what `/proc/PID/{stat,cmdline,status}` tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub pid: u32,
    pub ppid: u32,
    pub uid: Option<u32>,
    pub argv: Vec<String>,
}

/// An outside answer a decision needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Need {
    /// `pm2 jlist` with `PM2_HOME=home`, of the daemon run by user `owner`.
    Pm2List { home: String, owner: Option<u32> },
    /// `supervisorctl [-c conf] status` of the daemon run by user `owner`; `ctl` is the
    /// supervisorctl beside the daemon's script.
    SupervisorStatus {
        ctl: Option<String>,
        conf: Option<String>,
        owner: Option<u32>,
    },
    /// The launchd job `pid` (a process whose parent is launchd) of user `uid`: its label
    /// (`launchctl list`) and its domain (the first of `gui/UID`, `user/UID`, `system` where
    /// `launchctl print DOMAIN/LABEL` succeeds). Answered as `DOMAIN\tLABEL`.
    LaunchdJob { pid: u32, uid: Option<u32> },
    /// `docker inspect --format {{.Name}} ID` (or podman's): the container's name.
    ContainerName { engine: Engine, id: String },
    /// The text of a shell script `path` run by shell `pid` of user `uid` (relative to its
    /// working folder); read only when that user is botctl's.
    Script {
        pid: u32,
        uid: Option<u32>,
        path: String,
    },
}

/// An answer: the program as a person would type it (bare when on PATH) and what it printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub program: String,
    pub text: String,
}

/// Why a need has no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Unanswered {
    /// The daemon is this user's: its client is not run for it.
    OtherUser {
        uid: u32,
    },
    Failed(String),
}

impl From<String> for Unanswered {
    fn from(message: String) -> Self {
        Unanswered::Failed(message)
    }
}

pub type Answers = HashMap<Need, Result<Answer, Unanswered>>;

// ------------------------------------------------------------------------------------------
// cgroup

/// What `/proc/PID/cgroup` says about the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cgroup {
    /// A systemd service: `bot.service`, of the system or of a user's manager.
    Unit { unit: String, user: bool },
    /// A container (docker with either driver, podman, Kubernetes): engine and id.
    Container { engine: Engine, id: String },
    /// A login session, desktop app scope, the root, or something unknown: no supervisor.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    Docker,
    Podman,
    Kubernetes,
}

/// Parses `/proc/PID/cgroup` (v2 `0::/PATH`, or v1 lines whose `name=systemd` or `pids` line
/// carries the path).
pub fn parse_cgroup(text: &str) -> Cgroup {
    let mut v2 = None;
    let mut systemd = None;
    let mut pids = None;
    let mut any = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2 = Some(path);
        } else if controllers == "name=systemd" {
            systemd = Some(path);
        } else if controllers.split(',').any(|c| c == "pids") {
            pids = Some(path);
        } else if any.is_none() && path != "/" {
            any = Some(path);
        }
    }
    // On hybrid hosts the v2 line is "0::/" while the v1 name=systemd line has the real path.
    let path = [systemd, v2, pids, any]
        .into_iter()
        .flatten()
        .find(|p| *p != "/")
        .unwrap_or("/");
    classify_cgroup_path(path)
}

fn classify_cgroup_path(path: &str) -> Cgroup {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // Containers first: their path may sit under system.slice.
    for (i, part) in parts.iter().enumerate() {
        if let Some(id) = strip_scope(part, "docker-") {
            return container(Engine::Docker, id);
        }
        if let Some(id) = strip_scope(part, "libpod-") {
            if id.starts_with("conmon-") {
                continue;
            }
            return container(Engine::Podman, id);
        }
        if let Some(id) = part
            .strip_prefix("cri-containerd-")
            .map(|p| p.trim_end_matches(".scope"))
        {
            return container(Engine::Kubernetes, id);
        }
        if *part == "docker"
            && let Some(id) = parts.get(i + 1).filter(|id| is_hex_id(id))
        {
            return container(Engine::Docker, id);
        }
        if part.starts_with("kubepods") {
            let id = parts
                .last()
                .map(|p| {
                    let p = p.trim_end_matches(".scope");
                    p.rsplit('-').next().unwrap_or(p)
                })
                .unwrap_or("");
            return container(Engine::Kubernetes, id);
        }
    }
    // The innermost .service names the unit (a service may delegate sub-groups below it); a
    // .scope met first (a session, a desktop app, init) is no unit, nor is the user manager.
    for (i, part) in parts.iter().enumerate().rev() {
        if part.ends_with(".scope") || part.starts_with("user@") {
            return Cgroup::Other;
        }
        if part.ends_with(".service") {
            let user = parts[..i]
                .iter()
                .any(|p| p.starts_with("user@") && p.ends_with(".service"));
            return Cgroup::Unit {
                unit: part.to_string(),
                user,
            };
        }
    }
    Cgroup::Other
}

fn container(engine: Engine, id: &str) -> Cgroup {
    Cgroup::Container {
        engine,
        id: id.to_string(),
    }
}

fn strip_scope<'a>(part: &'a str, prefix: &str) -> Option<&'a str> {
    part.strip_prefix(prefix)?.strip_suffix(".scope")
}

fn is_hex_id(s: &str) -> bool {
    s.len() >= 12 && s.chars().all(|c| c.is_ascii_hexdigit())
}

// ------------------------------------------------------------------------------------------
// Ancestors

fn base_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The names a process goes by: its program, the script an interpreter runs, a `-m` module.
fn program_names(argv: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    let Some(argv0) = argv.first() else {
        return names;
    };
    names.push(base_name(argv0).to_ascii_lowercase());
    let interpreter = super::argv::is_python(argv0)
        || matches!(base_name(argv0), "node" | "nodejs" | "bun" | "deno");
    if interpreter {
        let mut args = argv.iter().skip(1);
        while let Some(a) = args.next() {
            if a == "-m" {
                if let Some(m) = args.next() {
                    names.push(m.to_ascii_lowercase());
                }
                break;
            }
            if !a.starts_with('-') {
                let script = base_name(a).to_ascii_lowercase();
                let stem = script
                    .strip_suffix(".js")
                    .or_else(|| script.strip_suffix(".py"))
                    .unwrap_or(&script)
                    .to_string();
                names.push(stem);
                break;
            }
        }
    }
    names
}

/// The pm2 daemon's home from its title `PM2 v5.3.0: God Daemon (/home/u/.pm2)`.
pub fn pm2_home(argv: &[String]) -> Option<String> {
    let title = argv.join(" ");
    let title = title.trim();
    if !(title.starts_with("PM2 v") && title.contains("God Daemon")) {
        return None;
    }
    let open = title.find('(')?;
    let close = title.rfind(')')?;
    (close > open + 1).then(|| title[open + 1..close].to_string())
}

/// A supervisord daemon: `supervisord …` or `python3 /usr/bin/supervisord …`.
pub fn is_supervisord(argv: &[String]) -> bool {
    program_names(argv).iter().any(|n| n == "supervisord")
}

/// supervisord's `-c CONF` / `--configuration=CONF`.
pub fn supervisord_conf(argv: &[String]) -> Option<String> {
    let mut args = argv.iter();
    while let Some(a) = args.next() {
        if a == "-c" || a == "--configuration" {
            return args.next().cloned();
        }
        if let Some(v) = a.strip_prefix("--configuration=") {
            return Some(v.to_string());
        }
        if let Some(v) = a
            .strip_prefix("-c")
            .filter(|v| !v.is_empty() && !a.starts_with("--"))
        {
            return Some(v.to_string());
        }
    }
    None
}

/// The supervisorctl beside a supervisord script run by path (`/x/bin/supervisord`).
fn supervisorctl_beside(argv: &[String]) -> Option<String> {
    argv.iter()
        .take(2)
        .find(|a| base_name(a) == "supervisord" && a.contains('/'))
        .map(|a| format!("{}/supervisorctl", &a[..a.rfind('/').unwrap_or(0)]))
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"];

/// A shell's `-c` text, or the script file it runs.
enum ShellProgram<'a> {
    Text(&'a str),
    File(&'a str),
}

fn shell_program(argv: &[String]) -> Option<ShellProgram<'_>> {
    let name = base_name(argv.first()?).trim_start_matches('-');
    if !SHELLS.contains(&name) {
        return None;
    }
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with('-') && a.len() > 1 && !a.starts_with("--") {
            if a[1..].contains('c') {
                return args.next().map(|t| ShellProgram::Text(t));
            }
            if a == "-o" || a == "+o" {
                args.next();
            }
            continue;
        }
        if a.starts_with("--") {
            continue;
        }
        return Some(ShellProgram::File(a));
    }
    None // an interactive shell
}

/// Does shell code loop (`while`, `until`, `for` as words)?
pub fn loops(code: &str) -> bool {
    code.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .any(|w| matches!(w, "while" | "until" | "for"))
}

const RELOADERS: &[&str] = &["watchmedo", "nodemon", "hupper", "watchfiles"];

/// A runtime's own watch mode, which starts the script again on a file change: `node --watch`
/// (and `--watch-path=`), `tsx watch`, `bun --watch`/`--hot`, `deno run --watch`.
fn watch_mode(argv: &[String]) -> Option<String> {
    let program = base_name(argv.first()?).to_ascii_lowercase();
    let flag = |a: &String| {
        a == "--watch" || a.starts_with("--watch=") || a.starts_with("--watch-path") || a == "--hot"
    };
    let options = || {
        argv.iter()
            .skip(1)
            .take_while(|a| a.starts_with('-') || *a == "run")
    };
    match program.as_str() {
        "node" | "nodejs" | "bun" if options().any(flag) => Some(format!("{program} --watch")),
        "deno" if options().any(flag) => Some("deno --watch".into()),
        "tsx" if argv.get(1).is_some_and(|a| a == "watch") => Some("tsx watch".into()),
        // tsx through its shebang: `node …/node_modules/.bin/tsx watch bot.ts`.
        "node"
            if argv.get(1).is_some_and(|a| base_name(a) == "tsx")
                && argv.get(2).is_some_and(|a| a == "watch") =>
        {
            Some("tsx watch".into())
        }
        _ => None,
    }
}

fn reloader_name(argv: &[String]) -> Option<String> {
    if let Some(name) = watch_mode(argv) {
        return Some(name);
    }
    let names = program_names(argv);
    let found = RELOADERS.iter().find(|r| {
        names
            .iter()
            .any(|n| n == *r || n.strip_suffix(".exe") == Some(r))
    })?;
    // watchmedo restarts only in auto-restart mode; its other modes run commands on events.
    if *found == "watchmedo" && !argv.iter().any(|a| a == "auto-restart") {
        return None;
    }
    Some(found.to_string())
}

fn is_cron(argv: &[String]) -> bool {
    program_names(argv)
        .first()
        .is_some_and(|n| n == "cron" || n == "crond" || n == "cronie")
}

// ------------------------------------------------------------------------------------------
// Deciding

/// The outside answers needed to decide on `chain` (the instance first, then its ancestors).
pub fn needs(cgroup: &Cgroup, chain: &[Record]) -> Vec<Need> {
    let mut out = Vec::new();
    if let Cgroup::Container { engine, id } = cgroup {
        if *engine != Engine::Kubernetes {
            out.push(Need::ContainerName {
                engine: *engine,
                id: id.clone(),
            });
        }
        return out;
    }
    for r in chain.iter().skip(1) {
        if let Some(home) = pm2_home(&r.argv) {
            out.push(Need::Pm2List { home, owner: r.uid });
            return out;
        }
        if is_supervisord(&r.argv) {
            out.push(supervisor_status(r));
            return out;
        }
    }
    if matches!(cgroup, Cgroup::Unit { .. }) {
        return out;
    }
    if let Some(job) = launchd_job(chain) {
        out.push(Need::LaunchdJob {
            pid: job.pid,
            uid: job.uid,
        });
    }
    // The shells `nearest` looks through.
    for r in chain.iter().skip(1) {
        match shell_program(&r.argv) {
            Some(ShellProgram::File(path)) => out.push(Need::Script {
                pid: r.pid,
                uid: r.uid,
                path: path.to_string(),
            }),
            Some(ShellProgram::Text(_)) => {}
            None => break,
        }
    }
    out
}

fn supervisor_status(daemon: &Record) -> Need {
    Need::SupervisorStatus {
        ctl: supervisorctl_beside(&daemon.argv),
        conf: supervisord_conf(&daemon.argv),
        owner: daemon.uid,
    }
}

/// Names the supervisor of `chain[0]`. The outermost thing that restarts it wins: a container,
/// then a supervising daemon (pm2, supervisord, launchd; a unit around one is the daemon's
/// own), then a systemd unit, then the nearest loop, reloader or cron.
pub fn decide(cgroup: &Cgroup, chain: &[Record], answers: &Answers) -> Option<Supervisor> {
    chain.first()?;
    if let Cgroup::Container { engine, id } = cgroup {
        let named = answers
            .get(&Need::ContainerName {
                engine: *engine,
                id: id.clone(),
            })
            .and_then(|a| a.as_ref().ok())
            .and_then(|a| container_name(&a.text));
        return Some(in_container(*engine, id, named));
    }
    let below = |daemon: usize| &chain[..daemon];
    for (i, r) in chain.iter().enumerate().skip(1) {
        if let Some(home) = pm2_home(&r.argv) {
            return Some(pm2(r, &home, below(i), answers));
        }
        if is_supervisord(&r.argv) {
            return Some(supervisord(r, below(i), answers));
        }
    }
    if let Some(s) = launchd(chain, answers) {
        return Some(s);
    }
    if let Cgroup::Unit { unit, user } = cgroup {
        return Some(systemd(unit, *user));
    }
    nearest(chain, answers)
}

/// The nearest loop, reloader or cron: the parent, looking through shells that just run it
/// (`sh -c "cd x && python3 bot.py"`) but no further, so that a loop far up the tree (the shell
/// a test suite runs in) does not count.
fn nearest(chain: &[Record], answers: &Answers) -> Option<Supervisor> {
    let instance = chain.first()?;
    // bun and deno watch in the bot's own process: ending it ends the watcher too.
    if let Some(name) = watch_mode(&instance.argv) {
        return Some(Supervisor {
            kind: SupervisorKind::Reloader,
            name: name.into(),
            pid: Some(instance.pid),
            how: StopHow::SignalBot {
                bot: instance.pid,
                then: None,
            },
        });
    }
    for r in chain.iter().skip(1) {
        if let Some(name) = reloader_name(&r.argv) {
            return Some(Supervisor {
                kind: SupervisorKind::Reloader,
                name: name.into(),
                pid: Some(r.pid),
                how: StopHow::EndParent {
                    pid: r.pid,
                    bot: instance.pid,
                },
            });
        }
        if is_cron(&r.argv) {
            return Some(Supervisor {
                kind: SupervisorKind::Cron,
                name: (base_name(&r.argv[0]).to_string()).into(),
                pid: Some(r.pid),
                how: StopHow::SignalBot {
                    bot: instance.pid,
                    then: Some("and remove its line with crontab -e, or cron starts it again"),
                },
            });
        }
        let code = match shell_program(&r.argv)? {
            ShellProgram::Text(t) => Some(t.to_string()),
            ShellProgram::File(path) => answers
                .get(&Need::Script {
                    pid: r.pid,
                    uid: r.uid,
                    path: path.to_string(),
                })
                .and_then(|a| a.as_ref().ok())
                .map(|a| a.text.clone()),
        };
        if code.is_some_and(|c| loops(&c)) {
            return Some(Supervisor {
                kind: SupervisorKind::Loop,
                name: (r.pid.to_string()).into(),
                pid: Some(r.pid),
                how: StopHow::EndParent {
                    pid: r.pid,
                    bot: instance.pid,
                },
            });
        }
    }
    None
}

/// `/partner-bot` (what `docker inspect --format {{.Name}}` prints) → `partner-bot`.
pub fn container_name(inspect: &str) -> Option<String> {
    let name = inspect.trim().trim_start_matches('/');
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    .then(|| name.to_string())
}

/// A container, by its name when the engine told it, else by its short id.
fn in_container(engine: Engine, id: &str, name: Option<String>) -> Supervisor {
    let short = name.unwrap_or_else(|| id.chars().take(12).collect());
    let how = match engine {
        Engine::Docker | Engine::Podman => StopHow::Command {
            argv: vec![engine_program(engine).into(), "stop".into(), short.clone()],
            env: Vec::new(),
            env_shown: false,
        },
        Engine::Kubernetes => StopHow::Manual {
            hint: format!(
                "kubectl scale deployment --replicas=0 …   # container \
{short} is in a Kubernetes pod"
            ),
        },
    };
    Supervisor {
        kind: SupervisorKind::Docker,
        name: (short).into(),
        pid: None,
        how,
    }
}

fn engine_program(engine: Engine) -> &'static str {
    match engine {
        Engine::Podman => "podman",
        _ => "docker",
    }
}

fn systemd(unit: &str, user: bool) -> Supervisor {
    if user {
        let argv = vec![
            "systemctl".to_string(),
            "--user".into(),
            "stop".into(),
            unit.to_string(),
        ];
        Supervisor {
            kind: SupervisorKind::SystemdUser,
            name: (unit.to_string()).into(),
            pid: None,
            how: StopHow::Command {
                argv,
                env: Vec::new(),
                env_shown: false,
            },
        }
    } else {
        let argv = vec!["systemctl".to_string(), "stop".into(), unit.to_string()];
        Supervisor {
            kind: SupervisorKind::Systemd,
            name: (unit.to_string()).into(),
            pid: None,
            how: StopHow::AsRoot { argv },
        }
    }
}

/// pm2: the app whose pid is the instance (or a process between it and the daemon), stopped
/// by its id: a name can mean more to pm2 (`all`, a number, a `/regex/`, a namespace).
fn pm2(daemon: &Record, home: &str, below: &[Record], answers: &Answers) -> Supervisor {
    let need = Need::Pm2List {
        home: home.to_string(),
        owner: daemon.uid,
    };
    // The user's own pm2 home needs no PM2_HOME typed (botctl sets it all the same).
    let default_home = home.ends_with("/.pm2");
    let env_prefix = if default_home {
        String::new()
    } else {
        format!("PM2_HOME={} ", crate::shell::word(home))
    };
    let answer = answers.get(&need);
    if let Some(Err(Unanswered::OtherUser { uid })) = answer {
        return Supervisor {
            kind: SupervisorKind::Pm2,
            name: "?".into(),
            pid: Some(daemon.pid),
            how: StopHow::OtherUser {
                uid: *uid,
                hint: format!(
                    "sudo -u '#{uid}' {env_prefix}pm2 list   # pm2 of user {uid}: find the app, \
then stop it as that user"
                ),
            },
        };
    }
    let found = answer
        .and_then(|a| a.as_ref().ok())
        .and_then(|a| pm2_app_for(&a.text, below).map(|app| (a.program.clone(), app)));
    match found {
        Some((program, app)) => {
            let argv = vec![program, "stop".into(), app.id.to_string()];
            Supervisor {
                kind: SupervisorKind::Pm2,
                how: StopHow::Command {
                    argv,
                    env: vec![("PM2_HOME".into(), home.to_string())],
                    env_shown: !default_home,
                },
                name: (app.name).into(),
                pid: Some(daemon.pid),
            }
        }
        None => Supervisor {
            kind: SupervisorKind::Pm2,
            name: "?".into(),
            pid: Some(daemon.pid),
            how: StopHow::Manual {
                hint: format!("{env_prefix}pm2 list   # find the app, then: pm2 stop ID"),
            },
        },
    }
}

/// A pm2 app: its id addresses exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pm2App {
    pub name: String,
    pub id: u64,
}

/// The app name in `pm2 jlist` output whose pid is one of `pids` (warnings may come first).
pub fn pm2_app_for(jlist: &str, below: &[Record]) -> Option<Pm2App> {
    let start = jlist.find('[')?;
    let apps: Vec<serde_json::Value> = serde_json::from_str(jlist[start..].trim()).ok()?;
    apps.iter()
        .find(|app| {
            app["pid"]
                .as_u64()
                .is_some_and(|pid| below.iter().any(|r| u64::from(r.pid) == pid))
        })
        .and_then(|app| {
            Some(Pm2App {
                name: app["name"].as_str()?.to_string(),
                id: app["pm_id"].as_u64()?,
            })
        })
}

fn supervisord(daemon: &Record, below: &[Record], answers: &Answers) -> Supervisor {
    let conf = supervisord_conf(&daemon.argv);
    let need = supervisor_status(daemon);
    let conf_args: Vec<String> = conf
        .iter()
        .flat_map(|c| ["-c".to_string(), c.clone()])
        .collect();
    let answer = answers.get(&need);
    let ctl = |program: &str, rest: &[&str]| {
        let argv: Vec<String> = std::iter::once(program.to_string())
            .chain(conf_args.iter().cloned())
            .chain(rest.iter().map(|s| s.to_string()))
            .collect();
        argv
    };
    if let Some(Err(Unanswered::OtherUser { uid })) = answer {
        return Supervisor {
            kind: SupervisorKind::Supervisord,
            name: "?".into(),
            pid: Some(daemon.pid),
            how: StopHow::OtherUser {
                uid: *uid,
                hint: format!(
                    "sudo -u '#{uid}' {}   # supervisord of user {uid}: find the program, then \
stop it as that user",
                    crate::shell::join(&ctl("supervisorctl", &["status"]))
                ),
            },
        };
    }
    let found = answer.and_then(|a| a.as_ref().ok()).and_then(|a| {
        supervisord_program_for(&a.text, below).map(|name| (a.program.clone(), name))
    });
    match found {
        Some((program, name)) => {
            // `group:name` addresses one program; a bare name can be a group, or `all`.
            let exact = if name.contains(':') {
                name.clone()
            } else {
                format!("{name}:{name}")
            };
            let argv = ctl(&program, &["stop", &exact]);
            Supervisor {
                kind: SupervisorKind::Supervisord,
                how: StopHow::Command {
                    argv,
                    env: Vec::new(),
                    env_shown: false,
                },
                name: name.into(),
                pid: Some(daemon.pid),
            }
        }
        None => Supervisor {
            kind: SupervisorKind::Supervisord,
            name: "?".into(),
            pid: Some(daemon.pid),
            how: StopHow::Manual {
                hint: format!(
                    "{}   # find the program, then: supervisorctl stop GROUP:NAME",
                    crate::shell::join(&ctl("supervisorctl", &["status"]))
                ),
            },
        },
    }
}

/// The program in `supervisorctl status` output (`name  RUNNING  pid 4242, uptime …`) whose pid
/// is one of `below`.
pub fn supervisord_program_for(status: &str, below: &[Record]) -> Option<String> {
    status.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let name = words.next()?;
        let rest: Vec<&str> = words.collect();
        let at = rest.iter().position(|w| *w == "pid")?;
        let pid: u32 = rest.get(at + 1)?.trim_end_matches(',').parse().ok()?;
        below.iter().any(|r| r.pid == pid).then(|| name.to_string())
    })
}

/// The process launchd started for a chain: the instance itself or its ancestor whose parent
/// is launchd (pid 1). cron is a job too, but it is cron, not launchd, that starts the bot.
fn launchd_job(chain: &[Record]) -> Option<&Record> {
    chain
        .iter()
        .find(|r| r.ppid == 1)
        .filter(|r| !is_cron(&r.argv))
}

/// launchd: the job (not an app, a login session or cron) that started the instance, in its
/// domain, stopped for good there: `bootout` ends it, `disable` keeps a LaunchAgent from
/// coming back at the next login. The system domain needs root.
fn launchd(chain: &[Record], answers: &Answers) -> Option<Supervisor> {
    let job = launchd_job(chain)?;
    let need = Need::LaunchdJob {
        pid: job.pid,
        uid: job.uid,
    };
    let answer = answers.get(&need)?.as_ref().ok()?;
    let (domain, label) = answer.text.split_once('\t')?;
    let target = format!("{domain}/{label}");
    let argvs: Vec<Vec<String>> = ["bootout", "disable"]
        .iter()
        .map(|verb| vec![answer.program.clone(), verb.to_string(), target.clone()])
        .collect();
    let root = if domain == "system" {
        Root::Needed
    } else {
        Root::NotNeeded
    };
    Some(Supervisor {
        kind: SupervisorKind::Launchd,
        how: StopHow::Commands { argvs, root },
        name: label.into(),
        pid: Some(job.pid),
    })
}

/// The label of the `launchctl list` row (`PID\tStatus\tLabel`) with this pid; apps and ssh
/// sessions, which launchd also lists, keep nothing alive.
pub fn launchd_label_for(list: &str, pid: u32) -> Option<String> {
    list.lines().find_map(|line| {
        let mut cols = line.split('\t');
        let row_pid: u32 = cols.next()?.trim().parse().ok()?;
        let label = cols.nth(1)?.trim();
        let ignored = ["application.", "com.apple.", "com.openssh.", "com.vix."]
            .iter()
            .any(|p| label.starts_with(p));
        (row_pid == pid && !ignored && !label.is_empty()).then(|| label.to_string())
    })
}

// ------------------------------------------------------------------------------------------
// Reading this machine

/// Reading records and answers on this machine.
pub mod read {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::{Answer, Answers, Cgroup, Need, Record, Unanswered};
    use crate::exec;
    use crate::sources::proc::{self, Backend};

    /// Time limit of one pm2, supervisorctl or launchctl call.
    const LIMIT: Duration = Duration::from_secs(10);

    /// The process's cgroup, parsed; `Other` where there is none (macOS).
    pub fn cgroup(pid: u32) -> Cgroup {
        proc::cgroup(pid)
            .map(|t| super::parse_cgroup(&t))
            .unwrap_or(Cgroup::Other)
    }

    /// The instance and its ancestors up to (not including) pid 1, with their argv from
    /// `argv_of` (the process table already read).
    pub fn chain_with(
        backend: Backend,
        pid: u32,
        argv_of: impl Fn(u32) -> Option<Vec<String>>,
    ) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        let mut next = pid;
        while next > 1 && out.len() < 64 && !out.iter().any(|r| r.pid == next) {
            let Some(f) = proc::facts(backend, next) else {
                break;
            };
            out.push(Record {
                pid: next,
                ppid: f.ppid,
                uid: f.uid,
                argv: argv_of(next).unwrap_or_default(),
            });
            next = f.ppid;
        }
        out
    }

    /// Gets each answer once (several instances may need the same one).
    pub fn answers_with(backend: Backend, needs: impl IntoIterator<Item = Need>) -> Answers {
        let mut out = Answers::new();
        for need in needs {
            if out.contains_key(&need) {
                continue;
            }
            let answer = answer(backend, &need);
            out.insert(need, answer);
        }
        out
    }

    fn answer(backend: Backend, need: &Need) -> Result<Answer, Unanswered> {
        let me = nix::unistd::geteuid().as_raw();
        match need {
            // Another user's daemon: its client would run as us against their home or socket
            // (as root, `pm2 jlist` there starts a root daemon that loads their modules).
            Need::Pm2List {
                owner: Some(uid), ..
            }
            | Need::SupervisorStatus {
                owner: Some(uid), ..
            } if *uid != me => Err(Unanswered::OtherUser { uid: *uid }),
            Need::Pm2List { home, .. } => {
                // `pm2 jlist` starts a daemon when none answers: ask only a live one of ours.
                use std::os::unix::fs::MetadataExt;
                let owner = std::fs::metadata(home).map_err(|e| format!("{home}: {e}"))?;
                if owner.uid() != me {
                    return Err(format!("{home} is another user's pm2 home").into());
                }
                if !Path::new(home).join("rpc.sock").exists() {
                    return Err(format!("no pm2 daemon answers in {home}").into());
                }
                let (program, path) = program("pm2", None)?;
                let out = exec::run_with_env(&path, &["jlist"], &[("PM2_HOME", home)], LIMIT)
                    .map_err(|e| e.to_string())?;
                Ok(Answer {
                    program,
                    text: out.stdout,
                })
            }
            Need::SupervisorStatus { ctl, conf, .. } => {
                let (program, path) = program("supervisorctl", ctl.as_deref())?;
                let mut args = Vec::new();
                if let Some(c) = conf {
                    args.extend(["-c", c.as_str()]);
                }
                args.push("status");
                // Exit status 3 means "a program is not running": read the output.
                let out = exec::run(&path, &args, LIMIT).map_err(|e| e.to_string())?;
                Ok(Answer {
                    program,
                    text: out.stdout,
                })
            }
            Need::ContainerName { engine, id } => {
                let name = if *engine == super::Engine::Podman {
                    "podman"
                } else {
                    "docker"
                };
                let (program, path) = program(name, None)?;
                let out = exec::run(&path, &["inspect", "--format", "{{.Name}}", id], LIMIT)
                    .map_err(|e| e.to_string())?;
                if !out.success() {
                    return Err(format!("{name} inspect failed: {}", out.error_line()).into());
                }
                Ok(Answer {
                    program,
                    text: out.stdout,
                })
            }
            Need::LaunchdJob { pid, uid } => {
                let (program, path) = program("launchctl", None)?;
                let out = exec::run(&path, &["list"], LIMIT).map_err(|e| e.to_string())?;
                if !out.success() {
                    return Err(format!("launchctl list failed: {}", out.error_line()).into());
                }
                let label = super::launchd_label_for(&out.stdout, *pid)
                    .ok_or_else(|| format!("no launchd job of this domain has pid {pid}"))?;
                // `print`'s text is unofficial: only its exit status is read.
                let domains = match uid {
                    Some(u) => vec![format!("gui/{u}"), format!("user/{u}"), "system".into()],
                    None => vec!["system".to_string()],
                };
                for domain in &domains {
                    let target = format!("{domain}/{label}");
                    let out =
                        exec::run(&path, &["print", &target], LIMIT).map_err(|e| e.to_string())?;
                    if out.success() {
                        return Ok(Answer {
                            program,
                            text: format!("{domain}\t{label}"),
                        });
                    }
                }
                Err(format!("launchd job {label} is in none of {}", domains.join(", ")).into())
            }
            Need::Script { pid, uid, path } => {
                let p = Path::new(path);
                let full = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    proc::cwd(backend, *pid)
                        .ok_or_else(|| format!("the working folder of pid {pid} is not readable"))?
                        .join(p)
                };
                // A script is small; a huge file (or /dev/zero behind a link) is none.
                let text = crate::files::read_text_named_by(&full, *uid, crate::files::CAP)
                    .map_err(|e| format!("{} {e}", full.display()))?;
                Ok(Answer {
                    program: String::new(),
                    text,
                })
            }
        }
    }

    /// (as typed, path to run): the PATH one as its bare name, else the one beside the daemon
    /// when that one is trusted: it and its folder owned by root or by us, writable by no one
    /// else (another user's `supervisorctl` would run with our rights).
    fn program(name: &str, beside: Option<&str>) -> Result<(String, PathBuf), String> {
        if let Some(path) = beside
            .map(PathBuf::from)
            .filter(|p| p.is_file() && trusted(p))
        {
            if let Some(on_path) = exec::find_program(name, Path::new("/"))
                && std::fs::canonicalize(&on_path).ok() == std::fs::canonicalize(&path).ok()
            {
                return Ok((name.to_string(), on_path));
            }
            return Ok((path.display().to_string(), path));
        }
        exec::find_program(name, Path::new("/"))
            .map(|p| (name.to_string(), p))
            .ok_or_else(|| format!("{name} is not installed (not on PATH)"))
    }

    fn trusted(path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let me = nix::unistd::geteuid().as_raw();
        let safe = |p: &Path| {
            std::fs::metadata(p)
                .is_ok_and(|m| (m.uid() == 0 || m.uid() == me) && m.mode() & 0o022 == 0)
        };
        safe(path) && path.parent().is_some_and(safe)
    }
}

#[cfg(test)]
mod tests;
