//! Containers through the engine (`docker`, else `podman`): the only way a Mac sees a bot in
//! Docker Desktop, OrbStack or colima, whose processes run in a Linux VM outside its process
//! table. `ps` names the running containers; `inspect` — asked, through a Go template, for
//! only the fields used here — gives each one's command, working folder, compose labels,
//! restart policy and pid. The environment (`Config.Env`, where the token lives) is never
//! asked for, so it never reaches botctl.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::model::Pid;
use crate::outside::Outside;
use crate::process;

/// Time limit of one `ps` or `inspect` call.
const LIMIT: Duration = Duration::from_secs(10);

/// The fields botctl reads, one JSON value per tab-separated column.
const FIELDS: &str = "{{json .Id}}\t{{json .Name}}\t{{json .Config.Entrypoint}}\t\
{{json .Config.Cmd}}\t{{json .Config.WorkingDir}}\t{{json .Config.User}}\t\
{{json .Config.Labels}}\t{{json .HostConfig.RestartPolicy.Name}}\t{{json .State.Pid}}\t\
{{json .State.StartedAt}}";

/// The engine's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Engine::Docker => "Docker",
            Engine::Podman => "Podman",
        }
    }
}

/// Where the pid the engine reports lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidIn {
    /// In this machine's process table (Linux: the host's pid).
    ThisMachine,
    /// Only in the engine's VM (a Mac): never a pid to signal here.
    Engine,
}

/// One running container, as the engine describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub engine: Engine,
    pub id: String,
    pub name: Outside,
    pub project: Option<Outside>,
    pub service: Option<Outside>,
    /// `no`, `always`, `unless-stopped`, `on-failure`.
    pub restart: Outside,
    pub pid: Pid,
    pub pid_in: PidIn,
    /// Entrypoint and command, as the container runs them.
    pub argv: Vec<String>,
    pub working_dir: Option<String>,
    /// `Config.User`: outside text.
    pub user: Outside,
    pub started: Option<jiff::Timestamp>,
}

impl Container {
    /// What stops it for good: compose's stop for a compose service (compose would start a
    /// removed one again), else `docker stop NAME` (a restart policy does not restart it).
    pub fn stop_argv(&self) -> Vec<String> {
        let program = self.engine.program().to_string();
        match (&self.project, &self.service) {
            (Some(project), Some(service)) => vec![
                program,
                "compose".into(),
                "-p".into(),
                project.raw().to_string(),
                "stop".into(),
                service.raw().to_string(),
            ],
            _ => vec![program, "stop".into(), self.name.raw().to_string()],
        }
    }

    /// "lb-partner-1 (compose lb/partner, restart unless-stopped)".
    pub fn described(&self) -> String {
        let mut s = self.name.to_string();
        if let (Some(p), Some(svc)) = (&self.project, &self.service) {
            s.push_str(&format!(" (compose {p}/{svc}, restart {})", self.restart));
        } else {
            s.push_str(&format!(" (restart {})", self.restart));
        }
        s
    }
}

/// What the engine said.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum EngineState {
    /// Neither docker nor podman is installed: no container can run.
    #[default]
    NotInstalled,
    /// The engine is installed but not running: no container runs either, but say so.
    Down(Engine),
    /// It answered, with the running containers.
    Running(Engine, Vec<Container>),
    /// It failed otherwise (a sentence).
    Failed(Engine, String),
}

impl EngineState {
    /// Why containers were not checked, as a sentence, when they were not.
    pub fn not_checked(&self) -> Option<String> {
        match self {
            EngineState::Down(engine) => {
                Some(format!("the {} engine is not running", engine.title()))
            }
            EngineState::Failed(_, why) => Some(why.clone()),
            EngineState::NotInstalled | EngineState::Running(..) => None,
        }
    }

    /// The engine asked, if one is installed.
    pub fn engine(&self) -> Option<Engine> {
        match self {
            EngineState::NotInstalled => None,
            EngineState::Down(e) | EngineState::Running(e, _) | EngineState::Failed(e, _) => {
                Some(*e)
            }
        }
    }

    pub fn containers(&self) -> &[Container] {
        match self {
            EngineState::Running(_, list) => list,
            _ => &[],
        }
    }
}

/// Asks the engine which containers run; `in_table` says whether a pid is in this machine's
/// process table.
pub fn look(in_table: impl Fn(Pid) -> bool) -> EngineState {
    let Some((engine, program)) = [Engine::Docker, Engine::Podman]
        .into_iter()
        .find_map(|e| process::find_program(e.program(), Path::new("/")).map(|p| (e, p)))
    else {
        return EngineState::NotInstalled;
    };
    let ps = match process::run(
        &program,
        &["ps", "--no-trunc", "--format", "{{json .}}"],
        LIMIT,
    ) {
        Ok(out) => out,
        Err(e) => return EngineState::Failed(engine, e.to_string()),
    };
    if !ps.success() {
        if engine_down(&ps.stderr) {
            return EngineState::Down(engine);
        }
        return EngineState::Failed(
            engine,
            format!("{} ps failed: {}", engine.program(), ps.error_line()),
        );
    }
    let ids = ps_ids(&ps.stdout);
    if ids.is_empty() {
        return EngineState::Running(engine, Vec::new());
    }
    let mut args = vec!["inspect", "--format", FIELDS];
    args.extend(ids.iter().map(String::as_str));
    let inspected = match process::run(&program, &args, LIMIT) {
        Ok(out) => out,
        Err(e) => return EngineState::Failed(engine, e.to_string()),
    };
    // A container that stopped between the two calls is "No such object": the rest still
    // print their lines.
    let containers: Vec<Container> = inspected
        .stdout
        .lines()
        .filter_map(|l| parse_fields(engine, l, &in_table))
        .collect();
    if !inspected.success() && containers.is_empty() {
        return EngineState::Failed(
            engine,
            format!(
                "{} inspect failed: {}",
                engine.program(),
                inspected.error_line()
            ),
        );
    }
    EngineState::Running(engine, containers)
}

