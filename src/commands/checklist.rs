//! `botctl checklist`: the seed checklist, each item checked live and ticked or not.

use super::Context;
use crate::config::Bot;
use crate::error::{ExitStatus, Result};
use crate::fix::Fix;
use crate::model::AppName;
use crate::outside::Outside;
use crate::sources::autostart::Reach;
use crate::sources::fly::FlyError;
use crate::sources::telegram::TokenLookup;
use crate::survey::judge::{self, OnHost, Username};
use crate::survey::{self, Places, Survey, Verdict};
use crate::ui;
use crate::ui::report::Mark;

struct Item {
    ticked: bool,
    text: String,
    fix: Option<Fix>,
}

/// "no other Fly app polls with this token": ticked when every other app was compared and
/// none that holds the token has a started machine.
fn shared_token_item(bot: &Bot, survey: &survey::Survey) -> Option<Item> {
    let shared = survey.shared_token(bot)?;
    let text = format!("{}: no other Fly app polls with this token", bot.name);
    let polling: Vec<String> = shared
        .polling()
        .map(|a| format!("{} (secret {})", a.app, a.secret))
        .collect();
    Some(if let Some(first) = shared.polling().next() {
        Item {
            ticked: false,
            text: format!("{text} — {} poll(s) with it", polling.join(", ")),
            fix: Some(first.fix()),
        }
    } else if !shared.unchecked.is_empty() {
        Item {
            ticked: false,
            text: format!("{text} — not checked: {}", shared.unchecked.join("; ")),
            fix: Some(Fix::doctor(&bot.name)),
        }
    } else {
        Item {
            ticked: true,
            text: format!("{text} ({} other app(s) compared)", shared.checked),
            fix: None,
        }
    })
}

pub fn run(ctx: &Context) -> Result<ExitStatus> {
    let bots: Vec<&Bot> = ctx.cfg.bots.iter().collect();
    let uses_fly = bots.iter().any(|b| b.fly().is_some());
    let (survey, whoami) = std::thread::scope(|s| {
        let whoami = uses_fly.then(|| s.spawn(|| ctx.flyctl.whoami()));
        let survey = ctx.survey(&bots);
        (survey, whoami.map(|h| survey::joined(h.join())))
    });

    let mut items = Vec::new();
    if let Some(whoami) = whoami {
        flyctl_item(whoami, &mut items);
    }
    for bot in &bots {
        let places = survey.places(bot);
        if let Some(app) = bot.app() {
            fly_items(bot, app, &survey, &places, &mut items);
        }
        host_items(bot, &survey, &places, &mut items);
        supervisor_item(bot, &places, &mut items);
        one_place_item(bot, &places, &mut items);
        token_item(bot, &survey, &mut items);
        autostart_item(ctx, bot, &survey, &mut items);
    }
    let unticked = print(&items, &survey);
    Ok(ExitStatus::found_if(unticked > 0))
}

/// "flyctl is installed and logged in".
fn flyctl_item(whoami: std::result::Result<Outside, FlyError>, items: &mut Vec<Item>) {
    items.push(match whoami {
        Ok(email) => Item {
            ticked: true,
            text: format!("flyctl is installed and logged in ({email})"),
            fix: None,
        },
        Err(e) => Item {
            ticked: false,
            text: format!("flyctl is installed and logged in — {e}"),
            fix: e.fix(),
        },
    });
}

