//! Decisions on fixture text: cgroup files copied from real hosts, real `pm2 jlist`,
//! `supervisorctl status` and `launchctl list` output (tests/fixtures/).

use super::*;

fn cgroup(name: &str) -> Cgroup {
    let path = format!(
        "{}/tests/fixtures/cgroup/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_cgroup(&text)
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/supervisor/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn unit(name: &str, manager: SystemdManager) -> Cgroup {
    Cgroup::Unit {
        unit: name.into(),
        manager,
    }
}

fn rec(pid: u32, ppid: u32, argv: &str) -> ProcessRecord {
    ProcessRecord {
        pid: Pid(pid),
        ppid: Pid(ppid),
        uid: Some(Uid(501)),
        argv: argv.split(' ').map(String::from).collect(),
    }
}

fn rec_argv(pid: u32, ppid: u32, argv: &[&str]) -> ProcessRecord {
    ProcessRecord {
        pid: Pid(pid),
        ppid: Pid(ppid),
        uid: Some(Uid(501)),
        argv: argv.iter().map(|s| s.to_string()).collect(),
    }
}

fn answer(program: &str, text: String) -> Result<Answer, Unanswered> {
    Ok(Answer {
        program: program.into(),
        text,
    })
}

#[test]
fn systemd_units_v1_and_v2() {
    assert_eq!(
        cgroup("v2-system-unit.txt"),
        unit("partner-bot.service", SystemdManager::System)
    );
    assert_eq!(
        cgroup("v1-system-unit.txt"),
        unit("partner-bot.service", SystemdManager::System)
    );
    assert_eq!(
        cgroup("v2-user-unit.txt"),
        unit("bot.service", SystemdManager::User)
    );
    assert_eq!(
        cgroup("v1-user-unit.txt"),
        unit("bot.service", SystemdManager::User)
    );
    assert_eq!(
        cgroup("v2-template-unit.txt"),
        unit("bot@partner.service", SystemdManager::System)
    );
}

#[test]
fn containers_of_every_engine() {
    let docker = "3f2a9c4e1b7d8a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f";
    for file in ["docker-systemd-driver.txt", "docker-cgroupfs-driver.txt"] {
        assert_eq!(
            cgroup(file),
            Cgroup::Container {
                engine: ContainerKind::Docker,
                id: docker.into()
            },
            "{file}"
        );
    }
    assert!(matches!(
        cgroup("podman-rootless.txt"),
        Cgroup::Container { engine: ContainerKind::Podman, id } if id.starts_with("9b1c2d3e4f5a")
    ));
    for file in ["kubepods-systemd.txt", "kubepods-cgroupfs.txt"] {
        assert!(
            matches!(
                cgroup(file),
                Cgroup::Container { engine: ContainerKind::Kubernetes, ref id } if id.starts_with("7d3e2f1a0b9c")
            ),
            "{file}: {:?}",
            cgroup(file)
        );
    }
}

#[test]
fn sessions_and_app_scopes_are_no_supervisor() {
    for file in [
        "login-session.txt",
        "desktop-app-scope.txt",
        "terminal-tab-scope.txt",
        "init-scope.txt",
        "inside-container.txt",
    ] {
        assert_eq!(cgroup(file), Cgroup::Other, "{file}");
    }
    assert_eq!(
        parse_cgroup("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n"),
        Cgroup::Other
    );
    assert_eq!(
        parse_cgroup("0::/system.slice/bot.service/payload\n"),
        unit("bot.service", SystemdManager::System),
        "a sub-group the unit delegated"
    );
    assert_eq!(parse_cgroup(""), Cgroup::Other);
    assert_eq!(parse_cgroup("garbage"), Cgroup::Other);
}

#[test]
fn unit_and_container_supervisors_with_their_stop_commands() {
    let bot = [rec(4242, 1, "/usr/bin/python3 /srv/lb/bot.py")];
    let s = decide(&cgroup("v2-system-unit.txt"), &bot, &Answers::new()).unwrap();
    assert_eq!(s.kind, SupervisorKind::Systemd);
    assert_eq!(s.stop(), "sudo systemctl stop partner-bot.service");
    assert!(matches!(s.how, StopHow::AsRoot { .. }));
    let s = decide(&cgroup("v2-user-unit.txt"), &bot, &Answers::new()).unwrap();
    assert_eq!(s.kind, SupervisorKind::SystemdUser);
    assert_eq!(s.stop(), "systemctl --user stop bot.service");
    let s = decide(&cgroup("docker-cgroupfs-driver.txt"), &bot, &Answers::new()).unwrap();
    assert_eq!(
        (s.kind, s.name.raw()),
        (SupervisorKind::Docker, "3f2a9c4e1b7d")
    );
    assert_eq!(s.stop(), "docker stop 3f2a9c4e1b7d");
    // With the engine's answer, by its name.
    let cg = cgroup("docker-systemd-driver.txt");
    let need = needs(&cg, &bot);
    assert!(
        matches!(
            &need[..],
            [Need::ContainerName {
                engine: ContainerKind::Docker,
                ..
            }]
        ),
        "{need:?}"
    );
    let answers = Answers::from([(need[0].clone(), answer("docker", "/partner-bot\n".into()))]);
    let s = decide(&cg, &bot, &answers).unwrap();
    assert_eq!(
        (s.name.raw(), s.stop().to_string().as_str()),
        ("partner-bot", "docker stop partner-bot")
    );
    assert_eq!(container_name("garbage with spaces"), None);
    let s = decide(&cgroup("podman-rootless.txt"), &bot, &Answers::new()).unwrap();
    assert_eq!(s.stop(), "podman stop 9b1c2d3e4f5a");
    assert_eq!(
        decide(&cgroup("login-session.txt"), &bot, &Answers::new()),
        None
    );
    let json = serde_json::to_value(crate::ui::json::SupervisorJson::new(
        &decide(&cgroup("v2-user-unit.txt"), &bot, &Answers::new()).unwrap(),
    ))
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "systemd-user", "name": "bot.service", "pid": null,
                           "stop": "systemctl --user stop bot.service"})
    );
}

