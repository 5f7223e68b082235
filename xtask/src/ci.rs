//! `cargo xtask ci`: the whole test suite, as CI runs it, and last the tour (which checks every
//! step it shows). Stops at the first failing step and leaves with that step's exit code.

use std::path::Path;

use crate::{Result, cargo, run_command, setup, tour};

pub fn run(root: &Path, test_args: &[String]) -> Result<()> {
    setup::run(root)?;
    check_formatting(root)?;
    lint(root)?;
    test(root, test_args)?;
    println!("$ cargo xtask tour");
    tour::run(root)?;
    println!("xtask ci: all checks passed");
    Ok(())
}

fn check_formatting(root: &Path) -> Result<()> {
    run_command(cargo(root).args(["fmt", "--all", "--", "--check"]))
}

fn lint(root: &Path) -> Result<()> {
    run_command(cargo(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

fn test(root: &Path, args: &[String]) -> Result<()> {
    run_command(cargo(root).args(["test", "--workspace"]).args(args))
}
