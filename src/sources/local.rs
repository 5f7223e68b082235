//! Local processes: which running processes are instances of a bot.
//!
//! The process table is read in two phases: the command line of every process (cheap), then
//! user, start time and working folder only for the few that match.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::argv::{self, base_name};
use super::supervisor::{self, Supervisor};
use crate::config::Bot;

#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    #[serde(skip)]
    pub bot: String,
    pub pid: u32,
    pub user: String,
    #[serde(skip)]
    pub uid: Option<u32>,
    /// Seconds since the epoch; shown as RFC 3339.
    #[serde(serialize_with = "crate::time::serialize_opt")]
    pub started: Option<u64>,
    pub cwd: Option<PathBuf>,
    pub cmd: crate::outside::Argv,
    /// What restarts it when it is killed (`null`: nothing).
    pub supervisor: Option<Supervisor>,
    /// The process that started it, and that process's command line.
    #[serde(skip)]
    pub ppid: Option<u32>,
    #[serde(skip)]
    pub parent_cmd: crate::outside::Argv,
}

/// One look at the process table: the instances, and the config files of running supervisord
/// daemons (their `[program:…]` entries can start a bot again).
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub instances: Vec<Instance>,
    pub supervisord_confs: Vec<String>,
}

/// One pass over the process table. Errors are sentences.
pub fn scan(bots: &[&Bot], root: &Path) -> Result<Vec<Instance>, String> {
    scan_full(bots, root).map(|s| s.instances)
}

/// [`scan`], also noting running supervisord daemons' config files.
pub fn scan_full(bots: &[&Bot], root: &Path) -> Result<Scan, String> {
    let me = std::process::id();
    let table = command_lines()?;
    let mut candidates: Vec<(u32, Vec<String>, &Bot, String)> = Vec::new();
    let mut supervisord_confs = Vec::new();
    for (pid, cmd) in &table {
        if *pid == me {
            continue;
        }
        if let Some((bot, arg)) = bot_of(cmd, bots) {
            candidates.push((*pid, cmd.clone(), bot, arg));
        } else if cmd.iter().take(2).any(|a| a.ends_with("supervisord"))
            && supervisor::is_supervisord(cmd)
        {
            supervisord_confs.extend(supervisord_conf_path(*pid, cmd));
        }
    }
    let instances = if candidates.is_empty() {
        Vec::new()
    } else {
        instances(candidates, &table, root)
    };
    Ok(Scan {
        instances,
        supervisord_confs,
    })
}

/// The rule of phase one, for this machine and for hosts alike: the bot whose instance `cmd`
/// is, and the argument naming its script or module. botctl itself is never one.
pub fn bot_of<'b>(cmd: &[String], bots: &[&'b Bot]) -> Option<(&'b Bot, String)> {
    if is_botctl(cmd) {
        return None;
    }
    bots.iter()
        .find_map(|b| argv::runs(cmd, &b.entry).map(|arg| (*b, arg)))
}

/// For a `script` holding a `/`, on another machine: the argument, seen from its working
/// folder, ends with that path (the project root there is unknown).
pub fn same_script_elsewhere(arg: &str, cwd: Option<&Path>, script: &str) -> bool {
    let arg = Path::new(arg);
    let resolved = match cwd {
        Some(cwd) if !arg.is_absolute() => normalize(&cwd.join(arg)),
        _ => normalize(arg),
    };
    resolved.ends_with(normalize(Path::new(script)))
}

/// The config file a running supervisord reads: its `-c` (made absolute against its working
/// folder), else the first of supervisord's default places that exists. Another user's `-c` is
/// theirs to name and not ours to read (a FIFO, `/dev/zero`, a file only root may see).
fn supervisord_conf_path(pid: u32, argv: &[String]) -> Option<String> {
    let owner = supervisor::read::parent_and_uid(pid).and_then(|(_, uid)| uid);
    let mine = owner == Some(nix::unistd::geteuid().as_raw());
    Some(match supervisor::supervisord_conf(argv) {
        Some(_) if !mine => return None,
        Some(c) if Path::new(&c).is_absolute() => c,
        Some(c) => std::fs::read_link(format!("/proc/{pid}/cwd"))
            .map(|cwd| cwd.join(&c).display().to_string())
            .unwrap_or(c),
        None => [
            "/etc/supervisor/supervisord.conf",
            "/etc/supervisord.conf",
            "/usr/local/etc/supervisord.conf",
        ]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("/etc/supervisord.conf")
        .to_string(),
    })
}

