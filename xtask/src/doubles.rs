//! The guards that `bench` and `tour` clean up with, around the test doubles they share with
//! the integration tests (the `test-support` crate: the fake Bot API, the python-telegram-bot
//! poller, the process-table lock):
//!
//! - [`TempDir`] and [`Reaper`]: a scratch folder and child processes, removed and killed when
//!   dropped, however the task ends.
//! - Ctrl-C: [`catch_interrupt`] turns SIGINT into [`interrupted`], which every wait here and
//!   in test-support checks, so a task that is interrupted still drops its guards.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::{Error, Result};

const TICK: Duration = Duration::from_millis(50);

/// A failure of a test double (a sentence from test-support) as a task error; after Ctrl-C,
/// the interruption (the double's wait ended early because of it).
pub fn double_failed(message: String) -> Error {
    if interrupted() {
        interruption()
    } else {
        Error::new(message)
    }
}

// ------------------------------------------------------------------------ processes

/// Child processes killed and reaped when dropped, however the task ends.
#[derive(Default)]
pub struct Reaper(Vec<Child>);

impl Reaper {
    pub fn spawn(&mut self, cmd: &mut Command) -> Result<&mut Child> {
        let child = cmd.spawn().map_err(|e| Error::could_not_run(cmd, &e))?;
        self.0.push(child);
        Ok(self.0.last_mut().expect("just pushed"))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

// ------------------------------------------------------------------------ scratch folder

/// A scratch folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/xtask-LABEL-PID`, empty.
    pub fn new(label: &str) -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!("xtask-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> Result<PathBuf> {
        let path = self.0.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------------ Ctrl-C

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT (Ctrl-C) sets [`interrupted`] instead of ending xtask at once, so the
/// task can stop its doubles and remove its folder. Children in our process group get the
/// SIGINT from the terminal themselves.
pub fn catch_interrupt() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
    if unsafe { sigaction(Signal::SIGINT, &action) }.is_err() {
        eprintln!("xtask: cannot catch Ctrl-C; an interrupted run may leave processes behind");
    }
    test_support::abort_waits_when(interrupted);
}

/// Whether Ctrl-C was pressed since [`catch_interrupt`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// An error (exit 130) once Ctrl-C was pressed.
pub fn check_interrupt() -> Result<()> {
    if interrupted() {
        Err(interruption())
    } else {
        Ok(())
    }
}

fn interruption() -> Error {
    Error {
        message: "interrupted".into(),
        code: 130,
    }
}

/// A short sleep between two looks at something we wait for; fails once interrupted.
pub fn pause() -> Result<()> {
    std::thread::sleep(TICK);
    check_interrupt()
}

// ------------------------------------------------------------------------ JSON

pub fn parse_json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(format!("{what} printed no JSON ({e}): {text}")))
}
