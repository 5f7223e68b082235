//! Telegram itself, through the Bot API (reference/telegram.md): is the token valid, is a
//! webhook set, and — with the probe — is anybody else polling right now.
//!
//! The token is part of every URL, so every error that leaves this module is redacted.

use crate::outside::Outside;
use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::Bot;
use crate::interrupt;

/// A bot token. Its `Debug` never shows it, so it cannot leak through a panic or a trace.
#[derive(Clone, PartialEq)]
pub struct Token(String);

impl Token {
    /// Every token botctl holds is registered for redaction the moment it exists.
    pub fn new(s: impl Into<String>) -> Self {
        let token = Token(s.into());
        crate::redact::register(&token.0);
        token
    }
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Variables from `.env` in the project root, read once per run.
#[derive(Debug, Default, Clone)]
pub struct DotEnv {
    vars: HashMap<String, String>,
    /// Why .env could not be read whole, when it could not.
    problem: Option<DotEnvProblem>,
}

/// Why `.env` could not be read whole: its path and, for text that does not parse, the line.
/// It holds no text of the file, so no error about it can quote a secret (the parser's own
/// error holds the rest of the file from the bad line on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotEnvProblem {
    path: std::path::PathBuf,
    why: DotEnvWhy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DotEnvWhy {
    TooLarge,
    /// The file could not be read (the reader's error names no content).
    Unreadable(crate::files::FileError),
    NotUtf8 {
        line: usize,
    },
    /// A quote opened on `line` is never closed.
    Unclosed {
        line: usize,
    },
    NotParsed {
        line: usize,
    },
}

impl std::fmt::Display for DotEnvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display();
        match &self.why {
            DotEnvWhy::TooLarge => write!(f, "{path} is too large for a dotenv file (over 1 MiB)"),
            DotEnvWhy::Unreadable(e) => write!(f, "{path} cannot be read: {e}"),
            DotEnvWhy::NotUtf8 { line } => {
                write!(f, "{path} cannot be parsed: line {line} is not UTF-8")
            }
            DotEnvWhy::Unclosed { line } => write!(
                f,
                "{path} cannot be parsed: the quote opened on line {line} is never closed"
            ),
            DotEnvWhy::NotParsed { line } => write!(
                f,
                "{path} cannot be parsed: line {line} is not VAR=value (its text is not shown: \
.env holds secrets)"
            ),
        }
    }
}

/// A .env larger than this is not a dotenv file anyone wrote by hand.
const DOTENV_MAX: u64 = 1 << 20;

impl DotEnv {
    pub fn load(root: &Path) -> Self {
        let path = root.join(".env");
        let unreadable = |why: DotEnvWhy| DotEnv {
            vars: HashMap::new(),
            problem: Some(DotEnvProblem {
                path: path.clone(),
                why,
            }),
        };
        let bytes = match crate::files::read_bytes(&path, DOTENV_MAX) {
            Ok(bytes) => bytes,
            Err(e) if e.is_missing() => return DotEnv::default(),
            // Many projects name their virtualenv `.env`; a FIFO would block for ever.
            Err(e @ crate::files::FileError::NotRegular { .. }) => {
                tracing::info!(
                    "{} {e} (a virtualenv folder?): not read as a dotenv file",
                    path.display()
                );
                return DotEnv::default();
            }
            Err(crate::files::FileError::TooLarge { .. }) => {
                return unreadable(DotEnvWhy::TooLarge);
            }
            Err(e) => return unreadable(DotEnvWhy::Unreadable(e)),
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                return unreadable(DotEnvWhy::NotUtf8 {
                    line: line_at(&bytes, e.valid_up_to()),
                });
            }
        };
        let mut vars = HashMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((k, v)) => {
                    vars.insert(k, v);
                }
                Err(e) => {
                    return DotEnv {
                        vars,
                        problem: Some(DotEnvProblem {
                            path,
                            why: parse_error_line(text, &e),
                        }),
                    };
                }
            }
        }
        DotEnv {
            vars,
            problem: None,
        }
    }
}

