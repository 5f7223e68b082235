//! Secrets botctl can know never reach its output, whatever the command and however the text
//! arrives: a `.env` that does not parse is named by its line, never quoted; every token and
//! webhook secret is masked from the first line printed; a line is masked whole before any cut.

use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use test_support::config::{Bot, Toml};
use test_support::*;

/// What the broken `.env` holds after its bad line: none of it may be printed.
const AFTER_THE_QUOTE: [&str; 3] = [
    "hunter2-db-password",
    "whsec-never-printed-1234",
    "line-with\rcarriage",
];

#[test]
fn a_dotenv_that_does_not_parse_is_named_by_its_line_in_every_command() {
    let world = World::configured(|w| {
        Toml::new().telegram_timeout("2s").bot(
            Bot::script("partner", &w.script("bot.py"))
                .token_env("PARTNER_BOT_TOKEN")
                .fly_app("loyalitybot-partner"),
        )
    });
    world.write(
        ".env",
        "OTHER=1\nBROKEN='unclosed\nDATABASE_URL=postgres://app:hunter2-db-password@db/lb\n\
         HOOK_SECRET=whsec-never-printed-1234\nNOTE=line-with\rcarriage\n",
    );
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["checklist"],
        &["dev-start", "partner", "--dry-run"],
        &["deploy-resume", "partner", "--dry-run"],
        &["exec", "partner", "--", "true"],
        &["watch", "--for", "1s"],
    ] {
        let run = world.run(args);
        let out = run.all_output();
        for secret in AFTER_THE_QUOTE {
            assert!(
                !out.contains(secret),
                "`botctl {}` printed .env's text ({secret:?}):\n{out}",
                args.join(" ")
            );
        }
    }
    for args in [&["status"][..], &["doctor"]] {
        world
            .run(args)
            .expect_stdout("the quote opened on line 2 is never closed");
    }
}

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
    let token = expect_finding(&json, "token", Level::Warn)
        .bot("partner")
        .saying("cannot be parsed")
        .one();
    assert!(!fix(token).contains(">> .env"), "{token}");
}
