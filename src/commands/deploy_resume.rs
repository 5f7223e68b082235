//! `botctl deploy-resume`: hand bots back to Fly.io, as the checklist does it: refuse while the
//! bot runs anywhere else; choose the machines (those dev-start recorded); start them and wait
//! until Fly says started; watch the logs for the ready line with no 409 after it; clear the
//! handoff.

use super::Context;
use super::steps::team::{Held, TakeOver};
use super::steps::webhook::Startup;
use super::steps::{Mode, Settle, Step, Steps, refuse_while_it_runs_elsewhere, wait_for_machines};

use crate::config::Bot;
use crate::error::{Action, Error, ExitStatus, Result, Usage};
use crate::model::{AppName, MachineId};
use crate::sources::fly::Machine;
use crate::sources::platform::Platform;
use crate::state::{self, Handoff, Locked};
use crate::team::Record;
use crate::{time, ui};

#[derive(clap::Args, Debug)]
#[command(
    about = "Hand bots back to Fly.io: start the machines dev-start stopped and wait until ready",
    after_help = "Examples:\n  botctl deploy-resume partner\n  botctl deploy-resume --dry-run"
)]
pub struct Args {
    /// Bots to hand back (default: every bot with a fly_app)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bots: Vec<String>,
    /// Do not ask for confirmation
    #[arg(long, short)]
    yes: bool,
    /// Print the steps and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Resume even though a teammate's handoff record holds the bot (probes first)
    #[arg(long)]
    take_over: bool,
    /// With --take-over: take it over without the probe (their copy is not checked for)
    #[arg(long, requires = "take_over")]
    no_probe: bool,
}

pub fn run(ctx: &Context, args: &Args) -> Result<ExitStatus> {
    // A bot without fly_app still has something to resume when dev-start recorded its webhook.
    let before = state::read(&ctx.cfg.root).ok();
    let recorded_webhook = |bot: &Bot| {
        before
            .as_ref()
            .and_then(|s| s.handoff(&bot.name))
            .is_some_and(|h| h.webhook.is_some())
    };
    let bots: Vec<&Bot> = ctx
        .cfg
        .select(&args.bots)?
        .into_iter()
        .filter(|b| b.platform.is_some() || recorded_webhook(b))
        .collect();
    if bots.is_empty() {
        return Err(Error::Usage(Usage::NoneToResume));
    }
    // A platform botctl cannot read is refused before any bot is resumed.
    for bot in &bots {
        super::steps::refuse_on_unread_platform(ctx, bot, "start")?;
    }
    for bot in bots {
        resume_as(
            ctx,
            bot,
            Mode::new(args.yes, args.dry_run),
            TakeOver::new(args.take_over, args.no_probe),
        )?;
    }
    Ok(ExitStatus::Clean)
}

/// The machines to start, and what the step says about the choice.
struct Plan {
    targets: Vec<MachineId>,
    machines: Vec<Machine>,
}

pub fn resume(ctx: &Context, bot: &Bot, mode: Mode) -> Result<()> {
    resume_as(ctx, bot, mode, TakeOver::No)
}

