//! `botctl doctor`: for when a 409 comes back. Every check of the SPEC, each finding with a
//! level, a message and the command that fixes it; the cause comes first.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::Context;
use crate::config::Bot;
use crate::error::Result;
use crate::model::MachineId;
use crate::model::{AppName, BotName};
use crate::sources::fly::{FlyError, FlyctlVersion, LogLine, MachineState, RecentLogs};
use crate::sources::telegram::{self, ApiError, BotApi, ProbeOutcome, TokenLookup};
use crate::survey::{self, Survey, joined};
use crate::{state, team, time, ui};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warn,
    Ok,
}

/// What a finding is about: the SPEC's doctor checks. The serde name is the JSON `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    Config,
    Flyctl,
    Token,
    Webhook,
    Pending,
    Local,
    Fly,
    Places,
    Autostart,
    Proxy,
    Logs,
    Handoff,
    Probe,
    Supervisor,
    Host,
    SharedToken,
    Deploy,
    Events,
    Container,
}

impl Check {
    /// Where its findings sort among those of one level: the cause of a 409 first.
    fn weight(self) -> u8 {
        match self {
            Check::SharedToken | Check::Places => 0,
            Check::Local | Check::Fly | Check::Supervisor | Check::Host | Check::Container => 1,
            // A handoff record names a teammate's laptop: a place, next to a webhook.
            Check::Webhook | Check::Handoff => 2,
            Check::Probe => 3,
            Check::Token => 4,
            Check::Logs => 5,
            Check::Autostart | Check::Proxy => 7,
            Check::Config | Check::Flyctl | Check::Pending => 8,
            // A machine started again is a place; a deploy's overlap explains 409 lines.
            Check::Events => 1,
            Check::Deploy => 5,
        }
    }

    /// Its name as the SPEC and JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            Check::Config => "config",
            Check::Flyctl => "flyctl",
            Check::Token => "token",
            Check::Webhook => "webhook",
            Check::Pending => "pending",
            Check::Local => "local",
            Check::Fly => "fly",
            Check::Places => "places",
            Check::Autostart => "autostart",
            Check::Proxy => "proxy",
            Check::Logs => "logs",
            Check::Handoff => "handoff",
            Check::Probe => "probe",
            Check::Supervisor => "supervisor",
            Check::Host => "host",
            Check::SharedToken => "shared-token",
            Check::Deploy => "deploy",
            Check::Events => "events",
            Check::Container => "container",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub bot: Option<BotName>,
    pub check: Check,
    pub level: Level,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(level: Level, bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding {
            bot: bot.map(|b| b.name.clone()),
            check,
            level,
            message: message.into(),
            fix: None,
        }
    }
    pub fn error(bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding::new(Level::Error, bot, check, message)
    }
    pub fn warn(bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding::new(Level::Warn, bot, check, message)
    }
    pub fn ok(bot: Option<&Bot>, check: Check, message: impl Into<String>) -> Self {
        Finding::new(Level::Ok, bot, check, message)
    }
    /// The command that fixes it.
    pub fn fix(mut self, command: impl Into<String>) -> Self {
        self.fix = Some(command.into());
        self
    }
    fn fix_opt(mut self, command: Option<String>) -> Self {
        self.fix = command;
        self
    }
}

/// `doctor --json`.
#[derive(Serialize)]
struct DoctorJson<'a> {
    findings: &'a [Finding],
    errors: usize,
    warnings: usize,
}

/// Everything doctor looks at, gathered at once.
pub struct Evidence {
    pub survey: Survey,
    pub whoami: Option<Result<String, FlyError>>,
    pub logs: BTreeMap<AppName, Result<RecentLogs, FlyError>>,
    pub probes: BTreeMap<BotName, ProbeOutcome>,
    pub handoffs: Result<state::State>,
    /// `flyctl version`, read beside whoami (what an old flyctl does to stopped machines).
    pub flyctl_version: Option<std::result::Result<FlyctlVersion, FlyError>>,
    /// Webhook bots with updates waiting: the webhook read again a moment later.
    pub webhook_again: BTreeMap<BotName, webhook_checks::PendingTrend>,
}

