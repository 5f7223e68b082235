//! A bot's platform other than Fly, through the seam: read or not, and what runs there. (Fly's
//! own checks are in fly.rs and deploys.rs.)

use super::{Evidence, Findings};
use crate::config::Bot;
use crate::survey::finding::{Check, Finding};

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
