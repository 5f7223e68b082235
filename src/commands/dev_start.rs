//! `botctl dev-start BOT`: hand the bot from Fly.io to this machine, as the checklist does it:
//! refuse if it already runs here or a webhook is set; confirm, record, stop the machines and
//! wait until Fly reports them stopped; warn about what could start it again; probe that no
//! other poller is left; run it here; offer to resume Fly.io when it exits.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use super::Context;
use super::deploy_resume;
use super::steps::team::{Carried, TakeOver};
use super::steps::{
    Mode, Settle, StepFailure, Steps, refuse_while_it_runs_elsewhere, wait_for_machines,
};

use crate::config::Bot;
use crate::error::{Error, ExitStatus, Result};
use crate::fix::Fix;
use crate::model::{BotName, MachineId, Pid};
use crate::sources::autostart::Reach;
use crate::sources::fly::MachineState;
use crate::sources::platform::{Platform, PlatformError};
use crate::sources::telegram::{self, ProbeOutcome, Token, TokenLookup};
use crate::survey::Survey;
use crate::survey::judge;
use crate::{interrupt, state, time, ui};

#[derive(clap::Args, Debug)]
#[command(
    about = "Hand a bot from Fly.io to this machine: stop its machines, check, run it here",
    after_help = "Examples:\n  botctl dev-start partner\n  botctl dev-start \
partner --dry-run\n  botctl dev-start partner --yes --no-run"
)]
pub struct Args {
    /// The bot to run here
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    pub bot: String,
    /// Do not ask for confirmation
    #[arg(long, short)]
    pub yes: bool,
    /// Print the steps and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Stop Fly.io but do not run the bot here
    #[arg(long)]
    pub no_run: bool,
    /// Skip the conflict probe
    #[arg(long)]
    pub no_probe: bool,
    /// Take the bot over from the teammate whose handoff record holds it (probes first;
    /// with --no-probe, without the probe)
    #[arg(long)]
    pub take_over: bool,
}

