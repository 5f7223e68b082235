//! The handoff state, `.botctl/state.json`: which machines dev-start stopped, so deploy-resume
//! can start exactly those again — even after a dev-start that was killed half-way.
//! Written atomically (write, fsync, rename) under a file lock held while a workflow changes
//! things.

use std::cell::RefCell;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{AppName, BotName, MachineId, Person};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    pub handoffs: Vec<Handoff>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    pub bot: BotName,
    /// The Fly app whose machines were stopped; none for a bot without `fly_app` (a webhook
    /// bot's handoff still records its webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppName>,
    /// Machines dev-start was about to stop (recorded before stopping any).
    pub machines: Vec<MachineId>,
    /// When; RFC 3339 in the file.
    #[serde(with = "crate::time::stamp")]
    pub at: jiff::Timestamp,
    /// Who ran dev-start (as handoff records name a person); a plain string in the file.
    pub by: Person,
    /// A webhook bot's webhook, as dev-start found it before deleting it: deploy-resume sets
    /// it again from this when the bot does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<crate::sources::webhook::Webhook>,
    /// On a platform that keeps a count (Kubernetes, Heroku, Railway), the count before
    /// dev-start scaled it to zero; `app` then names the workload, dyno type or service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled_from: Option<u32>,
}

impl Handoff {
    /// Whether it is the handoff of Fly app `app`.
    pub fn of_app(&self, app: &str) -> bool {
        self.app.as_deref() == Some(app)
    }

    /// "machine(s) a, b of APP", or that no machine was stopped.
    pub fn stopped(&self) -> String {
        if let (Some(name), Some(n)) = (&self.app, self.scaled_from) {
            return format!("{name} (scaled from {n} to 0)");
        }
        match &self.app {
            Some(app) if !self.machines.is_empty() => {
                format!("machine(s) {} of {app}", self.machines.join(", "))
            }
            Some(app) => format!("no machine of {app}"),
            None => "no Fly machine (no fly_app)".into(),
        }
    }
}

impl State {
    pub fn handoff(&self, bot: &str) -> Option<&Handoff> {
        self.handoffs.iter().find(|h| h.bot == bot)
    }

    pub fn set(&mut self, handoff: Handoff) {
        self.handoffs.retain(|h| h.bot != handoff.bot);
        self.handoffs.push(handoff);
    }

    pub fn clear(&mut self, bot: &str) {
        self.handoffs.retain(|h| h.bot != bot);
    }
}

pub fn path(root: &Path) -> PathBuf {
    root.join(".botctl").join("state.json")
}

/// What [`folder`] does when `.botctl` is not there yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Make it: the caller is about to write into it.
    Create,
    /// Leave it missing: the caller only reads, and no folder means nothing kept yet.
    Leave,
}

/// `.botctl` in the project root, the folder of every file botctl keeps (the handoff state,
/// the locks), made when `if_missing` asks and missing. Every path into it comes from here, and
/// here a `.botctl` that is a symbolic link (or not a folder) is refused with its path: through
/// a link, botctl would create and truncate its files wherever the link points.
pub fn folder(root: &Path, if_missing: IfMissing) -> Result<PathBuf> {
    let dir = root.join(".botctl");
    let create = if_missing == IfMissing::Create;
    // create_dir, not create_dir_all: it fails on anything already there, a link included,
    // rather than following it; what is there is judged by the open below.
    if create
        && let Err(e) = std::fs::create_dir(&dir)
        && e.kind() != std::io::ErrorKind::AlreadyExists
    {
        return Err(Error::io(format!("cannot create {}", dir.display()), e));
    }
    let refuse = |message: &str| Error::State {
        path: dir.clone(),
        message: message.into(),
    };
    match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_DIRECTORY)
        .open(&dir)
    {
        Ok(_) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Ok(dir),
        // Linux says ENOTDIR for a link under O_DIRECTORY, macOS ELOOP: which one it is, the
        // entry itself tells.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(nix::libc::ELOOP | nix::libc::ENOTDIR)
            ) =>
        {
            let link = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink());
            Err(refuse(if link {
                "is a symbolic link; botctl keeps its files only in a real folder here: \
remove the link (botctl makes the folder itself)"
            } else {
                "is not a folder; botctl keeps its files in a folder of this name: move it away"
            }))
        }
        Err(e) => Err(Error::io(format!("cannot open {}", dir.display()), e)),
    }
}

/// Reads the state without the lock (for reports). No file means no handoff.
pub fn read(root: &Path) -> Result<State> {
    let path = folder(root, IfMissing::Leave)?.join("state.json");
    let text = match crate::files::read_text(&path, crate::files::CAP) {
        Ok(t) => t,
        Err(e) if e.is_missing() => return Ok(State::default()),
        Err(e) => {
            return Err(Error::State {
                path,
                message: format!("cannot read the handoff state: it {e}"),
            });
        }
    };
    serde_json::from_str(&text).map_err(|e| Error::State {
        path,
        message: format!(
            "the handoff state is corrupt ({e}); it records machines that \
dev-start stopped, so it is not dropped: fix or remove it by \
hand after checking `flyctl machine list`"
        ),
    })
}

