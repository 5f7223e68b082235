//! Heroku in a test: the REAL Heroku CLI (pinned by `cargo xtask setup` under `.tools`) talking
//! to the loopback fake Platform API (`tests/fakes/heroku_api.py`). A World gets a `heroku` in
//! its bin that runs the real CLI with `HEROKU_HOST` pointing at the fake, as a user's
//! logged-in CLI would run.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::procs::{kill_child, wait_until};
use crate::{API_LIMIT, World, fake, system_python, workspace_root};

/// The token the fake accepts (and the only one): `HEROKU_API_KEY` of a logged-in CLI.
pub const HEROKU_KEY: &str = "hrku-test-0000";

/// The fake Platform API of one World; killed on drop.
pub struct HerokuApi {
    child: Child,
    state: PathBuf,
}

/// The real CLI setup installed (panics with the fix when it is missing).
pub fn heroku_cli() -> PathBuf {
    let p = workspace_root().join(".tools/node_modules/.bin/heroku");
    if !p.is_file() {
        panic!("{} is missing: run `cargo xtask setup` first", p.display());
    }
    p
}

/// An app's state in the fake: `kind` dynos running `command`, `quantity` of them, preboot
/// off, a config var holding the token.
pub fn heroku_app(kind: &str, quantity: u32, command: &str) -> Value {
    let dynos: Vec<Value> = (1..=quantity)
        .map(|n| {
            json!({"name": format!("{kind}.{n}"), "type": kind, "state": "up",
                   "command": command, "updated_at": "2026-12-06T19:00:00Z"})
        })
        .collect();
    json!({
        "formation": [{"type": kind, "quantity": quantity, "command": command}],
        "dynos": dynos,
        "features": [{"name": "preboot", "enabled": false,
                      "description": "Provide seamless web dyno deploys"}],
        "config_vars": {"BOT_TOKEN": "7000000001:heroku-config-var-secret"},
        "logs": [],
    })
}

impl HerokuApi {
    /// Starts the fake with `apps` (name → [`heroku_app`]) and gives `world` a logged-in
    /// `heroku`.
    pub fn start(world: &World, apps: Value) -> HerokuApi {
        HerokuApi::start_as(world, apps, true)
    }

    /// [`HerokuApi::start`], the CLI logged in or not (no `HEROKU_API_KEY`, no netrc).
    pub fn start_as(world: &World, apps: Value, logged_in: bool) -> HerokuApi {
        let cli = heroku_cli();
        let dir = world.home().join("fake-heroku");
        std::fs::create_dir_all(&dir).expect("create the fake Heroku's folder");
        let state = dir.join("state.json");
        let port_file = dir.join("port");
        let api = HerokuApi {
            child: {
                let mut cmd = std::process::Command::new(system_python());
                cmd.arg(fake("heroku_api.py"))
                    .arg("--state")
                    .arg(&state)
                    .arg("--port-file")
                    .arg(&port_file)
                    .envs(world.marks())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
                std::fs::write(
                    &state,
                    json!({"api_key": HEROKU_KEY, "start_delay": 1.0, "apps": apps}).to_string(),
                )
                .expect("write the fake Heroku's state");
                cmd.spawn().expect("start tests/fakes/heroku_api.py")
            },
            state,
        };
        let mut port = None;
        wait_until(API_LIMIT, || {
            port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok());
            port.is_some()
        });
        let port = port.expect("the fake Heroku API wrote no port");
        let url = format!("http://127.0.0.1:{port}");
        let key = if logged_in {
            format!("export HEROKU_API_KEY={HEROKU_KEY}")
        } else {
            "unset HEROKU_API_KEY".into()
        };
        // DISABLE_TELEMETRY: the CLI would send its telemetry out of this machine.
        let shim = format!(
            "#!/bin/sh\n{key}\nexport HEROKU_HOST={url} \
HEROKU_PARTICLEBOARD_URL={url}/particleboard DISABLE_TELEMETRY=true\nexec '{}' \"$@\"\n",
            cli.display()
        );
        let path = world.bin().join("heroku");
        std::fs::write(&path, shim).expect("write the heroku shim");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make the heroku shim executable");
        api
    }

    /// The fake's whole state (apps, log sessions).
    pub fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap_or_default())
            .unwrap_or(Value::Null)
    }

    /// One app's state.
    pub fn app(&self, name: &str) -> Value {
        self.state()["apps"][name].clone()
    }

    /// Changes the state (read, `change`, written atomically as the fake writes it).
    pub fn change(&self, change: impl FnOnce(&mut Value)) {
        let mut state = self.state();
        change(&mut state);
        let tmp = self.state.with_extension("json.test");
        std::fs::write(&tmp, state.to_string()).expect("write the fake Heroku's state");
        std::fs::rename(&tmp, &self.state).expect("replace the fake Heroku's state");
    }

    /// The requests the CLI made: "METHOD /path".
    pub fn calls(&self) -> Vec<String> {
        let mut path = self.state.clone().into_os_string();
        path.push(".calls");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|c| {
                format!(
                    "{} {}",
                    c["method"].as_str().unwrap_or(""),
                    c["path"].as_str().unwrap_or("")
                )
            })
            .collect()
    }
}

impl Drop for HerokuApi {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}
