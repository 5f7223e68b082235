//! Other Fly apps that hold a bot's token: a staging or beta app made by copying the
//! production app's secrets polls with the production token. Fly shows each secret's digest
//! (never its value); equal digests mean equal values (reference/flyctl.md).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Bot;
use crate::fix::Fix;
use crate::outside::Outside;
use crate::sources::fly::{FlyError, FlySecret, Flyctl, Machine, OnFly};

/// At most this many flyctl calls at a time: an account can see hundreds of apps.
pub const MAX_IN_FLIGHT: usize = 8;

/// What was read about the apps of the account.
pub struct OtherApps {
    /// Every app the account can see (`flyctl apps list`).
    pub listed: Result<Vec<Outside>, FlyError>,
    /// The secrets of every app read, by its name (outside text): the bots' own apps and the
    /// others.
    pub secrets: BTreeMap<Outside, Result<Vec<FlySecret>, FlyError>>,
    /// Machines of the other apps that hold one of the bots' tokens.
    pub machines: BTreeMap<Outside, Result<Vec<Machine>, FlyError>>,
}

/// What the other Fly apps say about one bot's token.
pub struct SharedToken<'a> {
    /// Apps that hold the same token.
    pub also: Vec<Also<'a>>,
    /// How many other apps were compared.
    pub checked: usize,
    /// What could not be compared, as sentences ("not checked"; never a conflict).
    pub unchecked: Vec<String>,
}

impl<'a> SharedToken<'a> {
    /// The apps that poll with the token now: those with a started machine.
    pub fn polling(&self) -> impl Iterator<Item = &Also<'a>> {
        self.also.iter().filter(|a| !a.started().is_empty())
    }
}

/// Another Fly app holding the same token, in secret `secret`.
pub struct Also<'a> {
    /// Named in the Fly account: outside text.
    pub app: Outside,
    pub secret: Outside,
    pub machines: Result<&'a [Machine], &'a FlyError>,
}

impl Also<'_> {
    pub fn started(&self) -> Vec<&Machine> {
        self.machines
            .map(|ms| ms.iter().filter(|m| m.may_poll()).collect())
            .unwrap_or_default()
    }

    /// Give the other app its own bot's token (a placeholder, never a value), or stop its
    /// started machines. Its names are the Fly account's: quoted for the shell.
    pub fn fix(&self) -> Fix {
        let started: Vec<&str> = self.started().iter().map(|m| m.id.as_str()).collect();
        Fix::set_secret_placeholder(self.secret.raw(), self.app.raw(), &started)
    }
}

impl OtherApps {
    /// Other Fly apps holding this bot's token; `None` when the bot has no fly_app or no
    /// token secret to compare.
    pub fn shared_token<'a>(
        &'a self,
        bot: &Bot,
        listed: impl Fn(&str) -> Option<&'a Result<Vec<Machine>, FlyError>>,
    ) -> Option<SharedToken<'a>> {
        let fly_of_bot = bot.fly()?;
        let app = fly_of_bot.app.as_str();
        let name = fly_of_bot.token_secret.as_deref()?;
        let mut result = SharedToken {
            also: Vec::new(),
            checked: 0,
            unchecked: Vec::new(),
        };
        let digest = match self.secrets.get(app) {
            Some(Ok(_)) => digest_of(&self.secrets, app, name),
            Some(Err(e)) => {
                result.unchecked.push(format!(
                    "the secrets of {app} could not be read, so other apps were not compared: {e}"
                ));
                return Some(result);
            }
            None => None,
        };
        let Some(digest) = digest else {
            result.unchecked.push(format!(
                "{app} has no secret {name}, so other apps were not compared \
(token_secret in botctl.toml names the Fly secret that holds \
the token)"
            ));
            return Some(result);
        };
        if let Err(e) = &self.listed {
            result
                .unchecked
                .push(format!("the Fly apps could not be listed: {e}"));
        }
        let mut timed_out = 0;
        for (other_app, secrets) in &self.secrets {
            if other_app == app {
                continue;
            }
            match secrets {
                Err(FlyError::TimedOut { .. }) => timed_out += 1,
                Ok(list) => {
                    result.checked += 1;
                    if let Some(secret) = list.iter().find(|s| s.digest == digest) {
                        let machines =
                            match listed(other_app.raw()).or(self.machines.get(other_app)) {
                                Some(Ok(ms)) => Ok(ms.as_slice()),
                                Some(Err(e)) => Err(e),
                                None => Ok(&[][..]),
                            };
                        result.also.push(Also {
                            app: other_app.clone(),
                            secret: secret.name.clone(),
                            machines,
                        });
                    }
                }
                Err(e) => result.unchecked.push(format!("{other_app}: {e}")),
            }
        }
        // One line for all of them: hundreds of apps must not make hundreds of lines.
        if timed_out > 0 {
            result.unchecked.push(format!(
                "{timed_out} app{} not compared: flyctl secrets list timed out",
                if timed_out == 1 { "" } else { "s" }
            ));
        }
        Some(result)
    }
}

/// (fly_app, token_secret) of every bot that has both.
pub fn wanted<'a>(bots: &[&'a Bot]) -> Vec<(&'a str, &'a str)> {
    bots.iter()
        .filter_map(|b| {
            let fly = b.fly()?;
            Some((fly.app.as_str(), fly.token_secret.as_deref()?))
        })
        .collect()
}

