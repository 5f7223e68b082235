//! Fly.io behind the platform seam: a bot's machines of its app, through flyctl.

use std::time::Duration;

use super::{AppMachines, BotOnFly, FlyError, Flyctl, Machine, MachineState, parse_log_line};
use crate::model::{AppName, PlatformKind};
use crate::outside::Outside;
use crate::process;
use crate::sources::platform::{
    Condition, Instance, LogStream, Look, Platform, PlatformError, RecentLogs, RecordHome,
};

/// One bot's app on Fly.io: its instances are the machines of the bot's process group.
pub struct OnFly<'a> {
    flyctl: &'a Flyctl,
    app: &'a str,
    /// `None`: every machine of the app (a caller that only stops, starts, writes records on
    /// or reads the logs of machines it already knows).
    bot: Option<BotOnFly<'a>>,
}

impl<'a> OnFly<'a> {
    /// The bot's machines in its app.
    pub fn bot(flyctl: &'a Flyctl, who: BotOnFly<'a>) -> Self {
        OnFly {
            flyctl,
            app: who.app,
            bot: Some(who),
        }
    }

    /// An app, for calls on machines already known (stop, start, records, logs).
    pub fn app(flyctl: &'a Flyctl, app: &'a str) -> Self {
        OnFly {
            flyctl,
            app,
            bot: None,
        }
    }
}

/// What Fly tells of a bot beyond its instances, all from its app's one `machine list`: the
/// machines themselves (group, region, the team record in their metadata, their events).
#[derive(Debug, Clone)]
pub struct FlyLook {
    pub app: AppName,
    /// Every machine of the app as listed (another bot's and Fly's own too), or why not.
    pub listed: Result<Vec<Machine>, FlyError>,
    /// The machines of the bot's process group, or why they cannot be told from the rest.
    pub bot: Result<Vec<Machine>, FlyError>,
    /// The app's other machines (another group, a console, a canary): no places.
    pub others: Vec<Machine>,
}

impl FlyLook {
    /// `listed` split for `who` (`None`: every machine is the app's own).
    pub fn of(
        app: &str,
        who: Option<BotOnFly<'_>>,
        listed: Result<Vec<Machine>, FlyError>,
    ) -> Self {
        let split = listed.clone().and_then(|ms| match who {
            Some(who) => super::groups::split(who, ms),
            None => Ok(AppMachines {
                bot: ms,
                others: Vec::new(),
            }),
        });
        let (bot, others) = match split {
            Ok(a) => (Ok(a.bot), a.others),
            Err(e) => (Err(e), Vec::new()),
        };
        FlyLook {
            app: AppName::from(app),
            listed,
            bot,
            others,
        }
    }
}

impl FlyLook {
    /// Takes `noted`'s copy of each of its machines: the same list, with what was noted on
    /// it since (a replacement in place).
    pub fn take_notes(&mut self, noted: &[Machine]) {
        let ours = |m: &mut Machine| {
            if let Some(n) = noted.iter().find(|n| n.id == m.id) {
                *m = n.clone();
            }
        };
        let listed = self.listed.iter_mut().flatten();
        listed
            .chain(self.bot.iter_mut().flatten())
            .chain(self.others.iter_mut())
            .for_each(ours);
    }

    /// Fly's part of a look at a bot on Fly (`None` for another platform's look).
    pub fn taken_from(look: Look) -> Option<FlyLook> {
        look.specific?.downcast().ok().map(|fly| *fly)
    }
}

impl OnFly<'_> {
    /// The app's machines, the bot's apart from the rest: one `machine list`.
    pub fn fly_look(&self) -> FlyLook {
        FlyLook::of(self.app, self.bot, self.flyctl.machines(self.app))
    }
}

impl From<FlyError> for PlatformError {
    fn from(e: FlyError) -> Self {
        if e == FlyError::Interrupted {
            return PlatformError::interrupted();
        }
        PlatformError::new(e.to_string(), e.fix())
    }
}

impl Machine {
    /// The machine as the seam sees every platform's instances.
    pub fn instance(&self) -> Instance {
        let started = self
            .history
            .events
            .iter()
            .find(|e| e.brought_up())
            .filter(|_| self.is_running());
        Instance {
            id: Outside::from(self.id.as_str()),
            state: Outside::from(self.state.to_string()),
            running: self.is_running(),
            condition: match &self.state {
                MachineState::Started => Condition::Up,
                s if s.is_stopped() => Condition::Down,
                _ => Condition::Between,
            },
            since: started.map(|e| e.at_second()).or(self.history.created_at),
            started_by: started
                .and(self.history.who_started(self.proxy_autostart))
                .map(Outside::from),
        }
    }
}

