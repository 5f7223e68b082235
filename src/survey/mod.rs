//! One look at every source, gathered concurrently: one process scan, one ssh round trip per
//! `[[host]]`, every bot's platform through the seam (one `machine list` per Fly app however
//! many bots share it) and every Telegram call at once. status, checklist and the
//! refusals of dev-start and deploy-resume read the `Survey` and its `Places`, so a source
//! added here counts everywhere. What a workflow does after that asks the sources it changes
//! (flyctl stop/start and the waits on them, the probe, dev-stop's rescans), and doctor adds
//! the checks only it makes (whoami, logs, the probe).

pub mod finding;
pub mod judge;
pub mod other_apps;
pub mod releases;

pub use other_apps::SharedToken;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{Bot, Config};
use crate::model::{AppName, BotName, HostName, PlatformKind};
use crate::sources::autostart::{self, AutostartScan};
use crate::sources::fly::{FlyError, FlyLook, Flyctl, Machine};
use crate::sources::host::{self, HostError, HostScan};
use crate::sources::local::{self, BotProcess, Maybe};
use crate::sources::platform::{Instance as PlatformInstance, Look, PlatformError, Specific};
use crate::sources::proc::TableError;
use crate::sources::telegram::{ApiError, BotApi, TokenLookup, Tokens, WebhookInfo};
use crate::team::{self, Record};

/// Time limit for crontab, systemctl and launchctl.
const AUTOSTART_LIMIT: Duration = Duration::from_secs(10);

pub struct Survey {
    pub local: Result<Vec<BotProcess>, TableError>,
    /// Processes here that run a bot's entry and cannot be told to be this project's copy.
    pub maybe: Vec<Maybe>,
    /// Other users' Python or Node processes whose argv could not be read (macOS without sudo).
    pub hidden: Vec<crate::sources::proc::Unreadable>,
    /// What the container engine said (its bots' containers are in `local`).
    pub engine: crate::sources::containers::EngineState,
    /// Per bot name.
    pub telegram: BTreeMap<BotName, Telegram>,
    pub autostart: AutostartScan,
    /// Other Fly apps and their secrets; `None` when no bot has both fly_app and a token secret.
    pub other_apps: Option<other_apps::OtherApps>,
    /// Per `[[host]]` that may run one of these bots: its scan, or why it was not read.
    pub hosts: BTreeMap<HostName, Result<HostScan, HostError>>,
    /// Per host read: the bots it may run.
    pub host_bots: BTreeMap<HostName, Vec<BotName>>,
    /// Per bot with a platform (Fly included): one look at it through the platform seam.
    platforms: BTreeMap<BotName, PlatformLook>,
}

/// What a bot's platform said.
pub struct PlatformLook {
    pub kind: PlatformKind,
    pub name: String,
    pub instances: Result<Vec<PlatformInstance>, PlatformError>,
    /// The team's handoff record there (`None` where the platform keeps none).
    pub record: Option<Result<Vec<(String, String)>, PlatformError>>,
    /// What only this platform tells (Fly's machines).
    specific: Option<Specific>,
}

impl PlatformLook {
    /// Fly's machines, when the platform is Fly.
    pub fn fly(&self) -> Option<&FlyLook> {
        self.specific.as_ref()?.downcast_ref()
    }

    fn fly_mut(&mut self) -> Option<&mut FlyLook> {
        self.specific.as_mut()?.downcast_mut()
    }
}

pub struct Telegram {
    pub token: TokenLookup,
    pub me: Option<Result<crate::outside::Outside, ApiError>>,
    pub webhook: Option<Result<WebhookInfo, ApiError>>,
}

pub fn gather(cfg: &Config, bots: &[&Bot], flyctl: &Flyctl, tokens: &Tokens) -> Survey {
    gather_with(cfg, bots, flyctl, tokens, Autostarts::Read)
}

/// Whether a survey reads the autostart entries (crontab, systemctl, launchctl): they are no
/// places, and `exec`, which only asks where the bot runs now, starts the bot sooner without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Autostarts {
    Read,
    Skip,
}

