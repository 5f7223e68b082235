//! What `botctl watch` reports: one event per change, as a line a person reads or as one JSON
//! object (`{"at", "bot", "event", …}`).

use crate::model::Pid;

use crate::model::MachineId;
use crate::outside::Outside;
use crate::sources::fly::MachineState;
use std::time::Duration;

use jiff::Timestamp;

use crate::time;
use crate::ui::shown;

/// Now, to the millisecond: the order of two events a few ms apart stays visible.
pub fn now_ms() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}

/// One change, of one bot.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: Timestamp,
    pub bot: String,
    pub what: Happening,
    /// Found by the first look at a source: how things stood when watching began, not a
    /// change.
    pub initial: bool,
}

/// A place where a copy of the bot runs as a process: here or on a `[[host]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningCopy {
    /// `None`: this machine.
    pub host: Option<String>,
    pub pid: Pid,
    pub cmd: crate::outside::Argv,
    /// What keeps it alive or started it: "cron (pid 77)", "a shell loop (pid 900)",
    /// "bash (pid 812)".
    pub started_by: Option<String>,
    pub container: Option<crate::outside::Outside>,
}

impl RunningCopy {
    /// "local pid 4242", "host vps pid 77".
    pub fn place(&self) -> String {
        match &self.host {
            None => format!("local pid {}", self.pid),
            Some(h) => format!("host {h} pid {}", self.pid),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MachineChange {
    /// A machine that was not in the list before.
    Created,
    /// Gone from the list, or destroyed.
    Destroyed,
    /// As the first look found it.
    Found,
    State {
        from: MachineState,
    },
    /// The same machine at a new `fly_release_version`: a deploy replaced it in place.
    ReplacedInPlace {
        from: Outside,
        to: Outside,
    },
}

/// How a platform's instance (a pod) changed between two looks.
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceChange {
    Appeared,
    Gone,
    /// As the first look found it.
    Found,
    State {
        from: Outside,
    },
}

/// Why a log stream needs a new start.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamTrouble {
    /// flyctl exited (a network error ends it with `Error: …`).
    Ended(String),
    /// No line for this long (whole seconds): it may hang; stopped.
    Silent(Duration),
    /// flyctl could not be started.
    NotStarted(String),
}

/// What an event tells: a copy came or went, a machine changed, a 409, a handoff…
#[derive(Debug, Clone)]
pub enum Happening {
    Appeared(RunningCopy),
    Gone(RunningCopy),
    Machine {
        app: String,
        id: MachineId,
        state: MachineState,
        change: MachineChange,
        /// Who, from its newest event: "Fly Proxy (…)".
        source: Option<String>,
    },
    /// An instance on a platform other than Fly (a pod), through the seam.
    Instance {
        /// The workload, as the platform names it: `deployment/lb-partner`.
        platform: String,
        id: Outside,
        state: Outside,
        change: InstanceChange,
    },
    Conflict {
        app: String,
        /// As the log line names it.
        machine: Option<Outside>,
        line: Outside,
        /// Every place the bot ran at that moment.
        places: Vec<String>,
        /// The changes of the minute before: (how long before, in whole seconds up; what).
        before: Vec<(Duration, String)>,
    },
    Webhook {
        /// The URL now; empty: deleted.
        url: crate::outside::Outside,
        was: crate::outside::Outside,
    },
    Handoff {
        app: String,
        machine: MachineId,
        /// `None`: the record was cleared.
        by: Option<crate::model::Person>,
        since: Option<String>,
    },
    /// A log stream that ended or went silent, and when it is tried again.
    Logs {
        app: String,
        /// How the stream is named (`flyctl logs --app lb`, the Kubernetes logs of lb).
        stream: String,
        trouble: StreamTrouble,
        retry_in: Duration,
    },
    /// Log lines dropped unread: the stream came faster than botctl could read it.
    Dropped {
        app: String,
        stream: String,
        lines: u64,
    },
    /// A source that could not be read (or can be again: `error` None).
    Source {
        source: String,
        error: Option<String>,
    },
}

impl Happening {
    /// The JSON `event`.
    pub fn kind(&self) -> &'static str {
        match self {
            Happening::Appeared(_) => "appeared",
            Happening::Gone(_) => "gone",
            Happening::Machine { .. } => "machine",
            Happening::Instance { .. } => "instance",
            Happening::Conflict { .. } => "409",
            Happening::Webhook { .. } => "webhook",
            Happening::Handoff { .. } => "handoff",
            Happening::Logs { .. } | Happening::Dropped { .. } => "logs",
            Happening::Source { .. } => "source",
        }
    }

    /// What changed, in a few words (also how a 409 event quotes the changes before it).
    pub fn summary(&self) -> String {
        match self {
            Happening::Appeared(c) => {
                let mut s = format!("{} appeared", c.place());
                if let Some(by) = &c.started_by {
                    s.push_str(&format!(", started by {}", shown(by)));
                }
                if let Some(name) = &c.container {
                    s.push_str(&format!(", in container {name}"));
                }
                s
            }
            Happening::Gone(c) => format!("{} went", c.place()),
            Happening::Machine {
                app,
                id,
                state,
                change,
                source,
            } => {
                let by = source
                    .as_ref()
                    .map(|s| format!(" (by {s})"))
                    .unwrap_or_default();
                match change {
                    MachineChange::Created => {
                        format!("machine {id} of {app} was created, {state}{by}")
                    }
                    MachineChange::Destroyed => format!("machine {id} of {app} was destroyed"),
                    MachineChange::Found => format!("machine {id} of {app} is {state}"),
                    MachineChange::State { from } => {
                        format!("machine {id} of {app} went {from} → {state}{by}")
                    }
                    MachineChange::ReplacedInPlace { from, to } => {
                        format!(
                            "machine {id} of {app} replaced in place: release {from} → {to}{by}"
                        )
                    }
                }
            }
            Happening::Instance {
                platform,
                id,
                state,
                change,
            } => match change {
                InstanceChange::Appeared => format!("{id} of {platform} appeared, {state}"),
                InstanceChange::Gone => format!("{id} of {platform} is gone"),
                InstanceChange::Found => format!("{id} of {platform} is {state}"),
                InstanceChange::State { from } => {
                    format!("{id} of {platform} went {from} → {state}")
                }
            },
            Happening::Conflict { machine, .. } => format!(
                "409 in {}'s log",
                machine
                    .as_ref()
                    .map_or_else(|| "an unnamed machine".into(), ToString::to_string)
            ),
            Happening::Webhook { url, was } if url.is_empty() => {
                format!("the webhook was deleted (was {was})")
            }
            Happening::Webhook { url, .. } => format!("a webhook is set: {url}"),
            Happening::Handoff {
                machine,
                by: Some(by),
                since,
                ..
            } => format!(
                "handoff record on machine {machine}: held by {}{}",
                shown(by),
                since
                    .as_ref()
                    .map(|s| format!(" since {}", shown(s)))
                    .unwrap_or_default()
            ),
            Happening::Handoff { machine, .. } => {
                format!("handoff record cleared on machine {machine}")
            }
            Happening::Logs {
                stream,
                trouble,
                retry_in,
                ..
            } => {
                let why = match trouble {
                    StreamTrouble::Ended(e) => {
                        format!("{stream} ended: {}", shown(e))
                    }
                    StreamTrouble::Silent(s) => format!(
                        "{stream} printed nothing for {}s and was stopped",
                        s.as_secs()
                    ),
                    StreamTrouble::NotStarted(e) => {
                        format!("{stream} could not start: {}", shown(e))
                    }
                };
                format!("{why}; started again in {}s", retry_in.as_secs())
            }
            Happening::Dropped { stream, lines, .. } => format!(
                "{stream}: {lines} line{} dropped unread, coming faster than \
botctl reads them (a 409 among them is not reported)",
                if *lines == 1 { "" } else { "s" }
            ),
            Happening::Source {
                source,
                error: Some(e),
            } => format!("{source} could not be read: {}", shown(e)),
            Happening::Source { source, .. } => format!("{source} can be read again"),
        }
    }
}

impl Event {
    /// "10:02:11Z partner  local pid 4242 appeared, started by cron"; a 409 adds the places
    /// and the minute before it.
    pub fn line(&self) -> String {
        let head = format!(
            "{} {}",
            clock(self.at),
            if self.bot.is_empty() { "-" } else { &self.bot }
        );
        match &self.what {
            Happening::Conflict {
                line,
                places,
                before,
                ..
            } => {
                let mut s = format!("{head}  {}", self.what.summary());
                if before.is_empty() {
                    s.push_str("; no change in the minute before");
                } else {
                    let changes: Vec<String> = before
                        .iter()
                        .map(|(ago, what)| format!("{} s before, {what}", ago.as_secs()))
                        .collect();
                    s.push_str(&format!("; {}", changes.join("; ")));
                }
                s.push_str(&format!(
                    "; running at that moment: {}",
                    if places.is_empty() {
                        "nowhere botctl sees".to_string()
                    } else {
                        places.join(", ")
                    }
                ));
                s.push_str(&format!(" — {line}"));
                s
            }
            _ => format!("{head}  {}", self.what.summary()),
        }
    }
}

/// "10:02:11Z": the time of day, UTC.
pub fn clock(at: Timestamp) -> String {
    let full = time::to_the_second(at).to_string();
    full.split_once('T')
        .map(|(_, t)| t.to_string())
        .unwrap_or(full)
}

/// RFC 3339 with milliseconds: the order of two events a few ms apart stays visible.
pub fn time_ms(at: Timestamp) -> String {
    format!("{at:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_409_line_names_the_machine_and_the_minute_before() {
        let e = Event {
            at: Timestamp::from_millisecond(1_795_600_800_250).unwrap(),
            bot: "partner".into(),
            initial: false,
            what: Happening::Conflict {
                app: "lb".into(),
                machine: Some("148ed193b95089".into()),
                line: "Conflict: terminated by other getUpdates request".into(),
                places: vec!["local pid 4242".into(), "machine 148ed193b95089".into()],
                before: vec![(
                    Duration::from_secs(4),
                    "local pid 4242 appeared, started by cron".into(),
                )],
            },
        };
        let line = e.line();
        assert!(
            line.contains(
                "409 in 148ed193b95089's log; 4 s before, local pid 4242 appeared, started by cron"
            ),
            "{line}"
        );
        let j = serde_json::to_value(super::super::json::EventJson::new(&e)).unwrap();
        assert_eq!(j["event"], "409");
        assert_eq!(j["machine"], "148ed193b95089");
        assert_eq!(j["at"], "2026-11-25T10:00:00.250Z");
        assert_eq!(j["before"][0]["secs"], 4);
        let whole = Timestamp::from_second(1_795_600_800).unwrap();
        assert_eq!(time_ms(whole), "2026-11-25T10:00:00.000Z");
        assert_eq!(clock(e.at), "10:00:00Z");
    }
}