pub fn run(ctx: &Context, args: &Args) -> Result<ExitStatus> {
    let bot = ctx.cfg.bot(&args.bot)?;
    super::steps::refuse_on_unread_platform(ctx, bot, "stop")?;
    let mode = Mode::new(args.yes, args.dry_run);
    let mut steps = Steps::new(
        &format!(
            "dev-start {}: hand the bot from {} to this machine",
            bot.name,
            platform_title(bot)
        ),
        mode,
    );
    let token = match ctx.tokens.of(bot).clone() {
        TokenLookup::Found { token, .. } => Some(token),
        _ => None,
    };

    // Held until the bot runs here: a second dev-start must not look while this one changes
    // things (it would see machines `stopping` and run a second copy).
    let lock = take_lock(ctx, mode, &mut steps)?;
    let survey = ctx.survey(&[bot]);
    refuse_while_it_runs_elsewhere(
        &mut steps,
        bot,
        &survey,
        "running it here too would make two pollers",
    )?;
    // A webhook bot's webhook is recorded and deleted; a polling bot's is a refusal.
    let webhook = if bot.mode.is_webhook() {
        Some(super::steps::webhook::record(
            ctx,
            bot,
            &survey,
            lock.as_ref(),
            &mut steps,
        )?)
    } else {
        refuse_if_webhook(ctx, bot, &survey, &mut steps)?;
        None
    };
    let held = super::steps::team::refuse_while_someone_holds_it(
        ctx,
        bot,
        &survey,
        "dev-start",
        TakeOver::new(args.take_over, args.no_probe),
        mode,
        &mut steps,
    )?;
    let carried_webhook = webhook.as_ref().and_then(|w| w.record.as_ref());
    let (stopped, recorded) = match super::steps::scale::scaled(ctx, bot) {
        // The record goes onto the workload with the count, before it is scaled down.
        Some(platform) => {
            let carried = Carried {
                inherited: held.inherited.as_ref(),
                webhook: carried_webhook,
            };
            let lock = lock.as_ref();
            let recorded = super::steps::scale::take_down(
                ctx, bot, &*platform, mode, lock, carried, &mut steps,
            )?;
            (Vec::new(), recorded)
        }
        None => {
            let carried = Carried {
                inherited: held.inherited.as_ref(),
                webhook: carried_webhook,
            };
            let stopped = stop_fly(ctx, bot, &survey, mode, lock.as_ref(), carried, &mut steps)?;
            super::steps::team::publish(ctx, bot, lock.as_ref(), mode, &mut steps)?;
            stopped
        }
    };
    if let Some(found) = &webhook {
        super::steps::webhook::delete(ctx, bot, found, recorded.as_ref(), mode, &mut steps)?;
    }
    if mode.is_dry_run() {
        steps
            .begin("Warn about what can start it again")
            .would("list autostart entries and proxy-startable machines");
        steps
            .begin("Probe that no other poller is left")
            .would(if args.no_probe {
                "skip (--no-probe)"
            } else {
                "long-poll getUpdates for the probe window"
            });
        steps
            .begin(&format!("Run `{}` here", bot.run))
            .would(if args.no_run {
                "skip (--no-run)"
            } else {
                "run it in the foreground"
            });
        return Ok(ExitStatus::Clean);
    }
    warn_autostart(ctx, bot, &survey, &stopped, &mut steps);
    // The take-over probed a moment ago; with nothing stopped since, a second probe hears
    // nothing new.
    let probed = held.probed && stopped.is_empty();
    probe(
        ctx,
        bot,
        token.as_ref(),
        args.no_probe || probed,
        &mut steps,
    )?;
    if args.no_run {
        steps
            .begin(&format!("Run `{}` here", bot.run))
            .skipped("--no-run");
        ui::line(format!(
            "{2} no longer runs {0}. Start it yourself with `{1}`; \
when you are done: botctl dev-stop {0} && botctl \
deploy-resume {0}",
            bot.name,
            bot.run,
            platform_title(bot)
        ));
        return Ok(ExitStatus::Clean);
    }
    // Ctrl-C is how a developer ends the bot: after it, the workflow goes on to the resume offer.
    run_here(ctx, bot, token.as_ref(), &mut steps)?;
    // What waits to be resumed, read through the lock before it is let go.
    let pending = match &lock {
        Some(lock) => lock.load()?.handoff(&bot.name).is_some(),
        None => false,
    } || !stopped.is_empty();
    drop(lock); // deploy-resume takes it again
    offer_resume(ctx, bot, pending, ui::Consent::from_yes(args.yes))?;
    Ok(ExitStatus::Clean)
}

/// The platform the bot is handed from, as a sentence names it (Fly.io for a bot without one,
/// as dev-start has always said).
fn platform_title(bot: &Bot) -> &'static str {
    bot.platform
        .as_ref()
        .map_or(crate::model::PlatformKind::Fly.title(), |p| {
            p.kind().title()
        })
}

fn take_lock(ctx: &Context, mode: Mode, steps: &mut Steps) -> Result<Option<state::Locked>> {
    let mut step =
        steps.begin("Take the handoff lock, so that no other botctl run changes things meanwhile");
    if mode.is_dry_run() {
        step.would("take it");
        return Ok(None);
    }
    let lock = state::lock(&ctx.cfg.root).map_err(|e| step.fail(e))?;
    step.done("taken");
    Ok(Some(lock))
}

