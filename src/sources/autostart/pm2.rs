//! pm2's saved app lists (`pm2 save`), which `pm2 resurrect` starts again at boot.

use super::*;

/// pm2's saved app lists (`pm2 save`): `pm2 resurrect`, run at boot by `pm2 startup`, starts
/// every app in them again. `$PM2_HOME/dump.pm2` and `~/.pm2/dump.pm2`.
pub(super) fn pm2_dumps(bots: &[&Bot], found: &mut AutostartScan) {
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
        let home_var = (from_env && !home.ends_with(".pm2")).then(|| home.display().to_string());
        let pm2 = |argv: &[&str]| match &home_var {
            Some(home) => Fix::run_with("PM2_HOME", home, argv),
            None => Fix::run(argv),
        };
        for (name, command) in pm2_dump_apps(&text) {
            for bot in bots.iter().filter(|b| names(&command, &b.entry)) {
                found.entries.push(AutostartEntry {
                    bot: bot.name.clone(),
                    source: Source::Pm2,
                    entry: format!("app {name} saved in {}: {command}", dump.display()).into(),
                    fix: pm2(&["pm2", "delete", &name]).then(pm2(&["pm2", "save", "--force"])),
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
