//! What a machine's entry in `machine list --json` says about its past: when it was created,
//! its recent events (who started or stopped it: reference/flyctl.md "Machine events") and its
//! release. Read from the same call as the machine itself: no extra cost. (The handoff record
//! in its metadata is `crate::team`'s.)

use std::collections::BTreeMap;

use jiff::Timestamp;
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

    /// When it was created, as far as Fly says: its creation and each `launch` event. An
    /// `update` is never one: botctl's own metadata writes, `fly secrets set` and rolling
    /// deploys in place record it (a machine replaced in place shows only as a new
    /// `fly_release_version`, which one look cannot date).
    pub fn created_or_replaced(&self) -> Vec<Timestamp> {
        let mut times: Vec<Timestamp> = self.created_at.into_iter().collect();
        times.extend(
            self.events
                .iter()
                .filter(|e| e.kind == EventKind::Launch)
                .map(MachineEvent::at_second),
        );
        times
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
            vec![Timestamp::from_second(1795600800).unwrap()]
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
            vec![Timestamp::from_second(1795600800).unwrap()]
        );
        assert_eq!(h.last_start().unwrap().kind, EventKind::Start);
        let launched = &parse_all(
            r#"[{"id":"b","events":[{"type":"launch","status":"created","source":"user","timestamp":1764068700000}],
                 "config":{"metadata":{"fly_release_version":"8"}}}]"#,
        )[0];
        assert_eq!(
            launched.created_or_replaced(),
            vec![Timestamp::from_second(1764068700).unwrap()]
        );
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
