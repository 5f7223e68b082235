//! The cause of a 409 first: a bot that runs in two or more places (this machine, hosts, its
//! own Fly machines, another app with the same token, a webhook), and each fix that ends one.

use super::{Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::model::HostName;
use crate::survey::finding::{Check, Finding, Level};
use crate::ui;

pub(super) fn check_places(bot: &Bot, ev: &Evidence, api: &str, f: &mut Findings) {
    let places = ev.survey.places(bot);
    let n = places.count();
    if places.local.len() >= 2 {
        let pids: Vec<String> = places.local.iter().map(|i| i.pid.to_string()).collect();
        f.push(
            Finding::error(
                Some(bot),
                Check::Local,
                format!(
                    "{} copies of {} run on this machine (pids {}): they fight over getUpdates",
                    places.local.len(),
                    bot.entry,
                    pids.join(", ")
                ),
            )
            .fix(Fix::dev_stop(&bot.name).note("then start one copy")),
        );
    } else if places.local.len() == 1 {
        f.push(Finding::ok(
            Some(bot),
            Check::Local,
            ui::describe::instance(places.local[0]),
        ));
    }
    // Not a place and never the cause named: it may be another project's program.
    for (host, m) in &places.maybe {
        f.push(Finding::warn(
            Some(bot),
            if host.is_some() {
                Check::Host
            } else {
                Check::Local
            },
            format!(
                "{} — it runs {} but may be another project's; not counted",
                ui::describe::maybe(host.map(|h| h.as_str()), m),
                bot.entry
            ),
        ));
    }
    if n >= 2 {
        let mut where_ = Vec::new();
        if !places.local.is_empty() {
            where_.push(format!(
                "this machine (pid {})",
                places
                    .local
                    .iter()
                    .map(|i| i.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for host in host_names(&places.hosts) {
            where_.push(format!(
                "host {host} (pid {})",
                places
                    .hosts
                    .iter()
                    .filter(|(h, _)| *h == host)
                    .map(|(_, i)| i.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(app) = places.app.filter(|_| !places.machines.is_empty()) {
            where_.push(format!(
                "Fly app {app} (machine {})",
                places
                    .machines
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for app in also_apps(&places.also) {
            where_.push(format!(
                "Fly app {app} with the same token (machine {})",
                places
                    .also
                    .iter()
                    .filter(|(a, _)| a == app)
                    .map(|(_, m)| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(url) = places.webhook {
            where_.push(format!("a webhook ({url})"));
        }
        let fix = if let Some(app) = also_apps(&places.also).first() {
            shared_token_fix(ev, bot, app.raw(), &places.also)
        } else if let Some(host) = host_names(&places.hosts).first() {
            Fix::dev_stop_on(&bot.name, host)
        } else if !places.local.is_empty() && bot.mode.is_webhook() {
            // The copy here deleted production's webhook as it started: set it again too.
            Fix::dev_stop(&bot.name)
                .then(Fix::deploy_resume(&bot.name))
                .or_move_here(&bot.name, "")
        } else if !places.local.is_empty() && !places.machines.is_empty() {
            Fix::dev_stop(&bot.name).or_move_here(&bot.name, "keep Fly.io; ")
        } else if !places.local.is_empty() {
            Fix::dev_stop(&bot.name)
        } else if let (None, Some(app)) = (places.webhook, places.app) {
            // Neither here nor a webhook: two or more of the bot's own machines.
            let extra: Vec<&str> = places
                .on_fly()
                .skip(1)
                .map(|(_, m)| m.id.as_str())
                .collect();
            Fix::stop_machines(&extra, app)
        } else {
            Fix::delete_webhook(api, bot.token_env.as_deref())
        };
        f.push(
            Finding::error(
                Some(bot),
                Check::Places,
                format!(
                    "{} runs in {n} places: {} — {}",
                    bot.name,
                    where_.join(" and "),
                    if bot.mode.is_webhook() {
                        "a polling copy of a webhook bot takes the updates meant for Fly.io (and \
deletes the webhook as it starts)"
                    } else {
                        "Telegram answers all but one of them 409 Conflict"
                    }
                ),
            )
            .fix(fix),
        );
    } else {
        let all_told = places.unreadable.is_empty() && places.maybe.is_empty();
        let (level, message) = match (n, all_told) {
            (1, _) => (Level::Ok, format!("{} runs in exactly one place", bot.name)),
            (_, false) => (
                Level::Warn,
                format!(
                    "{} runs nowhere botctl can see, but not every place could be checked",
                    bot.name
                ),
            ),
            _ => (
                Level::Ok,
                format!("{} is not running anywhere botctl can see", bot.name),
            ),
        };
        f.push(Finding::new(level, Some(bot), Check::Places, message));
    }
}

/// The hosts of host instances, each once, in order.
pub(super) fn host_names<'a>(
    hosts: &[(&'a HostName, &crate::sources::local::BotProcess)],
) -> Vec<&'a HostName> {
    let mut names: Vec<&HostName> = hosts.iter().map(|(h, _)| *h).collect();
    names.dedup();
    names
}

/// The apps of `also` machines, each once, in order.
pub(super) fn also_apps<'a>(
    also: &'a [(crate::outside::Outside, &crate::sources::fly::Machine)],
) -> Vec<&'a crate::outside::Outside> {
    let mut apps: Vec<&crate::outside::Outside> = also.iter().map(|(a, _)| a).collect();
    apps.dedup();
    apps
}

/// Give the other app its own bot's token (a placeholder, never a value), or stop it.
pub(super) fn shared_token_fix(
    ev: &Evidence,
    bot: &Bot,
    app: &str,
    also: &[(crate::outside::Outside, &crate::sources::fly::Machine)],
) -> Fix {
    let shared = ev.survey.shared_token(bot);
    let secret = shared
        .as_ref()
        .and_then(|s| s.also.iter().find(|a| a.app == app))
        .map_or("BOT_TOKEN", |a| a.secret.raw());
    let ids: Vec<&str> = also
        .iter()
        .filter(|(a, _)| a == app)
        .map(|(_, m)| m.id.as_str())
        .collect();
    Fix::set_secret_placeholder(secret, app, &ids)
}

pub(super) fn check_shared_token(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    // Compared only for a bot with an app and the name of its token's secret there.
    let Some(shared) = ev.survey.shared_token(bot) else {
        return;
    };
    let Some((own, own_secret)) = bot
        .fly()
        .and_then(|f| Some((&f.app, f.token_secret.as_deref()?)))
    else {
        return;
    };
    for a in &shared.also {
        let started: Vec<&str> = a.started().iter().map(|m| m.id.as_str()).collect();
        let fix = Some(a.fix());
        let same = format!(
            "Fly app {} holds {}'s token (its secret {} has the same digest as {} in {own})",
            a.app, bot.name, a.secret, own_secret
        );
        match &a.machines {
            Ok(_) if !started.is_empty() => f.push(
                Finding::error(
                    Some(bot),
                    Check::SharedToken,
                    format!(
                        "{same}, and its started machine(s) {} poll with it: Telegram \
answers all but one poller 409 Conflict",
                        started.join(", ")
                    ),
                )
                .fix_opt(fix),
            ),
            Ok(_) => f.push(
                Finding::warn(
                    Some(bot),
                    Check::SharedToken,
                    format!(
                        "{same}; none of its machines is started, but one that starts \
will conflict"
                    ),
                )
                .fix_opt(fix),
            ),
            Err(e) => f.push(
                Finding::warn(
                    Some(bot),
                    Check::SharedToken,
                    format!("{same}; its machines could not be read: {e}"),
                )
                .fix_opt(fix),
            ),
        }
    }
    if !shared.unchecked.is_empty() {
        f.push(Finding::warn(
            Some(bot),
            Check::SharedToken,
            format!(
                "not checked whether another Fly app holds this token: {}",
                shared.unchecked.join("; ")
            ),
        ));
    } else if shared.also.is_empty() {
        f.push(Finding::ok(
            Some(bot),
            Check::SharedToken,
            format!(
                "no other Fly app holds {}'s token ({} app(s) compared)",
                bot.name, shared.checked
            ),
        ));
    }
}
