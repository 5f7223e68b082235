//! Fly as flyctl really shows it (issue 29, reference/flyctl.md): an app with a bot group and
//! a web group, a `fly console` left open, a canary; one page of `logs --no-tail`; `update`
//! events from botctl's own records; Telegram's 429 on a quick second setWebhook.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const BOT_MACHINE: &str = "148ed193b95089";
const WEB_MACHINE: &str = "3d8d9c1a2b4e67";
const CONSOLE_MACHINE: &str = "91857e3f0d2a47";

/// partner (the world's `bot.py`) on Fly, with `change` applied to its [[bot]].
fn config(world: &World, change: impl FnOnce(Bot) -> Bot) -> Toml {
    Toml::new().fly_wait("30s").fly_timeout("10s").bot(change(
        Bot::script("partner", &world.script("bot.py"))
            .fly_app(APP)
            .ready_log(READY_LINE),
    ))
}

/// A machine of process group `group` running `cmd` (its fly.toml `[processes]` command).
fn in_group(id: &str, state: &str, group: &str, cmd: &[&str]) -> Value {
    let mut m = machine(id, state, None);
    m["group"] = json!(group);
    if !cmd.is_empty() {
        m["cmd"] = json!(cmd);
    }
    m
}

/// The app of the issue: `bot = "python bot.py"`, `web = "gunicorn admin:app"`, and a
/// `fly console` someone left open.
fn bot_web_and_console(world: &World, bot_state: &str) -> Value {
    let script = world.script("bot.py");
    let mut state = fly_apps(&[(
        APP,
        vec![
            in_group(BOT_MACHINE, bot_state, "bot", &["python", "-u", &script]),
            in_group(WEB_MACHINE, "started", "web", &["gunicorn", "admin:app"]),
            in_group(
                CONSOLE_MACHINE,
                "started",
                "fly_app_console",
                &["sleep", "inf"],
            ),
        ],
    )]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    state
}

fn world_with(fly: impl FnOnce(&World) -> Value, change: impl FnOnce(Bot) -> Bot) -> World {
    let world = World::configured(|w| config(w, change));
    world.fly_state(fly(&world));
    world
}

fn ids(machines: &Value) -> Vec<&str> {
    machines
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

#[test]
fn status_counts_only_the_bots_group_and_names_the_console_and_the_web_as_what_they_are() {
    let world = world_with(|w| bot_web_and_console(w, "started"), |b| b);
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let partner = bot(&run.json(), "partner").clone();
    assert_eq!(partner["verdict"], "ok", "{partner:#}");
    assert_eq!(partner["places"], 1, "{partner:#}");
    let fly = &partner["fly"];
    assert_eq!(ids(&fly["machines"]), [BOT_MACHINE], "{fly:#}");
    assert_eq!(fly["machines"][0]["group"], "bot", "{fly:#}");
    assert_eq!(
        fly["others"],
        json!([
            {"id": WEB_MACHINE, "group": "web", "state": "started"},
            {"id": CONSOLE_MACHINE, "group": "fly_app_console", "state": "started"},
        ]),
        "{fly:#}"
    );

    let run = world.run(&["status"]);
    run.expect_code(0);
    run.expect_stdout(&format!("console machine {CONSOLE_MACHINE} started"));
    run.expect_stdout(&format!("machine {WEB_MACHINE} of group web started"));
}

#[test]
fn two_groups_nothing_tells_apart_are_not_checked_until_botctl_toml_names_one() {
    // Neither group has a [processes] command: the image's CMD runs in both.
    let fly = fly_apps(&[(
        APP,
        vec![
            in_group(BOT_MACHINE, "started", "worker", &[]),
            in_group(WEB_MACHINE, "started", "web", &[]),
        ],
    )]);
    let world = world_with(|_| fly.clone(), |b| b);
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let partner = bot(&run.json(), "partner").clone();
    assert_eq!(partner["verdict"], "unknown", "{partner:#}");
    let error = partner["fly"]["error"].as_str().unwrap();
    assert!(error.contains("web, worker"), "{error}");
    assert!(error.contains("fly_process_group = "), "{error}");
    assert!(partner["fly"]["machines"].as_array().unwrap().is_empty());

    let world = world_with(|_| fly, |b| b.fly_process_group("worker"));
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let partner = bot(&run.json(), "partner").clone();
    assert_eq!(partner["verdict"], "ok", "{partner:#}");
    assert_eq!(ids(&partner["fly"]["machines"]), [BOT_MACHINE]);
}

#[test]
fn a_canary_and_a_release_command_machine_are_never_the_bots_places() {
    let mut canary = in_group("c4a2a7e0000001", "started", "app", &[]);
    canary["metadata"] = json!({"fly_canary": "true"});
    let fly = fly_apps(&[(
        APP,
        vec![
            in_group(BOT_MACHINE, "started", "app", &[]),
            canary,
            in_group("7e1ea5e0000002", "started", "fly_app_release_command", &[]),
        ],
    )]);
    let world = world_with(|_| fly, |b| b);
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let partner = bot(&run.json(), "partner").clone();
    assert_eq!(partner["places"], 1, "{partner:#}");
    assert_eq!(ids(&partner["fly"]["machines"]), [BOT_MACHINE]);
    let run = world.run(&["status"]);
    run.expect_stdout("canary machine c4a2a7e0000001 started");
    run.expect_stdout("release command machine 7e1ea5e0000002 started");
}

#[test]
fn dev_start_stops_and_deploy_resume_starts_only_the_bots_group() {
    let world = world_with(|w| bot_web_and_console(w, "started"), |b| b);
    world.hold_process_table();
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(0);
    let states = |world: &World| world.fly_machines(APP);
    let pair = |id: &str, state: &str| (id.to_string(), state.to_string());
    assert_eq!(
        states(&world),
        [
            pair(BOT_MACHINE, "stopped"),
            pair(WEB_MACHINE, "started"),
            pair(CONSOLE_MACHINE, "started")
        ]
    );
    let calls = world.fly_calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.iter().any(|a| a == WEB_MACHINE || a == CONSOLE_MACHINE)),
        "botctl touched a machine that is not the bot's: {calls:?}"
    );
    // The handoff record went on the bot's machine only, and it stayed stopped.
    let state = world.fly_state_now();
    let machines = state["apps"][APP]["machines"].as_array().unwrap();
    assert!(machines[0]["metadata"]["botctl_by"].is_string());
    assert!(machines[1]["metadata"].get("botctl_by").is_none());

    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout(READY_LINE);
    assert_eq!(
        states(&world),
        [
            pair(BOT_MACHINE, "started"),
            pair(WEB_MACHINE, "started"),
            pair(CONSOLE_MACHINE, "started")
        ]
    );
}

