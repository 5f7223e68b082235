//! Fake Fly machines of a webhook bot: the fake flyctl runs tests/fakes/webhook_bot.py on them
//! when they start (as it runs a poller), serving Telegram's posts on a loopback port.

use serde_json::{Value, json};

use crate::{BotApi, fake, system_python};

/// What the bot on the machine does with its webhook at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtStart {
    /// Calls setWebhook with its url and secret, as python-telegram-bot's run_webhook does.
    SetsItsWebhook,
    /// Never sets it, as grammY's webhookCallback and aiogram do.
    LeavesItAlone,
}

/// A machine (`state`, no autostart) whose bot serves `hook_port` and checks `secret`.
pub fn webhook_machine(
    id: &str,
    state: &str,
    api: &BotApi,
    token: &str,
    hook_port: u16,
    secret: &str,
    at_start: AtStart,
) -> Value {
    json!({
        "id": id, "state": state, "region": "ams", "autostart": false,
        "start_delay": 1, "stop_delay": 1,
        "poller": [system_python().display().to_string(), fake("webhook_bot.py").display().to_string()],
        "poller_env": {
            "BOT_TOKEN": token,
            "BOTAPI_URL": api.url(),
            "WEBHOOK_URL": hook_url(hook_port),
            "WEBHOOK_PORT": hook_port.to_string(),
            "WEBHOOK_SECRET": secret,
            "SETS_WEBHOOK": if at_start == AtStart::SetsItsWebhook { "1" } else { "0" },
        },
    })
}

/// The webhook URL of a bot serving `port`.
pub fn hook_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/telegram")
}
