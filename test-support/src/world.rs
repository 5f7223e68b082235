//! The world of one test: a throw-away project folder in which the REAL botctl binary runs
//! against real processes and the fakes in `tests/fakes/`.
//!
//! - [`World`]: a temp project with `botctl.toml`, a `bin/` that shadows flyctl, crontab and
//!   systemctl (and `python3`), a private `$HOME`, and the fake flyctl's state file.
//! - [`Proc`]: a real process started by a test, killed (with its whole process group) on drop.
//! - [`Run`]: what one botctl run did.
//!
//! Declare the `World` first in a test, so that it is dropped (and the process-table lock, if
//! it took it, released) after every process the test started.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lock::ProcessTableLock;
use crate::procs::{children, cmdline, kill_child, stop_child, wait_until};
use crate::{botctl_bin, fake, system_python};

/// How long one botctl run may take before the test fails as a hang.
pub const BOTCTL_LIMIT: Duration = Duration::from_secs(90);

/// botctl's commands that start or stop processes: a test running one holds the lock.
const PROCESS_COMMANDS: [&str; 4] = ["dev-start", "dev-stop", "deploy-resume", "exec"];

/// A sleeping script that is valid Python *and* valid sh. Run by Python it sleeps; run by sh
/// (as the disguised decoys do, see [`World::spawn_disguised`]) it sleeps too.
pub const SLEEPER: &str = r#"#!/usr/bin/env python3
""":"
sleep 600; exit
":"""
import time
time.sleep(600)
"#;

// ------------------------------------------------------------------------------------------
// The process-table lock of a test

/// The threads of one test binary wait on this, other processes on the lock file.
static IN_PROCESS: Mutex<()> = Mutex::new(());

