//! Numbered, named steps that read like the checklist they replace. Each prints its outcome:
//! done, skipped, would (dry run), warn or failed, with a line of detail.

use std::time::{Duration, Instant};

use crate::config::Bot;
use crate::error::{Error, Result};
use crate::fix::Fix;
use crate::model::MachineId;
use crate::outside::Outside;
use crate::sources::fly::{Flyctl, OnFly};
pub use crate::sources::platform::Settle;
mod failure;
pub mod scale;
pub mod team;
pub mod webhook;
use crate::sources::platform::{Platform, Waited};
use crate::sources::telegram::{BotApi, ProbeOutcome, Token};
use crate::survey::Survey;
use crate::ui::report::Mark;
use crate::{interrupt, ui};
pub use failure::StepFailure;

/// The conflict probe for `token` with the project's `[telegram]` settings, a spinner showing
/// its window (dev-start and exec; the caller says first what it does to another poller).
pub fn probe_with_spinner(ctx: &super::Context, token: &Token) -> ProbeOutcome {
    let window = ctx.cfg.telegram.probe;
    let api = BotApi::new(
        &ctx.cfg.telegram.api,
        token.clone(),
        ctx.cfg.telegram.timeout,
    );
    let _spinner = ui::Spinner::new("listening for another poller", window);
    api.probe(window)
}

pub struct Steps {
    next: usize,
}

pub enum Outcome {
    Done,
    Skipped,
    Would,
    Warn,
    Failed,
}

impl Steps {
    /// Prints the command's title, saying when nothing will be changed.
    pub fn new(title: &str, mode: Mode) -> Self {
        ui::line(ui::heading(&if mode.is_dry_run() {
            format!("{title} (dry run: nothing will be changed)")
        } else {
            title.to_string()
        }));
        Steps { next: 1 }
    }

    /// Prints the step's name and returns a handle to report its outcome.
    pub fn begin(&mut self, name: &str) -> Step {
        let n = self.next;
        self.next += 1;
        ui::line(format!("{n:>2}. {name}"));
        Step { reported: false }
    }
}

pub struct Step {
    reported: bool,
}

/// Where a step's outcome sits, under its number and name.
const INDENT: usize = 4;

impl Step {
    pub fn report(&mut self, outcome: Outcome, detail: impl AsRef<str>) {
        self.reported = true;
        let (mark, word) = match outcome {
            Outcome::Done => (Some(Mark::Ok), ui::good("done")),
            Outcome::Skipped => (None, ui::dim("skipped")),
            Outcome::Would => (None, ui::caution("would")),
            Outcome::Warn => (Some(Mark::Warn), ui::caution("warning")),
            Outcome::Failed => (Some(Mark::Error), ui::bad("failed")),
        };
        let text = format!("{word}: {}", detail.as_ref());
        match mark {
            Some(mark) => ui::report::judged(INDENT, mark, &text, None),
            // Unmarked outcomes keep their words in the marked ones' column.
            None => ui::report::noted(INDENT + 2, &text, None),
        }
    }

    /// A warning of several things, each with the command that fixes it under it.
    pub fn warn_each(&mut self, warnings: &[(String, Fix)]) {
        self.reported = true;
        ui::report::judged(INDENT, Mark::Warn, &ui::caution("warning:"), None);
        for (text, fix) in warnings {
            ui::report::noted(INDENT + 4, text, Some(fix));
        }
    }

    pub fn done(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Done, detail)
    }
    pub fn skipped(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Skipped, detail)
    }
    pub fn would(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Would, detail)
    }
    pub fn warn(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Warn, detail)
    }
    /// Marks the step as failed and hands the error back for `?`; main prints the error itself.
    pub fn fail(&mut self, error: Error) -> Error {
        let word = match &error {
            Error::Refused { .. } => "refused",
            Error::NotConfirmed(_) => "not confirmed",
            Error::Interrupted => "interrupted",
            _ => "see below",
        };
        self.report(Outcome::Failed, word);
        error
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.reported && !std::thread::panicking() {
            self.report(Outcome::Failed, "interrupted");
        }
    }
}