impl Platform for OnFly<'_> {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Fly
    }

    fn name(&self) -> &str {
        self.app
    }

    fn instances(&self) -> Result<Vec<Instance>, PlatformError> {
        let machines = match self.bot {
            Some(who) => self.flyctl.bot_machines(who)?,
            None => self.flyctl.machines(self.app)?,
        };
        Ok(machines.iter().map(Machine::instance).collect())
    }

    /// The record lives in the machines' metadata, read from the same list (`crate::team`).
    fn look(&self) -> Look {
        let fly = self.fly_look();
        Look {
            instances: match &fly.bot {
                Ok(ms) => Ok(ms.iter().map(Machine::instance).collect()),
                Err(e) => Err(e.clone().into()),
            },
            record: None,
            specific: Some(Box::new(fly)),
        }
    }

    fn stop(&self, id: &Outside) -> Result<(), PlatformError> {
        Ok(self.flyctl.stop(self.app, id.raw())?)
    }

    fn start(&self, id: &Outside) -> Result<(), PlatformError> {
        Ok(self.flyctl.start(self.app, id.raw())?)
    }

    fn recent_logs(
        &self,
        first_line: Duration,
        limit: Duration,
    ) -> Result<RecentLogs, PlatformError> {
        Ok(self.flyctl.recent_logs(self.app, first_line, limit)?)
    }

    fn stream_logs(&self) -> Result<LogStream, PlatformError> {
        let program = self.flyctl.installed()?;
        // Without --no-tail flyctl streams until it is killed.
        let lines = process::stream_lines(program, &["logs", "--app", self.app])
            .map_err(|e| PlatformError::new(e.to_string(), None))?;
        Ok(LogStream {
            lines,
            parse: parse_log_line,
        })
    }

    fn logs_shown(&self) -> String {
        format!("`flyctl logs --app {}`", self.app)
    }

    fn record_home(&self) -> RecordHome {
        RecordHome::OnPlatform
    }

    /// Machine metadata: a full config update that reboots a running machine, so callers
    /// (`crate::team`) write only on stopped machines.
    fn write_record(&self, id: &Outside, pairs: &[(&str, &str)]) -> Result<(), PlatformError> {
        Ok(self.flyctl.update_metadata(self.app, id.raw(), pairs)?)
    }

    fn look_command(&self) -> String {
        format!("flyctl machine list --app {}", self.app)
    }

    /// The `botctl_` metadata of the first machine that carries a record. (Surveys read
    /// records from the machine list they make anyway: `crate::team::records`.)
    fn read_record(&self) -> Result<Vec<(String, String)>, PlatformError> {
        let machines = self.flyctl.machines(self.app)?;
        let carrier = machines.iter().find(|m| {
            m.metadata
                .get(crate::team::BY)
                .is_some_and(|by| !by.is_empty())
        });
        Ok(carrier
            .map(|m| {
                m.metadata
                    .iter()
                    .filter(|(k, _)| k.starts_with("botctl_"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::super::machines::parse_machines;
    use super::*;

    #[test]
    fn a_machine_is_an_instance_with_its_start_and_who_started_it() {
        let ms = parse_machines(
            r#"[{"id":"148ed193b95089","state":"started","region":"ams",
                 "created_at":"2026-11-20T09:00:00Z",
                 "events":[{"type":"start","status":"started","source":"proxy","timestamp":1764000000000},
                           {"type":"stop","status":"stopped","source":"user","timestamp":1763990000000}]},
                {"id":"e2865013b63d86","state":"stopped","region":"ams",
                 "created_at":"2026-11-20T09:00:00Z"},
                {"id":"x","state":"stopping"}]"#,
        )
        .unwrap();
        let started = ms[0].instance();
        assert_eq!(started.id, "148ed193b95089");
        assert_eq!(started.state, "started");
        assert!(started.running);
        assert_eq!(started.condition, Condition::Up);
        assert_eq!(started.since.map(|t| t.as_second()), Some(1_764_000_000));
        assert!(started.started_by.unwrap().raw().contains("Fly Proxy"));
        let stopped = ms[1].instance();
        assert!(!stopped.running);
        assert_eq!(stopped.condition, Condition::Down);
        assert_eq!(
            stopped.since.map(|t| t.to_string()).as_deref(),
            Some("2026-11-20T09:00:00Z")
        );
        assert_eq!(stopped.started_by, None);
        assert_eq!(ms[2].instance().condition, Condition::Between);
    }
}
