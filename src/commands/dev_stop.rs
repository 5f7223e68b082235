//! `botctl dev-stop`: stop this machine's instances of bots — the current user's only.
//! Find them and what keeps each alive, confirm how each will be stopped, stop supervised ones
//! through their supervisor (never its daemon), SIGTERM the rest, SIGKILL after the grace
//! period, then watch for a copy that comes back.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::Context;
use super::steps::{Mode, Steps, wait_for};
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::exec;
use crate::sources::local::{self, Instance};
use crate::sources::proc::{self, Backend};
use crate::sources::supervisor::{StopHow, SupervisorKind};
use crate::ui;

/// Time limit of one supervisor's stop command (supervisorctl and pm2 wait for the program).
const STOP_COMMAND_LIMIT: Duration = Duration::from_secs(60);

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  botctl dev-stop\n  botctl dev-stop partner --grace 5s --yes\n  botctl dev-stop partner --host vps --dry-run"
)]
pub struct Args {
    /// Bots to stop (default: all)
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
    bots: Vec<String>,
    /// Stop them on this [[host]] over ssh (the ssh user's processes only)
    #[arg(long, value_name = "NAME", add = clap_complete::ArgValueCandidates::new(crate::complete::host_names))]
    host: Option<String>,
    /// Do not ask for confirmation
    #[arg(long, short)]
    yes: bool,
    /// Print the steps and change nothing
    #[arg(long)]
    dry_run: bool,
    /// How long to wait after SIGTERM before SIGKILL
    #[arg(long, default_value = "10s", value_parser = parse_grace)]
    grace: Duration,
}

fn parse_grace(s: &str) -> std::result::Result<Duration, String> {
    crate::config::GRACE.parse(s)
}

pub fn run(ctx: &Context, args: &Args) -> Result<i32> {
    let mode = Mode::new(args.yes, args.dry_run);
    match &args.host {
        Some(host) => super::dev_stop_host::run(ctx, host, &args.bots, mode, args.grace),
        None => {
            let bots = ctx.cfg.select(&args.bots)?;
            stop(ctx, &mut ThisMachine { ctx }, &bots, mode, args.grace)
        }
    }
}

/// A signal dev-stop sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sig {
    Term,
    Kill,
}

/// Where dev-stop works: this machine, or a `[[host]]` over ssh. The steps are the same; a
/// place knows how it is scanned, how its supervisors are stopped and how its processes are
/// signalled (only this user's, only while each is still the process the scan saw).
pub(super) trait Place {
    /// "this machine", "host vps".
    fn name(&self) -> String;
    /// "", " on host vps": after "Stop these instances".
    fn on(&self) -> String;
    /// Step 1's title.
    fn find_title(&self) -> String;
    /// How instances that are not ours are described ("another user's").
    fn not_ours(&self) -> &'static str;
    /// How often to look while waiting.
    fn poll(&self) -> Duration;
    /// (this user's instances, everyone else's), read anew.
    fn find(&mut self, bots: &[&Bot]) -> Result<(Vec<Instance>, Vec<Instance>)>;
    fn describe(&self, i: &Instance) -> String;
    /// A supervisor that cannot be stopped from here: the refusal with the command to run.
    fn refusal(&self, mine: &[Instance]) -> Option<Error>;
    /// Runs each supervisor's stop once; says what was done.
    fn stop_supervisors(&self, supervised: &[&Instance]) -> Result<Vec<String>>;
    /// Sends `sig` to those still running; returns the pids signalled.
    fn send(&self, instances: &[Instance], sig: Sig) -> Result<Vec<u32>>;
    /// The pids of those still running.
    fn alive(&self, instances: &[Instance]) -> Result<Vec<u32>>;
}

