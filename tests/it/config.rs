//! botctl.toml: bad files exit 2 naming `botctl.toml:LINE:COL`, and the file is found the way
//! the SPEC says (--config, $BOTCTL_CONFIG, walking up).

use test_support::{World, bot, keys, *};

/// Runs `botctl status` in a project with `toml` and expects a config error at `line:col`.
#[track_caller]
fn bad_config(toml: &str, line: usize, col: usize, words: &str) -> test_support::Run {
    let world = World::with_config(toml);
    let run = world.run(&["status"]);
    run.expect_code(2);
    let at = format!("{}:{line}:{col}:", world.path("botctl.toml").display());
    assert!(
        run.stderr.contains(&at),
        "stderr should name {at}\n--- stderr\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(words),
        "stderr should say {words:?}\n--- stderr\n{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.stdout);
    run
}

#[test]
fn unknown_key_in_a_bot() {
    bad_config(
        "[[bot]]\nname = \"a\"\nscript = \"bot.py\"\ncolour = \"red\"\n",
        4,
        1,
        "unknown field `colour`",
    );
}

#[test]
fn unknown_key_in_fly() {
    bad_config("[fly]\nwiat = \"90s\"\n", 2, 1, "unknown field `wiat`");
}

#[test]
fn unknown_section() {
    bad_config(
        "[flyio]\nwait = \"90s\"\n\n[[bot]]\nname = \"a\"\nscript = \"bot.py\"\n",
        1,
        2,
        "unknown field `flyio`",
    );
}

#[test]
fn wrong_type() {
    bad_config(
        "[[bot]]\nname = \"a\"\nscript = 5\n",
        3,
        10,
        "invalid type: integer `5`, expected a string",
    );
    bad_config("[fly]\nwait = 90\n", 2, 8, "expected a string");
}

#[test]
fn toml_syntax_error() {
    bad_config("[[bot]]\nname = \"a\nscript = \"bot.py\"\n", 2, 10, "");
}

#[test]
fn duplicate_bot_name() {
    bad_config(
        "[[bot]]\nname = \"a\"\nscript = \"x.py\"\n\n[[bot]]\nname = \"a\"\nscript = \"y.py\"\n",
        6,
        8,
        "duplicate bot name \"a\"",
    );
}

#[test]
fn bad_duration() {
    bad_config(
        "[fly]\nwait = \"soon\"\n",
        2,
        8,
        "\"soon\" is not a duration",
    );
    bad_config(
        "[telegram]\nprobe = \"12 seconds\"\n",
        2,
        9,
        "is not a duration",
    );
    bad_config(
        "[telegram]\nprobe = \"0s\"\n",
        2,
        9,
        "probe must be between 1s and 5m",
    );
}

#[test]
fn bad_bot_name() {
    bad_config(
        "[[bot]]\nname = \"Partner_Bot\"\nscript = \"bot.py\"\n",
        2,
        8,
        "must be made of a-z, 0-9 and -",
    );
}

#[test]
fn token_like_value_is_refused_and_not_echoed() {
    let token = test_support::token(1);
    let run = bad_config(
        &format!("[[bot]]\nname = \"a\"\nscript = \"bot.py\"\ntoken_env = \"{token}\"\n"),
        4,
        14,
        "looks like a bot token",
    );
    assert!(!run.all_output().contains(&token), "the token was echoed");
    assert!(
        !run.all_output().contains(&token[10..]),
        "part of the token was echoed"
    );

    // Even in a comment.
    let run = bad_config(
        &format!("# old token: {token}\n[[bot]]\nname = \"a\"\nscript = \"bot.py\"\n"),
        1,
        14,
        "looks like a bot token",
    );
    assert!(
        !run.all_output().contains(&token[10..]),
        "the token was echoed"
    );
}

#[test]
fn no_botctl_toml_anywhere() {
    let world = World::new();
    let run = world.run(&["status"]);
    run.expect_code(2);
    run.expect_stderr("no botctl.toml found");
    run.expect_stderr("botctl init");
    // doctor too
    world.run(&["doctor"]).expect_code(2);
}

#[test]
fn config_flag_that_names_a_missing_file() {
    let world = World::with_config("[[bot]]\nname = \"a\"\nscript = \"a.py\"\n");
    let run = world.run(&["status", "--config", "nope/botctl.toml"]);
    run.expect_code(2);
    run.expect_stderr("nope/botctl.toml");
}

/// One bot, `walked` (the world's `walked_bot.py`), found by walking up.
fn walked(world: &World) -> String {
    format!(
        "[[bot]]\nname = \"walked\"\nscript = \"{}\"\n",
        world.script("walked_bot.py")
    )
}

/// The bots' names in `status --json`, which must exit 0 (all stopped).
fn names(run: &test_support::Run) -> Vec<String> {
    run.expect_code(0);
    run.json()["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn found_by_walking_up_from_a_subfolder() {
    let world = World::configured(walked);
    let deep = world.path("src/handlers/deeper");
    std::fs::create_dir_all(&deep).unwrap();
    let run = test_support::run(world.botctl().current_dir(&deep).args(["status", "--json"]));
    assert_eq!(names(&run), ["walked"]);
}

#[test]
fn config_flag_and_env_var_and_their_precedence() {
    let world = World::configured(walked);
    world.write(
        "conf/flag.toml",
        &format!(
            "[[bot]]\nname = \"from-flag\"\nscript = \"{}\"\n",
            world.script("flag_bot.py")
        ),
    );
    world.write(
        "conf/env.toml",
        &format!(
            "[[bot]]\nname = \"from-env\"\nscript = \"{}\"\n",
            world.script("env_bot.py")
        ),
    );

    // --config, relative to the working folder
    let run = world.run(&["status", "--json", "--config", "conf/flag.toml"]);
    assert_eq!(names(&run), ["from-flag"]);

    // $BOTCTL_CONFIG
    let run = test_support::run(
        world
            .botctl()
            .env("BOTCTL_CONFIG", "conf/env.toml")
            .args(["status", "--json"]),
    );
    assert_eq!(names(&run), ["from-env"]);

    // --config wins over $BOTCTL_CONFIG, which wins over walking up
    let run = test_support::run(
        world
            .botctl()
            .env("BOTCTL_CONFIG", world.path("conf/env.toml"))
            .args(["status", "--json", "--config", "conf/flag.toml"]),
    );
    assert_eq!(names(&run), ["from-flag"]);

    // Without either: the walked-up botctl.toml
    let run = world.run(&["status", "--json"]);
    assert_eq!(names(&run), ["walked"]);
}

#[test]
fn paths_are_relative_to_the_config_folder() {
    // A bot whose script holds a `/` is matched relative to the folder of the botctl.toml
    // given with --config, not to the working folder.
    let world = World::new();
    world.write(
        "deploy/botctl.toml",
        "[[bot]]\nname = \"nested\"\nscript = \"bots/nested_bot.py\"\n",
    );
    world.write_sleeper("deploy/bots/nested_bot.py");
    let deploy = world.path("deploy");
    let proc_ = world.spawn(&["python3", "bots/nested_bot.py"], &deploy);
    let run = world.run(&["status", "--json", "--config", "deploy/botctl.toml"]);
    run.expect_code(0);
    let json = run.json();
    let b = bot(&json, "nested");
    assert_eq!(test_support::local_pids(b), [proc_.pid()]);
    assert_eq!(b["verdict"], "ok");
    assert_eq!(keys(b)[0], "name");
}

#[test]
fn unknown_bot_name_on_the_command_line() {
    let world = World::with_config("[[bot]]\nname = \"partner\"\nscript = \"p.py\"\n");
    for cmd in [
        &["status", "nosuch"][..],
        &["doctor", "nosuch"],
        &["status", "partner", "nosuch", "--json"],
    ] {
        let run = world.run(cmd);
        run.expect_code(2);
        run.expect_stderr("no bot named \"nosuch\"");
        run.expect_stderr("known bots: partner");
        assert!(run.stdout.is_empty());
    }
}

const ONE_BOT: &str = "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n";

#[test]
fn host_tables_are_checked_like_the_rest() {
    let host = |body: &str| format!("{ONE_BOT}\n[[host]]\n{body}");
    // Line 5 is `[[host]]`; its keys start on line 6.
    bad_config(
        &host("name = \"vps\"\nssh = \"deploy@vps\"\n\n[[host]]\nname = \"vps\"\nssh = \"x\"\n"),
        10,
        8,
        "duplicate host name \"vps\"",
    );
    bad_config(
        &host("name = \"vps\"\nssh = \"deploy@vps\"\nbots = [\"partner\", \"admin\"]\n"),
        8,
        20,
        "no bot named \"admin\"; known bots: partner",
    );
    bad_config(
        &host("name = \"vps\"\nssh = \"deploy@vps\"\ntimeout = \"soon\"\n"),
        8,
        11,
        "timeout",
    );
    bad_config(
        &host("name = \"vps\"\nssh = \"deploy@vps\"\ntimeout = \"2h\"\n"),
        8,
        11,
        "timeout must be between 1s and 5m",
    );
    bad_config(
        &host("name = \"vps\"\nssh = \"-p 22 deploy@vps\"\n"),
        7,
        7,
        "options go in options",
    );
    bad_config(
        &host("name = \"VPS\"\nssh = \"deploy@vps\"\n"),
        6,
        8,
        "must be made of a-z, 0-9 and -",
    );
    bad_config(
        &host("name = \"vps\"\nssh = \"deploy@vps\"\nport = 22\n"),
        8,
        1,
        "unknown field `port`",
    );
    bad_config(&host("name = \"vps\"\n"), 5, 1, "missing field `ssh`");
}

#[test]
fn a_token_spelled_with_escapes_in_host_options_is_refused() {
    let token = test_support::token(1);
    // `\u003a` is ":": the raw text shows no token, the value is one.
    let escaped = token.replacen(':', "\\u003a", 1);
    let run = bad_config(
        &format!(
            "{ONE_BOT}\n[[host]]\nname = \"vps\"\nssh = \"deploy@vps\"\noptions = [\"-o\", \"SetEnv=T={escaped}\"]\n"
        ),
        8,
        18,
        "looks like a bot token",
    );
    assert!(!run.all_output().contains(&token), "the token was echoed");
}

/// A `[[host]]` ssh value or option with NUL or a control character is a config error (exit 2)
/// naming the place, not a runtime "nul byte found".
#[test]
fn host_ssh_with_control_characters_is_a_config_error() {
    for (ssh, options) in [
        (r#"deploy@vps\u0000x"#, "[]"),
        (r#"deploy@vps\u001b[2K"#, "[]"),
        ("deploy@vps", r#"["-p", "22\u0000"]"#),
    ] {
        let world = World::with_config(format!(
            "[[host]]\nname = \"vps\"\nssh = \"{ssh}\"\noptions = {options}\n\n\
[[bot]]\nname = \"partner\"\nscript = \"partner/bot.py\"\n"
        ));
        let run = world.run(&["status"]);
        run.expect_code(2);
        assert!(run.stderr.contains("botctl.toml:"), "{}", run.stderr);
        assert!(!run.stderr.contains("nul byte"), "{}", run.stderr);
        assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    }
}

#[test]
fn platform_keys_are_checked_where_they_are_written() {
    bad_config(
        "[[bot]]\nname = \"a\"\nscript = \"bot.py\"\nkubernetes = { deployment = \"Lb_Partner\" }\n",
        4,
        29,
        "deployment must be a Kubernetes name",
    );
    bad_config(
        "[[bot]]\nname = \"a\"\nscript = \"bot.py\"\nheroku = { app = \"lb\", dynos = 2 }\n",
        4,
        24,
        "unknown field `dynos`",
    );
    bad_config(
        "[[bot]]\nname = \"a\"\nscript = \"bot.py\"\nkubernetes = { statefulset = \"lb\" }\nfly_app = \"lb\"\n",
        5,
        11,
        "both kubernetes and fly_app",
    );
    bad_config("[railway]\ntimeout = \"forever\"\n", 2, 11, "timeout");
    bad_config(
        "[watch]\nplatform = \"0s\"\n",
        2,
        12,
        "platform must be between",
    );
}

#[test]
fn absurd_durations_are_config_errors_not_panics() {
    for (key, value) in [
        ("[fly]\nwait", "18446744073709551615s1s"),
        ("[fly]\ntimeout", "18446744073709551615s1s"),
        ("[telegram]\ntimeout", "18446744073709551615s1s"),
        ("[fly]\nwait", "307445734561825861m"),
        ("[fly]\nwait", "5h"),
        ("[fly]\ntimeout", "0s"),
        ("[telegram]\nprobe", "-3s"),
    ] {
        let world = World::with_config(format!(
            "{key} = \"{value}\"\n\n[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n"
        ));
        let run = world.run(&["status"]);
        run.expect_code(2).expect_stderr("botctl.toml:2:");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let world = World::configured(partner_on_fly);
    for grace in ["18446744073709551615s1s", "307445734561825861m", "2h"] {
        let run = world.run(&["dev-stop", "--grace", grace, "--yes"]);
        run.expect_code(2);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[test]
fn an_empty_config_says_there_are_no_bots() {
    let world = World::with_config("");
    world
        .run(&["status"])
        .expect_code(2)
        .expect_stderr("describes no bots");
}
