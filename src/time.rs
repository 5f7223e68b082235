//! Times: every point in time is a jiff [`Timestamp`], every span a [`Duration`] or a
//! [`SignedDuration`]. Here only what jiff does not do: botctl's precision (the second, where
//! it writes or shows a time), and times as a person says them ("14:02 UTC", "2 h ago").
//! Offsets such as `+05:00` are honoured, not read as UTC.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// The current time, to the second (as botctl writes and shows times).
pub fn now() -> Timestamp {
    to_the_second(Timestamp::now())
}

/// `t` without its fraction of a second: shown as `2026-11-24T10:02:11Z`.
pub fn to_the_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// Parses an RFC 3339 stamp with `Z` or an offset; fractions of a second are dropped.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let t: Timestamp = s.trim().parse().ok()?;
    Some(to_the_second(t))
}

/// Seconds since the epoch, as Telegram and `/proc` count them.
pub fn from_unix(secs: u64) -> Option<Timestamp> {
    Timestamp::from_second(i64::try_from(secs).ok()?).ok()
}

/// How long from `from` to `to`; zero when `to` is not after it (a clock set back).
pub fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or_default()
}

/// How long ago `at` was (negative for a time ahead of now).
pub fn since(at: Timestamp) -> SignedDuration {
    now().duration_since(at)
}

/// "14:02 UTC" today, "2026-11-30 14:02 UTC" before.
pub fn clock(at: Timestamp) -> String {
    let full = to_the_second(at).to_string(); // 2026-11-30T14:02:11Z
    let (date, rest) = full.split_once('T').unwrap_or((&full, ""));
    let hm = rest.get(..5).unwrap_or(rest);
    let today = now().to_string();
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
pub fn ago(at: Timestamp) -> String {
    // Both to the second, as botctl shows them: a fraction never moves a line across a unit.
    let secs = since(to_the_second(at)).as_secs().max(0);
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..172_800 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// A [`Timestamp`] in a file as RFC 3339 text (`2026-11-24T10:02:11Z`): `#[serde(with)]`.
pub mod stamp {
    use jiff::Timestamp;

    pub fn serialize<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.trim().parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: i64) -> SignedDuration {
        SignedDuration::from_secs(n)
    }

    #[test]
    fn round_trip() {
        let t = parse_rfc3339("2026-11-24T10:02:11Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-24T10:02:11Z");
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00Z"),
            Some(Timestamp::UNIX_EPOCH)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.123Z")
                .unwrap()
                .to_string(),
            "2024-02-29T12:00:00Z"
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(from_unix(0), Some(Timestamp::UNIX_EPOCH));
    }

    #[test]
    fn offsets_are_honoured() {
        assert_eq!(
            parse_rfc3339("2026-11-24T15:02:11+05:00").map(|t| t.to_string()),
            Some("2026-11-24T10:02:11Z".into())
        );
    }

    #[test]
    fn ages_read_like_a_person_says_them() {
        let now = now();
        assert_eq!(ago(now), "just now");
        assert_eq!(ago(now - secs(300)), "5 min ago");
        assert_eq!(ago(now - secs(7300)), "2 h ago");
        assert_eq!(ago(now - secs(3 * 86_400)), "3 d ago");
        assert!(clock(now).ends_with(" UTC") && clock(now).len() == 9);
        assert!(clock(now - secs(3 * 86_400)).len() > 9);
    }
}
