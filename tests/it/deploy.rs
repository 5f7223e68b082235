//! `botctl deploy` against the fake flyctl, which deploys as flyctl v0.4.87 does (its header
//! and `cmd_deploy` cite the source): the four strategies on running and stopped machines,
//! `--strategy` over fly.toml's `[deploy] strategy`, the first deploy's second machine, old
//! flyctl versions, a failing build and a hanging one. Every World fails its test when a deploy
//! botctl ran had two machines of one process group started at once (test-support's drop
//! check), so a test that makes one on purpose takes and asserts it.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const M1: &str = "148ed193b95089";
const STANDBY: &str = "9080e6f3a12345";

fn config(world: &World) -> Toml {
    Toml::new().fly_wait("30s").fly_timeout("10s").bot(
        Bot::script("partner", &world.script("bot.py"))
            .fly_app(APP)
            .ready_log(READY_LINE),
    )
}

/// fly.toml of the app, with `[deploy] strategy` when given, and an http service.
fn fly_toml(strategy: Option<&str>) -> String {
    let mut text = format!("app = \"{APP}\"\nprimary_region = \"ams\"\n");
    if let Some(s) = strategy {
        text.push_str(&format!("\n[deploy]\n  strategy = \"{s}\"\n"));
    }
    text.push_str("\n[http_service]\n  internal_port = 8080\n");
    text
}

/// An account whose app has `machines`, says the ready line when a machine starts, and whose
/// health checks take a moment.
fn account(machines: Vec<Value>) -> Value {
    let mut state = fly_apps(&[(APP, machines)]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    state["checks_wait"] = json!(0.5);
    state
}

/// A started machine and a stopped standby.
fn running_and_standby() -> Vec<Value> {
    vec![
        json!({"id": M1, "state": "started", "region": "ams"}),
        json!({"id": STANDBY, "state": "stopped", "region": "ams"}),
    ]
}

fn world_with(strategy: Option<&str>, fly: Value) -> World {
    let world = World::configured(config);
    world.write("fly.toml", &fly_toml(strategy));
    world.fly_state(fly);
    world
}

fn deploy_calls(world: &World) -> Vec<Vec<String>> {
    world
        .fly_calls()
        .into_iter()
        .filter(|c| c.first().is_some_and(|a| a == "deploy"))
        .collect()
}

fn machines(world: &World) -> Vec<(String, String)> {
    let mut ms = world.fly_machines(APP);
    ms.sort();
    ms
}

fn pair(id: &str, state: &str) -> (String, String) {
    (id.to_string(), state.to_string())
}

/// A handoff record by `who` on every machine of the app (they are all stopped).
fn held_by(mut state: Value, who: &str) -> Value {
    for m in state["apps"][APP]["machines"].as_array_mut().unwrap() {
        m["metadata"] = json!({"botctl_by": who, "botctl_at": "2026-12-06T10:00:00Z",
                               "botctl_bot": "partner"});
    }
    state
}

/// `flyctl ARGS` of the fake, run as a teammate would (not through botctl), in the project.
fn teammate_flyctl(world: &World, args: &[&str]) -> std::process::Output {
    Command::new(fake("flyctl"))
        .args(args)
        .current_dir(world.root())
        .env("FAKE_FLY_STATE", world.fly_state_path())
        .envs(world.marks())
        .output()
        .expect("run the fake flyctl")
}

// ---------------------------------------------------------------- rolling, the default

#[test]
fn rolling_restarts_the_running_machine_in_place_and_the_standby_stays_stopped() {
    let world = world_with(None, account(running_and_standby()));
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(0);
    // flyctl's own output streams through, under the step.
    run.expect_stdout("│ ==> Building image");
    run.expect_stdout("rolling (flyctl's default)");
    run.expect_stdout(READY_LINE);
    run.expect_stdout("one: 148ed193b95089");
    assert_eq!(
        machines(&world),
        vec![pair(M1, "started"), pair(STANDBY, "stopped")],
        "the same machine, restarted in place; the standby stays stopped"
    );
    let state = world.fly_state_now();
    assert_eq!(state["apps"][APP]["machines"][0]["release"], json!(8));
    let calls = deploy_calls(&world);
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].windows(2).any(|w| w == ["--app", APP]),
        "{calls:?}"
    );
    assert!(!calls[0].iter().any(|a| a == "--strategy"), "{calls:?}");
}

