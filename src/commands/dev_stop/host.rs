//! A `[[host]]` server as a dev-stop place (`botctl dev-stop --host NAME`), over ssh. The same
//! scan rules, plan, refusals and confirmation as on this machine; only the ssh user's own
//! processes are touched (others are listed, left alone), supervisors are stopped through
//! their stop command (never their daemon), and signals go through the host's fixed script,
//! which checks each process is still the one the scan saw.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Duration;

use super::failure::StopFailure;
use super::place::{Place, PlaceScan, Sig};
use super::supervisors::{RunsAs, refusal};
use crate::commands::steps::wait_for;
use crate::config::{Bot, Host};
use crate::error::{Error, Result};
use crate::fix::Fix;
use crate::model::Pid;
use crate::sources::host::{self, HostScan, Signal};
use crate::sources::local::BotProcess;
use crate::sources::supervisor::{StopHow, Supervisor, SupervisorKind};
use crate::sources::telegram::Tokens;
use crate::ui;

/// A `[[host]]` over ssh: the ssh user's processes, signalled through a fixed script that
/// checks pid, start time and owner first.
pub(super) struct RemoteHost<'a> {
    host: &'a Host,
    /// The project's tokens: they tell the bot's copies there.
    tokens: &'a Tokens,
    /// The last scan (the ssh user's uid, the start times of what the supervisors run).
    scan: Option<HostScan>,
}

impl<'a> RemoteHost<'a> {
    pub(super) fn new(host: &'a Host, tokens: &'a Tokens) -> Self {
        RemoteHost {
            host,
            tokens,
            scan: None,
        }
    }
}

impl RemoteHost<'_> {
    fn signal(&self, instances: &[BotProcess], signal: Signal) -> Result<Vec<Pid>> {
        let scan = self.scan.as_ref();
        let targets: Vec<&host::ScannedProcess> = instances
            .iter()
            .filter_map(|i| scan?.seen.get(&i.pid))
            .collect();
        host::signal(self.host, signal, &targets).map_err(Error::step)
    }
}

impl Place for RemoteHost<'_> {
    fn name(&self) -> String {
        format!("host {}", self.host.name)
    }
    fn on(&self) -> String {
        format!(" on host {}", self.host.name)
    }
    fn find_title(&self) -> String {
        format!(
            "Find instances on host {} ({})",
            self.host.name, self.host.ssh
        )
    }
    fn not_ours(&self) -> &'static str {
        "another user's"
    }
    fn poll(&self) -> Duration {
        Duration::from_millis(300)
    }
    fn find(&mut self, bots: &[&Bot]) -> Result<PlaceScan> {
        let scan = host::read(self.host, bots, self.tokens).map_err(Error::step)?;
        let (mine, others) = scan
            .instances
            .iter()
            .cloned()
            .partition(|i| i.uid == Some(scan.uid));
        let maybe = scan.maybe.clone();
        self.scan = Some(scan);
        Ok((mine, others, maybe))
    }
    fn describe(&self, i: &BotProcess) -> String {
        crate::ui::describe::on_host(&self.host.name, i)
    }
    fn refusal(&self, mine: &[BotProcess]) -> Option<Error> {
        // No scan: not known to be root.
        let runs_as = self
            .scan
            .as_ref()
            .map_or(RunsAs::User, |s| RunsAs::uid(s.uid));
        let then = Fix::run(&["botctl", "dev-stop", "--host", &self.host.name]);
        refusal(mine, runs_as, Some(&self.host.ssh), &then)
    }
    fn stop_supervisors(&self, supervised: &[&BotProcess]) -> Result<Vec<String>> {
        let Some(scan) = &self.scan else {
            return Ok(Vec::new());
        };
        stop_supervisors(self.host, scan, supervised)
    }
    fn send(&self, instances: &[BotProcess], sig: Sig) -> Result<Vec<Pid>> {
        self.signal(
            instances,
            match sig {
                Sig::Term => Signal::Term,
                Sig::Kill => Signal::Kill,
            },
        )
    }
    fn alive(&self, instances: &[BotProcess]) -> Result<Vec<Pid>> {
        self.signal(instances, Signal::Check)
    }
}

/// Runs each supervisor's stop once over ssh (loops: ends the shell, if it is still the one
/// seen and the ssh user's). Returns what was done.
fn stop_supervisors(
    host: &Host,
    scan: &HostScan,
    supervised: &[&BotProcess],
) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let mut ran: BTreeSet<Fix> = BTreeSet::new();
    for i in supervised {
        let Some(s) = &i.supervisor else { continue };
        if !ran.insert(s.stop()) {
            continue;
        }
        let commands: Vec<Vec<String>> = match &s.how {
            StopHow::Command { argv, env, .. } => vec![
                env.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .chain(argv.iter().cloned())
                    .collect(),
            ],
            // launchd's pair; hosts are Linux servers, so this is for completeness.
            StopHow::Commands { argvs, .. } => argvs.clone(),
            StopHow::AsRoot { argv } => vec![argv.clone()],
            StopHow::EndParent { pid, .. } => {
                done.push(end_parent(host, scan, i, s, *pid)?);
                continue;
            }
            StopHow::SignalBot { .. } | StopHow::Manual { .. } | StopHow::OtherUser { .. } => {
                continue;
            }
        };
        for words in &commands {
            run_stop(host, words, &s.stop().to_string())?;
        }
        done.push(format!(
            "{} {}: ran `{}` on {}",
            s.kind,
            s.name,
            s.stop(),
            host.name
        ));
    }
    Ok(done)
}

/// Ends a loop's shell or a reloader on the host, if it is still the one seen and the ssh
/// user's, and gives it a moment to go so that it starts no new copy in between.
fn end_parent(
    host: &Host,
    scan: &HostScan,
    i: &BotProcess,
    s: &Supervisor,
    pid: Pid,
) -> Result<String> {
    let Some(seen) = scan.seen.get(&pid) else {
        return Ok(format!(
            "pid {pid} was not seen on {}: left alone",
            host.name
        ));
    };
    let ended = host::signal(host, Signal::Term, &[seen]).map_err(Error::step)?;
    if ended.is_empty() {
        return Ok(format!(
            "pid {pid} is gone or not the ssh user's: left alone"
        ));
    }
    let _ = wait_for(
        "waiting for the supervisor to end",
        Duration::from_secs(2),
        Duration::from_millis(200),
        || {
            let alive = host::signal(host, Signal::Check, &[seen]).map_err(Error::step)?;
            Ok(if alive.is_empty() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue("still there".into())
            })
        },
    )?;
    Ok(format!(
        "{}: ended pid {pid} `{}`",
        if s.kind == SupervisorKind::Loop {
            "loop".to_string()
        } else {
            format!("reloader {}", s.name)
        },
        &i.parent_cmd
    ))
}

/// `words` run on the host through its login shell, each quoted.
fn run_stop(host: &Host, words: &[String], shown: &str) -> Result<()> {
    let quoted: Vec<String> = words.iter().map(|w| crate::shell::word(w)).collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    let out = host::ssh(host, &quoted, "").map_err(Error::step)?;
    if !out.success() {
        let said = out.said();
        return Err(Error::step(StopFailure::FailedOnHost {
            shown: shown.to_string(),
            host: host.name.clone(),
            said: ui::shown(&said).into_owned(),
        }));
    }
    Ok(())
}
