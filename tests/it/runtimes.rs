//! Every way a team runs a bot: Python modules (`python3 -m lb.partner`), Node runtimes (node,
//! bun, deno, tsx, ts-node) with their own options, the decoys of each runtime, a wrapper and
//! its child counted once, and real grammY and Telegraf pollers that the probe stops (both
//! frameworks give up on a 409).

use serde_json::json;
use std::time::Duration;
use test_support::config::{Bot, Toml};
use test_support::{BotApi, Poller, World, bot, node_fakes, *};

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

/// Pids of a bot's instances that run in this world's project (a real bot of the machine's
/// user, elsewhere, is none of the test's business).
fn pids_here(world: &World, bot: &serde_json::Value) -> Vec<u32> {
    let root = world.root().to_str().unwrap();
    let pids = bot["local"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["cwd"].as_str().is_some_and(|cwd| cwd.starts_with(root)))
        .map(|i| i["pid"].as_u64().unwrap() as u32)
        .collect();
    sorted(pids)
}

/// A Node script that sleeps (valid JavaScript and TypeScript).
const NODE_SLEEPER: &str = "setTimeout(() => {}, 600_000);\n";

// ---------------------------------------------------------------------------- module bots

#[test]
fn a_module_bot_is_python_running_its_module_with_dash_m() {
    let world = World::with_config(
        Toml::new()
            .bot(Bot::module("partner", "lb.partner"))
            .bot(Bot::script("admin", "admin_bot.py")),
    );
    world.write("lb/__init__.py", "");
    world.write_sleeper("lb/partner.py");
    world.write_sleeper("lb/partner_admin.py");
    world.write_sleeper("admin_bot.py");
    let root = world.root().to_path_buf();

    let plain = world.spawn(&["python3", "-m", "lb.partner"], &root);
    let with_options = world.spawn(&["python3", "-u", "-X", "dev", "-m", "lb.partner"], &root);
    // Decoys: another module, code that only mentions it, a script bot's file.
    let other = world.spawn(&["python3", "-m", "lb.partner_admin"], &root);
    let code = world.spawn(
        &[
            "python3",
            "-c",
            "import time; time.sleep(600)",
            "-m",
            "lb.partner",
        ],
        &root,
    );
    let admin = world.spawn(&["python3", "admin_bot.py", "-m", "lb.partner"], &root);
    world.set_crontab("@reboot cd ~/lb && python3 -m lb.partner\n");

    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let partner = bot(&json, "partner");
    assert_eq!(
        pids_here(&world, partner),
        sorted(vec![plain.pid(), with_options.pid()]),
        "decoys: {} {} {}; {partner:#}",
        other.pid(),
        code.pid(),
        admin.pid()
    );
    assert_eq!(partner["verdict"], "conflict");
    assert_eq!(partner["autostart"][0]["source"], "crontab", "{partner:#}");
    assert_eq!(pids_here(&world, bot(&json, "admin")), [admin.pid()]);

    // doctor names the module in its words.
    let run = world.run(&["doctor", "partner"]);
    run.expect_code(1);
    run.expect_stdout("copies of module lb.partner");
}

#[test]
fn a_bot_needs_exactly_one_of_script_and_module() {
    let world = World::with_config(
        "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\nmodule = \"lb.partner\"\n",
    );
    let run = world.run(&["status"]);
    run.expect_code(2);
    run.expect_stderr("botctl.toml:4:10");
    run.expect_stderr("exactly one");
    world.write_config("[[bot]]\nname = \"partner\"\n");
    let run = world.run(&["status"]);
    run.expect_code(2);
    run.expect_stderr("botctl.toml:2:8");
    run.expect_stderr("module = ");
}

// ---------------------------------------------------------------------------- Node runtimes

fn node_bots() -> Toml {
    Toml::new()
        .bot(Bot::script("js", "bot.js"))
        .bot(Bot::script("ts", "bot.ts"))
}

