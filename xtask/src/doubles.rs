//! The test doubles that `bench` and `tour` drive, and the guards that clean them up:
//!
//! - [`FakeBotApi`]: tests/fakes/botapi.py on a free port, with its control API.
//! - [`Poller`]: a real python-telegram-bot poller (tests/fakes/ptb_bot.py), ready once it
//!   prints [`READY_LINE`].
//! - [`TempDir`] and [`Reaper`]: a scratch folder and child processes, removed and killed when
//!   dropped, however the task ends.
//! - Ctrl-C: [`catch_interrupt`] turns SIGINT into [`interrupted`], which every wait here checks,
//!   so a task that is interrupted still drops its guards.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Error, Result, run_command, shown};

/// What ptb_bot.py prints once connected (and the `ready_log` of the fake Fly app).
pub const READY_LINE: &str = "Бот успешно подключен";

/// How long a poller may take to print its ready line.
const POLLER_READY_LIMIT: Duration = Duration::from_secs(60);
/// How long the fake Bot API may take to start, and a poller to start or stop polling.
const API_LIMIT: Duration = Duration::from_secs(15);
const TICK: Duration = Duration::from_millis(50);

/// tests/fakes/NAME in the workspace.
pub fn fake(root: &Path, name: &str) -> PathBuf {
    root.join("tests/fakes").join(name)
}

// ------------------------------------------------------------------------ the fake Bot API

/// tests/fakes/botapi.py, knowing one token; killed when dropped.
pub struct FakeBotApi {
    port: u16,
    pub url: String,
    token: String,
    _server: Reaper,
}

impl FakeBotApi {
    /// Starts it on a free port (it writes the port into a file in `dir`) with `token` for
    /// @`username`, run by `python`. Shows the command.
    pub fn start(
        python: &Path,
        root: &Path,
        dir: &TempDir,
        token: &str,
        username: &str,
    ) -> Result<FakeBotApi> {
        let port_file = dir.path().join("botapi.port");
        let mut cmd = Command::new(python);
        cmd.arg(fake(root, "botapi.py"))
            .args(["--port", "0", "--port-file"])
            .arg(&port_file)
            .arg("--token")
            .arg(format!("{token}={username}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        println!("$ {}", shown(&cmd));
        let mut server = Reaper::default();
        server.spawn(&mut cmd)?;
        let deadline = Instant::now() + API_LIMIT;
        loop {
            let port = std::fs::read_to_string(&port_file).unwrap_or_default();
            if let Ok(port) = port.trim().parse::<u16>() {
                return Ok(FakeBotApi {
                    port,
                    url: format!("http://127.0.0.1:{port}"),
                    token: token.to_string(),
                    _server: server,
                });
            }
            if server.any_exited() || Instant::now() > deadline {
                return Err(Error::new(format!(
                    "the fake Bot API did not start (no port file within {} s)",
                    API_LIMIT.as_secs()
                )));
            }
            pause()?;
        }
    }

    /// Waits until the fake says a long poll of our token is (or is no longer) pending.
    pub fn wait_for_long_poll(&self, pending: bool) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < API_LIMIT {
            if self.stats()?["long_poll_pending"] == pending {
                return Ok(());
            }
            pause()?;
        }
        let what = if pending {
            "starts polling"
        } else {
            "stops polling"
        };
        Err(Error::new(format!(
            "the fake Bot API saw no poller that {what} within {} s",
            API_LIMIT.as_secs()
        )))
    }

    /// `/_control/stats` of our token: getUpdates_calls, conflicts_sent, long_poll_pending, …
    pub fn stats(&self) -> Result<Value> {
        self.control(&format!("/_control/stats?token={}", self.token))
    }

    /// GET on the fake's control API (plain HTTP/1.0: it closes, we read to the end).
    fn control(&self, path: &str) -> Result<Value> {
        let failed = |e| Error::io(format!("GET {}{path}", self.url), e);
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(failed)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(failed)?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").map_err(failed)?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(failed)?;
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        parse_json("the fake Bot API's stats", body)
    }
}

// ------------------------------------------------------------------------ a real PTB poller

/// A python-telegram-bot poller we started (ptb_bot.py, as it is or copied as bot.py); killed
/// when dropped.
pub struct Poller {
    child: Reaper,
    _lines: mpsc::Receiver<String>,
}

impl Poller {
    /// Spawns `cmd` (a ptb_bot.py run; stdout and stderr are taken here) and waits until it
    /// prints [`READY_LINE`], which it shows as `NAME: LINE`. A poller that exits or stays
    /// silent fails with what it printed.
    pub fn start(cmd: &mut Command, name: &str) -> Result<Poller> {
        let (reader, writer) =
            std::io::pipe().map_err(|e| Error::io("cannot make a pipe for the poller", e))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| Error::io("cannot make a pipe for the poller", e))?;
        cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2);
        let mut child = Reaper::default();
        let spawned = child.spawn(cmd);
        // The command keeps its copy of the pipe's write end until its stdio is replaced.
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        spawned?;
        let lines = forward_lines(reader);
        let mut output = Vec::new();
        let deadline = Instant::now() + POLLER_READY_LIMIT;
        loop {
            match lines.recv_timeout(TICK) {
                Ok(line) if line.contains(READY_LINE) => {
                    println!("{name}: {line}");
                    return Ok(Poller {
                        child,
                        _lines: lines,
                    });
                }
                Ok(line) => output.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    check_interrupt()?;
                    if Instant::now() < deadline {
                        continue;
                    }
                    return Err(Error::new(format!(
                        "{name} did not print {READY_LINE:?} within {} s{}",
                        POLLER_READY_LIMIT.as_secs(),
                        printed(&output)
                    )));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.any_exited();
                    return Err(Error::new(format!(
                        "{name} exited before it printed {READY_LINE:?}{}",
                        printed(&output)
                    )));
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.0.first().map_or(0, Child::id)
    }

    /// Whether it has exited (and is reaped).
    pub fn has_exited(&mut self) -> bool {
        self.child.any_exited()
    }

    /// SIGTERM, as an operator would stop it: PTB ends its long poll and leaves.
    pub fn stop_gracefully(mut self) -> Result<()> {
        let Some(child) = self.child.0.first_mut() else {
            return Ok(());
        };
        let mut kill = Command::new("kill");
        kill.args(["-TERM", &child.id().to_string()]);
        run_command(&mut kill)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return Ok(());
            }
            pause()?;
        }
        Err(Error::new(
            "the PTB poller did not stop within 20 s of SIGTERM",
        ))
    }
}