/// The items of a bot on Fly: its status read, no local copy beside it, no other app polling
/// with its token, no one else holding it.
fn fly_items(bot: &Bot, app: &AppName, survey: &Survey, places: &Places, items: &mut Vec<Item>) {
    items.push(match survey.machines(bot) {
        Some(Ok(ms)) => Item {
            ticked: true,
            text: format!(
                "{}: Fly status read for {app} ({} machine(s), {} started)",
                bot.name,
                ms.len(),
                places.machines.len()
            ),
            fix: None,
        },
        Some(Err(e)) => Item {
            ticked: false,
            text: format!("{}: Fly status read for {app} — {e}", bot.name),
            fix: e.fix(),
        },
        None => Item {
            ticked: false,
            text: format!("{}: Fly status read for {app}", bot.name),
            fix: None,
        },
    });
    let both = !places.machines.is_empty() && !places.local.is_empty();
    let text = format!("{}: not running locally while Fly.io runs it", bot.name);
    items.push(match survey.machines(bot) {
        // Fly not read: whether it runs there is not known, so not ticked.
        Some(Err(e)) if !places.local.is_empty() => Item {
            ticked: false,
            text: format!("{text} — not checked: {e}"),
            fix: e.fix(),
        },
        _ => Item {
            ticked: !both,
            text,
            fix: both.then(|| Fix::dev_stop(&bot.name)),
        },
    });
    if let Some(item) = shared_token_item(bot, survey) {
        items.push(item);
    }
    items.push(held_item(bot, places, survey.machines(bot)));
}

/// The seed checklist's last item, "check systemd (on the server)", read over ssh.
fn host_items(bot: &Bot, survey: &Survey, places: &Places, items: &mut Vec<Item>) {
    for on in judge::hosts(bot, survey, places) {
        let host = on.host();
        let text = format!("{}: checked on host {host}", bot.name);
        items.push(match &on {
            OnHost::NotRead { error, .. } => Item {
                ticked: false,
                text: format!("{text} — not checked: {}", ui::shown(&error.to_string())),
                fix: Some(Fix::status(&bot.name)),
            },
            OnHost::Read { copies, .. } => {
                let (there, twice) = (copies.len(), on.conflicts());
                Item {
                    ticked: !twice,
                    text: if twice {
                        format!("{text} — {there} copy(ies) there while it runs elsewhere too")
                    } else {
                        format!("{text} ({there} running there)")
                    },
                    fix: twice.then(|| Fix::dev_stop_on(&bot.name, host)),
                }
            }
        });
    }
}

/// "nothing will start a second copy": a supervised local copy restarts when killed; with
/// Fly.io (or another place) in play, that is a second copy waiting to happen.
fn supervisor_item(bot: &Bot, places: &Places, items: &mut Vec<Item>) {
    let kept = places
        .local
        .iter()
        .find_map(|i| Some((i, i.supervisor.as_ref()?)));
    let risky = kept.filter(|_| bot.fly().is_some() || places.count() >= 2);
    items.push(Item {
        ticked: risky.is_none(),
        text: match risky {
            None => format!("{}: nothing will start a second copy", bot.name),
            Some((i, s)) => format!(
                "{}: nothing will start a second copy — local pid {} is kept alive by {}",
                bot.name,
                i.pid,
                ui::describe::supervisor(s)
            ),
        },
        fix: risky.map(|(_, s)| s.stop()),
    });
}

/// "runs in exactly one place", with the command that gets it there.
fn one_place_item(bot: &Bot, places: &Places, items: &mut Vec<Item>) {
    let verdict = places.verdict();
    items.push(Item {
        ticked: verdict == Verdict::Ok,
        text: format!(
            "{}: runs in exactly one place (now: {}, {} place(s))",
            bot.name,
            verdict,
            places.count()
        ),
        fix: match verdict {
            Verdict::Ok => None,
            Verdict::Conflict => Some(Fix::doctor(&bot.name)),
            Verdict::Stopped if bot.fly().is_some() => Some(Fix::deploy_resume(&bot.name)),
            Verdict::Stopped => Some(match &bot.run {
                crate::config::Run::Shell(line) => Fix::shell_line(line),
                crate::config::Run::Argv(argv) => Fix::run(argv),
            }),
            Verdict::Unknown => Some(Fix::status(&bot.name).note("see what could not be checked")),
        },
    });
}

