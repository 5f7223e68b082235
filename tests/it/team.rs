//! The team sees one truth: handoff records on Fly machine metadata. Two laptops (two project
//! folders, `BOTCTL_WHO=alice@mbp` and `bob@thinkpad`) share one fake Fly account; the fake
//! flyctl merges `machine update --metadata` keys as Fly does, reboots a running machine on an
//! update, and every World fails its test if botctl ever updates a machine that is not stopped.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const M1: &str = "148ed193b95089";
const STANDBY: &str = "9080e6f3a12345";

fn laptop_config(world: &World, api: &str) -> Toml {
    Toml::new()
        .fly_wait("30s")
        .fly_timeout("10s")
        .telegram_api(api)
        .probe("5s")
        .bot(
            Bot::script("partner", &world.script("bot.py"))
                .fly_app(APP)
                .token_env("PARTNER_BOT_TOKEN")
                .ready_log(READY_LINE),
        )
}

/// One started machine (a moment to stop and start) and a standby stopped before anything.
fn account() -> Value {
    let mut state = fly_apps(&[(
        APP,
        vec![
            json!({"id": M1, "state": "started", "region": "ams", "stop_delay": 1,
                   "start_delay": 1}),
            json!({"id": STANDBY, "state": "stopped", "region": "ams"}),
        ],
    )]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    state
}

fn calls_since(world: &World, from: usize) -> Vec<Vec<String>> {
    world.fly_calls().into_iter().skip(from).collect()
}

fn is(call: &[String], sub: &str) -> bool {
    call.len() > 1 && call[0] == "machine" && call[1] == sub
}

fn changing(calls: &[Vec<String>]) -> Vec<&Vec<String>> {
    calls
        .iter()
        .filter(|c| is(c, "update") || is(c, "stop") || is(c, "start"))
        .collect()
}

fn state_of(world: &World, id: &str) -> String {
    world
        .fly_machines(APP)
        .into_iter()
        .find(|(m, _)| m == id)
        .map(|(_, s)| s)
        .unwrap_or_default()
}

fn handoff_of(run: &Run) -> Value {
    bot(&run.json(), "partner")["handoff"].clone()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[test]
fn two_laptops_publish_see_refuse_doctor_take_over_resume_and_clear() {
    let token = test_support::token(181);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::new();
    world.fly_state(account());
    let alice = world.laptop("alice@mbp", laptop_config(&world, &api.url()));
    let bob = world.laptop("bob@thinkpad", laptop_config(&world, &api.url()));
    for laptop in [&alice, &bob] {
        laptop.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    }

    // 1. alice takes the bot: the machine is stopped, then the record is published on it.
    let before = world.fly_calls().len();
    let run = alice.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("Publish the handoff on Fly.io");
    assert_eq!(state_of(&world, M1), "stopped");
    let meta = fly_metadata(&world, APP, M1);
    assert_eq!(meta["botctl_by"], "alice@mbp", "{meta:#}");
    assert_eq!(meta["botctl_bot"], "partner");
    assert!(
        text(&meta["botctl_at"]).ends_with('Z') && text(&meta["botctl_at"]).contains('T'),
        "{meta:#}"
    );
    assert!(
        fly_metadata(&world, APP, STANDBY).is_null(),
        "the standby was not stopped by dev-start: no record on it"
    );
    let local = alice.state().expect("alice's local state");
    assert_eq!(local["handoffs"][0]["by"], "alice@mbp");
    assert_eq!(local["handoffs"][0]["at"], meta["botctl_at"]);
    let calls = calls_since(&world, before);
    let changed = changing(&calls);
    assert!(is(changed[0], "stop"), "{changed:?}");
    let update = changed
        .iter()
        .find(|c| is(c, "update"))
        .expect("an update call");
    for word in [
        M1,
        "--app",
        APP,
        "--skip-start",
        "--yes",
        "botctl_by=alice@mbp",
        "botctl_bot=partner",
    ] {
        assert!(update.iter().any(|a| a == word), "{word} in {update:?}");
    }
    assert_eq!(update.iter().filter(|a| *a == "--metadata").count(), 4);
    assert_eq!(text(&meta["botctl_on"]).len(), 12, "{meta:#}");
    assert!(
        !update.iter().any(|a| a.starts_with("fly_")),
        "never a fly_ key: {update:?}"
    );

    // 2. alice's status knows it is hers and that the bot does not run on her laptop.
    let run = alice.run(&["status", "partner", "--json"]);
    let h = handoff_of(&run);
    assert_eq!(h["by"], "alice@mbp");
    assert_eq!(h["mine"], true);
    assert_eq!(h["stale"], false);
    assert_eq!(h["machines"], json!([M1]));
    assert_eq!(bot(&run.json(), "partner")["places"], 0);
    alice
        .run(&["status", "partner"])
        .expect_stdout("you took partner at")
        .expect_stdout("it does not run here");

    // 3. bob sees alice's laptop as a declared place, from the one machine list it makes.
    let before = world.fly_calls().len();
    let run = bob.run(&["status", "partner", "--json"]);
    run.expect_code(0);
    let lists: Vec<_> = calls_since(&world, before)
        .into_iter()
        .filter(|c| is(c, "list"))
        .collect();
    assert_eq!(lists.len(), 1, "no extra flyctl call: {lists:?}");
    let partner = bot(&run.json(), "partner").clone();
    assert_eq!(partner["places"], 1, "{partner:#}");
    assert_eq!(partner["verdict"], "ok");
    assert_eq!(
        keys(&partner["handoff"]),
        ["by", "at", "machines", "mine", "stale"]
    );
    assert_eq!(partner["handoff"]["by"], "alice@mbp");
    assert_eq!(partner["handoff"]["mine"], false);
    let human = bob.run(&["status", "partner"]);
    human
        .expect_stdout("on alice@mbp (dev-start ")
        .expect_stdout("not seen from here");
    assert!(!human.stdout.contains("nowhere"), "{}", human.stdout);

    // 4. bob's doctor names alice as the holder (a warning: nothing conflicts yet).
    let run = bob.run(&["doctor", "partner", "--json"]);
    let json = run.json();
    let held = expect_finding(&json, "handoff", Level::Warn)
        .bot("partner")
        .saying("alice@mbp holds partner")
        .one();
    assert!(fix(held).contains("--take-over"), "{held}");
    bob.run(&["doctor", "partner"])
        .expect_stdout("alice@mbp holds partner");

    // 5. bob's dev-start and deploy-resume refuse, changing nothing.
    let before = world.fly_calls().len();
    let run = bob.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(1);
    run.expect_stderr("alice@mbp holds partner since")
        .expect_stderr("botctl deploy-resume partner")
        .expect_stderr("botctl dev-start partner --take-over");
    let run = bob.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("alice@mbp holds partner since")
        .expect_stderr("botctl deploy-resume partner --take-over");
    assert!(changing(&calls_since(&world, before)).is_empty());
    assert!(bob.state().is_none());
    assert_eq!(state_of(&world, M1), "stopped");

    // 6. alice's copy still polls on her laptop (a script bob's botctl.toml does not name):
    // bob's probe hears it and doctor names alice; the take-over probes first and refuses.
    let mut alices_copy = PtbBot::start(&world, &api, &token, "alices_laptop_copy.py");
    let run = bob.run(&["doctor", "partner", "--probe", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let first = &json["findings"][0];
    assert_eq!(first["check"], "handoff", "the cause comes first: {json:#}");
    assert_eq!(first["level"], "error");
    assert!(
        text(&first["message"]).contains("most likely alice@mbp's copy"),
        "{first}"
    );
    let before = world.fly_calls().len();
    let run = bob.run(&["dev-start", "partner", "--yes", "--no-run", "--take-over"]);
    run.expect_code(1);
    run.expect_stderr("most likely alice@mbp's copy");
    assert!(changing(&calls_since(&world, before)).is_empty());
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "alice@mbp");

    // 7. alice stops her copy; bob takes over: the record is rewritten, his state names him.
    assert!(alices_copy.stop(Duration::from_secs(10)));
    let run = bob.run(&["dev-start", "partner", "--yes", "--no-run", "--take-over"]);
    run.expect_code(0);
    run.expect_stdout("taking it over from alice@mbp");
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "bob@thinkpad");
    let local = bob.state().expect("bob's local state");
    assert_eq!(local["handoffs"][0]["by"], "bob@thinkpad");
    assert_eq!(local["handoffs"][0]["machines"], json!([M1]));
    assert_eq!(state_of(&world, M1), "stopped");

    // 8. Now alice sees bob's laptop, and her deploy-resume refuses.
    let run = alice.run(&["status", "partner", "--json"]);
    assert_eq!(handoff_of(&run)["by"], "bob@thinkpad");
    assert_eq!(handoff_of(&run)["mine"], false);
    alice
        .run(&["deploy-resume", "partner", "--yes"])
        .expect_code(1)
        .expect_stderr("bob@thinkpad holds partner");
    assert_eq!(state_of(&world, M1), "stopped");

    // 9. bob loses .botctl/; deploy-resume reads his record on Fly (the second journal),
    // clears it before it starts the machine, and starts exactly that machine.
    bob.lose_local_state();
    let before = world.fly_calls().len();
    let run = bob.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("recorded on Fly by bob@thinkpad");
    run.expect_stdout(READY_LINE);
    let calls = calls_since(&world, before);
    let changed = changing(&calls);
    let clear = changed
        .iter()
        .position(|c| is(c, "update") && c.iter().any(|a| a == "botctl_by="))
        .unwrap_or_else(|| panic!("a clearing update: {changed:?}"));
    let start = changed
        .iter()
        .position(|c| is(c, "start"))
        .expect("a start");
    assert!(clear < start, "cleared before the start: {changed:?}");
    assert!(changed[clear].iter().any(|a| a == "--skip-start"));
    assert_eq!(state_of(&world, M1), "started");
    assert_eq!(state_of(&world, STANDBY), "stopped");
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "");

    // 10. Nobody holds it: both laptops see Fly.io only.
    for laptop in [&alice, &bob] {
        let run = laptop.run(&["status", "partner", "--json"]);
        assert_eq!(handoff_of(&run), Value::Null, "{}", laptop.who());
        assert_eq!(bot(&run.json(), "partner")["places"], 1);
    }
}

/// Without BOTCTL_WHO botctl is user@short-host, in the record and in state.json alike.
#[test]
fn who_am_i_is_user_at_the_short_host_name_in_state_and_record() {
    let world = partner_on_fly_with(fly_apps(&[(APP, vec![machine(M1, "started", None)])]));
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0);
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
                .unwrap()
                .trim()
                .to_string()
        });
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let short = host.trim().split('.').next().unwrap().to_string();
    let who = format!("{user}@{short}");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(world.path(".botctl/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["handoffs"][0]["by"], who.as_str());
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], who.as_str());
    let run = world.run(&["status", "--json"]);
    assert_eq!(handoff_of(&run)["mine"], true);
}

