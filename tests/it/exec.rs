//! `botctl exec`: the guard a launch script, a unit or an entrypoint puts in front of the bot.
//! The real botctl becomes real processes (same pid), against the fake flyctl, the fake Bot
//! API and a real python-telegram-bot poller.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const OWN_MACHINE: &str = "148ed193b95089";
const OTHER_MACHINE: &str = "9080e6f3a12345";

/// partner (`bot.py`, on Fly.io) and admin (`admin_bot.py`, local only), as the world names them.
fn config(world: &World) -> Toml {
    Toml::new()
        .bot(Bot::script("partner", &world.script("bot.py")).fly_app(APP))
        .bot(Bot::script("admin", &world.script("admin_bot.py")))
}

/// admin's token in .env and valid on the fake Bot API; `tune` adds to the config.
fn admin_with_token(token: &str, tune: impl FnOnce(Toml) -> Toml) -> (BotApi, World) {
    let api = BotApi::start(&[(token, "ghbiadminbot")]);
    let world = World::configured(|w| {
        tune(
            config(w)
                .telegram_api(&api.url())
                .change_bot("admin", |b| b.token_env("ADMIN_BOT_TOKEN")),
        )
    });
    world.write(".env", &format!("ADMIN_BOT_TOKEN={token}\n"));
    (api, world)
}

/// The wiki's launch script, with botctl exec in front: `exec botctl exec admin -- python3 …`.
fn launch_script(world: &World) -> String {
    let path = world.write(
        "start_admin.sh",
        &format!(
            "#!/bin/sh\nexec '{}' exec admin -- python3 {}\n",
            botctl_bin().display(),
            world.script("admin_bot.py")
        ),
    );
    path.display().to_string()
}

/// The launch script run to its end: what its `exec botctl` did.
fn run_script(world: &World, script: &str) -> Run {
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.arg(script)
        .current_dir(world.root())
        .env("PATH", world.path_var())
        .env("HOME", world.home())
        .env("FAKE_FLY_STATE", world.fly_state_path())
        .env("NO_COLOR", "1")
        .env_remove("BOTCTL_CONFIG")
        .timeout(BOTCTL_LIMIT);
    run(&mut cmd)
}

/// A botctl run in the background (its own process group, killed on drop), its stderr
/// collected line by line as it comes.
struct Background {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Background {
    fn start(world: &World, args: &[&str]) -> Background {
        world.hold_process_table();
        let mut cmd = world.botctl_process(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("start botctl");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(|l| l.ok()) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Background { child, stderr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Its exit code once it has exited (None while it runs).
    fn exited(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .ok()
            .flatten()
            .map(|s| s.code().unwrap_or(-1))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

#[test]
fn a_launch_script_runs_the_bot_under_its_own_pid_and_a_second_run_refuses_naming_it() {
    let world = World::configured(config);
    let admin_py = world.script("admin_bot.py");
    world.write_sleeper(&admin_py);
    let script = launch_script(&world);

    // The script's pid becomes botctl's and then the bot's: spawn_showing returns once /proc
    // shows the bot's argv under the pid it started.
    let first = world.spawn_showing(&["sh", &script], world.root(), &["python3", &admin_py]);

    let second = run_script(&world, &script);
    second.expect_code(1);
    second.expect_stderr(&format!("local pid {} `python3 {admin_py}`", first.pid()));
    second.expect_stderr("fix: botctl dev-stop admin");
    assert!(
        alive(first.pid()),
        "the refusal leaves the first copy alone"
    );
    assert_eq!(
        world.pids_with_arg(&admin_py),
        [first.pid()],
        "the second run started nothing"
    );
}

#[test]
fn exec_partner_refuses_while_a_fly_machine_is_started_naming_it_and_starts_nothing() {
    let world = World::configured(config);
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            machine(OWN_MACHINE, "started", None),
            machine(OTHER_MACHINE, "stopped", None),
        ],
    )]));

