//! Process facts: every read of this machine's process table goes through here. Two backends
//! answer the same questions — pid and argv of every process, ppid, uid, start time, zombie
//! status, working folder, cgroup — so the decisions above them are the same on every
//! platform:
//!
//! - [`Backend::Kernel`] (Linux) reads `/proc` directly: cheaper than a general process library
//!   (see `cargo xtask bench`).
//! - [`Backend::Portable`] (macOS and the rest) asks sysinfo, which uses `sysctl`/`proc_pidinfo`
//!   on a Mac. It is built on Linux too, so the suite checks that both agree.
//!
//! Signals go through here too ([`signal_if_same`]): a process is signalled only while it is
//! still the one seen (pid, start time, owner) and has not exited.
//!
//! A process whose argv cannot be read (macOS lets only root read another user's; a
//! `/proc/PID/cmdline` that is not readable) is not dropped: it is [`Unreadable`], with the
//! executable name the kernel still tells.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use sysinfo::{
    Pid as SysPid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, ThreadKind,
    UpdateKind,
};

use crate::model::{Pid, ProcessIdentity, Uid};

/// Which reader answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `/proc`, read directly (Linux only).
    Kernel,
    /// sysinfo: `proc_pidinfo` and `sysctl` on macOS, `/proc` on Linux.
    Portable,
}

impl Backend {
    /// The reader of this platform.
    pub fn native() -> Backend {
        if cfg!(target_os = "linux") {
            Backend::Kernel
        } else {
            Backend::Portable
        }
    }
}

/// A process whose argv botctl may not read: its pid, owner and executable name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub pid: Pid,
    pub uid: Option<Uid>,
    /// The kernel's name for it (`python3`, `node`; at most 15 or 16 characters).
    pub name: String,
}

/// One pass over the table: argv of every process that has one, and those not readable.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub processes: Vec<(Pid, Vec<String>)>,
    pub unreadable: Vec<Unreadable>,
}

/// What the decisions need of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub pid: Pid,
    pub ppid: Pid,
    pub uid: Option<Uid>,
    /// When it started, to the second.
    pub started: Option<jiff::Timestamp>,
    pub zombie: bool,
}

/// [`Facts`] plus the user's name and the working folder (read for the few that match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub facts: Facts,
    pub user: String,
    pub cwd: Option<PathBuf>,
}

/// Why the process table could not be read. Shared (`Arc`) because a survey hands the same
/// answer to every check that reads it.
#[derive(Debug, Clone)]
pub enum TableError {
    /// Linux: `/proc` itself could not be listed.
    ProcDir(Arc<std::io::Error>),
    /// Elsewhere: sysinfo could not start.
    System(Arc<sysinfo::Error>),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::ProcDir(e) => write!(f, "cannot read /proc: {e}"),
            TableError::System(e) => write!(f, "cannot read the process table: {e}"),
        }
    }
}

impl std::error::Error for TableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TableError::ProcDir(e) => Some(e.as_ref()),
            TableError::System(e) => Some(e.as_ref()),
        }
    }
}

/// Why a process's environment could not be read (another user's, gone).
#[derive(Debug)]
pub struct EnvironUnreadable {
    /// What the kernel said, when it said something.
    pub source: Option<std::io::Error>,
}

impl fmt::Display for EnvironUnreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "its environment cannot be read: {e}"),
            None => write!(f, "its environment cannot be read"),
        }
    }
}

