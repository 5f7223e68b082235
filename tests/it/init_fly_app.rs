//! `botctl init` ties a fly.toml to its bot as a new user's project lays them out: a root
//! fly.toml belongs to the project's only bot wherever its entry file lives, and a package
//! (package.json, pyproject.toml) named like the app is that app's bot.

use test_support::*;

fn init(world: &World) -> String {
    world.run(&["init", "--yes"]).expect_code(0);
    std::fs::read_to_string(world.path("botctl.toml")).unwrap()
}

/// The `[[bot]]` table of `name` in a written botctl.toml.
fn table<'a>(written: &'a str, name: &str) -> &'a str {
    let start = written
        .find(&format!("[[bot]]\nname = \"{name}\""))
        .unwrap_or_else(|| panic!("no bot {name}:\n{written}"));
    let rest = &written[start + 7..];
    &written[start..start + 7 + rest.find("[[bot]]").unwrap_or(rest.len())]
}

const GRAMMY_BOT: &str =
    "import { Bot } from \"grammy\";\nconst bot = new Bot(process.env.BOT_TOKEN!);\nbot.start();\n";
const PTB_BOT: &str =
    "from telegram.ext import Application\nApplication.builder().build().run_polling()\n";

#[test]
fn a_grammy_bot_with_its_entry_in_src_and_fly_toml_at_the_root_gets_the_app() {
    let world = World::new();
    world.write(
        "package.json",
        r#"{"name": "shop-bot", "scripts": {"start": "node src/index.js"},
            "dependencies": {"grammy": "^1.46.0"}}"#,
    );
    world.write("src/index.js", GRAMMY_BOT);
    world.write("fly.toml", "app = \"shop-bot\"\nprimary_region = \"ams\"\n");
    let written = init(&world);
    let shop = table(&written, "shop-bot");
    assert!(shop.contains("script = \"src/index.js\""), "{written}");
    assert!(shop.contains("fly_app = \"shop-bot\""), "{written}");
    assert!(!written.contains("could not tell"), "{written}");
    // And the file says how a launch script starts it.
    assert!(
        written.contains("#   exec botctl exec shop-bot -- node src/index.js"),
        "{written}"
    );
    let status = world.run(&["status", "shop-bot", "--json"]).json();
    assert_eq!(status["bots"][0]["fly"]["app"], "shop-bot");
}

#[test]
fn a_root_fly_toml_belongs_to_the_only_bot_whatever_the_names() {
    let world = World::new();
    world.write("bots/partner.py", PTB_BOT);
    world.write("fly.toml", "app = \"lb-prod-7\"\n");
    let written = init(&world);
    assert!(
        table(&written, "partner").contains("fly_app = \"lb-prod-7\""),
        "{written}"
    );
}

#[test]
fn a_pyproject_or_package_json_named_like_the_app_ties_them() {
    let world = World::new();
    // Two Python bots, each its own package; the root fly.toml deploys the admin one.
    world.write("admin/pyproject.toml", "[project]\nname = \"LB_Admin\"\n");
    world.write("admin/admin.py", PTB_BOT);
    world.write(
        "partner/pyproject.toml",
        "[tool.poetry]\nname = \"lb-partner\"\n",
    );
    world.write("partner/partner.py", PTB_BOT);
    world.write("fly.toml", "app = \"lb-admin\"\n");
    // A Node bot whose app lives in another folder.
    world.write(
        "news/package.json",
        r#"{"name": "@lb/news-bot", "main": "index.js", "dependencies": {"telegraf": "4"}}"#,
    );
    world.write(
        "news/index.js",
        "const { Telegraf } = require('telegraf');\n",
    );
    world.write("deploy/fly.toml", "app = \"news-bot\"\n");
    let written = init(&world);
    assert!(
        table(&written, "admin").contains("fly_app = \"lb-admin\""),
        "{written}"
    );
    assert!(
        table(&written, "news-bot").contains("fly_app = \"news-bot\""),
        "{written}"
    );
    assert!(
        table(&written, "partner").contains("# fly_app = \"…\""),
        "no app is named like partner's package: {written}"
    );
    assert!(!written.contains("could not tell"), "{written}");
}

#[test]
fn a_root_fly_toml_among_several_unnamed_bots_stays_unassigned() {
    let world = World::new();
    world.write("bots/partner.py", PTB_BOT);
    world.write("bots/admin.py", PTB_BOT);
    world.write("fly.toml", "app = \"lb-prod-7\"\n");
    let written = init(&world);
    assert!(!written.contains("fly_app = \"lb-prod-7\""), "{written}");
    assert!(
        written.contains("fly.toml names the app \"lb-prod-7\", but botctl could not tell"),
        "{written}"
    );
}
