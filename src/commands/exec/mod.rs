//! `botctl exec BOT [-- COMMAND…]`: the check the wiki puts at the start of launch scripts,
//! complete. One look at every place BOT can run (the survey status makes, less this run's
//! own process tree and Fly machine); if it runs anywhere, refuse with each place and its fix;
//! else replace botctl's own process with COMMAND (default: the bot's `run`), so the pid stays
//! and whatever supervises botctl supervises the bot itself.
//!
//! Two runs at once: the handoff lock is held across the look and the exec (it is released
//! when the exec succeeds), and the copy lock (see `copy_lock`) is held by the bot after it, so
//! the second run waits for the first and then sees its copy.

mod copy_lock;
mod places;

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use self::copy_lock::{Claim, CopyLock};
use self::places::{Elsewhere, OtherCopies, ThisRun};
use super::Context;
use crate::config::{Bot, Bounds, Run};
use crate::error::{Error, ExitStatus, Result};
use crate::fix::Fix;
use crate::sources::telegram::{self, ProbeOutcome, Token, TokenLookup};
use crate::survey::{self, Autostarts};
use crate::{interrupt, state, ui};

/// `--wait`: up to an hour (a deploy that drains, a restart that overlaps).
const WAIT: Bounds = Bounds {
    name: "--wait",
    default: Duration::ZERO,
    min: Duration::ZERO,
    max: Duration::from_secs(60 * 60),
};

/// How long to wait for another botctl run that holds the handoff lock (another exec looking,
/// probing, or a deploy-resume) before refusing.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often `--wait` looks again.
const LOOK_EVERY: Duration = Duration::from_secs(1);

#[derive(clap::Args, Debug)]
#[command(
    about = "Run the bot in this process unless it already runs somewhere (for launch \
scripts, Dockerfile CMD, systemd ExecStart)",
    after_help = "Examples:\n  botctl exec admin -- python3 admin_bot.py   # the last line \
of a launch script, after `exec`\n  botctl exec admin                           # its `run` \
(through sh -c when botctl.toml sets it)\n  botctl exec partner --probe --wait 60s -- python3 bot.py\n\nExit: the bot's own once it runs; 1 it \
runs elsewhere (each place and its fix on stderr), 2 bad usage, 3 COMMAND could not be run"
)]
pub struct Args {
    /// The bot to run
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    pub bot: String,
    /// Also run the conflict probe (interrupts another poller's request once)
    #[arg(long)]
    pub probe: bool,
    /// Wait up to DURATION for the other places to go (e.g. 30s, 2m), then run it
    #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
    pub wait: Option<Duration>,
    /// Refuse when a source cannot be read (no flyctl, a host down) instead of going on
    #[arg(long)]
    pub strict: bool,
    /// What to run instead of the bot's `run` (after --)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

fn parse_wait(s: &str) -> std::result::Result<Duration, crate::config::DurationError> {
    WAIT.parse(s)
}

pub fn run(ctx: &Context, args: &Args) -> Result<ExitStatus> {
    let bot = ctx.cfg.bot(&args.bot)?;
    let launch = Launch::new(bot, &args.command);
    let token = match ctx.tokens.of(bot).clone() {
        TokenLookup::Found { token, .. } => Some(token),
        _ => None,
    };
    let own = ThisRun::now();
    let clear = clear_the_way(ctx, bot, args, token.as_ref(), &own)?;
    report_unchecked(bot, &clear.unchecked);
    become_the_bot(ctx, bot, &launch, token.as_ref(), clear)
}

/// What the program becomes: COMMAND as given, or the bot's `run`.
enum Launch {
    Given(Vec<String>),
    Run(Run),
}

impl Launch {
    fn new(bot: &Bot, command: &[String]) -> Launch {
        if command.is_empty() {
            Launch::Run(bot.run.clone())
        } else {
            Launch::Given(command.to_vec())
        }
    }

    fn command(&self) -> std::process::Command {
        match self {
            Launch::Given(argv) => {
                let mut cmd = std::process::Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                cmd
            }
            Launch::Run(run) => run.command(),
        }
    }
}

impl std::fmt::Display for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Launch::Given(argv) => f.write_str(&argv.join(" ")),
            Launch::Run(run) => run.fmt(f),
        }
    }
}

