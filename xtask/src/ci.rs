//! `cargo xtask ci`: the whole test suite, as CI runs it, then what `cargo xtask dist` builds,
//! installed and run, and last the tour (which checks every step it shows). Stops at the first failing step and leaves with that step's exit code.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use test_support::cleanup;

use crate::{Error, Result, cargo, check_status, run_command, setup, shown, tour};

pub fn run(root: &Path, test_args: &[String]) -> Result<()> {
    setup::run(root)?;
    check_formatting(root)?;
    lint(root)?;
    crate::mac::lint(root)?;
    crate::mac::actionlint(root)?;
    let tally = test(root, test_args)?;
    dist(root)?;
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

/// This machine's wheel, npm packages and archive, installed offline and run (dist --check).
fn dist(root: &Path) -> Result<()> {
    println!("$ cargo xtask dist --check");
    crate::dist::run(root, &crate::dist::Args::new(None, true)?)
}

fn check_formatting(root: &Path) -> Result<()> {
    run_command(cargo(root).args(["fmt", "--all", "--", "--check"]))
}

/// Builds and tests use exactly the committed Cargo.lock: CI fails where it would resolve
/// other versions than a developer ran.
const LOCKED: &str = "--locked";

fn lint(root: &Path) -> Result<()> {
    run_command(cargo(root).args([
        "clippy",
        LOCKED,
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The sum of cargo test's `test result:` lines (one per test binary and doctest run).
#[derive(Debug, Default, PartialEq)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Tally {
    /// Adds `test result: ok. 3 passed; 0 failed; 1 ignored; …`; other lines change nothing.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let n: u64 = n.parse().unwrap_or(0);
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

/// What ci hands the test binaries (after cargo's `--`): the tests marked
/// `#[ignore = "needs root"]` run too (CI runs as root), except the one inner test that only
/// its outer test may run, inside the mount namespace the outer one sets up.
const LIBTEST_ARGS: [&str; 3] = [
    "--include-ignored",
    "--skip",
    "sources::proc::tests::inner_unreadable_cmdline_in_both_backends",
];

/// The caller's arguments split at `--`: cargo's, then libtest's.
fn split_args(args: &[String]) -> (&[String], &[String]) {
    match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    }
}

/// The build alone (`--no-run`): what cargo starts for it (rustc, build scripts, a compiler
/// cache's server) is no test's, so it runs before the suite's mark is set.
fn build_command_args(args: &[String]) -> Vec<String> {
    let mut all: Vec<String> = ["test", LOCKED, "--workspace"].map(String::from).into();
    all.extend(split_args(args).0.iter().cloned());
    all.push("--no-run".into());
    all
}

/// cargo test's arguments: the caller's (`--test it status`, maybe with its own `-- …`) with
/// [`LIBTEST_ARGS`] after the `--`.
fn test_command_args(args: &[String]) -> Vec<String> {
    let (cargo_args, libtest_args) = split_args(args);
    let mut all: Vec<String> = ["test", LOCKED, "--workspace"].map(String::from).into();
    all.extend(cargo_args.iter().cloned());
    all.push("--".into());
    all.extend(LIBTEST_ARGS.map(String::from));
    all.extend(libtest_args.iter().cloned());
    all
}

/// Runs cargo test, echoing its output, and adds up its `test result:` lines. A snapshot
/// that differs fails (INSTA_UPDATE=no: insta writes no `.snap.new` and accepts nothing). So
/// does a process the suite left running: every process it starts carries this run's mark
/// (test-support's `cleanup`), so only those are looked at, and they are ended.
fn test(root: &Path, args: &[String]) -> Result<Tally> {
    run_command(cargo(root).args(build_command_args(args)))?;
    let run = format!("ci-{}-{}", std::process::id(), now_nanos());
    let mut cmd = cargo(root);
    cmd.args(test_command_args(args))
        .env("INSTA_UPDATE", "no")
        .env(cleanup::RUN_VAR, &run)
        .stdout(Stdio::piped());
    println!("$ {}", shown(&cmd));
    let mut child = cmd.spawn().map_err(|e| Error::could_not_run(&cmd, &e))?;
    let mut tally = Tally::default();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.map_err(|e| Error::io("reading cargo test's output", e))?;
        println!("{line}");
        tally.add_line(&line);
    }
    let status = child.wait().map_err(|e| Error::could_not_run(&cmd, &e))?;
    // Looked for even when a test failed: a failure is when leftovers are likeliest.
    let left = cleanup::leftovers(&run, LEFTOVER_SETTLE);
    check_status(&cmd, status)?;
    if !left.is_empty() {
        return Err(Error::new(format!(
            "the suite left {} process(es) running (now ended):\n{}",
            left.len(),
            left.iter()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )));
    }
    Ok(tally)
}

/// How long the last tests' processes may take to exit after cargo test ends.
const LEFTOVER_SETTLE: Duration = Duration::from_secs(5);

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    use super::{Tally, build_command_args, test_command_args};

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn root_only_tests_run_and_the_inner_one_is_left_to_its_outer_test() {
        let skip = "sources::proc::tests::inner_unreadable_cmdline_in_both_backends";
        assert_eq!(
            test_command_args(&[]),
            strings(&[
                "test",
                "--locked",
                "--workspace",
                "--",
                "--include-ignored",
                "--skip",
                skip
            ])
        );
        assert_eq!(
            test_command_args(&strings(&["--test", "it", "status", "--", "--nocapture"])),
            strings(&[
                "test",
                "--locked",
                "--workspace",
                "--test",
                "it",
                "status",
                "--",
                "--include-ignored",
                "--skip",
                skip,
                "--nocapture"
            ])
        );
    }

    #[test]
    fn the_build_runs_alone_with_the_callers_cargo_arguments() {
        assert_eq!(
            build_command_args(&strings(&["--test", "it", "status", "--", "--nocapture"])),
            strings(&[
                "test",
                "--locked",
                "--workspace",
                "--test",
                "it",
                "status",
                "--no-run"
            ])
        );
    }

    fn tally(lines: &[&str]) -> Tally {
        let mut tally = Tally::default();
        for line in lines {
            tally.add_line(line);
        }
        tally
    }

    #[test]
    fn result_lines_add_up_over_binaries() {
        let t = tally(&[
            "running 84 tests",
            "test result: ok. 84 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 120.95s",
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            "test result: FAILED. 3 passed; 2 failed; 1 ignored; 0 measured; 5 filtered out; finished in 1.02s",
        ]);
        assert_eq!(
            t,
            Tally {
                passed: 87,
                failed: 2,
                ignored: 1
            }
        );
    }

    #[test]
    fn other_lines_count_nothing() {
        let t = tally(&[
            "test status::x ... ok",
            "    test result: ok. 9 passed; 0 failed",
            "test result: garbage; passed; x failed",
            "",
        ]);
        assert_eq!(t, Tally::default());
    }
}
