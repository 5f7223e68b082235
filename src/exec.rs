//! Running external programs: always with a time limit, output captured, in their own process
//! group so that a hung program and everything it started can be ended together.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::interrupt;

#[derive(Debug, Clone)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The line of stderr worth quoting: flyctl's `Error: …`, else the last non-empty line.
    pub fn error_line(&self) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        lines
            .iter()
            .rev()
            .find(|l| l.starts_with("Error"))
            .or(lines.last())
            .map(|l| l.to_string())
            .unwrap_or_else(|| match self.code {
                Some(c) => format!("exited with status {c} and printed no error"),
                None => "was killed by a signal".to_string(),
            })
    }
}

#[derive(Debug, Clone)]
pub enum ExecError {
    NotFound { program: String },
    TimedOut { command: String, after: Duration },
    Interrupted,
    Io { command: String, message: String },
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::NotFound { program } => {
                write!(f, "{program} is not installed (not on PATH)")
            }
            ExecError::TimedOut { command, after } => write!(
                f,
                "`{command}` did not finish within {}s and was stopped",
                after.as_secs_f32().round()
            ),
            ExecError::Interrupted => write!(f, "interrupted"),
            ExecError::Io { command, message } => write!(f, "could not run `{command}`: {message}"),
        }
    }
}

/// Resolves a program name the way a shell would; `None` when it is not installed.
pub fn find_program(name: &str, root: &Path) -> Option<PathBuf> {
    if name.contains('/') {
        let path = root.join(name);
        return path.is_file().then_some(path);
    }
    which::which(name).ok()
}

/// Runs `program args…`, waiting at most `limit`. A non-zero exit is not an error here: the caller
/// reads `Output`; errors are only "could not run" and "did not finish".
pub fn run(program: &Path, args: &[&str], limit: Duration) -> Result<Output, ExecError> {
    run_with_env(program, args, &[], limit)
}

/// [`run`] with these variables added to the environment (pm2's `PM2_HOME`).
pub fn run_with_env(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> Result<Output, ExecError> {
    let command = display(program, args);
    tracing::info!("run: {command}");
    let mut expr = duct::cmd(program, args);
    for (key, value) in env {
        expr = expr.env(key, value);
    }
    let expr = expr
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .before_spawn(|c| {
            c.process_group(0);
            Ok(())
        });
    let handle = expr.start().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ExecError::NotFound {
                program: program.display().to_string(),
            }
        } else {
            ExecError::Io {
                command: command.clone(),
                message: e.to_string(),
            }
        }
    })?;
    let started = Instant::now();
    let deadline = started + limit;
    loop {
        let slice =
            Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now()));
        match handle.wait_timeout(slice) {
            Ok(Some(out)) => {
                tracing::debug!(
                    "done in {:.2}s: {command} (status {:?})",
                    started.elapsed().as_secs_f32(),
                    out.status.code()
                );
                return Ok(Output {
                    code: out.status.code(),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                });
            }
            Ok(None) => {}
            Err(e) => {
                return Err(ExecError::Io {
                    command,
                    message: e.to_string(),
                });
            }
        }
        let interrupted = interrupt::requested();
        if interrupted || Instant::now() >= deadline {
            // Kill the whole group: flyctl may have children holding our pipes.
            for pid in handle.pids() {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = handle.kill();
            tracing::info!(
                "stopped after {:.1}s: {command}",
                started.elapsed().as_secs_f32()
            );
            return Err(if interrupted {
                ExecError::Interrupted
            } else {
                ExecError::TimedOut {
                    command,
                    after: limit,
                }
            });
        }
    }
}

fn display(program: &Path, args: &[&str]) -> String {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.display().to_string());
    std::iter::once(name)
        .chain(args.iter().map(|a| {
            if a.contains(' ') {
                format!("{a:?}")
            } else {
                a.to_string()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}
