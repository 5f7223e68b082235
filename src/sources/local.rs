//! Local processes: which running processes are instances of a bot.
//!
//! The process table is read in two phases: the command line of every process (cheap), then
//! user, start time and working folder only for the few that match.

use std::path::{Component, Path, PathBuf};

use super::argv::{self, base_name};
use super::containers;
use super::identity::{self, Seen, Whose};
use super::proc::{self, Backend};
use super::supervisor::{self, Supervisor};
use super::telegram::Tokens;
use crate::config::Bot;
use crate::model::{BotName, Pid, ProcessIdentity, Uid};

#[derive(Debug, Clone)]
pub struct BotProcess {
    pub bot: BotName,
    pub pid: Pid,
    /// The user name as the process table (or a container's engine) gives it: outside text.
    pub user: crate::outside::Outside,
    pub uid: Option<Uid>,
    /// When it started, to the second.
    pub started: Option<jiff::Timestamp>,
    pub cwd: Option<PathBuf>,
    pub cmd: crate::outside::Argv,
    /// What restarts it when it is killed (`null`: nothing).
    pub supervisor: Option<Supervisor>,
    /// The process that started it, and that process's command line.
    pub ppid: Option<Pid>,
    pub parent_cmd: crate::outside::Argv,
    /// The container it runs in, as its engine describes it (then the engine stops it, and
    /// botctl never signals it).
    pub container: Option<containers::Container>,
}

impl BotProcess {
    /// The process as the scan saw it: signalled only while it is still this one.
    pub fn identity(&self) -> ProcessIdentity {
        ProcessIdentity {
            pid: self.pid,
            started: self.started,
        }
    }
}

/// A process that runs a bot's entry but may be another project's copy, and botctl cannot
/// tell (another user's, its environment unreadable): listed with why, counted as unknown,
/// never signalled.
#[derive(Debug, Clone)]
pub struct Maybe {
    pub instance: BotProcess,
    pub why: String,
}

/// One look at the process table: the instances, and the config files of running supervisord
/// daemons (their `[program:…]` entries can start a bot again).
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub instances: Vec<BotProcess>,
    /// Processes that run a bot's entry and cannot be told to be this project's copy.
    pub maybe: Vec<Maybe>,
    pub supervisord_confs: Vec<String>,
    /// Processes of other users run by a Python or Node runtime whose argv could not be read:
    /// any of them may be a bot of that language.
    pub hidden: Vec<proc::Unreadable>,
    /// What the container engine said (its containers are instances too).
    pub engine: containers::EngineState,
}

/// One pass over the process table.
pub fn scan(
    bots: &[&Bot],
    root: &Path,
    tokens: &Tokens,
) -> Result<Vec<BotProcess>, proc::TableError> {
    scan_full(bots, root, tokens).map(|s| s.instances)
}

/// [`scan`], also noting running supervisord daemons' config files.
pub fn scan_full(bots: &[&Bot], root: &Path, tokens: &Tokens) -> Result<Scan, proc::TableError> {
    scan_with(Backend::native(), bots, root, tokens)
}

