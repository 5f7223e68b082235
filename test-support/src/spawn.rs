//! Real processes a test starts in its world: [`World::spawn`] and its kin (a process with
//! exactly the argv a test needs, seen in the process table before it returns), [`Proc`]
//! (killed with its process group on drop), [`SLEEPER`] and [`pauser`].

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::procs::{children, cmdline, kill_child, stop_child, wait_until};
use crate::world::World;

/// A sleeping script that is valid Python *and* valid sh. Run by Python it sleeps; run by sh
/// (as the disguised decoys do, see [`World::spawn_disguised`]) it sleeps too.
pub const SLEEPER: &str = r#"#!/usr/bin/env python3
""":"
sleep 600; exit
":"""
import time
time.sleep(600)
"#;

impl World {
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

    /// Like [`World::spawn`], with `env` added to its environment (a bot's token: what tells
    /// botctl whose copy a process outside the project is).
    pub fn spawn_with_env(&self, argv: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Proc {
        let mut cmd = std::process::Command::new(self.resolve(argv[0]));
        cmd.arg0(argv[0]).args(&argv[1..]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.spawn_cmd(cmd, cwd, argv)
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
    /// the user can read; needs root ([`crate::require_root`]). Returns the folder (keep it
    /// alive) and the process.
    pub fn spawn_other_users_bot(&self, script: &str) -> (tempfile::TempDir, Proc) {
        self.spawn_other_users_bot_from(script, None)
    }

    /// [`World::spawn_other_users_bot`] working in the project root: another user's copy of
    /// this project (its script, in a folder that user can read, named by its full path).
    pub fn spawn_other_users_bot_in_project(&self, script: &str) -> (tempfile::TempDir, Proc) {
        self.spawn_other_users_bot_from(script, Some(self.root()))
    }

    fn spawn_other_users_bot_from(
        &self,
        script: &str,
        cwd: Option<&Path>,
    ) -> (tempfile::TempDir, Proc) {
        let shared = tempfile::Builder::new()
            .prefix("botctl-other-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = shared.path().join(script);
        std::fs::write(&path, SLEEPER).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        // In the project (which that user may not enter), the script is named by its path.
        let named = match cwd {
            Some(_) => path.display().to_string(),
            None => script.to_string(),
        };
        let other = self.spawn_showing(
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "/bin/bash",
                "-c",
                &format!("exec -a python3 /bin/sh {named}"),
            ],
            cwd.unwrap_or(shared.path()),
            &["python3", &named],
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
            .envs(self.marks())
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
