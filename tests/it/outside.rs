//! What comes from outside botctl is data, never a command nor a line of its own: other
//! processes' argv, a loop's text, Bot API answers, pm2 dumps, machine regions and states are
//! printed escaped; deeply nested plists and endless flyctl lines are cut off by name, not a
//! crash; a script name is one word of a run command; watch's memory stays bounded under a flood.

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use test_support::config::{Bot, Toml};
use test_support::*;

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

/// A binary plist of `depth` arrays, each holding the next (4-byte refs and offsets).
fn deep_binary_plist(depth: u32) -> Vec<u8> {
    let mut out = b"bplist00".to_vec();
    let mut offsets = Vec::new();
    for i in 0..depth {
        offsets.push(out.len() as u32);
        out.push(0xA1);
        out.extend((i + 1).to_be_bytes());
    }
    offsets.push(out.len() as u32);
    out.push(0xA0);
    let table = out.len() as u64;
    for offset in offsets {
        out.extend(offset.to_be_bytes());
    }
    out.extend([0u8; 6]);
    out.extend([4u8, 4]);
    out.extend(u64::from(depth + 1).to_be_bytes());
    out.extend(0u64.to_be_bytes());
    out.extend(table.to_be_bytes());
    out
}

#[test]
fn a_plist_nested_deeper_than_its_limit_is_unreadable_by_name_not_a_crash() {
    let world = World::configured(|w| Toml::new().bot(partner(w)));
    // Both under the 1 MiB cap on files read from outside.
    let depth = 65_000;
    let xml = world.add_launch_agent(
        "deep.plist",
        &format!(
            "<?xml version=\"1.0\"?><plist version=\"1.0\">{}{}</plist>",
            "<array>".repeat(depth),
            "</array>".repeat(depth)
        ),
    );
    let binary = world.home().join("Library/LaunchAgents/deep-binary.plist");
    std::fs::write(&binary, deep_binary_plist(60_000)).unwrap();
    assert!(std::fs::metadata(&xml).unwrap().len() < 1 << 20);
    assert!(std::fs::metadata(&binary).unwrap().len() < 1 << 20);
    for args in [&["status"][..], &["doctor"], &["checklist"]] {
        let run = world.run(args);
        assert!(
            matches!(run.code, 0 | 1),
            "{args:?} exited {}\n{}",
            run.code,
            run.all_output()
        );
        for path in [&xml, &binary] {
            let said = format!("{} is unreadable: nested deeper than", path.display());
            assert!(
                run.all_output().contains(&said),
                "{args:?} lacks {said:?}:\n{}",
                run.all_output()
            );
        }
    }
}

#[test]
fn the_default_run_takes_a_script_name_as_one_word_and_runs_nothing_else() {
    let world = World::new();
    let spaced = world.script("my bot.py");
    let dollar = world.script("x$(touch INJECTED).py");
    world.write_config(
        Toml::new()
            .bot(Bot::script("spaced", &spaced))
            .bot(Bot::script("dollar", &dollar)),
    );
    for (bot, script) in [("spaced", &spaced), ("dollar", &dollar)] {
        world.write(script, &format!("open('ran-{bot}', 'w').write('ran')\n"));
        let run = world.run(&["exec", bot]);
        run.expect_code(0);
        assert!(
            world.path(&format!("ran-{bot}")).exists(),
            "{bot}: the script did not run\n{}",
            run.all_output()
        );
    }
    assert!(
        !world.path("INJECTED").exists(),
        "a script's name was run as shell syntax"
    );
}

const APP: &str = "loyalitybot-partner";

