//! What botctl's integration tests (`tests/it`) and `cargo xtask tour` and `bench` share: the
//! test doubles, a test's world, and the lock on the process table.
//!
//! - [`World`] (module `world`): a temp project in which the REAL botctl runs; its fake
//!   flyctl's state (`fly_state`: [`fly_apps`], [`machine`], [`with_secret`]); [`Proc`], a
//!   real process a test started (`spawn`); [`Run`], what one botctl run did (`run`); the
//!   JSON helpers ([`bot`], [`findings`], …).
//! - [`config::Toml`]: the botctl.toml of a test, built from [`config::Bot`]s and
//!   [`config::Host`]s.
//! - [`KubeApi`]: a cluster for a World (`World::kube`): the fake Kubernetes API server
//!   (`tests/fakes/kube_api.py`), the real kubectl and a kubeconfig.
//! - [`HerokuApi`]: the real Heroku CLI against a loopback fake Platform API; [`RailwayCli`]:
//!   the fake Railway CLI.
//! - [`BotApi`]: the fake Bot API server (`tests/fakes/botapi.py`) and its control API.
//! - [`PtbBot`]: a real python-telegram-bot poller (`tests/fakes/ptb_bot.py`).
//! - [`wait_until`]: wait for a condition with a deadline; tests never sleep-and-hope.
//! - [`cleanup`]: every process the suite starts is marked in its environment; a World ends
//!   its own when dropped, and `cargo xtask ci` fails on any left after the suite.
//! - [`ProcessTableLock`] at [`lock_path`]: see below.
//!
//! # The process table is shared
//!
//! botctl reads the whole process table, so it sees every `python3 bot.py` on the machine:
//! other tests', the tour's, and on a laptop the team's real bots. Two rules keep tests honest
//! and harmless:
//!
//! 1. **Assertions look only at the test's own processes.** A test picks its instances out of
//!    botctl's JSON by pid (the [`Proc`]s and [`PtbBot`]s it started) or by working folder
//!    ([`World::pids_with_arg`]: under the world's temp folder), never by counting what runs on
//!    the machine. A test whose outcome depends on how many instances exist (a verdict, an exit
//!    code, a refusal, what dev-stop stops) names its bots' scripts with [`World::script`]
//!    (`bot.py` → `bot_<world tag>.py`), a name no process outside the test has. So a stray
//!    `python3 bot.py` elsewhere changes no test's outcome, and no test ever signals it.
//! 2. **The lock serialises only tests that start or stop processes.** A World takes the lock
//!    lazily, before the first process botctl could count or signal: [`World::spawn`] and its
//!    kin, [`PtbBot::start`], and a botctl command that starts or stops bots (`dev-start`,
//!    `dev-stop`, `deploy-resume`, whose fake Fly machines may run real pollers); it holds it
//!    until it is dropped. A test that only reads (status, doctor, init, config errors) takes
//!    no lock and runs in parallel with everything: by rule 1 nothing another test starts can
//!    change its outcome. The lock is not needed for rule 1's sake (the tour, too, names its
//!    bot by path, `./bot.py`); it stays for processes because the tests of older checkouts
//!    assume nobody else starts bots while they hold it, and because it bounds how many real
//!    pollers run at once on a small machine. The fake Bot API and the fake flyctl are no bots
//!    and need no lock.
//!
//! The lock is a mutex for the threads of one test binary plus a file lock
//! ([`LOCK_FILE_NAME`] in the temp folder) for other processes.
//!
//! Tests need Linux (/proc). A test that needs root is marked `#[ignore = "needs root"]` and
//! calls [`require_root`] first; `cargo xtask ci` runs them (`--include-ignored`; CI is root).

