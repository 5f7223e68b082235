//! This machine as a dev-stop place: the current user's processes (never botctl or its
//! ancestors), its supervisors stopped through their own commands, and signals sent through
//! the process facts module, only to a process that is still the one the scan saw.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::failure::StopFailure;
use super::place::{Place, PlaceScan, Sig};
use super::supervisors::{RunsAs, refusal};
use crate::commands::Context;
use crate::config::Bot;
use crate::error::{Error, Result};
use crate::fix::Fix;
use crate::model::{Pid, ProcessIdentity, Uid};
use crate::process;
use crate::sources::local::{self, BotProcess};
use crate::sources::proc::{self, Backend};
use crate::sources::supervisor::{StopHow, SupervisorKind};
use crate::ui;

/// Time limit of one supervisor's stop command (supervisorctl and pm2 wait for the program).
const STOP_COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// This machine: the current user's processes, never botctl or its ancestors.
pub(super) struct ThisMachine<'a> {
    ctx: &'a Context,
}

impl<'a> ThisMachine<'a> {
    pub(super) fn new(ctx: &'a Context) -> Self {
        ThisMachine { ctx }
    }
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
    fn find(&mut self, bots: &[&Bot]) -> Result<PlaceScan> {
        find(self.ctx, bots)
    }
    fn describe(&self, i: &BotProcess) -> String {
        crate::ui::describe::instance(i)
    }
    fn refusal(&self, mine: &[BotProcess]) -> Option<Error> {
        refusal(
            mine,
            RunsAs::uid(Uid(nix::unistd::geteuid().as_raw())),
            None,
            &Fix::run(&["botctl", "dev-stop"]),
        )
    }
    fn stop_supervisors(&self, supervised: &[&BotProcess]) -> Result<Vec<String>> {
        stop_supervisors(supervised)
    }
    fn send(&self, instances: &[BotProcess], sig: Sig) -> Result<Vec<Pid>> {
        let signal = match sig {
            Sig::Term => Signal::SIGTERM,
            Sig::Kill => Signal::SIGKILL,
        };
        Ok(signal_all(instances, signal)
            .iter()
            .map(|i| i.pid)
            .collect())
    }
    fn alive(&self, instances: &[BotProcess]) -> Result<Vec<Pid>> {
        Ok(alive(instances).iter().map(|i| i.pid).collect())
    }
}

/// Runs each supervisor's stop once (loops: ends the shell). Returns what was done.
fn stop_supervisors(supervised: &[&BotProcess]) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let mut ran: BTreeSet<Fix> = BTreeSet::new();
    let me = Uid::own();
    let protected = local::ancestors();
    for i in supervised {
        let Some(s) = &i.supervisor else { continue };
        if !ran.insert(s.stop()) {
            continue;
        }
        match &s.how {
            StopHow::Command { argv, .. } | StopHow::AsRoot { argv } if !argv.is_empty() => {
                let env: &[(String, String)] = match &s.how {
                    StopHow::Command { env, .. } => env,
                    _ => &[],
                };
                run_stop(argv, env)?;
                done.push(format!("{} {}: ran `{}`", s.kind, s.name, s.stop()));
            }
            StopHow::Commands { argvs, .. } => {
                for argv in argvs.iter().filter(|a| !a.is_empty()) {
                    run_stop(argv, &[])?;
                }
                done.push(format!("{} {}: ran `{}`", s.kind, s.name, s.stop()));
            }
            StopHow::EndParent { pid, .. } => {
                // The shell or reloader is ours and no ancestor of botctl: signal it.
                let parent = proc::facts(Backend::native(), *pid);
                let owner = parent.as_ref().and_then(|f| f.uid);
                if protected.contains(pid) || owner.is_some_and(|u| u != me) {
                    done.push(format!("pid {pid} is not yours to end: left alone"));
                    continue;
                }
                if i.ppid != Some(*pid) && !proc::is_ancestor(Backend::native(), *pid, i.pid) {
                    continue; // it already went
                }
                let seen = ProcessIdentity {
                    pid: *pid,
                    started: parent.and_then(|f| f.started),
                };
                // Not sent (it went, or exited) is as good as ended.
                if let Err(source) = proc::signal_if_same(seen, owner, Signal::SIGTERM) {
                    return Err(Error::step(StopFailure::ParentNotEnded {
                        pid: *pid,
                        kind: s.kind,
                        name: s.name.to_string(),
                        source,
                    }));
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
    let program = process::find_program(&argv[0], Path::new("/")).ok_or_else(|| {
        Error::step(StopFailure::NotInstalled {
            argv: argv.to_vec(),
        })
    })?;
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out =
        process::run_with_env(&program, &args, &env, STOP_COMMAND_LIMIT).map_err(|source| {
            Error::step(StopFailure::NotRun {
                argv: argv.to_vec(),
                source,
            })
        })?;
    if !out.success() {
        return Err(Error::step(StopFailure::CommandFailed {
            argv: argv.to_vec(),
            said: out.said(),
        }));
    }
    Ok(())
}

/// Waits briefly for an ended shell to go, so it starts no new copy in between.
fn wait_gone(pid: Pid) {
    for _ in 0..40 {
        if proc::is_gone(Backend::native(), pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (the current user's instances, everyone else's and botctl's own ancestors, the copies that
/// cannot be told)
fn find(ctx: &Context, bots: &[&Bot]) -> Result<PlaceScan> {
    let scan = local::scan_full(bots, &ctx.cfg.root, &ctx.tokens).map_err(Error::step)?;
    let me = Uid::own();
    let protected = local::ancestors();
    let (mine, others) = scan
        .instances
        .into_iter()
        // A container is stopped through its engine, which answers this user: it is ours to stop.
        .partition(|i| (i.uid == Some(me) || i.container.is_some()) && !protected.contains(&i.pid));
    Ok((mine, others, scan.maybe))
}

/// Signals each instance that is still the same process (pids get reused) and has not exited.
/// A container's never: the engine stops it (its pid may be in the engine's VM).
fn signal_all(instances: &[BotProcess], signal: Signal) -> Vec<BotProcess> {
    instances
        .iter()
        .filter(|i| i.container.is_none())
        .filter(
            |i| match proc::signal_if_same(i.identity(), i.uid, signal) {
                Ok(sent) => sent,
                Err(e) => {
                    ui::note(format!("could not send {signal} to pid {}: {e}", i.pid));
                    false
                }
            },
        )
        .cloned()
        .collect()
}

/// Those still running: the same process as seen, not exited (a container's never counts:
/// its engine stops it).
fn alive(instances: &[BotProcess]) -> Vec<BotProcess> {
    instances
        .iter()
        .filter(|i| {
            i.container.is_none() && proc::still_running(Backend::native(), i.identity(), i.uid)
        })
        .cloned()
        .collect()
}
