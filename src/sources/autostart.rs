//! Autostart entries: things that can start a bot later — crontab lines, systemd units,
//! launchd jobs, pm2's saved app list, supervisord programs — whose command mentions the bot's
//! script. A tool that is not installed is
//! "not checked", never an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::config::{self, Bot};
use crate::exec;
use crate::model::BotName;

/// What keeps the entry: each starts a bot in its own way, and is undone in its own way.
/// Declared in the order entries are listed (by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Source {
    #[serde(rename = "crontab")]
    Crontab,
    #[serde(rename = "launchd")]
    Launchd,
    #[serde(rename = "pm2")]
    Pm2,
    #[serde(rename = "supervisord")]
    Supervisord,
    #[serde(rename = "systemd")]
    Systemd,
    #[serde(rename = "systemd --user")]
    SystemdUser,
}

impl Source {
    /// systemd's system manager, or the user's.
    pub fn systemd(user: bool) -> Source {
        if user {
            Source::SystemdUser
        } else {
            Source::Systemd
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    #[serde(skip)]
    pub bot: BotName,
    pub source: Source,
    /// The line, unit or plist as found: outside text.
    pub entry: crate::outside::Outside,
    /// What to type to remove it.
    #[serde(skip)]
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unchecked {
    pub source: Source,
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
    pm2_dumps(bots, &mut found);
    found
}

/// pm2's saved app lists (`pm2 save`): `pm2 resurrect`, run at boot by `pm2 startup`, starts
/// every app in them again. `$PM2_HOME/dump.pm2` and `~/.pm2/dump.pm2`.
fn pm2_dumps(bots: &[&Bot], found: &mut Autostart) {
    let mut homes: Vec<(PathBuf, bool)> = Vec::new();
    if let Some(h) = std::env::var_os("PM2_HOME").filter(|h| !h.is_empty()) {
        homes.push((PathBuf::from(h), true));
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        homes.push((PathBuf::from(h).join(".pm2"), false));
    }
    let mut seen = Vec::new();
    for (home, from_env) in homes {
        let dump = home.join("dump.pm2");
        let key = std::fs::canonicalize(&dump).unwrap_or_else(|_| dump.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Ok(text) = crate::files::read_text(&dump, crate::files::CAP) else {
            continue; // no saved list (or no regular file): nothing to resurrect
        };
        let env = if from_env && !home.ends_with(".pm2") {
            format!("PM2_HOME={} ", home.display())
        } else {
            String::new()
        };
        for (name, command) in pm2_dump_apps(&text) {
            for bot in bots.iter().filter(|b| names(&command, &b.entry)) {
                found.entries.push(Entry {
                    bot: bot.name.clone(),
                    source: Source::Pm2,
                    entry: format!("app {name} saved in {}: {command}", dump.display()).into(),
                    fix: format!(
                        "{env}pm2 delete {} && {env}pm2 save --force",
                        crate::shell::word(&name)
                    ),
                });
            }
        }
    }
}

/// (name, command) of each app in a dump.pm2 (a JSON list of pm2 app environments).
pub fn pm2_dump_apps(text: &str) -> Vec<(String, String)> {
    let Ok(apps) = serde_json::from_str::<Vec<serde_json::Value>>(text) else {
        return Vec::new();
    };
    apps.iter()
        .map(|app| {
            let field = |k: &str| app[k].as_str().unwrap_or("").to_string();
            let args = match &app["args"] {
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                serde_json::Value::String(s) => s.clone(),
                _ => String::new(),
            };
            let command = [field("exec_interpreter"), field("pm_exec_path"), args]
                .into_iter()
                .filter(|s| !s.is_empty() && s != "none")
                .collect::<Vec<_>>()
                .join(" ");
            (field("name"), command)
        })
        .collect()
}

/// supervisord's `[program:…]` entries that start a bot when the daemon starts (autostart is
/// true unless it says otherwise), from the usual config files and `confs` (the `-c` of each
/// running supervisord).
pub fn supervisord(bots: &[&Bot], confs: &[String]) -> Vec<Entry> {
    let mut files: Vec<PathBuf> = confs.iter().map(PathBuf::from).collect();
    files.extend(
        [
            "/etc/supervisor/supervisord.conf",
            "/etc/supervisord.conf",
            "/usr/local/etc/supervisord.conf",
            // Homebrew on Apple Silicon (Intel's is /usr/local/etc, above).
            "/opt/homebrew/etc/supervisord.conf",
        ]
        .map(PathBuf::from),
    );
    files.extend(glob_files(Path::new("/etc/supervisor/conf.d"), "*.conf"));
    files.extend(glob_files(Path::new("/etc/supervisord.d"), "*.ini"));
    for brew in [
        "/opt/homebrew/etc/supervisor.d",
        "/usr/local/etc/supervisor.d",
    ] {
        files.extend(glob_files(Path::new(brew), "*.ini"));
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut entries = Vec::new();
    let mut i = 0;
    while i < files.len() && i < 256 {
        let file = files[i].clone();
        i += 1;
        let key = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Ok(text) = crate::files::read_text(&file, crate::files::CAP) else {
            continue;
        };
        let folder = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        let conf = supervisord_main_conf(&file, confs);
        let parsed = parse_supervisord_conf(&text);
        for pattern in parsed.includes {
            let path = folder.join(&pattern);
            let (dir, name) = (
                path.parent().unwrap_or(Path::new("/")).to_path_buf(),
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            files.extend(glob_files(&dir, &name));
        }
        for p in parsed.programs.into_iter().filter(|p| p.autostart) {
            for bot in bots.iter().filter(|b| names(&p.command, &b.entry)) {
                let ctl = match &conf {
                    Some(c) => format!("supervisorctl -c {}", crate::shell::word(c)),
                    None => "supervisorctl".to_string(),
                };
                entries.push(Entry {
                    bot: bot.name.clone(),
                    source: Source::Supervisord,
                    entry: format!(
                        "[program:{}] in {} (autostart): {}",
                        p.name,
                        file.display(),
                        p.command
                    )
                    .into(),
                    fix: format!(
                        "set autostart=false under [program:{}] in {}, then: {ctl} update",
                        crate::outside::Outside::from(p.name.as_str()),
                        crate::shell::word(&file.display().to_string())
                    ),
                });
            }
        }
    }
    entries
}

/// The `-c` a file belongs to: itself when a running daemon reads it.
fn supervisord_main_conf(file: &Path, confs: &[String]) -> Option<String> {
    let key = std::fs::canonicalize(file).ok();
    confs
        .iter()
        .find(|c| std::fs::canonicalize(c).ok() == key)
        .cloned()
}

pub struct SupervisordConf {
    pub programs: Vec<Program>,
    /// `[include] files = …` patterns, relative to the file's folder.
    pub includes: Vec<String>,
}

pub struct Program {
    pub name: String,
    pub command: String,
    pub autostart: bool,
}

/// The parts of a supervisord config (INI) that matter here.
pub fn parse_supervisord_conf(text: &str) -> SupervisordConf {
    let mut out = SupervisordConf {
        programs: Vec::new(),
        includes: Vec::new(),
    };
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            if let Some(program) = section.strip_prefix("program:") {
                out.programs.push(Program {
                    name: program.to_string(),
                    command: String::new(),
                    autostart: true,
                });
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.split(" ;").next().unwrap_or("").trim());
        if section == "include" && key == "files" {
            out.includes
                .extend(value.split_whitespace().map(String::from));
        } else if section.starts_with("program:")
            && let Some(p) = out.programs.last_mut()
        {
            match key {
                "command" => p.command = value.to_string(),
                "autostart" => p.autostart = !value.eq_ignore_ascii_case("false"),
                _ => {}
            }
        }
    }
    out
}

/// Files in `dir` whose name matches `pattern` (`*` and `?` only).
fn glob_files(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| wildcard(pattern, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(&p, &n)
}

fn unchecked(found: &mut Autostart, source: Source, reason: String) {
    found.unchecked.push(Unchecked { source, reason });
}

fn crontab(bots: &[&Bot], limit: Duration, found: &mut Autostart) {
    let Some(program) = exec::find_program("crontab", Path::new("/")) else {
        return unchecked(found, Source::Crontab, "crontab is not installed".into());
    };
    let out = match exec::run(&program, &["-l"], limit) {
        Ok(out) => out,
        Err(e) => return unchecked(found, Source::Crontab, e.to_string()),
    };
    if !out.success() {
        // "no crontab for dev" is the normal answer of a user without one.
        if !out.stderr.contains("no crontab") {
            unchecked(
                found,
                Source::Crontab,
                format!("crontab -l failed: {}", out.error_line()),
            );
        }
        return;
    }
    found.entries.extend(crontab_entries(&out.stdout, bots));
}

/// The lines of `crontab -l` output that start a bot (here or read over ssh).
pub fn crontab_entries(text: &str, bots: &[&Bot]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for bot in bots.iter().filter(|b| names(line, &b.entry)) {
            entries.push(Entry {
                bot: bot.name.clone(),
                source: Source::Crontab,
                entry: (line.to_string()).into(),
                fix: "crontab -e   # delete or comment out that line".into(),
            });
        }
    }
    entries
}

fn systemd(bots: &[&Bot], limit: Duration, user: bool, found: &mut Autostart) {
    let source = Source::systemd(user);
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
        // A container, WSL, macOS' Linux VMs: no systemd, so nothing it could start.
        let stderr = &out.stderr;
        let not_running = stderr.contains("has not been booted with systemd")
            || stderr.contains("Failed to connect to bus");
        let why = match (not_running, user) {
            (true, false) => "systemd is not running here".to_string(),
            (true, true) => "no systemd user manager runs for this user".to_string(),
            (false, _) => format!("systemctl failed: {}", out.error_line()),
        };
        return unchecked(found, source, why);
    }
    found
        .entries
        .extend(systemd_entries(&out.stdout, bots, user));
}

/// The units in `systemctl show --property=Id,ExecStart,ActiveState,UnitFileState` output whose
/// ExecStart starts a bot (`user`: of the user's manager).
pub fn systemd_entries(text: &str, bots: &[&Bot], user: bool) -> Vec<Entry> {
    let source = Source::systemd(user);
    let mut entries = Vec::new();
    for block in text.split("\n\n") {
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
            entries.push(Entry {
                bot: bot.name.clone(),
                source,
                entry: (format!("{unit} ({state}): {command}")).into(),
                fix: if user {
                    format!(
                        "systemctl --user disable --now {}",
                        crate::shell::word(unit)
                    )
                } else {
                    format!("sudo systemctl disable --now {}", crate::shell::word(unit))
                },
            });
        }
    }
    entries
}

/// The launchd domain a plist folder's jobs load into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    /// `~/Library/LaunchAgents`, `/Library/LaunchAgents`: the logged-in user's `gui/UID`.
    Gui,
    /// `/Library/LaunchDaemons`: `system` (root's to change).
    System,
}

/// launchd jobs whose command starts a bot: every plist (XML or binary) in the LaunchAgents
/// folders and `/Library/LaunchDaemons`, by its `Label` and `ProgramArguments`/`Program`.
fn launchd(bots: &[&Bot], limit: Duration, found: &mut Autostart) {
    let launchctl = exec::find_program("launchctl", Path::new("/"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut folders: Vec<(PathBuf, Domain)> = home
        .iter()
        .map(|h| (h.join("Library/LaunchAgents"), Domain::Gui))
        .collect();
    folders.push(("/Library/LaunchAgents".into(), Domain::Gui));
    folders.push(("/Library/LaunchDaemons".into(), Domain::System));
    folders.retain(|(f, _)| f.is_dir());
    if launchctl.is_none() && folders.is_empty() {
        return unchecked(
            found,
            Source::Launchd,
            "launchctl is not installed (not macOS)".into(),
        );
    }
    // `launchctl list` shows the caller's domain only; the system domain is asked by label.
    let loaded = match &launchctl {
        Some(p) => exec::run(p, &["list"], limit)
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout)
            .unwrap_or_default(),
        None => String::new(),
    };
    let uid = nix::unistd::geteuid().as_raw();
    for (folder, domain) in folders {
        for path in glob_files(&folder, "*.plist") {
            let Ok(bytes) = crate::files::read_bytes(&path, crate::files::CAP) else {
                continue;
            };
            let Some(job) = launchd_job(&bytes) else {
                continue;
            };
            let command = job.argv.join(" ");
            let matching: Vec<&&Bot> = bots.iter().filter(|b| names(&command, &b.entry)).collect();
            if matching.is_empty() {
                continue;
            }
            let target = match domain {
                Domain::Gui => format!("gui/{uid}/{}", job.label),
                Domain::System => format!("system/{}", job.label),
            };
            let is_loaded = match (domain, &launchctl) {
                (Domain::System, Some(p)) => {
                    exec::run(p, &["print", &target], limit).is_ok_and(|o| o.success())
                }
                _ => loaded
                    .lines()
                    .any(|l| l.split('\t').nth(2) == Some(job.label.as_str())),
            };
            let fix = launchd_fix(&target, domain, is_loaded);
            for bot in matching {
                found.entries.push(Entry {
                    bot: bot.name.clone(),
                    source: Source::Launchd,
                    entry: format!(
                        "{} in {} ({}): {command}",
                        job.label,
                        path.display(),
                        if is_loaded { "loaded" } else { "not loaded" }
                    )
                    .into(),
                    fix: fix.clone(),
                });
            }
        }
    }
}

/// A job's label and command, from a plist's bytes (XML or binary).
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchdJob {
    pub label: String,
    pub argv: Vec<String>,
}

/// The `Label` and `ProgramArguments` (else `Program`) of a plist, XML or binary; `None` for
/// one that is neither, has no label, or is `Disabled`.
pub fn launchd_job(bytes: &[u8]) -> Option<LaunchdJob> {
    let value = plist::Value::from_reader(std::io::Cursor::new(bytes)).ok()?;
    let dict = value.as_dictionary()?;
    if dict.get("Disabled").and_then(plist::Value::as_boolean) == Some(true) {
        return None;
    }
    let label = dict.get("Label")?.as_string()?.to_string();
    let mut argv: Vec<String> = dict
        .get("ProgramArguments")
        .and_then(plist::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_string().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if argv.is_empty() {
        argv.extend(
            dict.get("Program")
                .and_then(|p| p.as_string())
                .map(String::from),
        );
    }
    (!label.is_empty()).then_some(LaunchdJob { label, argv })
}

/// What removes a job for good: `disable` keeps it from loading at the next login or boot,
/// `bootout` ends a loaded one now (it fails on one that is not loaded).
fn launchd_fix(target: &str, domain: Domain, loaded: bool) -> String {
    let sudo = if domain == Domain::System {
        "sudo "
    } else {
        ""
    };
    let run = |verb: &str| format!("{sudo}launchctl {verb} {}", crate::shell::word(target));
    if loaded {
        format!("{} && {}", run("bootout"), run("disable"))
    } else {
        run("disable")
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
    use super::{
        LaunchdJob, launchd_job, mentions, names, parse_supervisord_conf, pm2_dump_apps, wildcard,
    };
    use crate::config::Entry;

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
            launchd_job(&fixture("com.lb.partner.plist")),
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
        let job = launchd_job(&binary).unwrap();
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
            launchd_job(program.as_bytes()).unwrap().argv,
            ["/srv/bot.py"]
        );
        assert_eq!(
            launchd_job(xml("<key>Program</key><string>/srv/bot.py</string>").as_bytes()),
            None
        );
        let disabled = xml("<key>Label</key><string>x</string><key>Disabled</key><true/>");
        assert_eq!(launchd_job(disabled.as_bytes()), None);
        assert_eq!(
            launchd_job(b"<plist><string>/usr/bin/true</string></plist>"),
            None
        );
        assert_eq!(launchd_job(b"\0\0\0"), None);
    }
}
