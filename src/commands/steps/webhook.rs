//! The steps a webhook bot (`mode = "webhook"`) adds to the handoff. dev-start records the
//! webhook and deletes it keeping the pending updates, so the poller here receives what
//! waited; deploy-resume waits for the bot on Fly to set it again (python-telegram-bot and
//! Telegraf do), else sets it from the record and `webhook_secret_env`, and then checks that
//! Telegram delivers to it.

use std::ops::ControlFlow;
use std::time::Duration;

use super::{Mode, StepFailure, Steps, wait_for};
use crate::commands::Context;
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::fix::Fix;
use crate::model::AppName;
use crate::sources::telegram::{BotApi, TokenLookup, WebhookInfo};
use crate::sources::webhook::{self, SecretLookup, Webhook};
use crate::state;
use crate::survey::Survey;

/// After the bot's ready line, how long a bot that sets its own webhook may still take.
const AFTER_READY: Duration = Duration::from_secs(10);
/// How long deploy-resume watches the pending updates go out (or a delivery error come).
const DELIVERY: Duration = Duration::from_secs(10);
/// Telegram's clock and this machine's may differ by this much.
const SKEW: jiff::SignedDuration = jiff::SignedDuration::from_secs(2);

/// The webhook dev-start found, to delete and later restore.
pub struct WebhookFound {
    /// What deploy-resume sets again (`None`: nothing to restore).
    pub record: Option<Webhook>,
    /// Whether a webhook is set now (and so must be deleted).
    pub set: bool,
}

fn api(ctx: &Context, bot: &Bot) -> Option<BotApi> {
    match ctx.tokens.of(bot).clone() {
        TokenLookup::Found { token, .. } => Some(BotApi::new(
            &ctx.cfg.telegram.api,
            token,
            ctx.cfg.telegram.timeout,
        )),
        _ => None,
    }
}

fn no_token(bot: &Bot) -> Error {
    let var = bot.token_env.as_deref().unwrap_or("token_env");
    Error::Refused {
        message: format!(
            "{} is a webhook bot and its token is not here ({var} is not set): without it \
botctl can neither delete its webhook nor set it again",
            bot.name
        ),
        fix: Fix::append_to_dotenv(var, "token from @BotFather"),
    }
}

/// dev-start: read the webhook and what goes with it, so deploy-resume can set it whole again.
/// A custom certificate cannot be read back, so such a webhook is a refusal.
/// `lock`: the handoff lock dev-start holds (none in a dry run), through which the state is
/// read.
pub fn record(
    ctx: &Context,
    bot: &Bot,
    survey: &Survey,
    lock: Option<&state::Locked>,
    steps: &mut Steps,
) -> Result<WebhookFound> {
    let mut step =
        steps.begin("Record the webhook (url, max_connections, allowed_updates) to restore later");
    let info = match survey
        .telegram
        .get(&bot.name)
        .and_then(|t| t.webhook.as_ref())
    {
        None => return Err(step.fail(no_token(bot))),
        Some(Err(e)) => return Err(step.fail(Error::from(e.clone()))),
        Some(Ok(info)) => info,
    };
    if info.has_custom_certificate {
        return Err(step.fail(Error::Refused {
            message: format!(
                "the webhook ({}) was set with a custom certificate, which Telegram never \
gives back: botctl could not set it again after the handoff",
                info.url
            ),
            fix: Fix::webhook_by_hand(&bot.name),
        }));
    }
    let earlier = in_handoff(ctx, bot, lock);
    let record = if info.url.is_empty() {
        // An earlier dev-start deleted it and recorded it: keep that record.
        earlier.or_else(|| Webhook::configured(bot))
    } else {
        Webhook::from_info(bot, info)
    };
    let pending = info.pending_update_count;
    match (&record, info.url.is_empty()) {
        (Some(r), false) if r.url != info.url.raw() => step.warn(format!(
            "the webhook points at {}, not at webhook_url: deploy-resume will set {} \
({pending} pending updates)",
            info.url,
            r.describe()
        )),
        (Some(r), false) => step.done(format!("{} ({pending} pending updates)", r.describe())),
        (Some(r), true) => step.warn(format!(
            "no webhook is set now ({}); deploy-resume will set {}",
            webhook::FRAMEWORKS,
            r.describe()
        )),
        (None, _) => step.warn(
            "no webhook is set and botctl.toml has no webhook_url: nothing to restore; \
deploy-resume relies on the bot to set it",
        ),
    }
    Ok(WebhookFound {
        record,
        set: !info.url.is_empty(),
    })
}

