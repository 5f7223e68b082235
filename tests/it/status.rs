//! `botctl status`: which real processes are instances of a bot, Fly machines, autostart
//! entries, verdicts, exit codes, the JSON shape of the SPEC, and concurrency.

use std::time::Duration;

use serde_json::json;
use test_support::config::{Bot, Toml};
use test_support::{
    BotApi, World, bot, fly_apps, keys, local_pids, machine, partner_on_fly, partner_on_fly_with,
};

/// partner (the world's `bot.py`) and admin (its `admin_bot.py`), local only.
fn two_bots(world: &World) -> Toml {
    Toml::new()
        .bot(Bot::script("partner", &world.script("bot.py")))
        .bot(Bot::script("admin", &world.script("admin_bot.py")))
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
}

// ---------------------------------------------------------------------------- local matching

#[test]
fn every_way_of_running_the_script_is_an_instance() {
    let world = World::configured(two_bots);
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    let root = world.root().to_path_buf();
    let elsewhere = world.elsewhere();
    let abs = world.path(&bot_py);
    let abs = abs.to_str().unwrap();

    let plain = world.spawn(&["python3", &bot_py], &root);
    let unbuffered = world.spawn(&["python3", "-u", &bot_py], &root);
    let absolute = world.spawn(&["python3", abs], &elsewhere);
    // An executable with a shebang: the kernel and env make it `python3 ./bot.py`.
    let dot_slash = format!("./{bot_py}");
    let shebang = world.spawn_showing(&[&dot_slash], &root, &["python3", &dot_slash]);

    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let partner = bot(&json, "partner");
    assert_eq!(
        sorted(local_pids(partner)),
        sorted(vec![
            plain.pid(),
            unbuffered.pid(),
            absolute.pid(),
            shebang.pid()
        ]),
        "{partner:#}"
    );
    assert_eq!(partner["verdict"], "conflict");
    assert_eq!(partner["places"], 4);
    assert_eq!(bot(&json, "admin")["verdict"], "stopped");
    assert!(local_pids(bot(&json, "admin")).is_empty());

    // What each instance says about itself.
    let entry = |pid: u32| {
        partner["local"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["pid"] == pid)
            .unwrap()
            .clone()
    };
    let e = entry(absolute.pid());
    assert_eq!(e["cmd"], json!(["python3", abs]));
    assert_eq!(e["cwd"], json!(elsewhere.to_str().unwrap()));
    assert_eq!(e["user"], json!(current_user()));
    assert!(is_rfc3339_utc(e["started"].as_str().unwrap()), "{e}");
    assert_eq!(
        entry(unbuffered.pid())["cmd"],
        json!(["python3", "-u", bot_py])
    );
    assert_eq!(entry(shebang.pid())["cmd"], json!(["python3", dot_slash]));
    assert_eq!(entry(plain.pid())["cwd"], json!(root.to_str().unwrap()));

    // The human table lists them too.
    let run = world.run(&["status"]);
    run.expect_code(1);
    run.expect_stdout("VERDICT");
    run.expect_stdout("conflict");
    run.expect_stdout(&format!("local pid {} `python3 {bot_py}`", plain.pid()));
}