#[test]
fn deploy_resume_finds_a_ready_line_a_chatty_bot_pushed_off_the_last_page() {
    let world = world_with(|w| bot_web_and_console(w, "stopped"), |b| b);
    world.hold_process_table();
    let mut resume = world
        .botctl_process(&["deploy-resume", "partner", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the bot is up (its ready line logged), it logs 80 lines more: more than one page.
    assert!(wait_until(Duration::from_secs(30), || world
        .fly_machines(APP)
        .first()
        .is_some_and(|(_, s)| s == "started")));
    let chatter: Vec<Value> = (0..80)
        .map(|i| {
            json!({"op": "log", "app": APP, "line": format!(
                "2099-01-01T00:00:00Z app[{BOT_MACHINE}] ams [info]handled update {i}")})
        })
        .collect();
    world.fly_apply(Value::Array(chatter));
    // The page --no-tail prints holds the chatter only.
    let page = std::process::Command::new(fake("flyctl"))
        .args(["logs", "--app", APP, "--no-tail"])
        .env("FAKE_FLY_STATE", world.fly_state_path())
        .env("FAKE_FLY_NO_RECORD", "1")
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout).to_string();
    assert_eq!(page.lines().count(), 50, "{page}");
    assert!(!page.contains(READY_LINE), "{page}");

    let status = resume.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(resume.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains(READY_LINE), "{out}");
}

#[test]
fn a_missing_apps_logs_are_app_not_found_with_the_fly_app_fix() {
    let world = world_with(|_| fly_apps(&[]), |b| b);
    let out = std::process::Command::new(fake("flyctl"))
        .args(["logs", "--app", APP])
        .env("FAKE_FLY_STATE", world.fly_state_path())
        .env("FAKE_FLY_NO_RECORD", "1")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error: 404 Not Found"
    );
    let run = world.run(&["doctor", "partner", "--json"]);
    let text = run.all_output();
    assert!(text.contains("was not found"), "{text}");
    assert!(text.contains("fix fly_app in botctl.toml"), "{text}");
}

/// A 409 line on the bot's machine in the app's logs, stamped now.
fn conflict_logged_now(world: &World) {
    let stamp = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    world.fly_apply(json!([{"op": "log", "app": APP, "line": format!(
        "{stamp} app[{BOT_MACHINE}] ams [info]telegram.error.Conflict: Conflict: terminated by \
other getUpdates request")}]));
}