/// A world whose flyctl lists no machine and whose `logs` stream is `flood.py` (Python).
fn watched_by_a_flood(flood: impl FnOnce(&World) -> String) -> World {
    let world = World::new();
    let program = world.write("flood.py", &flood(&world));
    let flyctl = world.write(
        "flood-flyctl",
        &format!(
            "#!/bin/sh\ncase \"$1\" in\n  logs) exec python3 '{}' ;;\n  *) echo '[]' ;;\nesac\n",
            program.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&flyctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    world.write_config(
        Toml::new()
            .flyctl(flyctl.to_str().unwrap())
            .bot(partner(&world).fly_app(APP)),
    );
    world
}

/// What one `botctl watch` run did, and the most memory it held (VmHWM, in KiB).
struct Watched {
    code: Option<i32>,
    /// The last lines of stdout (a flood of events is read and let go).
    tail: String,
    /// Its `logs` events about dropped lines, whenever they came.
    dropped: Vec<String>,
    stderr: String,
    peak_kib: u64,
}

/// Runs `botctl ARGS`, measuring its memory; its stdout is read only once `ready` says so (a
/// reader slower than the stream, as a paused pager is).
fn watch_measured(
    world: &World,
    args: &[&str],
    limit: std::time::Duration,
    ready: impl FnOnce() + Send + 'static,
) -> Watched {
    use std::io::Read;
    let mut child = world
        .botctl_process(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let read = std::thread::spawn(move || {
        ready();
        let (mut pending, mut tail, mut dropped) = (Vec::new(), Vec::new(), Vec::new());
        let mut chunk = vec![0u8; 1 << 16];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            pending.extend_from_slice(&chunk[..n]);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line).trim_end().to_string();
                if line.contains("\"trouble\":\"dropped\"") {
                    dropped.push(line.clone());
                }
                tail = line.into_bytes();
            }
        }
        (String::from_utf8_lossy(&tail).into_owned(), dropped)
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = format!("/proc/{}/status", child.id());
    let deadline = std::time::Instant::now() + limit;
    let mut peak_kib = 0;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("watch did not end within {limit:?}");
        }
        let hwm = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        peak_kib = peak_kib.max(hwm);
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (tail, dropped) = read.join().unwrap();
    Watched {
        code,
        tail,
        dropped,
        stderr: errors.join().unwrap(),
        peak_kib,
    }
}

/// Generous: what botctl needs is a few dozen MiB; unbounded, these floods take gigabytes.
const WATCH_PEAK_KIB: u64 = 200 * 1024;

#[test]
fn six_thousand_distinct_64k_409_lines_keep_watch_within_bounded_memory() {
    let world = watched_by_a_flood(|_| {
        "import datetime, sys, time\n\
         now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')\n\
         out = sys.stdout.buffer\n\
         for i in range(6000):\n\
         \x20   out.write(f'{now} app[148ed193b95089] ams [info]telegram.error.Conflict: terminated by other getUpdates request {i:05} '.encode() + b'x' * 65000 + b'\\n')\n\
         out.flush()\n\
         time.sleep(3600)\n"
            .into()
    });
    let run = watch_measured(
        &world,
        &["watch", "--json", "--for", "15s"],
        std::time::Duration::from_secs(90),
        || {},
    );
    assert!(
        run.code == Some(1) && run.tail.contains("\"event\":\"summary\""),
        "exit {:?}, last line {:.300}\n{}",
        run.code,
        run.tail,
        run.stderr
    );
    assert!(
        run.peak_kib < WATCH_PEAK_KIB,
        "watch held {} MiB",
        run.peak_kib / 1024
    );
}

#[test]
fn a_log_stream_faster_than_watch_drops_lines_says_so_and_for_ends_with_the_summary() {
    // Distinct 409 lines, each an event to print; the flood says how much it has written.
    let mut written = std::path::PathBuf::new();
    let world = watched_by_a_flood(|world| {
        written = world.path("written");
        format!(
            "import datetime, os, sys\n\
         now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')\n\
         out, i, total = sys.stdout.buffer, 0, 0\n\
         while True:\n\
         \x20   i += 1\n\
         \x20   line = f'{{now}} app[148ed193b95089] ams [info]Conflict: terminated by other getUpdates request {{i:09}} '.encode() + b'y' * 65000 + b'\\n'\n\
         \x20   out.write(line)\n\
         \x20   total += len(line)\n\
         \x20   if i % 16 == 0:\n\
         \x20       open('{0}.tmp', 'w').write(str(total))\n\
         \x20       os.replace('{0}.tmp', '{0}')\n",
            written.display()
        )
    });
    // Nothing of watch's output is read until the stream has sent more than watch may hold
    // (its 16 MiB queue, 64 lines in the watcher's, the pipes): from then on it must drop.
    let ready = move || {
        let enough = 24 << 20;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::fs::read_to_string(&written)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .is_none_or(|n| n < enough)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the flood did not get {enough} bytes out within 20s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let run = watch_measured(
        &world,
        &["watch", "--json", "--for", "25s"],
        std::time::Duration::from_secs(90),
        ready,
    );
    assert!(
        run.peak_kib < WATCH_PEAK_KIB,
        "watch held {} MiB",
        run.peak_kib / 1024
    );
    assert!(
        run.code == Some(1) && run.tail.contains("\"event\":\"summary\""),
        "exit {:?}, last line {:.300}\n{}",
        run.code,
        run.tail,
        run.stderr
    );
    assert!(
        run.dropped.iter().any(|e| e.contains("dropped unread")),
        "no word of dropped lines; last line {:.300}",
        run.tail
    );
}

/// No line of `text` is one that outside text forged.
#[track_caller]
fn assert_nothing_forged(text: &str, what: &str) {
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("FORGED"),
            "{what}: a forged line reached the output:\n{text}"
        );
    }
}