/// Phase two: details, then supervisors, of the processes whose command line matched.
fn instances(
    candidates: Vec<(u32, Vec<String>, &Bot, String)>,
    table: &[(u32, Vec<String>)],
    root: &Path,
) -> Vec<Instance> {
    let details = details(&candidates.iter().map(|c| c.0).collect::<Vec<_>>());
    let mut found = Vec::new();
    for (pid, cmd, bot, arg) in candidates {
        let Some(d) = details.iter().find(|d| d.pid == pid) else {
            continue; // exited between the two phases
        };
        if let Some(script) = bot.entry.script().filter(|s| s.contains('/'))
            && !same_script_path(&arg, d.cwd.as_deref(), script, root)
        {
            continue;
        }
        found.push(Instance {
            bot: bot.name.clone(),
            pid,
            user: d.user.clone(),
            uid: d.uid,
            started: d.started,
            cwd: d.cwd.clone(),
            cmd: cmd.into(),
            supervisor: None,
            ppid: None,
            parent_cmd: Default::default(),
        });
    }
    let mut found = one_per_wrapper(found, |pid| {
        details.iter().find(|d| d.pid == pid).and_then(|d| d.parent)
    });
    add_supervisors(&mut found, table);
    found
}

/// A wrapper and the child it runs the script in (tsx's CLI and its `node --import tsx`, a
/// bot that forks itself) are one copy: an instance whose parent is an instance of the same
/// bot is left out.
pub fn one_per_wrapper(found: Vec<Instance>, parent: impl Fn(u32) -> Option<u32>) -> Vec<Instance> {
    let copies: Vec<(u32, String)> = found.iter().map(|i| (i.pid, i.bot.clone())).collect();
    found
        .into_iter()
        .filter(|i| {
            parent(i.pid)
                .is_none_or(|p| !copies.iter().any(|(pid, bot)| *pid == p && *bot == i.bot))
        })
        .collect()
}

/// Names what keeps each instance alive: its cgroup and ancestors are read first, then the
/// few outside answers (pm2, supervisorctl, launchctl) those call for, each once.
fn add_supervisors(found: &mut [Instance], table: &[(u32, Vec<String>)]) {
    let argv_of = |pid: u32| {
        table
            .iter()
            .find(|(p, _)| *p == pid)
            .map(|(_, argv)| argv.clone())
    };
    let looks: Vec<(supervisor::Cgroup, Vec<supervisor::Record>)> = found
        .iter()
        .map(|i| {
            (
                supervisor::read::cgroup(i.pid),
                supervisor::read::chain(i.pid, argv_of),
            )
        })
        .collect();
    let answers = supervisor::read::answers(
        looks
            .iter()
            .flat_map(|(cgroup, chain)| supervisor::needs(cgroup, chain)),
    );
    for (instance, (cgroup, chain)) in found.iter_mut().zip(&looks) {
        supervise(instance, cgroup, chain, &answers);
    }
}

/// Names an instance's supervisor and parent from its records (read here or over ssh).
pub fn supervise(
    instance: &mut Instance,
    cgroup: &supervisor::Cgroup,
    chain: &[supervisor::Record],
    answers: &supervisor::Answers,
) {
    instance.supervisor = supervisor::decide(cgroup, chain, answers);
    if let Some(parent) = chain.get(1) {
        instance.ppid = Some(parent.pid);
        instance.parent_cmd = parent.argv.clone().into();
    } else if let Some(me) = chain.first() {
        instance.ppid = Some(me.ppid);
    }
}

/// Checks one pid again, as right before a signal: is it still this instance (same start time)?
pub fn still_same(instance: &Instance) -> bool {
    details(&[instance.pid])
        .first()
        .is_some_and(|d| d.started == instance.started && d.uid == instance.uid)
}

/// botctl's own pid and those of its ancestors: never signalled.
pub fn ancestors() -> Vec<u32> {
    let mut chain = Vec::new();
    let Ok(mut sys) = System::new() else {
        return vec![std::process::id()];
    };
    let mut pid = Some(Pid::from_u32(std::process::id()));
    while let Some(p) = pid {
        if chain.contains(&p.as_u32()) || p.as_u32() == 0 {
            break;
        }
        chain.push(p.as_u32());
        sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[p]),
            false,
            ProcessRefreshKind::nothing().without_tasks(),
        );
        pid = sys.process(p).and_then(|proc_| proc_.parent());
    }
    chain
}

struct Details {
    pid: u32,
    parent: Option<u32>,
    user: String,
    uid: Option<u32>,
    started: Option<u64>,
    cwd: Option<PathBuf>,
}

fn details(pids: &[u32]) -> Vec<Details> {
    let pids: Vec<Pid> = pids.iter().map(|p| Pid::from_u32(*p)).collect();
    let Ok(mut sys) = System::new() else {
        return Vec::new();
    };
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&pids),
        false,
        ProcessRefreshKind::nothing()
            .without_tasks()
            .with_user(UpdateKind::OnlyIfNotSet)
            .with_cwd(UpdateKind::OnlyIfNotSet),
    );
    pids.iter()
        .filter_map(|pid| sys.process(*pid))
        .map(|p| {
            let uid = p.user_id().map(|u| **u);
            let user = uid
                .and_then(|u| nix::unistd::User::from_uid(u.into()).ok().flatten())
                .map(|u| u.name)
                .or_else(|| uid.map(|u| u.to_string()))
                .unwrap_or_else(|| "?".into());
            Details {
                pid: p.pid().as_u32(),
                parent: p.parent().map(Pid::as_u32),
                user,
                uid,
                started: Some(p.start_time()).filter(|t| *t > 0),
                cwd: p.cwd().map(Path::to_path_buf),
            }
        })
        .collect()
}

