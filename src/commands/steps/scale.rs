//! dev-start and deploy-resume on a platform that keeps a count (`Control::Scale`: a
//! Kubernetes workload's replicas, a Heroku formation): the bot goes to zero and back, and the
//! former count is what the handoff records — in `.botctl/state.json` and, where the platform
//! has somewhere to keep it, in the team record there.

use std::ops::ControlFlow;
use std::time::Duration;

use super::team::Carried;
use super::{Mode, StepFailure, Steps, wait_for};
use crate::commands::Context;
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::outside::Outside;
use crate::sources::platform::{Condition, Platform, RecordHome};
use crate::state::{self, Locked, Recorded};
use crate::team::{self, Record};
use crate::time;

const POLL: Duration = Duration::from_secs(1);

/// The bot's platform when it keeps a count; `None` for Fly and for a bot without a platform.
pub fn scaled<'a>(ctx: &'a Context, bot: &'a Bot) -> Option<Box<dyn Platform + 'a>> {
    ctx.platform_of(bot)
        .filter(|p| p.control() == crate::sources::platform::Control::Scale)
}

/// dev-start's stop: confirm, record the former count, scale to zero and wait until no
/// instance runs. Returns the handoff as recorded (none in a dry run).
pub fn take_down(
    ctx: &Context,
    bot: &Bot,
    platform: &dyn Platform,
    mode: Mode,
    lock: Option<&Locked>,
    carried: Carried<'_>,
    steps: &mut Steps,
) -> Result<Option<Recorded>> {
    let (kind, name) = (platform.kind(), platform.name());
    let mut step = steps.begin(&format!("Stop the bot on {kind}"));
    let now = platform.scale().map_err(|e| step.fail(e.into()))?;
    let home = platform.record_home();
    let where_recorded = match home {
        RecordHome::OnPlatform => format!("{} and on {name}", state_path(ctx)),
        RecordHome::LocalOnly => state_path(ctx),
    };
    if mode.is_dry_run() {
        step.would(format!(
            "record the handoff ({now} running) in {where_recorded}, then scale {name} to 0 and \
wait until no instance runs"
        ));
        return Ok(None);
    }
    mode.confirm(&if now == 0 {
        format!(
            "{name} on {kind} is scaled to 0. Run {} on this machine?",
            bot.name
        )
    } else {
        format!(
            "Scale {name} on {kind} from {now} to 0 and run {} on this machine?",
            bot.name
        )
    })
    .map_err(|e| step.fail(e))?;
    let Some(lock) = lock else {
        return Err(step.fail(Error::step(StepFailure::LockNotTaken)));
    };
    // Already at zero (a dev-start killed half-way, a record taken over): the count to restore
    // is the one recorded before.
    let earlier = lock.load().map_err(|e| step.fail(e))?;
    let from = Some(now).filter(|n| *n > 0).or_else(|| {
        earlier
            .handoff(&bot.name)
            .and_then(|h| h.scaled_from)
            .or(carried.inherited.and_then(|r| r.scaled_from))
    });
    // Recorded before anything changes, so a dev-start killed half-way can be undone.
    let recorded = lock
        .record(state::Handoff {
            bot: bot.name.clone(),
            app: Some(crate::model::AppName::new(name)),
            machines: Vec::new(),
            at: time::now(),
            by: team::who(),
            webhook: carried.webhook.cloned(),
            scaled_from: from,
        })
        .map_err(|e| step.fail(e))?;
    let mut notes = Vec::new();
    if home == RecordHome::OnPlatform {
        let h = recorded.handoff();
        let (on, count, at) = (
            team::here(),
            from.unwrap_or(1).to_string(),
            h.at.to_string(),
        );
        let mut pairs = team::record_pairs(&h.by, &on, &at, &bot.name).to_vec();
        pairs.push((team::SCALE, count.as_str()));
        if let Err(e) = platform.write_record(&Outside::from(name), &pairs) {
            notes.push(format!(
                "the team record was not written on {name}: {}; the handoff stays recorded in {}",
                e.with_fix(),
                state_path(ctx)
            ));
        }
    }
    if now > 0 {
        platform.set_scale(0).map_err(|e| {
            step.fail(Error::step(StepFailure::NotScaledToZero {
                name: name.to_string(),
                bot: bot.name.clone(),
                source: e,
            }))
        })?;
    }
    wait_for_running(platform, 0, ctx.cfg.fly.wait).map_err(|e| step.fail(e))?;
    let mut detail = format!(
        "scaled {name} from {now} to 0 (recorded in {where_recorded})",
        where_recorded = if notes.is_empty() {
            where_recorded
        } else {
            state_path(ctx)
        }
    );
    notes
        .iter()
        .for_each(|n| detail.push_str(&format!("\n{n}")));
    if notes.is_empty() {
        step.done(detail);
    } else {
        step.warn(detail);
    }
    Ok(Some(recorded))
}