/// A failed publish is a warning that prints the command to retry; the local record stays and
/// deploy-resume still knows the machines.
#[test]
fn a_failed_publish_is_a_warning_with_the_retry_command_and_the_local_record_stays() {
    let world = World::configured(partner_on_fly);
    let mut state = fly_apps(&[(
        APP,
        vec![
            machine(M1, "started", None),
            machine(STANDBY, "started", None),
        ],
    )]);
    state["apps"][APP]["machines"][1]["fail_update"] = json!(true);
    world.fly_state(state);
    let run = run(world.botctl().env("BOTCTL_WHO", "alice@mbp").args([
        "dev-start",
        "partner",
        "--yes",
        "--no-run",
        "--no-probe",
    ]));
    run.expect_code(0);
    run.expect_stdout("warning")
        .expect_stdout(&format!("not published on {STANDBY}"))
        .expect_stdout(&format!(
            "retry: flyctl machine update {STANDBY} --app {APP} --metadata botctl_by=alice@mbp"
        ))
        .expect_stdout("--skip-start --yes");
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "alice@mbp");
    let local: Value =
        serde_json::from_str(&std::fs::read_to_string(world.path(".botctl/state.json")).unwrap())
            .unwrap();
    assert_eq!(local["handoffs"][0]["machines"], json!([M1, STANDBY]));

    // doctor: the record is on only some of the machines the handoff stopped.
    let run = run_as(&world, "alice@mbp", &["doctor", "partner", "--json"]);
    let json = run.json();
    let partial = expect_finding(&json, "handoff", Level::Warn)
        .bot("partner")
        .saying("only some")
        .one();
    assert!(
        fix(partial).contains(&format!("flyctl machine update {STANDBY}")),
        "{partial}"
    );
}

