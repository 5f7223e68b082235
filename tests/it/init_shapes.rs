//! `botctl init` on projects of the shapes real Telegram bots have (tests/fixtures/init/: one
//! folder per shape): the botctl.toml it writes is compared whole with its snapshot
//! (tests/it/snapshots/init_*.snap), with the terminal's account of what it found, guessed and
//! left; and every command loads what it wrote.

use std::path::Path;

use test_support::{World, fly_apps, machine, workspace_root};

/// A world holding a copy of the fixture project `shape`.
fn project(shape: &str) -> World {
    let world = World::new();
    copy(
        &workspace_root().join("tests/fixtures/init").join(shape),
        world.root(),
    );
    world
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Runs `botctl init --yes` in the world, pins the file it wrote and what it said as the
/// snapshot `init_<shape>`, and returns the file.
#[track_caller]
fn init_pinned(world: &World, shape: &str) -> String {
    let run = world.run(&["init", "--yes"]);
    run.expect_code(0);
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    let root = world.root().display().to_string();
    let text = format!(
        "$ botctl init --yes\n{}--- botctl.toml\n{written}",
        run.stdout.replace(&root, "[project]")
    );
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("botctl init in tests/fixtures/init/{shape}"));
    settings.bind(|| insta::assert_snapshot!(format!("init_{}", shape.replace('-', "_")), text));
    written
}

/// Every command loads the file: status reads it and names the bots it holds, in order.
#[track_caller]
fn loads_with_bots(world: &World, names: &[&str]) {
    world.fly_state(fly_apps(&[]));
    let status = world.run(&["status", "--json"]);
    assert!(status.code == 0 || status.code == 1, "{status:?}");
    let json = status.json();
    let found: Vec<&str> = json["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(found, names, "{}", status.stdout);
}

#[test]
fn ptb_bot_with_a_root_fly_toml_and_its_token_in_a_config_module() {
    let world = project("ptb-fly");
    let written = init_pinned(&world, "ptb-fly");
    assert!(written.contains("token_env = \"TELEGRAM_BOT_TOKEN\""));
    loads_with_bots(&world, &["ptb-echo-bot"]);
}

#[test]
fn aiogram_package_run_with_dash_m_from_a_script() {
    let world = project("aiogram-module");
    let written = init_pinned(&world, "aiogram-module");
    assert!(written.contains("module = \"app\""), "{written}");
    assert!(!written.contains("__main__.py"), "{written}");
    loads_with_bots(&world, &["shop-assistant-bot"]);
}

#[test]
fn pydantic_settings_token_with_an_env_prefix() {
    let world = project("pydantic-settings");
    let written = init_pinned(&world, "pydantic-settings");
    assert!(
        written.contains("token_env = \"TELEGRAM_BOT_TOKEN\""),
        "{written}"
    );
    loads_with_bots(&world, &["notifier"]);
}

#[test]
fn grammy_typescript_bot_with_a_chained_start_script() {
    let world = project("grammy-ts");
    let written = init_pinned(&world, "grammy-ts");
    assert!(written.contains("script = \"src/main.ts\""), "{written}");
    loads_with_bots(&world, &["grammy-shop-bot"]);
}

#[test]
fn telegraf_bot_started_with_node_dot_and_a_destructured_token() {
    let world = project("telegraf-node-dot");
    let written = init_pinned(&world, "telegraf-node-dot");
    assert!(written.contains("script = \"src/index.js\""), "{written}");
    assert!(written.contains("token_env = \"BOT_TOKEN\""), "{written}");
    loads_with_bots(&world, &["telegraf-news"]);
}

#[test]
fn monorepo_with_two_packaged_bots_three_folders_deep() {
    let world = project("monorepo");
    let written = init_pinned(&world, "monorepo");
    assert_eq!(written.matches("\n[[bot]]").count(), 2, "{written}");
    loads_with_bots(&world, &["partner-bot", "admin-bot"]);
    // Each bot's own fly.toml is the one doctor reads.
    let doctor = world.run(&["doctor", "--json"]).json();
    let deploy: Vec<String> = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "deploy")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        deploy
            .iter()
            .any(|m| m.contains("services/bots/admin/fly.toml")),
        "{deploy:?}"
    );
}