/// The way is clear: the locks to hold into the exec, and what was not checked.
struct Clear {
    /// Released by the exec itself (close-on-exec), once the new program is in place; `None`
    /// where no lock can be made (a read-only project folder in a container).
    _handoff: Option<state::Locked>,
    /// Kept by the bot; `None` when this run's own ancestor (a bot starting its successor)
    /// holds it already.
    copy: Option<CopyLock>,
    unchecked: Vec<String>,
}

/// What one attempt found.
enum Attempt {
    Clear(Clear),
    /// It runs elsewhere (or, with --strict, a source could not be read).
    Blocked(Refusal),
    /// Another botctl run holds the handoff lock, and no copy was seen without it.
    Busy,
}

/// Why exec refuses, kept until the wait (if any) is over.
enum Refusal {
    Runs(Vec<Elsewhere>),
    Unchecked(Vec<String>),
}

/// Looks until the way is clear, `--wait` is over, or another run keeps the lock too long.
fn clear_the_way(
    ctx: &Context,
    bot: &Bot,
    args: &Args,
    token: Option<&Token>,
    own: &ThisRun,
) -> Result<Clear> {
    let started = Instant::now();
    let wait = args.wait.unwrap_or(Duration::ZERO);
    let deadline = started + wait;
    let lock_deadline = started + wait.max(LOCK_WAIT);
    let mut waiting: Option<ui::Spinner> = None;
    let mut warned = false;
    let mut told_busy = false;
    loop {
        match attempt(ctx, bot, args, token, own, &mut warned)? {
            Attempt::Clear(clear) => return Ok(clear),
            Attempt::Blocked(refusal) => {
                if Instant::now() >= deadline {
                    return Err(refuse(bot, refusal, args.wait));
                }
                let spinner = waiting.get_or_insert_with(|| {
                    // Once, for the log of a launch script or unit; the spinner is for terminals.
                    ui::note(format!(
                        "botctl exec {}: waiting up to {}s for {} to go",
                        bot.name,
                        wait.as_secs(),
                        refusal.summary()
                    ));
                    ui::Spinner::new(
                        &format!("waiting for the other places of {} to go", bot.name),
                        wait,
                    )
                });
                spinner.set_message(&format!("waiting for {}", refusal.summary()));
                pause_until((Instant::now() + LOOK_EVERY).min(deadline))?;
            }
            Attempt::Busy => {
                if !told_busy {
                    ui::note(format!(
                        "botctl exec {}: another botctl run holds {}; waiting up to {}s for it",
                        bot.name,
                        state_lock_path(ctx).display(),
                        lock_deadline
                            .saturating_duration_since(Instant::now())
                            .as_secs()
                    ));
                    told_busy = true;
                }
                if !wait_for_handoff_lock(ctx, lock_deadline)? {
                    return Err(Error::Refused {
                        message: format!(
                            "another botctl run has held {} for {}s (a dev-start running \
a bot, a deploy-resume, or an exec that probes), so {} cannot be checked now",
                            state_lock_path(ctx).display(),
                            started.elapsed().as_secs(),
                            bot.name
                        ),
                        fix: Fix::status(&bot.name).note("then run this again"),
                    });
                }
            }
        }
    }
}

/// One look. Under the handoff lock it decides; without it (another run holds it) it only
/// refuses early when a copy already shows.
fn attempt(
    ctx: &Context,
    bot: &Bot,
    args: &Args,
    token: Option<&Token>,
    own: &ThisRun,
    warned: &mut bool,
) -> Result<Attempt> {
    let (handoff, copy, cannot_lock) = match locks(ctx, bot)? {
        Locks::Held(handoff, copy) => (Some(handoff), Some(copy), None),
        Locks::Busy => (None, None, None),
        Locks::Unavailable(why) => (None, None, Some(why)),
    };
    let survey = survey::gather_with(&ctx.cfg, &[bot], &ctx.flyctl, &ctx.tokens, Autostarts::Skip);
    let OtherCopies {
        elsewhere,
        mut unchecked,
    } = places::look(bot, &survey, own, copy.as_ref(), &ctx.cfg.telegram.api);
    if !elsewhere.is_empty() {
        return Ok(Attempt::Blocked(Refusal::Runs(elsewhere)));
    }
    if handoff.is_none() && cannot_lock.is_none() {
        return Ok(Attempt::Busy);
    }
    // Without locks the look still counts; only two runs at the same moment go unguarded.
    unchecked
        .extend(cannot_lock.map(|why| format!("a second botctl exec at the same moment ({why})")));
    if args.strict && !unchecked.is_empty() {
        return Ok(Attempt::Blocked(Refusal::Unchecked(unchecked)));
    }
    if args.probe {
        match probe(ctx, bot, token, warned)? {
            Probed::Clear => {}
            Probed::Runs(other) => return Ok(Attempt::Blocked(Refusal::Runs(vec![other]))),
            Probed::Unchecked(why) if args.strict => {
                return Ok(Attempt::Blocked(Refusal::Unchecked(vec![why])));
            }
            Probed::Unchecked(why) => unchecked.push(why),
        }
    }
    let copy = match copy {
        Some(Claim::Taken(lock)) => Some(lock),
        // Held by this run's own ancestor (or by this very pid, after a bot exec'd botctl):
        // the look above left it out, and that holder keeps covering the bot.
        _ => None,
    };
    Ok(Attempt::Clear(Clear {
        _handoff: handoff,
        copy,
        unchecked,
    }))
}

