//! The release each Fly machine had when botctl last looked, kept in `.botctl/releases.json`.
//! A deploy that replaces a machine in place leaves only an `update` event (botctl's own
//! metadata writes make those too) and a new `fly_release_version` (reference/flyctl.md
//! "Machine events"): one look cannot tell it, a look compared with the one before can.
//! A file that is missing or cannot be read is no memory; one that cannot be written costs
//! only the memory, never the command.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::AppName;
use crate::outside::Outside;
use crate::sources::fly::machine_history::{InPlace, Sighting, When};
use crate::sources::fly::{FlyError, Machine};

const FILE: &str = "releases.json";

/// Machines remembered at most (the oldest sightings go first).
const KEPT_MAX: usize = 512;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    machines: Vec<Seen>,
}

/// One machine's latest sighting, and the replacement in place its last change of release was.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    app: String,
    machine: String,
    release: Outside,
    /// When botctl last saw it at `release`.
    #[serde(with = "crate::time::stamp")]
    at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replaced: Option<Replaced>,
}

/// A replacement in place, as kept: `after` equal to `before` is a known moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Replaced {
    from: Outside,
    #[serde(with = "crate::time::stamp")]
    after: jiff::Timestamp,
    #[serde(with = "crate::time::stamp")]
    before: jiff::Timestamp,
}

/// Compares each machine's release with botctl's earlier sighting, notes a replacement in
/// place in its history, and remembers this look. Apps that could not be read keep their
/// sightings as they were.
pub fn compare_and_remember(
    root: &Path,
    fly: &mut BTreeMap<AppName, Result<Vec<Machine>, FlyError>>,
    now: jiff::Timestamp,
) {
    if !fly.values().any(Result::is_ok) {
        return; // nothing seen: nothing to compare or keep
    }
    let path = match crate::state::folder(root, crate::state::IfMissing::Leave) {
        Ok(dir) => dir.join(FILE),
        Err(e) => {
            // A `.botctl` that is a link is refused: no memory through it.
            tracing::info!("release sightings not kept: {e}");
            return;
        }
    };
    let mut kept: Kept = crate::files::read_text(&path, crate::files::CAP)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    for (app, machines) in fly.iter_mut() {
        let Ok(machines) = machines else { continue };
        kept.machines
            .retain(|s| s.app != app.as_str() || machines.iter().any(|m| m.id == s.machine));
        for m in machines.iter_mut() {
            compare(&mut kept, app, m, now);
        }
    }
    if kept.machines.len() > KEPT_MAX {
        kept.machines.sort_by_key(|s| std::cmp::Reverse(s.at));
        kept.machines.truncate(KEPT_MAX);
    }
    let text = serde_json::to_string_pretty(&kept).expect("sightings serialize") + "\n";
    let written = crate::state::folder(root, crate::state::IfMissing::Create)
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|_| crate::state::write_atomically(&path, &text));
    if let Err(e) = written {
        tracing::info!("cannot keep release sightings in {}: {e}", path.display());
    }
}

/// One machine against its sighting: a new release is a replacement in place since then.
fn compare(kept: &mut Kept, app: &AppName, m: &mut Machine, now: jiff::Timestamp) {
    let Some(release) = m.history.release.clone() else {
        return;
    };
    let Some(seen) = kept
        .machines
        .iter_mut()
        .find(|s| s.app == app.as_str() && s.machine == m.id.as_str())
    else {
        kept.machines.push(Seen {
            app: app.to_string(),
            machine: m.id.to_string(),
            release,
            at: now,
            replaced: None,
        });
        return;
    };
    let sighting = Sighting {
        release: seen.release.clone(),
        at: seen.at,
    };
    if let Some(in_place) = m.history.replaced_since(&sighting, now) {
        let (after, before) = match in_place.when {
            When::At(t) => (t, t),
            When::Between { after, before } => (after, before),
        };
        seen.replaced = Some(Replaced {
            from: in_place.from,
            after,
            before,
        });
        seen.release = release;
    }
    seen.at = now;
    // The last replacement stays told until the next one: a second doctor says the same.
    m.history.replaced_in_place = seen.replaced.as_ref().map(|r| InPlace {
        from: r.from.clone(),
        to: seen.release.clone(),
        when: if r.after == r.before {
            When::At(r.after)
        } else {
            When::Between {
                after: r.after,
                before: r.before,
            }
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fly::{MachineState, ProxyAutostart};

    fn at_release(release: &str) -> BTreeMap<AppName, Result<Vec<Machine>, FlyError>> {
        let history = crate::sources::fly::machine_history::History {
            release: Some(release.into()),
            ..Default::default()
        };
        let m = Machine {
            id: "m1".into(),
            state: MachineState::Started,
            region: "ams".into(),
            group: "app".into(),
            command: None,
            proxy_autostart: ProxyAutostart::Off,
            metadata: Default::default(),
            history,
        };
        BTreeMap::from([(AppName::new("lb"), Ok(vec![m]))])
    }

    fn replaced(fly: &BTreeMap<AppName, Result<Vec<Machine>, FlyError>>) -> Option<InPlace> {
        fly.values().next().unwrap().as_ref().unwrap()[0]
            .history
            .replaced_in_place
            .clone()
    }

    #[test]
    fn a_new_release_since_the_last_look_stays_told_until_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let t = |s: i64| jiff::Timestamp::from_second(s).unwrap();
        let mut first = at_release("7");
        compare_and_remember(dir.path(), &mut first, t(1000));
        assert_eq!(replaced(&first), None, "a first sighting tells nothing");
        let mut same = at_release("7");
        compare_and_remember(dir.path(), &mut same, t(1100));
        assert_eq!(replaced(&same), None);
        // No update event listed: the span from the last sighting to this look.
        let mut deployed = at_release("8");
        compare_and_remember(dir.path(), &mut deployed, t(1200));
        let told = replaced(&deployed).unwrap();
        assert_eq!((told.from.raw(), told.to.raw()), ("7", "8"));
        assert_eq!(
            told.when,
            When::Between {
                after: t(1100),
                before: t(1200)
            }
        );
        let mut again = at_release("8");
        compare_and_remember(dir.path(), &mut again, t(1300));
        assert_eq!(
            replaced(&again),
            Some(told),
            "a second doctor says the same"
        );
        // A file botctl cannot read is no memory, never an error.
        std::fs::write(dir.path().join(".botctl").join(FILE), "not json").unwrap();
        let mut unread = at_release("9");
        compare_and_remember(dir.path(), &mut unread, t(1400));
        assert_eq!(replaced(&unread), None);
    }
}
