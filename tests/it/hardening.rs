//! What a hostile or unlucky world does to botctl: each test reproduces one way botctl hung,
//! printed a token, wrote through a symlink, ran two copies or panicked, and checks it no
//! longer does. Bots are named with `World::script`, so a stray `bot.py` on the machine is
//! never ours.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::json;
use test_support::config::{Bot, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";

/// The secret half of a token (after the colon).
fn secret(token: &str) -> &str {
    token.split_once(':').unwrap().1
}

/// Panics unless no form of `token` appears in the run's output.
#[track_caller]
fn assert_no_token(run: &Run, token: &str, what: &str) {
    let out = run.all_output();
    for form in [
        token.to_string(),
        secret(token).to_string(),
        token.replace(':', "%3A"),
    ] {
        assert!(
            !out.contains(&form),
            "{what} printed the token ({form}):\n{out}"
        );
    }
}

fn partner_with_token(world: &World, api: &str) -> Toml {
    Toml::new()
        .telegram_api(api)
        .telegram_timeout("5s")
        .bot(Bot::script("partner", &world.script("bot.py")).token_env("PARTNER_BOT_TOKEN"))
}

/// The partner bot alone (this world's `bot.py`).
fn partner(world: &World) -> Toml {
    Toml::new().bot(Bot::script("partner", &world.script("bot.py")))
}

/// partner on Fly.io (add `[fly]` settings to taste).
fn partner_on(world: &World) -> Toml {
    Toml::new().bot(Bot::script("partner", &world.script("bot.py")).fly_app(APP))
}

/// An executable script at `root/rel`.
fn script(world: &World, rel: &str, text: &str) -> std::path::PathBuf {
    let p = world.write(rel, text);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

// ------------------------------------------------------------------ 1. .env folders, FIFOs

#[test]
fn a_virtualenv_named_dot_env_is_skipped_not_looped_on() {
    let world = partner_on_fly_with(fly_apps(&[(APP, vec![])]));
    std::fs::create_dir_all(world.path(".env/bin")).unwrap();
    world.write(".env/pyvenv.cfg", "home = /usr/bin\n");
    let run = run(world
        .botctl()
        .args(["-v", "status"])
        .timeout(Duration::from_secs(20)));
    run.expect_code(0);
    run.expect_stderr("not a regular file");
}

#[test]
fn a_fifo_as_config_is_refused_at_once() {
    let world = World::new();
    let fifo = world.path("pipe.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let run = run(world
        .botctl()
        .args(["--config", "pipe.toml", "status"])
        .timeout(Duration::from_secs(20)));
    run.expect_code(2).expect_stderr("not a regular file");
}

// ------------------------------------------------------------------ 2. tokens in flyctl output

/// An app with one stopped machine whose logs hold httpx's request lines (with the token) and
/// a 409 after the ready line.
fn app_logging_the_token(token: &str) -> serde_json::Value {
    let mut state = fly_apps(&[(
        APP,
        vec![
            json!({"id": "148ed193b95089", "state": "stopped", "region": "ams",
                    "autostart": false}),
        ],
    )]);
    state["apps"][APP]["logs"] = json!([format!(
        "2026-11-25T10:00:01Z app[148ed193b95089] ams [info]HTTP Request: POST https://api.telegram.org/bot{token}/getUpdates \"HTTP/1.1 409 Conflict\""
    )]);
    state
}

#[test]
fn deploy_resume_never_prints_a_token_from_flyctl_logs() {
    let token = token(81);
    let world = World::configured(|w| {
        partner_on(w)
            .fly_wait("4s")
            .fly_timeout("5s")
            .change_bot("partner", |b| {
                b.ready_log("never printed").token_env("PARTNER_BOT_TOKEN")
            })
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    world.fly_state(app_logging_the_token(&token));
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(3).expect_stderr("Last lines seen");
    assert!(run.stderr.contains("HTTP Request"), "{}", run.stderr);
    assert_no_token(&run, &token, "deploy-resume");
}

#[test]
fn flyctl_stderr_is_redacted_whatever_it_quotes() {
    let token = token(82);
    let world = World::configured(|w| {
        partner_on(w)
            .flyctl("./myfly")
            .telegram_api(&dead_url())
            .change_bot("partner", |b| b.token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    // Its secret half alone, its URL form and its percent-encoded form.
    script(
        &world,
        "myfly",
        &format!(
            "#!/bin/sh\necho 'Error: secret {} rejected; GET /bot{token}/x; q={}' >&2\nexit 1\n",
            secret(&token),
            token.replace(':', "%3A")
        ),
    );
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["-v", "status"],
    ] {
        let run = world.run(args);
        assert!(
            run.all_output().contains("rejected"),
            "{}",
            run.all_output()
        );
        assert_no_token(&run, &token, &format!("botctl {args:?}"));
    }
}

// ------------------------------------------------------------------ 3. partial tokens

#[test]
fn a_webhook_holding_the_secret_half_or_the_encoded_token_is_never_printed() {
    let token = token(83);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::configured(|w| partner_with_token(w, &api.url()));
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    for url in [
        format!("https://h.example/hook/{}", secret(&token)),
        format!("https://h.example/hook?t={}", token.replace(':', "%3A")),
    ] {
        api.set_webhook(&token, &url);
        for args in [
            &["status"][..],
            &["status", "--json"],
            &["doctor"],
            &["doctor", "--json"],
            &["dev-start", "partner", "--yes", "--no-run"],
        ] {
            let run = world.run(args);
            assert!(
                run.all_output().contains("h.example"),
                "{}",
                run.all_output()
            );
            assert_no_token(&run, &token, &format!("botctl {args:?}"));
        }
    }
}

/// A Bot API stand-in that echoes the request path back: as a JSON description (percent-
/// encoded, as a proxy would) and, with `html`, in an HTML error page.
fn echoing_api(world: &World, html: bool) -> (Proc, String) {
    let port_file = world.path("echo.port");
    let server = format!(
        r#"
import http.server, json, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        path = urllib.parse.quote(self.path, safe="/")
        if {html}:
            body = ("<html><body>502 Bad Gateway for " + path + "</body></html>").encode()
            self.send_response(502); self.send_header("Content-Type", "text/html")
        else:
            body = json.dumps({{"ok": False, "error_code": 400,
                               "description": "Bad Request: cannot route " + path}}).encode()
            self.send_response(400); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
"#,
        html = if html { "True" } else { "False" }
    );
    let py = system_python().to_string_lossy().into_owned();
    let proc_ = world.spawn_showing(
        &[&py, "-c", &server, &port_file.to_string_lossy()],
        world.root(),
        &[&py, "-c", &server, &port_file.to_string_lossy()],
    );
    assert!(wait_until(Duration::from_secs(10), || port_file.exists()));
    let port = std::fs::read_to_string(&port_file).unwrap();
    (proc_, format!("http://127.0.0.1:{}", port.trim()))
}

#[test]
fn a_bot_api_answer_echoing_the_token_is_redacted() {
    let token = token(84);
    for html in [false, true] {
        let world = World::new();
        let (_server, url) = echoing_api(&world, html);
        world.write_config(partner_with_token(&world, &url));
        world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
        for args in [
            &["status"][..],
            &["status", "--json"],
            &["doctor", "--json"],
        ] {
            let run = world.run(args);
            assert!(
                run.all_output().contains("cannot route") || run.all_output().contains("502"),
                "{}",
                run.all_output()
            );
            assert_no_token(&run, &token, &format!("botctl {args:?} (html: {html})"));
        }
    }
}

// ------------------------------------------------------------------ 4. a token in the config

#[test]
fn a_token_in_the_config_is_refused_in_any_spelling() {
    let token = token(85);
    let escaped = format!("\\u0037{}", &token[1..]);
    for (toml, line) in [
        (
            format!(
                "[telegram]\napi = \"http://host/bot{token}\"\n\n[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n"
            ),
            2,
        ),
        (
            format!(
                "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\nrun = \"TOKEN={escaped} python3 bot.py\"\n"
            ),
            4,
        ),
        (
            format!(
                "# {token} and again {token}\n[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n"
            ),
            1,
        ),
    ] {
        let world = World::with_config(&toml);
        for args in [&["status"][..], &["dev-start", "partner", "--dry-run"]] {
            let run = world.run(args);
            run.expect_code(2)
                .expect_stderr(&format!("botctl.toml:{line}:"))
                .expect_stderr("looks like a bot token");
            assert_no_token(&run, &token, &format!("botctl {args:?}"));
        }
    }
}

// ------------------------------------------------------------------ 5. two dev-starts

#[test]
fn a_second_dev_start_while_the_first_stops_machines_is_refused() {
    let world = World::configured(|w| partner_on(w).fly_wait("30s"));
    world.write_sleeper(world.script("bot.py"));
    world.fly_state(fly_apps(&[(
        APP,
        vec![
            json!({"id": "148ed193b95089", "state": "started", "region": "ams",
                    "autostart": false, "stop_delay": 4}),
        ],
    )]));
    let log = world.elsewhere().join("first.log");
    let mut first = world
        .botctl_process(&["dev-start", "partner", "--yes", "--no-probe"])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(world.elsewhere().join("first.err")).unwrap())
        .spawn()
        .unwrap();
    // The first one has asked Fly to stop the machine, which now takes a while.
    assert!(
        wait_until(Duration::from_secs(30), || world
            .fly_machines(APP)
            .iter()
            .any(|(_, s)| s == "stopping")),
        "the first dev-start never stopped the machine: {:?} {}{}",
        world.fly_machines(APP),
        std::fs::read_to_string(&log).unwrap_or_default(),
        std::fs::read_to_string(world.elsewhere().join("first.err")).unwrap_or_default()
    );
    let second = world.run(&["dev-start", "partner", "--yes", "--no-probe"]);
    second
        .expect_code(1)
        .expect_stderr("another botctl run is changing things");
    // The first goes on to run the bot: exactly one local copy, from the first.
    let script = world.script("bot.py");
    let ours = || world.pids_with_arg(&script).len();
    assert!(wait_until(Duration::from_secs(30), || ours() == 1));
    // And no second copy follows: watched for half a second, failing at the first sight.
    assert!(
        !wait_until(Duration::from_millis(500), || ours() > 1),
        "two local copies of the bot"
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = first.wait();
}

#[test]
fn dev_start_waits_for_machines_already_stopping() {
    let world = World::configured(|w| partner_on(w).fly_wait("30s"));
    // The lock first: waiting for it (other checkouts' tests) must not eat the 2 s below.
    world.hold_process_table();
    let mut state = fly_apps(&[(
        APP,
        vec![
            json!({"id": "148ed193b95089", "state": "stopping", "region": "ams",
                    "autostart": false}),
        ],
    )]);
    // Settles to stopped a little later, as after a stop somebody else sent.
    state["apps"][APP]["machines"][0]["pending"] =
        json!({"to": "stopped", "at": now_epoch() + 6.0});
    world.fly_state(state);
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0).expect_stdout("stopped 148ed193b95089");
    assert!(!run.stdout.contains("no machine of"), "{}", run.stdout);
    assert_eq!(
        world.fly_machines(APP),
        vec![("148ed193b95089".to_string(), "stopped".to_string())]
    );
}

fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

// ------------------------------------------------------------------ 6. symlinks

#[test]
fn planted_symlinks_are_never_written_through() {
    let world = partner_on_fly_with(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "started", Some(false))],
    )]));
    let victim = world.elsewhere().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::create_dir_all(world.path(".botctl")).unwrap();
    std::os::unix::fs::symlink(&victim, world.path(".botctl/state.json.tmp")).unwrap();
    world
        .run(&["dev-start", "partner", "--yes", "--no-run"])
        .expect_code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let meta = std::fs::symlink_metadata(world.path(".botctl/state.json")).unwrap();
    assert!(meta.is_file(), "state.json is not a regular file");

    // A dangling lock link: botctl must not create its target.
    let target = world.elsewhere().join("created-by-botctl");
    std::fs::remove_file(world.path(".botctl/lock")).unwrap();
    std::os::unix::fs::symlink(&target, world.path(".botctl/lock")).unwrap();
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(3).expect_stderr("symbolic link");
    assert!(!target.exists(), "botctl created the lock link's target");
}

