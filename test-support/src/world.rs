//! The world of one test: a throw-away project folder in which the REAL botctl binary runs
//! against real processes and the fakes in `tests/fakes/`.
//!
//! - [`World`]: a temp project with `botctl.toml`, a `bin/` that shadows flyctl, crontab and
//!   systemctl (and `python3`), a private `$HOME`, and the fake flyctl's state file; here too
//!   the ways to run botctl in it.
//! - Elsewhere: the fake flyctl's state (`fly_state.rs`), the processes a test starts
//!   (`spawn.rs`: [`crate::Proc`]), what one botctl run did (`run.rs`: [`crate::Run`]), and
//!   the JSON helpers (`json.rs`).
//!
//! Declare the `World` first in a test, so that it is dropped (and the process-table lock, if
//! it took it, released) after every process the test started.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::cleanup::WORLD_VAR;
use crate::lock::TestLock;
use crate::run::{Run, run};
use crate::spawn::SLEEPER;
use crate::{botctl_bin, fake, system_python};

/// How long one botctl run may take before the test fails as a hang.
pub const BOTCTL_LIMIT: Duration = Duration::from_secs(90);

/// botctl's commands that start or stop processes: a test running one holds the lock.
pub(crate) const PROCESS_COMMANDS: [&str; 5] =
    ["dev-start", "dev-stop", "deploy-resume", "deploy", "exec"];

/// A temp project folder for one test. See the module docs.
pub struct World {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) bin: PathBuf,
    pub(crate) home: PathBuf,
    /// Tools botctl must not find: their shims are removed and PATH folders that hold them
    /// are left out of botctl's PATH.
    pub(crate) hidden: Vec<String>,
    /// Taken before the first process that botctl could count or signal (see the crate docs).
    pub(crate) lock: OnceCell<TestLock>,
}

impl World {
    /// An empty project folder (no botctl.toml yet), with the shims and the fake flyctl.
    pub fn new() -> World {
        let dir = tempfile::Builder::new()
            .prefix("botctl-world-")
            .tempdir()
            .expect("create a temp folder");
        // Canonical, as botctl and /proc report it.
        let base = dir.path().canonicalize().expect("canonicalize temp folder");
        let root = base.join("project");
        let bin = base.join("bin");
        let home = base.join("home");
        for d in [&root, &bin, &home] {
            std::fs::create_dir_all(d).expect("create world folders");
        }
        let world = World {
            dir,
            root,
            bin,
            home,
            hidden: Vec::new(),
            lock: OnceCell::new(),
        };
        std::os::unix::fs::symlink(fake("flyctl"), world.bin.join("flyctl"))
            .expect("symlink the fake flyctl");
        std::os::unix::fs::symlink(system_python(), world.bin.join("python3"))
            .expect("symlink python3");
        // The engine is the world's too: a fake docker running no container until told.
        std::os::unix::fs::symlink(fake("docker"), world.bin.join("docker"))
            .expect("symlink the fake docker");
        world.write_shims();
        world
    }

    /// Takes the process-table lock (once; held until the World is dropped). Every way of
    /// starting or stopping a process here calls it; call it yourself before starting one by
    /// other means.
    pub fn hold_process_table(&self) {
        self.lock.get_or_init(TestLock::acquire);
    }

    /// A project whose botctl.toml is `config` (text, or a [`crate::config::Toml`]).
    pub fn with_config(config: impl Into<String>) -> World {
        let world = World::new();
        world.write_config(config);
        world
    }

    /// A project whose botctl.toml is `config(&world)`: for a config that names the world's
    /// scripts ([`World::script`]).
    pub fn configured<C: Into<String>>(config: impl FnOnce(&World) -> C) -> World {
        let world = World::new();
        world.write_config(config(&world));
        world
    }

    /// The environment marks of what this world starts ([`crate::cleanup`]): its own, and the
    /// suite run's when there is one (for commands whose environment is cleared).
    pub fn marks(&self) -> Vec<(&'static str, OsString)> {
        let mut marks = vec![(WORLD_VAR, self.dir.path().as_os_str().to_owned())];
        marks.extend(crate::cleanup::run_mark());
        marks
    }

