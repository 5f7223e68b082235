//! Heroku, through the `heroku` CLI (reference/platforms.md; heroku/cli's `ps`, `ps:scale`,
//! `features` and `logs` commands): an app's dynos, its formation, its features. Every call has
//! the `[heroku] timeout`; every failure becomes a sentence with the command that fixes it.
//! Config vars hold the bot's token: botctl never asks for them.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::fix::Fix;
use crate::outside::Outside;
use crate::process;
use crate::sources::platform::{LogLine, PlatformError};

mod platform;
pub use platform::OnHeroku;

/// The Heroku CLI with the time limit of one call.
#[derive(Debug, Clone)]
pub struct HerokuCli {
    program: Option<PathBuf>,
    timeout: Duration,
}

/// One dyno as `heroku ps --json` prints it (the Platform API's dyno).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Dyno {
    /// `worker.1`.
    pub name: Outside,
    /// The Procfile's process type (`web`, `worker`; `run` for one-off dynos).
    #[serde(rename = "type")]
    pub kind: Outside,
    /// `up`, `starting`, `crashed`, `idle`, `down`.
    pub state: Outside,
    /// May carry a token on its command line: matched, never shown.
    #[serde(default)]
    pub command: Outside,
    #[serde(default)]
    pub updated_at: Option<Outside>,
}

impl Dyno {
    /// `up` or `starting`: a dyno that runs (or is about to run) its command.
    pub fn is_running(&self) -> bool {
        matches!(self.state.raw(), "up" | "starting")
    }

    /// Whether its command runs the bot (`python bot.py`, `node dist/bot.js`).
    pub fn runs(&self, entry: &crate::model::Entry) -> bool {
        shlex::split(self.command.raw())
            .is_some_and(|words| crate::sources::argv::runs(&words, entry).is_some())
    }
}

/// One process type's line of the formation (`worker=1:Basic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formation {
    pub kind: String,
    pub quantity: u32,
}

/// An app feature (`heroku features --json`): `preboot` is the one botctl reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Feature {
    pub name: Outside,
    #[serde(default)]
    pub enabled: bool,
}

impl HerokuCli {
    pub fn new(timeout: Duration) -> HerokuCli {
        HerokuCli {
            program: which::which("heroku").ok(),
            timeout,
        }
    }

    /// Runs `heroku ARGS`; stdout, or the failure as a sentence with its fix. A CLI that is
    /// not logged in asks on its terminal: stdin is empty here, so it fails at once.
    fn call(&self, args: &[&str]) -> Result<String, PlatformError> {
        let program = self.program.as_deref().ok_or_else(not_installed)?;
        let command = format!("heroku {}", args.join(" "));
        let out = process::run(program, args, self.timeout)
            .map_err(|e| PlatformError::from_exec(&command, e, not_installed, "heroku"))?;
        if out.success() {
            return Ok(out.stdout);
        }
        Err(classify(&command, args, &out.stderr, out.error_line()))
    }

    /// The app's dynos, every type and state.
    pub fn dynos(&self, app: &str) -> Result<Vec<Dyno>, PlatformError> {
        let out = self.call(&["ps", "--app", app, "--json"])?;
        parse_dynos(&out)
            .map_err(|e| bad_output(&format!("heroku ps --app {app} --json"), &e.to_string()))
    }

    /// The app's formation: `heroku ps:scale` without a change prints `web=1:Basic worker=0:Basic`.
    pub fn formation(&self, app: &str) -> Result<Vec<Formation>, PlatformError> {
        let out = self.call(&["ps:scale", "--app", app])?;
        Ok(parse_formation(&out))
    }

    /// Sets the quantity of one process type (`heroku ps:scale worker=0`); does not wait.
    pub fn scale(&self, app: &str, kind: &str, quantity: u32) -> Result<(), PlatformError> {
        let change = format!("{kind}={quantity}");
        self.call(&["ps:scale", &change, "--app", app]).map(drop)
    }

    /// The app's features (`preboot`…).
    pub fn features(&self, app: &str) -> Result<Vec<Feature>, PlatformError> {
        let out = self.call(&["features", "--app", app, "--json"])?;
        serde_json::from_str(&out).map_err(|e| {
            bad_output(
                &format!("heroku features --app {app} --json"),
                &e.to_string(),
            )
        })
    }

    /// The recent log lines of one process type (the CLI prints them and exits).
    pub fn logs(&self, app: &str, kind: &str) -> Result<Vec<LogLine>, PlatformError> {
        let out = self.call(&["logs", "--app", app, "--num", "300", "--process-type", kind])?;
        Ok(out.lines().filter_map(parse_log_line).collect())
    }

    /// `heroku logs --tail` of one process type, as it comes.
    pub fn stream_logs(&self, app: &str, kind: &str) -> Result<process::LineStream, PlatformError> {
        let program = self.program.as_deref().ok_or_else(not_installed)?;
        process::stream_lines(
            program,
            &["logs", "--app", app, "--tail", "--process-type", kind],
        )
        .map_err(|e| PlatformError::new(e.to_string(), None))
    }
}

fn not_installed() -> PlatformError {
    PlatformError::new(
        "the Heroku CLI is not installed (heroku is not on PATH)",
        Some(
            Fix::run(&["npm", "install", "-g", "heroku"])
                .note("or: brew tap heroku/brew && brew install heroku"),
        ),
    )
}

fn bad_output(command: &str, message: &str) -> PlatformError {
    PlatformError::new(
        format!("`{command}` printed something botctl cannot read: {message}"),
        None,
    )
}

