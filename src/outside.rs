//! Text from the outside world — another user's argv, a pm2 app name, a crontab line, an app
//! or secret name from flyctl, the Bot API's descriptions and webhook URL — as its own type.
//! Its only way into a string meant for a person is `Display`, which escapes every control
//! character (newlines, ESC and so colours included), so it can never forge a line of botctl's
//! output or drive the terminal. Logic that needs the text itself asks for [`Outside::raw`];
//! JSON carries it as it is (serde escapes control characters).

use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Outside(String);

impl Outside {
    /// The text as it came, for matching and comparing; never for display.
    pub fn raw(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::ui::shown(&self.0))
    }
}

impl From<String> for Outside {
    fn from(text: String) -> Self {
        Outside(text)
    }
}

impl From<&str> for Outside {
    fn from(text: &str) -> Self {
        Outside(text.to_string())
    }
}

impl PartialEq<str> for Outside {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Outside {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escaped_kept_raw() {
        let forged = Outside::from("x\nFORGED: 9. All bots stopped\u{1b}[8m");
        assert_eq!(forged.to_string(), "x\\nFORGED: 9. All bots stopped\\e[8m");
        assert_eq!(format!("app {forged}"), format!("app {}", forged));
        assert!(forged.raw().contains('\n'));
        assert_eq!(
            serde_json::to_string(&forged).unwrap(),
            r#""x\nFORGED: 9. All bots stopped\u001b[8m""#
        );
    }
}

/// A process's command line, as another user or program set it: outside text word by word.
/// Shown as one line (words joined by spaces, each escaped), never raw.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Argv(Vec<String>);

impl Argv {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Its program's file name (argv[0] without its folder), as outside text.
    pub fn program(&self) -> Option<Outside> {
        let p = self.0.first()?;
        Some(Outside::from(p.rsplit('/').next().unwrap_or(p)))
    }
}

impl From<Vec<String>> for Argv {
    fn from(words: Vec<String>) -> Self {
        Argv(words)
    }
}

impl fmt::Display for Argv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::ui::shown(&self.0.join(" ")))
    }
}