fn resume_as(ctx: &Context, bot: &Bot, mode: Mode, take_over: TakeOver) -> Result<()> {
    let Some(fly) = bot.fly() else {
        if let Some(platform) = super::steps::scale::scaled(ctx, bot) {
            return resume_scaled(ctx, bot, &*platform, mode, take_over);
        }
        if super::steps::webhook::in_handoff(ctx, bot, None).is_some() {
            return resume_webhook(ctx, bot, mode);
        }
        return Err(Error::Usage(Usage::NoPlatform {
            bot: bot.name.clone(),
            nothing_to: Action::Resume,
        }));
    };
    let app = fly.app.as_str();
    let to = format!("Fly app {app}");
    let (begun, held) = begin_handing_back(ctx, bot, mode, take_over, &to, "Fly.io")?;
    let Begun {
        mut steps,
        lock,
        survey,
    } = begun;
    let plan = choose_machines(
        ctx,
        bot,
        lock.as_ref(),
        app,
        survey.machines(bot),
        held.inherited.as_ref(),
        &mut steps,
    )?;
    super::steps::team::clear_before_start(ctx, bot, app, &plan.machines, mode, &mut steps)?;
    if mode.is_dry_run() {
        steps
            .begin(&format!("Start them on {app}"))
            .would(if plan.targets.is_empty() {
                "start nothing".to_string()
            } else {
                format!(
                    "flyctl machine start {} --app {app}",
                    plan.targets.join(" ")
                )
            });
        if restores_webhook(ctx, bot, lock.as_ref()) {
            super::steps::webhook::would_restore(ctx, bot, &mut steps);
        }
        return Ok(());
    }
    let started_at = time::now();
    start_machines(ctx, app, &plan, mode, &mut steps)?;
    wait_until_started(ctx, bot, app, &plan, &mut steps)?;
    let on_fly = crate::sources::fly::OnFly::app(&ctx.flyctl, app);
    let on = super::ready_line::ReadyLine {
        platform: &on_fly,
        ready: fly.ready_log.as_deref(),
    };
    super::ready_line::wait_for_ready_line(
        ctx,
        bot,
        on,
        (!plan.targets.is_empty()).then_some(started_at),
        &mut steps,
    )?;
    hand_back(
        ctx,
        bot,
        lock.as_ref(),
        Some(&fly.app),
        match (plan.targets.is_empty(), fly.ready_log.is_some()) {
            (true, _) => Startup::NothingStarted,
            (false, false) => Startup::Started,
            (false, true) => Startup::Ready,
        },
        started_at,
        &mut steps,
    )
}

/// A bot on a platform that keeps a count: scaled back to the recorded count (one for a
/// polling bot), then the ready line.
fn resume_scaled(
    ctx: &Context,
    bot: &Bot,
    platform: &dyn Platform,
    mode: Mode,
    take_over: TakeOver,
) -> Result<()> {
    use super::steps::scale;
    let (kind, name) = (platform.kind(), platform.name());
    let to = format!("{kind} ({name})");
    let (begun, held) = begin_handing_back(ctx, bot, mode, take_over, &to, &kind.to_string())?;
    let Begun {
        mut steps, lock, ..
    } = begun;
    let count = scale::choose_count(ctx, bot, platform, held.inherited.as_ref(), &mut steps)?;
    scale::clear_record(platform, mode, &mut steps)?;
    let started_at = time::now();
    scale::bring_back(ctx, platform, count, mode, &mut steps)?;
    if mode.is_dry_run() {
        if restores_webhook(ctx, bot, lock.as_ref()) {
            super::steps::webhook::would_restore(ctx, bot, &mut steps);
        }
        return Ok(());
    }
    let ready = bot.ready_log();
    let on = super::ready_line::ReadyLine { platform, ready };
    super::ready_line::wait_for_ready_line(ctx, bot, on, Some(started_at), &mut steps)?;
    let startup = match ready {
        Some(_) => Startup::Ready,
        None => Startup::Started,
    };
    hand_back(
        ctx,
        bot,
        lock.as_ref(),
        None,
        startup,
        started_at,
        &mut steps,
    )
}

/// The end of every resume that started something: the webhook set again where one is owed,
/// then the handoff cleared.
fn hand_back(
    ctx: &Context,
    bot: &Bot,
    lock: Option<&Locked>,
    app: Option<&AppName>,
    startup: Startup,
    started_at: jiff::Timestamp,
    steps: &mut Steps,
) -> Result<()> {
    if restores_webhook(ctx, bot, lock) {
        super::steps::webhook::restore(ctx, bot, lock, app, startup, started_at, steps)?;
    }
    if let Some(lock) = lock {
        clear_handoff(lock, bot, steps)?;
    }
    Ok(())
}

