//! A bot on a platform botctl cannot read yet (Railway, Heroku): botctl.toml accepts it, every
//! command says it was not checked, none acts there, none crashes. (Kubernetes: kubernetes.rs.)

use test_support::{Level, World, bot, expect_finding};

const NOT_YET: &str = "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n\
railway = { service = \"lb-partner\" }\n";

#[test]
fn status_says_railway_was_not_checked_and_the_verdict_is_unknown() {
    let world = World::with_config(NOT_YET);
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["verdict"], "unknown");
    assert_eq!(partner["places"], 0);
    assert!(partner["fly"].is_null());
    let platform = &partner["platform"];
    assert_eq!(platform["kind"], "railway");
    assert_eq!(platform["name"], "lb-partner");
    assert_eq!(platform["instances"], serde_json::json!([]));
    let error = platform["error"].as_str().unwrap();
    assert!(
        error.contains("Railway is not supported by botctl yet"),
        "{error}"
    );
    assert!(error.contains("railway"), "{error}");

    let run = world.run(&["status"]);
    run.expect_code(0);
    run.expect_stdout("unknown")
        .expect_stdout("Not checked:")
        .expect_stdout("railway (partner): Railway is not supported by botctl yet");
}

#[test]
fn a_fly_bot_has_no_platform_key() {
    let world = World::with_config(
        "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\nheroku = { app = \"lb\" }\n\
[[bot]]\nname = \"admin\"\nscript = \"admin_bot.py\"\n",
    );
    let json = world.run(&["status", "--json"]).json();
    assert_eq!(bot(&json, "partner")["platform"]["kind"], "heroku");
    assert!(bot(&json, "admin").get("platform").is_none());
    assert_eq!(bot(&json, "admin")["verdict"], "stopped");
}

#[test]
fn doctor_names_the_platform_not_checked() {
    let world = World::with_config(NOT_YET);
    let run = world.run(&["doctor", "--json"]);
    let json = run.json();
    expect_finding(&json, "platform", Level::Warn)
        .bot("partner")
        .saying("not supported by botctl yet")
        .one();
}

#[test]
fn dev_start_and_deploy_resume_refuse_and_change_nothing() {
    let world = World::with_config(NOT_YET);
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(1);
    run.expect_stderr("cannot stop it there");
    assert!(!world.path(".botctl/state.json").exists());
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("cannot start it there");
}

#[test]
fn exec_says_not_checked_and_strict_refuses() {
    let world = World::with_config(NOT_YET);
    let run = world.run(&["exec", "partner", "--strict", "--", "true"]);
    run.expect_code(1);
    run.expect_stderr("not supported by botctl yet");
    let run = world.run(&["exec", "partner", "--", "true"]);
    run.expect_code(0);
    run.expect_stderr("not supported by botctl yet");
}

#[test]
fn watch_says_the_platform_is_not_watched() {
    let world = World::with_config(NOT_YET);
    let run = world.run(&["watch", "--for", "1s"]);
    assert!(
        run.all_output().contains("railway (partner): not watched"),
        "{}",
        run.all_output()
    );
}

/// Two platforms on one bot: refused where the second is written.
#[test]
fn two_platforms_on_one_bot_are_refused_at_the_second() {
    let world = World::with_config(
        "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\nfly_app = \"lb\"\n\
railway = { service = \"partner\" }\n",
    );
    let run = world.run(&["status"]);
    run.expect_code(2);
    let at = format!("{}:5:11:", world.path("botctl.toml").display());
    run.expect_stderr(&at)
        .expect_stderr("both fly_app and railway");
}
