//! The same token in another Fly app: a beta app made by copying the production app's secrets
//! polls with the production token. botctl compares secret digests (`flyctl secrets list`)
//! across every app (`flyctl apps list`), at most 8 flyctl calls at a time.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const BETA: &str = "loyalitybot-beta";
/// What the fake's secrets hold: stand-ins for tokens (the fake shows only their digests).
const PARTNER_TOKEN: &str = "the partner bot's token";
const BETA_OWN_TOKEN: &str = "the beta bot's own token";

/// partner on Fly.io with its token in the secret PARTNER_BOT_TOKEN (the default: token_env).
fn config() -> Toml {
    // A path: a stray bot.py elsewhere on this machine is not ours.
    Toml::new().bot(
        Bot::script("partner", "partner/bot.py")
            .token_env("PARTNER_BOT_TOKEN")
            .fly_app("loyalitybot-partner"),
    )
}

/// partner's app with one started machine and its token secret, plus `others`.
fn state(others: &[(&str, Vec<Value>)]) -> Value {
    let mut apps = vec![(APP, vec![machine("148ed193b95089", "started", None)])];
    apps.extend(others.iter().cloned());
    with_secret(fly_apps(&apps), APP, "PARTNER_BOT_TOKEN", PARTNER_TOKEN)
}

/// The beta app: a copy of production's secrets (under another name), one started machine
/// and one stopped.
fn with_beta() -> Value {
    let st = state(&[(
        BETA,
        vec![
            machine("beta00000000001", "started", None),
            machine("beta00000000002", "stopped", None),
        ],
    )]);
    let st = with_secret(st, BETA, "BOT_TOKEN", PARTNER_TOKEN);
    with_secret(st, BETA, "DATABASE_URL", "postgres://beta")
}

fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

#[test]
fn a_beta_app_with_the_same_token_is_a_place_of_the_bot() {
    let world = World::with_config(config());
    world.fly_state(with_beta());

    // status: the beta app's started machine is a second place.
    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "conflict", "{json:#}");
    assert_eq!(p["places"], 2, "{json:#}");
    let also = p["fly"]["also"].as_array().expect("fly.also is a list");
    assert_eq!(also.len(), 1, "{json:#}");
    assert_eq!(keys(&also[0]), ["app", "secret", "machines"]);
    assert_eq!(also[0]["app"], BETA);
    assert_eq!(also[0]["secret"], "BOT_TOKEN");
    assert_eq!(
        also[0]["machines"],
        json!([{"id": "beta00000000001", "state": "started", "region": "ams"},
               {"id": "beta00000000002", "state": "stopped", "region": "ams"}])
    );
    let human = world.run(&["status"]);
    human.expect_code(1);
    let line = line_with(&human.stdout, "beta00000000001");
    assert!(line.contains(BETA) && line.contains("same token"), "{line}");
    assert!(
        !human
            .stdout
            .contains("beta00000000002 stopped (ams): same token")
    );
    human.expect_stdout("Fly app loyalitybot-beta holds the same token (secret BOT_TOKEN)");

    // doctor: a shared-token error names the app and the secret, first, with the fixes.
    let run = world.run(&["doctor", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let top = &json["findings"][0];
    assert_eq!(top["check"], "shared-token", "{json:#}");
    assert_eq!(top["level"], "error");
    assert_eq!(top["bot"], "partner");
    let message = top["message"].as_str().unwrap();
    assert!(
        message.contains(BETA) && message.contains("BOT_TOKEN"),
        "{message}"
    );
    assert!(message.contains("beta00000000001"), "{message}");
    let fix = top["fix"].as_str().unwrap();
    assert!(
        fix.contains("flyctl secrets set BOT_TOKEN=<") && fix.contains("--app loyalitybot-beta"),
        "{fix}"
    );
    assert!(
        fix.contains("flyctl machine stop beta00000000001 --app loyalitybot-beta"),
        "{fix}"
    );
    // The places finding counts it too, with the same fix.
    let places = expect_finding(&json, "places", Level::Error)
        .bot("partner")
        .saying(BETA)
        .one();
    assert!(
        test_support::fix(places).contains("flyctl secrets set"),
        "{places}"
    );
    let human = world.run(&["doctor"]);
    let first = human.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("Cause: Fly app loyalitybot-beta"),
        "{first}"
    );

    // checklist: the item is not ticked, with its fix.
    let run = world.run(&["checklist"]);
    run.expect_code(1);
    let item = line_with(&run.stdout, "no other Fly app polls with this token");
    assert!(item.starts_with("✗") && item.contains(BETA), "{item}");
    run.expect_stdout("fix: flyctl secrets set BOT_TOKEN=<");

    // dev-start refuses, naming it, and stops nothing.
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(1);
    let out = run.all_output();
    assert!(out.contains(BETA) && out.contains("BOT_TOKEN"), "{out}");
    assert!(out.contains("flyctl secrets set BOT_TOKEN=<"), "{out}");
    assert!(
        !world
            .fly_calls()
            .iter()
            .any(|c| c.iter().any(|a| a == "stop")),
        "{:?}",
        world.fly_calls()
    );
    assert_eq!(
        world.fly_machines(APP),
        [("148ed193b95089".to_string(), "started".to_string())]
    );

    // No secret's digest, let alone a value, reaches the output.
    for run in [
        world.run(&["status", "--json"]),
        world.run(&["doctor"]),
        world.run(&["-vv", "status"]),
    ] {
        assert!(!run.all_output().contains(PARTNER_TOKEN));
    }
}

