//! The Mac build, proven from Linux, and the workflow that tests on real Macs.
//!
//! - `clippy --target aarch64-apple-darwin` and `x86_64-apple-darwin`: every cfg(not linux)
//!   path type-checks and lints. ring's build script compiles C with cc-rs, and no Apple
//!   toolchain is here: that one step gets `xtask/cc-check-only` as its C compiler and
//!   archiver (a stand-in that only answers cc-rs' questions and writes empty outputs), in its
//!   own environment only — never in .cargo/config.toml, so no real build ever uses it.
//! - actionlint (PyPI, pinned in tests/fakes/requirements.txt, in .venv) checks
//!   `.github/workflows/`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::{Error, Result, cargo, run_command};

/// The Apple targets CI type-checks; `cargo xtask setup` installs them with rustup.
pub const TARGETS: &[&str] = &["aarch64-apple-darwin", "x86_64-apple-darwin"];

/// `cargo clippy … --target A --target B -- -D warnings` for the Apple targets, timed: one
/// cargo run, so the host's build scripts and proc macros are built once for both.
pub fn lint(root: &Path) -> Result<()> {
    let stand_in = root.join("xtask").join("cc-check-only");
    let started = Instant::now();
    let mut cmd = cargo(root);
    cmd.args(["clippy", "--locked", "--workspace", "--all-targets"]);
    for target in TARGETS {
        let var = target.replace('-', "_");
        cmd.args(["--target", target])
            .env(format!("CC_{var}"), &stand_in)
            .env(format!("AR_{var}"), &stand_in);
    }
    cmd.args(["--", "-D", "warnings"]);
    run_command(&mut cmd)?;
    println!(
        "xtask ci: clippy for {} took {:.1}s",
        TARGETS.join(" and "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Installs the Apple targets when rustup is there and they are not (a no-op when they are).
pub fn ensure_targets() -> Result<()> {
    let Some(rustup) = crate::find_program("rustup") else {
        println!(
            "xtask setup: no rustup: the Apple targets are not installed (clippy for them will fail)"
        );
        return Ok(());
    };
    let installed = Command::new(&rustup)
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| Error::io("running rustup target list", e))?;
    let installed = String::from_utf8_lossy(&installed.stdout);
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run_command(Command::new(&rustup).args(["target", "add"]).args(&missing))
}

/// actionlint over every workflow, timed.
pub fn actionlint(root: &Path) -> Result<()> {
    let started = Instant::now();
    let program = root.join(".venv").join("bin").join("actionlint");
    if !program.is_file() {
        return Err(Error::new(format!(
            "{} is missing: run cargo xtask setup",
            program.display()
        )));
    }
    let workflows = root.join(".github").join("workflows");
    let mut files: Vec<_> = std::fs::read_dir(&workflows)
        .map_err(|e| Error::io(format!("cannot read {}", workflows.display()), e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    // shellcheck and pyflakes are optional add-ons of actionlint: off, so the result does not
    // depend on what else is installed.
    run_command(
        Command::new(&program)
            .args(["-shellcheck=", "-pyflakes="])
            .args(&files)
            .current_dir(root),
    )?;
    println!(
        "xtask ci: actionlint took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