#[test]
fn every_node_runtime_form_is_an_instance_and_no_decoy_is() {
    let world = World::with_config(node_bots());
    world.write("bot.js", NODE_SLEEPER);
    world.write("bot.ts", NODE_SLEEPER);
    world.write("preload.cjs", "");
    let root = world.root().to_path_buf();

    // Real node, with options that take a value and options that do not.
    let node = world.spawn(&["node", "--enable-source-maps", "bot.js"], &root);
    let preload = world.spawn(&["node", "-r", "./preload.cjs", "bot.js"], &root);
    // The other runtimes' argv shapes, exactly as they show in /proc.
    let js_forms = [
        world.spawn_as(&["bun", "run", "bot.js"], &root),
        world.spawn_as(&["deno", "run", "--allow-net", "bot.js"], &root),
        world.spawn_as(
            &["/usr/local/bin/nodejs", "--env-file", ".env", "bot.js"],
            &root,
        ),
    ];
    let ts_forms = [
        world.spawn_as(&["bun", "bot.ts"], &root),
        world.spawn_as(
            &["deno", "run", "-A", "--config", "deno.json", "bot.ts"],
            &root,
        ),
        world.spawn_as(&["tsx", "--tsconfig", "tsconfig.json", "bot.ts"], &root),
        world.spawn_as(&["ts-node", "-P", "tsconfig.json", "bot.ts"], &root),
    ];
    // Decoys: code on the command line, checks, tests, formatters, reloader parents.
    let decoys = [
        world.spawn(
            &["node", "-e", "setTimeout(() => {}, 600000)", "bot.js"],
            &root,
        ),
        world.spawn_as(&["node", "--check", "bot.js"], &root),
        world.spawn_as(&["node", "--watch", "bot.js"], &root),
        world.spawn_as(&["node", "-r", "bot.js", "other.js"], &root),
        world.spawn_as(&["deno", "fmt", "bot.ts"], &root),
        world.spawn_as(&["deno", "test", "bot.js"], &root),
        world.spawn_as(&["bun", "test", "bot.ts"], &root),
        world.spawn_as(&["bun", "build", "bot.js"], &root),
        world.spawn_as(&["tsx", "watch", "bot.ts"], &root),
        world.spawn_as(&["nodemon", "bot.js"], &root),
        world.spawn_as(&["python3", "bot.js"], &root),
        world.spawn_as(&["vim", "bot.ts"], &root),
    ];

    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let js = bot(&json, "js");
    let mut want: Vec<u32> = vec![node.pid(), preload.pid()];
    want.extend(js_forms.iter().map(|p| p.pid()));
    assert_eq!(pids_here(&world, js), sorted(want), "{js:#}");
    let ts = bot(&json, "ts");
    let want: Vec<u32> = ts_forms.iter().map(|p| p.pid()).collect();
    assert_eq!(pids_here(&world, ts), sorted(want), "{ts:#}");
    for decoy in &decoys {
        assert!(
            !pids_here(&world, js).contains(&decoy.pid())
                && !pids_here(&world, ts).contains(&decoy.pid()),
            "decoy {:?} was taken for an instance",
            test_support::cmdline(decoy.pid())
        );
    }
    let entry = js["local"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["pid"] == preload.pid())
        .unwrap();
    assert_eq!(
        entry["cmd"],
        json!(["node", "-r", "./preload.cjs", "bot.js"])
    );
}

#[test]
fn tsx_and_the_node_child_it_runs_the_script_in_are_one_copy() {
    let world = World::with_config(node_bots());
    world.write(
        "bot.ts",
        "const wait: number = 600_000;\nsetTimeout(() => {}, wait);\n",
    );
    let root = world.root().to_path_buf();
    // The real tsx CLI: `node …/.bin/tsx bot.ts` (its shebang), which runs
    // `node --require …preflight.cjs --import …loader.mjs bot.ts` as its child.
    let tsx = node_fakes().join("node_modules/.bin/tsx");
    let tsx = tsx.to_str().unwrap();
    let wrapper = world.spawn_showing(&[tsx, "bot.ts"], &root, &["node", tsx, "bot.ts"]);
    let mut child = None;
    assert!(
        test_support::wait_until(Duration::from_secs(20), || {
            child = test_support::children(wrapper.pid()).into_iter().find(|c| {
                test_support::cmdline(*c)
                    .is_some_and(|argv| argv.last().is_some_and(|a| a == "bot.ts"))
            });
            child.is_some()
        }),
        "tsx never started its node child"
    );

    let run = world.run(&["status", "--json"]);
    let json = run.json();
    let ts = bot(&json, "ts");
    assert_eq!(
        pids_here(&world, ts),
        [wrapper.pid()],
        "child {child:?} counted apart: {ts:#}"
    );
}

