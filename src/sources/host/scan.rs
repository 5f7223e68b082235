//! The scan's output read by the local scan's own rules: its records, the command lines, and
//! each process's copy and supervisor.

use std::collections::HashMap;
use std::path::PathBuf;

use super::autostart::autostart;
use super::sections::{Section, Sections};
use super::{HostScan, ScanProblem, ScannedProcess, hex_of};
use crate::config::Bot;
use crate::model::{BotName, Pid, ProcessIdentity, Uid};
use crate::sources::identity::{self, Wanted, Whose};
use crate::sources::local::{self, BotProcess, Maybe};
use crate::sources::proc;
use crate::sources::supervisor::{self, Answer, Answers, Cgroup, Need, ProcessRecord, Unanswered};

pub(super) const MAGIC: &str = "botctl-host-1";

/// One process as the server printed it.
#[derive(Debug, Clone)]
struct Proc {
    pid: Pid,
    ppid: Pid,
    uid: Option<Uid>,
    started: Option<jiff::Timestamp>,
    cwd: Option<PathBuf>,
    cgroup: String,
    argv: Vec<String>,
}

/// The end of the scan's output: what follows the argv blob.
pub(super) const TRAILER: &str = "\0\u{1e}botctl-end\u{1e}\0";

/// The scan's output, matched by the local rules; `wanted`: each bot's token variable and the
/// SHA-256 of its token.
pub fn parse(
    text: &str,
    bots: &[&Bot],
    wanted: &HashMap<BotName, Wanted>,
) -> Result<HostScan, ScanProblem> {
    if !text.starts_with(MAGIC) {
        let start = crate::redact::cut(text, 120, 0);
        return Err(ScanProblem::NotTheScan { start });
    }
    let Some(text) = text.strip_suffix(TRAILER) else {
        return Err(ScanProblem::CutShort);
    };
    // NUL-separated fields up to `argv`; after it, `head`'s output of every cmdline.
    let mut rest = text;
    let mut next = || -> Option<&str> {
        let (field, after) = rest.split_once('\0')?;
        rest = after;
        Some(field)
    };
    next(); // the magic
    let uid: Uid = next()
        .and_then(|u| u.parse().ok())
        .ok_or(ScanProblem::NoUid)?;
    let home = next().unwrap_or("").to_string();
    let btime: u64 = next().and_then(|b| b.parse().ok()).unwrap_or(0);
    let tck: u64 = next()
        .and_then(|t| t.parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(100);

    let mut sections = Sections::new();
    let mut procs: Vec<Proc> = Vec::new();
    let mut tokens = TokensSeen::new();
    loop {
        match next() {
            Some("t") => {
                let pid = next().and_then(|p| p.parse::<Pid>().ok());
                let var = next().unwrap_or("").to_string();
                let place = next().unwrap_or("").to_string();
                let result = next().unwrap_or("");
                if let Some(pid) = pid {
                    tokens.insert((pid, var, place), token_seen(result));
                }
            }
            Some("s") => {
                let name = Section::parse(next().unwrap_or(""));
                let status = next().and_then(|s| s.parse().ok()).unwrap_or(-1);
                let text = next().unwrap_or("").to_string();
                // A section this botctl does not know (a newer scan) is not read.
                if let Some(name) = name {
                    sections.insert(name, (status, text));
                }
            }
            Some("p") => {
                let pid = next().and_then(|p| p.parse::<Pid>().ok());
                let stat = next().unwrap_or("");
                let uid = next().and_then(|u| u.parse().ok());
                let cwd = next().filter(|c| !c.is_empty()).map(PathBuf::from);
                let cgroup = next().unwrap_or("").to_string();
                let (Some(pid), Some((ppid, ticks))) = (pid, ppid_and_ticks(stat)) else {
                    continue;
                };
                procs.push(Proc {
                    pid,
                    ppid,
                    uid,
                    started: (btime > 0)
                        .then(|| crate::time::from_unix(btime + ticks / tck))
                        .flatten(),
                    cwd,
                    cgroup,
                    argv: Vec::new(),
                });
            }
            Some("argv") => break,
            _ => return Err(ScanProblem::NotWhatBotctlPrinted),
        }
    }
    let cmdlines = cmdlines(rest)?;
    for p in &mut procs {
        if let Some(cmdline) = cmdlines.get(&p.pid) {
            p.argv = cmdline
                .split('\0')
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect();
        }
    }
    // A process that exited before its argv was read is no instance of anything.
    procs.retain(|p| !p.argv.is_empty());
    let users = users(sections.get(&Section::Passwd).map_or("", |(_, t)| t));
    let (instances, maybe) = instances(
        &procs,
        bots,
        &users,
        &home,
        &sections,
        uid,
        |bot| wanted.get(bot),
        &tokens,
    );
    Ok(HostScan {
        instances,
        maybe,
        autostart: autostart(&sections, bots),
        uid,
        seen: procs
            .iter()
            .map(|p| {
                let cmdline = cmdlines.get(&p.pid).map_or("", |c| c.as_str());
                let seen = ScannedProcess {
                    identity: ProcessIdentity {
                        pid: p.pid,
                        started: p.started,
                    },
                    cmdline_hex: hex_of(cmdline),
                };
                (p.pid, seen)
            })
            .collect(),
    })
}

/// Each command line (NUL-separated, as in /proc) by pid from `head -c N /proc/*/cmdline`
/// output: each file after a `==> /proc/PID/cmdline <==` line (and, after the first, a blank
/// line). `head` names each file once, so a pid named twice is a header forged inside another
/// user's argv to make one process look like another: the whole answer is refused.
fn cmdlines(blob: &str) -> Result<HashMap<Pid, String>, ScanProblem> {
    let blob = format!("\n{blob}");
    let mut out = HashMap::new();
    for chunk in blob.split("\n==> ").skip(1) {
        let Some((name, content)) = chunk.split_once(" <==\n") else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix("/proc/")
            .and_then(|n| n.strip_suffix("/cmdline"))
            .and_then(|n| n.parse::<Pid>().ok())
        else {
            continue;
        };
        if out.insert(pid, content.to_string()).is_some() {
            return Err(ScanProblem::Tampered { pid });
        }
    }
    Ok(out)
}

/// What scan.sh read of each (pid, token variable, `env` or `dotenv`).
type TokensSeen = HashMap<(Pid, String, String), identity::Seen>;

/// One of scan.sh's token results: `h:SHA256`, `absent`, `unreadable`, `nohash`.
fn token_seen(result: &str) -> identity::Seen {
    match result {
        "absent" => identity::Seen::Absent,
        "nohash" => identity::Seen::Unknown(
            "the host has no sha256sum, shasum or openssl to hash its token with".into(),
        ),
        r => match r.strip_prefix("h:") {
            Some(h) if h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()) => {
                identity::Seen::Hash(h.to_ascii_lowercase())
            }
            _ => identity::Seen::Unknown("its token variable could not be read there".into()),
        },
    }
}

