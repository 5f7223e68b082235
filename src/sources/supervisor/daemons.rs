//! Each kind of supervisor named, with how it stops: containers, systemd units, pm2 apps,
//! supervisord programs, launchd jobs, from the answers their daemons gave.

use super::*;

/// `/partner-bot` (what `docker inspect --format {{.Name}}` prints) → `partner-bot`.
pub fn container_name(inspect: &str) -> Option<String> {
    let name = inspect.trim().trim_start_matches('/');
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    .then(|| name.to_string())
}

/// A container, by its name when the engine told it, else by its short id.
pub(super) fn in_container(engine: ContainerKind, id: &str, name: Option<String>) -> Supervisor {
    let short = name.unwrap_or_else(|| id.chars().take(12).collect());
    let how = match engine {
        ContainerKind::Docker | ContainerKind::Podman => StopHow::Command {
            argv: vec![engine_program(engine).into(), "stop".into(), short.clone()],
            env: Vec::new(),
            shown: EnvShown::Implied,
        },
        ContainerKind::Kubernetes => StopHow::Manual {
            hint: Fix::scale_pod_down(&short),
        },
    };
    Supervisor {
        kind: SupervisorKind::Docker,
        name: (short).into(),
        pid: None,
        how,
    }
}

pub(super) fn engine_program(engine: ContainerKind) -> &'static str {
    match engine {
        ContainerKind::Podman => "podman",
        _ => "docker",
    }
}

pub(super) fn systemd(unit: &str, manager: SystemdManager) -> Supervisor {
    if manager == SystemdManager::User {
        let argv = vec![
            "systemctl".to_string(),
            "--user".into(),
            "stop".into(),
            unit.to_string(),
        ];
        Supervisor {
            kind: SupervisorKind::SystemdUser,
            name: (unit.to_string()).into(),
            pid: None,
            how: StopHow::Command {
                argv,
                env: Vec::new(),
                shown: EnvShown::Implied,
            },
        }
    } else {
        let argv = vec!["systemctl".to_string(), "stop".into(), unit.to_string()];
        Supervisor {
            kind: SupervisorKind::Systemd,
            name: (unit.to_string()).into(),
            pid: None,
            how: StopHow::AsRoot { argv },
        }
    }
}

/// pm2: the app whose pid is the instance (or a process between it and the daemon), stopped
/// by its id: a name can mean more to pm2 (`all`, a number, a `/regex/`, a namespace).
pub(super) fn pm2(
    daemon: &ProcessRecord,
    home: &str,
    below: &[ProcessRecord],
    answers: &Answers,
) -> Supervisor {
    let need = Need::Pm2List {
        home: home.to_string(),
        owner: daemon.uid,
    };
    // The user's own pm2 home needs no PM2_HOME typed (botctl sets it all the same).
    let default_home = home.ends_with("/.pm2");
    let typed_home = (!default_home).then_some(home);
    let answer = answers.get(&need);
    let bot = below.first().map_or(Pid(0), |r| r.pid);
    if let Some(Err(Unanswered::OtherUser { uid })) = answer {
        return Supervisor {
            kind: SupervisorKind::Pm2,
            name: unnamed(answer, "`pm2 jlist`", "app", bot),
            pid: Some(daemon.pid),
            how: StopHow::OtherUser {
                uid: *uid,
                hint: Fix::pm2_of_user(*uid, typed_home),
            },
        };
    }
    let found = answer
        .and_then(|a| a.as_ref().ok())
        .and_then(|a| pm2_app_for(&a.text, below).map(|app| (a.program.clone(), app)));
    match found {
        Some((program, app)) => {
            let argv = vec![program, "stop".into(), app.id.to_string()];
            Supervisor {
                kind: SupervisorKind::Pm2,
                how: StopHow::Command {
                    argv,
                    env: vec![("PM2_HOME".into(), home.to_string())],
                    shown: if default_home {
                        EnvShown::Implied
                    } else {
                        EnvShown::Typed
                    },
                },
                name: (app.name).into(),
                pid: Some(daemon.pid),
            }
        }
        // Still pm2's: killed, the bot would only be started again.
        None => Supervisor {
            kind: SupervisorKind::Pm2,
            name: unnamed(answer, "`pm2 jlist`", "app", bot),
            pid: Some(daemon.pid),
            how: StopHow::Manual {
                hint: Fix::pm2_find_app(typed_home, bot),
            },
        },
    }
}

/// The name of a program its daemon did not name, with why: what asking it gave (`asked`: the
/// command, `what`: "app", "program"), or that its list has no `bot`.
fn unnamed(answer: Option<&Result<Answer, Unanswered>>, asked: &str, what: &str, bot: Pid) -> Name {
    let why = match answer {
        None => format!("{asked} was not run"),
        Some(Err(why)) => why.to_string(),
        Some(Ok(_)) => format!("{asked} lists no {what} with pid {bot}"),
    };
    Name::Unknown { why }
}

/// A pm2 app: its id addresses exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pm2App {
    pub name: String,
    pub id: u64,
}

/// The app name in `pm2 jlist` output whose pid is one of `pids` (warnings may come first).
pub fn pm2_app_for(jlist: &str, below: &[ProcessRecord]) -> Option<Pm2App> {
    let start = jlist.find('[')?;
    let apps: Vec<serde_json::Value> = serde_json::from_str(jlist[start..].trim()).ok()?;
    apps.iter()
        .find(|app| {
            app["pid"]
                .as_u64()
                .is_some_and(|pid| below.iter().any(|r| u64::from(r.pid.0) == pid))
        })
        .and_then(|app| {
            Some(Pm2App {
                name: app["name"].as_str()?.to_string(),
                id: app["pm_id"].as_u64()?,
            })
        })
}