/// The CLI's error as a sentence: it prints ` ›   Error: Couldn't find that app.`, and asks
/// on the terminal (`Press any key to open up the browser to login`) when nobody is logged in.
fn classify(command: &str, args: &[&str], stderr: &str, line: String) -> PlatformError {
    let app = args
        .iter()
        .position(|a| *a == "--app")
        .and_then(|i| args.get(i + 1))
        .copied()
        .unwrap_or_default();
    if stderr.contains("to login") || stderr.contains("HEROKU_API_KEY is invalid") {
        PlatformError::new(
            "the Heroku CLI is not logged in",
            Some(Fix::run(&["heroku", "login"]).note("or set HEROKU_API_KEY")),
        )
    } else if stderr.contains("Couldn't find that app") {
        PlatformError::new(
            format!(
                "Heroku app {} was not found, or this Heroku account cannot see it",
                crate::outside::shown(app)
            ),
            Some(Fix::run(&["heroku", "apps"]).note("then fix heroku.app in botctl.toml")),
        )
    } else {
        // The CLI prints ` ›   Error: MESSAGE`, then ` ›   Error ID: ID` last.
        let said = stderr
            .lines()
            .map(|l| l.trim_start_matches(['›', ' ']).trim_end())
            .find(|l| l.starts_with("Error:"))
            .map(|l| crate::outside::shown(&crate::process::quote(l)).into_owned());
        let line = said.unwrap_or_else(|| line.trim_start_matches(['›', ' ']).to_string());
        PlatformError::new(format!("`{command}` failed: {line}"), None)
    }
}

pub fn parse_dynos(json: &str) -> Result<Vec<Dyno>, serde_json::Error> {
    serde_json::from_str(json)
}

/// `web=1:Basic worker=0:Basic` (sorted by type), as `ps:scale` prints the formation.
pub fn parse_formation(text: &str) -> Vec<Formation> {
    text.split_whitespace()
        .filter_map(|word| {
            let (kind, rest) = word.split_once('=')?;
            let quantity = rest.split(':').next()?.parse().ok()?;
            Some(Formation {
                kind: kind.to_string(),
                quantity,
            })
        })
        .collect()
}

/// `2026-12-06T20:00:00.123456+00:00 app[worker.1]: message` (logplex's format).
pub fn parse_log_line(raw: &str) -> Option<LogLine> {
    let text = console::strip_ansi_codes(raw).trim_end().to_string();
    if text.trim().is_empty() {
        return None;
    }
    let parsed = text.split_once(' ').and_then(|(ts, rest)| {
        let at = crate::time::parse_rfc3339(ts)?;
        let (source, message) = rest.split_once(": ")?;
        let dyno = source.split_once('[')?.1.trim_end_matches(']');
        Some((at, dyno.to_string(), message.to_string()))
    });
    let (at, machine, message) = match parsed {
        Some((at, dyno, message)) => (Some(at), Some(Outside::from(dyno)), message),
        None => (None, None, text.clone()),
    };
    Some(LogLine {
        at,
        machine,
        message: message.into(),
        text: text.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;

    #[test]
    fn dynos_as_ps_json_prints_them() {
        let dynos = parse_dynos(
            r#"[{"attach_url":null,"command":"python bot.py","created_at":"2026-12-06T19:00:00Z",
                 "id":"0ba1","name":"web.1","app":{"id":"e7","name":"lb"},"release":{"id":"0b","version":7},
                 "size":"Basic","state":"up","type":"web","updated_at":"2026-12-06T19:00:00Z"},
                {"command":"python3 -u ./bot.py --prod","name":"worker.1","state":"starting","type":"worker"},
                {"command":"bash","name":"run.1","state":"crashed","type":"run"}]"#,
        )
        .unwrap();
        let bot = Entry::Script("bot.py".into());
        assert!(dynos[0].is_running() && dynos[0].runs(&bot));
        assert!(dynos[1].is_running() && dynos[1].runs(&bot));
        assert!(!dynos[2].is_running() && !dynos[2].runs(&bot));
        assert_eq!(dynos[1].kind, "worker");
    }

    #[test]
    fn formation_as_ps_scale_prints_it() {
        assert_eq!(
            parse_formation("web=1:Basic worker=2:Standard-1X\n"),
            vec![
                Formation {
                    kind: "web".into(),
                    quantity: 1
                },
                Formation {
                    kind: "worker".into(),
                    quantity: 2
                }
            ]
        );
    }

    #[test]
    fn logplex_lines() {
        let l = parse_log_line(
            "2026-12-06T20:00:01.123456+00:00 app[worker.1]: telegram.error.Conflict: Conflict: \
terminated by other getUpdates request",
        )
        .unwrap();
        assert_eq!(l.machine, Some(Outside::from("worker.1")));
        assert_eq!(l.at, crate::time::parse_rfc3339("2026-12-06T20:00:01Z"));
        assert!(l.is_conflict());
        let plain = parse_log_line("no time here").unwrap();
        assert_eq!((plain.at, plain.machine), (None, None));
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = classify(
            "heroku ps",
            &["ps", "--app", "lb"],
            "heroku: Press any key to open up the browser to login or q to exit\n",
            String::new(),
        );
        assert_eq!(
            e.fix.map(|f| f.to_string()).as_deref(),
            Some("heroku login   # or set HEROKU_API_KEY")
        );
        let e = classify(
            "heroku ps",
            &["ps", "--app", "lb"],
            " ›   Error: Couldn't find that app.\n",
            String::new(),
        );
        assert!(e.message.contains("app lb was not found"), "{e}");
        let e = classify(
            "heroku ps:scale worker=1 --app lb",
            &["ps:scale", "worker=1", "--app", "lb"],
            " ›   Error: You may not scale lb.\n ›\n ›   Error ID: forbidden\n",
            "›   Error ID: forbidden".into(),
        );
        assert!(
            e.message.ends_with("failed: Error: You may not scale lb."),
            "{e}"
        );
    }
}
