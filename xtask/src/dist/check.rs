//! `cargo xtask dist --check` (ci runs it): what dist built, installed as a user installs it,
//! offline, and run.
//!
//! - the wheel's tag is manylinux_2_17 and the binary needs glibc 2.17 at most (or is static),
//!   linking only libraries every Linux has;
//! - the wheel into a fresh venv (`pip install --no-index`), the two npm tarballs into a fresh
//!   prefix (`npm install -g --offline`), the archive unpacked, and `cargo build` (what
//!   `cargo install` builds): from each, `botctl --version` names this version and commit,
//!   and `botctl status` runs in a sample project; the sdist carries the commit for a build
//!   without git;
//! - the three packages carry the same binary, and `SHA256SUMS` checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use super::npm::platform_package;
use super::{Platform, dist_dir, files_in, fresh_dir, sha256_command, write};
use crate::{Error, Result, run_command, shown, target_dir};

pub fn run(root: &Path, platform: &Platform, version: &str) -> Result<()> {
    let started = Instant::now();
    let dist = dist_dir(root);
    let work = target_dir(root).join("dist-check");
    fresh_dir(&work)?;
    let names = files_in(&dist)?;

    let wheel = wheel_named(&names, platform, version)?;
    let archive = format!("botctl-{version}-{}", platform.triple);
    run_command(
        Command::new("tar")
            .arg("-xzf")
            .arg(dist.join(format!("{archive}.tar.gz")))
            .arg("-C")
            .arg(&work),
    )?;
    let from_archive = work.join(&archive).join("botctl");
    if platform.glibc {
        check_glibc(&from_archive)?;
    }

    let venv = work.join("venv");
    run_command(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_command(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--no-index"])
            .args(["--disable-pip-version-check", "--progress-bar", "off"])
            .arg(dist.join(&wheel)),
    )?;

    let prefix = work.join("npm");
    run_command(
        Command::new("npm")
            .args(["install", "--global", "--offline", "--prefix"])
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", "--loglevel=error"])
            .arg(dist.join(format!("botctl-{version}.tgz")))
            .arg(dist.join(format!("{}-{version}.tgz", platform_package(platform)))),
    )?;

    let (commit, _) = crate::build_script::commit(root);
    let expected = format!("botctl {version} ({commit})");
    if crate::build_script::is_commit_line(&commit) {
        sdist_names(&dist, version, &commit)?;
    }
    // What `cargo install --path .` builds: the same build.rs, so the same --version.
    run_command(crate::cargo(root).args(["build", "--locked", "--quiet", "--bin", "botctl"]))?;
    let sample = sample_project(&work)?;
    let installed = [
        ("the archive", from_archive.clone()),
        ("the wheel", venv.join("bin/botctl")),
        ("npm", prefix.join("bin/botctl")),
        ("cargo build", target_dir(root).join("debug/botctl")),
    ];
    for (how, program) in &installed {
        check_version(how, program, &expected)?;
        check_status(how, program, &sample)?;
    }
    let npm_binary = prefix
        .join("lib/node_modules")
        .join(platform_package(platform))
        .join("bin/botctl");
    same_binary(&from_archive, &[&venv.join("bin/botctl"), &npm_binary])?;
    run_command(
        sha256_command()
            .args(["-c", "SHA256SUMS"])
            .current_dir(&dist),
    )?;
    println!(
        "xtask dist: checked in {:.1}s: {wheel}, the npm packages and the archive install \
         offline and run; `botctl --version` is `{expected}` from each and from cargo build",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A build from the sdist, which has no .git, names the commit too: its COMMIT file.
fn sdist_names(dist: &Path, version: &str, commit: &str) -> Result<()> {
    let carried = output(
        Command::new("tar")
            .arg("-xzOf")
            .arg(dist.join(format!("botctl-{version}.tar.gz")))
            .arg(format!("botctl-{version}/COMMIT")),
    )?;
    if carried.trim() != commit {
        return Err(Error::new(format!(
            "the sdist's COMMIT says `{}`, not `{commit}`",
            carried.trim()
        )));
    }
    Ok(())
}

/// The one wheel in dist, with botctl's name, this version, and (Linux) a glibc 2.17 tag.
fn wheel_named(names: &[String], platform: &Platform, version: &str) -> Result<String> {
    let wheels: Vec<&String> = names.iter().filter(|n| n.ends_with(".whl")).collect();
    let [wheel] = wheels[..] else {
        return Err(Error::new(format!(
            "expected one wheel in target/dist, found {wheels:?}"
        )));
    };
    if platform.glibc {
        wheel_tag_problem(wheel, version, arch(platform)).map_or(Ok(()), |p| {
            Err(Error::new(format!("the wheel {wheel}: {p}")))
        })?;
    }
    Ok(wheel.clone())
}

/// The wheel tags' name for the platform's CPU.
fn arch(platform: &Platform) -> &'static str {
    platform.triple.split('-').next().unwrap_or_default()
}

/// Why this wheel name is not botctl's manylinux_2_17 wheel (None: it is).
fn wheel_tag_problem(name: &str, version: &str, arch: &str) -> Option<String> {
    let parts: Vec<&str> = name.strip_suffix(".whl")?.split('-').collect();
    let [dist_name, wheel_version, python, abi, platforms] = parts[..] else {
        return Some("not NAME-VERSION-PYTHON-ABI-PLATFORM.whl".into());
    };
    if (dist_name, wheel_version, python, abi) != ("botctl", version, "py3", "none") {
        return Some(format!(
            "expected botctl-{version}-py3-none-…, a binary for any Python"
        ));
    }
    let wanted = format!("manylinux_2_17_{arch}");
    let tags: Vec<&str> = platforms.split('.').collect();
    if !tags.contains(&wanted.as_str()) {
        return Some(format!(
            "its platform tags {tags:?} do not include {wanted}"
        ));
    }
    // Every tag must allow glibc 2.17: pip picks any one of them.
    let allowed = [format!("manylinux2014_{arch}"), wanted];
    tags.iter()
        .find(|tag| !allowed.iter().any(|a| a == *tag))
        .map(|tag| format!("its tag {tag} is not glibc 2.17"))
}

/// Libraries of every glibc Linux (the manylinux2014 set botctl may need).
const SYSTEM_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
];

/// The binary is static, or needs glibc 2.17 at most and only [`SYSTEM_LIBRARIES`].
fn check_glibc(binary: &Path) -> Result<()> {
    let dynamic = output(Command::new("readelf").arg("-d").arg(binary))?;
    if dynamic.contains("There is no dynamic section") {
        println!("xtask dist: {} is static", binary.display());
        return Ok(());
    }
    if let Some(library) = needed(&dynamic).find(|l| !SYSTEM_LIBRARIES.contains(l)) {
        return Err(Error::new(format!(
            "{} needs {library}, which not every Linux has",
            binary.display()
        )));
    }
    let symbols = output(Command::new("objdump").arg("-T").arg(binary))?;
    match newest_glibc(&symbols) {
        Some(newest) if newest <= vec![2, 17] => {
            println!(
                "xtask dist: {} needs glibc {} at most",
                binary.display(),
                dotted(&newest)
            );
            Ok(())
        }
        Some(newest) => Err(Error::new(format!(
            "{} needs glibc {}: older Linux servers (glibc 2.17) cannot run it",
            binary.display(),
            dotted(&newest)
        ))),
        None => Err(Error::new(format!(
            "objdump -T {} shows no GLIBC_ symbol version: is it a glibc binary?",
            binary.display()
        ))),
    }
}

/// The `(NEEDED) Shared library: [libc.so.6]` names of `readelf -d`.
fn needed(readelf: &str) -> impl Iterator<Item = &str> {
    readelf
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split_once('[')?.1.split_once(']').map(|(name, _)| name))
}