/// dev-start: `deleteWebhook` without `drop_pending_updates`, so the updates that waited for
/// the webhook go to the poller here. Only once the webhook is in the handoff on disk
/// (`recorded`): Telegram never gives back what a deleted webhook was.
pub fn delete(
    ctx: &Context,
    bot: &Bot,
    found: &WebhookFound,
    recorded: Option<&state::Recorded>,
    mode: Mode,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Delete the webhook, keeping the pending updates");
    if !found.set {
        step.skipped("no webhook is set");
        return Ok(());
    }
    if mode.is_dry_run() {
        step.would("call deleteWebhook without drop_pending_updates");
        return Ok(());
    }
    let on_disk = recorded.and_then(|r| r.handoff().webhook.as_ref());
    if on_disk.is_none() || on_disk != found.record.as_ref() {
        return Err(step.fail(Error::step(StepFailure::WebhookNotRecorded {
            state: state::path(&ctx.cfg.root),
        })));
    }
    let Some(api) = api(ctx, bot) else {
        return Err(step.fail(no_token(bot)));
    };
    api.delete_webhook_keeping_updates()
        .map_err(|e| step.fail(Error::from(e)))?;
    let info = api.webhook_info().map_err(|e| step.fail(Error::from(e)))?;
    if !info.url.is_empty() {
        return Err(step.fail(Error::step(StepFailure::WebhookSetAgain {
            url: info.url,
            bot: bot.name.clone(),
        })));
    }
    step.done(format!(
        "deleted; {} pending updates kept for the poller here",
        info.pending_update_count
    ));
    Ok(())
}

/// deploy-resume's dry run: the webhook steps it would take.
pub fn would_restore(ctx: &Context, bot: &Bot, steps: &mut Steps) {
    let target = recorded(ctx, bot, None);
    steps
        .begin("Wait for the bot to set its webhook itself")
        .would(format!(
            "watch getWebhookInfo for up to {}s",
            ctx.cfg.fly.wait.as_secs()
        ));
    steps
        .begin("Set the webhook if the bot did not")
        .would(match &target {
            Some(w) => format!("setWebhook {}{}", w.describe(), secret_note(bot)),
            None => "nothing recorded and no webhook_url: nothing to set".into(),
        });
    steps
        .begin("Check that Telegram reports no delivery error since the start")
        .would("read getWebhookInfo");
}

fn secret_note(bot: &Bot) -> String {
    match &bot.webhook_secret_env {
        Some(var) => format!(" with the secret_token from {var}"),
        None => " without a secret_token (no webhook_secret_env)".into(),
    }
}

/// The webhook to restore: dev-start's record, else `webhook_url`.
fn recorded(ctx: &Context, bot: &Bot, lock: Option<&state::Locked>) -> Option<Webhook> {
    in_handoff(ctx, bot, lock).or_else(|| Webhook::configured(bot))
}

/// The webhook dev-start recorded for `bot` before deleting it: deploy-resume restores it
/// whatever else the bot has or lacks (a fly_app, `mode = "webhook"`). Through `lock` when
/// the run holds it.
pub fn in_handoff(ctx: &Context, bot: &Bot, lock: Option<&state::Locked>) -> Option<Webhook> {
    state::current(&ctx.cfg.root, lock)
        .ok()
        .and_then(|s| s.handoff(&bot.name).and_then(|h| h.webhook.clone()))
}

/// How far deploy-resume brought the bot up before its webhook is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Startup {
    /// No machine was started (none stopped, or no fly_app).
    NothingStarted,
    /// Machines were started; no ready line came (or none is configured).
    Started,
    /// Machines were started and the bot's ready line came.
    Ready,
}

/// deploy-resume, after the machines started: the webhook is set again, and delivers.
pub fn restore(
    ctx: &Context,
    bot: &Bot,
    lock: Option<&state::Locked>,
    app: Option<&AppName>,
    startup: Startup,
    started_at: jiff::Timestamp,
    steps: &mut Steps,
) -> Result<()> {
    let target = recorded(ctx, bot, lock);
    let Some(api) = api(ctx, bot) else {
        return Err(steps
            .begin("Wait for the bot to set its webhook itself")
            .fail(no_token(bot)));
    };
    let now = wait_for_the_bot(ctx, &api, app.is_some(), startup, steps)?;
    let now = match now {
        Some(info) => info,
        None => set_from_record(ctx, bot, &api, target.as_ref(), steps)?,
    };
    check_delivery(
        ctx,
        bot,
        app,
        &api,
        target.as_ref(),
        &now,
        started_at,
        steps,
    )
}

