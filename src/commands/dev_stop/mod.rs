//! `botctl dev-stop`: stop the instances of bots on this machine or on a `[[host]]` — the
//! current user's (the ssh user's) only. The steps are written once, here, over a [`Place`]:
//! find them and what keeps each alive, confirm how each will be stopped, stop supervised ones
//! through their supervisor (never its daemon), SIGTERM the rest, SIGKILL after the grace
//! period, then watch for a copy that comes back. The places are `this_machine` and `host`.

mod failure;
mod host;
mod place;
mod supervisors;
mod this_machine;

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Duration;

use super::Context;
use super::steps::{Mode, Steps, wait_for};
use crate::config::{Bot, Host};
use crate::error::{Error, ExitStatus, Result, Usage};
use crate::model::Pid;
use crate::sources::local::BotProcess;
use crate::ui;
use failure::StopFailure;
use place::{Place, Sig};
use supervisors::plan_line;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  botctl dev-stop\n  botctl dev-stop partner --grace 5s --yes\n  botctl dev-stop partner --host vps --dry-run"
)]
pub struct Args {
    /// Bots to stop (default: all)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bots: Vec<String>,
    /// Stop them on this [[host]] over ssh (the ssh user's processes only)
    #[arg(long, value_name = "NAME", add = clap_complete::ArgValueCandidates::new(crate::complete::host_names))]
    host: Option<String>,
    /// Do not ask for confirmation
    #[arg(long, short)]
    yes: bool,
    /// Print the steps and change nothing
    #[arg(long)]
    dry_run: bool,
    /// How long to wait after SIGTERM before SIGKILL
    #[arg(long, default_value = "10s", value_parser = parse_grace)]
    grace: Duration,
}

fn parse_grace(s: &str) -> std::result::Result<Duration, crate::config::DurationError> {
    crate::config::GRACE.parse(s)
}

pub fn run(ctx: &Context, args: &Args) -> Result<ExitStatus> {
    let mode = Mode::new(args.yes, args.dry_run);
    match &args.host {
        Some(name) => {
            let host = ctx.cfg.host(name)?;
            let bots = host_bots(ctx, host, &args.bots)?;
            stop(
                ctx,
                &mut host::RemoteHost::new(host, &ctx.tokens),
                &bots,
                mode,
                args.grace,
            )
        }
        None => {
            let bots = ctx.cfg.select(&args.bots)?;
            stop(
                ctx,
                &mut this_machine::ThisMachine::new(ctx),
                &bots,
                mode,
                args.grace,
            )
        }
    }
}

/// The chosen bots that `host` may run; none is a usage error.
fn host_bots<'c>(ctx: &'c Context, host: &Host, names: &[String]) -> Result<Vec<&'c Bot>> {
    let bots = ctx.cfg.select(names)?;
    let bots: Vec<&Bot> = bots.into_iter().filter(|b| host.may_run(&b.name)).collect();
    if bots.is_empty() {
        return Err(Error::Usage(Usage::HostRunsNone {
            host: host.name.clone(),
            bots: host.bots.clone(),
        }));
    }
    Ok(bots)
}

/// dev-stop's steps, wherever they run.
fn stop(
    ctx: &Context,
    place: &mut impl Place,
    bots: &[&Bot],
    mode: Mode,
    grace: Duration,
) -> Result<ExitStatus> {
    let mut steps = Steps::new(
        &format!("dev-stop: stop the bots running on {}", place.name()),
        mode,
    );
    let Some(mine) = find(place, bots, &mut steps)? else {
        ui::line("Nothing to stop.");
        return Ok(ExitStatus::Clean);
    };
    plan(place, &mine, grace, &mut steps)?;
    if !confirm(place, &mine, mode, &mut steps)? {
        return Ok(ExitStatus::Clean);
    }
    stop_supervisors(place, &mine, &mut steps)?;
    sigterm(place, &mine, &mut steps)?;
    wait_then_kill(place, &mine, grace, &mut steps)?;
    watch_for_a_copy_back(ctx, place, bots, &mine, &mut steps)?;
    Ok(ExitStatus::Clean)
}

/// Step 1: find them, and what keeps each alive. `None` when none of them is the user's.
fn find(
    place: &mut impl Place,
    bots: &[&Bot],
    steps: &mut Steps,
) -> Result<Option<Vec<BotProcess>>> {
    let mut step = steps.begin(&place.find_title());
    let (mine, others, maybe) = place.find(bots).map_err(|e| step.fail(e))?;
    let mut detail: Vec<String> = mine
        .iter()
        .map(|i| format!("{}: {}", i.bot, place.describe(i)))
        .collect();
    detail.extend(others.iter().map(|i| {
        format!(
            "{}: {} — {}: left alone",
            i.bot,
            place.describe(i),
            place.not_ours()
        )
    }));
    // Never signalled: it may be another project's program with the same name.
    detail.extend(maybe.iter().map(|m| {
        format!(
            "maybe {}: {} — {}: left alone",
            m.instance.bot,
            place.describe(&m.instance),
            m.why
        )
    }));
    if mine.is_empty() {
        step.done(if detail.is_empty() {
            "none running".to_string()
        } else {
            detail.join("\n")
        });
        return Ok(None);
    }
    step.done(detail.join("\n"));
    Ok(Some(mine))
}

/// Step 2: how each one will be stopped; a supervisor that cannot be stopped from here is a
/// refusal.
fn plan(place: &impl Place, mine: &[BotProcess], grace: Duration, steps: &mut Steps) -> Result<()> {
    let mut step = steps.begin("Plan how each is stopped");
    let plan: Vec<String> = mine.iter().map(|i| plan_line(i, grace)).collect();
    if let Some(err) = place.refusal(mine) {
        return Err(step.fail(err));
    }
    step.done(plan.join("\n"));
    Ok(())
}

