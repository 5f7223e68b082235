//! Why a step of a workflow failed, for the failures the shared steps find themselves (a lock
//! not held, instances that do not settle, a webhook that is not where it should be). Each
//! `Display` is the sentence the user reads; [`Error::step`](crate::error::Error::step) wraps
//! one.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{AppName, BotName};
use crate::outside::Outside;
use crate::sources::platform::{PlatformError, Settle};

#[derive(Debug)]
pub enum StepFailure {
    /// A step that writes the handoff ran without the handoff lock.
    LockNotTaken,
    /// Instances still not stopped or started at the time limit.
    NotSettled {
        settle: Settle,
        limit: Duration,
        pending: Vec<String>,
        /// The command that shows them.
        look: String,
        bot: String,
    },
    /// A platform refused to scale to zero.
    NotScaledToZero {
        name: String,
        bot: BotName,
        source: PlatformError,
    },
    /// A workload does not run the count asked for at the time limit.
    NotRunning {
        name: String,
        want: u32,
        limit: Duration,
        /// What runs, as `id state` pairs.
        running: String,
        look: String,
    },
    /// The handoff record could not be cleared on these machines (one line each, with its
    /// retry command).
    RecordNotCleared { failed: Vec<String>, bot: BotName },
    /// The webhook set is not the one the handoff file holds.
    WebhookNotRecorded { state: PathBuf },
    /// The webhook came back after it was deleted.
    WebhookSetAgain { url: Outside, bot: BotName },
    /// Telegram's webhook is another URL than botctl.toml's.
    WebhookElsewhere { now: Outside, want: String },
    /// Telegram reports a delivery error since the start.
    Undelivered {
        at: jiff::Timestamp,
        message: Outside,
        app: Option<AppName>,
        bot: BotName,
    },
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepFailure::LockNotTaken => f.write_str("the handoff lock was not taken"),
            StepFailure::NotSettled {
                settle,
                limit,
                pending,
                look,
                bot,
            } => {
                let (secs, pending) = (limit.as_secs(), pending.join(", "));
                match settle {
                    Settle::Stopped => write!(
                        f,
                        "not stopped within {secs}s: {pending}; the bot may still \
poll there. Check `{look}`; `botctl \
deploy-resume {bot}` restores what was stopped."
                    ),
                    Settle::Started => write!(
                        f,
                        "not started within {secs}s: {pending}. See `{look}`; run `botctl \
deploy-resume {bot}` again"
                    ),
                }
            }
            StepFailure::NotScaledToZero { name, bot, source } => write!(
                f,
                "{name} was not scaled to 0: {}\n`botctl deploy-resume {bot}` scales it back",
                source.with_fix()
            ),
            StepFailure::NotRunning {
                name,
                want,
                limit,
                running,
                look,
            } => write!(
                f,
                "{name} does not run {want} within {}s (running: {}). See `{look}`",
                limit.as_secs(),
                if running.is_empty() { "none" } else { running }
            ),
            StepFailure::RecordNotCleared { failed, bot } => write!(
                f,
                "the handoff record could not be cleared, so nothing was started:\n{}\nthen run \
`botctl deploy-resume {bot}` again",
                failed.join("\n")
            ),
            StepFailure::WebhookNotRecorded { state } => write!(
                f,
                "the webhook is not recorded in {}, so it was not deleted (Telegram never gives \
back a deleted webhook's settings)",
                state.display()
            ),
            StepFailure::WebhookSetAgain { url, bot } => write!(
                f,
                "the webhook is set again ({url}): the bot on Fly may have been started again; \
`botctl deploy-resume {bot}` restores the handoff"
            ),
            StepFailure::WebhookElsewhere { now, want } => write!(
                f,
                "the webhook is {now}, not {want}: fix the bot's configuration or botctl.toml's \
webhook_url"
            ),
            StepFailure::Undelivered {
                at,
                message,
                app,
                bot,
            } => write!(
                f,
                "Telegram could not deliver to the webhook at {at}: {message}\nsee {}; `botctl \
doctor {bot}` checks the rest",
                match app {
                    Some(app) => format!("`flyctl logs --app {app}`"),
                    None => "the bot's own logs".into(),
                }
            ),
        }
    }
}

impl std::error::Error for StepFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StepFailure::NotScaledToZero { source, .. } => Some(source),
            _ => None,
        }
    }
}
