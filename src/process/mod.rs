//! Running external programs: always with a time limit, output captured, in their own process
//! group so that a hung program and everything it started can be ended together.
//!
//! Built on duct: an expression per program (`unchecked`, its process group set in
//! `before_spawn`), its stdout read through the expression's reader handle, which botctl polls
//! (`try_wait`) against the time limit and ends (`kill`, after the group's `killpg`). What botctl
//! adds: the cap on what it keeps of the output, the deadline and the interrupt, and stderr
//! read through a pipe of its own (see [`start`]).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::interrupt;

mod line_stream;
pub use line_stream::{LineStream, Next, stream_all_lines_in, stream_lines};

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

    /// What a failed program said: [`Output::error_line`], or the last line of stdout when
    /// stderr is empty (supervisorctl and pm2 print their errors there), cut and escaped alike.
    pub fn said(&self) -> String {
        match self.stdout.trim().lines().last() {
            Some(last) if self.stderr.trim().is_empty() => {
                crate::outside::shown(&quote(last)).into_owned()
            }
            _ => self.error_line(),
        }
    }

    /// The line of stderr worth quoting: flyctl's `Error: …`, else the last non-empty line;
    /// cut to `QUOTE_MAX` characters (a program can print megabytes on one line), and escaped:
    /// it is another program's text, and it may carry colours or a forged line.
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
            .map(|l| crate::outside::shown(&quote(l)).into_owned())
            .unwrap_or_else(|| match self.code {
                Some(c) => format!("exited with status {c} and printed no error"),
                None => "was killed by a signal".to_string(),
            })
    }
}

/// The most of another program's output botctl quotes in one message.
pub const QUOTE_MAX: usize = 500;

/// `text` masked, then cut to `QUOTE_MAX` characters, saying how much was left out.
pub fn quote(text: &str) -> String {
    crate::redact::cut(text, QUOTE_MAX, 0)
}

#[derive(Debug, Clone)]
pub enum ExecError {
    NotFound {
        program: String,
    },
    TimedOut {
        command: String,
        after: Duration,
    },
    /// It printed more than botctl keeps (`cap` bytes) and was stopped.
    TooMuch {
        command: String,
        cap: usize,
    },
    Interrupted,
    Io {
        command: String,
        message: String,
    },
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
            ExecError::TooMuch { command, cap } => write!(
                f,
                "`{command}` printed too much (over {} MiB) and was stopped",
                cap >> 20
            ),
            ExecError::Interrupted => write!(f, "interrupted"),
            ExecError::Io { command, message } => write!(f, "could not run `{command}`: {message}"),
        }
    }
}

impl std::error::Error for ExecError {}

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
    run_capped(program, args, env, &[], None, limit, OUTPUT_CAP)
}

/// [`run`] with `input` written to the program's stdin (`ssh HOST sh -s` reads its script there).
/// `hidden`: variables left out of its environment (ssh can send variables to the server).
pub fn run_with_input(
    program: &Path,
    args: &[&str],
    input: &str,
    hidden: &[String],
    limit: Duration,
) -> Result<Output, ExecError> {
    run_capped(
        program,
        args,
        &[],
        hidden,
        Some(input.as_bytes()),
        limit,
        OUTPUT_CAP,
    )
}

/// The most botctl keeps of one program's stdout (and again of its stderr): a hostile host's
/// shell or a broken flyctl can print without end.
pub const OUTPUT_CAP: usize = 16 << 20;