const LOGS_LIMIT: Duration = Duration::from_secs(10);
/// flyctl prints a non-empty log buffer within a second or two and then exits; on an empty
/// buffer it prints nothing and polls for ever. No line by then means the buffer is empty.
const LOGS_FIRST_LINE: Duration = Duration::from_secs(3);

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  botctl doctor\n  botctl doctor partner \
--probe\n  botctl doctor --json\n\nExit: 0 no error found, 1 \
an error finding")]
pub struct Args {
    /// Bots to check (default: all)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bots: Vec<String>,
    /// Also long-poll getUpdates to catch a poller no other check can see
    #[arg(long)]
    probe: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: &Args) -> Result<i32> {
    let (probe, as_json) = (args.probe, args.json);
    let bots = ctx.cfg.select(&args.bots)?;
    if probe {
        ui::note(format!(
            "Probing for {}s. {}",
            ctx.cfg.telegram.probe.as_secs(),
            telegram::PROBE_WARNING
        ));
    }
    let evidence = {
        let _spinner =
            probe.then(|| ui::Spinner::new("listening for other pollers", ctx.cfg.telegram.probe));
        gather(ctx, &bots, probe)
    };
    let findings = diagnose(ctx, &bots, &evidence, probe);
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.iter().filter(|f| f.level == Level::Warn).count();
    if as_json {
        ui::json(&DoctorJson {
            findings: &findings,
            errors,
            warnings,
        });
    } else {
        print_human(&findings, errors, warnings);
    }
    Ok(i32::from(errors > 0))
}