    // Its `run` (python3 bot_….py) and a COMMAND that would leave a file: neither runs.
    for args in [
        &["exec", "partner"][..],
        &["exec", "partner", "--", "sh", "-c", "touch started"][..],
    ] {
        let run = world.run(args);
        run.expect_code(1);
        run.expect_stderr(&format!("Fly app {APP} machine {OWN_MACHINE} started"));
        run.expect_stderr(&format!("flyctl machine stop {OWN_MACHINE} --app {APP}"));
        assert!(
            !run.stderr.contains(OTHER_MACHINE),
            "a stopped machine is no place: {}",
            run.stderr
        );
    }
    assert!(!world.path("started").exists());
    assert!(world.pids_with_arg(&bot_py).is_empty());
    assert!(
        world
            .fly_calls()
            .iter()
            .all(|c| !c.iter().any(|a| a == "stop" || a == "start")),
        "exec changes nothing on Fly: {:?}",
        world.fly_calls()
    );
}

#[test]
fn with_wait_it_proceeds_once_the_first_copy_ends_and_past_the_wait_it_refuses() {
    let world = World::configured(config);
    let admin_py = world.script("admin_bot.py");
    world.write_sleeper(&admin_py);
    let mut first = world.spawn(&["python3", &admin_py], world.root());

    // Past DURATION: the refusal of a run without --wait, said to be after the wait.
    let run = world.run(&[
        "exec",
        "admin",
        "--wait",
        "1s",
        "--",
        "sh",
        "-c",
        "touch started",
    ]);
    run.expect_code(1);
    run.expect_stderr("after waiting 1s");
    run.expect_stderr(&format!("local pid {}", first.pid()));
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
    assert!(!world.path("started").exists());

    // A restart that overlaps the old copy: it waits, then becomes the command (same pid).
    let mut waiting = Background::start(
        &world,
        &[
            "exec",
            "admin",
            "--wait",
            "8s",
            "--",
            "sh",
            "-c",
            "echo $$ > proceeded",
        ],
    );
    let said = wait_until(Duration::from_secs(10), || {
        waiting
            .stderr()
            .contains(&format!("waiting up to 8s for local pid {}", first.pid()))
    });
    assert!(said, "no waiting line: {}", waiting.stderr());
    assert!(
        !world.path("proceeded").exists(),
        "it ran while the first copy ran"
    );
    let ended = Instant::now();
    first.stop(Duration::from_secs(5));
    let done = wait_until(Duration::from_secs(10), || waiting.exited().is_some());
    assert!(
        done,
        "still waiting after the first copy ended: {}",
        waiting.stderr()
    );
    assert_eq!(waiting.exited(), Some(0), "{}", waiting.stderr());
    assert!(ended.elapsed() < Duration::from_secs(8));
    let pid = std::fs::read_to_string(world.path("proceeded")).expect("the command ran");
    assert_eq!(pid.trim(), waiting.pid().to_string(), "exec keeps the pid");
}

#[test]
fn strict_refuses_without_flyctl_and_without_it_the_source_is_not_checked() {
    let world = World::configured(config).without_flyctl();
    let run = world.run(&["exec", "partner", "--", "sh", "-c", "touch started"]);
    run.expect_code(0);
    run.expect_stderr("not checked");
    run.expect_stderr("flyctl is not installed");
    assert!(
        world.path("started").exists(),
        "an unreadable source does not block"
    );
    assert!(
        !run.stdout.contains("not checked"),
        "not checked goes to stderr"
    );

    std::fs::remove_file(world.path("started")).unwrap();
    let run = world.run(&[
        "exec",
        "partner",
        "--strict",
        "--",
        "sh",
        "-c",
        "touch started",
    ]);
    run.expect_code(1);
    run.expect_stderr("--strict");
    run.expect_stderr("flyctl is not installed");
    assert!(!world.path("started").exists());
}

#[test]
fn the_token_reaches_the_bots_environment_and_no_output() {
    let token = token(61);
    let (api, world) = admin_with_token(&token, |toml| toml);
    let run = world.run(&[
        "-vv",
        "exec",
        "admin",
        "--",
        "sh",
        "-c",
        "printf %s \"$ADMIN_BOT_TOKEN\" > got; echo \"pid $$\"",
    ]);
    run.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(world.path("got")).unwrap(),
        token,
        "the bot gets the token from .env"
    );
    assert!(
        api.log().contains("getWebhookInfo"),
        "the webhook was checked: {}",
        api.log()
    );
    let secret = token.split_once(':').unwrap().1;
    assert!(!run.all_output().contains(secret), "{}", run.all_output());
}

