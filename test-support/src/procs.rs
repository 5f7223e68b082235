//! Processes: waiting with a deadline, reading the process table (through botctl's process
//! facts module, so the harness runs on every platform botctl does), stopping what we started.

use std::process::Child;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

/// How often a wait looks again.
pub const TICK: Duration = Duration::from_millis(50);

static ABORT: OnceLock<fn() -> bool> = OnceLock::new();

/// From now on every wait here also ends (as failed) once `aborted` says so: `cargo xtask`
/// passes its Ctrl-C flag, so an interrupted task still drops its doubles.
pub fn abort_waits_when(aborted: fn() -> bool) {
    let _ = ABORT.set(aborted);
}

/// Whether the hook of [`abort_waits_when`] says stop.
pub fn aborted() -> bool {
    ABORT.get().is_some_and(|aborted| aborted())
}

/// Polls `cond` every [`TICK`] until it holds (true) or `limit` passes (false).
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline || aborted() {
            return false;
        }
        std::thread::sleep(TICK);
    }
}

use botctl::proc::{self as facts, Backend, Pid};

/// argv of a live process (None when it is gone or a zombie without one).
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    facts::argv(Backend::native(), Pid(pid))
}

/// Pids of live processes one of whose arguments contains `needle` (e.g. a world's path).
pub fn pids_with_arg(needle: &str) -> Vec<u32> {
    let Ok(table) = facts::table(Backend::native()) else {
        return Vec::new();
    };
    table
        .processes
        .into_iter()
        .filter(|(pid, argv)| *pid != Pid::own() && argv.iter().any(|a| a.contains(needle)))
        .map(|(pid, _)| pid.0)
        .filter(|pid| alive(*pid))
        .collect()
}

/// Direct children of a process.
pub fn children(pid: u32) -> Vec<u32> {
    facts::children(Backend::native(), Pid(pid))
        .into_iter()
        .map(|p| p.0)
        .collect()
}

/// Is `pid` alive (and not a zombie)?
pub fn alive(pid: u32) -> bool {
    !facts::is_gone(Backend::native(), Pid(pid))
}

/// The working folder of a process (None when gone or not readable).
pub fn cwd(pid: u32) -> Option<std::path::PathBuf> {
    facts::cwd(Backend::native(), Pid(pid))
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// For a test marked `#[ignore = "needs root"]` (run with `--include-ignored`, as CI does,
/// as root): fails at once, saying `why`, when it does not run as root, rather than passing
/// without testing anything.
#[track_caller]
pub fn require_root(why: &str) {
    assert!(
        is_root(),
        "this test needs root ({why}): run it as root, or leave out --include-ignored"
    );
}

/// `signal` to the process group led by `pid`: a child we started with `process_group(0)`
/// (while any process of its group lives, Linux gives nobody else that id).
pub fn kill_group(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// Sends SIGTERM to the child's group, waits up to `grace`, then SIGKILLs the group; reaps
/// the child. True when it exited within the grace.
pub fn stop_child(child: &mut Child, grace: Duration) -> bool {
    let pid = child.id();
    if matches!(child.try_wait(), Ok(Some(_))) {
        kill_group(pid, Signal::SIGKILL);
        return true;
    }
    kill_group(pid, Signal::SIGTERM);
    let exited = wait_until(grace, || matches!(child.try_wait(), Ok(Some(_))));
    // Whatever is left in the group (children of a shell, a stuck bot) goes now.
    kill_group(pid, Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
    exited
}

/// Kills the child's group and the child, and reaps it.
pub fn kill_child(child: &mut Child) {
    kill_group(child.id(), Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
}