/// dev-stop's steps, wherever they run.
pub(super) fn stop(
    ctx: &Context,
    place: &mut impl Place,
    bots: &[&Bot],
    mode: Mode,
    grace: Duration,
) -> Result<i32> {
    let mut steps = Steps::new(
        &format!("dev-stop: stop the bots running on {}", place.name()),
        mode.is_dry_run(),
    );

    // 1. Find them, and what keeps each alive.
    let mut step = steps.begin(&place.find_title());
    let (mine, others) = place.find(bots).map_err(|e| step.fail(e))?;
    let mut detail: Vec<String> = mine
        .iter()
        .map(|i| format!("{}: {}", i.bot, place.describe(i)))
        .collect();
    detail.extend(others.iter().map(|i| {
        format!(
            "{}: {} — {}: left alone",
            i.bot,
            place.describe(i),
            place.not_ours()
        )
    }));
    if mine.is_empty() {
        step.done(if detail.is_empty() {
            "none running".to_string()
        } else {
            detail.join("\n")
        });
        ui::line("Nothing to stop.");
        return Ok(0);
    }
    step.done(detail.join("\n"));

    // 2. How each one will be stopped; a supervisor that cannot be stopped from here is a
    //    refusal.
    let mut step = steps.begin("Plan how each is stopped");
    let plan: Vec<String> = mine.iter().map(|i| plan_line(i, grace)).collect();
    if let Some(err) = place.refusal(&mine) {
        return Err(step.fail(err));
    }
    step.done(plan.join("\n"));

    // 3. Confirm.
    let mut step = steps.begin("Confirm");
    if mode.is_dry_run() {
        step.would(format!("stop them{} as planned in step 2", place.on()));
        return Ok(0);
    }
    mode.confirm(&format!(
        "Stop {}{} ({})?",
        if mine.len() == 1 {
            "this instance".to_string()
        } else {
            format!("these {} instances", mine.len())
        },
        place.on(),
        mine.iter()
            .map(|i| format!("pid {}", i.pid))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .map_err(|e| step.fail(e))?;
    step.done("confirmed");

    // 4. Supervisors first: a killed copy would only come back.
    let supervised: Vec<&Instance> = mine.iter().filter(|i| i.supervisor.is_some()).collect();
    if !supervised.is_empty() {
        let mut step = steps.begin("Stop the supervisors");
        let done = place
            .stop_supervisors(&supervised)
            .map_err(|e| step.fail(e))?;
        step.done(done.join("\n"));
    }

    // 5. SIGTERM what is still running.
    let mut step = steps.begin("Send SIGTERM");
    let sent = place.send(&mine, Sig::Term).map_err(|e| step.fail(e))?;
    step.done(if sent.is_empty() {
        "none left to signal".to_string()
    } else {
        format!("sent to pid {}", join(&sent))
    });

    // 6. Wait, then SIGKILL the rest.
    let mut step = steps.begin(&format!("Wait up to {}s for them to exit", grace.as_secs()));
    let gone = wait_for("waiting for the bots to exit", grace, place.poll(), || {
        let alive = place.alive(&mine)?;
        Ok(if alive.is_empty() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(format!("{} still running", alive.len()))
        })
    })
    .map_err(|e| step.fail(e))?;
    if gone.is_some() {
        step.done("all exited");
    } else {
        let left = place.alive(&mine).map_err(|e| step.fail(e))?;
        let stubborn: Vec<Instance> = mine
            .iter()
            .filter(|i| left.contains(&i.pid))
            .cloned()
            .collect();
        let killed = place.send(&stubborn, Sig::Kill).map_err(|e| step.fail(e))?;
        wait_for(
            "waiting after SIGKILL",
            Duration::from_secs(5),
            place.poll(),
            || {
                Ok(if place.alive(&stubborn)?.is_empty() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue("still there".into())
                })
            },
        )?;
        step.warn(format!(
            "pid {} ignored SIGTERM for {}s: sent SIGKILL",
            join(&killed),
            grace.as_secs()
        ));
    }

    // 7. Watch for a copy that comes back, then prove it.
    let respawn = ctx.cfg.local.respawn;
    let mut step = steps.begin(&format!(
        "Watch {} for a copy that comes back",
        human_duration(respawn)
    ));
    let stopped: BTreeSet<u32> = mine.iter().map(|i| i.pid).collect();
    let back = wait_for(
        "watching for a copy that comes back",
        respawn,
        Duration::from_millis(250),
        || {
            let (now, _) = place.find(bots)?;
            let new: Vec<Instance> = now
                .into_iter()
                .filter(|i| !stopped.contains(&i.pid))
                .collect();
            Ok(if new.is_empty() {
                ControlFlow::Continue("none so far".into())
            } else {
                ControlFlow::Break(new)
            })
        },
    )
    .map_err(|e| step.fail(e))?;
    if let Some(back) = back {
        return Err(step.fail(Error::StepFailed(format!(
            "a copy came back{} after the stop: {}",
            place.on(),
            back.iter().map(came_back).collect::<Vec<_>>().join("; ")
        ))));
    }
    let (left, _) = place.find(bots).map_err(|e| step.fail(e))?;
    if !left.is_empty() {
        return Err(step.fail(Error::StepFailed(format!(
            "still running: {}",
            left.iter()
                .map(|i| place.describe(i))
                .collect::<Vec<_>>()
                .join("; ")
        ))));
    }
    step.done(format!(
        "no instance of your bots is left on {}",
        place.name()
    ));
    Ok(0)
}