#[test]
fn two_concurrent_runs_let_exactly_one_through() {
    let world = World::configured(config);
    let admin_py = world.script("admin_bot.py");
    world.write_sleeper(&admin_py);
    // For a second after the exec the process table does not show the bot (sh sleeps before
    // it execs it): the second run must see the first copy all the same.
    let command = format!("sleep 1; exec python3 {admin_py}");
    let args = ["exec", "admin", "--", "sh", "-c", &command];
    for round in 0..3 {
        let mut runs = [
            Background::start(&world, &args),
            Background::start(&world, &args),
        ];
        let one_ended = wait_until(Duration::from_secs(20), || {
            runs.iter_mut().any(|r| r.exited().is_some())
        });
        assert!(one_ended, "round {round}: neither refused");
        let (refused, through) = if runs[0].exited().is_some() {
            (0, 1)
        } else {
            (1, 0)
        };
        let through_pid = runs[through].pid();
        assert_eq!(
            runs[refused].exited(),
            Some(1),
            "{}",
            runs[refused].stderr()
        );
        assert!(
            runs[refused]
                .stderr()
                .contains(&format!("local pid {through_pid}")),
            "round {round}: the refusal names the first copy: {}",
            runs[refused].stderr()
        );
        let want = vec!["python3".to_string(), admin_py.clone()];
        assert!(
            wait_until(Duration::from_secs(10), || cmdline(through_pid).as_ref()
                == Some(&want)),
            "round {round}: the run let through became the bot ({:?}): {}",
            cmdline(through_pid),
            runs[through].stderr()
        );
        assert_eq!(runs[through].exited(), None);
    }
}

#[test]
fn its_own_ancestry_is_never_a_conflict() {
    let world = World::configured(config);
    let admin_py = world.script("admin_bot.py");
    // A bot that restarts by starting its successor through the launch script's command and
    // waiting for it: the old copy (and the copy lock it holds) is the new run's ancestor.
    world.write(
        &admin_py,
        &format!(
            r#"import os, subprocess, sys, time
if os.environ.get("RESTARTED"):
    open("restarted", "w").write(str(os.getpid()))
    time.sleep(600)
else:
    env = dict(os.environ, RESTARTED="1")
    sys.exit(subprocess.call(["{botctl}", "exec", "admin", "--", "python3", "{admin_py}"], env=env))
"#,
            botctl = botctl_bin().display()
        ),
    );
    let script = launch_script(&world);
    let old = world.spawn_showing(&["sh", &script], world.root(), &["python3", &admin_py]);
    let mut new_pid = None;
    let restarted = wait_until(Duration::from_secs(20), || {
        new_pid = std::fs::read_to_string(world.path("restarted"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        new_pid.is_some()
    });
    assert!(
        restarted,
        "the successor never ran: botctl refused its own ancestor"
    );
    let new_pid = new_pid.unwrap();
    assert_ne!(new_pid, old.pid());
    assert!(
        children(old.pid()).contains(&new_pid),
        "botctl exec'd into the successor"
    );
    assert_eq!(
        cmdline(new_pid),
        Some(vec!["python3".to_string(), admin_py.clone()])
    );
    // A run that is not of that family still sees both.
    let run = world.run(&["exec", "admin", "--", "sh", "-c", "touch started"]);
    run.expect_code(1);
    run.expect_stderr(&format!("local pid {}", old.pid()));
    assert!(!world.path("started").exists());
}

#[test]
fn inside_a_fly_machine_its_own_machine_is_no_conflict_and_the_apps_other_started_ones_are() {
    let world = World::configured(config);
    world.hold_process_table();
    let exec_on_machine = |w: &World| {
        run(w
            .botctl()
            .env("FLY_MACHINE_ID", OWN_MACHINE)
            .env("FLY_APP_NAME", APP)
            .args(["exec", "partner", "--", "sh", "-c", "touch started"]))
    };
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            machine(OWN_MACHINE, "started", None),
            machine(OTHER_MACHINE, "stopped", None),
        ],
    )]));
    exec_on_machine(&world).expect_code(0);
    assert!(world.path("started").exists());

    std::fs::remove_file(world.path("started")).unwrap();
    let mut state = world.fly_state_now();
    state["apps"][APP]["machines"][1] =
        json!({"id": OTHER_MACHINE, "state": "started", "region": "fra"});
    world.fly_state(state);
    let run = exec_on_machine(&world);
    run.expect_code(1);
    run.expect_stderr(&format!("machine {OTHER_MACHINE} started (fra)"));
    assert!(
        !run.stderr.contains(&format!("machine {OWN_MACHINE}")),
        "{}",
        run.stderr
    );
    assert!(!world.path("started").exists());
}

