//! A program that prints lines until it is stopped (`flyctl logs` without `--no-tail`, read by
//! `botctl watch`): lines as they come, each wait bounded by the caller, the process group
//! killed on drop.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Child, ExecError, Output, display, spawn_error, start as start_program};

/// The longest line a [`LineStream`] keeps, and the most of its stderr: a program that prints
/// megabytes without a newline costs no more than this.
const STREAM_LINE_MAX: usize = 64 * 1024;
/// How far past the cut a line is read, so that a secret lying across the cut is masked whole
/// before the line is cut (a webhook secret is at most 256 characters, a token under 100).
const MASK_MARGIN: usize = 1024;

/// The most bytes of lines read but not yet taken: a program that prints faster than its
/// caller reads costs no more than this. Lines past it are dropped and counted
/// ([`LineStream::take_dropped`]). As much as `run` keeps, so a caller that keeps everything
/// fails with "too much" before a line could be dropped unseen.
const QUEUE_BYTES: usize = super::OUTPUT_CAP;

/// A program that prints lines until it is stopped (`flyctl logs` without `--no-tail`). It has
/// no time limit of its own: its reader waits at most the `wait` of each [`LineStream::next`],
/// and dropping it kills the program's process group.
pub struct LineStream {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    queue: std::sync::Arc<Queue>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

/// What the reader thread has queued and dropped, shared with the stream.
#[derive(Default)]
struct Queue {
    bytes: AtomicUsize,
    dropped: AtomicU64,
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
    use std::io::Read;
    let command = display(program, args);
    tracing::info!("run (stream): {command}");
    let (child, mut stderr) = start_program(program, args, |expression| match dir {
        Some(dir) => expression.stdin_null().dir(dir),
        None => expression.stdin_null(),
    })
    .map_err(|e| spawn_error(program, &command, e))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let queue = std::sync::Arc::new(Queue::default());
    let stdout = child.stdout();
    let stdout_send = sender(&queue, tx.clone());
    std::thread::spawn(move || read_lines(stdout, stdout_send));
    let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = {
        let stderr_text = std::sync::Arc::clone(&stderr_text);
        move |bytes: &[u8]| {
            if let Ok(mut t) = stderr_text.lock() {
                // Keep the end: flyctl's `Error: …` comes last. Whole lines only: a line
                // cut at its start could hold the tail of a secret whose head is gone,
                // which nothing could mask.
                t.extend_from_slice(bytes);
                if t.len() > STREAM_LINE_MAX {
                    let cut = t.len() - STREAM_LINE_MAX;
                    let cut = t[cut..]
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(t.len(), |i| cut + i + 1);
                    t.drain(..cut);
                }
            }
        }
    };
    if stderr_lines {
        let mut send = sender(&queue, tx);
        std::thread::spawn(move || {
            read_lines(stderr, |line| {
                keep(format!("{line}\n").as_bytes());
                send(line)
            })
        });
    } else {
        // Without stderr lines the channel ends with stdout, as it always did.
        drop(tx);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                keep(&chunk[..n]);
            }
        });
    }
    Ok(LineStream {
        child,
        lines: rx,
        queue,
        stderr: stderr_text,
    })
}

/// Queues a line for the stream's reader; false once the reader is gone.
fn sender(
    queue: &std::sync::Arc<Queue>,
    tx: std::sync::mpsc::Sender<String>,
) -> impl FnMut(String) -> bool + Send + 'static {
    let queued = std::sync::Arc::clone(queue);
    move |line: String| {
        // Bounded by bytes, whatever the lines' length: the reader never waits (a stalled
        // program would stall the caller's other work), it drops.
        if queued.bytes.load(Ordering::SeqCst) + line.len() > QUEUE_BYTES {
            queued.dropped.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        queued.bytes.fetch_add(line.len(), Ordering::SeqCst);
        tx.send(line).is_ok()
    }
}

/// Hands each line of `pipe` to `each` until the pipe ends or `each` says stop.
fn read_lines(pipe: impl std::io::Read, mut each: impl FnMut(String) -> bool) {
    use std::io::{BufRead, BufReader, Read};
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader
            .by_ref()
            .take((STREAM_LINE_MAX + MASK_MARGIN) as u64)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                // An overlong line stays one line: its rest is skipped, never sent as
                // lines of its own (which would split what lies across the cut).
                let skipped = if buf.ends_with(b"\n") {
                    0
                } else {
                    skip_line(&mut reader)
                };
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim_end_matches(['\n', '\r']);
                if !each(crate::redact::cut(line, STREAM_LINE_MAX, skipped)) {
                    break;
                }
            }
        }
    }
}

