//! Ctrl-C and SIGTERM become a flag that long waits check, so botctl can stop between steps,
//! leave the handoff state consistent, and exit 130.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// A child (the bot run by dev-start) that should receive SIGTERM when botctl gets one.
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: nix::libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
    let child = FORWARD_TO.load(Ordering::SeqCst);
    if child > 0 && signal == nix::libc::SIGTERM {
        // kill(2) is async-signal-safe.
        unsafe {
            nix::libc::kill(child, nix::libc::SIGTERM);
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

pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

pub fn forward_sigterm_to(pid: Option<u32>) {
    FORWARD_TO.store(pid.map_or(0, |p| p as i32), Ordering::SeqCst);
}