#[test]
fn a_bot_in_its_own_folder_runs_there_with_its_own_fly_toml() {
    let world = project("bot-subfolder");
    let written = init_pinned(&world, "bot-subfolder");
    assert!(
        written.contains("run = \"cd bot && exec python3 ./bot.py\""),
        "{written}"
    );
    assert!(written.contains("fly_toml = \"bot/fly.toml\""), "{written}");
    loads_with_bots(&world, &["quiz-bot"]);
    // dev-start would run it in bot/, where its questions.json is.
    world.fly_state(fly_apps(&[(
        "quiz-bot",
        vec![machine("148ed193b95089", "started", None)],
    )]));
    let run = world.run(&["dev-start", "quiz-bot", "--dry-run", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("cd bot && exec python3 ./bot.py");
}

#[test]
fn procfile_worker_and_a_polling_file_nothing_starts() {
    let world = project("procfile-worker");
    let written = init_pinned(&world, "procfile-worker");
    assert!(!written.contains("web.py"), "{written}");
    assert!(written.contains("# name = \"old-bot\""), "{written}");
    loads_with_bots(&world, &["reminder-bot"]);
}

#[test]
fn a_procfile_and_the_heroku_git_remote_give_the_heroku_key() {
    let world = project("heroku-procfile");
    // A .git folder cannot be a fixture's: written here, as `heroku git:remote` writes it.
    world.write(
        ".git/config",
        "[core]\n\tbare = false\n[remote \"heroku\"]\n\turl = https://git.heroku.com/lb-partner.git\n\
\tfetch = +refs/heads/*:refs/remotes/heroku/*\n",
    );
    let written = init_pinned(&world, "heroku-procfile");
    assert!(
        written.contains("heroku = { app = \"lb-partner\", process = \"worker\" }"),
        "{written}"
    );
    assert!(!written.contains("\nfly_app"), "{written}");
    // Loaded by every command: status reads the key (the CLI is not installed here).
    let world = world.without_tool("heroku");
    let json = world.run(&["status", "--json"]).json();
    let partner = test_support::bot(&json, "partner");
    assert_eq!(partner["platform"]["kind"], "heroku", "{json:#}");
    assert_eq!(partner["platform"]["name"], "lb-partner", "{json:#}");
}

#[test]
fn a_railway_toml_start_command_gives_the_railway_key() {
    let world = project("railway-toml");
    let written = init_pinned(&world, "railway-toml");
    assert!(written.contains("\nrailway = {}"), "{written}");
    let world = world.without_tool("railway");
    let json = world.run(&["status", "--json"]).json();
    let bots = json["bots"].as_array().unwrap();
    assert_eq!(bots.len(), 1, "{json:#}");
    assert_eq!(bots[0]["platform"]["kind"], "railway", "{json:#}");
}

/// railway.json says the same as railway.toml, as JSON.
#[test]
fn a_railway_json_start_command_gives_the_railway_key() {
    let world = project("railway-toml");
    std::fs::remove_file(world.path("railway.toml")).unwrap();
    world.write(
        "railway.json",
        r#"{"$schema": "https://railway.com/railway.schema.json",
            "deploy": {"startCommand": "python main.py", "restartPolicyType": "ON_FAILURE"}}"#,
    );
    let run = world.run(&["init", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("railway.json (deploy.startCommand)");
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(written.contains("\nrailway = {}"), "{written}");
}

#[test]
fn an_empty_folder_gets_a_commented_starter() {
    let world = World::new();
    let written = init_pinned(&world, "empty");
    assert!(!written.contains("\n[[bot]]"), "{written}");
    written.parse::<toml::Table>().unwrap();
    // Every command then says what to do with it.
    world
        .run(&["status"])
        .expect_code(2)
        .expect_stderr("describes no bots")
        .expect_stderr("uncomment");
}

#[test]
fn a_token_written_in_the_code_is_reported_by_its_place_and_never_printed() {
    let world = World::new();
    let token = test_support::token(2803);
    world.write(
        "main.py",
        "from telegram.ext import Application\nfrom settings.config import TOKEN\n\
Application.builder().token(TOKEN).build().run_polling()\n",
    );
    world.write(
        "settings/config.py",
        &format!(
            "import os\n\n# Settings of the bot.\n\nDEBUG = False\nADMIN_ID = 1\n\n\
TOKEN = \"{token}\"\n"
        ),
    );
    world.write("Procfile", "worker: python main.py\n");
    let run = world.run(&["init", "--yes"]);
    run.expect_code(0);
    run.expect_stdout(
        "the token is hard-coded in settings/config.py:8: move it to the environment",
    );
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(
        written.contains("# the token is hard-coded in settings/config.py:8"),
        "{written}"
    );
    assert!(written.contains("# token_env = \"…\""), "{written}");
    let secret = &token[token.find(':').unwrap() + 1..];
    assert!(!run.all_output().contains(secret));
    assert!(!written.contains(secret));
    world.run(&["status"]).expect_code(0);
}

#[test]
fn a_folder_is_named_by_its_own_path_never_through_a_link() {
    let world = World::new();
    world.write(
        "bots/admin_bot.py",
        "import os\nfrom telegram.ext import Application\n\
Application.builder().token(os.environ['ADMIN_BOT_TOKEN']).build().run_polling()\n",
    );
    // `again` sorts before `bots`; `out` leads out of the project.
    std::os::unix::fs::symlink(world.path("bots"), world.path("again")).unwrap();
    let outside = world.elsewhere();
    std::fs::write(
        outside.join("other_bot.py"),
        "from telegram.ext import Application\nApplication.builder().build().run_polling()\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, world.path("out")).unwrap();
    world.run(&["init", "--yes"]).expect_code(0);
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(
        written.contains("script = \"bots/admin_bot.py\""),
        "{written}"
    );
    assert!(
        !written.contains("again/") && !written.contains("other_bot"),
        "{written}"
    );
}

#[test]
fn what_the_project_files_say_reaches_the_terminal_escaped() {
    let world = World::new();
    world.write(
        "bot\u{1b}[2J.py",
        "import os\nfrom telegram.ext import Application\n\
Application.builder().token(os.environ['A_BOT_TOKEN']).build().run_polling()\n",
    );
    world.write(
        "Procfile",
        "work\u{1b}]0;pwned\u{7}er: python \"bot\u{1b}[2J.py\"\n",
    );
    world.write(
        "docker-compose.yml",
        "services:\n  x:\n    command: python -m nowhere\n    environment:\n      - \"EVIL\u{1b}[31m_TOKEN=1\"\n",
    );
    let run = world.run(&["init", "--yes"]);
    run.expect_code(0);
    assert!(!run.all_output().contains('\u{1b}'), "{run:?}");
    run.expect_stdout("work\\e]0;pwned\\x07er");
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(!written.contains('\u{1b}'), "{written}");
    world.run(&["status"]).expect_code(0);
}

#[test]
fn a_package_that_polls_with_nothing_to_start_it_is_run_as_its_module() {
    let world = project("aiogram-module");
    for starter in ["run.sh", "Makefile", "Dockerfile"] {
        std::fs::remove_file(world.path(starter)).unwrap();
    }
    let run = world.run(&["init", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("python -m app, which polls (no project file starts it)");
    let written = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(written.contains("\nmodule = \"app\"\n"), "{written}");
    assert!(!written.contains("app/bot.py"), "{written}");
}

#[test]
fn a_kubernetes_deployment_that_runs_the_bot_gives_its_kubernetes_key() {
    let world = project("k8s-deployment");
    let written = init_pinned(&world, "k8s-deployment");
    assert!(
        written.contains("kubernetes = { deployment = \"lb-relay\", namespace = \"bots\" }"),
        "{written}"
    );
    assert!(!written.contains("\nfly_app"), "{written}");
    // status runs the real kubectl (the machine's own may be another program).
    let _cluster = world.kube();
    loads_with_bots(&world, &["relay-bot"]);
}
