//! What text may reach a terminal. Outside text (another user's argv, flyctl's logs, a Bot API
//! description) can carry escape sequences that set the window title, erase lines or write the
//! clipboard (OSC 52); every control character is shown escaped instead. The only escape
//! sequences that pass the output boundary are colours (SGR), which botctl itself adds.

use std::borrow::Cow;
use std::fmt::Write;

/// Outside text, made safe to embed in a line: every control character (colours and newlines
/// included) and every bidirectional override shown as an escape.
pub fn shown(text: &str) -> Cow<'_, str> {
    escape(text, Keep::Nothing)
}

/// A whole line about to be printed on stdout: tokens redacted, control characters escaped
/// except the newlines and tabs that lay it out, and colours while botctl colours stdout
/// (off a terminal it makes none, so any colour sequence there came from outside).
pub fn clean(text: &str) -> String {
    let keep = if console::colors_enabled() {
        Keep::Layout
    } else {
        Keep::LayoutOnly
    };
    escape(&crate::redact::redact(text), keep).into_owned()
}

/// [`clean`] for a line on stderr.
pub fn clean_stderr(text: &str) -> String {
    let keep = if console::colors_enabled_stderr() {
        Keep::Layout
    } else {
        Keep::LayoutOnly
    };
    escape(&crate::redact::redact(text), keep).into_owned()
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What passes unescaped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Nothing,
    /// Newlines, tabs and colours: a whole line botctl made.
    Layout,
    /// Newlines and tabs: a line botctl made without colours.
    LayoutOnly,
}

fn escape(text: &str, keep_: Keep) -> Cow<'_, str> {
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
    fn lines_keep_colours_and_layout_only() {
        let ours = console::style("ok").green().force_styling(true).to_string();
        console::set_colors_enabled(true);
        assert_eq!(clean(&format!("{ours}\n\tx")), format!("{ours}\n\tx"));
        // Without colours of our own, a colour sequence came from outside: escaped.
        console::set_colors_enabled(false);
        assert_eq!(clean("a\u{1b}[8mb\nc"), "a\\e[8mb\nc");
        console::set_colors_enabled(true);
        assert_eq!(
            clean("\u{1b}]52;c;aGk=\u{7}\u{1b}[2K"),
            "\\e]52;c;aGk=\\x07\\e[2K"
        );
    }
}