/// docker's "Cannot connect to the Docker daemon at unix:///…", podman's "Cannot connect to
/// Podman".
pub fn engine_down(stderr: &str) -> bool {
    stderr.contains("Cannot connect to the Docker daemon")
        || stderr.contains("Is the docker daemon running")
        || stderr.contains("Cannot connect to Podman")
}

/// The `ID` of each line of `ps --format '{{json .}}'` (one JSON object per line).
pub fn ps_ids(text: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct Row {
        #[serde(rename = "ID")]
        id: Outside,
    }
    text.lines()
        .filter_map(|l| serde_json::from_str::<Row>(l.trim()).ok())
        .map(|r| r.id.raw().to_string())
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()))
        .collect()
}

/// One line of `inspect --format FIELDS`.
pub fn parse_fields(
    engine: Engine,
    line: &str,
    in_table: &impl Fn(Pid) -> bool,
) -> Option<Container> {
    let cols: Vec<&str> = line.split('\t').collect();
    let [
        id,
        name,
        entrypoint,
        cmd,
        working_dir,
        user,
        labels,
        restart,
        pid,
        started,
    ] = cols.as_slice()
    else {
        return None;
    };
    fn json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
        serde_json::from_str::<Option<T>>(text)
            .ok()
            .flatten()
            .unwrap_or_default()
    }
    let id: String = json(id);
    if id.is_empty() {
        return None;
    }
    let name: String = json(name);
    let mut argv: Vec<String> = json(entrypoint);
    argv.extend(json::<Vec<String>>(cmd));
    let labels: BTreeMap<String, String> = json(labels);
    let label = |k: &str| {
        labels
            .get(k)
            .filter(|v| !v.is_empty())
            .map(|v| Outside::from(v.as_str()))
    };
    let pid: Pid = json(pid);
    let working_dir: String = json(working_dir);
    let started: String = json(started);
    let restart: String = json(restart);
    Some(Container {
        engine,
        name: name.trim_start_matches('/').into(),
        project: label("com.docker.compose.project"),
        service: label("com.docker.compose.service"),
        restart: if restart.is_empty() {
            "no".into()
        } else {
            restart.into()
        },
        pid_in: if pid > Pid(0) && in_table(pid) {
            PidIn::ThisMachine
        } else {
            PidIn::Engine
        },
        pid,
        argv,
        working_dir: Some(working_dir).filter(|w| !w.is_empty()),
        user: Some(json::<String>(user))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".into())
            .into(),
        started: crate::time::parse_rfc3339(&started),
        id,
    })
}

/// The supervisor of a bot's container: the engine stops it for good.
pub fn supervisor(c: &Container) -> crate::sources::supervisor::Supervisor {
    use crate::sources::supervisor::{EnvShown, StopHow, Supervisor, SupervisorKind};
    let argv = c.stop_argv();
    Supervisor {
        kind: SupervisorKind::Docker,
        name: c.name.clone().into(),
        pid: None,
        how: StopHow::Command {
            argv,
            env: Vec::new(),
            shown: EnvShown::Implied,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_lines_and_inspect_fields() {
        let ps = r#"{"Command":"\"python3 bot.py\"","CreatedAt":"2026-11-30 10:02:11 +0000 UTC","ID":"3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f","Image":"lb-partner","Labels":"com.docker.compose.project=lb","LocalVolumes":"0","Mounts":"","Names":"lb-partner-1","Networks":"lb_default","Ports":"","RunningFor":"2 hours ago","Size":"0B","State":"running","Status":"Up 2 hours"}
not json
"#;
        assert_eq!(
            ps_ids(ps),
            ["3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f"]
        );
        let line = "\"3f2a\"\t\"/lb-partner-1\"\tnull\t[\"python3\",\"bot.py\"]\t\"/app\"\t\"\"\t\
{\"com.docker.compose.project\":\"lb\",\"com.docker.compose.service\":\"partner\"}\t\
\"unless-stopped\"\t4242\t\"2026-11-30T10:02:11.123456789Z\"";
        let c = parse_fields(Engine::Docker, line, &|_| false).unwrap();
        assert_eq!(c.name, "lb-partner-1");
        assert_eq!(c.argv, ["python3", "bot.py"]);
        assert_eq!(c.pid_in, PidIn::Engine);
        assert_eq!(c.user, "root");
        assert!(c.started.is_some());
        assert_eq!(
            c.stop_argv(),
            ["docker", "compose", "-p", "lb", "stop", "partner"]
        );
        assert_eq!(
            c.described(),
            "lb-partner-1 (compose lb/partner, restart unless-stopped)"
        );
        assert!(parse_fields(Engine::Docker, "x\ty", &|_| true).is_none());
    }
}
