//! `botctl status`: every bot and every place it runs, from one concurrent look.

use serde::Serialize;

use super::Context;
use crate::config::Bot;
use crate::error::{ExitStatus, Result};
use crate::fix::Fix;
use crate::sources::autostart::Reach;
use crate::sources::fly::Machine;
use crate::sources::telegram::TokenLookup;
use crate::survey::judge::{self, OnHost, Username};
use crate::survey::{Places, Survey, Verdict};
use crate::ui::json::{self, AutostartJson, MachineJson, MaybeJson};
use crate::ui::report::Detail;
use crate::{team, ui};
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  botctl status\n  botctl status partner \
--json\n\nExit: 0 no conflict, 1 a bot runs in two or more \
places, 2 bad botctl.toml")]
pub struct Args {
    /// Bots to show (default: all)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bots: Vec<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: &Args, detail: Detail) -> Result<ExitStatus> {
    let bots = ctx.cfg.select(&args.bots)?;
    let survey = ctx.survey(&bots);
    let verdicts: Vec<Verdict> = bots.iter().map(|b| survey.places(b).verdict()).collect();
    if args.json {
        ui::json(&StatusJson {
            bots: bots
                .iter()
                .map(|b| BotJson::new(b, &survey, ctx.cfg.team.stale))
                .collect(),
        });
    } else {
        print_human(&bots, &survey, ctx.cfg.team.stale, detail);
    }
    Ok(ExitStatus::found_if(verdicts.contains(&Verdict::Conflict)))
}

/// `status --json`, as the SPEC shows it: its own types (the leaves in `ui::json`), so a field
/// of the contract is added here, in the SPEC's order, and filled in `new`.
#[derive(Serialize)]
struct StatusJson<'a> {
    bots: Vec<BotJson<'a>>,
}

#[derive(Serialize)]
struct BotJson<'a> {
    name: &'a str,
    verdict: &'static str,
    places: usize,
    local: Vec<json::InstanceJson<'a>>,
    /// Processes here that run the bot's entry but cannot be told to be this project's copy
    /// (each with `why`); no place, they make the verdict unknown.
    maybe: Vec<MaybeJson<'a>>,
    /// null for a bot without fly_app.
    fly: Option<FlyJson<'a>>,
    /// A platform other than Fly (Fly bots keep the `fly` object and have no such key).
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<PlatformJson<'a>>,
    /// null without a token.
    telegram: Option<TelegramJson>,
    autostart: Vec<AutostartJson<'a>>,
    /// One entry per configured host that may run the bot.
    hosts: Vec<HostJson<'a>>,
    /// The handoff record on Fly; null without one.
    handoff: Option<team::HandoffJson>,
    /// "polling" or "webhook": how it gets updates in production.
    mode: &'static str,
}

#[derive(Serialize)]
struct HostJson<'a> {
    host: &'a str,
    /// ssh's own words when the host was not read.
    error: Option<String>,
    instances: Vec<json::InstanceJson<'a>>,
    /// Processes there that may be the bot (their token variable could not be read).
    maybe: Vec<MaybeJson<'a>>,
    autostart: Vec<AutostartJson<'a>>,
}

impl<'a> HostJson<'a> {
    fn all(bot: &'a Bot, survey: &'a Survey) -> Vec<Self> {
        survey
            .hosts_of(bot)
            .map(|(host, scan)| match scan {
                Ok(scan) => HostJson {
                    host,
                    error: None,
                    instances: scan
                        .instances
                        .iter()
                        .filter(|i| i.bot == bot.name)
                        .map(json::InstanceJson::new)
                        .collect(),
                    maybe: scan
                        .maybe
                        .iter()
                        .filter(|m| m.instance.bot == bot.name)
                        .map(MaybeJson::new)
                        .collect(),
                    autostart: AutostartJson::all(scan.autostart.for_bot(&bot.name)),
                },
                Err(e) => HostJson {
                    host,
                    error: Some(e.to_string()),
                    instances: Vec::new(),
                    maybe: Vec::new(),
                    autostart: Vec::new(),
                },
            })
            .collect()
    }
}

