//! Where a bot can be running. Each source answers one question and knows nothing of the
//! commands that ask it.

pub mod argv;
pub mod autostart;
pub mod containers;
pub mod fly;
pub mod host;
pub mod identity;
pub mod local;
pub mod platform;
pub mod proc;
pub mod supervisor;
pub mod telegram;
pub mod webhook;

use crate::config::Bot;
use crate::model::PlatformConfig;
use platform::{NotYet, Platform};

/// The bot's platform behind the seam; `None` for a bot with none. The one place that picks
/// an implementation: a new platform is its folder here and its arm below.
pub fn platform_of<'a>(bot: &'a Bot, flyctl: &'a fly::Flyctl) -> Option<Box<dyn Platform + 'a>> {
    Some(match bot.platform.as_ref()? {
        PlatformConfig::Fly(_) => Box::new(fly::OnFly::bot(flyctl, fly::BotOnFly::of(bot)?)),
        other @ (PlatformConfig::Kubernetes(_)
        | PlatformConfig::Heroku(_)
        | PlatformConfig::Railway(_)) => Box::new(NotYet {
            kind: other.kind(),
            name: other.name(),
        }),
    })
}
