//! `cargo xtask bench`: the SPEC's Speed goals, measured side by side in one run.
//!
//! Benchmarks print figures; a missed goal is a figure, not a failure. The task fails only when
//! something could not be measured.
//!
//! - status concurrency: two bots on two Fly apps whose (fake) `flyctl machine list` takes 2 s;
//!   and one bot among 10 Fly apps whose every flyctl call takes 1 s (the same-token read).
//! - process-table scan: `botctl status` for local-only bots against `pgrep -f` with 1500 extra
//!   processes, and an in-process read of every /proc/PID/cmdline as the floor; and the same
//!   status with a running bot kept alive by a shell loop (its supervisor is named).
//! - start-up: `botctl --version`.
//! - conflict probe: detection time against the real python-telegram-bot poller, and false
//!   positives with no poller, on the fake Bot API.
//! - doctor right after dev-start (machines stopped, `flyctl logs --no-tail` hangs on the empty
//!   buffer): without the probe, and with `--probe` and a live poller.
//! - status of a Fly app whose machines carry a teammate's handoff record, against the same app
//!   without records (interleaved): the records come with the same `machine list`.
//! - watch (`bench/watch.rs`): a local copy's `appeared` delay, a 409 line's delay, and
//!   botctl's own CPU while watching with 1500 extra processes, each beside its floor.
//! - exec in front of a bot: `botctl exec` of `true` against `true` alone and the same scan
//!   (`bench/exec.rs`).

mod exec;
mod watch;

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use test_support::{BotApi, PtbBot};

use crate::doubles::{Reaper, TempDir, double_failed, parse_json};
use crate::{Error, Result, cargo, find_program, run_command, setup, shown, target_dir};

const FLY_LIST_DELAY: Duration = Duration::from_secs(2);
/// Every fake flyctl call in the many-apps status bench takes this long.
const FLY_CALL_DELAY: Duration = Duration::from_secs(1);
/// Fly apps in the many-apps status bench: the bot's own and 9 others.
const MANY_APPS: usize = 10;
const DOCTOR_RUNS: usize = 3;
const STATUS_RUNS: usize = 5;
/// `machine list` delay of the Fly app beside the host.
const HOST_FLY_DELAY: Duration = Duration::from_millis(500);
/// Runs of each variant of status with a host (ssh's handshake varies more than a local call).
const HOST_RUNS: usize = 11;
const EXTRA_PROCESSES: usize = 1500;
const SCAN_RUNS: usize = 20;
const VERSION_RUNS: usize = 50;
const PROBE_RUNS: usize = 5;
/// Between two detection probes: longer than the poller's 10 s long poll, so it completes one
/// poll and PTB's back-off (1 s, ×1.5 per consecutive error) starts from zero again.
const PROBE_SETTLE: Duration = Duration::from_secs(11);
/// A made-up token the fake Bot API accepts (never a real one).
const FAKE_TOKEN: &str = "123456789:AAbenchbenchbenchbenchbenchbench01";
const TOKEN_ENV: &str = "BENCH_PARTNER_TOKEN";

pub fn run(root: &Path, only: &[String], write: bool) -> Result<()> {
    setup::run(root)?;
    let machine = Machine::now(root);
    let bench = Bench {
        botctl: build_release(root)?,
        python: setup::venv_python(root),
    };
    let benches: [(&str, Measure); 10] = [
        ("status concurrency", status_concurrency),
        ("status with many Fly apps", status_many_apps),
        ("status with a host", status_with_a_host),
        ("process-table scan", process_scan),
        ("start-up", startup),
        ("conflict probe", conflict_probe),
        ("doctor after dev-start", doctor_after_dev_start),
        ("status with handoff records", status_with_records),
        ("watch", watch::watch),
        ("exec in front of a bot", exec::exec_overhead),
    ];
    let mut rows = Vec::new();
    let mut unmeasured = Vec::new();
    for (name, measure) in benches {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        println!("\n== {name}");
        match measure(&bench) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                eprintln!("xtask bench: {name} could not be measured: {e}");
                unmeasured.push(name);
            }
        }
    }
    let report = report(&machine, &rows);
    println!("\n{report}");
    if write && unmeasured.is_empty() {
        let path = root.join("BENCHMARKS.md");
        write_file(&path, &benchmarks_md(&report))?;
        println!("xtask bench: wrote {}", path.display());
    }
    if unmeasured.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "could not measure: {}",
            unmeasured.join(", ")
        )))
    }
}

/// One benchmark: its rows for the table.
type Measure = fn(&Bench) -> Result<Vec<Row>>;

struct Bench {
    botctl: PathBuf,
    python: PathBuf,
}

impl Bench {
    /// `botctl --config CONFIG ARGS`, plain output, no config from the environment.
    fn botctl(&self, config: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.botctl);
        cmd.arg("--config")
            .arg(config)
            .args(args)
            .env_remove("BOTCTL_CONFIG")
            .env("NO_COLOR", "1");
        cmd
    }

    fn fake(&self, name: &str) -> PathBuf {
        test_support::fake(name)
    }
}

fn build_release(root: &Path) -> Result<PathBuf> {
    run_command(cargo(root).args(["build", "--locked", "--release", "-p", "botctl"]))?;
    let botctl = target_dir(root).join("release/botctl");
    if !botctl.is_file() {
        return Err(Error::new(format!(
            "the release build left no {}",
            botctl.display()
        )));
    }
    Ok(botctl)
}

// ------------------------------------------------------------------------ status with a host