/// Step 3: confirm. `false` in a dry run, which stops here.
fn confirm(place: &impl Place, mine: &[BotProcess], mode: Mode, steps: &mut Steps) -> Result<bool> {
    let mut step = steps.begin("Confirm");
    if mode.is_dry_run() {
        step.would(format!("stop them{} as planned in step 2", place.on()));
        return Ok(false);
    }
    mode.confirm(&format!(
        "Stop {}{} ({})?",
        if mine.len() == 1 {
            "this instance".to_string()
        } else {
            format!("these {} instances", mine.len())
        },
        place.on(),
        mine.iter()
            .map(|i| format!("pid {}", i.pid))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .map_err(|e| step.fail(e))?;
    step.done("confirmed");
    Ok(true)
}

/// Step 4: supervisors first: a killed copy would only come back.
fn stop_supervisors(place: &mut impl Place, mine: &[BotProcess], steps: &mut Steps) -> Result<()> {
    let supervised: Vec<&BotProcess> = mine.iter().filter(|i| i.supervisor.is_some()).collect();
    if !supervised.is_empty() {
        let mut step = steps.begin("Stop the supervisors");
        let done = place
            .stop_supervisors(&supervised)
            .map_err(|e| step.fail(e))?;
        step.done(done.join("\n"));
    }
    Ok(())
}

/// Step 5: SIGTERM what is still running.
fn sigterm(place: &mut impl Place, mine: &[BotProcess], steps: &mut Steps) -> Result<()> {
    let mut step = steps.begin("Send SIGTERM");
    let sent = place.send(mine, Sig::Term).map_err(|e| step.fail(e))?;
    step.done(if sent.is_empty() {
        "none left to signal".to_string()
    } else {
        format!("sent to pid {}", join(&sent))
    });
    Ok(())
}

/// Step 6: wait, then SIGKILL the rest.
fn wait_then_kill(
    place: &mut impl Place,
    mine: &[BotProcess],
    grace: Duration,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin(&format!("Wait up to {}s for them to exit", grace.as_secs()));
    let gone = wait_for("waiting for the bots to exit", grace, place.poll(), || {
        let alive = place.alive(mine)?;
        Ok(if alive.is_empty() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(format!("{} still running", alive.len()))
        })
    })
    .map_err(|e| step.fail(e))?;
    if gone.is_some() {
        step.done("all exited");
        return Ok(());
    }
    let left = place.alive(mine).map_err(|e| step.fail(e))?;
    let stubborn: Vec<BotProcess> = mine
        .iter()
        .filter(|i| left.contains(&i.pid))
        .cloned()
        .collect();
    let killed = place.send(&stubborn, Sig::Kill).map_err(|e| step.fail(e))?;
    wait_for(
        "waiting after SIGKILL",
        Duration::from_secs(5),
        place.poll(),
        || {
            Ok(if place.alive(&stubborn)?.is_empty() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue("still there".into())
            })
        },
    )?;
    step.warn(format!(
        "pid {} ignored SIGTERM for {}s: sent SIGKILL",
        join(&killed),
        grace.as_secs()
    ));
    Ok(())
}

/// Step 7: watch for a copy that comes back, then prove none is left.
fn watch_for_a_copy_back(
    ctx: &Context,
    place: &mut impl Place,
    bots: &[&Bot],
    mine: &[BotProcess],
    steps: &mut Steps,
) -> Result<()> {
    let respawn = ctx.cfg.local.respawn;
    let mut step = steps.begin(&format!(
        "Watch {} for a copy that comes back",
        human_duration(respawn)
    ));
    let stopped: BTreeSet<Pid> = mine.iter().map(|i| i.pid).collect();
    let back = wait_for(
        "watching for a copy that comes back",
        respawn,
        Duration::from_millis(250),
        || {
            let (now, _, _) = place.find(bots)?;
            let new: Vec<BotProcess> = now
                .into_iter()
                .filter(|i| !stopped.contains(&i.pid))
                .collect();
            Ok(if new.is_empty() {
                ControlFlow::Continue("none so far".into())
            } else {
                ControlFlow::Break(new)
            })
        },
    )
    .map_err(|e| step.fail(e))?;
    if let Some(back) = back {
        return Err(step.fail(Error::step(StopFailure::CameBack {
            on: place.on(),
            copies: back.iter().map(came_back).collect(),
        })));
    }
    let (left, _, _) = place.find(bots).map_err(|e| step.fail(e))?;
    if !left.is_empty() {
        return Err(step.fail(Error::step(StopFailure::StillRunning {
            copies: left.iter().map(|i| place.describe(i)).collect(),
        })));
    }
    step.done(format!(
        "no instance of your bots is left on {}",
        place.name()
    ));
    Ok(())
}

/// "pid 5000 `python3 bot.py`, started by pid 4999 `python3 respawner.py`".
fn came_back(i: &BotProcess) -> String {
    let mut s = format!("pid {} `{}`", i.pid, i.cmd);
    match (i.ppid, i.parent_cmd.is_empty()) {
        (Some(p), false) => s.push_str(&format!(", started by pid {p} `{}`", i.parent_cmd)),
        (Some(p), true) => s.push_str(&format!(", started by pid {p}")),
        (None, _) => {}
    }
    if let Some(sup) = &i.supervisor {
        s.push_str(&format!(
            " ({} {} keeps it alive; stop it with: {})",
            sup.kind,
            sup.name,
            sup.stop()
        ));
    }
    s
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f32())
    }
}

fn join(pids: &[Pid]) -> String {
    pids.iter()
        .map(Pid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
