//! doctor's findings about what time makes, from data it already read: the `deploy` check
//! (a bluegreen or canary strategy in fly.toml, an old flyctl while a handoff is open, 409
//! lines right after a machine was created) and the `events` check (a machine a handoff
//! stopped that something started again, named by its event source).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::{Level, World, expect_finding, findings, fly_apps};

const APP: &str = "loyalitybot-partner";
const MACHINE: &str = "148ed193b95089";

fn config(world: &World) -> Toml {
    Toml::new()
        .telegram_api("http://127.0.0.1:9")
        .bot(Bot::script("partner", &world.script("bot.py")).fly_app(APP))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rfc3339(secs: u64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn doctor(world: &World) -> Value {
    let run = world.run(&["doctor", "--json"]);
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    run.json()
}

/// Every deploy finding of partner is ok.
#[track_caller]
fn no_deploy_warning(json: &Value) {
    for level in [Level::Warn, Level::Error] {
        expect_finding(json, "deploy", level).bot("partner").none();
    }
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn a_bluegreen_strategy_in_fly_toml_is_a_deploy_finding_with_the_fix() {
    let world = World::configured(config);
    world.fly_state(fly_apps(&[(
        APP,
        vec![test_support::machine(MACHINE, "started", None)],
    )]));
    world.write(
        "fly.toml",
        &format!("app = \"{APP}\"\n\n[deploy]\n  strategy = \"bluegreen\"\n"),
    );
    let json = doctor(&world);
    let f = expect_finding(&json, "deploy", Level::Warn)
        .bot("partner")
        .one();
    assert!(
        text(&f["message"]).contains("strategy = \"bluegreen\""),
        "{f}"
    );
    assert!(text(&f["fix"]).contains("strategy = \"rolling\""), "{f}");
    assert!(text(&f["fix"]).starts_with("botctl deploy partner"), "{f}");
    assert!(text(&f["message"]).contains("boots a new machine beside every running one"));

    // canary too; rolling is fine; a fly.toml named by [fly] toml is the one read.
    world.write("deploy/prod.toml", "[deploy]\nstrategy = \"canary\"\n");
    world.write_config(config(&world).fly_toml("deploy/prod.toml"));
    let f = doctor(&world);
    assert!(
        text(
            &expect_finding(&f, "deploy", Level::Warn)
                .bot("partner")
                .one()["message"]
        )
        .contains("canary")
    );
    world.write("deploy/prod.toml", "[deploy]\nstrategy = \"rolling\"\n");
    let json = doctor(&world);
    expect_finding(&json, "deploy", Level::Ok)
        .bot("partner")
        .one();
    no_deploy_warning(&json);
}

/// With services, flyctl's first deploy makes two machines, and auto_stop_machines stops a
/// bot that serves no requests: both warnings for a polling bot, neither once one machine
/// runs with auto-stop off, nor for a webhook bot (services are its front door).
#[test]
fn services_and_auto_stop_in_fly_toml_are_deploy_warnings_for_a_polling_bot() {
    let world = World::configured(config);
    world.fly_state(fly_apps(&[(APP, vec![])]));
    world.write(
        "fly.toml",
        &format!(
            "app = \"{APP}\"\n\n[http_service]\n  internal_port = 8080\n  \
auto_stop_machines = \"stop\"\n  auto_start_machines = true\n"
        ),
    );
    let json = doctor(&world);
    let warning = || expect_finding(&json, "deploy", Level::Warn).bot("partner");
    warning().count(2);
    let two = warning().saying("creates two machines").one();
    assert!(text(&two["message"]).contains("no machine yet"), "{two}");
    assert_eq!(two["fix"], format!("fly scale count 1 --app {APP}"));
    let stop = warning().saying("auto_stop_machines = \"stop\"").one();
    assert!(
        text(&stop["fix"]).contains("auto_stop_machines = \"off\""),
        "{stop}"
    );
    // The ✓ of the rolling strategy stays: it is true.
    expect_finding(&json, "deploy", Level::Ok)
        .bot("partner")
        .one();

    // One machine (deployed with --ha=false, or scaled to one) and auto-stop off: nothing to say.
    world.fly_state(fly_apps(&[(
        APP,
        vec![test_support::machine(MACHINE, "started", None)],
    )]));
    world.write(
        "fly.toml",
        &format!("app = \"{APP}\"\n\n[[services]]\n  internal_port = 8080\n  auto_stop_machines = \"off\"\n"),
    );
    let json = doctor(&world);
    no_deploy_warning(&json);

    // A webhook bot needs its services.
    world.write_config(config(&world).change_bot("partner", |b| {
        b.mode("webhook")
            .webhook_url("https://loyalitybot-partner.fly.dev/telegram")
    }));
    world.fly_state(fly_apps(&[(APP, vec![])]));
    world.write(
        "fly.toml",
        &format!("app = \"{APP}\"\n\n[http_service]\n  auto_stop_machines = true\n"),
    );
    let json = doctor(&world);
    no_deploy_warning(&json);
}

#[test]
fn an_old_flyctl_while_a_handoff_is_open_is_a_deploy_finding() {
    let world = World::configured(config);
    let mut state = fly_apps(&[(APP, vec![test_support::machine(MACHINE, "stopped", None)])]);
    state["version"] = json!("0.4.10");
    world.fly_state(state.clone());
    world.write(
        ".botctl/state.json",
        &json!({"version": 1, "handoffs": [{"bot": "partner", "app": APP,
            "machines": [MACHINE], "at": "2026-11-25T10:00:00Z", "by": "alice@mbp"}]})
        .to_string(),
    );
    let json = doctor(&world);
    let f = expect_finding(&json, "deploy", Level::Warn)
        .bot("partner")
        .one();
    let message = text(&f["message"]);
    assert!(
        message.contains("v0.4.10 is older than v0.4.20"),
        "{message}"
    );
    assert!(message.contains("alice@mbp"), "{message}");
    assert!(text(&f["fix"]).contains("--stage"), "{f}");

    // A current flyctl: nothing to say about it.
    state["version"] = json!("0.4.87");
    world.fly_state(state);
    let json = doctor(&world);
    assert!(
        findings(&json, "deploy", Some("partner")).is_empty(),
        "{json:#}"
    );
}

#[test]
fn conflicts_a_minute_after_a_machine_was_created_name_that_machine() {
    let world = World::configured(config);
    let t = now();
    let mut state = fly_apps(&[(
        APP,
        vec![
            json!({"id": MACHINE, "state": "started", "region": "ams",
                   "created_at": "2026-11-20T09:00:00Z"}),
            json!({"id": "9080e6f3a12345", "state": "started", "region": "ams",
                   "created_at": rfc3339(t - 20)}),
        ],
    )]);
    state["apps"][APP]["logs"] = json!([format!(
        "{} app[{MACHINE}] ams [info]telegram.error.Conflict: Conflict: terminated by other \
getUpdates request",
        rfc3339(t)
    )]);
    world.fly_state(state);
    let json = doctor(&world);
    let f = expect_finding(&json, "deploy", Level::Error)
        .bot("partner")
        .one();
    let message = text(&f["message"]);
    assert!(
        message.contains("machine 9080e6f3a12345 was created or replaced"),
        "{message}"
    );
    assert!(message.contains("came 20s after"), "{message}");
}

#[test]
fn a_machine_the_handoff_stopped_and_fly_proxy_started_is_an_events_finding() {
    let world = World::configured(config);
    let t = now() * 1000;
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            json!({"id": MACHINE, "state": "started", "region": "ams", "autostart": true,
            "events": [
                {"type": "start", "status": "started", "source": "proxy", "timestamp": t - 5000},
                {"type": "stop", "status": "stopped", "source": "user", "timestamp": t - 60000},
            ]}),
        ],
    )]));
    world.write(
        ".botctl/state.json",
        &json!({"version": 1, "handoffs": [{"bot": "partner", "app": APP,
            "machines": [MACHINE], "at": "2026-11-25T10:00:00Z", "by": "bob@laptop"}]})
        .to_string(),
    );
    let run = world.run(&["doctor", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let f = expect_finding(&json, "events", Level::Error)
        .bot("partner")
        .one();
    let message = text(&f["message"]);
    assert!(message.contains(&format!("machine {MACHINE}")), "{message}");
    assert!(message.contains("bob@laptop"), "{message}");
    assert!(message.contains("Fly Proxy"), "{message}");
    assert!(text(&f["fix"]).contains("--autostart=false"), "{f}");

    // Started by a deploy (a launch event): named as such.
    world.fly_apply(
        json!([{"op": "machine", "app": APP, "id": MACHINE, "set": {"events": [
        {"type": "update", "status": "started", "source": "user", "timestamp": t - 3000}]}}]),
    );
    let json = doctor(&world);
    assert!(
        text(
            &expect_finding(&json, "events", Level::Error)
                .bot("partner")
                .one()["message"]
        )
        .contains("a deploy")
    );
}
