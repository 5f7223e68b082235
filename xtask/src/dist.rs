//! `cargo xtask dist [--target TRIPLE] [--check]`: botctl for users without Rust, in
//! `target/dist/`.
//!
//! The binary is built once, by maturin (into the wheel), and the same file is packed two more
//! ways: the npm packages (`botctl`, a JavaScript launcher, and `botctl-<os>-<cpu>`, the binary)
//! and a `.tar.gz`. Then the sdist and `SHA256SUMS` over all of it. On Linux the build links
//! through zig against glibc 2.17 (`--zig --compatibility manylinux2014`), so the wheel and
//! the archive run on any Linux of the last ten years. Every version comes from Cargo.toml;
//! maturin and ziglang are pinned in packaging/requirements.txt and live in `.venv` (setup).
//!
//! `--check` then installs what was built, offline, and runs it: see [`check`].

mod check;
mod npm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Error, Result, run_command, target_dir};

/// A platform botctl is released for: its Rust target and its npm names.
#[derive(Debug, PartialEq)]
pub struct Platform {
    pub triple: &'static str,
    /// npm's `process.platform` and `process.arch`.
    pub os: &'static str,
    pub cpu: &'static str,
    /// Linux builds need glibc (2.17 at least); npm skips the package on musl.
    pub glibc: bool,
}

pub const PLATFORMS: &[Platform] = &[
    Platform {
        triple: "x86_64-unknown-linux-gnu",
        os: "linux",
        cpu: "x64",
        glibc: true,
    },
    Platform {
        triple: "aarch64-unknown-linux-gnu",
        os: "linux",
        cpu: "arm64",
        glibc: true,
    },
    Platform {
        triple: "x86_64-apple-darwin",
        os: "darwin",
        cpu: "x64",
        glibc: false,
    },
    Platform {
        triple: "aarch64-apple-darwin",
        os: "darwin",
        cpu: "arm64",
        glibc: false,
    },
];

impl Platform {
    /// The platform xtask runs on, if botctl is released for it.
    pub fn host() -> Option<&'static Platform> {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let cpu = match std::env::consts::ARCH {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            other => other,
        };
        PLATFORMS.iter().find(|p| p.os == os && p.cpu == cpu)
    }

    /// `linux-x64`, as the npm package names and the launcher say it.
    pub fn npm_name(&self) -> String {
        format!("{}-{}", self.os, self.cpu)
    }
}

/// What `cargo xtask dist` was asked for.
#[derive(Debug, PartialEq)]
pub struct Args {
    pub platform: &'static Platform,
    pub check: bool,
}

impl Args {
    /// `--target TRIPLE` (already checked by [`released_platform`]), else this machine.
    pub fn new(target: Option<&'static Platform>, check: bool) -> Result<Args> {
        let platform = match target.or_else(Platform::host) {
            Some(p) => p,
            None => {
                return Err(Error::usage(format!(
                    "botctl is not released for this machine ({} {}); --target TRIPLE: {}",
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                    triples()
                )));
            }
        };
        Ok(Args { platform, check })
    }
}

/// `--target TRIPLE`'s parser: a platform botctl is released for.
pub fn released_platform(triple: &str) -> Result<&'static Platform, String> {
    PLATFORMS
        .iter()
        .find(|p| p.triple == triple)
        .ok_or_else(|| format!("botctl is not released for {triple}; TRIPLE: {}", triples()))
}

fn triples() -> String {
    let targets: Vec<&str> = PLATFORMS.iter().map(|p| p.triple).collect();
    targets.join(", ")
}

pub fn run(root: &Path, args: &Args) -> Result<()> {
    let started = Instant::now();
    let version = version(root)?;
    let dist = dist_dir(root);
    let work = target_dir(root).join("dist-work");
    for dir in [&dist, &work] {
        fresh_dir(dir)?;
    }
    let binary = wheel(root, args.platform, &dist)?;
    npm::packages(root, args.platform, &version, &binary, &work, &dist)?;
    archive(args.platform, &version, &binary, &work, &dist)?;
    sdist(root, &dist)?;
    sha256sums(&dist)?;
    println!(
        "xtask dist: built in {:.1}s into {}:",
        started.elapsed().as_secs_f64(),
        dist.display()
    );
    for name in files_in(&dist)? {
        let size = dist.join(&name).metadata().map(|m| m.len()).unwrap_or(0);
        println!("  {name} ({:.1} MB)", size as f64 / 1e6);
    }
    if args.check {
        check::run(root, args.platform, &version)?;
    }
    Ok(())
}

