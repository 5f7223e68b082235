//! supervisord's `[program:…]` entries with autostart, in the configs of running daemons.

use super::*;

/// supervisord's `[program:…]` entries that start a bot when the daemon starts (autostart is
/// true unless it says otherwise), from the usual config files and `confs` (the `-c` of each
/// running supervisord).
pub fn supervisord(bots: &[&Bot], confs: &[String]) -> Vec<AutostartEntry> {
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
                let update = match &conf {
                    Some(c) => Fix::run(&["supervisorctl", "-c", c, "update"]),
                    None => Fix::run(&["supervisorctl", "update"]),
                };
                entries.push(AutostartEntry {
                    bot: bot.name.clone(),
                    source: Source::Supervisord,
                    entry: format!(
                        "[program:{}] in {} (autostart): {}",
                        p.name,
                        file.display(),
                        p.command
                    )
                    .into(),
                    fix: Fix::supervisord_autostart_off(
                        &p.name,
                        &file.display().to_string(),
                        &update,
                    ),
                });
            }
        }
    }
    entries
}

/// The `-c` a file belongs to: itself when a running daemon reads it.
pub(super) fn supervisord_main_conf(file: &Path, confs: &[String]) -> Option<String> {
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
pub(super) fn glob_files(dir: &Path, pattern: &str) -> Vec<PathBuf> {
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

pub(super) fn wildcard(pattern: &str, name: &str) -> bool {
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
