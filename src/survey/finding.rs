//! A finding: what one check concluded about one bot (or the whole project), how bad it is,
//! and the command that fixes it. doctor makes them; `ui::report` prints them.

use serde::Serialize;

use crate::config::Bot;
use crate::fix::Fix;
use crate::model::BotName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warn,
    Ok,
}

/// What a finding is about: the SPEC's doctor checks. The serde name is the JSON `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    Config,
    Flyctl,
    Token,
    Webhook,
    Pending,
    Local,
    Fly,
    Places,
    Autostart,
    Proxy,
    Logs,
    Handoff,
    Probe,
    Supervisor,
    Host,
    SharedToken,
    Deploy,
    Events,
    Container,
    /// A platform other than Fly (Kubernetes, Heroku, Railway).
    Platform,
}

impl Check {
    /// Where its findings sort among those of one level: the cause of a 409 first.
    pub fn weight(self) -> u8 {
        match self {
            Check::SharedToken | Check::Places => 0,
            Check::Local
            | Check::Fly
            | Check::Supervisor
            | Check::Host
            | Check::Container
            | Check::Platform => 1,
            // A handoff record names a teammate's laptop: a place, next to a webhook.
            Check::Webhook | Check::Handoff => 2,
            Check::Probe => 3,
            Check::Token => 4,
            Check::Logs => 5,
            Check::Autostart | Check::Proxy => 7,
            Check::Config | Check::Flyctl | Check::Pending => 8,
            // A machine started again is a place; a deploy's overlap explains 409 lines.
            Check::Events => 1,
            Check::Deploy => 5,
        }
    }

    /// Its name as the SPEC and JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            Check::Config => "config",
            Check::Flyctl => "flyctl",
            Check::Token => "token",
            Check::Webhook => "webhook",
            Check::Pending => "pending",
            Check::Local => "local",
            Check::Fly => "fly",
            Check::Places => "places",
            Check::Autostart => "autostart",
            Check::Proxy => "proxy",
            Check::Logs => "logs",
            Check::Handoff => "handoff",
            Check::Probe => "probe",
            Check::Supervisor => "supervisor",
            Check::Host => "host",
            Check::SharedToken => "shared-token",
            Check::Deploy => "deploy",
            Check::Events => "events",
            Check::Container => "container",
            Check::Platform => "platform",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub bot: Option<BotName>,
    pub check: Check,
    pub level: Level,
    pub message: String,
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn new(level: Level, bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding {
            bot: bot.map(|b| b.name.clone()),
            check,
            level,
            message: message.into(),
            fix: None,
        }
    }
    pub fn error(bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding::new(Level::Error, bot, check, message)
    }
    pub fn warn(bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding::new(Level::Warn, bot, check, message)
    }
    pub fn ok(bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding::new(Level::Ok, bot, check, message)
    }
    /// The command that fixes it.
    pub fn fix(mut self, command: Fix) -> Self {
        self.fix = Some(command);
        self
    }
    pub fn fix_opt(mut self, command: Option<Fix>) -> Self {
        self.fix = command;
        self
    }
}
