//! The scan and signal scripts, run here, and their output read back.

use std::path::{Path, PathBuf};

use super::scan::{MAGIC, TRAILER};
use super::*;
use crate::model::BotName;
use crate::process;
use crate::sources::identity::Wanted;
use crate::sources::supervisor;

fn bot(name: &str, script: &str) -> Bot {
    crate::config::parse(
        &format!(
            "[[bot]]\nname = \"{name}\"\nscript = \"{script}\"\ntoken_env = \"PARTNER_BOT_TOKEN\"\n"
        ),
        Path::new("botctl.toml"),
        PathBuf::from("/p"),
    )
    .unwrap()
    .bots
    .remove(0)
}

/// partner's token is "1:a".
fn wanted() -> HashMap<BotName, Wanted> {
    HashMap::from([(
        BotName::from("partner"),
        Wanted {
            var: Some("PARTNER_BOT_TOKEN".into()),
            hash: Some(identity::sha256_hex("1:a")),
        },
    )])
}

/// scan.sh's record of a token variable in a process's environment.
fn token_record(pid: u32, token: &str) -> String {
    format!(
        "t\0{pid}\0PARTNER_BOT_TOKEN\0env\0h:{}\0",
        identity::sha256_hex(token)
    )
}

/// One process: its record, and its part of the argv blob.
fn record(pid: u32, ppid: u32, uid: u32, cgroup: &str, argv: &[&str]) -> (String, String) {
    let stat = format!("{pid} (x y) S {ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0");
    let record = format!("p\0{pid}\0{stat}\0{uid}\0/srv/lb\0{cgroup}\0");
    let mut cmdline = format!("==> /proc/{pid}/cmdline <==\n");
    for a in argv {
        cmdline.push_str(a);
        cmdline.push('\0');
    }
    cmdline.push('\n');
    (record, cmdline)
}

#[test]
fn records_are_matched_by_the_local_rules() {
    let partner = bot("partner", "bot.py");
    let mut out = format!("{MAGIC}\0{}\0/home/deploy\01000\0100\0", 1001);
    out.push_str(
        "s\0passwd\x000\0root:x:0:0::/root:/bin/sh\ndeploy:x:1001:1001::/home/deploy:/bin/sh\n\0",
    );
    let processes = [
        record(
            40,
            1,
            1001,
            "0::/user.slice/session-1.scope\n",
            &["sh", "-c", "while true; do python3 bot.py; done"],
        ),
        record(41, 40, 1001, "0::/x\n", &["python3", "bot.py"]),
        record(42, 1, 1001, "0::/x\n", &["vim", "bot.py"]),
        record(43, 1, 1001, "0::/x\n", &["python3", "admin bot.py"]),
        // Exited before its argv was read: no cmdline part.
        (record(44, 1, 1001, "0::/x\n", &[]).0, String::new()),
        // Another project's bot.py (another token), and another user's (not read).
        record(45, 1, 1001, "0::/x\n", &["python3", "bot.py"]),
        record(46, 1, 2000, "0::/x\n", &["python3", "bot.py"]),
    ];
    for (record, _) in &processes {
        out.push_str(record);
    }
    out.push_str(&token_record(41, "1:a"));
    out.push_str(&token_record(45, "2:b"));
    out.push_str("s\0crontab\x000\0@reboot cd /srv/lb && python3 bot.py\n\0");
    out.push_str(
        "s\0supervisord-conf:/etc/supervisor/conf.d/lb.conf\x000\0[program:partner]\n\
command=python3 /srv/lb/bot.py\n[program:off]\ncommand=python3 bot.py\nautostart=false\n\0",
    );
    out.push_str("argv\0");
    for (_, cmdline) in &processes {
        out.push_str(cmdline);
    }
    out.push_str("==> /dev/null <==\n");
    out.push_str(TRAILER);
    let scan = parse(&out, &[&partner], &wanted()).unwrap();
    assert_eq!(scan.uid, Uid(1001));
    assert_eq!(scan.instances.len(), 1, "{:?}", scan.instances);
    let maybe: Vec<Pid> = scan.maybe.iter().map(|m| m.instance.pid).collect();
    assert_eq!(maybe, [Pid(46)], "{:?}", scan.maybe);
    let i = &scan.instances[0];
    assert_eq!((i.pid, i.user.raw()), (Pid(41), "deploy"));
    assert_eq!(i.started, crate::time::from_unix(1000 + 5));
    assert_eq!(i.cwd.as_deref(), Some(Path::new("/srv/lb")));
    let sup = i.supervisor.as_ref().expect("its loop");
    assert_eq!(sup.kind, supervisor::SupervisorKind::Loop);
    assert_eq!(sup.pid, Some(Pid(40)));
    let sources: Vec<&str> = scan
        .autostart
        .entries
        .iter()
        .map(|e| e.source.as_str())
        .collect();
    assert_eq!(sources, ["crontab", "supervisord"]);
    assert!(
        scan.autostart.entries[1]
            .entry
            .raw()
            .starts_with("[program:partner] in /etc/supervisor/conf.d/lb.conf"),
        "{:?}",
        scan.autostart.entries[1]
    );
}

