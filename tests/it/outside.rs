//! Round four of the red team, what comes from outside: deeply nested plists, outside fields
//! that could forge a line, run commands and script names, a symlinked `.botctl`, watch's
//! memory under a flood, and output that cannot be written.

use std::process::Stdio;

use test_support::config::{Bot, Toml};
use test_support::*;

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

// ------------------------------------------------------------------ 12. a failed write

#[test]
fn output_that_cannot_be_written_is_an_error() {
    let world = World::configured(|w| Toml::new().bot(partner(w)));
    for args in [&["status"][..], &["status", "--json"], &["doctor"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = world
            .botctl_process(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write the output: No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

// ------------------------------------------------------------------ 4. deep outside data

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

// ------------------------------------------------------------------ 7. run commands quoted

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

// ------------------------------------------------------------------ 8. a symlinked .botctl

#[test]
fn a_symlinked_dot_botctl_is_refused_by_name_and_nothing_is_made_where_it_points() {
    let app = "loyalitybot-partner";
    let world = partner_on_fly_with(fly_apps(&[(
        app,
        vec![machine("148ed193b95089", "started", Some(false))],
    )]));
    let target = world.elsewhere().join("not-botctls");
    std::fs::create_dir_all(&target).unwrap();
    std::os::unix::fs::symlink(&target, world.path(".botctl")).unwrap();
    let named = world.path(".botctl").display().to_string();
    for args in [
        &["dev-start", "partner", "--yes", "--no-run", "--no-probe"][..],
        &["exec", "partner", "--", "sh", "-c", "touch started"],
        &["deploy-resume", "partner", "--yes"],
    ] {
        let run = world.run(args);
        assert_ne!(run.code, 0, "{args:?}: {}", run.all_output());
        run.expect_stderr(&named).expect_stderr("symbolic link");
    }
    assert!(!world.path("started").exists(), "exec ran past the refusal");
    let made: Vec<_> = std::fs::read_dir(&target).unwrap().collect();
    assert!(made.is_empty(), "files made through the link: {made:?}");
    assert_eq!(
        world.fly_machines(app),
        [("148ed193b95089".to_string(), "started".to_string())],
        "a machine was stopped past the refusal"
    );
    // Reports name it too, rather than read a state through it.
    let run = world.run(&["doctor"]);
    assert!(run.all_output().contains(&named), "{}", run.all_output());
}

// ------------------------------------------------------------------ 11. watch's memory

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

// ------------------------------------------------------------------ 6. outside fields escaped

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
