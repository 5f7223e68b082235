//! Telegram: the token (present, valid, the expected bot), webhook, waiting updates, and
//! with `--probe` the conflict probe.

use super::{Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::sources::telegram::{ApiError, ProbeOutcome, TokenLookup};
use crate::survey::finding::{Check, Finding};
use crate::survey::judge::{self, Username};

pub(super) fn check_telegram(bot: &Bot, ev: &Evidence, api: &str, f: &mut Findings) {
    let Some(t) = ev.survey.telegram.get(&bot.name) else {
        return;
    };
    match &t.token {
        TokenLookup::NotConfigured => {
            return f.push(
                Finding::warn(
                    Some(bot),
                    Check::Token,
                    "no token_env in botctl.toml, so Telegram was not checked",
                )
                .fix(Fix::add_token_env(&bot.name)),
            );
        }
        missing @ TokenLookup::Missing { .. } => {
            let (why, fix) = missing.missing().unzip();
            return f.push(
                Finding::warn(
                    Some(bot),
                    Check::Token,
                    format!("{}, so Telegram was not checked", why.unwrap_or_default()),
                )
                .fix_opt(fix),
            );
        }
        TokenLookup::Found { .. } => {}
    }
    // The token was found (above), so token_env names where.
    let var = bot.token_env.as_deref().unwrap_or("the token's variable");
    match (judge::username(bot, &ev.survey), &t.me) {
        (Username::Mismatch { got, want }, _) => f.push(
            Finding::error(
                Some(bot),
                Check::Token,
                format!("the token in {var} belongs to @{got}, not @{want}"),
            )
            .fix(Fix::put_token_in(want, var)),
        ),
        (Username::Is(username), _) => f.push(Finding::ok(
            Some(bot),
            Check::Token,
            format!("token is valid: @{username}"),
        )),
        (_, Some(Err(e @ ApiError::Unauthorized(_)))) => f.push(
            Finding::error(Some(bot), Check::Token, e.to_string()).fix(Fix::renew_token(
                bot.token_env.as_deref().unwrap_or("the token"),
            )),
        ),
        (_, Some(Err(e))) => f.push(Finding::warn(
            Some(bot),
            Check::Token,
            format!("cannot check the token: {e}"),
        )),
        (Username::Unknown, _) => {}
    }
    if let Some(Ok(w)) = &t.webhook {
        if bot.mode.is_webhook() {
            super::webhook::check(bot, ev, w, api, f);
        } else if w.url.is_empty() {
            f.push(Finding::ok(
                Some(bot),
                Check::Webhook,
                "no webhook is set (polling mode)",
            ));
        } else {
            let mut message = format!(
                "a webhook is set ({}): every getUpdates gets 409 while it \
is, and a polling bot started with this token deletes it",
                w.url
            );
            if let Some(err) = &w.last_error_message {
                message.push_str(&format!("; its last delivery error: {err}"));
            }
            f.push(
                Finding::error(Some(bot), Check::Webhook, message)
                    .fix(Fix::delete_webhook(api, bot.token_env.as_deref())),
            );
        }
        let places = ev.survey.places(bot);
        if w.pending_update_count > 0 && places.count() == 0 {
            f.push(
                Finding::warn(
                    Some(bot),
                    Check::Pending,
                    format!(
                        "{} updates are waiting and nothing botctl can see consumes \
them (they expire after 24 hours)",
                        w.pending_update_count
                    ),
                )
                .fix(Fix::deploy_resume(&bot.name).or_run_here(&bot.name)),
            );
        } else {
            f.push(Finding::ok(
                Some(bot),
                Check::Pending,
                format!("{} updates waiting", w.pending_update_count),
            ));
        }
    }
}

pub(super) fn check_probe(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(outcome) = ev.probes.get(&bot.name) else {
        return;
    };
    let places = ev.survey.places(bot);
    match outcome {
        ProbeOutcome::OtherPoller { after } if places.count() == 0 => f.push(
            Finding::error(
                Some(bot),
                Check::Probe,
                format!(
                    "another poller answered the probe after {:.1}s, but botctl \
sees {} running nowhere: it polls from a place botctl cannot \
see (another computer, a server, a leaked token)",
                    after.as_secs_f32(),
                    bot.name
                ),
            )
            .fix(Fix::instruction(
                "find and stop it; if you cannot, revoke the token in \
@BotFather (/revoke) and update it everywhere",
            )),
        ),
        ProbeOutcome::OtherPoller { after } => f.push(Finding::ok(
            Some(bot),
            Check::Probe,
            format!(
                "a live poller answered the probe after {:.1}s (expected: {} \
runs in {} place(s))",
                after.as_secs_f32(),
                bot.name,
                places.count()
            ),
        )),
        ProbeOutcome::Clear {
            listened,
            updates_waiting,
            ..
        } => {
            let mut message = format!(
                "no other poller answered within {:.0}s",
                listened.as_secs_f32()
            );
            if *updates_waiting {
                message.push_str(
                    " (updates were waiting, so the probe could not take over the \
poll; run it again)",
                );
            }
            if places.count() > 0 && places.webhook.is_none() {
                message.push_str(&format!(
                    ", although {} should be polling from {} place(s): is it \
stuck?",
                    bot.name,
                    places.count()
                ));
                f.push(Finding::warn(Some(bot), Check::Probe, message));
            } else {
                f.push(Finding::ok(Some(bot), Check::Probe, message));
            }
        }
        ProbeOutcome::Webhook => {} // reported by "webhook"
        ProbeOutcome::Failed(e) => f.push(Finding::warn(
            Some(bot),
            Check::Probe,
            format!("the probe could not run: {e}"),
        )),
    }
}
