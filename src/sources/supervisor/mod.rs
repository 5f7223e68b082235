//! What keeps a local copy alive: the supervisor of an instance, found from its cgroup and its
//! ancestors, with the command that stops it for good.
//!
//! Deciding is pure: [`needs`] says which outside answers a chain of process records calls for
//! (pm2's app list, supervisorctl's status, launchctl's list, a shell script's text) and
//! [`decide`] names the supervisor from the records, the cgroup text and those answers. Reading
//! this machine (process facts, running pm2 or supervisorctl) lives in [`read`], so records read
//! elsewhere (over ssh) go through the same decisions.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::fix::Fix;
use crate::model::{Pid, SystemdManager, Uid};

/// What kind of thing restarts a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// The supervisor of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Supervisor {
    pub kind: SupervisorKind,
    /// Unit, container, pm2 app, supervisord program, launchd label, or the loop shell's pid;
    /// unknown (JSON `null`) when its daemon was seen but did not say.
    pub name: Name,
    /// The supervising process: the daemon, the loop's shell, the reloader (none for a unit).
    pub pid: Option<Pid>,
    /// How it is stopped; what a person types for it is [`StopHow::command`].
    pub how: StopHow,
}

impl Supervisor {
    /// What a person types to stop it for good.
    pub fn stop(&self) -> Fix {
        self.how.command()
    }
}

/// What the supervisor calls the program. A daemon seen in the process tree is a supervisor
/// whether or not it answers: when it does not, the program is unknown, and why is kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Name {
    /// Named by whoever set it up, so outside text.
    Known(crate::outside::Outside),
    /// The daemon was not asked or did not say (`why`: "`pm2 jlist` did not finish …").
    Unknown { why: String },
}

impl Name {
    pub fn known(&self) -> Option<&crate::outside::Outside> {
        match self {
            Name::Known(name) => Some(name),
            Name::Unknown { .. } => None,
        }
    }

    /// The name as it came, for matching and comparing (empty when unknown: it matches no
    /// program); never for display.
    #[cfg(test)]
    pub fn raw(&self) -> &str {
        self.known().map_or("", |name| name.raw())
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.known().is_some_and(|name| name == other)
    }
}

impl<T: Into<crate::outside::Outside>> From<T> for Name {
    fn from(name: T) -> Self {
        Name::Known(name.into())
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Name::Known(name) => name.fmt(f),
            Name::Unknown { .. } => f.write_str("(not named)"),
        }
    }
}

/// How dev-stop stops an instance with this supervisor.
#[derive(Debug, Clone, PartialEq)]
pub enum StopHow {
    /// Run this command; it stops the program without the daemon restarting it. `env` is set
    /// for it, and `shown` says whether a person must type it too.
    Command {
        argv: Vec<String>,
        env: Vec<(String, String)>,
        shown: EnvShown,
    },
    /// Run this command, which needs root (a system unit).
    AsRoot { argv: Vec<String> },
    /// Run these commands in order (launchd: `bootout`, then `disable` so that it does not
    /// come back at the next login); `root`: they need root (the system domain).
    Commands { argvs: Vec<Vec<String>>, root: Root },
    /// End this process first (a loop's shell, a reloader), then the bot.
    EndParent { pid: Pid, bot: Pid },
    /// Nothing restarts it at once (cron, a runtime's own watch mode): signal the bot;
    /// `then` is what else to do (cron's line stays).
    SignalBot {
        bot: Pid,
        then: Option<&'static str>,
    },
    /// botctl could not name what to stop (the daemon did not answer): `hint` says what to do.
    Manual { hint: Fix },
    /// The daemon is user `uid`'s: botctl never runs its client against another user's home
    /// or socket, so that user stops it (`hint` says how).
    OtherUser { uid: Uid, hint: Fix },
}

