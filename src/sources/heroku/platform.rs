//! Heroku behind the platform seam: the bot's dynos of one app. Heroku keeps a count per
//! process type (the formation), so the bot goes to zero with `ps:scale TYPE=0` and back; it
//! has nowhere to keep a team record (config vars restart every dyno), so the handoff is
//! recorded on this machine only.

use std::time::Duration;

use super::{Dyno, HerokuCli, parse_log_line};
use crate::model::{Entry, PlatformKind};
use crate::outside::Outside;
use crate::sources::platform::{
    Condition, Control, Instance, LogStream, Platform, PlatformError, PlatformWarning, RecentLogs,
    RecordHome, joined,
};

/// One bot's app on Heroku.
pub struct OnHeroku<'a> {
    pub cli: HerokuCli,
    pub app: &'a str,
    /// `heroku.process` from botctl.toml; `None`: the type whose dynos run the bot.
    pub process: Option<&'a str>,
    /// How a dyno's command is recognised as the bot.
    pub entry: &'a Entry,
}

impl OnHeroku<'_> {
    /// The bot's process type: as configured, else the first type whose dyno runs the bot.
    fn kind(&self, dynos: &[Dyno]) -> Option<String> {
        self.process.map(str::to_string).or_else(|| {
            let mut types: Vec<&Dyno> = dynos.iter().filter(|d| d.runs(self.entry)).collect();
            types.sort_by(|a, b| a.name.cmp(&b.name));
            types.first().map(|d| d.kind.raw().to_string())
        })
    }

    /// [`OnHeroku::kind`], or why botctl cannot tell (no dyno runs the bot and none is named).
    fn known_kind(&self, dynos: &[Dyno]) -> Result<String, PlatformError> {
        self.kind(dynos).ok_or_else(|| {
            PlatformError::new(
                format!(
                    "no dyno of Heroku app {} runs the bot, and botctl.toml names no process \
type, so botctl cannot tell which one to scale",
                    crate::outside::shown(self.app)
                ),
                Some(crate::fix::Fix::instruction(
                    "add the Procfile's process type to botctl.toml: heroku = { app = \"…\", \
process = \"worker\" }",
                )),
            )
        })
    }

    /// The type to scale: a configured one needs no look at the dynos.
    fn scaled_kind(&self) -> Result<String, PlatformError> {
        match self.process {
            Some(p) => Ok(p.to_string()),
            None => self.known_kind(&self.cli.dynos(self.app)?),
        }
    }

    /// `heroku ps:scale KIND=N`; refused (an account that may not scale, a plan's limit), the
    /// same command is the fix, to run once the cause the CLI named is mended.
    fn scale_or_say_how(&self, kind: &str, n: u32) -> Result<(), PlatformError> {
        self.cli.scale(self.app, kind, n).map_err(|mut e| {
            if e.fix.is_none() && !e.interrupted {
                e.fix = Some(scale_fix(kind, &n.to_string(), self.app).note("once that is mended"));
            }
            e
        })
    }

    /// Dynos of the bot's type, and dynos of any other type whose command runs the bot.
    fn bots_dynos(&self, dynos: Vec<Dyno>) -> Vec<Dyno> {
        let kind = self.kind(&dynos);
        dynos
            .into_iter()
            .filter(|d| Some(d.kind.raw()) == kind.as_deref() || d.runs(self.entry))
            .collect()
    }
}

/// A dyno as the seam sees every platform's instances.
fn instance(d: &Dyno) -> Instance {
    Instance {
        id: d.name.clone(),
        state: d.state.clone(),
        running: d.is_running(),
        condition: match d.state.raw() {
            "up" => Condition::Up,
            "down" | "idle" => Condition::Down,
            // starting, and crashed (Heroku restarts a crashed dyno by itself).
            _ => Condition::Between,
        },
        since: d
            .updated_at
            .as_ref()
            .and_then(|t| t.raw().parse::<jiff::Timestamp>().ok()),
        started_by: None,
    }
}

