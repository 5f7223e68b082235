//! The shared harness for botctl's integration tests: a throw-away project folder (`World`) in
//! which the REAL botctl binary runs against real processes and the fakes in `tests/fakes/`.
//!
//! - [`World`]: a temp project with `botctl.toml`, a `bin/` that shadows flyctl, crontab and
//!   systemctl (and `python3`), a private `$HOME`, and the fake flyctl's state file.
//! - [`Proc`]: a real process started by a test, killed (with its whole process group) on drop.
//! - [`BotApi`]: the fake Bot API server (`tests/fakes/botapi.py`), killed on drop.
//! - [`PtbBot`] ([`Poller`]): a real python-telegram-bot poller (`tests/fakes/ptb_bot.py`), or
//!   with [`Poller::grammy`] a real grammY one (`tests/fakes/grammy_bot.mjs`), killed on drop.
//! - [`wait_until`]: wait for a condition with a deadline; tests never sleep-and-hope.
//!
//! The process table is shared by every test on the machine, and botctl scans all of it: a bot
//! started by one test would show up in another test's `status`. So every `World` holds a global
//! lock (a mutex for the threads of one test binary plus a file lock for other test binaries)
//! for as long as it lives: tests that use a `World` run one at a time. Declare the `World`
//! first in a test, so that it is dropped (and the lock released) after every process it
//! started.

#![allow(dead_code)]

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one botctl run may take before the test fails as a hang.
pub const BOTCTL_LIMIT: Duration = Duration::from_secs(90);

/// botctl.toml with the partner bot on Fly.io and no Telegram (no token_env).
pub const PARTNER_ON_FLY: &str = r#"
[[bot]]
name = "partner"
script = "bot.py"
fly_app = "loyalitybot-partner"
"#;

/// The line ptb_bot.py prints once it is connected.
pub const READY_LINE: &str = "Бот успешно подключен";

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
// Small helpers

/// The crate's folder (where Cargo.toml is).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fakes/NAME`.
pub fn fake(name: &str) -> PathBuf {
    manifest_dir().join("tests").join("fakes").join(name)
}

/// The venv made by `cargo xtask setup` (python-telegram-bot lives there).
pub fn venv_python() -> PathBuf {
    let p = manifest_dir().join(".venv").join("bin").join("python");
    if !p.exists() {
        panic!("{} is missing: run `cargo xtask setup` first", p.display());
    }
    p
}

/// The real system Python 3 (symlinks and shims such as pyenv's resolved), used to run the
/// stdlib-only fakes and the sleeping "bots".
pub fn system_python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import os, sys; print(os.path.realpath(sys.executable))",
            ])
            .output()
            .expect("python3 must be installed to run botctl's tests");
        assert!(out.status.success(), "python3 -c failed: {out:?}");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// A bot-token-shaped string (`digits:35 chars`), different for every `n`.
pub fn token(n: u32) -> String {
    let tail = format!("AAH{:X<32}", format!("test{n}x"));
    format!("{}:{}", 700_000_000 + n, tail)
}

/// Polls `cond` every 50 ms until it holds (true) or `limit` passes (false).
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// argv of a live process, from /proc (None when it is gone or a zombie without one).
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if bytes.is_empty() {
        return None;
    }
    Some(
        bytes
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Pids of live processes one of whose arguments contains `needle` (e.g. a world's path).
pub fn pids_with_arg(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id() && alive(*pid))
        .filter(|pid| cmdline(*pid).is_some_and(|argv| argv.iter().any(|a| a.contains(needle))))
        .collect()
}

/// Direct children of a process.
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Is `pid` alive (and not a zombie)?
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// A URL where nothing listens (a port that was free a moment ago).
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn kill_group(pid: u32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), signal);
}

