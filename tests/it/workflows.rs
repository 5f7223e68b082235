//! dev-start, dev-stop and deploy-resume against the fake flyctl and real processes: the whole
//! cycle, every refusal, confirmations (also on a real pseudo-terminal), dry runs and failures.

use serde_json::{Value, json};
use std::time::Duration;
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";

/// partner (the world's `bot.py`, on Fly.io) and admin (its `admin_bot.py`, local only).
fn config(world: &World) -> Toml {
    Toml::new()
        .respawn("1s")
        .fly_wait("30s")
        .fly_timeout("10s")
        .bot(
            Bot::script("partner", &world.script("bot.py"))
                .fly_app(APP)
                .ready_log(READY_LINE),
        )
        .bot(Bot::script("admin", &world.script("admin_bot.py")))
}

/// partner and admin (see [`config`]), Fly holding `fly`.
fn with_fly(fly: Value) -> World {
    let world = World::configured(config);
    world.fly_state(fly);
    world
}

/// An app with a started machine (taking a moment to stop and start) and a standby that was
/// stopped before anything began.
fn two_machines() -> Value {
    let mut state = fly_apps(&[(
        APP,
        vec![
            json!({"id": "148ed193b95089", "state": "started", "region": "ams", "autostart": false,
                   "stop_delay": 1, "start_delay": 1}),
            json!({"id": "9080e6f3a12345", "state": "stopped", "region": "ams", "autostart": false}),
        ],
    )]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    state
}

fn states(world: &World) -> Vec<(String, String)> {
    world.fly_machines(APP)
}

fn handoff(world: &World) -> Option<Value> {
    let text = std::fs::read_to_string(world.path(".botctl/state.json")).ok()?;
    Some(serde_json::from_str(&text).expect("state.json is JSON"))
}

fn changing_calls(world: &World) -> Vec<Vec<String>> {
    world
        .fly_calls()
        .into_iter()
        .filter(|c| c.iter().any(|a| a == "stop" || a == "start"))
        .collect()
}

fn pair(id: &str, state: &str) -> (String, String) {
    (id.to_string(), state.to_string())
}

#[test]
fn whole_cycle_dev_start_dev_stop_deploy_resume() {
    let world = with_fly(two_machines());
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);

    // dev-start: stops the started machine, records it, leaves the standby alone.
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(0);
    run.expect_stdout("Stop the bot on Fly.io");
    assert_eq!(
        states(&world),
        vec![
            pair("148ed193b95089", "stopped"),
            pair("9080e6f3a12345", "stopped")
        ]
    );
    let st = handoff(&world).expect("dev-start records the handoff");
    assert_eq!(st["handoffs"][0]["bot"], "partner");
    assert_eq!(st["handoffs"][0]["app"], APP);
    assert_eq!(st["handoffs"][0]["machines"], json!(["148ed193b95089"]));
    assert!(st["handoffs"][0]["by"].as_str().unwrap().contains('@'));

    // Developing locally: deploy-resume refuses while the local copy runs.
    let bot = world.spawn(&["python3", &bot_py], world.root());
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("botctl dev-stop partner");
    assert!(handoff(&world).is_some(), "a refusal keeps the handoff");

    // dev-stop ends it and proves it.
    let run = world.run(&["dev-stop", "--yes", "--grace", "5s"]);
    run.expect_code(0);
    assert!(wait_until(Duration::from_secs(5), || !alive(bot.pid())));

    // deploy-resume starts exactly the recorded machine, waits for the ready line, clears.
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout(READY_LINE);
    assert_eq!(
        states(&world),
        vec![
            pair("148ed193b95089", "started"),
            pair("9080e6f3a12345", "stopped")
        ],
        "the standby stopped before dev-start stays stopped"
    );
    assert!(
        handoff(&world).is_none(),
        "deploy-resume clears the handoff"
    );
}

#[test]
fn dev_start_refuses_when_the_bot_runs_here() {
    let world = with_fly(two_machines());
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    let _bot = world.spawn(&["python3", "-u", &bot_py], world.root());
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(1);
    run.expect_stderr("botctl dev-stop partner");
    assert!(changing_calls(&world).is_empty());
    assert_eq!(states(&world)[0], pair("148ed193b95089", "started"));
    assert!(handoff(&world).is_none());
}

