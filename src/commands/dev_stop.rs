//! `botctl dev-stop`: stop this machine's instances of bots — the current user's only.
//! Confirm, SIGTERM, wait the grace period, SIGKILL what is left, scan again to prove it.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::Context;
use super::steps::{Steps, wait_for};
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::sources::local::{self, Instance};
use crate::ui;

pub fn run(
    ctx: &Context,
    names: &[String],
    yes: bool,
    dry_run: bool,
    grace: Duration,
) -> Result<i32> {
    let bots = ctx.cfg.select(names)?;
    let mut steps = Steps::new("dev-stop: stop the bots running on this machine", dry_run);

    // 1. Find them.
    let mut step = steps.begin("Find local instances");
    let (mine, others) = find(ctx, &bots).map_err(|e| step.fail(e))?;
    let mut detail: Vec<String> = mine
        .iter()
        .map(|i| format!("{}: {}", i.bot, super::status::describe_instance(i)))
        .collect();
    detail.extend(others.iter().map(|i| {
        format!(
            "{}: {} — another user's or botctl's own: left alone",
            i.bot,
            super::status::describe_instance(i)
        )
    }));
    if mine.is_empty() {
        step.done(if detail.is_empty() {
            "none running".to_string()
        } else {
            detail.join("\n")
        });
        ui::line("Nothing to stop.");
        return Ok(0);
    }
    step.done(detail.join("\n"));

    // 2. Confirm.
    let pids: Vec<String> = mine.iter().map(|i| i.pid.to_string()).collect();
    let mut step = steps.begin("Confirm");
    if dry_run {
        step.would(format!(
            "send SIGTERM to pid {}, SIGKILL after {}s if still running",
            pids.join(", "),
            grace.as_secs()
        ));
        return Ok(0);
    }
    ui::confirm(
        &format!(
            "Stop pid {} (SIGTERM, then SIGKILL after {}s)?",
            pids.join(", "),
            grace.as_secs()
        ),
        yes,
    )
    .map_err(|e| step.fail(e))?;
    step.done("confirmed");

    // 3. SIGTERM.
    let mut step = steps.begin("Send SIGTERM");
    let sent = signal_all(&mine, Signal::SIGTERM);
    step.done(format!(
        "sent to pid {}",
        sent.iter()
            .map(|i| i.pid.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // 4. Wait, then SIGKILL the rest.
    let mut step = steps.begin(&format!("Wait up to {}s for them to exit", grace.as_secs()));
    let gone = wait_for(
        "waiting for the bots to exit",
        grace,
        Duration::from_millis(200),
        || {
            let alive = alive(&sent);
            Ok(if alive.is_empty() {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(format!("{} still running", alive.len()))
            })
        },
    )
    .map_err(|e| step.fail(e))?;
    if gone.is_some() {
        step.done("all exited");
    } else {
        let stubborn = alive(&sent);
        signal_all(&stubborn, Signal::SIGKILL);
        wait_for(
            "waiting after SIGKILL",
            Duration::from_secs(5),
            Duration::from_millis(100),
            || {
                Ok(if alive(&stubborn).is_empty() {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue("still there".into())
                })
            },
        )?;
        step.warn(format!(
            "pid {} ignored SIGTERM for {}s: sent SIGKILL",
            stubborn
                .iter()
                .map(|i| i.pid.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            grace.as_secs()
        ));
    }

    // 5. Prove it.
    let mut step = steps.begin("Scan again");
    let (left, _) = find(ctx, &bots).map_err(|e| step.fail(e))?;
    if !left.is_empty() {
        return Err(step.fail(Error::StepFailed(format!(
            "still running: {}",
            left.iter()
                .map(super::status::describe_instance)
                .collect::<Vec<_>>()
                .join("; ")
        ))));
    }
    step.done("no instance of your bots is left on this machine");
    Ok(0)
}

/// (the current user's instances, everyone else's and botctl's own ancestors)
fn find(ctx: &Context, bots: &[&Bot]) -> Result<(Vec<Instance>, Vec<Instance>)> {
    let found = local::scan(bots, &ctx.cfg.root).map_err(Error::StepFailed)?;
    let me = nix::unistd::getuid().as_raw();
    let protected = local::ancestors();
    Ok(found
        .into_iter()
        .partition(|i| i.uid == Some(me) && !protected.contains(&i.pid)))
}

/// Signals each instance that is still the same process (pids get reused).
fn signal_all(instances: &[Instance], signal: Signal) -> Vec<Instance> {
    instances
        .iter()
        .filter(|i| local::still_same(i))
        .filter(|i| match kill(Pid::from_raw(i.pid as i32), signal) {
            Ok(()) => true,
            Err(Errno::ESRCH) => false,
            Err(e) => {
                ui::note(format!("could not send {signal} to pid {}: {e}", i.pid));
                false
            }
        })
        .cloned()
        .collect()
}

fn alive(instances: &[Instance]) -> Vec<Instance> {
    instances
        .iter()
        .filter(|i| local::still_same(i) && !is_zombie(i.pid))
        .cloned()
        .collect()
}

/// A zombie has exited; its parent just has not reaped it yet.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
        .unwrap_or(false)
}