fn current_user() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn decoys_are_never_instances() {
    let world = World::configured(two_bots);
    let bot_py = world.script("bot.py");
    let admin_py = world.script("admin_bot.py");
    world.write_sleeper(&bot_py);
    world.write_sleeper(&admin_py);
    let root = world.root().to_path_buf();

    // argv exactly as a person would have typed them (really /bin/sh running the sleeper).
    let vim = world.spawn_disguised(&["vim", &bot_py], &root);
    let less = world.spawn_disguised(&["less", &bot_py], &root);
    let tail = world.spawn_disguised(&["tail", "-f", &bot_py], &root);
    let grep = world.spawn_disguised(&["grep", &bot_py], &root);
    // Real Pythons that do not run bot.py.
    let code = world.spawn(
        &["python3", "-c", "import time; time.sleep(600)", &bot_py],
        &root,
    );
    world.write_sleeper("sleeper_mod.py");
    let module = world.spawn(&["python3", "-m", "sleeper_mod", &bot_py], &root);
    let admin = world.spawn(&["python3", &admin_py], &root);

    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let partner = bot(&json, "partner");
    let pids = local_pids(partner);
    for (what, p) in [
        ("vim", &vim),
        ("less", &less),
        ("tail -f", &tail),
        ("grep", &grep),
        ("python3 -c", &code),
        ("python3 -m", &module),
        ("python3 admin_bot.py", &admin),
    ] {
        assert!(
            !pids.contains(&p.pid()),
            "{what} was taken for partner: {partner:#}"
        );
    }
    assert!(pids.is_empty(), "{partner:#}");
    assert_eq!(partner["verdict"], "stopped");
    assert_eq!(partner["places"], 0);
    // admin_bot.py is its own bot's instance, and only that.
    let admin_bot = bot(&json, "admin");
    assert_eq!(local_pids(admin_bot), [admin.pid()]);
    assert_eq!(admin_bot["verdict"], "ok");
}

#[test]
fn admin_bot_py_is_not_partner_when_admin_is_not_configured() {
    let world = World::configured(|w| Toml::new().bot(Bot::script("partner", &w.script("bot.py"))));
    let admin_py = world.script("admin_bot.py");
    world.write_sleeper(&admin_py);
    let root = world.root().to_path_buf();
    let _admin = world.spawn(&["python3", &admin_py], &root);
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    assert!(local_pids(bot(&json, "partner")).is_empty(), "{json:#}");
    assert_eq!(bot(&json, "partner")["verdict"], "stopped");
}

#[test]
fn a_shell_that_runs_the_bot_is_not_an_instance_but_its_python_child_is() {
    let world = World::configured(two_bots);
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    let root = world.root().to_path_buf();
    let shell = world.spawn(&["bash", "-c", &format!("python3 {bot_py}; true")], &root);
    let child = shell.wait_child(&["python3", &bot_py]);

    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let partner = bot(&json, "partner");
    assert_eq!(local_pids(partner), [child], "{partner:#}");
    assert_eq!(partner["verdict"], "ok");
}

#[test]
fn a_script_with_a_slash_is_matched_by_its_path_from_the_project_root() {
    let world =
        World::configured(|w| Toml::new().bot(Bot::script("nested", &w.script("bots/bot.py"))));
    let (nested, bot_py) = (world.script("bots/bot.py"), world.script("bot.py"));
    world.write_sleeper(&nested);
    let root = world.root().to_path_buf();
    let elsewhere = world.elsewhere();
    world.write_sleeper(elsewhere.join(&bot_py));
    world.write_sleeper(elsewhere.join(&nested));
    let abs = world.path(&nested);

    let in_root = world.spawn(&["python3", &nested], &root);
    let by_abs_path = world.spawn(&["python3", abs.to_str().unwrap()], &elsewhere);
    let same_name_elsewhere = world.spawn(&["python3", &bot_py], &elsewhere);
    let same_rel_path_elsewhere = world.spawn(&["python3", &nested], &elsewhere);

    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let pids = sorted(local_pids(bot(&json, "nested")));
    assert_eq!(
        pids,
        sorted(vec![in_root.pid(), by_abs_path.pid()]),
        "{json:#}"
    );
    assert!(!pids.contains(&same_name_elsewhere.pid()));
    assert!(!pids.contains(&same_rel_path_elsewhere.pid()));
}

// ---------------------------------------------------------------------------- verdicts

