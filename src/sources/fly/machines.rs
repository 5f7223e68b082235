//! A Fly app's machines: `flyctl machine list --json` read into [`Machine`]s, their states,
//! and the stop and start that do not wait (reference/flyctl.md).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{FlyError, Flyctl, NotAList, groups, machine_history};
use crate::model::MachineId;
use crate::outside::Outside;

/// A Fly machine as botctl needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub id: MachineId,
    pub state: MachineState,
    /// As flyctl printed it: outside text.
    pub region: Outside,
    /// Its process group (`config.metadata.fly_process_group`): `app` without `[processes]`,
    /// else the fly.toml name (`bot`, `web`), or one of Fly's own (`fly_app_console`).
    pub group: Outside,
    /// `config.init.cmd`: the `[processes]` command it runs; `None` runs the image's CMD.
    pub command: Option<Vec<Outside>>,
    /// Whether Fly Proxy may start it again by itself.
    pub proxy_autostart: ProxyAutostart,
    /// `config.metadata`: where handoff records live (`crate::team`), read from the same list.
    pub metadata: BTreeMap<String, String>,
    /// Its creation, recent events and botctl's handoff record (from the same listing).
    pub history: machine_history::History,
}

/// Whether Fly Proxy may start a machine again by itself: `On` for a service with autostart
/// (the default), `Off` when every service turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyAutostart {
    On,
    Off,
}

impl ProxyAutostart {
    pub fn is_on(self) -> bool {
        self == ProxyAutostart::On
    }
}

/// A machine's state as flyctl names it (reference/flyctl.md); one botctl does not know is
/// kept as it was printed, as outside text (shown escaped).
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
    Other(Outside),
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
            .unwrap_or_else(|| MachineState::Other(Outside::from(s)))
    }

    /// The state as flyctl printed it, for JSON and comparing; shown through `Display`.
    pub fn raw(&self) -> &str {
        match self {
            MachineState::Other(s) => s.raw(),
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
        match self {
            MachineState::Other(s) => s.fmt(f),
            known => f.write_str(known.raw()),
        }
    }
}