/// Reads the bots' own apps' secrets and the app list at once, then every other app's
/// secrets (and the machines of those that hold a wanted digest). The whole source has one
/// deadline, two calls' time: an account with hundreds of apps that hang costs that, not
/// hundreds of timeouts; apps not read by then are "not compared".
pub fn read(flyctl: &Flyctl, wanted: &[(&str, &str)]) -> OtherApps {
    let deadline = std::time::Instant::now() + 2 * flyctl.timeout();
    let own: Vec<Outside> = wanted
        .iter()
        .map(|(app, _)| Outside::from(*app))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (listed, own_secrets) = std::thread::scope(|s| {
        let listed = s.spawn(|| flyctl.apps());
        // One slot is taken by `apps list`.
        let own_secrets = bounded(&own, MAX_IN_FLIGHT - 1, |app| flyctl.secrets(app.raw()));
        (super::joined(listed.join()), own_secrets)
    });
    let mut secrets: BTreeMap<Outside, Result<Vec<FlySecret>, FlyError>> =
        own.iter().cloned().zip(own_secrets).collect();
    let digests: BTreeSet<String> = wanted
        .iter()
        .filter_map(|(app, name)| digest_of(&secrets, app, name))
        .map(str::to_string)
        .collect();
    let mut machines = BTreeMap::new();
    // Without a digest of our own there is nothing to compare: no need to ask about others.
    if let (Ok(all), false) = (&listed, digests.is_empty()) {
        let others: Vec<Outside> = all
            .iter()
            .filter(|a| !secrets.contains_key(*a))
            .cloned()
            .collect();
        let read = bounded(&others, MAX_IN_FLIGHT, |app| {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                // Shown escaped: the app's name is the account's.
                let command = format!("flyctl secrets list --app {app} --json");
                return (
                    Err(FlyError::TimedOut {
                        command,
                        after: left,
                    }),
                    None,
                );
            }
            let flyctl = flyctl.within(left);
            let found = flyctl.secrets(app.raw());
            let holds = found
                .as_ref()
                .is_ok_and(|list| list.iter().any(|s| digests.contains(s.digest.raw())));
            // Its machines, every one (botctl.toml names none of its groups).
            let machines = || OnFly::app(&flyctl, app.raw()).fly_look().listed;
            (found, holds.then(machines))
        });
        for (app, (found, ms)) in others.into_iter().zip(read) {
            if let Some(ms) = ms {
                machines.insert(app.clone(), ms);
            }
            secrets.insert(app, found);
        }
    }
    OtherApps {
        listed,
        secrets,
        machines,
    }
}

/// The digest of secret `name` of `app`, when it was read and is there.
pub fn digest_of<'a>(
    secrets: &'a BTreeMap<Outside, Result<Vec<FlySecret>, FlyError>>,
    app: &str,
    name: &str,
) -> Option<&'a str> {
    match secrets.get(app) {
        Some(Ok(list)) => list
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.digest.raw())
            .filter(|d| !d.is_empty()),
        _ => None,
    }
}

/// `f` over `items` on at most `limit` threads at a time; results in the order of `items`.
fn bounded<T: Sync, R: Send>(items: &[T], limit: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..limit.min(items.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was done"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn bot_with(secret: Option<&str>) -> Bot {
        let text = match secret {
            Some(s) => format!(
                "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\nfly_app = \
\"prod\"\ntoken_secret = \"{s}\"\n"
            ),
            None => "[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\nfly_app = \"prod\"\n".into(),
        };
        crate::config::parse(&text, std::path::Path::new("botctl.toml"), "/p".into())
            .unwrap()
            .bots
            .remove(0)
    }

    fn secrets(list: &[(&str, &str)]) -> Result<Vec<FlySecret>, FlyError> {
        Ok(list
            .iter()
            .map(|(name, digest)| FlySecret {
                name: (*name).into(),
                digest: (*digest).into(),
            })
            .collect())
    }

    fn read() -> OtherApps {
        OtherApps {
            listed: Ok(vec![
                "prod".into(),
                "beta".into(),
                "other".into(),
                "locked".into(),
            ]),
            secrets: [
                ("prod".into(), secrets(&[("TOKEN", "d1"), ("DB", "d9")])),
                ("beta".into(), secrets(&[("BOT_TOKEN", "d1")])),
                ("other".into(), secrets(&[("TOKEN", "d2"), ("EMPTY", "")])),
                (
                    "locked".into(),
                    Err(FlyError::AppNotFound {
                        app: "locked".into(),
                    }),
                ),
            ]
            .into_iter()
            .collect(),
            machines: [(
                "beta".into(),
                Ok(vec![
                    Machine::stub("b1", "started"),
                    Machine::stub("b2", "stopped"),
                ]),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn equal_digests_are_the_same_token_and_unreadable_apps_are_not_checked() {
        let read = read();
        let fly = |_: &str| None;
        let bot = bot_with(Some("TOKEN"));
        let shared = read.shared_token(&bot, fly).unwrap();
        assert_eq!(shared.also.len(), 1);
        assert_eq!(
            (shared.also[0].app.raw(), shared.also[0].secret.raw()),
            ("beta", "BOT_TOKEN")
        );
        assert_eq!(shared.also[0].started().len(), 1);
        assert_eq!(shared.checked, 2);
        assert_eq!(shared.unchecked.len(), 1);
        assert!(shared.unchecked[0].starts_with("locked: "));

        // A secret that is not in the bot's own app: nothing compared, and it says so.
        let missing = bot_with(Some("NOPE"));
        let shared = read.shared_token(&missing, fly).unwrap();
        assert!(shared.also.is_empty());
        assert!(shared.unchecked[0].contains("prod has no secret NOPE"));

        // No token secret at all: nothing to say.
        assert!(read.shared_token(&bot_with(None), fly).is_none());
    }

    #[test]
    fn bounded_keeps_order_and_limit() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u32> = (0..20).collect();
        let out = bounded(&items, 8, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 8);
        assert!(bounded(&Vec::<u32>::new(), 8, |i| *i).is_empty());
    }
}