/// (ppid, start time in the host's clock ticks after boot) from its `/proc/PID/stat`.
fn ppid_and_ticks(stat: &str) -> Option<(Pid, u64)> {
    let stat = proc::parse_stat(stat)?;
    Some((stat.ppid, stat.start_ticks?))
}

fn users(passwd: &str) -> HashMap<Uid, String> {
    passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn instances<'w>(
    procs: &[Proc],
    bots: &[&Bot],
    users: &HashMap<Uid, String>,
    home: &str,
    sections: &Sections,
    ssh_uid: Uid,
    wanted: impl Fn(&BotName) -> Option<&'w Wanted>,
    tokens: &TokensSeen,
) -> (Vec<BotProcess>, Vec<Maybe>) {
    let by_pid: HashMap<Pid, &Proc> = procs.iter().map(|p| (p.pid, p)).collect();
    let mut found = Vec::new();
    let mut maybe = Vec::new();
    for p in procs {
        let Some((bot, arg)) = local::bot_of(&p.argv, bots) else {
            continue;
        };
        if let Some(script) = bot.entry.script().filter(|s| s.contains('/'))
            && !local::same_script_elsewhere(&arg, p.cwd.as_deref(), script)
        {
            continue;
        }
        let instance = BotProcess {
            bot: bot.name.clone(),
            pid: p.pid,
            user: p
                .uid
                .map(|u| users.get(&u).cloned().unwrap_or_else(|| u.to_string()))
                .unwrap_or_else(|| "?".into())
                .into(),
            uid: p.uid,
            started: p.started,
            cwd: p.cwd.clone(),
            cmd: p.argv.clone().into(),
            supervisor: None,
            ppid: None,
            parent_cmd: Default::default(),
            container: None,
        };
        // The project's folder there is unknown: only the token tells.
        let read = |place: &str, var: &str| {
            tokens
                .get(&(p.pid, var.to_string(), place.to_string()))
                .cloned()
                .unwrap_or_else(|| {
                    identity::Seen::Unknown(
                        "the host's scan did not read its token variable".into(),
                    )
                })
        };
        let copy = identity::decide(
            identity::Folder::Elsewhere,
            identity::ProcessUser::of(p.uid, ssh_uid),
            wanted(&bot.name).unwrap_or(&Wanted::default()),
            |var| read("env", var),
            |var| read("dotenv", var),
        );
        match copy {
            Whose::This => found.push(instance),
            Whose::Other => {}
            Whose::Maybe(why) => maybe.push(Maybe { instance, why }),
        }
    }
    let parent = |pid: Pid| by_pid.get(&pid).map(|p| p.ppid);
    let found = local::one_per_wrapper(found, parent);
    let mut maybe = local::one_per_wrapper_maybe(maybe, parent);
    // The maybes' supervisors too, read the same way.
    let n = found.len();
    let mut found: Vec<BotProcess> = found
        .into_iter()
        .chain(maybe.iter().map(|m| m.instance.clone()))
        .collect();
    let looks: Vec<(Cgroup, Vec<ProcessRecord>)> = found
        .iter()
        .map(|i| {
            let cgroup = by_pid
                .get(&i.pid)
                .map_or(Cgroup::Other, |p| supervisor::parse_cgroup(&p.cgroup));
            (cgroup, chain(i.pid, &by_pid))
        })
        .collect();
    let answers: Answers = looks
        .iter()
        .flat_map(|(cgroup, chain)| supervisor::needs(cgroup, chain))
        .map(|need| {
            let answer = answer(&need, home, sections);
            (need, answer)
        })
        .collect();
    for (instance, (cgroup, chain)) in found.iter_mut().zip(&looks) {
        local::supervise(instance, cgroup, chain, &answers);
    }
    for (m, i) in maybe.iter_mut().zip(found.split_off(n)) {
        m.instance = i;
    }
    (found, maybe)
}

