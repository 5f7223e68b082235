//! `botctl dev-stop --host NAME`: dev-stop's steps on a `[[host]]` server, over ssh. The same
//! scan rules, plan, refusals and confirmation as on this machine; only the ssh user's own
//! processes are touched (others are listed, left alone), supervisors are stopped through
//! their stop command (never their daemon), then SIGTERM, grace, SIGKILL, the respawn watch and
//! a last scan that proves none is left.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Duration;

use super::Context;
use super::dev_stop::{came_back, human_duration, plan_line, refusal};
use super::steps::{Mode, Steps, wait_for};
use crate::config::{Bot, Host};
use crate::error::{Error, Result};
use crate::sources::host::{self, HostScan, Signal, sh_quote};
use crate::sources::local::Instance;
use crate::sources::supervisor::{StopHow, SupervisorKind};
use crate::ui;

pub fn run(
    ctx: &Context,
    host_name: &str,
    names: &[String],
    mode: Mode,
    grace: Duration,
) -> Result<i32> {
    let host = ctx.cfg.host(host_name)?;
    let bots = ctx.cfg.select(names)?;
    let bots: Vec<&Bot> = bots.into_iter().filter(|b| host.may_run(&b.name)).collect();
    if bots.is_empty() {
        return Err(Error::Usage(format!(
            "host {} runs none of these bots (its bots: {})",
            host.name,
            host.bots.join(", ")
        )));
    }
    let mut steps = Steps::new(
        &format!("dev-stop: stop the bots running on host {}", host.name),
        mode.is_dry_run(),
    );

    // 1. Find them there, and what keeps each alive.
    let mut step = steps.begin(&format!(
        "Find instances on host {} ({})",
        host.name, host.ssh
    ));
    let (scan, mine, others) = find(host, &bots).map_err(|e| step.fail(e))?;
    let describe = |i: &Instance| super::status::describe_host_instance(&host.name, i);
    let mut detail: Vec<String> = mine
        .iter()
        .map(|i| format!("{}: {}", i.bot, describe(i)))
        .collect();
    detail.extend(
        others
            .iter()
            .map(|i| format!("{}: {} — another user's: left alone", i.bot, describe(i))),
    );
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

    // 2. How each one will be stopped; a supervisor the ssh user cannot stop is a refusal.
    let mut step = steps.begin("Plan how each is stopped");
    let plan: Vec<String> = mine.iter().map(|i| plan_line(i, grace)).collect();
    let run_as = format!("ssh {} ", host.ssh);
    let then = format!("botctl dev-stop --host {}", host.name);
    if let Some(err) = refusal(&mine, scan.uid == 0, &run_as, &then) {
        return Err(step.fail(err));
    }
    step.done(plan.join("\n"));

    // 3. Confirm.
    let mut step = steps.begin("Confirm");
    if mode.is_dry_run() {
        step.would(format!(
            "stop them on host {} as planned in step 2",
            host.name
        ));
        return Ok(0);
    }
    mode.confirm(&format!(
        "Stop {} on host {} ({})?",
        if mine.len() == 1 {
            "this instance".to_string()
        } else {
            format!("these {} instances", mine.len())
        },
        host.name,
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
        let done = stop_supervisors(host, &scan, &supervised).map_err(|e| step.fail(e))?;
        step.done(done.join("\n"));
    }

    // 5. SIGTERM what is still running.
    let mut step = steps.begin("Send SIGTERM");
    let targets: Vec<(u32, Option<u64>)> = mine.iter().map(|i| (i.pid, i.started)).collect();
    let sent =
        host::signal(host, Signal::Term, &targets).map_err(|e| step.fail(Error::StepFailed(e)))?;
    step.done(if sent.is_empty() {
        "none left to signal".to_string()
    } else {
        format!("sent to pid {}", join(&sent))
    });

    // 6. Wait, then SIGKILL the rest.
    let mut step = steps.begin(&format!("Wait up to {}s for them to exit", grace.as_secs()));
    let gone = wait_for(
        "waiting for the bots to exit",
        grace,
        Duration::from_millis(300),
        || {
            let alive = host::signal(host, Signal::Check, &targets).map_err(Error::StepFailed)?;
            Ok(if alive.is_empty() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(format!("{} still running", alive.len()))
            })
        },
    )
    .map_err(|e| step.fail(e))?;
    if gone.is_some() {
        step.done("all exited");
    } else {
        let killed = host::signal(host, Signal::Kill, &targets)
            .map_err(|e| step.fail(Error::StepFailed(e)))?;
        let stubborn: Vec<(u32, Option<u64>)> = targets
            .iter()
            .filter(|(pid, _)| killed.contains(pid))
            .copied()
            .collect();
        wait_for(
            "waiting after SIGKILL",
            Duration::from_secs(5),
            Duration::from_millis(300),
            || {
                let alive =
                    host::signal(host, Signal::Check, &stubborn).map_err(Error::StepFailed)?;
                Ok(if alive.is_empty() {
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
            let (_, now, _) = find(host, &bots)?;
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
            "a copy came back on host {} after the stop: {}",
            host.name,
            back.iter().map(came_back).collect::<Vec<_>>().join("; ")
        ))));
    }
    let (_, left, _) = find(host, &bots).map_err(|e| step.fail(e))?;
    if !left.is_empty() {
        return Err(step.fail(Error::StepFailed(format!(
            "still running: {}",
            left.iter().map(describe).collect::<Vec<_>>().join("; ")
        ))));
    }
    step.done(format!(
        "no instance of your bots is left on host {}",
        host.name
    ));
    Ok(0)
}