#[test]
fn a_machines_region_and_unknown_state_print_escaped_in_every_command() {
    let mut started = machine("148ed193b95089", "started", Some(false));
    started["region"] = "ams\nFORGED: 0 machines started, all clear".into();
    let odd = machine(
        "e7843d9b0e1d28",
        "hibernating\nFORGED: handoff complete",
        Some(false),
    );
    let world = partner_on_fly_with(fly_apps(&[(APP, vec![started, odd])]));
    for args in [
        &["status"][..],
        &["doctor"],
        &["checklist"],
        &["exec", "partner", "--", "true"],
        &["watch", "--for", "1s"],
    ] {
        let run = world.run(args);
        let all = run.all_output();
        assert_nothing_forged(&all, &args.join(" "));
        if matches!(args[0], "status" | "exec") {
            assert!(
                all.contains("ams\\nFORGED: 0 machines started"),
                "{args:?}: the region is not shown escaped:\n{all}"
            );
        }
        if args[0] == "watch" {
            assert!(
                all.contains("hibernating\\nFORGED: handoff complete"),
                "{args:?}: the state is not shown escaped:\n{all}"
            );
        }
    }
    // JSON carries them as they are (serde escapes them).
    let json = world.run(&["status", "--json"]).json();
    let machines = &json["bots"][0]["fly"]["machines"];
    assert_eq!(
        machines[0]["region"],
        "ams\nFORGED: 0 machines started, all clear"
    );
    assert_eq!(
        machines[1]["state"],
        "hibernating\nFORGED: handoff complete"
    );
}

/// The partner bot alone (this world's `bot.py`).
fn only_partner(world: &World) -> Toml {
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

#[test]
fn escape_sequences_in_other_processes_argv_are_shown_escaped() {
    let world = World::configured(only_partner);
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
fn a_forged_line_in_a_loops_text_stays_inside_its_line() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let code = format!(
        "while true; do python3 {script}; sleep 1; done\n: FORGED: 9. All bots stopped, nothing left"
    );
    let shell = world.spawn(&["sh", "-c", &code], world.root());
    shell.wait_child(&["python3", &script]);
    let run = world.run(&["dev-stop", "--yes", "--grace", "2s"]);
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        assert!(
            !line.trim_start().starts_with(": FORGED") && !line.contains('\u{1b}'),
            "a forged line reached the output:\n{}",
            run.all_output()
        );
    }
    assert!(run.stdout.contains("\\n: FORGED"), "{}", run.stdout);
}

#[test]
fn colour_and_newlines_from_the_bot_api_are_escaped_off_a_terminal() {
    let token = token(32);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    api.set_webhook(&token, "https://example.com/hook\u{1b}[8m\nFORGED line");
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&api.url())
            .bot(partner(w).token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={token}\n"));
    for args in [&["status"][..], &["doctor"]] {
        let run = world.run(args);
        let out = run.all_output();
        assert!(
            !out.contains('\u{1b}'),
            "{args:?} printed a raw ESC:\n{out}"
        );
        assert!(
            !out.lines().any(|l| l.starts_with("FORGED")),
            "{args:?}:\n{out}"
        );
    }
    // JSON keeps the text as it is, escaped by serde.
    let json: Value = world.run(&["status", "--json"]).json();
    let hook = bot(&json, "partner")["telegram"]["webhook"]
        .as_str()
        .unwrap_or("");
    assert!(hook.contains("FORGED"), "{json:#}");
}

/// A saved pm2 list (`pm2 save`) whose app name forges a line and hides text: the entry is
/// shown escaped and its fix quotes the name for the shell.
#[test]
fn a_pm2_dump_entry_is_escaped_and_its_fix_quoted() {
    let world = World::configured(partner);
    let name = "x; touch /tmp/INJECTED #\n\u{1b}[8mFORGED";
    let dump = serde_json::json!([{
        "name": name,
        "pm_exec_path": format!("/srv/{}", world.script("bot.py")),
        "exec_interpreter": "python3",
    }]);
    std::fs::create_dir_all(world.home().join(".pm2")).unwrap();
    std::fs::write(world.home().join(".pm2/dump.pm2"), dump.to_string()).unwrap();
    let run = world.run(&["doctor"]);
    let out = run.all_output();
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("FORGED")), "{out}");
    assert!(
        out.contains("pm2 delete $'x; touch /tmp/INJECTED #\\n\\x1b[8mFORGED'"),
        "{out}"
    );
}