pub fn dist_dir(root: &Path) -> PathBuf {
    target_dir(root).join("dist")
}

/// The `version = "…"` of Cargo.toml's `[package]`: the one version of every package.
pub fn version(root: &Path) -> Result<String> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    package_version(&text)
        .ok_or_else(|| Error::new(format!("{} has no [package] version", path.display())))
}

fn package_version(cargo_toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in cargo_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("version") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return value
                .strip_prefix('"')?
                .split_once('"')
                .map(|(v, _)| v.to_string());
        }
    }
    None
}

/// maturin's wheel, and the binary it built (`target/TRIPLE/release/botctl`), which every
/// other package carries as is.
fn wheel(root: &Path, platform: &Platform, dist: &Path) -> Result<PathBuf> {
    let started = Instant::now();
    let venv_bin = root.join(".venv").join("bin");
    let maturin = venv_bin.join("maturin");
    if !maturin.is_file() {
        return Err(Error::new(format!(
            "{} is missing: run cargo xtask setup",
            maturin.display()
        )));
    }
    let mut cmd = Command::new(&maturin);
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--target",
        platform.triple,
    ])
    .arg("--out")
    .arg(dist)
    .current_dir(root);
    if platform.glibc {
        // zig comes from the venv's ziglang (`python3 -m ziglang`): the venv goes first on PATH.
        cmd.args(["--zig", "--compatibility", "manylinux2014"])
            .env("PATH", path_with(&venv_bin));
    }
    run_command(&mut cmd)?;
    println!(
        "xtask dist: the wheel took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let binary = target_dir(root)
        .join(platform.triple)
        .join("release")
        .join("botctl");
    if !binary.is_file() {
        return Err(Error::new(format!(
            "maturin built a wheel, but {} is missing",
            binary.display()
        )));
    }
    Ok(binary)
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
        .unwrap_or(rest)
}

/// `botctl-VERSION-TRIPLE.tar.gz`, holding `botctl-VERSION-TRIPLE/botctl`.
fn archive(
    platform: &Platform,
    version: &str,
    binary: &Path,
    work: &Path,
    dist: &Path,
) -> Result<()> {
    let name = format!("botctl-{version}-{}", platform.triple);
    let folder = work.join("archive").join(&name);
    fresh_dir(&folder)?;
    copy_executable(binary, &folder.join("botctl"))?;
    run_command(
        Command::new("tar")
            .arg("-czf")
            .arg(dist.join(format!("{name}.tar.gz")))
            .arg("-C")
            .arg(work.join("archive"))
            .arg(&name),
    )
}

/// The sdist (`pip install` where no wheel fits builds from it), with the commit in a
/// `COMMIT` file: it has no .git for build.rs to ask.
fn sdist(root: &Path, dist: &Path) -> Result<()> {
    let (commit, _) = crate::build_script::commit(root);
    let file = root.join(crate::build_script::COMMIT_FILE);
    let wrote = crate::build_script::is_commit_line(&commit);
    if wrote {
        write(&file, &format!("{commit}\n"))?;
    }
    let built = run_command(
        Command::new(root.join(".venv/bin/maturin"))
            .arg("sdist")
            .arg("--out")
            .arg(dist)
            .current_dir(root),
    );
    if wrote {
        std::fs::remove_file(&file)
            .map_err(|e| Error::io(format!("cannot remove {}", file.display()), e))?;
    }
    built
}

/// `SHA256SUMS` over every file in dist, in `sha256sum -c` form.
fn sha256sums(dist: &Path) -> Result<()> {
    let names = files_in(dist)?;
    let mut cmd = sha256_command();
    cmd.args(&names).current_dir(dist);
    println!("$ {}", crate::shown(&cmd));
    let output = cmd.output().map_err(|e| Error::could_not_run(&cmd, &e))?;
    crate::check_status(&cmd, output.status)?;
    let sums = String::from_utf8_lossy(&output.stdout);
    write(&dist.join("SHA256SUMS"), &sums)
}