#[test]
fn dev_start_refuses_when_a_webhook_is_set() {
    let world = World::configured(config);
    let tok = token(41);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    api.set_webhook(&tok, "https://example.com/hook");
    world.write_config(
        config(&world)
            .telegram_api(&api.url())
            .change_bot("partner", |b| b.token_env("PARTNER_BOT_TOKEN")),
    );
    world.fly_state(two_machines());
    let run = run(world.botctl().env("PARTNER_BOT_TOKEN", &tok).args([
        "dev-start",
        "partner",
        "--yes",
        "--no-run",
    ]));
    run.expect_code(1);
    run.expect_stderr("webhook");
    run.expect_stderr("deleteWebhook");
    assert!(!run.all_output().contains(&tok));
    assert!(changing_calls(&world).is_empty());
    assert_eq!(api.stats(&tok)["webhook"], "https://example.com/hook");
}

#[test]
fn without_a_terminal_and_without_yes_nothing_changes_and_exit_is_4() {
    let world = with_fly(two_machines());
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world
        .run(&["dev-start", "partner", "--no-run"])
        .expect_code(4);
    assert!(changing_calls(&world).is_empty());
    assert!(handoff(&world).is_none());

    let bot = world.spawn(&["python3", &bot_py], world.root());
    world.run(&["dev-stop"]).expect_code(4);
    assert!(alive(bot.pid()));

    drop(bot);
    assert!(wait_until(Duration::from_secs(5), || world
        .run(&["status", "partner", "--json"])
        .json()["bots"][0]["local"]
        .as_array()
        .unwrap()
        .is_empty()));
    world.fly_state(
        json!({"apps": {APP: {"machines": [machine("148ed193b95089", "stopped", None)],
                                           "logs": ["2026-11-25T10:00:00Z app[x] ams [info]x"]}}}),
    );
    world.run(&["deploy-resume", "partner"]).expect_code(4);
    assert!(changing_calls(&world).is_empty());
}

#[test]
fn dry_run_changes_nothing() {
    let world = with_fly(two_machines());
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);

    let run = world.run(&["dev-start", "partner", "--dry-run"]);
    run.expect_code(0);
    run.expect_stdout("would");
    run.expect_stdout("flyctl machine stop 148ed193b95089");

    let bot = world.spawn(&["python3", &bot_py], world.root());
    let run = world.run(&["dev-stop", "--dry-run"]);
    run.expect_code(0);
    assert!(run.stdout.contains(&bot.pid().to_string()));
    assert!(alive(bot.pid()));
    drop(bot);

    world.fly_state(
        json!({"apps": {APP: {"machines": [machine("148ed193b95089", "stopped", None)],
                                           "logs": ["2026-11-25T10:00:00Z app[x] ams [info]x"]}}}),
    );
    assert!(wait_until(Duration::from_secs(5), || world
        .run(&["deploy-resume", "--dry-run"])
        .code
        == 0));
    let run = world.run(&["deploy-resume", "--dry-run"]);
    run.expect_stdout("flyctl machine start 148ed193b95089");

    assert!(changing_calls(&world).is_empty());
    assert!(handoff(&world).is_none());
    assert_eq!(states(&world), vec![pair("148ed193b95089", "stopped")]);
}