/// A webhook bot's webhook is set again; so is any webhook dev-start recorded.
fn restores_webhook(ctx: &Context, bot: &Bot, lock: Option<&Locked>) -> bool {
    bot.mode.is_webhook() || super::steps::webhook::in_handoff(ctx, bot, lock).is_some()
}

/// What every resume starts with: its steps, the handoff lock (none in a dry run), one look
/// at every place, and the refusal while the bot runs anywhere else (`why` says what a start
/// would make).
struct Begun {
    steps: Steps,
    lock: Option<Locked>,
    survey: crate::survey::Survey,
}

/// [`begin`] a hand-back `to` a platform (whose start is `starting`), then the refusal while a
/// teammate holds the bot (a platform start only: a webhook set again takes nothing from a
/// teammate's copy).
fn begin_handing_back(
    ctx: &Context,
    bot: &Bot,
    mode: Mode,
    take_over: TakeOver,
    to: &str,
    starting: &str,
) -> Result<(Begun, Held)> {
    let mut begun = begin(
        ctx,
        bot,
        mode,
        &format!("deploy-resume {}: hand the bot back to {to}", bot.name),
        &format!("starting {starting} now would make two pollers"),
    )?;
    let held = super::steps::team::refuse_while_someone_holds_it(
        ctx,
        bot,
        &begun.survey,
        "deploy-resume",
        take_over,
        mode,
        &mut begun.steps,
    )?;
    Ok((begun, held))
}

fn begin(ctx: &Context, bot: &Bot, mode: Mode, title: &str, why: &str) -> Result<Begun> {
    let mut steps = Steps::new(title, mode);
    let lock = if mode.is_dry_run() {
        None
    } else {
        Some(state::lock(&ctx.cfg.root)?)
    };
    let survey = ctx.survey(&[bot]);
    refuse_while_it_runs_elsewhere(&mut steps, bot, &survey, why)?;
    Ok(Begun {
        steps,
        lock,
        survey,
    })
}

/// A bot without fly_app whose webhook dev-start recorded and deleted: nothing to start, the
/// webhook to set again.
fn resume_webhook(ctx: &Context, bot: &Bot, mode: Mode) -> Result<()> {
    let Begun {
        mut steps, lock, ..
    } = begin(
        ctx,
        bot,
        mode,
        &format!("deploy-resume {}: set its webhook again", bot.name),
        "a webhook set now would make every poll of that copy a 409",
    )?;
    if mode.is_dry_run() {
        super::steps::webhook::would_restore(ctx, bot, &mut steps);
        return Ok(());
    }
    mode.confirm(&format!("Set the webhook of {} again?", bot.name))?;
    super::steps::webhook::restore(
        ctx,
        bot,
        lock.as_ref(),
        None,
        Startup::NothingStarted,
        time::now(),
        &mut steps,
    )?;
    if let Some(lock) = &lock {
        clear_handoff(lock, bot, &mut steps)?;
    }
    Ok(())
}