/// [`scan_full`] through one backend (the suite runs both and compares).
pub fn scan_with(
    backend: Backend,
    bots: &[&Bot],
    root: &Path,
    tokens: &Tokens,
) -> Result<Scan, proc::TableError> {
    let me = Pid::own();
    // The engine answers while the table is read: it costs a process start or two.
    let (table, engine) = std::thread::scope(|s| {
        let engine = s.spawn(|| containers::look(|pid| proc::facts(backend, pid).is_some()));
        let table = proc::table(backend);
        (table, engine.join().unwrap_or_default())
    });
    let proc::Table {
        processes: table,
        unreadable,
    } = table?;
    let hidden = hidden(unreadable);
    let mut candidates: Vec<(Pid, Vec<String>, &Bot, String)> = Vec::new();
    let mut supervisord_confs = Vec::new();
    for (pid, cmd) in &table {
        if *pid == me {
            continue;
        }
        if let Some((bot, arg)) = bot_of(cmd, bots) {
            candidates.push((*pid, cmd.clone(), bot, arg));
        } else if let Some(at) = argv::runs_a_folder(cmd)
            && bots
                .iter()
                .any(|b| b.entry.language() == argv::Language::JavaScript)
            && let Some((bot, arg)) = through_package_main(backend, *pid, cmd, at, bots)
        {
            candidates.push((*pid, cmd.clone(), bot, arg));
        } else if cmd.iter().take(2).any(|a| a.ends_with("supervisord"))
            && supervisor::is_supervisord(cmd)
        {
            supervisord_confs.extend(supervisord_conf_path(backend, *pid, cmd));
        }
    }
    let (instances, mut maybe) = if candidates.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        instances(backend, candidates, &table, bots, root, tokens)
    };
    Ok(Scan {
        instances: with_containers(instances, &mut maybe, engine.containers(), bots),
        maybe,
        supervisord_confs,
        hidden,
        engine,
    })
}

/// Phase one only: (pid, bot name) of every process whose command line names a bot. Cheap
/// enough to run every second (`botctl watch`), which runs the whole [`scan`] only when this
/// changes.
pub fn matching(bots: &[&Bot]) -> Result<Vec<(Pid, BotName)>, proc::TableError> {
    let me = Pid::own();
    let mut found: Vec<(Pid, BotName)> = proc::table(Backend::native())?
        .processes
        .iter()
        .filter(|(pid, _)| *pid != me)
        .filter_map(|(pid, cmd)| bot_of(cmd, bots).map(|(bot, _)| (*pid, bot.name.clone())))
        .collect();
    found.sort();
    Ok(found)
}

/// The engine's containers that run a bot. One also seen in the process table (Linux: its
/// cgroup names the container) is that instance, named and stopped through the engine; one
/// that is not (a Mac: it runs in the engine's VM) is an instance of its own.
fn with_containers(
    mut found: Vec<BotProcess>,
    maybe: &mut Vec<Maybe>,
    list: &[containers::Container],
    bots: &[&Bot],
) -> Vec<BotProcess> {
    for c in list {
        let Some((bot, arg)) = bot_of(&c.argv, bots) else {
            continue;
        };
        if let Some(script) = bot.entry.script().filter(|s| s.contains('/'))
            && !same_script_elsewhere(&arg, c.working_dir.as_deref().map(Path::new), script)
        {
            continue;
        }
        let in_it = |pid: Pid| {
            pid == c.pid
                || matches!(supervisor::read::cgroup(pid),
                    supervisor::Cgroup::Container { id, .. } if id == c.id)
        };
        // The engine runs it: the container is the instance, whatever its process looked like.
        maybe.retain(|m| m.instance.bot != bot.name || !in_it(m.instance.pid));
        let same = found
            .iter_mut()
            .filter(|i| i.bot == bot.name)
            .find(|i| in_it(i.pid));
        match same {
            Some(i) => {
                i.supervisor = Some(containers::supervisor(c));
                i.container = Some(c.clone());
            }
            None => found.push(BotProcess {
                bot: bot.name.clone(),
                pid: c.pid,
                user: c.user.clone(),
                uid: None,
                started: c.started,
                cwd: c.working_dir.as_ref().map(PathBuf::from),
                cmd: c.argv.clone().into(),
                supervisor: Some(containers::supervisor(c)),
                ppid: None,
                parent_cmd: Default::default(),
                container: Some(c.clone()),
            }),
        }
    }
    found
}

