//! Completions: `botctl completions SHELL` (static) and the dynamic completer
//! (`source <(COMPLETE=bash botctl)`), which offers the bot names of the botctl.toml in reach.

use test_support::World;
use test_support::config::{Bot, Host, Toml};

fn bots() -> Toml {
    Toml::new()
        .bot(Bot::script("partner", "bot.py"))
        .bot(Bot::module("admin", "lb.admin"))
}

/// What the completer answers for the words of a line, as bash's hook asks it (the last word
/// is the one being completed), run from `cwd` with extra environment.
fn complete(
    world: &World,
    cwd: &std::path::Path,
    words: &[&str],
    env: &[(&str, &str)],
) -> Vec<String> {
    let mut cmd = world.botctl();
    cmd.current_dir(cwd)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = test_support::run(&mut cmd);
    run.expect_code(0);
    run.stdout.lines().map(String::from).collect()
}

#[test]
fn bot_names_come_from_the_botctl_toml_in_reach() {
    let world = World::with_config(bots());
    let sub = world.path("deep/er");
    std::fs::create_dir_all(&sub).unwrap();

    // Found walking up, as botctl finds it.
    let got = complete(&world, &sub, &["botctl", "dev-start", ""], &[]);
    assert!(
        got.contains(&"partner".to_string()) && got.contains(&"admin".to_string()),
        "{got:?}"
    );
    let got = complete(&world, &sub, &["botctl", "status", "pa"], &[]);
    assert_eq!(got, ["partner"]);
    for command in ["doctor", "dev-stop", "deploy-resume"] {
        let got = complete(&world, world.root(), &["botctl", command, "ad"], &[]);
        assert_eq!(got, ["admin"], "{command}");
    }

    // --config on the line wins, then $BOTCTL_CONFIG.
    let other = world.write(
        "other/botctl.toml",
        &String::from(Bot::script("shop", "bot.mjs")),
    );
    let other = other.to_str().unwrap();
    let got = complete(
        &world,
        &sub,
        &["botctl", "--config", other, "dev-start", ""],
        &[],
    );
    assert!(
        got.contains(&"shop".to_string()) && !got.contains(&"partner".to_string()),
        "{got:?}"
    );
    let got = complete(
        &world,
        &sub,
        &["botctl", "dev-start", "s"],
        &[("BOTCTL_CONFIG", other)],
    );
    assert_eq!(got, ["shop"]);

    // No botctl.toml in reach: no names, no error.
    let got = complete(
        &world,
        &world.elsewhere(),
        &["botctl", "dev-start", "p"],
        &[],
    );
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn the_shell_setup_lines_and_static_completions_work() {
    let world = World::with_config(bots());
    for shell in ["bash", "zsh", "fish"] {
        let mut cmd = world.botctl();
        cmd.env("COMPLETE", shell);
        let run = test_support::run(&mut cmd);
        run.expect_code(0);
        run.expect_stdout("botctl");
        let run = world.run(&["completions", shell]);
        run.expect_code(0);
        run.expect_stdout("dev-start");
    }
}

#[test]
fn host_names_complete_after_dev_stop_host() {
    let world = World::with_config(
        bots()
            .host(Host::new("vps", "deploy@vps.example"))
            .host(Host::new("backup", "backup.example")),
    );
    let got = complete(
        &world,
        world.root(),
        &["botctl", "dev-stop", "--host", ""],
        &[],
    );
    assert!(
        got.contains(&"vps".to_string()) && got.contains(&"backup".to_string()),
        "{got:?}"
    );
    let got = complete(
        &world,
        world.root(),
        &["botctl", "dev-stop", "partner", "--host", "v"],
        &[],
    );
    assert_eq!(got, ["vps"]);
}