impl std::error::Error for EnvironUnreadable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Phase one: pid and argv of every process (those with an empty argv, kernel threads and
/// zombies, are left out).
pub fn table(backend: Backend) -> Result<Table, TableError> {
    match backend {
        Backend::Kernel => kernel::table(),
        Backend::Portable => portable::table(),
    }
}

pub fn facts(backend: Backend, pid: Pid) -> Option<Facts> {
    match backend {
        Backend::Kernel => kernel::facts(pid),
        Backend::Portable => portable::details(&[pid], portable::Cwd::Skip)
            .pop()
            .map(|d| d.facts),
    }
}

/// Facts, user and working folder of these pids (gone ones are left out).
pub fn details(backend: Backend, pids: &[Pid]) -> Vec<Details> {
    match backend {
        Backend::Kernel => pids.iter().filter_map(|p| kernel::details(*p)).collect(),
        Backend::Portable => portable::details(pids, portable::Cwd::Read),
    }
}

/// The working folder (another user's may not be readable).
pub fn cwd(backend: Backend, pid: Pid) -> Option<PathBuf> {
    match backend {
        Backend::Kernel => std::fs::read_link(format!("/proc/{pid}/cwd")).ok(),
        Backend::Portable => portable::details(&[pid], portable::Cwd::Read)
            .pop()
            .and_then(|d| d.cwd),
    }
}

/// The value of variable `var` in the environment a process was started with: `Ok(None)` when
/// it has none, `Err(why)` when that cannot be read (another user's, gone). The value is a
/// secret to its caller: never logged here.
pub fn environ_var(
    backend: Backend,
    pid: Pid,
    var: &str,
) -> Result<Option<String>, EnvironUnreadable> {
    let entries: Vec<String> = match backend {
        Backend::Kernel => match std::fs::read(format!("/proc/{pid}/environ")) {
            // the kernel's own file
            Ok(bytes) => kernel::split_argv(&bytes),
            Err(e) => return Err(EnvironUnreadable { source: Some(e) }),
        },
        Backend::Portable => portable::environ(pid).ok_or(EnvironUnreadable { source: None })?,
    };
    let prefix = format!("{var}=");
    // A name defined twice: getenv and Python's os.environ take the first.
    Ok(entries
        .iter()
        .find_map(|e| e.strip_prefix(&prefix).map(str::to_string)))
}

/// The text of `/proc/PID/cgroup`; `None` where there is none (macOS: no cgroups).
pub fn cgroup(pid: Pid) -> Option<String> {
    if cfg!(target_os = "linux") {
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok() // the kernel's own file
    } else {
        None
    }
}

/// User plus system CPU time of a process (its threads, not its children), from
/// `/proc/PID/stat`; `None` where there is no `/proc` (`cargo xtask bench` measures watch with it).
pub fn cpu_time(pid: Pid) -> Option<std::time::Duration> {
    if cfg!(target_os = "linux") {
        kernel::cpu_time(pid)
    } else {
        None
    }
}

/// Gone, or a zombie (it has exited; its parent has not reaped it yet).
pub fn is_gone(backend: Backend, pid: Pid) -> bool {
    facts(backend, pid).is_none_or(|f| f.zombie)
}

/// Is the process seen as `seen`, owned by `uid`, still running: the same pid and start time
/// (pids get reused), the same owner, and not exited (a zombie has exited; its parent just has
/// not reaped it yet)?
pub fn still_running(backend: Backend, seen: ProcessIdentity, uid: Option<Uid>) -> bool {
    facts(backend, seen.pid).is_some_and(|f| seen.is(f.pid, f.started) && f.uid == uid && !f.zombie)
}

/// Sends `signal` to the process seen as `seen` (owned by `uid`) only while it is still that
/// process ([`still_running`]). `Ok(true)`: sent; `Ok(false)`: it is gone, exited or another
/// process now; `Err`: the kernel refused.
pub fn signal_if_same(
    seen: ProcessIdentity,
    uid: Option<Uid>,
    signal: Signal,
) -> Result<bool, Errno> {
    // Never 0 or a negative pid: those name process groups.
    let Some(pid) = i32::try_from(seen.pid.0).ok().filter(|p| *p > 0) else {
        return Ok(false);
    };
    if !still_running(Backend::native(), seen, uid) {
        return Ok(false);
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Is `ancestor` still above `pid` (its parent, or its parent's, up to pid 1)?
pub fn is_ancestor(backend: Backend, ancestor: Pid, pid: Pid) -> bool {
    let mut next = pid;
    for _ in 0..64 {
        match facts(backend, next).map(|f| f.ppid) {
            Some(ppid) if ppid == ancestor => return true,
            Some(ppid) if ppid > Pid::INIT => next = ppid,
            _ => return false,
        }
    }
    false
}

/// Is a live (not zombie) process in process group `pgid`? The portable answer asks the
/// kernel, which counts zombies too: a reaped group leader leaves none behind.
pub fn group_alive(backend: Backend, pgid: Pid) -> bool {
    match backend {
        Backend::Kernel if Path::new("/proc/self").exists() => kernel::group_alive(pgid),
        _ => nix::sys::signal::killpg(pgid.to_nix(), None).is_ok(),
    }
}

/// argv of one process (`None` when it is gone, a zombie, or not readable).
pub fn argv(backend: Backend, pid: Pid) -> Option<Vec<String>> {
    let argv = match backend {
        Backend::Kernel => kernel::split_argv(&std::fs::read(format!("/proc/{pid}/cmdline")).ok()?),
        Backend::Portable => portable::argv(pid)?,
    };
    (!argv.is_empty()).then_some(argv)
}

/// Direct children of a process.
pub fn children(backend: Backend, pid: Pid) -> Vec<Pid> {
    match backend {
        Backend::Kernel => std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect(),
        Backend::Portable => portable::children(pid),
    }
}

/// The processes that have `path` open, among those whose descriptors this user may read.
/// Only the kernel backend can tell (`/proc/PID/fd`); elsewhere none are known.
pub fn holders(backend: Backend, path: &Path) -> Vec<Pid> {
    if backend != Backend::Kernel {
        return Vec::new();
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<Pid>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
        {
            out.push(pid);
        }
    }
    out
}

/// botctl's own pid and those of its ancestors (never signalled).
pub fn ancestors(backend: Backend) -> Vec<Pid> {
    let mut chain = Vec::new();
    let mut pid = Pid::own();
    while pid > Pid(0) && !chain.contains(&pid) && chain.len() < 256 {
        chain.push(pid);
        match facts(backend, pid) {
            Some(f) => pid = f.ppid,
            None => break,
        }
    }
    chain
}

/// The name of user `uid` (its number when it has none).
fn user_name(uid: Option<Uid>) -> String {
    uid.map(|u| {
        nix::unistd::User::from_uid(u.0.into())
            .ok()
            .flatten()
            .map_or_else(|| u.to_string(), |user| user.name)
    })
    .unwrap_or_else(|| "?".into())
}

pub(crate) use kernel::parse_stat;

/// Reading `/proc` directly.
mod kernel {
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use super::{Details, Facts, Table, TableError, Unreadable};
    use crate::model::{Pid, Uid};

    pub fn table() -> Result<Table, TableError> {
        let dir = std::fs::read_dir("/proc").map_err(|e| TableError::ProcDir(e.into()))?;
        let mut out = Table::default();
        let mut path = PathBuf::from("/proc");
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<Pid>().ok()) else {
                continue;
            };
            path.push(&name);
            path.push("cmdline");
            match std::fs::read(&path) {
                // the kernel's /proc/PID/cmdline
                Ok(bytes) => {
                    let argv = split_argv(&bytes);
                    if !argv.is_empty() {
                        out.processes.push((pid, argv));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    out.unreadable.push(Unreadable {
                        pid,
                        uid: std::fs::metadata(format!("/proc/{pid}"))
                            .ok()
                            .map(|m| Uid(m.uid())),
                        name: stat(pid).map(|s| s.name).unwrap_or_default(),
                    });
                }
                Err(_) => {} // gone in between
            }
            path.pop();
            path.pop();
        }
        Ok(out)
    }

    pub(super) fn split_argv(bytes: &[u8]) -> Vec<String> {
        bytes
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// The fields of `/proc/PID/stat` botctl reads.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Stat {
        pub name: String,
        pub state: char,
        pub ppid: Pid,
        pub pgrp: Pid,
        /// Start time in clock ticks after boot, as the kernel counts it (of the machine
        /// whose `/proc` it is: this one, or a host read over ssh).
        pub start_ticks: Option<u64>,
        /// User plus system CPU time, in clock ticks (its threads, not its children).
        pub cpu_ticks: Option<u64>,
    }

    impl Stat {
        /// Exited, not reaped yet (or dead).
        pub fn zombie(&self) -> bool {
            matches!(self.state, 'Z' | 'X')
        }
    }

    pub(super) fn stat(pid: Pid) -> Option<Stat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(&text)
    }

    /// `/proc/PID/stat`'s text, read here or anywhere: "PID (COMM) STATE PPID PGRP …"; COMM may
    /// hold spaces and parentheses, so the fields are counted from the last ')'.
    pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
        let (head, rest) = text.rsplit_once(')')?;
        let name = head.split_once('(').map(|(_, n)| n)?.to_string();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let state = fields.first()?.chars().next()?;
        Some(Stat {
            name,
            state,
            ppid: fields.get(1)?.parse().ok()?,
            pgrp: fields.get(2)?.parse().ok()?,
            start_ticks: fields.get(19).and_then(|t| t.parse().ok()),
            // utime and stime: fields 14 and 15 of proc(5), counted from the state (3).
            cpu_ticks: fields
                .get(11)
                .zip(fields.get(12))
                .and_then(|(u, s)| Some(u.parse::<u64>().ok()? + s.parse::<u64>().ok()?)),
        })
    }

    /// A process's CPU time so far.
    pub fn cpu_time(pid: Pid) -> Option<std::time::Duration> {
        let ticks = stat(pid)?.cpu_ticks?;
        Some(std::time::Duration::from_secs_f64(
            ticks as f64 / clock_ticks() as f64,
        ))
    }

    /// The time a start time in this machine's clock ticks after boot stands for.
    fn since_epoch(ticks: u64) -> Option<jiff::Timestamp> {
        crate::time::from_unix(boot_time()? + ticks / clock_ticks())
    }

    /// Seconds since the epoch at boot (`btime` in `/proc/stat`), read once.
    fn boot_time() -> Option<u64> {
        static BOOT: OnceLock<Option<u64>> = OnceLock::new();
        *BOOT.get_or_init(|| {
            std::fs::read_to_string("/proc/stat") // the kernel's own file
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
        })
    }

    fn clock_ticks() -> u64 {
        // SAFETY: sysconf only reads a constant of the system.
        let ticks = unsafe { nix::libc::sysconf(nix::libc::_SC_CLK_TCK) };
        if ticks > 0 { ticks as u64 } else { 100 }
    }

    pub fn facts(pid: Pid) -> Option<Facts> {
        let stat = stat(pid)?;
        let uid = std::fs::metadata(format!("/proc/{pid}"))
            .ok()
            .map(|m| Uid(m.uid()));
        Some(Facts {
            pid,
            ppid: stat.ppid,
            uid,
            started: stat.start_ticks.and_then(since_epoch),
            zombie: stat.zombie(),
        })
    }

    pub fn details(pid: Pid) -> Option<Details> {
        let facts = facts(pid)?;
        Some(Details {
            user: super::user_name(facts.uid),
            cwd: std::fs::read_link(format!("/proc/{pid}/cwd")).ok(),
            facts,
        })
    }

    pub fn group_alive(pgid: Pid) -> bool {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return false;
        };
        dir.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<Pid>().ok())
            .filter_map(stat)
            .any(|s| s.pgrp == pgid && !s.zombie())
    }
}