/// status reading one `[[host]]` (a real sshd on loopback) and one Fly app whose machine list
/// takes 0.5 s, against the slower of the two measured alone in the same run; and the host's
/// one round trip with 1 bot against 8 bots. The "server" is this machine: its sshd and the
/// scan script compete with botctl for the same cores, which a real server's do not.
fn status_with_a_host(b: &Bench) -> Result<Vec<Row>> {
    if !test_support::is_root() {
        return Err(Error::new(
            "needs root (sshd logs in as root on a loopback port)",
        ));
    }
    let sshd = test_support::Sshd::try_start("").map_err(Error::new)?;
    let host = sshd.host_table("vps", "client_key", "15s");
    let dir = TempDir::new("bench-host")?;
    let flyctl = b.fake("flyctl");
    let state = dir.write(
        "fly-state.json",
        &serde_json::json!({
            "logged_in": true,
            // About what one real Fly API call takes, and about what the ssh round trip
            // takes: equal sources are the hard case for "as long as the slowest".
            "delay": {"list": HOST_FLY_DELAY.as_secs_f64()},
            "apps": {"bench-one": {"machines": [
                {"id": "148ed193b95080", "state": "started", "region": "ams"}
            ]}},
        })
        .to_string(),
    )?;
    let fly = format!("[fly]\nflyctl = {:?}\n", flyctl.display().to_string());
    let bots = |n: usize, fly_app: bool| -> String {
        (0..n)
            .map(|i| {
                let app = if fly_app && i == 0 {
                    "fly_app = \"bench-one\"\n"
                } else {
                    ""
                };
                format!("\n[[bot]]\nname = \"b{i}\"\nscript = \"bench_b{i}.py\"\n{app}")
            })
            .collect()
    };
    let configs = [
        ("fly.toml", format!("{fly}{}", bots(1, true))),
        ("host.toml", format!("{fly}{}{host}", bots(1, false))),
        ("both.toml", format!("{fly}{}{host}", bots(1, true))),
        ("host8.toml", format!("{fly}{}{host}", bots(8, false))),
    ];
    let mut paths = Vec::new();
    for (name, text) in &configs {
        paths.push(dir.write(name, text)?);
    }
    let status = |config: &Path, args: &[&str]| {
        let mut cmd = b.botctl(config, args);
        cmd.env("FAKE_FLY_STATE", &state)
            .env("FAKE_FLY_NO_RECORD", "1")
            .current_dir(dir.path());
        cmd
    };
    // A host that was not read would be fast and prove nothing.
    let (_, out) = time_output(&mut status(&paths[2], &["status", "--json"]), &[0, 1])?;
    let doc = parse_json("botctl status --json", &out)?;
    let error = &doc["bots"][0]["hosts"][0]["error"];
    if !error.is_null() || doc["bots"][0]["hosts"][0].is_null() {
        return Err(Error::new(format!("the host was not read: {error}")));
    }
    // Interleaved, so that the machine's load at any moment weighs on every variant alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); paths.len()];
    for path in &paths {
        println!(
            "$ {}   # ×{HOST_RUNS}, interleaved",
            shown(&status(path, &["status"]))
        );
    }
    for _ in 0..HOST_RUNS {
        for (path, times) in paths.iter().zip(&mut times) {
            times.push(time_run(&mut status(path, &["status"]), &[0, 1])?);
        }
    }
    let medians: Vec<Duration> = times.iter().map(|t| median(t)).collect();
    let [fly_alone, host_alone, both, host8] = medians[..] else {
        unreachable!("four configs")
    };
    let slowest = fly_alone.max(host_alone);
    let ratio = both.as_secs_f64() / slowest.as_secs_f64();
    let per_bot = host8.as_secs_f64() / host_alone.as_secs_f64();
    Ok(vec![
        Row::new("status: 1 host (ssh) + 1 Fly app", millis(both))
            .ratio(format!("{ratio:.2} × slowest alone"))
            .goal("≤ 1.1", ratio <= 1.1)
            .note(format!(
                "The \"server\" is this machine's own sshd on loopback, so its side (sshd, the login \
                 shell, the scan) competes with botctl for the same cores, which a real server's \
                 does not. The variants run interleaved, {HOST_RUNS} times each; the Fly app's list \
                 takes 0.5 s so that both sources take about as long, the hard case: both at once \
                 took {}, the slowest alone {} ({ratio:.2} ×). One host costs one round trip \
                 whatever the number of bots: 8 bots took {per_bot:.2} × 1 bot ({} against {}).",
                millis(both),
                millis(slowest),
                millis(host8),
                millis(host_alone)
            )),
        Row::new("  status: the host alone", millis(host_alone)),
        Row::new(
            "  status: the Fly app alone (list takes 0.5 s)",
            millis(fly_alone),
        ),
        Row::new("  status: 1 host, 8 bots (one round trip)", millis(host8))
            .ratio(format!("{per_bot:.2} × 1 bot")),
    ])
}

// ------------------------------------------------------------------------ (a) status concurrency

