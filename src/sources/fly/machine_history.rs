//! What a machine's entry in `machine list --json` says about its past: when it was created,
//! its recent events (who started or stopped it: reference/flyctl.md "Machine events") and its
//! release. Read from the same call as the machine itself: no extra cost. (The handoff record
//! in its metadata is `crate::team`'s.)

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::ProxyAutostart;
use crate::outside::Outside;

/// A machine's past, as far as Fly keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// `created_at`, to the second.
    pub created_at: Option<Timestamp>,
    /// Newest first, as flyctl lists them.
    pub events: Vec<MachineEvent>,
    /// `fly_release_version` of its metadata: a deploy changes it.
    pub release: Option<Outside>,
    /// A replacement in place that botctl told from an earlier sighting of its release
    /// ([`History::replaced_since`]): no look at Fly alone can see one.
    pub replaced_in_place: Option<InPlace>,
}

/// botctl's latest sighting of a machine's release (kept in `.botctl` between runs).
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    pub release: Outside,
    pub at: Timestamp,
}

/// When something happened, as closely as Fly's records tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At(Timestamp),
    /// Some time in this span (a replacement whose event Fly no longer lists).
    Between {
        after: Timestamp,
        before: Timestamp,
    },
}

impl When {
    /// The latest moment it may have been.
    pub fn latest(&self) -> Timestamp {
        match *self {
            When::At(t) | When::Between { before: t, .. } => t,
        }
    }

    /// Whether something at `at` came within `window` after it (or during its span).
    pub fn followed_by(&self, at: Timestamp, window: SignedDuration) -> bool {
        match *self {
            When::At(t) => t <= at && at.duration_since(t) <= window,
            When::Between { after, before } => after <= at && at.duration_since(before) <= window,
        }
    }
}

/// A machine a deploy replaced in place: its `fly_release_version` is not the one botctl saw
/// earlier (reference/flyctl.md "Machine events": its only trace besides an `update` event,
/// which botctl's own metadata writes make too).
#[derive(Debug, Clone, PartialEq)]
pub struct InPlace {
    pub from: Outside,
    pub to: Outside,
    pub when: When,
}

/// How a machine came to be what it is now.
#[derive(Debug, Clone, PartialEq)]
pub enum Made {
    /// Its creation, or a `launch` event.
    Created(Timestamp),
    ReplacedInPlace(InPlace),
}

impl Made {
    pub fn when(&self) -> When {
        match self {
            Made::Created(t) => When::At(*t),
            Made::ReplacedInPlace(r) => r.when,
        }
    }
}

/// One entry of a machine's `events`.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineEvent {
    pub kind: EventKind,
    /// The state it led to (`started`, `stopped`, …), as Fly names it.
    pub status: Outside,
    pub source: EventSource,
    /// To the millisecond, as Fly records it (the epoch when Fly did not say).
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Launch,
    Start,
    Stop,
    Exit,
    Update,
    Restart,
    Other(Outside),
}

impl EventKind {
    fn parse(s: &str) -> EventKind {
        match s {
            "launch" => EventKind::Launch,
            "start" => EventKind::Start,
            "stop" => EventKind::Stop,
            "exit" => EventKind::Exit,
            "update" => EventKind::Update,
            "restart" => EventKind::Restart,
            other => EventKind::Other(other.into()),
        }
    }

    /// Brings the machine up: a start, a launch, a restart. An update does only when it left
    /// the machine started ([`MachineEvent::brought_up`]): botctl's own metadata writes are
    /// updates of stopped machines.
    fn starts(&self) -> bool {
        matches!(
            self,
            EventKind::Start | EventKind::Launch | EventKind::Restart
        )
    }
}

/// Who caused an event: `source` of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSource {
    /// flyctl or the Machines API, on someone's behalf.
    User,
    /// Fly Proxy, for a request to a service with autostart.
    Proxy,
    /// Fly's machine daemon itself (restarts, host events).
    Flyd,
    Other(Outside),
}

impl EventSource {
    /// As Fly writes it.
    fn name(&self) -> &str {
        match self {
            EventSource::User => "user",
            EventSource::Proxy => "proxy",
            EventSource::Flyd => "flyd",
            EventSource::Other(s) => s.raw(),
        }
    }

