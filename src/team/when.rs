//! Times as a person says them: "14:02 UTC", "2 h ago", and durations as botctl.toml writes
//! them.

use std::time::Duration;

use crate::time;

/// "14:02 UTC" today, "2026-11-30 14:02 UTC" before.
pub fn clock(at: u64) -> String {
    let full = time::rfc3339(at); // 2026-11-30T14:02:11Z
    let (date, rest) = full.split_once('T').unwrap_or((&full, ""));
    let hm = rest.get(..5).unwrap_or(rest);
    let today = time::rfc3339(time::now());
    if today.starts_with(date) {
        format!("{hm} UTC")
    } else {
        format!("{date} {hm} UTC")
    }
}

/// A duration as botctl.toml writes it: "12h", "90m".
pub fn span(d: Duration) -> String {
    match d.as_secs() {
        n if n % 3600 == 0 => format!("{}h", n / 3600),
        n if n % 60 == 0 => format!("{}m", n / 60),
        n => format!("{n}s"),
    }
}

/// "just now", "5 min ago", "2 h ago", "3 d ago".
pub fn ago(at: u64) -> String {
    let secs = time::now().saturating_sub(at);
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..172_800 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_a_person_says_them() {
        let now = time::now();
        assert_eq!(ago(now), "just now");
        assert_eq!(ago(now - 300), "5 min ago");
        assert_eq!(ago(now - 7300), "2 h ago");
        assert_eq!(ago(now - 3 * 86_400), "3 d ago");
        assert!(clock(now).ends_with(" UTC") && clock(now).len() == 9);
        assert!(clock(now - 3 * 86_400).len() > 9);
    }
}