#[test]
fn the_probe_is_announced_and_refuses_while_a_poller_botctl_cannot_see_runs() {
    let token = token(62);
    let (api, world) = admin_with_token(&token, |toml| toml.probe("6s"));
    // The same bot under a name botctl.toml does not know.
    let mut ptb = PtbBot::start(&world, &api, &token, "hidden_worker.py");
    let run = world.run(&[
        "exec",
        "admin",
        "--probe",
        "--",
        "sh",
        "-c",
        "touch started",
    ]);
    run.expect_code(1);
    let warned = run
        .stderr
        .find("grammY or Telegraf")
        .expect("the probe is announced");
    let refused = run
        .stderr
        .find("another poller answered the probe")
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(warned < refused, "said before it probes: {}", run.stderr);
    assert!(!world.path("started").exists());

    ptb.stop(Duration::from_secs(10));
    let run = world.run(&[
        "exec",
        "admin",
        "--probe",
        "--",
        "sh",
        "-c",
        "touch started",
    ]);
    run.expect_code(0);
    assert!(world.path("started").exists(), "{}", run.stderr);
}

#[test]
fn exec_help_has_examples_and_names_its_exit_codes() {
    let world = World::new();
    let run = world.run(&["exec", "--help"]);
    run.expect_code(0);
    run.expect_stdout("Examples:\n  botctl exec admin -- python3 admin_bot.py");
    run.expect_stdout("Exit:");
}

#[test]
fn a_command_that_cannot_run_fails_with_3_and_leaves_no_lock_behind() {
    let world = World::configured(config);
    let run = world.run(&["exec", "admin", "--", "./no-such-program"]);
    run.expect_code(3);
    run.expect_stderr("could not run `./no-such-program`");
    // Its copy lock went with it: the next run goes through.
    let run = world.run(&["exec", "admin", "--", "sh", "-c", "touch started"]);
    run.expect_code(0);
    assert!(world.path("started").exists());
}

#[test]
fn it_waits_while_another_botctl_run_holds_the_handoff_lock() {
    let world = World::configured(config);
    // What dev-start or deploy-resume does while it changes things: hold .botctl/lock.
    std::fs::create_dir_all(world.path(".botctl")).unwrap();
    let holder = world.spawn(
        &[
            "python3",
            "-c",
            "import fcntl, time\nf = open('.botctl/lock', 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\n\
             open('held', 'w').close()\ntime.sleep(600)",
        ],
        world.root(),
    );
    assert!(wait_until(Duration::from_secs(10), || world
        .path("held")
        .exists()));
    let mut exec = Background::start(
        &world,
        &["exec", "admin", "--", "sh", "-c", "touch started"],
    );
    let waits = wait_until(Duration::from_secs(10), || {
        exec.stderr().contains("another botctl run holds")
    });
    assert!(waits, "{}", exec.stderr());
    assert!(
        !world.path("started").exists(),
        "it ran under another run's lock"
    );
    drop(holder);
    assert!(
        wait_until(Duration::from_secs(10), || exec.exited().is_some()),
        "{}",
        exec.stderr()
    );
    assert_eq!(exec.exited(), Some(0), "{}", exec.stderr());
    assert!(world.path("started").exists());
}