/// (the scan, the ssh user's instances, everyone else's)
fn find(host: &Host, bots: &[&Bot]) -> Result<(HostScan, Vec<Instance>, Vec<Instance>)> {
    let scan = host::read(host, bots).map_err(Error::StepFailed)?;
    let (mine, others) = scan
        .instances
        .iter()
        .cloned()
        .partition(|i| i.uid == Some(scan.uid));
    Ok((scan, mine, others))
}

/// Runs each supervisor's stop once over ssh (loops: ends the shell, if it is still the one
/// seen and the ssh user's). Returns what was done.
fn stop_supervisors(host: &Host, scan: &HostScan, supervised: &[&Instance]) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let mut ran = BTreeSet::new();
    for i in supervised {
        let Some(s) = &i.supervisor else { continue };
        if !ran.insert(s.stop.clone()) {
            continue;
        }
        match &s.how {
            StopHow::Command { argv, env } => {
                let words: Vec<String> = env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .chain(argv.iter().cloned())
                    .collect();
                run_stop(host, &words, &s.stop)?;
                done.push(format!(
                    "{} {}: ran `{}` on {}",
                    s.kind, s.name, s.stop, host.name
                ));
            }
            StopHow::AsRoot { argv } => {
                run_stop(host, argv, &s.stop)?;
                done.push(format!(
                    "{} {}: ran `{}` on {}",
                    s.kind, s.name, s.stop, host.name
                ));
            }
            StopHow::EndParent { pid } => {
                let started = scan.started.get(pid).copied().flatten();
                let ended = host::signal(host, Signal::Term, &[(*pid, started)])
                    .map_err(Error::StepFailed)?;
                if ended.is_empty() {
                    done.push(format!(
                        "pid {pid} is gone or not the ssh user's: left alone"
                    ));
                    continue;
                }
                // Give the shell a moment to go, so it starts no new copy in between.
                let _ = wait_for(
                    "waiting for the supervisor to end",
                    Duration::from_secs(2),
                    Duration::from_millis(200),
                    || {
                        let alive = host::signal(host, Signal::Check, &[(*pid, started)])
                            .map_err(Error::StepFailed)?;
                        Ok(if alive.is_empty() {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue("still there".into())
                        })
                    },
                )?;
                done.push(format!(
                    "{}: ended pid {pid} `{}`",
                    if s.kind == SupervisorKind::Loop {
                        "loop".to_string()
                    } else {
                        format!("reloader {}", s.name)
                    },
                    ui::shown(&i.parent_cmd.join(" "))
                ));
            }
            StopHow::SignalBot | StopHow::Manual => {}
        }
    }
    Ok(done)
}

/// `words` run on the host through its login shell, each quoted.
fn run_stop(host: &Host, words: &[String], shown: &str) -> Result<()> {
    let quoted: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    let out = host::ssh(host, &quoted, "").map_err(Error::StepFailed)?;
    if !out.success() {
        let said = if out.stderr.trim().is_empty() {
            out.stdout.trim().lines().last().unwrap_or("").to_string()
        } else {
            out.error_line()
        };
        return Err(Error::StepFailed(format!(
            "`{shown}` failed on host {}: {}",
            host.name,
            ui::shown(&said)
        )));
    }
    Ok(())
}

fn join(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
