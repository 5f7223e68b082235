//! What a supervisor means for stopping, on every place: the plan's line for each instance and
//! the refusal when a supervisor cannot be stopped from here.

use std::time::Duration;

use crate::error::Error;
use crate::fix::Fix;
use crate::model::Uid;
use crate::sources::local::BotProcess;
use crate::sources::supervisor::{StopHow, SupervisorKind};

/// One line of the plan: how this instance will be stopped.
pub(super) fn plan_line(i: &BotProcess, grace: Duration) -> String {
    let plain = format!("SIGTERM, SIGKILL after {}s", grace.as_secs());
    let how = match &i.supervisor {
        None => plain,
        Some(s) => match &s.how {
            StopHow::Command { .. }
            | StopHow::AsRoot { .. }
            | StopHow::Commands { .. }
            | StopHow::Manual { .. }
            | StopHow::OtherUser { .. } => format!(
                "`{}` ({} keeps it alive; the {} itself stays up), then {plain}",
                s.stop(),
                s.kind,
                daemon_word(s.kind)
            ),
            StopHow::EndParent { pid, .. } => format!(
                "end its {} pid {pid} first, then {plain}",
                if s.kind == SupervisorKind::Loop {
                    "loop's shell".to_string()
                } else {
                    format!("reloader {}", s.name)
                }
            ),
            StopHow::SignalBot { .. } => format!(
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

/// Whom botctl runs as, where it stops processes (here, or the ssh user on a host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunsAs {
    Root,
    User,
}

impl RunsAs {
    pub(super) fn uid(uid: Uid) -> Self {
        if uid == Uid::ROOT {
            RunsAs::Root
        } else {
            RunsAs::User
        }
    }
}

/// A supervisor botctl cannot stop as the user it runs as: the command to run instead
/// (`over_ssh`: what goes before it on a host; `then`: the botctl command to run after it).
pub(super) fn refusal(
    mine: &[BotProcess],
    runs_as: RunsAs,
    over_ssh: Option<&str>,
    then: &Fix,
) -> Option<Error> {
    let root = runs_as == RunsAs::Root;
    let blocked: Vec<(&BotProcess, String)> = mine
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
                StopHow::OtherUser { uid, .. } => Some((
                    i,
                    format!(
                        "{} of user {uid} keeps it alive; stop it as that user: {}",
                        s.kind,
                        s.stop()
                    ),
                )),
                // Signalled alone, it would only be started again: its daemon must stop it.
                StopHow::Manual { .. } => Some((
                    i,
                    format!(
                        "kept alive by {}; a signal alone would only see {} start it again",
                        crate::ui::describe::supervisor(s),
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
        // Each stop once, in the order of their text.
        fix: Fix::all_then(
            blocked
                .iter()
                .filter_map(|(i, _)| i.supervisor.as_ref())
                .map(|s| match over_ssh {
                    Some(dest) => Fix::over_ssh(dest, s.stop()),
                    None => s.stop(),
                })
                .map(|f| (f.to_string(), f))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_values(),
            then,
        )
        .unwrap_or_else(|| then.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Pid, Uid};
    use crate::sources::supervisor::{ProcessRecord, decide};

    fn instance(cgroup: &str) -> BotProcess {
        let chain = [ProcessRecord {
            pid: Pid(4242),
            ppid: Pid(1),
            uid: Some(Uid(1000)),
            argv: vec!["python3".into(), "bot.py".into()],
        }];
        BotProcess {
            bot: "partner".into(),
            pid: Pid(4242),
            user: "dev".into(),
            uid: Some(Uid(1000)),
            started: None,
            cwd: None,
            cmd: chain[0].argv.clone().into(),
            supervisor: decide(
                &crate::sources::supervisor::parse_cgroup(cgroup),
                &chain,
                &Default::default(),
            ),
            ppid: Some(Pid(1)),
            parent_cmd: Default::default(),
            container: None,
        }
    }

    #[test]
    fn a_system_unit_without_root_is_a_refusal_naming_the_command() {
        let unit = instance("0::/system.slice/partner-bot.service\n");
        let err = refusal(
            std::slice::from_ref(&unit),
            RunsAs::User,
            None,
            &Fix::run(&["botctl", "dev-stop"]),
        )
        .expect("a refusal");
        assert_eq!(err.exit_status(), crate::error::ExitStatus::Found);
        let text = crate::ui::report::with_fixes(&err); // as the user reads it
        assert!(
            text.contains("systemd unit partner-bot.service needs root"),
            "{text}"
        );
        assert!(
            text.contains("fix: sudo systemctl stop partner-bot.service"),
            "{text}"
        );
        assert!(
            refusal(
                std::slice::from_ref(&unit),
                RunsAs::Root,
                None,
                &Fix::run(&["botctl", "dev-stop"])
            )
            .is_none()
        );
        let plain = instance("0::/user.slice/user-1000.slice/session-3.scope\n");
        assert!(
            refusal(
                std::slice::from_ref(&plain),
                RunsAs::User,
                None,
                &Fix::run(&["botctl", "dev-stop"])
            )
            .is_none()
        );
        assert_eq!(
            plan_line(&plain, Duration::from_secs(10)),
            "partner pid 4242: SIGTERM, SIGKILL after 10s"
        );
    }

    #[test]
    fn a_launchd_job_of_the_system_domain_without_root_is_a_refusal() {
        use crate::sources::supervisor::{Answers, Cgroup, Need};
        let chain = [ProcessRecord {
            pid: Pid(4242),
            ppid: Pid(1),
            uid: Some(Uid(0)),
            argv: vec!["python3".into(), "bot.py".into()],
        }];
        let answers = Answers::from([(
            Need::LaunchdJob {
                pid: Pid(4242),
                uid: Some(Uid(0)),
            },
            Ok(crate::sources::supervisor::Answer {
                program: "launchctl".into(),
                text: "system\tcom.lb.partner".into(),
            }),
        )]);
        let mut job = instance("");
        job.supervisor = decide(&Cgroup::Other, &chain, &answers);
        let err = refusal(
            std::slice::from_ref(&job),
            RunsAs::User,
            None,
            &Fix::run(&["botctl", "dev-stop"]),
        )
        .expect("a refusal");
        let text = crate::ui::report::with_fixes(&err); // as the user reads it
        assert!(
            text.contains("launchd job com.lb.partner is in the system domain: it needs root"),
            "{text}"
        );
        assert!(
            text.contains("fix: sudo launchctl bootout system/com.lb.partner && sudo launchctl disable system/com.lb.partner"),
            "{text}"
        );
        assert!(
            refusal(
                std::slice::from_ref(&job),
                RunsAs::Root,
                None,
                &Fix::run(&["botctl", "dev-stop"])
            )
            .is_none()
        );
    }
}
