//! A bot on Railway: the fake Railway CLI (tests/fakes/railway, written from the `railwayapp`
//! crate's source). The replicas of its active deployment are places; doctor names replicas
//! above 1 and a deployment overlap without printing a variable; a logged-out or missing CLI
//! is "not checked" with the fix.

use serde_json::json;
use test_support::{RailwayCli, World, bot, findings, railway_project};

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
    let found = findings(&json, "platform", Some("partner"));
    let said = |needle: &str| {
        found
            .iter()
            .find(|f| f["message"].as_str().unwrap_or_default().contains(needle))
            .copied()
            .unwrap_or_else(|| panic!("no finding with {needle:?}: {json:#}"))
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
