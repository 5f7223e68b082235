//! The team rules of dev-start and deploy-resume, as steps over the handoff records on Fly
//! (`crate::team`): refuse while someone else holds the bot (`--take-over` probes first), publish
//! the record on the machines dev-start stopped, clear it before deploy-resume starts them.

use super::{Mode, StepFailure, Steps};
use crate::commands::Context;
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::fix::Fix;
use crate::model::{MachineId, PlatformKind};
use crate::sources::fly::Machine;
use crate::sources::platform::RecordHome;
use crate::sources::telegram::{self, BotApi, ProbeOutcome, TokenLookup};
use crate::state::{self, Locked};
use crate::survey::Survey;
use crate::team::{self, Record, Written};
use crate::ui;

/// Whether the person asked to take the bot over from whoever holds it, and how. A take-over
/// goes on only after a probe that ran and heard nothing, or when the person chose to go
/// without one (`--no-probe`): a probe that could not run is no evidence that their copy
/// stopped polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeOver {
    No,
    /// Probe first; refuse unless the probe ran and heard nobody.
    Probed,
    /// `--take-over --no-probe`: the person's explicit choice to go without the probe.
    Unprobed,
}

impl TakeOver {
    pub fn new(asked: bool, no_probe: bool) -> Self {
        match (asked, no_probe) {
            (false, _) => TakeOver::No,
            (true, false) => TakeOver::Probed,
            (true, true) => TakeOver::Unprobed,
        }
    }
}

/// What the refusal step learnt about the record on Fly.
pub struct Held {
    /// The record whose machines this run inherits: this person's own, or one taken over.
    pub inherited: Option<Record>,
    /// The take-over probed already (no need to probe again when nothing changed since).
    pub probed: bool,
}

/// Refuses (exit 1) while a record by someone else holds `bot`; with `--take-over`, probes
/// first, so a copy still polling on their laptop is heard and named, then goes on.
/// `command` is the refused command, as its `--take-over` fix names it.
pub fn refuse_while_someone_holds_it(
    ctx: &Context,
    bot: &Bot,
    survey: &Survey,
    command: &str,
    take_over: TakeOver,
    mode: Mode,
    steps: &mut Steps,
) -> Result<Held> {
    let mut step = steps.begin(&format!("Refuse while someone else holds {}", bot.name));
    let places = survey.places(bot);
    let Some(record) = places.record.clone() else {
        // No record read is not "no record": a teammate's may be there.
        if let Some(Err(e)) = survey.machines(bot) {
            step.warn(format!(
                "not checked: the machines that hold a record could not be read: {e}"
            ));
            return Ok(Held {
                inherited: None,
                probed: false,
            });
        }
        // Where the platform keeps no record (or there is none), nobody else's can be read.
        let home = ctx.platform_of(bot).map(|p| (p.record_home(), p.kind()));
        step.done(match home {
            Some((RecordHome::OnPlatform, PlatformKind::Fly)) => {
                "no handoff record on Fly".to_string()
            }
            Some((RecordHome::OnPlatform, kind)) => format!("no handoff record on {kind}"),
            Some((RecordHome::LocalOnly, kind)) => format!(
                "{kind} has no place for a team record: a teammate's handoff cannot be read \
there, only this machine's"
            ),
            None => "no fly_app: no shared place where a teammate's handoff could be read".into(),
        });
        return Ok(Held {
            inherited: None,
            probed: false,
        });
    };
    if record.is_mine() {
        let on = match &bot.platform {
            Some(p) if bot.fly().is_none() => p.kind().title(),
            _ => "Fly",
        };
        step.done(format!("the record on {on} is yours ({})", record.when()));
        return Ok(Held {
            inherited: Some(record),
            probed: false,
        });
    }
    let stale = ctx.cfg.team.stale;
    let fix_command = Fix::run(&["botctl", command, &bot.name, "--take-over"]);
    if take_over == TakeOver::No {
        return Err(step.fail(record.refusal(&bot.name, stale, &fix_command)));
    }
    let then = if command == "dev-start" {
        "rewrite the record"
    } else {
        "clear the record and start the machines"
    };
    if mode.is_dry_run() {
        step.would(match take_over {
            TakeOver::Unprobed => format!(
                "take it over from {} without a probe (--no-probe), then {then}",
                record.taker()
            ),
            _ => format!(
                "take it over from {}: probe for a copy still polling there, then {then}",
                record.taker()
            ),
        });
        return Ok(Held {
            inherited: Some(record),
            probed: false,
        });
    }
    if take_over == TakeOver::Unprobed {
        step.warn(format!(
            "taking it over from {} without a probe (--no-probe): a copy still polling there \
was not checked for",
            record.taker()
        ));
        return Ok(Held {
            inherited: Some(record),
            probed: false,
        });
    }
    // Without a probe that ran and heard nothing, their copy may still poll on their laptop,
    // which nothing here can see: refuse, naming the explicit way to go on without one.
    let unprobed = |why: String| Error::Refused {
        message: format!(
            "{why}, so nothing tells whether {}'s copy still polls; taking {} over could \
make two pollers",
            ui::shown(&record.by),
            bot.name
        ),
        fix: Fix::take_over_unprobed(&fix_command),
    };
    // Probe first: their copy may still poll on their laptop, which nothing here can see.
    let token = match ctx.tokens.of(bot).clone() {
        TokenLookup::Found { token, .. } => token,
        _ => {
            return Err(step.fail(unprobed(format!(
                "the take-over probes first, and there is no token to probe with ({} is \
not set)",
                bot.token_env
                    .as_deref()
                    .unwrap_or("no token_env in botctl.toml")
            ))));
        }
    };
    ui::note(telegram::PROBE_WARNING);
    let window = ctx.cfg.telegram.probe;
    let api = BotApi::new(&ctx.cfg.telegram.api, token, ctx.cfg.telegram.timeout);
    let outcome = {
        let _spinner = ui::Spinner::new(
            &format!("listening for {}'s copy", ui::shown(&record.by)),
            window,
        );
        api.probe(window)
    };
    match outcome {
        ProbeOutcome::OtherPoller { after } => Err(step.fail(Error::Refused {
            message: format!(
                "another poller answered the probe after {:.1}s: most likely {}'s copy, still \
polling ({}); taking it over now would make two pollers",
                after.as_secs_f32(),
                ui::shown(&record.by),
                record.holds(&bot.name)
            ),
            fix: Fix::ask_holder_to_stop(&ui::shown(&record.by), &bot.name, &fix_command),
        })),
        ProbeOutcome::Failed(telegram::ApiError::Interrupted) => Err(step.fail(Error::Interrupted)),
        ProbeOutcome::Failed(e) => Err(step.fail(unprobed(format!(
            "the take-over's probe could not run ({e})"
        )))),
        ProbeOutcome::Webhook => Err(step.fail(Error::Refused {
            message: "a webhook is set: polling anywhere gets 409".into(),
            fix: Fix::doctor(&bot.name),
        })),
        ProbeOutcome::Clear { listened, .. } => {
            step.done(format!(
                "taking it over from {}: no other poller answered within {:.0}s",
                record.taker(),
                listened.as_secs_f32()
            ));
            Ok(Held {
                inherited: Some(record),
                probed: true,
            })
        }
    }
}

