//! `botctl doctor`: each cause of a 409 as a finding (check, level, fix), exit codes, the
//! human output's first line; the conflict probe against a real python-telegram-bot poller
//! on the fake Bot API; and tokens that never leak, whatever goes wrong.

use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use test_support::config::{Bot, Toml};
use test_support::{
    BotApi, Level, PtbBot, Run, World, expect_finding, findings, fix, fly_apps, machine, message,
    partner_on_fly, partner_on_fly_with, with_secret,
};

const APP: &str = "loyalitybot-partner";

/// The partner bot (the world's `bot.py`) with a token and the fake Bot API at `api`.
fn partner_with_telegram(world: &World, api: &str) -> Toml {
    Toml::new().telegram_api(api).bot(
        Bot::script("partner", &world.script("bot.py"))
            .token_env("PARTNER_BOT_TOKEN")
            .username("ghbipartnerbot")
            .fly_app(APP),
    )
}

/// One started machine; the app holds the token in the secret botctl.toml names, as a
/// deployed bot's app does.
fn one_started_machine() -> Value {
    with_secret(
        fly_apps(&[(APP, vec![machine("148ed193b95089", "started", None)])]),
        APP,
        "PARTNER_BOT_TOKEN",
        "the partner token",
    )
}

/// The app's machines, as Fly holds them.
fn machines(machines: Vec<Value>) -> Value {
    fly_apps(&[(APP, machines)])
}

/// The app's one machine, stopped (a handed-off bot).
fn one_stopped_machine() -> Value {
    machines(vec![machine("148ed193b95089", "stopped", None)])
}

/// partner with a token in `.env` that the fake Bot API knows, Fly holding some state.
/// A test binds every field it needs (`api: _api` keeps the Bot API running).
struct OnTelegram {
    world: World,
    api: BotApi,
    token: String,
}

/// partner's token number `n` in `.env`, known to the Bot API as @ghbipartnerbot (the
/// username botctl.toml expects), and Fly holding `fly`.
fn on_telegram(n: u32, fly: Value) -> OnTelegram {
    on_telegram_with(n, "ghbipartnerbot", |toml| toml, fly)
}

/// [`on_telegram`] with `doctor --probe` polling for `probe`.
fn on_telegram_probing(n: u32, probe: &str, fly: Value) -> OnTelegram {
    on_telegram_with(n, "ghbipartnerbot", |toml| toml.probe(probe), fly)
}

/// partner's token number `n` in `.env`, known to the Bot API as @`username`; `config` adds
/// to partner's botctl.toml; Fly holds `fly`.
fn on_telegram_with(
    n: u32,
    username: &str,
    config: impl FnOnce(Toml) -> Toml,
    fly: Value,
) -> OnTelegram {
    let token = test_support::token(n);
    let api = BotApi::start(&[(&token, username)]);
    let world = World::configured(|w| config(partner_with_telegram(w, &api.url())));
    world.dotenv(&[("PARTNER_BOT_TOKEN", &token)]);
    world.fly_state(fly);
    OnTelegram { world, api, token }
}

/// `doctor --json` (plus `args`) and the human `doctor` of the same world.
fn doctor(world: &World, args: &[&str]) -> (Run, Value, Run) {
    let mut json_args = vec!["doctor", "--json"];
    json_args.extend_from_slice(args);
    let run = world.run(&json_args);
    let json = run.json();
    let mut human_args = vec!["doctor"];
    human_args.extend_from_slice(args);
    let human = world.run(&human_args);
    assert_eq!(run.code, human.code, "--json and human exit codes differ");
    (run, json, human)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Every finding has exactly the SPEC's keys, a known check and level; the counts add up.
fn assert_shape(json: &Value) {
    assert_eq!(test_support::keys(json), ["findings", "errors", "warnings"]);
    let all = json["findings"].as_array().unwrap();
    let known = [
        "config",
        "flyctl",
        "token",
        "webhook",
        "pending",
        "local",
        "fly",
        "places",
        "autostart",
        "proxy",
        "logs",
        "handoff",
        "probe",
        "shared-token",
        "supervisor",
        "container",
    ];
    for f in all {
        assert_eq!(
            test_support::keys(f),
            ["bot", "check", "level", "message", "fix"],
            "{f}"
        );
        assert!(known.contains(&text(&f["check"])), "{f}");
        assert!(["ok", "warn", "error"].contains(&text(&f["level"])), "{f}");
        assert!(!text(&f["message"]).is_empty());
    }
    let count = |level: &str| all.iter().filter(|f| f["level"] == level).count();
    assert_eq!(json["errors"], count("error"));
    assert_eq!(json["warnings"], count("warn"));
    // Errors first.
    let levels: Vec<&str> = all.iter().map(|f| text(&f["level"])).collect();
    let rank = |l: &str| {
        ["error", "warn", "ok"]
            .iter()
            .position(|x| *x == l)
            .unwrap()
    };
    assert!(
        levels.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "{levels:?}"
    );
}

/// The human output's first line is "Cause: <the first error's message>".
#[track_caller]
fn assert_cause_first(human: &Run, json: &Value, contains: &str) {
    let first = human.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("Cause: "),
        "first line: {first:?}\n{}",
        human.stdout
    );
    assert!(
        first.contains(contains),
        "first line {first:?} should name {contains:?}"
    );
    let top = &json["findings"][0];
    assert_eq!(top["level"], "error");
    assert_eq!(first, format!("Cause: {}", text(&top["message"])));
}

