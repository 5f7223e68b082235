//! Round three of the red team: what another local user (uid 65534 here), a hostile file or
//! a flood of output does to botctl run as root. Each test reproduces one attack and checks the
//! rule that stops it: never run another user's programs, only regular files, capped reads,
//! escaped outside text, a quiet closed pipe, an end within a second of SIGTERM.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::config::{Bot, Host, Toml};
use test_support::*;

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

/// A folder another user (65534) owns and can use, outside the project.
#[cfg(target_os = "linux")]
fn others_folder() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("botctl-other-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn executable(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A program that, when run, leaves `marker` behind: proof that botctl ran it.
#[cfg(target_os = "linux")]
fn tripwire(path: &std::path::Path, marker: &std::path::Path) {
    executable(
        path,
        &format!("#!/bin/sh\ntouch '{}'\necho tripped\n", marker.display()),
    );
}

/// Runs `argv` as uid 65534 in `cwd` (setpriv), shown in /proc as `shown`.
#[cfg(target_os = "linux")]
fn as_other_user(world: &World, argv: &[&str], cwd: &std::path::Path, shown: &[&str]) -> Proc {
    let mut full = vec![
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    full.extend(argv);
    world.spawn_showing(&full, cwd, shown)
}

/// Python that starts `python3 SCRIPT` (a sleeper) in its folder and waits: a daemon whose
/// child is a bot.
#[cfg(target_os = "linux")]
const DAEMON: &str = "#!/usr/bin/env python3\nimport subprocess, sys, time\n\
subprocess.Popen(['python3', sys.argv[-1]])\ntime.sleep(600)\n";

// Linux only: setpriv runs the other user's process.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root"]
fn another_users_supervisord_is_named_not_asked_and_its_fifo_config_not_read() {
    require_root("runs a fake supervisord as another user");
    let world = World::configured(partner);
    let other = others_folder();
    let bin = other.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let marker = world.path("supervisorctl-ran");
    executable(&bin.join("supervisord"), DAEMON);
    tripwire(&bin.join("supervisorctl"), &marker);
    // A supervisorctl on PATH too: botctl must not run either for another user's daemon.
    tripwire(&world.bin().join("supervisorctl"), &marker);
    let fifo = other.path().join("supervisord.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
    let script = world.script("bot.py");
    std::fs::write(other.path().join(&script), SLEEPER).unwrap();
    let daemon_path = bin.join("supervisord");
    let daemon_path = daemon_path.to_str().unwrap();
    let fifo_arg = fifo.to_str().unwrap();
    let daemon = as_other_user(
        &world,
        &["python3", daemon_path, "-c", fifo_arg, &script],
        other.path(),
        &["python3", daemon_path, "-c", fifo_arg, &script],
    );
    let child = daemon.wait_child(&["python3", &script]);

    let started = Instant::now();
    let run = run(world
        .botctl()
        .args(["status", "--json"])
        .timeout(Duration::from_secs(30)));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a FIFO config hung status"
    );
    let json = run.json();
    // Another user's copy outside the project: maybe partner, its supervisor named all the same.
    let maybe = &bot(&json, "partner")["maybe"];
    let instance = maybe
        .as_array()
        .and_then(|l| l.iter().find(|i| i["pid"] == child))
        .unwrap_or_else(|| panic!("pid {child} not in {maybe:#}"));
    assert_eq!(instance["supervisor"]["kind"], "supervisord", "{instance}");
    let stop = instance["supervisor"]["stop"].as_str().unwrap();
    assert!(stop.contains("supervisord of user 65534"), "{stop}");
    assert!(
        !marker.exists(),
        "botctl ran a supervisorctl for another user's daemon"
    );

    // doctor reads the daemons' configs for autostart entries: not another user's FIFO.
    let run = test_support::run(
        world
            .botctl()
            .args(["doctor", "--json"])
            .timeout(Duration::from_secs(30)),
    );
    assert!(
        run.elapsed < Duration::from_secs(15),
        "doctor took {:?}",
        run.elapsed
    );
    assert!(!marker.exists());
}

// Linux only: setpriv runs the other user's process.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root"]
fn another_users_pm2_daemon_is_never_asked() {
    require_root("runs a fake pm2 daemon as another user");
    let world = World::configured(partner);
    let other = others_folder();
    let home = other.path().join(".pm2");
    std::fs::create_dir(&home).unwrap();
    // A socket file where pm2 looks for its daemon: botctl must still not run pm2 there.
    std::fs::write(home.join("rpc.sock"), "").unwrap();
    let marker = world.path("pm2-ran");
    tripwire(&world.bin().join("pm2"), &marker);
    let script = world.script("bot.py");
    std::fs::write(other.path().join(&script), SLEEPER).unwrap();
    let daemon_py = other.path().join("daemon.py");
    executable(&daemon_py, DAEMON);
    let title = format!("PM2 v5.3.0: God Daemon ({})", home.display());
    let daemon = as_other_user(
        &world,
        &[
            "/bin/bash",
            "-c",
            &format!("exec -a '{title}' python3 daemon.py {script}"),
        ],
        other.path(),
        &[&title, "daemon.py", &script],
    );
    let child = daemon.wait_child(&["python3", &script]);
    let json = world.run(&["status", "--json"]).json();
    // Another user's copy outside the project: maybe partner, its supervisor named all the same.
    let maybe = &bot(&json, "partner")["maybe"];
    let instance = maybe
        .as_array()
        .and_then(|l| l.iter().find(|i| i["pid"] == child))
        .unwrap_or_else(|| panic!("pid {child} not in {maybe:#}"));
    assert_eq!(instance["supervisor"]["kind"], "pm2", "{instance}");
    let stop = instance["supervisor"]["stop"].as_str().unwrap();
    assert!(stop.contains("pm2 of user 65534"), "{stop}");
    assert!(
        !marker.exists(),
        "botctl ran pm2 against another user's home"
    );
}

#[test]
fn a_fifo_or_a_device_among_the_bots_files_hangs_nothing() {
    let world = World::new();
    world.write(
        "admin_bot.py",
        "import os\nfrom telegram.ext import Application\n\
app = Application.builder().token(os.environ['ADMIN_BOT_TOKEN']).build()\napp.run_polling()\n",
    );
    nix::unistd::mkfifo(
        &world.path("x_pipe.py"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", world.path("zero.py")).unwrap();
    let run = run(world
        .botctl()
        .args(["init", "--yes"])
        .timeout(Duration::from_secs(20)));
    run.expect_code(0);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "init took {:?}",
        run.elapsed
    );
    let toml = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(toml.contains("admin_bot.py"), "{toml}");
    assert!(
        !toml.contains("x_pipe") && !toml.contains("zero.py"),
        "{toml}"
    );

    // Completion with --config naming a FIFO answers at once (and offers nothing).
    let fifo = world.path("pipe.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let run = test_support::run(
        world
            .botctl()
            .env("COMPLETE", "bash")
            .args(["--", "botctl", "--config", "pipe.toml", "dev-start", ""])
            .timeout(Duration::from_secs(20)),
    );
    assert!(
        run.elapsed < Duration::from_secs(5),
        "completion took {:?}",
        run.elapsed
    );
}

#[test]
fn a_loops_script_swapped_for_dev_zero_is_not_read_whole() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let run_sh = world.path("run.sh");
    std::fs::write(
        &run_sh,
        format!("while true; do python3 {script}; sleep 1; done\n"),
    )
    .unwrap();
    let shell = world.spawn(&["sh", "./run.sh"], world.root());
    shell.wait_child(&["python3", &script]);
    std::fs::remove_file(&run_sh).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &run_sh).unwrap();
    let run = run(world
        .botctl()
        .args(["status", "--json"])
        .timeout(Duration::from_secs(30)));
    assert!(
        run.elapsed < Duration::from_secs(5),
        "status took {:?}",
        run.elapsed
    );
    assert_eq!(local_pids(bot(&run.json(), "partner")).len(), 1);
}

/// A Bot API that accepts connections and never answers: botctl waits on it in a thread.
/// The counter says how many connections it has accepted (and holds).
fn silent_api() -> (
    std::net::SocketAddr,
    Arc<AtomicUsize>,
    std::thread::JoinHandle<()>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        listener.set_nonblocking(true).unwrap();
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((conn, _)) => {
                    held.push(conn);
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                // Nonblocking accept: look again shortly (this is a server loop, not a wait).
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if held.len() > 16 {
                break;
            }
        }
    });
    (addr, accepted, keep)
}

