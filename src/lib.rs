//! botctl: every place a Telegram bot polls from, and safe moves between Fly.io and a laptop.
//!
//! - `sources`: where a bot can be running (local processes and their supervisors, hosts over
//!   ssh, Fly machines and other Fly apps, autostart entries, Telegram).
//! - `survey`: one concurrent look at all sources; places, verdicts and the judgments the
//!   commands share.
//! - `commands`: status, doctor, dev-start, dev-stop, deploy-resume, watch, exec, checklist,
//!   init.
//! - `ui`: the only place that writes to the terminal (through `redact`).
//! - `complete`: completion candidates (bot and host names) for the shell's completion hook.
//! - `model`: the leaf every layer shares (names, what a bot runs, a process's identity).
//! - `config`, `state`, `exec`, `files`, `outside`, `shell`, `time`, `interrupt`: small and
//!   boring.
//!
//! The library exposes what `main` and `cargo xtask man` need; everything else is the crate's
//! own, so the compiler shows what nothing uses.

mod app;
pub mod cli;
mod commands;
mod complete;
mod config;
mod error;
mod files;
mod fix;
mod interrupt;
mod model;
mod outside;
mod process;
mod redact;
mod shell;
mod sources;
mod state;
mod survey;
mod team;
mod time;
mod ui;

pub use app::main;

/// The process facts (both backends), for the test harness: its own process reads go through
/// the same module as botctl's, so the suite runs wherever botctl does.
pub mod proc {
    pub use crate::model::{Pid, Uid};
    pub use crate::sources::proc::*;
}
