//! The process-table lock: one file lock shared by every test binary and by `cargo xtask tour`
//! (see the crate docs for who takes it and why).

use std::fs::File;
use std::io;
use std::path::PathBuf;

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