fn run_capped(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    hidden: &[String],
    input: Option<&[u8]>,
    limit: Duration,
    cap: usize,
) -> Result<Output, ExecError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let command = display(program, args);
    tracing::info!("run: {command}");
    let (child, stderr) = start(program, args, |mut expression| {
        for (key, value) in env {
            expression = expression.env(key, value);
        }
        for key in hidden {
            expression = expression.env_remove(key);
        }
        // duct writes the input from a thread of its own: a program that never reads its
        // stdin does not block us.
        match input {
            Some(bytes) => expression.stdin_bytes(bytes),
            None => expression.stdin_null(),
        }
    })
    .map_err(|e| spawn_error(program, &command, e))?;
    let started = Instant::now();
    let deadline = started + limit;
    let overflow = Arc::new(AtomicBool::new(false));
    let stdout = capture(child.stdout(), cap, &overflow);
    let stderr = capture(stderr, cap, &overflow);
    let stop = loop {
        match child.exited() {
            Ok(Some(_)) => break None,
            Ok(None) => {}
            Err(e) => {
                child.end();
                return Err(ExecError::Io {
                    command,
                    message: e.to_string(),
                });
            }
        }
        if interrupt::requested() {
            break Some(ExecError::Interrupted);
        }
        if overflow.load(Ordering::SeqCst) {
            break Some(ExecError::TooMuch {
                command: command.clone(),
                cap,
            });
        }
        if Instant::now() >= deadline {
            break Some(ExecError::TimedOut {
                command: command.clone(),
                after: limit,
            });
        }
        std::thread::sleep(
            Duration::from_millis(5).max(Duration::from_millis(50).min(started.elapsed() / 4)),
        );
    };
    if let Some(error) = stop {
        // Kill the whole group: flyctl may have children holding our pipes.
        child.end();
        tracing::info!(
            "stopped after {:.1}s: {command}",
            started.elapsed().as_secs_f32()
        );
        return Err(error);
    }
    let code = child.exited().ok().flatten().flatten();
    // The program is gone; a grandchild that kept our pipes open is given a moment, no more.
    let collect = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(500));
        rx.recv_timeout(wait).unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    if overflow.load(Ordering::SeqCst) {
        return Err(ExecError::TooMuch { command, cap });
    }
    tracing::debug!(
        "done in {:.2}s: {command} (status {code:?})",
        started.elapsed().as_secs_f32(),
    );
    Ok(Output {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// A program started by [`start`], held through duct's reader handle (shared with the thread
/// that reads its stdout). Ending it kills its whole process group.
struct Child {
    handle: std::sync::Arc<duct::ReaderHandle>,
}

impl Child {
    /// Its stdout, to read on another thread (reading it to its end also reaps the program).
    fn stdout(&self) -> Stdout {
        Stdout(std::sync::Arc::clone(&self.handle))
    }

    /// `Some(exit code)` once it has exited and is reaped (the code is `None` after a signal).
    fn exited(&self) -> std::io::Result<Option<Option<i32>>> {
        Ok(self.handle.try_wait()?.map(|output| output.status.code()))
    }

    /// Kills its whole process group (before reaping it, so that the group id is still ours:
    /// an exited leader stays a zombie until reaped), then reaps it.
    fn end(&self) {
        if let Some(&leader) = self.handle.pids().first() {
            let _ = nix::sys::signal::killpg(
                crate::model::Pid(leader).to_nix(),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.handle.kill();
        // Killed, it is gone at once; duct reaps what is still running when it drops the
        // handle, so this wait is bounded rather than blocking.
        let deadline = Instant::now() + Duration::from_secs(2);
        while matches!(self.handle.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A started program's stdout, read through its duct reader handle.
struct Stdout(std::sync::Arc<duct::ReaderHandle>);

impl std::io::Read for Stdout {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&*self.0).read(buf)
    }
}

/// Starts `program args…` through duct: `more` adds what this run needs (input, environment,
/// folder) to the expression; its stdout is read through the returned [`Child`], its stderr
/// through the pipe returned beside it. Every program runs in a process group of its own, its
/// exit status is botctl's to judge (`unchecked`).
///
/// Not duct's `stderr_capture`: it reads on a thread of its own without a bound, so a program
/// printing without end on stderr would fill memory before the cap could stop it; its stderr
/// goes to a pipe botctl reads with the cap.
fn start(
    program: &Path,
    args: &[&str],
    more: impl FnOnce(duct::Expression) -> duct::Expression,
) -> std::io::Result<(Child, std::io::PipeReader)> {
    let (stderr, stderr_end) = std::io::pipe()?;
    let expression = more(
        duct::cmd(program, args)
            .stderr_file(stderr_end)
            .unchecked()
            .before_spawn(|command| {
                command.process_group(0);
                Ok(())
            }),
    );
    let handle = expression.reader()?;
    // The expression holds the write end of the stderr pipe: dropped, the program holds the
    // only one, and the pipe ends when the program (and all it started) is gone.
    drop(expression);
    Ok((
        Child {
            handle: std::sync::Arc::new(handle),
        },
        stderr,
    ))
}

/// Reads a pipe to its end on a thread, keeping at most `cap` bytes; past that, raises
/// `overflow` and stops reading (the program is then killed).
fn capture(
    mut pipe: impl std::io::Read + Send + 'static,
    cap: usize,
    overflow: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let overflow = std::sync::Arc::clone(overflow);
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) if kept.len() + n > cap => {
                    overflow.store(true, std::sync::atomic::Ordering::SeqCst);
                    break;
                }
                Ok(n) => kept.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

/// Why a program could not be started, in words. ENOENT also comes from a script whose #!
/// interpreter is missing: that program is installed, it just cannot run.
fn spawn_error(program: &Path, command: &str, e: std::io::Error) -> ExecError {
    match e.kind() {
        std::io::ErrorKind::NotFound if program.exists() => ExecError::Io {
            command: command.to_string(),
            message: format!(
                "{} exists but cannot be run (is the interpreter on its #! line missing?): {e}",
                program.display()
            ),
        },
        std::io::ErrorKind::NotFound => ExecError::NotFound {
            program: program.display().to_string(),
        },
        _ => ExecError::Io {
            command: command.to_string(),
            message: e.to_string(),
        },
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

/// Why [`run_streaming`] stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The program exited (or closed its output) by itself.
    Exited,
    /// No line came within the first-line wait: the program is waiting for something.
    Silent,
    /// Lines came, then nothing for the idle gap.
    Idle,
    /// The overall time limit was reached while lines were still coming.
    Limit,
}

/// What [`run_streaming`] read.
#[derive(Debug, Clone)]
pub struct Streamed {
    pub lines: Vec<String>,
    pub end: StreamEnd,
    /// The exit status when the program exited by itself.
    pub code: Option<i32>,
    /// The stderr line worth quoting, as [`Output::error_line`] finds it.
    error: String,
}

impl Streamed {
    pub fn error_line(&self) -> String {
        self.error.clone()
    }
}

/// How long [`run_streaming`] waits for lines.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// For the first line.
    pub first_line: Duration,
    /// After a line, for the next one.
    pub idle: Duration,
    /// For everything, as `run`'s limit.
    pub limit: Duration,
}

/// Runs `program args…` and reads its stdout line by line as it comes (a [`LineStream`]), for
/// programs that print what they have and then wait for more (`flyctl logs`, which prints its
/// buffer and then streams). Stops at exit, when no first line comes within `first_line`, after `idle`
/// without a line, or at `limit`; the program's process group is killed in every case. What it
/// keeps is capped as `run`'s output is.
pub fn run_streaming(program: &Path, args: &[&str], waits: Waits) -> Result<Streamed, ExecError> {
    let command = display(program, args);
    let started = Instant::now();
    let mut stream = stream_lines(program, args)?;
    let limit_at = started + waits.limit;
    let mut lines = Vec::new();
    let mut kept = 0;
    let mut wait_until = (started + waits.first_line).min(limit_at);
    let (end, code, error) = loop {
        if interrupt::requested() {
            return Err(ExecError::Interrupted);
        }
        let now = Instant::now();
        if now >= wait_until {
            let end = match (lines.is_empty(), wait_until >= limit_at) {
                (true, false) => StreamEnd::Silent,
                (false, false) => StreamEnd::Idle,
                (_, true) => StreamEnd::Limit,
            };
            break (end, None, stream.error_line());
        }
        match stream.next(Duration::from_millis(50).min(wait_until - now)) {
            Next::Line(line) => {
                kept += line.len() + 1;
                // A dropped line means more than the cap was waiting: too much, not a gap.
                if kept > OUTPUT_CAP || stream.take_dropped() > 0 {
                    return Err(ExecError::TooMuch {
                        command,
                        cap: OUTPUT_CAP,
                    });
                }
                lines.push(line);
                wait_until = (Instant::now() + waits.idle).min(limit_at);
            }
            Next::Quiet => {}
            Next::Ended { code, error } => break (StreamEnd::Exited, code, error),
        }
    };
    tracing::debug!(
        "read {} line(s) in {:.2}s ({end:?}): {command}",
        lines.len(),
        started.elapsed().as_secs_f32()
    );
    Ok(Streamed {
        lines,
        end,
        code,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, first_line_ms: u64, idle_ms: u64, limit_ms: u64) -> (Streamed, Duration) {
        let started = Instant::now();
        let out = run_streaming(
            Path::new("/bin/sh"),
            &["-c", script],
            Waits {
                first_line: Duration::from_millis(first_line_ms),
                idle: Duration::from_millis(idle_ms),
                limit: Duration::from_millis(limit_ms),
            },
        )
        .unwrap();
        (out, started.elapsed())
    }

    #[test]
    fn streaming_ends_at_exit_silence_idle_or_limit() {
        let (out, _) = sh(
            "echo one; echo two >&2; echo three; exit 3",
            5000,
            5000,
            10000,
        );
        assert_eq!(out.end, StreamEnd::Exited);
        assert_eq!(out.lines, ["one", "three"]);
        assert_eq!(out.code, Some(3));
        assert_eq!(out.error_line(), "two", "{out:?}");

        // Prints nothing and waits for ever: given up at the first-line wait.
        let (out, took) = sh("sleep 30", 300, 5000, 10000);
        assert_eq!(out.end, StreamEnd::Silent);
        assert!(out.lines.is_empty());
        assert!(took < Duration::from_secs(3), "{took:?}");

        // Prints its buffer, then waits: given up after the idle gap.
        let (out, took) = sh("echo a; echo b; sleep 30", 2000, 300, 10000);
        assert_eq!(out.end, StreamEnd::Idle);
        assert_eq!(out.lines, ["a", "b"]);
        assert!(took < Duration::from_secs(3), "{took:?}");

        // Never stops printing: the limit holds.
        let (out, took) = sh("while :; do echo x; sleep 0.05; done", 2000, 2000, 500);
        assert_eq!(out.end, StreamEnd::Limit);
        assert!(!out.lines.is_empty());
        assert!(took < Duration::from_secs(3), "{took:?}");
    }

    #[test]
    fn output_is_capped_and_the_program_stopped() {
        let started = Instant::now();
        let e = run_capped(
            Path::new("/bin/sh"),
            &["-c", "yes AAAAAAAAAAAAAAAA"],
            &[],
            &[],
            None,
            Duration::from_secs(20),
            1 << 20,
        )
        .unwrap_err();
        assert!(matches!(e, ExecError::TooMuch { .. }), "{e:?}");
        assert!(e.to_string().contains("printed too much"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The default cap holds for the ordinary entry point too, and stderr counts.
        let e = run(
            Path::new("/bin/sh"),
            &["-c", "yes BBBBBBBBBBBBBBBB >&2"],
            Duration::from_secs(30),
        )
        .unwrap_err();
        assert!(matches!(e, ExecError::TooMuch { .. }), "{e:?}");
        // Under the cap, everything arrives, with the exit status.
        let out = run(
            Path::new("/bin/sh"),
            &["-c", "echo out; echo err >&2; exit 4"],
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str(), out.code),
            ("out\n", "err\n", Some(4))
        );
        // Input reaches stdin; a program that never reads it does not block us.
        let out = run_with_input(
            Path::new("/bin/cat"),
            &[],
            "hello",
            &[],
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.stdout, "hello");
        let e = run_with_input(
            Path::new("/bin/sleep"),
            &["30"],
            &"x".repeat(1 << 20),
            &[],
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert!(matches!(e, ExecError::TimedOut { .. }), "{e:?}");
    }

    #[test]
    fn streaming_output_is_capped() {
        let e = run_streaming(
            Path::new("/bin/sh"),
            &["-c", "yes CCCCCCCCCCCCCCCC"],
            Waits {
                first_line: Duration::from_secs(5),
                idle: Duration::from_secs(5),
                limit: Duration::from_secs(60),
            },
        )
        .unwrap_err();
        assert!(matches!(e, ExecError::TooMuch { .. }), "{e:?}");
    }

    #[test]
    fn streaming_kills_what_the_program_started() {
        // A number no other process has in its argv.
        let marker = format!("30.{}", std::process::id());
        let script = format!("sleep {marker} &\necho started\nsleep 1{marker}");
        let (out, _) = sh(&script, 2000, 200, 10000);
        assert_eq!(out.lines, ["started"]);
        // Both sleeps were in the program's process group: neither survives.
        let alive = || {
            std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
            })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive());
    }
}