#[test]
fn a_forged_record_inside_an_argv_refuses_the_answer() {
    let partner = bot("partner", "bot.py");
    let mut out = format!("{MAGIC}\0{}\0/root\01000\0100\0", 0);
    let processes = [
        // Another user's process whose argument imitates head's header for pid 60.
        record(
            50,
            1,
            2000,
            "0::/x\n",
            &["x", "\n==> /proc/60/cmdline <==\npython3", "bot.py"],
        ),
        record(60, 1, 0, "0::/x\n", &["sleep", "1000"]),
    ];
    for (record, _) in &processes {
        out.push_str(record);
    }
    out.push_str("argv\0");
    for (_, cmdline) in &processes {
        out.push_str(cmdline);
    }
    out.push_str("==> /dev/null <==\n");
    out.push_str(TRAILER);
    let e = parse(&out, &[&partner], &wanted()).unwrap_err().to_string();
    assert!(e.contains("tampered") && e.contains("process 60"), "{e}");
}

#[test]
fn the_signal_script_checks_the_command_line_again() {
    // signal.sh, run here under sh, CHECKs this test's own process: with the command line
    // the scan would have read it answers; with another one it does not.
    let me = std::process::id();
    let cmdline = std::fs::read(format!("/proc/{me}/cmdline")).unwrap();
    let right = hex_of(&String::from_utf8_lossy(&cmdline));
    let wrong = hex_of("sleep\0-1000\0");
    for (hex, expected) in [(right, me.to_string()), (wrong, String::new())] {
        let out = std::process::Command::new("sh")
            .args(["-c", SIGNAL, "sh", "CHECK", &format!("{me}:-1:{hex}")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
    }
}

#[test]
fn output_that_is_not_the_scan_is_an_error() {
    let partner = bot("partner", "bot.py");
    let e = parse("Welcome to the server\n", &[&partner], &wanted())
        .unwrap_err()
        .to_string();
    assert!(e.contains("did not run botctl's scan"), "{e}");
    let cut = format!("{MAGIC}\01000\0/h\01\0100\0p\01\0argv\0==> /proc/1/cm");
    assert!(
        parse(&cut, &[&partner], &wanted())
            .unwrap_err()
            .to_string()
            .contains("cut short")
    );
}

/// The scan script itself, run here by every POSIX shell at hand (dash and busybox sh are
/// installed by `cargo xtask setup`), sees this test's own process with its argv.
#[test]
fn the_scan_runs_under_sh_dash_and_busybox() {
    let partner = bot("partner", "bot.py");
    // Two processes whose argv names the candidate pattern: one with the token in its
    // environment, one with it only in the .env of its folder (quoted, with `export`).
    let marker = format!("600.{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "OTHER=1\r\nexport PARTNER_BOT_TOKEN = \"9:dotenv\"\r\n",
    )
    .unwrap();
    let spawn = |env: Option<&str>| {
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg(&marker)
            .current_dir(dir.path())
            .env_remove("PARTNER_BOT_TOKEN")
            .stdin(std::process::Stdio::null());
        if let Some(v) = env {
            cmd.env("PARTNER_BOT_TOKEN", v);
        }
        cmd.spawn().unwrap()
    };
    let mut procs = [spawn(Some("8:environ")), spawn(None)];
    // Once each has become `sleep` (the scan reads argv as /proc shows it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for p in &procs {
        while !std::fs::read(format!("/proc/{}/cmdline", p.id()))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let expected = [
        format!(
            "t\0{}\0PARTNER_BOT_TOKEN\0env\0h:{}\0",
            procs[0].id(),
            identity::sha256_hex("8:environ")
        ),
        format!(
            "t\0{}\0PARTNER_BOT_TOKEN\0dotenv\0h:{}\0",
            procs[1].id(),
            identity::sha256_hex("9:dotenv")
        ),
    ];
    let shells: [&[&str]; 3] = [&["sh"], &["dash"], &["busybox", "sh"]];
    let mut ran = 0;
    for shell in shells {
        let Some(program) = process::find_program(shell[0], Path::new("/")) else {
            continue;
        };
        let mut args: Vec<&str> = shell[1..].to_vec();
        args.extend(["-s", "--", "1", "PARTNER_BOT_TOKEN", &marker]);
        let out = process::run_with_input(
            &program,
            &args,
            SCAN,
            &[],
            std::time::Duration::from_secs(30),
        )
        .unwrap();
        assert!(out.success(), "{shell:?}: {}", out.stderr);
        let scan =
            parse(&out.stdout, &[&partner], &wanted()).unwrap_or_else(|e| panic!("{shell:?}: {e}"));
        assert_eq!(scan.uid, Uid::effective(), "{shell:?}");
        assert!(
            scan.seen.contains_key(&Pid::own()),
            "{shell:?} did not list this test's process"
        );
        for record in &expected {
            assert!(
                out.stdout.contains(record.as_str()),
                "{shell:?} did not hash the token: {record:?}"
            );
        }
        assert!(!out.stdout.contains("8:environ") && !out.stdout.contains("9:dotenv"));
        ran += 1;
    }
    for p in &mut procs {
        let _ = p.kill();
        let _ = p.wait();
    }
    assert!(ran > 0, "no POSIX shell found");
}
