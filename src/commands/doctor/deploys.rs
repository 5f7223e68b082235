//! doctor's checks of what time makes (reference/flyctl.md "Platform behaviour that causes
//! 409s", "Deploy strategies", "Machine events"), from data doctor has already read: the
//! project's fly.toml, `flyctl version`, the machines' events and creation times from the
//! same `machine list`, and the recent logs.
//!
//! - `deploy`: a bluegreen or canary strategy for a polling bot (every deploy overlaps old and
//!   new pollers; while a handoff is open, an error: it starts the bot on Fly beside the
//!   holder's copy, whatever flyctl's version);
//!   services (`[http_service]`, `[[services]]`) on a polling bot's app, whose first deploy
//!   creates two machines, and `auto_stop_machines`, which stops a bot that serves no
//!   requests; a flyctl older than v0.4.20 while a handoff is open (its deploys start stopped
//!   machines); 409 lines within a minute after a machine was created or replaced.
//! - `events`: a machine a handoff stopped that is running again, named by who started it.

use std::path::PathBuf;

use super::{Context, Evidence};
use crate::config::Bot;
use crate::files::FileError;
use crate::fix::Fix;
use crate::sources::fly::deploy_strategy::Strategy;
use crate::sources::fly::machine_history::{EventKind, EventSource, Made, When};
use crate::sources::fly::{KEEPS_STOPPED_SINCE, LogLine, Machine};
use crate::survey::finding::{Check, Finding, Level};
use crate::time;
use jiff::SignedDuration;

/// A 409 this long after a machine was created or replaced is laid at its door.
const AFTER_CREATE: SignedDuration = SignedDuration::from_secs(60);
/// A 409 line younger than this is an error; older ones a warning.
const RECENT: SignedDuration = SignedDuration::from_secs(600);

/// A bot's fly.toml: its own `fly_toml`, else the project's `[fly] toml`, else `fly.toml` beside
/// botctl.toml.
pub struct FlyToml {
    pub path: PathBuf,
    /// Named in botctl.toml (so its absence is worth saying).
    named: bool,
    text: Option<Result<String, FileError>>,
}

/// Why a fly.toml says nothing botctl can use.
#[derive(Debug)]
pub enum FlyTomlError {
    Unreadable(FileError),
    NotToml(toml::de::Error),
}

impl std::fmt::Display for FlyTomlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlyTomlError::Unreadable(e) => write!(f, "{e}"),
            FlyTomlError::NotToml(e) => f.write_str(e.message()),
        }
    }
}

impl std::error::Error for FlyTomlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FlyTomlError::Unreadable(e) => Some(e),
            FlyTomlError::NotToml(e) => Some(e),
        }
    }
}

impl FlyToml {
    pub fn read(ctx: &Context, bot: &Bot) -> FlyToml {
        let own = bot.fly().and_then(|f| f.toml.as_ref());
        let (path, named) = match own.or(ctx.cfg.fly.toml.as_ref()) {
            Some(p) => (p.clone(), true),
            None => (ctx.cfg.root.join("fly.toml"), false),
        };
        // A fly.toml is a few hundred bytes; anything huge or odd is not one.
        let text = match crate::files::read_text(&path, crate::files::CAP) {
            Err(e) if e.is_missing() => None,
            read => Some(read),
        };
        FlyToml { path, named, text }
    }

