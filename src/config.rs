//! botctl.toml: where it is, what it says, and whether it makes sense.
//! Every error names the file, line and column.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};

pub const FILE_NAME: &str = "botctl.toml";

#[derive(Debug, Clone)]
pub struct Config {
    /// The file itself.
    pub path: PathBuf,
    /// Its folder: the project root that paths and commands are relative to.
    pub root: PathBuf,
    pub fly: FlySettings,
    pub telegram: TelegramSettings,
    pub local: LocalSettings,
    pub bots: Vec<Bot>,
}

#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// After a stop, how long to watch for a copy that comes back.
    pub respawn: Duration,
}

#[derive(Debug, Clone)]
pub struct FlySettings {
    /// Program named in the config; `None` means flyctl, else fly, from PATH.
    pub flyctl: Option<String>,
    /// How long to wait for machines to reach stopped / started (and for the ready log).
    pub wait: Duration,
    /// Time limit for one flyctl call.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub api: String,
    pub probe: Duration,
    /// Time limit for one ordinary Bot API call.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Bot {
    pub name: String,
    pub script: String,
    pub run: String,
    pub token_env: Option<String>,
    pub username: Option<String>,
    pub fly_app: Option<String>,
    pub ready_log: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    fly: RawFly,
    #[serde(default)]
    telegram: RawTelegram,
    #[serde(default)]
    local: RawLocal,
    #[serde(default)]
    bot: Vec<RawBot>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFly {
    flyctl: Option<Spanned<String>>,
    wait: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    api: Option<Spanned<String>>,
    probe: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLocal {
    respawn: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    name: Spanned<String>,
    script: Spanned<String>,
    run: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    fly_app: Option<Spanned<String>>,
    ready_log: Option<String>,
}

/// Finds botctl.toml: `--config`, else `$BOTCTL_CONFIG`, else walking up from `cwd`.
pub fn locate(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(cwd.join(path));
    }
    if let Some(path) = std::env::var_os("BOTCTL_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(cwd.join(path));
    }
    cwd.ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Error::ConfigNotFound {
            from: cwd.to_path_buf(),
        })
}

pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read the file: {e}"),
        snippet: String::new(),
    })?;
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, path, root)
}

