//! Other hosts (`[[host]]`): the processes, supervisors and autostart entries of a server, read
//! with one ssh round trip. The server only prints records (`scan.sh`); they are matched here
//! by the local scan's own rules (`local::bot_of`, `local::one_per_wrapper`,
//! `supervisor::decide`, `identity::decide`): one set of rules, two readers. Whose copy a
//! process is, there, is told by the SHA-256 of its token variable, computed on the host.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::{Bot, Host};
use crate::model::{BotName, Pid, ProcessIdentity, SystemdManager, Uid};
use crate::process::{self, ExecError, Output};
use crate::sources::autostart::{self, Autostart, AutostartEntry, Source, Unchecked};
use crate::sources::identity::{self, Wanted, Whose};
use crate::sources::local::{self, Instance, Maybe};
use crate::sources::proc;
use crate::sources::supervisor::{self, Answer, Answers, Cgroup, Need, ProcessRecord, Unanswered};

/// The script `sh -s` runs there: fixed text, nothing of botctl's environment in it.
const SCAN: &str = include_str!("scan.sh");
const MAGIC: &str = "botctl-host-1";
/// dev-stop's script: signals (or only checks) the listed processes that are still the ones
/// botctl saw and belong to the ssh user.
const SIGNAL: &str = include_str!("signal.sh");

/// What [`signal`] does to each process that is still the one botctl saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    /// Only say whether it still runs.
    Check,
}

/// A process as the scan saw it: signal.sh signals it only while pid, start time, owner and
/// command line are all still these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its pid and start time (seconds since the epoch, as the scan computed it).
    pub identity: ProcessIdentity,
    /// The first bytes of `/proc/PID/cmdline`, hex (what `od -An -tx1` prints).
    pub cmdline_hex: String,
}

/// How much of a command line signal.sh compares.
const CMDLINE_COMPARED: usize = 4096;

fn hex_of(cmdline: &str) -> String {
    use std::fmt::Write;
    let bytes = cmdline.as_bytes();
    let mut out = String::with_capacity(2 * bytes.len().min(CMDLINE_COMPARED));
    for b in bytes.iter().take(CMDLINE_COMPARED) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Sends `signal` to each process on the host that is still the one seen, is the ssh user's
/// and has not exited; returns those pids (with `Check`: the ones still running).
pub fn signal(host: &Host, signal: Signal, targets: &[&Seen]) -> Result<Vec<Pid>, String> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut remote = vec![
        "sh".to_string(),
        "-s".into(),
        "--".into(),
        match signal {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
            Signal::Check => "CHECK",
        }
        .into(),
    ];
    remote.extend(targets.iter().map(|seen| {
        format!(
            "{}:{}:{}",
            seen.identity.pid,
            seen.identity.started.map_or(-1, |s| s as i64),
            seen.cmdline_hex
        )
    }));
    let remote: Vec<&str> = remote.iter().map(String::as_str).collect();
    let out = ssh(host, &remote, SIGNAL)?;
    if !out.success() {
        return Err(format!(
            "signalling on {} failed ({}): {}",
            host.name,
            status_words(&out),
            out.error_line()
        ));
    }
    Ok(out
        .stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect())
}

/// One look at a host.
#[derive(Debug, Clone, Default)]
pub struct HostScan {
    pub instances: Vec<Instance>,
    /// Processes there that run a bot's entry and cannot be told to be this project's copy.
    pub maybe: Vec<Maybe>,
    pub autostart: Autostart,
    /// The uid botctl logs in as there: dev-stop touches that user's processes only.
    pub uid: Uid,
    /// Every process there as it was seen, by pid: dev-stop signals a pid only while it is
    /// still the process it saw.
    pub seen: HashMap<Pid, Seen>,
}

/// One process as the server printed it.
#[derive(Debug, Clone)]
struct Proc {
    pid: Pid,
    ppid: Pid,
    uid: Option<Uid>,
    started: Option<u64>,
    cwd: Option<PathBuf>,
    cgroup: String,
    argv: Vec<String>,
}