// ---------------------------------------------------------------------------- situations

#[test]
fn clean_project_exits_0() {
    let OnTelegram {
        world, api: _api, ..
    } = on_telegram(21, one_started_machine());
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(0);
    assert_shape(&json);
    assert_eq!(json["errors"], 0, "{json:#}");
    assert_eq!(json["warnings"], 0, "{json:#}");
    expect_finding(&json, "places", Level::Ok).one();
    expect_finding(&json, "flyctl", Level::Ok).one();
    expect_finding(&json, "token", Level::Ok).one();
    expect_finding(&json, "webhook", Level::Ok).one();
    expect_finding(&json, "logs", Level::Ok).one();
    assert_eq!(
        expect_finding(&json, "config", Level::Ok).one()["bot"],
        json!(null)
    );
    assert_eq!(
        human.stdout.lines().next(),
        Some("No cause of a 409 found."),
        "{}",
        human.stdout
    );
    human.expect_stdout("no problems found (0 errors, 0 warnings)");
}

#[test]
fn a_bot_in_two_places() {
    let world = World::configured(partner_on_fly);
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.fly_state(one_started_machine());
    let root = world.root().to_path_buf();
    let local = world.spawn(&["python3", &bot_py], &root);
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(1);
    assert_shape(&json);
    let f = expect_finding(&json, "places", Level::Error).one();
    assert_eq!(f["bot"], "partner");
    assert!(
        text(&f["message"]).contains(&format!("pid {}", local.pid())),
        "{f}"
    );
    assert!(text(&f["message"]).contains("148ed193b95089"), "{f}");
    assert!(text(&f["fix"]).contains("botctl dev-stop partner"), "{f}");
    assert_eq!(json["findings"][0]["check"], "places");
    assert_cause_first(&human, &json, "partner runs in 2 places");
    assert!(
        human
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("Fix: botctl dev-stop partner")
    );
}

#[test]
fn two_local_copies() {
    let world = World::configured(partner_on_fly);
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.fly_state(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "stopped", None)],
    )]));
    let root = world.root().to_path_buf();
    let first = world.spawn(&["python3", &bot_py], &root);
    let second = world.spawn(&["python3", "-u", &bot_py], &root);
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(1);
    assert_shape(&json);
    let f = expect_finding(&json, "local", Level::Error).one();
    let message = text(&f["message"]);
    assert!(message.contains(&first.pid().to_string()), "{f}");
    assert!(message.contains(&second.pid().to_string()), "{f}");
    assert!(text(&f["fix"]).contains("botctl dev-stop partner"), "{f}");
    expect_finding(&json, "places", Level::Error).one();
    assert_cause_first(&human, &json, "2 places");
}

#[test]
fn two_started_machines_in_one_app() {
    let world = partner_on_fly_with(machines(vec![
        machine("148ed193b95089", "started", None),
        machine("d8d9e2f0c12345", "started", None),
    ]));
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(1);
    assert_shape(&json);
    let f = expect_finding(&json, "fly", Level::Error).one();
    let fix = text(&f["fix"]);
    assert!(
        fix.contains("flyctl machine stop d8d9e2f0c12345 --app loyalitybot-partner"),
        "{fix}"
    );
    assert!(
        !fix.contains("148ed193b95089"),
        "the fix must keep the first machine: {fix}"
    );
    let places = expect_finding(&json, "places", Level::Error).one();
    assert!(text(&places["fix"]).contains("d8d9e2f0c12345"), "{places}");
    assert_cause_first(&human, &json, "2 places");
}

