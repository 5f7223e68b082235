//! Timestamps as botctl keeps them (seconds since the epoch) and as it shows them (RFC 3339,
//! UTC), through jiff: offsets such as `+05:00` are honoured, not read as UTC.

use jiff::Timestamp;

pub fn now() -> u64 {
    u64::try_from(Timestamp::now().as_second()).unwrap_or(0)
}

pub fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .map(|t| t.to_string())
        .unwrap_or_else(|| format!("{secs}s after the epoch"))
}

/// Parses an RFC 3339 stamp with `Z` or an offset; fractions of a second are dropped.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let t: Timestamp = s.trim().parse().ok()?;
    u64::try_from(t.as_second()).ok()
}

/// The current time, to the second (as botctl writes and shows times).
pub fn now_stamp() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Seconds since the epoch as a [`Timestamp`] (the epoch itself when out of range).
pub fn stamp_of(secs: u64) -> Timestamp {
    i64::try_from(secs)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A [`Timestamp`] as seconds since the epoch (0 before it).
pub fn secs_of(t: Timestamp) -> u64 {
    u64::try_from(t.as_second()).unwrap_or(0)
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

    #[test]
    fn round_trip() {
        let t = parse_rfc3339("2026-11-24T10:02:11Z").unwrap();
        assert_eq!(rfc3339(t), "2026-11-24T10:02:11Z");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.123Z")
                .map(rfc3339)
                .unwrap(),
            "2024-02-29T12:00:00Z"
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn offsets_are_honoured() {
        assert_eq!(
            parse_rfc3339("2026-11-24T15:02:11+05:00").map(rfc3339),
            Some("2026-11-24T10:02:11Z".into())
        );
    }
}
