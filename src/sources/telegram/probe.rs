//! The conflict probe: is anybody else polling this bot right now.

use std::time::{Duration, Instant};

use super::{ApiError, BotApi, ConflictKind};

impl BotApi {
    /// The conflict probe: long polls with `limit=1`, never `offset`, never `allowed_updates`
    /// (both change the bot's state on Telegram's side), until `window` ends or a 409 comes.
    pub fn probe(&self, window: Duration) -> ProbeOutcome {
        let start = Instant::now();
        let deadline = start + window;
        let mut polls = 0;
        let mut updates_waiting = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < Duration::from_secs(1) {
                return ProbeOutcome::Clear {
                    listened: start.elapsed(),
                    polls,
                    updates_waiting,
                };
            }
            let timeout = (remaining.as_secs_f64().ceil() as u64).clamp(1, 50);
            polls += 1;
            let params = [("limit", "1".to_string()), ("timeout", timeout.to_string())];
            match self.call("getUpdates", &params, Duration::from_secs(timeout + 10)) {
                Ok(result) => {
                    if result.as_array().is_some_and(|a| !a.is_empty()) {
                        // Updates were waiting, so this call terminated nobody. Ask again.
                        updates_waiting = true;
                        std::thread::sleep(Duration::from_secs(1).min(remaining));
                    }
                }
                Err(ApiError::Conflict(ConflictKind::OtherPoller)) => {
                    return ProbeOutcome::OtherPoller {
                        after: start.elapsed(),
                    };
                }
                Err(ApiError::Conflict(ConflictKind::Webhook)) => return ProbeOutcome::Webhook,
                Err(ApiError::RateLimited { retry_after }) => {
                    std::thread::sleep(retry_after.min(remaining));
                }
                Err(e) => return ProbeOutcome::Failed(e),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOutcome {
    OtherPoller {
        after: Duration,
    },
    Webhook,
    Clear {
        listened: Duration,
        polls: u32,
        updates_waiting: bool,
    },
    Failed(ApiError),
}

/// Said before every probe: the probe's long poll ends the other poller's request with a 409,
/// which Node's frameworks treat as fatal.
pub const PROBE_WARNING: &str = "The probe long-polls getUpdates; if another poller is alive, \
Telegram interrupts its current request once with a 409. \
python-telegram-bot and aiogram poll again; a Node bot on \
grammY or Telegraf stops polling and exits on that 409 and \
must be started again.";