/// Reads `host` for these bots (those it may run); `root`: the project, whose token each bot's
/// copies there are told by.
pub fn read(host: &Host, bots: &[&Bot], root: &Path) -> Result<HostScan, String> {
    let bots: Vec<&Bot> = bots
        .iter()
        .filter(|b| host.may_run(&b.name))
        .copied()
        .collect();
    let wanted = identity::wanted(&bots, root);
    let args = scan_args(&bots);
    let mut remote = vec!["sh", "-s", "--"];
    remote.extend(args.iter().map(String::as_str));
    let out = ssh(host, &remote, SCAN)?;
    if !out.success() {
        return Err(format!(
            "the scan failed on {} ({}): {}",
            host.name,
            status_words(&out),
            out.error_line()
        ));
    }
    parse(&out.stdout, &bots, &wanted).map_err(|e| format!("{}: {e}", host.name))
}

/// scan.sh's arguments, quoted for the login shell: how many token variables, the variables,
/// then the names that mark a process as a candidate (scripts' file names, modules).
fn scan_args(bots: &[&Bot]) -> Vec<String> {
    let mut vars: Vec<&str> = bots
        .iter()
        .filter_map(|b| b.token_env.as_deref())
        // config checks them; only a plain name goes into the script's sed pattern
        .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    vars.sort();
    vars.dedup();
    let mut names: Vec<&str> = bots
        .iter()
        .map(|b| match &b.entry {
            crate::model::Entry::Script(script) => crate::sources::argv::base_name(script),
            crate::model::Entry::Module(module) => module.as_str(),
        })
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    let mut args = vec![vars.len().to_string()];
    args.extend(vars.iter().chain(&names).map(|w| sh_quote(w)));
    args
}

/// Runs `remote` on the host (ssh joins it into one command line for the login shell there)
/// with `input` on its stdin, within the host's timeout. Errors are ssh's own words.
pub fn ssh(host: &Host, remote: &[&str], input: &str) -> Result<Output, String> {
    let program = process::find_program("ssh", Path::new("/"))
        .ok_or("ssh is not installed (not on PATH)".to_string())?;
    let args = ssh_args(host, remote);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = process::run_with_input(&program, &args, input, &token_vars(), host.timeout)
        .map_err(|e| match e {
            ExecError::TimedOut { after, .. } => format!(
                "ssh {} did not answer within {}s (timeout of host {})",
                host.ssh,
                after.as_secs_f32().round(),
                host.name
            ),
            other => other.to_string(),
        })?;
    // ssh's own failures (unreachable, refused key, unknown host) exit 255.
    if out.code == Some(255) {
        return Err(format!("ssh {}: {}", host.ssh, out.error_line()));
    }
    Ok(out)
}

/// `ssh -o BatchMode=yes -o ConnectTimeout=N [options] DEST remote…`.
pub fn ssh_args(host: &Host, remote: &[&str]) -> Vec<String> {
    let mut args = vec![
        "-o".to_string(),
        "BatchMode=yes".into(),
        "-o".into(),
        format!("ConnectTimeout={}", host.timeout.as_secs().max(1)),
    ];
    args.extend(host.options.iter().cloned());
    args.push(host.ssh.clone());
    args.extend(remote.iter().map(|s| s.to_string()));
    args
}

/// Variables holding something that looks like a bot token: kept from ssh, which can send
/// variables to the server (`SendEnv`).
fn token_vars() -> Vec<String> {
    std::env::vars_os()
        .filter(|(_, v)| crate::redact::find_token(&v.to_string_lossy()).is_some())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect()
}

fn status_words(out: &Output) -> String {
    match out.code {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".into(),
    }
}

/// A word quoted for the remote login shell (ssh joins its arguments with spaces).
pub fn sh_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The end of the scan's output: what follows the argv blob.
const TRAILER: &str = "\0\u{1e}botctl-end\u{1e}\0";

