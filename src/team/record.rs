//! The handoff records the machines of an app carry, read from the `machine list` every
//! command makes anyway.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::whoami::{here, who};
use super::{AT, BOT, BY, ON, SCALE};
use crate::config::Bot;
use crate::model::{MachineId, Person, Workstation};
use crate::sources::fly::Machine;
use crate::time::{self, ago, clock, span};

/// A record stamped more than this ahead of now was written by a clock that runs ahead.
const FUTURE_SKEW: SignedDuration = SignedDuration::from_secs(60);

/// One handoff record, as the machines of an app carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub by: Person,
    /// `botctl_on`: the machine it was written on (empty: written by a botctl before it).
    pub on: Workstation,
    /// As written (RFC 3339).
    pub at_text: String,
    /// When it was written; for a record stamped in the future, when it was first seen (see
    /// [`Record::from_the_future`]), so that it ages and goes stale like any other.
    pub at: Option<Timestamp>,
    /// Stamped ahead of now by a clock that runs ahead: `at` is its first sight instead.
    pub from_the_future: bool,
    /// The machines that carry it (on a platform that keeps a count: the workload).
    pub machines: Vec<MachineId>,
    /// On a platform that keeps a count: the count before dev-start scaled it to zero.
    pub scaled_from: Option<u32>,
}

/// How a record relates to the person running botctl, where it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// This person, on this machine.
    Me,
    /// This person's name, written on another machine (or by a botctl that did not say where).
    MeElsewhere,
    Someone,
}

impl Record {
    /// Mine only when both the person and the machine match: the same `$BOTCTL_WHO` on another
    /// laptop is a copy this machine cannot see.
    pub fn holder(&self) -> Holder {
        match (self.by == who(), self.on == here()) {
            (true, true) => Holder::Me,
            (true, false) => Holder::MeElsewhere,
            (false, _) => Holder::Someone,
        }
    }

    pub fn is_mine(&self) -> bool {
        self.holder() == Holder::Me
    }

    /// Older than `stale` (an unreadable time counts as stale: nobody can tell how old it is).
    pub fn is_stale(&self, stale: Duration) -> bool {
        self.at.is_none_or(|at| {
            time::since(at) > SignedDuration::try_from(stale).unwrap_or(SignedDuration::MAX)
        })
    }

    /// "14:02 UTC (2 h ago)".
    pub fn since(&self) -> String {
        match self.at {
            Some(at) => format!("{} ({}){}", clock(at), ago(at), self.future_note()),
            None => format!("an unreadable time ({:?})", self.at_text),
        }
    }

    /// "dev-start 14:02 UTC, 2 h ago".
    pub fn when(&self) -> String {
        match self.at {
            Some(at) => format!("dev-start {}, {}{}", clock(at), ago(at), self.future_note()),
            None => format!("dev-start at an unreadable time {:?}", self.at_text),
        }
    }

    /// For a record stamped ahead of now: what it says, and that its time is its first sight.
    fn future_note(&self) -> String {
        if self.from_the_future {
            format!(
                "; from the future: stamped {}, so timed from when botctl first saw it",
                crate::outside::shown(&self.at_text)
            )
        } else {
            String::new()
        }
    }

    /// "alice@mbp", or "alice@mbp on another machine (botctl_on 3fa2…)" when it is this
    /// person's name written elsewhere.
    pub fn who_where(&self) -> String {
        let by = crate::outside::shown(&self.by);
        match self.holder() {
            Holder::MeElsewhere if self.on.is_empty() => {
                format!("{by} on a machine it does not name (no {ON})")
            }
            Holder::MeElsewhere => format!(
                "{by} on another machine ({ON} {}, this one is {})",
                crate::outside::shown(&self.on),
                here()
            ),
            _ => by.into_owned(),
        }
    }

    /// "alice@mbp (dev-start 14:02 UTC, 2 h ago)".
    pub fn taker(&self) -> String {
        format!("{} ({})", self.who_where(), self.when())
    }

    /// "alice@mbp holds partner since 14:02 UTC (2 h ago)".
    pub fn holds(&self, bot: &str) -> String {
        format!("{} holds {bot} since {}", self.who_where(), self.since())
    }

