//! A bot on Heroku: the REAL Heroku CLI against the loopback fake Platform API
//! (tests/fakes/heroku_api.py). Its dynos are places; doctor names what makes two pollers
//! there; a CLI that is missing, logged out or hung is "not checked", never a block; the
//! config vars (which hold the token) are never asked for.

use std::time::{Duration, Instant};

use serde_json::json;
use test_support::{HerokuApi, Level, World, bot, expect_finding, heroku_app};

/// The Heroku CLI is a Node program that loads for seconds; on a loaded machine (the suite
/// runs many at once) a call takes ten times that.
const PATIENT: &str = "[heroku]\ntimeout = \"75s\"\n";

fn partner_on_heroku(world: &World, process: &str) -> String {
    format!(
        "{PATIENT}[[bot]]\nname = \"partner\"\nscript = \"{}\"\n\
heroku = {{ app = \"lb-partner\"{process} }}\n",
        world.script("bot.py")
    )
}

/// The world's bot script as a dyno's command runs it.
fn command(world: &World) -> String {
    format!("python {}", world.script("bot.py"))
}

fn ids(platform: &serde_json::Value) -> Vec<String> {
    platform["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("no instances: {platform:#}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn status_counts_the_bots_dynos_and_a_dyno_of_another_type_running_it() {
    let world = World::new();
    world.write_config(partner_on_heroku(&world, ", process = \"worker\""));
    let mut app = heroku_app("worker", 1, &command(&world));
    app["dynos"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "web.1", "type": "web", "state": "up", "command": command(&world)}));
    app["dynos"].as_array_mut().unwrap().push(
        json!({"name": "clock.1", "type": "clock", "state": "up", "command": "python clock.py"}),
    );
    let api = HerokuApi::start(&world, json!({"lb-partner": app}));
    // Two places: the verdict is a conflict.
    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let partner = bot(&json, "partner");
    let platform = &partner["platform"];
    assert_eq!(platform["kind"], "heroku", "{json:#}");
    assert_eq!(platform["name"], "lb-partner");
    assert!(platform["error"].is_null(), "{json:#}");
    assert_eq!(ids(platform), ["web.1", "worker.1"], "{json:#}");
    assert!(
        !run.stdout.contains("heroku-config-var-secret")
            && !run.stderr.contains("heroku-config-var-secret")
    );
    assert!(
        !api.calls().iter().any(|c| c.contains("config-vars")),
        "botctl asked for the config vars: {:?}",
        api.calls()
    );
    let text = world.run(&["status"]);
    text.expect_stdout("heroku lb-partner worker.1 up")
        .expect_stdout("Heroku has no place for a team record");
}

#[test]
fn doctor_warns_of_a_formation_above_one_a_second_process_type_and_preboot() {
    let world = World::new();
    world.write_config(partner_on_heroku(&world, ", process = \"worker\""));
    let mut app = heroku_app("worker", 2, &command(&world));
    app["dynos"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "web.1", "type": "web", "state": "up", "command": command(&world)}));
    app["features"][0]["enabled"] = json!(true);
    let _api = HerokuApi::start(&world, json!({"lb-partner": app}));
    let run = world.run(&["doctor", "--json"]);
    let json = run.json();
    let said = |needle: &str| {
        expect_finding(&json, "platform", Level::Warn)
            .bot("partner")
            .saying(needle)
            .one()
    };
    let formation = said("(formation)");
    assert!(
        formation["message"]
            .as_str()
            .unwrap()
            .contains("2 worker dynos")
    );
    assert_eq!(
        formation["fix"],
        "heroku ps:scale worker=1 --app lb-partner"
    );
    let types = said("(process-types)");
    assert!(
        types["message"]
            .as_str()
            .unwrap()
            .contains("worker and web"),
        "{types:#}"
    );
    assert!(
        types["fix"]
            .as_str()
            .unwrap()
            .contains("heroku ps:scale web=0 --app lb-partner"),
        "{types:#}"
    );
    let preboot = said("(preboot)");
    assert_eq!(
        preboot["fix"],
        "heroku features:disable preboot --app lb-partner"
    );
    assert!(!run.stdout.contains("heroku-config-var-secret"));
}

