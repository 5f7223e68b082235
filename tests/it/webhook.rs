//! Webhook bots (`mode = "webhook"`): on Fly they take Telegram's posts, on a laptop they poll.
//! The whole handoff against the fake Bot API (which keeps the webhook's url, secret_token,
//! max_connections, allowed_updates and delivers queued updates to a loopback webhook) and fake
//! Fly machines running tests/fakes/webhook_bot.py; a real python-telegram-bot poller that
//! deletes a set webhook, and doctor naming it.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::webhook::{AtStart, hook_url, webhook_machine};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const MACHINE: &str = "148ed193b95089";
/// The webhook's secret_token: `A-Za-z0-9_-`, as Telegram allows.
const SECRET: &str = "wh-secret_only-in-dotenv-7f3a9c";

/// The partner bot as a webhook bot; `secret_env` names its webhook_secret_env (or none).
fn config(world: &World, api: &BotApi, hook: &str, secret_env: Option<&str>) -> Toml {
    let mut partner = Bot::script("partner", &world.script("bot.py"))
        .token_env("PARTNER_BOT_TOKEN")
        .fly_app(APP)
        .ready_log(READY_LINE)
        .mode("webhook")
        .webhook_url(hook);
    if let Some(var) = secret_env {
        partner = partner.webhook_secret_env(var);
    }
    Toml::new()
        .respawn("1s")
        .fly_wait("20s")
        .fly_timeout("10s")
        .telegram_api(&api.url())
        .probe("2s")
        .bot(partner)
}

fn fly_with(machine: Value) -> Value {
    let mut state = fly_apps(&[(APP, vec![machine])]);
    state["apps"][APP]["ready_log"] = json!(READY_LINE);
    state
}

/// A webhook bot in production: the fake Bot API, a world whose .env holds the webhook's
/// secret, its started machine running the real webhook bot (`at_start` says whether that bot
/// sets its webhook itself), and the webhook's URL.
fn in_production(tok: &str, at_start: AtStart) -> (BotApi, World, String) {
    let api = BotApi::start(&[(tok, "ghbipartnerbot")]);
    let port = free_port();
    let hook = hook_url(port);
    let world = World::configured(|w| config(w, &api, &hook, Some("PARTNER_WEBHOOK_SECRET")));
    world.write(".env", &format!("PARTNER_WEBHOOK_SECRET={SECRET}\n"));
    world.fly_state(fly_with(webhook_machine(
        MACHINE, "started", &api, tok, port, SECRET, at_start,
    )));
    (api, world, hook)
}

fn handoff(world: &World) -> Option<Value> {
    let text = std::fs::read_to_string(world.path(".botctl/state.json")).ok()?;
    let st: Value = serde_json::from_str(&text).expect("state.json is JSON");
    st["handoffs"].get(0).cloned()
}

/// What the bot on the machine printed.
fn machine_log(world: &World) -> String {
    let path = format!("{}.poller-{MACHINE}.log", world.fly_state_path().display());
    std::fs::read_to_string(path).unwrap_or_default()
}

fn botctl(world: &World, tok: &str, args: &[&str]) -> Run {
    if args
        .iter()
        .any(|a| ["dev-start", "deploy-resume", "dev-stop"].contains(a))
    {
        world.hold_process_table();
    }
    run(world.botctl().env("PARTNER_BOT_TOKEN", tok).args(args))
}

#[track_caller]
fn assert_secret_hidden(run: &Run, tok: &str) {
    let all = run.all_output();
    assert!(
        !all.contains(SECRET),
        "the webhook secret was printed:\n{all}"
    );
    assert!(!all.contains(&tok[11..]), "the token was printed:\n{all}");
}

