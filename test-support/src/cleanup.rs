//! The suite ends what it starts. A process group or a pid is not enough: the fake flyctl starts
//! a machine's bot in a session of its own (it outlives flyctl, as a machine outlives `flyctl
//! machine start`), pm2 and supervisord daemonize, a shell double-forks. What every one of them
//! keeps is its environment, so each process the suite starts carries a mark there, inherited by
//! whatever it starts in turn:
//!
//! - [`WORLD_VAR`]`=<the world's folder>` on everything a [`crate::World`] starts (its
//!   processes, botctl, the fake flyctl, pollers); dropping the World ends every process with its
//!   mark, however the test ended.
//! - [`RUN_VAR`]`=<id>`, set by `cargo xtask ci` for the whole `cargo test`: after it, any live
//!   process with that mark was left behind, and ci fails naming it.
//!
//! Only marked processes are ever looked at or signalled: never the machine's other ones.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

use nix::sys::signal::Signal;
use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

use crate::procs::wait_until;

/// The mark of one suite run (`cargo xtask ci` sets it for cargo test).
pub const RUN_VAR: &str = "BOTCTL_TEST_RUN";

/// The mark of one World: its temp folder.
pub const WORLD_VAR: &str = "BOTCTL_TEST_WORLD";

/// A process the suite left running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    pub pid: u32,
    pub argv: Vec<String>,
    pub cwd: String,
}

impl std::fmt::Display for Left {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} `{}` in {}",
            self.pid,
            self.argv.join(" "),
            self.cwd
        )
    }
}

/// The suite run's mark, when `cargo xtask ci` set one: for what the suite starts outside any
/// World (the fake Bot API, sshd), so that a leak of theirs fails ci too.
pub fn run_mark() -> Option<(&'static str, OsString)> {
    std::env::var_os(RUN_VAR).map(|run| (RUN_VAR, run))
}

/// Live processes (not this one, no zombie) whose environment holds `var=value`.
pub fn marked(var: &str, value: &str) -> Vec<Left> {
    let mark = OsString::from(format!("{var}={value}"));
    let Ok(mut sys) = System::new() else {
        return Vec::new();
    };
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .without_tasks()
            .with_environ(UpdateKind::Always)
            .with_cmd(UpdateKind::Always)
            .with_cwd(UpdateKind::Always),
    );
    let me = std::process::id();
    let mut left: Vec<Left> = sys
        .processes()
        .iter()
        .filter(|(pid, p)| {
            pid.as_u32() != me
                && p.status() != ProcessStatus::Zombie
                && p.environ()
                    .iter()
                    .any(|e| e.as_os_str() == OsStr::new(&mark))
        })
        .map(|(pid, p)| Left {
            pid: pid.as_u32(),
            argv: p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            cwd: p
                .cwd()
                .map(|c| c.display().to_string())
                .unwrap_or_else(|| "?".into()),
        })
        .collect();
    left.sort_by_key(|l| l.pid);
    left
}

/// Ends every live process marked `var=value` (SIGKILL: a test's leftovers need no grace),
/// again until none is left, since one may start another as it goes (a settling fake flyctl
/// starts a machine's bot); gives up after `limit`. Returns those it found the first time.
pub fn end_marked(var: &str, value: &str, limit: Duration) -> Vec<Left> {
    let first = marked(var, value);
    let mut now = first.clone();
    wait_until(limit, || {
        for l in &now {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(l.pid as i32), Signal::SIGKILL);
        }
        now = marked(var, value);
        now.is_empty()
    });
    first
}

/// The suite's leftovers once `cargo test` has ended: marked `RUN_VAR=run` processes that are
/// still alive after `settle` (the last tests' processes may still be exiting). Each is ended.
pub fn leftovers(run: &str, settle: Duration) -> Vec<Left> {
    wait_until(settle, || marked(RUN_VAR, run).is_empty());
    end_marked(RUN_VAR, run, Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A double fork: the shell exits at once, its `sleep` lives on as init's child, in no
    /// process group of ours. The mark still finds it, and only it.
    #[test]
    fn an_orphan_is_found_by_its_mark_and_ended() {
        let run = format!("check-{}", std::process::id());
        let status = std::process::Command::new("sh")
            .args(["-c", "sleep 600 & exit 0"])
            .env(RUN_VAR, &run)
            .status()
            .unwrap();
        assert!(status.success());
        let found = marked(RUN_VAR, &run);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].argv, ["sleep", "600"]);
        assert!(marked(RUN_VAR, &format!("{run}-other")).is_empty());

        let left = leftovers(&run, Duration::from_millis(200));
        assert_eq!(left, found, "reported as left");
        assert!(
            wait_until(Duration::from_secs(10), || marked(RUN_VAR, &run).is_empty()),
            "and ended"
        );
        assert!(leftovers(&run, Duration::ZERO).is_empty());
    }
}