    /// What the file says about deploys, or why it cannot be read; `None`: no file.
    pub fn deploy(&self) -> Option<Result<Deploy, FlyTomlError>> {
        let text = match self.text.as_ref()? {
            Ok(t) => t,
            Err(e) => return Some(Err(FlyTomlError::Unreadable(e.clone()))),
        };
        let value: toml::Table = match toml::from_str(text) {
            Ok(v) => v,
            Err(e) => return Some(Err(FlyTomlError::NotToml(e))),
        };
        let app = value
            .get("app")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let strategy = value
            .get("deploy")
            .and_then(|d| d.get("strategy"))
            .and_then(|s| s.as_str())
            .map(str::to_string);
        let services: Vec<&toml::Table> = value
            .get("http_service")
            .and_then(|s| s.as_table())
            .into_iter()
            .chain(
                value
                    .get("services")
                    .and_then(|s| s.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_table()),
            )
            .collect();
        // `auto_stop_machines`: true, "stop" or "suspend" stop an idle machine; false or "off" not.
        let auto_stop = services
            .iter()
            .filter_map(|s| s.get("auto_stop_machines"))
            .find(|v| !matches!(v.as_bool(), Some(false)) && v.as_str() != Some("off"))
            .map(|v| v.to_string());
        Some(Ok(Deploy {
            app,
            strategy,
            services: !services.is_empty(),
            auto_stop,
        }))
    }
}

/// fly.toml's `app`, `[deploy] strategy`, whether it gives the app services, and an
/// `auto_stop_machines` that stops idle machines (as written in fly.toml).
pub struct Deploy {
    pub app: Option<String>,
    pub strategy: Option<String>,
    services: bool,
    auto_stop: Option<String>,
}

/// The `deploy` and `events` findings for one bot.
pub fn findings(bot: &Bot, ev: &Evidence, fly_toml: &FlyToml) -> Vec<Finding> {
    let Some(app) = bot.app().map(|a| a.as_str()) else {
        return Vec::new();
    };
    let mut f = Vec::new();
    strategy(bot, app, fly_toml, handoff_open(bot, ev).as_ref(), &mut f);
    services(bot, app, fly_toml, ev, &mut f);
    old_flyctl(bot, app, ev, &mut f);
    let machines = match ev.survey.machines(bot) {
        Some(Ok(ms)) => ms.as_slice(),
        _ => &[],
    };
    if let Some(Ok(logs)) = ev.logs.get(app) {
        conflicts_after_create(bot, app, machines, &logs.lines, &mut f);
    }
    started_again(bot, app, machines, ev, &mut f);
    f
}

/// A polling bot needs no services: with them, flyctl's first deploy makes two machines (two
/// pollers) unless `--ha=false`, and `auto_stop_machines` lets Fly Proxy stop a bot that
/// serves no requests (reference/flyctl.md).
fn services(bot: &Bot, app: &str, fly_toml: &FlyToml, ev: &Evidence, f: &mut Vec<Finding>) {
    if bot.mode.is_webhook() {
        return; // a webhook bot serves Telegram's posts: services are its front door
    }
    let Some(Ok(deploy)) = fly_toml.deploy() else {
        return;
    };
    if deploy.app.as_deref().is_some_and(|other| other != app) {
        return;
    }
    let shown = fly_toml.path.display();
    // Exactly one machine: the app was deployed with --ha=false or scaled to one already.
    let machines = match ev.survey.machines(bot) {
        Some(Ok(ms)) => Some(ms.len()),
        _ => None,
    };
    if deploy.services && machines != Some(1) {
        let now = match machines {
            Some(0) => "it has no machine yet, so the first deploy creates two".to_string(),
            Some(n) => format!("it has {n} machines"),
            None => "its machines could not be read".to_string(),
        };
        f.push(
            Finding::warn(
                Some(bot),
                Check::Deploy,
                format!(
                    "{shown} gives {app} services ([http_service] or [[services]]): flyctl's first \
deploy of a group with services creates two machines unless `--ha=false` ({now}), and two \
started machines of a polling bot are two pollers"
                ),
            )
            .fix(Fix::run(&["fly", "scale", "count", "1", "--app", app])),
        );
    }
    if let Some(value) = &deploy.auto_stop {
        f.push(
            Finding::warn(
                Some(bot),
                Check::Deploy,
                format!(
                    "{shown} sets auto_stop_machines = {value} for {app}: Fly Proxy stops a \
machine that serves no requests, and a polling bot serves none, so Fly stops the bot"
                ),
            )
            .fix(Fix::auto_stop_off(&shown.to_string())),
        );
    }
}

