//! What can start the bot again later, on this machine and on each `[[host]]`: crontab,
//! units, launchd, pm2, supervisord.

use super::{Context, Evidence, Findings};
use crate::config::Bot;
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