impl Platform for OnHeroku<'_> {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Heroku
    }

    fn name(&self) -> &str {
        self.app
    }

    fn instances(&self) -> Result<Vec<Instance>, PlatformError> {
        let dynos = self.bots_dynos(self.cli.dynos(self.app)?);
        Ok(dynos.iter().map(instance).collect())
    }

    /// A dyno cannot be stopped for good on its own (`ps:stop` restarts it): the count goes.
    fn stop(&self, _: &Outside) -> Result<(), PlatformError> {
        self.set_scale(0)
    }

    fn start(&self, _: &Outside) -> Result<(), PlatformError> {
        self.set_scale(1)
    }

    /// `heroku logs` prints the recent lines and exits.
    fn recent_logs(
        &self,
        _first_line: Duration,
        _limit: Duration,
    ) -> Result<RecentLogs, PlatformError> {
        let kind = self.scaled_kind()?;
        let lines = self.cli.logs(self.app, &kind)?;
        Ok(RecentLogs {
            empty: lines.is_empty(),
            complete: true,
            lines,
        })
    }

    fn stream_logs(&self) -> Result<LogStream, PlatformError> {
        let kind = self.scaled_kind()?;
        Ok(LogStream {
            lines: self.cli.stream_logs(self.app, &kind)?,
            parse: parse_log_line,
        })
    }

    fn record_home(&self) -> RecordHome {
        RecordHome::LocalOnly
    }

    fn look_command(&self) -> String {
        format!("heroku ps --app {}", self.app)
    }

    fn control(&self) -> Control {
        Control::Scale
    }

    /// The formation's quantity for the bot's type (0 when the Procfile has no such type yet).
    fn scale(&self) -> Result<u32, PlatformError> {
        let kind = self.scaled_kind()?;
        let formation = self.cli.formation(self.app)?;
        Ok(formation
            .iter()
            .find(|f| f.kind == kind)
            .map_or(0, |f| f.quantity))
    }

    /// To zero only when no dyno of another type runs the bot too: scaling the bot's type
    /// would leave that one polling, and the wait for none would only run out.
    fn set_scale(&self, n: u32) -> Result<(), PlatformError> {
        if n > 0 {
            let kind = self.scaled_kind()?;
            return self.scale_or_say_how(&kind, n);
        }
        let dynos = self.cli.dynos(self.app)?;
        let kind = self.known_kind(&dynos)?;
        let others: Vec<&Dyno> = dynos
            .iter()
            .filter(|d| d.kind.raw() != kind && d.is_running() && d.runs(self.entry))
            .collect();
        if let Some(other) = others.first() {
            return Err(PlatformError::new(
                format!(
                    "{} of {} runs the bot too, and botctl scales only the {} type",
                    other.name,
                    crate::outside::shown(self.app),
                    crate::outside::shown(&kind)
                ),
                Some(
                    crate::fix::Fix::run(&["heroku", "ps:scale"])
                        .assign(other.kind.raw(), "0")
                        .arg("--app")
                        .arg(self.app)
                        .note("and run the bot from one Procfile line"),
                ),
            ));
        }
        self.scale_or_say_how(&kind, 0)
    }

    /// Two pollers on Heroku: a formation above 1, the bot in a second process type, and
    /// preboot (a deploy starts the new dynos before it stops the old ones). The three reads
    /// run at once: each is a whole CLI start.
    fn warnings(&self) -> Result<Vec<PlatformWarning>, PlatformError> {
        let (dynos, formation, features) = std::thread::scope(|s| {
            let dynos = s.spawn(|| self.cli.dynos(self.app));
            let formation = s.spawn(|| self.cli.formation(self.app));
            let features = s.spawn(|| self.cli.features(self.app));
            (joined(dynos), joined(formation), joined(features))
        });
        let (dynos, formation, features) = (dynos?, formation?, features?);
        let app = crate::outside::shown(self.app);
        let mut out = Vec::new();
        let kind = self.kind(&dynos);
        if let Some(kind) = &kind
            && let Some(f) = formation.iter().find(|f| &f.kind == kind && f.quantity > 1)
        {
            // A type read from a dyno is outside text.
            let kind = crate::outside::shown(kind);
            out.push(PlatformWarning {
                check: "formation",
                message: format!(
                    "Heroku runs {} {kind} dynos of {app}: each one polls, and Telegram answers \
all but one with 409 Conflict",
                    f.quantity
                ),
                fix: Some(scale_fix(&kind, "1", &app)),
            });
        }
        let mut others: Vec<&Outside> = dynos
            .iter()
            .filter(|d| {
                Some(d.kind.raw()) != kind.as_deref() && d.is_running() && d.runs(self.entry)
            })
            .map(|d| &d.kind)
            .collect();
        others.dedup();
        if let (Some(kind), false) = (&kind, others.is_empty()) {
            let kind = crate::outside::shown(kind);
            let shown: Vec<String> = others.iter().map(|o| o.to_string()).collect();
            out.push(PlatformWarning {
                check: "process-types",
                message: format!(
                    "the bot runs in more than one process type of {app}: {kind} and {} (each \
one polls)",
                    shown.join(", ")
                ),
                fix: Some(crate::fix::Fix::scale_down_to_one_line(
                    &others
                        .iter()
                        .map(|o| scale_fix(o.raw(), "0", &app))
                        .collect::<Vec<_>>(),
                )),
            });
        }
        if features.iter().any(|f| f.name == "preboot" && f.enabled) {
            out.push(PlatformWarning {
                check: "preboot",
                message: format!(
                    "preboot is enabled on {app}: a deploy starts the new dynos before it stops \
the old ones, so two pollers overlap for minutes"
                ),
                fix: Some(crate::fix::Fix::run(&[
                    "heroku",
                    "features:disable",
                    "preboot",
                    "--app",
                    &app,
                ])),
            });
        }
        Ok(out)
    }
}