pub fn parse(text: &str, path: &Path, root: PathBuf) -> Result<Config> {
    let at = |span: Range<usize>, message: String| located(text, path, span, message);

    // Before anything else: a token must never sit in this file, not even in a comment.
    if let Some(span) = find_token(text) {
        return Err(at(
            span,
            "this looks like a bot token; tokens never go in botctl.toml: put it in the environment or .env and name the variable with token_env".into(),
        ));
    }

    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        at(span, e.message().trim().to_string())
    })?;

    let duration = |value: &Option<Spanned<String>>, default: Duration| -> Result<Duration> {
        match value {
            None => Ok(default),
            Some(v) => parse_duration(v.get_ref()).map_err(|m| at(v.span(), m)),
        }
    };

    let fly = FlySettings {
        flyctl: raw.fly.flyctl.as_ref().map(|v| v.get_ref().clone()),
        wait: duration(&raw.fly.wait, Duration::from_secs(90))?,
        timeout: duration(&raw.fly.timeout, Duration::from_secs(30))?,
    };
    if let Some(v) = raw
        .fly
        .flyctl
        .as_ref()
        .filter(|v| v.get_ref().trim().is_empty())
    {
        return Err(at(v.span(), "flyctl must name a program".into()));
    }

    let api = match &raw.telegram.api {
        None => "https://api.telegram.org".to_string(),
        Some(v) => {
            let url = v.get_ref().trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(at(
                    v.span(),
                    format!("api must be an http:// or https:// URL, not {url:?}"),
                ));
            }
            url.to_string()
        }
    };
    let probe = duration(&raw.telegram.probe, Duration::from_secs(12))?;
    if let Some(v) = &raw.telegram.probe
        && (probe < Duration::from_secs(1) || probe > Duration::from_secs(300))
    {
        return Err(at(v.span(), "probe must be between 1s and 5m".into()));
    }
    let telegram = TelegramSettings {
        api,
        probe,
        timeout: duration(&raw.telegram.timeout, Duration::from_secs(15))?,
    };

    let respawn = duration(&raw.local.respawn, Duration::from_secs(5))?;
    if let Some(v) = &raw.local.respawn
        && respawn > Duration::from_secs(600)
    {
        return Err(at(v.span(), "respawn must be at most 10m".into()));
    }
    let local = LocalSettings { respawn };

    let mut seen = HashSet::new();
    let mut bots = Vec::new();
    for b in raw.bot {
        let name = b.name.get_ref();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(at(
                b.name.span(),
                format!("bot name {name:?} must be made of a-z, 0-9 and -"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(at(b.name.span(), format!("duplicate bot name {name:?}")));
        }
        let script = b.script.get_ref().trim();
        if script.is_empty() || script.ends_with('/') {
            return Err(at(b.script.span(), "script must name a file".into()));
        }
        if let Some(v) = b.token_env.as_ref().filter(|v| !is_env_name(v.get_ref())) {
            return Err(at(
                v.span(),
                format!(
                    "token_env must be the name of an environment variable, like PARTNER_BOT_TOKEN, not {:?}",
                    v.get_ref()
                ),
            ));
        }
        for field in [&b.fly_app, &b.run, &b.username].into_iter().flatten() {
            if field.get_ref().trim().is_empty() {
                return Err(at(field.span(), "this value must not be empty".into()));
            }
        }
        bots.push(Bot {
            name: name.clone(),
            script: script.to_string(),
            run: b
                .run
                .map(|r| r.into_inner())
                .unwrap_or_else(|| format!("python3 {script}")),
            token_env: b.token_env.map(Spanned::into_inner),
            username: b
                .username
                .map(|u| u.into_inner().trim_start_matches('@').to_string()),
            fly_app: b.fly_app.map(Spanned::into_inner),
            ready_log: b.ready_log.filter(|s| !s.is_empty()),
        });
    }

    Ok(Config {
        path: path.to_path_buf(),
        root,
        fly,
        telegram,
        local,
        bots,
    })
}

impl Config {
    /// The bots named on the command line, in config order; no names means every bot.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Bot>> {
        for name in names {
            if !self.bots.iter().any(|b| &b.name == name) {
                let known: Vec<&str> = self.bots.iter().map(|b| b.name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "no bot named {name:?} in {}; known bots: {}",
                    self.path.display(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        Ok(self
            .bots
            .iter()
            .filter(|b| names.is_empty() || names.contains(&b.name))
            .collect())
    }

    pub fn bot(&self, name: &str) -> Result<&Bot> {
        Ok(self.select(&[name.to_string()])?[0])
    }
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// "90s", "2m", "1m30s", "500ms", "1h".
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration; write it like \"90s\", \"2m\" or \"500ms\"");
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return Err(bad()),
        };
        total += part;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Where in `text` something shaped like a bot token (`digits:35+ chars`) starts and ends.
pub fn find_token(text: &str) -> Option<Range<usize>> {
    find_token_from(text, false)
}

/// `anywhere`: also inside a word, as in the `bot<token>` of a Bot API URL.
pub fn find_token_from(text: &str, anywhere: bool) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let is_tail = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit()
            && (anywhere || i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b':' {
                let tail_start = i + 1;
                let mut j = tail_start;
                while j < bytes.len() && is_tail(bytes[j]) {
                    j += 1;
                }
                if j - tail_start >= 35 {
                    return Some(start..j);
                }
            }
        } else {
            i += 1;
        }
    }
    None
}

fn located(text: &str, path: &Path, span: Range<usize>, message: String) -> Error {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    // Never echo a token back, even in the snippet.
    let shown = match find_token(line_text) {
        Some(r) => format!("{}<token>{}", &line_text[..r.start], &line_text[r.end..]),
        None => line_text.to_string(),
    };
    let snippet = if shown.trim().is_empty() {
        String::new()
    } else {
        format!(
            "  {line:>3} | {shown}\n      | {}^",
            " ".repeat(column.saturating_sub(1))
        )
    };
    Error::Config {
        path: path.to_path_buf(),
        line,
        column,
        message,
        snippet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Config> {
        parse(text, Path::new("botctl.toml"), PathBuf::from("/p"))
    }

    fn line_of(e: Error) -> (usize, usize) {
        match e {
            Error::Config { line, column, .. } => (line, column),
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("ninety").is_err());
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn defaults_and_errors() {
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"bot.py\"\n").unwrap();
        assert_eq!(c.bots[0].run, "python3 bot.py");
        assert_eq!(c.fly.wait, Duration::from_secs(90));
        assert_eq!(c.local.respawn, Duration::from_secs(5));
        let c = parse_str("[local]\nrespawn = \"1500ms\"\n").unwrap();
        assert_eq!(c.local.respawn, Duration::from_millis(1500));
        let e = parse_str("[local]\nrespawn = \"soon\"\n").unwrap_err();
        assert_eq!(line_of(e), (2, 11));
        let e = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"x.py\"\n[[bot]]\nname = \"a\"\nscript = \"y.py\"\n",
        )
        .unwrap_err();
        assert_eq!(line_of(e), (5, 8));
        let e = parse_str("[fly]\nwait = \"soon\"\n").unwrap_err();
        assert_eq!(line_of(e), (2, 8));
    }

    #[test]
    fn token_is_refused_without_echo() {
        let tok = format!("123456789:{}", "A".repeat(35));
        let e = parse_str(&format!(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\ntoken_env = \"{tok}\"\n"
        ))
        .unwrap_err();
        assert!(!e.to_string().contains(&tok));
        assert_eq!(line_of(e), (4, 14));
    }
}
