//! Names the commit botctl is built from, for `botctl --version` (`botctl 0.1.0 (a1b2c3d
//! 2026-12-10)`): the same from a wheel, an npm package and `cargo install`, since all of them
//! build through here.
//!
//! From git when the crate folder is a checkout's top; else from the `COMMIT` file that
//! `cargo xtask dist` puts into the sdist (a source archive has no .git); else it says the
//! commit is unknown. Never fails the build: a missing or broken git only loses the commit.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let (commit, watched) = commit(&dir);
    println!("cargo:rustc-env=BOTCTL_COMMIT={commit}");
    // Any rerun-if-changed turns off cargo's default (rerun on any file of the package), which
    // would miss a new commit that changes no file.
    println!("cargo:rerun-if-changed=build.rs");
    for path in watched {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The file an sdist carries instead of .git: one line, `a1b2c3d 2026-12-10`.
pub const COMMIT_FILE: &str = "COMMIT";

/// What `--version` shows after the version, and the files whose change means another commit.
pub fn commit(dir: &Path) -> (String, Vec<PathBuf>) {
    if let Some((commit, watched)) = from_git(dir) {
        return (commit, watched);
    }
    let file = dir.join(COMMIT_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) if is_commit_line(text.trim()) => (text.trim().to_string(), vec![file]),
        _ => ("commit unknown: built without git".to_string(), Vec::new()),
    }
}

/// `a1b2c3d 2026-12-10`, and git's HEAD and the ref it points to (a new commit moves one).
fn from_git(dir: &Path) -> Option<(String, Vec<PathBuf>)> {
    // Only this crate's own checkout: an sdist unpacked inside some other repository must not
    // take that repository's commit.
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    // The full hash cut to 7, not %h: %h grows with the repository, so a shallow CI clone and
    // a full one would differ.
    let line = git(
        dir,
        &[
            "-c",
            "log.showSignature=false",
            "log",
            "-1",
            "--format=%H %cs",
        ],
    )?;
    let (hash, date) = line.split_once(' ')?;
    let commit = format!("{} {date}", hash.get(..7)?);
    if !is_commit_line(&commit) {
        return None;
    }
    let mut watched = vec![git_path(dir, "HEAD")?];
    let head_ref = git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"])?;
    if head_ref.starts_with("refs/") {
        // A branch: its loose ref file, or packed-refs while it has none.
        watched.extend(
            [head_ref.as_str(), "packed-refs"]
                .into_iter()
                .filter_map(|name| git_path(dir, name))
                .filter(|path| path.is_file()),
        );
    }
    Some((commit, watched))
}

fn git_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(git(dir, &["rev-parse", "--git-path", name])?);
    Some(if path.is_absolute() {
        path
    } else {
        dir.join(path)
    })
}

/// git's one-line answer, or None when git is missing or says no.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // A caller's GIT_DIR (a git hook running cargo) would point git elsewhere.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// `a1b2c3d 2026-12-10`: seven hex digits and a date, nothing else (it goes into --version).
pub fn is_commit_line(line: &str) -> bool {
    let Some((hash, date)) = line.split_once(' ') else {
        return false;
    };
    let digits: Vec<&str> = date.split('-').collect();
    hash.len() == 7
        && hash.chars().all(|c| c.is_ascii_hexdigit())
        && digits.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&digits)
            .all(|(n, d)| d.len() == *n && d.chars().all(|c| c.is_ascii_digit()))
}