/// The fake flyctl run by hand, as a teammate would: `flyctl deploy` or `machine update`.
fn teammate_runs_flyctl(world: &World, args: &[&str]) {
    let out = std::process::Command::new(fake("flyctl"))
        .args(args)
        .current_dir(world.root())
        .env("FAKE_FLY_STATE", world.fly_state_path())
        .env("FAKE_FLY_NO_RECORD", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_deploy_in_place_after_botctl_saw_the_machine_is_blamed_for_the_409s_after_it() {
    // One group, no fly.toml: a rolling deploy replaces the machine in place (same id).
    let world = world_with(
        |_| fly_apps(&[(APP, vec![machine(BOT_MACHINE, "started", None)])]),
        |b| b,
    );
    world.run(&["status", "partner"]); // botctl sees release 7
    assert!(world.path(".botctl/releases.json").exists());
    teammate_runs_flyctl(&world, &["deploy", "--app", APP]);
    let state = world.fly_state_now();
    let m = &state["apps"][APP]["machines"][0];
    assert_eq!(m["id"], BOT_MACHINE, "replaced in place: {m:#}");
    assert_eq!(m["release"], 8, "{m:#}");
    // Newest first: the new VM's start, then the deploy's update.
    let kinds: Vec<&str> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(kinds[..2], ["start", "update"], "{m:#}");
    conflict_logged_now(&world);
    let json = world.run(&["doctor", "partner", "--json"]).json();
    let f = expect_finding(&json, "deploy", Level::Error)
        .bot("partner")
        .saying("replaced in place (release 7 → 8)")
        .one();
    assert!(f["message"].as_str().unwrap().contains(BOT_MACHINE), "{f}");
    // A second doctor still knows it: the replacement is remembered with the sighting.
    let json = world.run(&["doctor", "partner", "--json"]).json();
    expect_finding(&json, "deploy", Level::Error)
        .saying("replaced in place (release 7 → 8)")
        .one();
}

#[test]
fn a_metadata_write_after_botctl_saw_the_machine_blames_no_deploy() {
    let world = world_with(
        |_| fly_apps(&[(APP, vec![machine(BOT_MACHINE, "stopped", None)])]),
        |b| b,
    );
    world.run(&["status", "partner"]);
    teammate_runs_flyctl(
        &world,
        &[
            "machine",
            "update",
            BOT_MACHINE,
            "--app",
            APP,
            "--metadata",
            "note=x",
            "--skip-start",
            "--yes",
        ],
    );
    let state = world.fly_state_now();
    assert_eq!(
        state["apps"][APP]["machines"][0]["events"][0]["type"],
        "update"
    );
    conflict_logged_now(&world);
    let run = world.run(&["doctor", "partner", "--json"]);
    assert!(
        !run.stdout.contains("replaced"),
        "an update event was taken for a deploy: {}",
        run.stdout
    );
}

#[test]
fn botctl_s_own_record_is_an_update_event_that_blames_no_deploy_and_keeps_the_machine_stopped() {
    let world = world_with(|w| bot_web_and_console(w, "started"), |b| b);
    world.hold_process_table();
    world.run(&["status", "partner"]); // a sighting of the release before the record
    world
        .run(&["dev-start", "partner", "--yes", "--no-run"])
        .expect_code(0);
    let state = world.fly_state_now();
    let bot_machine = &state["apps"][APP]["machines"][0];
    assert_eq!(bot_machine["state"], "stopped");
    assert_eq!(
        bot_machine["events"][0]["type"], "update",
        "{bot_machine:#}"
    );
    // A 409 right after the record was written: no deploy made a machine then.
    conflict_logged_now(&world);
    let run = world.run(&["doctor", "partner", "--json"]);
    let text = run.stdout.clone();
    assert!(
        !text.contains("was created or replaced") && !text.contains("replaced in place"),
        "an update event was taken for a deploy: {text}"
    );
}

#[test]
fn set_webhook_and_delete_webhook_wait_retry_after_once_on_429() {
    let tok = token(2901);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let hook = webhook::hook_url(free_port());
    let world = World::configured(|w| {
        Toml::new()
            .respawn("1s")
            .telegram_api(&api.url())
            .probe("2s")
            .bot(
                Bot::script("partner", &w.script("bot.py"))
                    .token_env("PARTNER_BOT_TOKEN")
                    .mode("webhook"),
            )
    });
    api.set_webhook(&tok, &hook);
    world.hold_process_table();
    let botctl = |args: &[&str]| run(world.botctl().env("PARTNER_BOT_TOKEN", &tok).args(args));

    api.flood(&tok, "deleteWebhook", 1, 1);
    botctl(&["dev-start", "partner", "--yes", "--no-run"]).expect_code(0);
    let stats = api.stats(&tok);
    assert_eq!(stats["webhook"], "", "{stats:#}");
    assert_eq!(stats["methods"]["deleteWebhook"], 2, "{stats:#}");

    api.flood(&tok, "setWebhook", 1, 1);
    let resume = botctl(&["deploy-resume", "partner", "--yes"]);
    resume.expect_code(0);
    assert!(
        resume.elapsed >= Duration::from_secs(1),
        "it waited retry_after"
    );
    let stats = api.stats(&tok);
    assert_eq!(stats["webhook"], hook.as_str(), "{stats:#}");
    assert_eq!(stats["methods"]["setWebhook"], 2, "{stats:#}");
}

#[test]
fn doctor_warns_of_a_console_machine_that_runs_the_bots_own_command() {
    let world = World::configured(|w| config(w, |b| b));
    let script = world.script("bot.py");
    let fly = fly_apps(&[(
        APP,
        vec![
            in_group(BOT_MACHINE, "stopped", "bot", &["python", &script]),
            in_group(
                CONSOLE_MACHINE,
                "started",
                "fly_app_console",
                &["python", &script],
            ),
        ],
    )]);
    world.fly_state(fly);
    let run = world.run(&["doctor", "partner", "--json"]);
    let json = run.json();
    let warned = findings(&json, "fly", Some("partner"))
        .into_iter()
        .find(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("console machine"))
        })
        .cloned()
        .unwrap_or_else(|| panic!("no console finding: {json:#}"));
    assert_eq!(warned["level"], "warn", "{warned:#}");
    assert!(
        warned["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("flyctl machine stop {CONSOLE_MACHINE}")),
        "{warned:#}"
    );
}

#[test]
fn a_machine_whose_host_is_unreachable_keeps_its_group_and_handoff_record() {
    let world = World::configured(|w| config(w, |b| b));
    let script = world.script("bot.py");
    let at = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    let mut unreachable = in_group(BOT_MACHINE, "stopped", "bot", &["python", &script]);
    unreachable["unreachable"] = json!(true);
    unreachable["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_on": "mbp",
                                     "botctl_at": at.to_string(), "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            unreachable,
            in_group(WEB_MACHINE, "started", "web", &["gunicorn", "admin:app"]),
        ],
    )]));
    let listed = world.fly_state_now();
    assert!(listed["apps"][APP]["machines"][0]["unreachable"] == true);
    let run = world.run(&["status", "--json"]);
    let partner = bot(&run.json(), "partner").clone();
    assert_eq!(
        ids(&partner["fly"]["machines"]),
        [BOT_MACHINE],
        "{partner:#}"
    );
    assert_eq!(partner["handoff"]["by"], "alice@mbp", "{partner:#}");
}