/// Asking sysinfo.
mod portable {
    use super::*;

    pub fn table() -> Result<Table, TableError> {
        let mut sys = System::new().map_err(|e| TableError::System(e.into()))?;
        sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .without_tasks()
                .with_cmd(UpdateKind::OnlyIfNotSet),
        );
        let mut out = Table::default();
        let mut empty = Vec::new();
        for (pid, p) in sys.processes() {
            let argv: Vec<String> = p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .filter(|a| !a.is_empty())
                .collect();
            if !argv.is_empty() {
                out.processes.push((Pid(pid.as_u32()), argv));
            } else if p.status() != ProcessStatus::Zombie
                && p.thread_kind() != Some(ThreadKind::Kernel)
            {
                empty.push(*pid);
            }
        }
        // No argv and not a zombie: macOS withholding another user's, or an unreadable
        // cmdline. Kernel threads (Linux: uid 0, no executable) carry names no runtime has.
        if !empty.is_empty() {
            sys.refresh_processes_specifics(
                ProcessesToUpdate::Some(&empty),
                false,
                ProcessRefreshKind::nothing()
                    .without_tasks()
                    .with_user(UpdateKind::OnlyIfNotSet),
            );
            for pid in empty {
                if let Some(p) = sys.process(pid) {
                    out.unreadable.push(Unreadable {
                        pid: Pid(pid.as_u32()),
                        uid: p.user_id().map(|u| Uid(**u)),
                        name: p.name().to_string_lossy().into_owned(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// One process, refreshed for just `what`, unless it is gone or a zombie.
    fn one<T>(
        pid: Pid,
        what: ProcessRefreshKind,
        read: impl FnOnce(&sysinfo::Process) -> T,
    ) -> Option<T> {
        let mut sys = System::new().ok()?;
        let p = SysPid::from_u32(pid.0);
        sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[p]), false, what);
        sys.process(p)
            .filter(|p| p.status() != ProcessStatus::Zombie)
            .map(read)
    }

    pub fn argv(pid: Pid) -> Option<Vec<String>> {
        let what = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cmd(UpdateKind::OnlyIfNotSet);
        one(pid, what, |p| {
            p.cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .filter(|a| !a.is_empty())
                .collect()
        })
    }

    pub fn environ(pid: Pid) -> Option<Vec<String>> {
        let what = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_environ(UpdateKind::OnlyIfNotSet);
        one(pid, what, |p| {
            p.environ()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        })
    }

    pub fn children(pid: Pid) -> Vec<Pid> {
        let Ok(mut sys) = System::new() else {
            return Vec::new();
        };
        sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().without_tasks(),
        );
        let mut out: Vec<Pid> = sys
            .processes()
            .values()
            .filter(|p| p.parent().map(SysPid::as_u32) == Some(pid.0))
            .map(|p| Pid(p.pid().as_u32()))
            .collect();
        out.sort();
        out
    }

    /// Whether [`details`] reads each process's working folder (one more query per process).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Cwd {
        Read,
        Skip,
    }

    pub fn details(pids: &[Pid], cwd: Cwd) -> Vec<Details> {
        let pids: Vec<SysPid> = pids.iter().map(|p| SysPid::from_u32(p.0)).collect();
        let Ok(mut sys) = System::new() else {
            return Vec::new();
        };
        let mut kind = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_user(UpdateKind::OnlyIfNotSet);
        if cwd == Cwd::Read {
            kind = kind.with_cwd(UpdateKind::OnlyIfNotSet);
        }
        sys.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), false, kind);
        pids.iter()
            .filter_map(|pid| sys.process(*pid))
            .map(|p| {
                let uid = p.user_id().map(|u| Uid(**u));
                Details {
                    facts: Facts {
                        pid: Pid(p.pid().as_u32()),
                        ppid: Pid(p.parent().map_or(0, SysPid::as_u32)),
                        uid,
                        started: Some(p.start_time())
                            .filter(|t| *t > 0)
                            .and_then(crate::time::from_unix),
                        zombie: matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead),
                    },
                    user: user_name(uid),
                    cwd: p
                        .cwd()
                        .map(Path::to_path_buf)
                        .filter(|c| !c.as_os_str().is_empty()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let s = kernel::parse_stat(
            "4242 (x) (y z) S 4000 4242 4242 0 -1 0 0 0 0 0 70 5 0 0 20 0 1 0 500 0 0",
        )
        .unwrap();
        assert_eq!(
            (
                s.name.as_str(),
                s.state,
                s.ppid,
                s.pgrp,
                s.start_ticks,
                s.cpu_ticks
            ),
            ("x) (y z", 'S', Pid(4000), Pid(4242), Some(500), Some(75))
        );
        assert!(!s.zombie());
    }

    /// Only the process seen is signalled: not another one at its pid (another start time),
    /// not another user's, not one that has exited and waits to be reaped.
    #[test]
    fn a_signal_reaches_only_the_process_seen() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = Pid(child.id());
        let f = facts(Backend::native(), pid).unwrap();
        let seen = ProcessIdentity {
            pid,
            started: f.started,
        };
        assert!(is_ancestor(Backend::native(), Pid::own(), pid));
        assert!(!is_ancestor(Backend::native(), pid, Pid::own()));
        let reused = ProcessIdentity {
            pid,
            started: Some(f.started.map_or(jiff::Timestamp::UNIX_EPOCH, |s| {
                s + jiff::SignedDuration::from_secs(1)
            })),
        };
        assert_eq!(signal_if_same(reused, f.uid, Signal::SIGTERM), Ok(false));
        let someone_else = f.uid.map(|u| Uid(u.0 + 1)).or(Some(Uid::ROOT));
        assert_eq!(
            signal_if_same(seen, someone_else, Signal::SIGTERM),
            Ok(false)
        );
        assert!(still_running(Backend::native(), seen, f.uid));
        assert_eq!(signal_if_same(seen, f.uid, Signal::SIGTERM), Ok(true));
        // Exited, not reaped yet: a zombie is not running and gets no signal.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while still_running(Backend::native(), seen, f.uid) && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!still_running(Backend::native(), seen, f.uid));
        assert_eq!(signal_if_same(seen, f.uid, Signal::SIGKILL), Ok(false));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(Signal::SIGTERM as i32));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn both_backends_tell_the_same_facts_of_this_process_and_its_parent() {
        let me = Pid::own();
        for pid in [me, facts(Backend::Kernel, me).unwrap().ppid] {
            let kernel = details(Backend::Kernel, &[pid]);
            let portable = details(Backend::Portable, &[pid]);
            assert_eq!(kernel, portable, "pid {pid}");
        }
        let argv = |b| {
            table(b)
                .unwrap()
                .processes
                .into_iter()
                .find(|(p, _)| *p == me)
                .map(|(_, a)| a)
        };
        assert_eq!(argv(Backend::Kernel), argv(Backend::Portable));
        assert!(argv(Backend::Kernel).is_some());
        assert_eq!(ancestors(Backend::Kernel), ancestors(Backend::Portable));
        assert!(group_alive(
            Backend::Kernel,
            Pid(nix::unistd::getpgrp().as_raw() as u32)
        ));
        assert!(!is_gone(Backend::Portable, me) && !is_gone(Backend::Kernel, me));
    }

    /// Both backends report a process whose cmdline botctl may not read as unreadable, with
    /// its runtime's name — the portable one too, as on a Mac. Needs root: another user's
    /// `python3`, and this test binary run again (the inner test below) in a mount namespace
    /// where that process's cmdline has a root-owned mode-000 file bound over it, as root
    /// without capabilities (so the file's mode holds).
    #[cfg(target_os = "linux")]
    #[test]
    #[ignore = "needs root"]
    fn both_backends_report_an_unreadable_cmdline_with_its_runtime() {
        use std::os::unix::fs::PermissionsExt;
        use std::process::{Command, Stdio};
        test_support::require_root("another user's process, a bind mount over /proc");
        let mut other = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(test_support::system_python())
            .args(["-c", "import time; time.sleep(60)"])
            .current_dir("/")
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = Pid(other.id());
        // Once setpriv has become Python.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !argv(Backend::Kernel, pid).is_some_and(|a| a.iter().any(|w| w.contains("sleep(60)")))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let dir = tempfile::tempdir().unwrap();
        let mask = dir.path().join("masked");
        std::fs::write(&mask, "").unwrap();
        std::fs::set_permissions(&mask, std::fs::Permissions::from_mode(0o000)).unwrap();
        let inner = Command::new("unshare")
            .args(["--mount", "sh", "-c"])
            .arg(
                "mount --bind \"$1\" \"/proc/$2/cmdline\" && shift 2 && \
                 exec setpriv --bounding-set=-all --inh-caps=-all \"$@\"",
            )
            .arg("sh")
            .arg(&mask)
            .arg(pid.to_string())
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sources::proc::tests::inner_unreadable_cmdline_in_both_backends",
                "--ignored",
                "--nocapture",
            ])
            .env("BOTCTL_TEST_UNREADABLE_PID", pid.to_string())
            .output()
            .unwrap();
        let _ = other.kill();
        let _ = other.wait();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&inner.stdout),
            String::from_utf8_lossy(&inner.stderr)
        );
        assert!(inner.status.success(), "{said}");
        assert!(
            said.contains("1 passed"),
            "the inner test did not run:\n{said}"
        );
    }

    /// Run by the test above, inside its mount namespace.
    #[cfg(target_os = "linux")]
    #[test]
    #[ignore = "run by both_backends_report_an_unreadable_cmdline_with_its_runtime"]
    fn inner_unreadable_cmdline_in_both_backends() {
        let pid: Pid = std::env::var("BOTCTL_TEST_UNREADABLE_PID")
            .unwrap()
            .parse()
            .unwrap();
        for backend in [Backend::Kernel, Backend::Portable] {
            let t = table(backend).unwrap();
            assert!(!t.processes.iter().any(|(p, _)| *p == pid), "{backend:?}");
            let u = t
                .unreadable
                .iter()
                .find(|u| u.pid == pid)
                .unwrap_or_else(|| panic!("{backend:?} does not report pid {pid}"));
            assert_eq!(u.uid, Some(Uid(65534)), "{backend:?}");
            assert!(
                crate::sources::argv::runtime_language(&u.name).is_some(),
                "{backend:?}: {:?}",
                u.name
            );
        }
    }
}