/// The 1-based line of byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Where dotenvy's error is, as a line number: its error carries the text of the logical line
/// (for an unclosed quote, the rest of the file), which is located in `text` and never kept.
fn parse_error_line(text: &str, e: &dotenvy::Error) -> DotEnvWhy {
    let dotenvy::Error::LineParse(quoted, index) = e else {
        return DotEnvWhy::NotParsed { line: 1 };
    };
    // An unclosed quote: the reader hit the end of the file with the rest of it in hand.
    if *index == quoted.len() && !quoted.is_empty() && text.ends_with(quoted.as_str()) {
        return DotEnvWhy::Unclosed {
            line: line_at(text.as_bytes(), text.len() - quoted.len()),
        };
    }
    // Else the first line that starts with the logical line: an identical line before it
    // would have failed first.
    let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
    let start = starts
        .into_iter()
        .find(|&i| text[i..].starts_with(quoted.as_str()))
        .unwrap_or(0);
    DotEnvWhy::NotParsed {
        line: line_at(text.as_bytes(), start + index.min(&quoted.len())),
    }
}

/// Where a bot's token was found: the environment wins over `.env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFrom {
    Environment,
    DotEnv,
}

impl std::fmt::Display for TokenFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenFrom::Environment => "the environment",
            TokenFrom::DotEnv => ".env",
        })
    }
}

#[derive(Debug, Clone)]
pub enum TokenLookup {
    Found {
        token: Token,
        from: TokenFrom,
    },
    /// `token_env` is set but neither the environment nor .env has it.
    Missing {
        var: String,
        /// .env could not be read whole, so the variable may be in it.
        dotenv_problem: Option<DotEnvProblem>,
    },
    /// The bot has no `token_env`.
    NotConfigured,
}

pub fn token_for(bot: &Bot, dotenv: &DotEnv) -> TokenLookup {
    let Some(var) = &bot.token_env else {
        return TokenLookup::NotConfigured;
    };
    if let Some(v) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
        return TokenLookup::Found {
            token: Token::new(v.trim()),
            from: TokenFrom::Environment,
        };
    }
    match dotenv.vars.get(var).filter(|v| !v.trim().is_empty()) {
        Some(v) => TokenLookup::Found {
            token: Token::new(v.trim()),
            from: TokenFrom::DotEnv,
        },
        None => TokenLookup::Missing {
            var: var.clone(),
            dotenv_problem: dotenv.problem.clone(),
        },
    }
}

