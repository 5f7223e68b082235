//! `watch --json`: one object per event, `{"at", "bot", "event", …}`, as its own types built
//! from the events. A kind's field is added to its variant of [`Fields`], in order.

use std::time::Duration;

use serde::Serialize;

use super::event::{Event, Happening, InstanceChange, MachineChange, StreamTrouble, time_ms};
use super::watcher::Tally;
use crate::model::{MachineId, Pid};
use crate::outside::{Argv, Outside};

#[derive(Serialize)]
pub struct EventJson<'a> {
    at: String,
    /// `null` for what is about no one bot.
    bot: Option<&'a str>,
    event: &'static str,
    #[serde(flatten)]
    fields: Fields<'a>,
    /// Only on what the first look found (`true`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    initial: bool,
}

/// The fields of each kind of event, after `event`.
#[derive(Serialize)]
#[serde(untagged)]
enum Fields<'a> {
    Copy {
        host: Option<&'a str>,
        pid: Pid,
        cmd: &'a Argv,
        started_by: Option<&'a str>,
        container: Option<&'a Outside>,
    },
    Machine {
        app: &'a str,
        machine: &'a MachineId,
        state: &'a str,
        change: &'static str,
        /// The state before, or the release before a replacement in place.
        from: Option<&'a str>,
        /// A replacement in place's new release.
        #[serde(skip_serializing_if = "Option::is_none")]
        release: Option<&'a str>,
        source: Option<&'a str>,
    },
    Instance {
        platform: &'a str,
        instance: &'a str,
        state: &'a str,
        change: &'static str,
        from: Option<&'a str>,
    },
    Conflict {
        app: &'a str,
        machine: Option<&'a Outside>,
        line: &'a Outside,
        places: &'a [String],
        before: Vec<Before<'a>>,
    },
    Webhook {
        change: &'static str,
        url: &'a Outside,
        was: &'a Outside,
    },
    Handoff {
        app: &'a str,
        machine: &'a MachineId,
        change: &'static str,
        by: Option<&'a str>,
        since: Option<&'a str>,
    },
    Logs {
        app: &'a str,
        trouble: &'static str,
        message: String,
        retry_in: u64,
    },
    Dropped {
        app: &'a str,
        trouble: &'static str,
        lines: u64,
        message: String,
    },
    Source {
        source: &'a str,
        error: Option<&'a str>,
    },
}

/// One change of the minute before a 409.
#[derive(Serialize)]
struct Before<'a> {
    secs: u64,
    change: &'a str,
}

impl<'a> EventJson<'a> {
    pub fn new(e: &'a Event) -> Self {
        EventJson {
            at: time_ms(e.at),
            bot: Some(e.bot.as_str()).filter(|b| !b.is_empty()),
            event: e.what.kind(),
            fields: Fields::new(&e.what),
            initial: e.initial,
        }
    }
}

impl<'a> Fields<'a> {
    fn new(what: &'a Happening) -> Self {
        match what {
            Happening::Appeared(c) | Happening::Gone(c) => Fields::Copy {
                host: c.host.as_deref(),
                pid: c.pid,
                cmd: &c.cmd,
                started_by: c.started_by.as_deref(),
                container: c.container.as_ref(),
            },
            Happening::Machine {
                app,
                id,
                state,
                change,
                source,
            } => Fields::Machine {
                app,
                machine: id,
                state: state.raw(),
                change: match change {
                    MachineChange::Created => "created",
                    MachineChange::Destroyed => "destroyed",
                    MachineChange::Found => "found",
                    MachineChange::State { .. } => "state",
                    MachineChange::ReplacedInPlace { .. } => "replaced_in_place",
                },
                from: match change {
                    MachineChange::State { from } => Some(from.raw()),
                    MachineChange::ReplacedInPlace { from, .. } => Some(from.raw()),
                    _ => None,
                },
                release: match change {
                    MachineChange::ReplacedInPlace { to, .. } => Some(to.raw()),
                    _ => None,
                },
                source: source.as_deref(),
            },
            Happening::Instance {
                platform,
                id,
                state,
                change,
            } => Fields::Instance {
                platform,
                instance: id.raw(),
                state: state.raw(),
                change: match change {
                    InstanceChange::Appeared => "appeared",
                    InstanceChange::Gone => "gone",
                    InstanceChange::Found => "found",
                    InstanceChange::State { .. } => "state",
                },
                from: match change {
                    InstanceChange::State { from } => Some(from.raw()),
                    _ => None,
                },
            },
            Happening::Conflict {
                app,
                machine,
                line,
                places,
                before,
            } => Fields::Conflict {
                app,
                machine: machine.as_ref(),
                line,
                places,
                before: before
                    .iter()
                    .map(|(ago, change)| Before {
                        secs: ago.as_secs(),
                        change,
                    })
                    .collect(),
            },
            Happening::Webhook { url, was } => Fields::Webhook {
                change: if url.is_empty() { "deleted" } else { "set" },
                url,
                was,
            },
            Happening::Handoff {
                app,
                machine,
                by,
                since,
            } => Fields::Handoff {
                app,
                machine,
                change: if by.is_some() { "written" } else { "cleared" },
                by: by.as_deref(),
                since: since.as_deref(),
            },
            Happening::Logs {
                app,
                trouble,
                retry_in,
                ..
            } => Fields::Logs {
                app,
                trouble: match trouble {
                    StreamTrouble::Ended(_) => "ended",
                    StreamTrouble::Silent(_) => "silent",
                    StreamTrouble::NotStarted(_) => "not-started",
                },
                message: what.summary(),
                retry_in: retry_in.as_secs(),
            },
            Happening::Dropped { app, lines, .. } => Fields::Dropped {
                app,
                trouble: "dropped",
                lines: *lines,
                message: what.summary(),
            },
            Happening::Source { source, error } => Fields::Source {
                source,
                error: error.as_deref(),
            },
        }
    }
}

/// The last line: how long, and per bot its 409s, most places at once, what came and went.
#[derive(Serialize)]
pub struct SummaryJson<'a> {
    at: String,
    bot: Option<&'a str>,
    event: &'static str,
    watched_secs: u64,
    /// An object keyed by bot name, in botctl.toml's order.
    #[serde(serialize_with = "in_order")]
    bots: Vec<(&'a str, TallyJson<'a>)>,
    trouble: bool,
}

impl<'a> SummaryJson<'a> {
    pub fn new(
        ended: jiff::Timestamp,
        watched: Duration,
        tallies: impl IntoIterator<Item = (&'a str, &'a Tally)>,
        trouble: bool,
    ) -> Self {
        SummaryJson {
            at: time_ms(ended),
            bot: None,
            event: "summary",
            watched_secs: watched.as_secs(),
            bots: tallies
                .into_iter()
                .map(|(bot, t)| {
                    let tally = TallyJson {
                        conflicts: t.conflicts,
                        most_places: t.most_places,
                        appeared: &t.came,
                        gone: &t.went,
                    };
                    (bot, tally)
                })
                .collect(),
            trouble,
        }
    }
}

fn in_order<S: serde::Serializer>(bots: &[(&str, TallyJson<'_>)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(bots.iter().map(|(bot, tally)| (bot, tally)))
}

#[derive(Serialize)]
struct TallyJson<'a> {
    #[serde(rename = "409s")]
    conflicts: u32,
    most_places: usize,
    appeared: &'a [String],
    gone: &'a [String],
}