#[test]
fn a_beta_app_whose_machines_are_stopped_is_a_warning_and_no_place() {
    let world = World::with_config(config());
    let st = state(&[(BETA, vec![machine("beta00000000002", "stopped", None)])]);
    world.fly_state(with_secret(st, BETA, "BOT_TOKEN", PARTNER_TOKEN));

    let json = world.run(&["status", "--json"]).json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "ok", "{json:#}");
    assert_eq!(p["fly"]["also"][0]["app"], BETA);
    let json = world.run(&["doctor", "--json"]).json();
    expect_finding(&json, "shared-token", Level::Warn)
        .bot("partner")
        .saying("none of its machines is started")
        .one();
    // With the beta app stopped, dev-start has nothing to refuse for it.
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0);
}

#[test]
fn an_unrelated_secret_of_the_same_name_is_no_conflict() {
    let world = World::with_config(config());
    let st = state(&[(
        "loyalitybot-admin",
        vec![machine("admin0000000001", "started", None)],
    )]);
    // Same name, another bot's token: another digest.
    world.fly_state(with_secret(
        st,
        "loyalitybot-admin",
        "PARTNER_BOT_TOKEN",
        BETA_OWN_TOKEN,
    ));

    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "ok", "{json:#}");
    assert_eq!(p["places"], 1);
    assert_eq!(p["fly"]["also"], json!([]));

    let json = world.run(&["doctor", "--json"]).json();
    expect_finding(&json, "shared-token", Level::Ok)
        .bot("partner")
        .saying("1 app(s) compared")
        .one();

    let run = world.run(&["checklist"]);
    let item = line_with(&run.stdout, "no other Fly app polls with this token");
    assert!(item.starts_with("✓"), "{item}");
}

#[test]
fn an_app_whose_secrets_cannot_be_read_is_not_checked_never_a_conflict() {
    let world = World::with_config(config());
    let mut st = state(&[(
        "someone-elses-app",
        vec![machine("else00000000001", "started", None)],
    )]);
    st["apps"]["someone-elses-app"]["secrets_error"] =
        json!("unauthorized to access app someone-elses-app (Request ID: 01JX:ams)");
    world.fly_state(st);

    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "ok", "{json:#}");
    assert_eq!(p["places"], 1);
    assert_eq!(p["fly"]["also"], json!([]));

    let human = world.run(&["status"]);
    human.expect_code(0);
    let line = line_with(&human.stdout, "someone-elses-app");
    assert!(line.contains("unauthorized"), "{}", human.stdout);
    let not_checked = human
        .stdout
        .find("Not checked:")
        .expect("a Not checked part");
    assert!(human.stdout.find("someone-elses-app").unwrap() > not_checked);

    let json = world.run(&["doctor", "--json"]).json();
    assert_eq!(json["errors"], 0, "{json:#}");
    expect_finding(&json, "shared-token", Level::Warn)
        .bot("partner")
        .saying("someone-elses-app")
        .one();

    let run = world.run(&["checklist"]);
    let item = line_with(&run.stdout, "no other Fly app polls with this token");
    assert!(
        item.starts_with("✗") && item.contains("not checked"),
        "{item}"
    );
}