/// deploy-resume's count: the one recorded (state, else the team record), else 1; a polling
/// bot runs on exactly one, whatever the record says.
pub fn choose_count(
    ctx: &Context,
    bot: &Bot,
    platform: &dyn Platform,
    inherited: Option<&Record>,
    steps: &mut Steps,
) -> Result<u32> {
    let mut step = steps.begin("Choose how many to run");
    let recorded = state::read(&ctx.cfg.root).map_err(|e| step.fail(e))?;
    let (origin, count) = match (
        recorded.handoff(&bot.name).and_then(|h| h.scaled_from),
        inherited.and_then(|r| r.scaled_from),
    ) {
        (Some(n), _) => ("recorded by dev-start".to_string(), n),
        (None, Some(n)) => (format!("recorded on {}", platform.name()), n),
        (None, None) => ("no count recorded".to_string(), 1),
    };
    if count > 1 && !bot.mode.is_webhook() {
        step.warn(format!(
            "{origin}: {count}; a polling bot runs on exactly one (a second one gets 409): \
scaling to 1"
        ));
        return Ok(1);
    }
    step.done(format!("{origin}: {count}"));
    Ok(count.max(1))
}

/// Clears the team record on the platform (before the bot is started: none outlives the
/// handoff). Where the platform keeps none, skipped.
pub fn clear_record(platform: &dyn Platform, mode: Mode, steps: &mut Steps) -> Result<()> {
    let (kind, name) = (platform.kind(), platform.name());
    let mut step = steps.begin(&format!("Clear the handoff record on {kind}"));
    if platform.record_home() != RecordHome::OnPlatform {
        step.skipped(format!(
            "{kind} keeps no team record: .botctl/state.json only"
        ));
        return Ok(());
    }
    if mode.is_dry_run() {
        step.would(format!("remove botctl's record from {name}"));
        return Ok(());
    }
    let mut cleared = team::CLEARED.to_vec();
    cleared.push((team::SCALE, ""));
    platform
        .write_record(&Outside::from(name), &cleared)
        .map_err(|e| step.fail(e.into()))?;
    step.done(format!("no record on {name}"));
    Ok(())
}

/// deploy-resume's start: scale to `count` and wait until exactly that many run.
pub fn bring_back(
    ctx: &Context,
    platform: &dyn Platform,
    count: u32,
    mode: Mode,
    steps: &mut Steps,
) -> Result<()> {
    let (kind, name) = (platform.kind(), platform.name());
    let mut step = steps.begin(&format!("Scale {name} to {count} on {kind}"));
    if mode.is_dry_run() {
        step.would(format!("scale {name} to {count}"));
        return Ok(());
    }
    mode.confirm(&format!("Scale {name} on {kind} to {count}?"))
        .map_err(|e| step.fail(e))?;
    platform.set_scale(count).map_err(|e| step.fail(e.into()))?;
    step.done(format!("asked {kind} for {count}"));
    let mut step = steps.begin(&format!("Wait until {kind} reports {count} running"));
    wait_for_running(platform, count, ctx.cfg.fly.wait).map_err(|e| step.fail(e))?;
    step.done(format!("{count} running"));
    Ok(())
}

/// Polls the instances until exactly `want` are up and nothing else runs (an old pod that is
/// still terminating may still poll); fails at `limit` naming what runs.
fn wait_for_running(platform: &dyn Platform, want: u32, limit: Duration) -> Result<()> {
    let name = platform.name();
    let what = format!("waiting for {name} to run {want}");
    let mut last = String::new();
    let done = wait_for(&what, limit, POLL, || {
        let now = platform.instances().map_err(Error::from)?;
        let running = now.iter().filter(|i| i.running).count();
        let up = now.iter().filter(|i| i.condition == Condition::Up).count();
        last = now
            .iter()
            .filter(|i| i.running)
            .map(|i| format!("{} {}", i.id, i.state))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(if running == want as usize && up == want as usize {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(format!("{running} running"))
        })
    })?;
    match done {
        Some(()) => Ok(()),
        None => Err(Error::step(StepFailure::NotRunning {
            name: name.to_string(),
            want,
            limit,
            running: last,
            look: platform.look_command(),
        })),
    }
}

fn state_path(ctx: &Context) -> String {
    state::path(&ctx.cfg.root).display().to_string()
}
