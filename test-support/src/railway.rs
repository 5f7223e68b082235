//! Railway in a test: the fake Railway CLI (`tests/fakes/railway`, written from the
//! `railwayapp` crate's source, since the real CLI cannot be pointed at another host), put in
//! the World's bin with its state file.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::{World, fake};

/// The fake Railway CLI of one World.
pub struct RailwayCli {
    state: PathBuf,
}

/// A linked project `lb` whose `production` environment runs `service` with `replicas`
/// replicas in one region, from one SUCCESS deployment; the variables hold a token.
pub fn railway_project(service: &str, replicas: u32) -> Value {
    json!({
        "logged_in": true,
        "linked": {"project": "p-lb", "environment": "production", "service": service},
        "projects": {"p-lb": {"name": "lb", "environments": {"production": {"services": {service: {
            "regions": {"europe-west4-drams3a": replicas},
            "deployments": [{"id": "d-2", "status": "SUCCESS", "createdAt": "2026-12-06T19:00:00Z"},
                            {"id": "d-1", "status": "REMOVED", "createdAt": "2026-12-05T19:00:00Z"}],
            "variables": {"BOT_TOKEN": "7000000002:railway-variable-secret",
                          "RAILWAY_DEPLOYMENT_OVERLAP_SECONDS": "0"},
        }}}}}},
    })
}

impl RailwayCli {
    /// Gives `world` a `railway` holding `state` (see [`railway_project`]).
    pub fn install(world: &World, state: Value) -> RailwayCli {
        let path = world.home().join("fake-railway.json");
        std::fs::write(&path, state.to_string()).expect("write the fake Railway's state");
        let shim = format!(
            "#!/bin/sh\nexport FAKE_RAILWAY_STATE='{}'\nexec '{}' \"$@\"\n",
            path.display(),
            fake("railway").display()
        );
        let bin = world.bin().join("railway");
        std::fs::write(&bin, shim).expect("write the railway shim");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
            .expect("make the railway shim executable");
        RailwayCli { state: path }
    }

    /// The fake's state now.
    pub fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap_or_default())
            .unwrap_or(Value::Null)
    }

    /// Changes the state.
    pub fn change(&self, change: impl FnOnce(&mut Value)) {
        let mut state = self.state();
        change(&mut state);
        std::fs::write(&self.state, state.to_string()).expect("write the fake Railway's state");
    }

    /// The calls botctl made, each as its arguments.
    pub fn calls(&self) -> Vec<Vec<String>> {
        let mut path = self.state.clone().into_os_string();
        path.push(".calls");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