fn printed(output: &[String]) -> String {
    if output.is_empty() {
        " (it printed nothing)".into()
    } else {
        let last = &output[output.len().saturating_sub(15)..];
        format!("; it printed:\n  {}", last.join("\n  "))
    }
}

/// Lines a child writes into `pipe`, read on a thread so the pipe never fills.
fn forward_lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                // Nobody listens any more; keep draining so the child never blocks.
            }
        }
    });
    rx
}

// ------------------------------------------------------------------------ processes

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "PID (COMM) STATE …": COMM may hold spaces and parentheses, STATE follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest.trim_start());
    !state.starts_with('Z') && !state.starts_with('X')
}

/// Child processes killed and reaped when dropped, however the task ends.
#[derive(Default)]
pub struct Reaper(Vec<Child>);

impl Reaper {
    pub fn spawn(&mut self, cmd: &mut Command) -> Result<&mut Child> {
        let child = cmd.spawn().map_err(|e| Error::could_not_run(cmd, &e))?;
        self.0.push(child);
        Ok(self.0.last_mut().expect("just pushed"))
    }

    /// Whether any child has exited (reaping it).
    pub fn any_exited(&mut self) -> bool {
        self.0
            .iter_mut()
            .any(|c| matches!(c.try_wait(), Ok(Some(_))))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

// ------------------------------------------------------------------------ scratch folder

/// A scratch folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/xtask-LABEL-PID`, empty.
    pub fn new(label: &str) -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!("xtask-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> Result<PathBuf> {
        let path = self.0.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------------ Ctrl-C

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT (Ctrl-C) sets [`interrupted`] instead of ending xtask at once, so the
/// task can stop its doubles and remove its folder. Children in our process group get the
/// SIGINT from the terminal themselves.
pub fn catch_interrupt() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
    if unsafe { sigaction(Signal::SIGINT, &action) }.is_err() {
        eprintln!("xtask: cannot catch Ctrl-C; an interrupted run may leave processes behind");
    }
}

/// Whether Ctrl-C was pressed since [`catch_interrupt`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// An error (exit 130) once Ctrl-C was pressed.
pub fn check_interrupt() -> Result<()> {
    if interrupted() {
        Err(Error {
            message: "interrupted".into(),
            code: 130,
        })
    } else {
        Ok(())
    }
}

/// A short sleep between two looks at something we wait for; fails once interrupted.
pub fn pause() -> Result<()> {
    std::thread::sleep(TICK);
    check_interrupt()
}

// ------------------------------------------------------------------------ JSON

pub fn parse_json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(format!("{what} printed no JSON ({e}): {text}")))
}
