//! A webhook bot's webhook (`mode = "webhook"`): what dev-start records before it deletes the
//! webhook, and the `secret_token` deploy-resume sets it again with.
//!
//! `getWebhookInfo` never returns the secret token nor the certificate (reference/telegram.md,
//! "Webhooks"), so a webhook can only be set again whole from the bot's own configuration:
//! the url, `max_connections` and `allowed_updates` from Telegram, the secret from
//! `webhook_secret_env`.

use serde::{Deserialize, Serialize};

use crate::config::Bot;
use crate::outside::Outside;
use crate::sources::telegram::{ApiError, BotApi, DotEnv, WebhookInfo};

/// The webhook as it was, enough to set it again (the secret aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// From botctl.toml or Telegram; outside text either way, shown escaped.
    pub url: Outside,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<Outside>>,
}

impl Webhook {
    /// The webhook to restore: `webhook_url` when botctl.toml names one, else the url found;
    /// the rest as Telegram reports it.
    pub fn from_info(bot: &Bot, info: &WebhookInfo) -> Option<Webhook> {
        let url = bot
            .webhook_url
            .as_deref()
            .map(Outside::from)
            .or_else(|| Some(info.url.clone()).filter(|u| !u.is_empty()))?;
        Some(Webhook {
            url,
            max_connections: info.max_connections,
            allowed_updates: info.allowed_updates.clone(),
        })
    }

    /// The webhook botctl.toml names, with Telegram's defaults for the rest.
    pub fn configured(bot: &Bot) -> Option<Webhook> {
        Some(Webhook {
            url: bot.webhook_url.as_deref()?.into(),
            max_connections: None,
            allowed_updates: None,
        })
    }

    /// Sets it again, as the bot's own configuration would; never `drop_pending_updates`.
    pub fn set(&self, api: &BotApi, secret: Option<&Secret>) -> Result<(), ApiError> {
        let mut params = vec![("url", self.url.raw().to_string())];
        if let Some(n) = self.max_connections {
            params.push(("max_connections", n.to_string()));
        }
        if let Some(list) = &self.allowed_updates {
            params.push((
                "allowed_updates",
                serde_json::to_string(list).expect("a list of strings serializes"),
            ));
        }
        if let Some(secret) = secret {
            params.push(("secret_token", secret.value().to_string()));
        }
        api.set_webhook(&params)
    }

    /// For a person: the url (escaped) and what goes with it.
    pub fn describe(&self) -> String {
        let mut s = self.url.to_string();
        if let Some(n) = self.max_connections {
            s.push_str(&format!(", max_connections {n}"));
        }
        if let Some(list) = &self.allowed_updates {
            let list: Vec<String> = list.iter().map(ToString::to_string).collect();
            s.push_str(&format!(", allowed_updates [{}]", list.join(", ")));
        }
        s
    }
}

/// A webhook's `secret_token`. Registered for redaction the moment it exists, and its `Debug`
/// hides it: it never reaches output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    fn new(value: &str) -> Secret {
        crate::redact::register(value);
        Secret(value.to_string())
    }

    pub fn value(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where the secret was looked for, and what was found.
#[derive(Debug, Clone)]
pub enum SecretLookup {
    Found(Secret),
    /// `webhook_secret_env` names a variable that neither the environment nor .env has.
    Missing {
        var: String,
        why: String,
    },
    /// No `webhook_secret_env`: the webhook is set without a secret.
    NotConfigured,
}

/// The secret from the environment, else `.env` — as the token is read.
pub fn secret_for(bot: &Bot, dotenv: &DotEnv) -> SecretLookup {
    let Some(var) = &bot.webhook_secret_env else {
        return SecretLookup::NotConfigured;
    };
    let from_env = std::env::var(var).ok();
    let value = from_env
        .as_deref()
        .or_else(|| dotenv.get(var))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match value {
        Some(v) => SecretLookup::Found(Secret::new(v)),
        None => SecretLookup::Missing {
            var: var.clone(),
            why: match dotenv.problem() {
                Some(problem) => format!("{var} is not in the environment, and {problem}"),
                None => format!("{var} is in neither the environment nor .env"),
            },
        },
    }
}

/// What `getWebhookInfo` says about a webhook bot's webhook, judged against what it must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// Set, where it must be (or where it is, when botctl.toml names no url).
    Set,
    /// No webhook: a polling copy deleted it (or dev-start did, for a handoff).
    Missing,
    /// Set, but not to `webhook_url`.
    Elsewhere { want: String },
}

pub fn judge(bot: &Bot, info: &WebhookInfo) -> Judgement {
    if info.url.is_empty() {
        return Judgement::Missing;
    }
    match &bot.webhook_url {
        Some(want) if want != info.url.raw() => Judgement::Elsewhere { want: want.clone() },
        _ => Judgement::Set,
    }
}

/// What each framework does with the webhook when it starts (reference/telegram.md).
pub const FRAMEWORKS: &str = "a polling copy deleted it: python-telegram-bot, grammY and \
Telegraf delete the webhook when they start polling";

/// The command that sets the webhook by hand, naming the variables, never their values.
pub fn set_webhook_fix(api: &str, bot: &Bot, url: &str) -> crate::fix::Fix {
    crate::fix::Fix::set_webhook(
        api,
        bot.token_env.as_deref(),
        url,
        bot.webhook_secret_env.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_never_shown() {
        let s = Secret::new("webhook-secret-for-test-only");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(!crate::redact::redact("x webhook-secret-for-test-only y").contains("secret-for"));
    }
}
