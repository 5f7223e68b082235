//! Which flyctl is installed: what it does to stopped machines depends on it.

use super::{FlyError, Flyctl, process};

/// A flyctl release, `v0.4.87`: what it does to stopped machines depends on it
/// (reference/flyctl.md: `fly deploy` leaves them stopped only since v0.4.20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlyctlVersion(pub u32, pub u32, pub u32);

/// The first flyctl whose `fly deploy` and `fly secrets set` leave stopped machines stopped.
pub const KEEPS_STOPPED_SINCE: FlyctlVersion = FlyctlVersion(0, 4, 20);

impl std::fmt::Display for FlyctlVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.0, self.1, self.2)
    }
}

impl FlyctlVersion {
    /// `flyctl v0.4.87 linux/amd64 Commit: …` (also `fly v…` and a bare `0.4.87`).
    pub fn parse(text: &str) -> Option<FlyctlVersion> {
        let word = text.split_whitespace().find(|w| {
            w.trim_start_matches('v')
                .starts_with(|c: char| c.is_ascii_digit())
        })?;
        let mut parts = word
            .trim_start_matches('v')
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().ok());
        Some(FlyctlVersion(
            parts.next()??,
            parts.next()??,
            parts.next()??,
        ))
    }
}

impl Flyctl {
    /// `flyctl version`, read.
    pub fn version(&self) -> Result<FlyctlVersion, FlyError> {
        let out = self.call(&["version"], self.timeout)?;
        FlyctlVersion::parse(&out).ok_or_else(|| FlyError::BadOutput {
            command: "flyctl version".into(),
            message: crate::outside::shown(&process::quote(out.trim())).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = FlyctlVersion::parse("flyctl v0.4.10 linux/amd64 Commit: 1a2b BuildDate: x");
        assert_eq!(v, Some(FlyctlVersion(0, 4, 10)));
        assert!(v.unwrap() < KEEPS_STOPPED_SINCE);
        assert!(FlyctlVersion(0, 4, 87) > KEEPS_STOPPED_SINCE);
        assert_eq!(
            FlyctlVersion::parse("fly v0.3.1"),
            Some(FlyctlVersion(0, 3, 1))
        );
        assert_eq!(FlyctlVersion::parse("nothing here"), None);
        assert_eq!(KEEPS_STOPPED_SINCE.to_string(), "v0.4.20");
    }
}
