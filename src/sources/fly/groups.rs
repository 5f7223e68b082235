//! Which machines of a Fly app are the bot's: those of its process group (reference/flyctl.md,
//! "Process groups"). An app often runs a `web` group beside the bot, and Fly runs machines of
//! its own (a `fly console`, the release command, a canary): stopping or counting "the app's
//! machines" would stop the web, or call a console a poller.

use serde::Serialize;

use super::{FlyError, Flyctl, Machine};
use crate::config::Bot;
use crate::model::{Entry, ProcessGroup};
use crate::outside::Outside;
use crate::sources::argv;

/// The metadata key every machine carries (fly-go `machine_types.go`).
pub const GROUP_KEY: &str = "fly_process_group";
/// Fly's group when fly.toml has no `[processes]`.
pub const DEFAULT_GROUP: &str = "app";

/// A machine Fly runs for itself, never one of the bot's places (unless, oddly, it runs the
/// bot's own command: doctor warns of that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlyOwn {
    /// `fly console`: a shell in the app's image, running while the console is open.
    Console,
    /// The `[deploy] release_command`, during a deploy.
    ReleaseCommand,
    /// `fly machine run --command` tests.
    TestMachine,
    /// A canary deploy's extra machine (`fly_canary = "true"`), until its checks pass.
    Canary,
    /// Another `fly_app_*` group botctl does not know.
    Other,
}

impl FlyOwn {
    /// As status names it: "console machine 91857e3f0d2a47".
    pub fn what(self) -> &'static str {
        match self {
            FlyOwn::Console => "console machine",
            FlyOwn::ReleaseCommand => "release command machine",
            FlyOwn::TestMachine => "test machine",
            FlyOwn::Canary => "canary machine",
            FlyOwn::Other => "Fly machine",
        }
    }
}

impl Machine {
    /// Whether Fly runs it for itself, and as what.
    pub fn fly_own(&self) -> Option<FlyOwn> {
        if self.metadata.get("fly_canary").map(String::as_str) == Some("true") {
            return Some(FlyOwn::Canary);
        }
        match self.group.raw() {
            "fly_app_console" => Some(FlyOwn::Console),
            "fly_app_release_command" => Some(FlyOwn::ReleaseCommand),
            "fly_app_test_machine_command" => Some(FlyOwn::TestMachine),
            g if g.starts_with("fly_app") => Some(FlyOwn::Other),
            _ => None,
        }
    }

    /// Running, and none of Fly's own: what may poll in another app holding the bot's token
    /// (whose groups botctl.toml says nothing of).
    pub fn may_poll(&self) -> bool {
        self.is_running() && self.fly_own().is_none()
    }

    /// Whether its `[processes]` command runs `entry`, by the argv rules of a local process.
    pub fn runs(&self, entry: &Entry) -> bool {
        let Some(cmd) = &self.command else {
            return false;
        };
        let argv: Vec<String> = cmd.iter().map(|w| w.raw().to_string()).collect();
        argv::runs(&argv, entry).is_some()
    }
}

/// What tells one bot's machines from the rest of its app.
#[derive(Debug, Clone, Copy)]
pub struct BotOnFly<'a> {
    pub app: &'a str,
    /// `fly_process_group` in botctl.toml.
    pub group: Option<&'a ProcessGroup>,
    pub entry: &'a Entry,
}

impl<'a> BotOnFly<'a> {
    /// `None` for a bot that does not run on Fly.
    pub fn of(bot: &'a Bot) -> Option<Self> {
        let fly = bot.fly()?;
        Some(BotOnFly {
            app: &fly.app,
            group: fly.group.as_ref(),
            entry: &bot.entry,
        })
    }
}

/// How the bot's group was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToldBy {
    /// `fly_process_group` in botctl.toml.
    Config,
    /// Its machines' `[processes]` command runs the bot's entry.
    Command,
    /// The app has one group of its own (Fly's `fly_app_*` aside).
    OnlyGroup,
}

/// An app's machines: the bot's, and the others (another group, Fly's own machines).
#[derive(Debug, Clone, Default)]
pub struct AppMachines {
    pub bot: Vec<Machine>,
    pub others: Vec<Machine>,
}

/// The bot's group, in this order: botctl.toml's `fly_process_group`; else the groups whose
/// machines' command runs the bot; else the app's only group. Several groups that nothing
/// tells apart are an error with the fix, never a guess.
pub fn bots_group(
    who: BotOnFly<'_>,
    machines: &[Machine],
) -> Result<(Vec<Outside>, ToldBy), FlyError> {
    if let Some(g) = who.group {
        return Ok((vec![Outside::from(g.as_str())], ToldBy::Config));
    }
    let mut groups: Vec<&Outside> = machines
        .iter()
        .filter(|m| m.fly_own().is_none())
        .map(|m| &m.group)
        .collect();
    groups.sort_by(|a, b| a.raw().cmp(b.raw()));
    groups.dedup();
    let running: Vec<Outside> = groups
        .iter()
        .filter(|g| {
            machines
                .iter()
                .any(|m| m.fly_own().is_none() && &m.group == **g && m.runs(who.entry))
        })
        .map(|g| (*g).clone())
        .collect();
    if !running.is_empty() {
        return Ok((running, ToldBy::Command));
    }
    match groups.as_slice() {
        [] | [_] => Ok((groups.into_iter().cloned().collect(), ToldBy::OnlyGroup)),
        _ => Err(FlyError::GroupUnclear {
            app: who.app.to_string(),
            groups: groups.into_iter().cloned().collect(),
        }),
    }
}