#[test]
fn the_whole_cycle_keeps_the_pending_updates_and_restores_the_webhook_with_its_secret() {
    let tok = token(71);
    // Production: the webhook is set with its secret; the machine's bot does not set its own.
    let (api, world, hook) = in_production(&tok, AtStart::LeavesItAlone);
    api.set_webhook_with(
        &tok,
        &hook,
        &[
            ("secret_token", SECRET),
            ("max_connections", "7"),
            ("allowed_updates", r#"["message","callback_query"]"#),
        ],
    );
    // Three updates wait for the webhook (the machine that would take them is not serving).
    for text in ["one", "two", "three"] {
        api.queue_update(&tok, text);
    }

    let status = botctl(&world, &tok, &["status", "--json"]);
    let partner = bot(&status.json(), "partner").clone();
    assert_eq!(partner["mode"], "webhook", "{partner:#}");
    assert_eq!(
        partner["verdict"], "ok",
        "webhook + its machine are one place: {partner:#}"
    );
    assert_eq!(partner["places"], 1);

    // dev-start: records the webhook, stops the machine, deletes the webhook keeping the updates.
    let start = botctl(&world, &tok, &["dev-start", "partner", "--yes", "--no-run"]);
    start.expect_code(0);
    start.expect_stdout("Record the webhook");
    start.expect_stdout("Delete the webhook, keeping the pending updates");
    start.expect_stdout("3 pending updates kept");
    assert_secret_hidden(&start, &tok);
    let stats = api.stats(&tok);
    assert_eq!(stats["webhook"], "", "{stats:#}");
    assert_eq!(stats["pending_updates"], 3, "{stats:#}");
    assert_eq!(stats["drop_pending_updates_seen"], false, "{stats:#}");
    assert_eq!(
        world.fly_machines(APP),
        [(MACHINE.to_string(), "stopped".to_string())]
    );
    let record = handoff(&world).expect("dev-start records the handoff");
    assert_eq!(
        record["webhook"],
        json!({"url": hook, "max_connections": 7, "allowed_updates": ["message", "callback_query"]}),
        "{record:#}"
    );
    let state_text = std::fs::read_to_string(world.path(".botctl/state.json")).unwrap();
    assert!(!state_text.contains(SECRET), "the secret is never recorded");

    // The poller here (real python-telegram-bot) receives what waited for the webhook.
    let mut here = PtbBot::start(&world, &api, &tok, &world.script("bot.py"));
    assert!(
        wait_until(READY_LIMIT, || ["one", "two", "three"]
            .iter()
            .all(|t| here.has_line(&format!("got message: {t}")))),
        "the local poller did not get the three updates:\n{}",
        here.output()
    );
    assert!(here.stop(Duration::from_secs(10)));
    // One more comes while nobody takes it: Fly's bot must get it once the webhook is back.
    api.queue_update(&tok, "four");

    // deploy-resume: starts the machine; its bot does not set the webhook, so botctl does,
    // with the secret from .env; Telegram delivers "four" to it.
    // With the -v trace on: the trace shows every Bot API call's parameters, masked.
    let resume = botctl(&world, &tok, &["-v", "deploy-resume", "partner", "--yes"]);
    resume.expect_code(0);
    resume.expect_stderr("setWebhook");
    resume.expect_stdout("Wait for the bot to set its webhook itself");
    resume.expect_stdout("Set the webhook from the handoff record");
    resume.expect_stdout("with the secret_token from PARTNER_WEBHOOK_SECRET");
    resume.expect_stdout("no delivery error");
    assert_secret_hidden(&resume, &tok);
    let stats = api.stats(&tok);
    assert_eq!(stats["webhook"], hook.as_str(), "{stats:#}");
    assert_eq!(stats["secret_token"], SECRET, "{stats:#}");
    assert_eq!(stats["max_connections"], 7, "{stats:#}");
    assert_eq!(
        stats["allowed_updates"],
        json!(["message", "callback_query"])
    );
    assert_eq!(stats["pending_updates"], 0, "{stats:#}");
    assert_eq!(stats["drop_pending_updates_seen"], false, "{stats:#}");
    assert!(
        machine_log(&world).contains("got message: four"),
        "{}",
        machine_log(&world)
    );
    assert!(
        handoff(&world).is_none(),
        "deploy-resume clears the handoff"
    );
}

#[test]
fn a_bot_that_sets_its_own_webhook_at_start_is_left_to_do_it() {
    let tok = token(72);
    let (api, world, hook) = in_production(&tok, AtStart::SetsItsWebhook);
    api.set_webhook_with(&tok, &hook, &[("secret_token", SECRET)]);

    let start = botctl(
        &world,
        &tok,
        &["dev-start", "partner", "--yes", "--no-run", "--no-probe"],
    );
    start.expect_code(0);
    assert_eq!(api.stats(&tok)["webhook"], "");
    assert!(handoff(&world).is_some_and(|h| h["webhook"]["url"] == hook.as_str()));

    let resume = botctl(&world, &tok, &["deploy-resume", "partner", "--yes"]);
    resume.expect_code(0);
    assert!(
        resume.stdout.contains("the bot set it"),
        "{}\n--- the machine's bot:\n{}",
        resume.stdout,
        machine_log(&world)
    );
    assert!(
        !resume
            .stdout
            .contains("Set the webhook from the handoff record"),
        "{}",
        resume.stdout
    );
    assert_secret_hidden(&resume, &tok);
    let stats = api.stats(&tok);
    assert_eq!(stats["webhook"], hook.as_str());
    assert_eq!(stats["secret_token"], SECRET);
    assert_eq!(
        stats["methods"]["setWebhook"], 1,
        "only the bot set it: {stats:#}"
    );
}

#[test]
fn without_a_secret_the_bot_rejects_the_posts_and_deploy_resume_quotes_telegram() {
    let tok = token(73);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let port = free_port();
    let hook = hook_url(port);
    // botctl.toml names no webhook_secret_env, but the bot checks its secret.
    let world = World::configured(|w| config(w, &api, &hook, None));
    world.fly_state(fly_with(webhook_machine(
        MACHINE,
        "started",
        &api,
        &tok,
        port,
        SECRET,
        AtStart::LeavesItAlone,
    )));
    api.set_webhook_with(&tok, &hook, &[("secret_token", SECRET)]);
    botctl(
        &world,
        &tok,
        &["dev-start", "partner", "--yes", "--no-run", "--no-probe"],
    )
    .expect_code(0);
    api.queue_update(&tok, "hello");

    let resume = botctl(&world, &tok, &["deploy-resume", "partner", "--yes"]);
    resume.expect_code(3);
    resume.expect_stdout("no webhook_secret_env");
    resume.expect_stdout("no X-Telegram-Bot-Api-Secret-Token header");
    resume.expect_stderr("Wrong response from the webhook: 403 Forbidden");
    assert!(machine_log(&world).contains("rejected a post without the secret token"));
    assert!(
        handoff(&world).is_some(),
        "a failed check keeps the handoff"
    );
}

#[test]
fn dev_start_dry_run_shows_each_webhook_step_and_changes_nothing() {
    let tok = token(74);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let hook = hook_url(free_port());
    let world = World::configured(|w| config(w, &api, &hook, Some("PARTNER_WEBHOOK_SECRET")));
    world.fly_state(fly_with(machine(MACHINE, "started", Some(true))));
    api.set_webhook_with(&tok, &hook, &[("secret_token", SECRET)]);
    let run = botctl(&world, &tok, &["dev-start", "partner", "--dry-run"]);
    run.expect_code(0);
    run.expect_stdout("Record the webhook (url, max_connections, allowed_updates)");
    run.expect_stdout("would: call deleteWebhook without drop_pending_updates");
    run.expect_stdout("Probe that no other poller is left");
    assert_eq!(api.stats(&tok)["webhook"], hook.as_str());
    assert_eq!(world.fly_machines(APP)[0].1, "started");

    let resume = botctl(&world, &tok, &["deploy-resume", "partner", "--dry-run"]);
    resume.expect_code(0);
    resume.expect_stdout("Set the webhook if the bot did not");
    resume.expect_stdout("with the secret_token from PARTNER_WEBHOOK_SECRET");
}

#[test]
fn a_webhook_with_a_custom_certificate_is_a_refusal_that_says_why() {
    let tok = token(75);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let hook = hook_url(free_port());
    let world = World::configured(|w| config(w, &api, &hook, None));
    world.fly_state(fly_with(machine(MACHINE, "started", Some(false))));
    api.set_webhook_with(&tok, &hook, &[("has_custom_certificate", "1")]);
    let run = botctl(&world, &tok, &["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(1);
    run.expect_stderr("custom certificate");
    assert_eq!(
        world.fly_machines(APP)[0].1,
        "started",
        "nothing was stopped"
    );
    assert_eq!(api.stats(&tok)["webhook"], hook.as_str());
}

#[test]
fn doctor_names_a_missing_webhook_and_one_that_points_elsewhere() {
    let tok = token(76);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let hook = hook_url(free_port());
    let world = World::configured(|w| config(w, &api, &hook, None));
    world.fly_state(fly_with(machine(MACHINE, "started", Some(true))));

    // Elsewhere.
    api.set_webhook_with(&tok, "https://old.example.com/hook", &[]);
    let doctor = botctl(&world, &tok, &["doctor", "partner", "--json"]);
    doctor.expect_code(1);
    let json = doctor.json();
    let found = expect_finding(&json, "webhook", Level::Error)
        .bot("partner")
        .saying("points at https://old.example.com/hook")
        .one();
    assert!(fix(found).contains("setWebhook"), "{found}");
    // A webhook bot's machine with proxy autostart is its design, no proxy warning.
    assert!(
        findings(&json, "proxy", Some("partner")).is_empty(),
        "{json:#}"
    );

    // Missing.
    api.set_webhook(&tok, "");
    let doctor = botctl(&world, &tok, &["doctor", "partner", "--json"]);
    doctor.expect_code(1);
    let json = doctor.json();
    let found = expect_finding(&json, "webhook", Level::Error)
        .bot("partner")
        .saying("a polling copy deleted it")
        .saying("grammY")
        .one();
    assert!(
        fix(found).starts_with("botctl deploy-resume partner"),
        "{found}"
    );
}

#[test]
fn doctor_quotes_a_recent_delivery_error_and_growing_pending_updates() {
    let tok = token(77);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let hook = "https://loyalitybot-partner.fly.dev/telegram";
    let world = World::configured(|w| config(w, &api, hook, None));
    world.fly_state(fly_with(machine(MACHINE, "stopped", Some(false))));
    api.set_webhook_with(
        &tok,
        hook,
        &[(
            "last_error_message",
            "Wrong response from the webhook: 502 Bad Gateway",
        )],
    );
    api.queue_update(&tok, "one");
    // Updates keep coming while doctor looks.
    let mut child = world
        .botctl_process(&["doctor", "partner", "--json"])
        .env("PARTNER_BOT_TOKEN", &tok)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run botctl doctor");
    let deadline = std::time::Instant::now() + BOTCTL_LIMIT;
    while child.try_wait().expect("wait for doctor").is_none() {
        assert!(std::time::Instant::now() < deadline, "doctor hangs");
        // Pacing, not waiting: a new update every 300 ms for as long as doctor runs.
        std::thread::sleep(Duration::from_millis(300));
        api.queue_update(&tok, "more");
    }
    let out = child.wait_with_output().expect("doctor's output");
    let json: Value = serde_json::from_slice(&out.stdout).expect("doctor --json prints JSON");
    expect_finding(&json, "webhook", Level::Error)
        .bot("partner")
        .saying("502 Bad Gateway")
        .saying("no autostart")
        .one();
    expect_finding(&json, "pending", Level::Warn)
        .bot("partner")
        .saying("pending updates grow")
        .one();
}

#[test]
fn a_real_ptb_poller_deletes_the_webhook_and_doctor_names_it() {
    let tok = token(78);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let hook = hook_url(free_port());
    let world = World::configured(|w| config(w, &api, &hook, None));
    world.fly_state(fly_with(machine(MACHINE, "started", Some(true))));
    api.set_webhook_with(&tok, &hook, &[]);
    let before = botctl(&world, &tok, &["status", "--json"]);
    assert_eq!(bot(&before.json(), "partner")["verdict"], "ok");

    // python-telegram-bot's run_polling deletes the webhook as it starts.
    let ptb = PtbBot::start(&world, &api, &tok, &world.script("bot.py"));
    assert!(
        wait_until(API_LIMIT, || api.stats(&tok)["webhook"] == ""),
        "PTB did not delete the webhook: {:#}",
        api.stats(&tok)
    );
    let status = botctl(&world, &tok, &["status", "--json"]);
    let partner = bot(&status.json(), "partner").clone();
    assert_eq!(
        partner["verdict"], "conflict",
        "a polling copy of a webhook bot: {partner:#}"
    );
    let doctor = botctl(&world, &tok, &["doctor", "partner", "--json"]);
    doctor.expect_code(1);
    let json = doctor.json();
    let pid = format!("pid {} on this machine", ptb.pid());
    expect_finding(&json, "webhook", Level::Error)
        .bot("partner")
        .saying("a polling copy deleted it")
        .saying(pid)
        .one();
}

/// A webhook bot without fly_app (the config allows it): dev-start records its webhook on
/// disk before deleting it, and deploy-resume sets it again from that record — url,
/// max_connections, allowed_updates and the secret — though the bot has no machines.
#[test]
fn a_webhook_bot_without_fly_app_gets_its_webhook_back() {
    let tok = token(2601);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    let hook = hook_url(free_port());
    let world = World::configured(|w| {
        Toml::new()
            .respawn("1s")
            .telegram_api(&api.url())
            .probe("2s")
            .bot(
                Bot::script("partner", &w.script("bot.py"))
                    .token_env("PARTNER_BOT_TOKEN")
                    .mode("webhook")
                    .webhook_secret_env("PARTNER_WEBHOOK_SECRET"),
            )
    });
    world.write(".env", &format!("PARTNER_WEBHOOK_SECRET={SECRET}\n"));
    api.set_webhook_with(
        &tok,
        &hook,
        &[
            ("secret_token", SECRET),
            ("max_connections", "7"),
            ("allowed_updates", r#"["message","callback_query"]"#),
        ],
    );

    let start = botctl(&world, &tok, &["dev-start", "partner", "--yes", "--no-run"]);
    start.expect_code(0);
    assert_secret_hidden(&start, &tok);
    assert_eq!(
        api.stats(&tok)["webhook"],
        "",
        "deleted for the poller here"
    );
    let record = handoff(&world).expect("the webhook is recorded before it is deleted");
    assert_eq!(
        record["webhook"],
        json!({"url": hook, "max_connections": 7, "allowed_updates": ["message", "callback_query"]}),
        "{record:#}"
    );
    assert!(record.get("app").is_none(), "{record:#}");

    let resume = botctl(&world, &tok, &["deploy-resume", "partner", "--yes"]);
    resume.expect_code(0);
    resume.expect_stdout("Set the webhook from the handoff record");
    assert_secret_hidden(&resume, &tok);
    let stats = api.stats(&tok);
    assert_eq!(stats["webhook"], hook.as_str(), "{stats:#}");
    assert_eq!(stats["secret_token"], SECRET, "{stats:#}");
    assert_eq!(stats["max_connections"], 7, "{stats:#}");
    assert_eq!(
        stats["allowed_updates"],
        json!(["message", "callback_query"])
    );
    assert!(
        handoff(&world).is_none(),
        "deploy-resume clears the handoff"
    );
    // With nothing recorded, such a bot has still nothing to resume.
    botctl(&world, &tok, &["deploy-resume", "partner", "--yes"]).expect_code(2);
}