fn status_concurrency(b: &Bench) -> Result<Vec<Row>> {
    let dir = TempDir::new("bench-status")?;
    let flyctl = b.fake("flyctl");
    let state = dir.write(
        "fly-state.json",
        &slow_fly_state(&["bench-one", "bench-two"]),
    )?;
    let config = dir.write(
        "botctl.toml",
        &format!(
            "[fly]\nflyctl = {:?}\n\n\
             [[bot]]\nname = \"one\"\nscript = \"one.py\"\nfly_app = \"bench-one\"\n\n\
             [[bot]]\nname = \"two\"\nscript = \"two.py\"\nfly_app = \"bench-two\"\n",
            flyctl.display().to_string()
        ),
    )?;
    let with_fake_fly = |cmd: &mut Command| {
        cmd.env("FAKE_FLY_STATE", &state)
            .env("FAKE_FLY_NO_RECORD", "1")
            .current_dir(dir.path());
    };

    let mut version = Command::new(&flyctl);
    version.arg("version");
    with_fake_fly(&mut version);
    let fake_startup = median(&timed_runs(&mut version, 5, &[0])?);

    let mut check = b.botctl(&config, &["status", "--json"]);
    with_fake_fly(&mut check);
    let (_, out) = time_output(&mut check, &[0, 1])?;
    expect_every_app_answered(&out)?;

    // The true floor of this row: the two fake `machine list` calls themselves, at once, as
    // status makes them (each is a Python start, a 2 s sleep and JSON on two cores).
    let mut both = Vec::new();
    for _ in 0..STATUS_RUNS {
        let started = Instant::now();
        let children: Vec<std::process::Child> = ["bench-one", "bench-two"]
            .iter()
            .map(|app| {
                let mut list = Command::new(&flyctl);
                list.args(["machine", "list", "--app", app, "--json"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                with_fake_fly(&mut list);
                list.spawn().map_err(|e| Error::could_not_run(&list, &e))
            })
            .collect::<Result<_>>()?;
        for mut child in children {
            let _ = child.wait();
        }
        both.push(started.elapsed());
    }
    let both = median(&both);

    let mut status = b.botctl(&config, &["status"]);
    with_fake_fly(&mut status);
    let took = median(&timed_runs(&mut status, STATUS_RUNS, &[0, 1])?);
    let ratio = took.as_secs_f64() / FLY_LIST_DELAY.as_secs_f64();
    let best = (FLY_LIST_DELAY + fake_startup).as_secs_f64() / FLY_LIST_DELAY.as_secs_f64();
    Ok(vec![
        Row::new("status: 2 Fly apps, list takes 2 s each", secs(took))
            .ratio(format!("{ratio:.2} × 2 s"))
            .goal("≤ 1.1", ratio <= 1.1)
            .note(format!(
                "status waits for its slowest source, not their sum: two 2 s `machine list` calls \
                 cost {}. The two fake calls alone, started at once without botctl, take {} \
                 ({:.2} × 2 s): each is a Python start of the fake flyctl ({} for its `version` \
                 alone), two at once on {} cores. botctl starts both calls at once and adds \
                 {:+.1} % over them.",
                secs(took),
                secs(both),
                both.as_secs_f64() / FLY_LIST_DELAY.as_secs_f64(),
                millis(fake_startup),
                cores(),
                (took.as_secs_f64() / both.as_secs_f64() - 1.0) * 100.0
            )),
        Row::new(
            "  fake flyctl's own start-up (version)",
            millis(fake_startup),
        )
        .ratio(format!("floor {best:.2} × 2 s")),
        Row::new(
            "  floor: the two fake `machine list` calls at once, without botctl",
            secs(both),
        )
        .ratio(format!(
            "{:.2} × 2 s; status is {:.2} × this",
            both.as_secs_f64() / FLY_LIST_DELAY.as_secs_f64(),
            took.as_secs_f64() / both.as_secs_f64()
        )),
    ])
}

/// Fake flyctl state: each app has one started machine; `machine list` sleeps 2 s.
fn slow_fly_state(apps: &[&str]) -> String {
    let apps: serde_json::Map<String, Value> = apps
        .iter()
        .enumerate()
        .map(|(i, app)| {
            let machine = serde_json::json!({
                "id": format!("148ed193b9508{i}"), "state": "started", "region": "ams"
            });
            (
                app.to_string(),
                serde_json::json!({ "machines": [machine] }),
            )
        })
        .collect();
    serde_json::json!({
        "logged_in": true,
        "delay": {"list": FLY_LIST_DELAY.as_secs_f64()},
        "apps": apps,
    })
    .to_string()
}

/// A status where flyctl failed would be fast and prove nothing.
fn expect_every_app_answered(status_json: &str) -> Result<()> {
    let doc = parse_json("botctl status --json", status_json)?;
    for bot in doc["bots"].as_array().into_iter().flatten() {
        let fly = &bot["fly"];
        let machines = fly["machines"].as_array().map_or(0, Vec::len);
        if !fly["error"].is_null() || machines == 0 {
            return Err(Error::new(format!(
                "botctl did not read the fake Fly app {}: {}",
                fly["app"], fly["error"]
            )));
        }
    }
    Ok(())
}

/// One bot among `MANY_APPS` Fly apps, every flyctl call 1 s: apps list, every app's secrets
/// (8 at a time) and the machine list. Read one by one: 1 + MANY_APPS calls, 11 s.
fn status_many_apps(b: &Bench) -> Result<Vec<Row>> {
    let dir = TempDir::new("bench-many-apps")?;
    let flyctl = b.fake("flyctl");
    let mut apps = serde_json::Map::new();
    for i in 0..MANY_APPS {
        let name = if i == 0 {
            "bench-partner".to_string()
        } else {
            format!("bench-other-{i:02}")
        };
        let machine = serde_json::json!({"id": format!("148ed193b9508{i}"), "state": "started"});
        let secret =
            serde_json::json!({"name": "BENCH_TOKEN", "value": format!("token of {name}")});
        apps.insert(
            name,
            serde_json::json!({"machines": [machine], "secrets": [secret], "logs": []}),
        );
    }
    let secs_each = FLY_CALL_DELAY.as_secs_f64();
    let state = dir.write(
        "fly-state.json",
        &serde_json::json!({
            "logged_in": true,
            "delay": {"list": secs_each, "apps": secs_each, "secrets": secs_each},
            "apps": apps,
        })
        .to_string(),
    )?;
    let config = dir.write(
        "botctl.toml",
        &format!(
            "[fly]\nflyctl = {:?}\n\n\
             [[bot]]\nname = \"partner\"\nscript = \"partner.py\"\ntoken_env = \"BENCH_TOKEN\"\nfly_app = \"bench-partner\"\n",
            flyctl.display().to_string()
        ),
    )?;
    let mut check = b.botctl(&config, &["status", "--json"]);
    check
        .env("FAKE_FLY_STATE", &state)
        .env("FAKE_FLY_NO_RECORD", "1")
        .env_remove("BENCH_TOKEN")
        .current_dir(dir.path());
    let (_, out) = time_output(&mut check, &[0])?;
    let doc = parse_json("botctl status --json", &out)?;
    if doc["bots"][0]["verdict"] != "ok" {
        return Err(Error::new(format!("unexpected status: {doc}")));
    }
    let mut status = b.botctl(&config, &["status"]);
    status
        .env("FAKE_FLY_STATE", &state)
        .env("FAKE_FLY_NO_RECORD", "1")
        .env_remove("BENCH_TOKEN")
        .current_dir(dir.path());
    let took = median(&timed_runs(&mut status, STATUS_RUNS, &[0])?);
    let serial = FLY_CALL_DELAY * (MANY_APPS as u32 + 1);
    let ratio = took.as_secs_f64() / serial.as_secs_f64();
    // apps list with the bot's own secrets, then the others 8 at a time.
    let rounds = 1 + (MANY_APPS - 1).div_ceil(8) as u32;
    let floor = FLY_CALL_DELAY * rounds;
    // Eight fake flyctl (Python) starting at once cost this much on top of each round.
    let mut eight = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let mut children = Vec::new();
        for _ in 0..8 {
            let mut cmd = Command::new(&flyctl);
            cmd.arg("version")
                .env("FAKE_FLY_STATE", &state)
                .env("FAKE_FLY_NO_RECORD", "1")
                .stdout(Stdio::null());
            children.push(cmd.spawn().map_err(|e| Error::could_not_run(&cmd, &e))?);
        }
        for mut child in children {
            let _ = child.wait();
        }
        eight.push(started.elapsed());
    }
    Ok(vec![
        Row::new(
            format!("status: {MANY_APPS} Fly apps, every flyctl call takes 1 s"),
            secs(took),
        )
        .ratio(format!("{ratio:.2} × {} s serial", serial.as_secs()))
        .goal("≤ 0.5 × serial", ratio <= 0.5)
        .note(format!(
            "botctl reads the app list and the bot's own secrets at once, then the other apps' \
             secrets 8 at a time, so {MANY_APPS} apps cost {rounds} rounds of one call ({}), not \
             {} calls; it took {}. The rest is the fake flyctl's Python start-up: eight of them \
             starting at once take {} here.",
            secs(floor),
            serial.as_secs(),
            secs(took),
            millis(median(&eight))
        )),
        Row::new(
            format!("  floor: {rounds} rounds of 1 s (8 calls at a time)"),
            secs(floor),
        ),
        Row::new(
            "  8 fake flyctl starting at once (version)",
            millis(median(&eight)),
        ),
    ])
}

// ------------------------------------------------------------------------ (b) process-table scan

/// A project of one local bot (no Fly app, no token: status makes no flyctl or Bot API call),
/// its botctl.toml, and an empty folder to use as PATH, where crontab, systemctl and launchctl
/// are "not installed": status is then start-up, config and the process scan.
struct LocalOnly {
    dir: TempDir,
    config: PathBuf,
    empty_path: PathBuf,
}

fn local_only(prefix: &str) -> Result<LocalOnly> {
    let dir = TempDir::new(prefix)?;
    let config = dir.write(
        "botctl.toml",
        "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n",
    )?;
    let empty_path = dir.path().join("empty-path");
    std::fs::create_dir(&empty_path)
        .map_err(|e| Error::io(format!("cannot create {}", empty_path.display()), e))?;
    Ok(LocalOnly {
        dir,
        config,
        empty_path,
    })
}

fn process_scan(b: &Bench) -> Result<Vec<Row>> {
    // The run with the usual PATH shows what autostart adds.
    let LocalOnly {
        dir,
        config,
        empty_path,
    } = local_only("bench-scan")?;
    let pgrep = needed_program("pgrep")?;
    let sleep = needed_program("sleep")?;
    let true_ = needed_program("true")?;

    // A bot kept alive by a shell loop: status finds it and names its supervisor.
    let supervised_config = dir.write(
        "supervised.toml",
        "[[bot]]\nname = \"looped\"\nscript = \"looped_bot.py\"\n",
    )?;
    dir.write("looped_bot.py", "import time\ntime.sleep(600)\n")?;
    let python = needed_program("python3")?;
    let looped = LoopedBot::start(dir.path(), &python)?;

    let before = count_processes()?;
    let sleepers = spawn_sleepers(&sleep, EXTRA_PROCESSES)?;
    let total = count_processes()?;
    println!("{total} processes ({before} before, {EXTRA_PROCESSES} extra `sleep 600`)");

    let mut scan_only = b.botctl(&config, &["status"]);
    scan_only.env("PATH", &empty_path).current_dir(dir.path());
    let mut check = b.botctl(&config, &["status", "--json"]);
    check.env("PATH", &empty_path).current_dir(dir.path());
    time_output(&mut check, &[0])?; // runs cleanly without any tool on PATH
    let mut with_autostart = b.botctl(&config, &["status"]);
    with_autostart.current_dir(dir.path());
    let mut supervised = b.botctl(&supervised_config, &["status"]);
    supervised.env("PATH", &empty_path).current_dir(dir.path());
    let mut check = b.botctl(&supervised_config, &["status", "--json"]);
    check.env("PATH", &empty_path).current_dir(dir.path());
    // The loop has just started its bot: give it a moment to show up.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, out) = time_output(&mut check, &[0])?;
        match expect_loop_supervisor(&out) {
            Ok(()) => break,
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let mut pgrep = Command::new(pgrep);
    pgrep.args(["-f", "bot.py"]);
    let mut true_ = Command::new(true_);

    let mut commands = [
        (&mut scan_only, &[0, 1][..]),
        (&mut with_autostart, &[0, 1][..]),
        (&mut pgrep, &[0, 1][..]),
        (&mut true_, &[0][..]),
        (&mut supervised, &[0, 1][..]),
    ];
    println!("interleaved, {SCAN_RUNS} rounds of:");
    for (cmd, _) in &mut commands {
        println!("$ {}", shown(cmd));
    }
    println!("and, in xtask, a read of every /proc/PID/cmdline");
    let mut times: [Vec<Duration>; 6] = Default::default();
    for round in 0..=SCAN_RUNS {
        for (i, (cmd, ok)) in commands.iter_mut().enumerate() {
            let took = time_run(cmd, ok)?;
            if round > 0 {
                times[i].push(took); // round 0 warms the page cache
            }
        }
        let started = Instant::now();
        read_every_cmdline(b"bot.py")?;
        if round > 0 {
            times[5].push(started.elapsed());
        }
    }
    drop(sleepers);
    drop(looped);

    let [scan, full, pgrep, exec, supervised, floor] = times.map(|t| median(&t));
    let vs_pgrep = |d: Duration| d.as_secs_f64() / pgrep.as_secs_f64();
    let title = format!("status: local bots only, {total} processes");
    Ok(vec![
        Row::new(title, millis(scan))
            .ratio(format!("{:.2} × pgrep", vs_pgrep(scan)))
            .goal("≤ 0.5 × pgrep", vs_pgrep(scan) <= 0.5)
            .note(format!(
                "The process scan reads every /proc/PID/cmdline (phase one), then the user, start \
                 time and working folder of the few matches only (phase two: /proc on Linux, \
                 sysinfo on macOS). It took {}, {:+.1} ms over the bare in-process read of every \
                 command line ({}), at {:.2} × `pgrep -f` ({}). The row runs with an empty PATH, \
                 so crontab and systemctl are \"not installed\" and only start-up, config and the \
                 scan count; with the autostart tools on PATH (and `docker ps` asked) it took {}. \
                 Naming a looped bot's supervisor (its cgroup and ancestors) cost {:+.1} ms.",
                millis(scan),
                (scan.as_secs_f64() - floor.as_secs_f64()) * 1000.0,
                millis(floor),
                vs_pgrep(scan),
                millis(pgrep),
                millis(full),
                (supervised.as_secs_f64() - scan.as_secs_f64()) * 1000.0
            )),
        Row::new("  same, with autostart tools on PATH", millis(full))
            .ratio(format!("{:.2} × pgrep", vs_pgrep(full))),
        Row::new("  pgrep -f bot.py", millis(pgrep)),
        Row::new("  floor: read /proc/*/cmdline in-process", millis(floor))
            .ratio(format!("{:.2} × pgrep", vs_pgrep(floor))),
        Row::new("  floor: spawn+exec of `true`", millis(exec))
            .ratio(format!("{:.2} × pgrep", vs_pgrep(exec))),
        Row::new(
            format!("status: a bot kept alive by a shell loop, {total} processes"),
            millis(supervised),
        )
        .ratio(format!("{:.2} × pgrep", vs_pgrep(supervised)))
        .goal("≤ 0.25 × pgrep", vs_pgrep(supervised) <= 0.25),
    ])
}

/// `bash -c "while true; do python3 looped_bot.py; …"` in its own process group, which is
/// killed when dropped.
struct LoopedBot(std::process::Child);

impl LoopedBot {
    fn start(dir: &Path, python: &Path) -> Result<LoopedBot> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("bash");
        cmd.args([
            "-c",
            &format!(
                "while true; do {} looped_bot.py; sleep 1; done",
                python.display()
            ),
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
        println!("$ {}   # in {}", shown(&cmd), dir.display());
        let child = cmd.spawn().map_err(|e| Error::could_not_run(&cmd, &e))?;
        Ok(LoopedBot(child))
    }
}

impl Drop for LoopedBot {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.0.wait();
    }
}

/// The supervised row measures nothing unless status found the bot and named its loop.
fn expect_loop_supervisor(status_json: &str) -> Result<()> {
    let doc = parse_json("botctl status --json", status_json)?;
    let kind = &doc["bots"][0]["local"][0]["supervisor"]["kind"];
    if kind != "loop" {
        return Err(Error::new(format!(
            "status did not name the looped bot's shell loop: {status_json}"
        )));
    }
    Ok(())
}

fn spawn_sleepers(sleep: &Path, count: usize) -> Result<Reaper> {
    println!("$ {} 600   # ×{count}, killed at the end", sleep.display());
    let mut sleepers = Reaper::default();
    for _ in 0..count {
        let mut cmd = Command::new(sleep);
        cmd.arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        sleepers.spawn(&mut cmd)?;
    }
    Ok(sleepers)
}

fn count_processes() -> Result<usize> {
    Ok(proc_pids()?.count())
}

fn proc_pids() -> Result<impl Iterator<Item = std::ffi::OsString>> {
    let dir = std::fs::read_dir("/proc").map_err(|e| Error::io("cannot read /proc", e))?;
    Ok(dir
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.as_bytes().iter().all(u8::is_ascii_digit)))
}

/// The floor for any process scan: read every command line once, match a substring.
fn read_every_cmdline(needle: &[u8]) -> Result<usize> {
    let mut path = PathBuf::from("/proc");
    let mut buf = Vec::with_capacity(4096);
    let mut matches = 0;
    for pid in proc_pids()? {
        path.push(&pid);
        path.push("cmdline");
        buf.clear();
        let read = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut buf));
        if read.is_ok() && buf.windows(needle.len()).any(|w| w == needle) {
            matches += 1;
        }
        path.pop();
        path.pop();
    }
    Ok(matches)
}