#[test]
fn init_does_not_write_through_a_planted_tmp_link() {
    let world = World::new();
    world.write(
        "bot.py",
        "import os\nTOKEN = os.getenv(\"PARTNER_BOT_TOKEN\")\napp.run_polling()\n",
    );
    let victim = world.elsewhere().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, world.path("botctl.toml.tmp")).unwrap();
    world.run(&["init", "--yes"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        std::fs::symlink_metadata(world.path("botctl.toml"))
            .unwrap()
            .is_file()
    );
}

// ------------------------------------------------------------------ 7. escape sequences

#[test]
fn escape_sequences_in_other_processes_argv_are_shown_escaped() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let title = "\u{1b}]0;pwned\u{7}";
    let erase = "\u{1b}[2K";
    let clipboard = "\u{1b}]52;c;aGFjaw==\u{7}";
    let _bot = world.spawn(&["python3", &script, title, erase, clipboard], world.root());
    // doctor shows an ok instance line only with -v.
    for args in [
        &["status"][..],
        &["dev-stop", "--dry-run"],
        &["doctor", "-v"],
    ] {
        let run = world.run(args);
        assert!(
            !run.all_output().contains('\u{1b}') && !run.all_output().contains('\u{7}'),
            "botctl {args:?} printed raw control characters:\n{:?}",
            run.all_output()
        );
        assert!(
            run.stdout.contains("\\e]0;pwned\\x07"),
            "botctl {args:?}:\n{}",
            run.stdout
        );
    }
    // JSON keeps the argv as it is (JSON escapes it).
    let json = world.run(&["status", "--json"]).json();
    assert!(json.to_string().contains("\\u001b]0;pwned"), "{json}");
}