#[test]
fn a_logged_out_cli_is_not_checked_with_the_fix() {
    let world = World::new();
    world.write_config(partner_on_heroku(&world, ""));
    let app = heroku_app("worker", 1, &command(&world));
    let _api = HerokuApi::start_as(&world, json!({"lb-partner": app}), false);
    let json = world.run(&["status", "--json"]).json();
    let platform = &bot(&json, "partner")["platform"];
    let error = platform["error"].as_str().unwrap_or_default();
    assert!(error.contains("not logged in"), "{json:#}");
    assert!(error.contains("heroku login"), "{json:#}");
    assert_eq!(bot(&json, "partner")["verdict"], "unknown");
}

#[test]
fn an_unknown_app_and_a_missing_cli_say_what_to_do() {
    let world = World::new();
    world.write_config(partner_on_heroku(&world, ", process = \"worker\""));
    let _api = HerokuApi::start(
        &world,
        json!({"other": heroku_app("worker", 1, "python x.py")}),
    );
    let json = world.run(&["status", "--json"]).json();
    let error = bot(&json, "partner")["platform"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("app lb-partner was not found"), "{error}");
    assert!(error.contains("heroku apps"), "{error}");

    let world = World::new().without_tool("heroku");
    world.write_config(partner_on_heroku(&world, ", process = \"worker\""));
    let json = world.run(&["status", "--json"]).json();
    let error = bot(&json, "partner")["platform"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("Heroku CLI is not installed"), "{error}");
    assert!(error.contains("npm install -g heroku"), "{error}");
}

#[test]
fn a_hung_api_is_cut_at_the_heroku_timeout_and_blocks_nothing_else() {
    let world = World::new();
    world.write_config(
        partner_on_heroku(&world, ", process = \"worker\"")
            .replace(PATIENT, "[heroku]\ntimeout = \"4s\"\n"),
    );
    let api = HerokuApi::start(
        &world,
        json!({"lb-partner": heroku_app("worker", 1, "python bot.py")}),
    );
    api.change(|s| s["hang"] = json!(["dynos"]));
    let started = Instant::now();
    let json = world.run(&["status", "--json"]).json();
    let took = started.elapsed();
    let error = bot(&json, "partner")["platform"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("did not answer within 4s"), "{error}");
    assert!(error.contains("[heroku] timeout"), "{error}");
    assert!(took < Duration::from_secs(30), "status took {took:?}");
    // The local look still answered.
    assert!(bot(&json, "partner")["local"].is_array(), "{json:#}");
}

/// botctl.toml for the handoff tests: the worker type named, and the bot's ready line.
fn partner_ready(world: &World) -> String {
    partner_on_heroku(world, ", process = \"worker\"").replace(
        "[[bot]]\nname = \"partner\"\n",
        "[[bot]]\nname = \"partner\"\nready_log = \"Bot started\"\n",
    )
}

/// The handoff as `.botctl/state.json` holds it (empty when none is).
fn recorded(world: &World) -> String {
    std::fs::read_to_string(world.path(".botctl/state.json")).unwrap_or_default()
}

fn quantity(api: &HerokuApi) -> u64 {
    api.app("lb-partner")["formation"][0]["quantity"]
        .as_u64()
        .unwrap_or(99)
}