/// Reads past the end of the current line; returns how many bytes were skipped.
fn skip_line(reader: &mut impl std::io::BufRead) -> usize {
    let mut skipped = 0;
    loop {
        let (n, end) = match reader.fill_buf() {
            Ok([]) | Err(_) => return skipped,
            Ok(chunk) => match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            },
        };
        reader.consume(n);
        skipped += n;
        if end {
            return skipped - 1;
        }
    }
}

impl LineStream {
    /// The next line, waiting at most `wait`.
    pub fn next(&mut self, wait: Duration) -> Next {
        use std::sync::mpsc::RecvTimeoutError;
        match self.lines.recv_timeout(wait) {
            Ok(line) => {
                self.queue.bytes.fetch_sub(line.len(), Ordering::SeqCst);
                Next::Line(line)
            }
            Err(RecvTimeoutError::Timeout) => Next::Quiet,
            Err(RecvTimeoutError::Disconnected) => {
                // Output closed: give it a moment to report its status and last words.
                let deadline = Instant::now() + Duration::from_millis(500);
                let mut code = None;
                while Instant::now() < deadline {
                    match self.child.exited() {
                        Ok(Some(exit)) => {
                            code = exit;
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

    /// How many lines were dropped since the last call, because the caller read slower than
    /// the program printed (the queue holds at most [`QUEUE_BYTES`]).
    pub fn take_dropped(&self) -> u64 {
        self.queue.dropped.swap(0, Ordering::SeqCst)
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
        self.child.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line longer than the cut stays one line, masked whole before it is cut: a token
    /// lying across the cut never comes out in two unmasked halves.
    #[test]
    fn an_overlong_line_is_masked_whole_then_cut() {
        let token = format!("7012345670:{}", "AAHstreamCutSecretHalf_-0123456789abcd");
        crate::redact::register(&token);
        let pad = STREAM_LINE_MAX - 20;
        let script = format!(
            "head -c {pad} /dev/zero | tr '\\0' x; printf '%s' '{token}'; \
head -c 200000 /dev/zero | tr '\\0' y; echo; echo next"
        );
        let mut s = stream_lines(Path::new("/bin/sh"), &["-c", &script]).unwrap();
        let Next::Line(first) = s.next(Duration::from_secs(10)) else {
            panic!("no line");
        };
        assert!(first.contains("<token>"), "{}", &first[first.len() - 200..]);
        assert!(!first.contains("AAHstream"));
        assert!(
            first.ends_with(" more bytes)"),
            "{}",
            &first[first.len() - 80..]
        );
        assert_eq!(s.next(Duration::from_secs(10)), Next::Line("next".into()));
    }

    /// stderr keeps its last 64 KiB in whole lines: a line whose start was dropped (with the
    /// head of a secret in it) is dropped whole, never quoted.
    #[test]
    fn stderr_keeps_whole_lines_only() {
        let token = format!("7012345671:{}", "AAHstderrCutSecretHalf_-0123456789abcd");
        crate::redact::register(&token);
        let script = format!(
            "printf '%s' '{token}' >&2; head -c {} /dev/zero | tr '\\0' y >&2; exit 1",
            STREAM_LINE_MAX - 10
        );
        let mut s = stream_lines(Path::new("/bin/sh"), &["-c", &script]).unwrap();
        match s.next(Duration::from_secs(10)) {
            Next::Ended { error, .. } => {
                assert!(
                    !error.contains("456789abcd"),
                    "{}",
                    &error[..100.min(error.len())]
                );
            }
            other => panic!("{other:?}"),
        }
    }

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

    #[test]
    fn a_program_faster_than_its_reader_costs_the_queue_and_drops_are_counted() {
        // 64 MiB of lines, four times the queue, before the first is taken.
        let mut s = stream_lines(
            Path::new("/bin/sh"),
            &[
                "-c",
                "yes \"$(printf %01023d 0)\" | head -n 65536; echo end",
            ],
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while s.queue.dropped.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(s.queue.bytes.load(Ordering::SeqCst) <= QUEUE_BYTES);
        let mut taken = 0u64;
        let dropped = loop {
            match s.next(Duration::from_secs(10)) {
                Next::Line(l) if l == "end" => break s.take_dropped(),
                Next::Line(_) => taken += 1,
                other => panic!("{other:?}"),
            }
        };
        assert!(dropped > 0, "nothing dropped");
        assert_eq!(taken + dropped, 65536, "every line taken or counted");
        assert_eq!(s.take_dropped(), 0, "counted once");
    }
}