pub fn gather_with(
    cfg: &Config,
    bots: &[&Bot],
    flyctl: &Flyctl,
    tokens: &Tokens,
    autostarts: Autostarts,
) -> Survey {
    // One look: bots in one Fly app share its one `machine list`.
    let flyctl = &flyctl.for_one_look();
    std::thread::scope(|s| {
        // The scan also finds running supervisord daemons, whose configs are autostart entries.
        let local = s.spawn(|| {
            let scan = local::scan_full(bots, &cfg.root, tokens);
            let confs = scan
                .as_ref()
                .map(|s| s.supervisord_confs.clone())
                .unwrap_or_default();
            let (hidden, engine, maybe) = scan
                .as_ref()
                .map(|s| (s.hidden.clone(), s.engine.clone(), s.maybe.clone()))
                .unwrap_or_default();
            (
                scan.map(|s| s.instances),
                (hidden, engine, maybe),
                autostart::supervisord(bots, &confs),
            )
        });
        let autostart = s.spawn(move || match autostarts {
            Autostarts::Read => autostart::scan(bots, AUTOSTART_LIMIT),
            Autostarts::Skip => AutostartScan::default(),
        });
        let wanted = other_apps::wanted(bots);
        let other =
            (!wanted.is_empty()).then(|| s.spawn(move || other_apps::read(flyctl, &wanted)));
        let hosts: Vec<_> = cfg
            .hosts
            .iter()
            .filter(|h| bots.iter().any(|b| h.may_run(&b.name)))
            .map(|h| (h.name.clone(), s.spawn(move || host::read(h, bots, tokens))))
            .collect();
        let platforms: Vec<_> = bots
            .iter()
            .filter_map(|bot| {
                let platform = crate::sources::platform_of(bot, flyctl, &cfg.platforms)?;
                Some((
                    bot.name.clone(),
                    platform.kind(),
                    platform.name().to_string(),
                    s.spawn(move || platform.look()),
                ))
            })
            .collect();
        let telegram: Vec<_> = bots
            .iter()
            .map(|bot| {
                let token = tokens.of(bot).clone();
                let calls = match &token {
                    TokenLookup::Found { token, .. } => {
                        let api =
                            BotApi::new(&cfg.telegram.api, token.clone(), cfg.telegram.timeout);
                        let me = s.spawn({
                            let api = api.clone();
                            move || api.get_me()
                        });
                        let webhook = s.spawn(move || api.webhook_info());
                        Some((me, webhook))
                    }
                    _ => None,
                };
                (bot.name.clone(), token, calls)
            })
            .collect();

        let (local, (hidden, engine, maybe), programs) = joined(local.join());
        let mut autostart = joined(autostart.join());
        autostart.entries.extend(programs);
        let mut platforms: BTreeMap<BotName, PlatformLook> = platforms
            .into_iter()
            .map(|(bot, kind, name, h)| {
                let Look {
                    instances,
                    record,
                    specific,
                } = joined(h.join());
                let look = PlatformLook {
                    kind,
                    name,
                    instances,
                    record,
                    specific,
                };
                (bot, look)
            })
            .collect();
        note_releases(&cfg.root, &mut platforms);
        Survey {
            local,
            maybe,
            hidden,
            engine,
            autostart,
            other_apps: other.map(|h| joined(h.join())),
            hosts: hosts
                .into_iter()
                .map(|(name, h)| (name, joined(h.join())))
                .collect(),
            host_bots: cfg
                .hosts
                .iter()
                .map(|h| (h.name.clone(), h.bots.clone()))
                .collect(),
            platforms,
            telegram: telegram
                .into_iter()
                .map(|(name, token, calls)| {
                    let (me, webhook) = match calls {
                        Some((me, wh)) => (Some(joined(me.join())), Some(joined(wh.join()))),
                        None => (None, None),
                    };
                    (name, Telegram { token, me, webhook })
                })
                .collect(),
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Conflict,
    Stopped,
    Unknown,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Conflict => "conflict",
            Verdict::Stopped => "stopped",
            Verdict::Unknown => "unknown",
        })
    }
}

/// Every place one bot runs, as the survey saw it.
pub struct Places<'a> {
    pub local: Vec<&'a BotProcess>,
    /// Instances on `[[host]]` servers: (host name, instance).
    pub hosts: Vec<(&'a HostName, &'a BotProcess)>,
    /// Processes that run the bot's entry but may be another project's copy: here (`None`) or
    /// on a host. No place; they make the verdict unknown.
    pub maybe: Vec<(Option<&'a HostName>, &'a Maybe)>,
    /// Started machines of the bot's own Fly app (empty without one; [`Places::on_fly`] pairs
    /// them with the app).
    pub machines: Vec<&'a Machine>,
    /// The bot's own Fly app, when it has one and its machines were read.
    pub app: Option<&'a AppName>,
    /// Running instances on the bot's platform when it is not Fly (pods, dynos, replicas).
    pub platform: Vec<&'a PlatformInstance>,
    /// Started machines of other Fly apps that hold the same token: (app, machine).
    pub also: Vec<(crate::outside::Outside, &'a Machine)>,
    /// A set webhook: Telegram delivers updates there, so polling anywhere conflicts with it.
    pub webhook: Option<&'a crate::outside::Outside>,
    /// Sources that could not be read (sentences).
    pub unreadable: Vec<String>,
    /// The handoff record on the bot's Fly machines, read from the same `machine list`.
    pub record: Option<Record>,
    /// How the bot gets updates in production: a webhook bot's webhook and its own Fly
    /// machines are one place.
    pub mode: crate::model::UpdateMode,
}