/// The instance and its ancestors up to (not including) pid 1.
fn chain(pid: Pid, by_pid: &HashMap<Pid, &Proc>) -> Vec<ProcessRecord> {
    let mut out: Vec<ProcessRecord> = Vec::new();
    let mut next = pid;
    while next > Pid::INIT && out.len() < 64 && !out.iter().any(|r| r.pid == next) {
        let Some(p) = by_pid.get(&next) else { break };
        out.push(ProcessRecord {
            pid: p.pid,
            ppid: p.ppid,
            uid: p.uid,
            argv: p.argv.clone(),
        });
        next = p.ppid;
    }
    out
}

/// What the scan brought back for a need: pm2's list of the ssh user's own daemon and
/// supervisorctl's status; the rest would cost a second round trip.
fn answer(need: &Need, home: &str, sections: &Sections) -> Result<Answer, Unanswered> {
    let section = |name: Section, program: &str, ok: &[i32]| match sections.get(&name) {
        Some((status, text)) if ok.contains(status) => Ok(Answer {
            program: program.to_string(),
            text: text.clone(),
        }),
        Some((_, text)) => Err(Unanswered::SaidOnHost(
            text.lines().last().unwrap_or("failed").to_string(),
        )),
        None => Err(Unanswered::NotReadOnHost {
            program: program.to_string(),
        }),
    };
    match need {
        Need::Pm2List { home: h, .. } if *h == format!("{home}/.pm2") => {
            section(Section::Pm2, "pm2", &[0])
        }
        Need::Pm2List { home, .. } => Err(Unanswered::ForeignPm2Home {
            home: home.clone(),
            over_ssh: true,
        }),
        // Exit status 3 means "a program is not running": the list is still there.
        Need::SupervisorStatus { .. } => section(Section::Supervisorctl, "supervisorctl", &[0, 3]),
        other => Err(Unanswered::NotOverSsh(other.clone())),
    }
}
