//! The fake Bot API server (tests/fakes/botapi.py) and a client for its control API.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::procs::{kill_child, wait_until};
use crate::{Result, fake, system_python};

/// How long the fake may take to start, and a poller to start or stop polling on it.
pub const API_LIMIT: Duration = Duration::from_secs(15);
/// One control request (the fake answers at once; this only stops a hang).
const REQUEST_LIMIT: Duration = Duration::from_secs(10);

/// tests/fakes/botapi.py on a free port, run by the system Python; killed on drop.
pub struct BotApi {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    agent: ureq::Agent,
}

impl BotApi {
    /// Starts it with these (token, username) pairs as valid tokens (panics when it cannot).
    pub fn start(tokens: &[(&str, &str)]) -> BotApi {
        BotApi::start_with(tokens, &[])
    }

    /// Starts it answering every Bot API call with an HTML 502 page (`--broken`).
    pub fn start_broken(tokens: &[(&str, &str)]) -> BotApi {
        BotApi::start_with(tokens, &["--broken"])
    }

    /// Starts it with extra command-line flags (panics when it cannot).
    pub fn start_with(tokens: &[(&str, &str)], extra: &[&str]) -> BotApi {
        BotApi::launch(system_python(), tokens, extra).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts it with `python`; waits (up to [`API_LIMIT`]) until it wrote its port.
    pub fn launch(python: &Path, tokens: &[(&str, &str)], extra: &[&str]) -> Result<BotApi> {
        let dir = tempfile::Builder::new()
            .prefix("botctl-botapi-")
            .tempdir()
            .map_err(|e| format!("cannot create a folder for the fake Bot API: {e}"))?;
        let port_file = dir.path().join("port");
        let log = File::create(dir.path().join("botapi.log"))
            .map_err(|e| format!("cannot create the fake Bot API's log: {e}"))?;
        let mut cmd = std::process::Command::new(python);
        cmd.arg(fake("botapi.py"))
            .args(["--port", "0", "--port-file"])
            .arg(&port_file);
        for (t, user) in tokens {
            cmd.arg("--token").arg(format!("{t}={user}"));
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.args(extra)
            .envs(crate::cleanup::run_mark())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start tests/fakes/botapi.py: {e}"))?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_LIMIT))
            .build()
            .into();
        let mut api = BotApi {
            child,
            port: 0,
            dir,
            agent,
        };
        let mut port = None;
        let started = wait_until(API_LIMIT, || {
            port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok());
            port.is_some() || matches!(api.child.try_wait(), Ok(Some(_)))
        });
        match port {
            Some(port) => {
                api.port = port;
                Ok(api)
            }
            None => Err(format!(
                "the fake Bot API did not start ({}); its log:\n{}",
                if started {
                    "it exited".to_string()
                } else {
                    format!("no port file within {} s", API_LIMIT.as_secs())
                },
                api.log()
            )),
        }
    }

    /// `http://127.0.0.1:PORT` — what goes in `[telegram] api`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's request log (paths with the token redacted by the fake).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("botapi.log")).unwrap_or_default()
    }

    /// POST `/_control/WHAT?PARAMS`: the fake's JSON answer.
    fn control(&self, what: &str, params: &[(&str, &str)]) -> Result<Value> {
        let url = format!("{}/_control/{what}", self.url());
        let mut req = self.agent.post(&url);
        for (k, v) in params {
            req = req.query(*k, *v);
        }
        let mut resp = req
            .send_empty()
            .map_err(|e| format!("POST {url} failed: {e}"))?;
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("POST {url}: cannot read the answer: {e}"))?;
        serde_json::from_str(&body)
            .map_err(|e| format!("POST {url} answered no JSON ({e}): {body}"))
    }

    /// Queues a message update for `token`.
    pub fn queue_update(&self, token: &str, text: &str) {
        self.control("update", &[("token", token), ("text", text)])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Sets (or with "" clears) the webhook of `token`.
    pub fn set_webhook(&self, token: &str, url: &str) {
        self.control("webhook", &[("token", token), ("url", url)])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Sets the webhook of `token` as a bot's own setWebhook would have, with `extra` control
    /// parameters: secret_token, max_connections, allowed_updates (a JSON list),
    /// has_custom_certificate, last_error_message, last_error_date.
    pub fn set_webhook_with(&self, token: &str, url: &str, extra: &[(&str, &str)]) {
        let mut params = vec![("token", token), ("url", url)];
        params.extend_from_slice(extra);
        self.control("webhook", &params)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The next `count` calls of `method` by `token` answer 429 with `retry_after` seconds
    /// (Telegram's own answer to a second setWebhook within a second).
    pub fn flood(&self, token: &str, method: &str, count: u32, retry_after: u32) {
        let (count, retry_after) = (count.to_string(), retry_after.to_string());
        self.control(
            "flood",
            &[
                ("token", token),
                ("method", method),
                ("count", &count),
                ("retry_after", &retry_after),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Turns the HTML-502 mode on or off.
    pub fn set_broken(&self, on: bool) {
        self.control("broken", &[("on", if on { "1" } else { "0" })])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// `/_control/stats?token=T`: getUpdates_calls, offsets_seen, allowed_updates_seen,
    /// conflicts_sent, long_poll_pending, methods… (panics when the fake does not answer).
    pub fn stats(&self, token: &str) -> Value {
        self.try_stats(token).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The same, as a result.
    pub fn try_stats(&self, token: &str) -> Result<Value> {
        let url = format!("{}/_control/stats", self.url());
        let mut resp = self
            .agent
            .get(&url)
            .query("token", token)
            .call()
            .map_err(|e| format!("GET {url} failed: {e}"))?;
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("GET {url}: cannot read the answer: {e}"))?;
        serde_json::from_str(&body).map_err(|e| format!("GET {url} answered no JSON ({e}): {body}"))
    }

    /// Waits (up to [`API_LIMIT`]) until a long poll of `token` is (or is no longer) pending.
    pub fn wait_for_long_poll(&self, token: &str, pending: bool) -> Result<()> {
        let mut failed = None;
        let seen = wait_until(API_LIMIT, || match self.try_stats(token) {
            Ok(stats) => stats["long_poll_pending"] == pending,
            Err(e) => {
                failed = Some(e);
                true
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if seen {
            return Ok(());
        }
        let what = if pending {
            "starts polling"
        } else {
            "stops polling"
        };
        Err(format!(
            "the fake Bot API saw no poller that {what} within {} s",
            API_LIMIT.as_secs()
        ))
    }
}

impl Drop for BotApi {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}
