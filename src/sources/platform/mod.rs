//! The seam between botctl and the platforms a bot runs on in production (Fly.io first;
//! Kubernetes, Heroku, Railway). A platform answers, for one bot: its running instances, stop
//! them and wait, start them and wait, its recent and streaming logs, and — where it has
//! somewhere to write it — the team's handoff record. It is the one way to a bot's instances:
//! the survey, watch and every command ask this ([`Platform::look`], [`Platform::instances`]),
//! Fly included, never a platform's CLI. What only one platform tells of its instances rides
//! in the look as that platform's own type ([`Specific`]: Fly's machines, from the same read); what only one
//! platform has beside them (Fly's other apps, secrets digests, deploy strategies, machine
//! events) stays in that platform's folder. Each platform is one folder under `sources/` implementing
//! [`Platform`]; `sources::platform_of` is the one match that picks it.

use std::time::Duration;

use jiff::Timestamp;

use crate::fix::Fix;
use crate::model::PlatformKind;
use crate::outside::Outside;
use crate::process::LineStream;

/// One running copy of the bot on a platform: a Fly machine, a pod, a dyno, a replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The platform's own id (machine id, pod name, `worker.1`): outside text.
    pub id: Outside,
    /// As the platform names it (`started`, `Running`, `up`): outside text.
    pub state: Outside,
    /// Whether the state counts as a place the bot runs (it may poll).
    pub running: bool,
    /// Up, down or on its way: what a wait for started or stopped reads.
    pub condition: Condition,
    /// Since when it is in that state (or was created), when the platform says.
    pub since: Option<Timestamp>,
    /// What started it, when the platform keeps that (a Fly machine event's source).
    pub started_by: Option<Outside>,
}

/// One look at a bot on its platform: what a survey and each round of watch read, every
/// platform through [`Platform::look`].
#[derive(Debug)]
pub struct Look {
    /// Its instances, running or not.
    pub instances: Result<Vec<Instance>, PlatformError>,
    /// The team's handoff record there (`None` where the platform keeps none, or keeps it in
    /// what only it tells: Fly's machine metadata).
    pub record: Option<Result<Vec<(String, String)>, PlatformError>>,
    /// What only this platform tells, from the same read: a type of its folder (Fly's
    /// `FlyLook`: the machines with their groups, regions, metadata and events), read back
    /// with `downcast_ref::<FlyLook>()`.
    pub specific: Option<Specific>,
}

/// A platform's own part of a look. Its type is erased here because the seam cannot name a
/// platform's types without depending on its folder (which depends on the seam).
pub type Specific = Box<dyn std::any::Any + Send + Sync>;

/// Where a platform keeps the team's handoff record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordHome {
    /// On the platform itself (Fly machine metadata, Kubernetes annotations): every teammate
    /// reads it.
    OnPlatform,
    /// Nowhere there (Heroku): only this machine's `.botctl/state.json` knows.
    LocalOnly,
}

/// How a platform takes the bot down and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Each instance stops and starts on its own (Fly machines): `stop`/`start` per id.
    Instances,
    /// The platform keeps a count (a Deployment's replicas, a Heroku formation, Railway
    /// replicas): the bot goes to zero with `set_scale(0)` and back with `set_scale(n)`.
    Scale,
}

/// Something about how the platform runs the bot that makes two pollers (doctor prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformWarning {
    /// The doctor check's name (e.g. "replicas", "rollout", "preboot", "overlap", "crashloop").
    pub check: &'static str,
    pub message: String,
    pub fix: Option<Fix>,
}

/// A platform call that failed: a sentence a person can act on, and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError {
    pub message: String,
    pub fix: Option<Fix>,
    /// Ctrl-C, not a failure.
    pub interrupted: bool,
}

impl PlatformError {
    pub fn new(message: impl Into<String>, fix: Option<Fix>) -> Self {
        PlatformError {
            message: message.into(),
            fix,
            interrupted: false,
        }
    }

    pub fn interrupted() -> Self {
        PlatformError {
            message: "interrupted".into(),
            fix: None,
            interrupted: true,
        }
    }

    /// A platform CLI's call that could not run or did not finish (`key`: its botctl.toml
    /// table, whose `timeout` a hang names).
    pub fn from_exec(
        command: &str,
        e: crate::process::ExecError,
        not_installed: fn() -> PlatformError,
        key: &str,
    ) -> Self {
        use crate::process::ExecError;
        match e {
            ExecError::NotFound { .. } => not_installed(),
            ExecError::Interrupted => PlatformError::interrupted(),
            ExecError::TimedOut { after, .. } => PlatformError::new(
                format!(
                    "`{command}` did not answer within {}s and was stopped",
                    after.as_secs()
                ),
                Some(crate::fix::Fix::raise_timeout(key)),
            ),
            other => PlatformError::new(other.to_string(), None),
        }
    }