#[test]
fn a_webhook_is_set() {
    let OnTelegram { world, api, token } = on_telegram(22, one_stopped_machine());
    api.set_webhook(&token, "https://example.com/hook");
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(1);
    assert_shape(&json);
    let f = expect_finding(&json, "webhook", Level::Error).one();
    assert!(
        text(&f["message"]).contains("https://example.com/hook"),
        "{f}"
    );
    assert!(text(&f["fix"]).contains("deleteWebhook"), "{f}");
    assert!(!text(&f["fix"]).contains(&token), "{f}");
    assert_cause_first(&human, &json, "webhook");
    assert!(!human.all_output().contains(&token));
}

#[test]
fn a_wrong_token() {
    let OnTelegram { world, api, .. } = on_telegram(23, one_started_machine());
    // .env holds a token the Bot API does not know.
    let wrong = test_support::token(24);
    world.dotenv(&[("PARTNER_BOT_TOKEN", &wrong)]);
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(1);
    assert_shape(&json);
    let f = expect_finding(&json, "token", Level::Error).one();
    assert!(text(&f["message"]).contains("rejects the token"), "{f}");
    assert!(text(&f["message"]).contains("Unauthorized"), "{f}");
    assert!(text(&f["fix"]).contains("@BotFather"), "{f}");
    assert_cause_first(&human, &json, "rejects the token");
    assert!(!run.all_output().contains(&wrong) && !human.all_output().contains(&wrong));
    // The Bot API really answered 401 to getMe.
    assert!(api.log().contains("/bot<token>/getMe 401"), "{}", api.log());
}

#[test]
fn a_token_of_another_bot() {
    let OnTelegram {
        world, api: _api, ..
    } = on_telegram_with(25, "somebodyelsebot", |toml| toml, one_started_machine());
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(1);
    assert_shape(&json);
    let f = expect_finding(&json, "token", Level::Error).one();
    assert!(text(&f["message"]).contains("@somebodyelsebot"), "{f}");
    assert!(text(&f["message"]).contains("@ghbipartnerbot"), "{f}");
    assert_cause_first(&human, &json, "somebodyelsebot");
}

#[test]
fn flyctl_missing() {
    let world = World::configured(partner_on_fly).without_flyctl();
    let (run, json, human) = doctor(&world, &[]);
    // A missing tool is not known to cause anything: "cannot tell", never the cause of a 409.
    run.expect_code(0);
    assert_shape(&json);
    let f = expect_finding(&json, "flyctl", Level::Warn).one();
    assert_eq!(f["bot"], json!(null));
    assert!(
        text(&f["message"])
            .starts_with("cannot tell whether a bot runs on Fly.io: flyctl is not installed"),
        "{f}"
    );
    assert!(text(&f["fix"]).contains("fly.io/install.sh"), "{f}");
    assert!(
        findings(&json, "fly", None).is_empty(),
        "reported once, as flyctl: {json:#}"
    );
    // Fly could not be read, so "runs nowhere" is only a warning.
    expect_finding(&json, "places", Level::Warn).one();
    assert!(!human.stdout.contains("Cause:"), "{}", human.stdout);
}

#[test]
fn flyctl_logged_out() {
    let mut state = one_started_machine();
    state["logged_in"] = json!(false);
    let world = partner_on_fly_with(state);
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(0);
    assert_shape(&json);
    let f = expect_finding(&json, "flyctl", Level::Warn).one();
    assert!(text(&f["message"]).contains("cannot tell"), "{f}");
    assert!(text(&f["message"]).contains("not logged in"), "{f}");
    assert_eq!(f["fix"], "flyctl auth login");
    assert!(!human.stdout.contains("Cause:"), "{}", human.stdout);
    assert!(
        human.stdout.contains("fix: flyctl auth login"),
        "{}",
        human.stdout
    );
}

