//! Ctrl-C and SIGTERM become a flag that long waits check, so botctl can stop between steps,
//! leave the handoff state consistent, and exit 130.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// The process group of a child (the bot run by dev-start) that gets the Ctrl-C or SIGTERM
/// botctl receives. Its own group, so that `run = "cd x && python3 bot.py"` is reached whole.
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: nix::libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
    let group = FORWARD_TO.load(Ordering::SeqCst);
    if group > 0 {
        // kill(2) is async-signal-safe; a negative pid names the group.
        unsafe {
            nix::libc::kill(-group, signal);
        }
    }
}

pub fn install() {
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

/// Asks every wait and external command to end, as a Ctrl-C would (`watch` ending at `--for`).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Passes SIGINT and SIGTERM on to the process group `pgid` (None: stop passing them on).
pub fn forward_to_group(pgid: Option<u32>) {
    FORWARD_TO.store(pgid.map_or(0, |p| p as i32), Ordering::SeqCst);
}