/// The newest `GLIBC_2.N` version `objdump -T` lists.
fn newest_glibc(objdump: &str) -> Option<Vec<u32>> {
    objdump
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| v.split('.').map(|n| n.parse().ok()).collect())
        .max()
}

fn dotted(version: &[u32]) -> String {
    version
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A folder with a botctl.toml of one bot, whose script name no other process has.
fn sample_project(work: &Path) -> Result<PathBuf> {
    let dir = work.join("sample");
    fresh_dir(&dir)?;
    write(
        &dir.join("botctl.toml"),
        "[[bot]]\nname = \"sample\"\nscript = \"sample_bot_xtask_dist.py\"\n",
    )?;
    Ok(dir)
}

fn check_version(how: &str, program: &Path, expected: &str) -> Result<()> {
    let out = output(Command::new(program).arg("--version"))?;
    if out.trim_end() != expected {
        return Err(Error::new(format!(
            "botctl from {how} says `{}`, not `{expected}`",
            out.trim_end()
        )));
    }
    Ok(())
}

fn check_status(how: &str, program: &Path, sample: &Path) -> Result<()> {
    let mut cmd = Command::new(program);
    cmd.arg("status")
        .current_dir(sample)
        .env("NO_COLOR", "1")
        .env_remove("BOTCTL_CONFIG");
    let out = output(&mut cmd)?;
    let row = out.lines().find(|l| l.starts_with("sample "));
    if !row.is_some_and(|r| r.contains("stopped")) {
        return Err(Error::new(format!(
            "botctl status from {how} shows no `sample  stopped` row:\n{out}"
        )));
    }
    Ok(())
}

/// Every package carries the very file maturin built.
fn same_binary(reference: &Path, others: &[&Path]) -> Result<()> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
    };
    let bytes = read(reference)?;
    for other in others {
        if read(other)? != bytes {
            return Err(Error::new(format!(
                "{} differs from {}: the packages must carry one binary",
                other.display(),
                reference.display()
            )));
        }
    }
    Ok(())
}