/// `machines` split into the bot's (its group's, Fly's own machines never) and the others.
pub fn split(who: BotOnFly<'_>, machines: Vec<Machine>) -> Result<AppMachines, FlyError> {
    let (groups, _) = bots_group(who, &machines)?;
    let (bot, others) = machines
        .into_iter()
        .partition(|m| m.fly_own().is_none() && groups.contains(&m.group));
    Ok(AppMachines { bot, others })
}

impl Flyctl {
    /// The app's machines, the bot's apart from the rest.
    pub fn app_machines(&self, who: BotOnFly<'_>) -> Result<AppMachines, FlyError> {
        split(who, self.machines(who.app)?)
    }

    /// The bot's own machines: those of its process group.
    pub fn bot_machines(&self, who: BotOnFly<'_>) -> Result<Vec<Machine>, FlyError> {
        self.app_machines(who).map(|a| a.bot)
    }
}

#[cfg(test)]
mod tests {
    use super::super::machines::parse_machines;
    use super::*;

    /// A machine list as flyctl prints it: (id, state, group, init.cmd, canary).
    fn listed(ms: &[(&str, &str, &str, &[&str], bool)]) -> Vec<Machine> {
        let json: Vec<serde_json::Value> = ms
            .iter()
            .map(|(id, state, group, cmd, canary)| {
                let mut meta = serde_json::json!({"fly_process_group": group});
                if *canary {
                    meta["fly_canary"] = "true".into();
                }
                let init = if cmd.is_empty() {
                    serde_json::json!({})
                } else {
                    serde_json::json!({"cmd": cmd})
                };
                serde_json::json!({"id": id, "state": state,
                    "config": {"init": init, "metadata": meta}})
            })
            .collect();
        parse_machines(&serde_json::to_string(&json).unwrap()).unwrap()
    }

    fn ids(ms: &[Machine]) -> Vec<&str> {
        ms.iter().map(|m| m.id.as_str()).collect()
    }

    const PY: &[&str] = &["python", "-u", "bot.py"];
    const WEB: &[&str] = &["gunicorn", "admin:app"];

    #[test]
    fn the_group_whose_command_runs_the_bot_is_the_bots_and_fly_own_machines_never_are() {
        let entry = Entry::Script("bot.py".into());
        let who = BotOnFly {
            app: "lb",
            group: None,
            entry: &entry,
        };
        let ms = listed(&[
            ("b1", "started", "bot", PY, false),
            ("w1", "started", "web", WEB, false),
            ("c1", "started", "fly_app_console", &["sleep", "inf"], false),
            ("k1", "started", "bot", PY, true),
            ("r1", "stopped", "fly_app_release_command", &[], false),
        ]);
        assert_eq!(ms[2].fly_own(), Some(FlyOwn::Console));
        assert_eq!(ms[3].fly_own(), Some(FlyOwn::Canary));
        let (_, by) = bots_group(who, &ms).unwrap();
        assert_eq!(by, ToldBy::Command);
        let split = split(who, ms).unwrap();
        assert_eq!(ids(&split.bot), ["b1"]);
        assert_eq!(ids(&split.others), ["w1", "c1", "k1", "r1"]);
    }

    #[test]
    fn the_configured_group_wins_and_one_group_of_its_own_is_the_bots() {
        let entry = Entry::Module("lb.bot".into());
        let group = ProcessGroup::new("worker");
        let ms = listed(&[
            ("w1", "started", "worker", &[], false),
            ("x1", "started", "web", WEB, false),
        ]);
        let who = BotOnFly {
            app: "lb",
            group: Some(&group),
            entry: &entry,
        };
        assert_eq!(ids(&split(who, ms.clone()).unwrap().bot), ["w1"]);
        // Without the key, two groups that no command tells apart: not checked, with the fix.
        let who = BotOnFly { group: None, ..who };
        let e = split(who, ms).unwrap_err();
        assert!(e.to_string().contains("web, worker"), "{e}");
        assert!(
            e.fix()
                .unwrap()
                .to_string()
                .contains("fly_process_group = \"web\""),
            "{:?}",
            e.fix()
        );
        // An app without [processes]: its one group `app`, a console beside it.
        let ms = listed(&[
            ("a1", "started", "app", &[], false),
            ("c1", "started", "fly_app_console", &[], false),
        ]);
        assert_eq!(ids(&split(who, ms).unwrap().bot), ["a1"]);
        // A machine list without the key at all (never seen): Fly's default group.
        let ms = parse_machines(r#"[{"id":"a","state":"started"}]"#).unwrap();
        assert_eq!(ms[0].group, "app");
        assert_eq!(ids(&split(who, ms).unwrap().bot), ["a"]);
    }
}