#[test]
fn stopped_everywhere_is_stopped_and_exit_0() {
    let world = partner_on_fly_with(fly_apps(&[(
        "loyalitybot-partner",
        vec![machine("148ed193b95089", "stopped", None)],
    )]));
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "stopped");
    assert_eq!(p["places"], 0);
    assert_eq!(p["fly"]["error"], json!(null));
    assert_eq!(
        p["fly"]["machines"],
        json!([{"id": "148ed193b95089", "state": "stopped", "region": "ams", "group": "app"}])
    );
    let human = world.run(&["status"]);
    human.expect_code(0);
    human.expect_stdout("stopped");
    human.expect_stdout("nowhere");
}

#[test]
fn one_started_machine_is_ok() {
    let world = partner_on_fly_with(fly_apps(&[(
        "loyalitybot-partner",
        vec![
            machine("148ed193b95089", "started", None),
            machine("d8d9e2f0c12345", "stopped", None),
        ],
    )]));
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "ok");
    assert_eq!(p["places"], 1);
    assert_eq!(p["fly"]["app"], "loyalitybot-partner");
    assert_eq!(p["fly"]["machines"].as_array().unwrap().len(), 2);
    let human = world.run(&["status"]);
    human.expect_stdout("fly loyalitybot-partner machine 148ed193b95089 started (ams)");
}

#[test]
fn local_and_fly_at_once_is_a_conflict_and_exit_1() {
    let world = World::configured(partner_on_fly);
    let bot_py = world.script("bot.py");
    world.write_sleeper(&bot_py);
    world.fly_state(fly_apps(&[(
        "loyalitybot-partner",
        vec![machine("148ed193b95089", "started", None)],
    )]));
    let root = world.root().to_path_buf();
    let local = world.spawn(&["python3", &bot_py], &root);
    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "conflict");
    assert_eq!(p["places"], 2);
    assert_eq!(local_pids(p), [local.pid()]);
    world.run(&["status"]).expect_code(1);
}

#[test]
fn two_started_machines_are_a_conflict() {
    let world = partner_on_fly_with(fly_apps(&[(
        "loyalitybot-partner",
        vec![
            machine("148ed193b95089", "started", None),
            machine("d8d9e2f0c12345", "replacing", None),
        ],
    )]));
    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let p = bot(&run.json(), "partner").clone();
    assert_eq!(p["verdict"], "conflict");
    assert_eq!(p["places"], 2);
}

#[test]
fn a_hanging_flyctl_gives_unknown_within_the_time_limit() {
    let world = World::configured(|w| {
        Toml::new()
            .fly_timeout("2s")
            .bot(Bot::script("partner", &w.script("bot.py")).fly_app("loyalitybot-partner"))
    });
    let mut state = fly_apps(&[(
        "loyalitybot-partner",
        vec![machine("148ed193b95089", "started", None)],
    )]);
    state["hang"] = json!(["list"]);
    world.fly_state(state);
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    assert!(
        run.elapsed < Duration::from_secs(20),
        "status took {:?} with a 2s flyctl limit",
        run.elapsed
    );
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "unknown");
    assert_eq!(p["places"], 0);
    let error = p["fly"]["error"].as_str().expect("an error sentence");
    assert!(error.contains("flyctl machine list"), "{error}");
    assert!(error.contains("did not answer within 2s"), "{error}");
    // The hung flyctl was called once and did not survive botctl.
    let calls = world.fly_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let flyctl = world.bin().join("flyctl");
    // (SIGKILLed by botctl; give the kernel a moment to finish it off.)
    let gone = test_support::wait_until(Duration::from_secs(5), || {
        test_support::pids_with_arg(flyctl.to_str().unwrap()).is_empty()
    });
    assert!(
        gone,
        "flyctl processes left running: {:?}",
        test_support::pids_with_arg(flyctl.to_str().unwrap())
    );
}

/// status --json's fly.error for a flyctl in some state; also checks the human "fix:".
fn fly_error(world: &World) -> (String, String) {
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let p = bot(&json, "partner");
    assert_eq!(p["verdict"], "unknown", "{p:#}");
    assert_eq!(p["fly"]["machines"], json!([]));
    let error = p["fly"]["error"]
        .as_str()
        .expect("an error sentence")
        .to_string();
    let human = world.run(&["status"]);
    human.expect_code(0);
    human.expect_stdout("Not checked:");
    (error, human.stdout)
}

