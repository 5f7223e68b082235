//! The sentences that name what botctl found — an instance, where it runs, what keeps it
//! alive — written once and used by every command that mentions them.

use crate::outside::shown;
use crate::sources::local::{BotProcess, Maybe};
use crate::sources::supervisor::{Name, Supervisor, SupervisorKind};

/// "local pid 4242 `python3 bot.py` (anna, in /home/anna/lb, since …)", and what keeps it alive.
pub fn instance(i: &BotProcess) -> String {
    at("local", i)
}

/// An instance on a `[[host]]` server.
pub fn on_host(host: &str, i: &BotProcess) -> String {
    at(&format!("host {host}"), i)
}

/// "maybe: local pid 4242 `python3 bot.py` (…) — why": a process that runs the bot's entry
/// and may be another project's copy.
pub fn maybe(host: Option<&str>, m: &Maybe) -> String {
    let place = host.map_or("local".to_string(), |h| format!("host {h}"));
    format!("maybe: {} — {}", at(&place, &m.instance), m.why)
}

fn at(place: &str, i: &BotProcess) -> String {
    // argv and folder are anybody's text: shown escaped.
    let in_vm = i
        .container
        .as_ref()
        .is_some_and(|c| c.pid_in == crate::sources::containers::PidIn::Engine);
    let place = if in_vm {
        format!("{place} container")
    } else {
        place.to_string()
    };
    let mut s = format!("{place} pid {} `{}` ({}", i.pid, i.cmd, i.user);
    if let Some(cwd) = &i.cwd {
        s.push_str(&format!(", in {}", shown(&cwd.display().to_string())));
    }
    if let Some(t) = i.started {
        s.push_str(&format!(", since {t}"));
    }
    s.push(')');
    if let Some(sup) = &i.supervisor {
        let by = match &i.container {
            Some(c) => format!("container {}", c.described()),
            None => supervisor(sup),
        };
        s.push_str(&format!(", kept alive by {by}; stop: {}", sup.stop()));
    }
    s
}

/// "supervisord program partner (pid 812)", "a shell loop (pid 900)".
pub fn supervisor(s: &Supervisor) -> String {
    let pid = s.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    // Seen, not named: still the kind, with why ("pm2 (pid 700), app not named: …").
    if let Name::Unknown { why } = &s.name {
        let what = if s.kind == SupervisorKind::Pm2 {
            "app"
        } else {
            "program"
        };
        return format!("{}{pid}, {what} not named: {why}", s.kind);
    }
    match s.kind {
        SupervisorKind::Loop => format!("a shell loop{pid}"),
        SupervisorKind::Reloader => format!("the reloader {}{pid}", s.name),
        SupervisorKind::Cron => format!("cron{pid}"),
        SupervisorKind::Systemd | SupervisorKind::SystemdUser => {
            format!("{} unit {}", s.kind, s.name)
        }
        SupervisorKind::Docker => format!("container {}", s.name),
        SupervisorKind::Pm2 => format!("pm2 app {}{pid}", s.name),
        SupervisorKind::Supervisord => format!("supervisord program {}{pid}", s.name),
        SupervisorKind::Launchd => format!("launchd job {}{pid}", s.name),
    }
}