    /// The error and its fix in one sentence, for places with room for one line (JSON).
    pub fn with_fix(&self) -> String {
        crate::fix::with_fix(&self.message, self.fix.as_ref())
    }
}

impl std::fmt::Display for PlatformError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlatformError {}

/// A platform failure inside a workflow is a failed step, told with its fix.
impl From<PlatformError> for crate::error::Error {
    fn from(e: PlatformError) -> Self {
        if e.interrupted {
            crate::error::Error::Interrupted
        } else {
            let fix = e.fix.clone();
            crate::error::Error::failed(e, fix)
        }
    }
}

/// The answer of a read run on its own thread: a panic there is a failed read.
pub fn joined<T>(
    h: std::thread::ScopedJoinHandle<'_, Result<T, PlatformError>>,
) -> Result<T, PlatformError> {
    h.join()
        .unwrap_or_else(|_| Err(PlatformError::new("a platform read panicked", None)))
}

/// One line of a bot's logs, whichever platform printed it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// When it was logged, to the second, when the line carries a time.
    pub at: Option<jiff::Timestamp>,
    /// The instance that logged it, as the line names it: outside text.
    pub machine: Option<Outside>,
    pub message: Outside,
    /// The whole line, colour codes removed.
    pub text: Outside,
}

impl LogLine {
    /// Telegram's 409, as python-telegram-bot, aiogram, grammY and Telegraf log it.
    pub fn is_conflict(&self) -> bool {
        let m = self.message.raw();
        (m.contains("409") && m.contains("onflict"))
            || m.contains("terminated by other getUpdates")
            || m.contains("terminated by other long poll")
    }
}

/// What a platform's recent logs held.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentLogs {
    pub lines: Vec<LogLine>,
    /// No line at all: the buffer was empty (the instances logged nothing lately).
    pub empty: bool,
    /// false when lines were still coming at the time limit.
    pub complete: bool,
}

/// A running log stream and how to read its lines.
pub struct LogStream {
    pub lines: LineStream,
    /// The platform's line format; `None` for a line that carries nothing (blank).
    pub parse: fn(&str) -> Option<LogLine>,
}

/// Progress of a wait, for the spinner: what is still pending.
pub type Progress<'a> = &'a dyn Fn(&str);

/// What a wait waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    Stopped,
    Started,
}

impl Settle {
    pub fn word(self) -> &'static str {
        match self {
            Settle::Stopped => "stopped",
            Settle::Started => "started",
        }
    }
}

/// How an instance stands, as far as a wait is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Up and settled (Fly's `started`, a ready pod, an `up` dyno).
    Up,
    /// Down, and staying down until somebody starts it.
    Down,
    /// On its way somewhere.
    Between,
}

impl Condition {
    pub fn reached(self, settle: Settle) -> bool {
        matches!(
            (self, settle),
            (Condition::Up, Settle::Started) | (Condition::Down, Settle::Stopped)
        )
    }
}

/// The end of a wait: done, or the instances still pending ("ID state") at the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    Done,
    Pending(Vec<String>),
}

/// How often a wait asks the platform again.
const POLL: Duration = Duration::from_secs(1);

/// What every platform answers for one bot. `Send + Sync`: surveys ask platforms from scoped
/// threads, at once.
pub trait Platform: Send + Sync {
    fn kind(&self) -> PlatformKind;

    /// What the bot is called there (app, workload, service), for messages and JSON.
    fn name(&self) -> &str;

    /// Its instances, running or not (stopped ones are what deploy-resume starts).
    fn instances(&self) -> Result<Vec<Instance>, PlatformError>;

    /// One look at the bot there: its instances and, where the platform keeps one, the
    /// team's record (not asked for when the instances could not be listed).
    fn look(&self) -> Look {
        let instances = self.instances();
        let record = (self.record_home() == RecordHome::OnPlatform && instances.is_ok())
            .then(|| self.read_record());
        Look {
            instances,
            record,
            specific: None,
        }
    }

    /// Asks the platform to stop one instance; does not wait.
    fn stop(&self, id: &Outside) -> Result<(), PlatformError>;

    /// Asks the platform to start one instance; does not wait.
    fn start(&self, id: &Outside) -> Result<(), PlatformError>;

    /// The recent log lines it keeps: no first line within `first_line` means none; read
    /// within `limit`.
    fn recent_logs(
        &self,
        first_line: Duration,
        limit: Duration,
    ) -> Result<RecentLogs, PlatformError>;

