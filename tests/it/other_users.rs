//! Another local user's processes (uid 65534 here, botctl run as root): their supervisors are
//! named, never asked, their programs never run, their files never read; a copy of the bot
//! they run gets a fix that works for them.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use test_support::config::Bot;
use test_support::*;

const APP: &str = "loyalitybot-partner";

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

/// A folder another user (65534) owns and can use, outside the project.
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
fn tripwire(path: &std::path::Path, marker: &std::path::Path) {
    executable(
        path,
        &format!("#!/bin/sh\ntouch '{}'\necho tripped\n", marker.display()),
    );
}

/// Runs `argv` as uid 65534 in `cwd` (setpriv), shown in /proc as `shown`.
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
const DAEMON: &str = "#!/usr/bin/env python3\nimport subprocess, sys, time\n\
subprocess.Popen(['python3', sys.argv[-1]])\ntime.sleep(600)\n";

// Linux only: setpriv runs the other user's process.
#[test]
#[ignore = "needs root"]
fn deploy_resume_over_another_users_copy_names_a_fix_that_works() {
    require_root("runs a process as another user");
    let world = partner_on_fly_with(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "stopped", Some(false))],
    )]));
    let script = world.script("bot.py");
    // Working in the project: this project's copy, though another user's.
    let (_shared, other) = world.spawn_other_users_bot_in_project(&script);
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!("kill {}", other.pid())),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("fix: botctl dev-stop partner\n"),
        "{}",
        run.stderr
    );
}

// Linux only: setpriv runs the other user's process.
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