#[test]
fn sigterm_ends_botctl_within_a_second_whatever_it_waits_on() {
    let (addr, accepted, _keep) = silent_api();
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&format!("http://{addr}"))
            .telegram_timeout("60s")
            .bot(partner(w).token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={}\n", token(31)));
    for (signal, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGINT, 130),
    ] {
        let mut child = world
            .botctl_process(&["status"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The signal comes while botctl waits on the silent Bot API.
        let before = accepted.load(Ordering::SeqCst);
        assert!(
            wait_until(Duration::from_secs(20), || accepted.load(Ordering::SeqCst)
                > before),
            "botctl never asked the Bot API"
        );
        let sent = Instant::now();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let mut status = None;
        wait_until(Duration::from_secs(10), || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("botctl did not end within 10 s of {signal}");
        };
        let took = sent.elapsed();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: {stderr}");
        assert!(
            took < Duration::from_millis(1500),
            "{signal}: took {took:?}"
        );
        assert!(stderr.contains("interrupted"), "{stderr}");
    }
}

#[test]
fn a_closed_pipe_ends_botctl_quietly() {
    let config = (0..400).fold(Toml::new(), |toml, i| {
        toml.bot(Bot::script(
            &format!("bot-{i}"),
            &format!("bots/bot_{i}_nowhere.py"),
        ))
    });
    let world = World::with_config(config);
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["doctor"],
        &["checklist"],
    ] {
        let mut child = world
            .botctl_process(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 10];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The read end is closed here (dropped), as `| head -c 10` does.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("bug"),
            "{args:?}: {stderr}"
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

#[test]
fn a_forged_line_in_a_loops_text_stays_inside_its_line() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let code = format!(
        "while true; do python3 {script}; sleep 1; done\n: FORGED: 9. All bots stopped, nothing left"
    );
    let shell = world.spawn(&["sh", "-c", &code], world.root());
    shell.wait_child(&["python3", &script]);
    let run = world.run(&["dev-stop", "--yes", "--grace", "2s"]);
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        assert!(
            !line.trim_start().starts_with(": FORGED") && !line.contains('\u{1b}'),
            "a forged line reached the output:\n{}",
            run.all_output()
        );
    }
    assert!(run.stdout.contains("\\n: FORGED"), "{}", run.stdout);
}

