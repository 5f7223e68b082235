//! `cargo xtask ci`: the whole test suite, as CI runs it, and last the tour (which checks every
//! step it shows). Stops at the first failing step and leaves with that step's exit code.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::{Error, Result, cargo, check_status, run_command, setup, shown, tour};

pub fn run(root: &Path, test_args: &[String]) -> Result<()> {
    setup::run(root)?;
    check_formatting(root)?;
    lint(root)?;
    let tally = test(root, test_args)?;
    println!("$ cargo xtask tour");
    tour::run(root)?;
    println!("xtask ci: all checks passed");
    // One closing line for the whole suite: cargo test's own last line is the (empty) summary
    // of whichever crate ran last.
    println!(
        "tests: {} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.ignored
    );
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

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Runs cargo test, echoing its output, and adds up its `test result:` lines.
fn test(root: &Path, args: &[String]) -> Result<Tally> {
    let mut cmd = cargo(root);
    cmd.args(["test", "--workspace"])
        .args(args)
        .stdout(Stdio::piped());
    println!("$ {}", shown(&cmd));
    let mut child = cmd.spawn().map_err(|e| Error::could_not_run(&cmd, &e))?;
    let mut tally = Tally::default();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.map_err(|e| Error::io("reading cargo test's output", e))?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(what), Some(n)) = (words.next(), words.next()) else {
                    continue;
                };
                let n: u64 = n.parse().unwrap_or(0);
                match what {
                    "passed" => tally.passed += n,
                    "failed" => tally.failed += n,
                    "ignored" => tally.ignored += n,
                    _ => {}
                }
            }
        }
    }
    let status = child.wait().map_err(|e| Error::could_not_run(&cmd, &e))?;
    check_status(&cmd, status)?;
    Ok(tally)
}