impl StopHow {
    /// The command a person types, as botctl runs it.
    pub fn command(&self) -> Fix {
        match self {
            StopHow::Command { argv, env, shown } => match shown {
                EnvShown::Typed => Fix::run_in(env, argv),
                EnvShown::Implied => Fix::run(argv),
            },
            StopHow::AsRoot { argv } => Fix::as_root(argv),
            StopHow::Commands { argvs, root } => {
                let one = |argv: &Vec<String>| match root {
                    Root::Needed => Fix::as_root(argv),
                    Root::NotNeeded => Fix::run(argv),
                };
                Fix::each_then(argvs.iter().map(one).collect())
            }
            StopHow::EndParent { pid, bot } => {
                Fix::run(&["kill".to_string(), pid.to_string(), bot.to_string()])
            }
            StopHow::SignalBot { bot, then } => {
                let kill = Fix::run(&["kill".to_string(), bot.to_string()]);
                match then {
                    Some(then) => kill.note(then),
                    None => kill,
                }
            }
            StopHow::Manual { hint } | StopHow::OtherUser { hint, .. } => hint.clone(),
        }
    }
}

/// Whether a stop command's environment is part of what a person types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvShown {
    /// Typed before the command (`PM2_HOME=/srv/pm2 pm2 stop 3`).
    Typed,
    /// What the user's shell has anyway (their own `~/.pm2`), or no environment at all.
    Implied,
}

/// Whether a stop needs root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Needed,
    NotNeeded,
}

/// One process as the decisions see it: what `/proc/PID/{stat,cmdline,status}` tell.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessRecord {
    pub pid: Pid,
    pub ppid: Pid,
    pub uid: Option<Uid>,
    pub argv: Vec<String>,
}

/// An outside answer a decision needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Need {
    /// `pm2 jlist` with `PM2_HOME=home`, of the daemon run by user `owner`.
    Pm2List { home: String, owner: Option<Uid> },
    /// `supervisorctl [-c conf] status` of the daemon run by user `owner`; `ctl` is the
    /// supervisorctl beside the daemon's script.
    SupervisorStatus {
        ctl: Option<String>,
        conf: Option<String>,
        owner: Option<Uid>,
    },
    /// The launchd job `pid` (a process whose parent is launchd) of user `uid`: its label
    /// (`launchctl list`) and its domain (the first of `gui/UID`, `user/UID`, `system` where
    /// `launchctl print DOMAIN/LABEL` succeeds). Answered as `DOMAIN\tLABEL`.
    LaunchdJob { pid: Pid, uid: Option<Uid> },
    /// `docker inspect --format {{.Name}} ID` (or podman's): the container's name.
    ContainerName { engine: ContainerKind, id: String },
    /// The text of a shell script `path` run by shell `pid` of user `uid` (relative to its
    /// working folder); read only when that user is botctl's.
    Script {
        pid: Pid,
        uid: Option<Uid>,
        path: String,
    },
}

/// An answer: the program as a person would type it (bare when on PATH) and what it printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub program: String,
    pub text: String,
}

