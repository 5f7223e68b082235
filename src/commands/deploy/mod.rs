//! `botctl deploy BOT`: `flyctl deploy` that cannot make a 409, as numbered steps: refuse while
//! the bot runs here or on a host beside a started Fly machine; never bluegreen or canary for a
//! polling bot (nor for any bot while a handoff is open); while a handoff is open keep every
//! machine stopped (flyctl v0.4.20 or newer); else, after flyctl returns, wait until the bot's
//! machines are started, check that one of them polls, and wait for the ready line with no 409
//! after it (the step deploy-resume takes).

mod flyctl_deploy;

use std::path::PathBuf;

use super::Context;
use super::doctor::FlyToml;
use super::steps::{Mode, Settle, Steps, wait_for_machines};
use crate::config::Bot;
use crate::error::{Action, Error, ExitStatus, Result, Usage};
use crate::fix::Fix;
use crate::model::{BotName, Fly, MachineId};
use crate::sources::fly::deploy_strategy::{self, Strategy};
use crate::sources::fly::{FlyError, FlyctlVersion, KEEPS_STOPPED_SINCE, Machine};
use crate::survey::Survey;
use crate::{shell, state, time, ui};

#[derive(clap::Args, Debug)]
#[command(
    about = "flyctl deploy for a bot, without a 409: never two pollers, the new release checked",
    after_help = "Examples:\n  botctl deploy partner\n  botctl deploy partner --yes -- \
--remote-only\n  botctl deploy partner --dry-run\n\nExit: 0 the new release runs in one place \
(or, while a handoff holds the bot, every machine stayed stopped); 1 a refusal with its fix; 3 a \
step failed (flyctl's own error, a second poller, no ready line); 4 not confirmed"
)]
pub struct Args {
    /// The bot to deploy (its fly_app)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bot: String,
    /// Do not ask for confirmation (CI)
    #[arg(long, short)]
    yes: bool,
    /// Print the steps and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Passed to `flyctl deploy` as they are, after `--` (--remote-only, --image …,
    /// --build-arg …)
    #[arg(last = true, value_name = "FLYCTL_DEPLOY_ARGS")]
    flyctl_args: Vec<String>,
}

/// The process group the bot's machines belong to when the app has none of its own
/// (`config.metadata.fly_process_group`).
const DEFAULT_GROUP: &str = "app";

pub fn run(ctx: &Context, args: &Args) -> Result<ExitStatus> {
    let bot = ctx
        .cfg
        .select(std::slice::from_ref(&args.bot))?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::Usage(Usage::NoBotNamed {
                name: args.bot.clone(),
            })
        })?;
    let Some(fly) = bot.fly() else {
        return Err(Error::Usage(Usage::NoPlatform {
            bot: bot.name.clone(),
            nothing_to: Action::Deploy,
        }));
    };
    for own in ["--app", "-a", "--config", "-c"] {
        if args
            .flyctl_args
            .iter()
            .any(|a| a == own || a.starts_with(&format!("{own}=")))
        {
            return Err(Error::Usage(Usage::OwnFlag {
                flag: own,
                app: fly.app.clone(),
            }));
        }
    }
    deploy(
        ctx,
        bot,
        fly,
        Mode::new(args.yes, args.dry_run),
        &args.flyctl_args,
    )?;
    Ok(ExitStatus::Clean)
}

/// The bot's machines: those of its process group (the lists read here hold only them; the
/// name is botctl.toml's `fly_process_group`, else the group the machines carry).
struct Group<'a> {
    name: Option<&'a str>,
}

impl Group<'_> {
    fn of<'m>(&self, machines: &'m [Machine]) -> Vec<&'m Machine> {
        machines
            .iter()
            .filter(|m| self.name.is_none_or(|g| group_of(m) == g))
            .collect()
    }

    /// The name for `fly scale count 1 --process-group GROUP`: the group the machines carry.
    fn name_in(&self, machines: &[&Machine]) -> String {
        self.name
            .map(str::to_string)
            .or_else(|| machines.first().map(|m| group_of(m).to_string()))
            .unwrap_or_else(|| DEFAULT_GROUP.to_string())
    }
}