thread_local! {
    static HOLDS_LOCK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The lock as a test holds it: the in-process mutex and the file lock.
struct TestLock {
    _file: ProcessTableLock,
    _guard: MutexGuard<'static, ()>,
}

impl TestLock {
    fn acquire() -> TestLock {
        // A second locking World in the same test would wait for the first one for ever.
        assert!(
            !HOLDS_LOCK.with(|h| h.get()),
            "one World at a time: drop the first World before making another"
        );
        // A test that panicked while holding it poisons the mutex; the lock itself is fine.
        let guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        let file = ProcessTableLock::wait().unwrap_or_else(|e| panic!("cannot lock: {e}"));
        HOLDS_LOCK.with(|h| h.set(true));
        TestLock {
            _file: file,
            _guard: guard,
        }
    }
}

impl Drop for TestLock {
    fn drop(&mut self) {
        HOLDS_LOCK.with(|h| h.set(false));
    }
}

/// A temp project folder for one test. See the module docs.
pub struct World {
    dir: tempfile::TempDir,
    root: PathBuf,
    bin: PathBuf,
    home: PathBuf,
    /// Tools botctl must not find: their shims are removed and PATH folders that hold them
    /// are left out of botctl's PATH.
    hidden: Vec<String>,
    /// Taken before the first process that botctl could count or signal (see the crate docs).
    lock: OnceCell<TestLock>,
}

/// What one botctl run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// stdout parsed as JSON (panics with both streams when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "botctl's stdout is not JSON ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Panics (showing the output) unless botctl exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics (showing it) unless stdout contains `needle`.
    #[track_caller]
    pub fn expect_stdout(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Panics (showing it) unless stderr contains `needle`.
    #[track_caller]
    pub fn expect_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    /// stdout and stderr together, for "appears nowhere" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
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

    /// A project whose botctl.toml is `toml`.
    pub fn with_config(toml: &str) -> World {
        let world = World::new();
        world.write_config(toml);
        world
    }

    /// A project whose botctl.toml is `config(&world)`: for a config that names the world's
    /// scripts ([`World::script`]).
    pub fn configured(config: impl FnOnce(&World) -> String) -> World {
        let world = World::new();
        world.write_config(&config(&world));
        world
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

    pub fn write_config(&self, toml: &str) {
        self.write("botctl.toml", toml);
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

    // ----- the fake flyctl

    /// The fake flyctl's state file (`$FAKE_FLY_STATE`).
    pub fn fly_state_path(&self) -> PathBuf {
        self.dir.path().join("fly-state.json")
    }

    /// Replaces the fake flyctl's state (schema: the header of tests/fakes/flyctl).
    pub fn fly_state(&self, state: Value) {
        std::fs::write(
            self.fly_state_path(),
            serde_json::to_string_pretty(&state).unwrap(),
        )
        .unwrap();
    }

    /// Changes the fake flyctl's state while botctl may be reading it: under the fake's own
    /// lock, written atomically (`ops`: the `_apply` list in the header of tests/fakes/flyctl).
    pub fn fly_apply(&self, ops: Value) {
        let status = std::process::Command::new(fake("flyctl"))
            .arg("_apply")
            .arg(ops.to_string())
            .env("FAKE_FLY_STATE", self.fly_state_path())
            .env("FAKE_FLY_NO_RECORD", "1")
            .status()
            .expect("run the fake flyctl");
        assert!(status.success(), "fake flyctl _apply {ops} failed");
    }

    /// The fake flyctl's whole state as it is now.
    pub fn fly_state_now(&self) -> Value {
        match std::fs::read_to_string(self.fly_state_path()) {
            Ok(t) if !t.trim().is_empty() => serde_json::from_str(&t).unwrap(),
            _ => Value::Null,
        }
    }

    /// (id, state) of every machine of `app`, as the fake flyctl holds them now.
    pub fn fly_machines(&self, app: &str) -> Vec<(String, String)> {
        self.fly_state_now()["apps"][app]["machines"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        (
                            m["id"].as_str().unwrap_or("").to_string(),
                            m["state"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// argv of every flyctl call so far (the `.calls` log).
    pub fn fly_calls(&self) -> Vec<Vec<String>> {
        let mut p = self.fly_state_path().into_os_string();
        p.push(".calls");
        std::fs::read_to_string(PathBuf::from(p))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| {
                v["argv"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| s.as_str().unwrap_or("").to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// (start time in epoch seconds, argv) of every flyctl call so far.
    pub fn fly_calls_timed(&self) -> Vec<(f64, Vec<String>)> {
        let mut p = self.fly_state_path().into_os_string();
        p.push(".calls");
        std::fs::read_to_string(PathBuf::from(p))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| {
                let argv = v["argv"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| s.as_str().unwrap_or("").to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                (v["ts"].as_f64().unwrap_or(0.0), argv)
            })
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

    // ----- real processes

    /// Starts `argv` in `cwd` as a real process with exactly that argv (`argv[0]` included: the
    /// program is looked up on the world's PATH, so `python3` is the system Python). Returns
    /// once /proc shows that argv. Killed, with its process group, on drop.
    pub fn spawn(&self, argv: &[&str], cwd: &Path) -> Proc {
        self.spawn_showing(argv, cwd, argv)
    }

    /// Like [`World::spawn`], but returns once /proc shows `shown`: for programs that exec
    /// something else, e.g. `./bot.py` with a `#!/usr/bin/env python3` shebang, which ends up
    /// as `python3 ./bot.py`.
    pub fn spawn_showing(&self, argv: &[&str], cwd: &Path, shown: &[&str]) -> Proc {
        let mut cmd = if argv[0].contains('/') {
            // A path is exec'd as given (relative to cwd), as a shell would.
            std::process::Command::new(argv[0])
        } else {
            let mut cmd = std::process::Command::new(self.resolve(argv[0]));
            cmd.arg0(argv[0]);
            cmd
        };
        cmd.args(&argv[1..]);
        self.spawn_cmd(cmd, cwd, shown)
    }

    /// Starts a process whose argv is exactly `argv` but which is really `/bin/sh` running
    /// the last argument (a [`SLEEPER`] script): `vim bot.py`, `less bot.py`,
    /// `tail -f bot.py`, `grep bot.py` without depending on those programs being installed.
    pub fn spawn_disguised(&self, argv: &[&str], cwd: &Path) -> Proc {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg0(argv[0]).args(&argv[1..]);
        self.spawn_cmd(cmd, cwd, argv)
    }

    /// `python3 SCRIPT` run by another user (nobody, uid 65534) in a folder of its own that
    /// the user can read; needs root ([`crate::skip_unless_root`]). Returns the folder (keep it
    /// alive) and the process.
    pub fn spawn_other_users_bot(&self, script: &str) -> (tempfile::TempDir, Proc) {
        let shared = tempfile::Builder::new()
            .prefix("botctl-other-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = shared.path().join(script);
        std::fs::write(&path, SLEEPER).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let other = self.spawn_showing(
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "/bin/bash",
                "-c",
                &format!("exec -a python3 /bin/sh {script}"),
            ],
            shared.path(),
            &["python3", script],
        );
        (shared, other)
    }

    /// Starts a process whose argv is exactly `argv`, really a program that only waits
    /// ([`pauser`]): `bun run bot.ts`, `deno fmt bot.ts`, `node --check bot.js` without those
    /// runtimes, and with options `/bin/sh` would refuse.
    pub fn spawn_as(&self, argv: &[&str], cwd: &Path) -> Proc {
        let mut cmd = std::process::Command::new(pauser());
        cmd.arg0(argv[0]).args(&argv[1..]);
        self.spawn_cmd(cmd, cwd, argv)
    }

    fn spawn_cmd(&self, mut cmd: std::process::Command, cwd: &Path, shown: &[&str]) -> Proc {
        self.hold_process_table();
        cmd.current_dir(cwd)
            .env("PATH", self.path_var())
            .env("HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {shown:?}: {e}"));
        let proc_ = Proc { child };
        let want: Vec<String> = shown.iter().map(|s| s.to_string()).collect();
        let pid = proc_.pid();
        assert!(
            wait_until(Duration::from_secs(10), || cmdline(pid).as_ref()
                == Some(&want)),
            "process {pid} never showed argv {want:?} in the process table (it shows {:?})",
            cmdline(pid)
        );
        proc_
    }

    pub fn resolve(&self, program: &str) -> PathBuf {
        std::env::split_paths(&self.path_var())
            .map(|d| d.join(program))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{program} is not on the world's PATH"))
    }
}

impl World {
    /// What the fake flyctl counted as a breach of botctl's rules on Fly metadata: an update
    /// of a machine that was not stopped (Fly reboots it), a `fly_` key written. Taken: a
    /// test that makes one on purpose asserts it and leaves none for the drop check.
    pub fn take_fly_violations(&self) -> Vec<Value> {
        let mut state = self.fly_state_now();
        let taken = state
            .get_mut("violations")
            .map(Value::take)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        if !taken.is_empty() {
            self.fly_state(state);
        }
        taken
    }
}

/// Every test with a fake Fly account fails when botctl broke a rule of Fly metadata there
/// (see [`World::take_fly_violations`]), whatever it asserted itself.
impl Drop for World {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let violations = self.fly_state_now()["violations"].clone();
        if let Some(list) = violations.as_array().filter(|l| !l.is_empty()) {
            panic!("botctl broke a rule of Fly machine metadata (tests/fakes/flyctl): {list:#?}");
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// Runs a prepared botctl command; panics (with its output) if it was killed by the time limit.
pub fn run(cmd: &mut assert_cmd::Command) -> Run {
    let started = Instant::now();
    let out = cmd.output().expect("botctl could not be started");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some(code) = out.status.code() else {
        panic!(
            "botctl was killed ({:?}) after {:.1}s — a hang?\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status,
            elapsed.as_secs_f32()
        );
    };
    Run {
        code,
        stdout,
        stderr,
        elapsed,
    }
}

/// A program that waits for a signal whatever its argv says, compiled once per test binary
/// with `cc` (which Rust needs to link anyway).
pub fn pauser() -> &'static Path {
    static PAUSER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PAUSER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("botctl-pauser-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("pauser.c");
        std::fs::write(
            &source,
            "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n",
        )
        .unwrap();
        let binary = dir.join("pauser");
        let status = std::process::Command::new("cc")
            .arg("-o")
            .arg(&binary)
            .arg(&source)
            .status()
            .expect("run cc to build the pauser");
        assert!(status.success(), "cc could not build {}", source.display());
        binary
    })
}

// ------------------------------------------------------------------------------------------
// Proc

/// A real process started by a test (in its own process group); the group is killed on drop.
pub struct Proc {
    child: Child,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to 10 s) for a direct child whose argv is `argv`; returns its pid.
    pub fn wait_child(&self, argv: &[&str]) -> u32 {
        let want: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let mut found = None;
        let ok = wait_until(Duration::from_secs(10), || {
            found = children(self.pid())
                .into_iter()
                .find(|c| cmdline(*c).as_ref() == Some(&want));
            found.is_some()
        });
        assert!(ok, "process {} never had a child {want:?}", self.pid());
        found.unwrap()
    }

    /// SIGTERM, then SIGKILL after `grace`; true when it exited by itself within the grace.
    pub fn stop(&mut self, grace: Duration) -> bool {
        stop_child(&mut self.child, grace)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

// ------------------------------------------------------------------------------------------
// JSON helpers

/// The object of `bots` (status --json) named `name`.
pub fn bot<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["bots"]
        .as_array()
        .and_then(|bots| bots.iter().find(|b| b["name"] == name))
        .unwrap_or_else(|| panic!("no bot {name:?} in {status:#}"))
}

/// Pids listed under `local` of a bot object.
pub fn local_pids(bot: &Value) -> Vec<u32> {
    bot["local"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|i| i["pid"].as_u64())
                .map(|p| p as u32)
                .collect()
        })
        .unwrap_or_default()
}

/// The keys of a JSON object, in order.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// doctor --json findings with this check (and bot, when given).
pub fn findings<'a>(doctor: &'a Value, check: &str, bot: Option<&str>) -> Vec<&'a Value> {
    doctor["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {doctor:#}"))
        .iter()
        .filter(|f| f["check"] == check)
        .filter(|f| bot.is_none_or(|b| f["bot"] == b))
        .collect()
}

/// A machine for the fake flyctl's state; `autostart: None` means no services.
pub fn machine(id: &str, state: &str, autostart: Option<bool>) -> Value {
    let mut m = serde_json::json!({"id": id, "state": state, "region": "ams"});
    if let Some(a) = autostart {
        m["autostart"] = Value::Bool(a);
    }
    m
}

/// A fake-flyctl state with these apps (app → machines); every app gets one harmless log line
/// so that `flyctl logs --no-tail` returns at once instead of waiting on an empty buffer.
pub fn fly_apps(apps: &[(&str, Vec<Value>)]) -> Value {
    let mut map = serde_json::Map::new();
    for (app, machines) in apps {
        map.insert(
            app.to_string(),
            serde_json::json!({
                "machines": machines,
                "logs": ["2026-11-25T10:00:00Z app[148ed193b95089] ams [info]Starting init..."],
            }),
        );
    }
    serde_json::json!({"logged_in": true, "email": "dev@example.com", "apps": map})
}

/// `state` (see [`fly_apps`]) with secret `name` of `app` holding `value`: the fake flyctl shows
/// its digest, equal for equal values, as Fly does.
pub fn with_secret(mut state: Value, app: &str, name: &str, value: &str) -> Value {
    let app_state = &mut state["apps"][app];
    if app_state.is_null() {
        *app_state = serde_json::json!({"machines": [], "logs": []});
    }
    let secrets = &mut app_state["secrets"];
    if !secrets.is_array() {
        *secrets = Value::Array(Vec::new());
    }
    secrets
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": name, "value": value}));
    state
}
