//! doctor answers as soon as it knows: `flyctl logs` prints nothing on an empty buffer (right
//! after dev-start), and the probe ends at the first 409; neither may hold doctor up, and 409
//! lines in a buffer that has them are still read.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";

fn config(api: &str) -> Toml {
    // A path: a stray bot.py elsewhere on this machine is not ours.
    Toml::new().telegram_api(api).bot(
        Bot::script("partner", "partner/bot.py")
            .token_env("PARTNER_BOT_TOKEN")
            .username("ghbipartnerbot")
            .fly_app(APP),
    )
}

/// One machine in `state`, the token secret, and an empty log buffer: the fake flyctl's
/// `logs` then prints nothing and never exits, as flyctl does.
fn fly(state: &str) -> Value {
    let mut st = with_secret(
        fly_apps(&[(APP, vec![machine("148ed193b95089", state, None)])]),
        APP,
        "PARTNER_BOT_TOKEN",
        "the partner token",
    );
    st["apps"][APP]["logs"] = json!([]);
    st
}

/// The project right after `botctl dev-start partner --no-run`: its machine stopped by it.
fn after_dev_start(world: &World) {
    world.fly_state(fly("started"));
    world
        .run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"])
        .expect_code(0);
    assert_eq!(
        world.fly_machines(APP),
        [("148ed193b95089".to_string(), "stopped".to_string())]
    );
}

#[test]
fn doctor_does_not_wait_on_an_empty_log_buffer() {
    let token = token(71);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::with_config(config(&api.url()));
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    after_dev_start(&world);

    let run = world.run(&["doctor", "--json"]);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "doctor took {:?} on an empty log buffer",
        run.elapsed
    );
    let json = run.json();
    let logs = expect_finding(&json, "logs", Level::Ok)
        .bot("partner")
        .one();
    let message = logs["message"].as_str().unwrap();
    assert!(
        message.contains("logs of loyalitybot-partner are empty"),
        "{message}"
    );
    // The hung `flyctl logs` did not outlive doctor.
    let flyctl = world.bin().join("flyctl");
    assert!(
        wait_until(Duration::from_secs(5), || {
            pids_with_arg(flyctl.to_str().unwrap()).is_empty()
        }),
        "flyctl left running: {:?}",
        pids_with_arg(flyctl.to_str().unwrap())
    );
}

#[test]
fn doctor_probe_returns_soon_after_it_hears_a_live_poller() {
    let token = token(72);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::with_config(config(&api.url()));
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    after_dev_start(&world);
    // The bot, still polling from a place botctl cannot see (under another name).
    let _ptb = PtbBot::start(&world, &api, &token, "forgotten_copy.py");

    let run = world.run(&["doctor", "--probe", "--json"]);
    assert!(
        run.elapsed < Duration::from_millis(6500),
        "doctor --probe took {:?} with a live poller",
        run.elapsed
    );
    run.expect_code(1);
    let json = run.json();
    let top = &json["findings"][0];
    assert_eq!(top["check"], "probe", "the probe names the cause: {json:#}");
    assert_eq!(top["level"], "error");
    assert!(
        top["message"]
            .as_str()
            .unwrap()
            .contains("another poller answered the probe"),
        "{top}"
    );
    expect_finding(&json, "logs", Level::Ok)
        .bot("partner")
        .saying("empty")
        .one();
}

#[test]
fn conflict_lines_are_read_from_a_buffer_that_has_them_even_when_flyctl_is_slow() {
    let world = World::with_config(config("http://127.0.0.1:9"));
    let mut st = fly("started");
    // A real flyctl needs a moment to fetch the buffer before it prints it all at once.
    st["delay"] = json!({"logs": 2});
    let recent = recent_timestamp();
    st["apps"][APP]["logs"] = json!([
        format!("{recent} app[148ed193b95089] ams [info]Starting init..."),
        format!(
            "{recent} app[148ed193b95089] ams [info]telegram.error.Conflict: Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        ),
    ]);
    world.fly_state(st);

    let run = world.run(&["doctor", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let logs = expect_finding(&json, "logs", Level::Error)
        .bot("partner")
        .one();
    // Read although flyctl printed nothing for 2 s. (How long doctor took is no evidence here:
    // on a busy machine its other sources take longer than the logs.)
    let message = logs["message"].as_str().unwrap();
    assert!(message.starts_with("1 409 Conflict line(s)"), "{message}");
}

/// Now, as flyctl stamps its log lines.
fn recent_timestamp() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