fn group_of(m: &Machine) -> &str {
    m.metadata
        .get("fly_process_group")
        .map(String::as_str)
        .filter(|g| !g.is_empty())
        .unwrap_or(DEFAULT_GROUP)
}

fn is_canary(m: &Machine) -> bool {
    m.metadata.get("fly_canary").is_some_and(|v| v == "true")
}

/// Who holds the bot while a handoff is open: every machine must stay stopped.
struct HeldBy {
    /// "alice@mbp", "you", "this machine (pid 4242)".
    holder: String,
    /// Where the new release starts.
    then: String,
}

fn deploy(ctx: &Context, bot: &Bot, fly: &Fly, mode: Mode, user_args: &[String]) -> Result<()> {
    let app = fly.app.as_str();
    let mut steps = Steps::new(
        &format!("deploy {}: flyctl deploy to Fly app {app}", bot.name),
        mode,
    );
    // dev-start and deploy-resume take the same lock: no handoff starts or ends meanwhile.
    let _lock = if mode.is_dry_run() {
        None
    } else {
        Some(state::lock(&ctx.cfg.root)?)
    };
    let group = Group {
        name: fly.group.as_deref(),
    };
    let survey = ctx.survey(&[bot]);
    let held = refuse_beside_a_started_machine(ctx, bot, &survey, &group, &mut steps)?;
    let plan = read_the_deploy(ctx, bot, app, &survey, &group, &mut steps)?;
    let extra = choose_strategy(bot, &plan, held.is_some(), user_args, &mut steps)?;
    keep_stopped_while_held(bot, app, &plan, held.as_ref(), &group, &mut steps)?;

    let mut args: Vec<String> = vec!["deploy".into(), "--app".into(), app.into()];
    if plan.fly_toml_exists {
        args.push("--config".into());
        args.push(plan.fly_toml.display().to_string());
    }
    args.extend(extra);
    args.extend(user_args.iter().cloned());
    let mut step = steps.begin("Run flyctl deploy");
    let shown = format!("flyctl {}", shell::join(&args[..]));
    let dir = plan.dir.display().to_string();
    if mode.is_dry_run() {
        step.would(format!("{shown}   (in {dir})"));
        return Ok(());
    }
    mode.confirm(&format!("Run `{shown}` in {dir}?"))
        .map_err(|e| step.fail(e))?;
    let program = ctx
        .flyctl
        .installed()
        .map_err(|e| step.fail(e.into()))?
        .to_path_buf();
    let began = time::now();
    flyctl_deploy::run(&program, &args, &plan.dir, ctx.cfg.fly.deploy_timeout)
        .map_err(|e| step.fail(e))?;
    step.done(format!("`{shown}` exited with status 0"));

    if let Some(held) = &held {
        return check_all_stayed_stopped(ctx, bot, app, held, &group, &mut steps);
    }
    let started = wait_until_started(ctx, bot, app, &group, &mut steps)?;
    if started {
        one_machine_polls(ctx, bot, app, &group, &mut steps)?;
    }
    let on_fly = crate::sources::fly::OnFly::app(&ctx.flyctl, app);
    let on = super::ready_line::ReadyLine {
        platform: &on_fly,
        ready: fly.ready_log.as_deref(),
    };
    super::ready_line::wait_for_ready_line(ctx, bot, on, started.then_some(began), &mut steps)
}