// ------------------------------------------------------------------------ (c) start-up

fn startup(b: &Bench) -> Result<Vec<Row>> {
    let mut version = Command::new(&b.botctl);
    version.arg("--version");
    time_run(&mut version, &[0])?; // warm-up
    let took = median(&timed_runs(&mut version, VERSION_RUNS, &[0])?);
    Ok(vec![
        Row::new("botctl --version", millis(took)).goal("≤ 5 ms", took <= Duration::from_millis(5)),
    ])
}

// ------------------------------------------------------------------------ (d) conflict probe

fn conflict_probe(b: &Bench) -> Result<Vec<Row>> {
    let dir = TempDir::new("bench-probe")?;
    let api = start_fake_bot_api(b)?;
    println!("fake Bot API at {}", api.url());

    let mut poller = start_ptb_poller(b, &dir, &api.url())?;
    // PTB prints its ready line before its first getUpdates.
    wait_for_long_poll(&api, true)?;
    let config = dir.write("botctl.toml", &probe_config(&api.url(), "12s"))?;
    let mut doctor = b.botctl(&config, &["doctor", "--probe", "--json"]);
    doctor.env(TOKEN_ENV, FAKE_TOKEN).current_dir(dir.path());
    println!(
        "$ {}   # ×{PROBE_RUNS}, {}s apart (the poller finishes a long poll; PTB's back-off resets)",
        shown(&doctor),
        PROBE_SETTLE.as_secs()
    );
    let mut detected = Vec::new();
    let mut walls = Vec::new();
    for i in 0..PROBE_RUNS {
        if i > 0 {
            std::thread::sleep(PROBE_SETTLE);
            wait_for_long_poll(&api, true)?;
        }
        let (wall, out) = time_output(&mut doctor, &[0, 1])?;
        let (level, message) = probe_finding(&out)?;
        match detection_time(&message) {
            Some(after) => {
                println!(
                    "  probe {}: {level}, detected after {after:.1}s (doctor took {})",
                    i + 1,
                    secs(wall)
                );
                detected.push(Duration::from_secs_f64(after));
                walls.push(wall);
            }
            None => println!("  probe {}: MISSED ({level}: {message})", i + 1),
        }
    }
    if !poller.stop(Duration::from_secs(20)) {
        return Err(Error::new(
            "the PTB poller did not stop within 20 s of SIGTERM",
        ));
    }
    wait_for_long_poll(&api, false)?;

    let config = dir.write("botctl.toml", &probe_config(&api.url(), "6s"))?;
    let mut doctor = b.botctl(&config, &["doctor", "--probe", "--json"]);
    doctor.env(TOKEN_ENV, FAKE_TOKEN).current_dir(dir.path());
    println!("$ {}   # ×{PROBE_RUNS}, no poller", shown(&doctor));
    let mut false_positives = 0;
    for i in 0..PROBE_RUNS {
        let (_, out) = time_output(&mut doctor, &[0, 1])?;
        let (level, message) = probe_finding(&out)?;
        println!("  probe {}: {level}: {message}", i + 1);
        if message.contains("could not run") {
            return Err(Error::new(format!("the probe did not run: {message}")));
        }
        false_positives += usize::from(level == "error");
    }
    drop(api);

    let missed = PROBE_RUNS - detected.len();
    let detection = if detected.is_empty() {
        Row::new(
            "probe: detects the PTB poller",
            format!("missed {missed}/{PROBE_RUNS}"),
        )
        .goal("≤ 4.5 s", false)
    } else {
        let took = median(&detected);
        let mut row = Row::new("probe: detects the PTB poller", secs(took)).goal(
            "≤ 4.5 s",
            missed == 0 && took <= Duration::from_millis(4500),
        );
        if missed > 0 {
            row = row.ratio(format!("missed {missed}/{PROBE_RUNS}"));
        }
        row
    };
    let detection = detection.note(format!(
        "The probe detects the poller after the server's 3 s spacing of 409 answers: the \
         probe's long poll terminates the bot's, the bot's next poll (python-telegram-bot retries \
         after 1 s) terminates the probe's, and that 409 is held until 3 s after the first. It \
         heard the poller in {} of {PROBE_RUNS} probes and reported one in {false_positives} of \
         {PROBE_RUNS} probes with no poller. Between probes the benchmark waits for the bot to be \
         long-polling again, so every sample starts from the same state.",
        detected.len()
    ));
    let mut rows = vec![detection];
    if !walls.is_empty() {
        rows.push(Row::new(
            "  doctor --probe wall time, detected",
            secs(median(&walls)),
        ));
    }
    rows.push(
        Row::new(
            "probe: false positives, no poller",
            format!("{false_positives}/{PROBE_RUNS}"),
        )
        .goal("0", false_positives == 0),
    );
    Ok(rows)
}