impl Machine {
    /// A plain machine for unit tests (group `app`, region `ams`, no record); a test sets
    /// what it is about over it with `..Machine::stub(id, state)`.
    #[cfg(test)]
    pub fn stub(id: &str, state: &str) -> Machine {
        Machine {
            id: id.into(),
            state: state.into(),
            region: "ams".into(),
            group: "app".into(),
            command: None,
            proxy_autostart: ProxyAutostart::Off,
            metadata: Default::default(),
            history: Default::default(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.state.counts_as_running()
    }

    /// The command that keeps Fly Proxy from starting this machine by itself.
    pub fn proxy_fix(&self, app: &str) -> crate::fix::Fix {
        crate::fix::Fix::proxy_autostart_off(&self.id, app)
    }
}

impl Flyctl {
    /// The app's machines, every one; within one look, read once per app.
    pub fn machines(&self, app: &str) -> Result<Vec<Machine>, FlyError> {
        let Some(lists) = &self.lists else {
            return self.list_machines(app);
        };
        // The lock is held only to find the app's slot: other apps are read meanwhile.
        let slot = lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(app.to_string())
            .or_default()
            .clone();
        slot.get_or_init(|| self.list_machines(app)).clone()
    }

    fn list_machines(&self, app: &str) -> Result<Vec<Machine>, FlyError> {
        let args = ["machine", "list", "--app", app, "--json"];
        let stdout = self.call(&args, self.timeout)?;
        parse_machines(&stdout).map_err(|e| FlyError::BadOutput {
            command: format!("flyctl {}", args.join(" ")),
            message: e.to_string(),
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
}

#[derive(Deserialize)]
struct RawMachine {
    id: MachineId,
    #[serde(default)]
    state: Outside,
    #[serde(default)]
    region: Outside,
    #[serde(default)]
    config: Option<RawMachineConfig>,
    /// What `machine list` gives instead of `config` when the machine's host cannot be
    /// reached (`config` is omitempty): its records and services are read from here then.
    #[serde(default)]
    incomplete_config: Option<RawMachineConfig>,
}

#[derive(Deserialize)]
struct RawMachineConfig {
    #[serde(default)]
    init: Option<RawInit>,
    #[serde(default)]
    services: Option<Vec<RawService>>,
    /// A string→string map; a value of another type (never seen) is dropped, not an error.
    #[serde(default)]
    metadata: Option<BTreeMap<String, serde_json::Value>>, // raw: crate::team's, shown escaped
}

#[derive(Deserialize)]
struct RawInit {
    #[serde(default)]
    cmd: Option<Vec<Outside>>,
}

#[derive(Deserialize)]
struct RawService {
    #[serde(default)]
    autostart: Option<bool>,
    /// The deprecated form of `autostart = false`, still honoured by Fly Proxy.
    #[serde(default)]
    disable_machine_autostart: Option<bool>,
}

impl RawService {
    /// Fly Proxy starts the machine on a request unless one of the two says not to
    /// (autostart is on when neither is set).
    fn autostarts(&self) -> bool {
        self.autostart != Some(false) && self.disable_machine_autostart != Some(true)
    }
}

pub fn parse_machines(json: &str) -> Result<Vec<Machine>, NotAList> {
    let raw: Vec<RawMachine> =
        serde_json::from_str(json.trim()).map_err(|source| NotAList::of("machines", source))?;
    let mut histories = machine_history::parse_all(json).into_iter();
    Ok(raw
        .into_iter()
        .map(|m| {
            let (services, metadata, command) = m
                .config
                .or(m.incomplete_config)
                .map(|c| {
                    (
                        c.services.unwrap_or_default(),
                        c.metadata.unwrap_or_default(),
                        c.init.and_then(|i| i.cmd).filter(|cmd| !cmd.is_empty()),
                    )
                })
                .unwrap_or_default();
            let metadata: BTreeMap<String, String> = metadata
                .into_iter()
                .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
                .collect();
            Machine {
                proxy_autostart: if services.iter().any(RawService::autostarts) {
                    ProxyAutostart::On
                } else {
                    ProxyAutostart::Off
                },
                // Every machine has one (fly-go); `app` is Fly's name when fly.toml has none.
                group: Outside::from(
                    metadata
                        .get(groups::GROUP_KEY)
                        .map_or(groups::DEFAULT_GROUP, String::as_str),
                ),
                command,
                metadata,
                id: m.id,
                state: MachineState::parse(m.state.raw()),
                region: m.region,
                history: histories.next().unwrap_or_default(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_hosts_machine_keeps_its_record_and_autostart() {
        let ms = parse_machines(
            r#"[{"id":"a","state":"stopped","incomplete_config":{
                "services":[{"autostart":true}],"metadata":{"botctl_by":"alice@mbp"}}}]"#,
        )
        .unwrap();
        assert_eq!(ms[0].metadata["botctl_by"], "alice@mbp");
        assert!(ms[0].proxy_autostart.is_on());
    }

    #[test]
    fn the_deprecated_disable_machine_autostart_turns_autostart_off() {
        let ms = parse_machines(
            r#"[{"id":"a","state":"stopped","config":{
                "services":[{"disable_machine_autostart":true}]}},
               {"id":"b","state":"stopped","config":{
                "services":[{"disable_machine_autostart":false}]}}]"#,
        )
        .unwrap();
        assert!(!ms[0].proxy_autostart.is_on());
        assert!(ms[1].proxy_autostart.is_on());
    }

    #[test]
    fn machines_json() {
        let ms = parse_machines(
            r#"[{"id":"a","name":"n","state":"started","region":"ams","extra":1,
                "config":{"services":[{"autostart":true}]}},
               {"id":"b","state":"stopped","region":"ams","config":{}}]"#,
        )
        .unwrap();
        assert!(ms[0].is_running() && ms[0].proxy_autostart.is_on());
        assert!(!ms[1].is_running() && !ms[1].proxy_autostart.is_on());
        assert!(parse_machines("<html>").is_err());
        let ms = parse_machines(
            r#"[{"id":"a","state":"stopped","config":{"metadata":
                {"fly_process_group":"app","botctl_by":"alice@mbp","odd":1}}}]"#,
        )
        .unwrap();
        assert_eq!(ms[0].metadata["botctl_by"], "alice@mbp");
        let forged = parse_machines(
            r#"[{"id":"a","state":"odd\nFORGED","region":"ams\nFORGED: all stopped"}]"#,
        )
        .unwrap();
        assert_eq!(forged[0].region.to_string(), "ams\\nFORGED: all stopped");
        assert_eq!(forged[0].state.to_string(), "odd\\nFORGED");
        assert_eq!(
            serde_json::to_value(crate::ui::json::MachineJson::new(&forged[0])).unwrap()["state"],
            "odd\nFORGED",
            "JSON carries it as it is"
        );
        assert_eq!(ms[0].metadata["fly_process_group"], "app");
        assert!(!ms[0].metadata.contains_key("odd"));
    }
}