/// Step 1: a copy here or on a host is a refusal while a machine of the bot is started (a
/// conflict already: its fix first); with every machine stopped it is the holder of a handoff.
/// Another Fly app polling with the token is always a refusal.
fn refuse_beside_a_started_machine(
    ctx: &Context,
    bot: &Bot,
    survey: &Survey,
    group: &Group,
    steps: &mut Steps,
) -> Result<Option<HeldBy>> {
    let mut step = steps.begin(&format!(
        "Refuse while {} runs here or on a host beside a started Fly machine",
        bot.name
    ));
    if let Err(e) = &survey.local {
        return Err(step.fail(Error::step(e.clone())));
    }
    let places = survey.places(bot);
    let machines = match survey.machines(bot) {
        Some(Ok(ms)) => ms.as_slice(),
        Some(Err(e)) => return Err(step.fail(e.clone().into())),
        None => &[],
    };
    let started: Vec<&str> = group
        .of(machines)
        .into_iter()
        .filter(|m| m.is_running())
        .map(|m| m.id.as_str())
        .collect();
    let copy_here = places
        .local
        .iter()
        .map(|i| ui::describe::instance(i))
        .next()
        .map(|c| {
            (
                format!("{} runs here: {c}", bot.name),
                Fix::dev_stop(&bot.name),
            )
        });
    let copy_on_host = places.hosts.first().map(|(host, i)| {
        (
            format!(
                "{} runs on host {host}: {}",
                bot.name,
                ui::describe::on_host(host, i)
            ),
            Fix::dev_stop_on(&bot.name, host),
        )
    });
    let copy = copy_here.or(copy_on_host);
    if let (Some((what, stop)), false) = (&copy, started.is_empty()) {
        return Err(step.fail(Error::Refused {
            message: format!(
                "{what}, beside started machine(s) {} of {}: two pollers already; stop one \
before deploying",
                started.join(", "),
                places.app.map(|a| a.as_str()).unwrap_or_default()
            ),
            fix: stop.clone(),
        }));
    }
    if let Some(other) = survey
        .shared_token(bot)
        .iter()
        .flat_map(|t| &t.also)
        .find(|a| !a.started().is_empty())
    {
        return Err(step.fail(Error::Refused {
            message: format!(
                "Fly app {} holds {}'s token (secret {}) and its machine(s) poll with it",
                other.app, bot.name, other.secret
            ),
            fix: other.fix(),
        }));
    }
    // Who holds the bot: a record on Fly (anyone's), this laptop's state, or a copy running
    // while every machine is stopped.
    let local_state = state::read(&ctx.cfg.root).map_err(|e| step.fail(e))?;
    let held = if let Some(r) = &places.record {
        Some(if r.is_mine() {
            HeldBy {
                holder: "you".into(),
                then: format!("your `botctl deploy-resume {}`", bot.name),
            }
        } else {
            let by = ui::shown(&r.by).into_owned();
            HeldBy {
                then: format!("their `botctl deploy-resume {}`", bot.name),
                holder: format!("{by} (since {})", r.since()),
            }
        })
    } else if let Some(h) = local_state.handoff(&bot.name) {
        Some(HeldBy {
            holder: format!("you (dev-start at {})", h.at),
            then: format!("your `botctl deploy-resume {}`", bot.name),
        })
    } else {
        copy.map(|(what, _)| HeldBy {
            holder: what,
            then: format!("`botctl deploy-resume {}`", bot.name),
        })
    };
    match &held {
        Some(h) => step.done(format!(
            "held by {}, and no machine of it is started",
            h.holder
        )),
        None => step.done("it runs nowhere but on Fly"),
    }
    Ok(held)
}

/// What the deploy works with: fly.toml's strategy, flyctl's version, the bot's machines.
struct Plan {
    fly_toml: PathBuf,
    fly_toml_exists: bool,
    /// Where flyctl deploy runs: the folder of fly.toml.
    dir: PathBuf,
    toml_strategy: Option<Strategy>,
    version: Result<FlyctlVersion, FlyError>,
    machines: Vec<Machine>,
}