#[test]
fn each_place_is_named_with_its_fix_another_app_with_the_token_and_a_webhook() {
    const BETA: &str = "loyalitybot-beta";
    let tok = token(63);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    api.set_webhook(&tok, "https://example.com/hook");
    let world = World::configured(|w| {
        config(w)
            .telegram_api(&api.url())
            .change_bot("partner", |b| b.token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={tok}\n"));
    // Production is stopped; a beta app made from a copy of its secrets polls with its token.
    let state = fly_apps(&[
        (APP, vec![machine(OWN_MACHINE, "stopped", None)]),
        (BETA, vec![machine("beta00000000001", "started", None)]),
    ]);
    let state = with_secret(state, APP, "PARTNER_BOT_TOKEN", "the partner token");
    world.fly_state(with_secret(state, BETA, "BOT_TOKEN", "the partner token"));

    let run = world.run(&["exec", "partner", "--", "sh", "-c", "touch started"]);
    run.expect_code(1);
    run.expect_stderr("partner already runs in 2 places");
    run.expect_stderr(&format!(
        "  - Fly app {BETA} machine beta00000000001 started (ams): it holds partner's token (secret BOT_TOKEN)"
    ));
    run.expect_stderr("    fix: flyctl secrets set BOT_TOKEN=<token of");
    run.expect_stderr(&format!("flyctl machine stop beta00000000001 --app {BETA}"));
    run.expect_stderr("  - a webhook is set (https://example.com/hook)");
    run.expect_stderr("    fix: curl \"");
    run.expect_stderr("/bot$PARTNER_BOT_TOKEN/deleteWebhook\"");
    assert!(!world.path("started").exists());
    assert!(!run.all_output().contains(tok.split_once(':').unwrap().1));
}

/// botctl in its own PID namespace: its local scan sees only itself, the host's scan over ssh
/// sees the test's bot (see tests/it/hosts.rs).
const ISOLATED: &[&str] = &["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];

#[test]
#[ignore = "needs root"]
fn a_copy_on_a_host_refuses_with_dev_stop_host_and_a_host_down_is_not_checked() {
    require_root("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    // The host tells this project's copy by its token: the project's .env, where the copy
    // started in the project reads it too.
    let token = test_support::token(43);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let config = |w: &World| {
        config(w)
            .telegram_api(&api.url())
            .change_bot("partner", |b| b.token_env("PARTNER_BOT_TOKEN"))
    };
    let world = World::configured(|w| {
        format!(
            "{}\n{}",
            config(w),
            sshd.host_table("vps", "client_key", "10s")
        )
    });
    world.dotenv(&[("PARTNER_BOT_TOKEN", &token)]);
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.fly_state(fly_apps(&[(APP, vec![])]));
    let on_host = world.spawn(&["python3", &bot_py], world.root());

    let run = world.run_under(
        ISOLATED,
        &["exec", "partner", "--", "sh", "-c", "touch started"],
    );
    run.expect_code(1);
    run.expect_stderr(&format!(
        "host vps pid {} `python3 {bot_py}`",
        on_host.pid()
    ));
    run.expect_stderr("fix: botctl dev-stop partner --host vps");
    assert!(!world.path("started").exists());
    drop(on_host);

    // The same host, down: not checked, and only --strict refuses.
    let down = host_table("vps", free_port(), &sshd.key("client_key"), "3s");
    world.write_config(format!("{}\n{down}", config(&world)));
    let run = world.run_under(
        ISOLATED,
        &["exec", "partner", "--", "sh", "-c", "touch started"],
    );
    run.expect_code(0);
    run.expect_stderr("not checked: host vps");
    assert!(world.path("started").exists());
    std::fs::remove_file(world.path("started")).unwrap();
    let run = world.run_under(
        ISOLATED,
        &[
            "exec",
            "partner",
            "--strict",
            "--",
            "sh",
            "-c",
            "touch started",
        ],
    );
    run.expect_code(1);
    run.expect_stderr("not checked: host vps");
    assert!(!world.path("started").exists());
}

#[test]
fn the_bots_exit_status_and_signals_are_its_own() {
    let world = World::configured(config);
    world
        .run(&["exec", "admin", "--", "sh", "-c", "exit 7"])
        .expect_code(7);
    // A SIGTERM to the pid ends the bot itself: no botctl in between to catch it.
    let mut bot = Background::start(
        &world,
        &["exec", "admin", "--", "sh", "-c", "exec sleep 600"],
    );
    let up = wait_until(Duration::from_secs(10), || {
        cmdline(bot.pid()).is_some_and(|argv| argv == ["sleep", "600"])
    });
    assert!(up, "{}", bot.stderr());
    kill_group(bot.pid(), nix::sys::signal::Signal::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || bot
        .exited()
        .is_some()));
    use std::os::unix::process::ExitStatusExt;
    let status = bot.child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(15),
        "killed by the SIGTERM itself: {status:?}"
    );
}

#[test]
fn on_a_terminal_the_wait_shows_the_spinner_with_its_limit() {
    use expectrl::Expect;
    let world = World::configured(config);
    let admin_py = world.script("admin_bot.py");
    world.write_sleeper(&admin_py);
    let first = world.spawn(&["python3", &admin_py], world.root());
    let mut p = world.botctl_pty(&[
        "exec",
        "admin",
        "--wait",
        "2s",
        "--",
        "sh",
        "-c",
        "touch started",
    ]);
    p.expect(format!("waiting for local pid {}", first.pid()).as_str())
        .unwrap();
    p.expect("of 2s").unwrap();
    p.expect("after waiting 2s").unwrap();
    p.expect(expectrl::Eof).unwrap();
    let status = format!("{:?}", p.get_process().wait().expect("wait for botctl"));
    assert!(status.ends_with(", 1)"), "exit 1 after the wait: {status}");
    assert!(!world.path("started").exists());
}

#[test]
#[ignore = "needs root"]
fn in_a_read_only_project_folder_it_runs_unlocked_and_says_so() {
    require_root("a read-only bind mount of the project needs root");
    let world = World::configured(config);
    let root = world.root().display().to_string();
    // The project folder read-only, as in a container whose image is: no .botctl can be made.
    let read_only = [
        "unshare",
        "--mount",
        "sh",
        "-c",
        "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"",
        &root,
    ];
    let run = world.run_under(
        &read_only,
        &["exec", "admin", "--", "sh", "-c", "echo the bot ran"],
    );
    run.expect_code(0);
    run.expect_stdout("the bot ran");
    run.expect_stderr("not checked: a second botctl exec at the same moment");
    run.expect_stderr("Read-only file system");
    let run = world.run_under(
        &read_only,
        &[
            "exec",
            "admin",
            "--strict",
            "--",
            "sh",
            "-c",
            "echo the bot ran",
        ],
    );
    run.expect_code(1);
    assert!(!run.stdout.contains("the bot ran"));
    assert!(!world.path(".botctl").exists());
}

/// The copy lock names its holder by pid *and* start time: after the pid it recorded was
/// reused by an unrelated process, exec names whoever really has the lock open, never the
/// stranger now at that pid.
#[test]
fn after_pid_reuse_the_copy_lock_names_its_real_holder() {
    let world = World::configured(config);
    world.hold_process_table();
    let stranger = world.spawn(&["sleep", "600"], world.root());
    let lock = world.path(".botctl/exec-admin.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    for written in [
        // As a botctl before start times wrote it: a pid alone.
        stranger.pid().to_string(),
        // The stranger's pid with a start time an hour before it started.
        format!("{} {}", stranger.pid(), unix_now() - 3600),
    ] {
        let holder = world.spawn(
            &[
                "python3",
                "-c",
                "import fcntl, sys, time\n\
                 f = open(sys.argv[1], 'a+')\n\
                 fcntl.flock(f, fcntl.LOCK_EX)\n\
                 f.seek(0); f.truncate(); f.write(sys.argv[2]); f.flush()\n\
                 time.sleep(600)",
                &lock.display().to_string(),
                &written,
            ],
            world.root(),
        );
        assert!(
            wait_until(Duration::from_secs(10), || std::fs::read_to_string(&lock)
                .is_ok_and(|t| t == written)),
            "the holder did not take the lock"
        );
        let run = world.run(&["exec", "admin", "--", "true"]);
        run.expect_code(1)
            .expect_stderr(&format!("local pid {} `python3 -c", holder.pid()))
            .expect_stderr(&format!("kill {}", holder.pid()));
        assert!(
            !run.stderr.contains(&format!("pid {} ", stranger.pid()))
                && !run.stderr.contains(&format!("kill {}", stranger.pid())),
            "the stranger at the recorded pid was named:\n{}",
            run.stderr
        );
        drop(holder);
    }
    assert!(alive(stranger.pid()));
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
