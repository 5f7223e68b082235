//! Real pollers on the fake Bot API: python-telegram-bot (tests/fakes/ptb_bot.py, from the venv
//! that `cargo xtask setup` makes), and with [`Poller::grammy`] / [`Poller::telegraf`] a real
//! grammY or Telegraf one (tests/fakes/*.mjs, from tests/fakes/node).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::procs::{kill_child, stop_child, wait_until};
use crate::world::World;
use crate::{BotApi, Result, fake, venv_python};

/// The line ptb_bot.py prints once it is connected (and the `ready_log` of the fake Fly app).
pub const READY_LINE: &str = "Бот успешно подключен";

/// How long a poller may take to print its ready line (PTB's imports are slow on a busy
/// machine).
pub const READY_LIMIT: Duration = Duration::from_secs(60);

/// A poller we started, in its own process group; killed (with its group) on drop.
pub struct Poller {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

/// The python-telegram-bot poller.
pub type PtbBot = Poller;

/// tests/fakes/node: the pinned Node packages (`cargo xtask setup` installs them).
pub fn node_fakes() -> std::path::PathBuf {
    let dir = fake("node");
    assert!(
        dir.join("node_modules/grammy/package.json").is_file(),
        "{} has no node_modules: run `cargo xtask setup`",
        dir.display()
    );
    dir
}

/// `python3` as a person types it, but the venv's interpreter: `argv[0]` "python3" with the
/// venv's bin first on PATH (Python finds its venv through PATH), so the process looks exactly
/// like `python3 SCRIPT` typed in a shell.
pub fn venv_python3(venv_python: &Path) -> Command {
    let venv_bin = venv_python.parent().unwrap_or(Path::new(".")).to_path_buf();
    let original = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(venv_bin).chain(std::env::split_paths(&original)))
            .expect("the venv's folder fits on PATH");
    let mut cmd = Command::new(venv_python);
    cmd.arg0("python3").env("PATH", path);
    cmd
}

impl Poller {
    /// A real grammY poller (tests/fakes/grammy_bot.mjs copied into the project as `as_name`),
    /// run as `node AS_NAME` in the project root; waits for its ready line.
    pub fn grammy(world: &World, api: &BotApi, token: &str, as_name: &str) -> Poller {
        Poller::node(world, api, token, "grammy_bot.mjs", as_name)
    }

    /// A real Telegraf poller (tests/fakes/telegraf_bot.mjs), as [`Poller::grammy`].
    pub fn telegraf(world: &World, api: &BotApi, token: &str, as_name: &str) -> Poller {
        Poller::node(world, api, token, "telegraf_bot.mjs", as_name)
    }

    fn node(world: &World, api: &BotApi, token: &str, fake_name: &str, as_name: &str) -> Poller {
        world.hold_process_table();
        let script = world.path(as_name);
        std::fs::copy(fake(fake_name), &script).unwrap_or_else(|e| panic!("copy {fake_name}: {e}"));
        let mut cmd = Command::new(world.resolve("node"));
        cmd.arg0("node")
            .arg(as_name)
            .current_dir(world.root())
            .env("BOT_TOKEN", token)
            .env("BOTAPI_URL", api.url())
            .env("BOTCTL_NODE_FAKES", node_fakes())
            .envs(world.marks())
            .env_remove("PARTNER_BOT_TOKEN");
        Poller::spawn(&mut cmd).unwrap_or_else(|e| panic!("{e}"))
    }

    /// ptb_bot.py copied into the world's project as `as_name`, run there as
    /// `python3 AS_NAME` with `token` and the fake Bot API; waits until it is connected
    /// (panics when it does not connect).
    pub fn start(world: &World, api: &BotApi, token: &str, as_name: &str) -> PtbBot {
        world.hold_process_table();
        let script = world.path(as_name);
        std::fs::copy(fake("ptb_bot.py"), &script).expect("copy ptb_bot.py");
        let mut cmd = venv_python3(&venv_python());
        cmd.arg(as_name)
            .current_dir(world.root())
            .envs(world.marks())
            .env("BOT_TOKEN", token)
            .env("BOTAPI_URL", api.url())
            .env_remove("PARTNER_BOT_TOKEN");
        PtbBot::spawn(&mut cmd).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Spawns `cmd` (a run of ptb_bot.py; its stdout and stderr are taken here) in a process
    /// group of its own and waits (up to [`READY_LIMIT`]) until it prints [`READY_LINE`]. A
    /// poller that exits or stays silent fails with what it printed.
    pub fn spawn(cmd: &mut Command) -> Result<Poller> {
        cmd.env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the poller: {e}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("piped stdout")),
            Box::new(child.stderr.take().expect("piped stderr")),
        ];
        for stream in streams {
            let lines = Arc::clone(&lines);
            // Read on a thread so the pipe never fills, whoever listens.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let mut bot = Poller { child, lines };
        wait_until(READY_LIMIT, || bot.has_line(READY_LINE) || bot.has_exited());
        if bot.has_line(READY_LINE) {
            return Ok(bot);
        }
        let why = if bot.has_exited() {
            "exited before it printed".to_string()
        } else {
            format!("did not within {} s print", READY_LIMIT.as_secs())
        };
        let output = bot.output();
        let printed = if output.is_empty() {
            " (it printed nothing)".to_string()
        } else {
            format!("; it printed:\n{output}")
        };
        Err(format!("the poller {why} {READY_LINE:?}{printed}"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    pub fn has_line(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|l| l.contains(needle))
    }

    /// Its exit status once it has exited by itself.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Whether it has exited (reaping it).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Graceful stop (SIGTERM, as an operator would: PTB ends its long poll and leaves);
    /// SIGKILL after `grace`. Waits until it is gone; true when it left within the grace.
    pub fn stop(&mut self, grace: Duration) -> bool {
        stop_child(&mut self.child, grace)
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}
