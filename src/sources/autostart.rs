//! Autostart entries: things that can start a bot later — crontab lines, systemd units,
//! launchd jobs — whose command mentions the bot's script. A tool that is not installed is
//! "not checked", never an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::config::{self, Bot};
use crate::exec;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    #[serde(skip)]
    pub bot: String,
    pub source: String,
    pub entry: String,
    /// What to type to remove it.
    #[serde(skip)]
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unchecked {
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Autostart {
    pub entries: Vec<Entry>,
    pub unchecked: Vec<Unchecked>,
}

impl Autostart {
    pub fn for_bot(&self, bot: &str) -> Vec<&Entry> {
        self.entries.iter().filter(|e| e.bot == bot).collect()
    }
}

pub fn scan(bots: &[&Bot], limit: Duration) -> Autostart {
    let mut found = Autostart::default();
    // Each source yields (source, lines that could start something, fix for a line).
    crontab(bots, limit, &mut found);
    systemd(bots, limit, false, &mut found);
    systemd(bots, limit, true, &mut found);
    launchd(bots, limit, &mut found);
    found
}

fn unchecked(found: &mut Autostart, source: &str, reason: String) {
    found.unchecked.push(Unchecked {
        source: source.into(),
        reason,
    });
}

fn crontab(bots: &[&Bot], limit: Duration, found: &mut Autostart) {
    let Some(program) = exec::find_program("crontab", Path::new("/")) else {
        return unchecked(found, "crontab", "crontab is not installed".into());
    };
    let out = match exec::run(&program, &["-l"], limit) {
        Ok(out) => out,
        Err(e) => return unchecked(found, "crontab", e.to_string()),
    };
    if !out.success() {
        // "no crontab for dev" is the normal answer of a user without one.
        if !out.stderr.contains("no crontab") {
            unchecked(
                found,
                "crontab",
                format!("crontab -l failed: {}", out.error_line()),
            );
        }
        return;
    }
    for line in out.stdout.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for bot in bots.iter().filter(|b| names(line, &b.entry)) {
            found.entries.push(Entry {
                bot: bot.name.clone(),
                source: "crontab".into(),
                entry: line.to_string(),
                fix: "crontab -e   # delete or comment out that line".into(),
            });
        }
    }
}

fn systemd(bots: &[&Bot], limit: Duration, user: bool, found: &mut Autostart) {
    let source = if user { "systemd --user" } else { "systemd" };
    let Some(program) = exec::find_program("systemctl", Path::new("/")) else {
        return unchecked(found, source, "systemctl is not installed".into());
    };
    let mut args = vec![];
    if user {
        args.push("--user");
    }
    args.extend([
        "show",
        "--no-pager",
        "--property=Id,ExecStart,ActiveState,UnitFileState",
        "*.service",
    ]);
    let out = match exec::run(&program, &args, limit) {
        Ok(out) => out,
        Err(e) => return unchecked(found, source, e.to_string()),
    };
    if !out.success() {
        return unchecked(
            found,
            source,
            format!("systemctl failed: {}", out.error_line()),
        );
    }
    for block in out.stdout.split("\n\n") {
        let prop = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                .unwrap_or("")
        };
        let exec_start = prop("ExecStart");
        // ExecStart={ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 /srv/bot.py ; ... }
        let command = exec_start
            .split_once("argv[]=")
            .map(|(_, r)| r.split(" ;").next().unwrap_or(r).trim())
            .unwrap_or(exec_start);
        let unit = prop("Id");
        for bot in bots.iter().filter(|b| names(command, &b.entry)) {
            let state = [prop("ActiveState"), prop("UnitFileState")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            found.entries.push(Entry {
                bot: bot.name.clone(),
                source: source.into(),
                entry: format!("{unit} ({state}): {command}"),
                fix: if user {
                    format!("systemctl --user disable --now {unit}")
                } else {
                    format!("sudo systemctl disable --now {unit}")
                },
            });
        }
    }
}

fn launchd(bots: &[&Bot], limit: Duration, found: &mut Autostart) {
    let launchctl = exec::find_program("launchctl", Path::new("/"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut folders: Vec<PathBuf> = home
        .iter()
        .map(|h| h.join("Library/LaunchAgents"))
        .collect();
    folders.push("/Library/LaunchAgents".into());
    folders.push("/Library/LaunchDaemons".into());
    let folders: Vec<PathBuf> = folders.into_iter().filter(|f| f.is_dir()).collect();
    if launchctl.is_none() && folders.is_empty() {
        return unchecked(
            found,
            "launchd",
            "launchctl is not installed (not macOS)".into(),
        );
    }
    let loaded = match &launchctl {
        Some(p) => exec::run(p, &["list"], limit)
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout)
            .unwrap_or_default(),
        None => String::new(),
    };
    for folder in folders {
        let Ok(dir) = std::fs::read_dir(&folder) else {
            continue;
        };
        for file in dir.flatten() {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "plist") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let label = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_loaded = loaded
                .lines()
                .any(|l| l.split('\t').next_back() == Some(label.as_str()));
            for bot in bots.iter().filter(|b| names(&text, &b.entry)) {
                found.entries.push(Entry {
                    bot: bot.name.clone(),
                    source: "launchd".into(),
                    entry: format!(
                        "{} ({})",
                        path.display(),
                        if is_loaded { "loaded" } else { "not loaded" }
                    ),
                    fix: format!("launchctl unload -w {}", path.display()),
                });
            }
        }
    }
}

/// Does `text` start the bot: name its script as a file, or its module (`-m lb.partner`)?
pub fn names(text: &str, entry: &config::Entry) -> bool {
    match entry {
        config::Entry::Script(script) => mentions(text, script),
        config::Entry::Module(module) => mentions(text, module),
    }
}

/// Does `text` name the script as a file (not as part of a longer name)?
/// `cd ~/lb && python3 bot.py` mentions bot.py; `python3 admin_bot.py` does not.
pub fn mentions(text: &str, script: &str) -> bool {
    let name = script.rsplit('/').next().unwrap_or(script);
    let before_ok = |c: Option<char>| {
        c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
    };
    let after_ok = |c: Option<char>| {
        c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
    };
    text.match_indices(name).any(|(i, _)| {
        before_ok(text[..i].chars().next_back()) && after_ok(text[i + name.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::{mentions, names};
    use crate::config::Entry;

    #[test]
    fn mentions_whole_names_only() {
        assert!(mentions("@reboot cd ~/lb && python3 bot.py", "bot.py"));
        assert!(mentions("<string>/Users/dev/lb/bot.py</string>", "bot.py"));
        assert!(mentions("python3 bot.py>>log 2>&1", "bot.py"));
        assert!(!mentions("python3 admin_bot.py", "bot.py"));
        assert!(!mentions("python3 bot.pyc", "bot.py"));
        assert!(mentions("python3 /srv/bots/bot.py", "bots/bot.py"));
        let module = Entry::Module("lb.partner".into());
        assert!(names("@reboot cd ~/lb && python3 -m lb.partner", &module));
        assert!(!names("python3 -m lb.partner_admin", &module));
    }
}
