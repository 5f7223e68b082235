//! `botctl watch`: for a 409 that comes and goes. Reads every source again at its own cadence
//! (`[watch]`), streams each app's `flyctl logs`, and prints one line (or JSON object) per
//! change until Ctrl-C or the end of `--for`; then a summary. No probe: watching never
//! disturbs the bot.
//!
//! Each source is read by its own scoped thread and sends what it saw to the one thread that
//! owns the [`Watcher`] (the last look at everything), which turns looks into events.

mod event;
mod json;
mod stream;
mod watcher;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::time::{Duration, Instant};

use super::Context;
use crate::config::{self, Bot};
use crate::error::{ExitStatus, Result};
use crate::model::{BotName, HostName, Pid, PlatformKind};
use crate::sources::host::{self, HostError};
use crate::sources::local::{self, BotProcess};
use crate::sources::platform::Look;
use crate::sources::proc::TableError;
use crate::sources::telegram::{ApiError, BotApi, TokenLookup};
use crate::{interrupt, sources, survey, ui};
use event::{Event, now_ms};
use stream::Heard;
use watcher::Watcher;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  botctl watch\n  botctl watch partner --for 10m\n  \
botctl watch --json | jq 'select(.event == \"409\")'\n\nExit: 0 nothing seen, 1 a 409 or \
a conflict (two places at once) was seen, 130 never (Ctrl-C ends it with the summary)"
)]
pub struct Args {
    /// Bots to watch (default: all)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bots: Vec<String>,
    /// One JSON object per event per line
    #[arg(long)]
    json: bool,
    /// Stop by itself after this long ("90s", "10m", "2h"); default: until Ctrl-C
    #[arg(long = "for", value_name = "DURATION", value_parser = for_duration)]
    for_: Option<Duration>,
}

fn for_duration(s: &str) -> std::result::Result<Duration, config::DurationError> {
    config::WATCH_FOR.parse(s)
}

/// What a source's thread saw.
enum Seen {
    Local(Result<Vec<BotProcess>, TableError>),
    Host(HostName, Result<Vec<BotProcess>, HostError>),
    /// A bot's platform, through the seam: the bot, its app's or workload's name, the look.
    Platform(BotName, String, Box<Look>),
    Webhook(BotName, Result<crate::outside::Outside, ApiError>),
    /// A place's log stream: its name, how messages name the stream, what it heard.
    Log(String, String, Heard),
}

/// How many looks and log lines may wait for the watcher thread. Each is bounded (a log line
/// at 64 KiB), so this bounds their bytes; a log stream that comes faster waits here, and its
/// own queue drops lines and says so (`Heard::Dropped`).
const SEEN_QUEUE: usize = 64;

/// Tells every thread to finish; their sleeps end at once.
pub struct Stop(AtomicBool);

impl Stop {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst) || interrupt::requested()
    }

    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Sleeps `d`, or less when told to stop.
    pub fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.is_set() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

pub fn run(ctx: &Context, args: &Args) -> Result<ExitStatus> {
    let bots = ctx.cfg.select(&args.bots)?;
    let started = now_ms();
    let live = ui::Live::new();
    say_what_is_watched(ctx, &bots, args);
    let stop = Stop(AtomicBool::new(false));
    let (tx, rx) = mpsc::sync_channel::<Seen>(SEEN_QUEUE);
    let mut watcher = Watcher::new(&bots, started);
    std::thread::scope(|s| {
        start_readers(s, ctx, &bots, &stop, &tx);
        drop(tx);
        let rx = rx;
        let deadline = args.for_.map(|d| Instant::now() + d);
        let mut redrawn = Instant::now() - Duration::from_secs(1);
        while !stop.is_set() && deadline.is_none_or(|d| Instant::now() < d) && !live.closed() {
            if let Ok(seen) = rx.recv_timeout(Duration::from_millis(100)) {
                for e in take(&mut watcher, seen) {
                    show(&live, &e, args.json);
                }
            }
            if redrawn.elapsed() >= Duration::from_secs(1) {
                live.status(&status_line(&watcher, &bots));
                redrawn = Instant::now();
            }
        }
        // Ends every reader, and every flyctl, ssh or Bot API call still running; a reader
        // waiting on a full queue is let go.
        stop.set();
        interrupt::request();
        drop(rx);
    });
    interrupt::clear();
    live.finish();
    summarize(&live, &watcher, &bots, args.json);
    Ok(ExitStatus::found_if(watcher.saw_trouble()))
}

