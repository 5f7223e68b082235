//! `cargo xtask`: botctl's development tasks, written in Rust rather than shell
//! (in the style of rust-analyzer's xtask).
//!
//! - `setup`: the Python venv and system tools the tests need (idempotent, fast when done).
//! - `ci`: what CI runs: setup, fmt, clippy (also for the Apple targets), actionlint, tests,
//!   dist --check.
//! - `dist`: the wheel, npm packages and archive for users without Rust, in `target/dist/`.
//! - `man`: man pages from botctl's clap definition.
//! - `bench`: the Speed figures of docs/contract.md, measured side by side (`--write`: BENCHMARKS.md).
//! - `tour`: every rule of the 409 checklist, happening on the test doubles (`doubles`).

mod bench;
// build.rs's commit lookup, also run here: dist writes it into the sdist and checks that
// every package's `--version` shows it.
#[allow(dead_code)]
#[path = "../../build.rs"]
mod build_script;
mod ci;
mod dist;
mod doubles;
mod mac;
mod man;
mod setup;
mod tour;

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use clap::{CommandFactory, Parser, Subcommand};

/// botctl's development tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Option<Task>,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what the tests need
    ///
    /// .venv with tests/fakes/requirements.txt and packaging/requirements.txt (maturin, ziglang for dist), and check python3 and setpriv
    /// (installs them as root with apt-get)
    Setup,
    /// What CI runs
    ///
    /// Setup, cargo fmt --check, cargo clippy -D warnings (also for aarch64- and
    /// x86_64-apple-darwin), actionlint on .github/workflows, cargo test --workspace
    /// TEST_ARGS..., dist --check, then the tour; builds with --locked
    Ci {
        /// Passed to cargo test, after `--`
        #[arg(last = true, value_name = "TEST_ARGS")]
        test_args: Vec<String>,
    },
    /// Build the packages into target/dist
    ///
    /// The wheel (maturin; on Linux with zig for glibc 2.17), the npm
    /// packages botctl and botctl-OS-CPU, a .tar.gz, the sdist and SHA256SUMS
    Dist {
        /// This machine's target, or another it can build for
        #[arg(long, value_name = "TRIPLE", value_parser = dist::released_platform)]
        target: Option<&'static dist::Platform>,
        /// Then install them offline (venv, npm prefix) and run them
        #[arg(long)]
        check: bool,
    },
    /// Write botctl.1 and one page per subcommand
    Man {
        /// Where to write them (relative to the working folder) [default: target/man]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Build botctl in release and measure the Speed goals of docs/contract.md
    Bench {
        /// Only the benchmarks whose name contains one of these
        #[arg(value_name = "NAME")]
        only: Vec<String>,
        /// Write BENCHMARKS.md from this run (every benchmark: no NAME)
        #[arg(long, conflicts_with = "only")]
        write: bool,
    },
    /// See every rule of the 409 checklist happen, with no Fly.io or Telegram account
    ///
    /// A fake Fly.io machine runs a real python-telegram-bot poller, and status, doctor --probe,
    /// dev-stop, dev-start and deploy-resume run against it, each shown with its output and
    /// checked
    Tour,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = dispatch(cli) {
        eprintln!("xtask: error: {e}");
        std::process::exit(e.code);
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let root = project_root();
    let Some(task) = cli.task else {
        Cli::command()
            .print_help()
            .map_err(|e| Error::io("cannot print the help", e))?;
        return Ok(());
    };
    match task {
        Task::Setup => setup::run(&root),
        Task::Ci { test_args } => ci::run(&root, &test_args),
        Task::Man { out } => {
            let out = match out {
                Some(dir) => from_working_folder(&dir)?,
                None => root.join("target/man"),
            };
            man::run(&root, out)
        }
        Task::Dist { target, check } => dist::run(&root, &dist::Args::new(target, check)?),
        Task::Bench { only, write } => bench::run(&root, &only, write),
        Task::Tour => tour::run(&root),
    }
}

fn from_working_folder(dir: &Path) -> Result<PathBuf> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working folder", e))?;
    Ok(cwd.join(dir))
}

/// The workspace root: xtask lives in `<root>/xtask`.
fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo as it ran us (`$CARGO`), so the same toolchain runs every step.
fn cargo(root: &Path) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(root);
    cmd
}

/// Where cargo puts build output: `$CARGO_TARGET_DIR`, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir), // an absolute dir replaces root
        None => root.join("target"),
    }
}

