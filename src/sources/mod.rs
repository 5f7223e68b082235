//! Where a bot can be running. Each source answers one question and knows nothing of the
//! commands that ask it.

pub mod argv;
pub mod autostart;
pub mod containers;
pub mod fly;
pub mod heroku;
pub mod host;
pub mod identity;
pub mod kubernetes;
pub mod local;
pub mod platform;
pub mod proc;
pub mod railway;
pub mod supervisor;
pub mod telegram;
pub mod webhook;

use crate::config::{Bot, PlatformSettings};
use crate::model::PlatformConfig;
use platform::Platform;

/// The bot's platform behind the seam; `None` for a bot with none. The one place that picks
/// an implementation: a new platform is its folder here and its arm below.
/// `platforms`: each platform CLI's time limit.
pub fn platform_of<'a>(
    bot: &'a Bot,
    flyctl: &'a fly::Flyctl,
    platforms: &PlatformSettings,
) -> Option<Box<dyn Platform + 'a>> {
    Some(match bot.platform.as_ref()? {
        PlatformConfig::Fly(_) => Box::new(fly::OnFly::bot(flyctl, fly::BotOnFly::of(bot)?)),
        PlatformConfig::Kubernetes(k) => {
            Box::new(kubernetes::OnKubernetes::new(k, platforms.kubernetes))
        }
        PlatformConfig::Heroku(h) => Box::new(heroku::OnHeroku {
            cli: heroku::HerokuCli::new(platforms.heroku),
            app: &h.app,
            process: h.process.as_deref(),
            entry: &bot.entry,
        }),
        PlatformConfig::Railway(r) => Box::new(railway::OnRailway {
            cli: railway::RailwayCli::new(platforms.railway),
            scope: railway::Scope {
                project: r.project.as_deref(),
                environment: r.environment.as_deref(),
                service: r.service.as_deref(),
            },
            name: bot
                .platform
                .as_ref()
                .map(PlatformConfig::name)
                .unwrap_or_default(),
        }),
    })
}