    fn parse(s: &str) -> EventSource {
        match s {
            "user" => EventSource::User,
            "proxy" => EventSource::Proxy,
            "flyd" => EventSource::Flyd,
            other => EventSource::Other(other.into()),
        }
    }
}

impl MachineEvent {
    /// Whether it brought the machine up: a start, launch or restart, or an update (a deploy
    /// in place, a reboot) that left it started.
    pub fn brought_up(&self) -> bool {
        self.kind.starts() || (self.kind == EventKind::Update && self.status == "started")
    }

    /// Who did it, in words: "Fly Proxy (a request came in and its service has autostart)".
    pub fn who(&self) -> String {
        match (&self.source, &self.kind) {
            (EventSource::Proxy, _) => {
                "Fly Proxy (a request came in and its service has autostart)".into()
            }
            (EventSource::User, EventKind::Launch | EventKind::Update) => {
                "a deploy or machine update (fly deploy, fly secrets set, fly machine update)"
                    .into()
            }
            (EventSource::User, EventKind::Start) => {
                "a user (flyctl machine start, or a flyctl older than v0.4.20 deploying)".into()
            }
            (EventSource::User, EventKind::Stop) => "a user (flyctl machine stop)".into(),
            (EventSource::User, _) => "a user (flyctl or the Machines API)".into(),
            (EventSource::Flyd, _) => "Fly itself (flyd: a restart policy or a host event)".into(),
            (EventSource::Other(s), _) => format!("source \"{s}\""),
        }
    }

    /// When, to the second (as botctl shows times).
    pub fn at_second(&self) -> Timestamp {
        crate::time::to_the_second(self.at)
    }
}

impl History {
    /// Its last start is most likely Fly Proxy's though Fly did not say `proxy`: a start by
    /// flyd (or a source botctl does not know) after a stop by a user, with autostart on.
    pub fn likely_proxy(&self, autostart: ProxyAutostart) -> bool {
        let Some(at) = self.events.iter().position(MachineEvent::brought_up) else {
            return false;
        };
        let start = &self.events[at];
        let after_user_stop = self.events[at + 1..]
            .iter()
            .find(|e| e.kind == EventKind::Stop)
            .is_some_and(|e| e.source == EventSource::User);
        autostart.is_on()
            && after_user_stop
            && start.kind == EventKind::Start
            && matches!(start.source, EventSource::Flyd | EventSource::Other(_))
    }

    /// The newest event that brought the machine up.
    pub fn last_start(&self) -> Option<&MachineEvent> {
        self.events.iter().find(|e| e.brought_up())
    }

    /// Who started the machine last, as Fly recorded it: Fly Proxy when the source says so;
    /// "likely Fly Proxy" for a start by flyd (or a source botctl does not know) after a stop
    /// by a user, on a machine with autostart (reference/flyctl.md: not confirmed from source
    /// that Fly Proxy's starts say `proxy`).
    pub fn who_started(&self, autostart: ProxyAutostart) -> Option<String> {
        let start = self.last_start()?;
        Some(if self.likely_proxy(autostart) {
            format!(
                "likely Fly Proxy (a start by {} after a user's stop, on a machine whose \
service has autostart)",
                start.source.name()
            )
        } else {
            start.who()
        })
    }

    /// The newest event, whatever it was.
    pub fn latest(&self) -> Option<&MachineEvent> {
        self.events.first()
    }

    /// When it was created or replaced: its creation, each `launch` event, and a replacement
    /// in place told from an earlier sighting. An `update` alone is never one: botctl's own
    /// metadata writes, `fly secrets set` and rolling deploys all record it.
    pub fn created_or_replaced(&self) -> Vec<Made> {
        let mut made: Vec<Made> = self.created_at.into_iter().map(Made::Created).collect();
        made.extend(
            self.events
                .iter()
                .filter(|e| e.kind == EventKind::Launch)
                .map(|e| Made::Created(e.at_second())),
        );
        made.extend(self.replaced_in_place.clone().map(Made::ReplacedInPlace));
        made
    }