/// Phase one: pid and argv of every process.
#[cfg(target_os = "linux")]
fn command_lines() -> Result<Vec<(u32, Vec<String>)>, String> {
    // Reading /proc/PID/cmdline directly costs less than half of what a general process
    // library spends here (see `cargo xtask bench`).
    let dir = std::fs::read_dir("/proc").map_err(|e| format!("cannot read /proc: {e}"))?;
    let mut out = Vec::new();
    let mut path = PathBuf::from("/proc");
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        path.push(&name);
        path.push("cmdline");
        if let Ok(bytes) = std::fs::read(&path) // the kernel's /proc/PID/cmdline
            && !bytes.is_empty()
        {
            let argv = bytes
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>();
            if !argv.is_empty() {
                out.push((pid, argv));
            }
        }
        path.pop();
        path.pop();
    }
    Ok(out)
}

#[cfg(not(target_os = "linux"))]
fn command_lines() -> Result<Vec<(u32, Vec<String>)>, String> {
    command_lines_sysinfo()
}

/// Phase one through sysinfo: macOS and the rest. Built everywhere so Linux tests it too.
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn command_lines_sysinfo() -> Result<Vec<(u32, Vec<String>)>, String> {
    let mut sys = System::new().map_err(|e| format!("cannot read the process table: {e}"))?;
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cmd(UpdateKind::OnlyIfNotSet),
    );
    Ok(sys
        .processes()
        .iter()
        .map(|(pid, p)| {
            let argv = p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            (pid.as_u32(), argv)
        })
        .filter(|(_, argv): &(u32, Vec<String>)| !argv.is_empty())
        .collect())
}

fn is_botctl(cmd: &[String]) -> bool {
    cmd.first().is_some_and(|a| base_name(a) == "botctl")
}

/// For a `script` holding a `/`: does `arg` (as seen from `cwd`) name root/script?
fn same_script_path(arg: &str, cwd: Option<&Path>, script: &str, root: &Path) -> bool {
    let wanted = normalize(&root.join(script));
    let arg_path = Path::new(arg);
    let resolved = if arg_path.is_absolute() {
        normalize(arg_path)
    } else if let Some(cwd) = cwd {
        normalize(&cwd.join(arg_path))
    } else {
        // Working folder unreadable (another user's process): compare what we can.
        return normalize(arg_path).ends_with(normalize(Path::new(script)));
    };
    resolved == wanted
        || std::fs::canonicalize(&resolved).ok() == std::fs::canonicalize(&wanted).ok()
            && resolved.exists()
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn a_child_of_an_instance_of_the_same_bot_is_the_same_copy() {
        let instance = |pid: u32, bot: &str| Instance {
            bot: bot.into(),
            pid,
            user: "dev".into(),
            uid: None,
            started: None,
            cwd: None,
            cmd: argv("node bot.js").into(),
            supervisor: None,
            ppid: None,
            parent_cmd: Default::default(),
        };
        let parents = |pid: u32| match pid {
            11 => Some(10), // tsx's node child
            21 => Some(20), // child of another bot's instance: its own copy
            _ => Some(1),
        };
        let kept = one_per_wrapper(
            vec![
                instance(10, "a"),
                instance(11, "a"),
                instance(20, "b"),
                instance(21, "a"),
                instance(30, "a"),
            ],
            parents,
        );
        let pids: Vec<u32> = kept.iter().map(|i| i.pid).collect();
        assert_eq!(pids, [10, 20, 21, 30]);
    }

    #[test]
    fn both_process_table_readers_see_this_test() {
        let me = std::process::id();
        let mine = |table: Vec<(u32, Vec<String>)>| {
            table
                .into_iter()
                .find(|(pid, _)| *pid == me)
                .map(|(_, argv)| argv)
        };
        let via_sysinfo = mine(command_lines_sysinfo().unwrap()).expect("sysinfo sees us");
        assert_eq!(Some(via_sysinfo), mine(command_lines().unwrap()));
    }

    #[test]
    fn script_paths() {
        let root = Path::new("/p");
        assert!(same_script_path(
            "bots/bot.py",
            Some(Path::new("/p")),
            "bots/bot.py",
            root
        ));
        assert!(same_script_path(
            "/p/bots/bot.py",
            None,
            "bots/bot.py",
            root
        ));
        assert!(same_script_path(
            "../bots/bot.py",
            Some(Path::new("/p/x")),
            "bots/bot.py",
            root
        ));
        assert!(!same_script_path(
            "bot.py",
            Some(Path::new("/q")),
            "bots/bot.py",
            root
        ));
    }
}