#[test]
fn a_machine_that_fails_to_stop_is_exit_3_and_deploy_resume_restores() {
    let world = World::configured(config);
    let mut state = fly_apps(&[(
        APP,
        vec![
            json!({"id": "aaaa0000000001", "state": "started", "region": "ams"}),
            json!({"id": "bbbb0000000002", "state": "started", "region": "ams", "fail_stop": true}),
        ],
    )]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    world.fly_state(state);

    let run = world.run(&["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(3);
    run.expect_stderr("bbbb0000000002");
    run.expect_stderr("botctl deploy-resume partner");
    assert_eq!(
        handoff(&world).unwrap()["handoffs"][0]["machines"],
        json!(["aaaa0000000001", "bbbb0000000002"]),
        "the state lists every machine dev-start set out to stop"
    );
    assert_eq!(states(&world)[0], pair("aaaa0000000001", "stopped"));

    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    assert_eq!(
        states(&world),
        vec![
            pair("aaaa0000000001", "started"),
            pair("bbbb0000000002", "started")
        ]
    );
    assert!(handoff(&world).is_none());
}

#[test]
fn a_dev_start_killed_half_way_is_undone_by_deploy_resume() {
    let world = World::configured(config);
    let mut state = fly_apps(&[(
        APP,
        vec![json!({"id": "148ed193b95089", "state": "started", "region": "ams", "stop_delay": 4})],
    )]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    world.fly_state(state);

    let mut child = world
        .botctl_process(&["dev-start", "partner", "--yes", "--no-run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it while it waits for the machine to reach `stopped`.
    assert!(wait_until(Duration::from_secs(20), || states(&world)[0].1
        == "stopping"));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        handoff(&world).unwrap()["handoffs"][0]["machines"],
        json!(["148ed193b95089"])
    );
    assert!(wait_until(Duration::from_secs(20), || states(&world)[0].1 == "stopped"));

    world
        .run(&["deploy-resume", "partner", "--yes"])
        .expect_code(0);
    assert_eq!(states(&world), vec![pair("148ed193b95089", "started")]);
    assert!(handoff(&world).is_none());
}

#[test]
fn a_hanging_flyctl_stop_is_exit_3_naming_the_machine() {
    let world = World::configured(|w| config(w).fly_timeout("2s"));
    let mut state = two_machines();
    state["hang"] = json!(["stop"]);
    world.fly_state(state);
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(3);
    run.expect_stderr("148ed193b95089");
    run.expect_stderr("did not answer within 2s");
    run.expect_stderr("botctl deploy-resume partner");
    assert!(run.elapsed < Duration::from_secs(60));
}

#[test]
fn deploy_resume_times_out_without_the_ready_line_showing_the_last_lines() {
    let world = World::configured(|w| config(w).fly_wait("6s"));
    // No ready_log in the fake app: the bot never says it is ready.
    world.fly_state(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "stopped", None)],
    )]));
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("Starting init..."),
        "shows the last lines: {}",
        run.stderr
    );
}

// Linux only: setpriv runs the other user's process.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root"]
fn dev_stop_stops_only_your_own_instances() {
    require_root("it runs a process as another user (setpriv --reuid)");
    let world = World::configured(config);
    let (bot_py, admin_py) = (world.script("bot.py"), world.script("admin_bot.py"));
    world.fly_state(fly_apps(&[(APP, vec![])]));
    world.write_sleeper(&bot_py);
    world.write_sleeper(&admin_py);
    world.write(
        &format!("stubborn/{bot_py}"),
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n\
         open('ignores-sigterm', 'w').close()\ntime.sleep(600)\n",
    );

    let plain = world.spawn(&["python3", &bot_py], world.root());
    let stubborn = world.spawn(&["python3", &bot_py], &world.path("stubborn"));
    // Python starts slowly on a busy machine: a SIGTERM before its handler would end it.
    let ignores = world.path("stubborn/ignores-sigterm");
    assert!(
        wait_until(Duration::from_secs(30), || ignores.exists()),
        "the stubborn bot never got to ignore SIGTERM"
    );
    let admin = world.spawn(&["python3", &admin_py], world.root());
    let vim = world.spawn_disguised(&["vim", &bot_py], world.root());

    // Another user's `python3 bot.py`, in a folder that user can read.
    let (_shared, other) = world.spawn_other_users_bot(&bot_py);

    let run = world.run(&["dev-stop", "partner", "--yes", "--grace", "2s"]);
    run.expect_code(0);
    run.expect_stdout("left alone");
    assert!(
        run.stdout.contains("SIGKILL"),
        "the stubborn one needed SIGKILL: {}",
        run.stdout
    );
    assert!(wait_until(Duration::from_secs(5), || !alive(plain.pid())
        && !alive(stubborn.pid())));
    assert!(alive(admin.pid()), "admin_bot.py was not asked for");
    assert!(alive(vim.pid()), "vim bot.py is no instance");
    assert!(
        alive(other.pid()),
        "another user's process is never signalled"
    );
}