    /// Its replacement in place since `seen` (its release then), or `None` when the release is
    /// the same or unknown. Dated by the newest `update` event after the sighting (the
    /// deploy's own), else "between the sighting and `now`".
    pub fn replaced_since(&self, seen: &Sighting, now: Timestamp) -> Option<InPlace> {
        let to = self.release.as_ref().filter(|r| **r != seen.release)?;
        let when = self
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Update && e.at_second() >= seen.at)
            .map(MachineEvent::at_second)
            .max()
            .map_or(
                When::Between {
                    after: seen.at,
                    before: now.max(seen.at),
                },
                When::At,
            );
        Some(InPlace {
            from: seen.release.clone(),
            to: to.clone(),
            when,
        })
    }
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(default)]
    created_at: Option<Outside>,
    #[serde(default)]
    events: Option<Vec<RawEvent>>,
    #[serde(default)]
    config: Option<RawConfig>,
    /// Instead of `config` when the machine's host cannot be reached (machines.rs).
    #[serde(default)]
    incomplete_config: Option<RawConfig>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    metadata: Option<BTreeMap<String, serde_json::Value>>, // raw: only fly_release_version, as Outside
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default, rename = "type")]
    kind: Outside,
    #[serde(default)]
    status: Outside,
    #[serde(default)]
    source: Outside,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
}

/// The histories of the machines of a `machine list --json` answer, in its order; an answer
/// botctl cannot read gives none (the machines themselves report the error).
pub fn parse_all(json: &str) -> Vec<History> {
    let Ok(raw) = serde_json::from_str::<Vec<RawEntry>>(json.trim()) else {
        return Vec::new();
    };
    raw.into_iter().map(History::from_raw).collect()
}

impl History {
    fn from_raw(raw: RawEntry) -> History {
        let metadata = raw
            .config
            .or(raw.incomplete_config)
            .and_then(|c| c.metadata)
            .unwrap_or_default();
        let text = |key: &str| {
            metadata
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Outside::from)
        };
        let mut events: Vec<MachineEvent> = raw
            .events
            .unwrap_or_default()
            .into_iter()
            .map(|e| MachineEvent {
                kind: EventKind::parse(e.kind.raw()),
                status: e.status,
                source: EventSource::parse(e.source.raw()),
                at: e
                    .timestamp
                    .as_ref()
                    .and_then(timestamp)
                    .unwrap_or(Timestamp::UNIX_EPOCH),
            })
            .collect();
        // Newest first whatever order the answer had.
        events.sort_by_key(|e| std::cmp::Reverse(e.at));
        History {
            created_at: raw
                .created_at
                .as_ref()
                .and_then(|t| crate::time::parse_rfc3339(t.raw())),
            events,
            release: text("fly_release_version"),
            replaced_in_place: None,
        }
    }
}

