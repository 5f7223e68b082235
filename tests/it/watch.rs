//! `botctl watch`: the real botctl watching real processes that start and stop, the fake
//! flyctl whose machines change state and whose log buffer grows while botctl streams it,
//! and the fake Bot API's webhook. Assertions on the JSON lines, as they come.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const MACHINE: &str = "148ed193b95089";
/// How long a test waits for an event botctl should print within a few seconds.
const EVENT_LIMIT: Duration = Duration::from_secs(60);

fn config(world: &World, api: &str) -> Toml {
    Toml::new()
        .watch_local("300ms")
        .watch_fly("1s")
        .fly_timeout("10s")
        .telegram_api(api)
        .bot(
            Bot::script("partner", &world.script("bot.py"))
                .fly_app(APP)
                .token_env("PARTNER_BOT_TOKEN"),
        )
}

/// A world with partner's script, its token in .env, a started machine and a log buffer.
fn world_with(api: &str, token: &str) -> World {
    let world = World::configured(|w| config(w, api));
    world.write_sleeper(world.script("bot.py"));
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    world.fly_state(fly_apps(&[(
        APP,
        vec![json!({"id": MACHINE, "state": "started", "region": "ams"})],
    )]));
    world
}

/// `secs` seconds from now as flyctl stamps log lines (negative: in the past).
fn stamp(secs: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", now + secs),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn conflict_line(machine: &str, text: &str) -> String {
    format!(
        "{} app[{machine}] ams [info]telegram.error.Conflict: Conflict: terminated by other \
getUpdates request{text}",
        stamp(0)
    )
}

/// `botctl watch --json …` running, its lines collected as they come.
struct Watching {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
}

impl Watching {
    fn start(world: &World, args: &[&str]) -> Watching {
        Watching::start_under(world, &[], args)
    }

    /// Run by a wrapper (`unshare …`), with the environment `botctl_process` gives botctl.
    fn start_under(world: &World, wrapper: &[&str], args: &[&str]) -> Watching {
        let mut argv = vec!["watch", "--json"];
        argv.extend(args);
        let inner = world.botctl_process(&argv);
        let mut cmd = match wrapper.split_first() {
            None => inner,
            Some((program, rest)) => {
                let mut cmd = std::process::Command::new(program);
                cmd.args(rest)
                    .arg(inner.get_program())
                    .args(inner.get_args())
                    .current_dir(world.root())
                    .env_clear();
                for (key, value) in inner.get_envs() {
                    if let Some(value) = value {
                        cmd.env(key, value);
                    }
                }
                cmd
            }
        };
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start botctl watch");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn({
            let lines = Arc::clone(&lines);
            move || {
                for line in BufReader::new(stdout)
                    .lines()
                    .map_while(std::result::Result::ok)
                {
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| json!({"not_json": line, "error": e.to_string()}));
                    lines.lock().unwrap().push(v);
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn({
            let stderr = Arc::clone(&stderr);
            move || {
                let mut s = String::new();
                let _ = err.read_to_string(&mut s);
                stderr.lock().unwrap().push_str(&s);
            }
        });
        Watching {
            child,
            lines,
            stderr,
        }
    }

    fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// The first line for which `pred` holds, waiting for it up to [`EVENT_LIMIT`].
    #[track_caller]
    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let mut found = None;
        wait_until(EVENT_LIMIT, || {
            found = self.lines().into_iter().find(|v| pred(v));
            found.is_some()
        });
        found.unwrap_or_else(|| {
            panic!(
                "no {what} event within {EVENT_LIMIT:?}; lines:\n{}\nstderr:\n{}",
                self.lines()
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.stderr.lock().unwrap()
            )
        })
    }

    /// Ctrl-C as a terminal's (SIGINT) to botctl (run by a wrapper: the botctl under it), then
    /// what it printed and its exit code.
    fn interrupt(self) -> (i32, Vec<Value>) {
        let mut pid = self.child.id();
        while !cmdline(pid)
            .and_then(|argv| argv.first().cloned())
            .is_some_and(|a| a.ends_with("botctl"))
        {
            match children(pid).first() {
                Some(child) => pid = *child,
                None => break,
            }
        }
        kill(pid, nix::sys::signal::Signal::SIGINT);
        self.finish(Duration::from_secs(20))
    }