#[test]
fn supervisord_program_from_its_status_with_the_daemons_config() {
    let chain = [
        rec(4242, 812, "python3 bot.py"),
        rec(
            812,
            1,
            "/usr/bin/python3 /usr/bin/supervisord -n -c /etc/supervisor/supervisord.conf",
        ),
    ];
    // A supervisord run as a system unit: the unit is the daemon's own, not the bot's.
    let cg = unit("supervisor.service", SystemdManager::System);
    let needs = needs(&cg, &chain);
    let need = Need::SupervisorStatus {
        ctl: Some("/usr/bin/supervisorctl".into()),
        conf: Some("/etc/supervisor/supervisord.conf".into()),
        owner: Some(Uid(501)),
    };
    assert_eq!(needs, vec![need.clone()]);
    let answers = Answers::from([(
        need,
        answer("supervisorctl", fixture("supervisorctl-status.txt")),
    )]);
    let s = decide(&cg, &chain, &answers).unwrap();
    assert_eq!(s.kind, SupervisorKind::Supervisord);
    assert_eq!((s.name.raw(), s.pid), ("partner", Some(Pid(812))));
    assert_eq!(
        s.stop(),
        "supervisorctl -c /etc/supervisor/supervisord.conf stop partner:partner"
    );
    assert_eq!(
        serde_json::to_value(crate::ui::json::SupervisorJson::new(&s)).unwrap(),
        serde_json::json!({"kind": "supervisord", "name": "partner", "pid": 812,
            "stop": "supervisorctl -c /etc/supervisor/supervisord.conf stop partner:partner"})
    );
    // A group member, reached through a shell between daemon and bot.
    let chain = [
        rec(4251, 4250, "python3 client_handler.py"),
        rec(4250, 812, "sh -c python3 client_handler.py"),
        rec(812, 1, "supervisord --configuration=/x/s.conf"),
    ];
    let need = Need::SupervisorStatus {
        ctl: None,
        conf: Some("/x/s.conf".into()),
        owner: Some(Uid(501)),
    };
    let answers = Answers::from([(
        need,
        answer("supervisorctl", fixture("supervisorctl-status.txt")),
    )]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(s.name, "bots:client");
    // supervisorctl could not answer: still named, stopped by hand.
    let s = decide(&Cgroup::Other, &chain, &Answers::new()).unwrap();
    assert_eq!(s.kind, SupervisorKind::Supervisord);
    assert!(matches!(s.how, StopHow::Manual { .. }), "{:?}", s.how);
}

#[test]
fn pm2_app_from_jlist_with_the_daemons_home() {
    let chain = [
        rec(4242, 700, "python3 bot.py"),
        rec_argv(700, 1, &["PM2 v5.3.0: God Daemon (/srv/pm2home)"]),
    ];
    let need = Need::Pm2List {
        home: "/srv/pm2home".into(),
        owner: Some(Uid(501)),
    };
    assert_eq!(needs(&Cgroup::Other, &chain), vec![need.clone()]);
    let answers = Answers::from([(need, answer("pm2", fixture("pm2-jlist.txt")))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(
        (s.kind, s.name.raw(), s.pid),
        (SupervisorKind::Pm2, "partner", Some(Pid(700)))
    );
    assert_eq!(s.stop(), "PM2_HOME=/srv/pm2home pm2 stop 0");
    assert_eq!(
        s.how,
        StopHow::Command {
            argv: vec!["pm2".into(), "stop".into(), "0".into()],
            env: vec![("PM2_HOME".into(), "/srv/pm2home".into())],
            shown: EnvShown::Typed,
        }
    );
    // The default home needs no PM2_HOME.
    let chain = [
        rec(4242, 700, "python3 bot.py"),
        rec_argv(700, 1, &["PM2 v5.3.0: God Daemon (/home/dev/.pm2)"]),
    ];
    let need = Need::Pm2List {
        home: "/home/dev/.pm2".into(),
        owner: Some(Uid(501)),
    };
    let answers = Answers::from([(need, answer("pm2", fixture("pm2-jlist.txt")))]);
    assert_eq!(
        decide(&Cgroup::Other, &chain, &answers).unwrap().stop(),
        "pm2 stop 0"
    );
}

#[test]
fn a_daemon_that_does_not_answer_is_still_the_supervisor_unnamed_with_why() {
    let chain = [
        rec(4242, 700, "python3 bot.py"),
        rec_argv(700, 1, &["PM2 v5.3.0: God Daemon (/srv/pm2home)"]),
    ];
    let need = Need::Pm2List {
        home: "/srv/pm2home".into(),
        owner: Some(Uid(501)),
    };
    let late = "`pm2 jlist` did not finish within 10s and was stopped";
    let timed_out = crate::process::ExecError::TimedOut {
        command: "pm2 jlist".into(),
        after: std::time::Duration::from_secs(10),
    };
    let answers = Answers::from([(need, Err(Unanswered::NotRun(timed_out)))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!((s.kind, s.pid), (SupervisorKind::Pm2, Some(Pid(700))));
    assert_eq!(s.name, Name::Unknown { why: late.into() });
    assert!(matches!(s.how, StopHow::Manual { .. }), "{:?}", s.how);
    assert_eq!(
        s.stop(),
        "PM2_HOME=/srv/pm2home pm2 list   # find the app with pid 4242, then: \
PM2_HOME=/srv/pm2home pm2 stop ID"
    );
    assert_eq!(
        serde_json::to_value(crate::ui::json::SupervisorJson::new(&s)).unwrap(),
        serde_json::json!({"kind": "pm2", "name": null, "pid": 700, "stop": s.stop()})
    );
    // An answer that lists other apps only names none either.
    let need = Need::Pm2List {
        home: "/srv/pm2home".into(),
        owner: Some(Uid(501)),
    };
    let answers = Answers::from([(need, answer("pm2", "[]".into()))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(
        s.name,
        Name::Unknown {
            why: "`pm2 jlist` lists no app with pid 4242".into()
        }
    );

    let chain = [
        rec(4242, 812, "python3 bot.py"),
        rec(
            812,
            1,
            "/usr/bin/python3 /usr/bin/supervisord -c /etc/s.conf",
        ),
    ];
    let need = needs(&Cgroup::Other, &chain).pop().unwrap();
    let answers = Answers::from([(need, Err(Unanswered::SaidOnHost("no answer".into())))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(
        (s.kind, s.pid),
        (SupervisorKind::Supervisord, Some(Pid(812)))
    );
    assert_eq!(
        s.name,
        Name::Unknown {
            why: "no answer".into()
        }
    );
    assert_eq!(
        s.stop(),
        "supervisorctl -c /etc/s.conf status   # find the program with pid 4242, then: \
supervisorctl -c /etc/s.conf stop GROUP:NAME"
    );
}

#[test]
fn another_users_daemon_is_named_not_asked() {
    // The daemon is uid 12345's; the answers say so (its client is never run for it).
    let chain = [
        rec(4242, 812, "python3 bot.py"),
        ProcessRecord {
            uid: Some(Uid(12345)),
            ..rec(812, 1, "/home/other/bin/supervisord -c /home/other/s.conf")
        },
    ];
    let need = Need::SupervisorStatus {
        ctl: Some("/home/other/bin/supervisorctl".into()),
        conf: Some("/home/other/s.conf".into()),
        owner: Some(Uid(12345)),
    };
    assert_eq!(needs(&Cgroup::Other, &chain), vec![need.clone()]);
    let answers = Answers::from([(need, Err(Unanswered::OtherUser { uid: Uid(12345) }))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert!(
        matches!(
            s.how,
            StopHow::OtherUser {
                uid: Uid(12345),
                ..
            }
        ),
        "{:?}",
        s.how
    );
    assert!(
        s.stop().to_string().contains("supervisord of user 12345"),
        "{}",
        s.stop()
    );
    let chain = [
        rec(4242, 700, "python3 bot.py"),
        ProcessRecord {
            uid: Some(Uid(12345)),
            ..rec_argv(700, 1, &["PM2 v5.3.0: God Daemon (/home/other/.pm2)"])
        },
    ];
    let need = Need::Pm2List {
        home: "/home/other/.pm2".into(),
        owner: Some(Uid(12345)),
    };
    let answers = Answers::from([(need, Err(Unanswered::OtherUser { uid: Uid(12345) }))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert!(
        matches!(
            s.how,
            StopHow::OtherUser {
                uid: Uid(12345),
                ..
            }
        ),
        "{:?}",
        s.how
    );
    assert!(
        s.stop()
            .to_string()
            .starts_with("sudo -u '#12345' pm2 list"),
        "{}",
        s.stop()
    );
}

#[test]
fn a_program_named_all_is_addressed_alone() {
    let chain = [
        rec(4242, 812, "python3 bot.py"),
        rec(812, 1, "supervisord -c /x/s.conf"),
    ];
    let need = Need::SupervisorStatus {
        ctl: None,
        conf: Some("/x/s.conf".into()),
        owner: Some(Uid(501)),
    };
    let status = "all                              RUNNING   pid 4242, uptime 0:01:00\n\
                  other                            RUNNING   pid 4300, uptime 0:01:00\n";
    let answers = Answers::from([(need, answer("supervisorctl", status.into()))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(s.stop(), "supervisorctl -c /x/s.conf stop all:all");
    // pm2: by id, whatever the name (`all`, a number, a shell trick).
    let jlist =
        r#"[{"name": "all", "pm_id": 7, "pid": 4242}, {"name": "0", "pm_id": 0, "pid": 1}]"#;
    let app = pm2_app_for(jlist, &chain[..1]).unwrap();
    assert_eq!((app.name.as_str(), app.id), ("all", 7));
    let chain = [
        rec(4242, 700, "python3 bot.py"),
        rec_argv(700, 1, &["PM2 v5.3.0: God Daemon (/srv/pm 2)"]),
    ];
    let need = Need::Pm2List {
        home: "/srv/pm 2".into(),
        owner: Some(Uid(501)),
    };
    let answers = Answers::from([(need, answer("pm2", jlist.into()))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(s.stop(), "PM2_HOME='/srv/pm 2' pm2 stop 7");
}

#[test]
fn watch_modes_are_reloaders() {
    for parent in [
        "node --watch bot.js",
        "node --watch-path=src bot.js",
        "tsx watch bot.ts",
        "node /p/node_modules/.bin/tsx watch bot.ts",
    ] {
        let chain = [rec(4242, 900, "node bot.js"), rec(900, 1, parent)];
        let s = decide(&Cgroup::Other, &chain, &Answers::new()).unwrap();
        assert_eq!(
            (s.kind, s.pid, s.how),
            (
                SupervisorKind::Reloader,
                Some(Pid(900)),
                StopHow::EndParent {
                    pid: Pid(900),
                    bot: Pid(4242)
                }
            ),
            "{parent}"
        );
    }
    // bun and deno watch in the bot's own process.
    for own in [
        "bun --watch bot.ts",
        "bun --hot run bot.ts",
        "deno run --watch -A bot.ts",
    ] {
        let chain = [rec(4242, 1, own)];
        let s = decide(&Cgroup::Other, &chain, &Answers::new()).unwrap();
        assert_eq!(
            (s.kind, s.pid),
            (SupervisorKind::Reloader, Some(Pid(4242))),
            "{own}"
        );
    }
    // A plain node parent is nothing.
    let chain = [rec(4242, 900, "node bot.js"), rec(900, 1, "bash")];
    assert_eq!(decide(&Cgroup::Other, &chain, &Answers::new()), None);
}

#[test]
fn launchd_job_from_launchctl_list() {
    let list = fixture("launchctl-list.txt");
    assert_eq!(
        launchd_label_for(&list, Pid(4242)).as_deref(),
        Some("com.lb.partner")
    );
    assert_eq!(
        launchd_label_for(&list, Pid(612)),
        None,
        "com.apple jobs are the system's"
    );
    assert_eq!(
        launchd_label_for(&list, Pid(1187)),
        None,
        "a terminal app keeps nothing alive"
    );
    // The job is the instance (its parent is launchd), in the domain `print` found.
    let chain = [rec(4242, 1, "/usr/local/bin/python3 /Users/dev/lb/bot.py")];
    let need = Need::LaunchdJob {
        pid: Pid(4242),
        uid: Some(Uid(501)),
    };
    assert!(needs(&Cgroup::Other, &chain).contains(&need));
    let answers = Answers::from([(
        need.clone(),
        answer("launchctl", "gui/501\tcom.lb.partner".into()),
    )]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(
        (s.kind, s.name.raw()),
        (SupervisorKind::Launchd, "com.lb.partner")
    );
    assert_eq!(
        s.stop(),
        "launchctl bootout gui/501/com.lb.partner && launchctl disable gui/501/com.lb.partner"
    );
    assert!(matches!(
        s.how,
        StopHow::Commands {
            root: Root::NotNeeded,
            ..
        }
    ));
    // A daemon of the system domain: the same pair, with sudo.
    let answers = Answers::from([(need, answer("launchctl", "system\tcom.lb.partner".into()))]);
    let s = decide(&Cgroup::Other, &chain, &answers).unwrap();
    assert_eq!(
        s.stop(),
        "sudo launchctl bootout system/com.lb.partner && sudo launchctl disable system/com.lb.partner"
    );
    assert!(matches!(
        s.how,
        StopHow::Commands {
            root: Root::Needed,
            ..
        }
    ));
    // Started from Terminal: the job (Terminal.app, whose parent is launchd) is an app.
    let chain = [
        rec(5000, 1190, "python3 bot.py"),
        rec(1190, 1187, "-zsh"),
        rec(
            1187,
            1,
            "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal",
        ),
    ];
    assert_eq!(launchd_label_for(&list, Pid(1187)), None);
    assert_eq!(decide(&Cgroup::Other, &chain, &Answers::new()), None);
}

/// Under sudo, `launchctl list` is the system domain's, where cron is the job com.vix.cron:
/// a bot cron started is cron's, and the job asked about is never an ancestor further up.
#[test]
fn a_cron_started_bot_is_crons_not_the_launchd_job_com_vix_cron() {
    let list = fixture("launchctl-list-system.txt");
    assert_eq!(
        launchd_label_for(&list, Pid(312)),
        None,
        "com.vix.cron is cron"
    );
    let chain = [
        rec(5000, 4990, "python3 bot.py"),
        rec(4990, 4980, "/bin/sh -c cd ~/lb && python3 bot.py"),
        rec(4980, 312, "/usr/sbin/cron"),
        rec(312, 1, "/usr/sbin/cron"),
    ];
    assert!(
        !needs(&Cgroup::Other, &chain)
            .iter()
            .any(|n| matches!(n, Need::LaunchdJob { .. })),
        "cron is not a launchd job to ask about"
    );
    let s = decide(&Cgroup::Other, &chain, &Answers::new()).unwrap();
    assert_eq!(s.kind, SupervisorKind::Cron);
    // A job whose process is an ancestor but not the one launchd started (the bot's own parent
    // is an ssh session's shell): only the process whose parent is pid 1 is asked about.
    let chain = [
        rec(6000, 5990, "python3 bot.py"),
        rec(5990, 5980, "-zsh"),
        rec(5980, 88, "sshd-session: dev@ttys001"),
        rec(88, 1, "/usr/sbin/sshd -i"),
    ];
    let jobs: Vec<Need> = needs(&Cgroup::Other, &chain)
        .into_iter()
        .filter(|n| matches!(n, Need::LaunchdJob { .. }))
        .collect();
    assert_eq!(
        jobs,
        [Need::LaunchdJob {
            pid: Pid(88),
            uid: Some(Uid(501))
        }]
    );
}

#[test]
fn loops_reloaders_and_cron() {
    let loop_chain = [
        rec(4242, 900, "python3 bot.py"),
        rec_argv(
            900,
            800,
            &[
                "bash",
                "-c",
                "while true; do python3 bot.py; sleep 0.3; done",
            ],
        ),
        rec(800, 1, "-bash"),
    ];
    let s = decide(&cgroup("login-session.txt"), &loop_chain, &Answers::new()).unwrap();
    assert_eq!(
        (s.kind, s.name.raw(), s.pid),
        (SupervisorKind::Loop, "900", Some(Pid(900)))
    );
    assert_eq!(
        s.how,
        StopHow::EndParent {
            pid: Pid(900),
            bot: Pid(4242)
        }
    );
    assert_eq!(s.stop(), "kill 900 4242");

    // A script file with a loop.
    let script_chain = [
        rec(4242, 901, "python3 bot.py"),
        rec(901, 1, "/bin/sh ./run.sh"),
    ];
    let needs = needs(&Cgroup::Other, &script_chain);
    let need = Need::Script {
        pid: Pid(901),
        uid: script_chain[1].uid,
        path: "./run.sh".into(),
    };
    assert!(needs.contains(&need), "{needs:?}");
    let answers = Answers::from([(
        need.clone(),
        answer(
            "",
            "#!/bin/sh\nuntil python3 bot.py; do\n  sleep 1\ndone\n".into(),
        ),
    )]);
    assert_eq!(
        decide(&Cgroup::Other, &script_chain, &answers)
            .unwrap()
            .kind,
        SupervisorKind::Loop
    );
    let answers = Answers::from([(
        need,
        answer(
            "",
            "#!/bin/sh\ncd /srv && exec python3 bot.py # no while here\n".into(),
        ),
    )]);
    assert_eq!(decide(&Cgroup::Other, &script_chain, &answers), None);

    for (argv, name) in [
        (
            vec![
                "/venv/bin/python",
                "/venv/bin/watchmedo",
                "auto-restart",
                "--",
                "python3",
                "bot.py",
            ],
            "watchmedo",
        ),
        (
            vec![
                "node",
                "/usr/lib/node_modules/nodemon/bin/nodemon.js",
                "bot.py",
            ],
            "nodemon",
        ),
        (
            vec!["/venv/bin/python3", "-m", "hupper", "-m", "bot"],
            "hupper",
        ),
        (vec!["/venv/bin/watchfiles", "python3 bot.py"], "watchfiles"),
    ] {
        let chain = [rec(4242, 950, "python3 bot.py"), rec_argv(950, 1, &argv)];
        let s = decide(&Cgroup::Other, &chain, &Answers::new()).unwrap();
        assert_eq!(
            (s.kind, s.name.raw()),
            (SupervisorKind::Reloader, name),
            "{argv:?}"
        );
    }
    let chain = [
        rec(4242, 960, "python3 bot.py"),
        rec_argv(960, 959, &["/bin/sh", "-c", "cd ~/lb && python3 bot.py"]),
        rec(959, 300, "/usr/sbin/CRON -f"),
        rec(300, 1, "/usr/sbin/cron -f"),
    ];
    let s = decide(&Cgroup::Other, &chain, &Answers::new()).unwrap();
    assert_eq!((s.kind, s.pid), (SupervisorKind::Cron, Some(Pid(959))));
    assert!(
        matches!(s.how, StopHow::SignalBot { bot: Pid(4242), .. }),
        "{:?}",
        s.how
    );

    // A unit around a loop: stopping the unit is what lasts.
    let s = decide(
        &unit("bot.service", SystemdManager::User),
        &loop_chain,
        &Answers::new(),
    )
    .unwrap();
    assert_eq!(s.kind, SupervisorKind::SystemdUser);
}

#[test]
fn terminals_tmux_screen_and_nohup_are_no_supervisor() {
    for chain in [
        vec![
            rec(4242, 800, "python3 bot.py"),
            rec(800, 700, "-bash"),
            rec(700, 1, "sshd: dev@pts/0"),
        ],
        vec![
            rec(4242, 800, "python3 bot.py"),
            rec(800, 700, "bash"),
            rec(700, 1, "tmux new -s bots"),
        ],
        vec![
            rec(4242, 800, "python3 bot.py"),
            rec(800, 700, "/bin/bash"),
            rec(700, 1, "SCREEN -S bots"),
        ],
        vec![rec(4242, 1, "python3 bot.py")],
        vec![
            rec_argv(4242, 800, &["python3", "bot.py"]),
            rec_argv(800, 1, &["bash", "-c", "nohup python3 bot.py &"]),
        ],
    ] {
        assert_eq!(
            decide(&cgroup("login-session.txt"), &chain, &Answers::new()),
            None,
            "{chain:?}"
        );
    }
}

#[test]
fn shell_code_that_loops() {
    assert!(loops("while true; do python3 bot.py; done"));
    assert!(loops("for i in 1 2 3; do python3 bot.py; done"));
    assert!(loops("until python3 bot.py; do sleep 1; done"));
    assert!(!loops("python3 bot.py # while"));
    assert!(!loops("python3 awhile.py"));
}

#[test]
fn daemon_titles_and_configs() {
    let argv = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert_eq!(
        pm2_home(&argv(&["PM2 v6.0.9: God Daemon (/root/.pm2)"])).as_deref(),
        Some("/root/.pm2")
    );
    assert_eq!(pm2_home(&argv(&["node", "pm2"])), None);
    assert!(is_supervisord(&argv(&[
        "/usr/bin/python3",
        "/usr/bin/supervisord",
        "-n"
    ])));
    assert!(!is_supervisord(&argv(&["supervisorctl", "status"])));
    assert_eq!(
        supervisord_conf(&argv(&["supervisord", "-c/x.conf"])).as_deref(),
        Some("/x.conf")
    );
    assert_eq!(supervisord_conf(&argv(&["supervisord", "-n"])), None);
}
