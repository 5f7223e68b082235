//! Reading files from the outside world: a config, a `.env`, a pm2 dump, a supervisord config
//! named by a daemon's `-c`, a loop's script, `/proc`. Every such read goes through here, so
//! the rules cannot be forgotten: the file is opened non-blocking (a FIFO never hangs botctl),
//! it must be a regular file *on the opened handle* (a link to `/dev/zero` is refused after the
//! open, where it cannot be swapped), and it is read with a cap (a device reports length 0, so
//! the length is never trusted). A file named by another user's process is not read at all:
//! as root that would be reading what they chose for us.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::model::Uid;

/// The most botctl reads of one ordinary file (configs, scripts, dumps, plists).
pub const CAP: u64 = 1 << 20;

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    Missing,
    /// A FIFO, device, socket or folder where a file was expected.
    NotRegular {
        kind: &'static str,
    },
    TooLarge {
        cap: u64,
    },
    /// Named by a process of another user (`uid`): not read.
    OtherUsers {
        uid: Uid,
    },
    Io(String),
}

impl std::error::Error for FileError {}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Missing => f.write_str("does not exist"),
            FileError::NotRegular { kind } => write!(f, "is a {kind}, not a regular file"),
            FileError::TooLarge { cap } => write!(f, "is larger than {} KiB", cap / 1024),
            FileError::OtherUsers { uid } => {
                write!(f, "was named by a process of user {uid} and is not read")
            }
            FileError::Io(message) => f.write_str(message),
        }
    }
}

impl FileError {
    pub fn is_missing(&self) -> bool {
        *self == FileError::Missing
    }
}

/// The bytes of the regular file at `path`, at most `cap` of them.
pub fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, FileError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FileError::Missing,
            _ => FileError::Io(e.to_string()),
        })?;
    check_regular(&file)?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::Io(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge { cap });
    }
    Ok(bytes)
}

/// The text of the regular file at `path` (invalid UTF-8 replaced), at most `cap` bytes.
pub fn read_text(path: &Path, cap: u64) -> Result<String, FileError> {
    read_bytes(path, cap).map(|b| match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// [`read_text`] of a file named by a process of user `owner` (its `-c` config, its script):
/// only when that is botctl's own user.
pub fn read_text_named_by(path: &Path, owner: Option<Uid>, cap: u64) -> Result<String, FileError> {
    let me = Uid::effective();
    match owner {
        Some(uid) if uid != me => Err(FileError::OtherUsers { uid }),
        _ => read_text(path, cap),
    }
}

fn check_regular(file: &File) -> Result<(), FileError> {
    use std::os::unix::fs::FileTypeExt;
    let kind = file
        .metadata()
        .map_err(|e| FileError::Io(e.to_string()))?
        .file_type();
    if kind.is_file() {
        return Ok(());
    }
    let kind = if kind.is_fifo() {
        "FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "device"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_dir() {
        "folder"
    } else {
        "special file"
    };
    Err(FileError::NotRegular { kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn devices_fifos_and_folders_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x_pipe.py");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let started = Instant::now();
        assert_eq!(
            read_text(&fifo, CAP),
            Err(FileError::NotRegular { kind: "FIFO" })
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        let zero = dir.path().join("zero.py");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(
            read_text(&zero, CAP),
            Err(FileError::NotRegular { kind: "device" })
        );
        assert_eq!(
            read_text(dir.path(), CAP),
            Err(FileError::NotRegular { kind: "folder" })
        );
        assert!(
            read_text(&dir.path().join("none"), CAP)
                .unwrap_err()
                .is_missing()
        );
    }

    #[test]
    fn reads_are_capped_whatever_the_length_says() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert_eq!(
            read_text(&big, 1024),
            Err(FileError::TooLarge { cap: 1024 })
        );
        assert_eq!(read_text(&big, 4096).unwrap().len(), 2048);
        // /proc files report length 0 and are read whole.
        #[cfg(target_os = "linux")]
        let me = read_text(Path::new("/proc/self/cmdline"), CAP);
        #[cfg(target_os = "linux")]
        assert!(me.is_ok_and(|t| !t.is_empty()));
    }

    #[test]
    fn files_named_by_other_users_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("supervisord.conf");
        std::fs::write(&f, "[supervisord]\n").unwrap();
        let me = Uid::effective();
        let other = Uid(me.0 + 12345);
        assert!(read_text_named_by(&f, Some(me), CAP).is_ok());
        assert_eq!(
            read_text_named_by(&f, Some(other), CAP),
            Err(FileError::OtherUsers { uid: other })
        );
    }
}
