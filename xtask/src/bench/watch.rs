//! `cargo xtask bench watch`: the SPEC's `watch` goals, each beside its floor.
//!
//! - appeared: from a local copy's start to its `appeared` event at `[watch] local = "1s"`,
//!   the starts spread over the period; floor: the same process's argv showing in /proc
//!   (polled every 5 ms) plus half the period, the mean wait of any reader that looks once a
//!   period.
//! - 409: from a 409 line entering the fake flyctl's buffer to its event; floor: a plain
//!   `flyctl logs --app APP` stream of the same fake printing that line (the fake looks at its
//!   buffer twice a second, as Fly delivers lines in batches).
//! - CPU: botctl's own CPU time while watching for 60 s (defaults: local 1 s, fly 10 s, one
//!   app and its log stream) with 1,500 extra processes; floor: the CPU time of reading every
//!   /proc/PID/cmdline once a second for the same 60 s, measured in-process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    Bench, EXTRA_PROCESSES, Row, count_processes, median, millis, needed_program,
    read_every_cmdline, spawn_sleepers,
};
use crate::doubles::{Reaper, TempDir};
use crate::{Error, Result};

const APP: &str = "bench-watch";
const MACHINE: &str = "148ed193b95089";
const APPEARED_RUNS: usize = 7;
const CONFLICT_RUNS: usize = 7;
const CPU_WINDOW: Duration = Duration::from_secs(60);
/// The fake flyctl's own look at its buffer (tests/fakes/flyctl: twice a second).
const FAKE_POLL: Duration = Duration::from_millis(500);
const EVENT_LIMIT: Duration = Duration::from_secs(15);
/// `[watch] local` at its default.
const LOCAL_PERIOD: Duration = Duration::from_secs(1);