/// Runs a command (shown first) that must succeed, and returns its stdout.
fn output(cmd: &mut Command) -> Result<String> {
    println!("$ {}", shown(cmd));
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().map_err(|e| Error::could_not_run(cmd, &e))?;
    if !status.success() {
        return Err(Error::new(format!(
            "`{}` failed ({status}):\n{}{}",
            shown(cmd),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manylinux_2_17_wheel_of_this_version_passes() {
        for name in [
            "botctl-0.1.0-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
            "botctl-0.1.0-py3-none-manylinux_2_17_x86_64.whl",
        ] {
            assert_eq!(wheel_tag_problem(name, "0.1.0", "x86_64"), None, "{name}");
        }
        assert_eq!(
            wheel_tag_problem(
                "botctl-0.1.0-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl",
                "0.1.0",
                "aarch64"
            ),
            None
        );
    }

    #[test]
    fn other_wheels_are_refused_with_the_reason() {
        let problem = |name| wheel_tag_problem(name, "0.1.0", "x86_64").unwrap_or_default();
        assert!(
            problem("botctl-0.1.0-py3-none-manylinux_2_34_x86_64.whl")
                .contains("do not include manylinux_2_17_x86_64")
        );
        assert!(
            problem("botctl-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux_2_34_x86_64.whl")
                .contains("manylinux_2_34_x86_64 is not glibc 2.17")
        );
        assert!(problem("botctl-0.1.0-py3-none-linux_x86_64.whl").contains("do not include"));
        assert!(
            problem("botctl-0.2.0-py3-none-manylinux_2_17_x86_64.whl")
                .contains("expected botctl-0.1.0-py3-none-")
        );
        assert!(
            problem("botctl-0.1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
                .contains("expected botctl-0.1.0-py3-none-")
        );
        assert!(problem("botctl-0.1.0.whl").contains("NAME-VERSION"));
        assert!(
            problem("botctl-0.1.0-py3-none-manylinux_2_17_aarch64.whl").contains("do not include")
        );
    }

    #[test]
    fn the_newest_glibc_version_is_read_from_objdump() {
        let objdump = "\nbotctl:     file format elf64-x86-64\n\nDYNAMIC SYMBOL TABLE:\n\
            0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.2.5) memcpy\n\
            0000000000000000      DF *UND*\t0000000000000000  GLIBC_2.17  clock_gettime\n\
            0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.3.2) pthread_cond_wait\n\
            0000000000000000  w   D  *UND*\t0000000000000000  Base        __gmon_start__\n";
        assert_eq!(newest_glibc(objdump), Some(vec![2, 17]));
        let newer = format!("{objdump}0 DF *UND* 0 (GLIBC_2.34) __libc_start_main\n");
        assert_eq!(newest_glibc(&newer), Some(vec![2, 34]));
        assert_eq!(dotted(&newest_glibc(&newer).unwrap()), "2.34");
        assert_eq!(newest_glibc("DYNAMIC SYMBOL TABLE:\n"), None);
    }

    #[test]
    fn needed_libraries_are_read_from_readelf() {
        let readelf = "Dynamic section at offset 0x6d2b38 contains 30 entries:\n\
            \x20 Tag        Type                         Name/Value\n\
            \x200x0000000000000001 (NEEDED)             Shared library: [libm.so.6]\n\
            \x200x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n\
            \x200x000000000000000c (INIT)               0x9b000\n";
        assert_eq!(
            needed(readelf).collect::<Vec<_>>(),
            ["libm.so.6", "libc.so.6"]
        );
    }
}
