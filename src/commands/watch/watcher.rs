//! The watcher's memory: the last look at every source, the changes of the last minute, and
//! the tally for the summary. Each new look becomes the events that tell what changed; one
//! thread owns it, so there is nothing to lock.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::event::{Event, Happening, InstanceChange, MachineChange, RunningCopy, StreamTrouble};
use crate::config::Bot;
use crate::model::{BotName, HostName};
use crate::sources::fly::{FlyLook, LogLine, Machine, MachineState};
use crate::sources::host::HostError;
use crate::sources::local::BotProcess;
use crate::sources::platform::{Instance as PlatformInstance, Look, PlatformError};
use crate::sources::proc::TableError;
use crate::sources::supervisor::SupervisorKind;
use crate::sources::telegram::ApiError;

/// How far back a 409 event looks for the changes that may have caused it.
const BEFORE: SignedDuration = SignedDuration::from_mins(1);
/// Log lines stamped this long before watching began are the buffer's past, not news.
const LOG_SLACK: SignedDuration = SignedDuration::from_secs(5);
/// A span in whole seconds, rounded up: a change 1.2 s before a 409 reads "2 s before".
fn whole_secs_up(d: Duration) -> Duration {
    Duration::from_secs(u64::try_from(d.as_millis().div_ceil(1000)).unwrap_or(u64::MAX))
}

/// At most this many 409 lines are remembered to recognise a stream's replay of its buffer, each
/// by a 64-bit digest: a few dozen bytes a line, however long the lines are.
const SEEN_LINES: usize = 5000;

/// What the summary tells, per bot.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub conflicts: u32,
    pub most_places: usize,
    pub came: Vec<String>,
    pub went: Vec<String>,
}

pub struct Watcher<'a> {
    bots: Vec<&'a Bot>,
    pub started: Timestamp,
    local: Option<Vec<BotProcess>>,
    hosts: BTreeMap<HostName, Vec<BotProcess>>,
    /// Per bot: the machines of its process group, as last seen.
    fly: BTreeMap<BotName, Vec<Machine>>,
    /// Per bot on a platform other than Fly: its instances (pods) at the last look.
    platforms: BTreeMap<BotName, Vec<PlatformInstance>>,
    webhooks: BTreeMap<BotName, crate::outside::Outside>,
    /// Sources now unreadable, with their error.
    errors: BTreeMap<String, String>,
    /// Events about the sources themselves, not yet returned.
    pending: Vec<Event>,
    recent: VecDeque<Event>,
    /// Digests of the 409 lines seen (keyed per run, so a line cannot be made to collide).
    seen_lines: HashSet<u64>,
    seen_order: VecDeque<u64>,
    seen_key: std::collections::hash_map::RandomState,
    pub tally: BTreeMap<BotName, Tally>,
}