fn read_the_deploy(
    ctx: &Context,
    bot: &Bot,
    app: &str,
    survey: &Survey,
    group: &Group,
    steps: &mut Steps,
) -> Result<Plan> {
    let mut step = steps.begin("Read fly.toml, flyctl's version and the machines");
    let toml = FlyToml::read(ctx, bot);
    let shown = toml.path.display().to_string();
    let (exists, toml_strategy) = match toml.deploy() {
        None => (false, None),
        Some(Err(e)) => {
            return Err(step.fail(Error::Refused {
                message: format!("cannot read {shown}: {e}"),
                fix: Fix::repair_file(&shown, "flyctl deploy reads it too"),
            }));
        }
        Some(Ok(d)) => {
            if let Some(other) = d.app.as_deref().filter(|a| *a != app) {
                return Err(step.fail(Error::Refused {
                    message: format!(
                        "{shown} is the fly.toml of app {}, not of {}'s app {app}",
                        ui::shown(other),
                        bot.name
                    ),
                    fix: Fix::instruction("name the bot's fly.toml with [fly] toml in botctl.toml"),
                }));
            }
            (true, d.strategy.as_deref().map(Strategy::parse))
        }
    };
    let dir = toml
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.cfg.root.clone());
    let version = ctx.flyctl.version();
    let machines = ctx
        .fly_machines_seen_or_read(bot, survey.machines(bot))
        .map_err(|e| step.fail(e.into()))?;
    let mine = group.of(&machines);
    let count = |f: fn(&Machine) -> bool| mine.iter().filter(|m| f(m)).count();
    step.done(format!(
        "{}; flyctl {}; {} machine(s) of {app}: {} started, {} stopped",
        if exists {
            format!(
                "{shown}: strategy {}",
                toml_strategy
                    .as_ref()
                    .map(|s| format!("\"{s}\""))
                    .unwrap_or_else(|| "not set (flyctl's default: rolling)".into())
            )
        } else {
            format!("no {shown}")
        },
        match &version {
            Ok(v) => v.to_string(),
            Err(e) => format!("version unknown ({})", e.with_fix()),
        },
        mine.len(),
        count(Machine::is_running),
        count(|m| m.state.is_stopped()),
    ));
    Ok(Plan {
        fly_toml: toml.path.clone(),
        fly_toml_exists: exists,
        dir,
        toml_strategy,
        version,
        machines,
    })
}

/// Step 3: the strategy flyctl will use, and the arguments botctl adds for it.
fn choose_strategy(
    bot: &Bot,
    plan: &Plan,
    held: bool,
    user_args: &[String],
    steps: &mut Steps,
) -> Result<Vec<String>> {
    let mut step = steps.begin("Choose the deploy strategy");
    let must_not_overlap = held || !bot.mode.is_webhook();
    let why_not = if held {
        "while a handoff is open every machine must stay stopped".to_string()
    } else {
        format!("{} polls: two machines at once make a 409", bot.name)
    };
    let machines = plan.machines.iter().filter(|m| !is_canary(m)).count();
    let mut extra = Vec::new();
    let said = match (deploy_strategy::from_args(user_args), &plan.toml_strategy) {
        (Some(s), _) if must_not_overlap && s.overlaps() => {
            return Err(step.fail(Error::Refused {
                message: format!(
                    "you asked for --strategy {s}, and {why_not}: {}",
                    s.what_it_does()
                ),
                fix: Fix::run(&["botctl", "deploy", &bot.name, "--"])
                    .note_also("(without --strategy; botctl passes rolling)"),
            }));
        }
        (Some(s), _) => format!("--strategy {s} (yours): {}", s.what_it_does()),
        (None, Some(s)) if must_not_overlap && s.overlaps() => {
            // One machine: nothing to roll, and immediate skips the health-check waits.
            let instead = if machines <= 1 {
                Strategy::Immediate
            } else {
                Strategy::Rolling
            };
            extra.extend(["--strategy".to_string(), instead.to_string()]);
            format!(
                "fly.toml asks for \"{s}\", but {why_not}: {}.\nbotctl passes --strategy \
{instead}: {}",
                s.what_it_does(),
                instead.what_it_does()
            )
        }
        (None, Some(s)) => format!("\"{s}\" from fly.toml: {}", s.what_it_does()),
        (None, None) => format!(
            "rolling (flyctl's default): {}",
            Strategy::Rolling.what_it_does()
        ),
    };
    // A first deploy makes two started machines per group with services (HA).
    let said = if machines == 0
        && !bot.mode.is_webhook()
        && !user_args
            .iter()
            .any(|a| a == "--ha" || a.starts_with("--ha="))
    {
        extra.push("--ha=false".into());
        format!(
            "{said}\nthe app has no machine yet: botctl passes --ha=false (a first deploy \
otherwise starts two machines, two pollers)"
        )
    } else {
        said
    };
    step.done(said);
    Ok(extra)
}

