//! Each `[[host]]` that may run the bot: its copies there and what can start them again.

use super::{Context, Evidence, Findings};
use crate::config::Bot;
use crate::survey::finding::{Check, Finding};
use crate::ui;

/// Each `[[host]]` that may run the bot: a copy there while it runs elsewhere too (Fly.io,
/// this machine, another host) is an error whose fix stops it there; a host not read is a
/// warning with ssh's words.
pub(super) fn check_hosts(ctx: &Context, bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let places = ev.survey.places(bot);
    for (host, scan) in ev.survey.hosts_of(bot) {
        let scan = match scan {
            Ok(scan) => scan,
            Err(e) => {
                f.push(Finding::warn(
                    Some(bot),
                    Check::Host,
                    format!("host {host} not checked: {e}"),
                ));
                continue;
            }
        };
        // What can start it there later: the server's crontab, units, pm2 and supervisord.
        let dest = ctx
            .cfg
            .hosts
            .iter()
            .find(|h| h.name == host)
            .map_or(host, |h| h.ssh.as_str());
        for e in scan.autostart.for_bot(&bot.name) {
            f.push(
                Finding::warn(
                    Some(bot),
                    Check::Host,
                    format!(
                        "on host {host}, {} can start {} again: {}",
                        e.source, bot.entry, e.entry
                    ),
                )
                .fix(format!("ssh {dest}   # then: {}", e.fix)),
            );
        }
        let here: Vec<&crate::sources::local::Instance> = scan
            .instances
            .iter()
            .filter(|i| i.bot == bot.name)
            .collect();
        if here.is_empty() {
            continue;
        }
        let described: Vec<String> = here
            .iter()
            .map(|i| ui::describe::on_host(host, i))
            .collect();
        let elsewhere = places.count() - here.len();
        if elsewhere == 0 && here.len() == 1 {
            f.push(Finding::ok(Some(bot), Check::Host, described.join("; ")));
            continue;
        }
        let other = if !places.machines.is_empty() || !places.also.is_empty() {
            "while Fly.io runs it too".to_string()
        } else if elsewhere > 0 {
            format!("while it runs in {elsewhere} other place(s)")
        } else {
            format!("{} copies there fight over getUpdates", here.len())
        };
        f.push(
            Finding::error(
                Some(bot),
                Check::Host,
                format!(
                    "{} runs on host {host} {other}: {}",
                    bot.name,
                    described.join("; ")
                ),
            )
            .fix(format!("botctl dev-stop {} --host {host}", bot.name)),
        );
    }
}
