//! The commands. Each reads like the checklist it encodes: named steps over a `Survey`.

pub mod checklist;
pub mod deploy;
pub mod deploy_resume;
pub mod dev_start;
pub mod dev_stop;
pub mod doctor;
pub mod exec;
pub mod init;
mod ready_line;
pub mod status;
mod steps;
pub mod watch;

use crate::config::{Bot, Config};
use crate::sources::fly::Flyctl;
use crate::sources::telegram::{DotEnv, Tokens};
use crate::survey::{self, Survey};

/// What every command that reads the project needs.
pub struct Context {
    pub cfg: Config,
    pub flyctl: Flyctl,
    pub dotenv: DotEnv,
    /// Each bot's token, looked up once.
    pub tokens: Tokens,
}

impl Context {
    /// One concurrent look at every source, for these bots.
    /// The bot's platform behind the seam (`None` without one).
    pub fn platform_of<'a>(
        &'a self,
        bot: &'a Bot,
    ) -> Option<Box<dyn crate::sources::platform::Platform + 'a>> {
        crate::sources::platform_of(bot, &self.flyctl, &self.cfg.platforms)
    }

    /// The machines of the bot's process group, read through the seam (none off Fly): for a
    /// workflow's steps after its survey, which ask again.
    pub fn fly_machines(
        &self,
        bot: &Bot,
    ) -> std::result::Result<Vec<crate::sources::fly::Machine>, crate::sources::fly::FlyError> {
        let look = self.platform_of(bot).map(|p| p.look());
        look.and_then(crate::sources::fly::FlyLook::taken_from)
            .map_or(Ok(Vec::new()), |fly| fly.bot)
    }

    /// The bot's machines as its survey already saw them, else read now. A look that failed
    /// is that answer: asking again in the same run would only wait for the same error.
    pub fn fly_machines_seen_or_read(
        &self,
        bot: &Bot,
        seen: Option<
            &std::result::Result<Vec<crate::sources::fly::Machine>, crate::sources::fly::FlyError>,
        >,
    ) -> std::result::Result<Vec<crate::sources::fly::Machine>, crate::sources::fly::FlyError> {
        match seen {
            Some(seen) => seen.clone(),
            None => self.fly_machines(bot),
        }
    }

    pub fn survey(&self, bots: &[&Bot]) -> Survey {
        survey::gather(&self.cfg, bots, &self.flyctl, &self.tokens)
    }

    pub fn new(cfg: Config) -> Self {
        crate::team::remember_sights_in(&cfg.root);
        let dotenv = DotEnv::load(&cfg.root);
        // Every secret botctl can know — each bot's token (with its secret half) and webhook
        // secret — is known to the redaction layer before anything is printed, so a log line
        // or an answer quoting it is masked whichever command shows it, at whatever step.
        // Looking them up registers them (`Token::new`, `Secret::new`).
        let tokens = Tokens::read(&cfg.bots, &dotenv);
        for bot in &cfg.bots {
            let _ = crate::sources::webhook::secret_for(bot, &dotenv);
        }
        Context {
            flyctl: Flyctl::new(&cfg.fly, &cfg.root),
            dotenv,
            tokens,
            cfg,
        }
    }
}
