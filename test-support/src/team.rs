//! A team: laptops that share one Fly account. Each [`Laptop`] is a project folder of its own
//! (its own botctl.toml and `.botctl/`) inside one [`World`], whose fake flyctl state is the
//! team's Fly account, and botctl runs there as a person (`BOTCTL_WHO`). They share this
//! machine's process table, so a copy one laptop runs "unseen by the other" is one the other's
//! botctl.toml does not describe (a script of another name), as it would be on another computer.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::run::{Run, run};
use crate::world::World;

/// One teammate's laptop: a project folder in `world` and the person botctl runs as there.
pub struct Laptop<'w> {
    world: &'w World,
    root: PathBuf,
    who: String,
}

impl World {
    /// A laptop of this world's team: the project folder `<world>/laptops/<who>/project` with
    /// its own botctl.toml (`config`), where botctl runs with `BOTCTL_WHO=who`.
    pub fn laptop(&self, who: &str, config: impl Into<String>) -> Laptop<'_> {
        let base = self
            .root()
            .parent()
            .expect("the world's project has a parent")
            .join("laptops")
            .join(who.replace(['/', '@'], "_"));
        let root = base.join("project");
        std::fs::create_dir_all(&root).expect("create the laptop's project folder");
        std::fs::write(root.join("botctl.toml"), config.into())
            .expect("write the laptop's botctl.toml");
        Laptop {
            world: self,
            root,
            who: who.to_string(),
        }
    }
}

impl Laptop<'_> {
    pub fn who(&self) -> &str {
        &self.who
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// botctl as [`World::botctl`] sets it up, in this laptop's project, as this person.
    pub fn botctl(&self) -> assert_cmd::Command {
        let mut cmd = self.world.botctl();
        cmd.current_dir(&self.root).env("BOTCTL_WHO", &self.who);
        cmd
    }

    /// Runs `botctl ARGS` here (taking the process-table lock for commands that start or stop
    /// bots, as [`World::run`] does).
    pub fn run(&self, args: &[&str]) -> Run {
        if args
            .iter()
            .any(|a| crate::world::PROCESS_COMMANDS.contains(a))
        {
            self.world.hold_process_table();
        }
        run(self.botctl().args(args))
    }

    /// Writes `root/rel` of this laptop's project (a `.env`, a script).
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// This laptop's `.botctl/state.json`, parsed; `None` when there is none.
    pub fn state(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.root.join(".botctl/state.json")).ok()?;
        Some(serde_json::from_str(&text).expect("state.json is JSON"))
    }

    /// Loses `.botctl/` (a new laptop, a fresh clone, a deleted folder).
    pub fn lose_local_state(&self) {
        std::fs::remove_dir_all(self.root.join(".botctl")).expect("remove .botctl");
    }
}

/// The user metadata (`botctl_*` keys) of machine `id` of `app` in the fake Fly account.
pub fn fly_metadata(world: &World, app: &str, id: &str) -> Value {
    world.fly_state_now()["apps"][app]["machines"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["id"] == id))
        .map(|m| m["metadata"].clone())
        .unwrap_or(Value::Null)
}
