//! A program that prints lines until it is stopped (`flyctl logs` without `--no-tail`, read by
//! `botctl watch`): lines as they come, each wait bounded by the caller, the process group
//! killed on drop.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{ExecError, Output, display, kill_group, spawn_error};

/// The longest line a [`LineStream`] keeps, and the most of its stderr: a program that prints
/// megabytes without a newline costs no more than this.
const STREAM_LINE_MAX: usize = 64 * 1024;

/// A program that prints lines until it is stopped (`flyctl logs` without `--no-tail`). It has
/// no time limit of its own: its reader waits at most the `wait` of each [`LineStream::next`],
/// and dropping it kills the program's process group.
pub struct LineStream {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

/// What [`LineStream::next`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Line(String),
    /// Nothing within the wait.
    Quiet,
    /// The program closed its output: its exit status (when it came) and its error line.
    Ended {
        code: Option<i32>,
        error: String,
    },
}

/// Starts `program args…` with its stdout read line by line (see [`LineStream`]).
pub fn stream_lines(program: &Path, args: &[&str]) -> Result<LineStream, ExecError> {
    start(program, args, None, false)
}

/// [`stream_lines`] run in folder `dir`, its stderr lines given in order with stdout's (a
/// program whose whole output a person reads: `flyctl deploy` prints progress on both).
pub fn stream_all_lines_in(
    program: &Path,
    args: &[&str],
    dir: &Path,
) -> Result<LineStream, ExecError> {
    start(program, args, Some(dir), true)
}

fn start(
    program: &Path,
    args: &[&str],
    dir: Option<&Path>,
    stderr_lines: bool,
) -> Result<LineStream, ExecError> {
    let command = display(program, args);
    tracing::info!("run (stream): {command}");
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().map_err(|e| spawn_error(program, &command, e))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("piped stdout");
    let stdout_tx = tx.clone();
    std::thread::spawn(move || read_lines(stdout, |line| stdout_tx.send(line).is_ok()));
    let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    // Without stderr lines the channel ends with stdout, as it always did.
    let tx = stderr_lines.then_some(tx);
    std::thread::spawn({
        let stderr_text = std::sync::Arc::clone(&stderr_text);
        move || {
            read_lines(stderr, |line| {
                if let Ok(mut t) = stderr_text.lock() {
                    // Keep the end: flyctl's `Error: …` comes last.
                    t.extend_from_slice(line.as_bytes());
                    t.push(b'\n');
                    if t.len() > STREAM_LINE_MAX {
                        let cut = t.len() - STREAM_LINE_MAX;
                        t.drain(..cut);
                    }
                }
                tx.as_ref().is_none_or(|tx| tx.send(line).is_ok())
            })
        }
    });
    Ok(LineStream {
        child,
        lines: rx,
        stderr: stderr_text,
    })
}

/// Hands each line of `pipe` (cut at [`STREAM_LINE_MAX`]) to `each` until the pipe ends or
/// `each` says stop.
fn read_lines(pipe: impl std::io::Read, mut each: impl FnMut(String) -> bool) {
    use std::io::{BufRead, BufReader, Read};
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader
            .by_ref()
            .take(STREAM_LINE_MAX as u64)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                if !each(line.trim_end_matches(['\n', '\r']).to_string()) {
                    break;
                }
            }
        }
    }
}

impl LineStream {
    /// The next line, waiting at most `wait`.
    pub fn next(&mut self, wait: Duration) -> Next {
        use std::sync::mpsc::RecvTimeoutError;
        match self.lines.recv_timeout(wait) {
            Ok(line) => Next::Line(line),
            Err(RecvTimeoutError::Timeout) => Next::Quiet,
            Err(RecvTimeoutError::Disconnected) => {
                // Output closed: give it a moment to report its status and last words.
                let deadline = Instant::now() + Duration::from_millis(500);
                let mut code = None;
                while Instant::now() < deadline {
                    match self.child.try_wait() {
                        Ok(Some(status)) => {
                            code = status.code();
                            break;
                        }
                        Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                        Err(_) => break,
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
                let error = self.error_line_with(code);
                Next::Ended { code, error }
            }
        }
    }

    /// The stderr line worth quoting so far, as [`Output::error_line`] finds it.
    pub fn error_line(&self) -> String {
        self.error_line_with(None)
    }

    fn error_line_with(&self, code: Option<i32>) -> String {
        let stderr = self
            .stderr
            .lock()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        Output {
            code,
            stdout: String::new(),
            stderr,
        }
        .error_line()
    }
}

impl Drop for LineStream {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_streams_give_lines_then_the_end() {
        let mut s = stream_lines(
            Path::new("/bin/sh"),
            &["-c", "echo a; sleep 0.3; echo Error: gone >&2; exit 1"],
        )
        .unwrap();
        assert_eq!(s.next(Duration::from_secs(5)), Next::Line("a".into()));
        assert_eq!(s.next(Duration::from_millis(10)), Next::Quiet);
        match s.next(Duration::from_secs(5)) {
            Next::Ended { code, error } => {
                assert_eq!(code, Some(1));
                assert_eq!(error, "Error: gone");
            }
            other => panic!("{other:?}"),
        }
    }
}
