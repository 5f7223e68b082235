//! A cluster for a World: the fake Kubernetes API server (tests/fakes/kube_api.py) on a free
//! loopback port, the REAL kubectl (pinned in tests/fakes/requirements.txt, in `.venv`) on the
//! world's PATH, and a kubeconfig in the world's HOME whose contexts point at the fake.

use std::fs::File;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::procs::{kill_child, wait_until};
use crate::world::World;
use crate::{Result, fake, system_python, workspace_root};

/// How long the fake may take to start.
const START_LIMIT: Duration = Duration::from_secs(15);
const REQUEST_LIMIT: Duration = Duration::from_secs(10);

/// The fake API server of one World; killed on drop (and marked with the World's mark).
pub struct KubeApi {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
    agent: ureq::Agent,
}

impl World {
    /// Starts a cluster for this world: the fake API server, kubectl on PATH, and
    /// `$HOME/.kube/config` ([`KubeApi::write_kubeconfig`]).
    pub fn kube(&self) -> KubeApi {
        let _ = std::fs::remove_file(self.bin().join("kubectl"));
        std::os::unix::fs::symlink(kubectl(), self.bin().join("kubectl")).expect("symlink kubectl");
        let marks: Vec<(&str, std::ffi::OsString)> = self.marks();
        let api = KubeApi::start(&self.path("kube"), &marks).unwrap_or_else(|e| panic!("{e}"));
        api.write_kubeconfig(&self.home().join(".kube").join("config"))
            .unwrap_or_else(|e| panic!("{e}"));
        api
    }
}

/// The pinned kubectl in the workspace's `.venv` (panics, naming the fix, when missing).
pub fn kubectl() -> std::path::PathBuf {
    let kubectl = workspace_root().join(".venv/bin/kubectl");
    assert!(
        kubectl.is_file(),
        "{} is missing: run `cargo xtask setup` (tests/fakes/requirements.txt pins kubectl)",
        kubectl.display()
    );
    kubectl
}

impl KubeApi {
    /// Starts tests/fakes/kube_api.py with its files in `dir`, its environment marked with
    /// `marks` (a World's, so the World ends it too).
    pub fn start(dir: &std::path::Path, marks: &[(&str, std::ffi::OsString)]) -> Result<KubeApi> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        let port_file = dir.join("port");
        let log = dir.join("kube_api.log");
        let err = File::create(&log).map_err(|e| format!("cannot create the fake's log: {e}"))?;
        let mut cmd = std::process::Command::new(system_python());
        cmd.arg(fake("kube_api.py"))
            .args(["--port", "0", "--delay", "0.3", "--port-file"])
            .arg(&port_file)
            .envs(marks.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start tests/fakes/kube_api.py: {e}"))?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_LIMIT))
            .build()
            .into();
        let mut api = KubeApi {
            child,
            port: 0,
            log,
            agent,
        };
        let mut port = None;
        wait_until(START_LIMIT, || {
            port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok());
            port.is_some() || matches!(api.child.try_wait(), Ok(Some(_)))
        });
        api.port = port.ok_or_else(|| {
            format!(
                "the fake Kubernetes API did not start; its log:\n{}",
                std::fs::read_to_string(&api.log).unwrap_or_default()
            )
        })?;
        Ok(api)
    }

    /// A kubeconfig at `path` with contexts `prod` (namespace `bots`, the current one),
    /// `staging` (namespace `default`) on this fake, and `down` (a port nothing listens on).
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> Result<()> {
        let down = crate::free_port();
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n\
- name: fake\n  cluster: {{server: \"{url}\"}}\n\
- name: down\n  cluster: {{server: \"http://127.0.0.1:{down}\"}}\n\
contexts:\n\
- name: prod\n  context: {{cluster: fake, user: fake, namespace: bots}}\n\
- name: staging\n  context: {{cluster: fake, user: fake, namespace: default}}\n\
- name: down\n  context: {{cluster: down, user: fake}}\n\
current-context: prod\nusers:\n- name: fake\n  user: {{token: fake-kube-token}}\n",
            url = self.url()
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        }
        std::fs::write(path, config).map_err(|e| format!("cannot write {path:?}: {e}"))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn post(&self, what: &str, body: Value) -> Value {
        let url = format!("{}/_control/{what}", self.url());
        let mut resp = self
            .agent
            .post(&url)
            .content_type("application/json")
            .send(body.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("POST {url} failed: {e}"));
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {url}: no JSON ({e}): {text}"))
    }

    fn get(&self, what: &str) -> Value {
        let url = format!("{}/_control/{what}", self.url());
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url} failed: {e}"));
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: no JSON ({e}): {text}"))
    }

    /// Creates (or replaces) a workload: `spec` as tests/fakes/kube_api.py's `/_control/workload`
    /// takes it (`name`, `namespace`, `replicas`, `strategy`, `env`, `ready_line`, …).
    pub fn workload(&self, spec: Value) {
        self.post("workload", spec);
    }

    /// A Deployment `name` in namespace `bots` running `replicas` pods of `python3 bot.py`, with
    /// the bot token in its env (as real manifests have it) and `Recreate`.
    pub fn deployment(&self, name: &str, replicas: u32, extra: Value) {
        let mut spec = json!({
            "kind": "Deployment", "name": name, "namespace": "bots", "replicas": replicas,
            "command": ["python3", "bot.py"],
            "env": [{"name": "BOT_TOKEN", "value": SECRET_IN_ENV}],
            "strategy": {"type": "Recreate"},
        });
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        self.workload(spec);
    }

    /// Logs `text` in every running pod of `workload` (namespace `bots`).
    pub fn log(&self, workload: &str, text: &str) -> u64 {
        let v = self.post(
            "log",
            json!({"namespace": "bots", "workload": workload, "text": text}),
        );
        v["pods"].as_u64().unwrap_or(0)
    }

    /// Every pod of `workload` (namespace `bots`) waits in CrashLoopBackOff.
    pub fn crashloop(&self, workload: &str) {
        self.post(
            "crashloop",
            json!({"namespace": "bots", "workload": workload}),
        );
    }

    /// API calls hang (never answered) while on.
    pub fn hang(&self, on: bool) {
        self.post("hang", json!({"on": on}));
    }

    /// Every API call so far, `METHOD PATH?QUERY`.
    pub fn calls(&self) -> Vec<String> {
        serde_json::from_value(self.get("calls")).unwrap_or_default()
    }

    /// The workload `name` as the fake holds it now.
    pub fn workload_now(&self, name: &str) -> Value {
        let state = self.get("state");
        state["workloads"]
            .as_array()
            .and_then(|ws| ws.iter().find(|w| w["metadata"]["name"] == name).cloned())
            .unwrap_or(Value::Null)
    }

    /// The running pods of `workload` (not pending, not terminating), by name.
    pub fn pods(&self, workload: &str) -> Vec<String> {
        let state = self.get("state");
        state["pods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| {
                p["metadata"]["labels"]["app"] == workload
                    && p["status"]["phase"] == "Running"
                    && p["metadata"]["deletionTimestamp"].is_null()
            })
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    /// Waits (up to `limit`) until `workload` has `n` running pods.
    pub fn wait_for_pods(&self, workload: &str, n: usize, limit: Duration) -> bool {
        wait_until(limit, || self.pods(workload).len() == n)
    }
}

/// The token a test's manifests carry in a pod's env: it must never reach botctl's output.
pub const SECRET_IN_ENV: &str = "7777777:AAEnvSecretNeverPrintedxxxxxxxxxxxxxx";

impl Drop for KubeApi {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}