fn refuse_if_webhook(ctx: &Context, bot: &Bot, survey: &Survey, steps: &mut Steps) -> Result<()> {
    let mut step = steps.begin("Refuse if a webhook is set");
    let Some(webhook) = survey
        .telegram
        .get(&bot.name)
        .and_then(|t| t.webhook.as_ref())
    else {
        step.skipped(format!(
            "no token ({} is not set), so the webhook was not checked",
            bot.token_env.as_deref().unwrap_or("token_env")
        ));
        return Ok(());
    };
    match webhook {
        Ok(w) if w.url.is_empty() => {
            step.done("no webhook");
            Ok(())
        }
        Ok(w) => Err(step.fail(Error::Refused {
            message: format!(
                "a webhook is set ({}): polling here would get 409, and \
python-telegram-bot would delete production's webhook (if the bot takes updates by webhook on \
Fly, say mode = \"webhook\" in botctl.toml: dev-start then records the webhook and sets it \
again on deploy-resume)",
                w.url
            ),
            fix: Fix::delete_webhook(&ctx.cfg.telegram.api, bot.token_env.as_deref()),
        })),
        Err(e @ telegram::ApiError::Unauthorized(_)) => Err(step.fail(Error::Refused {
            message: e.to_string(),
            fix: Fix::put_right_token_in(bot.token_env.as_deref().unwrap_or("the environment")),
        })),
        Err(telegram::ApiError::Interrupted) => Err(step.fail(Error::Interrupted)),
        Err(e) => {
            step.warn(format!("could not check: {e}"));
            Ok(())
        }
    }
}