mod botapi;
pub mod cleanup;
pub mod config;
mod fly_state;
mod heroku;
mod json;
pub mod kube;
mod lock;
mod procs;
mod ptb;
mod railway;
mod run;
mod spawn;
mod sshd;
pub mod team;
pub mod webhook;
pub mod world;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use botapi::{API_LIMIT, BotApi};
pub use fly_state::{fly_apps, machine, with_secret};
pub use heroku::{HEROKU_KEY, HerokuApi, heroku_app, heroku_cli};
pub use json::{
    ExpectFinding, Level, bot, expect_finding, findings, fix, keys, local_pids, message,
};
pub use kube::{KubeApi, SECRET_IN_ENV, kubectl};
pub use lock::{LOCK_FILE_NAME, ProcessTableLock, lock_path};
pub use procs::{
    TICK, abort_waits_when, aborted, alive, children, cmdline, is_root, kill_child, kill_group,
    pids_with_arg, require_root, wait_until,
};
pub use ptb::{Poller, PtbBot, READY_LIMIT, READY_LINE, node_fakes, venv_python3};
pub use railway::{RailwayCli, railway_project};
pub use run::{Run, run};
pub use spawn::{Proc, SLEEPER, pauser};
pub use sshd::{Sshd, free_port, host_table};
pub use team::{Laptop, fly_metadata};
pub use world::{BOTCTL_LIMIT, World};

/// What the doubles fail with: a sentence for the person.
pub type Result<T> = std::result::Result<T, String>;

/// botctl.toml with the partner bot (script `bot.py`, as the world names it) on Fly.io and no
/// Telegram (no token_env).
pub fn partner_on_fly(world: &World) -> String {
    config::Toml::new()
        .bot(config::Bot::script("partner", &world.script("bot.py")).fly_app("loyalitybot-partner"))
        .render()
}

/// A world whose botctl.toml is [`partner_on_fly`]'s, the fake flyctl holding `fly`.
pub fn partner_on_fly_with(fly: serde_json::Value) -> World {
    let world = World::configured(partner_on_fly);
    world.fly_state(fly);
    world
}

// ------------------------------------------------------------------------------------------
// Paths

/// The workspace root (this crate lives in `<root>/test-support`).
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// `tests/fakes/NAME`.
pub fn fake(name: &str) -> PathBuf {
    workspace_root().join("tests").join("fakes").join(name)
}

/// The venv's interpreter (python-telegram-bot lives there), made by `cargo xtask setup`.
pub fn venv_python() -> PathBuf {
    let p = workspace_root().join(".venv").join("bin").join("python");
    if !p.exists() {
        panic!("{} is missing: run `cargo xtask setup` first", p.display());
    }
    p
}

/// The real system Python 3 (symlinks and shims such as pyenv's resolved), used to run the
/// stdlib-only fakes and the sleeping "bots".
pub fn system_python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import os, sys; print(os.path.realpath(sys.executable))",
            ])
            .output()
            .expect("python3 must be installed to run botctl's tests");
        assert!(out.status.success(), "python3 -c failed: {out:?}");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// The botctl binary under test: `$CARGO_BIN_EXE_botctl` when cargo sets it at run time, else
/// the one cargo built for the integration tests, next to their folder
/// (`target/debug/deps/it-HASH` → `target/debug/botctl`).
pub fn botctl_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_botctl") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut dir = exe.parent().expect("the test binary's folder");
        if dir.ends_with("deps") {
            dir = dir.parent().expect("the target folder");
        }
        let bin = dir.join("botctl");
        assert!(
            bin.is_file(),
            "{} is missing: `cargo test` builds it for the integration tests",
            bin.display()
        );
        bin
    })
    .clone()
}

// ------------------------------------------------------------------------------------------
// Small helpers

/// A bot-token-shaped string (`digits:35 chars`), different for every `n`.
pub fn token(n: u32) -> String {
    let tail = format!("AAH{:X<32}", format!("test{n}x"));
    format!("{}:{}", 700_000_000 + n, tail)
}

/// A URL where nothing listens (a port that was free a moment ago).
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