#[test]
fn colour_and_newlines_from_the_bot_api_are_escaped_off_a_terminal() {
    let token = token(32);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    api.set_webhook(&token, "https://example.com/hook\u{1b}[8m\nFORGED line");
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&api.url())
            .bot(partner(w).token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    for args in [&["status"][..], &["doctor"]] {
        let run = world.run(args);
        let out = run.all_output();
        assert!(
            !out.contains('\u{1b}'),
            "{args:?} printed a raw ESC:\n{out}"
        );
        assert!(
            !out.lines().any(|l| l.starts_with("FORGED")),
            "{args:?}:\n{out}"
        );
    }
    // JSON keeps the text as it is, escaped by serde.
    let json: Value = world.run(&["status", "--json"]).json();
    let hook = bot(&json, "partner")["telegram"]["webhook"]
        .as_str()
        .unwrap_or("");
    assert!(hook.contains("FORGED"), "{json:#}");
}

/// `node --watch bot.js` starts the bot again on a file change: it is the bot's reloader,
/// ended first, so nothing is left to start it again.
#[test]
fn node_watch_is_a_reloader_ended_first() {
    let world = World::configured(|w| {
        Toml::new()
            .respawn("1s")
            .bot(Bot::script("partner", &w.script("bot.js")))
    });
    let script = world.script("bot.js");
    world.write(&script, "setInterval(() => {}, 1000);\n");
    let watcher = world.spawn(&["node", "--watch", &script], world.root());
    let node = world.resolve("node");
    let child = watcher.wait_child(&[node.to_str().unwrap(), &script]);
    let json = world.run(&["status", "--json"]).json();
    let local = &bot(&json, "partner")["local"];
    assert_eq!(local_pids(bot(&json, "partner")), [child], "{local:#}");
    let supervisor = &local[0]["supervisor"];
    assert_eq!(supervisor["kind"], "reloader", "{supervisor}");
    assert_eq!(supervisor["pid"], watcher.pid(), "{supervisor}");

    let run = world.run(&["dev-stop", "--yes", "--grace", "2s"]);
    run.expect_code(0);
    assert!(
        wait_until(Duration::from_secs(5), || !alive(child)
            && !alive(watcher.pid())),
        "{}",
        run.all_output()
    );
}