#[test]
fn flyctl_not_installed() {
    let world = World::configured(partner_on_fly).without_flyctl();
    let (error, human) = fly_error(&world);
    assert!(error.contains("flyctl is not installed"), "{error}");
    assert!(
        human.contains("fix: curl -L https://fly.io/install.sh"),
        "{human}"
    );
}

#[test]
fn flyctl_not_logged_in() {
    let world = World::configured(partner_on_fly);
    let mut state = fly_apps(&[("loyalitybot-partner", vec![])]);
    state["logged_in"] = json!(false);
    world.fly_state(state);
    let (error, human) = fly_error(&world);
    assert!(error.contains("not logged in"), "{error}");
    assert!(human.contains("fix: flyctl auth login"), "{human}");
}

#[test]
fn fly_app_not_found() {
    let world = partner_on_fly_with(fly_apps(&[("some-other-app", vec![])]));
    let (error, human) = fly_error(&world);
    assert!(
        error.contains("\"loyalitybot-partner\" was not found"),
        "{error}"
    );
    assert!(human.contains("fix: flyctl apps list"), "{human}");
}

// ---------------------------------------------------------------------------- JSON shape

#[test]
fn json_has_exactly_the_shape_of_the_spec() {
    let token = test_support::token(11);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&api.url())
            .bot(
                Bot::script("partner", &w.script("bot.py"))
                    .token_env("PARTNER_BOT_TOKEN")
                    .username("ghbipartnerbot")
                    .fly_app("loyalitybot-partner"),
            )
            .bot(Bot::script("admin", &w.script("admin_bot.py")))
            .bot(
                Bot::script("client", &w.script("client_handler.py")).token_env("CLIENT_BOT_TOKEN"),
            )
    });
    let bot_py = world.script("bot.py");
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    world.write_sleeper(&bot_py);
    world.set_crontab(&format!("@reboot cd ~/lb && python3 {bot_py}\n"));
    world.fly_state(fly_apps(&[(
        "loyalitybot-partner",
        vec![machine("148ed193b95089", "started", None)],
    )]));
    api.queue_update(&token, "hello");
    let root = world.root().to_path_buf();
    let local = world.spawn(&["python3", &bot_py], &root);

    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    assert_eq!(keys(&json), ["bots"]);
    let bots = json["bots"].as_array().unwrap();
    assert_eq!(bots.len(), 3);
    for b in bots {
        assert_eq!(
            keys(b),
            [
                "name",
                "verdict",
                "places",
                "local",
                "maybe",
                "fly",
                "telegram",
                "autostart",
                "hosts",
                "handoff",
                "mode"
            ]
        );
        // Every process here that runs a bot's script is in the project: none is a maybe.
        assert_eq!(b["maybe"], serde_json::json!([]));
        // No [[host]] in this botctl.toml: no host may run it.
        assert_eq!(b["hosts"], serde_json::json!([]));
        // No handoff record on Fly.
        assert_eq!(b["handoff"], serde_json::Value::Null);
        // No mode in botctl.toml: a polling bot, as before.
        assert_eq!(b["mode"], "polling");
    }
    let p = bot(&json, "partner");
    assert_eq!(p["name"], "partner");
    assert_eq!(p["verdict"], "conflict");
    assert_eq!(p["places"], 2);

    let local_entry = &p["local"][0];
    assert_eq!(
        keys(local_entry),
        ["pid", "user", "started", "cwd", "cmd", "supervisor"]
    );
    assert!(
        local_entry["supervisor"].is_null(),
        "started by the test: none"
    );
    assert_eq!(local_entry["pid"], local.pid());
    assert_eq!(local_entry["cwd"], root.to_str().unwrap());
    assert_eq!(local_entry["cmd"], json!(["python3", bot_py]));
    assert!(is_rfc3339_utc(local_entry["started"].as_str().unwrap()));
    assert!(local_entry["user"].as_str().is_some_and(|u| !u.is_empty()));

    assert_eq!(
        keys(&p["fly"]),
        ["app", "error", "machines", "others", "also"]
    );
    assert_eq!(
        p["fly"],
        json!({"app": "loyalitybot-partner", "error": null,
               "machines": [{"id": "148ed193b95089", "state": "started", "region": "ams",
                             "group": "app"}],
               "others": [], "also": []})
    );

    assert_eq!(
        keys(&p["telegram"]),
        ["username", "webhook", "pending_updates", "error"]
    );
    assert_eq!(
        p["telegram"],
        json!({"username": "ghbipartnerbot", "webhook": "", "pending_updates": 1, "error": null})
    );

    assert_eq!(
        p["autostart"],
        json!([{"source": "crontab", "entry": format!("@reboot cd ~/lb && python3 {bot_py}")}])
    );

    // No fly_app: fly is null; no token_env: telegram is null.
    let admin = bot(&json, "admin");
    assert_eq!(admin["fly"], json!(null));
    assert_eq!(admin["telegram"], json!(null));
    assert_eq!(admin["autostart"], json!([]));
    assert_eq!(admin["local"], json!([]));
    // token_env set but no token anywhere: telegram is null too.
    assert_eq!(bot(&json, "client")["telegram"], json!(null));

    // Only the selected bot, when one is named.
    let run = world.run(&["status", "admin", "--json"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["bots"].as_array().unwrap().len(), 1);
    assert_eq!(json["bots"][0]["name"], "admin");
}