/// Step 4: while a handoff is open the deploy must leave every machine stopped, which only a
/// flyctl of v0.4.20 or newer does; a polling bot's stopped machine is started by an older one
/// even without a handoff, beside the running one.
fn keep_stopped_while_held(
    bot: &Bot,
    app: &str,
    plan: &Plan,
    held: Option<&HeldBy>,
    group: &Group,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Keep stopped machines stopped");
    let mine = group.of(&plan.machines);
    let stopped: Vec<&str> = mine
        .iter()
        .filter(|m| m.state.is_stopped())
        .map(|m| m.id.as_str())
        .collect();
    let upgrade = Fix::upgrade_flyctl();
    let old = |v: &FlyctlVersion| *v < KEEPS_STOPPED_SINCE;
    if let Some(held) = held {
        if let Some(started) = mine.iter().find(|m| m.is_running()) {
            return Err(step.fail(Error::Refused {
                message: format!(
                    "{} holds {}, yet machine {} of {app} is {}: two pollers already",
                    held.holder, bot.name, started.id, started.state
                ),
                fix: Fix::stop_machines(&[started.id.as_str()], app),
            }));
        }
        match &plan.version {
            Ok(v) if old(v) => {
                return Err(step.fail(Error::Refused {
                    message: format!(
                        "{} holds {}: flyctl {v} is older than {KEEPS_STOPPED_SINCE}, and its \
deploy starts the stopped machines of {app}",
                        held.holder, bot.name
                    ),
                    fix: upgrade,
                }));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(step.fail(Error::step(VersionUnknown {
                    holder: held.holder.to_string(),
                    bot: bot.name.clone(),
                    source: e.clone(),
                })));
            }
        }
        step.done(format!(
            "{} holds {}: every machine stays stopped, and the new release starts at {}",
            held.holder, bot.name, held.then
        ));
        return Ok(());
    }
    match &plan.version {
        Ok(v) if old(v) && !stopped.is_empty() && !bot.mode.is_webhook() => {
            Err(step.fail(Error::Refused {
                message: format!(
                    "flyctl {v} is older than {KEEPS_STOPPED_SINCE}: its deploy starts the \
stopped machine(s) {} of {app} beside the running one",
                    stopped.join(", ")
                ),
                fix: upgrade,
            }))
        }
        _ if stopped.is_empty() => {
            step.skipped("no handoff is open and no machine is stopped");
            Ok(())
        }
        _ => {
            step.done(format!(
                "no handoff is open; {} stay stopped",
                stopped.join(", ")
            ));
            Ok(())
        }
    }
}