fn run_as(world: &World, who: &str, args: &[&str]) -> Run {
    run(world.botctl().env("BOTCTL_WHO", who).args(args))
}

/// A record older than `[team] stale` is stale in status and doctor; a wider setting is not.
#[test]
fn a_record_older_than_team_stale_is_reported_stale() {
    let world = World::configured(partner_on_fly);
    let mut m = machine(M1, "stopped", None);
    m["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": "2026-01-02T03:04:05Z",
                           "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(APP, vec![m])]));
    let run = run_as(&world, "bob@thinkpad", &["status", "--json"]);
    let h = handoff_of(&run);
    assert_eq!(h["stale"], true, "{h}");
    assert_eq!(h["at"], "2026-01-02T03:04:05Z");
    run_as(&world, "bob@thinkpad", &["status"]).expect_stdout("stale: older than 12h");
    let json = run_as(&world, "bob@thinkpad", &["doctor", "--json"]).json();
    expect_finding(&json, "handoff", Level::Warn)
        .bot("partner")
        .saying("stale")
        .some();

    world.write_config(
        Toml::new()
            .team_stale("744h")
            .bot(Bot::script("partner", &world.script("bot.py")).fly_app(APP)),
    );
    // Set well inside a month before now.
    let recent = {
        let out = Command::new("date")
            .args(["-u", "-d", "-20 days", "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let mut m = machine(M1, "stopped", None);
    m["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": recent, "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(APP, vec![m])]));
    let run = run_as(&world, "bob@thinkpad", &["status", "--json"]);
    assert_eq!(handoff_of(&run)["stale"], false);
}

/// A record while the machines it names are started: something started them.
#[test]
fn a_record_on_started_machines_is_an_error_pointing_at_their_events() {
    let world = World::configured(partner_on_fly);
    let mut m = machine(M1, "started", None);
    m["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": "2026-11-30T10:00:00Z",
                           "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(APP, vec![m])]));
    let run = run_as(&world, "bob@thinkpad", &["doctor", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let f = expect_finding(&json, "handoff", Level::Error)
        .bot("partner")
        .saying("something started")
        .one();
    assert!(fix(f).contains("events"), "{f}");
    // alice's laptop and the started machine: two places.
    let run = run_as(&world, "bob@thinkpad", &["status", "--json"]);
    run.expect_code(1);
    assert_eq!(bot(&run.json(), "partner")["places"], 2);
    // A record by someone else is no reason for deploy-resume to reboot a running machine:
    // it refuses, and the World's drop check proves nothing updated it.
    run_as(&world, "bob@thinkpad", &["deploy-resume", "--yes"]).expect_code(1);
}

/// The checklist has "no one else holds partner", unticked while alice does.
#[test]
fn checklist_says_whether_someone_else_holds_the_bot() {
    let world = World::configured(partner_on_fly);
    let mut m = machine(M1, "stopped", None);
    m["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": "2026-11-30T10:00:00Z",
                           "botctl_on": "laptop-a", "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(APP, vec![m])]));
    let run = run_as(&world, "bob@thinkpad", &["checklist"]);
    run.expect_stdout("✗ partner: no one else holds partner — alice@mbp holds partner since")
        .expect_stdout("botctl dev-start partner --take-over");
    let run = test_support::run(
        world
            .botctl()
            .env("BOTCTL_WHO", "alice@mbp")
            .env("BOTCTL_ON", "laptop-a")
            .arg("checklist"),
    );
    run.expect_stdout("✓ partner: no one else holds partner");
}

// ------------------------------------------------------------------- the fake flyctl itself

fn fake_flyctl(world: &World, args: &[&str]) -> std::process::Output {
    Command::new(world.bin().join("flyctl"))
        .args(args)
        .env("FAKE_FLY_STATE", world.fly_state_path())
        .envs(world.marks())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the fake flyctl")
}

fn metadata_in_list(world: &World, id: &str) -> Value {
    let out = fake_flyctl(world, &["machine", "list", "--app", APP, "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .map(|m| m["config"]["metadata"].clone())
        .unwrap()
}

/// The fake learns `machine update --metadata` as reference/flyctl.md describes it.
#[test]
fn fake_flyctl_merges_metadata_keeps_stopped_machines_stopped_and_reboots_running_ones() {
    let world = World::new();
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            machine(M1, "stopped", None),
            machine(STANDBY, "started", None),
        ],
    )]));
    let update = |id: &str, pairs: &[&str], extra: &[&str]| {
        let mut args = vec!["machine", "update", id, "--app", APP];
        for p in pairs {
            args.extend(["--metadata", p]);
        }
        args.extend(extra);
        fake_flyctl(&world, &args)
    };
    // Merged into config.metadata; Fly's own keys stay.
    let out = update(
        M1,
        &["botctl_by=alice@mbp", "botctl_bot=partner"],
        &["--skip-start", "--yes"],
    );
    assert!(out.status.success(), "{out:?}");
    update(
        M1,
        &["botctl_at=2026-11-30T10:00:00Z"],
        &["--skip-start", "--yes"],
    );
    let meta = metadata_in_list(&world, M1);
    assert_eq!(meta["botctl_by"], "alice@mbp");
    assert_eq!(meta["botctl_at"], "2026-11-30T10:00:00Z");
    assert_eq!(meta["fly_process_group"], "app");
    assert_eq!(
        state_of(&world, M1),
        "stopped",
        "--skip-start keeps it stopped"
    );
    // KEY= stores an empty string; no flag removes a key.
    update(M1, &["botctl_by="], &["--skip-start", "--yes"]);
    assert_eq!(metadata_in_list(&world, M1)["botctl_by"], "");
    assert_eq!(metadata_in_list(&world, M1)["botctl_bot"], "partner");
    // Not interactive without --yes: an error, as flyctl's.
    let out = update(M1, &["botctl_by=x"], &["--skip-start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Error: yes flag"));
    // Without --skip-start a stopped machine stays stopped since flyctl v0.4.20 (PR #4765);
    // an older flyctl started it.
    update(M1, &["botctl_by=x"], &["--yes"]);
    assert_eq!(state_of(&world, M1), "stopped");
    world.fly_apply(json!([{"op": "set", "key": "version", "value": "0.4.10"}]));
    update(M1, &["botctl_by=y"], &["--yes"]);
    assert!(wait_until(Duration::from_secs(10), || state_of(&world, M1)
        == "started"));
    assert!(world.take_fly_violations().is_empty());

    // A running machine is rebooted by an update, and that is a violation the tests catch.
    update(
        STANDBY,
        &["botctl_by=alice@mbp"],
        &["--skip-start", "--yes"],
    );
    assert_eq!(state_of(&world, STANDBY), "replacing");
    assert!(wait_until(Duration::from_secs(10), || state_of(
        &world, STANDBY
    ) == "started"));
    update(STANDBY, &["fly_release_id=x"], &["--skip-start", "--yes"]);
    let violations = world.take_fly_violations();
    assert_eq!(violations.len(), 3, "{violations:#?}");
    assert!(text(&violations[0]["why"]).contains("not stopped"));
    assert!(
        violations
            .iter()
            .any(|v| text(&v["why"]).contains("fly_release_id"))
    );
    assert!(world.take_fly_violations().is_empty(), "taken");
}

/// deploy-resume --take-over: resumes a bot someone else holds, clearing their record first.
#[test]
fn deploy_resume_take_over_clears_a_teammates_record_and_starts_its_machines() {
    let world = World::configured(partner_on_fly);
    let mut m = machine(M1, "stopped", None);
    m["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": "2026-11-30T10:00:00Z",
                           "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(
        APP,
        vec![m, machine(STANDBY, "stopped", None)],
    )]));
    world.hold_process_table();
    let dry = run_as(
        &world,
        "bob@thinkpad",
        &["deploy-resume", "partner", "--take-over", "--dry-run"],
    );
    dry.expect_code(0)
        .expect_stdout("would: take it over from alice@mbp")
        .expect_stdout(&format!(
            "flyctl machine update {M1} --app {APP} --metadata botctl_by= --metadata botctl_on= \
--metadata botctl_at= --metadata botctl_bot= --skip-start --yes"
        ));
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "alice@mbp");
    // Without a token no probe can run: the take-over refuses, naming the explicit choice.
    let before = world.fly_calls().len();
    run_as(
        &world,
        "bob@thinkpad",
        &["deploy-resume", "partner", "--take-over", "--yes"],
    )
    .expect_code(1)
    .expect_stderr("no token to probe with")
    .expect_stderr("botctl deploy-resume partner --take-over --no-probe");
    assert!(changing(&calls_since(&world, before)).is_empty());
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "alice@mbp");
    let run = run_as(
        &world,
        "bob@thinkpad",
        &[
            "deploy-resume",
            "partner",
            "--take-over",
            "--no-probe",
            "--yes",
        ],
    );
    run.expect_code(0)
        .expect_stdout("taking it over from alice@mbp")
        .expect_stdout("without a probe (--no-probe)")
        .expect_stdout("recorded on Fly by alice@mbp");
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "");
    assert!(wait_until(Duration::from_secs(10), || state_of(&world, M1)
        == "started"));
    assert_eq!(
        state_of(&world, STANDBY),
        "stopped",
        "only the record's machines are started"
    );
}

