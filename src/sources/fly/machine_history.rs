//! What a machine's entry in `machine list --json` says about its past: when it was created,
//! its recent events (who started or stopped it: reference/flyctl.md "Machine events") and its
//! release. Read from the same call as the machine itself: no extra cost. (The handoff record
//! in its metadata is `crate::team`'s.)

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::outside::Outside;

/// A machine's past, as far as Fly keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// `created_at`, seconds since the epoch.
    pub created_at: Option<u64>,
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
    /// Milliseconds since the epoch.
    pub at_ms: u64,
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

    /// Brings the machine up: a start, or a launch or update (a deploy) that starts it.
    pub fn starts(&self) -> bool {
        matches!(
            self,
            EventKind::Start | EventKind::Launch | EventKind::Update | EventKind::Restart
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

    pub fn at(&self) -> u64 {
        self.at_ms / 1000
    }
}

impl History {
    /// The newest event that brought the machine up.
    pub fn last_start(&self) -> Option<&MachineEvent> {
        self.events.iter().find(|e| e.kind.starts())
    }

    /// The newest event, whatever it was.
    pub fn latest(&self) -> Option<&MachineEvent> {
        self.events.first()
    }

    /// When it was created or replaced, as far as Fly says: its creation, and each launch or
    /// update event (a deploy makes one).
    pub fn created_or_replaced(&self) -> Vec<u64> {
        let mut times: Vec<u64> = self.created_at.into_iter().collect();
        times.extend(
            self.events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Launch | EventKind::Update))
                .map(MachineEvent::at),
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
                at_ms: e.timestamp.as_ref().and_then(timestamp_ms).unwrap_or(0),
            })
            .collect();
        // Newest first whatever order the answer had.
        events.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
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
fn timestamp_ms(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => crate::time::parse_rfc3339(s).map(|t| t * 1000),
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
        assert_eq!(a.last_start().unwrap().at(), 1764068500);
        assert!(a.last_start().unwrap().who().contains("Fly Proxy"));
        assert_eq!(a.release, Some(Outside::from("7")));
        assert_eq!(a.created_or_replaced(), vec![1795600800]);
        assert_eq!(h[1], History::default());
        assert!(parse_all("not json").is_empty());
    }
}
