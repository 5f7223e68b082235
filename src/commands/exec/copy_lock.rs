//! The copy lock, `.botctl/exec-BOT.lock`: held by every bot that `botctl exec` started, for as
//! long as it runs — its descriptor is left open across the exec, and the kernel lets go of it
//! when the last holder exits. The handoff lock covers the look and the exec; this one covers
//! what comes after, when the process table may not show the bot yet (an empty command line
//! mid-exec, `sh -c` before it execs the bot, a COMMAND that does not look like the bot), so a
//! second `botctl exec` still sees the first copy. Taken only under the handoff lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::{Pid, ProcessIdentity};
use crate::sources::proc;

/// This run's hold on the copy lock, kept open into the bot.
pub struct CopyLock {
    file: File,
}

/// What trying the copy lock found.
pub enum Claim {
    Taken(CopyLock),
    /// A copy that `botctl exec` started holds it: the process it wrote (pid and start time),
    /// when it got that far. A pid alone names nobody: pids are reused.
    HeldBy {
        holder: Option<ProcessIdentity>,
        path: PathBuf,
    },
}

/// What the lock file says: "PID START" (start time in seconds since the epoch).
fn written(id: ProcessIdentity) -> String {
    match id.started {
        Some(t) => format!("{} {}", id.pid, t.as_second()),
        None => id.pid.to_string(),
    }
}

/// The process a lock file names, when it names one with its start time.
fn parse(text: &str) -> Option<ProcessIdentity> {
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let started = Some(crate::time::from_unix(words.next()?.parse().ok()?)?);
    Some(ProcessIdentity { pid, started })
}

/// Takes the copy lock of `bot` and writes this pid into it, or says who holds it.
pub fn claim(root: &Path, bot: &str) -> Result<Claim> {
    let path = crate::state::folder(root, crate::state::IfMissing::Create)?
        .join(format!("exec-{bot}.lock"));
    // Never through a link, as the handoff lock.
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                Error::State {
                    path: path.clone(),
                    message: "is a symbolic link; botctl does not follow links here: remove it"
                        .into(),
                }
            } else {
                Error::io(format!("cannot open {}", path.display()), e)
            }
        })?;
    match file.try_lock() {
        Ok(()) => {
            // Written in place, not renamed over: the lock is on this file itself. Only a
            // hint for the next run's refusal; the lock is what counts.
            let pid = Pid::own();
            let me = ProcessIdentity {
                pid,
                started: proc::facts(proc::Backend::native(), pid).and_then(|f| f.started),
            };
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(written(me).as_bytes()))
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            Ok(Claim::Taken(CopyLock { file }))
        }
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = (&file).take(64).read_to_string(&mut text);
            Ok(Claim::HeldBy {
                holder: parse(&text),
                path,
            })
        }
        Err(TryLockError::Error(e)) => Err(Error::io(format!("cannot lock {}", path.display()), e)),
    }
}

impl CopyLock {
    /// Leaves the descriptor open across exec (Rust opens every file close-on-exec), so the
    /// bot holds the lock for as long as it runs.
    pub fn keep_across_exec(&self) -> Result<()> {
        // SAFETY: fcntl on a descriptor this File owns; F_SETFD only changes its flags.
        let rc = unsafe { nix::libc::fcntl(self.file.as_raw_fd(), nix::libc::F_SETFD, 0) };
        if rc == -1 {
            return Err(Error::io(
                "cannot keep the copy lock open for the bot",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

/// The process the lock names, when it is still that process (the same pid started at the
/// same time, not exited); else `None`.
pub fn live(holder: Option<ProcessIdentity>) -> Option<Pid> {
    let seen = holder?;
    proc::facts(proc::Backend::native(), seen.pid)
        .filter(|f| seen.is(f.pid, f.started) && !f.zombie)
        .map(|f| f.pid)
}

/// The processes that have `path` open: for a lock whose recorded pid is gone, the children
/// that inherited it (a wrapper's bot, a bot's own long-lived child). Only processes whose
/// descriptors this user may read.
pub fn holders(path: &Path) -> Vec<Pid> {
    proc::holders(proc::Backend::native(), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_names_a_pid_with_its_start_time_or_nobody() {
        let id = ProcessIdentity {
            pid: Pid(42),
            started: crate::time::from_unix(1_700_000_000),
        };
        assert_eq!(parse(&written(id)), Some(id));
        assert_eq!(parse("42"), None, "a pid alone names nobody");
        assert_eq!(parse(""), None);
        let me = Pid::own();
        let started = proc::facts(proc::Backend::native(), me).and_then(|f| f.started);
        assert_eq!(live(Some(ProcessIdentity { pid: me, started })), Some(me));
        let reused = ProcessIdentity {
            pid: me,
            started: started.map(|t| t - jiff::SignedDuration::from_hours(1)),
        };
        assert_eq!(
            live(Some(reused)),
            None,
            "the same pid started at another time"
        );
    }
}
