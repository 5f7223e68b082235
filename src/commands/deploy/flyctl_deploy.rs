//! `flyctl deploy` itself: run in the folder of the project's fly.toml, its output streamed
//! through as it comes (capped, escaped, tokens masked by `ui`), bounded by `[fly]
//! deploy_timeout`, with a spinner on a terminal.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::process::{self, Next, OUTPUT_CAP};
use crate::{interrupt, ui};

/// Where flyctl's lines sit under the step's name.
const PREFIX: &str = "      │ ";

/// Runs `program args…` in `dir` until it exits or `limit` passes; `Ok` only on exit 0.
pub fn run(program: &Path, args: &[String], dir: &Path, limit: Duration) -> Result<()> {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let shown = format!("flyctl {}", crate::shell::join(args));
    let mut stream = process::stream_all_lines_in(program, &argv, dir).map_err(|source| {
        Error::step(FlyctlDeployFailure::NotRun {
            shown: shown.clone(),
            source,
        })
    })?;
    let spinner = ui::Spinner::new("flyctl deploy", limit);
    let deadline = Instant::now() + limit;
    let mut printed = 0usize;
    loop {
        if interrupt::requested() {
            return Err(Error::Interrupted);
        }
        let now = Instant::now();
        if now >= deadline {
            // Dropping the stream kills flyctl's process group.
            return Err(Error::step(FlyctlDeployFailure::TimedOut { shown, limit }));
        }
        match stream.next((deadline - now).min(Duration::from_millis(200))) {
            Next::Line(line) => {
                printed += line.len() + 1;
                if printed > OUTPUT_CAP {
                    return Err(Error::step(FlyctlDeployFailure::TooMuch {
                        shown,
                        cap: OUTPUT_CAP,
                    }));
                }
                // flyctl colours its output even when piped: the colours go, the rest is
                // outside text and shown escaped.
                let text = console::strip_ansi_codes(&line).into_owned();
                spinner.suspend(|| ui::line(format!("{PREFIX}{}", ui::shown(&text))));
            }
            Next::Quiet => {}
            Next::Ended { code: Some(0), .. } => return Ok(()),
            Next::Ended { code, error } => {
                return Err(Error::step(FlyctlDeployFailure::Exited {
                    shown,
                    code,
                    error,
                }));
            }
        }
    }
}

/// Why `flyctl deploy` failed (`shown`: the command as the user would type it).
#[derive(Debug)]
enum FlyctlDeployFailure {
    NotRun {
        shown: String,
        source: process::ExecError,
    },
    TimedOut {
        shown: String,
        limit: Duration,
    },
    TooMuch {
        shown: String,
        cap: usize,
    },
    /// It ended unsuccessfully: its exit status (none when a signal killed it) and the line
    /// that says why.
    Exited {
        shown: String,
        code: Option<i32>,
        error: String,
    },
}

impl std::fmt::Display for FlyctlDeployFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlyctlDeployFailure::NotRun { shown, source } => {
                write!(f, "could not run `{shown}`: {source}")
            }
            FlyctlDeployFailure::TimedOut { shown, limit } => write!(
                f,
                "`{shown}` did not finish within {} and was stopped; raise [fly] \
deploy_timeout in botctl.toml if a build takes longer",
                crate::time::span(*limit)
            ),
            FlyctlDeployFailure::TooMuch { shown, cap } => write!(
                f,
                "`{shown}` printed too much (over {} MiB) and was stopped",
                cap >> 20
            ),
            FlyctlDeployFailure::Exited { shown, code, error } => match code {
                Some(c) => write!(f, "`{shown}` exited with status {c}: {error}"),
                None => write!(f, "`{shown}` was killed by a signal: {error}"),
            },
        }
    }
}

impl std::error::Error for FlyctlDeployFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FlyctlDeployFailure::NotRun { source, .. } => Some(source),
            _ => None,
        }
    }
}