/// The scan's output, matched by the local rules; `wanted`: each bot's token variable and the
/// SHA-256 of its token.
pub fn parse(
    text: &str,
    bots: &[&Bot],
    wanted: &HashMap<BotName, Wanted>,
) -> Result<HostScan, String> {
    if !text.starts_with(MAGIC) {
        let start = crate::redact::cut(text, 120, 0);
        return Err(format!(
            "the server did not run botctl's scan (it printed {start:?}); does the login \
shell run `sh -s`?"
        ));
    }
    let Some(text) = text.strip_suffix(TRAILER) else {
        return Err("the scan's output was cut short".into());
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
        .ok_or("the scan printed no uid")?;
    let home = next().unwrap_or("").to_string();
    let btime: u64 = next().and_then(|b| b.parse().ok()).unwrap_or(0);
    let tck: u64 = next()
        .and_then(|t| t.parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(100);

    let mut sections = Sections::new();
    let mut procs: Vec<Proc> = Vec::new();
    let mut tokens = Tokens::new();
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
                    started: (btime > 0).then(|| btime + ticks / tck),
                    cwd,
                    cgroup,
                    argv: Vec::new(),
                });
            }
            Some("argv") => break,
            _ => return Err("the scan's output is not what botctl printed".into()),
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
                let seen = Seen {
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
fn cmdlines(blob: &str) -> Result<HashMap<Pid, String>, String> {
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
            return Err(format!(
                "the scan's answer was tampered with: process {pid} is named twice in the list \
of command lines (a process's arguments imitate botctl's records); not trusting this host's \
answer"
            ));
        }
    }
    Ok(out)
}

/// What scan.sh read of each (pid, token variable, `env` or `dotenv`).
type Tokens = HashMap<(Pid, String, String), identity::Seen>;

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

/// A part of the scan's output, by the name scan.sh gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Section {
    Passwd,
    Crontab,
    Systemd,
    SystemdUser,
    Pm2,
    Pm2Dump,
    Supervisorctl,
    /// One of supervisord's config files, by its path.
    SupervisordConf(String),
}

impl Section {
    fn parse(name: &str) -> Option<Section> {
        Some(match name {
            "passwd" => Section::Passwd,
            "crontab" => Section::Crontab,
            "systemd" => Section::Systemd,
            "systemd-user" => Section::SystemdUser,
            "pm2" => Section::Pm2,
            "pm2-dump" => Section::Pm2Dump,
            "supervisorctl" => Section::Supervisorctl,
            _ => Section::SupervisordConf(name.strip_prefix("supervisord-conf:")?.to_string()),
        })
    }
}

