//! A bot on Railway: the fake Railway CLI (tests/fakes/railway, written from the `railwayapp`
//! crate's source). The replicas of its active deployment are places; doctor names replicas
//! above 1 and a deployment overlap without printing a variable; a logged-out or missing CLI
//! is "not checked" with the fix.

use serde_json::json;
use test_support::{Level, RailwayCli, World, bot, expect_finding, railway_project};

fn partner_on_railway(world: &World, keys: &str) -> String {
    format!(
        "[[bot]]\nname = \"partner\"\nscript = \"{}\"\nrailway = {{ {keys} }}\n",
        world.script("bot.py")
    )
}

#[test]
fn status_counts_the_replicas_of_the_active_deployment() {
    let world = World::new();
    world.write_config(partner_on_railway(&world, "service = \"partner\""));
    let _cli = RailwayCli::install(&world, railway_project("partner", 1));
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let platform = &bot(&json, "partner")["platform"];
    assert_eq!(platform["kind"], "railway", "{json:#}");
    assert_eq!(platform["name"], "partner");
    assert!(platform["error"].is_null(), "{json:#}");
    assert_eq!(
        platform["instances"].as_array().unwrap().len(),
        1,
        "{json:#}"
    );
    assert_eq!(platform["instances"][0]["state"], "RUNNING");
    assert_eq!(bot(&json, "partner")["verdict"], "ok");
    assert!(!run.stdout.contains("railway-variable-secret"));
    world
        .run(&["status"])
        .expect_stdout("railway partner")
        .expect_stdout("Railway has no place for a team record");
}

#[test]
fn doctor_warns_of_replicas_and_an_overlap_and_prints_no_variable() {
    let world = World::new();
    world.write_config(partner_on_railway(
        &world,
        "service = \"partner\", environment = \"production\"",
    ));
    let cli = RailwayCli::install(&world, railway_project("partner", 2));
    cli.change(|s| {
        s["projects"]["p-lb"]["environments"]["production"]["services"]["partner"]["variables"]
            ["RAILWAY_DEPLOYMENT_OVERLAP_SECONDS"] = json!("45")
    });
    let run = world.run(&["doctor", "--json"]);
    let json = run.json();
    let said = |needle: &str| {
        expect_finding(&json, "platform", Level::Warn)
            .bot("partner")
            .saying(needle)
            .one()
    };
    let replicas = said("(replicas)");
    assert!(replicas["message"].as_str().unwrap().contains("2 replicas"));
    assert_eq!(
        replicas["fix"],
        "railway scale --service partner --environment production europe-west4-drams3a=1"
    );
    let overlap = said("(overlap)");
    assert!(
        overlap["fix"]
            .as_str()
            .unwrap()
            .ends_with("RAILWAY_DEPLOYMENT_OVERLAP_SECONDS=0"),
        "{overlap:#}"
    );
    for secret in ["railway-variable-secret", "45"] {
        assert!(
            !overlap["message"].as_str().unwrap().contains(secret),
            "{overlap:#}"
        );
    }
    assert!(!run.stdout.contains("railway-variable-secret"));
}

#[test]
fn a_logged_out_or_missing_cli_is_not_checked_with_the_fix() {
    let world = World::new();
    world.write_config(partner_on_railway(&world, ""));
    let cli = RailwayCli::install(&world, railway_project("partner", 1));
    cli.change(|s| s["logged_in"] = json!(false));
    let json = world.run(&["status", "--json"]).json();
    let error = bot(&json, "partner")["platform"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("not logged in"), "{error}");
    assert!(error.contains("railway login"), "{error}");
    assert_eq!(bot(&json, "partner")["verdict"], "unknown");

    let world = World::new().without_tool("railway");
    world.write_config(partner_on_railway(&world, "service = \"partner\""));
    let json = world.run(&["status", "--json"]).json();
    let error = bot(&json, "partner")["platform"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("Railway CLI is not installed"), "{error}");
}

/// The partner service in production of project p-lb (named, not only linked: `railway scale`
/// takes it as `-p`), with its ready line.
fn partner_ready(world: &World) -> String {
    partner_on_railway(
        world,
        "service = \"partner\", environment = \"production\", project = \"p-lb\"",
    )
    .replace(
        "[[bot]]\nname = \"partner\"\n",
        "[[bot]]\nname = \"partner\"\nready_log = \"Bot started\"\n",
    )
}

