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

/// How bad a doctor finding is: its JSON `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// The doctor --json findings a test expects, narrowed by bot and message text, then checked by
/// [`one`](ExpectFinding::one), [`some`](ExpectFinding::some), [`none`](ExpectFinding::none)
/// or [`count`](ExpectFinding::count), each of which fails the test with every finding shown.
#[must_use = "nothing is checked until .one(), .some(), .none() or .count()"]
pub struct ExpectFinding<'a> {
    doctor: &'a Value,
    check: String,
    level: Level,
    bot: Option<String>,
    saying: Vec<String>,
}

/// `expect_finding(&doctor, "places", Level::Error).bot("partner").saying("pid").one()`.
pub fn expect_finding<'a>(doctor: &'a Value, check: &str, level: Level) -> ExpectFinding<'a> {
    ExpectFinding {
        doctor,
        check: check.to_string(),
        level,
        bot: None,
        saying: Vec::new(),
    }
}

impl<'a> ExpectFinding<'a> {
    /// Only the findings about this bot.
    pub fn bot(mut self, bot: &str) -> Self {
        self.bot = Some(bot.to_string());
        self
    }

    /// Only the findings whose message contains `text` (may be given more than once).
    pub fn saying(mut self, text: impl Into<String>) -> Self {
        self.saying.push(text.into());
        self
    }

    /// Exactly one finding matches: it.
    #[track_caller]
    pub fn one(self) -> &'a Value {
        self.count(1)[0]
    }

    /// At least one finding matches: those.
    #[track_caller]
    pub fn some(self) -> Vec<&'a Value> {
        let found = self.matching();
        assert!(!found.is_empty(), "expected {}", self.describe("some"));
        found
    }

    /// No finding matches.
    #[track_caller]
    pub fn none(self) {
        self.count(0);
    }

    /// Exactly `n` findings match: those.
    #[track_caller]
    pub fn count(self, n: usize) -> Vec<&'a Value> {
        let found = self.matching();
        assert_eq!(found.len(), n, "expected {}", self.describe(&n.to_string()));
        found
    }

    fn matching(&self) -> Vec<&'a Value> {
        findings(self.doctor, &self.check, self.bot.as_deref())
            .into_iter()
            .filter(|f| f["level"] == self.level.as_str())
            .filter(|f| self.saying.iter().all(|t| message(f).contains(t.as_str())))
            .collect()
    }

    fn describe(&self, how_many: &str) -> String {
        format!(
            "{how_many} {}/{} finding(s){}{} in {:#}",
            self.check,
            self.level.as_str(),
            self.bot
                .as_deref()
                .map(|b| format!(" of {b}"))
                .unwrap_or_default(),
            if self.saying.is_empty() {
                String::new()
            } else {
                format!(" saying {:?}", self.saying)
            },
            self.doctor["findings"]
        )
    }
}

/// A finding's `message` ("" when absent).
pub fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

/// A finding's `fix` ("" when null).
pub fn fix(finding: &Value) -> &str {
    finding["fix"].as_str().unwrap_or_default()
}