/// What could not be read is "not checked", never ticked nor ✓: checklist's "no one else
/// holds", and dev-start's dry run of the handoff record, while Fly cannot be read.
#[test]
fn checklist_and_dry_runs_do_not_tick_what_fly_could_not_tell() {
    let mut state = one_started_machine();
    state["logged_in"] = json!(false);
    let world = partner_on_fly_with(state);
    let checklist = world.run(&["checklist"]);
    let out = &checklist.stdout;
    assert!(
        !out.contains("✓ partner: no one else holds partner"),
        "{out}"
    );
    assert!(
        out.contains("partner: no one else holds partner — not checked: flyctl is not logged in"),
        "{out}"
    );
    let dry = world.run(&["dev-start", "partner", "--dry-run", "--no-probe"]);
    let out = dry.all_output();
    assert!(!out.contains("no handoff record on Fly"), "{out}");
    assert!(
        out.contains("not checked: the machines that hold a record could not be read"),
        "{out}"
    );
}

#[test]
fn autostart_entries_are_warnings() {
    let world = World::configured(partner_on_fly);
    let bot_py = world.script("bot.py");
    world.fly_state(one_started_machine());
    world.set_crontab(&format!("@reboot cd ~/lb && python3 {bot_py}\n"));
    world.set_systemd(
        &"Id=partner-bot.service\n\
         ExecStart={ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 /srv/lb/bot.py ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
         ActiveState=inactive\n\
         UnitFileState=enabled\n"
            .replace("bot.py", &bot_py),
    );
    let plist = world.add_launch_agent(
        "com.lb.partner.plist",
        &"<plist><dict><key>Label</key><string>com.lb.partner</string><key>ProgramArguments</key><array><string>python3</string><string>/Users/dev/lb/bot.py</string></array></dict></plist>\n"
            .replace("bot.py", &bot_py),
    );
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(0); // warnings only
    assert_shape(&json);
    let autostart = findings(&json, "autostart", Some("partner"));
    assert_eq!(autostart.len(), 3, "only warnings: {json:#}");
    let autostart = expect_finding(&json, "autostart", Level::Warn)
        .bot("partner")
        .count(3);
    let fixes: Vec<&str> = autostart.iter().map(|f| fix(f)).collect();
    assert!(
        fixes.iter().any(|f| f.starts_with("crontab -e")),
        "{fixes:?}"
    );
    assert!(
        fixes
            .iter()
            .any(|f| f.contains("systemctl disable --now partner-bot.service")),
        "{fixes:?}"
    );
    assert!(
        fixes.iter().any(|f| *f
            == format!(
                "launchctl disable gui/{}/com.lb.partner",
                nix::unistd::geteuid()
            )),
        "{fixes:?} ({})",
        plist.display()
    );
    let first = human.stdout.lines().next().unwrap();
    assert!(first.starts_with("Probably fine:"), "{first}");
}

#[test]
fn a_stopped_machine_that_fly_proxy_can_start() {
    let world = partner_on_fly_with(machines(vec![
        machine("148ed193b95089", "started", Some(false)),
        machine("d8d9e2f0c12345", "stopped", Some(true)),
    ]));
    let (run, json, _) = doctor(&world, &[]);
    run.expect_code(0);
    assert_shape(&json);
    let f = expect_finding(&json, "proxy", Level::Warn).one();
    assert!(text(&f["message"]).contains("d8d9e2f0c12345"), "{f}");
    assert!(text(&f["fix"]).contains("--autostart=false"), "{f}");
    assert_eq!(
        findings(&json, "proxy", None).len(),
        1,
        "only the stopped one: {json:#}"
    );
}

