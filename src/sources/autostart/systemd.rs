//! systemd units (the system's and the user's manager) whose ExecStart runs the bot.

use super::*;

pub(super) fn systemd(
    bots: &[&Bot],
    limit: Duration,
    manager: SystemdManager,
    found: &mut AutostartScan,
) {
    let source = Source::systemd(manager);
    let Some(program) = process::find_program("systemctl", Path::new("/")) else {
        // No systemd on this system (macOS, a container): no unit can start anything.
        return not_here(found, source, "systemctl is not installed".into());
    };
    let mut args = vec![];
    if manager == SystemdManager::User {
        args.push("--user");
    }
    args.extend([
        "show",
        "--no-pager",
        "--property=Id,ExecStart,ActiveState,UnitFileState",
        "*.service",
    ]);
    let out = match process::run(&program, &args, limit) {
        Ok(out) => out,
        Err(e) => return unchecked(found, source, e.to_string()),
    };
    if !out.success() {
        let stderr = &out.stderr;
        // A container, WSL, macOS' Linux VMs: no systemd, so nothing it could start.
        if systemd_not_booted(stderr) {
            return not_here(found, source, "systemd is not running here".into());
        }
        // systemd runs, but not this user's manager: its units may start at the next login.
        let why = if stderr.contains("Failed to connect to bus") {
            "no systemd user manager runs for this user".to_string()
        } else {
            format!("systemctl failed: {}", out.error_line())
        };
        return unchecked(found, source, why);
    }
    found
        .entries
        .extend(systemd_entries(&out.stdout, bots, manager));
}

/// systemctl's own words for a system that did not boot with systemd.
pub fn systemd_not_booted(stderr: &str) -> bool {
    stderr.contains("has not been booted with systemd")
}

/// The units in `systemctl show --property=Id,ExecStart,ActiveState,UnitFileState` output whose
/// ExecStart starts a bot (units of `manager`).
pub fn systemd_entries(text: &str, bots: &[&Bot], manager: SystemdManager) -> Vec<AutostartEntry> {
    let source = Source::systemd(manager);
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
            entries.push(AutostartEntry {
                bot: bot.name.clone(),
                source,
                entry: (format!("{unit} ({state}): {command}")).into(),
                fix: match manager {
                    SystemdManager::User => {
                        Fix::run(&["systemctl", "--user", "disable", "--now", unit])
                    }
                    SystemdManager::System => {
                        Fix::run(&["sudo", "systemctl", "disable", "--now", unit])
                    }
                },
            });
        }
    }
    entries
}