    /// Its logs as they come, until the stream is dropped.
    fn stream_logs(&self) -> Result<LogStream, PlatformError>;

    /// Whether [`Platform::stream_logs`] prints one page of the latest lines and ends (a CLI
    /// that follows nothing without a terminal): a reader starts it again for the next page.
    fn logs_in_pages(&self) -> bool {
        false
    }

    /// How a message names the log stream of [`Platform::stream_logs`] (a command in
    /// backquotes where one person could run it as is).
    fn logs_shown(&self) -> String {
        format!("the {} logs of {}", self.kind(), self.name())
    }

    /// Where the team's handoff record lives.
    fn record_home(&self) -> RecordHome;

    /// Writes the team's handoff record (`pairs`: botctl's own keys; empty values clear it)
    /// onto one instance. Only a platform whose record home is `OnPlatform` has one.
    fn write_record(&self, id: &Outside, pairs: &[(&str, &str)]) -> Result<(), PlatformError> {
        let _ = (id, pairs);
        Err(PlatformError::new(
            format!("{} has nowhere to keep a handoff record", self.kind()),
            None,
        ))
    }

    /// The command a person runs to look at the instances themselves.
    fn look_command(&self) -> String;

    fn control(&self) -> Control {
        Control::Instances
    }

    /// Scale platforms: the count the platform keeps now.
    fn scale(&self) -> Result<u32, PlatformError> {
        Err(PlatformError::new(
            format!("{} keeps no count", self.kind()),
            None,
        ))
    }

    /// Scale platforms: asks for `n` instances; does not wait (wait with `wait_until`/instances).
    fn set_scale(&self, n: u32) -> Result<(), PlatformError> {
        let _ = n;
        Err(PlatformError::new(
            format!("{} keeps no count", self.kind()),
            None,
        ))
    }

    /// The team's handoff record where the platform keeps one (botctl's own keys and values);
    /// empty when none is there.
    fn read_record(&self) -> Result<Vec<(String, String)>, PlatformError> {
        Ok(Vec::new())
    }

    /// What doctor should warn about on this platform (replicas above 1, surge, preboot, overlap…).
    fn warnings(&self) -> Result<Vec<PlatformWarning>, PlatformError> {
        Ok(Vec::new())
    }

    /// Polls [`Platform::instances`] until every one of `ids` has settled, at most `limit`;
    /// Ctrl-C ends it at once.
    fn wait_until(
        &self,
        ids: &[Outside],
        settle: Settle,
        limit: Duration,
        progress: Progress<'_>,
    ) -> Result<Waited, PlatformError> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let now = self.instances()?;
            let pending: Vec<String> = ids
                .iter()
                .filter_map(|id| match now.iter().find(|i| &i.id == id) {
                    Some(i) if i.condition.reached(settle) => None,
                    Some(i) => Some(format!("{id} {}", i.state)),
                    None => Some(format!("{id} missing")),
                })
                .collect();
            if pending.is_empty() {
                return Ok(Waited::Done);
            }
            progress(&pending.join(", "));
            let until = (std::time::Instant::now() + POLL).min(deadline);
            while std::time::Instant::now() < until {
                if crate::interrupt::requested() {
                    return Err(PlatformError::interrupted());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if std::time::Instant::now() >= deadline {
                return Ok(Waited::Pending(pending));
            }
        }
    }

    /// Stops `ids` and waits until they are stopped. (dev-start and deploy-resume show the
    /// ask and the wait as two steps, so they call the parts.)
    #[allow(dead_code)]
    fn stop_and_wait(
        &self,
        ids: &[Outside],
        limit: Duration,
        progress: Progress<'_>,
    ) -> Result<Waited, PlatformError> {
        ids.iter().try_for_each(|id| self.stop(id))?;
        self.wait_until(ids, Settle::Stopped, limit, progress)
    }

    /// Starts `ids` and waits until they are started.
    #[allow(dead_code)]
    fn start_and_wait(
        &self,
        ids: &[Outside],
        limit: Duration,
        progress: Progress<'_>,
    ) -> Result<Waited, PlatformError> {
        ids.iter().try_for_each(|id| self.start(id))?;
        self.wait_until(ids, Settle::Started, limit, progress)
    }
}

/// A platform botctl.toml may name but botctl cannot read yet: every answer says so, nothing
/// is ever changed there. Its bot's verdict is unknown, never "stopped".
pub struct NotYet {
    pub kind: PlatformKind,
    pub name: String,
}

impl NotYet {
    pub fn error(&self) -> PlatformError {
        PlatformError::new(
            format!(
                "{} is not supported by botctl yet: {} was not checked, and botctl changes \
nothing there",
                self.kind.title(),
                crate::outside::shown(&self.name)
            ),
            Some(Fix::look_yourself(self.kind.cli())),
        )
    }
}