    /// The refusal of dev-start and deploy-resume while someone else holds the bot;
    /// `take_over` is the refused command with `--take-over`.
    pub fn refusal(
        &self,
        bot: &str,
        stale: Duration,
        take_over: &crate::fix::Fix,
    ) -> crate::error::Error {
        let note = if self.is_stale(stale) {
            format!(" (stale: older than [team] stale = {})", span(stale))
        } else {
            String::new()
        };
        // A record with a count was written on a workload (Kubernetes), not on machines.
        let on = match self.scaled_from {
            Some(_) => "",
            None => "Fly machine(s) ",
        };
        crate::error::Error::Refused {
            message: format!(
                "{}{note}, by the handoff record on {on}{}",
                self.holds(bot),
                self.machines.join(", ")
            ),
            fix: crate::fix::Fix::hand_back_or_take_over(bot, take_over),
        }
    }
}

/// The records for `bot` on these machines, newest first: machines grouped by who wrote them,
/// where and when. A cleared record (`botctl_by=`) is none. A record stamped in the future
/// is timed from its first sight ([`first_sight`]), so it neither reads "just now" for ever
/// nor outranks the records written after it.
pub fn records(bot: &Bot, machines: &[Machine]) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for m in machines {
        gather(
            &mut out,
            bot,
            &|key| m.metadata.get(key).map(String::as_str),
            &m.id,
        );
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.at));
    out
}

/// The record a platform keeps in one place for `bot` (Kubernetes: annotations on the
/// workload), from its `botctl_` pairs ([`crate::sources::platform::Platform::read_record`]);
/// `place` names where it is kept.
pub fn record_in(bot: &Bot, pairs: &[(String, String)], place: &str) -> Option<Record> {
    let mut out = Vec::new();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    gather(&mut out, bot, &get, &MachineId::new(place));
    out.pop()
}

/// Adds the record one place carries for `bot` (`get` reads its keys) to `out`, grouping
/// places by who wrote it, where and when.
fn gather<'m>(
    out: &mut Vec<Record>,
    bot: &Bot,
    get: &dyn Fn(&str) -> Option<&'m str>,
    place: &MachineId,
) {
    let (Some(by), Some(of)) = (get(BY), get(BOT)) else {
        return;
    };
    if by.is_empty() || of != bot.name.as_str() {
        return;
    }
    let at_text = get(AT).unwrap_or_default().to_string();
    let on = Workstation::new(get(ON).unwrap_or_default());
    match out
        .iter_mut()
        .find(|r| r.by == by && r.at_text == at_text && r.on == on)
    {
        Some(r) => r.machines.push(place.clone()),
        None => {
            let now = time::now();
            let written = time::parse_rfc3339(&at_text);
            let from_the_future = written.is_some_and(|at| at > now + FUTURE_SKEW);
            let at = if from_the_future {
                Some(first_sight(&[&bot.name, by, &on, &at_text], now))
            } else {
                written
            };
            out.push(Record {
                by: Person::new(by),
                on,
                at,
                from_the_future,
                at_text,
                machines: vec![place.clone()],
                scaled_from: get(SCALE).and_then(|n| n.parse().ok()),
            });
        }
    }
}

/// The project whose `.botctl/seen.json` keeps first sights ([`remember_sights_in`]).
static SIGHTS: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

/// Keeps the first sight of records stamped in the future in this project's `.botctl/`, so a
/// later run times them from the same moment. Without it (unit tests), only this run's.
pub fn remember_sights_in(root: &std::path::Path) {
    if let Ok(mut at) = SIGHTS.lock() {
        *at = Some(root.to_path_buf());
    }
}

/// First sights kept at most: one per record stamped in the future, which is rare.
const SIGHTS_MAX: usize = 64;

/// When a record (`key`: bot, by, on, stamp) was first seen: from the file when an earlier run
/// saw it, else `now`, remembered. A file that cannot be read or written costs only memory.
fn first_sight(key: &[&str], now: Timestamp) -> Timestamp {
    static IN_RUN: std::sync::Mutex<Vec<(String, Timestamp)>> = std::sync::Mutex::new(Vec::new());
    let key = key.join("\u{1f}");
    let mut in_run = IN_RUN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = in_run.iter().find(|(k, _)| *k == key) {
        return *t;
    }
    let root = SIGHTS.lock().ok().and_then(|p| p.clone());
    let path = root.as_deref().map(|r| {
        crate::state::folder(r, crate::state::IfMissing::Leave).map(|d| d.join("seen.json"))
    });
    // A `.botctl` that is not a plain folder (a link) is refused by state::folder: first
    // sights are then this run's only, like the handoff state they sit beside.
    let path = path.and_then(|p| p.ok());
    // Seconds since the epoch in the file, as botctl has always written them.
    let mut kept: Vec<(String, i64)> = path
        .as_deref()
        .and_then(|p| crate::files::read_text(p, crate::files::CAP).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let t = match kept.iter().find(|(k, _)| *k == key) {
        Some((_, t)) => Timestamp::from_second(*t).map_or(now, |t| t.min(now)),
        None => {
            kept.push((key.clone(), now.as_second()));
            if kept.len() > SIGHTS_MAX {
                kept.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
                kept.truncate(SIGHTS_MAX);
            }
            if let Some(p) = &path {
                let text = serde_json::to_string(&kept).expect("pairs serialize");
                let written = root
                    .as_deref()
                    .map_or(Ok(()), |r| {
                        crate::state::folder(r, crate::state::IfMissing::Create).map(|_| ())
                    })
                    .map_err(|e| std::io::Error::other(e.to_string()))
                    .and_then(|()| crate::state::write_atomically(p, &text));
                if let Err(e) = written {
                    tracing::info!(
                        "cannot remember a record's first sight in {}: {e}",
                        p.display()
                    );
                }
            }
            now
        }
    };
    in_run.push((key, t));
    t
}

/// The record one machine carries (any bot's), as dev-start wrote it; a cleared one is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnMachine {
    pub by: Person,
    pub at: String,
    pub bot: String,
}