/// Confirms, records the handoff, stops the started machines and waits for `stopped`.
/// Returns the machines it stopped, and the handoff as recorded on disk (when one was).
fn stop_fly(
    ctx: &Context,
    bot: &Bot,
    survey: &Survey,
    mode: Mode,
    lock: Option<&state::Locked>,
    carried: Carried<'_>,
    steps: &mut Steps,
) -> Result<(Vec<MachineId>, Option<state::Recorded>)> {
    let Carried { inherited, webhook } = carried;
    // Machines of a record on Fly (this person's, or one taken over).
    let inherited = inherited.map_or(&[][..], |r| r.machines.as_slice());
    let mut step = steps.begin("Stop the bot on Fly.io");
    let Some(app) = bot.app().map(|a| a.as_str()) else {
        if mode.is_dry_run() {
            step.skipped(match webhook {
                Some(_) => format!(
                    "no fly_app in botctl.toml; would record the webhook in {}",
                    state::path(&ctx.cfg.root).display()
                ),
                None => "no fly_app in botctl.toml".into(),
            });
            return Ok((Vec::new(), None));
        }
        mode.confirm(&format!("Run {} on this machine?", bot.name))
            .map_err(|e| step.fail(e))?;
        // Without machines, the webhook is still production's: recorded before it is deleted.
        let Some(webhook) = webhook else {
            step.skipped("no fly_app in botctl.toml");
            return Ok((Vec::new(), None));
        };
        let Some(lock) = lock else {
            return Err(step.fail(Error::step(StepFailure::LockNotTaken)));
        };
        let recorded = lock
            .record(state::Handoff {
                bot: bot.name.clone(),
                app: None,
                machines: Vec::new(),
                at: time::now(),
                by: crate::team::who(),
                webhook: Some(webhook.clone()),
                scaled_from: None,
            })
            .map_err(|e| step.fail(e))?;
        step.skipped(format!(
            "no fly_app in botctl.toml; the webhook is recorded in {}",
            state::path(&ctx.cfg.root).display()
        ));
        return Ok((Vec::new(), Some(recorded)));
    };
    let fly = &ctx.flyctl;
    let machines = match survey.machines(bot) {
        Some(Ok(ms)) => ms.clone(),
        Some(Err(e)) => return Err(step.fail(e.clone().into())),
        None => ctx.fly_machines(bot).map_err(|e| step.fail(e.into()))?,
    };
    let running: Vec<MachineId> = machines
        .iter()
        .filter(|m| m.is_running())
        .map(|m| m.id.clone())
        .collect();
    // Machines already on their way down (another stop, a dev-start killed half-way) are not
    // stopped yet: wait for them too.
    let stopping: Vec<MachineId> = machines
        .iter()
        .filter(|m| m.state == MachineState::Stopping)
        .map(|m| m.id.clone())
        .collect();
    let mut waited = running.clone();
    waited.extend(stopping.iter().cloned());
    if mode.is_dry_run() {
        step.would(if running.is_empty() {
            format!("stop nothing: no machine of {app} is started")
        } else {
            format!(
                "record the handoff in {}, then flyctl machine stop {} --app \
{app}, and wait until stopped",
                state::path(&ctx.cfg.root).display(),
                running.join(" ")
            )
        });
        return Ok((running, None));
    }
    let question = if running.is_empty() && !stopping.is_empty() {
        format!(
            "Machine(s) {} of {app} are stopping. Wait for them and run {} on this machine?",
            stopping.join(", "),
            bot.name
        )
    } else if running.is_empty() {
        format!(
            "No machine of {app} is started. Run {} on this machine?",
            bot.name
        )
    } else {
        format!(
            "Stop machine(s) {} of {app} and run {} on this machine?",
            running.join(", "),
            bot.name
        )
    };
    mode.confirm(&question).map_err(|e| step.fail(e))?;
    let Some(lock) = lock else {
        return Err(step.fail(Error::step(StepFailure::LockNotTaken)));
    };
    let st = lock.load().map_err(|e| step.fail(e))?;
    let earlier = st.handoff(&bot.name).filter(|h| h.of_app(app)).cloned();
    let earlier_note = earlier
        .as_ref()
        .map(|h| {
            format!(
                "\na handoff recorded by {} at {} is still open: its machines ({}) stay recorded",
                h.by,
                h.at,
                h.machines.join(", ")
            )
        })
        .unwrap_or_default();
    // The machines of a record on Fly (this person's, or one taken over) are this handoff's
    // too: deploy-resume starts them, even when `.botctl/` was lost meanwhile.
    let inherited: Vec<MachineId> = inherited
        .iter()
        .filter(|id| machines.iter().any(|m| &m.id == *id))
        .cloned()
        .collect();
    // A webhook bot's machines are often all stopped (Fly Proxy starts them on a post): its
    // record is still needed to set the webhook again.
    if waited.is_empty() && inherited.is_empty() && webhook.is_none() {
        step.done(format!("no machine of {app} was started{earlier_note}"));
        return Ok((Vec::new(), None));
    }

    // Record before stopping anything, so a dev-start killed half-way can be undone.
    let mut recorded = earlier.map(|h| h.machines).unwrap_or_default();
    for id in inherited.iter().chain(&waited) {
        if !recorded.contains(id) {
            recorded.push(id.clone());
        }
    }
    let recorded = lock
        .record(state::Handoff {
            bot: bot.name.clone(),
            app: bot.app().cloned(),
            machines: recorded,
            at: time::now(),
            by: crate::team::who(),
            webhook: webhook.cloned(),
            scaled_from: None,
        })
        .map_err(|e| step.fail(e))?;
    if waited.is_empty() {
        step.done(format!(
            "no machine of {app} was started; {} stay stopped (recorded in {}){earlier_note}",
            inherited.join(", "),
            state::path(&ctx.cfg.root).display()
        ));
        return Ok((Vec::new(), Some(recorded)));
    }

    let on_fly = crate::sources::fly::OnFly::app(fly, app);
    for id in &running {
        // Only a machine the record on disk names is stopped.
        if !recorded.handoff().machines.contains(id) {
            return Err(step.fail(Error::step(StartFailure::Unrecorded {
                machine: id.clone(),
                state: state::path(&ctx.cfg.root),
            })));
        }
        on_fly.stop(&id.as_str().into()).map_err(|e| {
            // Ctrl-C while flyctl stops a machine is an interrupt (130), not a failed step.
            if e.interrupted {
                return step.fail(Error::Interrupted);
            }
            step.fail(Error::step(StartFailure::StopFailed {
                machine: id.clone(),
                state: state::path(&ctx.cfg.root),
                bot: bot.name.clone(),
                source: e,
            }))
        })?;
    }
    // flyctl's stop does not wait for `stopped`: poll until Fly says so.
    wait_for_machines(
        fly,
        app,
        &bot.name,
        &waited,
        Settle::Stopped,
        ctx.cfg.fly.wait,
    )
    .map_err(|e| step.fail(e))?;
    step.done(format!(
        "stopped {} (recorded in {}){earlier_note}",
        waited.join(", "),
        state::path(&ctx.cfg.root).display()
    ));
    Ok((waited, Some(recorded)))
}

