//! Telegram itself, through the Bot API (reference/telegram.md): is the token valid, is a
//! webhook set, and — with the probe — is anybody else polling right now.
//!
//! The token is part of every URL, so every error that leaves this module is redacted.
//! Three jobs, one file each: the token and `.env` (`token`), the Bot API client (`api`),
//! and the conflict probe built on it (`probe`).

mod api;
mod probe;
mod token;

pub use api::{ApiError, BotApi, ConflictKind, WebhookInfo};
pub use probe::{PROBE_WARNING, ProbeOutcome};
pub use token::{DotEnv, Token, TokenLookup, token_for};