    /// This world's tag: the random part of its folder's name.
    pub fn tag(&self) -> String {
        let name = self.dir.path().file_name().unwrap_or_default();
        let name = name.to_string_lossy();
        // Lower case: bot names that `init` derives from a file name are [a-z0-9-]+.
        name.trim_start_matches("botctl-world-").to_lowercase()
    }

    /// This world's name for the bot script `name`: the tag before the extension
    /// (`bot.py` → `bot_xy3kqz.py`, `bots/bot.py` → `bots/bot_xy3kqz.py`). No process outside
    /// this test has it, so what botctl counts under a bot with such a script is this test's
    /// own doing (see the crate docs).
    pub fn script(&self, name: &str) -> String {
        let (folder, file) = match name.rsplit_once('/') {
            Some((folder, file)) => (format!("{folder}/"), file),
            None => (String::new(), name),
        };
        let (stem, ext) = file.rsplit_once('.').unwrap_or((file, ""));
        let dot = if ext.is_empty() { "" } else { "." };
        format!("{folder}{stem}_{}{dot}{ext}", self.tag())
    }

    /// botctl will not find flyctl (nor fly) anywhere on its PATH.
    pub fn without_flyctl(self) -> World {
        self.without_tool("flyctl").without_tool("fly")
    }

    /// botctl will not find `tool`: its shim is removed and every PATH folder holding a
    /// program of that name is left out of botctl's PATH. For crontab, systemctl, launchctl.
    pub fn without_tool(mut self, tool: &str) -> World {
        let _ = std::fs::remove_file(self.bin.join(tool));
        self.hidden.push(tool.to_string());
        self
    }

    /// Pids of live processes of this world (working folder inside its temp folder) one of
    /// whose arguments contains `needle`.
    pub fn pids_with_arg(&self, needle: &str) -> Vec<u32> {
        let base = self.dir.path().canonicalize().unwrap_or_default();
        crate::pids_with_arg(needle)
            .into_iter()
            .filter(|pid| crate::procs::cwd(*pid).is_some_and(|cwd| cwd.starts_with(&base)))
            .collect()
    }

