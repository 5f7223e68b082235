//! The JSON botctl prints (`status --json`, `doctor --json`; watch's is beside it) as its own
//! types, built from the domain's: the contract's field names live here, so renaming a domain
//! field changes no script's input. Values are the names the domain spells out for people too
//! (`Check::name`, `Source::as_str`, `SupervisorKind`'s Display), never derived from a
//! variant's identifier. A new field is one line in the struct below that
//! carries it (in the contract's order) and one in its `new`.

use std::path::Path;

use serde::Serialize;

use crate::fix::Fix;
use crate::model::{BotName, MachineId, Pid, PlatformKind, UpdateMode};
use crate::outside::{Argv, Outside};
use crate::sources::autostart;
use crate::sources::containers::Container;
use crate::sources::fly::Machine;
use crate::sources::local::{self, Maybe};
use crate::sources::supervisor::Supervisor;
use crate::survey::Verdict;
use crate::survey::finding::{Finding, Level};

/// A process that runs a bot, here or on a host.
#[derive(Serialize)]
pub struct InstanceJson<'a> {
    pid: Pid,
    user: &'a Outside,
    /// RFC 3339.
    started: Option<String>,
    cwd: Option<&'a Path>,
    cmd: &'a Argv,
    /// What restarts it when it is killed (`null`: nothing).
    supervisor: Option<SupervisorJson<'a>>,
    /// Only for a process in a container.
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<ContainerJson<'a>>,
}

impl<'a> InstanceJson<'a> {
    pub fn new(i: &'a local::BotProcess) -> Self {
        InstanceJson {
            pid: i.pid,
            user: &i.user,
            started: i.started.map(|t| t.to_string()),
            cwd: i.cwd.as_deref(),
            cmd: &i.cmd,
            supervisor: i.supervisor.as_ref().map(SupervisorJson::new),
            container: i.container.as_ref().map(ContainerJson::new),
        }
    }
}

/// A process that may be the bot, and why botctl cannot tell.
#[derive(Serialize)]
pub struct MaybeJson<'a> {
    #[serde(flatten)]
    instance: InstanceJson<'a>,
    why: &'a str,
}

impl<'a> MaybeJson<'a> {
    pub fn new(m: &'a Maybe) -> Self {
        MaybeJson {
            instance: InstanceJson::new(&m.instance),
            why: &m.why,
        }
    }
}

#[derive(Serialize)]
pub struct SupervisorJson<'a> {
    kind: String,
    /// `null` when its daemon was seen but did not say.
    name: Option<&'a Outside>,
    pid: Option<Pid>,
    /// What a person types to stop it for good.
    stop: Fix,
}

impl<'a> SupervisorJson<'a> {
    pub fn new(s: &'a Supervisor) -> Self {
        SupervisorJson {
            kind: s.kind.to_string(),
            name: s.name.known(),
            pid: s.pid,
            stop: s.stop(),
        }
    }
}

/// The container a process runs in, as its engine describes it.
#[derive(Serialize)]
pub struct ContainerJson<'a> {
    name: &'a Outside,
    project: Option<&'a Outside>,
    service: Option<&'a Outside>,
    restart: &'a Outside,
}

impl<'a> ContainerJson<'a> {
    pub fn new(c: &'a Container) -> Self {
        ContainerJson {
            name: &c.name,
            project: c.project.as_ref(),
            service: c.service.as_ref(),
            restart: &c.restart,
        }
    }
}

/// A Fly machine.
#[derive(Serialize)]
pub struct MachineJson<'a> {
    id: &'a MachineId,
    /// As flyctl names it, one botctl does not know included.
    state: &'a str,
    region: &'a Outside,
    /// Its process group.
    group: &'a Outside,
}

impl<'a> MachineJson<'a> {
    pub fn new(m: &'a Machine) -> Self {
        MachineJson {
            id: &m.id,
            state: m.state.raw(),
            region: &m.region,
            group: &m.group,
        }
    }

    pub fn all(machines: &'a [Machine]) -> Vec<Self> {
        machines.iter().map(MachineJson::new).collect()
    }
}

/// Something that can start a bot again later.
#[derive(Serialize)]
pub struct AutostartJson<'a> {
    source: &'static str,
    entry: &'a Outside,
}

impl<'a> AutostartJson<'a> {
    pub fn new(e: &'a autostart::AutostartEntry) -> Self {
        AutostartJson {
            source: e.source.as_str(),
            entry: &e.entry,
        }
    }

    pub fn all(entries: impl IntoIterator<Item = &'a autostart::AutostartEntry>) -> Vec<Self> {
        entries.into_iter().map(AutostartJson::new).collect()
    }
}

pub fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::Conflict => "conflict",
        Verdict::Stopped => "stopped",
        Verdict::Unknown => "unknown",
    }
}

pub fn update_mode(mode: UpdateMode) -> &'static str {
    match mode {
        UpdateMode::Polling => "polling",
        UpdateMode::Webhook => "webhook",
    }
}

pub fn platform_kind(kind: PlatformKind) -> &'static str {
    match kind {
        PlatformKind::Fly => "fly",
        PlatformKind::Kubernetes => "kubernetes",
        PlatformKind::Heroku => "heroku",
        PlatformKind::Railway => "railway",
    }
}

/// `doctor --json`.
#[derive(Serialize)]
pub struct DoctorJson<'a> {
    findings: Vec<FindingJson<'a>>,
    errors: usize,
    warnings: usize,
}

impl<'a> DoctorJson<'a> {
    pub fn new(findings: &'a [Finding]) -> Self {
        let count = |level| findings.iter().filter(|f| f.level == level).count();
        DoctorJson {
            findings: findings.iter().map(FindingJson::new).collect(),
            errors: count(Level::Error),
            warnings: count(Level::Warn),
        }
    }
}

#[derive(Serialize)]
pub struct FindingJson<'a> {
    /// `null` for a check about the whole project.
    bot: Option<&'a BotName>,
    check: &'static str,
    level: &'static str,
    message: &'a str,
    fix: Option<&'a Fix>,
}

impl<'a> FindingJson<'a> {
    pub fn new(f: &'a Finding) -> Self {
        FindingJson {
            bot: f.bot.as_ref(),
            check: f.check.name(),
            level: level(f.level),
            message: &f.message,
            fix: f.fix.as_ref(),
        }
    }
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Ok => "ok",
    }
}