// ------------------------------------------------------------------------ (e) doctor after dev-start

/// The state dev-start leaves: the app's machine stopped, its log buffer empty, so the fake
/// flyctl's `logs --no-tail` prints nothing and never exits (as flyctl does).
fn doctor_after_dev_start(b: &Bench) -> Result<Vec<Row>> {
    let dir = TempDir::new("bench-doctor")?;
    let flyctl = b.fake("flyctl");
    let state = dir.write(
        "fly-state.json",
        &serde_json::json!({
            "logged_in": true,
            "apps": {"bench-partner": {
                "machines": [{"id": "148ed193b95089", "state": "stopped", "region": "ams"}],
                "secrets": [{"name": TOKEN_ENV, "value": FAKE_TOKEN}],
                "logs": [],
            }},
        })
        .to_string(),
    )?;
    let api = start_fake_bot_api(b)?;
    let config = dir.write(
        "botctl.toml",
        &format!(
            "[fly]\nflyctl = {:?}\n\n{}fly_app = \"bench-partner\"\n",
            flyctl.display().to_string(),
            probe_config(&api.url(), "12s")
        ),
    )?;
    let doctor = |args: &[&str]| {
        let mut cmd = b.botctl(&config, args);
        cmd.env(TOKEN_ENV, FAKE_TOKEN)
            .env("FAKE_FLY_STATE", &state)
            .env("FAKE_FLY_NO_RECORD", "1")
            .current_dir(dir.path());
        cmd
    };

    let (_, out) = time_output(&mut doctor(&["doctor", "--json"]), &[0, 1])?;
    let doc = parse_json("botctl doctor --json", &out)?;
    let logs = doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["check"] == "logs")
        .ok_or_else(|| Error::new(format!("doctor --json has no `logs` finding: {doc}")))?;
    println!("logs finding: {}", logs["message"]);
    let empty = median(&timed_runs(&mut doctor(&["doctor"]), DOCTOR_RUNS, &[0, 1])?);

    let mut poller = start_ptb_poller(b, &dir, &api.url())?;
    wait_for_long_poll(&api, true)?;
    let mut probe = doctor(&["doctor", "--probe", "--json"]);
    println!("$ {}   # ×{DOCTOR_RUNS}, a live poller", shown(&probe));
    let mut walls = Vec::new();
    for i in 0..DOCTOR_RUNS {
        if i > 0 {
            std::thread::sleep(PROBE_SETTLE);
            wait_for_long_poll(&api, true)?;
        }
        let (wall, out) = time_output(&mut probe, &[0, 1])?;
        let (level, message) = probe_finding(&out)?;
        println!(
            "  run {}: {level}: {message} (doctor took {})",
            i + 1,
            secs(wall)
        );
        if detection_time(&message).is_none() {
            return Err(Error::new(format!(
                "the probe missed the poller: {message}"
            )));
        }
        walls.push(wall);
    }
    poller.stop(Duration::from_secs(20));
    drop(api);
    let probed = median(&walls);
    Ok(vec![
        Row::new(
            "doctor: right after dev-start, empty log buffer",
            secs(empty),
        )
        .goal("≤ 5 s", empty <= Duration::from_secs(5))
        .note(format!(
            "doctor reads `flyctl logs --no-tail` as it streams: flyctl prints a non-empty buffer \
             at once and exits, and on an empty buffer prints nothing and waits for ever, so no \
             first line within 3 s means \"empty\" and flyctl is stopped: right after dev-start \
             doctor took {}. With `--probe` it ends when the probe hears the poller's 409 ({}), \
             as the logs give up at the same time.",
            secs(empty),
            secs(probed)
        )),
        Row::new("doctor --probe: same, a live PTB poller", secs(probed))
            .goal("≤ 6.5 s", probed <= Duration::from_millis(6500)),
    ])
}