fn strategy(
    bot: &Bot,
    app: &str,
    fly_toml: &FlyToml,
    handoff: Option<&OpenHandoff>,
    f: &mut Vec<Finding>,
) {
    let shown = fly_toml.path.display();
    match fly_toml.deploy() {
        None if fly_toml.named => f.push(Finding::warn(
            Some(bot),
            Check::Deploy,
            format!("{shown} (named in botctl.toml) does not exist, so its deploy strategy was not checked"),
        )),
        None => {}
        Some(Err(e)) => f.push(Finding::warn(
            Some(bot),
            Check::Deploy,
            format!("cannot read {shown}, so its deploy strategy was not checked: {e}"),
        )),
        // Another app's fly.toml says nothing about this one.
        Some(Ok(Deploy {
            app: Some(other), ..
        })) if other != app => {}
        Some(Ok(Deploy { strategy, .. })) => {
            let s = Strategy::parse(strategy.as_deref().unwrap_or("rolling"));
            let does = s.what_it_does();
            let fix = Fix::deploy_rolling(&bot.name, &shown.to_string());
            let finding = match handoff {
                // Whatever flyctl's version: bluegreen and canary start a machine even when
                // every machine is stopped.
                Some(h) if s.overlaps() && !bot.mode.is_webhook() => Finding::error(
                    Some(bot),
                    Check::Deploy,
                    format!(
                        "{shown} deploys {app} with strategy = \"{s}\" while {} holds {} \
({}): a deploy now starts the bot on Fly beside {}'s copy ({does})",
                        h.holder, bot.name, h.how, h.holder
                    ),
                )
                .fix(fix.clone()),
                _ if s.overlaps() && !bot.mode.is_webhook() => Finding::warn(
                    Some(bot),
                    Check::Deploy,
                    format!(
                        "{shown} deploys {app} with strategy = \"{s}\": {does} (409s on every \
deploy of a polling bot)"
                    ),
                )
                .fix(fix),
                _ => Finding::ok(
                    Some(bot),
                    Check::Deploy,
                    format!("{shown} deploys {app} with strategy = \"{s}\": {does}"),
                )
                .fix(Fix::run(&["botctl", "deploy", &bot.name])),
            };
            f.push(finding);
        }
    }
}

/// An open handoff: who holds the bot (as its record or state names them), and how.
struct OpenHandoff {
    holder: String,
    how: String,
}

/// A handoff is open: in the local state, or a record on one of the app's machines.
fn handoff_open(bot: &Bot, ev: &Evidence) -> Option<OpenHandoff> {
    if let Ok(st) = &ev.handoffs
        && let Some(h) = st.handoff(&bot.name)
    {
        return Some(OpenHandoff {
            holder: crate::outside::shown(&h.by).into_owned(),
            how: format!("dev-start by {} at {}", h.by, h.at),
        });
    }
    let Some(Ok(machines)) = ev.survey.machines(bot) else {
        return None;
    };
    machines
        .iter()
        .filter_map(crate::team::on_machine)
        .find(|r| r.bot.is_empty() || r.bot == bot.name)
        .map(|r| OpenHandoff {
            holder: crate::outside::shown(&r.by).into_owned(),
            how: format!("a handoff record by {} at {}", r.by, r.at),
        })
}

fn old_flyctl(bot: &Bot, app: &str, ev: &Evidence, f: &mut Vec<Finding>) {
    let Some(Ok(version)) = &ev.flyctl_version else {
        return;
    };
    if *version >= KEEPS_STOPPED_SINCE {
        return;
    }
    let Some(handoff) = handoff_open(bot, ev) else {
        return;
    };
    f.push(
        Finding::warn(
            Some(bot),
            Check::Deploy,
            format!(
                "flyctl {version} is older than {KEEPS_STOPPED_SINCE} while {} is handed off \
({}): its `fly deploy` and `fly secrets set` start the stopped machines of {app}, which \
then poll beside the copy here",
                bot.name, handoff.how
            ),
        )
        .fix(Fix::instruction(
            "upgrade flyctl (flyctl version upgrade, or curl -L https://fly.io/install.sh | sh), \
and set secrets with fly secrets set --stage while the bot is handed off",
        )),
    );
}