/// Milliseconds since the epoch, or an RFC 3339 stamp (as some API clients print it).
fn timestamp(v: &serde_json::Value) -> Option<Timestamp> {
    match v {
        serde_json::Value::Number(n) => {
            Timestamp::from_millisecond(i64::try_from(n.as_u64()?).ok()?).ok()
        }
        serde_json::Value::String(s) => crate::time::parse_rfc3339(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_metadata_and_creation() {
        let h = parse_all(
            r#"[{"id":"a","created_at":"2026-11-25T10:00:00Z",
                 "config":{"metadata":{"botctl_by":"alice@mbp","botctl_at":"2026-11-25T11:00:00Z",
                                       "botctl_bot":"partner","fly_release_version":"7"}},
                 "events":[{"type":"stop","status":"stopped","source":"user","timestamp":1764068400000},
                           {"type":"start","status":"started","source":"proxy","timestamp":1764068500000,
                            "request":{}}]},
                {"id":"b","config":{"metadata":{"botctl_by":""}},"events":null}]"#,
        );
        assert_eq!(h.len(), 2);
        let a = &h[0];
        assert_eq!(a.events[0].source, EventSource::Proxy);
        assert_eq!(a.last_start().unwrap().at_second().as_second(), 1764068500);
        assert!(a.last_start().unwrap().who().contains("Fly Proxy"));
        assert_eq!(a.release, Some(Outside::from("7")));
        assert_eq!(
            a.created_or_replaced(),
            vec![Made::Created(secs(1795600800))]
        );
        assert_eq!(h[1], History::default());
        assert!(parse_all("not json").is_empty());
    }

    #[test]
    fn an_update_is_no_creation_and_starts_nothing_it_left_stopped() {
        // botctl's own handoff record: an update of a stopped machine, newest first.
        let h = &parse_all(
            r#"[{"id":"a","created_at":"2026-11-25T10:00:00Z",
                 "events":[{"type":"update","status":"stopped","source":"user","timestamp":1764068600000},
                           {"type":"stop","status":"stopped","source":"user","timestamp":1764068500000},
                           {"type":"start","status":"started","source":"user","timestamp":1764068400000}]}]"#,
        )[0];
        assert_eq!(
            h.created_or_replaced(),
            vec![Made::Created(secs(1795600800))]
        );
        assert_eq!(h.last_start().unwrap().kind, EventKind::Start);
        let launched = &parse_all(
            r#"[{"id":"b","events":[{"type":"launch","status":"created","source":"user","timestamp":1764068700000}],
                 "config":{"metadata":{"fly_release_version":"8"}}}]"#,
        )[0];
        assert_eq!(
            launched.created_or_replaced(),
            vec![Made::Created(secs(1764068700))]
        );
    }

    fn secs(n: i64) -> Timestamp {
        Timestamp::from_second(n).unwrap()
    }

    /// A machine at release `release` whose newest events are `updates` (seconds).
    fn at_release(release: &str, updates: &[i64]) -> History {
        History {
            release: Some(release.into()),
            events: updates
                .iter()
                .map(|t| MachineEvent {
                    kind: EventKind::Update,
                    status: "started".into(),
                    source: EventSource::User,
                    at: secs(*t),
                })
                .collect(),
            ..History::default()
        }
    }

    #[test]
    fn a_new_release_since_the_sighting_is_a_replacement_in_place_dated_by_its_update() {
        let seen = Sighting {
            release: "7".into(),
            at: secs(1000),
        };
        let minute = SignedDuration::from_secs(60);
        // The deploy's update at 1040 (newest after the sighting); one before it says nothing.
        let replaced = at_release("8", &[1040, 1010, 900])
            .replaced_since(&seen, secs(2000))
            .unwrap();
        assert_eq!(replaced.from, "7");
        assert_eq!(replaced.to, "8");
        assert_eq!(replaced.when, When::At(secs(1040)));
        assert!(replaced.when.followed_by(secs(1100), minute));
        assert!(!replaced.when.followed_by(secs(1101), minute));
        // No update after the sighting (Fly keeps a handful of events): only a span.
        let undated = at_release("8", &[900])
            .replaced_since(&seen, secs(2000))
            .unwrap();
        assert_eq!(
            undated.when,
            When::Between {
                after: secs(1000),
                before: secs(2000)
            }
        );
        assert!(undated.when.followed_by(secs(1500), minute));
        assert!(undated.when.followed_by(secs(2050), minute));
        assert!(!undated.when.followed_by(secs(999), minute));
    }

    #[test]
    fn an_update_without_a_new_release_replaced_nothing() {
        let seen = Sighting {
            release: "7".into(),
            at: secs(1000),
        };
        // botctl's own metadata write: an update, the same release.
        assert_eq!(
            at_release("7", &[1040]).replaced_since(&seen, secs(2000)),
            None
        );
        // No release in the metadata: nothing to compare.
        let unknown = History {
            release: None,
            ..at_release("7", &[1040])
        };
        assert_eq!(unknown.replaced_since(&seen, secs(2000)), None);
        assert!(unknown.created_or_replaced().is_empty());
    }

    #[test]
    fn who_started_a_stopped_machine_is_told_as_fly_recorded_it() {
        let events = |source: &str| {
            parse_all(&format!(
                r#"[{{"id":"a","events":[
                    {{"type":"start","status":"started","source":"{source}","timestamp":1764068600000}},
                    {{"type":"stop","status":"stopped","source":"user","timestamp":1764068500000}}]}}]"#
            ))
            .remove(0)
        };
        let proxy = events("proxy").who_started(ProxyAutostart::On).unwrap();
        assert!(proxy.starts_with("Fly Proxy"), "{proxy}");
        let flyd = events("flyd").who_started(ProxyAutostart::On).unwrap();
        assert!(flyd.starts_with("likely Fly Proxy"), "{flyd}");
        // Without autostart Fly Proxy starts nothing: flyd is Fly itself.
        let flyd = events("flyd").who_started(ProxyAutostart::Off).unwrap();
        assert!(flyd.starts_with("Fly itself"), "{flyd}");
        let user = events("user").who_started(ProxyAutostart::On).unwrap();
        assert!(user.starts_with("a user"), "{user}");
    }
}