/// Prints the command, runs it with inherited output, and fails with its exit code.
fn run_command(cmd: &mut Command) -> Result<()> {
    println!("$ {}", shown(cmd));
    let status = cmd.status().map_err(|e| Error::could_not_run(cmd, &e))?;
    check_status(cmd, status)
}

/// Prints the command and tells whether it ran and exited 0 (output hidden).
fn succeeds(cmd: &mut Command) -> bool {
    println!("$ {}", shown(cmd));
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn check_status(cmd: &Command, status: ExitStatus) -> Result<()> {
    if status.success() {
        return Ok(());
    }
    let code = status.code().unwrap_or(1);
    Err(Error {
        message: format!("`{}` failed ({status})", shown(cmd)),
        code,
    })
}

/// A command as a person would type it (environment set on it shown first).
fn shown(cmd: &Command) -> String {
    let env = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), quoted(v))));
    let program = std::iter::once(quoted(cmd.get_program()));
    let args = cmd.get_args().map(quoted);
    env.chain(program).chain(args).collect::<Vec<_>>().join(" ")
}

fn quoted(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `name` looked up on PATH, as a shell would.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file() && is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A failure: a sentence for the person, and the exit code to leave with.
#[derive(Debug)]
pub struct Error {
    message: String,
    code: i32,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            code: 1,
        }
    }

    fn usage(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            code: 2,
        }
    }

    fn could_not_run(cmd: &Command, e: &std::io::Error) -> Error {
        let program = cmd.get_program().to_string_lossy();
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(format!(
                "cannot run `{program}`: it is not installed or not on PATH"
            ))
        } else {
            Error::new(format!("cannot run `{}`: {e}", shown(cmd)))
        }
    }

    fn io(what: impl fmt::Display, e: std::io::Error) -> Error {
        Error::new(format!("{what}: {e}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use clap::{CommandFactory, Parser};

    use super::*;

    fn parse(args: &[&str]) -> Result<Task, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied()))?;
        Ok(cli.task.expect("a task"))
    }

    #[test]
    fn the_tasks_are_declared_once_and_consistently() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ci_passes_what_follows_dashes_to_cargo_test() {
        assert!(matches!(parse(&["ci"]).unwrap(), Task::Ci { test_args } if test_args.is_empty()));
        let Task::Ci { test_args } = parse(&["ci", "--", "--test", "it", "status"]).unwrap() else {
            panic!("not ci");
        };
        assert_eq!(test_args, ["--test", "it", "status"]);
        let e = parse(&["ci", "--test", "it"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn man_writes_to_target_man_or_to_out() {
        assert!(matches!(parse(&["man"]).unwrap(), Task::Man { out: None }));
        for args in [&["man", "--out", "pages"][..], &["man", "--out=pages"]] {
            let Task::Man { out } = parse(args).unwrap() else {
                panic!("not man");
            };
            assert_eq!(out, Some(PathBuf::from("pages")));
        }
        for bad in [
            &["man", "--out"][..],
            &["man", "pages"],
            &["man", "--outdir", "a"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn dist_takes_a_released_target() {
        let Task::Dist { target, check } =
            parse(&["dist", "--target", "aarch64-apple-darwin", "--check"]).unwrap()
        else {
            panic!("not dist");
        };
        assert_eq!(target.map(|p| p.npm_name()), Some("darwin-arm64".into()));
        assert!(check);
        for bad in [
            &["dist", "--target", "x86_64-pc-windows-msvc"][..],
            &["dist", "--target"],
            &["dist", "--fast"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn bench_writes_only_a_whole_run() {
        assert!(matches!(
            parse(&["bench", "--write"]).unwrap(),
            Task::Bench { write: true, .. }
        ));
        let Task::Bench { only, write } = parse(&["bench", "watch", "exec"]).unwrap() else {
            panic!("not bench");
        };
        assert_eq!(only, ["watch", "exec"]);
        assert!(!write);
        assert_eq!(
            parse(&["bench", "watch", "--write"])
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn tasks_without_arguments_refuse_one() {
        assert_eq!(parse(&["tour", "--fast"]).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&["setup", "x"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn unknown_task_is_a_usage_error() {
        assert_eq!(parse(&["deploy"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn commands_are_shown_as_typed() {
        let mut cmd = Command::new("cargo");
        cmd.args(["test", "--workspace", "it's here", ""])
            .env("NO_COLOR", "1");
        assert_eq!(
            shown(&cmd),
            "NO_COLOR=1 cargo test --workspace 'it'\\''s here' ''"
        );
    }
}