fn conflicts_after_create(
    bot: &Bot,
    app: &str,
    machines: &[Machine],
    lines: &[LogLine],
    f: &mut Vec<Finding>,
) {
    // The newest 409 that has a machine created or replaced within the minute before it.
    let blamed = lines
        .iter()
        .rev()
        .filter(|l| l.is_conflict())
        .filter_map(|l| {
            let at = l.at?;
            machines.iter().find_map(|m| {
                m.history
                    .created_or_replaced()
                    .into_iter()
                    .filter(|made| made.when().followed_by(at, AFTER_CREATE))
                    .max_by_key(|made| made.when().latest())
                    .map(|made| (l, at, m, made))
            })
        })
        .next();
    let Some((line, at, machine, made)) = blamed else {
        return;
    };
    let level = if time::since(at) < RECENT {
        Level::Error
    } else {
        Level::Warn
    };
    let what = match &made {
        Made::Created(_) => "was created or replaced".to_string(),
        Made::ReplacedInPlace(r) => {
            format!("was replaced in place (release {} → {})", r.from, r.to)
        }
    };
    let when = match made.when() {
        When::At(t) => format!(
            "came {}s after machine {} {what} at {t}",
            at.duration_since(t).as_secs(),
            machine.id
        ),
        When::Between { after, before } => format!(
            "came after machine {} {what} between {after} and {before}",
            machine.id
        ),
    };
    f.push(
        Finding::new(
            level,
            Some(bot),
            Check::Deploy,
            format!(
                "409 lines in the logs of {app} (the last at {at}{}) {when}: a deploy's new \
machine polled beside the old one",
                line.machine
                    .as_ref()
                    .map(|m| format!(" on machine {m}"))
                    .unwrap_or_default(),
            ),
        )
        .fix(Fix::one_machine_per_deploy(app)),
    );
}

fn started_again(bot: &Bot, app: &str, machines: &[Machine], ev: &Evidence, f: &mut Vec<Finding>) {
    let local = ev.handoffs.as_ref().ok().and_then(|s| s.handoff(&bot.name));
    for m in machines.iter().filter(|m| m.is_running()) {
        let by_state = local.filter(|h| h.of_app(app) && h.machines.contains(&m.id));
        let record = crate::team::on_machine(m).filter(|r| r.bot.is_empty() || r.bot == bot.name);
        let handoff = match (by_state, record) {
            (Some(h), _) => format!("dev-start by {} at {}", h.by, h.at),
            (None, Some(r)) => format!("the handoff of {} at {}", r.by, r.at),
            (None, None) => continue,
        };
        let start = m.history.last_start();
        let when = |e: &crate::sources::fly::machine_history::MachineEvent| {
            format!(
                "{} at {}",
                m.history
                    .who_started(m.proxy_autostart)
                    .unwrap_or_else(|| e.who()),
                e.at_second()
            )
        };
        let (who, fix) = match start {
            Some(e)
                if e.source == EventSource::Proxy || m.history.likely_proxy(m.proxy_autostart) =>
            {
                (when(e), Fix::proxy_off_then_stop(&m.id, app))
            }
            Some(e) if matches!(e.kind, EventKind::Launch | EventKind::Update) => (
                when(e),
                Fix::stop_then_deploy_safely(
                    &m.id,
                    app,
                    &bot.name,
                    &KEEPS_STOPPED_SINCE.to_string(),
                ),
            ),
            Some(e) => (
                when(e),
                Fix::stop_machines(&[m.id.as_str()], app).note("and ask the team who started it"),
            ),
            None => (
                "something its events do not name".into(),
                Fix::stop_machines(&[m.id.as_str()], app),
            ),
        };
        f.push(
            Finding::error(
                Some(bot),
                Check::Events,
                format!(
                    "machine {} of {app} was stopped by {handoff} and is {} again: started by \
{who}",
                    m.id, m.state
                ),
            )
            .fix(fix),
        );
    }
}