// ---------------------------------------------------------------------------- autostart

#[test]
fn autostart_entries_from_crontab_systemd_and_launchd() {
    let world = World::configured(two_bots);
    let (bot_py, admin_py) = (world.script("bot.py"), world.script("admin_bot.py"));
    world.set_crontab(&format!(
        "# m h dom mon dow command\n\
         @reboot cd ~/lb && python3 {bot_py}\n\
         */5 * * * * cd ~/lb && python3 {admin_py} >> admin.log 2>&1\n\
         # @reboot python3 {bot_py} (commented out)\n",
    ));
    world.set_systemd(
        &"Id=partner-bot.service\n\
         ExecStart={ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 /srv/lb/bot.py ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
         ActiveState=inactive\n\
         UnitFileState=enabled\n\
         \n\
         Id=ssh.service\n\
         ExecStart={ path=/usr/sbin/sshd ; argv[]=/usr/sbin/sshd -D ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
         ActiveState=active\n\
         UnitFileState=enabled\n"
            .replace("bot.py", &bot_py),
    );
    world.set_systemd_user(
        &"Id=lb.service\n\
         ExecStart={ path=/bin/sh ; argv[]=/bin/sh -c cd ~/lb && python3 bot.py ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
         ActiveState=active\n\
         UnitFileState=enabled\n"
            .replace("bot.py", &bot_py),
    );
    let plist = world.add_launch_agent(
        "com.lb.partner.plist",
        &r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>Label</key><string>com.lb.partner</string>
  <key>ProgramArguments</key><array><string>/usr/local/bin/python3</string><string>/Users/dev/lb/bot.py</string></array>
  <key>RunAtLoad</key><true/>
</dict></plist>
"#
        .replace("bot.py", &bot_py),
    );
    world.add_launch_agent(
        "com.other.plist",
        "<plist><string>/usr/bin/true</string></plist>",
    );

    let run = world.run(&["status", "--json"]);
    run.expect_code(0); // autostart entries are not places
    let json = run.json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["verdict"], "stopped");
    let entries = partner["autostart"].as_array().unwrap();
    for e in entries {
        assert_eq!(keys(e), ["source", "entry"]);
    }
    let by_source = |source: &str| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e["source"] == source)
            .map(|e| e["entry"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        by_source("crontab"),
        [format!("@reboot cd ~/lb && python3 {bot_py}")]
    );
    let systemd = by_source("systemd");
    assert_eq!(systemd.len(), 1, "{systemd:?}");
    assert!(systemd[0].contains("partner-bot.service"), "{systemd:?}");
    assert!(
        systemd[0].contains(&format!("/srv/lb/{bot_py}")),
        "{systemd:?}"
    );
    assert!(!systemd[0].contains("sshd"), "{systemd:?}");
    let user = by_source("systemd --user");
    assert_eq!(user.len(), 1, "{user:?}");
    assert!(user[0].contains("lb.service"), "{user:?}");
    let launchd = by_source("launchd");
    assert_eq!(launchd.len(), 1, "{launchd:?}");
    assert!(launchd[0].contains(plist.to_str().unwrap()), "{launchd:?}");
    assert_eq!(entries.len(), 4, "{entries:#?}");

    // admin_bot.py's cron line belongs to admin, and only to admin.
    let admin = bot(&json, "admin");
    assert_eq!(
        admin["autostart"],
        json!([{"source": "crontab",
                "entry": format!("*/5 * * * * cd ~/lb && python3 {admin_py} >> admin.log 2>&1")}])
    );

    let human = world.run(&["status"]);
    human.expect_code(0);
    human.expect_stdout("Can start a bot later (autostart):");
    human.expect_stdout(&format!(
        "partner: crontab — @reboot cd ~/lb && python3 {bot_py}"
    ));
}

