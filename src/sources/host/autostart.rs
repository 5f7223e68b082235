//! What can start a bot again on the host, read from the scan's sections by the local
//! autostart rules.

use super::sections::{Section, Sections};
use crate::config::Bot;
use crate::model::SystemdManager;
use crate::sources::autostart::{self, AutostartEntry, AutostartScan, Reach, Source, Unchecked};

pub(super) fn autostart(sections: &Sections, bots: &[&Bot]) -> AutostartScan {
    let mut found = AutostartScan::default();
    let mut unchecked = |source: Source, reason: &str| {
        let (reason, reach) = if autostart::systemd_not_booted(reason) {
            ("systemd is not running there", Reach::NotHere)
        } else {
            (reason.lines().last().unwrap_or(""), Reach::Unread)
        };
        found.unchecked.push(Unchecked {
            source,
            reason: reason.to_string(),
            reach,
        })
    };
    let mut entries: Vec<AutostartEntry> = Vec::new();
    match sections.get(&Section::Crontab) {
        Some((0, text)) => entries.extend(autostart::crontab_entries(text, bots)),
        Some((_, text)) if text.contains("no crontab") => {}
        Some((_, text)) => unchecked(Source::Crontab, text),
        None => unchecked(Source::Crontab, "not read"),
    }
    for (name, manager) in [
        (Section::Systemd, SystemdManager::System),
        (Section::SystemdUser, SystemdManager::User),
    ] {
        let source = Source::systemd(manager);
        match sections.get(&name) {
            Some((0, text)) => entries.extend(autostart::systemd_entries(text, bots, manager)),
            Some((_, text)) => unchecked(source, text),
            None => unchecked(source, "not read"),
        }
    }
    if let Some((0, text)) = sections.get(&Section::Pm2Dump) {
        for (name, command) in autostart::pm2_dump_apps(text) {
            for bot in bots.iter().filter(|b| autostart::names(&command, &b.entry)) {
                entries.push(AutostartEntry {
                    bot: bot.name.clone(),
                    source: Source::Pm2,
                    entry: (format!("app {name} saved in ~/.pm2/dump.pm2: {command}")).into(),
                    fix: crate::fix::Fix::run(&["pm2", "delete", &name])
                        .then(crate::fix::Fix::run(&["pm2", "save", "--force"])),
                });
            }
        }
    }
    for (name, (_, text)) in sections {
        let Section::SupervisordConf(file) = name else {
            continue;
        };
        for p in autostart::parse_supervisord_conf(text)
            .programs
            .into_iter()
            .filter(|p| p.autostart)
        {
            for bot in bots
                .iter()
                .filter(|b| autostart::names(&p.command, &b.entry))
            {
                entries.push(AutostartEntry {
                    bot: bot.name.clone(),
                    source: Source::Supervisord,
                    entry: (format!("[program:{}] in {file} (autostart): {}", p.name, p.command))
                        .into(),
                    fix: crate::fix::Fix::supervisord_autostart_off(
                        &p.name,
                        file,
                        &crate::fix::Fix::run(&["supervisorctl", "update"]),
                    ),
                });
            }
        }
    }
    entries.sort_by(|a, b| (&a.source, &a.entry).cmp(&(&b.source, &b.entry)));
    found.entries = entries;
    found
}