/// From the survey: autostart entries, and machines Fly Proxy can start again by itself
/// (those just stopped included).
fn warn_autostart(
    ctx: &Context,
    bot: &Bot,
    survey: &Survey,
    stopped: &[MachineId],
    steps: &mut Steps,
) {
    let mut step = steps.begin("Warn about what can start it again");
    let mut warnings: Vec<(String, Fix)> = judge::autostart(bot, survey)
        .iter()
        .map(|a| {
            let at = a.host.map(|h| format!("host {h} ")).unwrap_or_default();
            let fix = a.fix(&ctx.cfg.hosts);
            (format!("{at}{}: {}", a.entry.source, a.entry.entry), fix)
        })
        .collect();
    if let (Some(app), Some(Ok(machines))) = (bot.app(), survey.machines(bot)) {
        for m in machines
            .iter()
            .filter(|m| m.proxy_autostart.is_on() && (!m.is_running() || stopped.contains(&m.id)))
        {
            warnings.push((
                format!(
                    "Fly Proxy can start machine {} again when a request comes in",
                    m.id
                ),
                m.proxy_fix(app),
            ));
        }
    }
    // Nothing found where nothing could be read is not "nothing found".
    let mut unread: Vec<String> = judge::autostart_not_checked(survey)
        .iter()
        .filter(|u| u.reach == Reach::Unread)
        .map(|u| u.described())
        .collect();
    if let (Some(app), Some(Err(e))) = (bot.app(), survey.machines(bot)) {
        unread.push(format!("Fly app {app}: {e}"));
    }
    if warnings.is_empty() && unread.is_empty() {
        step.done("nothing found");
    } else if warnings.is_empty() {
        step.warn(format!(
            "nothing found, but not checked: {}",
            crate::outside::shown(&unread.join("; "))
        ));
    } else {
        step.warn_each(&warnings);
    }
}

fn probe(
    ctx: &Context,
    bot: &Bot,
    token: Option<&Token>,
    no_probe: bool,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Probe that no other poller is left");
    if no_probe {
        step.skipped("--no-probe");
        return Ok(());
    }
    let Some(token) = token else {
        step.skipped("no token, so no probe");
        return Ok(());
    };
    ui::note(telegram::PROBE_WARNING);
    let outcome = super::steps::probe_with_spinner(ctx, token);
    match outcome {
        ProbeOutcome::Clear { listened, .. } => {
            step.done(format!(
                "no other poller answered within {:.0}s",
                listened.as_secs_f32()
            ));
            Ok(())
        }
        ProbeOutcome::OtherPoller { after } => Err(step.fail(Error::Refused {
            message: format!(
                "another poller is still alive (it answered after {:.1}s); \
running here would fight it. {} stays stopped.",
                after.as_secs_f32(),
                platform_title(bot)
            ),
            fix: Fix::probe_then_dev_start(&bot.name),
        })),
        ProbeOutcome::Webhook => Err(step.fail(Error::Refused {
            message: "a webhook was set meanwhile".into(),
            fix: Fix::doctor(&bot.name),
        })),
        ProbeOutcome::Failed(telegram::ApiError::Interrupted) => Err(step.fail(Error::Interrupted)),
        ProbeOutcome::Failed(e) => {
            step.warn(format!("the probe could not run: {e}"));
            Ok(())
        }
    }
}

