//! The step deploy-resume and deploy share: after the bot's instances were started, follow the
//! platform's logs (`flyctl logs`, `kubectl logs -f`) until its `ready_log` line appears with
//! no 409 after it.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::Context;
use super::steps::{Steps, wait_for};
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::interrupt;
use crate::model::{BotName, PlatformKind};
use crate::outside::Outside;
use crate::process::Next;
use crate::sources::fly::{LogLine, logs_failed};
use crate::sources::platform::{LogStream, Platform, PlatformError};
use crate::time;
use jiff::{SignedDuration, Timestamp};

/// How long the logs must stay free of 409 after the ready line.
const QUIET_AFTER_READY: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_secs(1);

/// What the ready-line step reads: the bot's platform and its `ready_log` line.
pub struct ReadyLine<'a> {
    pub platform: &'a dyn Platform,
    pub ready: Option<&'a str>,
}

/// The step: the `ready_log` line stamped after `started_at` (when the instances were started,
/// or the deploy began), then [`QUIET_AFTER_READY`] without a 409. No `started_at`: nothing
/// was started at all (nothing to wait for).
pub fn wait_for_ready_line(
    ctx: &Context,
    bot: &Bot,
    on: ReadyLine<'_>,
    started_at: Option<Timestamp>,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Wait for the bot's ready line, with no 409 after it");
    let (ready, started_at) = match (on.ready, started_at) {
        (None, _) => {
            step.skipped("no ready_log in botctl.toml");
            return Ok(());
        }
        (Some(_), None) => {
            step.skipped("nothing was started");
            return Ok(());
        }
        (Some(ready), Some(at)) => (ready, at),
    };
    // One stream for the whole wait, as watch reads it: `--no-tail` prints one page, which a
    // chatty bot pushes its ready line off, and nothing read is dropped at a time limit.
    let mut logs = Followed::new(on.platform);
    let limit = ctx.cfg.fly.wait;
    let watching = format!("watching {} logs", on.platform.kind().cli());
    let outcome = wait_for(&watching, limit, POLL, || {
        logs.read_for(POLL)?;
        Ok(match readiness(&logs.seen, ready, started_at) {
            Readiness::Ready { at } if time::now() >= at + QUIET_AFTER_READY => {
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
            step.done(format!("\"{ready}\" at {at}"));
            Ok(())
        }
        Some(Err(line)) => Err(step.fail(Error::step(NotReady::ConflictAfterStart {
            line,
            bot: bot.name.clone(),
        }))),
        None => {
            let tail: Vec<String> = logs
                .seen
                .iter()
                .rev()
                .take(10)
                .rev()
                .map(|l| l.text.to_string())
                .collect();
            Err(step.fail(Error::step(NotReady::NoReadyLine {
                ready: ready.to_string(),
                limit,
                tail,
            })))
        }
    }
}

/// The bot's logs as the platform streams them, every line read so far kept; a stream that
/// ends (a network error, no pod yet) is started again and the lines it prints again are not
/// kept twice.
struct Followed<'a> {
    platform: &'a dyn Platform,
    stream: Option<LogStream>,
    seen: Vec<LogLine>,
    /// A stream started again prints the buffer again.
    restarted: bool,
}

/// The most lines kept: the ready line and a 409 after it are recent ones.
const KEPT: usize = 5_000;

impl<'a> Followed<'a> {
    fn new(platform: &'a dyn Platform) -> Self {
        Followed {
            platform,
            stream: None,
            seen: Vec::new(),
            restarted: false,
        }
    }

    /// Reads what comes within `wait`. A missing app (`Error: 404 Not Found`) or a flyctl that
    /// cannot start is an error; another end of the stream is retried on the next read.
    fn read_for(&mut self, wait: Duration) -> Result<()> {
        let until = Instant::now() + wait;
        if self.stream.is_none() {
            self.stream = Some(self.platform.stream_logs()?);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match stream.lines.next(left.min(Duration::from_millis(200))) {
                Next::Line(raw) => {
                    let Some(line) = (stream.parse)(&raw) else {
                        continue;
                    };
                    if self.restarted && self.seen.contains(&line) {
                        continue;
                    }
                    self.seen.push(line);
                    if self.seen.len() > KEPT {
                        self.seen.drain(..self.seen.len() - KEPT);
                    }
                }
                Next::Quiet => {}
                Next::Ended { code, error } => {
                    (self.stream, self.restarted) = (None, true);
                    if code.is_some_and(|c| c != 0)
                        && let Some(e) = self.failed(&error)
                    {
                        return Err(e);
                    }
                    return Ok(());
                }
            }
            if interrupt::requested() {
                return Err(Error::Interrupted);
            }
        }
        Ok(())
    }
}

impl Followed<'_> {
    /// An end of the stream that starting it again will not mend: Fly's missing app; any
    /// failure of another platform's CLI, said as it said it.
    fn failed(&self, error: &str) -> Option<Error> {
        match self.platform.kind() {
            PlatformKind::Fly => logs_failed(self.platform.name(), error).map(Error::from),
            kind => Some(Error::from(PlatformError::new(
                format!(
                    "`{} logs` of {} failed: {}",
                    kind.cli(),
                    self.platform.name(),
                    crate::outside::shown(error)
                ),
                None,
            ))),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Readiness {
    Waiting,
    Ready { at: Timestamp },
    ConflictAfterReady(Outside),
}

/// Clock skew between this machine and the platform that is forgiven.
const SKEW: SignedDuration = SignedDuration::from_secs(2);

/// Reads the logs: the ready line stamped after the start, and any 409 after it. [`SKEW`] of
/// clock skew between this machine and the platform is forgiven.
fn readiness(lines: &[LogLine], ready: &str, started_at: Timestamp) -> Readiness {
    let after_start = |l: &&LogLine| l.at.is_some_and(|t| t + SKEW >= started_at);
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

/// Why the bot was not seen ready.
#[derive(Debug)]
enum NotReady {
    /// It was up, then a 409 came: its log line.
    ConflictAfterStart { line: String, bot: BotName },
    /// No ready line within the limit: the last lines seen.
    NoReadyLine {
        ready: String,
        limit: Duration,
        tail: Vec<String>,
    },
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::ConflictAfterStart { line, bot } => write!(
                f,
                "the bot is up but got a 409 after it started: \
{line}\nsomething else polls with this token: botctl doctor \
{bot} --probe"
            ),
            NotReady::NoReadyLine { ready, limit, tail } => write!(
                f,
                "no \"{ready}\" line within {}s of the start. Last lines seen:\n{}",
                limit.as_secs(),
                if tail.is_empty() {
                    "(none)".to_string()
                } else {
                    tail.join("\n")
                }
            ),
        }
    }
}

impl std::error::Error for NotReady {}

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
            Readiness::Ready {
                at: t0 + SignedDuration::from_secs(5)
            }
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