impl<'a> Watcher<'a> {
    pub fn new(bots: &[&'a Bot], started: Timestamp) -> Self {
        Watcher {
            bots: bots.to_vec(),
            started,
            local: None,
            hosts: BTreeMap::new(),
            fly: BTreeMap::new(),
            platforms: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            errors: BTreeMap::new(),
            pending: Vec::new(),
            recent: VecDeque::new(),
            seen_lines: HashSet::new(),
            seen_order: VecDeque::new(),
            seen_key: std::collections::hash_map::RandomState::new(),
            tally: bots
                .iter()
                .map(|b| (b.name.clone(), Tally::default()))
                .collect(),
        }
    }

    /// A 409 or two places at once was seen: the exit status says so.
    pub fn saw_trouble(&self) -> bool {
        self.tally
            .values()
            .any(|t| t.conflicts > 0 || t.most_places >= 2)
    }

    pub fn conflicts(&self) -> u32 {
        self.tally.values().map(|t| t.conflicts).sum()
    }

    /// A look at this machine's processes.
    pub fn local(
        &mut self,
        at: Timestamp,
        scan: Result<Vec<BotProcess>, TableError>,
    ) -> Vec<Event> {
        let Some(now) = self.readable("this machine's processes", at, scan) else {
            return self.drain_errors();
        };
        let initial = self.local.is_none();
        let before = self.local.take().unwrap_or_default();
        let mut events = self.source_events();
        events.extend(copies_changed(at, None, &before, &now, initial));
        self.local = Some(now);
        self.record(events)
    }

    pub fn host(
        &mut self,
        at: Timestamp,
        host: &str,
        scan: Result<Vec<BotProcess>, HostError>,
    ) -> Vec<Event> {
        let Some(now) = self.readable(&format!("host {host}"), at, scan) else {
            return self.drain_errors();
        };
        let before = self.hosts.remove(host);
        let initial = before.is_none();
        let mut events = self.source_events();
        events.extend(copies_changed(
            at,
            Some(host),
            &before.unwrap_or_default(),
            &now,
            initial,
        ));
        self.hosts.insert(HostName::from(host), now);
        self.record(events)
    }

    /// A look at a bot's platform through the seam (`platform`: its app's or workload's
    /// name). Fly's machines are told as machines, with their events and records.
    pub fn platform(
        &mut self,
        at: Timestamp,
        bot: &BotName,
        platform: &str,
        look: Look,
    ) -> Vec<Event> {
        match look.specific.map(|s| s.downcast::<FlyLook>()) {
            Some(Ok(fly)) => self.machines(at, bot, *fly),
            _ => self.instances(at, bot, platform, look.instances),
        }
    }

    fn machines(&mut self, at: Timestamp, bot: &BotName, fly: FlyLook) -> Vec<Event> {
        let app = fly.app.as_str();
        let listed = fly.listed.map_err(|e| e.with_fix());
        if self
            .readable(&format!("Fly app {app}"), at, listed)
            .is_none()
        {
            return self.drain_errors();
        }
        // Only the bot's group is its places; several groups nothing tells apart are a
        // source that cannot be read, never a guess.
        let source = format!("Fly app {app} ({bot})");
        let mine = fly.bot.map_err(|e| e.with_fix());
        let mut changed = Vec::new();
        if let Some(mine) = self.readable(&source, at, mine) {
            let before = self.fly.remove(bot);
            let initial = before.is_none();
            let before = before.unwrap_or_default();
            changed = machines_changed(at, bot, app, &before, &mine, initial);
            self.fly.insert(bot.clone(), mine);
        }
        let mut events = self.source_events();
        events.extend(changed);
        self.record(events)
    }

    /// A look at a bot's platform other than Fly (`platform`: its workload's name).
    fn instances(
        &mut self,
        at: Timestamp,
        bot: &BotName,
        platform: &str,
        list: Result<Vec<PlatformInstance>, PlatformError>,
    ) -> Vec<Event> {
        let list = list.map_err(|e| e.with_fix());
        let Some(now) = self.readable(platform, at, list) else {
            return self.drain_errors();
        };
        let before = self.platforms.remove(bot);
        let initial = before.is_none();
        let mut events = self.source_events();
        let event = |id: &crate::outside::Outside, state, change| Event {
            at,
            bot: bot.to_string(),
            what: Happening::Instance {
                platform: platform.to_string(),
                id: id.clone(),
                state,
                change,
            },
            initial,
        };
        let before = before.unwrap_or_default();
        for i in &now {
            let change = match before.iter().find(|o| o.id == i.id) {
                _ if initial => Some(InstanceChange::Found),
                None => Some(InstanceChange::Appeared),
                Some(o) if o.state != i.state => Some(InstanceChange::State {
                    from: o.state.clone(),
                }),
                Some(_) => None,
            };
            events.extend(change.map(|c| event(&i.id, i.state.clone(), c)));
        }
        for o in before.iter().filter(|o| !now.iter().any(|i| i.id == o.id)) {
            events.push(event(&o.id, o.state.clone(), InstanceChange::Gone));
        }
        self.platforms.insert(bot.clone(), now);
        self.record(events)
    }

    pub fn webhook(
        &mut self,
        at: Timestamp,
        bot: &str,
        url: Result<crate::outside::Outside, ApiError>,
    ) -> Vec<Event> {
        let Some(url) = self.readable(&format!("{bot}'s webhook info"), at, url) else {
            return self.drain_errors();
        };
        let mut events = self.source_events();
        let was = self.webhooks.insert(BotName::from(bot), url.clone());
        let initial = was.is_none();
        let was = was.unwrap_or_default();
        if was != url && !(initial && url.is_empty()) {
            events.push(Event {
                at,
                bot: bot.to_string(),
                what: Happening::Webhook { url, was },
                initial,
            });
        }
        self.record(events)
    }

    /// A line of an app's log stream: a 409 becomes an event with its context.
    pub fn log_line(&mut self, at: Timestamp, app: &str, line: LogLine) -> Vec<Event> {
        if !line.is_conflict()
            || line
                .at
                .is_some_and(|t| t + LOG_SLACK < crate::time::to_the_second(self.started))
            || !self.first_time(line.text.raw())
        {
            return Vec::new();
        }
        let mut events = Vec::new();
        for bot in self.bots_of(app) {
            let before: Vec<(Duration, String)> = self
                .recent
                .iter()
                .filter(|e| e.bot == bot && e.at + BEFORE >= at)
                .map(|e| {
                    (
                        whole_secs_up(crate::time::elapsed(e.at, at)),
                        e.what.summary(),
                    )
                })
                .collect();
            events.push(Event {
                at,
                bot: bot.to_string(),
                what: Happening::Conflict {
                    app: app.to_string(),
                    machine: line.machine.clone(),
                    line: line.message.clone(),
                    places: self.places(&bot),
                    before,
                },
                initial: false,
            });
            if let Some(t) = self.tally.get_mut(&bot) {
                t.conflicts += 1;
            }
        }
        events
    }

    /// A log stream ended or went silent: said once per bot of the app.
    pub fn stream_trouble(
        &mut self,
        at: Timestamp,
        app: &str,
        shown: String,
        trouble: StreamTrouble,
        retry_in: Duration,
    ) -> Vec<Event> {
        self.to_bots_of(at, app, |app| Happening::Logs {
            app,
            stream: shown.clone(),
            trouble: trouble.clone(),
            retry_in,
        })
    }

    /// Lines of an app's log stream dropped unread (they came faster than botctl reads):
    /// said once per bot of the app, since a 409 may have been among them.
    pub fn lines_dropped(
        &mut self,
        at: Timestamp,
        app: &str,
        shown: String,
        lines: u64,
    ) -> Vec<Event> {
        self.to_bots_of(at, app, |app| Happening::Dropped {
            app,
            stream: shown.clone(),
            lines,
        })
    }

    /// One event for each bot of the app's log stream.
    fn to_bots_of(
        &self,
        at: Timestamp,
        app: &str,
        what: impl Fn(String) -> Happening,
    ) -> Vec<Event> {
        self.bots_of(app)
            .into_iter()
            .map(|bot| Event {
                at,
                bot: bot.to_string(),
                what: what(app.to_string()),
                initial: false,
            })
            .collect()
    }

    /// Every place `bot` runs as the watcher knows it now.
    pub fn places(&self, bot: &str) -> Vec<String> {
        let mut places: Vec<String> = self
            .local
            .iter()
            .flatten()
            .filter(|i| i.bot == bot)
            .map(|i| format!("local pid {}", i.pid))
            .collect();
        for (host, list) in &self.hosts {
            places.extend(
                list.iter()
                    .filter(|i| i.bot == bot)
                    .map(|i| format!("host {host} pid {}", i.pid)),
            );
        }
        let config = self.bots.iter().find(|b| b.name == bot);
        let mut production: Vec<String> = Vec::new();
        if config.and_then(|b| b.app()).is_some() {
            production.extend(
                self.fly
                    .get(bot)
                    .into_iter()
                    .flatten()
                    .filter(|m| m.is_running())
                    .map(|m| format!("machine {} ({})", m.id, m.state)),
            );
        }
        production.extend(
            self.platforms
                .get(bot)
                .into_iter()
                .flatten()
                .filter(|i| i.running)
                .map(|i| format!("{} ({})", i.id, i.state)),
        );
        if let Some(url) = self.webhooks.get(bot).filter(|u| !u.is_empty()) {
            production.push(format!("a webhook ({url})"));
        }
        // A webhook bot's webhook and its Fly machines are one place (as the survey counts
        // them): Telegram posts to the webhook and Fly Proxy hands each post to one machine.
        if config.is_some_and(|b| b.mode.is_webhook()) && !production.is_empty() {
            places.push(production.join(" + "));
        } else {
            places.extend(production);
        }
        places
    }

    /// "partner 1 place, admin 0": for the status line.
    pub fn place_counts(&self) -> String {
        self.bots
            .iter()
            .map(|b| format!("{} {}", b.name, self.places(&b.name).len()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The bots of a Fly app, or of a workload on another platform (by its name).
    fn bots_of(&self, app: &str) -> Vec<BotName> {
        self.bots
            .iter()
            .filter(|b| match (b.app(), &b.platform) {
                (Some(a), _) => a.as_str() == app,
                (None, Some(p)) => p.name() == app,
                (None, None) => false,
            })
            .map(|b| b.name.clone())
            .collect()
    }

    /// The value of a look, or `None` (remembering the error) when the source was unreadable.
    fn readable<T, E: std::fmt::Display>(
        &mut self,
        source: &str,
        at: Timestamp,
        look: Result<T, E>,
    ) -> Option<T> {
        match look {
            Ok(v) => {
                if self.errors.remove(source).is_some() {
                    self.pending.push(Event {
                        at,
                        bot: String::new(),
                        what: Happening::Source {
                            source: source.to_string(),
                            error: None,
                        },
                        initial: false,
                    });
                }
                Some(v)
            }
            Err(e) => {
                let e = e.to_string();
                if self.errors.get(source) != Some(&e) {
                    self.errors.insert(source.to_string(), e.clone());
                    self.pending.push(Event {
                        at,
                        bot: String::new(),
                        what: Happening::Source {
                            source: source.to_string(),
                            error: Some(e),
                        },
                        initial: false,
                    });
                }
                None
            }
        }
    }

    fn source_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }

    fn drain_errors(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }

    /// Keeps the changes of the last minute (for the 409 context), tallies, and notes
    /// how many places each bot has now.
    fn record(&mut self, events: Vec<Event>) -> Vec<Event> {
        let now = events
            .iter()
            .map(|e| e.at)
            .max()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        for e in &events {
            if e.initial || matches!(e.what, Happening::Source { .. }) {
                continue;
            }
            if let Some(t) = self.tally.get_mut(e.bot.as_str()) {
                match &e.what {
                    Happening::Appeared(c) => t.came.push(c.place()),
                    Happening::Gone(c) => t.went.push(c.place()),
                    _ => {}
                }
            }
            self.recent.push_back(e.clone());
        }
        while self.recent.front().is_some_and(|e| e.at + BEFORE < now) {
            self.recent.pop_front();
        }
        let counts: Vec<(BotName, usize)> = self
            .bots
            .iter()
            .map(|b| (b.name.clone(), self.places(&b.name).len()))
            .collect();
        for (bot, n) in counts {
            if let Some(t) = self.tally.get_mut(&bot) {
                t.most_places = t.most_places.max(n);
            }
        }
        events
    }

    fn first_time(&mut self, text: &str) -> bool {
        use std::hash::BuildHasher;
        let digest = self.seen_key.hash_one(text);
        if !self.seen_lines.insert(digest) {
            return false;
        }
        self.seen_order.push_back(digest);
        if self.seen_order.len() > SEEN_LINES
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen_lines.remove(&old);
        }
        true
    }
}

/// The copies that appeared and went between two looks at one machine (same pid and start
/// time: the same copy).
fn copies_changed(
    at: Timestamp,
    host: Option<&str>,
    before: &[BotProcess],
    now: &[BotProcess],
    initial: bool,
) -> Vec<Event> {
    let key = |i: &BotProcess| (i.bot.clone(), i.pid, i.started);
    let old: BTreeSet<_> = before.iter().map(key).collect();
    let new: BTreeSet<_> = now.iter().map(key).collect();
    let mut events: Vec<Event> = before
        .iter()
        .filter(|i| !new.contains(&key(i)))
        .map(|i| Event {
            at,
            bot: i.bot.to_string(),
            what: Happening::Gone(copy(host, i)),
            initial: false,
        })
        .collect();
    events.extend(
        now.iter()
            .filter(|i| !old.contains(&key(i)))
            .map(|i| Event {
                at,
                bot: i.bot.to_string(),
                what: Happening::Appeared(copy(host, i)),
                initial,
            }),
    );
    events
}

fn copy(host: Option<&str>, i: &BotProcess) -> RunningCopy {
    let started_by = match &i.supervisor {
        Some(s) => Some(crate::ui::describe::supervisor(s)),
        None => i.parent_cmd.program().map(|name| match i.ppid {
            Some(pid) => format!("{name} (pid {pid})"),
            None => name.to_string(),
        }),
    };
    RunningCopy {
        host: host.map(str::to_string),
        pid: i.pid,
        cmd: i.cmd.clone(),
        started_by,
        container: i
            .supervisor
            .as_ref()
            .filter(|s| s.kind == SupervisorKind::Docker)
            .and_then(|s| s.name.known().cloned()),
    }
}

/// Machines created, destroyed or in another state, and handoff records written or cleared.
fn machines_changed(
    at: Timestamp,
    bot: &str,
    app: &str,
    before: &[Machine],
    now: &[Machine],
    initial: bool,
) -> Vec<Event> {
    let mut events = Vec::new();
    let event = |what: Happening| Event {
        at,
        bot: bot.to_string(),
        what,
        initial,
    };
    let source = |m: &Machine| m.history.latest().map(|e| e.who());
    for m in now {
        let old = before.iter().find(|o| o.id == m.id);
        let change = match old {
            _ if initial => Some(MachineChange::Found),
            None => Some(MachineChange::Created),
            Some(o) if o.state != m.state => Some(if m.state == MachineState::Destroyed {
                MachineChange::Destroyed
            } else {
                MachineChange::State {
                    from: o.state.clone(),
                }
            }),
            Some(_) => None,
        };
        // A deploy in place keeps the machine's id and may keep its state: its new release
        // tells it (reference/flyctl.md "Machine events").
        let replaced = old.and_then(|o| match (&o.history.release, &m.history.release) {
            (Some(from), Some(to)) if from != to => Some(MachineChange::ReplacedInPlace {
                from: from.clone(),
                to: to.clone(),
            }),
            _ => None,
        });
        for change in change.into_iter().chain(replaced) {
            events.push(event(Happening::Machine {
                app: app.to_string(),
                id: m.id.clone(),
                state: m.state.clone(),
                change,
                source: source(m),
            }));
        }
        let was = old.and_then(crate::team::on_machine);
        let is = crate::team::on_machine(m);
        if was != is && (is.is_some() || !initial) {
            events.push(event(Happening::Handoff {
                app: app.to_string(),
                machine: m.id.clone(),
                by: is.as_ref().map(|r| r.by.clone()),
                since: is.as_ref().map(|r| r.at.clone()).filter(|s| !s.is_empty()),
            }));
        }
    }
    for o in before.iter().filter(|o| !now.iter().any(|m| m.id == o.id)) {
        events.push(event(Happening::Machine {
            app: app.to_string(),
            id: o.id.clone(),
            state: MachineState::Destroyed,
            change: MachineChange::Destroyed,
            source: None,
        }));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entry, Pid, Uid};
    use crate::sources::fly::{BotOnFly, FlyError, MachineState, parse_log_line};

    fn bot() -> Bot {
        Bot {
            name: "partner".into(),
            entry: Entry::Script("bot.py".into()),
            run: crate::config::Run::Shell("python3 bot.py".into()),
            token_env: None,
            username: None,
            platform: Some(crate::model::PlatformConfig::Fly(crate::model::Fly {
                app: "lb".into(),
                token_secret: None,
                ready_log: None,
                toml: None,
                group: None,
            })),
            mode: crate::model::UpdateMode::Polling,
            webhook_url: None,
            webhook_secret_env: None,
        }
    }

    fn ms(n: i64) -> Timestamp {
        Timestamp::from_millisecond(n).unwrap()
    }

    fn copy_of(pid: Pid) -> BotProcess {
        BotProcess {
            bot: "partner".into(),
            pid,
            user: "dev".into(),
            uid: Some(Uid(1000)),
            started: crate::time::from_unix(100),
            cwd: None,
            cmd: vec!["python3".to_string(), "bot.py".into()].into(),
            supervisor: None,
            ppid: Some(Pid(1)),
            parent_cmd: vec!["/usr/sbin/cron".to_string()].into(),
            container: None,
        }
    }

    /// One look at app `lb` for each of its bots, as the seam's Fly look splits it.
    fn round(w: &mut Watcher, at: Timestamp, list: Result<Vec<Machine>, FlyError>) -> Vec<Event> {
        let bots: Vec<BotName> = w.bots.iter().map(|b| b.name.clone()).collect();
        let mut events = Vec::new();
        for (bot, config) in bots.iter().zip(w.bots.clone()) {
            let look = FlyLook::of("lb", BotOnFly::of(config), list.clone());
            events.extend(w.machines(at, bot, look));
        }
        events
    }

    fn machine(state: &str) -> Machine {
        Machine::stub("m1", state)
    }

    #[test]
    fn a_stream_in_trouble_is_named_as_its_platform_names_it() {
        let b = bot();
        let mut w = Watcher::new(&[&b], ms(1_000_000));
        let shown = "the Kubernetes logs of lb".to_string();
        let silent = StreamTrouble::Silent(Duration::from_secs(6));
        let e = w.stream_trouble(
            ms(1_000_100),
            "lb",
            shown.clone(),
            silent,
            Duration::from_secs(2),
        );
        assert_eq!(
            e[0].what.summary(),
            "the Kubernetes logs of lb printed nothing for 6s and was stopped; started again in 2s"
        );
        let e = w.lines_dropped(ms(1_000_200), "lb", shown, 3);
        assert!(
            e[0].what
                .summary()
                .starts_with("the Kubernetes logs of lb: 3 lines dropped")
        );
    }

    #[test]
    fn first_looks_are_initial_then_changes_count() {
        let b = bot();
        let mut w = Watcher::new(&[&b], ms(1_000_000));
        let e = w.local(ms(1_000_100), Ok(vec![copy_of(Pid(7))]));
        assert!(e[0].initial && e[0].what.kind() == "appeared");
        let e = w.local(ms(1_000_200), Ok(vec![copy_of(Pid(7)), copy_of(Pid(8))]));
        assert_eq!(e.len(), 1);
        assert!(!e[0].initial);
        assert_eq!(
            e[0].what.summary(),
            "local pid 8 appeared, started by cron (pid 1)"
        );
        round(&mut w, ms(1_000_300), Ok(vec![machine("started")]));
        // Three places at once: a conflict, whether or not a 409 line comes.
        assert!(w.saw_trouble());
        let e = round(&mut w, ms(1_000_400), Ok(vec![machine("stopped")]));
        assert!(matches!(
            &e[0].what,
            Happening::Machine { change: MachineChange::State { from }, .. } if *from == MachineState::Started
        ));
        assert_eq!(w.tally["partner"].came, ["local pid 8"]);
    }

    #[test]
    fn a_new_release_between_two_looks_is_a_replacement_in_place() {
        let b = bot();
        let mut w = Watcher::new(&[&b], ms(1_000_000));
        let at = |release: &str| {
            let mut m = machine("started");
            m.history.release = Some(release.into());
            m
        };
        round(&mut w, ms(1_000_100), Ok(vec![at("7")]));
        // botctl's own metadata write: an update event, the same release: nothing.
        assert!(round(&mut w, ms(1_000_200), Ok(vec![at("7")])).is_empty());
        let e = round(&mut w, ms(1_000_300), Ok(vec![at("8")]));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e[0].what.summary(),
            "machine m1 of lb replaced in place: release 7 → 8"
        );
    }

    #[test]
    fn only_the_bots_group_is_watched_as_its_places() {
        let b = bot();
        let mut w = Watcher::new(&[&b], ms(1_000_000));
        let mut console = machine("started");
        console.id = "c1".into();
        console.group = "fly_app_console".into();
        round(
            &mut w,
            ms(1_000_100),
            Ok(vec![machine("started"), console.clone()]),
        );
        assert_eq!(w.places("partner"), ["machine m1 (started)"]);
        assert!(!w.saw_trouble());
        // Two groups of its own that nothing tells apart: a source not read, never a guess.
        let mut web = machine("started");
        web.id = "w1".into();
        web.group = "web".into();
        let e = round(
            &mut w,
            ms(1_000_200),
            Ok(vec![machine("started"), web, console]),
        );
        assert!(
            e.iter()
                .any(|e| e.what.summary().contains("fly_process_group")),
            "{:?}",
            e.iter().map(|e| e.what.summary()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_webhook_bots_webhook_and_machines_are_one_place() {
        let mut b = bot();
        b.mode = crate::model::UpdateMode::Webhook;
        let mut w = Watcher::new(&[&b], ms(1_000_000));
        round(&mut w, ms(1_000_100), Ok(vec![machine("started")]));
        w.webhook(
            ms(1_000_200),
            "partner",
            Ok("https://lb.fly.dev/hook".into()),
        );
        assert_eq!(w.places("partner").len(), 1, "{:?}", w.places("partner"));
        assert!(!w.saw_trouble());
        // A polling copy beside them is a conflict.
        w.local(ms(1_000_300), Ok(vec![copy_of(Pid(7))]));
        assert!(w.saw_trouble());
        // For a polling bot the webhook is a place of its own.
        let p = bot();
        let mut w = Watcher::new(&[&p], ms(1_000_000));
        round(&mut w, ms(1_000_100), Ok(vec![machine("started")]));
        w.webhook(
            ms(1_000_200),
            "partner",
            Ok("https://lb.fly.dev/hook".into()),
        );
        assert_eq!(w.places("partner").len(), 2);
    }

    #[test]
    fn a_409_is_counted_once_and_old_lines_are_history() {
        let b = bot();
        let started = ms(1_795_600_800_000);
        let mut w = Watcher::new(&[&b], started);
        let old = parse_log_line(
            "2026-11-25T09:00:00Z app[m1] ams [info]Conflict: terminated by other getUpdates request",
        )
        .unwrap();
        assert!(
            w.log_line(started + SignedDuration::from_millis(10), "lb", old)
                .is_empty()
        );
        let line = parse_log_line(
            "2026-11-25T10:00:01Z app[m1] ams [info]Conflict: terminated by other getUpdates request",
        )
        .unwrap();
        let e = w.log_line(
            started + SignedDuration::from_millis(1000),
            "lb",
            line.clone(),
        );
        assert_eq!(e.len(), 1);
        // The same line again (a restarted stream replays its buffer): not a second 409.
        assert!(
            w.log_line(started + SignedDuration::from_millis(5000), "lb", line)
                .is_empty()
        );
        assert_eq!(w.conflicts(), 1);
        // An unreadable source is said once, and once more when it can be read again.
        let no_proc = || TableError::ProcDir(std::io::Error::other("no /proc").into());
        assert_eq!(w.local(started, Err(no_proc())).len(), 1);
        assert!(w.local(started, Err(no_proc())).is_empty());
        let back = w.local(started, Ok(Vec::new()));
        assert!(matches!(
            &back[0].what,
            Happening::Source { error: None, .. }
        ));
    }
}
