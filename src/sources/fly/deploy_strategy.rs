//! `fly deploy`'s strategies and what each does to a bot's machines (reference/flyctl.md,
//! "Deploy strategies"): the one text doctor's `deploy` finding and `botctl deploy` both say.

/// A strategy as flyctl names it (`validation.go`: canary, rolling, immediate, bluegreen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Rolling,
    Immediate,
    Bluegreen,
    Canary,
    /// A name flyctl would refuse; kept as written.
    Other(String),
}

impl Strategy {
    pub fn parse(name: &str) -> Strategy {
        match name.trim() {
            "rolling" => Strategy::Rolling,
            "immediate" => Strategy::Immediate,
            "bluegreen" => Strategy::Bluegreen,
            "canary" => Strategy::Canary,
            other => Strategy::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::Immediate => "immediate",
            Strategy::Bluegreen => "bluegreen",
            Strategy::Canary => "canary",
            Strategy::Other(s) => s,
        }
    }

    /// It boots a machine beside the running ones (or starts one when all are stopped): two
    /// pollers of one token for a while, on every deploy.
    pub fn overlaps(&self) -> bool {
        matches!(self, Strategy::Bluegreen | Strategy::Canary)
    }

    /// What it does to a bot's machines, in a sentence.
    pub fn what_it_does(&self) -> &'static str {
        match self {
            Strategy::Rolling => {
                "rolling updates each machine in place, one at a time: the old VM stops before \
the new one boots, and a stopped machine stays stopped (flyctl v0.4.20 or newer)"
            }
            Strategy::Immediate => {
                "immediate updates every machine in place at once, without waiting for health \
checks: the old VM stops before the new one boots, and a stopped machine stays stopped (flyctl \
v0.4.20 or newer)"
            }
            Strategy::Bluegreen => {
                "bluegreen boots a new machine beside every running one and destroys the old \
ones after the health checks: old and new poll together for tens of seconds on every deploy, \
and since flyctl v0.4.80 it starts one new machine per process group even when every machine \
was stopped"
            }
            Strategy::Canary => {
                "canary boots one extra machine per process group first (metadata fly_canary), \
even when every machine is stopped, and destroys it after its health checks: an extra poller \
for that long, then a rolling update"
            }
            Strategy::Other(_) => "flyctl does not know this strategy and refuses the deploy",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `--strategy` in `flyctl deploy`'s arguments (`--strategy X` or `--strategy=X`).
pub fn from_args(args: &[String]) -> Option<Strategy> {
    args.iter().enumerate().find_map(|(i, a)| {
        if a == "--strategy" {
            args.get(i + 1).map(|v| Strategy::parse(v))
        } else {
            a.strip_prefix("--strategy=").map(Strategy::parse)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_from_args_and_names() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            from_args(&args(&["--remote-only", "--strategy", "canary"])),
            Some(Strategy::Canary)
        );
        assert_eq!(
            from_args(&args(&["--strategy=bluegreen"])),
            Some(Strategy::Bluegreen)
        );
        assert_eq!(from_args(&args(&["--image", "x"])), None);
        assert!(Strategy::parse("bluegreen").overlaps());
        assert!(!Strategy::parse("rolling").overlaps());
        assert_eq!(Strategy::parse("odd"), Strategy::Other("odd".into()));
    }
}