pub fn watch(b: &Bench) -> Result<Vec<Row>> {
    let dir = TempDir::new("bench-watch")?;
    let python = needed_program("python3")?;
    let flyctl = b.fake("flyctl");
    let state = dir.write(
        "fly-state.json",
        &serde_json::json!({"logged_in": true, "apps": {APP: {
            "machines": [{"id": MACHINE, "state": "started", "region": "ams"}],
            "logs": ["2026-11-25T10:00:00Z app[148ed193b95089] ams [info]Starting init..."],
        }}})
        .to_string(),
    )?;
    dir.write("watched_bot.py", "import time\ntime.sleep(600)\n")?;
    let config = dir.write(
        "botctl.toml",
        &format!(
            "[fly]\nflyctl = {:?}\n\n[[bot]]\nname = \"partner\"\nscript = \"watched_bot.py\"\n\
             fly_app = \"{APP}\"\n",
            flyctl.display().to_string()
        ),
    )?;
    let watching = |b: &Bench| -> Result<Watching> {
        let mut cmd = b.botctl(&config, &["watch", "--json"]);
        cmd.env("FAKE_FLY_STATE", &state)
            .env("FAKE_FLY_NO_RECORD", "1")
            .current_dir(dir.path());
        Watching::start(cmd)
    };

    // ---- appeared
    let mut w = watching(b)?;
    w.wait_for(|e| e["event"] == "machine")?; // its first look at Fly is done
    std::thread::sleep(Duration::from_millis(1500)); // and at least one local scan
    let mut delays = Vec::new();
    let mut floors = Vec::new();
    println!("$ python3 watched_bot.py   # ×{APPEARED_RUNS}, each stopped after its event");
    for i in 0..APPEARED_RUNS {
        // Each run starts its copy at another point of the 1 s cadence: right after the
        // previous `gone` the next scan is a whole period away, every time.
        std::thread::sleep(LOCAL_PERIOD * i as u32 / APPEARED_RUNS as u32);
        let started = Instant::now();
        let mut copy = Reaper::default();
        let child = copy.spawn(
            Command::new(&python)
                .arg("watched_bot.py")
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let pid = child.id();
        floors.push(argv_visible(pid, started)?);
        let (at, _) = w.wait_for(|e| e["event"] == "appeared" && e["pid"] == pid)?;
        delays.push(at - started);
        drop(copy);
        w.wait_for(|e| e["event"] == "gone" && e["pid"] == pid)?;
    }
    let appeared = median(&delays);
    let argv_floor = median(&floors);
    // Any reader that looks once a period waits half of it on average.
    let floor = argv_floor + LOCAL_PERIOD / 2;
    println!(
        "  appeared after {} (median), argv in /proc after {}; floor {} with half the period",
        millis(appeared),
        millis(argv_floor),
        millis(floor)
    );

    // ---- 409
    let mut stream = Stream::start(&flyctl, &state)?;
    let mut delays = Vec::new();
    let mut floors = Vec::new();
    println!("$ flyctl _apply [409 line]   # ×{CONFLICT_RUNS}, botctl watch and a plain stream");
    for i in 0..CONFLICT_RUNS {
        let marker = format!("bench-409-{i}-{}", std::process::id());
        let line = format!(
            "{} app[{MACHINE}] ams [info]telegram.error.Conflict: Conflict: terminated by other \
getUpdates request {marker}",
            utc_now()
        );
        let started = Instant::now();
        append_log(&flyctl, &state, &line)?;
        floors.push(stream.wait_for(&marker, started)?);
        let (at, _) = w.wait_for(|e| {
            e["event"] == "409" && e["line"].as_str().is_some_and(|l| l.contains(&marker))
        })?;
        delays.push(at - started);
    }
    drop(stream);
    drop(w);
    let conflict = median(&delays);
    let conflict_floor = median(&floors);
    println!(
        "  409 event after {} (median), the plain stream printed it after {}",
        millis(conflict),
        millis(conflict_floor)
    );

    // ---- CPU over 60 s with 1,500 extra processes
    let sleep = needed_program("sleep")?;
    let before = count_processes()?;
    let sleepers = spawn_sleepers(&sleep, EXTRA_PROCESSES)?;
    println!(
        "{} processes ({before} before, {EXTRA_PROCESSES} extra `sleep 600`)",
        count_processes()?
    );
    let mut w = watching(b)?;
    w.wait_for(|e| e["event"] == "machine")?;
    let cpu_before = cpu_time(w.pid())?;
    let began = Instant::now();
    println!("  watching for {}s …", CPU_WINDOW.as_secs());
    std::thread::sleep(CPU_WINDOW);
    let used = cpu_time(w.pid())? - cpu_before;
    let share = used.as_secs_f64() / began.elapsed().as_secs_f64() * 100.0;
    drop(w);
    // The floor: one read of every command line per second for as long, as CPU time of this
    // process (back to back: a wall clock would count the other sessions' share of the cores).
    let floor_before = cpu_time(std::process::id())?;
    for _ in 0..CPU_WINDOW.as_secs() {
        read_every_cmdline(b"watched_bot.py")?;
    }
    let floor_used = cpu_time(std::process::id())? - floor_before;
    drop(sleepers);
    let floor_share = floor_used.as_secs_f64() / CPU_WINDOW.as_secs_f64() * 100.0;
    println!(
        "  botctl used {} of CPU in {:.0} s ({share:.2} %); one cmdline read per second: {floor_share:.2} %",
        millis(used),
        began.elapsed().as_secs_f64()
    );

    let ratio = |a: Duration, f: Duration| format!("{:.1}× floor {}", ratio_of(a, f), millis(f));
    Ok(vec![
        Row::new(
            "watch: local copy → appeared (local = 1s)",
            millis(appeared),
        )
        .ratio(ratio(appeared, floor))
        .goal("≤ 1.5 s", appeared <= Duration::from_millis(1500))
        .note(format!(
            "appeared waits for the next look at the process table: a copy that starts just after \
             one waits a whole period, so the starts are spread over it; the floor ({}) is half \
             the period plus one read of every command line. 409 costs what flyctl's own stream \
             costs ({} for a plain `flyctl logs` of the same fake, {} for botctl): the fake looks \
             at its buffer twice a second, and each stream waits for its next look. botctl's CPU \
             ({share:.2} % of one core) is nearly all the once-a-second read of every command \
             line ({floor_share:.2} % done in-process).",
            millis(floor),
            millis(conflict_floor),
            millis(conflict)
        )),
        Row::new(
            "watch: 409 line in the buffer → 409 event",
            millis(conflict),
        )
        .ratio(ratio(conflict, conflict_floor))
        .goal(
            "≤ 2 s + the fake's 0.5 s poll",
            conflict <= Duration::from_secs(2) + FAKE_POLL,
        ),
        Row::new(
            format!("watch: botctl's CPU over 60 s, {EXTRA_PROCESSES} extra processes"),
            format!("{share:.2} %"),
        )
        .ratio(format!("floor {floor_share:.2} %"))
        .goal("≤ 3 % of one core", share <= 3.0),
    ])
}

fn ratio_of(a: Duration, floor: Duration) -> f64 {
    a.as_secs_f64() / floor.as_secs_f64().max(1e-6)
}

/// `botctl watch --json` running, its lines read as they come with the moment each arrived.
struct Watching {
    child: Child,
    lines: Receiver<(Instant, String)>,
    seen: Vec<(Instant, Value)>,
}

impl Watching {
    fn start(mut cmd: Command) -> Result<Watching> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::could_not_run(&cmd, &e))?;
        let rx = timed_lines(child.stdout.take().expect("piped stdout"));
        Ok(Watching {
            child,
            lines: rx,
            seen: Vec::new(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The arrival time and line of the first event (seen or to come) for which `pred` holds.
    fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Result<(Instant, Value)> {
        if let Some(found) = self.seen.iter().find(|(_, v)| pred(v)) {
            return Ok(found.clone());
        }
        let deadline = Instant::now() + EVENT_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                // The moment is the line's arrival; parsing it is not counted.
                Ok((at, line)) => {
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    let hit = pred(&v);
                    self.seen.push((at, v.clone()));
                    if hit {
                        return Ok((at, v));
                    }
                }
                Err(_) => {
                    return Err(Error::new(format!(
                        "botctl watch printed no such event within {}s (it printed {} line(s))",
                        EVENT_LIMIT.as_secs(),
                        self.seen.len()
                    )));
                }
            }
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each line a child prints, with the moment it arrived, read on a thread of its own.
fn timed_lines(stdout: ChildStdout) -> Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// A plain `flyctl logs --app APP` of the fake: the floor for seeing a new line.
struct Stream {
    child: Child,
    lines: Receiver<(Instant, String)>,
}

impl Stream {
    fn start(flyctl: &Path, state: &Path) -> Result<Stream> {
        let mut cmd = Command::new(flyctl);
        cmd.args(["logs", "--app", APP])
            .env("FAKE_FLY_STATE", state)
            .env("FAKE_FLY_NO_RECORD", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| Error::could_not_run(&cmd, &e))?;
        let rx = timed_lines(child.stdout.take().expect("piped stdout"));
        Ok(Stream { child, lines: rx })
    }

    fn wait_for(&mut self, marker: &str, since: Instant) -> Result<Duration> {
        let deadline = Instant::now() + EVENT_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line.contains(marker) => return Ok(at - since),
                Ok(_) => {}
                Err(_) => {
                    return Err(Error::new(
                        "the plain flyctl logs stream never printed the line",
                    ));
                }
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn append_log(flyctl: &Path, state: &Path, line: &str) -> Result<()> {
    let ops = serde_json::json!([{"op": "log", "app": APP, "line": line}]).to_string();
    let mut cmd = Command::new(flyctl);
    cmd.arg("_apply")
        .arg(ops)
        .env("FAKE_FLY_STATE", state)
        .env("FAKE_FLY_NO_RECORD", "1");
    let status = cmd.status().map_err(|e| Error::could_not_run(&cmd, &e))?;
    if !status.success() {
        return Err(Error::new("the fake flyctl could not append a log line"));
    }
    Ok(())
}

/// How long after `since` the process's argv shows in /proc (the exec of python is done).
fn argv_visible(pid: u32, since: Instant) -> Result<Duration> {
    let path = PathBuf::from(format!("/proc/{pid}/cmdline"));
    let deadline = Instant::now() + EVENT_LIMIT;
    while Instant::now() < deadline {
        if std::fs::read(&path).is_ok_and(|c| c.windows(14).any(|w| w == b"watched_bot.py")) {
            return Ok(since.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(Error::new(format!("process {pid} never showed its argv")))
}

/// User plus system CPU time of `pid` itself (its threads included, not its children), read
/// by botctl's own process-facts module.
fn cpu_time(pid: u32) -> Result<Duration> {
    botctl::proc::cpu_time(botctl::proc::Pid(pid))
        .ok_or_else(|| Error::new(format!("cannot read the CPU time of pid {pid}")))
}

fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