    /// Waits (up to `limit`) for it to end by itself.
    fn finish(mut self, limit: Duration) -> (i32, Vec<Value>) {
        let mut status = None;
        wait_until(limit, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        let Some(status) = status else {
            let _ = self.child.kill();
            panic!(
                "botctl watch did not end within {limit:?}: {:?}",
                self.lines()
            );
        };
        // Its stdout is closed once it exited: the reader has every line soon after.
        wait_until(Duration::from_secs(5), || {
            self.lines().last().is_some_and(|l| l["event"] == "summary")
        });
        (status.code().unwrap_or(-1), self.lines())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill(pid: u32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
}

fn position(lines: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    lines
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("not found in {lines:#?}"))
}

#[test]
fn watch_reports_a_copy_a_409_with_its_minute_before_a_machine_change_and_the_copy_going() {
    let token = token(1901);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = world_with(&api.url(), &token);
    let w = Watching::start(&world, &[]);
    let found = w.wait_for("initial machine", |e| {
        e["event"] == "machine" && e["machine"] == MACHINE
    });
    assert_eq!(found["initial"], true, "{found}");
    assert_eq!(found["state"], "started");

    let bot_py = world.script("bot.py");
    let copy = world.spawn(&["python3", &bot_py], world.root());
    let pid = copy.pid();
    let appeared = w.wait_for("appeared", |e| e["event"] == "appeared" && e["pid"] == pid);
    assert_eq!(appeared["bot"], "partner");
    assert!(appeared["host"].is_null());
    assert!(appeared["at"].as_str().unwrap().ends_with('Z'));

    world.fly_apply(json!([{"op": "log", "app": APP, "line": conflict_line(MACHINE, "")}]));
    let conflict = w.wait_for("409", |e| e["event"] == "409");
    assert_eq!(conflict["machine"], MACHINE, "{conflict}");
    let places: Vec<&str> = conflict["places"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        places.contains(&format!("local pid {pid}").as_str()),
        "{conflict}"
    );
    assert!(
        places.contains(&format!("machine {MACHINE} (started)").as_str()),
        "{conflict}"
    );
    let before = conflict["before"].as_array().unwrap();
    assert!(
        before.iter().any(|b| b["change"]
            .as_str()
            .is_some_and(|c| c.starts_with(&format!("local pid {pid} appeared")))),
        "{conflict}"
    );

    // Someone stops the machine: a state change, with the source of its newest event.
    world.fly_apply(json!([{"op": "machine", "app": APP, "id": MACHINE,
        "set": {"pending": {"to": "stopped", "at": 0, "source": "user"}}}]));
    let stopped = w.wait_for("machine stopped", |e| {
        e["event"] == "machine" && e["state"] == "stopped"
    });
    assert_eq!(stopped["change"], "state");
    assert_eq!(stopped["from"], "started");
    assert!(
        stopped["source"].as_str().unwrap().contains("user"),
        "{stopped}"
    );

    // A webhook set from elsewhere is a place, and an event.
    api.set_webhook(&token, "https://example.com/hook");
    let hook = w.wait_for("webhook", |e| e["event"] == "webhook");
    assert_eq!(hook["change"], "set");

    drop(copy);
    w.wait_for("gone", |e| e["event"] == "gone" && e["pid"] == pid);

    let (code, lines) = w.interrupt();
    assert_eq!(code, 1, "a 409 was seen: {lines:#?}");
    let at = |kind: &str| position(&lines, |e| e["event"] == kind && e["pid"] == pid);
    let conflict_at = position(&lines, |e| e["event"] == "409");
    assert!(
        at("appeared") < conflict_at && conflict_at < at("gone"),
        "{lines:#?}"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary", "{lines:#?}");
    assert_eq!(summary["bots"]["partner"]["409s"], 1);
    assert_eq!(
        summary["bots"]["partner"]["appeared"],
        json!([format!("local pid {pid}")])
    );
    assert_eq!(
        summary["bots"]["partner"]["gone"],
        json!([format!("local pid {pid}")])
    );
    // Every line is one JSON object, and no token reached any of them.
    for l in &lines {
        assert!(l.get("not_json").is_none(), "{l}");
        assert!(!l.to_string().contains(&token[11..]), "{l}");
    }
}

#[test]
fn watch_names_the_shell_loop_that_starts_a_copy_again() {
    let world = world_with(&dead_url(), &token(1902));
    let bot_py = world.script("bot.py");
    let w = Watching::start(&world, &[]);
    w.wait_for("initial machine", |e| e["event"] == "machine");
    // A cron-like parent: a shell that runs the bot again whenever it exits.
    let shell = world.spawn(
        &[
            "sh",
            "-c",
            &format!("while :; do python3 {bot_py}; sleep 0.2; done"),
        ],
        world.root(),
    );
    let first = shell.wait_child(&["python3", &bot_py]);
    let appeared = w.wait_for("appeared", |e| {
        e["event"] == "appeared" && e["pid"] == first
    });
    let by = appeared["started_by"].as_str().unwrap_or_default();
    assert!(by.contains("shell loop"), "{appeared}");
    assert!(by.contains(&shell.pid().to_string()), "{appeared}");
    // The copy dies; the loop starts another: gone, then appeared with a new pid.
    kill(first, nix::sys::signal::Signal::SIGKILL);
    w.wait_for("gone", |e| e["event"] == "gone" && e["pid"] == first);
    let again = w.wait_for("appeared again", |e| {
        e["event"] == "appeared" && e["pid"] != first && e["pid"].is_u64()
    });
    assert!(again["started_by"].as_str().unwrap().contains("shell loop"));
    drop(shell);
    let (_, lines) = w.interrupt();
    let summary = lines.last().unwrap();
    assert!(
        summary["bots"]["partner"]["gone"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("local pid {first}"))),
        "{summary}"
    );
}

#[test]
fn a_409_names_the_copy_cron_started_in_the_minute_before() {
    let world = world_with(&dead_url(), &token(1908));
    let bot_py = world.script("bot.py");
    let w = Watching::start(&world, &[]);
    w.wait_for("initial machine", |e| e["event"] == "machine");
    // /bin/sh running a one-line job, with the argv of cron (as the cron daemon's child is).
    world.write("job.sh", &format!("python3 {bot_py}\necho done\n"));
    let cron = world.spawn_disguised(&["/usr/sbin/cron", "-f", "job.sh"], world.root());
    let pid = cron.wait_child(&["python3", &bot_py]);
    let appeared = w.wait_for("appeared", |e| e["event"] == "appeared" && e["pid"] == pid);
    assert_eq!(
        appeared["started_by"],
        format!("cron (pid {})", cron.pid()),
        "{appeared}"
    );
    world.fly_apply(json!([{"op": "log", "app": APP, "line": conflict_line(MACHINE, "")}]));
    let conflict = w.wait_for("409", |e| e["event"] == "409");
    let change = format!(
        "local pid {pid} appeared, started by cron (pid {})",
        cron.pid()
    );
    assert!(
        conflict["before"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["change"] == change.as_str() && b["secs"].as_u64().is_some_and(|s| s <= 60)),
        "{conflict}"
    );
    drop(cron);
    let (code, _) = w.interrupt();
    assert_eq!(code, 1);
}

/// A copy on a `[[host]]` (this machine through a real sshd on loopback; botctl in its own PID
/// namespace, so its local scan sees only itself: see tests/it/hosts.rs).
#[test]
#[ignore = "needs root"]
fn a_copy_on_a_host_appears_and_goes_with_the_host_named() {
    const ISOLATED: &[&str] = &["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];
    require_root("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    let world = world_with(&dead_url(), &token(1909));
    let config = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    world.write_config(format!(
        "{}\n{}",
        config.replace("fly = \"1s\"", "fly = \"1s\"\nhosts = \"1s\""),
        sshd.host_table("vps", "client_key", "10s")
    ));
    // Ended once both events came (a `--for` long enough on an idle machine is not on a busy
    // one: the copy would come and go after watch had ended).
    let w = Watching::start_under(&world, ISOLATED, &["--for", "10m"]);
    w.wait_for("initial machine", |e| e["event"] == "machine");
    let bot_py = world.script("bot.py");
    let copy = world.spawn(&["python3", &bot_py], world.root());
    let pid = copy.pid();
    let appeared = w.wait_for("appeared on the host", |e| {
        e["event"] == "appeared" && e["pid"] == pid
    });
    assert_eq!(appeared["host"], "vps", "{appeared}");
    drop(copy);
    let gone = w.wait_for("gone from the host", |e| {
        e["event"] == "gone" && e["pid"] == pid
    });
    assert_eq!(gone["host"], "vps");
    let (_, lines) = w.interrupt();
    let summary = lines.last().unwrap();
    assert_eq!(
        summary["bots"]["partner"]["appeared"],
        json!([format!("host vps pid {pid}")]),
        "{summary}"
    );
}

#[test]
fn watch_for_ends_by_itself_with_a_summary_and_exit_0_when_nothing_happened() {
    let world = world_with(&dead_url(), &token(1903));
    world.fly_apply(json!([{"op": "machine", "app": APP, "id": MACHINE,
        "set": {"state": "stopped"}}]));
    let started = Instant::now();
    let w = Watching::start(&world, &["--for", "3s"]);
    let (code, lines) = w.finish(Duration::from_secs(20));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(code, 0, "{lines:#?}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["trouble"], false);
    assert!(summary["watched_secs"].as_u64().unwrap() >= 3);
    // Nothing of flyctl is left running: the log stream ended with botctl.
    let flyctl = fake("flyctl");
    assert!(
        wait_until(Duration::from_secs(5), || {
            pids_with_arg(flyctl.to_str().unwrap())
                .into_iter()
                .filter_map(cmdline)
                .all(|argv| !argv.iter().any(|a| a == APP))
        }),
        "a flyctl for {APP} outlived botctl watch"
    );
}

/// A stream that ends is said in an event, and started again after a growing back-off.
#[test]
fn a_log_stream_that_dies_is_said_and_started_again_with_a_back_off() {
    let world = world_with(&dead_url(), &token(1904));
    world.fly_apply(json!([{"op": "set", "key": "stream_error",
        "value": {"after": 0.5, "message": "failed to stream logs: unexpected EOF"}}]));
    let w = Watching::start(&world, &[]);
    let first = w.wait_for("logs ended", |e| {
        e["event"] == "logs" && e["trouble"] == "ended"
    });
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("unexpected EOF"),
        "{first}"
    );
    assert_eq!(first["retry_in"], 1);
    let second = w.wait_for("logs ended twice", |e| {
        e["event"] == "logs" && e["retry_in"] == 2
    });
    assert_eq!(second["app"], APP);
    // Started again: a new stream catches a 409 once the network is back.
    world.fly_apply(json!([{"op": "set", "key": "stream_error", "value": null}]));
    world.fly_apply(json!([{"op": "log", "app": APP, "line": conflict_line(MACHINE, "")}]));
    w.wait_for("409 after restarts", |e| e["event"] == "409");
    let streams = world
        .fly_calls()
        .iter()
        .filter(|a| a.first().is_some_and(|c| c == "logs") && !a.contains(&"--no-tail".into()))
        .count();
    assert!(streams >= 3, "{streams} flyctl logs streams");
    let (code, _) = w.interrupt();
    assert_eq!(code, 1);
}

/// A stream that prints nothing is bounded: stopped after the silence bound (6 × fly).
#[test]
fn a_log_stream_that_hangs_is_stopped_said_and_started_again() {
    let world = world_with(&dead_url(), &token(1905));
    world.fly_apply(json!([{"op": "set", "key": "hang", "value": ["stream"]}]));
    let started = Instant::now();
    let w = Watching::start(&world, &[]);
    let silent = w.wait_for("logs silent", |e| {
        e["event"] == "logs" && e["trouble"] == "silent"
    });
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(6) && took < Duration::from_secs(15),
        "{took:?}"
    );
    assert!(
        silent["message"]
            .as_str()
            .unwrap()
            .contains("printed nothing for 6s"),
        "{silent}"
    );
    wait_until(EVENT_LIMIT, || {
        world
            .fly_calls()
            .iter()
            .filter(|a| a.first().is_some_and(|c| c == "logs"))
            .count()
            >= 2
    });
    let (code, lines) = w.interrupt();
    assert_eq!(code, 0, "{lines:#?}");
    // The hung flyctl was killed, not left behind.
    let flyctl = fake("flyctl");
    assert!(wait_until(Duration::from_secs(5), || {
        pids_with_arg(flyctl.to_str().unwrap())
            .into_iter()
            .filter_map(cmdline)
            .all(|argv| !argv.iter().any(|a| a == APP))
    }));
}

#[test]
fn watch_reports_machines_created_destroyed_and_handoff_records() {
    let world = world_with(&dead_url(), &token(1906));
    let w = Watching::start(&world, &[]);
    w.wait_for("initial machine", |e| e["event"] == "machine");
    // A deploy's second machine, then the old one destroyed.
    world.fly_apply(json!([{"op": "machine", "app": APP, "id": "9080e6f3a12345",
        "set": {"state": "started", "events": [{"type": "launch", "status": "created",
                "source": "user", "timestamp": 1764059000000u64}]}}]));
    let created = w.wait_for("created", |e| e["change"] == "created");
    assert_eq!(created["machine"], "9080e6f3a12345");
    assert!(
        created["source"].as_str().unwrap().contains("deploy"),
        "{created}"
    );
    world.fly_apply(json!([{"op": "remove", "app": APP, "id": MACHINE}]));
    let destroyed = w.wait_for("destroyed", |e| e["change"] == "destroyed");
    assert_eq!(destroyed["machine"], MACHINE);
    // A handoff record written on the remaining machine, then cleared.
    world.fly_apply(json!([{"op": "machine", "app": APP, "id": "9080e6f3a12345",
        "set": {"metadata": {"botctl_by": "alice@mbp", "botctl_at": "2026-11-25T10:00:00Z",
                             "botctl_bot": "partner"}}}]));
    let written = w.wait_for("handoff written", |e| {
        e["event"] == "handoff" && e["change"] == "written"
    });
    assert_eq!(written["by"], "alice@mbp");
    world.fly_apply(json!([{"op": "machine", "app": APP, "id": "9080e6f3a12345",
        "set": {"metadata": {"botctl_by": ""}}}]));
    w.wait_for("handoff cleared", |e| {
        e["event"] == "handoff" && e["change"] == "cleared"
    });
    let (code, lines) = w.interrupt();
    // Two started machines at once is a conflict: exit 1 without any 409.
    assert_eq!(code, 1, "{lines:#?}");
    assert_eq!(lines.last().unwrap()["bots"]["partner"]["most_places"], 2);
}

#[test]
fn ctrl_c_on_a_terminal_ends_watch_with_the_summary() {
    use expectrl::Expect;
    let world = world_with(&dead_url(), &token(1907));
    let mut p = world.botctl_pty(&["watch"]);
    // On a terminal: the events as lines, and the live status line under them.
    p.expect(format!("machine {MACHINE} of {APP} is started"))
        .unwrap();
    p.expect("409s so far: 0").unwrap();
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    p.expect("Watched for").unwrap();
    p.expect("partner: 0 409s").unwrap();
    p.expect(expectrl::Eof).unwrap();
    let status = format!("{:?}", p.get_process().wait().unwrap());
    assert!(status.ends_with(", 0)"), "{status}");
}

/// Secrets are masked however a log line arrives: a token lying across watch's 64 KiB cut of
/// a long line, and a webhook secret quoted in a 409 line before anything else of botctl ever
/// needed the secret.
#[test]
fn a_token_across_the_line_cut_and_the_webhook_secret_are_never_printed() {
    let token = token(1926);
    let hook_secret = "whsec_never_printed_0123456789";
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::configured(|w| {
        config(w, &api.url()).bot(
            Bot::script("hooked", &w.script("hook.py"))
                .fly_app("lb-hooked")
                .token_env("PARTNER_BOT_TOKEN")
                .mode("webhook")
                .webhook_secret_env("HOOK_SECRET"),
        )
    });
    world.write(
        ".env",
        &format!("PARTNER_BOT_TOKEN={token}\nHOOK_SECRET={hook_secret}\n"),
    );
    world.fly_state(fly_apps(&[
        (
            APP,
            vec![json!({"id": MACHINE, "state": "started", "region": "ams"})],
        ),
        ("lb-hooked", vec![]),
    ]));
    let w = Watching::start(&world, &["--for", "60s"]);
    w.wait_for("initial machine", |e| {
        e["event"] == "machine" && e["machine"] == MACHINE
    });
    // The token starts 20 bytes before the 64 KiB cut: split there, neither half looks like
    // a token nor matches one.
    let head = conflict_line(MACHINE, " ");
    let pad = 64 * 1024 - 20 - head.len() - 1;
    let long = conflict_line(
        MACHINE,
        &format!(" {}{token} {}", "x".repeat(pad), "y".repeat(3000)),
    );
    let hooked = conflict_line(
        MACHINE,
        &format!(" (Conflict: terminated by setWebhook request, secret_token={hook_secret})"),
    );
    world.fly_apply(json!([
        {"op": "log", "app": APP, "line": long},
        {"op": "log", "app": APP, "line": hooked},
    ]));
    w.wait_for("the 409 quoting the secret", |e| {
        e["event"] == "409" && e["line"].as_str().is_some_and(|l| l.contains("setWebhook"))
    });
    let (_, lines) = w.interrupt();
    let conflicts: Vec<&Value> = lines.iter().filter(|e| e["event"] == "409").collect();
    assert_eq!(conflicts.len(), 2, "one event per line: {lines:#?}");
    let secret_half = token.split_once(':').unwrap().1;
    for l in &lines {
        let text = l.to_string();
        for (what, part) in [
            ("the token's start", &secret_half[..11]),
            ("the token's end", &secret_half[secret_half.len() - 12..]),
            ("the webhook secret", hook_secret),
        ] {
            assert!(
                !text.contains(part),
                "{what} was printed: {}",
                &text[..300.min(text.len())]
            );
        }
    }
}