/// dev-start's step after the stop: writes who took the bot, and when, onto every machine the
/// handoff state lists that Fly reports `stopped` now (an update reboots a running machine).
/// A failure is a warning with the command to retry: the local record stays.
pub fn publish(
    ctx: &Context,
    bot: &Bot,
    lock: Option<&Locked>,
    mode: Mode,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Publish the handoff on Fly.io, so the team sees who has it");
    let Some(app) = bot.app().map(|a| a.as_str()) else {
        step.skipped("no fly_app: a bot without one has no shared place to publish to");
        return Ok(());
    };
    let who = crate::team::who();
    if mode.is_dry_run() {
        step.would(format!(
            "once the machines are stopped: flyctl machine update ID --app {app} --metadata \
{}={} --metadata {}={} --metadata {}=NOW --metadata {}={} --skip-start --yes",
            team::BY,
            who,
            team::ON,
            team::here(),
            team::AT,
            team::BOT,
            bot.name
        ));
        return Ok(());
    }
    let Some(lock) = lock else {
        step.skipped("the handoff lock was not taken");
        return Ok(());
    };
    let recorded = lock.load().map_err(|e| step.fail(e))?;
    let Some(handoff) = recorded.handoff(&bot.name).filter(|h| h.of_app(app)) else {
        step.skipped("no handoff recorded, so nothing to publish");
        return Ok(());
    };
    let on = team::here();
    let at = handoff.at.to_string();
    let pairs = team::record_pairs(&handoff.by, &on, &at, &bot.name);
    let machines = match ctx.fly_machines(bot) {
        Ok(ms) => ms,
        Err(e) => {
            let retry: Vec<String> = team::write_commands(app, &handoff.machines, &pairs)
                .iter()
                .map(Fix::to_string)
                .collect();
            step.warn(format!(
                "not published: {e}\nthe handoff stays recorded in {}; to publish it, run:\n{}",
                state::path(&ctx.cfg.root).display(),
                retry.join("\n")
            ));
            return Ok(());
        }
    };
    let mut targets = Vec::new();
    let mut notes = Vec::new();
    for id in &handoff.machines {
        match machines.iter().find(|m| &m.id == id) {
            None => notes.push(format!("{id} is no longer in {app}")),
            Some(m) if !m.state.is_stopped() => notes.push(format!(
                "{id} is {}, not stopped: not written (an update would reboot it)",
                m.state
            )),
            Some(m) if carries(m, &pairs) => notes.push(format!("{id} already carries it")),
            Some(_) => targets.push(id.clone()),
        }
    }
    let written = team::write(&ctx.flyctl, app, &targets, &pairs);
    let (ok, failed): (Vec<&Written>, Vec<&Written>) =
        written.iter().partition(|w| w.result.is_ok());
    let on: Vec<&str> = ok.iter().map(|w| w.machine.as_str()).collect();
    let mut detail = if on.is_empty() {
        "written on no machine".to_string()
    } else {
        format!(
            "{} took {} at {}: written on {} (the team's botctl status shows it)",
            ui::shown(&handoff.by),
            bot.name,
            handoff.at,
            on.join(", ")
        )
    };
    for n in &notes {
        detail.push_str(&format!("\n{n}"));
    }
    if failed.is_empty() {
        step.done(detail);
    } else {
        for w in &failed {
            if let Err(e) = &w.result {
                detail.push_str(&format!(
                    "\nnot published on {}: {e}\n  retry: {}",
                    w.machine, w.command
                ));
            }
        }
        detail.push_str(&format!(
            "\nthe handoff stays recorded in {}",
            state::path(&ctx.cfg.root).display()
        ));
        step.warn(detail);
    }
    Ok(())
}