/// sha256sum (GNU) where there is one, else macOS' shasum: the same output and `-c`.
pub fn sha256_command() -> Command {
    if crate::find_program("sha256sum").is_some() {
        Command::new("sha256sum")
    } else {
        let mut cmd = Command::new("shasum");
        cmd.args(["-a", "256"]);
        cmd
    }
}

/// The names of the files in dir, sorted.
pub fn files_in(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// An empty dir: what an earlier run left there (another version's files) must not ship.
pub fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot remove {}", dir.display()), e))?;
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))
}

pub fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

pub fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(from, to)
        .and_then(|_| std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| {
            Error::io(
                format!("cannot copy {} to {}", from.display(), to.display()),
                e,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_package_one() {
        let toml = "[workspace]\nversion = \"9.9.9\"\n\n[package]\nname = \"botctl\"\n\
                    version = \"0.2.0\" # released\n\n[dependencies]\nversion = \"1\"\n";
        assert_eq!(package_version(toml).as_deref(), Some("0.2.0"));
        assert_eq!(package_version("[dependencies]\nversion = \"1\"\n"), None);
        assert_eq!(
            package_version("[package]\nversion.workspace = true\n"),
            None
        );
    }

    #[test]
    fn the_real_cargo_toml_has_a_version() {
        let root = crate::project_root();
        let version = version(&root).unwrap();
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{version}"
        );
    }

    #[test]
    fn a_target_is_one_botctl_is_released_for() {
        let mac = released_platform("aarch64-apple-darwin").unwrap();
        assert_eq!(mac.npm_name(), "darwin-arm64");
        let linux = released_platform("x86_64-unknown-linux-gnu").unwrap();
        assert_eq!(linux.npm_name(), "linux-x64");
        assert!(linux.glibc);
        let args = Args::new(Some(mac), true).unwrap();
        assert!(args.check);
        assert_eq!(args.platform, mac);
        let e = released_platform("x86_64-pc-windows-msvc").unwrap_err();
        assert!(e.contains("x86_64-unknown-linux-gnu"), "{e}");
    }

    /// A fresh folder under target/ (xtask has no tempfile).
    fn scratch(name: &str) -> PathBuf {
        let dir = target_dir(&crate::project_root())
            .join("xtask-tests")
            .join(format!("{name}-{}", std::process::id()));
        fresh_dir(&dir).unwrap();
        dir
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(dir)
            .env("GIT_COMMITTER_DATE", "2026-12-10T12:00:00Z")
            .env("GIT_AUTHOR_DATE", "2026-12-10T12:00:00Z")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn without_git_the_build_says_the_commit_is_unknown_or_reads_the_sdist_file() {
        use crate::build_script::{COMMIT_FILE, commit};
        let dir = scratch("no-git");
        // Inside target/ of this checkout, but not its top: not this repository's commit.
        assert_eq!(
            commit(&dir),
            ("commit unknown: built without git".to_string(), vec![])
        );
        write(&dir.join(COMMIT_FILE), "a1b2c3d 2026-12-10\n").unwrap();
        assert_eq!(
            commit(&dir),
            (
                "a1b2c3d 2026-12-10".to_string(),
                vec![dir.join(COMMIT_FILE)]
            )
        );
        // Anything else in the file would go into --version: refused.
        write(&dir.join(COMMIT_FILE), "a1b2c3d 2026-12-10; rm -rf /\n").unwrap();
        assert_eq!(commit(&dir).0, "commit unknown: built without git");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn in_a_checkout_the_build_names_head_and_watches_what_moves_it() {
        let dir = scratch("git");
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["commit", "-q", "--allow-empty", "-m", "first"]);
        let (commit, watched) = crate::build_script::commit(&dir);
        let hash = String::from_utf8(
            Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(&dir)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        assert_eq!(commit, format!("{} 2026-12-10", &hash[..7]));
        assert_eq!(
            watched,
            [dir.join(".git/HEAD"), dir.join(".git/refs/heads/main")]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn each_platform_has_its_own_npm_name() {
        let mut names: Vec<String> = PLATFORMS.iter().map(Platform::npm_name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PLATFORMS.len());
        assert_eq!(PLATFORMS.iter().filter(|p| p.glibc).count(), 2);
    }
}
