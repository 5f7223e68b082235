//! Every platform key in botctl.toml: one platform per bot, and a bot without one has no
//! `platform` in status. (Each platform's own behaviour: kubernetes.rs, heroku.rs, railway.rs.)

use test_support::{World, bot};

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
