//! Processes: waiting with a deadline, reading /proc, stopping what we started.

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
    // "PID (COMM) STATE …": COMM may hold spaces and parentheses, STATE follows the last ')'.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// For a test that needs root: true (after saying why it is skipped) when it does not run
/// as root, so the test returns at once.
pub fn skip_unless_root(why: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("skipped: this test needs root ({why})");
    true
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
