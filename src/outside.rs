//! Text from the outside world — another user's argv, a pm2 app name, a crontab line, an app
//! or secret name from flyctl, the Bot API's descriptions and webhook URL — as its own type.
//! Its only way into a string meant for a person is `Display`, which escapes every control
//! character (newlines, ESC and so colours included), so it can never forge a line of botctl's
//! output or drive the terminal. Logic that needs the text itself asks for [`Outside::raw`];
//! JSON carries it as it is (serde escapes control characters).
//!
//! The escaping itself ([`shown`], [`escape`]) lives here too, below every other module, so that
//! config and sources can escape what they quote without depending on `ui`.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write;

#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
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
        f.write_str(&shown(&self.0))
    }
}

impl From<String> for Outside {
    fn from(text: String) -> Self {
        Outside(text)
    }
}

// Borrow<str>: for maps keyed by outside names (other Fly apps) looked up by a name botctl
// holds.
crate::model::str_newtype!(Outside);

/// Outside text, made safe to embed in a line: every control character (colours and newlines
/// included) and every bidirectional override shown as an escape.
pub fn shown(text: &str) -> Cow<'_, str> {
    escape(text, Keep::Nothing)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What passes unescaped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Nothing,
    /// Newlines, tabs and colours: a whole line botctl made.
    Layout,
    /// Newlines and tabs: a line botctl made without colours.
    LayoutOnly,
}

pub fn escape(text: &str, keep_: Keep) -> Cow<'_, str> {
    let colours = keep_ == Keep::Layout;
    let layout = keep_ != Keep::Nothing;
    let keep = |c: char| layout && (c == '\n' || c == '\t');
    if !text.chars().any(|c| needs_escape(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if colours && c == '\u{1b}' {
            let sgr = sgr_len(rest);
            if sgr > 0 {
                out.push_str(&rest[..sgr]);
                rest = &rest[sgr..];
                continue;
            }
        }
        if needs_escape(c) && !keep(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{1b}' => out.push_str("\\e"),
                c if (c as u32) < 0x100 => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            }
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Length of a colour sequence (`ESC [ digits/; m`) at the start of `s`, else 0.
fn sgr_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.len() < 3 || b[0] != 0x1b || b[1] != b'[' {
        return 0;
    }
    let mut i = 2;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b';') {
        i += 1;
    }
    if i < b.len() && b[i] == b'm' {
        i + 1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_is_escaped_whole() {
        assert_eq!(shown("a\u{1b}]0;pwned\u{7}b"), "a\\e]0;pwned\\x07b");
        assert_eq!(shown("\u{1b}[2Kx\u{1b}[31my"), "\\e[2Kx\\e[31my");
        assert_eq!(shown("l1\nl2\r"), "l1\\nl2\\r");
        assert_eq!(shown("\u{9b}2J \u{202e}abc"), "\\x9b2J \\u{202e}abc");
        assert!(matches!(shown("plain"), Cow::Borrowed("plain")));
    }

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
        f.write_str(&shown(&self.0.join(" ")))
    }
}