impl TokenLookup {
    /// For a missing token: why, and the command that fixes it. Appending to a .env that
    /// cannot be parsed would not help, so then the fix is to repair it.
    pub fn missing(&self) -> Option<(String, String)> {
        let TokenLookup::Missing {
            var,
            dotenv_problem,
        } = self
        else {
            return None;
        };
        Some(match dotenv_problem {
            Some(problem) => (
                format!("{var} is not in the environment, and {problem}"),
                format!(
                    "fix .env so that it parses (one VAR=value per line), with \
{var}=<token from @BotFather>"
                ),
            ),
            None => (
                format!("{var} is in neither the environment nor .env"),
                format!("echo '{var}=<token from @BotFather>' >> .env"),
            ),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConflictKind {
    /// Another getUpdates poller is alive.
    OtherPoller,
    /// A webhook is set, so getUpdates cannot be used.
    Webhook,
    /// Somebody called setWebhook while we polled.
    SetWebhook,
    Other(Outside),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The Bot API's words (its `description`) and the network's are outside text.
    Unauthorized(Outside),
    Conflict(ConflictKind),
    RateLimited {
        retry_after: u64,
    },
    Status {
        code: u16,
        description: Outside,
    },
    NotJson {
        status: u16,
        snippet: Outside,
    },
    Network(Outside),
    Interrupted,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unauthorized(d) => write!(
                f,
                "Telegram rejects the token ({d}): it is wrong or was \
revoked; get the current one from @BotFather"
            ),
            ApiError::Conflict(ConflictKind::OtherPoller) => write!(
                f,
                "409 Conflict: terminated by other getUpdates request (another poller is running)"
            ),
            ApiError::Conflict(ConflictKind::Webhook) => write!(
                f,
                "409 Conflict: a webhook is set, so long polling cannot work"
            ),
            ApiError::Conflict(ConflictKind::SetWebhook) => {
                write!(f, "409 Conflict: terminated by setWebhook request")
            }
            ApiError::Conflict(ConflictKind::Other(d)) => write!(f, "409 {d}"),
            ApiError::RateLimited { retry_after } => {
                write!(
                    f,
                    "Telegram says too many requests; retry after {retry_after}s"
                )
            }
            ApiError::Status { code, description } => {
                write!(f, "the Bot API answered {code}: {description}")
            }
            ApiError::NotJson { status, snippet } => write!(
                f,
                "the Bot API answered HTTP {status} with something that is \
not the Bot API's JSON ({snippet}); a proxy or the server is \
failing"
            ),
            ApiError::Network(m) => write!(f, "cannot reach the Bot API: {m}"),
            ApiError::Interrupted => write!(f, "interrupted"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookInfo {
    pub url: Outside,
    pub pending_update_count: u64,
    pub last_error_message: Option<Outside>,
    pub last_error_date: Option<u64>,
    /// A certificate was uploaded with it: botctl cannot upload it again.
    pub has_custom_certificate: bool,
    pub max_connections: Option<u32>,
    pub allowed_updates: Option<Vec<Outside>>,
}

#[derive(Clone)]
pub struct BotApi {
    base: String,
    token: Token,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: serde_json::Value,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<Outside>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// The token and every token-shaped string masked (see `crate::redact`).
pub fn redact(text: &str, token: &Token) -> String {
    crate::redact::register(&token.0);
    crate::redact::redact(text).into_owned()
}

impl BotApi {
    pub fn new(base: &str, token: Token, timeout: Duration) -> Self {
        crate::redact::register(&token.0);
        BotApi {
            base: base.trim_end_matches('/').to_string(),
            token,
            timeout,
        }
    }

    /// One Bot API call, waiting at most `limit`; Ctrl-C ends the wait.
    fn call(
        &self,
        method: &str,
        params: &[(&str, String)],
        limit: Duration,
    ) -> Result<serde_json::Value, ApiError> {
        tracing::info!("Bot API: {method} {params:?}");
        let url = format!("{}/bot{}/{}", self.base, self.token.0, method);
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let token = self.token.clone();
        let (tx, rx) = mpsc::channel();
        // A plain thread, so that Ctrl-C need not wait for a long poll to end.
        std::thread::spawn(move || {
            let _ = tx.send(request(&url, &params, limit).map_err(|e| redact(&e, &token)));
        });
        let answer = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(answer) => break answer,
                Err(mpsc::RecvTimeoutError::Timeout) if interrupt::requested() => {
                    return Err(ApiError::Interrupted);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(ApiError::Network("request thread ended".into()));
                }
            }
        };
        let (status, retry_header, body) =
            answer.map_err(|e| ApiError::Network(Outside::from(e)))?;
        let envelope: Envelope = serde_json::from_str(&body).map_err(|_| ApiError::NotJson {
            status,
            snippet: snippet(&redact(&body, &self.token)).into(),
        })?;
        if envelope.ok {
            return Ok(envelope.result);
        }
        let code = envelope.error_code.unwrap_or(status);
        let description: Outside =
            redact(envelope.description.unwrap_or_default().raw(), &self.token).into();
        Err(match code {
            401 => ApiError::Unauthorized(description),
            409 => ApiError::Conflict(classify_conflict(description.raw())),
            429 => ApiError::RateLimited {
                retry_after: envelope
                    .parameters
                    .and_then(|p| p.retry_after)
                    .or(retry_header)
                    .unwrap_or(1),
            },
            _ => ApiError::Status { code, description },
        })
    }

    /// The bot's @username, as the Bot API says it: outside text.
    pub fn get_me(&self) -> Result<Outside, ApiError> {
        let me = self.call("getMe", &[], self.timeout)?;
        Ok(me
            .get("username")
            .and_then(|u| u.as_str())
            .unwrap_or("")
            .into())
    }

    pub fn webhook_info(&self) -> Result<WebhookInfo, ApiError> {
        let w = self.call("getWebhookInfo", &[], self.timeout)?;
        Ok(WebhookInfo {
            // Webhook URLs often carry the token as their path: never let it out.
            url: redact(
                w.get("url").and_then(|v| v.as_str()).unwrap_or(""),
                &self.token,
            )
            .into(),
            pending_update_count: w
                .get("pending_update_count")
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            last_error_message: w
                .get("last_error_message")
                .and_then(|v| v.as_str())
                .map(|m| redact(m, &self.token).into()),
            last_error_date: w.get("last_error_date").and_then(|v| v.as_u64()),
            has_custom_certificate: w
                .get("has_custom_certificate")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            max_connections: w
                .get("max_connections")
                .and_then(|v| v.as_u64())
                .and_then(|n| u32::try_from(n).ok()),
            allowed_updates: w
                .get("allowed_updates")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u.as_str().map(Outside::from))
                        .collect()
                }),
        })
    }

    /// The conflict probe: long polls with `limit=1`, never `offset`, never `allowed_updates`
    /// (both change the bot's state on Telegram's side), until `window` ends or a 409 comes.
    pub fn probe(&self, window: Duration) -> ProbeOutcome {
        let start = Instant::now();
        let deadline = start + window;
        let mut polls = 0;
        let mut updates_waiting = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < Duration::from_secs(1) {
                return ProbeOutcome::Clear {
                    listened: start.elapsed(),
                    polls,
                    updates_waiting,
                };
            }
            let timeout = (remaining.as_secs_f64().ceil() as u64).clamp(1, 50);
            polls += 1;
            let params = [("limit", "1".to_string()), ("timeout", timeout.to_string())];
            match self.call("getUpdates", &params, Duration::from_secs(timeout + 10)) {
                Ok(result) => {
                    if result.as_array().is_some_and(|a| !a.is_empty()) {
                        // Updates were waiting, so this call terminated nobody. Ask again.
                        updates_waiting = true;
                        std::thread::sleep(Duration::from_secs(1).min(remaining));
                    }
                }
                Err(ApiError::Conflict(ConflictKind::OtherPoller)) => {
                    return ProbeOutcome::OtherPoller {
                        after: start.elapsed(),
                    };
                }
                Err(ApiError::Conflict(ConflictKind::Webhook)) => return ProbeOutcome::Webhook,
                Err(ApiError::RateLimited { retry_after }) => {
                    std::thread::sleep(Duration::from_secs(retry_after).min(remaining));
                }
                Err(e) => return ProbeOutcome::Failed(e),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOutcome {
    OtherPoller {
        after: Duration,
    },
    Webhook,
    Clear {
        listened: Duration,
        polls: u32,
        updates_waiting: bool,
    },
    Failed(ApiError),
}

impl DotEnv {
    /// A variable from .env (not the environment), when .env holds it.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.vars.get(var).map(String::as_str)
    }

    /// Why .env could not be read whole, when it could not.
    pub fn problem(&self) -> Option<&DotEnvProblem> {
        self.problem.as_ref()
    }
}

/// Setting and deleting a webhook: only dev-start and deploy-resume of a webhook bot do it.
impl BotApi {
    /// `deleteWebhook` without `drop_pending_updates`: the waiting updates stay for the next
    /// poller (reference/telegram.md, "Webhooks").
    pub fn delete_webhook_keeping_updates(&self) -> Result<(), ApiError> {
        self.once_more_after_429(|| self.call("deleteWebhook", &[], self.timeout).map(|_| ()))
    }

    /// `setWebhook` with these parameters (`crate::sources::webhook` says which); never
    /// `drop_pending_updates`.
    pub fn set_webhook(&self, params: &[(&str, String)]) -> Result<(), ApiError> {
        self.once_more_after_429(|| self.call("setWebhook", params, self.timeout).map(|_| ()))
    }

    /// Telegram answers a second setWebhook within a second with 429 and `retry_after`
    /// (reference/telegram.md): wait that long, within the call's time limit, and try once
    /// more. Ctrl-C ends the wait.
    fn once_more_after_429(&self, call: impl Fn() -> Result<(), ApiError>) -> Result<(), ApiError> {
        match call() {
            Err(ApiError::RateLimited { retry_after })
                if Duration::from_secs(retry_after) <= self.timeout =>
            {
                let until = std::time::Instant::now() + Duration::from_secs(retry_after);
                while std::time::Instant::now() < until {
                    if crate::interrupt::requested() {
                        return Err(ApiError::Interrupted);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                call()
            }
            other => other,
        }
    }
}

/// The command that deletes a bot's webhook, naming the variable, never the token.
pub fn delete_webhook_fix(api: &str, token_env: Option<&str>) -> String {
    format!(
        "curl \"{api}/bot${}/deleteWebhook\"   # only if this bot should poll",
        token_env.unwrap_or("TOKEN")
    )
}

/// Said before every probe: the probe's long poll ends the other poller's request with a 409,
/// which Node's frameworks treat as fatal.
pub const PROBE_WARNING: &str = "The probe long-polls getUpdates; if another poller is alive, \
Telegram interrupts its current request once with a 409. \
python-telegram-bot and aiogram poll again; a Node bot on \
grammY or Telegraf stops polling and exits on that 409 and \
must be started again.";

fn classify_conflict(description: &str) -> ConflictKind {
    if description.contains("terminated by other getUpdates")
        || description.contains("terminated by other long poll")
    {
        ConflictKind::OtherPoller
    } else if description.contains("webhook is active") {
        ConflictKind::Webhook
    } else if description.contains("setWebhook") {
        ConflictKind::SetWebhook
    } else {
        ConflictKind::Other(description.into())
    }
}

fn snippet(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = flat.chars().take(80).collect();
    if flat.chars().count() > 80 {
        s.push('…');
    }
    s
}

/// (HTTP status, Retry-After, body) — errors are raw strings, redacted by the caller.
fn request(
    url: &str,
    params: &[(String, String)],
    limit: Duration,
) -> Result<(u16, Option<u64>, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limit))
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    for (k, v) in params {
        req = req.query(k, v);
    }
    let mut resp = req.call().map_err(|e| match e {
        ureq::Error::Timeout(_) => format!("no answer within {}s", limit.as_secs()),
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    })?;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    Ok((status, retry, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        let t = Token::new(format!("123:{}", "x".repeat(35)));
        let msg = format!("http://h/bot{}/getMe: refused", t.secret());
        assert_eq!(redact(&msg, &t), "http://h/bot<token>/getMe: refused");
        let other = format!("bot987654:{}/x", "Y".repeat(40));
        assert!(!redact(&other, &t).contains("YYYY"));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    /// A .env that does not parse is named by its line, never quoted: the parser's own error
    /// holds the rest of the file.
    #[test]
    fn a_dotenv_error_names_the_line_never_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &str); 3] = [
            (
                b"A=1\nB='halfvalue\nDATABASE_URL=postgres://u:hunter2@db/x\nHOOK=s3cr3t-hook\n",
                "the quote opened on line 2 is never closed",
            ),
            (
                b"A=1\n\nnot a pair s3cr3t-hook\nB=2\n",
                "line 3 is not VAR=value",
            ),
            (b"A=1\nB=\"x\"\nC=\xff s3cr3t-hook\n", "line 3 is not UTF-8"),
        ];
        for (text, want) in cases {
            std::fs::write(dir.path().join(".env"), text).unwrap();
            let problem = DotEnv::load(dir.path()).problem().unwrap().to_string();
            assert!(problem.contains(want), "{problem}");
            assert!(problem.contains(".env"), "{problem}");
            for secret in ["hunter2", "s3cr3t", "halfvalue", "not a pair"] {
                assert!(!problem.contains(secret), "{problem}");
            }
        }
    }

    #[test]
    fn conflicts() {
        assert_eq!(
            classify_conflict(
                "Conflict: terminated by other getUpdates request; make sure \
that only one bot instance is running"
            ),
            ConflictKind::OtherPoller
        );
        assert_eq!(
            classify_conflict(
                "Conflict: can't use getUpdates method while webhook is \
active; use deleteWebhook to delete the webhook first"
            ),
            ConflictKind::Webhook
        );
    }
}
