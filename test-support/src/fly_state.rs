//! The fake flyctl's state (`tests/fakes/flyctl`, its header is the schema): a world's
//! state file, the calls botctl made, the rules of Fly metadata it must keep, and the small
//! builders of a state (apps, machines, secrets).

use std::path::PathBuf;

use serde_json::Value;

use crate::fake;
use crate::world::World;

impl World {
    /// The fake flyctl's state file (`$FAKE_FLY_STATE`).
    pub fn fly_state_path(&self) -> PathBuf {
        self.dir.path().join("fly-state.json")
    }

    /// Replaces the fake flyctl's state (schema: the header of tests/fakes/flyctl).
    pub fn fly_state(&self, state: Value) {
        std::fs::write(
            self.fly_state_path(),
            serde_json::to_string_pretty(&state).unwrap(),
        )
        .unwrap();
    }

    /// Changes the fake flyctl's state while botctl may be reading it: under the fake's own
    /// lock, written atomically (`ops`: the `_apply` list in the header of tests/fakes/flyctl).
    pub fn fly_apply(&self, ops: Value) {
        let status = std::process::Command::new(fake("flyctl"))
            .arg("_apply")
            .arg(ops.to_string())
            .env("FAKE_FLY_STATE", self.fly_state_path())
            .env("FAKE_FLY_NO_RECORD", "1")
            // Settling may start a machine's bot: it is this world's.
            .envs(self.marks())
            .status()
            .expect("run the fake flyctl");
        assert!(status.success(), "fake flyctl _apply {ops} failed");
    }

    /// The fake flyctl's whole state as it is now.
    pub fn fly_state_now(&self) -> Value {
        match std::fs::read_to_string(self.fly_state_path()) {
            Ok(t) if !t.trim().is_empty() => serde_json::from_str(&t).unwrap(),
            _ => Value::Null,
        }
    }

    /// (id, state) of every machine of `app`, as the fake flyctl holds them now.
    pub fn fly_machines(&self, app: &str) -> Vec<(String, String)> {
        self.fly_state_now()["apps"][app]["machines"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        (
                            m["id"].as_str().unwrap_or("").to_string(),
                            m["state"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// argv of every flyctl call so far (the `.calls` log).
    pub fn fly_calls(&self) -> Vec<Vec<String>> {
        self.fly_calls_timed()
            .into_iter()
            .map(|(_, argv)| argv)
            .collect()
    }

    /// The calls botctl made to flyctl without `FLY_NO_UPDATE_CHECK=1` (a stale flyctl would
    /// update itself first, past the call's time limit). Every World fails on one.
    pub fn fly_calls_with_update_check(&self) -> Vec<Vec<String>> {
        self.fly_call_records()
            .into_iter()
            .filter(|v| v["update_check"].as_bool() == Some(true))
            .map(|v| argv_of(&v))
            .collect()
    }

    /// Each line of the fake's `.calls` log, as it wrote it.
    fn fly_call_records(&self) -> Vec<Value> {
        let mut p = self.fly_state_path().into_os_string();
        p.push(".calls");
        std::fs::read_to_string(PathBuf::from(p))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// (start time in epoch seconds, argv) of every flyctl call so far.
    pub fn fly_calls_timed(&self) -> Vec<(f64, Vec<String>)> {
        self.fly_call_records()
            .into_iter()
            .map(|v| (v["ts"].as_f64().unwrap_or(0.0), argv_of(&v)))
            .collect()
    }

    /// Each moment a `flyctl deploy` had more started machines of one process group than
    /// before it, and more than one (two pollers). Taken: a test that makes one on purpose (a
    /// webhook bot's bluegreen, a teammate's plain `fly deploy`) asserts it and leaves none for
    /// the drop check.
    pub fn take_deploy_overlaps(&self) -> Vec<Value> {
        let mut state = self.fly_state_now();
        let taken = state
            .get_mut("deploy_overlaps")
            .map(Value::take)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        if !taken.is_empty() {
            self.fly_state(state);
        }
        taken
    }

    /// What the fake flyctl counted as a breach of botctl's rules on Fly metadata: an update
    /// of a machine that was not stopped (Fly reboots it), a `fly_` key written. Taken: a
    /// test that makes one on purpose asserts it and leaves none for the drop check.
    pub fn take_fly_violations(&self) -> Vec<Value> {
        let mut state = self.fly_state_now();
        let taken = state
            .get_mut("violations")
            .map(Value::take)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        if !taken.is_empty() {
            self.fly_state(state);
        }
        taken
    }
}

/// A machine for the fake flyctl's state; `autostart: None` means no services.
pub fn machine(id: &str, state: &str, autostart: Option<bool>) -> Value {
    let mut m = serde_json::json!({"id": id, "state": state, "region": "ams"});
    if let Some(a) = autostart {
        m["autostart"] = Value::Bool(a);
    }
    m
}

/// A fake-flyctl state with these apps (app → machines); every app gets one harmless log line
/// so that `flyctl logs` prints a first line at once instead of waiting on an empty buffer.
pub fn fly_apps(apps: &[(&str, Vec<Value>)]) -> Value {
    let mut map = serde_json::Map::new();
    for (app, machines) in apps {
        map.insert(
            app.to_string(),
            serde_json::json!({
                "machines": machines,
                "logs": ["2026-11-25T10:00:00Z app[148ed193b95089] ams [info]Starting init..."],
            }),
        );
    }
    serde_json::json!({"logged_in": true, "email": "dev@example.com", "apps": map})
}

/// `state` (see [`fly_apps`]) with secret `name` of `app` holding `value`: the fake flyctl shows
/// its digest, equal for equal values, as Fly does.
pub fn with_secret(mut state: Value, app: &str, name: &str, value: &str) -> Value {
    let app_state = &mut state["apps"][app];
    if app_state.is_null() {
        *app_state = serde_json::json!({"machines": [], "logs": []});
    }
    let secrets = &mut app_state["secrets"];
    if !secrets.is_array() {
        *secrets = Value::Array(Vec::new());
    }
    secrets
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": name, "value": value}));
    state
}

/// The argv of one `.calls` record.
fn argv_of(record: &Value) -> Vec<String> {
    record["argv"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}