enum Probed {
    Clear,
    Runs(Elsewhere),
    Unchecked(String),
}

/// The conflict probe, said first (it costs another poller a request, and grammY/Telegraf
/// stop on it).
fn probe(ctx: &Context, bot: &Bot, token: Option<&Token>, warned: &mut bool) -> Result<Probed> {
    let Some(token) = token else {
        return Ok(Probed::Unchecked(format!(
            "the probe (no token: {} is not set)",
            bot.token_env.as_deref().unwrap_or("token_env")
        )));
    };
    if !*warned {
        ui::note(telegram::PROBE_WARNING);
        *warned = true;
    }
    let outcome = super::steps::probe_with_spinner(ctx, token);
    Ok(match outcome {
        ProbeOutcome::Clear { .. } => Probed::Clear,
        ProbeOutcome::OtherPoller { after } => Probed::Runs(Elsewhere {
            place: format!(
                "another poller answered the probe after {:.1}s (not on this machine's process \
table, a host or a Fly machine botctl reads)",
                after.as_secs_f32()
            ),
            fix: Fix::run(&["botctl", "doctor", &bot.name, "--probe"]),
        }),
        ProbeOutcome::Webhook => Probed::Runs(Elsewhere {
            place: "a webhook was set while the probe listened".into(),
            fix: Fix::delete_webhook(&ctx.cfg.telegram.api, bot.token_env.as_deref()),
        }),
        ProbeOutcome::Failed(telegram::ApiError::Interrupted) => return Err(Error::Interrupted),
        ProbeOutcome::Failed(e) => Probed::Unchecked(format!("the probe could not run: {e}")),
    })
}

impl Refusal {
    /// The spinner's line while waiting.
    fn summary(&self) -> String {
        match self {
            Refusal::Runs(places) => places
                .iter()
                .map(|p| p.place.split(" (").next().unwrap_or(&p.place).to_string())
                .collect::<Vec<_>>()
                .join("; "),
            Refusal::Unchecked(what) => format!("{} to be readable", what.join("; ")),
        }
    }
}