/// `heroku ps:scale KIND=N --app APP`.
fn scale_fix(kind: &str, n: &str, app: &str) -> crate::fix::Fix {
    crate::fix::Fix::run(&["heroku", "ps:scale"])
        .assign(kind, n)
        .arg("--app")
        .arg(app)
}

#[cfg(test)]
mod tests {
    use super::super::parse_dynos;
    use super::*;

    fn on<'a>(entry: &'a Entry, process: Option<&'a str>) -> OnHeroku<'a> {
        OnHeroku {
            cli: HerokuCli::new(Duration::from_secs(1)),
            app: "lb",
            process,
            entry,
        }
    }

    #[test]
    fn the_bots_dynos_are_its_type_and_any_other_running_it() {
        let dynos = parse_dynos(
            r#"[{"name":"web.1","type":"web","state":"up","command":"python bot.py"},
                {"name":"worker.1","type":"worker","state":"starting","command":"python bot.py"},
                {"name":"worker.2","type":"worker","state":"crashed","command":"python bot.py"},
                {"name":"clock.1","type":"clock","state":"up","command":"python clock.py"}]"#,
        )
        .unwrap();
        let entry = Entry::Script("bot.py".into());
        let named = on(&entry, Some("worker"));
        let ids: Vec<String> = named
            .bots_dynos(dynos.clone())
            .iter()
            .map(|d| d.name.raw().to_string())
            .collect();
        assert_eq!(ids, ["web.1", "worker.1", "worker.2"]);
        // Unnamed: the first type (by dyno name) whose command runs the bot.
        assert_eq!(on(&entry, None).kind(&dynos).as_deref(), Some("web"));
        let is: Vec<Instance> = dynos.iter().map(instance).collect();
        assert_eq!(
            is.iter()
                .map(|i| (i.running, i.condition))
                .collect::<Vec<_>>(),
            [
                (true, Condition::Up),
                (true, Condition::Between),
                (false, Condition::Between),
                (true, Condition::Up)
            ]
        );
        assert!(on(&entry, None).known_kind(&[]).is_err());
    }
}