fn probe_config(api: &str, window: &str) -> String {
    // The poller runs as tests/fakes/ptb_bot.py, not bot.py: only the probe can see it.
    format!(
        "[telegram]\napi = {api:?}\nprobe = {window:?}\n\n\
         [[bot]]\nname = \"partner\"\nscript = \"bot.py\"\ntoken_env = \"{TOKEN_ENV}\"\n"
    )
}

fn start_fake_bot_api(b: &Bench) -> Result<BotApi> {
    BotApi::launch(&b.python, &[(FAKE_TOKEN, "benchbot")], &[]).map_err(double_failed)
}

fn wait_for_long_poll(api: &BotApi, pending: bool) -> Result<()> {
    api.wait_for_long_poll(FAKE_TOKEN, pending)
        .map_err(double_failed)
}

/// The real python-telegram-bot poller, ready once it prints its ready line.
fn start_ptb_poller(b: &Bench, dir: &TempDir, api: &str) -> Result<PtbBot> {
    let mut cmd = Command::new(&b.python);
    cmd.arg(b.fake("ptb_bot.py"))
        .env("BOT_TOKEN", FAKE_TOKEN)
        .env("BOTAPI_URL", api)
        .current_dir(dir.path());
    println!("$ {}", shown(&cmd));
    let poller = PtbBot::spawn(&mut cmd).map_err(double_failed)?;
    println!("poller: {}", test_support::READY_LINE);
    Ok(poller)
}

