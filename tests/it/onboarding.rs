//! A new teammate's first hour: checklist, init, completions, help.

use serde_json::json;
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";

/// partner (the world's `bot.py`) on Fly.io, with a token and the Bot API at `api`.
fn partner_config(world: &World, api: &str) -> Toml {
    Toml::new().telegram_api(api).bot(
        Bot::script("partner", &world.script("bot.py"))
            .token_env("PARTNER_BOT_TOKEN")
            .username("ghbipartnerbot")
            .fly_app(APP),
    )
}

fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

#[test]
fn checklist_all_ticked_in_a_clean_world() {
    let world = World::new();
    let tok = token(61);
    let api = BotApi::start(&[(&tok, "ghbipartnerbot")]);
    world.write_config(partner_config(&world, &api.url()));
    world.write(".env", &format!("PARTNER_BOT_TOKEN={tok}\n"));
    world.fly_state(with_secret(
        fly_apps(&[(APP, vec![machine("148ed193b95089", "started", None)])]),
        APP,
        "PARTNER_BOT_TOKEN",
        &tok,
    ));

    let run = world.run(&["checklist"]);
    run.expect_code(0);
    for item in [
        "flyctl is installed and logged in",
        "Fly status read for loyalitybot-partner",
        "not running locally while Fly.io runs it",
        "runs in exactly one place",
        "token set (from .env) and valid: @ghbipartnerbot",
        "no autostart entry can start a second copy",
        "no other Fly app polls with this token",
    ] {
        assert!(
            line_with(&run.stdout, item).starts_with("✓"),
            "{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("✗"), "{}", run.stdout);
    assert!(!run.all_output().contains(&tok));
}

#[test]
fn checklist_unticks_what_is_wrong_with_its_fix() {
    let world = World::new();
    let api = BotApi::start(&[]);
    world.write_config(partner_config(&world, &api.url()));
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.set_crontab(&format!("@reboot cd ~/lb && python3 {bot_py}\n"));
    world.fly_state(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "started", None)],
    )]));
    let _local = world.spawn(&["python3", &bot_py], world.root());

    let run = world.run(&["checklist"]);
    run.expect_code(1);
    let out = &run.stdout;
    assert!(line_with(out, "Fly status read").starts_with("✓"), "{out}");
    assert!(
        line_with(out, "not running locally while Fly.io runs it").starts_with("✗"),
        "{out}"
    );
    assert!(
        line_with(out, "runs in exactly one place").starts_with("✗"),
        "{out}"
    );
    assert!(line_with(out, "token set").starts_with("✗"), "{out}");
    assert!(
        line_with(out, "no autostart entry").starts_with("✗"),
        "{out}"
    );
    assert!(out.contains("fix: botctl dev-stop partner"), "{out}");
    assert!(out.contains("fix: crontab -e"), "{out}");
    assert!(out.contains("PARTNER_BOT_TOKEN"), "{out}");
}

#[test]
fn checklist_with_flyctl_logged_out() {
    let world = World::new();
    let api = BotApi::start(&[]);
    world.write_config(partner_config(&world, &api.url()));
    let mut state = fly_apps(&[(APP, vec![])]);
    state["logged_in"] = json!(false);
    world.fly_state(state);
    let run = world.run(&["checklist"]);
    run.expect_code(1);
    assert!(line_with(&run.stdout, "flyctl is installed and logged in").starts_with("✗"));
    run.expect_stdout("fix: flyctl auth login");
}

/// A project with one polling bot, the world's `bot.py`; its file name.
fn sample_project(world: &World) -> String {
    let bot_py = world.script("bot.py");
    world.write(
        &bot_py,
        "import os\nfrom telegram.ext import Application\nTOKEN = os.getenv(\"PARTNER_BOT_TOKEN\")\n\
         app = Application.builder().token(TOKEN).build()\napp.run_polling()\n",
    );
    world.write(
        "utils.py",
        "def helper():\n    return 'run_poll is not polling'\n",
    );
    world.write(
        "fly.toml",
        "app = \"loyalitybot-partner\"\nprimary_region = \"ams\"\n",
    );
    world.write(
        "Dockerfile",
        &format!("FROM python:3.11\nCMD [\"python\", \"{bot_py}\"]\n"),
    );
    bot_py
}