/// Why a need has no answer. `Display` is the reason a supervisor's unknown name gives.
#[derive(Debug, Clone)]
pub enum Unanswered {
    /// The daemon is this user's: its client is not run for it.
    OtherUser {
        uid: Uid,
    },
    /// Its client is not installed here.
    NotInstalled {
        program: String,
    },
    /// Its client could not be run or did not finish.
    NotRun(crate::process::ExecError),
    /// Its client ran and failed (`asked`: the command as shown, `said`: its error line).
    Failed {
        asked: String,
        said: String,
    },
    /// A pm2 home whose owner cannot be read.
    Pm2HomeUnreadable {
        home: String,
        source: std::sync::Arc<std::io::Error>,
    },
    /// A pm2 home of another user (`over_ssh`: not the ssh user's, on a host).
    ForeignPm2Home {
        home: String,
        over_ssh: bool,
    },
    NoPm2Daemon {
        home: String,
    },
    NoLaunchdJob {
        pid: Pid,
    },
    /// The job's label is in none of these launchd domains.
    LaunchdDomainUnknown {
        label: String,
        domains: Vec<String>,
    },
    CwdUnreadable {
        pid: Pid,
    },
    /// A script named by a relative path could not be read.
    Script {
        path: PathBuf,
        source: crate::files::FileError,
    },
    /// On a host: what the client's section of the scan ended with.
    SaidOnHost(String),
    /// On a host: the scan did not read this client.
    NotReadOnHost {
        program: String,
    },
    /// On a host: this need is not read over ssh.
    NotOverSsh(Need),
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unanswered::OtherUser { uid } => {
                write!(
                    f,
                    "the daemon is user {uid}'s, and botctl does not run its client"
                )
            }
            Unanswered::NotInstalled { program } => {
                write!(f, "{program} is not installed (not on PATH)")
            }
            Unanswered::NotRun(e) => write!(f, "{e}"),
            Unanswered::Failed { asked, said } => write!(f, "{asked} failed: {said}"),
            Unanswered::Pm2HomeUnreadable { home, source } => write!(f, "{home}: {source}"),
            Unanswered::ForeignPm2Home {
                home,
                over_ssh: false,
            } => write!(f, "{home} is another user's pm2 home"),
            Unanswered::ForeignPm2Home {
                home,
                over_ssh: true,
            } => write!(f, "{home} is not the ssh user's pm2 home"),
            Unanswered::NoPm2Daemon { home } => write!(f, "no pm2 daemon answers in {home}"),
            Unanswered::NoLaunchdJob { pid } => {
                write!(f, "no launchd job of this domain has pid {pid}")
            }
            Unanswered::LaunchdDomainUnknown { label, domains } => write!(
                f,
                "launchd job {label} is in none of {}",
                domains.join(", ")
            ),
            Unanswered::CwdUnreadable { pid } => {
                write!(f, "the working folder of pid {pid} is not readable")
            }
            Unanswered::Script { path, source } => write!(f, "{} {source}", path.display()),
            Unanswered::SaidOnHost(said) => f.write_str(said),
            Unanswered::NotReadOnHost { program } => {
                write!(f, "{program} was not read on the host")
            }
            Unanswered::NotOverSsh(need) => write!(f, "not read over ssh: {need:?}"),
        }
    }
}

impl std::error::Error for Unanswered {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Unanswered::NotRun(e) => Some(e),
            Unanswered::Pm2HomeUnreadable { source, .. } => Some(source.as_ref()),
            Unanswered::Script { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Answers = HashMap<Need, Result<Answer, Unanswered>>;

mod ancestors;
mod cgroup;
mod daemons;
pub mod read;

use ancestors::*;
pub use ancestors::{is_supervisord, loops, pm2_home, supervisord_conf};
pub use cgroup::{Cgroup, ContainerKind, parse_cgroup};
use daemons::*;
pub use daemons::{container_name, launchd_label_for};

// ------------------------------------------------------------------------------------------
// Deciding

/// The outside answers needed to decide on `chain` (the instance first, then its ancestors).
pub fn needs(cgroup: &Cgroup, chain: &[ProcessRecord]) -> Vec<Need> {
    let mut out = Vec::new();
    if let Cgroup::Container { engine, id } = cgroup {
        if *engine != ContainerKind::Kubernetes {
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

fn supervisor_status(daemon: &ProcessRecord) -> Need {
    Need::SupervisorStatus {
        ctl: supervisorctl_beside(&daemon.argv),
        conf: supervisord_conf(&daemon.argv),
        owner: daemon.uid,
    }
}

/// Names the supervisor of `chain[0]`. The outermost thing that restarts it wins: a container,
/// then a supervising daemon (pm2, supervisord, launchd; a unit around one is the daemon's
/// own), then a systemd unit, then the nearest loop, reloader or cron.
pub fn decide(cgroup: &Cgroup, chain: &[ProcessRecord], answers: &Answers) -> Option<Supervisor> {
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
    if let Cgroup::Unit { unit, manager } = cgroup {
        return Some(systemd(unit, *manager));
    }
    nearest(chain, answers)
}

/// The nearest loop, reloader or cron: the parent, looking through shells that just run it
/// (`sh -c "cd x && python3 bot.py"`) but no further, so that a loop far up the tree (the shell
/// a test suite runs in) does not count.
fn nearest(chain: &[ProcessRecord], answers: &Answers) -> Option<Supervisor> {
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

#[cfg(test)]
mod tests;
