//! `[[host]]` servers over real ssh: each test starts its own `sshd` on a free loopback port
//! with temporary host and client keys (its config, pid file and authorized_keys in the test's
//! temp folder) and passes `-p`/`-i`/`-o` through the host's `options`.
//!
//! The "server" is this machine, seen through sshd. To tell it apart from this machine, botctl
//! runs in its own PID namespace (`unshare --pid --fork --mount-proc`): its local scan sees
//! only itself, while the scan over ssh (sshd runs outside the namespace) sees every process,
//! the test's bots included. So a bot the test starts is a host instance and never a local one.
//! That needs root (as CI runs), as does sshd logging in as root; without root the tests skip.
//! Bots are named with `World::script`, so nothing else on the machine matches them.

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use test_support::config::{Bot, Host, Toml};
use test_support::*;

const APP: &str = "loyalitybot-partner";
const ISOLATED: &[&str] = &["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];

/// The partner bot (this world's script name) on Fly.io, and host vps. Its token is in the
/// project's .env, where the bots the tests start in the project read it too: that is how the
/// host's scan tells them for this project's copies. The fake Bot API answers for the token.
fn world_with_host(host: &str) -> (World, BotApi) {
    let token = partner_token();
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::configured(|w| {
        Toml::new()
            .respawn("1s")
            .telegram_api(&api.url())
            .bot(
                Bot::script("partner", &w.script("bot.py"))
                    .fly_app(APP)
                    .token_env("PARTNER_BOT_TOKEN"),
            )
            .render()
            + host
    });
    world.dotenv(&[("PARTNER_BOT_TOKEN", &token)]);
    world.write_sleeper(world.script("bot.py"));
    world.fly_state(fly_apps(&[(APP, vec![])]));
    (world, api)
}

/// partner's token in these tests.
fn partner_token() -> String {
    token(41)
}

/// Fails without root; with root, the namespace must work (a clear failure, not a riddle).
fn needs_namespace(why: &str) {
    require_root(why);
    let out = std::process::Command::new(ISOLATED[0])
        .args(&ISOLATED[1..])
        .arg("true")
        .output()
        .expect("unshare (util-linux; `cargo xtask setup`)");
    assert!(
        out.status.success(),
        "`{} true` failed: {} — the host tests run botctl in its own PID namespace, which \
needs root with CAP_SYS_ADMIN",
        ISOLATED.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn status(world: &World) -> Value {
    let run = world.run_under(ISOLATED, &["status", "partner", "--json"]);
    bot(&run.json(), "partner").clone()
}

/// The one host entry of partner's status.
fn vps(partner: &Value) -> &Value {
    let hosts = partner["hosts"].as_array().expect("hosts is a list");
    assert_eq!(hosts.len(), 1, "{partner}");
    assert_eq!(hosts[0]["host"], "vps");
    &hosts[0]
}

/// `sh -c 'while true; do python3 SCRIPT; done'` in the project: a bot and its loop.
fn bot_in_a_loop(world: &World) -> (Proc, String) {
    let script = world.script("bot.py");
    let code = format!("while true; do python3 {script}; done");
    let shell = world.spawn(&["sh", "-c", &code], world.root());
    (shell, script)
}

#[test]
#[ignore = "needs root"]
fn a_bot_and_its_loop_on_the_host_are_shown_with_the_loop_as_supervisor() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    let (world, _api) = world_with_host(&sshd.host_table("vps", "client_key", "10s"));
    let (shell, script) = bot_in_a_loop(&world);
    let mut partner = Value::Null;
    let seen = wait_until(Duration::from_secs(20), || {
        partner = status(&world);
        !vps(&partner)["instances"][0].is_null()
    });
    assert!(seen, "the host instance never showed: {partner}");
    let host = vps(&partner);
    assert!(host["error"].is_null(), "{host}");
    let instance = &host["instances"][0];
    assert_eq!(instance["cmd"], serde_json::json!(["python3", script]));
    assert_eq!(instance["user"], "root");
    assert_eq!(instance["cwd"], world.root().display().to_string());
    assert_eq!(instance["supervisor"]["kind"], "loop", "{instance}");
    assert_eq!(instance["supervisor"]["pid"], shell.pid());
    // botctl's own namespace hides it from the local scan: one place, on the host.
    assert_eq!(partner["local"], serde_json::json!([]));
    assert_eq!(partner["places"], 1);
    assert_eq!(partner["verdict"], "ok");

    let human = world.run_under(ISOLATED, &["status", "partner"]);
    human.expect_code(0).expect_stdout("host vps pid");
    let checklist = world.run_under(ISOLATED, &["checklist"]);
    checklist.expect_stdout("✓ partner: checked on host vps (1 running there)");
}

#[test]
#[ignore = "needs root"]
fn an_unreachable_port_is_not_checked_with_ssh_s_words() {
    needs_namespace("botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    let port = free_port(); // nothing listens there
    let (world, _api) = world_with_host(&host_table("vps", port, &sshd.key("client_key"), "10s"));
    let partner = status(&world);
    let host = vps(&partner);
    let error = host["error"].as_str().expect("an error");
    assert!(error.contains("Connection refused"), "{error}");
    assert_eq!(partner["verdict"], "unknown");
    let human = world.run_under(ISOLATED, &["status", "partner"]);
    human.expect_stdout("host vps: ssh root@127.0.0.1:");
}

#[test]
#[ignore = "needs root"]
fn a_refused_key_is_not_checked_with_ssh_s_words() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    let (world, _api) = world_with_host(&sshd.host_table("vps", "stranger_key", "10s"));
    let partner = status(&world);
    let error = vps(&partner)["error"]
        .as_str()
        .expect("an error")
        .to_string();
    assert!(error.contains("Permission denied"), "{error}");
    assert_eq!(partner["verdict"], "unknown");
}

#[test]
#[ignore = "needs root"]
fn a_host_whose_script_fails_is_not_checked_with_its_words() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    // What a host without /proc (or a login shell that refuses) answers.
    let sshd = Sshd::start("ForceCommand echo 'no /proc on this host' >&2; exit 3");
    let (world, _api) = world_with_host(&sshd.host_table("vps", "client_key", "10s"));
    let partner = status(&world);
    let error = vps(&partner)["error"]
        .as_str()
        .expect("an error")
        .to_string();
    assert!(error.contains("exit status 3"), "{error}");
    assert!(error.contains("no /proc on this host"), "{error}");
    assert_eq!(partner["verdict"], "unknown");
}

#[test]
#[ignore = "needs root"]
fn a_host_that_hangs_does_not_hold_status_past_its_timeout() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("ForceCommand sleep 30");
    let (world, _api) = world_with_host(&sshd.host_table("vps", "client_key", "2s"));
    let run = world.run_under(ISOLATED, &["status", "partner", "--json"]);
    let partner = bot(&run.json(), "partner").clone();
    let error = vps(&partner)["error"]
        .as_str()
        .expect("an error")
        .to_string();
    assert!(error.contains("did not answer within 2s"), "{error}");
    assert!(
        run.elapsed < Duration::from_secs(5),
        "status took {:?} with a 2s host timeout",
        run.elapsed
    );
}