/// `node .`: the command line as Node runs it, the folder's package.json `main` (else
/// `index.js`) in place of the folder, matched by the same rule. Read only for botctl's own
/// user's processes (another user's folder is theirs).
fn through_package_main<'b>(
    backend: Backend,
    pid: Pid,
    cmd: &[String],
    at: usize,
    bots: &[&'b Bot],
) -> Option<(&'b Bot, String)> {
    let owner = proc::facts(backend, pid)?.uid;
    let folder = proc::cwd(backend, pid)?.join(&cmd[at]);
    let text =
        crate::files::read_text_named_by(&folder.join("package.json"), owner, 1 << 20).ok()?;
    let package: serde_json::Value = serde_json::from_str(&text).ok()?;
    let main = package["main"].as_str().unwrap_or("index.js");
    let mut main = Path::new(&cmd[at]).join(main);
    if main.extension().is_none() {
        main.set_extension("js"); // what Node tries first for `"main": "dist/index"`
    }
    let mut runs = cmd.to_vec();
    runs[at] = normalize(&main).display().to_string();
    bot_of(&runs, bots)
}

/// The unreadable processes that may be bots: another user's, run by a Python or Node runtime
/// (by the executable name the kernel still tells).
fn hidden(unreadable: Vec<proc::Unreadable>) -> Vec<proc::Unreadable> {
    let me = Uid::effective();
    unreadable
        .into_iter()
        .filter(|u| u.uid != Some(me) && argv::runtime_language(&u.name).is_some())
        .collect()
}