    /// The project root (where botctl.toml is and botctl runs).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `root/rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The folder with the shims; first on botctl's PATH.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// botctl's `$HOME`.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// A folder outside the project (for "started from another folder" cases).
    pub fn elsewhere(&self) -> PathBuf {
        let p = self.dir.path().canonicalize().unwrap().join("elsewhere");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// Writes botctl.toml: text, or a [`crate::config::Toml`].
    pub fn write_config(&self, config: impl Into<String>) {
        self.write("botctl.toml", &config.into());
    }

    /// Writes `.env` with `var=value` lines (what botctl reads tokens from).
    pub fn dotenv(&self, vars: &[(&str, &str)]) {
        let text: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        self.write(".env", &text);
    }

    /// Writes `root/rel` (creating folders).
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Writes the executable [`SLEEPER`] script at `root/rel` (or at an absolute path).
    pub fn write_sleeper(&self, rel: impl AsRef<Path>) -> PathBuf {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, SLEEPER).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    // ----- shims: crontab and systemctl print files of the world

    fn crontab_file(&self) -> PathBuf {
        self.dir.path().join("crontab.txt")
    }

    fn systemd_file(&self, user: bool) -> PathBuf {
        self.dir.path().join(if user {
            "systemd-user.txt"
        } else {
            "systemd.txt"
        })
    }

    fn write_shims(&self) {
        let cat = ["/bin/cat", "/usr/bin/cat"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("cat");
        let crontab = format!(
            "#!/bin/sh\n\
             # crontab shim of botctl's tests: `crontab -l` prints the world's crontab file.\n\
             if [ \"$1\" != \"-l\" ]; then echo \"crontab shim: only -l is supported\" >&2; exit 2; fi\n\
             if [ -f '{file}' ]; then exec {cat} '{file}'; fi\n\
             echo 'no crontab for root' >&2\n\
             exit 1\n",
            file = self.crontab_file().display(),
        );
        let systemctl = format!(
            "#!/bin/sh\n\
             # systemctl shim of botctl's tests: `show` prints the world's systemd file.\n\
             file='{system}'\n\
             for a in \"$@\"; do [ \"$a\" = \"--user\" ] && file='{user}'; done\n\
             if [ -f \"$file\" ]; then exec {cat} \"$file\"; fi\n\
             echo \"System has not been booted with systemd as init system (PID 1). Can't operate.\" >&2\n\
             echo 'Failed to connect to bus: Host is down' >&2\n\
             exit 1\n",
            system = self.systemd_file(false).display(),
            user = self.systemd_file(true).display(),
        );
        for (name, text) in [("crontab", crontab), ("systemctl", systemctl)] {
            let p = self.bin.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// What `crontab -l` prints (without it: "no crontab for root", exit 1).
    pub fn set_crontab(&self, text: &str) {
        std::fs::write(self.crontab_file(), text).unwrap();
    }

    /// What `systemctl show …` prints: blocks of `Id=…\nExecStart={ path=… ; argv[]=… ; … }\n
    /// ActiveState=…\nUnitFileState=…` separated by blank lines. Without it systemctl fails
    /// with "System has not been booted with systemd…".
    pub fn set_systemd(&self, show_output: &str) {
        std::fs::write(self.systemd_file(false), show_output).unwrap();
    }

    /// The same for `systemctl --user show …`.
    pub fn set_systemd_user(&self, show_output: &str) {
        std::fs::write(self.systemd_file(true), show_output).unwrap();
    }

    /// Writes `$HOME/Library/LaunchAgents/NAME` (botctl reads these even without launchctl).
    pub fn add_launch_agent(&self, name: &str, plist: &str) -> PathBuf {
        let dir = self.home.join("Library").join("LaunchAgents");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, plist).unwrap();
        p
    }

    // ----- the fake docker

    /// Replaces the fake docker's state: `{"engine": "running"|"down", "containers": [docker
    /// inspect documents]}` (see tests/fakes/docker).
    pub fn docker_state(&self, state: Value) {
        std::fs::write(
            self.home.join("fake-docker.json"),
            serde_json::to_string_pretty(&state).unwrap(),
        )
        .unwrap();
    }

    /// The fake docker's calls so far, each as its arguments.
    pub fn docker_calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.home.join("fake-docker.json.calls"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    // ----- running botctl

    /// botctl's PATH: the world's bin, then the test's PATH minus folders with hidden tools.
    pub fn path_var(&self) -> OsString {
        let original = std::env::var_os("PATH").unwrap_or_default();
        let kept = std::env::split_paths(&original)
            .filter(|dir| !self.hidden.iter().any(|t| dir.join(t).exists()));
        std::env::join_paths(std::iter::once(self.bin.clone()).chain(kept)).unwrap()
    }

    /// The real botctl, ready to run in the project root: PATH as [`World::path_var`],
    /// FAKE_FLY_STATE, HOME, NO_COLOR=1, no BOTCTL_CONFIG, no token variables, a time limit.
    pub fn botctl(&self) -> assert_cmd::Command {
        self.botctl_under(&[])
    }

    /// [`World::botctl`] run by a wrapper: `botctl_under(&["unshare", "--pid", "--fork",
    /// "--mount-proc"])` gives botctl its own PID namespace (its local scan sees only itself).
    pub fn botctl_under(&self, wrapper: &[&str]) -> assert_cmd::Command {
        let mut cmd = match wrapper.split_first() {
            None => assert_cmd::Command::new(botctl_bin()),
            Some((program, args)) => {
                let mut cmd = assert_cmd::Command::new(program);
                cmd.args(args).arg(botctl_bin());
                cmd
            }
        };
        cmd.current_dir(&self.root)
            .envs(self.marks())
            .env("PATH", self.path_var())
            .env("FAKE_FLY_STATE", self.fly_state_path())
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("BOTCTL_CONFIG")
            .env_remove("FLY_ACCESS_TOKEN")
            .env_remove("FLY_API_TOKEN")
            .env_remove("RUST_LOG")
            .env_remove("BOTCTL_WHO")
            .env_remove("BOTCTL_ON")
            .timeout(BOTCTL_LIMIT);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().ends_with("BOT_TOKEN") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// The real botctl as a plain process (to run on a pseudo-terminal, or to signal while it
    /// runs): in the project root, with nothing of the test's environment but PATH as
    /// [`World::path_var`], FAKE_FLY_STATE, HOME, NO_COLOR=1 and TERM=xterm.
    pub fn botctl_process(&self, args: &[&str]) -> std::process::Command {
        self.hold_process_table_for(args);
        let mut cmd = std::process::Command::new(botctl_bin());
        cmd.args(args)
            .current_dir(&self.root)
            .env_clear()
            .envs(self.marks())
            .env("PATH", self.path_var())
            .env("FAKE_FLY_STATE", self.fly_state_path())
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm");
        cmd
    }

    /// Starts `botctl ARGS` (see [`World::botctl_process`]) with pseudo-terminal I/O.
    pub fn botctl_pty(&self, args: &[&str]) -> expectrl::session::OsSession {
        let mut session =
            expectrl::Session::spawn(self.botctl_process(args)).expect("spawn botctl on a pty");
        session.set_expect_timeout(Some(BOTCTL_LIMIT));
        session
    }

    /// Runs `botctl ARGS` as [`World::botctl`] sets it up.
    pub fn run(&self, args: &[&str]) -> Run {
        self.hold_process_table_for(args);
        run(self.botctl().args(args))
    }

    /// `botctl ARGS` run by a wrapper (see [`World::botctl_under`]).
    pub fn run_under(&self, wrapper: &[&str], args: &[&str]) -> Run {
        self.hold_process_table_for(args);
        run(self.botctl_under(wrapper).args(args))
    }

    /// Holds the lock when `args` name a command that starts or stops processes.
    fn hold_process_table_for(&self, args: &[&str]) {
        if args.iter().any(|a| PROCESS_COMMANDS.contains(a)) {
            self.hold_process_table();
        }
    }
}

/// Every process this world started ends with it, however the test ended (a fake machine's
/// bot, a daemon, an orphan of a double fork: see [`crate::cleanup`]). And every test with a
/// fake Fly account fails when botctl broke a rule of Fly metadata there (see
/// [`World::take_fly_violations`]), or when a deploy it ran had two machines of one process
/// group started at once (see [`World::take_deploy_overlaps`]), whatever it asserted itself.
impl Drop for World {
    fn drop(&mut self) {
        let mark = self.dir.path().to_string_lossy().into_owned();
        crate::cleanup::end_marked(WORLD_VAR, &mark, Duration::from_secs(10));
        if std::thread::panicking() {
            return;
        }
        // What could not be ended would outlive the test: the test fails, naming it.
        let left = crate::cleanup::marked(WORLD_VAR, &mark);
        if !left.is_empty() {
            let left: Vec<String> = left.iter().map(ToString::to_string).collect();
            panic!(
                "this test's processes outlived its World (SIGKILL for 10 s did not end them): {left:#?}"
            );
        }
        let unchecked = self.fly_calls_with_update_check();
        if !unchecked.is_empty() {
            panic!(
                "botctl ran flyctl without FLY_NO_UPDATE_CHECK=1 (tests/fakes/flyctl): {unchecked:#?}"
            );
        }
        let state = self.fly_state_now();
        if let Some(list) = state["violations"].as_array().filter(|l| !l.is_empty()) {
            panic!("botctl broke a rule of Fly machine metadata (tests/fakes/flyctl): {list:#?}");
        }
        if let Some(list) = state["deploy_overlaps"]
            .as_array()
            .filter(|l| !l.is_empty())
        {
            panic!(
                "a deploy botctl ran had two machines of one process group started at once \
(tests/fakes/flyctl): {list:#?}"
            );
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}