fn wait_for_the_bot(
    ctx: &Context,
    api: &BotApi,
    on_fly: bool,
    startup: Startup,
    steps: &mut Steps,
) -> Result<Option<WebhookInfo>> {
    let mut step = steps.begin("Wait for the bot to set its webhook itself");
    let first = api.webhook_info().map_err(|e| step.fail(Error::from(e)))?;
    if !first.url.is_empty() {
        step.done(if startup != Startup::NothingStarted {
            format!("the bot set it: {}", first.url)
        } else {
            format!("already set: {}", first.url)
        });
        return Ok(Some(first));
    }
    if !on_fly {
        step.skipped("no fly_app: nothing botctl starts will set it");
        return Ok(None);
    }
    if startup == Startup::NothingStarted {
        step.skipped(
            "no machine was started (Fly Proxy starts one on Telegram's first post), so nobody \
will set it",
        );
        return Ok(None);
    }
    // A bot that sets its own webhook does it as it starts: once its ready line came, a short
    // grace is enough, and a grammY or aiogram bot does not keep deploy-resume for the whole wait.
    let limit = if startup == Startup::Ready {
        AFTER_READY.min(ctx.cfg.fly.wait)
    } else {
        ctx.cfg.fly.wait
    };
    let set = wait_for(
        "waiting for the webhook",
        limit,
        Duration::from_secs(1),
        || {
            let info = api.webhook_info().map_err(Error::from)?;
            Ok(if info.url.is_empty() {
                ControlFlow::Continue("no webhook yet".into())
            } else {
                ControlFlow::Break(info)
            })
        },
    )
    .map_err(|e| step.fail(e))?;
    match set {
        Some(info) => {
            step.done(format!("the bot set it: {}", info.url));
            Ok(Some(info))
        }
        None => {
            step.done(format!(
                "not within {}s (python-telegram-bot's run_webhook and Telegraf's launch set it; \
grammY and aiogram leave it to you)",
                limit.as_secs()
            ));
            Ok(None)
        }
    }
}

fn set_from_record(
    ctx: &Context,
    bot: &Bot,
    api: &BotApi,
    target: Option<&Webhook>,
    steps: &mut Steps,
) -> Result<WebhookInfo> {
    let mut step = steps.begin("Set the webhook from the handoff record (or webhook_url)");
    let Some(target) = target else {
        return Err(step.fail(Error::Refused {
            message: format!(
                "{} has no webhook: dev-start recorded none and botctl.toml has no webhook_url",
                bot.name
            ),
            fix: Fix::add_webhook_url(&bot.name),
        }));
    };
    let (secret, note) = match webhook::secret_for(bot, &ctx.dotenv) {
        SecretLookup::Found(secret) => (
            Some(secret),
            format!(
                " with the secret_token from {}",
                bot.webhook_secret_env.as_deref().unwrap_or_default()
            ),
        ),
        SecretLookup::NotConfigured => (
            None,
            "\nno webhook_secret_env in botctl.toml: set without a secret_token, so Telegram \
sends no X-Telegram-Bot-Api-Secret-Token header, which the bot may reject"
                .to_string(),
        ),
        SecretLookup::Missing { var, why } => {
            return Err(step.fail(Error::Refused {
                message: format!(
                    "{why}: the webhook would be set without its secret_token and the bot \
would reject Telegram's posts"
                ),
                fix: Fix::append_to_dotenv(&var, "the secret_token the bot checks")
                    .then_later(&Fix::deploy_resume(&bot.name)),
            }));
        }
    };
    target
        .set(api, secret.as_ref())
        .map_err(|e| step.fail(Error::from(e)))?;
    let info = api.webhook_info().map_err(|e| step.fail(Error::from(e)))?;
    let line = format!("set {}{note}", target.describe());
    if secret.is_none() {
        step.warn(line);
    } else {
        step.done(line);
    }
    Ok(info)
}

#[allow(clippy::too_many_arguments)] // the facts of one step, each named
fn check_delivery(
    ctx: &Context,
    bot: &Bot,
    app: Option<&AppName>,
    api: &BotApi,
    target: Option<&Webhook>,
    now: &WebhookInfo,
    started_at: jiff::Timestamp,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Check that Telegram reports no delivery error since the start");
    if let Some(want) = target.filter(|w| w.url != now.url.raw()) {
        return Err(step.fail(Error::step(StepFailure::WebhookElsewhere {
            now: now.url.clone(),
            want: want.url.to_string(),
        })));
    }
    let fresh_error = |info: &WebhookInfo| {
        info.last_error_date
            .filter(|d| *d + SKEW >= started_at)
            .map(|d| (d, info.last_error_message.clone().unwrap_or_default()))
    };
    // Pending updates go out at once; their delivery shows whether the bot takes them.
    let mut last = now.clone();
    let outcome = wait_for(
        "watching the webhook's delivery",
        DELIVERY.min(ctx.cfg.fly.wait),
        Duration::from_secs(1),
        || {
            last = api.webhook_info().map_err(Error::from)?;
            Ok(match fresh_error(&last) {
                Some(e) => ControlFlow::Break(Err(e)),
                None if last.pending_update_count == 0 => ControlFlow::Break(Ok(())),
                None => {
                    ControlFlow::Continue(format!("{} pending updates", last.pending_update_count))
                }
            })
        },
    )
    .map_err(|e| step.fail(e))?;
    match outcome {
        Some(Err((at, message))) => Err(step.fail(Error::step(StepFailure::Undelivered {
            at,
            message,
            app: app.cloned(),
            bot: bot.name.clone(),
        }))),
        Some(Ok(())) => {
            step.done(format!("{}: no delivery error, no update waiting", now.url));
            Ok(())
        }
        None => {
            step.warn(format!(
                "{}: no delivery error yet, but {} updates are still waiting",
                now.url, last.pending_update_count
            ));
            Ok(())
        }
    }
}
