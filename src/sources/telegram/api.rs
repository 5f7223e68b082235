//! The Bot API client: one call at a time, each with a time limit that Ctrl-C cuts short.
//!
//! The token is part of every URL, so every error that leaves this module is redacted.

use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;

use super::Token;
use crate::interrupt;
use crate::outside::Outside;

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
        retry_after: Duration,
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

impl std::error::Error for ApiError {}

/// A Bot API failure inside a workflow is a failed step; Ctrl-C is not a failure.
impl From<ApiError> for crate::error::Error {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Interrupted => crate::error::Error::Interrupted,
            other => crate::error::Error::failed(other, None),
        }
    }
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
                    "Telegram says too many requests; retry after {}s",
                    retry_after.as_secs()
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
    pub last_error_date: Option<jiff::Timestamp>,
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
    crate::redact::register(token.secret());
    crate::redact::redact(text).into_owned()
}

impl BotApi {
    pub fn new(base: &str, token: Token, timeout: Duration) -> Self {
        crate::redact::register(token.secret());
        BotApi {
            base: base.trim_end_matches('/').to_string(),
            token,
            timeout,
        }
    }

    /// One Bot API call, waiting at most `limit`; Ctrl-C ends the wait.
    pub(super) fn call(
        &self,
        method: &str,
        params: &[(&str, String)],
        limit: Duration,
    ) -> Result<serde_json::Value, ApiError> {
        tracing::info!("Bot API: {method} {params:?}");
        let url = format!("{}/bot{}/{}", self.base, self.token.secret(), method);
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
                    .map_or(Duration::from_secs(1), Duration::from_secs),
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
            last_error_date: w
                .get("last_error_date")
                .and_then(|v| v.as_u64())
                .and_then(crate::time::from_unix),
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
            Err(ApiError::RateLimited { retry_after }) if retry_after <= self.timeout => {
                let until = std::time::Instant::now() + retry_after;
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
