//! `botctl doctor`: for when a 409 comes back. Every check of the SPEC, each finding with a
//! level, a message and the command that fixes it; the cause comes first.
//!
//! One file per family of checks, each check a function from the evidence to findings:
//! a new check goes into its family's file and into [`diagnose`]'s list.

mod autostart;
mod deploys;
mod evidence;
mod fly;
mod handoff;
mod hosts;
mod local;
mod places;
mod platform;
mod telegram;
mod webhook;

use super::Context;
use crate::config::Bot;
use crate::error::{ExitStatus, Result};
use crate::sources::autostart::Reach;
use crate::survey::finding::{Check, Finding, Level};
use crate::survey::judge;
use crate::ui;
use crate::ui::report::Detail;
pub use deploys::FlyToml;
use evidence::{Evidence, gather};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  botctl doctor\n  botctl doctor partner \
--probe\n  botctl doctor --json\n  botctl doctor -v     every check, ok ones too\n\nExit: 0 no \
error found, 1 an error finding")]
pub struct Args {
    /// Bots to check (default: all)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bots: Vec<String>,
    /// Also long-poll getUpdates to catch a poller no other check can see
    #[arg(long)]
    probe: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Whether doctor long-polls getUpdates to hear other pollers (`--probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Listen,
    Skip,
}

pub fn run(ctx: &Context, args: &Args, detail: Detail) -> Result<ExitStatus> {
    let bots = ctx.cfg.select(&args.bots)?;
    let probe = if args.probe {
        Probe::Listen
    } else {
        Probe::Skip
    };
    if probe == Probe::Listen {
        ui::note(format!(
            "Probing for {}s. {}",
            ctx.cfg.telegram.probe.as_secs(),
            crate::sources::telegram::PROBE_WARNING
        ));
    }
    let evidence = {
        let _spinner = (probe == Probe::Listen)
            .then(|| ui::Spinner::new("listening for other pollers", ctx.cfg.telegram.probe));
        gather(ctx, &bots, probe)
    };
    let findings = diagnose(ctx, &bots, &evidence, probe);
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if args.json {
        ui::json(&ui::json::DoctorJson::new(&findings));
    } else {
        let names: Vec<&str> = bots.iter().map(|b| b.name.as_str()).collect();
        ui::report::doctor(&findings, &names, detail);
        if detail == Detail::All {
            let not_here: Vec<String> = judge::autostart_not_checked(&evidence.survey)
                .iter()
                .filter(|u| u.reach == Reach::NotHere)
                .map(|u| u.described())
                .collect();
            ui::report::not_here(&not_here);
        }
    }
    Ok(ExitStatus::found_if(errors > 0))
}

/// What the checks found so far.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, finding: Finding) {
        self.0.push(finding);
    }
}

/// Every check over the evidence, the cause of a 409 sorted first.
pub fn diagnose(ctx: &Context, bots: &[&Bot], ev: &Evidence, probe: Probe) -> Vec<Finding> {
    let mut f = Findings::default();
    f.push(Finding::ok(
        None,
        Check::Config,
        format!(
            "{} describes {} bot(s)",
            ctx.cfg.path.display(),
            ctx.cfg.bots.len()
        ),
    ));
    let api = ctx.cfg.telegram.api.as_str();
    fly::check_flyctl(ctx, ev, &mut f);
    handoff::check_orphan_handoffs(ctx, ev, &mut f);
    local::check_containers(ev, &mut f);
    autostart::check_unreadable(ev, &mut f);
    for bot in bots {
        let fly_toml = deploys::FlyToml::read(ctx, bot);
        for finding in deploys::findings(bot, ev, &fly_toml) {
            f.push(finding);
        }
        // Before places: when another app holds the token, that is the cause to name first.
        places::check_shared_token(bot, ev, &mut f);
        places::check_places(bot, ev, api, &mut f);
        hosts::check_hosts(bot, ev, &mut f);
        local::check_supervisors(bot, ev, &mut f);
        fly::check_fly(bot, ev, &mut f);
        platform::check_platform(bot, ev, &mut f);
        telegram::check_telegram(bot, ev, api, &mut f);
        autostart::check_autostart(ctx, bot, ev, &mut f);
        fly::check_logs(bot, ev, &mut f);
        platform::check_logs(bot, ev, &mut f);
        handoff::check_handoff(bot, ev, &mut f);
        handoff::check_fly_record(ctx, bot, ev, &mut f);
        if probe == Probe::Listen {
            telegram::check_probe(bot, ev, &mut f);
        }
    }
    let mut findings = f.0;
    findings.sort_by_key(|x| (x.level, x.check.weight()));
    findings
}