/// This machine: the current user's processes, never botctl or its ancestors.
struct ThisMachine<'a> {
    ctx: &'a Context,
}

impl Place for ThisMachine<'_> {
    fn name(&self) -> String {
        "this machine".into()
    }
    fn on(&self) -> String {
        String::new()
    }
    fn find_title(&self) -> String {
        "Find local instances".into()
    }
    fn not_ours(&self) -> &'static str {
        "another user's or botctl's own"
    }
    fn poll(&self) -> Duration {
        Duration::from_millis(200)
    }
    fn find(&mut self, bots: &[&Bot]) -> Result<(Vec<Instance>, Vec<Instance>)> {
        find(self.ctx, bots)
    }
    fn describe(&self, i: &Instance) -> String {
        ui::describe::instance(i)
    }
    fn refusal(&self, mine: &[Instance]) -> Option<Error> {
        refusal(
            mine,
            nix::unistd::geteuid().is_root(),
            "",
            "botctl dev-stop",
        )
    }
    fn stop_supervisors(&self, supervised: &[&Instance]) -> Result<Vec<String>> {
        stop_supervisors(supervised)
    }
    fn send(&self, instances: &[Instance], sig: Sig) -> Result<Vec<u32>> {
        let signal = match sig {
            Sig::Term => Signal::SIGTERM,
            Sig::Kill => Signal::SIGKILL,
        };
        Ok(signal_all(instances, signal)
            .iter()
            .map(|i| i.pid)
            .collect())
    }
    fn alive(&self, instances: &[Instance]) -> Result<Vec<u32>> {
        Ok(alive(instances).iter().map(|i| i.pid).collect())
    }
}

/// One line of the plan: how this instance will be stopped.
pub(super) fn plan_line(i: &Instance, grace: Duration) -> String {
    let plain = format!("SIGTERM, SIGKILL after {}s", grace.as_secs());
    let how = match &i.supervisor {
        None => plain,
        Some(s) => match &s.how {
            StopHow::Command { .. }
            | StopHow::AsRoot { .. }
            | StopHow::Commands { .. }
            | StopHow::Manual
            | StopHow::OtherUser { .. } => format!(
                "`{}` ({} keeps it alive; the {} itself stays up), then {plain}",
                s.stop,
                s.kind,
                daemon_word(s.kind)
            ),
            StopHow::EndParent { pid } => format!(
                "end its {} pid {pid} first, then {plain}",
                if s.kind == SupervisorKind::Loop {
                    "loop's shell".to_string()
                } else {
                    format!("reloader {}", s.name)
                }
            ),
            StopHow::SignalBot => format!(
                "{plain} (cron started it: it comes back at the next \
scheduled time unless its crontab line goes)"
            ),
        },
    };
    format!("{} pid {}: {how}", i.bot, i.pid)
}