/// The machines dev-start recorded; without a record, one of the app's stopped machines.
fn choose_machines(
    ctx: &Context,
    bot: &Bot,
    lock: Option<&Locked>,
    app: &str,
    machines: Option<&Result<Vec<Machine>, crate::sources::fly::FlyError>>,
    on_fly: Option<&Record>,
    steps: &mut Steps,
) -> Result<Plan> {
    let mut step = steps.begin("Choose the machines to start");
    let recorded = state::current(&ctx.cfg.root, lock).map_err(|e| step.fail(e))?;
    let handoff: Option<Handoff> = recorded
        .handoff(&bot.name)
        .filter(|h| h.of_app(app))
        .cloned();
    let machines = ctx
        .fly_machines_seen_or_read(bot, machines)
        .map_err(|e| step.fail(e.into()))?;
    let present = |id: &MachineId| machines.iter().any(|m| &m.id == id);
    let stopped: Vec<MachineId> = machines
        .iter()
        .filter(|m| m.state.is_stopped())
        .map(|m| m.id.clone())
        .collect();
    let (origin, targets, left): (String, Vec<MachineId>, Vec<MachineId>) = match (&handoff, on_fly)
    {
        (Some(h), _) => (
            format!("recorded by dev-start ({} at {})", h.by, h.at),
            h.machines
                .iter()
                .filter(|id| present(id))
                .cloned()
                .collect(),
            Vec::new(),
        ),
        // No local state, but the record on Fly (this person's, or taken over) names the
        // machines: the second journal.
        (None, Some(r)) => (
            format!(
                "no local handoff state; recorded on Fly by {} at {}",
                ui::shown(&r.by),
                r.at_text
            ),
            r.machines
                .iter()
                .filter(|id| present(id))
                .cloned()
                .collect(),
            Vec::new(),
        ),
        // Without a record, start one stopped machine, not all: a polling bot must run on
        // exactly one, and the others may be Fly's stopped standby.
        (None, None) => (
            "no handoff recorded: one of the app's stopped machines".to_string(),
            stopped.iter().take(1).cloned().collect(),
            stopped.iter().skip(1).cloned().collect(),
        ),
    };
    let describe = |id: &MachineId| {
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
        let gone: Vec<&str> = h
            .machines
            .iter()
            .filter(|id| !present(id))
            .map(MachineId::as_str)
            .collect();
        if !gone.is_empty() {
            detail.push_str(&format!(
                "\nno longer in the app, skipped: {}",
                gone.join(", ")
            ));
        }
    }
    if !left.is_empty() {
        detail.push_str(&format!(
            "\nleft stopped: {} (start one by hand if you mean it: flyctl \
machine start ID --app {app})",
            left.join(", ")
        ));
    }
    step.done(detail);
    Ok(Plan { targets, machines })
}

fn start_machines(
    ctx: &Context,
    app: &str,
    plan: &Plan,
    mode: Mode,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin(&format!("Start them on {app}"));
    if plan.targets.is_empty() {
        step.skipped("nothing to start");
        return Ok(());
    }
    mode.confirm(&format!(
        "Start machine(s) {} of {app}?",
        plan.targets.join(", ")
    ))
    .map_err(|e| step.fail(e))?;
    let on_fly = crate::sources::fly::OnFly::app(&ctx.flyctl, app);
    for id in &plan.targets {
        if plan.machines.iter().any(|m| &m.id == id && m.is_running()) {
            continue;
        }
        on_fly
            .start(&id.as_str().into())
            .map_err(|e| step.fail(e.into()))?;
    }
    step.done(format!("asked Fly to start {}", plan.targets.join(", ")));
    Ok(())
}

fn wait_until_started(
    ctx: &Context,
    bot: &Bot,
    app: &str,
    plan: &Plan,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Wait until Fly reports them started");
    if plan.targets.is_empty() {
        step.skipped("nothing was started");
        return Ok(());
    }
    wait_for_machines(
        &ctx.flyctl,
        app,
        &bot.name,
        &plan.targets,
        Settle::Started,
        ctx.cfg.fly.wait,
    )
    .map_err(|e| step.fail(e))?;
    step.done("started");
    Ok(())
}

fn clear_handoff(lock: &Locked, bot: &Bot, steps: &mut Steps) -> Result<()> {
    let mut step: Step = steps.begin("Clear the handoff");
    let mut st = lock.load().map_err(|e| step.fail(e))?;
    if st.handoff(&bot.name).is_some() {
        st.clear(&bot.name);
        lock.save(&st).map_err(|e| step.fail(e))?;
        step.done(if let Some(p) = &bot.platform {
            format!("{} is back on {}", bot.name, p.kind())
        } else {
            format!("{}'s webhook is set again", bot.name)
        });
    } else {
        step.skipped("none was recorded");
    }
    Ok(())
}
