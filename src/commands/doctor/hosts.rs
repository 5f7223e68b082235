//! Each `[[host]]` that may run the bot: its copies there, against the bot's other places.

use super::{Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::survey::finding::{Check, Finding};
use crate::survey::judge::{self, OnHost};
use crate::ui;

/// A copy on a host while the bot runs elsewhere too (Fly.io, this machine, another host) is
/// an error whose fix stops it there; a host not read is a warning with ssh's words.
pub(super) fn check_hosts(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let places = ev.survey.places(bot);
    for on in judge::hosts(bot, &ev.survey, &places) {
        let (host, copies, elsewhere) = match &on {
            OnHost::NotRead { host, error } => {
                f.push(Finding::warn(
                    Some(bot),
                    Check::Host,
                    format!("host {host} not checked: {error}"),
                ));
                continue;
            }
            OnHost::Read { copies, .. } if copies.is_empty() => continue,
            OnHost::Read {
                host,
                copies,
                elsewhere,
            } => (*host, copies, *elsewhere),
        };
        let described: Vec<String> = copies
            .iter()
            .map(|i| ui::describe::on_host(host, i))
            .collect();
        if !on.conflicts() {
            f.push(Finding::ok(Some(bot), Check::Host, described.join("; ")));
            continue;
        }
        let other = if !places.machines.is_empty() || !places.also.is_empty() {
            "while Fly.io runs it too".to_string()
        } else if elsewhere > 0 {
            format!("while it runs in {elsewhere} other place(s)")
        } else {
            format!("{} copies there fight over getUpdates", copies.len())
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
            .fix(Fix::dev_stop_on(&bot.name, host)),
        );
    }
}