/// Whether the machine's metadata already holds exactly these pairs.
fn carries(m: &Machine, pairs: &[(&str, &str)]) -> bool {
    pairs
        .iter()
        .all(|(k, v)| m.metadata.get(*k).is_some_and(|have| have == v))
}

/// deploy-resume's step before the start: clears every record for `bot` on the app's stopped
/// machines (`botctl_by=` …, `--skip-start`), so that no record outlives the handoff. A
/// machine that already runs keeps its record (clearing it would reboot it): a warning.
/// A failed clear fails the step before anything is started.
pub fn clear_before_start(
    ctx: &Context,
    bot: &Bot,
    app: &str,
    machines: &[Machine],
    mode: Mode,
    steps: &mut Steps,
) -> Result<()> {
    let mut step = steps.begin("Clear the handoff record on Fly.io before starting");
    let with_record: Vec<&Machine> = machines
        .iter()
        .filter(|m| {
            m.metadata.get(team::BOT).is_some_and(|b| *b == bot.name)
                && m.metadata.get(team::BY).is_some_and(|b| !b.is_empty())
        })
        .collect();
    if with_record.is_empty() {
        step.skipped("no handoff record on Fly");
        return Ok(());
    }
    let (stopped, running): (Vec<&Machine>, Vec<&Machine>) =
        with_record.iter().partition(|m| m.state.is_stopped());
    let ids: Vec<MachineId> = stopped.iter().map(|m| m.id.clone()).collect();
    if mode.is_dry_run() {
        step.would(format!(
            "clear it on {}: {}",
            ids.join(", "),
            team::write_commands(app, &ids, &team::CLEARED)
                .iter()
                .map(Fix::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ));
        return Ok(());
    }
    let written = team::write(&ctx.flyctl, app, &ids, &team::CLEARED);
    let failed: Vec<String> = written
        .iter()
        .filter_map(|w| {
            w.result
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}\n  retry: {}", w.machine, w.command))
        })
        .collect();
    if !failed.is_empty() {
        return Err(step.fail(Error::step(StepFailure::RecordNotCleared {
            failed,
            bot: bot.name.clone(),
        })));
    }
    let mut detail = if ids.is_empty() {
        "nothing to clear on a stopped machine".to_string()
    } else {
        format!("cleared on {}", ids.join(", "))
    };
    for m in &running {
        detail.push_str(&format!(
            "\n{} is {} with a record: left as is (an update would reboot it); once it is \
stopped: {}",
            m.id,
            m.state,
            Fix::set_metadata(app, &m.id, &team::CLEARED)
        ));
    }
    if running.is_empty() {
        step.done(detail);
    } else {
        step.warn(detail);
    }
    Ok(())
}

/// What dev-start carries into the handoff besides what it stops now (Fly's machines, a
/// platform's count).
pub struct Carried<'a> {
    /// A record on the platform (this person's, or one taken over): its machines on Fly, its
    /// former count elsewhere.
    pub inherited: Option<&'a Record>,
    /// A webhook bot's webhook, to set again on deploy-resume.
    pub webhook: Option<&'a crate::sources::webhook::Webhook>,
}