/// The partner service's state in the fake.
fn service(cli: &RailwayCli) -> serde_json::Value {
    cli.state()["projects"]["p-lb"]["environments"]["production"]["services"]["partner"].clone()
}

fn recorded(world: &World) -> String {
    std::fs::read_to_string(world.path(".botctl/state.json")).unwrap_or_default()
}

/// `railway scale REGION=0` takes the service to no replica (the region removed, as the
/// dashboard does it) and `REGION=1` brings one back; the region to bring back is read from
/// the deployment that last ran somewhere.
#[test]
fn dev_start_scales_the_service_to_zero_and_deploy_resume_brings_one_back_with_the_ready_line() {
    let world = World::new();
    world.write_config(partner_ready(&world));
    let mut project = railway_project("partner", 2);
    project["projects"]["p-lb"]["environments"]["production"]["services"]["partner"]["ready_line"] =
        json!("Bot started");
    let cli = RailwayCli::install(&world, project);

    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("scaled partner from 2 to 0")
        .expect_stdout("Railway no longer runs partner");
    let scaled = |n: &str| {
        cli.calls().iter().any(|c| {
            c.first().is_some_and(|w| w == "scale")
                && c.iter().any(|w| w == &format!("europe-west4-drams3a={n}"))
        })
    };
    assert!(scaled("0"), "{:#?}", cli.calls());
    assert_eq!(service(&cli)["regions"], json!({}), "{:#}", service(&cli));
    assert!(
        recorded(&world).contains("\"scaled_from\": 2"),
        "{}",
        recorded(&world)
    );
    let json = world.run(&["status", "--json"]).json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["verdict"], "stopped", "{json:#}");
    // No team record there: the handoff is this machine's `.botctl/state.json` only.
    assert!(partner["handoff"].is_null(), "{json:#}");
    world.run(&["status"]).expect_stdout(
        "Railway has no place for a team record: a handoff is recorded on this machine only",
    );

    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("scaling to 1")
        .expect_stdout("\"Bot started\" at ");
    assert!(scaled("1"), "{:#?}", cli.calls());
    assert_eq!(service(&cli)["regions"], json!({"europe-west4-drams3a": 1}));
    assert!(
        cli.calls().iter().any(|c| c
            .starts_with(&["logs".to_string(), "--deployment".to_string()])
            && c.iter().any(|w| w == "--json")),
        "{:#?}",
        cli.calls()
    );
    assert!(
        !recorded(&world).contains("partner"),
        "{}",
        recorded(&world)
    );
    assert!(!run.all_output().contains("railway-variable-secret"));
}

#[test]
fn doctor_reads_409_lines_in_railway_logs() {
    let world = World::new();
    world.write_config(partner_on_railway(&world, "service = \"partner\""));
    let cli = RailwayCli::install(&world, railway_project("partner", 1));
    cli.change(|s| {
        s["projects"]["p-lb"]["environments"]["production"]["services"]["partner"]["deployments"]
            [0]["logs"] = json!([
            {"timestamp": "2026-12-06T19:00:01.000000Z", "message": "Bot started", "level": "info"},
            {"timestamp": "2026-12-06T19:00:09.000000Z",
             "message": "telegram.error.Conflict: Conflict: terminated by other getUpdates request",
             "level": "error"}])
    });
    let json = world.run(&["doctor", "--json"]).json();
    let found = expect_finding(&json, "logs", Level::Warn)
        .bot("partner")
        .saying("1 409 Conflict line(s) in the recent logs of Railway partner")
        .one();
    assert!(
        found["message"]
            .as_str()
            .unwrap()
            .contains("2026-12-06T19:00:09Z"),
        "{found:#}"
    );
    assert_eq!(
        found["fix"],
        "botctl doctor partner --probe   # finds a poller no other check can see"
    );
}