#[derive(Serialize)]
struct FlyJson<'a> {
    app: &'a str,
    error: Option<String>,
    /// The machines of the bot's process group, each with its `group`.
    machines: Vec<MachineJson<'a>>,
    /// The app's other started machines (another group, a console, a canary): no places.
    others: Vec<OtherJson<'a>>,
    also: Vec<AlsoJson<'a>>,
}

/// A started machine of the bot's app that is not the bot's.
#[derive(Serialize)]
struct OtherJson<'a> {
    id: &'a crate::model::MachineId,
    group: &'a crate::outside::Outside,
    state: &'a str,
}

/// Another Fly app that holds the same token, with all its machines.
#[derive(Serialize)]
struct AlsoJson<'a> {
    app: crate::outside::Outside,
    secret: crate::outside::Outside,
    machines: Vec<MachineJson<'a>>,
}

/// A bot's platform other than Fly, through the seam.
#[derive(Serialize)]
struct PlatformJson<'a> {
    kind: &'static str,
    name: &'a str,
    /// The sentence and its fix when it was not read (or cannot be yet).
    error: Option<String>,
    instances: Vec<PlatformInstanceJson<'a>>,
}

#[derive(Serialize)]
struct PlatformInstanceJson<'a> {
    id: &'a crate::outside::Outside,
    state: &'a crate::outside::Outside,
    started: Option<String>,
}

impl<'a> PlatformJson<'a> {
    fn new(bot: &Bot, survey: &'a Survey) -> Option<Self> {
        let look = survey.other_platform(bot)?;
        let (error, instances) = match &look.instances {
            Ok(list) => (None, list.as_slice()),
            Err(e) => (Some(e.with_fix()), &[][..]),
        };
        Some(PlatformJson {
            kind: json::platform_kind(look.kind),
            name: &look.name,
            error,
            instances: instances
                .iter()
                .map(|i| PlatformInstanceJson {
                    id: &i.id,
                    state: &i.state,
                    started: i.since.map(|t| t.to_string()),
                })
                .collect(),
        })
    }
}

#[derive(Serialize)]
struct TelegramJson {
    username: Option<crate::outside::Outside>,
    webhook: Option<crate::outside::Outside>,
    pending_updates: Option<u64>,
    error: Option<String>,
}

impl<'a> BotJson<'a> {
    fn new(bot: &'a Bot, survey: &'a Survey, stale: Duration) -> Self {
        let places = survey.places(bot);
        BotJson {
            handoff: places
                .record
                .as_ref()
                .map(|r| team::HandoffJson::new(r, stale)),
            name: &bot.name,
            mode: json::update_mode(bot.mode),
            verdict: json::verdict(places.verdict()),
            places: places.count(),
            fly: bot.app().map(|app| FlyJson::new(app, bot, survey)),
            platform: PlatformJson::new(bot, survey),
            telegram: TelegramJson::new(bot, survey),
            autostart: AutostartJson::all(survey.autostart.for_bot(&bot.name)),
            hosts: HostJson::all(bot, survey),
            maybe: places
                .maybe
                .iter()
                .filter(|(host, _)| host.is_none())
                .map(|(_, m)| MaybeJson::new(m))
                .collect(),
            local: places
                .local
                .iter()
                .map(|i| json::InstanceJson::new(i))
                .collect(),
        }
    }
}