#[test]
fn absent_tools_are_not_checked_and_do_not_change_the_exit_code() {
    let world = World::configured(two_bots)
        .without_tool("crontab")
        .without_tool("systemctl")
        .without_tool("launchctl");
    let run = world.run(&["status"]);
    run.expect_code(0);
    let out = &run.stdout;
    // cron could be here and was not read: "not checked".
    assert!(out.contains("Not checked:"), "{out}");
    assert!(out.contains("crontab: crontab is not installed"), "{out}");
    // No systemctl means no systemd, and no launchctl no launchd (not macOS): nothing either
    // could start, so they are no gap in what was seen.
    assert!(!out.contains("systemd"), "{out}");
    assert!(!out.contains("launchd"), "{out}");
    assert!(!out.to_lowercase().contains("error"), "{out}");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // -v lists them too.
    let verbose = world.run(&["status", "-v"]);
    verbose.expect_code(0);
    let out = &verbose.stdout;
    assert!(out.contains("systemd: systemctl is not installed"), "{out}");
    assert!(
        out.contains("systemd --user: systemctl is not installed"),
        "{out}"
    );
    assert!(out.contains("launchd: launchctl is not installed"), "{out}");
    drop(world); // one World at a time (a World that starts processes holds the lock)

    // A systemctl that cannot talk to systemd (a container): systemd does not run here.
    let world = World::configured(two_bots);
    let run = world.run(&["status"]);
    run.expect_code(0);
    assert!(!run.stdout.contains("Not checked:"), "{}", run.stdout);
    assert!(!run.stdout.contains("systemd"), "{}", run.stdout);
    // "no crontab for root" is the normal answer: not a problem, not listed.
    assert!(!run.stdout.contains("crontab:"), "{}", run.stdout);
    let verbose = world.run(&["status", "-v"]);
    assert!(
        verbose
            .stdout
            .contains("systemd: systemd is not running here"),
        "{}",
        verbose.stdout
    );
    assert!(
        verbose
            .stdout
            .contains("systemd --user: systemd is not running here"),
        "{}",
        verbose.stdout
    );
    assert!(
        !verbose.stdout.contains("Host is down"),
        "{}",
        verbose.stdout
    );
}

// ---------------------------------------------------------------------------- concurrency