#[test]
fn dev_start_scales_the_type_to_zero_and_deploy_resume_scales_back_to_one_with_the_ready_line() {
    let world = World::new();
    world.write_config(partner_ready(&world));
    let mut app = heroku_app("worker", 2, &command(&world));
    app["ready_line"] = json!("Bot started");
    let api = HerokuApi::start(&world, json!({"lb-partner": app}));

    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("scaled lb-partner from 2 to 0")
        .expect_stdout("Heroku no longer runs partner");
    assert_eq!(quantity(&api), 0, "{}", run.all_output());
    assert!(
        api.app("lb-partner")["dynos"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{:#}",
        api.app("lb-partner")
    );
    assert!(
        api.calls()
            .contains(&"PATCH /apps/lb-partner/formation".to_string()),
        "{:#?}",
        api.calls()
    );
    let state = recorded(&world);
    assert!(state.contains("\"scaled_from\": 2"), "{state}");

    // Status: stopped there, the handoff mine, and recorded on this machine only.
    let json = world.run(&["status", "--json"]).json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["verdict"], "stopped", "{json:#}");
    // No team record there: the handoff is this machine's `.botctl/state.json` only.
    assert!(partner["handoff"].is_null(), "{json:#}");
    world.run(&["status"]).expect_stdout(
        "Heroku has no place for a team record: a handoff is recorded on this machine only",
    );

    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("a polling bot runs on exactly one")
        .expect_stdout("scaling to 1")
        .expect_stdout("\"Bot started\" at ");
    assert_eq!(quantity(&api), 1);
    // The ready line was read in a log session of the worker type (`heroku logs --tail`).
    let sessions = api.state()["log_sessions"].clone();
    assert!(
        sessions.as_object().is_some_and(|s| s
            .values()
            .any(|l| l["dyno"] == "worker" && l["tail"] == true)),
        "{sessions:#}"
    );
    let dynos = api.app("lb-partner")["dynos"].clone();
    assert_eq!(dynos.as_array().map(Vec::len), Some(1), "{dynos:#}");
    assert_eq!(dynos[0]["state"], "up", "{dynos:#}");
    assert!(
        !recorded(&world).contains("partner"),
        "{}",
        recorded(&world)
    );
    assert!(!run.all_output().contains("heroku-config-var-secret"));
}

#[test]
fn a_409_after_the_ready_line_fails_deploy_resume_on_heroku() {
    let world = World::new();
    world.write_config(partner_ready(&world));
    let mut app = heroku_app("worker", 0, &command(&world));
    app["ready_line"] = json!("Bot started");
    app["conflict_line"] =
        json!("telegram.error.Conflict: 409 Conflict: terminated by other getUpdates request");
    let api = HerokuApi::start(&world, json!({"lb-partner": app}));
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(3);
    run.expect_stderr("got a 409 after it started");
    assert_eq!(quantity(&api), 1);
}

/// The API refuses the scale: each step fails with the command that does it by hand, and the
/// handoff stays recorded, so nothing is lost.
#[test]
fn a_refused_scale_fails_the_step_with_the_fix_and_keeps_the_record() {
    let world = World::new();
    world.write_config(partner_ready(&world));
    let mut app = heroku_app("worker", 1, &command(&world));
    app["refuse_scale"] = json!({"status": 403, "id": "forbidden",
        "message": "You do not have permission to scale lb-partner."});
    let api = HerokuApi::start(&world, json!({"lb-partner": app}));

    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(3);
    run.expect_stderr("lb-partner was not scaled to 0")
        .expect_stderr("You do not have permission to scale lb-partner")
        .expect_stderr("heroku ps:scale worker=0 --app lb-partner")
        .expect_stderr("botctl deploy-resume partner");
    assert_eq!(quantity(&api), 1);
    assert!(
        recorded(&world).contains("\"scaled_from\": 1"),
        "{}",
        recorded(&world)
    );

    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(3);
    run.expect_stderr("You do not have permission to scale lb-partner")
        .expect_stderr("heroku ps:scale worker=1 --app lb-partner");
    assert!(
        recorded(&world).contains("\"scaled_from\": 1"),
        "the handoff was lost: {}",
        recorded(&world)
    );
}
