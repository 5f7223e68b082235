//! The process-table lock: one file lock shared by every test binary and by `cargo xtask tour`
//! (see the crate docs for who takes it and why), and `TestLock`, the lock as a World takes
//! it (this binary's mutex, then the file).

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// The lock file's name, in the temp folder. The one place it is spelt.
pub const LOCK_FILE_NAME: &str = "botctl-integration-tests.lock";

/// `$TMPDIR/botctl-integration-tests.lock`.
pub fn lock_path() -> PathBuf {
    std::env::temp_dir().join(LOCK_FILE_NAME)
}

/// The process-table lock, held until dropped (the OS releases it if the holder dies).
#[derive(Debug)]
pub struct ProcessTableLock {
    _file: File,
}

impl ProcessTableLock {
    /// Waits for the lock for as long as it takes.
    pub fn wait() -> io::Result<ProcessTableLock> {
        let file = open()?;
        file.lock()?;
        Ok(ProcessTableLock { _file: file })
    }

    /// The lock if nobody holds it now, else None.
    pub fn try_take() -> io::Result<Option<ProcessTableLock>> {
        let file = open()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ProcessTableLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

fn open() -> io::Result<File> {
    let path = lock_path();
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))
}

// ------------------------------------------------------------------------------------------
// The process-table lock of a test

/// The threads of one test binary wait on this, other processes on the lock file.
static IN_PROCESS: Mutex<()> = Mutex::new(());

thread_local! {
    static HOLDS_LOCK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The lock as a test holds it: the in-process mutex and the file lock.
pub(crate) struct TestLock {
    _file: ProcessTableLock,
    _guard: MutexGuard<'static, ()>,
}

impl TestLock {
    pub(crate) fn acquire() -> TestLock {
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