/// Sends SIGTERM to the group, waits up to `grace`, then SIGKILLs it; reaps the child.
fn stop_child(child: &mut Child, grace: Duration) -> bool {
    let pid = child.id();
    if matches!(child.try_wait(), Ok(Some(_))) {
        kill_group(pid, nix::sys::signal::Signal::SIGKILL);
        return true;
    }
    kill_group(pid, nix::sys::signal::Signal::SIGTERM);
    let exited = wait_until(grace, || matches!(child.try_wait(), Ok(Some(_))));
    // Whatever is left in the group (children of a shell, a stuck bot) goes now.
    kill_group(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
    exited
}

// ------------------------------------------------------------------------------------------
// The global lock

static IN_PROCESS: Mutex<()> = Mutex::new(());

struct GlobalLock {
    _file: File,
    _guard: MutexGuard<'static, ()>,
}

thread_local! {
    static HOLDS_LOCK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Drop for GlobalLock {
    fn drop(&mut self) {
        HOLDS_LOCK.with(|h| h.set(false));
    }
}

fn global_lock() -> GlobalLock {
    // A second World in the same test would wait for the first one for ever.
    assert!(
        !HOLDS_LOCK.with(|h| h.get()),
        "one World at a time: drop the first World before making another"
    );
    // A test that panicked while holding it poisons the mutex; the lock itself is still fine.
    let guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join("botctl-integration-tests.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    HOLDS_LOCK.with(|h| h.set(true));
    GlobalLock {
        _file: file,
        _guard: guard,
    }
}

// ------------------------------------------------------------------------------------------
// World

/// A temp project folder for one test. See the module docs.
pub struct World {
    dir: tempfile::TempDir,
    root: PathBuf,
    bin: PathBuf,
    home: PathBuf,
    /// Tools botctl must not find: their shims are removed and PATH folders that hold them
    /// are left out of botctl's PATH.
    hidden: Vec<String>,
    _lock: GlobalLock,
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
        let lock = global_lock();
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
            _lock: lock,
        };
        std::os::unix::fs::symlink(fake("flyctl"), world.bin.join("flyctl"))
            .expect("symlink the fake flyctl");
        std::os::unix::fs::symlink(system_python(), world.bin.join("python3"))
            .expect("symlink python3");
        world.write_shims();
        world
    }

    /// A project whose botctl.toml is `toml`.
    pub fn with_config(toml: &str) -> World {
        let world = World::new();
        world.write_config(toml);
        world
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
        let mut cmd = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("botctl"));
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
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("botctl"));
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
        run(self.botctl().args(args))
    }

    // ----- real processes

    /// Starts `argv` in `cwd` as a real process with exactly that argv (argv[0] included: the
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

    /// Starts a process whose argv is exactly `argv`, really a program that only waits
    /// ([`pauser`]): `bun run bot.ts`, `deno fmt bot.ts`, `node --check bot.js` without those
    /// runtimes, and with options `/bin/sh` would refuse.
    pub fn spawn_as(&self, argv: &[&str], cwd: &Path) -> Proc {
        let mut cmd = std::process::Command::new(pauser());
        cmd.arg0(argv[0]).args(&argv[1..]);
        self.spawn_cmd(cmd, cwd, argv)
    }

    fn spawn_cmd(&self, mut cmd: std::process::Command, cwd: &Path, shown: &[&str]) -> Proc {
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
            "process {pid} never showed argv {want:?} in /proc (it shows {:?})",
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
    static PAUSER: OnceLock<PathBuf> = OnceLock::new();
    PAUSER.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pauser-{}", std::process::id()));
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

/// tests/fakes/node: the pinned Node packages (`cargo xtask setup` installs them).
pub fn node_fakes() -> PathBuf {
    let dir = fake("node");
    assert!(
        dir.join("node_modules/grammy/package.json").is_file(),
        "{} has no node_modules: run `cargo xtask setup`",
        dir.display()
    );
    dir
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
        kill_group(self.child.id(), nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------
// BotApi

/// The fake Bot API server (tests/fakes/botapi.py) on a free port; killed on drop.
pub struct BotApi {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl BotApi {
    /// Starts it with these (token, username) pairs as valid tokens.
    pub fn start(tokens: &[(&str, &str)]) -> BotApi {
        BotApi::start_with(tokens, &[])
    }

    /// Starts it answering every Bot API call with an HTML 502 page (`--broken`).
    pub fn start_broken(tokens: &[(&str, &str)]) -> BotApi {
        BotApi::start_with(tokens, &["--broken"])
    }

    pub fn start_with(tokens: &[(&str, &str)], extra: &[&str]) -> BotApi {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let log = File::create(dir.path().join("botapi.log")).unwrap();
        let mut cmd = std::process::Command::new(system_python());
        cmd.arg(fake("botapi.py"))
            .args(["--port", "0", "--port-file"])
            .arg(&port_file);
        for (t, user) in tokens {
            cmd.arg("--token").arg(format!("{t}={user}"));
        }
        cmd.args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().expect("start tests/fakes/botapi.py");
        let mut api = BotApi {
            child,
            port: 0,
            dir,
        };
        let mut port = None;
        let ok = wait_until(Duration::from_secs(15), || {
            port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok());
            port.is_some()
        });
        assert!(ok, "botapi.py never wrote its port file:\n{}", api.log());
        api.port = port.unwrap();
        api
    }

    /// `http://127.0.0.1:PORT` — what goes in `[telegram] api`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's request log (paths with the token redacted by the fake).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("botapi.log")).unwrap_or_default()
    }

    fn control(&self, what: &str, params: &[(&str, &str)]) -> Value {
        let mut req = ureq::post(format!("{}/_control/{what}", self.url()));
        for (k, v) in params {
            req = req.query(*k, *v);
        }
        let mut resp = req
            .send_empty()
            .unwrap_or_else(|e| panic!("/_control/{what} failed: {e}"));
        let body = resp.body_mut().read_to_string().unwrap();
        serde_json::from_str(&body).unwrap()
    }

    /// Queues a message update for `token`.
    pub fn queue_update(&self, token: &str, text: &str) {
        self.control("update", &[("token", token), ("text", text)]);
    }

    /// Sets (or with "" clears) the webhook of `token`.
    pub fn set_webhook(&self, token: &str, url: &str) {
        self.control("webhook", &[("token", token), ("url", url)]);
    }

    /// Turns the HTML-502 mode on or off.
    pub fn set_broken(&self, on: bool) {
        self.control("broken", &[("on", if on { "1" } else { "0" })]);
    }

    /// `/_control/stats?token=T`: getUpdates_calls, offsets_seen, allowed_updates_seen, methods…
    pub fn stats(&self, token: &str) -> Value {
        let mut resp = ureq::get(format!("{}/_control/stats", self.url()))
            .query("token", token)
            .call()
            .expect("/_control/stats");
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    }
}

impl Drop for BotApi {
    fn drop(&mut self) {
        kill_group(self.child.id(), nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------
// PtbBot

/// A real poller on the fake Bot API, killed on drop: python-telegram-bot
/// ([`Poller::start`]) or grammY ([`Poller::grammy`]).
pub struct Poller {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

/// The python-telegram-bot poller.
pub type PtbBot = Poller;

impl Poller {
    /// A real grammY poller (tests/fakes/grammy_bot.mjs copied into the project as `as_name`),
    /// run as `node AS_NAME` in the project root; waits (up to 30 s) for its ready line.
    pub fn grammy(world: &World, api: &BotApi, token: &str, as_name: &str) -> Poller {
        Poller::node(world, api, token, "grammy_bot.mjs", as_name)
    }

    /// A real Telegraf poller (tests/fakes/telegraf_bot.mjs), as [`Poller::grammy`].
    pub fn telegraf(world: &World, api: &BotApi, token: &str, as_name: &str) -> Poller {
        Poller::node(world, api, token, "telegraf_bot.mjs", as_name)
    }

    fn node(world: &World, api: &BotApi, token: &str, fake_name: &str, as_name: &str) -> Poller {
        let script = world.path(as_name);
        std::fs::copy(fake(fake_name), &script).unwrap_or_else(|e| panic!("copy {fake_name}: {e}"));
        let mut cmd = std::process::Command::new(world.resolve("node"));
        cmd.arg0("node")
            .arg(as_name)
            .current_dir(world.root())
            .env("BOT_TOKEN", token)
            .env("BOTAPI_URL", api.url())
            .env("BOTCTL_NODE_FAKES", node_fakes());
        Poller::start_cmd(cmd, fake_name)
    }

    /// A real python-telegram-bot poller (tests/fakes/ptb_bot.py copied into the project as
    /// `as_name`), run as `python3 AS_NAME` in the project root with the venv's Python; waits
    /// (up to 30 s) for "Бот успешно подключен".
    pub fn start(world: &World, api: &BotApi, token: &str, as_name: &str) -> PtbBot {
        let venv_python = venv_python();
        let script = world.path(as_name);
        std::fs::copy(fake("ptb_bot.py"), &script).expect("copy ptb_bot.py");
        // argv[0] "python3" with the venv's bin first on PATH: Python finds its venv through
        // PATH, and the process looks exactly like `python3 bot.py` typed in a shell.
        let venv_bin = venv_python.parent().unwrap().to_path_buf();
        let original = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(venv_bin).chain(std::env::split_paths(&original)))
                .unwrap();
        let mut cmd = std::process::Command::new(&venv_python);
        cmd.arg0("python3")
            .arg(as_name)
            .current_dir(world.root())
            .env("PATH", path)
            .env("BOT_TOKEN", token)
            .env("BOTAPI_URL", api.url())
            .env("PYTHONUNBUFFERED", "1");
        Poller::start_cmd(cmd, "python-telegram-bot")
    }

    fn start_cmd(mut cmd: std::process::Command, what: &str) -> Poller {
        cmd.env_remove("PARTNER_BOT_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start the {what} poller: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let mut bot = Poller { child, lines };
        let ok = wait_until(Duration::from_secs(30), || {
            bot.has_line(READY_LINE) || matches!(bot.child.try_wait(), Ok(Some(_)))
        });
        assert!(
            ok && bot.has_line(READY_LINE),
            "the {what} bot did not print {READY_LINE:?}; its output:\n{}",
            bot.output()
        );
        bot
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    pub fn has_line(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(needle))
    }

    /// Its exit status once it has exited by itself.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Graceful stop (SIGTERM, as PTB expects); SIGKILL after `grace`. Waits until it is gone.
    pub fn stop(&mut self, grace: Duration) -> bool {
        stop_child(&mut self.child, grace)
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        kill_group(self.child.id(), nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
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
