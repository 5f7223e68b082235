//! launchd jobs (LaunchAgents and LaunchDaemons plists) that run the bot.

use super::*;

/// launchd jobs whose command starts a bot: every plist (XML or binary) in the LaunchAgents
/// folders and `/Library/LaunchDaemons`, by its `Label` and `ProgramArguments`/`Program`.
pub(super) fn launchd(bots: &[&Bot], limit: Duration, found: &mut Autostart) {
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
pub(super) fn launchd_fix(target: &str, domain: Domain, loaded: bool) -> String {
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