impl<'a> Places<'a> {
    /// The started machines of the bot's own app, each with the app.
    pub fn on_fly(&self) -> impl Iterator<Item = (&'a AppName, &'a Machine)> + '_ {
        self.app
            .into_iter()
            .flat_map(|app| self.machines.iter().map(move |m| (app, *m)))
    }

    pub fn count(&self) -> usize {
        // Telegram posts to the webhook and Fly Proxy hands each post to one of the machines:
        // together they are production, one place. Only a poller elsewhere conflicts with it.
        let production = if self.mode.is_webhook() {
            usize::from(self.webhook.is_some() || !self.machines.is_empty())
        } else {
            self.machines.len() + usize::from(self.webhook.is_some())
        };
        self.local.len()
            + self.hosts.len()
            + production
            + self.platform.len()
            + self.also.len()
            + usize::from(self.declared().is_some())
    }

    /// A record by someone else: a teammate's laptop that no source here can see, declared on
    /// Fly. It counts as a place.
    pub fn declared(&self) -> Option<&Record> {
        self.record.as_ref().filter(|r| !r.is_mine())
    }

    pub fn verdict(&self) -> Verdict {
        match self.count() {
            n if n >= 2 => Verdict::Conflict,
            _ if !self.unreadable.is_empty() || !self.maybe.is_empty() => Verdict::Unknown,
            0 => Verdict::Stopped,
            _ => Verdict::Ok,
        }
    }
}