/// The drop check itself: a test whose own assertions pass still fails when a running machine
/// was updated in its fake Fly account.
#[test]
#[should_panic(expected = "broke a rule of Fly machine metadata")]
fn a_world_fails_its_test_when_a_running_machine_was_updated() {
    let world = World::new();
    world.fly_state(fly_apps(&[(APP, vec![machine(M1, "started", None)])]));
    let out = fake_flyctl(
        &world,
        &[
            "machine",
            "update",
            M1,
            "--app",
            APP,
            "--metadata",
            "botctl_by=x",
            "--skip-start",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{out:?}");
}

/// Records by two people on the machines of one app: the newest holds it, and doctor says
/// they disagree.
#[test]
fn records_that_disagree_across_machines_are_a_doctor_warning() {
    let world = World::configured(partner_on_fly);
    let mut a = machine(M1, "stopped", None);
    a["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": "2026-11-30T10:00:00Z",
                           "botctl_bot": "partner"});
    let mut b = machine(STANDBY, "stopped", None);
    b["metadata"] = json!({"botctl_by": "carol@x1", "botctl_at": "2026-11-30T11:00:00Z",
                           "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(APP, vec![a, b])]));
    let run = run_as(&world, "bob@thinkpad", &["status", "--json"]);
    assert_eq!(
        handoff_of(&run)["by"],
        "carol@x1",
        "the newest record holds it"
    );
    assert_eq!(handoff_of(&run)["machines"], json!([STANDBY]));
    let json = run_as(&world, "bob@thinkpad", &["doctor", "--json"]).json();
    expect_finding(&json, "handoff", Level::Warn)
        .bot("partner")
        .saying("different handoff records")
        .saying("alice@mbp")
        .saying("carol@x1")
        .one();
}

/// `botctl exec` on bob's laptop refuses while alice's record holds the bot: her laptop is a
/// place no source of bob's can see.
#[test]
fn exec_refuses_while_a_teammates_record_holds_the_bot() {
    let world = World::new();
    let at = time_rfc3339_minutes_ago(30);
    world.fly_state(fly_apps(&[(
        APP,
        vec![json!({"id": M1, "state": "stopped", "region": "ams",
                    "metadata": {"botctl_by": "alice@mbp", "botctl_at": at,
                                 "botctl_on": "laptop-a", "botctl_bot": "partner"}})],
    )]));
    let bob = world.laptop("bob@thinkpad", laptop_config(&world, &dead_url()));
    let run = bob.run(&["exec", "partner", "--", "true"]);
    run.expect_code(1);
    run.expect_stderr("alice@mbp holds partner");
    run.expect_stderr("botctl deploy-resume partner");
    // alice herself is not refused by her own record.
    let alice = world.laptop("alice@mbp", laptop_config(&world, &dead_url()));
    test_support::run(
        alice
            .botctl()
            .env("BOTCTL_ON", "laptop-a")
            .args(["exec", "partner", "--", "true"]),
    )
    .expect_code(0);
}

fn time_rfc3339_minutes_ago(minutes: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    jiff::Timestamp::from_second((now - minutes * 60) as i64)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `--take-over` fails closed: when its probe cannot run (the Bot API answers 502), neither
/// deploy-resume nor dev-start clears or rewrites the teammate's record or touches a machine;
/// the refusal says why and names `--take-over --no-probe` as the explicit choice.
#[test]
fn a_take_over_whose_probe_cannot_run_changes_nothing() {
    let token = token(2605);
    let api = BotApi::start_broken(&[(&token, "ghbipartnerbot")]);
    let world = World::new();
    let mut m = machine(M1, "stopped", None);
    m["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": time_rfc3339_minutes_ago(5),
                           "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(APP, vec![m])]));
    let bob = world.laptop("bob@thinkpad", laptop_config(&world, &api.url()));
    bob.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    world.hold_process_table();
    let before = world.fly_calls().len();
    for command in ["deploy-resume", "dev-start"] {
        let mut args = vec![command, "partner", "--take-over", "--yes"];
        if command == "dev-start" {
            args.push("--no-run");
        }
        let run = bob.run(&args);
        run.expect_code(1)
            .expect_stderr("the take-over's probe could not run")
            .expect_stderr(&format!("botctl {command} partner --take-over --no-probe"));
    }
    assert!(changing(&calls_since(&world, before)).is_empty());
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_by"], "alice@mbp");
    assert_eq!(state_of(&world, M1), "stopped");
    assert!(bob.state().is_none());
}

/// A record stamped a year ahead (a skewed clock) is timed from when botctl first saw it: it
/// says so, does not read "just now" for ever, and goes stale `[team] stale` after that.
#[test]
fn a_record_from_the_future_is_timed_from_its_first_sight() {
    let world = World::configured(partner_on_fly);
    let mut m = machine(M1, "stopped", None);
    m["metadata"] = json!({"botctl_by": "alice@mbp", "botctl_at": "2027-12-06T10:00:00Z",
                           "botctl_on": "3fa2b1c0d9e8", "botctl_bot": "partner"});
    world.fly_state(fly_apps(&[(APP, vec![m])]));
    let run = run_as(&world, "bob@thinkpad", &["status", "--json"]);
    let h = handoff_of(&run);
    let at: jiff::Timestamp = text(&h["at"]).parse().expect("an RFC 3339 time");
    assert!(
        at <= jiff::Timestamp::now(),
        "clamped to its first sight: {h}"
    );
    assert_eq!(h["stale"], false, "{h}");
    run_as(&world, "bob@thinkpad", &["status"]).expect_stdout("from the future");
    // The first sight is kept: 13 hours later (the kept sight moved back), it is stale after
    // the default [team] stale of 12h, though its stamp is still a year ahead.
    let seen = world.path(".botctl/seen.json");
    let mut sights: Vec<(String, u64)> =
        serde_json::from_str(&std::fs::read_to_string(&seen).expect("the first sight is kept"))
            .unwrap();
    assert_eq!(sights.len(), 1, "{sights:?}");
    sights[0].1 -= 13 * 3600;
    std::fs::write(&seen, serde_json::to_string(&sights).unwrap()).unwrap();
    let later = handoff_of(&run_as(&world, "bob@thinkpad", &["status", "--json"]));
    assert_eq!(later["stale"], true, "{later}");
}

/// The same person on another laptop is not "mine, here": the record says where it was written
/// (`botctl_on`), and a record from another machine is a place this one cannot see.
#[test]
fn the_same_person_on_another_machine_is_not_mine() {
    let world = World::configured(partner_on_fly);
    world.fly_state(account());
    let laptop_a = world.laptop("alice@mbp", laptop_config(&world, &dead_url()));
    let start = run(laptop_a.botctl().env("BOTCTL_ON", "laptop-a").args([
        "dev-start",
        "partner",
        "--yes",
        "--no-run",
        "--no-probe",
    ]));
    start.expect_code(0);
    assert_eq!(fly_metadata(&world, APP, M1)["botctl_on"], "laptop-a");
    let on_b = |args: &[&str]| {
        world.hold_process_table();
        run(world
            .botctl()
            .env("BOTCTL_WHO", "alice@mbp")
            .env("BOTCTL_ON", "laptop-b")
            .args(args))
    };
    let status = on_b(&["status", "--json"]);
    let h = handoff_of(&status);
    assert_eq!(h["mine"], false, "{h}");
    assert_ne!(
        bot(&status.json(), "partner")["verdict"],
        "stopped",
        "the copy on laptop A is a place: {}",
        status.stdout
    );
    on_b(&["exec", "partner", "--", "true"])
        .expect_code(1)
        .expect_stderr("alice@mbp on another machine");
    // On laptop A itself the record is alice's own.
    let own = run(laptop_a
        .botctl()
        .env("BOTCTL_ON", "laptop-a")
        .args(["status", "--json"]));
    assert_eq!(handoff_of(&own)["mine"], true);
}
