//! Durations in botctl.toml and on the command line: how they are written, and the bounds
//! each key accepts.

use std::time::Duration;

/// What a duration key accepts: a wait of hours is a typo, and zero is no wait at all.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The key, as the error names it.
    pub name: &'static str,
    pub default: Duration,
    pub min: Duration,
    pub max: Duration,
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const fn bounds(name: &'static str, default: u64, min: u64, max: u64) -> Bounds {
    Bounds {
        name,
        default: secs(default),
        min: secs(min),
        max: secs(max),
    }
}

pub const FLY_WAIT: Bounds = bounds("wait", 90, 1, 30 * 60);
pub const FLY_TIMEOUT: Bounds = bounds("timeout", 30, 1, 10 * 60);
/// [fly] deploy_timeout: a build and a release take minutes, a stuck one ends here.
pub const DEPLOY_TIMEOUT: Bounds = bounds("deploy_timeout", 15 * 60, 1, 3 * 3600);
pub const PROBE: Bounds = bounds("probe", 12, 1, 5 * 60);
pub const TELEGRAM_TIMEOUT: Bounds = bounds("timeout", 15, 1, 5 * 60);
/// [[host]] timeout: one ssh round trip, connection included.
pub const HOST_TIMEOUT: Bounds = bounds("timeout", 15, 1, 5 * 60);
/// [local] respawn: zero means "scan once right away", which is a choice.
pub const RESPAWN: Bounds = bounds("respawn", 5, 0, 10 * 60);
/// dev-stop --grace: zero means SIGKILL at once, which is a choice, not a typo.
pub const GRACE: Bounds = bounds("--grace", 10, 0, 10 * 60);
/// [team] stale: from a minute (a test, a strict team) to a month.
pub const TEAM_STALE: Bounds = bounds("stale", 12 * 3600, 60, 31 * 86_400);
/// [watch] local: this machine's processes; a scan costs milliseconds.
pub const WATCH_LOCAL: Bounds = Bounds {
    name: "local",
    default: secs(1),
    min: Duration::from_millis(200),
    max: secs(10 * 60),
};
/// [watch] fly: one `machine list` per app per period.
pub const WATCH_FLY: Bounds = bounds("fly", 10, 1, 60 * 60);
/// [watch] hosts: one ssh round trip per host per period.
pub const WATCH_HOSTS: Bounds = bounds("hosts", 30, 1, 60 * 60);
/// [watch] platform: one read of a bot's other platform per period.
pub const WATCH_PLATFORM: Bounds = bounds("platform", 10, 1, 60 * 60);
/// [kubernetes] / [heroku] / [railway] timeout: one call of that platform's CLI.
pub const PLATFORM_TIMEOUT: Bounds = bounds("timeout", 15, 1, 10 * 60);
/// watch --for.
pub const WATCH_FOR: Bounds = bounds("--for", 0, 1, 7 * 24 * 60 * 60);

/// A duration botctl.toml or the command line gives that botctl cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Not in the compact form ("90s", "1m30s"), or too large.
    NotADuration {
        text: String,
    },
    Negative {
        text: String,
    },
    /// Outside what the setting allows.
    OutOfBounds {
        name: &'static str,
        min: Duration,
        max: Duration,
        text: String,
    },
}

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DurationError::NotADuration { text } => write!(
                f,
                "{text:?} is not a duration; write it like \"90s\", \"2m\" or \"500ms\""
            ),
            DurationError::Negative { text } => write!(f, "{text:?} is negative"),
            DurationError::OutOfBounds {
                name,
                min,
                max,
                text,
            } => write!(
                f,
                "{name} must be between {} and {}, not {text:?}",
                show(*min),
                show(*max)
            ),
        }
    }
}

impl std::error::Error for DurationError {}

impl Bounds {
    pub fn parse(&self, s: &str) -> Result<Duration, DurationError> {
        let d = parse_duration(s)?;
        if d < self.min || d > self.max {
            return Err(DurationError::OutOfBounds {
                name: self.name,
                min: self.min,
                max: self.max,
                text: s.to_string(),
            });
        }
        Ok(d)
    }
}

/// A duration as a person writes it ("90s", "30m").
fn show(d: Duration) -> String {
    match d.as_secs() {
        0 => "0s".into(),
        n if n % 60 == 0 => format!("{}m", n / 60),
        n => format!("{n}s"),
    }
}

/// "90s", "2m", "1m30s", "500ms", "1h" (jiff's friendly format); no negative or overflowing
/// values, and a bare number is refused (seconds or minutes?).
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let bad = || DurationError::NotADuration {
        text: s.to_string(),
    };
    let text = s.trim();
    // The compact form only ("1m30s"): botctl.toml's durations read alike everywhere.
    if text.is_empty()
        || text.chars().all(|c| c.is_ascii_digit())
        || text.contains(char::is_whitespace)
    {
        return Err(bad());
    }
    let signed: jiff::SignedDuration = text.parse().map_err(|_| bad())?;
    if signed.is_negative() {
        return Err(DurationError::Negative {
            text: s.to_string(),
        });
    }
    Duration::try_from(signed).map_err(|_| bad())
}
