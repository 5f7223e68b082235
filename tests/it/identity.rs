//! A process is the bot only when it is this project's copy: a same-named script in another
//! folder with another token, or with none, is never listed nor signalled; a second clone of
//! the project (its token in its environment or its `.env`) is the bot; another user's copy
//! outside the project cannot be told, and is "maybe", never signalled.

use std::time::Duration;

use test_support::config::{Bot, Toml};
use test_support::*;

/// partner (the world's `bot.py`, token PARTNER_BOT_TOKEN in the project's .env) on a fake Bot
/// API; local only.
fn partner_with_token() -> (World, BotApi, String) {
    let token = token(31);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&api.url())
            .respawn("1s")
            .bot(Bot::script("partner", &w.script("bot.py")).token_env("PARTNER_BOT_TOKEN"))
    });
    world.dotenv(&[("PARTNER_BOT_TOKEN", &token)]);
    world.write_sleeper(world.script("bot.py"));
    (world, api, token)
}

/// A folder outside the project holding its own copy of the world's bot.py.
fn folder_outside(world: &World, name: &str) -> std::path::PathBuf {
    let dir = world.elsewhere().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    world.write_sleeper(dir.join(world.script("bot.py")));
    dir
}

/// Does `text` name process `pid`: the number on its own ("pid 4242", "pids 7, 4242"), not
/// inside another ("42421")?
fn names_pid(text: &str, pid: u32) -> bool {
    let needle = pid.to_string();
    let digit = |c: char| c.is_ascii_digit();
    text.match_indices(&needle).any(|(at, _)| {
        !text[..at].ends_with(digit) && !text[at + needle.len()..].starts_with(digit)
    })
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

#[test]
fn a_same_named_script_elsewhere_is_the_bot_only_with_the_bot_s_token() {
    let (world, _api, token) = partner_with_token();
    let bot_py = world.script("bot.py");
    let argv = ["python3", bot_py.as_str()];

    let in_project = world.spawn(&argv, world.root());
    // Another project's bot.py: its own token, or none anywhere botctl can read.
    let other_token = token_of_another_bot();
    let another = world.spawn_with_env(
        &argv,
        &folder_outside(&world, "another"),
        &[("PARTNER_BOT_TOKEN", &other_token)],
    );
    let tokenless = world.spawn(&argv, &folder_outside(&world, "tokenless"));
    // Second clones of this project: the token in its environment, or in its folder's .env.
    let clone_env = world.spawn_with_env(
        &argv,
        &folder_outside(&world, "clone-env"),
        &[("PARTNER_BOT_TOKEN", &token)],
    );
    let clone_dir = folder_outside(&world, "clone-dotenv");
    std::fs::write(
        clone_dir.join(".env"),
        format!("PARTNER_BOT_TOKEN={token}\n"),
    )
    .unwrap();
    let clone_dotenv = world.spawn(&argv, &clone_dir);
    let strangers = [another.pid(), tokenless.pid()];

    let json = world.run(&["status", "--json"]).json();
    let partner = bot(&json, "partner");
    assert_eq!(
        sorted(local_pids(partner)),
        sorted(vec![in_project.pid(), clone_env.pid(), clone_dotenv.pid()]),
        "{partner:#}"
    );
    assert_eq!(partner["maybe"], serde_json::json!([]), "{partner:#}");
    assert_eq!(partner["places"], 3);
    assert_eq!(partner["verdict"], "conflict");

    let status = world.run(&["status"]);
    let doctor = world.run(&["doctor"]);
    let doctor_json = world.run(&["doctor", "--json"]);
    let dry = world.run(&["dev-stop", "--dry-run"]);
    for (what, run) in [
        ("status", &status),
        ("doctor", &doctor),
        ("doctor --json", &doctor_json),
        ("dev-stop --dry-run", &dry),
    ] {
        let out = run.all_output();
        for pid in strangers {
            assert!(!names_pid(&out, pid), "{what} names pid {pid}:\n{out}");
        }
        assert!(
            names_pid(&out, clone_env.pid()),
            "{what} does not name pid {}:\n{out}",
            clone_env.pid()
        );
    }
    assert!(!out_contains_token(&doctor_json.all_output(), &other_token));

    world
        .run(&["dev-stop", "--yes", "--grace", "2s"])
        .expect_code(0);
    assert!(
        wait_until(Duration::from_secs(10), || !alive(in_project.pid())
            && !alive(clone_env.pid())
            && !alive(clone_dotenv.pid())),
        "a copy of this project survived dev-stop"
    );
    for pid in strangers {
        assert!(alive(pid), "dev-stop signalled another project's pid {pid}");
    }
}

/// A token of another bot (never this world's).
fn token_of_another_bot() -> String {
    token(32)
}

fn out_contains_token(out: &str, token: &str) -> bool {
    out.contains(token) || out.contains(&token[token.len() - 20..])
}

// Linux only: setpriv runs the other user's process.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root"]
fn another_users_copy_outside_the_project_is_maybe_and_never_signalled() {
    require_root("runs a process as another user");
    let (world, _api, _token) = partner_with_token();
    let bot_py = world.script("bot.py");
    let (_shared, other) = world.spawn_other_users_bot(&bot_py);

    let json = world.run(&["status", "--json"]).json();
    let partner = bot(&json, "partner");
    assert_eq!(local_pids(partner), Vec::<u32>::new(), "{partner:#}");
    let maybe = partner["maybe"].as_array().expect("a maybe list");
    assert_eq!(maybe.len(), 1, "{partner:#}");
    assert_eq!(maybe[0]["pid"], other.pid());
    assert!(
        maybe[0]["why"]
            .as_str()
            .is_some_and(|w| w.contains("another user's")),
        "{partner:#}"
    );
    assert_eq!(partner["places"], 0);
    assert_eq!(partner["verdict"], "unknown");

    world
        .run(&["status"])
        .expect_stdout(&format!("maybe: local pid {}", other.pid()));
    let doctor = world.run(&["doctor", "--json"]).json();
    let local = expect_finding(&doctor, "local", Level::Warn)
        .bot("partner")
        .some();
    assert!(
        local.iter().any(|f| names_pid(message(f), other.pid())),
        "{doctor:#}"
    );
    world
        .run(&["dev-stop", "--dry-run"])
        .expect_code(0)
        .expect_stdout(&format!("maybe partner: local pid {}", other.pid()))
        .expect_stdout("left alone");
    world
        .run(&["dev-stop", "--yes", "--grace", "1s"])
        .expect_code(0);
    assert!(alive(other.pid()), "dev-stop signalled a maybe");
}

#[test]
fn node_dot_runs_the_bot_through_package_json_main() {
    let world = World::configured(|w| {
        Toml::new()
            .bot(Bot::script("grammy", &w.script("src/bot.js")))
            .bot(Bot::script("other", &w.script("src/other.js")))
    });
    let main = world.script("src/bot.js");
    world.write(
        "package.json",
        &format!("{{\"name\": \"b\", \"main\": \"./{main}\"}}"),
    );
    // A project whose main is another file: `node .` there is not this bot.
    let elsewhere = world.elsewhere();
    std::fs::write(
        elsewhere.join("package.json"),
        r#"{"main": "dist/index.js"}"#,
    )
    .unwrap();
    let ours = world.spawn_as(&["node", "."], world.root());
    let theirs = world.spawn_as(&["node", "."], &elsewhere);

    let json = world.run(&["status", "--json"]).json();
    assert_eq!(local_pids(bot(&json, "grammy")), [ours.pid()], "{json:#}");
    assert!(local_pids(bot(&json, "other")).is_empty(), "{json:#}");
    assert!(!names_pid(&json.to_string(), theirs.pid()), "{json:#}");
}