impl Survey {
    pub fn places<'a>(&'a self, bot: &Bot) -> Places<'a> {
        let mut unreadable = Vec::new();
        let local = match &self.local {
            Ok(list) => list.iter().filter(|i| i.bot == bot.name).collect(),
            Err(e) => {
                unreadable.push(e.to_string());
                Vec::new()
            }
        };
        // Unreadable is not absent: another user's python3 may be this bot.
        unreadable.extend(local::hidden_note(&self.hidden, bot));
        let mut maybe: Vec<(Option<&HostName>, &Maybe)> = self
            .maybe
            .iter()
            .filter(|m| m.instance.bot == bot.name)
            .map(|m| (None, m))
            .collect();
        let mut hosts = Vec::new();
        for (name, scan) in &self.hosts {
            match scan {
                Ok(scan) => {
                    hosts.extend(
                        scan.instances
                            .iter()
                            .filter(|i| i.bot == bot.name)
                            .map(|i| (name, i)),
                    );
                    maybe.extend(
                        scan.maybe
                            .iter()
                            .filter(|m| m.instance.bot == bot.name)
                            .map(|m| (Some(name), m)),
                    );
                }
                // Only a host that may run this bot was read for it.
                Err(e) if self.host_runs(name, bot) => unreadable.push(format!("host {name}: {e}")),
                Err(_) => {}
            }
        }
        // A copy that cannot be told may be the bot: what it is is not known.
        unreadable.extend(maybe.iter().map(|(host, m)| {
            let at = host.map_or("here".to_string(), |h| format!("on host {h}"));
            format!(
                "pid {} {at} runs {} but may be another project's copy: {}",
                m.instance.pid, bot.entry, m.why
            )
        }));
        let fly = self.platforms.get(&bot.name).and_then(PlatformLook::fly);
        let machines = match fly.map(|f| &f.bot) {
            Some(Ok(ms)) => ms.iter().filter(|m| m.is_running()).collect(),
            Some(Err(e)) => {
                unreadable.push(e.to_string());
                Vec::new()
            }
            None => Vec::new(),
        };
        // A set webhook is a place; a Bot API that cannot be read may hide one.
        let webhook = match self
            .telegram
            .get(&bot.name)
            .and_then(|t| t.webhook.as_ref())
        {
            Some(Ok(w)) => Some(&w.url).filter(|u| !u.is_empty()),
            Some(Err(e)) => {
                unreadable.push(e.to_string());
                None
            }
            None => None,
        };
        let mut also = Vec::new();
        for other in self.shared_token(bot).map(|t| t.also).unwrap_or_default() {
            match other.machines {
                Ok(ms) => also.extend(
                    ms.iter()
                        .filter(|m| m.may_poll())
                        .map(|m| (other.app.clone(), m)),
                ),
                // It holds the token; whether it runs cannot be told.
                Err(e) => unreadable.push(e.to_string()),
            }
        }
        // Fly's instances are its machines, told above with their groups and apps.
        let platform = match self.other_platform(bot).map(|p| &p.instances) {
            Some(Ok(list)) => list.iter().filter(|i| i.running).collect(),
            Some(Err(e)) => {
                unreadable.push(e.to_string());
                Vec::new()
            }
            None => Vec::new(),
        };
        let record = match (self.machines(bot), self.other_platform(bot)) {
            (Some(Ok(ms)), _) => team::record(bot, ms),
            (_, Some(look)) => match &look.record {
                Some(Ok(pairs)) => team::record_in(bot, pairs, &look.name),
                Some(Err(e)) => {
                    unreadable.push(e.to_string());
                    None
                }
                None => None,
            },
            _ => None,
        };
        Places {
            local,
            hosts,
            maybe,
            machines,
            platform,
            app: fly.map(|f| &f.app),
            also,
            webhook,
            unreadable,
            record,
            mode: bot.mode,
        }
    }

    /// Other Fly apps holding this bot's token; `None` when the bot has no fly_app or no
    /// token secret to compare.
    pub fn shared_token(&self, bot: &Bot) -> Option<SharedToken<'_>> {
        let listed = |app: &str| {
            self.platforms
                .values()
                .filter_map(PlatformLook::fly)
                .find(|f| f.app.as_str() == app)
                .map(|f| &f.listed)
        };
        self.other_apps.as_ref()?.shared_token(bot, listed)
    }

    /// The bot's platform when it is not Fly (pods, dynos, replicas): told as instances.
    pub fn other_platform(&self, bot: &Bot) -> Option<&PlatformLook> {
        self.platforms
            .get(&bot.name)
            .filter(|look| look.fly().is_none())
    }

    /// Whether host `name` was read for `bot` (its `bots` name it).
    fn host_runs(&self, name: &str, bot: &Bot) -> bool {
        self.host_bots
            .get(name)
            .is_some_and(|b| b.contains(&bot.name))
    }

    /// The hosts read for `bot`, with their scans.
    pub fn hosts_of<'a>(
        &'a self,
        bot: &'a Bot,
    ) -> impl Iterator<Item = (&'a HostName, &'a Result<HostScan, HostError>)> + 'a {
        self.hosts
            .iter()
            .filter(move |(name, _)| self.host_runs(name, bot))
    }

    /// The machines of the bot's process group (`None`: it has no Fly app).
    pub fn machines(&self, bot: &Bot) -> Option<&Result<Vec<Machine>, FlyError>> {
        self.fly(bot).map(|f| &f.bot)
    }

    /// Its app's machines that are not the bot's (another group, a console, a canary).
    pub fn other_machines(&self, bot: &Bot) -> &[Machine] {
        self.fly(bot).map_or(&[], |f| f.others.as_slice())
    }

    /// What the look at the bot's Fly app saw (`None`: it has no Fly app).
    fn fly(&self, bot: &Bot) -> Option<&FlyLook> {
        self.platforms.get(&bot.name)?.fly()
    }
}

/// Compares each Fly app's machines with botctl's earlier sighting of their releases (once
/// per app, however many bots share it) and notes a replacement in place in every bot's look.
fn note_releases(root: &std::path::Path, platforms: &mut BTreeMap<BotName, PlatformLook>) {
    let mut fly: BTreeMap<AppName, Result<Vec<Machine>, FlyError>> = platforms
        .values()
        .filter_map(PlatformLook::fly)
        .map(|f| (f.app.clone(), f.listed.clone()))
        .collect();
    releases::compare_and_remember(root, &mut fly, crate::time::now());
    for look in platforms.values_mut() {
        if let Some(f) = look.fly_mut()
            && let Some(Ok(noted)) = fly.get(&f.app)
        {
            f.take_notes(noted);
        }
    }
}

/// The Fly apps of these bots, each once.
pub fn apps(bots: &[&Bot]) -> Vec<AppName> {
    let mut apps: Vec<AppName> = bots.iter().filter_map(|b| b.app().cloned()).collect();
    apps.sort();
    apps.dedup();
    apps
}

/// A scoped thread's result; a panic in it goes on in the caller.
pub fn joined<T>(r: std::thread::Result<T>) -> T {
    r.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
