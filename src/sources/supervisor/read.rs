//! Reading records and answers on this machine (process facts, pm2, supervisorctl,
//! launchctl), for the pure decisions in the parent module.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Answer, Answers, Cgroup, Need, ProcessRecord, Unanswered};
use crate::model::{Pid, Uid};
use crate::process;
use crate::sources::proc::{self, Backend};

/// Time limit of one pm2, supervisorctl or launchctl call.
const LIMIT: Duration = Duration::from_secs(10);

/// The process's cgroup, parsed; `Other` where there is none (macOS).
pub fn cgroup(pid: Pid) -> Cgroup {
    proc::cgroup(pid)
        .map(|t| super::parse_cgroup(&t))
        .unwrap_or(Cgroup::Other)
}

/// The instance and its ancestors up to (not including) pid 1, with their argv from
/// `argv_of` (the process table already read).
pub fn chain_with(
    backend: Backend,
    pid: Pid,
    argv_of: impl Fn(Pid) -> Option<Vec<String>>,
) -> Vec<ProcessRecord> {
    let mut out: Vec<ProcessRecord> = Vec::new();
    let mut next = pid;
    while next > Pid::INIT && out.len() < 64 && !out.iter().any(|r| r.pid == next) {
        let Some(f) = proc::facts(backend, next) else {
            break;
        };
        out.push(ProcessRecord {
            pid: next,
            ppid: f.ppid,
            uid: f.uid,
            argv: argv_of(next).unwrap_or_default(),
        });
        next = f.ppid;
    }
    out
}

/// Gets each answer once (several instances may need the same one).
pub fn answers_with(backend: Backend, needs: impl IntoIterator<Item = Need>) -> Answers {
    let mut out = Answers::new();
    for need in needs {
        if out.contains_key(&need) {
            continue;
        }
        let answer = answer(backend, &need);
        out.insert(need, answer);
    }
    out
}

fn answer(backend: Backend, need: &Need) -> Result<Answer, Unanswered> {
    let me = Uid::effective();
    match need {
        // Another user's daemon: its client would run as us against their home or socket
        // (as root, `pm2 jlist` there starts a root daemon that loads their modules).
        Need::Pm2List {
            owner: Some(uid), ..
        }
        | Need::SupervisorStatus {
            owner: Some(uid), ..
        } if *uid != me => Err(Unanswered::OtherUser { uid: *uid }),
        Need::Pm2List { home, .. } => {
            // `pm2 jlist` starts a daemon when none answers: ask only a live one of ours.
            use std::os::unix::fs::MetadataExt;
            let owner = std::fs::metadata(home).map_err(|e| Unanswered::Pm2HomeUnreadable {
                home: home.clone(),
                source: e.into(),
            })?;
            if Uid(owner.uid()) != me {
                return Err(Unanswered::ForeignPm2Home {
                    home: home.clone(),
                    over_ssh: false,
                });
            }
            if !Path::new(home).join("rpc.sock").exists() {
                return Err(Unanswered::NoPm2Daemon { home: home.clone() });
            }
            let (program, path) = program("pm2", None)?;
            let out = process::run_with_env(&path, &["jlist"], &[("PM2_HOME", home)], LIMIT)
                .map_err(Unanswered::NotRun)?;
            if !out.success() {
                return Err(Unanswered::Failed {
                    asked: "`pm2 jlist`".into(),
                    said: out.said(),
                });
            }
            Ok(Answer {
                program,
                text: out.stdout,
            })
        }
        Need::SupervisorStatus { ctl, conf, .. } => {
            let (program, path) = program("supervisorctl", ctl.as_deref())?;
            let mut args = Vec::new();
            if let Some(c) = conf {
                args.extend(["-c", c.as_str()]);
            }
            args.push("status");
            // Exit status 3 means "a program is not running": read the output.
            let out = process::run(&path, &args, LIMIT).map_err(Unanswered::NotRun)?;
            Ok(Answer {
                program,
                text: out.stdout,
            })
        }
        Need::ContainerName { engine, id } => {
            let name = if *engine == super::ContainerKind::Podman {
                "podman"
            } else {
                "docker"
            };
            let (program, path) = program(name, None)?;
            let out = process::run(&path, &["inspect", "--format", "{{.Name}}", id], LIMIT)
                .map_err(Unanswered::NotRun)?;
            if !out.success() {
                return Err(Unanswered::Failed {
                    asked: format!("{name} inspect"),
                    said: out.error_line(),
                });
            }
            Ok(Answer {
                program,
                text: out.stdout,
            })
        }
        Need::LaunchdJob { pid, uid } => {
            let (program, path) = program("launchctl", None)?;
            let out = process::run(&path, &["list"], LIMIT).map_err(Unanswered::NotRun)?;
            if !out.success() {
                return Err(Unanswered::Failed {
                    asked: "launchctl list".into(),
                    said: out.error_line(),
                });
            }
            let label = super::launchd_label_for(&out.stdout, *pid)
                .ok_or(Unanswered::NoLaunchdJob { pid: *pid })?;
            // `print`'s text is unofficial: only its exit status is read.
            let domains = match uid {
                Some(u) => vec![format!("gui/{u}"), format!("user/{u}"), "system".into()],
                None => vec!["system".to_string()],
            };
            for domain in &domains {
                let target = format!("{domain}/{label}");
                let out =
                    process::run(&path, &["print", &target], LIMIT).map_err(Unanswered::NotRun)?;
                if out.success() {
                    return Ok(Answer {
                        program,
                        text: format!("{domain}\t{label}"),
                    });
                }
            }
            Err(Unanswered::LaunchdDomainUnknown { label, domains })
        }
        Need::Script { pid, uid, path } => {
            let p = Path::new(path);
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                proc::cwd(backend, *pid)
                    .ok_or(Unanswered::CwdUnreadable { pid: *pid })?
                    .join(p)
            };
            // A script is small; a huge file (or /dev/zero behind a link) is none.
            let text = crate::files::read_text_named_by(&full, *uid, crate::files::CAP).map_err(
                |source| Unanswered::Script {
                    path: full.clone(),
                    source,
                },
            )?;
            Ok(Answer {
                program: String::new(),
                text,
            })
        }
    }
}

/// (as typed, path to run): the PATH one as its bare name, else the one beside the daemon
/// when that one is trusted: it and its folder owned by root or by us, writable by no one
/// else (another user's `supervisorctl` would run with our rights).
fn program(name: &str, beside: Option<&str>) -> Result<(String, PathBuf), Unanswered> {
    if let Some(path) = beside
        .map(PathBuf::from)
        .filter(|p| p.is_file() && trusted(p))
    {
        if let Some(on_path) = process::find_program(name, Path::new("/"))
            && std::fs::canonicalize(&on_path).ok() == std::fs::canonicalize(&path).ok()
        {
            return Ok((name.to_string(), on_path));
        }
        return Ok((path.display().to_string(), path));
    }
    process::find_program(name, Path::new("/"))
        .map(|p| (name.to_string(), p))
        .ok_or_else(|| Unanswered::NotInstalled {
            program: name.to_string(),
        })
}

fn trusted(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let me = Uid::effective();
    let safe = |p: &Path| {
        std::fs::metadata(p)
            .is_ok_and(|m| [Uid::ROOT, me].contains(&Uid(m.uid())) && m.mode() & 0o022 == 0)
    };
    safe(path) && path.parent().is_some_and(safe)
}