// ------------------------------------------------------------------ 8. durations

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

// ------------------------------------------------------------------ 9. smaller ones

#[test]
fn doctor_mentions_a_handoff_for_a_bot_no_longer_configured() {
    let world = partner_on_fly_with(fly_apps(&[(APP, vec![])]));
    world.write(
        ".botctl/state.json",
        r#"{"version": 1, "handoffs": [{"bot": "oldbot", "app": "old-app", "machines": ["e784079b449483"], "at": "2026-11-20T10:00:00Z", "by": "dev@laptop"}]}"#,
    );
    let run = world.run(&["doctor", "--json"]);
    let json = run.json();
    let found = findings(&json, "handoff", None);
    assert_eq!(found.len(), 1, "{json:#}");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("oldbot") && message.contains("e784079b449483"),
        "{message}"
    );
    assert!(
        found[0]["fix"]
            .as_str()
            .unwrap()
            .contains("flyctl machine start e784079b449483 --app old-app")
    );
}

#[test]
fn a_dotenv_that_does_not_parse_is_named_with_a_fix_that_works() {
    let world = World::configured(|w| partner_with_token(w, &dead_url()));
    world.write(
        ".env",
        "OTHER=1\nthis line is not VAR=value 'unterminated\n",
    );
    let run = world.run(&["status"]);
    run.expect_stdout("cannot be parsed");
    assert!(!run.stdout.contains(">> .env"), "{}", run.stdout);
    let json = world.run(&["doctor", "--json"]).json();
    let token = findings(&json, "token", Some("partner"));
    assert!(
        token[0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be parsed"),
        "{json:#}"
    );
    assert!(!token[0]["fix"].as_str().unwrap().contains(">> .env"));
}

#[test]
fn a_huge_flyctl_error_line_is_quoted_short() {
    let world = World::configured(|w| partner_on(w).flyctl("./myfly"));
    script(
        &world,
        "myfly",
        "#!/bin/sh\nhead -c 50000000 /dev/zero | tr '\\0' x >&2\necho >&2\nexit 1\n",
    );
    let run = world.run(&["status", "--json"]);
    assert!(
        run.stdout.len() < 10_000,
        "{} bytes of JSON",
        run.stdout.len()
    );
    let json = run.json();
    // 50 MB on stderr is past the capture cap: stopped, and said so in one short line.
    let error = bot(&json, "partner")["fly"]["error"].as_str().unwrap();
    assert!(error.contains("printed too much"), "{error}");
    assert!(error.len() < 1000, "{error}");
    // 5 MB is under the cap: read, and quoted cut short.
    script(
        &world,
        "myfly",
        "#!/bin/sh\nhead -c 5000000 /dev/zero | tr '\\0' x >&2\necho >&2\nexit 1\n",
    );
    let json = world.run(&["status", "--json"]).json();
    let error = bot(&json, "partner")["fly"]["error"].as_str().unwrap();
    assert!(
        error.contains("more bytes"),
        "{}",
        &error[..200.min(error.len())]
    );
}

#[test]
fn a_flyctl_with_a_broken_shebang_is_not_called_not_installed() {
    let world = World::configured(|w| partner_on(w).flyctl("./myfly"));
    script(&world, "myfly", "#!/nonexistent/python9\nprint('hi')\n");
    let run = world.run(&["status"]);
    assert!(!run.stdout.contains("not found"), "{}", run.stdout);
    run.expect_stdout("cannot be run");
}

#[test]
fn free_threaded_and_debug_pythons_run_instances() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let mut procs = Vec::new();
    for name in ["python3.13t", "python3.12-dbg"] {
        std::os::unix::fs::symlink(system_python(), world.bin().join(name)).unwrap();
        procs.push(world.spawn(&[name, &script], world.root()));
    }
    let json = world.run(&["status", "--json"]).json();
    let pids = local_pids(bot(&json, "partner"));
    for p in &procs {
        assert!(pids.contains(&p.pid()), "{} not found in {json:#}", p.pid());
    }
}