#[test]
fn extra_arguments_after_the_double_dash_reach_flyctl_as_they_are() {
    let world = world_with(None, account(running_and_standby()));
    world
        .run(&[
            "deploy",
            "partner",
            "--yes",
            "--",
            "--remote-only",
            "--build-arg",
            "GREETING=hello world",
        ])
        .expect_code(0);
    let calls = deploy_calls(&world);
    let tail: Vec<&str> = calls[0]
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        ["--remote-only", "--build-arg", "GREETING=hello world"]
    );
}

// ---------------------------------------------------------------- bluegreen and canary

#[test]
fn bluegreen_in_fly_toml_is_deployed_rolling_for_a_polling_bot_saying_why() {
    let world = world_with(Some("bluegreen"), account(running_and_standby()));
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("fly.toml asks for \"bluegreen\"");
    run.expect_stdout("boots a new machine beside every running one");
    run.expect_stdout("botctl passes --strategy rolling");
    let calls = deploy_calls(&world);
    assert!(
        calls[0].windows(2).any(|w| w == ["--strategy", "rolling"]),
        "{calls:?}"
    );
    assert_eq!(
        machines(&world),
        vec![pair(M1, "started"), pair(STANDBY, "stopped")],
        "no green machine: the same ids"
    );
}

#[test]
fn canary_for_one_machine_is_deployed_immediate() {
    let world = world_with(
        Some("canary"),
        account(vec![json!({"id": M1, "state": "started", "region": "ams"})]),
    );
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("botctl passes --strategy immediate");
    assert!(
        deploy_calls(&world)[0]
            .windows(2)
            .any(|w| w == ["--strategy", "immediate"])
    );
    assert_eq!(machines(&world), vec![pair(M1, "started")]);
}

#[test]
fn a_users_own_bluegreen_or_canary_is_refused_and_nothing_is_deployed() {
    let world = world_with(None, account(running_and_standby()));
    for strategy in [["--strategy", "bluegreen"], ["--strategy=canary", ""]] {
        let mut args = vec!["deploy", "partner", "--yes", "--"];
        args.extend(strategy.iter().filter(|a| !a.is_empty()));
        let run = world.run(&args);
        run.expect_code(1);
        run.expect_stderr("without --strategy");
    }
    assert!(deploy_calls(&world).is_empty());
}

#[test]
fn a_webhook_bot_keeps_bluegreen_whose_green_machine_replaces_the_blue() {
    let world = World::configured(|w| {
        config(w).change_bot("partner", |b| {
            b.mode("webhook")
                .webhook_url("https://loyalitybot-partner.fly.dev/telegram")
        })
    });
    world.write("fly.toml", &fly_toml(Some("bluegreen")));
    world.fly_state(account(vec![
        json!({"id": M1, "state": "started", "region": "ams"}),
    ]));
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("\"bluegreen\" from fly.toml");
    let after = machines(&world);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0].0, M1, "the blue machine was destroyed");
    assert_eq!(after[0].1, "started");
    // Green beside blue: for a webhook bot Fly Proxy shares the posts, no 409.
    let overlaps = world.take_deploy_overlaps();
    assert_eq!(overlaps.len(), 1, "{overlaps:#?}");
    assert_eq!(overlaps[0]["strategy"], "bluegreen");
}

// ---------------------------------------------------------------- a handoff is open

#[test]
fn while_a_teammate_holds_the_bot_every_machine_stays_stopped_even_with_bluegreen() {
    let stopped = vec![
        json!({"id": M1, "state": "stopped", "region": "ams"}),
        json!({"id": STANDBY, "state": "stopped", "region": "ams"}),
    ];
    let world = world_with(Some("bluegreen"), held_by(account(stopped), "alice@mbp"));
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("alice@mbp");
    run.expect_stdout("every machine stays stopped");
    run.expect_stdout("their `botctl deploy-resume partner`");
    run.expect_stdout("botctl passes --strategy rolling");
    assert_eq!(
        machines(&world),
        vec![pair(M1, "stopped"), pair(STANDBY, "stopped")]
    );
    assert_eq!(
        fly_metadata(&world, APP, M1)["botctl_by"],
        "alice@mbp",
        "a rolling deploy keeps the record (a bluegreen one would have destroyed it)"
    );
}

