//! Handoffs: dev-start's local state, and the team's records on Fly machines.

use super::{Context, Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::model::MachineId;
use crate::sources::telegram::ProbeOutcome;
use crate::survey::finding::{Check, Finding};
use crate::{state, team, ui};

/// A handoff recorded for a bot that is no longer in botctl.toml: deploy-resume cannot name
/// it, so its machines would stay stopped unseen.
pub(super) fn check_orphan_handoffs(ctx: &Context, ev: &Evidence, f: &mut Findings) {
    let Ok(st) = &ev.handoffs else { return };
    for h in st
        .handoffs
        .iter()
        .filter(|h| !ctx.cfg.bots.iter().any(|b| b.name == h.bot))
    {
        f.push(
            Finding::warn(
                None,
                Check::Handoff,
                format!(
                    "{} records a dev-start of bot {:?} (by {} at {}), which is \
not in {}: {} may still be stopped",
                    state::path(&ctx.cfg.root).display(),
                    h.bot,
                    h.by,
                    h.at,
                    ctx.cfg.path.display(),
                    h.stopped()
                ),
            )
            .fix(Fix::drop_stale_handoff(
                h.app.as_deref(),
                &h.machines.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                &h.bot,
                &state::path(&ctx.cfg.root).display().to_string(),
            )),
        );
    }
}

pub(super) fn check_handoff(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    match &ev.handoffs {
        Err(e) => f.push(Finding::error(Some(bot), Check::Handoff, e.to_string())),
        Ok(st) => {
            if let Some(h) = st.handoff(&bot.name) {
                f.push(
                    Finding::warn(
                        Some(bot),
                        Check::Handoff,
                        match (&h.app, &h.webhook) {
                            (None, Some(w)) => format!(
                                "dev-start by {} at {} deleted the webhook ({}): Telegram \
delivers nothing to it until it is set again",
                                h.by,
                                h.at,
                                w.describe()
                            ),
                            _ => format!(
                                "dev-start by {} at {} stopped {}: Fly.io does not serve this \
bot until they are started again",
                                h.by,
                                h.at,
                                h.stopped()
                            ),
                        },
                    )
                    .fix(Fix::deploy_resume(&bot.name)),
                );
            }
        }
    }
}

/// The handoff record on Fly (`crate::team`): held by someone else (with a probe that hears a
/// poller, most likely their copy), stale, on only some of the machines, or on machines that
/// are started again.
pub(super) fn check_fly_record(ctx: &Context, bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let (Some(app), Some(Ok(machines))) = (bot.app().map(|a| a.as_str()), ev.survey.machines(bot))
    else {
        return;
    };
    let records = team::records(bot, machines);
    let Some(record) = records.first() else {
        return;
    };
    let stale = ctx.cfg.team.stale;
    let is_stale = record.is_stale(stale);
    let stale_note = if is_stale {
        format!(
            "; the record is stale: older than [team] stale = {}",
            crate::time::span(stale)
        )
    } else {
        String::new()
    };
    let who = ui::shown(&record.by).into_owned();
    let hand_back = Fix::ask_to_hand_back_or_take_it_over(&who, &bot.name);
    if !record.is_mine() {
        let heard = match ev.probes.get(&bot.name) {
            Some(ProbeOutcome::OtherPoller { after }) => Some(*after),
            _ => None,
        };
        let place = format!(
            "{} (handoff record on machine(s) {} of {app}){stale_note}",
            record.holds(&bot.name),
            record.machines.join(", ")
        );
        f.push(match heard {
            Some(after) => Finding::error(
                Some(bot),
                Check::Handoff,
                format!(
                    "another poller answered the probe after {:.1}s: the poller is most likely {who}'s copy: {place}",
                    after.as_secs_f32()
                ),
            )
            .fix(Fix::ask_to_stop_or_hand_back(&who, &bot.name)),
            None => Finding::warn(
                Some(bot),
                Check::Handoff,
                format!("{place}: it runs on their laptop, which botctl cannot see from here"),
            )
            .fix(hand_back.clone()),
        });
    } else if is_stale {
        f.push(
            Finding::warn(
                Some(bot),
                Check::Handoff,
                format!(
                    "you took {} at {}{stale_note}: is the bot still meant to run on your laptop?",
                    bot.name,
                    record.since()
                ),
            )
            .fix(Fix::deploy_resume(&bot.name)),
        );
    }
    // Machines it names that are started again: something started them after the handoff.
    let started: Vec<&str> = machines
        .iter()
        .filter(|m| record.machines.contains(&m.id) && m.is_running())
        .map(|m| m.id.as_str())
        .collect();
    if let Some(first) = started.first() {
        f.push(
            Finding::error(
                Some(bot),
                Check::Handoff,
                format!(
                    "machine(s) {} of {app} carry the handoff record by {who} but are started: something started them after the handoff; they poll while {who} may run it too",
                    started.join(", ")
                ),
            )
            .fix(Fix::find_who_started(first, &started, app, &bot.name)),
        );
    }
    // On only some machines: the ones this person's handoff stopped that lack the record.
    if record.is_mine()
        && let Ok(st) = &ev.handoffs
        && let Some(h) = st.handoff(&bot.name).filter(|h| h.of_app(app))
    {
        let missing: Vec<MachineId> = h
            .machines
            .iter()
            .filter(|id| {
                !record.machines.contains(id)
                    && machines
                        .iter()
                        .any(|m| m.id == **id && m.state.is_stopped())
            })
            .cloned()
            .collect();
        if !missing.is_empty() {
            let pairs = team::record_pairs(&record.by, &record.on, &record.at_text, &bot.name);
            f.push(
                Finding::warn(
                    Some(bot),
                    Check::Handoff,
                    format!(
                        "the handoff record is on only some of the machines dev-start stopped: {} of {app} lack(s) it, so a teammate may not see who holds {}",
                        missing.join(", "),
                        bot.name
                    ),
                )
                .fix(Fix::each_then(team::write_commands(app, &missing, &pairs))),
            );
        }
    }
    // Records by different people on the machines of one app: the team disagrees.
    if records.len() > 1 {
        let all: Vec<String> = records
            .iter()
            .map(|r| format!("{} on {}", r.holds(&bot.name), r.machines.join(", ")))
            .collect();
        f.push(
            Finding::warn(
                Some(bot),
                Check::Handoff,
                format!(
                    "the machines of {app} carry different handoff records, so the record is on only some of them: {}",
                    all.join("; ")
                ),
            )
            .fix(hand_back),
        );
    }
}
