//! The user's crontab: `@reboot` and scheduled lines that run the bot.

use super::*;

pub(super) fn crontab(bots: &[&Bot], limit: Duration, found: &mut AutostartScan) {
    let Some(program) = process::find_program("crontab", Path::new("/")) else {
        return unchecked(found, Source::Crontab, "crontab is not installed".into());
    };
    let out = match process::run(&program, &["-l"], limit) {
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
pub fn crontab_entries(text: &str, bots: &[&Bot]) -> Vec<AutostartEntry> {
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for bot in bots.iter().filter(|b| names(line, &b.entry)) {
            entries.push(AutostartEntry {
                bot: bot.name.clone(),
                source: Source::Crontab,
                entry: (line.to_string()).into(),
                fix: Fix::run(&["crontab", "-e"]).note("delete or comment out that line"),
            });
        }
    }
    entries
}