#[test]
fn init_proposes_the_polling_bot_and_the_fly_app() {
    let world = World::new();
    let bot_py = sample_project(&world);
    let run = world.run(&["init", "--yes"]);
    run.expect_code(0);
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(
        written.contains(&format!("script = \"./{bot_py}\"")),
        "{written}"
    );
    assert!(
        written.contains("token_env = \"PARTNER_BOT_TOKEN\""),
        "{written}"
    );
    assert!(
        written.contains("fly_app = \"loyalitybot-partner\""),
        "{written}"
    );
    assert!(
        !written.contains("utils.py"),
        "a helper module is no bot: {written}"
    );

    // Every command accepts what it wrote.
    world.fly_state(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "started", None)],
    )]));
    let status = world.run(&["status", "--json"]);
    status.expect_code(0);
    let status = status.json();
    assert_eq!(status["bots"][0]["fly"]["app"], APP);
    // The name init gave the bot, from its file name.
    let name = status["bots"][0]["name"].as_str().unwrap().to_string();
    world.run(&["doctor", "--json"]).json();
    world.run(&["dev-start", &name, "--dry-run"]).expect_code(0);
    world.run(&["dev-stop", "--dry-run"]).expect_code(0);
    world.run(&["deploy-resume", "--dry-run"]).expect_code(0);
    let checklist = world.run(&["checklist"]);
    assert!(checklist.code == 0 || checklist.code == 1, "{checklist:?}");
}

#[test]
fn init_finds_node_bots_beside_the_python_ones() {
    let world = World::new();
    sample_project(&world);
    // A grammY bot in its own folder, run by its start script.
    world.write(
        "shop/package.json",
        r#"{"name": "@lb/shop-bot", "main": "lib.js",
            "scripts": {"start": "NODE_ENV=production tsx src/bot.ts", "dev": "tsx watch src/bot.ts"},
            "dependencies": {"grammy": "^1.46.0"}}"#,
    );
    world.write(
        "shop/src/bot.ts",
        "import { Bot } from \"grammy\";\nconst bot = new Bot(process.env.SHOP_BOT_TOKEN!);\nbot.start();\n",
    );
    // Telegraf, entry from `main`.
    world.write(
        "news/package.json",
        r#"{"name": "news", "main": "index.js", "dependencies": {"telegraf": "4.16.3"}}"#,
    );
    world.write(
        "news/index.js",
        "const { Telegraf } = require('telegraf');\n",
    );
    // A package without a Telegram framework is no bot.
    world.write(
        "web/package.json",
        r#"{"name": "web", "main": "server.js", "dependencies": {"express": "4"}}"#,
    );

    let run = world.run(&["init", "--yes"]);
    run.expect_code(0);
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(
        written.contains(&format!("script = \"./{}\"", world.script("bot.py"))),
        "{written}"
    );
    assert!(
        written.contains(
            "name = \"shop-bot\"\nscript = \"shop/src/bot.ts\"\nrun = \"cd shop && exec npx tsx ./src/bot.ts\"\ntoken_env = \"SHOP_BOT_TOKEN\""
        ),
        "{written}"
    );
    assert!(written.contains("script = \"news/index.js\""), "{written}");
    assert!(!written.contains("server.js"), "{written}");
    // And it means what it says: the package runs in its own folder (its node_modules, its
    // .env), by the runtime its extension needs.
    let run = world.run(&["dev-start", "shop-bot", "--dry-run"]);
    run.expect_code(0);
    run.expect_stdout("cd shop && exec npx tsx ./src/bot.ts");
}