/// Each section with the exit status of its program and what it printed.
type Sections = HashMap<Section, (i32, String)>;

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
    tokens: &Tokens,
) -> (Vec<Instance>, Vec<Maybe>) {
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
        let instance = Instance {
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
            false,
            p.uid == Some(ssh_uid),
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
    let mut found: Vec<Instance> = found
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
            let answer = answer(&need, home, sections).map_err(Unanswered::Failed);
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
fn answer(need: &Need, home: &str, sections: &Sections) -> Result<Answer, String> {
    let section = |name: Section, program: &str, ok: &[i32]| match sections.get(&name) {
        Some((status, text)) if ok.contains(status) => Ok(Answer {
            program: program.to_string(),
            text: text.clone(),
        }),
        Some((_, text)) => Err(text.lines().last().unwrap_or("failed").to_string()),
        None => Err(format!("{program} was not read on the host")),
    };
    match need {
        Need::Pm2List { home: h, .. } if *h == format!("{home}/.pm2") => {
            section(Section::Pm2, "pm2", &[0])
        }
        Need::Pm2List { home, .. } => Err(format!("{home} is not the ssh user's pm2 home")),
        // Exit status 3 means "a program is not running": the list is still there.
        Need::SupervisorStatus { .. } => section(Section::Supervisorctl, "supervisorctl", &[0, 3]),
        other => Err(format!("not read over ssh: {other:?}")),
    }
}

fn autostart(sections: &Sections, bots: &[&Bot]) -> Autostart {
    let mut found = Autostart::default();
    let mut unchecked = |source: Source, reason: &str| {
        found.unchecked.push(Unchecked {
            source,
            reason: reason.lines().last().unwrap_or("").to_string(),
        })
    };
    let mut entries: Vec<AutostartEntry> = Vec::new();
    match sections.get(&Section::Crontab) {
        Some((0, text)) => entries.extend(autostart::crontab_entries(text, bots)),
        Some((_, text)) if text.contains("no crontab") => {}
        Some((_, text)) => unchecked(Source::Crontab, text),
        None => unchecked(Source::Crontab, "not read"),
    }
    for (name, manager) in [
        (Section::Systemd, SystemdManager::System),
        (Section::SystemdUser, SystemdManager::User),
    ] {
        let source = Source::systemd(manager);
        match sections.get(&name) {
            Some((0, text)) => entries.extend(autostart::systemd_entries(text, bots, manager)),
            Some((_, text)) => unchecked(source, text),
            None => unchecked(source, "not read"),
        }
    }
    if let Some((0, text)) = sections.get(&Section::Pm2Dump) {
        for (name, command) in autostart::pm2_dump_apps(text) {
            for bot in bots.iter().filter(|b| autostart::names(&command, &b.entry)) {
                entries.push(AutostartEntry {
                    bot: bot.name.clone(),
                    source: Source::Pm2,
                    entry: (format!("app {name} saved in ~/.pm2/dump.pm2: {command}")).into(),
                    fix: format!(
                        "pm2 delete {} && pm2 save --force",
                        crate::shell::word(&name)
                    ),
                });
            }
        }
    }
    for (name, (_, text)) in sections {
        let Section::SupervisordConf(file) = name else {
            continue;
        };
        for p in autostart::parse_supervisord_conf(text)
            .programs
            .into_iter()
            .filter(|p| p.autostart)
        {
            for bot in bots
                .iter()
                .filter(|b| autostart::names(&p.command, &b.entry))
            {
                entries.push(AutostartEntry {
                    bot: bot.name.clone(),
                    source: Source::Supervisord,
                    entry: (format!("[program:{}] in {file} (autostart): {}", p.name, p.command))
                        .into(),
                    fix: format!(
                        "set autostart=false under [program:{}] in {}, then: supervisorctl update",
                        crate::outside::Outside::from(p.name.as_str()),
                        crate::shell::word(file)
                    ),
                });
            }
        }
    }
    entries.sort_by(|a, b| (&a.source, &a.entry).cmp(&(&b.source, &b.entry)));
    found.entries = entries;
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(name: &str, script: &str) -> Bot {
        crate::config::parse(
            &format!(
                "[[bot]]\nname = \"{name}\"\nscript = \"{script}\"\ntoken_env = \"PARTNER_BOT_TOKEN\"\n"
            ),
            Path::new("botctl.toml"),
            PathBuf::from("/p"),
        )
        .unwrap()
        .bots
        .remove(0)
    }

    /// partner's token is "1:a".
    fn wanted() -> HashMap<BotName, Wanted> {
        HashMap::from([(
            BotName::from("partner"),
            Wanted {
                var: Some("PARTNER_BOT_TOKEN".into()),
                hash: Some(identity::sha256_hex("1:a")),
            },
        )])
    }

    /// scan.sh's record of a token variable in a process's environment.
    fn token_record(pid: u32, token: &str) -> String {
        format!(
            "t\0{pid}\0PARTNER_BOT_TOKEN\0env\0h:{}\0",
            identity::sha256_hex(token)
        )
    }

    /// One process: its record, and its part of the argv blob.
    fn record(pid: u32, ppid: u32, uid: u32, cgroup: &str, argv: &[&str]) -> (String, String) {
        let stat = format!("{pid} (x y) S {ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0");
        let record = format!("p\0{pid}\0{stat}\0{uid}\0/srv/lb\0{cgroup}\0");
        let mut cmdline = format!("==> /proc/{pid}/cmdline <==\n");
        for a in argv {
            cmdline.push_str(a);
            cmdline.push('\0');
        }
        cmdline.push('\n');
        (record, cmdline)
    }

    #[test]
    fn records_are_matched_by_the_local_rules() {
        let partner = bot("partner", "bot.py");
        let mut out = format!("{MAGIC}\0{}\0/home/deploy\01000\0100\0", 1001);
        out.push_str("s\0passwd\x000\0root:x:0:0::/root:/bin/sh\ndeploy:x:1001:1001::/home/deploy:/bin/sh\n\0");
        let processes = [
            record(
                40,
                1,
                1001,
                "0::/user.slice/session-1.scope\n",
                &["sh", "-c", "while true; do python3 bot.py; done"],
            ),
            record(41, 40, 1001, "0::/x\n", &["python3", "bot.py"]),
            record(42, 1, 1001, "0::/x\n", &["vim", "bot.py"]),
            record(43, 1, 1001, "0::/x\n", &["python3", "admin bot.py"]),
            // Exited before its argv was read: no cmdline part.
            (record(44, 1, 1001, "0::/x\n", &[]).0, String::new()),
            // Another project's bot.py (another token), and another user's (not read).
            record(45, 1, 1001, "0::/x\n", &["python3", "bot.py"]),
            record(46, 1, 2000, "0::/x\n", &["python3", "bot.py"]),
        ];
        for (record, _) in &processes {
            out.push_str(record);
        }
        out.push_str(&token_record(41, "1:a"));
        out.push_str(&token_record(45, "2:b"));
        out.push_str("s\0crontab\x000\0@reboot cd /srv/lb && python3 bot.py\n\0");
        out.push_str(
            "s\0supervisord-conf:/etc/supervisor/conf.d/lb.conf\x000\0[program:partner]\n\
command=python3 /srv/lb/bot.py\n[program:off]\ncommand=python3 bot.py\nautostart=false\n\0",
        );
        out.push_str("argv\0");
        for (_, cmdline) in &processes {
            out.push_str(cmdline);
        }
        out.push_str("==> /dev/null <==\n");
        out.push_str(TRAILER);
        let scan = parse(&out, &[&partner], &wanted()).unwrap();
        assert_eq!(scan.uid, Uid(1001));
        assert_eq!(scan.instances.len(), 1, "{:?}", scan.instances);
        let maybe: Vec<Pid> = scan.maybe.iter().map(|m| m.instance.pid).collect();
        assert_eq!(maybe, [Pid(46)], "{:?}", scan.maybe);
        let i = &scan.instances[0];
        assert_eq!((i.pid, i.user.raw()), (Pid(41), "deploy"));
        assert_eq!(i.started, Some(1000 + 5));
        assert_eq!(i.cwd.as_deref(), Some(Path::new("/srv/lb")));
        let sup = i.supervisor.as_ref().expect("its loop");
        assert_eq!(sup.kind, supervisor::SupervisorKind::Loop);
        assert_eq!(sup.pid, Some(Pid(40)));
        let sources: Vec<&str> = scan
            .autostart
            .entries
            .iter()
            .map(|e| e.source.as_str())
            .collect();
        assert_eq!(sources, ["crontab", "supervisord"]);
        assert!(
            scan.autostart.entries[1]
                .entry
                .raw()
                .starts_with("[program:partner] in /etc/supervisor/conf.d/lb.conf"),
            "{:?}",
            scan.autostart.entries[1]
        );
    }

    #[test]
    fn a_forged_record_inside_an_argv_refuses_the_answer() {
        let partner = bot("partner", "bot.py");
        let mut out = format!("{MAGIC}\0{}\0/root\01000\0100\0", 0);
        let processes = [
            // Another user's process whose argument imitates head's header for pid 60.
            record(
                50,
                1,
                2000,
                "0::/x\n",
                &["x", "\n==> /proc/60/cmdline <==\npython3", "bot.py"],
            ),
            record(60, 1, 0, "0::/x\n", &["sleep", "1000"]),
        ];
        for (record, _) in &processes {
            out.push_str(record);
        }
        out.push_str("argv\0");
        for (_, cmdline) in &processes {
            out.push_str(cmdline);
        }
        out.push_str("==> /dev/null <==\n");
        out.push_str(TRAILER);
        let e = parse(&out, &[&partner], &wanted()).unwrap_err();
        assert!(e.contains("tampered") && e.contains("process 60"), "{e}");
    }

    #[test]
    fn the_signal_script_checks_the_command_line_again() {
        // signal.sh, run here under sh, CHECKs this test's own process: with the command line
        // the scan would have read it answers; with another one it does not.
        let me = std::process::id();
        let cmdline = std::fs::read(format!("/proc/{me}/cmdline")).unwrap();
        let right = hex_of(&String::from_utf8_lossy(&cmdline));
        let wrong = hex_of("sleep\0-1000\0");
        for (hex, expected) in [(right, me.to_string()), (wrong, String::new())] {
            let out = std::process::Command::new("sh")
                .args(["-c", SIGNAL, "sh", "CHECK", &format!("{me}:-1:{hex}")])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
        }
    }

    #[test]
    fn output_that_is_not_the_scan_is_an_error() {
        let partner = bot("partner", "bot.py");
        let e = parse("Welcome to the server\n", &[&partner], &wanted()).unwrap_err();
        assert!(e.contains("did not run botctl's scan"), "{e}");
        let cut = format!("{MAGIC}\01000\0/h\01\0100\0p\01\0argv\0==> /proc/1/cm");
        assert!(
            parse(&cut, &[&partner], &wanted())
                .unwrap_err()
                .contains("cut short")
        );
    }

    /// The scan script itself, run here by every POSIX shell at hand (dash and busybox sh are
    /// installed by `cargo xtask setup`), sees this test's own process with its argv.
    #[test]
    fn the_scan_runs_under_sh_dash_and_busybox() {
        let partner = bot("partner", "bot.py");
        // Two processes whose argv names the candidate pattern: one with the token in its
        // environment, one with it only in the .env of its folder (quoted, with `export`).
        let marker = format!("600.{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "OTHER=1\r\nexport PARTNER_BOT_TOKEN = \"9:dotenv\"\r\n",
        )
        .unwrap();
        let spawn = |env: Option<&str>| {
            let mut cmd = std::process::Command::new("sleep");
            cmd.arg(&marker)
                .current_dir(dir.path())
                .env_remove("PARTNER_BOT_TOKEN")
                .stdin(std::process::Stdio::null());
            if let Some(v) = env {
                cmd.env("PARTNER_BOT_TOKEN", v);
            }
            cmd.spawn().unwrap()
        };
        let mut procs = [spawn(Some("8:environ")), spawn(None)];
        // Once each has become `sleep` (the scan reads argv as /proc shows it).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        for p in &procs {
            while !std::fs::read(format!("/proc/{}/cmdline", p.id()))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        let expected = [
            format!(
                "t\0{}\0PARTNER_BOT_TOKEN\0env\0h:{}\0",
                procs[0].id(),
                identity::sha256_hex("8:environ")
            ),
            format!(
                "t\0{}\0PARTNER_BOT_TOKEN\0dotenv\0h:{}\0",
                procs[1].id(),
                identity::sha256_hex("9:dotenv")
            ),
        ];
        let shells: [&[&str]; 3] = [&["sh"], &["dash"], &["busybox", "sh"]];
        let mut ran = 0;
        for shell in shells {
            let Some(program) = process::find_program(shell[0], Path::new("/")) else {
                continue;
            };
            let mut args: Vec<&str> = shell[1..].to_vec();
            args.extend(["-s", "--", "1", "PARTNER_BOT_TOKEN", &marker]);
            let out = process::run_with_input(
                &program,
                &args,
                SCAN,
                &[],
                std::time::Duration::from_secs(30),
            )
            .unwrap();
            assert!(out.success(), "{shell:?}: {}", out.stderr);
            let scan = parse(&out.stdout, &[&partner], &wanted())
                .unwrap_or_else(|e| panic!("{shell:?}: {e}"));
            assert_eq!(scan.uid, Uid::effective(), "{shell:?}");
            assert!(
                scan.seen.contains_key(&Pid::own()),
                "{shell:?} did not list this test's process"
            );
            for record in &expected {
                assert!(
                    out.stdout.contains(record.as_str()),
                    "{shell:?} did not hash the token: {record:?}"
                );
            }
            assert!(!out.stdout.contains("8:environ") && !out.stdout.contains("9:dotenv"));
            ran += 1;
        }
        for p in &mut procs {
            let _ = p.kill();
            let _ = p.wait();
        }
        assert!(ran > 0, "no POSIX shell found");
    }

    #[test]
    fn remote_words_are_quoted_for_the_login_shell() {
        assert_eq!(sh_quote("partner"), "partner");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }
}