#[test]
#[ignore = "needs root"]
fn dev_stop_host_stops_the_loop_and_the_bots_over_ssh_and_leaves_other_users_alone() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    let (world, _api) = world_with_host(&sshd.host_table("vps", "client_key", "10s"));
    let (shell, script) = bot_in_a_loop(&world);
    let bot_pid = shell.wait_child(&["python3", &script]);
    // A copy that ignores SIGTERM: SIGKILL after the grace, over ssh too.
    world.write(
        &format!("stubborn/{script}"),
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
         open('ignores-sigterm', 'w').close()\ntime.sleep(600)\n",
    );
    // Its folder has no .env: its environment holds the token.
    let stubborn = world.spawn_with_env(
        &["python3", &script],
        &world.path("stubborn"),
        &[("PARTNER_BOT_TOKEN", &partner_token())],
    );
    let ignores = world.path("stubborn/ignores-sigterm");
    assert!(
        wait_until(Duration::from_secs(30), || ignores.exists()),
        "the stubborn bot never got to ignore SIGTERM"
    );
    // Another user's copy there (the ssh user is root; this one is nobody's).
    let (_shared, other) = world.spawn_other_users_bot(&script);

    let dry = world.run_under(
        ISOLATED,
        &["dev-stop", "partner", "--host", "vps", "--dry-run"],
    );
    dry.expect_code(0)
        .expect_stdout(&format!("host vps pid {bot_pid}"))
        .expect_stdout(&format!("end its loop's shell pid {}", shell.pid()))
        .expect_stdout(&format!("maybe partner: host vps pid {}", other.pid()))
        .expect_stdout("left alone");
    assert!(
        alive(shell.pid()) && alive(bot_pid) && alive(stubborn.pid()),
        "--dry-run changes nothing"
    );

    let run = world.run_under(
        ISOLATED,
        &[
            "dev-stop", "partner", "--host", "vps", "--yes", "--grace", "2s",
        ],
    );
    run.expect_code(0)
        .expect_stdout("sent SIGKILL")
        .expect_stdout("no instance of your bots is left on host vps");
    assert!(
        wait_until(Duration::from_secs(5), || !alive(shell.pid())
            && !alive(bot_pid)
            && !alive(stubborn.pid())),
        "the loop's shell or a bot survived"
    );
    assert!(alive(other.pid()), "another user's copy was signalled");
    // Only the other user's copy is left, and it may be partner: whose it is cannot be told.
    let partner = status(&world);
    assert_eq!(
        vps(&partner)["instances"],
        serde_json::json!([]),
        "{partner}"
    );
    let maybe = vps(&partner)["maybe"].as_array().unwrap();
    assert_eq!(maybe.len(), 1, "{partner}");
    assert_eq!(maybe[0]["pid"], other.pid());
    assert_eq!(partner["verdict"], "unknown");
}