fn say_what_is_watched(ctx: &Context, bots: &[&Bot], args: &Args) {
    let w = &ctx.cfg.watch;
    let apps = survey::apps(bots);
    let mut what = vec![format!("this machine every {}", secs(w.local))];
    if !apps.is_empty() {
        what.push(format!(
            "Fly app{} {} every {} and their logs as they come",
            if apps.len() == 1 { "" } else { "s" },
            apps.join(", "),
            secs(w.fly)
        ));
    }
    let hosts = hosts_of(ctx, bots);
    if !hosts.is_empty() {
        what.push(format!(
            "host{} {} every {}",
            if hosts.len() == 1 { "" } else { "s" },
            hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            secs(w.hosts)
        ));
    }
    // Through the seam: a platform botctl cannot read yet says so here, once.
    for bot in bots.iter().filter(|b| b.fly().is_none()) {
        if let Some(platform) = ctx.platform_of(bot)
            && let Err(e) = platform.instances()
        {
            ui::note(format!(
                "{} ({}): not watched: {e}",
                platform.kind().key(),
                bot.name
            ));
        }
    }
    let until = match args.for_ {
        Some(d) => format!("for {}", secs(d)),
        None => "until Ctrl-C".into(),
    };
    ui::note(format!(
        "Watching {} {until}: {}. Times are UTC.",
        bots.iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        what.join("; ")
    ));
}

fn hosts_of<'c>(ctx: &'c Context, bots: &[&Bot]) -> Vec<&'c config::Host> {
    ctx.cfg
        .hosts
        .iter()
        .filter(|h| bots.iter().any(|b| h.may_run(&b.name)))
        .collect()
}

/// One scoped thread per source: this machine, each host, each app's machine list and log
/// stream, each bot's webhook info.
fn start_readers<'s, 'e: 's>(
    s: &'s std::thread::Scope<'s, 'e>,
    ctx: &'e Context,
    bots: &'e [&'e Bot],
    stop: &'e Stop,
    tx: &SyncSender<Seen>,
) {
    let w = &ctx.cfg.watch;
    let tx_local = tx.clone();
    s.spawn(move || read_local(ctx, bots, w.local, stop, &tx_local));
    for h in hosts_of(ctx, bots) {
        let tx = tx.clone();
        s.spawn(move || {
            every(w.hosts, stop, || {
                let scan = host::read(h, bots, &ctx.tokens).map(|scan| scan.instances);
                tx.send(Seen::Host(h.name.clone(), scan)).is_ok()
            })
        });
    }
    let silence = stream::silence_bound(w.fly);
    for (kind, name, on_it) in places(ctx, bots) {
        let (tx_list, tx_log) = (tx.clone(), tx.clone());
        let period = match kind {
            PlatformKind::Fly => w.fly,
            _ => w.platform,
        };
        let list_name = name.clone();
        let first = on_it[0];
        s.spawn(move || {
            every(period, stop, || {
                // One look per round: bots in one Fly app share its `machine list`.
                let flyctl = ctx.flyctl.for_one_look();
                on_it.iter().all(|bot| {
                    let Some(platform) = sources::platform_of(bot, &flyctl, &ctx.cfg.platforms)
                    else {
                        return true;
                    };
                    let look = Box::new(platform.look());
                    let seen = Seen::Platform(bot.name.clone(), list_name.clone(), look);
                    tx_list.send(seen).is_ok()
                })
            })
        });
        // One stream per place: its bots' logs are one.
        s.spawn(move || {
            let Some(platform) = ctx.platform_of(first) else {
                return;
            };
            let shown = platform.logs_shown();
            let send = |heard: Heard| {
                let seen = Seen::Log(name.clone(), shown.clone(), heard);
                tx_log.send(seen).is_ok()
            };
            stream::follow(&*platform, silence, stop, &send);
        });
    }
    for bot in bots {
        let TokenLookup::Found { token, .. } = ctx.tokens.of(bot).clone() else {
            continue;
        };
        let api = BotApi::new(&ctx.cfg.telegram.api, token, ctx.cfg.telegram.timeout);
        let tx = tx.clone();
        s.spawn(move || {
            every(w.fly, stop, || {
                let url = api.webhook_info().map(|w| w.url);
                tx.send(Seen::Webhook(bot.name.clone(), url)).is_ok()
            })
        });
    }
}

