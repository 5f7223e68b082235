//! `botctl deploy-resume`: hand bots back to Fly.io. Refuse while a local copy runs, start the
//! machines the handoff recorded, wait until they are started and the bot says it is ready
//! with no 409 after it, then clear the handoff.

use std::ops::ControlFlow;
use std::time::Duration;

use super::Context;
use super::steps::{Steps, wait_for, wait_for_machines};
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::sources::fly::LogLine;
use crate::sources::local;
use crate::{state, time, ui};

/// How long the logs must stay free of 409 after the ready line.
const QUIET_AFTER_READY: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_secs(1);

pub fn run(ctx: &Context, names: &[String], yes: bool, dry_run: bool) -> Result<i32> {
    let bots: Vec<&Bot> = ctx
        .cfg
        .select(names)?
        .into_iter()
        .filter(|b| b.fly_app.is_some())
        .collect();
    if bots.is_empty() {
        return Err(Error::Usage(
            "none of these bots has a fly_app in botctl.toml: nothing to resume".into(),
        ));
    }
    for bot in bots {
        resume(ctx, bot, yes, dry_run)?;
    }
    Ok(0)
}

pub fn resume(ctx: &Context, bot: &Bot, yes: bool, dry_run: bool) -> Result<()> {
    let app = bot.fly_app.as_deref().unwrap_or_default();
    let fly = &ctx.flyctl;
    let mut steps = Steps::new(
        &format!(
            "deploy-resume {}: hand the bot back to Fly app {app}",
            bot.name
        ),
        dry_run,
    );

    let mut step = steps.begin(&format!("Refuse while {} runs on this machine", bot.name));
    let local = local::scan(&[bot], &ctx.cfg.root).map_err(|e| step.fail(Error::StepFailed(e)))?;
    if !local.is_empty() {
        let me = nix::unistd::getuid().as_raw();
        let pids = |list: &[&local::Instance]| {
            list.iter()
                .map(|i| i.pid.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (mine, others): (Vec<&local::Instance>, Vec<&local::Instance>) =
            local.iter().partition(|i| i.uid == Some(me));
        // dev-stop only stops this user's processes: another user's copy needs that user.
        let fix = match (mine.is_empty(), others.first()) {
            (false, None) => format!("botctl dev-stop {}", bot.name),
            (true, Some(other)) => format!(
                "ask {0} to stop it (as {0}: botctl dev-stop {1}), or as root: kill {2}",
                other.user,
                bot.name,
                pids(&others)
            ),
            (_, _) => format!(
                "botctl dev-stop {0}   # and for the other users' copies, as root: kill {1}",
                bot.name,
                pids(&others)
            ),
        };
        return Err(step.fail(Error::Refused {
            message: format!(
                "{} still runs here ({}): starting Fly.io now would make two pollers",
                bot.name,
                local
                    .iter()
                    .map(|i| format!("pid {} of {}", i.pid, i.user))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix,
        }));
    }
    step.done("no local instance");

    let mut step = steps.begin("Choose the machines to start");
    let lock = if dry_run {
        None
    } else {
        Some(state::lock(&ctx.cfg.root).map_err(|e| step.fail(e))?)
    };
    let recorded = state::read(&ctx.cfg.root).map_err(|e| step.fail(e))?;
    let handoff = recorded
        .handoff(&bot.name)
        .filter(|h| h.app == app)
        .cloned();
    let machines = fly.machines(app).map_err(|e| step.fail(e.into()))?;
    let present = |id: &String| machines.iter().any(|m| &m.id == id);
    let stopped: Vec<String> = machines
        .iter()
        .filter(|m| m.state == "stopped" || m.state == "suspended")
        .map(|m| m.id.clone())
        .collect();
    let (origin, targets, left): (String, Vec<String>, Vec<String>) = match &handoff {
        Some(h) => (
            format!("recorded by dev-start ({} at {})", h.by, h.at),
            h.machines
                .iter()
                .filter(|id| present(id))
                .cloned()
                .collect(),
            Vec::new(),
        ),
        // Without a record, start one stopped machine, not all: a polling bot must run on
        // exactly one, and the others may be Fly's stopped standby.
        None => (
            "no handoff recorded: one of the app's stopped machines".to_string(),
            stopped.iter().take(1).cloned().collect(),
            stopped.iter().skip(1).cloned().collect(),
        ),
    };
    let describe = |id: &String| {
        machines
            .iter()
            .find(|m| &m.id == id)
            .map(|m| format!("{} ({}, {})", m.id, m.state, m.region))
            .unwrap_or_default()
    };
    let mut detail = format!(
        "{origin}: {}",
        if targets.is_empty() {
            "none".to_string()
        } else {
            targets.iter().map(describe).collect::<Vec<_>>().join(", ")
        }
    );
    if let Some(h) = &handoff {
        let gone: Vec<&String> = h.machines.iter().filter(|id| !present(id)).collect();
        if !gone.is_empty() {
            detail.push_str(&format!(
                "\nno longer in the app, skipped: {}",
                gone.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if !left.is_empty() {
        detail.push_str(&format!(
            "\nleft stopped: {} (start one by hand if you mean it: flyctl machine start ID --app {app})",
            left.join(", ")
        ));
    }
    step.done(detail);

    let mut step = steps.begin(&format!("Start them on {app}"));
    if dry_run {
        step.would(if targets.is_empty() {
            "start nothing".to_string()
        } else {
            format!("flyctl machine start {} --app {app}", targets.join(" "))
        });
        return Ok(());
    }
    let started_at = time::now();
    if targets.is_empty() {
        step.skipped("nothing to start");
    } else {
        ui::confirm(
            &format!("Start machine(s) {} of {app}?", targets.join(", ")),
            yes,
        )
        .map_err(|e| step.fail(e))?;
        for id in &targets {
            if machines.iter().any(|m| &m.id == id && m.is_running()) {
                continue;
            }
            fly.start(app, id).map_err(|e| step.fail(e.into()))?;
        }
        step.done(format!("asked Fly to start {}", targets.join(", ")));
    }

    let mut step = steps.begin("Wait until Fly reports them started");
    if !targets.is_empty() {
        let wait = ctx.cfg.fly.wait;
        let pending =
            wait_for_machines(fly, app, &targets, &["started"], wait).map_err(|e| step.fail(e))?;
        if !pending.is_empty() {
            return Err(step.fail(Error::StepFailed(format!(
                "not started within {}s: {}. See `flyctl machine list --app {app}`; run `botctl deploy-resume {}` again",
                wait.as_secs(),
                pending.join(", "),
                bot.name
            ))));
        }
        step.done("started");
    } else {
        step.skipped("nothing was started");
    }

    let mut step = steps.begin("Wait for the bot's ready line, with no 409 after it");
    match (&bot.ready_log, targets.is_empty()) {
        (None, _) => step.skipped("no ready_log in botctl.toml"),
        (Some(_), true) => step.skipped("nothing was started"),
        (Some(ready), false) => {
            let mut last_seen: Vec<LogLine> = Vec::new();
            let limit = ctx.cfg.fly.wait;
            let outcome = wait_for("watching flyctl logs", limit, POLL * 2, || {
                let lines = fly
                    .logs(app, Duration::from_secs(5).min(fly.timeout()))
                    .map_err(Error::from)?;
                if !lines.is_empty() {
                    last_seen = lines.clone();
                }
                Ok(match readiness(&lines, ready, started_at) {
                    Readiness::Ready { at } if time::now() >= at + QUIET_AFTER_READY.as_secs() => {
                        ControlFlow::Break(Ok(at))
                    }
                    Readiness::Ready { .. } => {
                        ControlFlow::Continue("ready; watching for a 409".into())
                    }
                    Readiness::ConflictAfterReady(line) => {
                        ControlFlow::Break(Err(ui::shown(&line).into_owned()))
                    }
                    Readiness::Waiting => ControlFlow::Continue("no ready line yet".into()),
                })
            })
            .map_err(|e| step.fail(e))?;
            match outcome {
                Some(Ok(at)) => step.done(format!("\"{ready}\" at {}", time::rfc3339(at))),
                Some(Err(line)) => {
                    return Err(step.fail(Error::StepFailed(format!(
                        "the bot is up but got a 409 after it started: {line}\nsomething else polls with this token: botctl doctor {} --probe",
                        bot.name
                    ))));
                }
                None => {
                    let tail: Vec<String> = last_seen
                        .iter()
                        .rev()
                        .take(10)
                        .rev()
                        .map(|l| ui::shown(&l.text).into_owned())
                        .collect();
                    return Err(step.fail(Error::StepFailed(format!(
                        "no \"{ready}\" line within {}s of the start. Last lines seen:\n{}",
                        limit.as_secs(),
                        if tail.is_empty() {
                            "(none)".to_string()
                        } else {
                            tail.join("\n")
                        }
                    ))));
                }
            }
        }
    }

    let mut step = steps.begin("Clear the handoff");
    if let Some(lock) = &lock {
        let mut st = lock.load().map_err(|e| step.fail(e))?;
        if st.handoff(&bot.name).is_some() {
            st.clear(&bot.name);
            lock.save(&st).map_err(|e| step.fail(e))?;
            step.done(format!("{} is back on Fly.io", bot.name));
        } else {
            step.skipped("none was recorded");
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
enum Readiness {
    Waiting,
    Ready { at: u64 },
    ConflictAfterReady(String),
}

/// Reads the logs: the ready line stamped after the start, and any 409 after it. Two
/// seconds of clock skew between this machine and Fly are forgiven.
fn readiness(lines: &[LogLine], ready: &str, started_at: u64) -> Readiness {
    let after_start = |l: &&LogLine| l.at.is_some_and(|t| t + 2 >= started_at);
    let Some(pos) = lines
        .iter()
        .position(|l| after_start(&l) && l.message.contains(ready))
    else {
        return Readiness::Waiting;
    };
    if let Some(c) = lines[pos..].iter().find(|l| l.is_conflict()) {
        return Readiness::ConflictAfterReady(c.text.clone());
    }
    Readiness::Ready {
        at: lines[pos].at.unwrap_or(started_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fly::parse_log_line;

    fn lines(text: &str) -> Vec<LogLine> {
        text.lines().filter_map(parse_log_line).collect()
    }

    #[test]
    fn ready_after_start_only() {
        let t0 = time::parse_rfc3339("2026-11-25T10:00:00Z").unwrap();
        let old = lines("2026-11-25T09:00:00Z app[a] ams [info]Бот успешно подключен");
        assert_eq!(
            readiness(&old, "Бот успешно подключен", t0),
            Readiness::Waiting
        );
        let new = lines("2026-11-25T10:00:05Z app[a] ams [info]Бот успешно подключен");
        assert_eq!(
            readiness(&new, "Бот успешно подключен", t0),
            Readiness::Ready { at: t0 + 5 }
        );
        let conflict = lines(
            "2026-11-25T10:00:05Z app[a] ams [info]Бот успешно подключен\n2026-11-25T10:00:09Z app[a] ams [info]409 Conflict: terminated by other getUpdates request",
        );
        assert!(matches!(
            readiness(&conflict, "Бот успешно подключен", t0),
            Readiness::ConflictAfterReady(_)
        ));
    }
}
