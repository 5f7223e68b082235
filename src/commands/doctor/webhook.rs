//! doctor's `webhook` findings for a webhook bot (`mode = "webhook"`): a webhook that is
//! missing (a polling copy deleted it), points elsewhere than `webhook_url`, reports a recent
//! delivery error, or whose pending updates grow. A polling bot keeps its own finding.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Context, Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::model::BotName;
use crate::sources::telegram::{BotApi, TokenLookup, WebhookInfo};
use crate::sources::webhook::{self, Judgement};
use crate::survey::finding::{Check, Finding};
use crate::time;
use jiff::SignedDuration;

/// A delivery error younger than this is news; an older one is history.
const RECENT: SignedDuration = SignedDuration::from_hours(1);
/// How long apart the two readings are when updates wait.
const AGAIN_AFTER: Duration = Duration::from_secs(2);

/// A webhook bot's pending updates, read twice `AGAIN_AFTER` apart.
#[derive(Debug, Clone, Copy)]
pub struct PendingTrend {
    pub before: u64,
    pub after: u64,
}

/// For each webhook bot whose updates wait, `getWebhookInfo` read twice, `AGAIN_AFTER` apart.
/// Costs nothing when no update waits.
pub(super) fn read_twice(ctx: &Context, bots: &[&Bot]) -> BTreeMap<BotName, PendingTrend> {
    let cfg = &ctx.cfg;
    std::thread::scope(|s| {
        let reads: Vec<_> = bots
            .iter()
            .filter(|b| b.mode.is_webhook())
            .filter_map(|bot| match ctx.tokens.of(bot).clone() {
                TokenLookup::Found { token, .. } => Some((bot, token)),
                _ => None,
            })
            .map(|(bot, token)| {
                let api = BotApi::new(&cfg.telegram.api, token, cfg.telegram.timeout);
                let read = s.spawn(move || {
                    let first = api.webhook_info().ok()?;
                    if first.pending_update_count == 0 {
                        return None;
                    }
                    std::thread::sleep(AGAIN_AFTER);
                    let again = api.webhook_info().ok()?;
                    Some(PendingTrend {
                        before: first.pending_update_count,
                        after: again.pending_update_count,
                    })
                });
                (bot.name.clone(), read)
            })
            .collect();
        reads
            .into_iter()
            .filter_map(|(name, h)| crate::survey::joined(h.join()).map(|w| (name, w)))
            .collect()
    })
}

pub(super) fn check(bot: &Bot, ev: &Evidence, w: &WebhookInfo, api: &str, f: &mut Findings) {
    let places = ev.survey.places(bot);
    let in_handoff = ev
        .handoffs
        .as_ref()
        .ok()
        .and_then(|s| s.handoff(&bot.name))
        .is_some();
    match webhook::judge(bot, w) {
        Judgement::Missing if in_handoff => f.push(Finding::ok(
            Some(bot),
            Check::Webhook,
            format!(
                "no webhook: dev-start deleted it for the handoff; `botctl deploy-resume {}` \
sets it again",
                bot.name
            ),
        )),
        Judgement::Missing => {
            let mut pollers: Vec<String> = places
                .local
                .iter()
                .map(|i| format!("pid {} on this machine", i.pid))
                .collect();
            pollers.extend(
                places
                    .hosts
                    .iter()
                    .map(|(h, i)| format!("pid {} on host {h}", i.pid)),
            );
            let mut message = format!(
                "{} is a webhook bot but no webhook is set: {}",
                bot.name,
                webhook::FRAMEWORKS
            );
            if !pollers.is_empty() {
                message.push_str(&format!(
                    " — {} polls with its token now",
                    pollers.join(", ")
                ));
            }
            message.push_str("; Telegram delivers nothing to Fly.io meanwhile");
            let resume = if pollers.is_empty() {
                Fix::deploy_resume(&bot.name)
            } else {
                Fix::dev_stop(&bot.name).then(Fix::deploy_resume(&bot.name))
            };
            let fix = match bot.webhook_url.as_deref() {
                Some(url) => resume.or_set_it(&webhook::set_webhook_fix(api, bot, url)),
                None => resume,
            };
            f.push(Finding::error(Some(bot), Check::Webhook, message).fix(fix));
        }
        Judgement::Elsewhere { want } => f.push(
            Finding::error(
                Some(bot),
                Check::Webhook,
                format!(
                    "the webhook points at {}, not at webhook_url {}: Telegram delivers {}'s \
updates there",
                    w.url,
                    crate::outside::shown(&want),
                    bot.name
                ),
            )
            .fix(webhook::set_webhook_fix(api, bot, &want)),
        ),
        Judgement::Set => f.push(Finding::ok(
            Some(bot),
            Check::Webhook,
            format!("webhook set: {}", w.url),
        )),
    }
    check_delivery_error(bot, ev, w, f);
    check_growth(bot, ev, f);
}

fn check_delivery_error(bot: &Bot, ev: &Evidence, w: &WebhookInfo, f: &mut Findings) {
    let Some(at) = w.last_error_date else { return };
    let ago = time::since(at).max(SignedDuration::ZERO);
    if ago > RECENT {
        return;
    }
    let message = w.last_error_message.clone().unwrap_or_default();
    let mut text = format!(
        "Telegram's last delivery to the webhook failed {} min ago: {message}",
        ago.as_secs() / 60
    );
    let machines = ev.survey.machines(bot).and_then(|m| m.as_ref().ok());
    let asleep: Vec<&str> = machines
        .into_iter()
        .flatten()
        .filter(|m| !m.is_running() && !m.proxy_autostart.is_on())
        .map(|m| m.id.as_str())
        .collect();
    let all_stopped = machines.is_some_and(|ms| ms.iter().all(|m| !m.is_running()));
    let fix = if all_stopped && !asleep.is_empty() {
        text.push_str(&format!(
            "; its machines are stopped and Fly Proxy cannot start them (no autostart: {})",
            asleep.join(", ")
        ));
        Fix::deploy_resume(&bot.name)
            .note("and auto_start_machines = true in fly.toml's [http_service]")
    } else if let Some(app) = bot.app() {
        Fix::run(&["flyctl", "logs", "--app", app])
            .note("the bot answers Telegram's posts with an error")
    } else {
        Fix::status(&bot.name).note("the bot answers Telegram's posts with an error")
    };
    f.push(Finding::error(Some(bot), Check::Webhook, text).fix(fix));
}

fn check_growth(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(&PendingTrend { before, after }) = ev.webhook_again.get(&bot.name) else {
        return;
    };
    if after > before {
        f.push(
            Finding::warn(
                Some(bot),
                Check::Pending,
                format!(
                    "pending updates grow ({before} → {after} in {}s): Telegram holds them \
because nothing takes them from the webhook",
                    AGAIN_AFTER.as_secs()
                ),
            )
            .fix(match bot.app() {
                Some(app) => {
                    Fix::status(&bot.name).then_later(&Fix::run(&["flyctl", "logs", "--app", app]))
                }
                None => Fix::status(&bot.name),
            }),
        );
    }
}