#[test]
fn fly_apps_are_asked_concurrently() {
    let world = World::configured(|w| {
        Toml::new()
            .bot(Bot::script("partner", &w.script("bot.py")).fly_app("loyalitybot-partner"))
            .bot(
                Bot::script("client", &w.script("client_handler.py")).fly_app("loyalitybot-client"),
            )
    });
    let mut state = fly_apps(&[
        (
            "loyalitybot-partner",
            vec![machine("148ed193b95089", "started", None)],
        ),
        (
            "loyalitybot-client",
            vec![machine("3d8d9e2f0c1234", "started", None)],
        ),
    ]);
    state["delay"] = json!({"list": 2});
    world.fly_state(state);
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(bot(&json, "partner")["verdict"], "ok");
    assert_eq!(bot(&json, "client")["verdict"], "ok");
    assert!(run.elapsed >= Duration::from_secs(2), "{:?}", run.elapsed);
    // Each call sleeps 2 s after it starts: one after the other, the second starts 2 s or more
    // after the first; at once, before it ended. Told by the fake's log, not by how long
    // status took, which depends on how busy the machine is.
    let lists: Vec<f64> = world
        .fly_calls_timed()
        .into_iter()
        .filter(|(_, c)| c.starts_with(&["machine".to_string(), "list".to_string()]))
        .map(|(at, _)| at)
        .collect();
    assert_eq!(lists.len(), 2);
    assert!(
        (lists[1] - lists[0]).abs() < 2.0,
        "the two Fly apps were not asked at once: calls at {lists:?}"
    );
}

// ---------------------------------------------------------------------------- output

#[test]
fn output_is_plain_without_a_terminal_and_coloured_on_request() {
    let world = World::configured(two_bots);
    let plain = test_support::run(world.botctl().env_remove("NO_COLOR").arg("status"));
    plain.expect_code(0);
    assert!(!plain.stdout.contains('\x1b'), "{:?}", plain.stdout);
    assert!(plain.stdout.contains("stopped"));

    let never = test_support::run(
        world
            .botctl()
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1")
            .args(["status", "--color", "never"]),
    );
    assert!(!never.stdout.contains('\x1b'), "{:?}", never.stdout);

    let always = test_support::run(
        world
            .botctl()
            .env_remove("NO_COLOR")
            .args(["status", "--color", "always"]),
    );
    always.expect_code(0);
    assert!(always.stdout.contains('\x1b'), "{:?}", always.stdout);

    // JSON is never coloured.
    let json = test_support::run(
        world
            .botctl()
            .args(["status", "--json", "--color", "always"]),
    );
    assert!(!json.stdout.contains('\x1b'));
    json.json();
}

// ---------------------------------------------------------------------------- bugs

#[test]
fn a_webhook_url_holding_the_token_is_never_printed() {
    let token = test_support::token(12);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    // A common setup: the token as the secret path of the webhook.
    api.set_webhook(
        &token,
        &format!("https://loyalitybot-partner.fly.dev/{token}"),
    );
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&api.url())
            .bot(Bot::script("partner", &w.script("bot.py")).token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    let secret = token.split_once(':').unwrap().1;
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["doctor"],
        &["doctor", "--json"],
    ] {
        let run = world.run(args);
        assert!(
            run.all_output().contains("loyalitybot-partner.fly.dev"),
            "{}",
            run.all_output()
        );
        assert!(
            !run.all_output().contains(secret),
            "botctl {args:?} printed the token:\n{}",
            run.all_output()
        );
    }
}

#[test]
fn an_unreadable_bot_api_makes_the_verdict_unknown() {
    let token = test_support::token(13);
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&test_support::dead_url())
            .telegram_timeout("5s")
            .bot(Bot::script("partner", &w.script("bot.py")).token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let p = bot(&json, "partner");
    assert!(
        p["telegram"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach the Bot API")),
        "{p:#}"
    );
    // SPEC: "unknown (a source could not be read)": a webhook may be set for all botctl knows.
    assert_eq!(p["verdict"], "unknown", "{p:#}");
}