pub(super) fn supervisord(
    daemon: &ProcessRecord,
    below: &[ProcessRecord],
    answers: &Answers,
) -> Supervisor {
    let conf = supervisord_conf(&daemon.argv);
    let need = supervisor_status(daemon);
    let conf_args: Vec<String> = conf
        .iter()
        .flat_map(|c| ["-c".to_string(), c.clone()])
        .collect();
    let answer = answers.get(&need);
    let ctl = |program: &str, rest: &[&str]| {
        let argv: Vec<String> = std::iter::once(program.to_string())
            .chain(conf_args.iter().cloned())
            .chain(rest.iter().map(|s| s.to_string()))
            .collect();
        argv
    };
    let bot = below.first().map_or(Pid(0), |r| r.pid);
    let asked = format!(
        "`{}`",
        crate::shell::join(&ctl("supervisorctl", &["status"]))
    );
    if let Some(Err(Unanswered::OtherUser { uid })) = answer {
        return Supervisor {
            kind: SupervisorKind::Supervisord,
            name: unnamed(answer, &asked, "program", bot),
            pid: Some(daemon.pid),
            how: StopHow::OtherUser {
                uid: *uid,
                hint: Fix::supervisord_of_user(*uid, &ctl("supervisorctl", &["status"])),
            },
        };
    }
    let found = answer.and_then(|a| a.as_ref().ok()).and_then(|a| {
        supervisord_program_for(&a.text, below).map(|name| (a.program.clone(), name))
    });
    match found {
        Some((program, name)) => {
            // `group:name` addresses one program; a bare name can be a group, or `all`.
            let exact = if name.contains(':') {
                name.clone()
            } else {
                format!("{name}:{name}")
            };
            let argv = ctl(&program, &["stop", &exact]);
            Supervisor {
                kind: SupervisorKind::Supervisord,
                how: StopHow::Command {
                    argv,
                    env: Vec::new(),
                    shown: EnvShown::Implied,
                },
                name: name.into(),
                pid: Some(daemon.pid),
            }
        }
        // Still supervisord's: killed, the bot would only be started again.
        None => Supervisor {
            kind: SupervisorKind::Supervisord,
            name: unnamed(answer, &asked, "program", bot),
            pid: Some(daemon.pid),
            how: StopHow::Manual {
                hint: Fix::supervisord_find_program(
                    &ctl("supervisorctl", &["status"]),
                    &ctl("supervisorctl", &["stop", "GROUP:NAME"]),
                    bot,
                ),
            },
        },
    }
}

/// The program in `supervisorctl status` output (`name  RUNNING  pid 4242, uptime …`) whose pid
/// is one of `below`.
pub fn supervisord_program_for(status: &str, below: &[ProcessRecord]) -> Option<String> {
    status.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let name = words.next()?;
        let rest: Vec<&str> = words.collect();
        let at = rest.iter().position(|w| *w == "pid")?;
        let pid: Pid = rest.get(at + 1)?.trim_end_matches(',').parse().ok()?;
        below.iter().any(|r| r.pid == pid).then(|| name.to_string())
    })
}

/// The process launchd started for a chain: the instance itself or its ancestor whose parent
/// is launchd (pid 1). cron is a job too, but it is cron, not launchd, that starts the bot.
pub(super) fn launchd_job(chain: &[ProcessRecord]) -> Option<&ProcessRecord> {
    chain
        .iter()
        .find(|r| r.ppid == Pid::INIT)
        .filter(|r| !is_cron(&r.argv))
}

/// launchd: the job (not an app, a login session or cron) that started the instance, in its
/// domain, stopped for good there: `bootout` ends it, `disable` keeps a LaunchAgent from
/// coming back at the next login. The system domain needs root.
pub(super) fn launchd(chain: &[ProcessRecord], answers: &Answers) -> Option<Supervisor> {
    let job = launchd_job(chain)?;
    let need = Need::LaunchdJob {
        pid: job.pid,
        uid: job.uid,
    };
    let answer = answers.get(&need)?.as_ref().ok()?;
    let (domain, label) = answer.text.split_once('\t')?;
    let target = format!("{domain}/{label}");
    let argvs: Vec<Vec<String>> = ["bootout", "disable"]
        .iter()
        .map(|verb| vec![answer.program.clone(), verb.to_string(), target.clone()])
        .collect();
    let root = if domain == "system" {
        Root::Needed
    } else {
        Root::NotNeeded
    };
    Some(Supervisor {
        kind: SupervisorKind::Launchd,
        how: StopHow::Commands { argvs, root },
        name: label.into(),
        pid: Some(job.pid),
    })
}

/// The label of the `launchctl list` row (`PID\tStatus\tLabel`) with this pid; apps and ssh
/// sessions, which launchd also lists, keep nothing alive.
pub fn launchd_label_for(list: &str, pid: Pid) -> Option<String> {
    list.lines().find_map(|line| {
        let mut cols = line.split('\t');
        let row_pid: Pid = cols.next()?.trim().parse().ok()?;
        let label = cols.nth(1)?.trim();
        let ignored = ["application.", "com.apple.", "com.openssh.", "com.vix."]
            .iter()
            .any(|p| label.starts_with(p));
        (row_pid == pid && !ignored && !label.is_empty()).then(|| label.to_string())
    })
}