/// A link to the project's own folder makes no bot appear twice.
#[test]
fn init_walks_each_real_folder_once() {
    let world = World::new();
    world.write(
        "bots/admin_bot.py",
        "import os\nfrom telegram.ext import Application\n\
app = Application.builder().token(os.environ['ADMIN_BOT_TOKEN']).build()\napp.run_polling()\n",
    );
    std::os::unix::fs::symlink(world.path("bots"), world.path("again")).unwrap();
    std::os::unix::fs::symlink(world.root(), world.path("self")).unwrap();
    world.run(&["init", "--yes"]).expect_code(0);
    let toml = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert_eq!(toml.matches("[[bot]]").count(), 1, "{toml}");
}

/// A host whose shell answers with an endless `yes`: the capture is capped, the host is "not
/// checked" with "printed too much", and status does not grow without end.
#[test]
fn a_host_that_prints_without_end_is_cut_off() {
    let world = World::configured(|w| {
        Toml::new()
            .host(Host::new("vps", "deploy@vps").timeout("20s"))
            .bot(partner(w))
    });
    executable(
        &world.bin().join("ssh"),
        "#!/bin/sh\nexec yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    );
    let run = world.run(&["status", "--json"]);
    assert!(
        run.elapsed < Duration::from_secs(15),
        "took {:?}",
        run.elapsed
    );
    let json = run.json();
    let error = bot(&json, "partner")["hosts"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("printed too much"), "{json:#}");
}

/// A saved pm2 list (`pm2 save`) whose app name forges a line and hides text: the entry is
/// shown escaped and its fix quotes the name for the shell.
#[test]
fn a_pm2_dump_entry_is_escaped_and_its_fix_quoted() {
    let world = World::configured(partner);
    let name = "x; touch /tmp/INJECTED #\n\u{1b}[8mFORGED";
    let dump = serde_json::json!([{
        "name": name,
        "pm_exec_path": format!("/srv/{}", world.script("bot.py")),
        "exec_interpreter": "python3",
    }]);
    std::fs::create_dir_all(world.home().join(".pm2")).unwrap();
    std::fs::write(world.home().join(".pm2/dump.pm2"), dump.to_string()).unwrap();
    let run = world.run(&["doctor"]);
    let out = run.all_output();
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("FORGED")), "{out}");
    assert!(
        out.contains("pm2 delete $'x; touch /tmp/INJECTED #\\n\\x1b[8mFORGED'"),
        "{out}"
    );
}