// Linux only: setpriv runs the other user's process.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root"]
fn deploy_resume_over_another_users_copy_names_a_fix_that_works() {
    require_root("runs a process as another user");
    let world = partner_on_fly_with(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "stopped", Some(false))],
    )]));
    let script = world.script("bot.py");
    // Working in the project: this project's copy, though another user's.
    let (_shared, other) = world.spawn_other_users_bot_in_project(&script);
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!("kill {}", other.pid())),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("fix: botctl dev-stop partner\n"),
        "{}",
        run.stderr
    );
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

#[test]
fn an_empty_config_says_there_are_no_bots() {
    let world = World::with_config("");
    world
        .run(&["status"])
        .expect_code(2)
        .expect_stderr("describes no bots");
}

#[test]
fn ctrl_c_at_a_prompt_shows_the_cursor_again() {
    use expectrl::Expect;
    let world = partner_on_fly_with(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "started", Some(false))],
    )]));
    let mut p = world.botctl_pty(&["dev-start", "partner", "--no-run"]);
    let asked = p.expect("Stop machine(s) 148ed193b95089").unwrap();
    let mut tail = String::from_utf8_lossy(asked.before()).into_owned();
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    let rest = p.expect(expectrl::Eof).unwrap();
    tail.push_str(&String::from_utf8_lossy(rest.before()));
    tail.push_str(&String::from_utf8_lossy(rest.get(0).unwrap_or_default()));
    let shown = tail.rfind("\u{1b}[?25h");
    let hidden = tail.rfind("\u{1b}[?25l");
    assert!(
        shown.is_some() && shown > hidden,
        "the cursor stays hidden: {tail:?}"
    );
}