pub fn gather(ctx: &Context, bots: &[&Bot], probe: bool) -> Evidence {
    let cfg = &ctx.cfg;
    let apps = survey::apps(bots);
    std::thread::scope(|s| {
        let survey = s.spawn(|| ctx.survey(bots));
        let whoami = (!apps.is_empty()).then(|| s.spawn(|| ctx.flyctl.whoami()));
        let version = (!apps.is_empty()).then(|| s.spawn(|| ctx.flyctl.version()));
        let logs: Vec<_> = apps
            .iter()
            .map(|app| {
                let limit = LOGS_LIMIT.min(ctx.flyctl.timeout());
                (
                    app.clone(),
                    s.spawn(move || ctx.flyctl.recent_logs(app, LOGS_FIRST_LINE, limit)),
                )
            })
            .collect();
        let probes: Vec<_> = if probe {
            bots.iter()
                .filter_map(|bot| match telegram::token_for(bot, &ctx.dotenv) {
                    TokenLookup::Found { token, .. } => {
                        let api = BotApi::new(&cfg.telegram.api, token, cfg.telegram.timeout);
                        let window = cfg.telegram.probe;
                        Some((bot.name.clone(), s.spawn(move || api.probe(window))))
                    }
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let webhook_again = s.spawn(|| webhook_checks::read_twice(ctx, bots));
        Evidence {
            survey: joined(survey.join()),
            whoami: whoami.map(|h| joined(h.join())),
            logs: logs
                .into_iter()
                .map(|(a, h)| (a, joined(h.join())))
                .collect(),
            probes: probes
                .into_iter()
                .map(|(b, h)| (b, joined(h.join())))
                .collect(),
            handoffs: state::read(&cfg.root),
            flyctl_version: version.map(|h| joined(h.join())),
            webhook_again: joined(webhook_again.join()),
        }
    })
}

struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, finding: Finding) {
        self.0.push(finding);
    }
}

pub fn diagnose(ctx: &Context, bots: &[&Bot], ev: &Evidence, probed: bool) -> Vec<Finding> {
    let mut f = Findings(Vec::new());
    f.push(Finding::ok(
        None,
        Check::Config,
        format!(
            "{} describes {} bot(s)",
            ctx.cfg.path.display(),
            ctx.cfg.bots.len()
        ),
    ));
    let api = ctx.cfg.telegram.api.as_str();
    check_flyctl(ctx, ev, &mut f);
    check_orphan_handoffs(ctx, ev, &mut f);
    check_containers(ev, &mut f);
    let fly_toml = super::doctor_time::FlyToml::read(ctx);
    for bot in bots {
        for finding in super::doctor_time::findings(bot, ev, &fly_toml) {
            f.push(finding);
        }
        // Before places: when another app holds the token, that is the cause to name first.
        check_shared_token(bot, ev, &mut f);
        check_places(bot, ev, api, &mut f);
        check_hosts(ctx, bot, ev, &mut f);
        check_supervisors(bot, ev, &mut f);
        check_fly(bot, ev, &mut f);
        check_telegram(bot, ev, api, &mut f);
        check_autostart(bot, ev, &mut f);
        check_logs(bot, ev, &mut f);
        check_handoff(bot, ev, &mut f);
        check_fly_record(ctx, bot, ev, &mut f);
        if probed {
            check_probe(bot, ev, &mut f);
        }
    }
    let mut findings = f.0;
    findings.sort_by_key(|x| (x.level, x.check.weight()));
    findings
}

fn check_flyctl(ctx: &Context, ev: &Evidence, f: &mut Findings) {
    let Some(whoami) = &ev.whoami else {
        return; // no bot has a fly_app
    };
    let problem = ctx
        .flyctl
        .installed()
        .err()
        .or_else(|| whoami.as_ref().err().cloned());
    match (problem, whoami) {
        (Some(e), _) => f.push(
            Finding::error(
                None,
                Check::Flyctl,
                format!("{e}; a bot may be running on Fly.io unseen"),
            )
            .fix_opt(e.fix()),
        ),
        (None, Ok(email)) => f.push(Finding::ok(
            None,
            Check::Flyctl,
            format!("flyctl is logged in as {email}"),
        )),
        (None, Err(_)) => {}
    }
}

fn check_places(bot: &Bot, ev: &Evidence, api: &str, f: &mut Findings) {
    let places = ev.survey.places(bot);
    let n = places.count();
    if places.local.len() >= 2 {
        let pids: Vec<String> = places.local.iter().map(|i| i.pid.to_string()).collect();
        f.push(
            Finding::error(
                Some(bot),
                Check::Local,
                format!(
                    "{} copies of {} run on this machine (pids {}): they fight over getUpdates",
                    places.local.len(),
                    bot.entry,
                    pids.join(", ")
                ),
            )
            .fix(format!(
                "botctl dev-stop {}   # then start one copy",
                bot.name
            )),
        );
    } else if places.local.len() == 1 {
        f.push(Finding::ok(
            Some(bot),
            Check::Local,
            ui::describe::instance(places.local[0]),
        ));
    }
    if n >= 2 {
        let mut where_ = Vec::new();
        if !places.local.is_empty() {
            where_.push(format!(
                "this machine (pid {})",
                places
                    .local
                    .iter()
                    .map(|i| i.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for host in host_names(&places.hosts) {
            where_.push(format!(
                "host {host} (pid {})",
                places
                    .hosts
                    .iter()
                    .filter(|(h, _)| *h == host)
                    .map(|(_, i)| i.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(app) = places.app.filter(|_| !places.machines.is_empty()) {
            where_.push(format!(
                "Fly app {app} (machine {})",
                places
                    .machines
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for app in also_apps(&places.also) {
            where_.push(format!(
                "Fly app {app} with the same token (machine {})",
                places
                    .also
                    .iter()
                    .filter(|(a, _)| a == app)
                    .map(|(_, m)| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(url) = places.webhook {
            where_.push(format!("a webhook ({url})"));
        }
        let fix = if let Some(app) = also_apps(&places.also).first() {
            shared_token_fix(ev, bot, app.raw(), &places.also)
        } else if let Some(host) = host_names(&places.hosts).first() {
            format!("botctl dev-stop {} --host {host}", bot.name)
        } else if !places.local.is_empty() && bot.mode.is_webhook() {
            // The copy here deleted production's webhook as it started: set it again too.
            format!(
                "botctl dev-stop {0} && botctl deploy-resume {0}   # or move it here: botctl \
dev-start {0}",
                bot.name
            )
        } else if !places.local.is_empty() && !places.machines.is_empty() {
            format!(
                "botctl dev-stop {0}   # keep Fly.io; or move it here: botctl dev-start {0}",
                bot.name
            )
        } else if !places.local.is_empty() {
            format!("botctl dev-stop {}", bot.name)
        } else if places.webhook.is_some() {
            telegram::delete_webhook_fix(api, bot.token_env.as_deref())
        } else {
            // Neither here nor a webhook: two or more of the bot's own machines.
            let extra: Vec<&str> = places
                .on_fly()
                .skip(1)
                .map(|(_, m)| m.id.as_str())
                .collect();
            let app = places.app.map(AppName::as_str).unwrap_or_default();
            format!("flyctl machine stop {} --app {app}", extra.join(" "))
        };
        f.push(
            Finding::error(
                Some(bot),
                Check::Places,
                format!(
                    "{} runs in {n} places: {} — {}",
                    bot.name,
                    where_.join(" and "),
                    if bot.mode.is_webhook() {
                        "a polling copy of a webhook bot takes the updates meant for Fly.io (and \
deletes the webhook as it starts)"
                    } else {
                        "Telegram answers all but one of them 409 Conflict"
                    }
                ),
            )
            .fix(fix),
        );
    } else {
        let (level, message) = match (n, places.unreadable.is_empty()) {
            (1, _) => (Level::Ok, format!("{} runs in exactly one place", bot.name)),
            (_, false) => (
                Level::Warn,
                format!(
                    "{} runs nowhere botctl can see, but not every place could be checked",
                    bot.name
                ),
            ),
            _ => (
                Level::Ok,
                format!("{} is not running anywhere botctl can see", bot.name),
            ),
        };
        f.push(Finding::new(level, Some(bot), Check::Places, message));
    }
}

/// The hosts of host instances, each once, in order.
fn host_names<'a>(hosts: &[(&'a str, &crate::sources::local::Instance)]) -> Vec<&'a str> {
    let mut names: Vec<&str> = hosts.iter().map(|(h, _)| *h).collect();
    names.dedup();
    names
}

/// Each `[[host]]` that may run the bot: a copy there while it runs elsewhere too (Fly.io,
/// this machine, another host) is an error whose fix stops it there; a host not read is a
/// warning with ssh's words.
fn check_hosts(ctx: &Context, bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let places = ev.survey.places(bot);
    for (host, scan) in ev.survey.hosts_of(bot) {
        let scan = match scan {
            Ok(scan) => scan,
            Err(e) => {
                f.push(Finding::warn(
                    Some(bot),
                    Check::Host,
                    format!("host {host} not checked: {e}"),
                ));
                continue;
            }
        };
        // What can start it there later: the server's crontab, units, pm2 and supervisord.
        let dest = ctx
            .cfg
            .hosts
            .iter()
            .find(|h| h.name == host)
            .map_or(host, |h| h.ssh.as_str());
        for e in scan.autostart.for_bot(&bot.name) {
            f.push(
                Finding::warn(
                    Some(bot),
                    Check::Host,
                    format!(
                        "on host {host}, {} can start {} again: {}",
                        e.source, bot.entry, e.entry
                    ),
                )
                .fix(format!("ssh {dest}   # then: {}", e.fix)),
            );
        }
        let here: Vec<&crate::sources::local::Instance> = scan
            .instances
            .iter()
            .filter(|i| i.bot == bot.name)
            .collect();
        if here.is_empty() {
            continue;
        }
        let described: Vec<String> = here
            .iter()
            .map(|i| ui::describe::on_host(host, i))
            .collect();
        let elsewhere = places.count() - here.len();
        if elsewhere == 0 && here.len() == 1 {
            f.push(Finding::ok(Some(bot), Check::Host, described.join("; ")));
            continue;
        }
        let other = if !places.machines.is_empty() || !places.also.is_empty() {
            "while Fly.io runs it too".to_string()
        } else if elsewhere > 0 {
            format!("while it runs in {elsewhere} other place(s)")
        } else {
            format!("{} copies there fight over getUpdates", here.len())
        };
        f.push(
            Finding::error(
                Some(bot),
                Check::Host,
                format!(
                    "{} runs on host {host} {other}: {}",
                    bot.name,
                    described.join("; ")
                ),
            )
            .fix(format!("botctl dev-stop {} --host {host}", bot.name)),
        );
    }
}

/// The apps of `also` machines, each once, in order.
fn also_apps<'a>(
    also: &'a [(crate::outside::Outside, &crate::sources::fly::Machine)],
) -> Vec<&'a crate::outside::Outside> {
    let mut apps: Vec<&crate::outside::Outside> = also.iter().map(|(a, _)| a).collect();
    apps.dedup();
    apps
}

/// Give the other app its own bot's token (a placeholder, never a value), or stop it.
fn shared_token_fix(
    ev: &Evidence,
    bot: &Bot,
    app: &str,
    also: &[(crate::outside::Outside, &crate::sources::fly::Machine)],
) -> String {
    let shared = ev.survey.shared_token(bot);
    let secret = shared
        .as_ref()
        .and_then(|s| s.also.iter().find(|a| a.app == app))
        .map_or("BOT_TOKEN", |a| a.secret.raw());
    let ids: Vec<&str> = also
        .iter()
        .filter(|(a, _)| a == app)
        .map(|(_, m)| m.id.as_str())
        .collect();
    crate::survey::other_apps::set_secret_fix(secret, app, &ids)
}

fn check_shared_token(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let (Some(shared), Some(fly)) = (ev.survey.shared_token(bot), &bot.fly) else {
        return;
    };
    let own = &fly.app;
    for a in &shared.also {
        let started: Vec<&str> = a.started().iter().map(|m| m.id.as_str()).collect();
        let fix = Some(a.fix());
        let same = format!(
            "Fly app {} holds {}'s token (its secret {} has the same digest as {} in {own})",
            a.app,
            bot.name,
            a.secret,
            fly.token_secret.as_deref().unwrap_or_default()
        );
        match &a.machines {
            Ok(_) if !started.is_empty() => f.push(
                Finding::error(
                    Some(bot),
                    Check::SharedToken,
                    format!(
                        "{same}, and its started machine(s) {} poll with it: Telegram \
answers all but one poller 409 Conflict",
                        started.join(", ")
                    ),
                )
                .fix_opt(fix),
            ),
            Ok(_) => f.push(
                Finding::warn(
                    Some(bot),
                    Check::SharedToken,
                    format!(
                        "{same}; none of its machines is started, but one that starts \
will conflict"
                    ),
                )
                .fix_opt(fix),
            ),
            Err(e) => f.push(
                Finding::warn(
                    Some(bot),
                    Check::SharedToken,
                    format!("{same}; its machines could not be read: {e}"),
                )
                .fix_opt(fix),
            ),
        }
    }
    if !shared.unchecked.is_empty() {
        f.push(Finding::warn(
            Some(bot),
            Check::SharedToken,
            format!(
                "not checked whether another Fly app holds this token: {}",
                shared.unchecked.join("; ")
            ),
        ));
    } else if shared.also.is_empty() {
        f.push(Finding::ok(
            Some(bot),
            Check::SharedToken,
            format!(
                "no other Fly app holds {}'s token ({} app(s) compared)",
                bot.name, shared.checked
            ),
        ));
    }
}

/// A supervised local copy comes back when killed: where the bot runs elsewhere too, the
/// supervisor is part of the cause and its stop command part of the fix.
fn check_supervisors(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let places = ev.survey.places(bot);
    let elsewhere = places.count() >= 2;
    for i in &places.local {
        let Some(s) = &i.supervisor else { continue };
        let kept = format!(
            "local pid {} of {} is kept alive by {}",
            i.pid,
            bot.name,
            ui::describe::supervisor(s)
        );
        if elsewhere {
            f.push(
                Finding::error(
                    Some(bot),
                    Check::Supervisor,
                    format!(
                        "{kept} ({}): killing it is useless, it comes back, and it \
polls while {} runs in {} places",
                        s.kind,
                        bot.name,
                        places.count()
                    ),
                )
                .fix(s.stop().clone()),
            );
        } else {
            f.push(Finding::ok(
                Some(bot),
                Check::Supervisor,
                format!("{kept} ({}); stop it with: {}", s.kind, s.stop()),
            ));
        }
    }
}

fn check_fly(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(app) = bot.app() else { return };
    match ev.survey.machines(bot) {
        Some(Err(FlyError::NotInstalled { .. } | FlyError::NotLoggedIn)) => {} // reported by "flyctl"
        Some(Err(e)) => {
            f.push(Finding::error(Some(bot), Check::Fly, e.to_string()).fix_opt(e.fix()))
        }
        None => {}
        Some(Ok(machines)) => {
            let started: Vec<_> = machines.iter().filter(|m| m.is_running()).collect();
            // A webhook bot's machines share Telegram's posts through Fly Proxy: no conflict.
            if started.len() >= 2 && !bot.mode.is_webhook() {
                let extra: Vec<&str> = started.iter().skip(1).map(|m| m.id.as_str()).collect();
                f.push(
                    Finding::error(
                        Some(bot),
                        Check::Fly,
                        format!(
                            "Fly app {app} has {} started machines ({}): each polls, so \
they conflict (fly deploy creates a pair unless --ha=false)",
                            started.len(),
                            started
                                .iter()
                                .map(|m| format!("{} {}", m.id, m.state))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .fix(format!(
                        "flyctl machine stop {} --app {app}   # or destroy it: flyctl \
machine destroy {} --app {app}",
                        extra.join(" "),
                        extra.join(" ")
                    )),
                );
            } else {
                f.push(Finding::ok(
                    Some(bot),
                    Check::Fly,
                    format!(
                        "Fly app {app}: {} machine(s), {} started",
                        machines.len(),
                        started.len()
                    ),
                ));
            }
            // For a webhook bot, Fly Proxy starting a machine on a post is the design.
            for m in machines.iter().filter(|m| {
                !m.is_running()
                    && m.proxy_autostart
                    && m.state != MachineState::Destroyed
                    && !bot.mode.is_webhook()
            }) {
                f.push(
                    Finding::warn(
                        Some(bot),
                        Check::Proxy,
                        format!(
                            "machine {} of {app} is {}, but its services have autostart: \
Fly Proxy starts it again by itself when a request comes in",
                            m.id, m.state
                        ),
                    )
                    .fix(m.proxy_fix(app)),
                );
            }
        }
    }
}

fn check_telegram(bot: &Bot, ev: &Evidence, api: &str, f: &mut Findings) {
    let Some(t) = ev.survey.telegram.get(&bot.name) else {
        return;
    };
    match &t.token {
        TokenLookup::NotConfigured => {
            return f.push(
                Finding::warn(
                    Some(bot),
                    Check::Token,
                    "no token_env in botctl.toml, so Telegram was not checked",
                )
                .fix(format!(
                    "add token_env = \"{}_BOT_TOKEN\" to the bot in botctl.toml",
                    bot.name.to_uppercase().replace('-', "_")
                )),
            );
        }
        missing @ TokenLookup::Missing { .. } => {
            let (why, fix) = missing.missing().unwrap_or_default();
            return f.push(
                Finding::warn(
                    Some(bot),
                    Check::Token,
                    format!("{why}, so Telegram was not checked"),
                )
                .fix(fix),
            );
        }
        TokenLookup::Found { .. } => {}
    }
    match &t.me {
        Some(Ok(username)) => match &bot.username {
            Some(want) if !want.eq_ignore_ascii_case(username) => f.push(
                Finding::error(
                    Some(bot),
                    Check::Token,
                    format!(
                        "the token in {} belongs to @{username}, not @{want}",
                        bot.token_env.as_deref().unwrap_or("")
                    ),
                )
                .fix(format!(
                    "put @{want}'s token in {}",
                    bot.token_env.as_deref().unwrap_or("")
                )),
            ),
            _ => f.push(Finding::ok(
                Some(bot),
                Check::Token,
                format!("token is valid: @{username}"),
            )),
        },
        Some(Err(e @ ApiError::Unauthorized(_))) => f.push(
            Finding::error(Some(bot), Check::Token, e.to_string()).fix(format!(
                "get the token from @BotFather (/token) and update {}",
                bot.token_env.as_deref().unwrap_or("the token")
            )),
        ),
        Some(Err(e)) => f.push(Finding::warn(
            Some(bot),
            Check::Token,
            format!("cannot check the token: {e}"),
        )),
        None => {}
    }
    if let Some(Ok(w)) = &t.webhook {
        if bot.mode.is_webhook() {
            webhook_checks::check(bot, ev, w, api, f);
        } else if w.url.is_empty() {
            f.push(Finding::ok(
                Some(bot),
                Check::Webhook,
                "no webhook is set (polling mode)",
            ));
        } else {
            let mut message = format!(
                "a webhook is set ({}): every getUpdates gets 409 while it \
is, and a polling bot started with this token deletes it",
                w.url
            );
            if let Some(err) = &w.last_error_message {
                message.push_str(&format!("; its last delivery error: {err}"));
            }
            f.push(
                Finding::error(Some(bot), Check::Webhook, message)
                    .fix(telegram::delete_webhook_fix(api, bot.token_env.as_deref())),
            );
        }
        let places = ev.survey.places(bot);
        if w.pending_update_count > 0 && places.count() == 0 {
            f.push(
                Finding::warn(
                    Some(bot),
                    Check::Pending,
                    format!(
                        "{} updates are waiting and nothing botctl can see consumes \
them (they expire after 24 hours)",
                        w.pending_update_count
                    ),
                )
                .fix(format!(
                    "botctl deploy-resume {}   # or run it: botctl dev-start {}",
                    bot.name, bot.name
                )),
            );
        } else {
            f.push(Finding::ok(
                Some(bot),
                Check::Pending,
                format!("{} updates waiting", w.pending_update_count),
            ));
        }
    }
}

fn check_autostart(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    for e in ev.survey.autostart.for_bot(&bot.name) {
        f.push(
            Finding::warn(
                Some(bot),
                Check::Autostart,
                format!("{} can start {} again: {}", e.source, bot.entry, e.entry),
            )
            .fix(e.fix.clone()),
        );
    }
}

fn check_logs(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(app) = bot.app() else { return };
    let Some(Ok(logs)) = ev.logs.get(app) else {
        return;
    };
    let conflicts: Vec<&LogLine> = logs.lines.iter().filter(|l| l.is_conflict()).collect();
    let Some(last) = conflicts.last() else {
        let message = if logs.empty {
            format!(
                "the recent logs of {app} are empty (flyctl printed no line \
within {}s: its machines logged nothing lately), so no 409 \
in them",
                LOGS_FIRST_LINE.as_secs()
            )
        } else {
            format!(
                "no 409 in the recent logs of {app} ({} line(s){})",
                logs.lines.len(),
                if logs.complete {
                    ""
                } else {
                    ", still coming at the time limit"
                }
            )
        };
        return f.push(Finding::ok(Some(bot), Check::Logs, message));
    };
    let recent = last.at.is_some_and(|t| time::now().saturating_sub(t) < 600);
    f.push(
        Finding::new(
            if recent { Level::Error } else { Level::Warn },
            Some(bot),
            Check::Logs,
            format!(
                "{} 409 Conflict line(s) in the recent logs of {app}, the last at {} on machine {}",
                conflicts.len(),
                last.at
                    .map(time::rfc3339)
                    .unwrap_or_else(|| "an unknown time".into()),
                last.machine.as_deref().unwrap_or("?")
            ),
        )
        .fix(format!(
            "botctl doctor {} --probe   # finds a poller no other check can see",
            bot.name
        )),
    );
}

/// A handoff recorded for a bot that is no longer in botctl.toml: deploy-resume cannot name
/// it, so its machines would stay stopped unseen.
fn check_orphan_handoffs(ctx: &Context, ev: &Evidence, f: &mut Findings) {
    let Ok(st) = &ev.handoffs else { return };
    for h in st
        .handoffs
        .iter()
        .filter(|h| !ctx.cfg.bots.iter().any(|b| b.name == h.bot))
    {
        f.push(
            Finding::warn(
                None,
                Check::Handoff,
                format!(
                    "{} records a dev-start of bot {:?} (by {} at {}), which is \
not in {}: machine(s) {} of {} may still be stopped",
                    state::path(&ctx.cfg.root).display(),
                    h.bot,
                    h.by,
                    h.at,
                    ctx.cfg.path.display(),
                    h.machines.join(", "),
                    h.app
                ),
            )
            .fix(format!(
                "flyctl machine start {} --app {}   # if it should run; then \
remove the {:?} entry from {}",
                h.machines.join(" "),
                h.app,
                h.bot,
                state::path(&ctx.cfg.root).display()
            )),
        );
    }
}

fn check_handoff(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    match &ev.handoffs {
        Err(e) => f.push(Finding::error(Some(bot), Check::Handoff, e.to_string())),
        Ok(st) => {
            if let Some(h) = st.handoff(&bot.name) {
                f.push(
                    Finding::warn(
                        Some(bot),
                        Check::Handoff,
                        format!(
                            "dev-start by {} at {} stopped machine(s) {} of {}: Fly.io \
does not serve this bot until they are started again",
                            h.by,
                            h.at,
                            h.machines.join(", "),
                            h.app
                        ),
                    )
                    .fix(format!("botctl deploy-resume {}", bot.name)),
                );
            }
        }
    }
}

fn check_probe(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let Some(outcome) = ev.probes.get(&bot.name) else {
        return;
    };
    let places = ev.survey.places(bot);
    match outcome {
        ProbeOutcome::OtherPoller { after } if places.count() == 0 => f.push(
            Finding::error(
                Some(bot),
                Check::Probe,
                format!(
                    "another poller answered the probe after {:.1}s, but botctl \
sees {} running nowhere: it polls from a place botctl cannot \
see (another computer, a server, a leaked token)",
                    after.as_secs_f32(),
                    bot.name
                ),
            )
            .fix(
                "find and stop it; if you cannot, revoke the token in \
@BotFather (/revoke) and update it everywhere",
            ),
        ),
        ProbeOutcome::OtherPoller { after } => f.push(Finding::ok(
            Some(bot),
            Check::Probe,
            format!(
                "a live poller answered the probe after {:.1}s (expected: {} \
runs in {} place(s))",
                after.as_secs_f32(),
                bot.name,
                places.count()
            ),
        )),
        ProbeOutcome::Clear {
            listened,
            updates_waiting,
            ..
        } => {
            let mut message = format!(
                "no other poller answered within {:.0}s",
                listened.as_secs_f32()
            );
            if *updates_waiting {
                message.push_str(
                    " (updates were waiting, so the probe could not take over the \
poll; run it again)",
                );
            }
            if places.count() > 0 && places.webhook.is_none() {
                message.push_str(&format!(
                    ", although {} should be polling from {} place(s): is it \
stuck?",
                    bot.name,
                    places.count()
                ));
                f.push(Finding::warn(Some(bot), Check::Probe, message));
            } else {
                f.push(Finding::ok(Some(bot), Check::Probe, message));
            }
        }
        ProbeOutcome::Webhook => {} // reported by "webhook"
        ProbeOutcome::Failed(e) => f.push(Finding::warn(
            Some(bot),
            Check::Probe,
            format!("the probe could not run: {e}"),
        )),
    }
}

/// The container engine: whether it was asked. Its bots' containers are instances, so the
/// places and supervisor checks name them.
fn check_containers(ev: &Evidence, f: &mut Findings) {
    use crate::sources::containers::Look;
    let engine = &ev.survey.engine;
    let Some(program) = engine.engine().map(|e| e.program()) else {
        return; // neither docker nor podman: no container can run
    };
    let (level, message) = match engine {
        Look::Down(_) => (
            Level::Ok,
            format!(
                "containers not checked: {} (no container runs while it is down)",
                engine.not_checked().unwrap_or_default()
            ),
        ),
        Look::Failed(_, why) => (Level::Warn, format!("containers not checked: {why}")),
        _ => {
            let bots = ev
                .survey
                .local
                .iter()
                .flatten()
                .filter(|i| i.container.is_some())
                .count();
            if bots == 0 {
                return; // nothing to say: no container runs a bot
            }
            (
                Level::Ok,
                format!(
                    "{program} answers: {} running container(s), {bots} of them run a bot",
                    engine.containers().len()
                ),
            )
        }
    };
    f.push(Finding::new(level, None, Check::Container, message));
}

fn print_human(findings: &[Finding], errors: usize, warnings: usize) {
    let first = findings.iter().find(|f| f.level != Level::Ok);
    match first {
        Some(c) if c.level == Level::Error => {
            ui::hanging(format!("{} {}", ui::bad("Cause:"), c.message), Some(7));
            if let Some(fix) = &c.fix {
                ui::hanging(format!("{} {fix}", ui::heading("Fix:")), Some(5));
            }
        }
        Some(c) => ui::line(format!(
            "{} no cause of a 409 found; worth a look: {}",
            ui::caution("Probably fine:"),
            c.message
        )),
        None => ui::line(ui::good("No cause of a 409 found.")),
    }
    ui::blank();
    for f in findings {
        let mark = match f.level {
            Level::Error => ui::bad("✗ error"),
            Level::Warn => ui::caution("! warn "),
            Level::Ok => ui::good("✓ ok   "),
        };
        let who = f
            .bot
            .as_deref()
            .map(|b| format!("{b} "))
            .unwrap_or_default();
        ui::hanging(
            format!("{mark} {who}{}: {}", f.check.name(), f.message),
            Some(8),
        );
        if let Some(fix) = &f.fix {
            ui::hanging(format!("        fix: {fix}"), Some(13));
        }
    }
    ui::blank();
    ui::line(format!("{errors} error(s), {warnings} warning(s)"));
}

/// The handoff record on Fly (`crate::team`): held by someone else (with a probe that hears a
/// poller, most likely their copy), stale, on only some of the machines, or on machines that
/// are started again.
fn check_fly_record(ctx: &Context, bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let (Some(app), Some(Ok(machines))) = (bot.app().map(|a| a.as_str()), ev.survey.machines(bot))
    else {
        return;
    };
    let records = team::records(bot, machines);
    let Some(record) = records.first() else {
        return;
    };
    let stale = ctx.cfg.team.stale;
    let is_stale = record.is_stale(stale);
    let stale_note = if is_stale {
        format!(
            "; the record is stale: older than [team] stale = {}",
            team::span(stale)
        )
    } else {
        String::new()
    };
    let who = ui::shown(&record.by).into_owned();
    let hand_back = format!(
        "ask {who} to run `botctl deploy-resume {0}`, or take it over: botctl dev-start {0} --take-over",
        bot.name
    );
    if !record.is_mine() {
        let heard = match ev.probes.get(&bot.name) {
            Some(ProbeOutcome::OtherPoller { after }) => Some(*after),
            _ => None,
        };
        let place = format!(
            "{} (handoff record on machine(s) {} of {app}){stale_note}",
            record.holds(&bot.name),
            record.machines.join(", ")
        );
        f.push(match heard {
            Some(after) => Finding::error(
                Some(bot),
                Check::Handoff,
                format!(
                    "another poller answered the probe after {:.1}s: the poller is most likely {who}'s copy: {place}",
                    after.as_secs_f32()
                ),
            )
            .fix(format!(
                "ask {who} to stop it (on their laptop: botctl dev-stop {0}) or to hand it back (botctl deploy-resume {0})",
                bot.name
            )),
            None => Finding::warn(
                Some(bot),
                Check::Handoff,
                format!("{place}: it runs on their laptop, which botctl cannot see from here"),
            )
            .fix(hand_back.clone()),
        });
    } else if is_stale {
        f.push(
            Finding::warn(
                Some(bot),
                Check::Handoff,
                format!(
                    "you took {} at {}{stale_note}: is the bot still meant to run on your laptop?",
                    bot.name,
                    record.since()
                ),
            )
            .fix(format!("botctl deploy-resume {}", bot.name)),
        );
    }
    // Machines it names that are started again: something started them after the handoff.
    let started: Vec<&str> = machines
        .iter()
        .filter(|m| record.machines.contains(&m.id) && m.is_running())
        .map(|m| m.id.as_str())
        .collect();
    if let Some(first) = started.first() {
        f.push(
            Finding::error(
                Some(bot),
                Check::Handoff,
                format!(
                    "machine(s) {} of {app} carry the handoff record by {who} but are started: something started them after the handoff; they poll while {who} may run it too",
                    started.join(", ")
                ),
            )
            .fix(format!(
                "flyctl machine status {first} --app {app}   # its events say what started it (source proxy, a deploy, a user); then stop it again (flyctl machine stop {} --app {app}) or hand it back: botctl deploy-resume {}",
                started.join(" "),
                bot.name
            )),
        );
    }
    // On only some machines: the ones this person's handoff stopped that lack the record.
    if record.is_mine()
        && let Ok(st) = &ev.handoffs
        && let Some(h) = st.handoff(&bot.name).filter(|h| h.app == app)
    {
        let missing: Vec<MachineId> = h
            .machines
            .iter()
            .filter(|id| {
                !record.machines.contains(id)
                    && machines
                        .iter()
                        .any(|m| &m.id == *id && m.state.is_stopped())
            })
            .cloned()
            .collect();
        if !missing.is_empty() {
            let pairs = team::record_pairs(&record.by, &record.at_text, &bot.name);
            f.push(
                Finding::warn(
                    Some(bot),
                    Check::Handoff,
                    format!(
                        "the handoff record is on only some of the machines dev-start stopped: {} of {app} lack(s) it, so a teammate may not see who holds {}",
                        missing.join(", "),
                        bot.name
                    ),
                )
                .fix(team::write_commands(app, &missing, &pairs).join(" && ")),
            );
        }
    }
    // Records by different people on the machines of one app: the team disagrees.
    if records.len() > 1 {
        let all: Vec<String> = records
            .iter()
            .map(|r| format!("{} on {}", r.holds(&bot.name), r.machines.join(", ")))
            .collect();
        f.push(
            Finding::warn(
                Some(bot),
                Check::Handoff,
                format!(
                    "the machines of {app} carry different handoff records, so the record is on only some of them: {}",
                    all.join("; ")
                ),
            )
            .fix(hand_back),
        );
    }
}

mod webhook_checks;
