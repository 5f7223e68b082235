//! What can start the bot again later on this machine: crontab, units, launchd, pm2, supervisord.

use super::{Evidence, Findings};
use crate::config::Bot;
use crate::survey::finding::{Check, Finding};

pub(super) fn check_autostart(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    for e in ev.survey.autostart.for_bot(&bot.name) {
        f.push(
            Finding::warn(
                Some(bot),
                Check::Autostart,
                format!("{} can start {} again: {}", e.source, bot.entry, e.entry),
            )
            .fix(e.fix.clone()),
        );
    }
}
