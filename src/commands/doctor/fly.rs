//! Fly.io: flyctl itself, the app's machines (and which Fly Proxy can start), its recent logs.

use super::evidence::LOGS_FIRST_LINE;
use super::{Context, Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::sources::fly::{FlyError, LogLine, MachineState};
use crate::survey::finding::{Check, Finding};

pub(super) fn check_flyctl(ctx: &Context, ev: &Evidence, f: &mut Findings) {
    let Some(whoami) = &ev.whoami else {
        return; // no bot has a fly_app
    };
    let problem = ctx
        .flyctl
        .installed()
        .err()
        .or_else(|| whoami.as_ref().err().cloned());
    match (problem, whoami) {
        // What cannot be read is not known: never named as the cause of a 409.
        (Some(e), _) => f.push(
            Finding::warn(
                None,
                Check::Flyctl,
                format!("cannot tell whether a bot runs on Fly.io: {e}"),
            )
            .fix_opt(e.fix()),
        ),
        (None, Ok(email)) => f.push(Finding::ok(
            None,
            Check::Flyctl,
            format!("flyctl is logged in as {email}"),
        )),
        (None, Err(_)) => {}
    }
}

pub(super) fn check_fly(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(app) = bot.app() else { return };
    fly_own_running_the_bot(bot, app, ev, f);
    match ev.survey.machines(bot) {
        Some(Err(FlyError::NotInstalled { .. } | FlyError::NotLoggedIn)) => {} // reported by "flyctl"
        Some(Err(e @ FlyError::AppNotFound { .. })) => {
            f.push(Finding::error(Some(bot), Check::Fly, e.to_string()).fix_opt(e.fix()))
        }
        // flyctl did not answer: the machines are not known, which is no cause of a 409.
        Some(Err(e)) => f.push(
            Finding::warn(
                Some(bot),
                Check::Fly,
                format!("Fly app {app} not checked: {e}"),
            )
            .fix_opt(e.fix()),
        ),
        None => {}
        Some(Ok(machines)) => {
            let started: Vec<_> = machines.iter().filter(|m| m.is_running()).collect();
            // A webhook bot's machines share Telegram's posts through Fly Proxy: no conflict.
            if started.len() >= 2 && !bot.mode.is_webhook() {
                let extra: Vec<&str> = started.iter().skip(1).map(|m| m.id.as_str()).collect();
                f.push(
                    Finding::error(
                        Some(bot),
                        Check::Fly,
                        format!(
                            "Fly app {app} has {} started machines ({}): each polls, so \
they conflict (fly deploy creates a pair unless --ha=false)",
                            started.len(),
                            started
                                .iter()
                                .map(|m| format!("{} {}", m.id, m.state))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .fix(Fix::stop_or_destroy(&extra, app)),
                );
            } else {
                f.push(Finding::ok(
                    Some(bot),
                    Check::Fly,
                    format!(
                        "Fly app {app}: {} machine(s), {} started",
                        machines.len(),
                        started.len()
                    ),
                ));
            }
            // For a webhook bot, Fly Proxy starting a machine on a post is the design.
            for m in machines.iter().filter(|m| {
                !m.is_running()
                    && m.proxy_autostart.is_on()
                    && m.state != MachineState::Destroyed
                    && !bot.mode.is_webhook()
            }) {
                f.push(
                    Finding::warn(
                        Some(bot),
                        Check::Proxy,
                        format!(
                            "machine {} of {app} is {}, but its services have autostart: \
Fly Proxy starts it again by itself when a request comes in",
                            m.id, m.state
                        ),
                    )
                    .fix(m.proxy_fix(app)),
                );
            }
        }
    }
}

pub(super) fn check_logs(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(app) = bot.app() else { return };
    let Some(Ok(logs)) = ev.logs.get(app) else {
        return;
    };
    let conflicts: Vec<&LogLine> = logs.lines.iter().filter(|l| l.is_conflict()).collect();
    let Some(last) = conflicts.last() else {
        let message = if logs.empty {
            format!(
                "the recent logs of {app} are empty (flyctl printed no line \
within {}s: its machines logged nothing lately), so no 409 \
in them",
                LOGS_FIRST_LINE.as_secs()
            )
        } else {
            format!(
                "no 409 in the recent logs of {app} ({} line(s){})",
                logs.lines.len(),
                if logs.complete {
                    ""
                } else {
                    ", still coming at the time limit"
                }
            )
        };
        return f.push(Finding::ok(Some(bot), Check::Logs, message));
    };
    let machine = last
        .machine
        .as_ref()
        .map_or_else(|| "?".into(), ToString::to_string);
    f.push(super::platform::conflicts_in_logs(
        bot,
        &conflicts,
        app.as_ref(),
        &format!(" on machine {machine}"),
    ));
}

/// A console, release-command or canary machine is never one of the bot's places, but one
/// started with the bot's own command (`fly console -C "python bot.py"`) polls all the same.
fn fly_own_running_the_bot(bot: &Bot, app: &str, ev: &Evidence, f: &mut Findings) {
    for m in ev.survey.other_machines(bot) {
        let Some(own) = m.fly_own().filter(|_| m.is_running() && m.runs(&bot.entry)) else {
            continue;
        };
        f.push(
            Finding::warn(
                Some(bot),
                Check::Fly,
                format!(
                    "{} {} of {app} is {} and runs {}'s own command: it polls beside the bot, \
though botctl does not count it as one of its places",
                    own.what(),
                    m.id,
                    m.state,
                    bot.name
                ),
            )
            .fix(Fix::stop_machines(&[m.id.as_str()], app).note("or close that fly console")),
        );
    }
}
