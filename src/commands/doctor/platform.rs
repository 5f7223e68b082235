//! A bot's platform other than Fly, through the seam: read or not, and what runs there. (Fly's
//! own checks are in fly.rs and deploys.rs.)

use super::{Evidence, Findings};
use crate::config::Bot;
use crate::fix::Fix;
use crate::sources::platform::LogLine;
use crate::survey::finding::{Check, Finding, Level};
use crate::time;

/// 409 lines in the platform's recent logs (`heroku logs`, `kubectl logs`, `railway logs`):
/// something else polled with the token lately. Logs that could not be read say nothing here:
/// the platform's own check says what could not be read.
pub(super) fn check_logs(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let (Some(look), Some(Ok(logs))) = (
        ev.survey.other_platform(bot),
        ev.platform_logs.get(&bot.name),
    ) else {
        return;
    };
    let name = crate::ui::shown(&look.name);
    let conflicts: Vec<&LogLine> = logs.lines.iter().filter(|l| l.is_conflict()).collect();
    let Some(last) = conflicts.last() else {
        return f.push(Finding::ok(
            Some(bot),
            Check::Logs,
            format!(
                "no 409 in the recent logs of {} {name} ({} line(s))",
                look.kind,
                logs.lines.len()
            ),
        ));
    };
    let on = last
        .machine
        .as_ref()
        .map_or_else(String::new, |m| format!(" on {m}"));
    f.push(conflicts_in_logs(
        bot,
        &conflicts,
        &format!("{} {name}", look.kind),
        &on,
    ));
}

/// `conflicts` (at least one) in the recent logs of `whose`: an error when the last is under
/// ten minutes old, else a warning; `on`: where the last one was logged, when known.
pub(super) fn conflicts_in_logs(
    bot: &Bot,
    conflicts: &[&LogLine],
    whose: &str,
    on: &str,
) -> Finding {
    let last_at = conflicts.last().and_then(|l| l.at);
    let recent = last_at.is_some_and(|t| time::since(t) < jiff::SignedDuration::from_mins(10));
    Finding::new(
        if recent { Level::Error } else { Level::Warn },
        Some(bot),
        Check::Logs,
        format!(
            "{} 409 Conflict line(s) in the recent logs of {whose}, the last at {}{on}",
            conflicts.len(),
            last_at
                .map(|t| t.to_string())
                .unwrap_or_else(|| "an unknown time".into()),
        ),
    )
    .fix(
        Fix::run(&["botctl", "doctor", &bot.name, "--probe"])
            .note("finds a poller no other check can see"),
    )
}

pub(super) fn check_platform(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(look) = ev.survey.other_platform(bot) else {
        return;
    };
    let name = crate::ui::shown(&look.name);
    match &look.instances {
        // Not checked is never ✓: whatever polls there is unseen.
        Err(e) => f.push(
            Finding::warn(
                Some(bot),
                Check::Platform,
                format!("{e}; a copy there may poll unseen"),
            )
            .fix_opt(e.fix.clone()),
        ),
        Ok(list) => {
            let running = list.iter().filter(|i| i.running).count();
            f.push(Finding::ok(
                Some(bot),
                Check::Platform,
                format!("{} {name}: {running} running instance(s)", look.kind),
            ));
            // A platform that cannot list its instances has nothing more to say.
            match ev.platform_warnings.get(&bot.name) {
                Some(Err(e)) => f.push(
                    Finding::warn(
                        Some(bot),
                        Check::Platform,
                        format!(
                            "{} {name}: how it runs the bot was not checked: {e}",
                            look.kind
                        ),
                    )
                    .fix_opt(e.fix.clone()),
                ),
                Some(Ok(warnings)) => warnings.iter().for_each(|w| {
                    f.push(
                        Finding::warn(
                            Some(bot),
                            Check::Platform,
                            format!("{} ({}): {}", look.kind, w.check, w.message),
                        )
                        .fix_opt(w.fix.clone()),
                    )
                }),
                None => {}
            }
        }
    }
}