// ---------------------------------------------------------------------------- a real grammY bot

/// A Node framework's poller, started by [`Poller::grammy`] or [`Poller::telegraf`].
type StartPoller = fn(&World, &BotApi, &str, &str) -> Poller;

/// status finds the Node poller; doctor warns first that the probe may stop it; the probe's
/// long poll ends the bot's with a 409 and the bot exits 1, saying `rejected`.
fn the_probe_stops_a_node_poller(start: StartPoller, token_number: u32, rejected: &str) {
    let token = test_support::token(token_number);
    let api = BotApi::start(&[(&token, "shopbot")]);
    let world = World::with_config(
        Toml::new().telegram_api(&api.url()).probe("4s").bot(
            Bot::script("shop", "bot.mjs")
                .token_env("SHOP_BOT_TOKEN")
                .username("shopbot"),
        ),
    );
    world.write(".env", &format!("SHOP_BOT_TOKEN={token}\n"));
    let mut poller = start(&world, &api, &token, "bot.mjs");

    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let json = run.json();
    let shop = bot(&json, "shop");
    assert_eq!(pids_here(&world, shop), [poller.pid()], "{shop:#}");
    assert_eq!(shop["local"][0]["cmd"], json!(["node", "bot.mjs"]));
    assert_eq!(shop["verdict"], "ok");

    // The bot's long poll is waiting at the Bot API: the probe's poll will end it with a 409.
    assert!(
        test_support::wait_until(
            Duration::from_secs(15),
            || api.stats(&token)["long_poll_pending"] == true
        ),
        "the bot never long-polled: {}",
        poller.output()
    );
    let run = world.run(&["doctor", "shop", "--probe"]);
    assert!(run.code <= 1, "{}", run.all_output());
    // The warning is the first thing doctor says, before it probes: a Node poller may stop.
    let first = run.stderr.lines().next().unwrap_or("");
    assert!(
        first.contains("Probing for 4s")
            && first.contains("grammY or Telegraf")
            && first.contains("stops polling"),
        "doctor did not warn first: {}",
        run.all_output()
    );

    // And so it went: the framework rethrew the 409 and the bot exited.
    let mut status = None;
    assert!(
        test_support::wait_until(Duration::from_secs(15), || {
            status = poller.exited();
            status.is_some()
        }),
        "the bot survived the probe: {}",
        poller.output()
    );
    assert_eq!(status.unwrap().code(), Some(1), "{}", poller.output());
    assert!(
        poller.has_line(&format!(
            "{rejected} rejected: Conflict: terminated by other getUpdates"
        )),
        "{}",
        poller.output()
    );
    assert!(api.stats(&token)["conflicts_sent"].as_u64().unwrap() >= 1);
}

#[test]
fn status_finds_a_real_grammy_bot_and_doctor_warns_before_the_probe_stops_it() {
    the_probe_stops_a_node_poller(Poller::grammy, 41, "bot.start()");
}

#[test]
fn a_real_telegraf_bot_is_stopped_by_the_probe_too() {
    the_probe_stops_a_node_poller(Poller::telegraf, 42, "bot.launch()");
}

/// The partner bot alone (this world's `bot.py`).
fn only_partner(world: &World) -> Toml {
    Toml::new().bot(Bot::script("partner", &world.script("bot.py")))
}

#[test]
fn free_threaded_and_debug_pythons_run_instances() {
    let world = World::configured(only_partner);
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