#[test]
fn dev_stop_exits_3_when_a_process_survives() {
    // A survivor: a parent botctl knows nothing of (no shell loop, no supervisor) starts the
    // bot again under the same argv. (A shell loop is ended through its shell: supervisors.)
    let world = with_fly(fly_apps(&[(APP, vec![])]));
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.write(
        "respawn.py",
        &format!("import subprocess\nwhile True:\n    subprocess.run(['python3', '{bot_py}'])\n"),
    );
    let respawner = world.spawn(&["python3", "respawn.py"], world.root());
    respawner.wait_child(&["python3", &bot_py]);
    let run = world.run(&["dev-stop", "partner", "--yes", "--grace", "1s"]);
    run.expect_code(3);
    run.expect_stderr("came back");
}

// ------------------------------------------------------------------------------------------
// On a pseudo-terminal

/// Exit code of a finished pty session (the status prints as `Exited(Pid(N), CODE)`).
fn exit_code(session: &expectrl::session::OsSession) -> i32 {
    let status = format!(
        "{:?}",
        session.get_process().wait().expect("wait for botctl")
    );
    status
        .rsplit_once(", ")
        .and_then(|(_, c)| c.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("botctl did not exit normally: {status}"))
}

#[test]
fn pty_no_at_the_prompt_changes_nothing_and_exits_4() {
    use expectrl::Expect;
    let world = with_fly(two_machines());
    let mut p = world.botctl_pty(&["dev-start", "partner", "--no-run"]);
    p.expect("Stop machine(s) 148ed193b95089").unwrap();
    p.send("n").unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert_eq!(exit_code(&p), 4);
    assert!(changing_calls(&world).is_empty());
    assert!(handoff(&world).is_none());
}

#[test]
fn pty_yes_at_the_prompt_proceeds() {
    use expectrl::Expect;
    let world = with_fly(two_machines());
    let mut p = world.botctl_pty(&["dev-start", "partner", "--no-run"]);
    p.expect("Stop machine(s) 148ed193b95089").unwrap();
    p.send("y").unwrap();
    // On a terminal the wait shows a spinner with the elapsed time and the limit.
    p.expect("of 30s").unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert_eq!(exit_code(&p), 0);
    assert_eq!(states(&world)[0], pair("148ed193b95089", "stopped"));
}

#[test]
fn pty_dev_start_runs_the_bot_ctrl_c_ends_it_and_resume_is_offered() {
    use expectrl::Expect;
    let world = with_fly(two_machines());
    let bot_py = world.script("bot.py");
    world.write(
        &bot_py,
        "import time\nprint('local bot running', flush=True)\ntime.sleep(600)\n",
    );
    let mut p = world.botctl_pty(&["dev-start", "partner"]);
    p.expect("Stop machine(s) 148ed193b95089").unwrap();
    p.send("y").unwrap();
    p.expect("local bot running").unwrap();
    assert_eq!(states(&world)[0], pair("148ed193b95089", "stopped"));
    // Ctrl-C reaches the bot through the terminal.
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    p.expect("Resume partner on Fly.io now?").unwrap();
    p.send("y").unwrap();
    p.expect("partner is back on Fly.io").unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert_eq!(exit_code(&p), 0);
    assert_eq!(states(&world)[0], pair("148ed193b95089", "started"));
    assert!(handoff(&world).is_none());
}