/// The lock on the state, held while a workflow changes things.
pub struct Locked {
    root: PathBuf,
    _lock: File,
    /// The state as first read under this lock, kept current by every save: while the lock is
    /// held no other botctl run writes the file, so the run reads it once.
    held: RefCell<Option<State>>,
}

/// The state as this run holds it: through the lock when one is held (read once under it),
/// else read now (a dry run takes no lock).
pub fn current(root: &Path, lock: Option<&Locked>) -> Result<State> {
    match lock {
        Some(lock) => lock.load(),
        None => read(root),
    }
}

pub fn lock(root: &Path) -> Result<Locked> {
    let lock_path = folder(root, IfMissing::Create)?.join("lock");
    // Never through a link: a planted `lock -> elsewhere` must not make botctl create `elsewhere`.
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&lock_path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                Error::State {
                    path: lock_path.clone(),
                    message: "is a symbolic link; botctl does not follow links here: remove it"
                        .into(),
                }
            } else {
                Error::io(format!("cannot open {}", lock_path.display()), e)
            }
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Locked {
            root: root.to_path_buf(),
            _lock: file,
            held: RefCell::new(None),
        }),
        Err(TryLockError::WouldBlock) => Err(Error::Refused {
            message: format!(
                "another botctl run is changing things right now (it holds {})",
                lock_path.display()
            ),
            fix: crate::fix::Fix::instruction("wait for it to finish, then run this again"),
        }),
        Err(TryLockError::Error(e)) => {
            Err(Error::io(format!("cannot lock {}", lock_path.display()), e))
        }
    }
}

impl Locked {
    /// The state: read from disk the first time, then as held.
    pub fn load(&self) -> Result<State> {
        if let Some(state) = self.held.borrow().as_ref() {
            return Ok(state.clone());
        }
        let state = read(&self.root)?;
        *self.held.borrow_mut() = Some(state.clone());
        Ok(state)
    }

    pub fn save(&self, state: &State) -> Result<()> {
        // Whatever happens below, what is on disk is read again when next asked.
        *self.held.borrow_mut() = None;
        self.write(state)?;
        let mut written = state.clone();
        if written.handoffs.is_empty() {
            written = State::default();
        } else {
            written.version = 1;
        }
        *self.held.borrow_mut() = Some(written);
        Ok(())
    }

    fn write(&self, state: &State) -> Result<()> {
        let path = folder(&self.root, IfMissing::Create)?.join("state.json");
        let fail = |e: std::io::Error| Error::State {
            path: path.clone(),
            message: format!("cannot write the handoff state: {e}"),
        };
        if state.handoffs.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
                _ => Ok(()),
            };
        }
        let mut state = state.clone();
        state.version = 1;
        let text = serde_json::to_string_pretty(&state).expect("state serializes") + "\n";
        write_atomically(&path, &text).map_err(fail)
    }
}

/// A handoff that is on disk: written, fsynced and read back equal. The only way to get one is
/// [`Locked::record`], and what deletes a webhook on Telegram or stops a machine takes one, so
/// nothing is deleted or stopped before its record is safe.
#[derive(Debug)]
pub struct Recorded {
    handoff: Handoff,
}

impl Recorded {
    pub fn handoff(&self) -> &Handoff {
        &self.handoff
    }
}

impl Locked {
    /// Records `handoff` (replacing the bot's earlier one) and reads it back from the disk.
    pub fn record(&self, handoff: Handoff) -> Result<Recorded> {
        let mut st = self.load()?;
        st.set(handoff.clone());
        self.save(&st)?;
        // Read back from the disk, not as held: this is the check that the write is there.
        *self.held.borrow_mut() = None;
        let back = self.load()?;
        match back.handoff(&handoff.bot) {
            Some(h) if *h == handoff => Ok(Recorded { handoff }),
            _ => Err(Error::State {
                path: path(&self.root),
                message: "the handoff state read back is not what was written: nothing was \
stopped or deleted"
                    .into(),
            }),
        }
    }
}

/// Write, fsync, rename: a new file made exclusively (O_EXCL, a fresh name), so nothing planted
/// beside `path` — a symlink at a predictable `.tmp` name — is ever written through.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".botctl-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handoff_file_reads_and_writes_as_it_always_has() {
        let text = r#"{"version":1,"handoffs":[{"bot":"partner","app":"lb","machines":["m1"],"at":"2026-11-24T10:02:11Z","by":"alice@mbp"}]}"#;
        let state: State = serde_json::from_str(text).unwrap();
        let h = &state.handoffs[0];
        assert_eq!(h.by, Person::new("alice@mbp"));
        assert_eq!(h.at.to_string(), "2026-11-24T10:02:11Z");
        assert_eq!(serde_json::to_string(&state).unwrap(), text);
    }
}
