//! What text may reach a terminal. Outside text (another user's argv, flyctl's logs, a Bot API
//! description) can carry escape sequences that set the window title, erase lines or write the
//! clipboard (OSC 52); every control character is shown escaped instead. The only escape
//! sequences that pass the output boundary are colours (SGR), which botctl itself adds.

use crate::outside::{Keep, escape};

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

#[cfg(test)]
mod tests {
    use super::*;

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