#[test]
fn while_held_a_flyctl_older_than_v0_4_20_is_refused_with_the_upgrade() {
    let mut state = held_by(
        account(vec![json!({"id": M1, "state": "stopped", "region": "ams"})]),
        "alice@mbp",
    );
    state["version"] = json!("0.4.10");
    let world = world_with(None, state);
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("flyctl v0.4.10 is older than v0.4.20");
    run.expect_stderr("flyctl version upgrade");
    assert!(deploy_calls(&world).is_empty());
}

#[test]
fn an_old_flyctl_would_start_the_stopped_standby_so_it_is_refused() {
    let mut state = account(running_and_standby());
    state["version"] = json!("0.4.10");
    let world = world_with(None, state);
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("9080e6f3a12345");
    assert!(deploy_calls(&world).is_empty());
}

#[test]
fn a_local_copy_beside_a_started_machine_is_refused_first() {
    let world = world_with(None, account(running_and_standby()));
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    let _bot = world.spawn(&["python3", &bot_py], world.root());
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("botctl dev-stop partner");
    assert!(deploy_calls(&world).is_empty());
}

// ---------------------------------------------------------------- the first deploy

#[test]
fn a_first_deploy_of_a_polling_bot_gets_one_machine() {
    let world = world_with(None, account(vec![]));
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("--ha=false");
    let after = machines(&world);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].1, "started");
}

#[test]
fn a_first_deploy_with_ha_starts_two_machines_a_failed_step_with_the_scale_fix() {
    let world = world_with(None, account(vec![]));
    let run = world.run(&["deploy", "partner", "--yes", "--", "--ha=true"]);
    run.expect_code(3);
    run.expect_stderr("fly scale count 1 --process-group app --app loyalitybot-partner");
    let started: Vec<_> = machines(&world)
        .into_iter()
        .filter(|(_, s)| s == "started")
        .collect();
    assert_eq!(started.len(), 2, "{started:?}");
    assert_eq!(world.take_deploy_overlaps().len(), 1);
}

// ---------------------------------------------------------------- failures, CI, output

#[test]
fn a_failing_build_is_exit_3_with_flyctls_message() {
    let mut state = account(running_and_standby());
    state["deploy_error"] = json!("Dockerfile not found");
    let world = world_with(None, state);
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(3);
    run.expect_stderr("Error: failed to fetch an image or build from source: Dockerfile not found");
    run.expect_stderr("exited with status 1");
    assert_eq!(
        machines(&world),
        vec![pair(M1, "started"), pair(STANDBY, "stopped")]
    );
}

#[test]
fn a_hanging_deploy_is_stopped_at_deploy_timeout() {
    let mut state = account(running_and_standby());
    state["hang"] = json!(["deploy"]);
    let world = World::configured(|w| config(w).fly_deploy_timeout("3s"));
    world.write("fly.toml", &fly_toml(None));
    world.fly_state(state);
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(3);
    run.expect_stdout("│ ==> Building image");
    run.expect_stderr("did not finish within 3s");
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    // The fake flyctl was stopped with its process group.
    let path = world.fly_state_path().display().to_string();
    assert!(
        wait_until(Duration::from_secs(5), || !pids_with_arg("deploy")
            .into_iter()
            .any(|p| std::fs::read(format!("/proc/{p}/environ"))
                .is_ok_and(|e| String::from_utf8_lossy(&e).contains(&path)))),
        "flyctl deploy still runs"
    );
}

#[test]
fn without_a_terminal_and_without_yes_nothing_changes_and_exit_is_4() {
    let world = world_with(None, account(running_and_standby()));
    let run = world.run(&["deploy", "partner"]);
    run.expect_code(4);
    assert!(deploy_calls(&world).is_empty());
}

