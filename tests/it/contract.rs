//! The JSON's field names are the contract's (the SPEC's JSON section, copied below as each
//! object's expected keys): one full world — a local copy kept alive by a shell loop, Fly
//! machines holding a handoff record beside a console machine, another app with the same token, a host that cannot be
//! reached, a crontab entry, a webhook bot — read by `status --json`, `doctor --json` and
//! `watch --json`. A field added on purpose is added to its list here, in the contract's order.

use serde_json::Value;
use test_support::config::{Bot, Host, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const BETA: &str = "loyalitybot-beta";

// The SPEC's names, object by object. `EXTRA` names are botctl's beyond the SPEC's example,
// kept as they are (scripts read them too).
const STATUS: &[&str] = &["bots"];
const BOT: &[&str] = &[
    "name",
    "verdict",
    "places",
    "local",
    "fly",
    "telegram",
    "autostart",
    "hosts",
    "handoff",
    "mode",
];
const BOT_EXTRA: &[&str] = &["maybe"];
const INSTANCE: &[&str] = &["pid", "user", "started", "cwd", "cmd", "supervisor"];
const SUPERVISOR: &[&str] = &["kind", "name", "pid", "stop"];
const FLY: &[&str] = &["app", "error", "machines", "others", "also"];
const MACHINE: &[&str] = &["id", "state", "region", "group"];
const OTHER_MACHINE: &[&str] = &["id", "group", "state"];
const ALSO: &[&str] = &["app", "secret", "machines"];
const TELEGRAM: &[&str] = &["username", "webhook", "pending_updates", "error"];
const AUTOSTART: &[&str] = &["source", "entry"];
const HOST: &[&str] = &["host", "error", "instances", "autostart"];
const HOST_EXTRA: &[&str] = &["maybe"];
const HANDOFF: &[&str] = &["by", "at", "machines", "mine", "stale"];
const DOCTOR: &[&str] = &["findings", "errors", "warnings"];
const FINDING: &[&str] = &["bot", "check", "level", "message", "fix"];
const WATCH_EVENT: &[&str] = &["at", "bot", "event"];

/// The object's keys, in any order, are exactly `spec` and `extra`.
#[track_caller]
fn has_fields(what: &str, v: &Value, spec: &[&str], extra: &[&str]) {
    let mut got = keys(v);
    got.sort_unstable();
    let mut want: Vec<&str> = spec.iter().chain(extra).copied().collect();
    want.sort_unstable();
    assert_eq!(got, want, "{what}: {v:#}");
}

fn full_world(api: &BotApi, token: &str, hook_token: &str) -> World {
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&api.url())
            .bot(
                Bot::script("partner", &w.script("bot.py"))
                    .token_env("PARTNER_BOT_TOKEN")
                    .username("ghbipartnerbot")
                    .fly_app(APP),
            )
            .bot(
                Bot::script("hook", &w.script("hook_bot.py"))
                    .token_env("HOOK_BOT_TOKEN")
                    .mode("webhook")
                    .webhook_url("https://hook.example.com/telegram"),
            )
            .host(
                Host::new("vps", "root@127.0.0.1")
                    .options(&["-p", &free_port().to_string(), "-F", "/dev/null"])
                    .timeout("3s"),
            )
    });
    world.dotenv(&[("PARTNER_BOT_TOKEN", token), ("HOOK_BOT_TOKEN", hook_token)]);
    api.set_webhook(hook_token, "https://hook.example.com/telegram");
    let mut started = machine("148ed193b95089", "started", None);
    started["metadata"] = serde_json::json!({"botctl_by": "alice@mbp",
        "botctl_at": "2026-12-06T10:00:00Z", "botctl_bot": "partner"});
    let mut console = machine("91857e3f0d2a47", "started", None);
    console["group"] = serde_json::json!("fly_app_console");
    let fly = fly_apps(&[
        (APP, vec![started, console]),
        (BETA, vec![machine("beta00000000001", "started", None)]),
    ]);
    let fly = with_secret(fly, APP, "PARTNER_BOT_TOKEN", token);
    world.fly_state(with_secret(fly, BETA, "BOT_TOKEN", token));
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.set_crontab(&format!("@reboot cd ~/lb && python3 {bot_py}\n"));
    world
}

#[test]
fn status_doctor_and_watch_json_have_the_contracts_field_names() {
    let (token, hook_token) = (test_support::token(2201), test_support::token(2202));
    let api = BotApi::start(&[(&token, "ghbipartnerbot"), (&hook_token, "ghbihookbot")]);
    let world = full_world(&api, &token, &hook_token);
    let bot_py = world.script("bot.py");
    let script = format!("while true; do python3 {bot_py}; sleep 0.3; done");
    let shell = world.spawn(&["bash", "-c", &script], world.root());
    shell.wait_child(&["python3", &bot_py]);

    let status = world.run(&["status", "--json"]).json();
    has_fields("status", &status, STATUS, &[]);
    for b in status["bots"].as_array().unwrap() {
        has_fields("bot", b, BOT, BOT_EXTRA);
    }
    let partner = bot(&status, "partner");
    let local = &partner["local"][0];
    has_fields("local instance", local, INSTANCE, &[]);
    has_fields("supervisor", &local["supervisor"], SUPERVISOR, &[]);
    has_fields("fly", &partner["fly"], FLY, &[]);
    has_fields("machine", &partner["fly"]["machines"][0], MACHINE, &[]);
    has_fields(
        "other machine",
        &partner["fly"]["others"][0],
        OTHER_MACHINE,
        &[],
    );
    let also = &partner["fly"]["also"][0];
    has_fields("also", also, ALSO, &[]);
    has_fields("also's machine", &also["machines"][0], MACHINE, &[]);
    has_fields("telegram", &partner["telegram"], TELEGRAM, &[]);
    has_fields("autostart", &partner["autostart"][0], AUTOSTART, &[]);
    has_fields("host", &partner["hosts"][0], HOST, HOST_EXTRA);
    has_fields("handoff", &partner["handoff"], HANDOFF, &[]);
    assert_eq!(bot(&status, "hook")["mode"], "webhook");

    let doctor = world.run(&["doctor", "--json"]).json();
    has_fields("doctor", &doctor, DOCTOR, &[]);
    for f in doctor["findings"].as_array().unwrap() {
        has_fields("finding", f, FINDING, &[]);
    }
    expect_finding(&doctor, "supervisor", Level::Error)
        .bot("partner")
        .one();

    let watch = world.run(&["watch", "--json", "--for", "2s"]);
    let events: Vec<Value> = watch
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(events.len() > 1, "{}", watch.stdout);
    for e in &events {
        let k = keys(e);
        assert_eq!(k[..3], *WATCH_EVENT, "{e}");
    }
    drop(shell);
}
