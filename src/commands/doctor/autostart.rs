//! What can start the bot again later, on this machine and on each `[[host]]`: crontab,
//! units, launchd, pm2, supervisord.

use super::{Context, Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::survey::finding::{Check, Finding};
use crate::survey::judge;

pub(super) fn check_autostart(ctx: &Context, bot: &Bot, ev: &Evidence, f: &mut Findings) {
    for a in judge::autostart(bot, &ev.survey) {
        let e = a.entry;
        let fix = a.fix(&ctx.cfg.hosts);
        f.push(match a.host {
            None => Finding::warn(
                Some(bot),
                Check::Autostart,
                format!("{} can start {} again: {}", e.source, bot.entry, e.entry),
            )
            .fix(fix),
            // The server's own entry: fixed there, after ssh.
            Some(host) => Finding::warn(
                Some(bot),
                Check::Host,
                format!(
                    "on host {host}, {} can start {} again: {}",
                    e.source, bot.entry, e.entry
                ),
            )
            .fix(fix),
        });
    }
}

/// A file that may hold an autostart entry and could not be read (a plist nested past its
/// limit): whatever it starts, botctl cannot tell, so it is named.
pub(super) fn check_unreadable(ev: &Evidence, f: &mut Findings) {
    for u in &ev.survey.autostart.unreadable {
        let path = crate::outside::shown(&u.path.display().to_string()).into_owned();
        f.push(
            Finding::warn(
                None,
                Check::Autostart,
                format!(
                    "{}: {path} is unreadable: {}; a job in it could start a bot",
                    u.source,
                    crate::outside::shown(&u.why)
                ),
            )
            .fix(Fix::look_at(&path.to_string())),
        );
    }
}