#[test]
fn deploy_resume_without_a_handoff_starts_one_stopped_machine_not_all() {
    let world = World::configured(config);
    let mut state = fly_apps(&[(
        APP,
        vec![
            machine("aaaa0000000001", "stopped", None),
            machine("bbbb0000000002", "stopped", None),
        ],
    )]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    world.fly_state(state);
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("left stopped: bbbb0000000002");
    assert_eq!(
        states(&world),
        vec![
            pair("aaaa0000000001", "started"),
            pair("bbbb0000000002", "stopped")
        ]
    );
}

#[test]
fn deploy_resume_skips_a_recorded_machine_that_is_gone() {
    let world = World::configured(config);
    let mut state = fly_apps(&[(APP, vec![machine("aaaa0000000001", "stopped", None)])]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    world.fly_state(state);
    std::fs::create_dir_all(world.path(".botctl")).unwrap();
    world.write(
        ".botctl/state.json",
        &json!({"version": 1, "handoffs": [{"bot": "partner", "app": APP,
            "machines": ["aaaa0000000001", "dddd0000000009"],
            "at": "2026-11-25T10:00:00Z", "by": "dev@laptop"}]})
        .to_string(),
    );
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("no longer in the app, skipped: dddd0000000009");
    assert_eq!(states(&world), vec![pair("aaaa0000000001", "started")]);
    assert!(handoff(&world).is_none());
}

#[test]
fn waits_show_no_spinner_on_a_pipe() {
    let world = with_fly(two_machines());
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(0);
    assert!(!run.all_output().contains("of 30s"), "{}", run.all_output());
}

#[test]
fn ctrl_c_while_waiting_keeps_the_handoff_and_exits_130() {
    let world = World::configured(config);
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            json!({"id": "148ed193b95089", "state": "started", "region": "ams", "stop_delay": 20}),
        ],
    )]));
    let mut child = world
        .botctl_process(&["dev-start", "partner", "--yes", "--no-run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || states(&world)[0].1
        == "stopping"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let mut status = None;
    assert!(wait_until(Duration::from_secs(10), || {
        status = child.try_wait().unwrap();
        status.is_some()
    }));
    assert_eq!(status.unwrap().code(), Some(130));
    assert_eq!(
        handoff(&world).unwrap()["handoffs"][0]["machines"],
        json!(["148ed193b95089"]),
        "the handoff survives the interrupt, so deploy-resume can undo it"
    );
}

#[test]
fn a_second_botctl_cannot_change_things_while_one_holds_the_lock() {
    let world = with_fly(two_machines());
    std::fs::create_dir_all(world.path(".botctl")).unwrap();
    let holder = world.spawn(
        &[
            "python3",
            "-c",
            "import fcntl, time; f = open('.botctl/lock', 'w'); fcntl.flock(f, fcntl.LOCK_EX); open('.botctl/held', 'w').close(); time.sleep(600)",
        ],
        world.root(),
    );
    assert!(wait_until(Duration::from_secs(10), || world
        .path(".botctl/held")
        .exists()));
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(1);
    run.expect_stderr("another botctl run");
    assert!(changing_calls(&world).is_empty());
    world
        .run(&["deploy-resume", "partner", "--yes"])
        .expect_code(1);
    assert!(changing_calls(&world).is_empty());
    drop(holder);
}

#[test]
fn a_corrupt_state_file_is_an_error_that_names_it_and_is_kept() {
    let world = with_fly(two_machines());
    std::fs::create_dir_all(world.path(".botctl")).unwrap();
    world.write(".botctl/state.json", "{\"handoffs\": [oops");
    for args in [
        &["dev-start", "partner", "--yes", "--no-run"][..],
        &["deploy-resume", "partner", "--yes"],
    ] {
        let run = world.run(args);
        run.expect_code(3);
        run.expect_stderr(".botctl/state.json");
        run.expect_stderr("corrupt");
    }
    assert!(changing_calls(&world).is_empty());
    assert_eq!(
        std::fs::read_to_string(world.path(".botctl/state.json")).unwrap(),
        "{\"handoffs\": [oops"
    );
}

#[test]
fn sigterm_reaches_a_bot_run_through_the_shell_and_yes_resumes() {
    let world = World::new();
    let bot_py = world.script("bot.py");
    let tok = token(71);
    world.write_config(
        config(&world)
            .telegram_api(&dead_url())
            .change_bot("partner", |b| {
                b.token_env("PARTNER_BOT_TOKEN")
                    .run(&format!("cd sub && python3 {bot_py}"))
            }),
    );
    world.write(".env", &format!("PARTNER_BOT_TOKEN={tok}\n"));
    world.write(
        &format!("sub/{bot_py}"),
        "import os, time\nt = os.environ.get('PARTNER_BOT_TOKEN', '')\n\
         open('started', 'w').write('token ends ' + t[-6:])\ntime.sleep(600)\n",
    );
    world.fly_state(two_machines());
    let child = world
        .botctl_process(&["dev-start", "partner", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let marker = world.path("sub/started");
    assert!(wait_until(Duration::from_secs(30), || marker.exists()));
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        format!("token ends {}", &tok[tok.len() - 6..]),
        "the bot gets the token from .env in its environment"
    );
    assert_eq!(states(&world)[0], pair("148ed193b95089", "stopped"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("partner is back on Fly.io"), "{stdout}");
    assert!(!stdout.contains(&tok) && !String::from_utf8_lossy(&out.stderr).contains(&tok));
    assert_eq!(states(&world)[0], pair("148ed193b95089", "started"));
    assert!(
        world.pids_with_arg(&bot_py).is_empty(),
        "the bot behind `cd sub &&` got the signal too"
    );
}

/// partner on Fly.io (add `[fly]` settings to taste).
fn partner_on(world: &World) -> Toml {
    Toml::new().bot(Bot::script("partner", &world.script("bot.py")).fly_app(APP))
}

fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn a_second_dev_start_while_the_first_stops_machines_is_refused() {
    let world = World::configured(|w| partner_on(w).fly_wait("30s"));
    world.write_sleeper(world.script("bot.py"));
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            json!({"id": "148ed193b95089", "state": "started", "region": "ams",
                    "autostart": false, "stop_delay": 4}),
        ],
    )]));
    let log = world.elsewhere().join("first.log");
    let mut first = world
        .botctl_process(&["dev-start", "partner", "--yes", "--no-probe"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(world.elsewhere().join("first.err")).unwrap())
        .spawn()
        .unwrap();
    // The first one has asked Fly to stop the machine, which now takes a while.
    assert!(
        wait_until(Duration::from_secs(30), || world
            .fly_machines(APP)
            .iter()
            .any(|(_, s)| s == "stopping")),
        "the first dev-start never stopped the machine: {:?} {}{}",
        world.fly_machines(APP),
        std::fs::read_to_string(&log).unwrap_or_default(),
        std::fs::read_to_string(world.elsewhere().join("first.err")).unwrap_or_default()
    );
    let second = world.run(&["dev-start", "partner", "--yes", "--no-probe"]);
    second
        .expect_code(1)
        .expect_stderr("another botctl run is changing things");
    // The first goes on to run the bot: exactly one local copy, from the first.
    let script = world.script("bot.py");
    let ours = || world.pids_with_arg(&script).len();
    assert!(wait_until(Duration::from_secs(30), || ours() == 1));
    // And no second copy follows: watched for half a second, failing at the first sight.
    assert!(
        !wait_until(Duration::from_millis(500), || ours() > 1),
        "two local copies of the bot"
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = first.wait();
}

#[test]
fn dev_start_waits_for_machines_already_stopping() {
    let world = World::configured(|w| partner_on(w).fly_wait("30s"));
    // The lock first: waiting for it (other checkouts' tests) must not eat the 2 s below.
    world.hold_process_table();
    let mut state = fly_apps(&[(
        APP,
        vec![
            json!({"id": "148ed193b95089", "state": "stopping", "region": "ams",
                    "autostart": false}),
        ],
    )]);
    // Settles to stopped a little later, as after a stop somebody else sent.
    state["apps"][APP]["machines"][0]["pending"] =
        json!({"to": "stopped", "at": now_epoch() + 6.0});
    world.fly_state(state);
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0).expect_stdout("stopped 148ed193b95089");
    assert!(!run.stdout.contains("no machine of"), "{}", run.stdout);
    assert_eq!(
        world.fly_machines(APP),
        vec![("148ed193b95089".to_string(), "stopped".to_string())]
    );
}
