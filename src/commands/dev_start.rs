//! `botctl dev-start BOT`: hand the bot from Fly.io to this machine, as the checklist does it:
//! refuse if it already runs here or a webhook is set; confirm, record, stop the machines and
//! wait until Fly reports them stopped; warn about what could start it again; probe that no
//! other poller is left; run it here; offer to resume Fly.io when it exits.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use super::Context;
use super::deploy_resume;
use super::steps::{Steps, wait_for_machines};
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::sources::autostart;
use crate::sources::local;
use crate::sources::telegram::{self, BotApi, ProbeOutcome, Token, TokenLookup};
use crate::{interrupt, state, time, ui};

pub struct Options {
    pub yes: bool,
    pub dry_run: bool,
    pub no_run: bool,
    pub no_probe: bool,
}

pub fn run(ctx: &Context, name: &str, opt: Options) -> Result<i32> {
    let bot = ctx.cfg.bot(name)?;
    let mut steps = Steps::new(
        &format!(
            "dev-start {}: hand the bot from Fly.io to this machine",
            bot.name
        ),
        opt.dry_run,
    );
    let token = match telegram::token_for(bot, &ctx.dotenv) {
        TokenLookup::Found { token, .. } => Some(token),
        _ => None,
    };

    refuse_if_running_here(ctx, bot, &mut steps)?;
    refuse_if_webhook(ctx, bot, token.as_ref(), &mut steps)?;
    let stopped = stop_fly(ctx, bot, &opt, &mut steps)?;
    if opt.dry_run {
        steps
            .begin("Warn about what can start it again")
            .would("list autostart entries and proxy-startable machines");
        steps
            .begin("Probe that no other poller is left")
            .would(if opt.no_probe {
                "skip (--no-probe)"
            } else {
                "long-poll getUpdates for the probe window"
            });
        steps
            .begin(&format!("Run `{}` here", bot.run))
            .would(if opt.no_run {
                "skip (--no-run)"
            } else {
                "run it in the foreground"
            });
        return Ok(0);
    }
    warn_autostart(ctx, bot, &mut steps);
    probe(ctx, bot, token.as_ref(), &opt, &mut steps)?;
    if opt.no_run {
        steps
            .begin(&format!("Run `{}` here", bot.run))
            .skipped("--no-run");
        ui::line(format!(
            "Fly.io no longer runs {0}. Start it yourself with `{1}`; when you are done: botctl dev-stop {0} && botctl deploy-resume {0}",
            bot.name, bot.run
        ));
        return Ok(0);
    }
    // Ctrl-C is how a developer ends the bot: after it, the workflow goes on to the resume offer.
    run_here(ctx, bot, token.as_ref(), &mut steps)?;
    offer_resume(ctx, bot, stopped, opt.yes)?;
    Ok(0)
}

