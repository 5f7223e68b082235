//! Commands botctl prints for a person to copy (`stop:`, `fix:`): each word shell-quoted, so a
//! pm2 app named `x; touch /tmp/INJECTED #` is one word when pasted, never a second command.

/// `argv` as one line a POSIX shell reads back as the same words. A word with a control
/// character (a newline would forge a line of output) is written in `$'…'` form with escapes.
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|w| word(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word, quoted only when it needs to be.
pub fn word(w: &str) -> String {
    if w.chars().any(char::is_control) {
        let mut out = String::from("$'");
        for c in w.chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32 & 0xff)),
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    shlex::try_quote(w)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| format!("'{}'", w.replace('\'', "'\\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(join(&["pm2", "stop", "partner"]), "pm2 stop partner");
        assert_eq!(
            join(&["pm2", "stop", "x; touch /tmp/INJECTED #"]),
            "pm2 stop 'x; touch /tmp/INJECTED #'"
        );
        assert_eq!(word("a\nFORGED"), "$'a\\nFORGED'");
        assert_eq!(
            shlex::split(&join(&["a b", "it's"])).unwrap(),
            ["a b", "it's"]
        );
    }
}