fn now_rfc3339(ago_secs: u64) -> String {
    // `ago_secs` before now, as flyctl stamps its log lines (GNU date does the calendar).
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - ago_secs;
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn conflict_line(at: &str, machine_id: &str) -> String {
    format!(
        "{at} app[{machine_id}] ams [info]telegram.error.Conflict: Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    )
}

#[test]
fn conflict_lines_in_the_logs() {
    let mut state = one_started_machine();
    let recent = now_rfc3339(30);
    state["apps"][APP]["logs"] = json!([
        format!("{recent} app[148ed193b95089] ams [info]Starting init..."),
        conflict_line(&recent, "148ed193b95089"),
        format!("{recent} app[148ed193b95089] ams [info]Бот успешно подключен"),
        conflict_line(&recent, "d8d9e2f0c12345"),
    ]);
    let world = partner_on_fly_with(state);
    let (run, json, _) = doctor(&world, &[]);
    run.expect_code(1); // recent 409s are an error
    assert_shape(&json);
    let f = expect_finding(&json, "logs", Level::Error).one();
    let message = text(&f["message"]);
    assert!(message.starts_with("2 409 Conflict line(s)"), "{message}");
    assert!(message.contains("on machine d8d9e2f0c12345"), "{message}");
    assert!(message.contains(&recent), "{message}");
    assert!(text(&f["fix"]).contains("--probe"), "{f}");
    drop(world);

    // Old 409s are worth a look, not an error.
    let mut state = one_started_machine();
    state["apps"][APP]["logs"] = json!([conflict_line("2026-01-05T10:00:00Z", "148ed193b95089")]);
    let world = partner_on_fly_with(state);
    let (run, json, _) = doctor(&world, &[]);
    run.expect_code(0);
    let f = expect_finding(&json, "logs", Level::Warn).one();
    assert!(
        text(&f["message"]).starts_with("1 409 Conflict line(s)"),
        "{f}"
    );
    assert!(text(&f["message"]).contains("148ed193b95089"), "{f}");
}

#[test]
fn an_open_handoff_and_a_corrupt_one() {
    let world = partner_on_fly_with(one_stopped_machine());
    world.write(
        ".botctl/state.json",
        &serde_json::to_string_pretty(&json!({
            "version": 1,
            "handoffs": [{"bot": "partner", "app": APP, "machines": ["148ed193b95089"],
                          "at": "2026-11-25T09:00:00Z", "by": "dev@laptop"}]
        }))
        .unwrap(),
    );
    let (run, json, _) = doctor(&world, &[]);
    run.expect_code(0);
    assert_shape(&json);
    let f = expect_finding(&json, "handoff", Level::Warn).one();
    assert!(text(&f["message"]).contains("dev@laptop"), "{f}");
    assert!(text(&f["message"]).contains("148ed193b95089"), "{f}");
    assert_eq!(f["fix"], "botctl deploy-resume partner");

    world.write(
        ".botctl/state.json",
        "{\"version\": 1, \"handoffs\": [ {\"bot\": ",
    );
    let (run, json, human) = doctor(&world, &[]);
    run.expect_code(1);
    assert_shape(&json);
    let f = expect_finding(&json, "handoff", Level::Error).one();
    let state_path = world.path(".botctl/state.json");
    assert!(
        text(&f["message"]).contains(state_path.to_str().unwrap()),
        "{f}"
    );
    assert!(text(&f["message"]).contains("corrupt"), "{f}");
    assert_cause_first(&human, &json, ".botctl/state.json");
    // Never silently dropped.
    assert!(state_path.exists());
}

// ---------------------------------------------------------------------------- a real poller

#[test]
fn status_and_probe_see_a_real_ptb_bot_running_as_bot_py() {
    let OnTelegram { world, api, token } = on_telegram_probing(31, "12s", one_stopped_machine());
    let bot_py = world.script("bot.py");
    let ptb = PtbBot::start(&world, &api, &token, &bot_py);

    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let partner = test_support::bot(&json, "partner");
    assert_eq!(
        test_support::local_pids(partner),
        [ptb.pid()],
        "{partner:#}"
    );
    assert_eq!(partner["local"][0]["cmd"], json!(["python3", bot_py]));
    assert_eq!(partner["verdict"], "ok");

    // The probe meets it, and botctl knows where it runs: expected, not an error.
    let run = world.run(&["doctor", "--probe", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let f = expect_finding(&json, "probe", Level::Ok).one();
    assert!(
        text(&f["message"]).contains("a live poller answered"),
        "{f}"
    );
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
}

#[test]
fn the_probe_finds_a_poller_botctl_cannot_see_and_no_ghost_after_it_stops() {
    let OnTelegram { world, api, token } = on_telegram_probing(32, "12s", one_stopped_machine());
    // The same bot under a name botctl.toml does not know.
    let mut ptb = PtbBot::start(&world, &api, &token, "hidden_worker.py");

    let run = world.run(&["doctor", "--probe", "--json"]);
    run.expect_code(1);
    let json = run.json();
    assert_shape(&json);
    let f = expect_finding(&json, "probe", Level::Error).one();
    let message = text(&f["message"]);
    assert!(
        message.contains("another poller answered the probe"),
        "{message}"
    );
    assert!(message.contains("cannot see"), "{message}");
    assert!(text(&f["fix"]).contains("revoke"), "{f}");
    assert_eq!(
        json["findings"][0]["check"], "probe",
        "the probe names the cause: {json:#}"
    );
    // The warning about interrupting the other poller came first, on stderr.
    run.expect_stderr("Probing for 12s");
    run.expect_stderr("interrupts");
    // The Bot API really sent a 409 (to the probe or to the bot, whichever polled first).
    assert!(api.stats(&token)["conflicts_sent"].as_u64().unwrap() >= 1);

    // Stop it; a short probe must not report a poller that is gone.
    ptb.stop(Duration::from_secs(15));
    assert!(!test_support::alive(ptb.pid()));
    world.write_config(partner_with_telegram(&world, &api.url()).probe("4s"));
    let run = world.run(&["doctor", "--probe", "--json"]);
    let json = run.json();
    assert!(
        findings(&json, "probe", None)
            .iter()
            .all(|f| f["level"] != "error"),
        "a false positive: {json:#}"
    );
    let f = expect_finding(&json, "probe", Level::Ok).one();
    assert!(
        text(&f["message"]).contains("no other poller answered"),
        "{f}"
    );
    run.expect_code(0);
}

#[test]
fn the_probe_never_sends_offset_or_allowed_updates() {
    let OnTelegram { world, api, token } = on_telegram_probing(33, "3s", one_started_machine());
    // An update waiting: every getUpdates returns at once, so the probe asks again.
    api.queue_update(&token, "hello");
    let run = world.run(&["doctor", "--probe", "--json"]);
    let json = run.json();
    let stats = api.stats(&token);
    assert!(
        stats["getUpdates_calls"].as_u64().unwrap() >= 2,
        "the probe should repeat calls that return at once: {stats:#}"
    );
    assert_eq!(stats["offsets_seen"], json!([]), "{stats:#}");
    assert_eq!(stats["allowed_updates_seen"], json!(false), "{stats:#}");
    assert_eq!(
        stats["pending_updates"], 1,
        "the probe consumed an update: {stats:#}"
    );
    let probe = findings(&json, "probe", Some("partner"));
    assert_eq!(
        probe.len(),
        1,
        "one probe finding, whatever its level: {json:#}"
    );
    assert!(
        message(probe[0]).contains("updates were waiting"),
        "{json:#}"
    );
}

// ---------------------------------------------------------------------------- token leaks

fn leak_config(world: &World, api: &str) -> Toml {
    Toml::new()
        .telegram_api(api)
        .probe("2s")
        .telegram_timeout("5s")
        .bot(
            Bot::script("partner", &world.script("bot.py"))
                .token_env("PARTNER_BOT_TOKEN")
                .fly_app(APP),
        )
        .bot(
            Bot::script("client", &world.script("client_handler.py")).token_env("CLIENT_BOT_TOKEN"),
        )
}

/// Runs every read-only command against `world` with one token in .env and one in the
/// environment; neither may appear anywhere; `expect` must appear (the error sentence).
fn assert_no_leak(world: &World, env_token: &str, dotenv_token: &str, expect: &str) {
    let commands: [&[&str]; 8] = [
        &["status"],
        &["status", "--json"],
        &["-v", "status"],
        &["doctor"],
        &["doctor", "--json"],
        &["doctor", "--probe"],
        &["-vv", "doctor", "--probe", "--json"],
        &["-vv", "status", "--json", "--color", "always"],
    ];
    for args in commands {
        let run = test_support::run(world.botctl().env("CLIENT_BOT_TOKEN", env_token).args(args));
        assert!(
            [0, 1].contains(&run.code),
            "botctl {args:?} exited {}:\n{}",
            run.code,
            run.all_output()
        );
        let all = run.all_output();
        for token in [env_token, dotenv_token] {
            let secret = token.split_once(':').unwrap().1;
            assert!(
                !all.contains(secret),
                "botctl {args:?} printed a token:\n{all}"
            );
        }
        assert!(
            all.contains(expect),
            "botctl {args:?} should say {expect:?}:\n{all}"
        );
    }
    // The other commands too; dev-start really runs (webhook check and probe fail in words).
    let others: [(&[&str], bool); 5] = [
        (&["checklist"], true),
        (&["dev-start", "client", "--dry-run"], false),
        (&["dev-stop", "--dry-run"], false),
        (&["-v", "dev-start", "partner", "--yes", "--no-run"], true),
        (&["deploy-resume", "--dry-run"], false),
    ];
    for (args, says_why) in others {
        let run = test_support::run(world.botctl().env("CLIENT_BOT_TOKEN", env_token).args(args));
        let all = run.all_output();
        assert!(
            [0, 1].contains(&run.code),
            "botctl {args:?} exited {}:\n{all}",
            run.code
        );
        for token in [env_token, dotenv_token] {
            let secret = token.split_once(':').unwrap().1;
            assert!(
                !all.contains(secret),
                "botctl {args:?} printed a token:\n{all}"
            );
        }
        assert!(
            !says_why || all.contains(expect),
            "botctl {args:?} should say {expect:?}:\n{all}"
        );
    }
}

#[test]
fn tokens_never_leak_when_the_bot_api_cannot_be_reached() {
    let env_token = test_support::token(41);
    let dotenv_token = test_support::token(42);
    let world = World::configured(|w| leak_config(w, &test_support::dead_url()));
    world.dotenv(&[("PARTNER_BOT_TOKEN", &dotenv_token)]);
    world.fly_state(one_started_machine());
    assert_no_leak(
        &world,
        &env_token,
        &dotenv_token,
        "cannot reach the Bot API",
    );

    // And the JSON says so per bot.
    let run = test_support::run(
        world
            .botctl()
            .env("CLIENT_BOT_TOKEN", &env_token)
            .args(["status", "--json"]),
    );
    let json = run.json();
    for name in ["partner", "client"] {
        let error = text(&test_support::bot(&json, name)["telegram"]["error"]).to_string();
        assert!(error.contains("cannot reach the Bot API"), "{error}");
    }
}

#[test]
fn tokens_never_leak_when_the_bot_api_answers_html() {
    let env_token = test_support::token(43);
    let dotenv_token = test_support::token(44);
    let api = BotApi::start_broken(&[(&env_token, "clientbot"), (&dotenv_token, "ghbipartnerbot")]);
    let world = World::configured(|w| leak_config(w, &api.url()));
    world.dotenv(&[("PARTNER_BOT_TOKEN", &dotenv_token)]);
    world.fly_state(one_started_machine());
    assert_no_leak(&world, &env_token, &dotenv_token, "not the Bot API's JSON");

    let run = test_support::run(
        world
            .botctl()
            .env("CLIENT_BOT_TOKEN", &env_token)
            .args(["status", "--json"]),
    );
    let json = run.json();
    let error = text(&test_support::bot(&json, "partner")["telegram"]["error"]).to_string();
    assert!(error.contains("HTTP 502"), "{error}");
    assert!(error.contains("not the Bot API's JSON"), "{error}");
}

/// partner on Fly.io (add `[fly]` settings to taste).
fn partner_on(world: &World) -> Toml {
    Toml::new().bot(Bot::script("partner", &world.script("bot.py")).fly_app(APP))
}

/// An executable script at `root/rel`.
fn script(world: &World, rel: &str, text: &str) -> std::path::PathBuf {
    let p = world.write(rel, text);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn doctor_mentions_a_handoff_for_a_bot_no_longer_configured() {
    let world = partner_on_fly_with(fly_apps(&[(APP, vec![])]));
    world.write(
        ".botctl/state.json",
        r#"{"version": 1, "handoffs": [{"bot": "oldbot", "app": "old-app", "machines": ["e784079b449483"], "at": "2026-11-20T10:00:00Z", "by": "dev@laptop"}]}"#,
    );
    let run = world.run(&["doctor", "--json"]);
    let json = run.json();
    let found = expect_finding(&json, "handoff", Level::Warn)
        .saying("oldbot")
        .saying("e784079b449483")
        .one();
    assert!(
        fix(found).contains("flyctl machine start e784079b449483 --app old-app"),
        "{found}"
    );
}

#[test]
fn a_flyctl_with_a_broken_shebang_is_not_called_not_installed() {
    let world = World::configured(|w| partner_on(w).flyctl("./myfly"));
    script(&world, "myfly", "#!/nonexistent/python9\nprint('hi')\n");
    let run = world.run(&["status"]);
    assert!(!run.stdout.contains("not found"), "{}", run.stdout);
    run.expect_stdout("cannot be run");
}
