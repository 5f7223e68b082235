//! Picking a test's facts out of botctl's JSON (`status --json`, `doctor --json`).

use serde_json::Value;

/// The object of `bots` (status --json) named `name`.
pub fn bot<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["bots"]
        .as_array()
        .and_then(|bots| bots.iter().find(|b| b["name"] == name))
        .unwrap_or_else(|| panic!("no bot {name:?} in {status:#}"))
}

/// Pids listed under `local` of a bot object.
pub fn local_pids(bot: &Value) -> Vec<u32> {
    bot["local"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|i| i["pid"].as_u64())
                .map(|p| p as u32)
                .collect()
        })
        .unwrap_or_default()
}

/// The keys of a JSON object, in order.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// doctor --json findings with this check (and bot, when given).
pub fn findings<'a>(doctor: &'a Value, check: &str, bot: Option<&str>) -> Vec<&'a Value> {
    doctor["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {doctor:#}"))
        .iter()
        .filter(|f| f["check"] == check)
        .filter(|f| bot.is_none_or(|b| f["bot"] == b))
        .collect()
}
