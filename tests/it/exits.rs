//! How botctl ends: within a second of SIGTERM whatever it waits on, quietly on a closed pipe,
//! with an error when its output cannot be written, and with the cursor shown again after
//! Ctrl-C at a prompt.

use std::io::Read;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use test_support::config::{Bot, Toml};
use test_support::*;

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

/// A Bot API that accepts connections and never answers: botctl waits on it in a thread.
/// The counter says how many connections it has accepted (and holds).
fn silent_api() -> (
    std::net::SocketAddr,
    Arc<AtomicUsize>,
    std::thread::JoinHandle<()>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        listener.set_nonblocking(true).unwrap();
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((conn, _)) => {
                    held.push(conn);
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                // Nonblocking accept: look again shortly (this is a server loop, not a wait).
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if held.len() > 16 {
                break;
            }
        }
    });
    (addr, accepted, keep)
}

const APP: &str = "loyalitybot-partner";

#[test]
fn sigterm_ends_botctl_within_a_second_whatever_it_waits_on() {
    let (addr, accepted, _keep) = silent_api();
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&format!("http://{addr}"))
            .telegram_timeout("60s")
            .bot(partner(w).token_env("PARTNER_BOT_TOKEN"))
    });
    world.write(".env", &format!("PARTNER_BOT_TOKEN={}\n", token(31)));
    for (signal, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGINT, 130),
    ] {
        let mut child = world
            .botctl_process(&["status"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The signal comes while botctl waits on the silent Bot API.
        let before = accepted.load(Ordering::SeqCst);
        assert!(
            wait_until(Duration::from_secs(20), || accepted.load(Ordering::SeqCst)
                > before),
            "botctl never asked the Bot API"
        );
        let sent = Instant::now();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let mut status = None;
        wait_until(Duration::from_secs(10), || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("botctl did not end within 10 s of {signal}");
        };
        let took = sent.elapsed();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: {stderr}");
        assert!(
            took < Duration::from_millis(1500),
            "{signal}: took {took:?}"
        );
        assert!(stderr.contains("interrupted"), "{stderr}");
    }
}

#[test]
fn a_closed_pipe_ends_botctl_quietly() {
    let config = (0..400).fold(Toml::new(), |toml, i| {
        toml.bot(Bot::script(
            &format!("bot-{i}"),
            &format!("bots/bot_{i}_nowhere.py"),
        ))
    });
    let world = World::with_config(config);
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["doctor"],
        &["checklist"],
    ] {
        let mut child = world
            .botctl_process(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 10];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The read end is closed here (dropped), as `| head -c 10` does.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("bug"),
            "{args:?}: {stderr}"
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
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
