//! The step deploy-resume and deploy share: after the bot's instances were started, watch the
//! platform's recent logs (`flyctl logs`, `kubectl logs`) until its `ready_log` line appears
//! with no 409 after it.

use std::ops::ControlFlow;
use std::time::Duration;

use super::Context;
use super::steps::{Steps, wait_for};
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::outside::Outside;
use crate::sources::platform::{LogLine, Platform};
use crate::time;

/// How long the logs must stay free of 409 after the ready line.
const QUIET_AFTER_READY: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_secs(1);
/// How long one read of the recent logs may take: what it read by then is what it has.
const READ_LOGS: Duration = Duration::from_secs(5);

/// What the ready-line step reads: the bot's platform and its `ready_log` line.
pub struct ReadyLine<'a> {
    pub platform: &'a dyn Platform,
    pub ready: Option<&'a str>,
}

/// The step: the `ready_log` line stamped after `started_at` (when the instances were started,
/// or the deploy began), then [`QUIET_AFTER_READY`] without a 409. `started`: whether anything
/// was started at all (nothing to wait for otherwise).
pub fn wait_for_ready_line(
    ctx: &Context,
    bot: &Bot,
    on: ReadyLine<'_>,
    started: bool,
    started_at: u64,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Wait for the bot's ready line, with no 409 after it");
    let ready = match (on.ready, !started) {
        (None, _) => {
            step.skipped("no ready_log in botctl.toml");
            return Ok(());
        }
        (Some(_), true) => {
            step.skipped("nothing was started");
            return Ok(());
        }
        (Some(ready), false) => ready,
    };
    let mut last_seen: Vec<LogLine> = Vec::new();
    let limit = ctx.cfg.fly.wait;
    let watching = format!("watching {} logs", on.platform.kind().cli());
    let read = READ_LOGS.min(ctx.flyctl.timeout());
    let outcome = wait_for(&watching, limit, POLL * 2, || {
        let lines = on
            .platform
            .recent_logs(read, read)
            .map_err(Error::from)?
            .lines;
        if !lines.is_empty() {
            last_seen = lines.clone();
        }
        Ok(match readiness(&lines, ready, started_at) {
            Readiness::Ready { at } if time::now() >= at + QUIET_AFTER_READY.as_secs() => {
                ControlFlow::Break(Ok(at))
            }
            Readiness::Ready { .. } => ControlFlow::Continue("ready; watching for a 409".into()),
            Readiness::ConflictAfterReady(line) => ControlFlow::Break(Err(line.to_string())),
            Readiness::Waiting => ControlFlow::Continue("no ready line yet".into()),
        })
    })
    .map_err(|e| step.fail(e))?;
    match outcome {
        Some(Ok(at)) => {
            step.done(format!("\"{ready}\" at {}", time::rfc3339(at)));
            Ok(())
        }
        Some(Err(line)) => Err(step.fail(Error::StepFailed(format!(
            "the bot is up but got a 409 after it started: \
{line}\nsomething else polls with this token: botctl doctor \
{} --probe",
            bot.name
        )))),
        None => {
            let tail: Vec<String> = last_seen
                .iter()
                .rev()
                .take(10)
                .rev()
                .map(|l| l.text.to_string())
                .collect();
            Err(step.fail(Error::StepFailed(format!(
                "no \"{ready}\" line within {}s of the start. Last lines seen:\n{}",
                limit.as_secs(),
                if tail.is_empty() {
                    "(none)".to_string()
                } else {
                    tail.join("\n")
                }
            ))))
        }
    }
}

#[derive(Debug, PartialEq)]
enum Readiness {
    Waiting,
    Ready { at: u64 },
    ConflictAfterReady(Outside),
}

/// Reads the logs: the ready line stamped after the start, and any 409 after it. Two
/// seconds of clock skew between this machine and Fly are forgiven.
fn readiness(lines: &[LogLine], ready: &str, started_at: u64) -> Readiness {
    let after_start = |l: &&LogLine| l.at.is_some_and(|t| t + 2 >= started_at);
    let Some(pos) = lines
        .iter()
        .position(|l| after_start(&l) && l.message.raw().contains(ready))
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
            "2026-11-25T10:00:05Z app[a] ams [info]Бот успешно \
подключен\n2026-11-25T10:00:09Z app[a] ams [info]409 \
Conflict: terminated by other getUpdates request",
        );
        assert!(matches!(
            readiness(&conflict, "Бот успешно подключен", t0),
            Readiness::ConflictAfterReady(_)
        ));
    }
}
