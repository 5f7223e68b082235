//! The scan's named parts (crontab, systemd, pm2, …): each program's exit status and output.

use std::collections::HashMap;

/// A part of the scan's output, by the name scan.sh gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Section {
    Passwd,
    Crontab,
    Systemd,
    SystemdUser,
    Pm2,
    Pm2Dump,
    Supervisorctl,
    /// One of supervisord's config files, by its path.
    SupervisordConf(String),
}

impl Section {
    pub(super) fn parse(name: &str) -> Option<Section> {
        Some(match name {
            "passwd" => Section::Passwd,
            "crontab" => Section::Crontab,
            "systemd" => Section::Systemd,
            "systemd-user" => Section::SystemdUser,
            "pm2" => Section::Pm2,
            "pm2-dump" => Section::Pm2Dump,
            "supervisorctl" => Section::Supervisorctl,
            _ => Section::SupervisordConf(name.strip_prefix("supervisord-conf:")?.to_string()),
        })
    }
}

/// Each section with the exit status of its program and what it printed.
pub(super) type Sections = HashMap<Section, (i32, String)>;