#[test]
fn dry_run_prints_the_flyctl_command_and_runs_nothing() {
    let world = world_with(Some("bluegreen"), account(running_and_standby()));
    let run = world.run(&["deploy", "partner", "--dry-run"]);
    run.expect_code(0);
    run.expect_stdout("would: flyctl deploy --app loyalitybot-partner");
    run.expect_stdout("--strategy rolling");
    assert!(deploy_calls(&world).is_empty());
}

#[test]
fn flyctls_output_is_escaped_and_tokens_are_masked() {
    let secret = token(7);
    let mut state = account(running_and_standby());
    state["deploy_output"] = json!([
        format!("#5 RUN echo BOT_TOKEN={secret}"),
        "\u{1b}]0;owned\u{7}forged\rline"
    ]);
    let world = world_with(None, state);
    let run = world.run(&["deploy", "partner", "--yes"]);
    run.expect_code(0);
    assert!(!run.all_output().contains(&secret), "{}", run.stdout);
    // Its colours and title sequences go; any other control character is shown escaped.
    run.expect_stdout("forged\\rline");
    assert!(
        !run.stdout.contains(['\u{1b}', '\u{7}', '\r']),
        "{:?}",
        run.stdout
    );
}

#[test]
fn a_409_after_the_ready_line_is_a_failed_step() {
    let world = world_with(None, account(running_and_standby()));
    let mut botctl = world.botctl();
    world.hold_process_table();
    let child = std::thread::spawn(move || run(botctl.args(["deploy", "partner", "--yes"])));
    // Once the new release said it is ready, another poller answers it with a 409.
    let ready = wait_until(Duration::from_secs(60), || {
        world.fly_state_now()["apps"][APP]["logs"]
            .as_array()
            .is_some_and(|l| {
                l.iter()
                    .any(|x| x.as_str().is_some_and(|s| s.contains(READY_LINE)))
            })
    });
    assert!(ready, "the deploy never restarted the machine");
    let now = chrono_now();
    world.fly_apply(json!([{"op": "log", "app": APP, "line": format!(
        "{now} app[{M1}] ams [info]telegram.error.Conflict: Conflict: terminated by other \
getUpdates request; make sure that only one bot instance is running")}]));
    let run = child.join().unwrap();
    run.expect_code(3);
    run.expect_stderr("got a 409 after it started");
}

/// Now as the fake's log lines stamp it.
fn chrono_now() -> String {
    let out = Command::new(system_python())
        .args([
            "-c",
            "import datetime;print(datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn on_a_terminal_the_deploy_shows_a_spinner_with_its_limit() {
    use expectrl::Expect;
    let mut state = account(running_and_standby());
    state["hang"] = json!(["deploy"]);
    let world = World::configured(|w| config(w).fly_deploy_timeout("4s"));
    world.write("fly.toml", &fly_toml(None));
    world.fly_state(state);
    let mut p = world.botctl_pty(&["deploy", "partner", "--yes"]);
    p.expect("of 4s").unwrap();
    p.expect(expectrl::Eof).unwrap();
}

// ---------------------------------------------------------------- the fake, as a teammate's flyctl

#[test]
fn the_fake_bluegreen_force_starts_a_green_machine_when_all_are_stopped_since_v0_4_80() {
    for (version, started) in [("0.4.87", 1), ("0.4.79", 0)] {
        let world = World::configured(config);
        world.write("fly.toml", &fly_toml(Some("bluegreen")));
        let mut state = account(vec![json!({"id": M1, "state": "stopped", "region": "ams"})]);
        state["version"] = json!(version);
        world.fly_state(state);
        let out = teammate_flyctl(&world, &["deploy"]);
        assert!(out.status.success(), "{out:?}");
        let after = machines(&world);
        assert!(
            !after.iter().any(|(id, _)| id == M1),
            "blue destroyed: {after:?}"
        );
        assert_eq!(
            after.iter().filter(|(_, s)| s == "started").count(),
            started,
            "flyctl {version}: {after:?}"
        );
    }
}

#[test]
fn the_fake_canary_boots_an_extra_machine_then_rolls() {
    let world = World::configured(config);
    world.write("fly.toml", &fly_toml(Some("canary")));
    let mut state = account(vec![json!({"id": M1, "state": "started", "region": "ams"})]);
    state["checks_wait"] = json!(1.5);
    world.fly_state(state);
    let mut teammate = Command::new(fake("flyctl"))
        .arg("deploy")
        .current_dir(world.root())
        .env("FAKE_FLY_STATE", world.fly_state_path())
        .envs(world.marks())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let saw_canary = wait_until(Duration::from_secs(20), || {
        world.fly_state_now()["apps"][APP]["machines"]
            .as_array()
            .is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["metadata"]["fly_canary"] == "true" && m["state"] == "started")
            })
    });
    assert!(teammate.wait().unwrap().success());
    assert!(
        saw_canary,
        "a started canary machine with fly_canary = \"true\""
    );
    assert_eq!(
        machines(&world),
        vec![pair(M1, "started")],
        "the canary is gone"
    );
    let overlaps = world.take_deploy_overlaps();
    assert_eq!(overlaps[0]["machines"].as_array().unwrap().len(), 2);
}