impl<'a> FlyJson<'a> {
    fn new(app: &'a str, bot: &Bot, survey: &'a Survey) -> Self {
        let (error, machines) = match survey.machines(bot) {
            Some(Ok(ms)) => (None, ms.as_slice()),
            Some(Err(e)) => (Some(e.with_fix()), &[][..]),
            None => (Some("not checked".to_string()), &[][..]),
        };
        let also = survey
            .shared_token(bot)
            .map(|shared| {
                shared
                    .also
                    .into_iter()
                    .map(|a| AlsoJson {
                        app: a.app,
                        secret: a.secret,
                        machines: MachineJson::all(a.machines.unwrap_or_default()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        FlyJson {
            app,
            error,
            machines: MachineJson::all(machines),
            others: survey
                .other_machines(bot)
                .iter()
                .filter(|m| m.is_running())
                .map(|m| OtherJson {
                    id: &m.id,
                    group: &m.group,
                    state: m.state.raw(),
                })
                .collect(),
            also,
        }
    }
}

impl TelegramJson {
    fn new(bot: &Bot, survey: &Survey) -> Option<Self> {
        let t = survey.telegram.get(&bot.name)?;
        if !matches!(t.token, TokenLookup::Found { .. }) {
            return None;
        }
        let mut error = None;
        let username = match &t.me {
            Some(Ok(u)) => Some(u.clone()),
            Some(Err(e)) => {
                error = Some(e.to_string());
                None
            }
            None => None,
        };
        let (webhook, pending_updates) = match &t.webhook {
            Some(Ok(w)) => (Some(w.url.clone()), Some(w.pending_update_count)),
            Some(Err(e)) => {
                error.get_or_insert(e.to_string());
                (None, None)
            }
            None => (None, None),
        };
        if let Username::Mismatch { got, want } = judge::username(bot, survey) {
            error.get_or_insert(format!(
                "the token belongs to @{got}, but botctl.toml expects @{want}"
            ));
        }
        Some(TelegramJson {
            username,
            webhook,
            pending_updates,
            error,
        })
    }
}

/// "console machine 91857e3f0d2a47 started 2 h ago", "machine 3d8d… of group web started".
fn other_machine(m: &Machine) -> String {
    let what = match m.fly_own() {
        Some(own) => format!("{} {}", own.what(), m.id),
        None => format!("machine {} of group {}", m.id, m.group),
    };
    match m.instance().since {
        Some(at) => format!("{what} {} {}", m.state, crate::time::ago(at)),
        None => format!("{what} {}", m.state),
    }
}

fn print_human(bots: &[&Bot], survey: &Survey, stale: Duration, detail: Detail) {
    let rows = bots
        .iter()
        .map(|bot| {
            let places = survey.places(bot);
            let verdict = match places.verdict() {
                Verdict::Ok => ui::good("ok"),
                Verdict::Conflict => ui::bad("conflict"),
                Verdict::Stopped => ui::dim("stopped"),
                Verdict::Unknown => ui::caution("unknown"),
            };
            let lines = where_it_runs(bot, &places, survey, stale);
            vec![bot.name.to_string(), verdict, lines.join("\n")]
        })
        .collect();
    ui::line(ui::table(&["BOT", "VERDICT", "WHERE IT RUNS"], rows));
    let mut notes = Notes::default();
    for bot in bots {
        notes.of_bot(bot, survey);
    }
    notes.of_survey(survey, detail);
    notes.print();
}

/// The table's last column for one bot: every place it runs, one per line.
fn where_it_runs(bot: &Bot, places: &Places, survey: &Survey, stale: Duration) -> Vec<String> {
    let mut lines: Vec<String> = places
        .local
        .iter()
        .map(|i| ui::describe::instance(i))
        .collect();
    lines.extend(
        places
            .hosts
            .iter()
            .map(|(host, i)| ui::describe::on_host(host, i)),
    );
    for (app, m) in places.on_fly() {
        lines.push(format!(
            "fly {} machine {} {} ({})",
            app, m.id, m.state, m.region
        ));
    }
    if let Some(app) = bot.app() {
        lines.extend(
            survey
                .other_machines(bot)
                .iter()
                .filter(|m| m.is_running())
                .map(|m| ui::dim(&format!("fly {app} {}: not the bot", other_machine(m)))),
        );
    }
    if let Some(look) = survey.other_platform(bot) {
        for i in &places.platform {
            lines.push(format!(
                "{} {} {} {}",
                look.kind.key(),
                ui::shown(&look.name),
                i.id,
                i.state
            ));
        }
        // Heroku's config vars restart every dyno and Railway's variables redeploy: neither
        // holds a record, and dynos and replicas carry no metadata.
        use crate::model::PlatformKind::{Heroku, Railway};
        if matches!(look.kind, Heroku | Railway) && look.instances.is_ok() {
            lines.push(ui::dim(&format!(
                "{} has no place for a team record: a handoff is recorded on this machine only",
                look.kind
            )));
        }
    }
    for (app, m) in &places.also {
        lines.push(format!(
            "fly {app} machine {} {} ({}): same token",
            m.id, m.state, m.region
        ));
    }
    if let Some(url) = places.webhook {
        lines.push(format!("webhook {url}"));
    }
    if bot.mode.is_webhook() && places.webhook.is_some() && !places.machines.is_empty() {
        lines.push(ui::dim(
            "webhook bot: the webhook and its machines are one place (Fly Proxy hands each post to a machine)",
        ));
    }
    if let Some(r) = places.declared() {
        lines.push(declared_row(r, stale));
    }
    if let Some(r) = places.record.as_ref().filter(|r| r.is_mine())
        && places.local.is_empty()
    {
        lines.push(ui::dim(&format!(
            "you took {} at {}; it does not run here",
            bot.name,
            r.since()
        )));
    }
    lines.extend(
        places
            .maybe
            .iter()
            .map(|(host, m)| ui::caution(&ui::describe::maybe(host.map(|h| h.as_str()), m))),
    );
    if lines.is_empty() {
        lines.push(ui::dim("nowhere"));
    }
    lines
}

/// The sections under the table, gathered bot by bot, printed in one order.
#[derive(Default)]
struct Notes {
    /// "Can start a bot later (autostart):".
    later: Vec<String>,
    /// "Not checked:": what could not be read, with the fix when there is one.
    unchecked: Vec<(String, Option<Fix>)>,
    /// "Telegram:".
    telegram: Vec<String>,
    /// "Other Fly apps with the same token:".
    shared: Vec<String>,
    /// Other apps that could not be read: noted as not checked after every bot's own.
    shared_unchecked: Vec<String>,
    /// Sources that cannot be on this system, listed apart with -v.
    not_here: Vec<String>,
}

impl Notes {
    /// Each text once.
    fn not_checked(&mut self, text: String, fix: Option<Fix>) {
        if !self.unchecked.iter().any(|(t, _)| *t == text) {
            self.unchecked.push((text, fix));
        }
    }

    fn of_bot(&mut self, bot: &Bot, survey: &Survey) {
        if let Some(hidden) = crate::sources::local::hidden_note(&survey.hidden, bot) {
            self.not_checked(format!("local ({}): {hidden}", bot.name), None);
        }
        self.shared_token(bot, survey);
        for a in judge::autostart(bot, survey) {
            let at = a.host.map(|h| format!("host {h} ")).unwrap_or_default();
            self.later.push(format!(
                "  {}: {at}{} — {}",
                bot.name, a.entry.source, a.entry.entry
            ));
        }
        for on in judge::hosts(bot, survey, &survey.places(bot)) {
            if let OnHost::NotRead { host, error } = on {
                self.not_checked(
                    format!("host {host}: {}", ui::shown(&error.to_string())),
                    None,
                );
            }
        }
        if let (Some(app), Some(Err(e))) = (bot.app(), survey.machines(bot)) {
            self.not_checked(format!("fly {app}: {e}"), e.fix());
        }
        if let Some(look) = survey.other_platform(bot)
            && let Err(e) = &look.instances
        {
            self.not_checked(
                format!("{} ({}): {e}", look.kind.key(), bot.name),
                e.fix.clone(),
            );
        }
        self.telegram(bot, survey);
    }

    /// Other Fly apps that hold the bot's token, and those that could not be read.
    fn shared_token(&mut self, bot: &Bot, survey: &Survey) {
        let Some(shared) = survey.shared_token(bot) else {
            return;
        };
        for a in &shared.also {
            let started = a.started();
            self.shared.push(format!(
                "  {}: Fly app {} holds the same token (secret {}); {}",
                bot.name,
                a.app,
                a.secret,
                match (&a.machines, started.len()) {
                    (Err(e), _) => format!("its machines could not be read: {e}"),
                    (Ok(_), 0) => "none of its machines is started".to_string(),
                    (Ok(_), n) => format!("{n} started machine(s) poll with it"),
                }
            ));
        }
        for reason in &shared.unchecked {
            let entry = format!("other Fly apps ({}): {reason}", bot.name);
            if !self.shared_unchecked.contains(&entry) {
                self.shared_unchecked.push(entry);
            }
        }
    }

    /// What the Bot API said of the bot's token and webhook, or why it was not asked.
    fn telegram(&mut self, bot: &Bot, survey: &Survey) {
        let Some(t) = survey.telegram.get(&bot.name) else {
            return;
        };
        match &t.token {
            missing @ TokenLookup::Missing { .. } => {
                let (why, fix) = missing.missing().unzip();
                let why = why.unwrap_or_default();
                self.not_checked(format!("telegram {}: {why}", bot.name), fix);
            }
            TokenLookup::NotConfigured => {}
            TokenLookup::Found { .. } => {
                let me = match &t.me {
                    Some(Ok(u)) => format!("@{u}"),
                    Some(Err(e)) => format!("error: {e}"),
                    None => String::new(),
                };
                let wh = match &t.webhook {
                    Some(Ok(w)) if w.url.is_empty() => {
                        format!("no webhook, {} pending updates", w.pending_update_count)
                    }
                    Some(Ok(w)) => format!(
                        "webhook {} set, {} pending updates",
                        w.url, w.pending_update_count
                    ),
                    Some(Err(_)) | None => String::new(),
                };
                let mut parts = vec![me];
                if !wh.is_empty() {
                    parts.push(wh);
                }
                if let Username::Mismatch { want, .. } = judge::username(bot, survey) {
                    parts.push(ui::bad(&format!("expected @{want}")));
                }
                self.telegram
                    .push(format!("  {}: {}", bot.name, parts.join("; ")));
            }
        }
    }

    /// What no one bot owns: other apps not read, the container engine, autostart sources.
    fn of_survey(&mut self, survey: &Survey, detail: Detail) {
        for entry in std::mem::take(&mut self.shared_unchecked) {
            self.not_checked(entry, None);
        }
        if let (Some(engine), Some(why)) = (survey.engine.engine(), survey.engine.not_checked()) {
            self.not_checked(format!("{}: {why}", engine.program()), None);
        }
        // A source that cannot be on this system (launchd on Linux) is no gap in what was seen:
        // it is listed apart, and only with -v.
        let (unread, not_here): (Vec<_>, Vec<_>) = judge::autostart_not_checked(survey)
            .into_iter()
            .partition(|u| u.reach == Reach::Unread);
        for u in &unread {
            self.not_checked(ui::shown(&u.described()).into_owned(), None);
        }
        if detail == Detail::All {
            self.not_here = not_here.iter().map(|u| u.described()).collect();
        }
    }

    fn print(&self) {
        if !self.telegram.is_empty() {
            ui::blank();
            ui::line(ui::heading("Telegram:"));
            self.telegram.iter().for_each(ui::line);
        }
        if !self.shared.is_empty() {
            ui::blank();
            ui::line(ui::heading("Other Fly apps with the same token:"));
            for note in &self.shared {
                ui::hanging(note, Some(4));
            }
        }
        if !self.later.is_empty() {
            ui::blank();
            ui::line(ui::heading("Can start a bot later (autostart):"));
            self.later.iter().for_each(ui::line);
        }
        if !self.unchecked.is_empty() {
            ui::blank();
            ui::line(ui::heading("Not checked:"));
            for (text, fix) in &self.unchecked {
                ui::report::noted(2, text, fix.as_ref());
            }
        }
        if !self.not_here.is_empty() {
            ui::report::not_here(&self.not_here);
        }
    }
}

/// "on alice@mbp (dev-start 14:02 UTC, 2 h ago; not seen from here)": a teammate's laptop,
/// known from the handoff record on Fly.
fn declared_row(r: &team::Record, stale: Duration) -> String {
    let stale = if r.is_stale(stale) {
        format!("; stale: older than {}", crate::time::span(stale))
    } else {
        String::new()
    };
    format!(
        "on {} ({}; not seen from here{stale})",
        r.who_where(),
        r.when()
    )
}