#[test]
fn two_bots_in_one_fly_app_cost_one_machine_list_per_status() {
    let world = World::configured(|w| {
        Toml::new()
            .fly_timeout("10s")
            .bot(
                Bot::script("partner", &w.script("bot.py"))
                    .fly_app(APP)
                    .fly_process_group("bot"),
            )
            .bot(
                Bot::script("admin", &w.script("admin_bot.py"))
                    .fly_app(APP)
                    .fly_process_group("admin"),
            )
    });
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            in_group(BOT_MACHINE, "started", "bot", &[]),
            in_group(WEB_MACHINE, "started", "admin", &[]),
        ],
    )]));
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    // Each bot sees its own group's machine from the one read, the other's as not its own.
    for (name, mine, theirs) in [
        ("partner", BOT_MACHINE, WEB_MACHINE),
        ("admin", WEB_MACHINE, BOT_MACHINE),
    ] {
        let fly = &bot(&json, name)["fly"];
        assert_eq!(ids(&fly["machines"]), [mine], "{fly:#}");
        assert_eq!(fly["others"][0]["id"], theirs, "{fly:#}");
    }
    let lists: Vec<Vec<String>> = world
        .fly_calls()
        .into_iter()
        .filter(|argv| argv.iter().any(|a| a == "list") && argv.iter().any(|a| a == "machine"))
        .collect();
    assert_eq!(lists.len(), 1, "one `machine list` per app: {lists:?}");
}