#[test]
#[ignore = "needs root"]
fn a_copy_on_the_host_is_told_by_the_sha256_of_its_token() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    let (world, _api) = world_with_host(&sshd.host_table("vps", "client_key", "10s"));
    let script = world.script("bot.py");
    let argv = ["python3", script.as_str()];
    // The project lives in another folder there: same-named scripts in folders of their own.
    let folder = |name: &str| {
        let dir = world.elsewhere().join(name);
        world.write_sleeper(dir.join(&script));
        dir
    };
    let ours = world.spawn_with_env(
        &argv,
        &folder("deploy"),
        &[("PARTNER_BOT_TOKEN", &partner_token())],
    );
    let theirs = world.spawn_with_env(
        &argv,
        &folder("another"),
        &[("PARTNER_BOT_TOKEN", &token(42))],
    );
    let tokenless = world.spawn(&argv, &folder("tokenless"));
    let (_shared, other) = world.spawn_other_users_bot(&script);

    let partner = status(&world);
    let host = vps(&partner);
    let pids = |list: &Value| -> Vec<u64> {
        let mut p: Vec<u64> = list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["pid"].as_u64())
            .collect();
        p.sort();
        p
    };
    assert_eq!(
        pids(&host["instances"]),
        [u64::from(ours.pid())],
        "{partner}"
    );
    assert_eq!(pids(&host["maybe"]), [u64::from(other.pid())], "{partner}");
    assert_eq!(partner["places"], 1);

    let dry = world.run_under(
        ISOLATED,
        &["dev-stop", "partner", "--host", "vps", "--dry-run"],
    );
    let out = dry.all_output();
    for stranger in [theirs.pid(), tokenless.pid()] {
        assert!(!out.contains(&format!("pid {stranger} ")), "{out}");
    }
    world
        .run_under(
            ISOLATED,
            &[
                "dev-stop", "partner", "--host", "vps", "--yes", "--grace", "2s",
            ],
        )
        .expect_code(0);
    assert!(
        wait_until(Duration::from_secs(5), || !alive(ours.pid())),
        "this project's copy on the host survived"
    );
    for p in [theirs.pid(), tokenless.pid(), other.pid()] {
        assert!(alive(p), "pid {p}, not this project's copy, was signalled");
    }
}

