//! Autostart entries: things that can start a bot later — crontab lines, systemd units,
//! launchd jobs, pm2's saved app list, supervisord programs — whose command mentions the bot's
//! script. A tool that is not installed is
//! "not checked", never an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Bot;
use crate::fix::Fix;
use crate::model;
use crate::model::{BotName, SystemdManager};
use crate::process;

mod cron;
mod launchd;
mod pm2;
mod supervisord;
mod systemd;

pub use cron::crontab_entries;
use cron::*;
use launchd::*;
pub use pm2::pm2_dump_apps;
use pm2::*;
use supervisord::*;
pub use supervisord::{parse_supervisord_conf, supervisord};
use systemd::*;
pub use systemd::{systemd_entries, systemd_not_booted};

/// What keeps the entry: each starts a bot in its own way, and is undone in its own way.
/// Declared in the order entries are listed (by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Crontab,
    Launchd,
    Pm2,
    Supervisord,
    Systemd,
    SystemdUser,
}

impl Source {
    /// The units of systemd's system manager, or the user's.
    pub fn systemd(manager: SystemdManager) -> Source {
        match manager {
            SystemdManager::System => Source::Systemd,
            SystemdManager::User => Source::SystemdUser,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Crontab => "crontab",
            Source::Launchd => "launchd",
            Source::Pm2 => "pm2",
            Source::Supervisord => "supervisord",
            Source::Systemd => "systemd",
            Source::SystemdUser => "systemd --user",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AutostartEntry {
    pub bot: BotName,
    pub source: Source,
    /// The line, unit or plist as found: outside text.
    pub entry: crate::outside::Outside,
    /// What to type to remove it.
    pub fix: crate::fix::Fix,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unchecked {
    pub source: Source,
    pub reason: String,
    pub reach: Reach,
}

/// Whether a source that was not read could hold an entry on this system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// It can be here and was not read: it may hold an entry, so it is "not checked".
    Unread,
    /// It cannot be on this system (launchd off macOS, systemd where systemd does not run):
    /// nothing it could start, so it is listed only on request (`-v`).
    NotHere,
}

#[derive(Debug, Clone, Default)]
pub struct AutostartScan {
    pub entries: Vec<AutostartEntry>,
    pub unchecked: Vec<Unchecked>,
    /// Files that may hold an entry and could not be read (also said in `unchecked`).
    pub unreadable: Vec<UnreadableFile>,
}

/// A file of a source that could not be read: it may start a bot, and botctl cannot tell.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableFile {
    pub source: Source,
    pub path: PathBuf,
    pub why: String,
}

impl AutostartScan {
    pub fn for_bot(&self, bot: &str) -> Vec<&AutostartEntry> {
        self.entries.iter().filter(|e| e.bot == bot).collect()
    }
}

pub fn scan(bots: &[&Bot], limit: Duration) -> AutostartScan {
    let mut found = AutostartScan::default();
    // Each source yields (source, lines that could start something, fix for a line).
    crontab(bots, limit, &mut found);
    systemd(bots, limit, SystemdManager::System, &mut found);
    systemd(bots, limit, SystemdManager::User, &mut found);
    launchd(bots, limit, &mut found);
    pm2_dumps(bots, &mut found);
    found
}

fn unchecked(found: &mut AutostartScan, source: Source, reason: String) {
    found.unchecked.push(Unchecked {
        source,
        reason,
        reach: Reach::Unread,
    });
}

fn not_here(found: &mut AutostartScan, source: Source, reason: String) {
    found.unchecked.push(Unchecked {
        source,
        reason,
        reach: Reach::NotHere,
    });
}

/// The launchd domain a plist folder's jobs load into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    /// `~/Library/LaunchAgents`, `/Library/LaunchAgents`: the logged-in user's `gui/UID`.
    Gui,
    /// `/Library/LaunchDaemons`: `system` (root's to change).
    System,
}

/// Does `text` start the bot: name its script as a file, or its module (`-m lb.partner`)?
pub fn names(text: &str, entry: &model::Entry) -> bool {
    match entry {
        model::Entry::Script(script) => mentions(text, script),
        model::Entry::Module(module) => mentions(text, module),
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
    use super::{
        LaunchdJob, launchd_job, mentions, names, parse_supervisord_conf, pm2_dump_apps, wildcard,
    };
    use crate::model::Entry;

    #[test]
    fn supervisord_programs_and_includes() {
        let conf = parse_supervisord_conf(
            "[supervisord]\nnodaemon=true\n\n[include]\nfiles = conf.d/*.conf other.ini\n\n\
             [program:partner]\ncommand=python3 bot.py ; the partner bot\ndirectory=/srv/lb\n\n\
             [program:admin]\ncommand = python3 admin_bot.py\nautostart = false\n",
        );
        assert_eq!(conf.includes, ["conf.d/*.conf", "other.ini"]);
        let p: Vec<(&str, &str, bool)> = conf
            .programs
            .iter()
            .map(|p| (p.name.as_str(), p.command.as_str(), p.autostart))
            .collect();
        assert_eq!(
            p,
            [
                ("partner", "python3 bot.py", true),
                ("admin", "python3 admin_bot.py", false)
            ]
        );
        assert!(wildcard("*.conf", "bots.conf"));
        assert!(!wildcard("*.conf", "bots.conf.bak"));
    }

    #[test]
    fn pm2_saved_apps() {
        let dump = r#"[{"name":"partner","pm_exec_path":"/srv/lb/bot.py","exec_interpreter":"python3","args":[],"pm_cwd":"/srv/lb","autorestart":true},
                      {"name":"web","pm_exec_path":"/srv/web/server.js","exec_interpreter":"node","args":["--port","80"]}]"#;
        assert_eq!(
            pm2_dump_apps(dump),
            [
                ("partner".to_string(), "python3 /srv/lb/bot.py".to_string()),
                (
                    "web".to_string(),
                    "node /srv/web/server.js --port 80".to_string()
                )
            ]
        );
        assert!(pm2_dump_apps("not json").is_empty());
    }

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

    #[test]
    fn launchd_jobs_from_xml_and_binary_plists() {
        let fixture = |name: &str| {
            std::fs::read(format!(
                "{}/tests/fixtures/launchd/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        assert_eq!(
            launchd_job(&fixture("com.lb.partner.plist")).unwrap(),
            Some(LaunchdJob {
                label: "com.lb.partner".into(),
                argv: vec![
                    "/opt/homebrew/bin/python3".into(),
                    "/Users/dev/lb/bot.py".into()
                ],
            })
        );
        let binary = fixture("lb-worker-binary.plist");
        assert!(binary.starts_with(b"bplist00"));
        let job = launchd_job(&binary).unwrap().unwrap();
        assert_eq!(
            job.label, "com.lb.worker",
            "the Label key, not the file name"
        );
        assert!(names(
            &job.argv.join(" "),
            &Entry::Module("lb.partner".into())
        ));
        // `Program` alone; no label; disabled; not a plist at all.
        let xml = |body: &str| {
            format!("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict>{body}</dict></plist>")
        };
        let program =
            xml("<key>Label</key><string>x</string><key>Program</key><string>/srv/bot.py</string>");
        assert_eq!(
            launchd_job(program.as_bytes()).unwrap().unwrap().argv,
            ["/srv/bot.py"]
        );
        assert!(matches!(
            launchd_job(xml("<key>Program</key><string>/srv/bot.py</string>").as_bytes()),
            Ok(None)
        ));
        let disabled = xml("<key>Label</key><string>x</string><key>Disabled</key><true/>");
        assert!(matches!(launchd_job(disabled.as_bytes()), Ok(None)));
        assert!(matches!(
            launchd_job(b"<plist><string>/usr/bin/true</string></plist>"),
            Ok(None)
        ));
        assert!(launchd_job(b"\0\0\0").is_err());
        // Only the root dictionary's own keys count, whatever is nested beside them.
        let nested = xml(
            "<key>X</key><dict><key>Label</key><string>inner</string></dict>\
<key>Label</key><string>outer</string>\
<key>ProgramArguments</key><array><string>python3</string><array><string>no</string></array>\
<string>bot.py</string></array>",
        );
        let job = launchd_job(nested.as_bytes()).unwrap().unwrap();
        assert_eq!(
            (job.label.as_str(), job.argv),
            ("outer", vec!["python3".to_string(), "bot.py".into()])
        );
    }

    /// Every parser of outside data stops at a depth: nesting as deep as a capped file allows
    /// is an error, not a stack overflow (which aborts botctl with no message).
    #[test]
    fn outside_data_nested_deeper_than_a_limit_is_an_error_not_a_crash() {
        let depth = 200_000;
        let xml = format!(
            "<?xml version=\"1.0\"?><plist version=\"1.0\">{}{}</plist>",
            "<array>".repeat(depth),
            "</array>".repeat(depth)
        );
        let err = launchd_job(xml.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("nested deeper than 32 levels"), "{err}");
        let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_err());
        assert!(serde_json::from_str::<Vec<serde_json::Value>>(&json).is_err());
        let toml_arrays = format!("a = {}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(toml_arrays.parse::<toml::Table>().is_err());
        let toml_tables = format!("a = {}{}", "{b = ".repeat(depth), "}".repeat(depth));
        assert!(toml_tables.parse::<toml::Table>().is_err());
    }
}