#[test]
fn init_never_overwrites_without_force_and_asks_without_yes() {
    let world = World::new();
    sample_project(&world);
    // No terminal, no --yes: nothing written, exit 4.
    world.run(&["init"]).expect_code(4);
    assert!(!world.path("botctl.toml").exists());

    world.write("botctl.toml", "# mine\n");
    let run = world.run(&["init", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("--force");
    assert_eq!(
        std::fs::read_to_string(world.path("botctl.toml")).unwrap(),
        "# mine\n"
    );

    world.run(&["init", "--yes", "--force"]).expect_code(0);
    assert!(
        std::fs::read_to_string(world.path("botctl.toml"))
            .unwrap()
            .contains("[[bot]]")
    );
}

#[test]
fn completions_parse() {
    let world = World::new();
    let run = world.run(&["completions", "bash"]);
    run.expect_code(0);
    let script = world.write("botctl.bash", &run.stdout);
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(run.stdout.contains("dev-start"));
    for shell in ["zsh", "fish", "powershell"] {
        let run = world.run(&["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains("deploy-resume"), "{shell}");
    }
}

#[test]
fn every_command_help_has_an_example() {
    let world = World::new();
    for cmd in [
        "status",
        "doctor",
        "dev-start",
        "dev-stop",
        "deploy-resume",
        "checklist",
        "init",
        "completions",
    ] {
        let run = world.run(&[cmd, "--help"]);
        run.expect_code(0);
        assert!(
            run.stdout.contains("Examples:\n  botctl"),
            "{cmd} --help:\n{}",
            run.stdout
        );
    }
}

#[test]
fn color_follows_the_flags() {
    let world = World::configured(|w| Bot::script("partner", &w.script("bot.py")));
    let plain = world.run(&["status"]);
    assert!(!plain.stdout.contains('\u{1b}'), "no colour on a pipe");
    let forced = run(world.botctl().args(["--color", "always", "status"]));
    assert!(
        forced.stdout.contains('\u{1b}'),
        "colour when asked: {}",
        forced.stdout
    );
    let never = run(world
        .botctl()
        .env("CLICOLOR_FORCE", "1")
        .args(["--color", "never", "status"]));
    assert!(!never.stdout.contains('\u{1b}'), "--color never wins");
}

#[test]
fn verbose_shows_each_external_command() {
    let world = World::configured(|w| partner_config(w, "http://127.0.0.1:9"));
    world.fly_state(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "started", None)],
    )]));
    let quiet = world.run(&["status"]);
    assert!(
        !quiet.stderr.contains("flyctl machine list"),
        "{}",
        quiet.stderr
    );
    let run = world.run(&["-v", "status"]);
    run.expect_code(0);
    run.expect_stderr("run: flyctl machine list --app loyalitybot-partner --json");
    run.expect_stderr("run: crontab -l");
}

#[test]
fn human_output_fits_80_columns_on_a_terminal() {
    use expectrl::Expect;
    let world = World::configured(|w| partner_config(w, "http://127.0.0.1:9")).without_flyctl();
    let bot_py = world.script("bot.py");
    world.write_sleeper(format!("deeply/nested/folder/for/the/partner/bot/{bot_py}"));
    let _bot = world.spawn(
        &["python3", "-u", "-W", "ignore", &bot_py, "--some-long-flag"],
        &world.path("deeply/nested/folder/for/the/partner/bot"),
    );
    for args in [
        &["status"][..],
        &["doctor"],
        &["checklist"],
        &["dev-stop", "--dry-run"],
    ] {
        let mut p = world.botctl_pty(args);
        let out = p.expect(expectrl::Eof).unwrap();
        let text = String::from_utf8_lossy(out.as_bytes()).into_owned();
        assert!(text.contains("partner"), "{args:?}: {text}");
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            assert!(
                line.chars().count() <= 80,
                "{args:?}: a line wider than 80:\n{line}\n\n{text}"
            );
        }
    }
}

#[test]
fn init_writes_toml_escapes_that_toml_accepts() {
    let world = World::new();
    world.write(
        "bot\u{200b}.py",
        "import os\nTOKEN = os.getenv(\"PARTNER_BOT_TOKEN\")\napp.run_polling()\n",
    );
    world.run(&["init", "--yes"]).expect_code(0);
    let text = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(!text.contains("\\u{"), "{text}");
    world.run(&["status"]).expect_code(0);
}
