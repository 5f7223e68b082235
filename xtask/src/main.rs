//! `cargo xtask`: botctl's development tasks, written in Rust rather than shell
//! (in the style of rust-analyzer's xtask).
//!
//! - `setup`: the Python venv and system tools the tests need (idempotent, fast when done).
//! - `ci`: what CI runs: setup, fmt, clippy (also for the Apple targets), actionlint, tests,
//!   dist --check.
//! - `dist`: the wheel, npm packages and archive for users without Rust, in `target/dist/`.
//! - `man`: man pages from botctl's clap definition.
//! - `bench`: the SPEC's Speed figures, measured side by side.
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

const HELP: &str = "\
cargo xtask <task>

Tasks:
  setup              install what the tests need: .venv with tests/fakes/requirements.txt
                     and packaging/requirements.txt (maturin, ziglang for dist), and check
                     python3 and setpriv (installs them as root with apt-get)
  ci [-- ARGS...]    what CI runs: setup, cargo fmt --check, cargo clippy -D warnings (also
                     for aarch64- and x86_64-apple-darwin), actionlint on .github/workflows,
                     cargo test --workspace ARGS..., dist --check, then the tour; builds
                     with --locked
  dist [--target TRIPLE] [--check]
                     build into target/dist: the wheel (maturin; on Linux with zig for glibc
                     2.17), the npm packages botctl and botctl-OS-CPU, a .tar.gz, the sdist
                     and SHA256SUMS. --check installs them offline (venv, npm prefix) and
                     runs them. TRIPLE: this machine's, or another it can build for
  man [--out DIR]    write botctl.1 and one page per subcommand into DIR (default target/man)
  bench [NAME...]    build botctl in release and measure the SPEC's Speed goals (only the
                     benchmarks whose name contains a NAME, when given)
  tour               see every rule of the 409 checklist happen, with no Fly.io or Telegram
                     account: a fake Fly.io machine runs a real python-telegram-bot poller,
                     and status, doctor --probe, dev-stop, dev-start and deploy-resume run
                     against it, each shown with its output and checked
  help               this text
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = dispatch(&args) {
        eprintln!("xtask: error: {e}");
        std::process::exit(e.code);
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let root = project_root();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    match task {
        "setup" => {
            no_arguments(task, rest)?;
            setup::run(&root)
        }
        "ci" => ci::run(&root, ci_test_args(rest)?),
        "man" => man::run(&root, man_out_dir(&root, rest)?),
        "dist" => dist::run(&root, &dist::parse_args(rest)?),
        "bench" => bench::run(&root, rest),
        "tour" => {
            no_arguments(task, rest)?;
            tour::run(&root)
        }
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(Error::usage(format!("unknown task `{other}`\n\n{HELP}"))),
    }
}

fn no_arguments(task: &str, rest: &[String]) -> Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(Error::usage(format!(
            "`{task}` takes no arguments, got `{arg}`"
        ))),
    }
}

/// `ci -- ARGS...`: everything after `--` goes to `cargo test`.
fn ci_test_args(rest: &[String]) -> Result<&[String]> {
    match rest.split_first() {
        None => Ok(&[]),
        Some((dashes, args)) if dashes == "--" => Ok(args),
        Some((arg, _)) => Err(Error::usage(format!(
            "`ci` passes arguments to cargo test after `--`: cargo xtask ci -- {arg}"
        ))),
    }
}

/// `man [--out DIR]`; DIR is relative to the working folder, the default to the workspace.
fn man_out_dir(root: &Path, rest: &[String]) -> Result<PathBuf> {
    match rest {
        [] => Ok(root.join("target/man")),
        [flag, dir] if flag == "--out" => from_working_folder(dir),
        [flag] if flag.starts_with("--out=") => from_working_folder(&flag["--out=".len()..]),
        _ => Err(Error::usage(format!(
            "usage: cargo xtask man [--out DIR], got {rest:?}"
        ))),
    }
}

fn from_working_folder(dir: &str) -> Result<PathBuf> {
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
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ci_passes_what_follows_dashes_to_cargo_test() {
        assert!(ci_test_args(&[]).unwrap().is_empty());
        assert_eq!(
            ci_test_args(&args(&["--", "--test", "it", "status"])).unwrap(),
            args(&["--test", "it", "status"])
        );
        assert!(ci_test_args(&args(&["--"])).unwrap().is_empty());
        let e = ci_test_args(&args(&["--test", "it"])).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("cargo xtask ci -- --test"), "{e}");
    }

    #[test]
    fn man_writes_to_target_man_or_to_out() {
        let root = Path::new("/repo");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            man_out_dir(root, &[]).unwrap(),
            PathBuf::from("/repo/target/man")
        );
        assert_eq!(
            man_out_dir(root, &args(&["--out", "pages"])).unwrap(),
            cwd.join("pages")
        );
        assert_eq!(
            man_out_dir(root, &args(&["--out=/abs/pages"])).unwrap(),
            PathBuf::from("/abs/pages")
        );
        for bad in [
            &["--out"][..],
            &["pages"],
            &["--out", "a", "b"],
            &["--outdir", "a"],
        ] {
            let e = man_out_dir(root, &args(bad)).unwrap_err();
            assert_eq!(e.code, 2, "{bad:?}");
            assert!(e.message.starts_with("usage: cargo xtask man"), "{e}");
        }
    }

    #[test]
    fn tasks_without_arguments_refuse_one() {
        assert!(no_arguments("tour", &[]).is_ok());
        let e = no_arguments("tour", &args(&["--fast"])).unwrap_err();
        assert_eq!(e.code, 2);
        assert_eq!(e.message, "`tour` takes no arguments, got `--fast`");
    }

    #[test]
    fn unknown_task_is_a_usage_error() {
        let e = dispatch(&args(&["deploy"])).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.starts_with("unknown task `deploy`"), "{e}");
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
