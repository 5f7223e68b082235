//! Completions that know the project: bot and host names from the botctl.toml in reach, for
//! clap_complete's dynamic completion (`source <(COMPLETE=bash botctl)`).
//!
//! The shell runs `botctl -- botctl dev-start par` with `COMPLETE` set; the candidates come from
//! the botctl.toml botctl itself would read for that line: `--config` on the line, else
//! `$BOTCTL_CONFIG`, else walking up from the working folder. The file is read leniently (a
//! half-written botctl.toml still completes the names it has); any failure completes nothing.

use std::ffi::OsString;
use std::path::PathBuf;

use clap_complete::engine::CompletionCandidate;

use crate::config;

/// Names of the `[[bot]]` tables.
pub fn bot_names() -> Vec<CompletionCandidate> {
    names_of("bot", "script")
}

/// Names of the `[[host]]` tables (for `--host`).
pub fn host_names() -> Vec<CompletionCandidate> {
    names_of("host", "ssh")
}

/// `name` of every `[[table]]`, with its `detail` key as the help text.
fn names_of(table: &str, detail: &str) -> Vec<CompletionCandidate> {
    config_in_reach()
        .and_then(|p| crate::files::read_text(&p, crate::files::CAP).ok())
        .map(|text| names_in(&text, table, detail))
        .unwrap_or_default()
}

fn names_in(text: &str, table: &str, detail: &str) -> Vec<CompletionCandidate> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let Some(entries) = doc.get(table).and_then(|t| t.as_array()) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?;
            let help = entry
                .get(detail)
                .or_else(|| entry.get("module"))
                .and_then(|d| d.as_str())
                .map(|d| d.to_string().into());
            Some(CompletionCandidate::new(name).help(help))
        })
        .collect()
}

/// The botctl.toml of the line being completed.
fn config_in_reach() -> Option<PathBuf> {
    let line: Vec<OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let cwd = std::env::current_dir().ok()?;
    let explicit = config_flag(&line);
    config::locate(explicit.as_deref(), &cwd).ok()
}

/// The value of `--config PATH` or `--config=PATH` among the words of the line.
fn config_flag(line: &[OsString]) -> Option<PathBuf> {
    let mut words = line.iter().map(|w| w.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--config" {
            return words.next().map(|p| PathBuf::from(p.as_ref()));
        }
        if let Some(path) = word.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_on_the_line() {
        let line = |s: &str| s.split(' ').map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            config_flag(&line("botctl --config x/botctl.toml dev-start ")),
            Some(PathBuf::from("x/botctl.toml"))
        );
        assert_eq!(
            config_flag(&line("botctl dev-start --config=y.toml ")),
            Some(PathBuf::from("y.toml"))
        );
        assert_eq!(config_flag(&line("botctl dev-start ")), None);
    }

    #[test]
    fn names_of_bots_and_hosts() {
        let text = "[[bot]]\nname = \"partner\"\nscript = \
\"bot.py\"\n[[bot]]\nname = \"admin\"\nmodule = \
\"lb.admin\"\nunknown_key = 1\n[[host]]\nname = \"vps\"\nssh \
= \"deploy@203.0.113.7\"\n";
        let values = |c: Vec<CompletionCandidate>| {
            c.iter()
                .map(|c| c.get_value().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            values(names_in(text, "bot", "script")),
            ["partner", "admin"]
        );
        assert_eq!(values(names_in(text, "host", "ssh")), ["vps"]);
        assert!(names_in("not toml [", "bot", "script").is_empty());
    }
}