#[test]
fn the_fake_keeps_stopped_machines_stopped_since_v0_4_20_and_older_ones_start_them() {
    for (version, standby) in [("0.4.87", "stopped"), ("0.4.10", "started")] {
        let world = World::configured(config);
        world.write("fly.toml", &fly_toml(None));
        let mut state = account(running_and_standby());
        state["version"] = json!(version);
        world.fly_state(state);
        assert!(teammate_flyctl(&world, &["deploy"]).status.success());
        assert_eq!(
            machines(&world),
            vec![pair(M1, "started"), pair(STANDBY, standby)],
            "flyctl {version}"
        );
        world.take_deploy_overlaps();
    }
}

#[test]
fn the_fake_takes_strategy_from_the_command_line_over_fly_toml() {
    let world = World::configured(config);
    world.write("fly.toml", &fly_toml(Some("bluegreen")));
    world.fly_state(account(running_and_standby()));
    assert!(
        teammate_flyctl(&world, &["deploy", "--strategy", "rolling"])
            .status
            .success()
    );
    assert_eq!(
        machines(&world),
        vec![pair(M1, "started"), pair(STANDBY, "stopped")],
        "rolling: the same machines"
    );
    let out = teammate_flyctl(&world, &["deploy", "--strategy", "sideways"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid deployment strategy"));
}

// ---------------------------------------------------------------- doctor

#[test]
fn doctor_says_bluegreen_during_a_handoff_starts_the_bot_beside_the_holders_copy() {
    // Whatever flyctl's version: an old one starts the stopped machines anyway, a new one's
    // bluegreen starts a green machine.
    for version in ["0.4.87", "0.4.10"] {
        doctor_during_a_handoff(version);
    }
}

fn doctor_during_a_handoff(version: &str) {
    let stopped = vec![json!({"id": M1, "state": "stopped", "region": "ams"})];
    let mut state = held_by(account(stopped), "alice@mbp");
    state["version"] = json!(version);
    let world = world_with(Some("bluegreen"), state);
    let run = world.run(&["doctor", "partner", "--json"]);
    let doctor = run.json();
    let error = expect_finding(&doctor, "deploy", Level::Error)
        .bot("partner")
        .saying("a deploy now starts the bot on Fly beside alice@mbp's copy")
        .one();
    let message = message(error);
    assert!(
        message.contains("forceStart") || message.contains("v0.4.80"),
        "{message}"
    );
    assert!(fix(error).starts_with("botctl deploy partner"), "{error}");
}

#[test]
fn a_world_fails_its_test_when_a_deploy_started_two_machines_of_one_group() {
    let dropped = std::panic::catch_unwind(|| {
        let world = World::configured(config);
        world.write("fly.toml", &fly_toml(Some("bluegreen")));
        world.fly_state(account(vec![
            json!({"id": M1, "state": "started", "region": "ams"}),
        ]));
        assert!(teammate_flyctl(&world, &["deploy"]).status.success());
        // Not taken: the World's drop check must fail the test.
    });
    let message = dropped.expect_err("the World's drop check passed over a deploy overlap");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("two machines of one process group"), "{text}");
}
