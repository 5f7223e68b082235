//! The project's files, found once: a bounded walk that skips what holds no bot of the team
//! (dependencies, virtualenvs, VCS data, build output) and walks each real folder once.

use std::path::{Path, PathBuf};

/// How deep below the root a start file or a bot's code may sit (`services/bots/partner/x.py`
/// is 3 folders down).
const MAX_DEPTH: usize = 6;
/// How many files the walk looks at, at most: a project is not a home folder.
const MAX_FILES: usize = 5000;

/// The project: its root and the files of it that init reads.
pub struct Project {
    pub root: PathBuf,
    /// Every regular-looking file found, sorted (shallow before deep, then by name).
    pub files: Vec<PathBuf>,
}

impl Project {
    pub fn walk(root: &Path) -> Project {
        let mut files = Vec::new();
        let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let mut seen = std::collections::HashSet::from([real_root.clone()]);
        let mut folders = std::collections::VecDeque::from([(root.to_path_buf(), 0)]);
        // Links to folders are walked last, so a folder is known by its own name, never by a
        // link's (`again -> bots` names nothing).
        let mut links: Vec<(PathBuf, usize)> = Vec::new();
        while let Some((dir, depth)) = folders.pop_front().or_else(|| links.pop()) {
            // A link to a folder already walked (the project itself) adds nothing, and one that
            // leads out of the project (to / or a home folder) is not its.
            match std::fs::canonicalize(&dir) {
                Ok(real) if real == real_root && depth == 0 => {}
                Ok(real) if real.starts_with(&real_root) && seen.insert(real.clone()) => {}
                _ => continue,
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                if files.len() >= MAX_FILES {
                    break;
                }
                if !p.is_dir() {
                    files.push(p);
                } else if depth < MAX_DEPTH && !skipped_folder(&p) {
                    if p.is_symlink() {
                        links.push((p, depth + 1));
                    } else {
                        folders.push_back((p, depth + 1));
                    }
                }
            }
        }
        files.sort_by_key(|p| (p.components().count(), p.clone()));
        Project {
            root: root.to_path_buf(),
            files,
        }
    }

    /// The files named `name` (`Dockerfile`, `fly.toml`), shallow first.
    pub fn named(&self, name: &str) -> impl Iterator<Item = &PathBuf> {
        self.files
            .iter()
            .filter(move |p| p.file_name().is_some_and(|n| n == name))
    }

    /// The files whose name ends with `.ext`.
    pub fn with_ext<'a>(&'a self, ext: &'a str) -> impl Iterator<Item = &'a PathBuf> {
        self.files
            .iter()
            .filter(move |p| p.extension().is_some_and(|x| x == ext))
    }

    /// `path` relative to the root, as written in botctl.toml and in messages.
    pub fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    /// `path` relative to the root for a reason or a comment: escaped, one line.
    pub fn shown(&self, path: &Path) -> String {
        crate::outside::shown(&self.rel(path)).into_owned()
    }

    /// Inside the project (after `..` are folded).
    pub fn contains(&self, path: &Path) -> bool {
        normalize(path).starts_with(&self.root)
    }
}

/// Hidden folders, virtualenvs, dependencies, vendored code and build output hold no bots of
/// the team.
pub fn skipped_folder(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    n.starts_with('.')
        || matches!(
            n.as_str(),
            "venv"
                | "env"
                | "node_modules"
                | "__pycache__"
                | "site-packages"
                | "target"
                | "vendor"
                | "vendored"
                | "third_party"
                | "dist"
                | "build"
                | "out"
                | "coverage"
                | "htmlcov"
        )
}

/// A file of the project, through the capped, non-blocking reader (a FIFO named `x.py` or a
/// link to /dev/zero reads as nothing).
pub fn read(path: &Path) -> Option<String> {
    crate::files::read_text(path, crate::files::CAP).ok()
}

pub use crate::sources::local::normalize;
