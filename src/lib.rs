//! botctl: every place a Telegram bot polls from, and safe moves between Fly.io and a laptop.
//!
//! - `sources`: where a bot can be running (local processes, Fly machines, autostart, Telegram).
//! - `survey`: one concurrent look at all sources.
//! - `commands`: status, doctor, dev-start, dev-stop, deploy-resume, checklist, init.
//! - `ui`: the only place that writes to the terminal.
//! - `complete`: completion candidates (bot and host names) for the shell's completion hook.
//! - `config`, `state`, `exec`, `time`, `interrupt`: small and boring.

pub mod cli;
pub mod commands;
pub mod complete;
pub mod config;
pub mod error;
pub mod exec;
pub mod interrupt;
pub mod redact;
pub mod sources;
pub mod state;
pub mod survey;
pub mod time;
pub mod ui;