impl Platform for NotYet {
    fn kind(&self) -> PlatformKind {
        self.kind
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn instances(&self) -> Result<Vec<Instance>, PlatformError> {
        Err(self.error())
    }
    fn stop(&self, _: &Outside) -> Result<(), PlatformError> {
        Err(self.error())
    }
    fn start(&self, _: &Outside) -> Result<(), PlatformError> {
        Err(self.error())
    }
    fn recent_logs(&self, _: Duration, _: Duration) -> Result<RecentLogs, PlatformError> {
        Err(self.error())
    }
    fn stream_logs(&self) -> Result<LogStream, PlatformError> {
        Err(self.error())
    }
    fn record_home(&self) -> RecordHome {
        RecordHome::LocalOnly
    }
    fn look_command(&self) -> String {
        self.kind.cli().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A platform whose instances settle one call after they are asked to.
    struct Fake {
        states: Mutex<Vec<(Outside, Condition)>>,
        asked: Mutex<Vec<(Outside, Condition)>>,
    }

    impl Fake {
        fn ask(&self, id: &Outside, c: Condition) -> Result<(), PlatformError> {
            self.asked.lock().unwrap().push((id.clone(), c));
            Ok(())
        }
    }

    impl Platform for Fake {
        fn kind(&self) -> PlatformKind {
            PlatformKind::Kubernetes
        }
        fn name(&self) -> &str {
            "deployment/lb"
        }
        fn instances(&self) -> Result<Vec<Instance>, PlatformError> {
            let mut states = self.states.lock().unwrap();
            let list = states
                .iter()
                .map(|(id, c)| Instance {
                    id: id.clone(),
                    state: Outside::from(format!("{c:?}")),
                    running: *c != Condition::Down,
                    condition: *c,
                    since: None,
                    started_by: None,
                })
                .collect();
            for (id, c) in self.asked.lock().unwrap().drain(..) {
                states
                    .iter_mut()
                    .filter(|(i, _)| *i == id)
                    .for_each(|s| s.1 = c);
            }
            Ok(list)
        }
        fn stop(&self, id: &Outside) -> Result<(), PlatformError> {
            self.ask(id, Condition::Down)
        }
        fn start(&self, id: &Outside) -> Result<(), PlatformError> {
            self.ask(id, Condition::Up)
        }
        fn recent_logs(&self, _: Duration, _: Duration) -> Result<RecentLogs, PlatformError> {
            Err(PlatformError::new("no logs", None))
        }
        fn stream_logs(&self) -> Result<LogStream, PlatformError> {
            Err(PlatformError::new("no logs", None))
        }
        fn record_home(&self) -> RecordHome {
            RecordHome::OnPlatform
        }
        fn look_command(&self) -> String {
            "kubectl get pods".into()
        }
    }

    #[test]
    fn stop_and_wait_then_start_and_wait_through_the_seam() {
        let pod = Outside::from("lb-1");
        let fake = Fake {
            states: Mutex::new(vec![(pod.clone(), Condition::Up)]),
            asked: Mutex::new(Vec::new()),
        };
        let seen = Mutex::new(Vec::new());
        let progress = |p: &str| seen.lock().unwrap().push(p.to_string());
        let ids = [pod.clone()];
        let limit = Duration::from_secs(5);
        assert_eq!(fake.stop_and_wait(&ids, limit, &progress), Ok(Waited::Done));
        assert_eq!(seen.lock().unwrap().as_slice(), ["lb-1 Up"]);
        assert_eq!(
            fake.start_and_wait(&ids, limit, &progress),
            Ok(Waited::Done)
        );
        // An instance that is gone never settles: the wait ends at its limit, naming it.
        let gone = [Outside::from("lb-2")];
        let short = Duration::from_millis(100);
        assert_eq!(
            fake.wait_until(&gone, Settle::Started, short, &progress),
            Ok(Waited::Pending(vec!["lb-2 missing".into()]))
        );
    }

    #[test]
    fn a_platform_not_supported_yet_answers_not_checked_and_changes_nothing() {
        let k = NotYet {
            kind: PlatformKind::Kubernetes,
            name: "deployment/lb-partner".into(),
        };
        let e = k.instances().unwrap_err();
        assert!(e.message.contains("Kubernetes is not supported"), "{e}");
        assert!(e.with_fix().contains("kubectl"), "{}", e.with_fix());
        assert!(k.stop(&Outside::from("x")).is_err() && k.start(&Outside::from("x")).is_err());
        assert_eq!(k.record_home(), RecordHome::LocalOnly);
    }
}