fn daemon_word(kind: SupervisorKind) -> &'static str {
    match kind {
        SupervisorKind::Systemd | SupervisorKind::SystemdUser => "systemd manager",
        SupervisorKind::Docker => "container engine",
        SupervisorKind::Pm2 => "pm2 daemon",
        SupervisorKind::Supervisord => "supervisord daemon",
        SupervisorKind::Launchd => "launchd",
        _ => "supervisor",
    }
}

/// A supervisor botctl cannot stop as this user (`root`: whether botctl runs as root): the
/// command to run instead (`run_as`: what goes before it, `ssh DEST ` on a host; `then`: the
/// botctl command to run after it).
pub(super) fn refusal(mine: &[Instance], root: bool, run_as: &str, then: &str) -> Option<Error> {
    let blocked: Vec<(&Instance, String)> = mine
        .iter()
        .filter_map(|i| {
            let s = i.supervisor.as_ref()?;
            match &s.how {
                StopHow::AsRoot { .. } if !root => {
                    Some((i, format!("{} unit {} needs root to stop", s.kind, s.name)))
                }
                StopHow::Commands {
                    root: crate::sources::supervisor::Root::Needed,
                    ..
                } if !root => Some((
                    i,
                    format!(
                        "{} job {} is in the system domain: it needs root to stop",
                        s.kind, s.name
                    ),
                )),
                StopHow::OtherUser { uid } => Some((
                    i,
                    format!(
                        "{} of user {uid} keeps it alive; stop it as that user: {}",
                        s.kind, s.stop
                    ),
                )),
                StopHow::Manual => Some((
                    i,
                    format!(
                        "{} keeps it alive, but botctl could not tell which of its programs it is",
                        s.kind
                    ),
                )),
                _ => None,
            }
        })
        .collect();
    if blocked.is_empty() {
        return None;
    }
    Some(Error::Refused {
        message: format!(
            "not stopping anything: {}",
            blocked
                .iter()
                .map(|(i, why)| format!("pid {} of {}: {why}", i.pid, i.bot))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        fix: blocked
            .iter()
            .map(|(i, _)| {
                i.supervisor
                    .as_ref()
                    .map(|s| format!("{run_as}{}", s.stop))
                    .unwrap_or_default()
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(" && ")
            + &format!("   # then: {then}"),
    })
}

/// Runs each supervisor's stop once (loops: ends the shell). Returns what was done.
fn stop_supervisors(supervised: &[&Instance]) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let mut ran = BTreeSet::new();
    let me = nix::unistd::getuid().as_raw();
    let protected = local::ancestors();
    for i in supervised {
        let Some(s) = &i.supervisor else { continue };
        if !ran.insert(s.stop.clone()) {
            continue;
        }
        match &s.how {
            StopHow::Command { argv, .. } | StopHow::AsRoot { argv } if !argv.is_empty() => {
                let env: &[(String, String)] = match &s.how {
                    StopHow::Command { env, .. } => env,
                    _ => &[],
                };
                run_stop(argv, env)?;
                done.push(format!("{} {}: ran `{}`", s.kind, s.name, s.stop));
            }
            StopHow::Commands { argvs, .. } => {
                for argv in argvs.iter().filter(|a| !a.is_empty()) {
                    run_stop(argv, &[])?;
                }
                done.push(format!("{} {}: ran `{}`", s.kind, s.name, s.stop));
            }
            StopHow::EndParent { pid } => {
                // The shell or reloader is ours and no ancestor of botctl: signal it.
                let owner = proc::facts(Backend::native(), *pid).and_then(|f| f.uid);
                if protected.contains(pid) || owner.is_some_and(|u| u != me) {
                    done.push(format!("pid {pid} is not yours to end: left alone"));
                    continue;
                }
                if i.ppid != Some(*pid) && !is_ancestor(*pid, i.pid) {
                    continue; // it already went
                }
                match kill(Pid::from_raw(*pid as i32), Signal::SIGTERM) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => {
                        return Err(Error::StepFailed(format!(
                            "could not end pid {pid} ({} {}): {e}",
                            s.kind, s.name
                        )));
                    }
                }
                wait_gone(*pid);
                done.push(format!(
                    "{}: ended pid {pid} `{}`",
                    if s.kind == SupervisorKind::Loop {
                        "loop".to_string()
                    } else {
                        format!("reloader {}", s.name)
                    },
                    i.parent_cmd
                ));
            }
            _ => {}
        }
    }
    Ok(done)
}

fn run_stop(argv: &[String], env: &[(String, String)]) -> Result<()> {
    let program = exec::find_program(&argv[0], Path::new("/")).ok_or_else(|| {
        Error::StepFailed(format!(
            "{} is not installed (not on PATH); run: {}",
            argv[0],
            argv.join(" ")
        ))
    })?;
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = exec::run_with_env(&program, &args, &env, STOP_COMMAND_LIMIT)
        .map_err(|e| Error::StepFailed(format!("`{}`: {e}", argv.join(" "))))?;
    if !out.success() {
        let said = if out.stderr.trim().is_empty() {
            out.stdout.trim().lines().last().unwrap_or("").to_string()
        } else {
            out.error_line()
        };
        return Err(Error::StepFailed(format!(
            "`{}` failed: {said}",
            argv.join(" ")
        )));
    }
    Ok(())
}

/// Is `ancestor` still above `pid`?
fn is_ancestor(ancestor: u32, pid: u32) -> bool {
    let mut next = pid;
    for _ in 0..64 {
        match crate::sources::supervisor::read::parent_and_uid(next) {
            Some((ppid, _)) if ppid == ancestor => return true,
            Some((ppid, _)) if ppid > 1 => next = ppid,
            _ => return false,
        }
    }
    false
}

/// Waits briefly for an ended shell to go, so it starts no new copy in between.
fn wait_gone(pid: u32) {
    for _ in 0..40 {
        if proc::is_gone(Backend::native(), pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// "pid 5000 `python3 bot.py`, started by pid 4999 `python3 respawner.py`".
pub(super) fn came_back(i: &Instance) -> String {
    let mut s = format!("pid {} `{}`", i.pid, i.cmd);
    match (i.ppid, i.parent_cmd.is_empty()) {
        (Some(p), false) => s.push_str(&format!(", started by pid {p} `{}`", i.parent_cmd)),
        (Some(p), true) => s.push_str(&format!(", started by pid {p}")),
        (None, _) => {}
    }
    if let Some(sup) = &i.supervisor {
        s.push_str(&format!(
            " ({} {} keeps it alive; stop it with: {})",
            sup.kind, sup.name, sup.stop
        ));
    }
    s
}

pub(super) fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f32())
    }
}

pub(super) fn join(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// (the current user's instances, everyone else's and botctl's own ancestors)
fn find(ctx: &Context, bots: &[&Bot]) -> Result<(Vec<Instance>, Vec<Instance>)> {
    let found = local::scan(bots, &ctx.cfg.root).map_err(Error::StepFailed)?;
    let me = nix::unistd::getuid().as_raw();
    let protected = local::ancestors();
    Ok(found
        .into_iter()
        // A container is stopped through its engine, which answers this user: it is ours to stop.
        .partition(|i| (i.uid == Some(me) || i.container.is_some()) && !protected.contains(&i.pid)))
}

/// Signals each instance that is still the same process (pids get reused).
fn signal_all(instances: &[Instance], signal: Signal) -> Vec<Instance> {
    instances
        .iter()
        .filter(|i| local::still_same(i) && !is_zombie(i.pid))
        .filter(|i| match kill(Pid::from_raw(i.pid as i32), signal) {
            Ok(()) => true,
            Err(Errno::ESRCH) => false,
            Err(e) => {
                ui::note(format!("could not send {signal} to pid {}: {e}", i.pid));
                false
            }
        })
        .cloned()
        .collect()
}

fn alive(instances: &[Instance]) -> Vec<Instance> {
    instances
        .iter()
        .filter(|i| local::still_same(i) && !is_zombie(i.pid))
        .cloned()
        .collect()
}

/// A zombie has exited; its parent just has not reaped it yet.
fn is_zombie(pid: u32) -> bool {
    proc::facts(Backend::native(), pid).is_some_and(|f| f.zombie)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::supervisor::{Record, decide};

    fn instance(cgroup: &str) -> Instance {
        let chain = [Record {
            pid: 4242,
            ppid: 1,
            uid: Some(1000),
            argv: vec!["python3".into(), "bot.py".into()],
        }];
        Instance {
            bot: "partner".into(),
            pid: 4242,
            user: "dev".into(),
            uid: Some(1000),
            started: None,
            cwd: None,
            cmd: chain[0].argv.clone().into(),
            supervisor: decide(
                &crate::sources::supervisor::parse_cgroup(cgroup),
                &chain,
                &Default::default(),
            ),
            ppid: Some(1),
            parent_cmd: Default::default(),
            container: None,
        }
    }

    #[test]
    fn a_system_unit_without_root_is_a_refusal_naming_the_command() {
        let unit = instance("0::/system.slice/partner-bot.service\n");
        let err =
            refusal(std::slice::from_ref(&unit), false, "", "botctl dev-stop").expect("a refusal");
        assert_eq!(err.exit_code(), 1);
        let text = err.to_string();
        assert!(
            text.contains("systemd unit partner-bot.service needs root"),
            "{text}"
        );
        assert!(
            text.contains("fix: sudo systemctl stop partner-bot.service"),
            "{text}"
        );
        assert!(refusal(std::slice::from_ref(&unit), true, "", "botctl dev-stop").is_none());
        let plain = instance("0::/user.slice/user-1000.slice/session-3.scope\n");
        assert!(refusal(std::slice::from_ref(&plain), false, "", "botctl dev-stop").is_none());
        assert_eq!(
            plan_line(&plain, Duration::from_secs(10)),
            "partner pid 4242: SIGTERM, SIGKILL after 10s"
        );
    }

    #[test]
    fn a_launchd_job_of_the_system_domain_without_root_is_a_refusal() {
        use crate::sources::supervisor::{Answers, Cgroup, Need};
        let chain = [Record {
            pid: 4242,
            ppid: 1,
            uid: Some(0),
            argv: vec!["python3".into(), "bot.py".into()],
        }];
        let answers = Answers::from([(
            Need::LaunchdJob {
                pid: 4242,
                uid: Some(0),
            },
            Ok(crate::sources::supervisor::Answer {
                program: "launchctl".into(),
                text: "system\tcom.lb.partner".into(),
            }),
        )]);
        let mut job = instance("");
        job.supervisor = decide(&Cgroup::Other, &chain, &answers);
        let err =
            refusal(std::slice::from_ref(&job), false, "", "botctl dev-stop").expect("a refusal");
        let text = err.to_string();
        assert!(
            text.contains("launchd job com.lb.partner is in the system domain: it needs root"),
            "{text}"
        );
        assert!(
            text.contains("fix: sudo launchctl bootout system/com.lb.partner && sudo launchctl disable system/com.lb.partner"),
            "{text}"
        );
        assert!(refusal(std::slice::from_ref(&job), true, "", "botctl dev-stop").is_none());
    }
}