/// Runs the bot in the foreground, in its own process group: the Ctrl-C or SIGTERM botctl
/// gets is passed on to the whole group, so a `run` with shell syntax is reached too.
fn run_here(ctx: &Context, bot: &Bot, token: Option<&Token>, steps: &mut Steps) -> Result<()> {
    let mut step = steps.begin(&format!("Run `{}` here (Ctrl-C stops it)", bot.run));
    let mut cmd = bot.run.command();
    cmd.current_dir(&ctx.cfg.root).process_group(0);
    if let (Some(token), Some(var)) = (token, &bot.token_env) {
        cmd.env(var, token.secret());
    }
    let mut child = cmd.spawn().map_err(|e| {
        step.fail(Error::step(StartFailure::RunFailed {
            run: bot.run.to_string(),
            source: e,
        }))
    })?;
    interrupt::forward_to_group(Some(Pid(child.id())));
    let status = child.wait();
    // The shell ends as soon as the signal reaches it; the bot it started may still be
    // shutting down, and resuming Fly.io must not see it as a copy left running here.
    wait_for_group(Pid(child.id()), Duration::from_secs(10));
    interrupt::forward_to_group(None);
    let interrupted = interrupt::requested();
    interrupt::clear();
    let status = status.map_err(|e| step.fail(Error::io("waiting for the bot", e)))?;
    step.done(if interrupted {
        "stopped by Ctrl-C / SIGTERM".to_string()
    } else {
        format!("it exited ({status})")
    });
    Ok(())
}

/// Waits (at most `limit`) until no live process is left in process group `pgid`.
fn wait_for_group(pgid: Pid, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    while group_alive(pgid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Is a process other than a zombie in this group?
fn group_alive(pgid: Pid) -> bool {
    crate::sources::proc::group_alive(crate::sources::proc::Backend::native(), pgid)
}

/// `pending`: a handoff is recorded or machines were stopped.
fn offer_resume(ctx: &Context, bot: &Bot, pending: bool, consent: ui::Consent) -> Result<()> {
    if !pending {
        return Ok(());
    }
    // Without a platform, what waits is the webhook dev-start recorded and deleted.
    let (waiting, stays, question) = if let Some(p) = &bot.platform {
        let kind = p.kind();
        (
            format!("{kind} is still stopped"),
            format!("{kind} stays stopped"),
            format!("Resume {} on {kind} now?", bot.name),
        )
    } else {
        (
            "Its webhook is still deleted".to_string(),
            "Its webhook stays deleted".to_string(),
            format!("Set the webhook of {} again now?", bot.name),
        )
    };
    if consent == ui::Consent::Ask && !ui::interactive() {
        ui::line(format!(
            "{waiting} for {0}. To hand it back: botctl deploy-resume {0}",
            bot.name
        ));
        return Ok(());
    }
    match ui::confirm(&question, consent) {
        Ok(()) => deploy_resume::resume(ctx, bot, Mode::Confirmed),
        Err(Error::NotConfirmed(_)) => {
            ui::line(format!(
                "{stays}. When you want it back: botctl deploy-resume {}",
                bot.name
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Why a step of dev-start failed, beyond the shared steps' failures.
#[derive(Debug)]
enum StartFailure {
    /// A running machine the handoff on disk does not name: botctl stops only recorded ones.
    Unrecorded {
        machine: MachineId,
        state: std::path::PathBuf,
    },
    /// flyctl could not stop a recorded machine.
    StopFailed {
        machine: MachineId,
        state: std::path::PathBuf,
        bot: BotName,
        source: PlatformError,
    },
    /// The bot's `run` could not be started here.
    RunFailed { run: String, source: std::io::Error },
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartFailure::Unrecorded { machine, state } => write!(
                f,
                "machine {machine} is not in the handoff recorded in {}: not stopped",
                state.display()
            ),
            StartFailure::StopFailed {
                machine,
                state,
                bot,
                source,
            } => write!(
                f,
                "machine {machine} did not stop: {}\nThe handoff in {} lists the \
machines; `botctl deploy-resume {bot}` starts them again.",
                source.with_fix(),
                state.display()
            ),
            StartFailure::RunFailed { run, source } => write!(f, "could not run `{run}`: {source}"),
        }
    }
}

impl std::error::Error for StartFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartFailure::Unrecorded { .. } => None,
            StartFailure::StopFailed { source, .. } => Some(source),
            StartFailure::RunFailed { source, .. } => Some(source),
        }
    }
}