/// The record on machine `m`, if any.
pub fn on_machine(m: &Machine) -> Option<OnMachine> {
    let text = |key: &str| {
        m.metadata
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Some(OnMachine {
        by: Person::new(text(BY)?),
        at: text(AT).unwrap_or_default(),
        bot: text(BOT).unwrap_or_default(),
    })
}

/// The record that holds `bot` now: the newest.
pub fn record(bot: &Bot, machines: &[Machine]) -> Option<Record> {
    records(bot, machines).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stamped_in_the_future_is_timed_from_its_first_sight() {
        let cfg = crate::config::parse(
            "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n",
            std::path::Path::new("botctl.toml"),
            ".".into(),
        )
        .unwrap();
        let bot = &cfg.bots[0];
        let future = (time::now() + SignedDuration::from_hours(365 * 24)).to_string();
        let ms = [
            machine("a", &[(BY, "alice@mbp"), (AT, &future), (BOT, "partner")]),
            machine(
                "b",
                &[
                    (BY, "bob@tp"),
                    (
                        AT,
                        &(time::now() - SignedDuration::from_secs(10)).to_string(),
                    ),
                    (BOT, "partner"),
                ],
            ),
        ];
        let rs = records(bot, &ms);
        let alice = rs.iter().find(|r| r.by == "alice@mbp").unwrap();
        assert!(alice.from_the_future);
        assert!(alice.at.unwrap() <= time::now());
        assert!(
            alice.since().contains("from the future"),
            "{}",
            alice.since()
        );
        assert!(!alice.is_stale(Duration::from_secs(3600)));
        // Its time is its first sight: it no longer outranks a record written before that.
        assert_eq!(rs[0].by, "alice@mbp", "first seen after bob wrote his");
        assert_eq!(records(bot, &ms)[0].at, rs[0].at, "the same first sight");
    }

    fn machine(id: &str, meta: &[(&str, &str)]) -> Machine {
        Machine {
            id: id.into(),
            state: "stopped".into(),
            region: "ams".into(),
            group: "app".into(),
            command: None,
            proxy_autostart: crate::sources::fly::ProxyAutostart::Off,
            history: Default::default(),
            metadata: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn records_group_by_writer_newest_first_and_ignore_cleared_and_other_bots() {
        let cfg = crate::config::parse(
            "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n",
            std::path::Path::new("botctl.toml"),
            ".".into(),
        )
        .unwrap();
        let bot = &cfg.bots[0];
        let ms = [
            machine(
                "a",
                &[
                    (BY, "alice@mbp"),
                    (AT, "2026-11-30T10:00:00Z"),
                    (BOT, "partner"),
                ],
            ),
            machine(
                "b",
                &[
                    (BY, "bob@tp"),
                    (AT, "2026-11-30T12:00:00Z"),
                    (BOT, "partner"),
                ],
            ),
            machine(
                "c",
                &[
                    (BY, "alice@mbp"),
                    (AT, "2026-11-30T10:00:00Z"),
                    (BOT, "partner"),
                ],
            ),
            machine("d", &[(BY, ""), (AT, ""), (BOT, "")]),
            machine(
                "e",
                &[
                    (BY, "carol@x"),
                    (AT, "2026-11-30T13:00:00Z"),
                    (BOT, "admin"),
                ],
            ),
            machine("f", &[("fly_process_group", "app")]),
        ];
        let rs = records(bot, &ms);
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].by, "bob@tp");
        assert_eq!(rs[1].machines, ["a", "c"]);
        assert!(rs[1].is_stale(Duration::from_secs(3600)));
    }
}