/// "token set and valid", when the survey looked the token up.
fn token_item(bot: &Bot, survey: &Survey, items: &mut Vec<Item>) {
    if let Some(t) = survey.telegram.get(&bot.name) {
        items.push(match (&t.token, judge::username(bot, survey), &t.me) {
            (_, Username::Mismatch { got, want }, _) => Item {
                ticked: false,
                text: format!(
                    "{}: token set and valid — it is @{got}'s, not @{want}'s",
                    bot.name
                ),
                fix: Some(Fix::doctor(&bot.name)),
            },
            (TokenLookup::Found { from, .. }, Username::Is(u), _) => Item {
                ticked: true,
                text: format!("{}: token set (from {from}) and valid: @{u}", bot.name),
                fix: None,
            },
            (TokenLookup::Found { .. }, _, Some(Err(e))) => Item {
                ticked: false,
                text: format!("{}: token set and valid — {e}", bot.name),
                fix: Some(Fix::doctor(&bot.name)),
            },
            (missing @ TokenLookup::Missing { .. }, _, _) => {
                let (why, fix) = missing.missing().unzip();
                Item {
                    ticked: false,
                    text: format!("{}: token set — {}", bot.name, why.unwrap_or_default()),
                    fix,
                }
            }
            _ => Item {
                ticked: false,
                text: format!("{}: token set — no token_env in botctl.toml", bot.name),
                fix: Some(Fix::instruction("add token_env to the bot in botctl.toml")),
            },
        });
    }
}

/// "no autostart entry can start a second copy", here and on hosts.
fn autostart_item(ctx: &Context, bot: &Bot, survey: &Survey, items: &mut Vec<Item>) {
    let entries = judge::autostart(bot, survey);
    items.push(Item {
        ticked: entries.is_empty(),
        text: if entries.is_empty() {
            format!("{}: no autostart entry can start a second copy", bot.name)
        } else {
            format!(
                "{}: no autostart entry can start a second copy — {}",
                bot.name,
                entries
                    .iter()
                    .map(|a| match a.host {
                        None => format!("{}: {}", a.entry.source, a.entry.entry),
                        Some(h) => format!("host {h} {}: {}", a.entry.source, a.entry.entry),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
        fix: entries.first().map(|a| a.fix(&ctx.cfg.hosts)),
    });
}

/// Prints the items, how many are ticked and what was not checked; returns how many are not.
fn print(items: &[Item], survey: &Survey) -> usize {
    let unticked = items.iter().filter(|i| !i.ticked).count();
    for item in items {
        let (mark, fix) = if item.ticked {
            (Mark::Ok, None)
        } else {
            (Mark::Error, item.fix.as_ref())
        };
        ui::report::judged(0, mark, &item.text, fix);
    }
    ui::blank();
    ui::line(format!(
        "{} of {} ticked",
        items.len() - unticked,
        items.len()
    ));
    // A source that cannot be on this system (launchd on Linux) is no gap in the checklist.
    let unread: Vec<String> = survey
        .autostart
        .unchecked
        .iter()
        .filter(|u| u.reach == Reach::Unread)
        .map(|u| format!("{} ({})", u.source, u.reason))
        .collect();
    if !unread.is_empty() {
        ui::line(ui::dim(&format!("not checked: {}", unread.join("; "))));
    }
    unticked
}

/// "no one else holds partner": ticked unless a handoff record on Fly by someone else does,
/// or the machines that would hold one could not be read (not checked is not ticked).
fn held_item(
    bot: &Bot,
    places: &survey::Places,
    machines: Option<&Result<Vec<crate::sources::fly::Machine>, crate::sources::fly::FlyError>>,
) -> Item {
    let text = format!("{0}: no one else holds {0}", bot.name);
    if let Some(Err(e)) = machines {
        return Item {
            ticked: false,
            text: format!("{text} — not checked: {e}"),
            fix: e.fix(),
        };
    }
    match places.declared() {
        None => Item {
            ticked: true,
            text,
            fix: None,
        },
        Some(r) => Item {
            ticked: false,
            text: format!("{text} — {}", r.holds(&bot.name)),
            fix: Some(Fix::ask_to_hand_back_or_take_over(
                &ui::shown(&r.by),
                &bot.name,
            )),
        },
    }
}