#[test]
fn without_the_token_secret_in_the_bots_own_app_nothing_is_compared_and_it_says_so() {
    let world = World::with_config(config());
    // The beta app holds something, but partner's app has no PARTNER_BOT_TOKEN to compare.
    let st = fly_apps(&[
        (APP, vec![machine("148ed193b95089", "started", None)]),
        (BETA, vec![machine("beta00000000001", "started", None)]),
    ]);
    let st = with_secret(st, APP, "TELEGRAM_TOKEN", PARTNER_TOKEN);
    world.fly_state(with_secret(st, BETA, "BOT_TOKEN", PARTNER_TOKEN));

    let run = world.run(&["status"]);
    run.expect_code(0);
    let line = line_with(&run.stdout, "has no secret PARTNER_BOT_TOKEN");
    assert!(line.contains(APP), "{line}");
    // Nothing to compare with, so the other apps were not even asked.
    assert!(
        !world
            .fly_calls()
            .iter()
            .any(|c| c.contains(&"secrets".to_string()) && c.contains(&BETA.to_string())),
        "{:?}",
        world.fly_calls()
    );

    // token_secret names the secret: now the beta app is found.
    world.write_config(config().change_bot("partner", |b| b.token_secret("TELEGRAM_TOKEN")));
    let json = world.run(&["status", "--json"]).json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "conflict", "{json:#}");
    assert_eq!(p["fly"]["also"][0]["secret"], "BOT_TOKEN");
}

#[test]
fn ten_apps_at_one_second_a_call_are_read_at_once_eight_at_a_time() {
    let world = World::with_config(config());
    let names: Vec<String> = (1..=10).map(|i| format!("team-app-{i:02}")).collect();
    let others: Vec<(&str, Vec<Value>)> = names
        .iter()
        .map(|n| (n.as_str(), vec![machine("0000000000000a", "started", None)]))
        .collect();
    let mut st = state(&others);
    for n in &names {
        st = with_secret(st, n, "PARTNER_BOT_TOKEN", &format!("{n}'s own token"));
    }
    // The last one is a copy of production.
    st = with_secret(st, &names[9], "COPIED_TOKEN", PARTNER_TOKEN);
    st["delay"] = json!({"apps": 1, "secrets": 1, "list": 1});
    world.fly_state(st);

    // Serially: apps list + 11 secrets + 2 machine lists = 14 s. Whether they were read at once
    // is told by when the calls started (below), not by a duration that holds only on an idle
    // machine.
    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["places"], 2, "{json:#}");
    assert_eq!(p["fly"]["also"][0]["app"], "team-app-10");
    assert_eq!(p["fly"]["also"][0]["secret"], "COPIED_TOKEN");

    // Every app was asked once, never more than 8 at a time.
    let calls = world.fly_calls_timed();
    let secrets: Vec<f64> = calls
        .iter()
        .filter(|(_, argv)| argv.first().is_some_and(|a| a == "secrets"))
        .map(|(ts, _)| *ts)
        .collect();
    assert_eq!(secrets.len(), 11, "{calls:?}");
    // A call is in flight for at least its 1 s delay after it started.
    let most = secrets
        .iter()
        .map(|t| {
            secrets
                .iter()
                .filter(|s| **s <= *t && *t < **s + 1.0)
                .count()
        })
        .max()
        .unwrap();
    assert!(most <= 8, "{most} secrets calls at once: {calls:?}");
    assert!(most >= 2, "the apps were read one by one: {calls:?}");
}

/// 80 other apps whose `secrets list` hangs: the source has one deadline (two calls' time), not
/// ceil(80/8) × the timeout, and one summary line says what was not compared.
#[test]
fn other_apps_that_hang_cost_one_deadline_and_one_line() {
    let world = World::with_config(config().fly_timeout("2s"));
    let mut others: Vec<(String, Vec<Value>)> = Vec::new();
    for i in 0..80 {
        others.push((format!("other-app-{i:02}"), vec![]));
    }
    let refs: Vec<(&str, Vec<Value>)> = others
        .iter()
        .map(|(n, m)| (n.as_str(), m.clone()))
        .collect();
    let mut st = state(&refs);
    for (name, _) in &others {
        st["apps"][name]["secrets_hang"] = json!(true);
    }
    world.fly_state(st);
    let run = run(world
        .botctl()
        .args(["doctor", "partner"])
        .timeout(Duration::from_secs(60)));
    // One deadline: after two calls' time no call starts, so at most two rounds of 8 (a third
    // at the very edge) were asked, not all 80. Counted, not timed: it holds on a busy machine.
    let asked = world
        .fly_calls()
        .iter()
        .filter(|argv| argv.first().is_some_and(|a| a == "secrets"))
        .filter(|argv| argv.iter().any(|a| a.starts_with("other-app-")))
        .count();
    assert!(asked <= 3 * 8, "{asked} apps asked:\n{}", run.all_output());
    let out = run.all_output();
    let line = line_with(&out, "not compared: flyctl secrets list timed out");
    assert!(line.contains("80 apps"), "{line}");
    // No line per app.
    assert!(!out.contains("other-app-"), "{out}");
}