/// The places the bots' platforms run them, each once: (kind, app or workload, its bots).
fn places<'e>(ctx: &Context, bots: &'e [&'e Bot]) -> Vec<(PlatformKind, String, Vec<&'e Bot>)> {
    let mut places: Vec<(PlatformKind, String, Vec<&'e Bot>)> = Vec::new();
    for bot in bots {
        let Some(platform) = ctx.platform_of(bot) else {
            continue;
        };
        let (kind, name) = (platform.kind(), platform.name());
        match places.iter_mut().find(|(k, n, _)| *k == kind && n == name) {
            Some((_, _, on_it)) => on_it.push(bot),
            None => places.push((kind, name.to_string(), vec![bot])),
        }
    }
    places
}

/// Runs `look` now and then every `period` (from the start of one look to the next) until
/// `stop` or until `look` says nobody listens.
fn every(period: Duration, stop: &Stop, mut look: impl FnMut() -> bool) {
    while !stop.is_set() {
        let began = Instant::now();
        if !look() {
            return;
        }
        stop.sleep(period.saturating_sub(began.elapsed()));
    }
}

/// This machine: the cheap phase of the scan every period, the whole scan (users, folders,
/// supervisors) only when the bots' processes changed.
fn read_local(ctx: &Context, bots: &[&Bot], period: Duration, stop: &Stop, tx: &SyncSender<Seen>) {
    let mut last: Option<Vec<(Pid, BotName)>> = None;
    every(period, stop, || match local::matching(bots) {
        Ok(now) if last.as_ref() == Some(&now) => true,
        Ok(now) => {
            last = Some(now);
            tx.send(Seen::Local(local::scan(bots, &ctx.cfg.root, &ctx.tokens)))
                .is_ok()
        }
        Err(e) => {
            last = None;
            tx.send(Seen::Local(Err(e))).is_ok()
        }
    });
}

fn take(watcher: &mut Watcher, seen: Seen) -> Vec<Event> {
    let at = now_ms();
    match seen {
        Seen::Local(scan) => watcher.local(at, scan),
        Seen::Host(name, scan) => watcher.host(at, &name, scan),
        Seen::Platform(bot, name, look) => watcher.platform(at, &bot, &name, *look),
        Seen::Webhook(bot, url) => watcher.webhook(at, &bot, url),
        Seen::Log(app, _, Heard::Line(line)) => watcher.log_line(at, &app, line),
        Seen::Log(app, shown, Heard::Dropped(lines)) => {
            watcher.lines_dropped(at, &app, shown, lines)
        }
        Seen::Log(app, shown, Heard::Trouble { trouble, retry_in }) => {
            watcher.stream_trouble(at, &app, shown, trouble, retry_in)
        }
    }
}

fn show(live: &ui::Live, e: &Event, json: bool) {
    if json {
        live.json_line(&json::EventJson::new(e));
    } else {
        live.line(&e.line());
    }
}

fn status_line(w: &Watcher, bots: &[&Bot]) -> String {
    let names: Vec<&str> = bots.iter().map(|b| b.name.as_str()).collect();
    format!(
        "watching {} since {} ({}) · 409s so far: {} · places: {} · Ctrl-C ends",
        names.join(", "),
        event::clock(w.started),
        secs(crate::time::elapsed(w.started, now_ms())),
        w.conflicts(),
        w.place_counts()
    )
}

/// The end: time watched, 409s per bot, places that came and went.
fn summarize(live: &ui::Live, w: &Watcher, bots: &[&Bot], json: bool) {
    let ended = now_ms();
    let watched = crate::time::elapsed(w.started, ended);
    if json {
        let tallies = bots
            .iter()
            .filter_map(|b| w.tally.get(&b.name).map(|t| (b.name.as_str(), t)));
        live.json_line(&json::SummaryJson::new(
            ended,
            watched,
            tallies,
            w.saw_trouble(),
        ));
        return;
    }
    live.line(&format!(
        "Watched for {} ({} to {}).",
        secs(watched),
        event::clock(w.started),
        event::clock(ended)
    ));
    for b in bots {
        let Some(t) = w.tally.get(&b.name) else {
            continue;
        };
        let mut s = format!(
            "  {}: {} 409{}, at most {} place{} at once",
            b.name,
            t.conflicts,
            if t.conflicts == 1 { "" } else { "s" },
            t.most_places,
            if t.most_places == 1 { "" } else { "s" }
        );
        if !t.came.is_empty() {
            s.push_str(&format!("; came: {}", t.came.join(", ")));
        }
        if !t.went.is_empty() {
            s.push_str(&format!("; went: {}", t.went.join(", ")));
        }
        live.line(&s);
    }
    if w.saw_trouble() {
        live.line("A 409 or two places at once was seen: botctl doctor names the causes it can.");
    }
}

/// "90s", "10m", "1m30s".
fn secs(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, _) if d.as_millis() < 1000 => format!("{}ms", d.as_millis()),
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}