fn refuse_if_running_here(ctx: &Context, bot: &Bot, steps: &mut Steps) -> Result<()> {
    let mut step = steps.begin(&format!(
        "Refuse if {} already runs on this machine",
        bot.name
    ));
    let found = local::scan(&[bot], &ctx.cfg.root).map_err(|e| step.fail(Error::StepFailed(e)))?;
    if found.is_empty() {
        step.done("not running here");
        return Ok(());
    }
    Err(step.fail(Error::Refused {
        message: format!(
            "{} already runs here: {}",
            bot.name,
            found
                .iter()
                .map(super::status::describe_instance)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        fix: format!("botctl dev-stop {}", bot.name),
    }))
}

fn refuse_if_webhook(
    ctx: &Context,
    bot: &Bot,
    token: Option<&Token>,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Refuse if a webhook is set");
    let Some(token) = token else {
        step.skipped(format!(
            "no token ({} is not set), so the webhook was not checked",
            bot.token_env.as_deref().unwrap_or("token_env")
        ));
        return Ok(());
    };
    let api = BotApi::new(
        &ctx.cfg.telegram.api,
        token.clone(),
        ctx.cfg.telegram.timeout,
    );
    match api.webhook_info() {
        Ok(w) if w.url.is_empty() => {
            step.done("no webhook");
            Ok(())
        }
        Ok(w) => Err(step.fail(Error::Refused {
            message: format!(
                "a webhook is set ({}): polling here would get 409, and python-telegram-bot would delete production's webhook",
                w.url
            ),
            fix: telegram::delete_webhook_fix(&ctx.cfg.telegram.api, bot.token_env.as_deref()),
        })),
        Err(e @ telegram::ApiError::Unauthorized(_)) => Err(step.fail(Error::Refused {
            message: e.to_string(),
            fix: format!("put the right token in {}", bot.token_env.as_deref().unwrap_or("the environment")),
        })),
        Err(telegram::ApiError::Interrupted) => Err(step.fail(Error::Interrupted)),
        Err(e) => {
            step.warn(format!("could not check: {e}"));
            Ok(())
        }
    }
}

/// Confirms, records the handoff, stops the started machines and waits for `stopped`.
/// Returns the machines it stopped.
fn stop_fly(ctx: &Context, bot: &Bot, opt: &Options, steps: &mut Steps) -> Result<Vec<String>> {
    let mut step = steps.begin("Stop the bot on Fly.io");
    let Some(app) = bot.fly_app.as_deref() else {
        if !opt.dry_run {
            ui::confirm(&format!("Run {} on this machine?", bot.name), opt.yes)
                .map_err(|e| step.fail(e))?;
        }
        step.skipped("no fly_app in botctl.toml");
        return Ok(Vec::new());
    };
    let fly = &ctx.flyctl;
    let machines = fly.machines(app).map_err(|e| step.fail(e.into()))?;
    let running: Vec<String> = machines
        .iter()
        .filter(|m| m.is_running())
        .map(|m| m.id.clone())
        .collect();
    if opt.dry_run {
        step.would(if running.is_empty() {
            format!("stop nothing: no machine of {app} is started")
        } else {
            format!(
                "record the handoff in {}, then flyctl machine stop {} --app {app}, and wait until stopped",
                state::path(&ctx.cfg.root).display(),
                running.join(" ")
            )
        });
        return Ok(running);
    }
    let question = if running.is_empty() {
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
    ui::confirm(&question, opt.yes).map_err(|e| step.fail(e))?;
    if running.is_empty() {
        step.done(format!("no machine of {app} was started"));
        return Ok(Vec::new());
    }

    // Record before stopping anything, so a dev-start killed half-way can be undone.
    let lock = state::lock(&ctx.cfg.root).map_err(|e| step.fail(e))?;
    let mut st = lock.load().map_err(|e| step.fail(e))?;
    let mut recorded = st
        .handoff(&bot.name)
        .filter(|h| h.app == app)
        .map(|h| h.machines.clone())
        .unwrap_or_default();
    for id in &running {
        if !recorded.contains(id) {
            recorded.push(id.clone());
        }
    }
    st.set(state::Handoff {
        bot: bot.name.clone(),
        app: app.to_string(),
        machines: recorded,
        at: time::rfc3339(time::now()),
        by: state::who(),
    });
    lock.save(&st).map_err(|e| step.fail(e))?;

    for id in &running {
        fly.stop(app, id).map_err(|e| {
            step.fail(Error::StepFailed(format!(
                "machine {id} did not stop: {}\nThe handoff in {} lists the machines; `botctl deploy-resume {}` starts them again.",
                Error::from(e),
                state::path(&ctx.cfg.root).display(),
                bot.name
            )))
        })?;
    }
    // flyctl's stop does not wait for `stopped`: poll until Fly says so.
    let wait = ctx.cfg.fly.wait;
    let pending = wait_for_machines(fly, app, &running, &["stopped", "suspended"], wait)
        .map_err(|e| step.fail(e))?;
    if !pending.is_empty() {
        return Err(step.fail(Error::StepFailed(format!(
            "not stopped within {}s: {}; the bot may still poll there. Check `flyctl machine list --app {app}`; `botctl deploy-resume {}` restores what was stopped.",
            wait.as_secs(),
            pending.join(", "),
            bot.name
        ))));
    }
    step.done(format!(
        "stopped {} (recorded in {})",
        running.join(", "),
        state::path(&ctx.cfg.root).display()
    ));
    Ok(running)
}

fn warn_autostart(ctx: &Context, bot: &Bot, steps: &mut Steps) {
    let mut step = steps.begin("Warn about what can start it again");
    let mut warnings: Vec<String> = autostart::scan(&[bot], Duration::from_secs(10))
        .entries
        .iter()
        .map(|e| format!("{}: {} (fix: {})", e.source, e.entry, e.fix))
        .collect();
    if let Some(app) = &bot.fly_app
        && let Ok(machines) = ctx.flyctl.machines(app)
    {
        for m in machines
            .iter()
            .filter(|m| !m.is_running() && m.proxy_autostart)
        {
            warnings.push(format!(
                "Fly Proxy can start machine {} again when a request comes in (fix: {})",
                m.id,
                m.proxy_fix(app)
            ));
        }
    }
    if warnings.is_empty() {
        step.done("nothing found");
    } else {
        step.warn(warnings.join("\n"));
    }
}

fn probe(
    ctx: &Context,
    bot: &Bot,
    token: Option<&Token>,
    opt: &Options,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Probe that no other poller is left");
    if opt.no_probe {
        step.skipped("--no-probe");
        return Ok(());
    }
    let Some(token) = token else {
        step.skipped("no token, so no probe");
        return Ok(());
    };
    let window = ctx.cfg.telegram.probe;
    ui::note(telegram::PROBE_WARNING);
    let api = BotApi::new(
        &ctx.cfg.telegram.api,
        token.clone(),
        ctx.cfg.telegram.timeout,
    );
    let outcome = {
        let _spinner = ui::Spinner::new("listening for another poller", window);
        api.probe(window)
    };
    match outcome {
        ProbeOutcome::Clear { listened, .. } => {
            step.done(format!("no other poller answered within {:.0}s", listened.as_secs_f32()));
            Ok(())
        }
        ProbeOutcome::OtherPoller { after } => Err(step.fail(Error::Refused {
            message: format!(
                "another poller is still alive (it answered after {:.1}s); running here would fight it. Fly.io stays stopped.",
                after.as_secs_f32()
            ),
            fix: format!("botctl doctor {} --probe   # then, once it is gone: botctl dev-start {}", bot.name, bot.name),
        })),
        ProbeOutcome::Webhook => Err(step.fail(Error::Refused {
            message: "a webhook was set meanwhile".into(),
            fix: format!("botctl doctor {}", bot.name),
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
    // A plain command replaces the shell, so the bot is botctl's child as if typed.
    let plain = !bot.run.contains(|c| ";&|()<>$`\n".contains(c));
    let script = if plain {
        format!("exec {}", bot.run)
    } else {
        bot.run.clone()
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .current_dir(&ctx.cfg.root)
        .process_group(0);
    if let (Some(token), Some(var)) = (token, &bot.token_env) {
        cmd.env(var, token.secret());
    }
    let mut child = cmd.spawn().map_err(|e| {
        step.fail(Error::StepFailed(format!(
            "could not run `{}`: {e}",
            bot.run
        )))
    })?;
    interrupt::forward_to_group(Some(child.id()));
    let status = child.wait();
    // The shell ends as soon as the signal reaches it; the bot it started may still be
    // shutting down, and resuming Fly.io must not see it as a copy left running here.
    wait_for_group(child.id(), Duration::from_secs(10));
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
fn wait_for_group(pgid: u32, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    while group_alive(pgid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Is a process other than a zombie in this group? (Linux: /proc/PID/stat; elsewhere, ask
/// the kernel, which also counts zombies.)
fn group_alive(pgid: u32) -> bool {
    if let Ok(dir) = std::fs::read_dir("/proc") {
        return dir.flatten().any(|e| {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                return false;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|p| p.parse::<u32>().ok());
            pgrp == Some(pgid) && state != Some("Z")
        });
    }
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid as i32), None).is_ok()
}

fn offer_resume(ctx: &Context, bot: &Bot, stopped: Vec<String>, yes: bool) -> Result<()> {
    if bot.fly_app.is_none() {
        return Ok(());
    }
    let pending = state::read(&ctx.cfg.root)?.handoff(&bot.name).is_some() || !stopped.is_empty();
    if !pending {
        return Ok(());
    }
    if !yes && !ui::interactive() {
        ui::line(format!(
            "Fly.io is still stopped for {0}. To hand it back: botctl deploy-resume {0}",
            bot.name
        ));
        return Ok(());
    }
    match ui::confirm(&format!("Resume {} on Fly.io now?", bot.name), yes) {
        Ok(()) => deploy_resume::resume(ctx, bot, true, false),
        Err(Error::NotConfirmed(_)) => {
            ui::line(format!(
                "Fly.io stays stopped. When you want it back: botctl deploy-resume {}",
                bot.name
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}