/// "N processes of other users could not be read: run `sudo botctl status`", for a bot that
/// any of `hidden` may be (same language), else `None`.
pub fn hidden_note(hidden: &[proc::Unreadable], bot: &Bot) -> Option<String> {
    let language = bot.entry.language();
    let n = hidden
        .iter()
        .filter(|u| argv::runtime_language(&u.name) == Some(language))
        .count();
    match n {
        0 => None,
        1 => Some("1 process of another user could not be read: run `sudo botctl status`".into()),
        n => Some(format!(
            "{n} processes of other users could not be read: run `sudo botctl status`"
        )),
    }
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
fn supervisord_conf_path(backend: Backend, pid: Pid, argv: &[String]) -> Option<String> {
    let owner = proc::facts(backend, pid).and_then(|f| f.uid);
    let mine = owner == Some(Uid::effective());
    Some(match supervisor::supervisord_conf(argv) {
        Some(_) if !mine => return None,
        Some(c) if Path::new(&c).is_absolute() => c,
        Some(c) => proc::cwd(backend, pid)
            .map(|cwd| cwd.join(&c).display().to_string())
            .unwrap_or(c),
        None => [
            "/etc/supervisor/supervisord.conf",
            "/etc/supervisord.conf",
            "/usr/local/etc/supervisord.conf",
            "/opt/homebrew/etc/supervisord.conf",
        ]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("/etc/supervisord.conf")
        .to_string(),
    })
}

/// Phase two: details, whose copy each is, then supervisors, of the processes whose command
/// line matched. Environments and `.env` files are read only for those outside the project.
fn instances(
    backend: Backend,
    candidates: Vec<(Pid, Vec<String>, &Bot, String)>,
    table: &[(Pid, Vec<String>)],
    bots: &[&Bot],
    root: &Path,
    tokens: &Tokens,
) -> (Vec<BotProcess>, Vec<Maybe>) {
    let details = proc::details(backend, &candidates.iter().map(|c| c.0).collect::<Vec<_>>());
    let project = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let wanted = std::cell::OnceCell::new();
    let me = Uid::effective();
    let mut found = Vec::new();
    let mut maybe: Vec<Maybe> = Vec::new();
    for (pid, cmd, bot, arg) in candidates {
        let Some(d) = details.iter().find(|d| d.facts.pid == pid) else {
            continue; // exited between the two phases
        };
        if let Some(script) = bot.entry.script().filter(|s| s.contains('/'))
            && !same_script_path(&arg, d.cwd.as_deref(), script, root)
        {
            continue;
        }
        let instance = BotProcess {
            bot: bot.name.clone(),
            pid,
            user: d.user.as_str().into(),
            uid: d.facts.uid,
            started: d.facts.started,
            cwd: d.cwd.clone(),
            cmd: cmd.into(),
            supervisor: None,
            ppid: None,
            parent_cmd: Default::default(),
            container: None,
        };
        let inside = inside_project(&project, d.cwd.as_deref(), &arg);
        let wanted = wanted.get_or_init(|| identity::wanted(bots, tokens));
        let copy = identity::decide(
            if inside {
                identity::Folder::InProject
            } else {
                identity::Folder::Elsewhere
            },
            identity::ProcessUser::of(d.facts.uid, me),
            wanted
                .get(&bot.name)
                .unwrap_or(&identity::Wanted::default()),
            |var| match proc::environ_var(backend, pid, var) {
                Ok(Some(v)) if !v.trim().is_empty() => Seen::Hash(identity::sha256_hex(v.trim())),
                Ok(_) => Seen::Absent,
                Err(why) => Seen::Unknown(why.to_string()),
            },
            |var| match d.cwd.as_deref() {
                Some(cwd) => identity::dotenv_var(cwd, var),
                None => Seen::Unknown("its working folder cannot be read".into()),
            },
        );
        match copy {
            Whose::This => found.push(instance),
            Whose::Other => {}
            Whose::Maybe(why) => maybe.push(Maybe { instance, why }),
        }
    }
    let parent = |pid: Pid| {
        details
            .iter()
            .find(|d| d.facts.pid == pid)
            .map(|d| d.facts.ppid)
    };
    let found = one_per_wrapper(found, parent);
    let mut maybe = one_per_wrapper_maybe(maybe, parent);
    // A maybe's supervisor too: what keeps it alive is worth knowing, even if it is not ours.
    let n = found.len();
    let mut all = found;
    all.extend(maybe.iter().map(|m| m.instance.clone()));
    add_supervisors(backend, &mut all, table);
    for (m, i) in maybe.iter_mut().zip(all.split_off(n)) {
        m.instance = i;
    }
    (all, maybe)
}

/// Is the process in the project: its working folder, or the script it runs, inside the root?
fn inside_project(project: &Path, cwd: Option<&Path>, arg: &str) -> bool {
    let within = |p: &Path| {
        std::fs::canonicalize(p)
            .map(|p| p.starts_with(project))
            .unwrap_or_else(|_| normalize(p).starts_with(project))
    };
    let arg = Path::new(arg);
    cwd.is_some_and(within)
        || match cwd {
            _ if arg.is_absolute() => within(arg),
            Some(cwd) => within(&cwd.join(arg)),
            None => false,
        }
}

/// A wrapper and the child it runs the script in (tsx's CLI and its `node --import tsx`, a
/// bot that forks itself) are one copy: an instance whose parent is an instance of the same
/// bot is left out.
pub fn one_per_wrapper(
    found: Vec<BotProcess>,
    parent: impl Fn(Pid) -> Option<Pid>,
) -> Vec<BotProcess> {
    let copies: Vec<(Pid, BotName)> = found.iter().map(|i| (i.pid, i.bot.clone())).collect();
    found
        .into_iter()
        .filter(|i| {
            parent(i.pid)
                .is_none_or(|p| !copies.iter().any(|(pid, bot)| *pid == p && *bot == i.bot))
        })
        .collect()
}

/// [`one_per_wrapper`] for the copies that cannot be told.
pub fn one_per_wrapper_maybe(maybe: Vec<Maybe>, parent: impl Fn(Pid) -> Option<Pid>) -> Vec<Maybe> {
    let copies: Vec<(Pid, BotName)> = maybe
        .iter()
        .map(|m| (m.instance.pid, m.instance.bot.clone()))
        .collect();
    maybe
        .into_iter()
        .filter(|m| {
            parent(m.instance.pid).is_none_or(|p| {
                !copies
                    .iter()
                    .any(|(pid, bot)| *pid == p && *bot == m.instance.bot)
            })
        })
        .collect()
}

/// Names what keeps each instance alive: its cgroup and ancestors are read first, then the
/// few outside answers (pm2, supervisorctl, launchctl) those call for, each once.
fn add_supervisors(backend: Backend, found: &mut [BotProcess], table: &[(Pid, Vec<String>)]) {
    let argv_of = |pid: Pid| {
        table
            .iter()
            .find(|(p, _)| *p == pid)
            .map(|(_, argv)| argv.clone())
    };
    let looks: Vec<(supervisor::Cgroup, Vec<supervisor::ProcessRecord>)> = found
        .iter()
        .map(|i| {
            (
                supervisor::read::cgroup(i.pid),
                supervisor::read::chain_with(backend, i.pid, argv_of),
            )
        })
        .collect();
    let answers = supervisor::read::answers_with(
        backend,
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
    instance: &mut BotProcess,
    cgroup: &supervisor::Cgroup,
    chain: &[supervisor::ProcessRecord],
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

/// botctl's own pid and those of its ancestors: never signalled.
pub fn ancestors() -> Vec<Pid> {
    proc::ancestors(Backend::native())
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

/// `a/./b/../c` → `a/c`, without touching the disk.
pub fn normalize(p: &Path) -> PathBuf {
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
        let instance = |pid: Pid, bot: &str| BotProcess {
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
            container: None,
        };
        let parents = |pid: Pid| match pid {
            Pid(11) => Some(Pid(10)), // tsx's node child
            Pid(21) => Some(Pid(20)), // child of another bot's instance: its own copy
            _ => Some(Pid::INIT),
        };
        let kept = one_per_wrapper(
            vec![
                instance(Pid(10), "a"),
                instance(Pid(11), "a"),
                instance(Pid(20), "b"),
                instance(Pid(21), "a"),
                instance(Pid(30), "a"),
            ],
            parents,
        );
        let pids: Vec<Pid> = kept.iter().map(|i| i.pid).collect();
        assert_eq!(pids, [Pid(10), Pid(20), Pid(21), Pid(30)]);
    }

    /// The same live processes, read by both backends: the same instances and supervisors
    /// (a plain copy, a `-c` loop, and a loop in a relative script file, which needs the
    /// shell's working folder).
    #[cfg(target_os = "linux")]
    #[test]
    fn both_backends_decide_alike_on_live_processes() {
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("bots")).unwrap();
        std::fs::write(root.join("bots/agree.py"), "import time\ntime.sleep(60)\n").unwrap();
        std::fs::write(
            root.join("loop.sh"),
            "while true; do python3 bots/agree.py; sleep 1; done\n",
        )
        .unwrap();
        let bot = crate::config::parse(
            "[[bot]]\nname = \"agree\"\nscript = \"bots/agree.py\"\n",
            Path::new("botctl.toml"),
            root.clone(),
        )
        .unwrap()
        .bots
        .remove(0);
        let start = |argv: &[&str]| {
            use std::os::unix::process::CommandExt;
            Command::new(argv[0])
                .args(&argv[1..])
                .current_dir(&root)
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut children = [
            start(&["python3", "bots/agree.py"]),
            start(&[
                "sh",
                "-c",
                "while true; do python3 bots/agree.py; sleep 1; done",
            ]),
            start(&["sh", "loop.sh"]),
        ];
        let seen = |backend| {
            let mut found = scan_with(backend, &[&bot], &root, &Tokens::default())
                .unwrap()
                .instances;
            found.sort_by_key(|i| i.pid);
            found
                .into_iter()
                .map(|i| {
                    let sup = i
                        .supervisor
                        .map(|s| (s.kind, s.name.raw().to_string(), s.stop()));
                    (i.pid, i.uid, i.started, i.cwd, i.cmd, i.ppid, sup)
                })
                .collect::<Vec<_>>()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen(Backend::Kernel).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let (kernel, portable) = (seen(Backend::Kernel), seen(Backend::Portable));
        for c in &mut children {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = c.wait();
        }
        assert_eq!(kernel.len(), 3, "{kernel:?}");
        let loops = kernel
            .iter()
            .filter(|i| {
                i.6.as_ref()
                    .is_some_and(|s| s.0 == super::supervisor::SupervisorKind::Loop)
            })
            .count();
        assert_eq!(loops, 2, "{kernel:?}");
        assert_eq!(kernel, portable);
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
