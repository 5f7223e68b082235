//! Tokens never reach output. One layer, applied where output is made (`ui`, the `-v` trace,
//! panics): every token botctl has read is registered here, and every line it prints has that
//! token, its secret half and its percent-encoded form replaced — whoever quoted it (flyctl logs,
//! a Bot API description, a webhook URL, an error message). Anything else shaped like a token
//! (`digits:35+ chars`, also as `digits%3A…`) is replaced too.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::RwLock;

/// What a redacted token reads as.
pub const MASK: &str = "<token>";

/// Strings to replace, longest first (so a token is masked whole before its secret half).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Shortest secret half worth matching alone: shorter strings could be ordinary words.
const MIN_SECRET: usize = 20;
/// Shortest tail that makes `digits:tail` look like a token.
const MIN_TAIL: usize = 35;

/// Remembers a token (and the forms it is quoted in) for every later redaction.
pub fn register(token: &str) {
    let token = token.trim();
    if token.is_empty() {
        return;
    }
    let mut forms = vec![token.to_string()];
    if let Some((id, secret)) = token.split_once(':') {
        forms.push(format!("{id}%3A{secret}"));
        forms.push(format!("{id}%3a{secret}"));
        if secret.len() >= MIN_SECRET {
            forms.push(secret.to_string());
        }
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for f in forms {
        if !secrets.contains(&f) {
            secrets.push(f);
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered token form and every token-shaped string masked.
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(text);
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), MASK));
        }
    }
    if find_token(&out).is_some() {
        let mut s = out.into_owned();
        while let Some(r) = find_token(&s) {
            s.replace_range(r, MASK);
        }
        out = Cow::Owned(s);
    }
    out
}

/// `text` masked whole, then cut to `max` characters, saying how many bytes were left out
/// (`more`: bytes already left out before `text`, as a reader that stopped reading a line).
/// The one way botctl cuts text it may print: a cut made first could split a secret into two
/// halves that neither look like a token nor match one.
pub fn cut(text: &str, max: usize, more: usize) -> String {
    let masked = redact(text);
    match masked.char_indices().nth(max) {
        None if more == 0 => masked.into_owned(),
        None => format!("{masked}… ({more} more bytes)"),
        Some((at, _)) => format!(
            "{}… ({} more bytes)",
            &masked[..at],
            masked.len() - at + more
        ),
    }
}

/// Where something shaped like a bot token starts and ends: digits, then `:` (or `%3A`), then
/// 35 or more of `A-Za-z0-9_-` — anywhere, also inside a word as in a URL's `bot<token>`.
pub fn find_token(text: &str) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let is_tail = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let sep = if bytes.get(i) == Some(&b':') {
            1
        } else if bytes.len() >= i + 3 && bytes[i..i + 3].eq_ignore_ascii_case(b"%3a") {
            3
        } else {
            0
        };
        if sep == 0 {
            continue;
        }
        let tail = i + sep;
        let mut j = tail;
        while j < bytes.len() && is_tail(bytes[j]) {
            j += 1;
        }
        if j - tail >= MIN_TAIL {
            return Some(start..j);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_registered_token() {
        let secret = "AAHsecretHalfOfTheRegisteredTokenXyz_-12";
        let token = format!("7012345678:{secret}");
        register(&token);
        for (text, want) in [
            (
                format!("https://h/bot{token}/getMe"),
                "https://h/bot<token>/getMe",
            ),
            (format!("https://h/hook/{secret}"), "https://h/hook/<token>"),
            (format!("q=7012345678%3A{secret}&x"), "q=<token>&x"),
            (format!("q=7012345678%3a{secret}"), "q=<token>"),
            (format!("{token} and {token}"), "<token> and <token>"),
        ] {
            assert_eq!(redact(&text), want);
        }
    }

    #[test]
    fn a_cut_never_splits_a_secret() {
        let token = format!("7012345679:{}", "AAHcutAcrossTheLineSecretHalf_-1234567");
        register(&token);
        for at in 1..token.len() {
            let text = format!("{}{token} tail", "x".repeat(100 - at));
            let shown = cut(&text, 100, 0);
            assert!(!shown.contains("AAHcut"), "{shown}");
            assert!(!shown.contains("7012345679:"), "{shown}");
        }
        assert_eq!(cut("short", 10, 0), "short");
        assert_eq!(cut("short", 10, 7), "short… (7 more bytes)");
    }

    #[test]
    fn unknown_token_shapes() {
        let tail = "B".repeat(40);
        assert_eq!(redact(&format!("bot99:{tail}/x")), "bot<token>/x");
        assert_eq!(
            redact(&format!("a 99%3A{tail} b 98:{tail}")),
            "a <token> b <token>"
        );
        assert_eq!(redact("2026-11-24T10:02:11Z ok"), "2026-11-24T10:02:11Z ok");
        assert!(find_token(&format!("12:{}", "c".repeat(34))).is_none());
    }
}