/// While a handoff is open: the deploy must have started nothing.
fn check_all_stayed_stopped(
    ctx: &Context,
    bot: &Bot,
    app: &str,
    held: &HeldBy,
    group: &Group,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Check that every machine stayed stopped");
    let machines = ctx.fly_machines(bot).map_err(|e| step.fail(e.into()))?;
    let started: Vec<&Machine> = group
        .of(&machines)
        .into_iter()
        .filter(|m| m.is_running())
        .collect();
    if let Some(m) = started.first() {
        return Err(step.fail(Error::LeftToDo {
            message: format!(
                "the deploy started machine(s) {} of {app} while {} holds {}: the bot polls \
on Fly beside that copy",
                started
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                held.holder,
                bot.name,
            ),
            fix: Fix::stop_machines(&[m.id.as_str()], app),
        }));
    }
    step.done(format!(
        "every machine of {app} is stopped; {} holds {}, and the new release starts at {}",
        held.holder, bot.name, held.then
    ));
    Ok(())
}

/// The machines the deploy left running, waited for until Fly says started. `false`: none
/// runs (a webhook bot's Fly Proxy starts one on the next post).
fn wait_until_started(
    ctx: &Context,
    bot: &Bot,
    app: &str,
    group: &Group,
    steps: &mut Steps,
) -> Result<bool> {
    let mut step = steps.begin("Wait until Fly reports the bot's machines started");
    let machines = ctx.fly_machines(bot).map_err(|e| step.fail(e.into()))?;
    let targets: Vec<MachineId> = group
        .of(&machines)
        .into_iter()
        .filter(|m| m.is_running())
        .map(|m| m.id.clone())
        .collect();
    if targets.is_empty() {
        if bot.mode.is_webhook() {
            step.skipped("no machine runs: Fly Proxy starts one at Telegram's next post");
            return Ok(false);
        }
        return Err(step.fail(Error::LeftToDo {
            message: format!(
                "no machine of {} runs on Fly after the deploy: they were stopped before it, \
and flyctl keeps stopped machines stopped",
                bot.name
            ),
            fix: Fix::deploy_resume(&bot.name),
        }));
    }
    wait_for_machines(
        &ctx.flyctl,
        app,
        &bot.name,
        &targets,
        Settle::Started,
        ctx.cfg.fly.wait,
    )
    .map_err(|e| step.fail(e))?;
    step.done(format!("started: {}", targets.join(", ")));
    Ok(true)
}

/// A polling bot must poll from one machine: a second one (the first deploy's HA pair, a
/// canary left behind) is a 409 by itself.
fn one_machine_polls(
    ctx: &Context,
    bot: &Bot,
    app: &str,
    group: &Group,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin(&format!(
        "Check that exactly one machine of {} polls",
        bot.name
    ));
    if bot.mode.is_webhook() {
        step.skipped("a webhook bot's machines share Telegram's posts: several are fine");
        return Ok(());
    }
    let machines = ctx.fly_machines(bot).map_err(|e| step.fail(e.into()))?;
    let running: Vec<&Machine> = group
        .of(&machines)
        .into_iter()
        .filter(|m| m.is_running())
        .collect();
    if running.len() > 1 {
        let name = group.name_in(&running);
        return Err(step.fail(Error::LeftToDo {
            message: format!(
                "{} machines of {} run after the deploy: {}; each polls, so Telegram answers \
one of them 409 (a first deploy of a group with services starts two)",
                running.len(),
                bot.name,
                running
                    .iter()
                    .map(|m| format!("{} ({})", m.id, m.state))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix: Fix::run(&[
                "fly",
                "scale",
                "count",
                "1",
                "--process-group",
                &name,
                "--app",
                app,
            ]),
        }));
    }
    step.done(format!(
        "one: {}",
        running.first().map(|m| m.id.as_str()).unwrap_or_default()
    ));
    Ok(())
}

/// A handoff is open and flyctl's version cannot be read: whether its deploy keeps the
/// stopped machines stopped cannot be told.
#[derive(Debug)]
struct VersionUnknown {
    holder: String,
    bot: BotName,
    source: FlyError,
}

impl std::fmt::Display for VersionUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} holds {}, and whether this flyctl keeps stopped machines stopped cannot be \
told: {}",
            self.holder,
            self.bot,
            self.source.with_fix()
        )
    }
}

impl std::error::Error for VersionUnknown {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