/// The `probe` finding of `doctor --json`: (level, message).
fn probe_finding(doctor_json: &str) -> Result<(String, String)> {
    let doc = parse_json("botctl doctor --probe --json", doctor_json)?;
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["check"] == "probe")
        .map(|f| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (text(&f["level"]), text(&f["message"]))
        })
        .ok_or_else(|| Error::new("doctor --probe --json has no `probe` finding"))
}

/// "… answered the probe after 3.2s …" → 3.2
fn detection_time(message: &str) -> Option<f64> {
    let (_, rest) = message.split_once("after ")?;
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    rest[number.len()..].starts_with('s').then_some(())?;
    number.parse().ok()
}

// ------------------------------------------------------------------------ handoff records

/// Runs of each variant of status with and without handoff records (interleaved).
const RECORD_RUNS: usize = 15;
/// `machine list` delay of the app in the handoff-record bench.
const RECORD_LIST_DELAY: Duration = Duration::from_millis(500);

/// One app of two stopped machines, once with a teammate's handoff record on both and once
/// without: status must cost the same (the records come in the same `machine list`), and make
/// the same flyctl calls.
fn status_with_records(b: &Bench) -> Result<Vec<Row>> {
    let dir = TempDir::new("bench-records")?;
    let flyctl = b.fake("flyctl");
    let state = |records: bool| {
        let machines: Vec<Value> = ["148ed193b95089", "9080e6f3a12345"]
            .iter()
            .map(|id| {
                let mut m = serde_json::json!({"id": id, "state": "stopped", "region": "ams"});
                if records {
                    m["metadata"] = serde_json::json!({
                        "botctl_by": "alice@mbp", "botctl_at": "2026-11-30T14:02:00Z",
                        "botctl_bot": "partner"});
                }
                m
            })
            .collect();
        serde_json::json!({
            "logged_in": true,
            "delay": {"list": RECORD_LIST_DELAY.as_secs_f64()},
            "apps": {"bench-partner": {"machines": machines}},
        })
        .to_string()
    };
    let with = dir.write("fly-with.json", &state(true))?;
    let without = dir.write("fly-without.json", &state(false))?;
    let config = dir.write(
        "botctl.toml",
        &format!(
            "[fly]\nflyctl = {:?}\n\n[[bot]]\nname = \"partner\"\nscript = \"partner.py\"\n\
             fly_app = \"bench-partner\"\n",
            flyctl.display().to_string()
        ),
    )?;
    let status = |fly: &Path, args: &[&str], record_calls: bool| {
        let mut cmd = b.botctl(&config, args);
        cmd.env("FAKE_FLY_STATE", fly)
            .env("BOTCTL_WHO", "bench@laptop")
            .current_dir(dir.path());
        if !record_calls {
            cmd.env("FAKE_FLY_NO_RECORD", "1");
        }
        cmd
    };

    // Checked once each: the records are read (a declared place), and the calls are the same.
    let mut calls = Vec::new();
    for (fly, declared) in [(&with, true), (&without, false)] {
        let (_, out) = time_output(&mut status(fly, &["status", "--json"], true), &[0, 1])?;
        let doc = parse_json("botctl status --json", &out)?;
        let bot = &doc["bots"][0];
        if bot["handoff"].is_null() == declared || bot["places"] != u8::from(declared) {
            return Err(Error::new(format!(
                "status did not read the handoff records as expected (records: {declared}): {bot}"
            )));
        }
        let log = std::fs::read_to_string(format!("{}.calls", fly.display())).unwrap_or_default();
        calls.push(log.lines().count());
    }

    println!(
        "$ {}   # ×{RECORD_RUNS}, interleaved with the same app without records",
        shown(&status(&with, &["status"], false))
    );
    let (mut with_times, mut without_times) = (Vec::new(), Vec::new());
    for _ in 0..RECORD_RUNS {
        with_times.push(time_run(&mut status(&with, &["status"], false), &[0, 1])?);
        without_times.push(time_run(
            &mut status(&without, &["status"], false),
            &[0, 1],
        )?);
    }
    let (with_m, without_m) = (median(&with_times), median(&without_times));
    let ratio = with_m.as_secs_f64() / without_m.as_secs_f64();
    Ok(vec![
        Row::new(
            "status: a teammate's handoff records on 2 machines (list 0.5 s)",
            millis(with_m),
        )
        .ratio(format!(
            "{ratio:.2} × without; flyctl calls {} vs {}",
            calls[0], calls[1]
        ))
        .goal("≤ 1.05, same calls", ratio <= 1.05 && calls[0] == calls[1])
        .note(format!(
            "The records come with the `machine list` status makes anyway: {} with records, {} \
             without ({ratio:.2} ×), {} flyctl calls against {}.",
            millis(with_m),
            millis(without_m),
            calls[0],
            calls[1]
        )),
        Row::new("  status: the same app without records", millis(without_m)),
    ])
}