#[test]
#[ignore = "needs root"]
fn dev_start_and_deploy_resume_refuse_and_doctor_names_the_host_while_it_runs_the_bot() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    let sshd = Sshd::start("");
    let (world, _api) = world_with_host(&sshd.host_table("vps", "client_key", "10s"));
    world.fly_state(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "started", None)],
    )]));
    let script = world.script("bot.py");
    let _bot = world.spawn(&["python3", &script], world.root());

    let doctor = world.run_under(ISOLATED, &["doctor", "partner", "--json"]);
    let json = doctor.json();
    let host = expect_finding(&json, "host", Level::Error).one();
    assert_eq!(host["fix"], "botctl dev-stop partner --host vps", "{host}");

    let run = world.run_under(ISOLATED, &["dev-start", "partner", "--yes", "--no-run"]);
    run.expect_code(1);
    let out = run.all_output();
    assert!(out.contains("runs on host vps"), "{out}");
    assert!(out.contains("botctl dev-stop partner --host vps"), "{out}");
    assert_eq!(
        world.fly_machines(APP),
        [("148ed193b95089".to_string(), "started".to_string())],
        "the refusal stops nothing"
    );

    // Handing back to Fly.io is refused the same way.
    world.fly_state(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "stopped", None)],
    )]));
    let run = world.run_under(ISOLATED, &["deploy-resume", "partner", "--yes"]);
    run.expect_code(1);
    let out = run.all_output();
    assert!(out.contains("runs on host vps"), "{out}");
    assert!(out.contains("botctl dev-stop partner --host vps"), "{out}");
    assert_eq!(
        world.fly_machines(APP),
        [("148ed193b95089".to_string(), "stopped".to_string())],
        "the refusal starts nothing"
    );
}

#[test]
#[ignore = "needs root"]
fn nothing_of_a_token_goes_over_ssh() {
    needs_namespace("sshd logs in as root and botctl runs in its own PID namespace");
    let token = token(7);
    let seen = tempfile::Builder::new()
        .prefix("botctl-seen-")
        .tempdir()
        .unwrap();
    let (stdin, env) = (seen.path().join("stdin"), seen.path().join("env"));
    // The server accepts any variable the client sends and records what it got.
    let sshd = Sshd::start(&format!(
        "AcceptEnv *\nForceCommand cat > {}; env > {}",
        stdin.display(),
        env.display()
    ));
    let host = sshd
        .host_table("vps", "client_key", "10s")
        .replace("\"-F\"", "\"-o\", \"SendEnv=*\", \"-F\"");
    let (world, _api) = world_with_host(&host);
    let mut cmd = world.botctl_under(ISOLATED);
    cmd.args(["status", "partner", "--json"])
        .env("PARTNER_BOT_TOKEN", &token)
        .env(
            "SOME_SETTING",
            format!("url=https://api.telegram.org/bot{token}/"),
        );
    let run = run(&mut cmd);
    assert!(!run.all_output().contains(&token), "the token was printed");
    assert!(
        wait_until(Duration::from_secs(5), || env.exists()),
        "the server never ran its command"
    );
    let (sent_stdin, sent_env) = (
        std::fs::read_to_string(&stdin).unwrap(),
        std::fs::read_to_string(&env).unwrap(),
    );
    assert!(sent_stdin.contains("botctl"), "the scan went on stdin");
    assert!(!sent_stdin.contains(&token), "the token went on stdin");
    assert!(
        !sent_env.contains(&token[10..]),
        "the token reached the server's environment:\n{sent_env}"
    );
}

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

fn executable(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A host whose shell answers with an endless `yes`: the capture is capped, the host is "not
/// checked" with "printed too much", and status does not grow without end.
#[test]
fn a_host_that_prints_without_end_is_cut_off() {
    let world = World::configured(|w| {
        Toml::new()
            .host(Host::new("vps", "deploy@vps").timeout("20s"))
            .bot(partner(w))
    });
    executable(
        &world.bin().join("ssh"),
        "#!/bin/sh\nexec yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
    );
    let run = world.run(&["status", "--json"]);
    assert!(
        run.elapsed < Duration::from_secs(15),
        "took {:?}",
        run.elapsed
    );
    let json = run.json();
    let error = bot(&json, "partner")["hosts"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("printed too much"), "{json:#}");
}