/// Polls `check` every `every` until it breaks with a value, `limit` passes, or Ctrl-C; shows
/// a spinner meanwhile. `Continue` carries the status line to show while waiting (progress,
/// not an error: errors are `check`'s `Err`).
pub fn wait_for<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<std::ops::ControlFlow<T, String>>,
) -> Result<Option<T>> {
    let spinner = ui::Spinner::new(what, limit);
    let deadline = Instant::now() + limit;
    loop {
        match check()? {
            std::ops::ControlFlow::Break(v) => return Ok(Some(v)),
            std::ops::ControlFlow::Continue(status) => {
                spinner.set_message(&format!("{what}: {status}"))
            }
        }
        let until = (Instant::now() + every).min(deadline);
        while Instant::now() < until {
            if interrupt::requested() {
                return Err(Error::Interrupted);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
    }
}

/// Polls the platform (through the seam) until every instance in `ids` has settled (flyctl's
/// stop and start do not wait); after `limit`, fails naming the instances still pending and
/// what to do.
pub fn wait_for_instances(
    platform: &dyn Platform,
    bot: &str,
    ids: &[Outside],
    settle: Settle,
    limit: Duration,
) -> Result<()> {
    let names: Vec<&str> = ids.iter().map(Outside::raw).collect();
    let what = format!("waiting for {} to be {}", names.join(", "), settle.word());
    let spinner = ui::Spinner::new(&what, limit);
    let waited = platform.wait_until(ids, settle, limit, &|pending| {
        spinner.set_message(&format!("{what}: {pending}"))
    })?;
    let Waited::Pending(pending) = waited else {
        return Ok(());
    };
    Err(Error::step(StepFailure::NotSettled {
        settle,
        limit,
        pending,
        look: platform.look_command(),
        bot: bot.to_string(),
    }))
}

/// [`wait_for_instances`] for machines of a Fly app.
pub fn wait_for_machines(
    fly: &Flyctl,
    app: &str,
    bot: &str,
    ids: &[MachineId],
    settle: Settle,
    limit: Duration,
) -> Result<()> {
    let ids: Vec<Outside> = ids.iter().map(|id| Outside::from(id.as_str())).collect();
    wait_for_instances(&OnFly::app(fly, app), bot, &ids, settle, limit)
}

/// A bot whose platform is not Fly: until its platform answers through the seam with
/// instances botctl can change, a command that would `act` there (stop, start) refuses before
/// it begins, naming why, and changes nothing. `Ok` for a Fly bot and a bot without a platform.
pub fn refuse_on_unread_platform(ctx: &super::Context, bot: &Bot, act: &str) -> Result<()> {
    if bot.fly().is_some() {
        return Ok(());
    }
    let Some(platform) = ctx.platform_of(bot) else {
        return Ok(());
    };
    let why = match platform.instances() {
        Err(e) => e,
        // A platform that keeps a count goes to zero and back (`steps::scale`).
        Ok(_) if platform.control() == crate::sources::platform::Control::Scale => return Ok(()),
        Ok(_) => crate::sources::platform::NotYet {
            kind: platform.kind(),
            name: platform.name().to_string(),
        }
        .error(),
    };
    Err(Error::Refused {
        message: format!(
            "{} runs on {}, and botctl cannot {act} it there: {}",
            bot.name,
            platform.kind(),
            why
        ),
        fix: why
            .fix
            .unwrap_or_else(|| Fix::by_hand(platform.kind().cli())),
    })
}

/// How a command that changes things goes about it: prints only, asks first, or was told yes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    DryRun,
    Ask,
    Confirmed,
}

impl Mode {
    pub fn new(yes: bool, dry_run: bool) -> Mode {
        match (dry_run, yes) {
            (true, _) => Mode::DryRun,
            (false, true) => Mode::Confirmed,
            (false, false) => Mode::Ask,
        }
    }

    pub fn is_dry_run(self) -> bool {
        self == Mode::DryRun
    }

    /// Asks `question` unless the answer was given (`--yes`); exit 4 without a terminal.
    pub fn confirm(self, question: &str) -> Result<()> {
        let consent = if self == Mode::Confirmed {
            ui::Consent::Given
        } else {
            ui::Consent::Ask
        };
        ui::confirm(question, consent)
    }
}

/// The one refusal of dev-start and deploy-resume: the bot runs somewhere other than its own
/// Fly app — on this machine, or in another Fly app holding the same token — so moving it
/// would make two pollers. Read from the same `Survey` and `Places` as status, so a place the
/// survey learns to see counts here too.
pub fn refuse_while_it_runs_elsewhere(
    steps: &mut Steps,
    bot: &Bot,
    survey: &Survey,
    consequence: &str,
) -> Result<()> {
    let home = match &bot.platform {
        Some(p) if bot.fly().is_none() => p.kind().title(),
        _ => "its Fly app",
    };
    let mut step = steps.begin(&format!(
        "Refuse while {} runs anywhere but on {home}",
        bot.name
    ));
    if let Err(e) = &survey.local {
        return Err(step.fail(Error::step(e.clone())));
    }
    let places = survey.places(bot);
    if !places.local.is_empty() {
        return Err(step.fail(Error::Refused {
            message: format!(
                "{} already runs here: {}; {consequence}",
                bot.name,
                places
                    .local
                    .iter()
                    .map(|i| ui::describe::instance(i))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            fix: crate::survey::judge::stop_local(bot, &places.local)
                .unwrap_or_else(|| Fix::dev_stop(&bot.name)),
        }));
    }
    if let Some((host, _)) = places.hosts.first() {
        let on_host: Vec<String> = places
            .hosts
            .iter()
            .filter(|(h, _)| h == host)
            .map(|(h, i)| ui::describe::on_host(h, i))
            .collect();
        return Err(step.fail(Error::Refused {
            message: format!(
                "{} runs on host {host}: {}; {consequence}",
                bot.name,
                on_host.join("; ")
            ),
            fix: Fix::dev_stop_on(&bot.name, host),
        }));
    }
    let hosts_unread: Vec<String> = survey
        .hosts_of(bot)
        .filter_map(|(host, scan)| scan.as_ref().err().map(|e| format!("host {host}: {e}")))
        .collect();
    let shared = survey.shared_token(bot);
    if let Some(other) = shared
        .iter()
        .flat_map(|t| &t.also)
        .find(|a| !a.started().is_empty())
    {
        let started: Vec<&str> = other.started().iter().map(|m| m.id.as_str()).collect();
        return Err(step.fail(Error::Refused {
            message: format!(
                "Fly app {} holds {}'s token (secret {}) and its machine(s) \
{} poll with it; {consequence}",
                other.app,
                bot.name,
                other.secret,
                started.join(", ")
            ),
            fix: other.fix(),
        }));
    }
    let mut unchecked: Vec<String> = shared
        .map(|t| t.unchecked)
        .filter(|u| !u.is_empty())
        .map(|u| format!("other Fly apps not checked: {}", u.join("; ")))
        .into_iter()
        .collect();
    unchecked.extend(hosts_unread);
    unchecked.extend(places.maybe.iter().map(|(host, m)| {
        let at = host.map_or("here".to_string(), |h| format!("on host {h}"));
        format!("pid {} {at} may be {}: {}", m.instance.pid, bot.name, m.why)
    }));
    if unchecked.is_empty() {
        step.done("it runs nowhere else");
    } else {
        step.warn(format!(
            "not on this machine; {}",
            crate::outside::shown(&unchecked.join("; "))
        ));
    }
    Ok(())
}