/// `railway logs` prints a page and exits when it is not on a terminal: watch reads it page
/// after page and tells a 409 once, however many pages hold it.
#[test]
fn watch_reads_railway_logs_page_after_page_and_tells_a_409_once() {
    let world = World::new();
    world.write_config(format!(
        "{}[watch]\nplatform = \"1s\"\n",
        partner_on_railway(&world, "service = \"partner\"")
    ));
    let cli = RailwayCli::install(&world, railway_project("partner", 1));
    let child = world
        .botctl_process(&["watch", "--for", "9s", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start botctl watch");
    let pages = || {
        cli.calls()
            .iter()
            .filter(|c| c.first().is_some_and(|w| w == "logs"))
            .count()
    };
    let reading = test_support::wait_until(std::time::Duration::from_secs(6), || pages() >= 1);
    let now = jiff::Timestamp::now().to_string();
    cli.change(|s| {
        s["projects"]["p-lb"]["environments"]["production"]["services"]["partner"]["deployments"]
            [0]["logs"] = json!([{"timestamp": now, "level": "error",
            "message": "telegram.error.Conflict: Conflict: terminated by other getUpdates request"}])
    });
    let out = child.wait_with_output().expect("botctl watch ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(reading && pages() >= 2, "{:#?}", cli.calls());
    let conflicts: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "409")
        .collect();
    assert_eq!(conflicts.len(), 1, "{stdout}");
    assert_eq!(conflicts[0]["app"], "partner", "{stdout}");
    assert!(
        !stdout.contains("\"retry_in\""),
        "a page's end was told as trouble: {stdout}"
    );
}

/// The whole cycle in one command: dev-start takes the service to zero, runs the bot here, and
/// when it exits hands it back (`--yes` answers the offer to resume).
#[test]
fn dev_start_runs_the_bot_here_and_hands_it_back_when_it_exits() {
    let world = World::new();
    world.write_config(partner_ready(&world));
    let bot_py = world.script("bot.py");
    world.write(&bot_py, "print('local bot running', flush=True)\n");
    let mut project = railway_project("partner", 1);
    project["projects"]["p-lb"]["environments"]["production"]["services"]["partner"]["ready_line"] =
        json!("Bot started");
    let cli = RailwayCli::install(&world, project);
    let run = world.run(&["dev-start", "partner", "--yes", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("scaled partner from 1 to 0")
        .expect_stdout("local bot running")
        .expect_stdout("\"Bot started\" at ")
        .expect_stdout("partner is back on Railway");
    assert_eq!(service(&cli)["regions"], json!({"europe-west4-drams3a": 1}));
    assert!(
        !recorded(&world).contains("partner"),
        "{}",
        recorded(&world)
    );
}

/// A `railway` that never answers is cut at `[railway] timeout`: "not checked" with the fix,
/// and the local look still answers.
#[test]
fn a_hung_cli_is_cut_at_the_railway_timeout_and_blocks_nothing_else() {
    let world = World::new();
    world.write_config(format!(
        "[railway]\ntimeout = \"3s\"\n{}",
        partner_on_railway(&world, "service = \"partner\"")
    ));
    let cli = RailwayCli::install(&world, railway_project("partner", 1));
    cli.change(|s| s["hang"] = json!(["status"]));
    let started = std::time::Instant::now();
    let json = world.run(&["status", "--json"]).json();
    let took = started.elapsed();
    let partner = bot(&json, "partner");
    let error = partner["platform"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("did not answer within 3s"), "{json:#}");
    assert!(error.contains("[railway] timeout"), "{json:#}");
    assert_eq!(partner["verdict"], "unknown", "{json:#}");
    assert!(partner["local"].is_array(), "{json:#}");
    assert!(
        took < std::time::Duration::from_secs(30),
        "status took {took:?}"
    );
}

#[test]
fn dev_start_dry_run_changes_nothing_on_railway() {
    let world = World::new();
    world.write_config(partner_ready(&world));
    let cli = RailwayCli::install(&world, railway_project("partner", 1));
    let run = world.run(&["dev-start", "partner", "--dry-run", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("scale partner to 0");
    assert!(
        !cli.calls()
            .iter()
            .any(|c| c.first().is_some_and(|w| w == "scale")),
        "{:#?}",
        cli.calls()
    );
    assert_eq!(service(&cli)["regions"], json!({"europe-west4-drams3a": 1}));
}