/// The refusal, in dev-start's style: each place with the command that ends it there.
fn refuse(bot: &Bot, refusal: Refusal, waited: Option<Duration>) -> Error {
    let after = waited
        .map(|w| format!(" after waiting {}s", w.as_secs()))
        .unwrap_or_default();
    match refusal {
        Refusal::Runs(places) if places.len() == 1 => Error::Refused {
            message: format!(
                "{} already runs{after}: {}; another copy would make two pollers",
                bot.name, places[0].place
            ),
            fix: places[0].fix.clone(),
        },
        Refusal::Runs(places) => Error::RefusedIn {
            message: format!(
                "{} already runs in {} places{after}; another copy would make one more poller",
                bot.name,
                places.len(),
            ),
            places,
            fix: Fix::instruction(
                "end each of them as above, then run this again (or pass --wait DURATION)",
            ),
        },
        Refusal::Unchecked(what) => Error::Refused {
            message: format!(
                "not every place {} can run was checked{after}, and --strict makes that a \
refusal:\n{}",
                bot.name,
                what.iter()
                    .map(|w| format!("  - not checked: {w}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            fix: Fix::instruction(
                "make these sources readable (the fix above), or leave out --strict",
            ),
        },
    }
}

/// "Not checked" goes to stderr, which launch scripts and journald keep beside the bot's own.
fn report_unchecked(bot: &Bot, unchecked: &[String]) {
    for u in unchecked {
        ui::note(format!(
            "botctl exec {}: not checked: {}",
            bot.name,
            ui::shown(u)
        ));
    }
}

/// Replaces this process with the bot. Returns only when the exec failed.
fn become_the_bot(
    ctx: &Context,
    bot: &Bot,
    launch: &Launch,
    token: Option<&Token>,
    clear: Clear,
) -> Result<ExitStatus> {
    let mut cmd = launch.command();
    cmd.current_dir(&ctx.cfg.root);
    if let (Some(token), Some(var)) = (token, &bot.token_env) {
        cmd.env(var, token.secret());
    }
    if let Some(copy) = &clear.copy {
        copy.keep_across_exec()?;
    }
    ui::note(format!(
        "botctl exec {}: it runs nowhere else; starting `{}` as pid {}",
        bot.name,
        ui::shown(&launch.to_string()),
        std::process::id()
    ));
    // A SIGTERM or Ctrl-C from here on ends botctl as it would end the bot; one that came
    // during the look is honoured instead of starting the bot anyway.
    default_signals();
    if interrupt::requested() {
        return Err(Error::Interrupted);
    }
    // Holding `clear` (both locks) into the exec.
    let error = cmd.exec();
    drop(clear);
    Err(Error::step(NotExecuted {
        launch: ui::shown(&launch.to_string()).into_owned(),
        dir: ctx.cfg.root.clone(),
        source: error,
    }))
}

/// SIGINT and SIGTERM back to their default action (the exec would reset them anyway).
fn default_signals() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: installs the default disposition; no handler code runs.
        unsafe {
            let _ = signal(sig, SigHandler::SigDfl);
        }
    }
}

/// The locks one attempt holds.
enum Locks {
    Held(state::Locked, Claim),
    /// Another botctl run holds the handoff lock.
    Busy,
    /// The project folder takes no lock file (read-only, another owner): why.
    Unavailable(String),
}

/// The handoff lock, then under it the copy lock (tried only there: two runs never race for
/// it). A lock botctl refuses to use (a symbolic link) stays an error.
fn locks(ctx: &Context, bot: &Bot) -> Result<Locks> {
    let unavailable = |e: Error| match e {
        Error::Io { context, source } => Ok(Locks::Unavailable(format!("{context}: {source}"))),
        other => Err(other),
    };
    let handoff = match try_handoff_lock(ctx) {
        Ok(Some(lock)) => lock,
        Ok(None) => return Ok(Locks::Busy),
        Err(e) => return unavailable(e),
    };
    match copy_lock::claim(&ctx.cfg.root, &bot.name) {
        Ok(claim) => Ok(Locks::Held(handoff, claim)),
        Err(e) => unavailable(e),
    }
}

fn try_handoff_lock(ctx: &Context) -> Result<Option<state::Locked>> {
    match state::lock(&ctx.cfg.root) {
        Ok(lock) => Ok(Some(lock)),
        // The only refusal `state::lock` makes: another run holds it.
        Err(Error::Refused { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn state_lock_path(ctx: &Context) -> std::path::PathBuf {
    ctx.cfg.root.join(".botctl").join("lock")
}

/// Polls the handoff lock until it is free (true) or `deadline` passes (false); the caller
/// takes it again with its look.
fn wait_for_handoff_lock(ctx: &Context, deadline: Instant) -> Result<bool> {
    loop {
        match try_handoff_lock(ctx) {
            Ok(Some(lock)) => {
                drop(lock);
                return Ok(true);
            }
            Ok(None) => {}
            // The attempt that follows says why it cannot lock.
            Err(_) => return Ok(true),
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        pause_until((Instant::now() + Duration::from_millis(20)).min(deadline))?;
    }
}

fn pause_until(until: Instant) -> Result<()> {
    while Instant::now() < until {
        if interrupt::requested() {
            return Err(Error::Interrupted);
        }
        std::thread::sleep(
            Duration::from_millis(10).min(until.saturating_duration_since(Instant::now())),
        );
    }
    Ok(())
}

/// The bot's `run` could not replace botctl (`launch`: the command, shown escaped).
#[derive(Debug)]
struct NotExecuted {
    launch: String,
    dir: std::path::PathBuf,
    source: std::io::Error,
}

impl std::fmt::Display for NotExecuted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "could not run `{}` in {}: {}",
            self.launch,
            self.dir.display(),
            self.source
        )
    }
}

impl std::error::Error for NotExecuted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
