//! The judgments that status, checklist and doctor share, made once from the survey: whose
//! token it is, what can start the bot again (here and on each host), and whether a host's
//! copies fight with another place. Each command renders them its own way; none re-derives
//! them.

use crate::config::{Bot, Host};
use crate::fix::Fix;
use crate::model::HostName;
use crate::outside::Outside;
use crate::sources::autostart::{AutostartEntry, Reach, Source};
use crate::sources::host::HostError;
use crate::sources::local::BotProcess;
use crate::sources::telegram::TokenLookup;

use super::{Places, Survey};

/// Whose token it is, by `getMe`, against botctl.toml's `username`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Username<'a> {
    /// No token to ask with, or `getMe` did not answer.
    Unknown,
    /// The bot the token belongs to: the one expected, or botctl.toml expects none. As the
    /// Bot API says it: outside text.
    Is(&'a Outside),
    /// The token belongs to another bot than botctl.toml says.
    Mismatch { got: &'a Outside, want: &'a str },
}

pub fn username<'a>(bot: &'a Bot, survey: &'a Survey) -> Username<'a> {
    let Some(t) = survey.telegram.get(&bot.name) else {
        return Username::Unknown;
    };
    if !matches!(t.token, TokenLookup::Found { .. }) {
        return Username::Unknown;
    }
    match (&t.me, &bot.username) {
        (Some(Ok(got)), Some(want)) if !got.raw().eq_ignore_ascii_case(want) => {
            Username::Mismatch {
                got,
                want: want.as_str(),
            }
        }
        (Some(Ok(got)), _) => Username::Is(got),
        _ => Username::Unknown,
    }
}

/// The command that ends one local instance, decided here for every command that names it
/// (exec's refusal, dev-start's and deploy-resume's): a container's through its engine, as
/// status shows it (its pid may be the engine VM's, which no `kill` here reaches); this user's
/// with `botctl dev-stop`; another user's by its supervisor's own stop, else by that user or
/// root.
pub fn local_fix(bot: &Bot, i: &BotProcess) -> Fix {
    if let (Some(_), Some(s)) = (&i.container, &i.supervisor) {
        return s.stop();
    }
    if i.uid == Some(crate::model::Uid::own()) {
        return Fix::dev_stop(&bot.name);
    }
    if let Some(s) = &i.supervisor {
        return s.stop();
    }
    Fix::ask_user_to_stop(&i.user.to_string(), &bot.name, i.pid)
}

/// Each copy's own fix, as [`local_fix`] decides it, each named once.
pub fn stop_local(bot: &Bot, local: &[&BotProcess]) -> Option<Fix> {
    Fix::each(local.iter().map(|i| local_fix(bot, i)))
}

/// An autostart entry that can start the bot again: on this machine (`host: None`) or on a
/// `[[host]]`.
#[derive(Debug, Clone, Copy)]
pub struct Autostart<'a> {
    pub host: Option<&'a HostName>,
    pub entry: &'a AutostartEntry,
}

impl Autostart<'_> {
    /// What removes it: its own fix, after `ssh` for a host's.
    pub fn fix(&self, hosts: &[Host]) -> Fix {
        match self.host {
            None => self.entry.fix.clone(),
            Some(host) => {
                let dest = hosts
                    .iter()
                    .find(|h| h.name == *host)
                    .map_or(host.as_str(), |h| h.ssh.as_str());
                Fix::on_server(dest, &self.entry.fix)
            }
        }
    }
}

/// This machine's entries first, then each host's that may run the bot.
pub fn autostart<'a>(bot: &'a Bot, survey: &'a Survey) -> Vec<Autostart<'a>> {
    let mut out: Vec<Autostart> = survey
        .autostart
        .for_bot(&bot.name)
        .into_iter()
        .map(|entry| Autostart { host: None, entry })
        .collect();
    for (host, scan) in survey.hosts_of(bot) {
        if let Ok(scan) = scan {
            out.extend(
                scan.autostart
                    .for_bot(&bot.name)
                    .into_iter()
                    .map(|entry| Autostart {
                        host: Some(host),
                        entry,
                    }),
            );
        }
    }
    out
}

/// An autostart source that could not be read, here or on a host: it may hold an entry.
#[derive(Debug, Clone, Copy)]
pub struct NotChecked<'a> {
    pub host: Option<&'a HostName>,
    pub source: Source,
    pub reason: &'a str,
    pub reach: Reach,
}

impl NotChecked<'_> {
    /// "host vps systemd: systemd is not running there" (outside text: print it escaped).
    pub fn described(&self) -> String {
        let at = self.host.map(|h| format!("host {h} ")).unwrap_or_default();
        format!("{at}{}: {}", self.source, self.reason)
    }
}

/// The autostart sources, here and on each host, that could not be read, and why: those that
/// cannot be on their system ([`Reach::NotHere`]) as well.
pub fn autostart_not_checked(survey: &Survey) -> Vec<NotChecked<'_>> {
    let mut out: Vec<NotChecked> = survey
        .autostart
        .unchecked
        .iter()
        .map(|u| NotChecked {
            host: None,
            source: u.source,
            reason: &u.reason,
            reach: u.reach,
        })
        .collect();
    for (host, scan) in &survey.hosts {
        for u in scan.iter().flat_map(|s| &s.autostart.unchecked) {
            out.push(NotChecked {
                host: Some(host),
                source: u.source,
                reason: &u.reason,
                reach: u.reach,
            });
        }
    }
    out
}

/// One `[[host]]` that may run the bot, as ssh read it.
#[derive(Debug, Clone)]
pub enum OnHost<'a> {
    NotRead {
        host: &'a HostName,
        error: &'a HostError,
    },
    Read {
        host: &'a HostName,
        /// The bot's copies there.
        copies: Vec<&'a BotProcess>,
        /// Places of the bot other than this host.
        elsewhere: usize,
    },
}

impl OnHost<'_> {
    pub fn host(&self) -> &HostName {
        match self {
            OnHost::NotRead { host, .. } | OnHost::Read { host, .. } => host,
        }
    }

    /// Copies there while the bot also runs elsewhere, or two copies there: they fight over
    /// getUpdates, and the fix stops it there.
    pub fn conflicts(&self) -> bool {
        match self {
            OnHost::NotRead { .. } => false,
            OnHost::Read {
                copies, elsewhere, ..
            } => !copies.is_empty() && (*elsewhere > 0 || copies.len() >= 2),
        }
    }
}

/// `places`: the bot's places in the same survey (the copies elsewhere are counted from them).
pub fn hosts<'a>(bot: &'a Bot, survey: &'a Survey, places: &Places) -> Vec<OnHost<'a>> {
    let count = places.count();
    survey
        .hosts_of(bot)
        .map(|(host, scan)| match scan {
            Err(error) => OnHost::NotRead { host, error },
            Ok(scan) => {
                let copies: Vec<&BotProcess> = scan
                    .instances
                    .iter()
                    .filter(|i| i.bot == bot.name)
                    .collect();
                OnHost::Read {
                    host,
                    elsewhere: count.saturating_sub(copies.len()),
                    copies,
                }
            }
        })
        .collect()
}
