//! Ctrl-C and SIGTERM become a flag that long waits check, so botctl can stop between steps,
//! leave the handoff state consistent, and exit 130.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// The signal that asked (SIGINT or SIGTERM), for the exit code (128 + signal).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The process group of a child (the bot run by dev-start) that gets the Ctrl-C or SIGTERM
/// botctl receives. Its own group, so that `run = "cd x && python3 bot.py"` is reached whole.
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: nix::libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
    REQUESTED.store(true, Ordering::SeqCst);
    let group = FORWARD_TO.load(Ordering::SeqCst);
    if group > 0 {
        // kill(2) is async-signal-safe; a negative pid names the group.
        unsafe {
            nix::libc::kill(-group, signal);
        }
    }
}

/// How long botctl may take to end after Ctrl-C or SIGTERM, whatever it was waiting on (a read
/// that cannot be interrupted, a thread in a scope join): past it, the watchdog ends the process.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// The exit code for the signal that asked: 130 for Ctrl-C, 143 for SIGTERM.
pub fn exit_code() -> i32 {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => 130,
        s => 128 + s,
    }
}

/// Installs the handlers and the watchdog. `last_words` runs just before the watchdog ends
/// the process (it says "interrupted" and restores the terminal).
pub fn install(last_words: fn()) {
    install_handlers();
    // A bot that dev-start runs gets the signal and its own time to end: dev-start waits for
    // it, so the watchdog stands aside while a group is forwarded to.
    std::thread::spawn(move || {
        let mut asked_at = None;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let forwarding = FORWARD_TO.load(Ordering::SeqCst) > 0;
            // Only a signal: `request` (watch at the end of --for) is botctl ending by itself,
            // and its summary and exit status must not be cut short by a slow reader's join.
            let signalled = SIGNAL.load(Ordering::SeqCst) != 0;
            match (signalled && !forwarding, asked_at) {
                (false, _) => asked_at = None,
                (true, None) => asked_at = Some(std::time::Instant::now()),
                (true, Some(at)) if at.elapsed() >= GRACE => {
                    last_words();
                    std::process::exit(exit_code());
                }
                (true, Some(_)) => {}
            }
        }
    });
}

fn install_handlers() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only touches atomics and calls kill(2).
        unsafe {
            let _ = sigaction(signal, &action);
        }
    }
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Asks every wait and external command to end, as a Ctrl-C would (`watch` ending at `--for`),
/// but without the watchdog: whoever asks waits for them and exits as it sees fit.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
    SIGNAL.store(0, Ordering::SeqCst);
}

/// Passes SIGINT and SIGTERM on to the process group `pgid` (None: stop passing them on).
pub fn forward_to_group(pgid: Option<crate::model::Pid>) {
    FORWARD_TO.store(pgid.map_or(0, |p| p.0 as i32), Ordering::SeqCst);
}
