//! What one look says for `exec`: every other place the bot runs, each with the command that
//! ends it there, and what could not be read. Built from the same `Survey` and `Places` as
//! status, less what is this run's own: its ancestors (the launch script, its supervisor, a
//! bot that started its own successor) and, inside a Fly machine, that machine.

use super::copy_lock::{self, Claim};
use crate::config::Bot;
use crate::fix::Fix;
use crate::model::Pid;
use crate::sources::local::BotProcess;
use crate::sources::proc::{self, Backend};
use crate::sources::telegram::TokenLookup;
use crate::survey::Survey;

pub use crate::error::Elsewhere;

/// What this run is, so that its own process tree and machine are never "another copy".
pub struct ThisRun {
    /// This process and its ancestors.
    pub ancestors: Vec<Pid>,
    /// `FLY_MACHINE_ID`: this run is inside that Fly machine.
    pub machine: Option<String>,
}

impl ThisRun {
    pub fn now() -> ThisRun {
        ThisRun {
            ancestors: crate::sources::local::ancestors(),
            machine: std::env::var("FLY_MACHINE_ID")
                .ok()
                .filter(|id| !id.trim().is_empty()),
        }
    }

    fn is_own(&self, pid: Pid) -> bool {
        pid == Pid::own() || self.ancestors.contains(&pid)
    }
}

/// One look's findings.
#[derive(Default)]
pub struct OtherCopies {
    pub elsewhere: Vec<Elsewhere>,
    /// Sources that could not be read (sentences with their fix when there is one).
    pub unchecked: Vec<String>,
}

/// The other places `bot` runs and what was not checked, from `survey` and the copy lock.
pub fn look(
    bot: &Bot,
    survey: &Survey,
    own: &ThisRun,
    copy: Option<&Claim>,
    api: &str,
) -> OtherCopies {
    let places = survey.places(bot);
    let mut elsewhere = Vec::new();
    let local: Vec<&BotProcess> = places
        .local
        .iter()
        .copied()
        .filter(|i| !own.is_own(i.pid))
        .collect();
    for i in &local {
        elsewhere.push(Elsewhere {
            place: crate::ui::describe::instance(i),
            fix: crate::survey::judge::local_fix(bot, i),
        });
    }
    for (host, i) in &places.hosts {
        elsewhere.push(Elsewhere {
            place: crate::ui::describe::on_host(host, i),
            fix: Fix::dev_stop_on(&bot.name, host),
        });
    }
    for (app, m) in places
        .on_fly()
        .filter(|(_, m)| own.machine.as_deref() != Some(m.id.as_str()))
    {
        elsewhere.push(Elsewhere {
            place: format!("Fly app {app} machine {} {} ({})", m.id, m.state, m.region),
            fix: if own.machine.is_some() {
                Fix::stop_machines(&[m.id.as_str()], app)
                    .note("one started machine per polling bot")
            } else {
                Fix::stop_machine_or_hand_over(&m.id, app, &bot.name)
            },
        });
    }
    let shared = survey.shared_token(bot);
    for other in shared.iter().flat_map(|t| &t.also) {
        for m in other
            .started()
            .into_iter()
            .filter(|m| own.machine.as_deref() != Some(m.id.as_str()))
        {
            elsewhere.push(Elsewhere {
                place: format!(
                    "Fly app {} machine {} {} ({}): it holds {}'s token (secret {})",
                    other.app, m.id, m.state, m.region, bot.name, other.secret
                ),
                fix: Fix::set_secret_placeholder(
                    other.secret.raw(),
                    other.app.raw(),
                    &[m.id.as_str()],
                ),
            });
        }
    }
    // A teammate's laptop that holds the bot (a handoff record by someone else on Fly): a
    // place no source here can see, so the fix is theirs to run.
    if let Some(record) = places.declared() {
        elsewhere.push(Elsewhere {
            place: format!(
                "{} (declared on Fly; not seen from here)",
                record.holds(&bot.name)
            ),
            fix: Fix::ask_to_hand_back(
                &crate::outside::Outside::from(record.by.as_str()).to_string(),
                &bot.name,
            ),
        });
    }
    if let Some(url) = places.webhook {
        elsewhere.push(Elsewhere {
            place: format!(
                "a webhook is set ({url}): Telegram delivers the updates there, and a poller gets 409"
            ),
            fix: Fix::delete_webhook(api, bot.token_env.as_deref()),
        });
    }
    // A copy an earlier exec started that the scan did not recognise (yet). When the pid it
    // wrote is gone, whoever inherited the lock from it holds it now.
    // Its pid is named only while it is the same process (pid and start time): after pid
    // reuse, whoever has the lock file open holds it.
    if let Some(Claim::HeldBy { holder, path }) = copy {
        let pid = holder.map(|h| h.pid);
        let holders = match copy_lock::live(*holder) {
            Some(pid) => vec![pid],
            None => copy_lock::holders(path),
        };
        let found = !holders.is_empty();
        let theirs: Vec<Pid> = holders
            .into_iter()
            // An instance the scan found, or the shell of a `run` that is the instance's parent,
            // is that copy, already named.
            .filter(|p| !own.is_own(*p) && !local.iter().any(|i| i.pid == *p || i.ppid == Some(*p)))
            .collect();
        let mine = pid.is_some_and(|p| own.is_own(p));
        for p in &theirs {
            elsewhere.push(Elsewhere {
                place: format!(
                    "local pid {p} `{}`, a copy botctl exec started (it holds {})",
                    command_line(*p),
                    path.display()
                ),
                fix: Fix::run(&["kill", &p.to_string()]),
            });
        }
        if !found && !mine {
            elsewhere.push(Elsewhere {
                place: format!(
                    "another botctl exec of {} is starting it (it holds {})",
                    bot.name,
                    path.display()
                ),
                fix: Fix::wait_or_status(&bot.name),
            });
        }
    }
    OtherCopies {
        elsewhere,
        unchecked: unchecked(bot, survey, &places.unreadable),
    }
}

/// The sources that could not be read, with the fix flyctl's errors carry.
fn unchecked(bot: &Bot, survey: &Survey, unreadable: &[String]) -> Vec<String> {
    let fly_error = survey.machines(bot).and_then(|r| r.as_ref().err());
    let mut out: Vec<String> = unreadable
        .iter()
        .map(|u| match fly_error {
            Some(e) if e.to_string() == *u => match bot.app() {
                Some(app) => format!("Fly app {app}: {}", e.with_fix()),
                None => e.with_fix(),
            },
            _ => u.clone(),
        })
        .collect();
    if let Some(shared) = survey.shared_token(bot) {
        out.extend(
            shared
                .unchecked
                .iter()
                .map(|u| format!("other Fly apps: {u}")),
        );
    }
    if let Some(t) = survey.telegram.get(&bot.name)
        && let TokenLookup::Missing { .. } = &t.token
        && let Some((why, fix)) = t.token.missing()
    {
        out.push(crate::fix::with_fix(
            format_args!("the webhook (no token: {why})"),
            Some(&fix),
        ));
    }
    out.dedup();
    out
}

/// Its command line, as outside text (shown escaped).
fn command_line(pid: Pid) -> crate::outside::Argv {
    proc::argv(Backend::native(), pid)
        .unwrap_or_default()
        .into()
}