// ------------------------------------------------------------------------ measuring

/// Wall time of one run, output discarded; exit codes in `ok` count as success.
fn time_run(cmd: &mut Command, ok: &[i32]) -> Result<Duration> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let status = cmd.status().map_err(|e| Error::could_not_run(cmd, &e))?;
    let took = started.elapsed();
    match status.code() {
        Some(code) if ok.contains(&code) => Ok(took),
        _ => Err(Error::new(format!("`{}` failed ({status})", shown(cmd)))),
    }
}

fn timed_runs(cmd: &mut Command, runs: usize, ok: &[i32]) -> Result<Vec<Duration>> {
    println!("$ {}   # ×{runs}", shown(cmd));
    (0..runs).map(|_| time_run(cmd, ok)).collect()
}

/// Wall time and stdout of one run; a failure shows the command's stderr.
fn time_output(cmd: &mut Command, ok: &[i32]) -> Result<(Duration, String)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let out = cmd.output().map_err(|e| Error::could_not_run(cmd, &e))?;
    let took = started.elapsed();
    match out.status.code() {
        Some(code) if ok.contains(&code) => Ok((took, String::from_utf8_lossy(&out.stdout).into())),
        _ => Err(Error::new(format!(
            "`{}` failed ({}): {}",
            shown(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn needed_program(name: &str) -> Result<PathBuf> {
    find_program(name).ok_or_else(|| Error::new(format!("`{name}` is not on PATH")))
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

// ------------------------------------------------------------------------ report

struct Row {
    name: String,
    median: String,
    ratio: String,
    goal: String,
    met: Option<bool>,
    /// What the figures of this benchmark mean, written from this run's own figures.
    note: Option<String>,
}

impl Row {
    fn new(name: impl Into<String>, median: String) -> Row {
        Row {
            name: name.into(),
            median,
            ratio: String::new(),
            goal: String::new(),
            met: None,
            note: None,
        }
    }

    fn ratio(mut self, ratio: String) -> Row {
        self.ratio = ratio;
        self
    }

    fn goal(mut self, goal: &str, met: bool) -> Row {
        self.goal = goal.into();
        self.met = Some(met);
        self
    }

    fn note(mut self, note: String) -> Row {
        self.note = Some(note);
        self
    }
}

/// Where and when the figures were measured.
struct Machine {
    cores: usize,
    kernel: String,
    /// The load average over the last minute, at the start.
    load: String,
    at: String,
    commit: String,
}

impl Machine {
    fn now(root: &Path) -> Machine {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let at = Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Machine {
            cores: cores(),
            kernel: kernel.trim().to_string(),
            load: load.split_whitespace().next().unwrap_or("?").to_string(),
            at,
            commit: crate::build_script::commit(root).0,
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// The run in markdown: where, the table, then each benchmark's note, all from this run.
fn report(machine: &Machine, rows: &[Row]) -> String {
    let mut out = format!(
        "Measured {} at {}, release build, {} cores, Linux {}, load average {} at the start.\n\n",
        machine.at, machine.commit, machine.cores, machine.kernel, machine.load
    );
    out.push_str(&table(rows));
    for row in rows {
        if let Some(note) = &row.note {
            out.push_str(&format!("\n**{}**: {note}\n", row.name.trim()));
        }
    }
    out
}

/// BENCHMARKS.md: a fixed introduction, then the report of one whole run.
fn benchmarks_md(report: &str) -> String {
    format!(
        "# Benchmarks\n\n\
         <!-- Written by `cargo xtask bench --write` (xtask/src/bench.rs): run it again rather \
         than edit this file. -->\n\n\
         How fast botctl is against the Speed goals of [docs/contract.md](docs/contract.md#speed), \
         measured with `cargo xtask bench` on the test doubles \
         ([xtask/src/bench.rs](xtask/src/bench.rs)): every figure and every sentence about one \
         comes from the same run. Rows indented under a benchmark are its floor and comparisons, \
         measured in the same run. `cargo xtask bench NAME` runs only matching benchmarks and \
         writes nothing.\n\n{report}"
    )
}

/// Written beside, then renamed over: a failed write leaves the old file whole.
fn write_file(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

fn table(rows: &[Row]) -> String {
    let header = ["benchmark", "median", "ratio", "goal", "met?"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            // A comparison row sits under its benchmark, indented.
            let name = match r.name.strip_prefix("  ") {
                Some(under) => format!("&nbsp;&nbsp;{under}"),
                None => r.name.clone(),
            };
            [
                name,
                r.median.clone(),
                r.ratio.clone(),
                r.goal.clone(),
                met.into(),
            ]
        })
        .collect();
    let line = |cols: &[String]| format!("| {} |\n", cols.join(" | "));
    let mut out = line(&header.map(String::from));
    out.push_str(&line(&header.map(|_| "---".to_string())));
    for c in &cells {
        out.push_str(&line(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{detection_time, median};

    #[test]
    fn detection_time_is_read_from_the_probe_message() {
        assert_eq!(
            detection_time("a live poller answered the probe after 3.2s (409 Conflict)"),
            Some(3.2)
        );
        assert_eq!(detection_time("after 12s"), Some(12.0));
        assert_eq!(detection_time("no poller answered within 6s"), None);
        assert_eq!(detection_time("after 3.2 seconds"), None);
    }

    #[test]
    fn median_of_odd_even_and_none() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(
            median(&[ms(4), ms(1), ms(2), ms(3)]),
            Duration::from_micros(2500)
        );
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
