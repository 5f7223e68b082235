//! What a Mac meets, shown on Linux where it can be: a process whose argv cannot be read,
//! containers known only to the engine (a fake `docker` whose output is copied from docker 27),
//! launchd jobs in their domains (a fake `launchctl`), XML and binary plists.

use serde_json::Value;
use test_support::config::{Bot, Toml};
use test_support::*;

fn partner(world: &World) -> Toml {
    Toml::new().bot(Bot::script("partner", &world.script("bot.py")))
}

/// Unreadable is not absent. macOS lets only root read another user's argv; on Linux the same
/// happens when `/proc/PID/cmdline` is not readable. This test makes exactly that: another
/// user's real `python3 SCRIPT`, and botctl run in its own mount namespace where that
/// process's cmdline has a root-owned mode-000 file bound over it, as root without any
/// capability (so file permissions hold for it). The kernel still tells the executable's name
/// (`python3…` in /proc/PID/stat) and its owner, as `proc_pidinfo` does on a Mac.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root"]
fn another_users_python_whose_argv_cannot_be_read_makes_the_verdict_unknown() {
    require_root("binds a file over another process's /proc/PID/cmdline");
    let world = World::configured(partner);
    let script = world.script("bot.py");
    let shared = tempfile::Builder::new()
        .prefix("botctl-other-")
        .tempdir()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = shared.path().join(&script);
    std::fs::write(&path, SLEEPER).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let other = world.spawn_showing(
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "python3",
            &script,
        ],
        shared.path(),
        &["python3", &script],
    );
    // Readable: another user's copy is seen; outside the project, whose it is cannot be told.
    let seen = world.run(&["status", "--json"]);
    let bot = &seen.json()["bots"][0];
    assert_eq!(bot["verdict"], "unknown", "{}", seen.stdout);
    assert_eq!(bot["maybe"][0]["pid"], other.pid());

    let mask = world.path("masked-cmdline");
    std::fs::write(&mask, "").unwrap();
    std::fs::set_permissions(&mask, std::fs::Permissions::from_mode(0o000)).unwrap();
    let pid = other.pid().to_string();
    let mask_arg = mask.display().to_string();
    let wrapper = [
        "unshare",
        "--mount",
        "sh",
        "-c",
        "mount --bind \"$1\" \"/proc/$2/cmdline\" && shift 2 && \
         exec setpriv --bounding-set=-all --inh-caps=-all \"$@\"",
        "sh",
        &mask_arg,
        &pid,
    ];
    let hidden = world.run_under(&wrapper, &["status", "--json"]);
    let bot = &hidden.json()["bots"][0];
    assert_eq!(bot["verdict"], "unknown", "{}", hidden.all_output());
    assert_eq!(bot["local"], Value::Array(vec![]));
    let human = world.run_under(&wrapper, &["status"]);
    human.expect_code(0).expect_stdout(
        "local (partner): 1 process of another user could not be read: run `sudo botctl status`",
    );
    assert!(human.stdout.contains("unknown"), "{}", human.stdout);
}

/// The docker 27 inspect document of a compose service running `python3 SCRIPT` as `pid`.
fn compose_container(script: &str, pid: u32) -> Value {
    let text = std::fs::read_to_string(
        workspace_root().join("tests/fixtures/docker/inspect-compose.json"),
    )
    .unwrap()
    .replace("@SCRIPT@", script)
    .replace("@PID@", &pid.to_string());
    let docs: Value = serde_json::from_str(&text).unwrap();
    docs[0].clone()
}

/// The same fixture, as another container that runs no bot (a database).
fn database_container() -> Value {
    let mut db = compose_container("unused.py", 4100);
    db["Id"] = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d".into();
    db["Name"] = "/lb-db-1".into();
    db["Config"]["Cmd"] = serde_json::json!(["postgres"]);
    db["Config"]["Entrypoint"] = serde_json::json!(["docker-entrypoint.sh"]);
    db["Config"]["Labels"]["com.docker.compose.service"] = "db".into();
    db
}

/// The token in the fixture's `Config.Env`.
const ENV_TOKEN: &str = "7312345678:AAHfakeTokenNeverPrintedXyZ0123456789ab";

/// A pid no process of this machine has (above the kernel's pid_max): where the VM of Docker
/// Desktop, OrbStack or colima runs the bot, as seen from a Mac.
fn vm_pid() -> u32 {
    let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(4_194_304);
    max + 17
}

#[test]
fn a_bot_in_a_container_outside_the_process_table_is_an_instance_stopped_through_compose() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    let pid = vm_pid();
    world.docker_state(serde_json::json!({
        "engine": "running",
        "containers": [database_container(), compose_container(&script, pid)],
    }));
    let run = world.run(&["status", "--json"]);
    run.expect_code(0);
    let bot = &run.json()["bots"][0];
    assert_eq!(bot["verdict"], "ok", "{}", run.stdout);
    assert_eq!(bot["local"].as_array().unwrap().len(), 1, "{}", run.stdout);
    let instance = &bot["local"][0];
    assert_eq!(instance["pid"], pid);
    assert_eq!(instance["cmd"], serde_json::json!(["python3", script]));
    assert_eq!(instance["cwd"], "/app");
    assert_eq!(instance["supervisor"]["kind"], "docker");
    assert_eq!(instance["supervisor"]["name"], "lb-partner-1");
    assert_eq!(
        instance["supervisor"]["stop"],
        "docker compose -p lb stop partner"
    );
    assert_eq!(
        instance["container"],
        serde_json::json!({"name": "lb-partner-1", "project": "lb", "service": "partner",
                           "restart": "unless-stopped"})
    );

    let human = world.run(&["-vv", "status"]);
    human.expect_stdout(&format!(
        "local container pid {pid} `python3 {script}` (root, in /app"
    ));
    human.expect_stdout(
        "kept alive by container lb-partner-1 (compose lb/partner, restart unless-stopped); \
         stop: docker compose -p lb stop partner",
    );
    let doctor = world.run(&["-vv", "doctor"]);
    for out in [&run, &human, &doctor] {
        let all = out.all_output();
        assert!(
            !all.contains(ENV_TOKEN),
            "the token of Config.Env was printed:\n{all}"
        );
        assert!(
            !all.contains("AAHfakeToken"),
            "part of the token was printed:\n{all}"
        );
    }
    // botctl asks for named fields only: Env is never among them.
    let inspects: Vec<Vec<String>> = world
        .docker_calls()
        .into_iter()
        .filter(|c| c[0] == "inspect")
        .collect();
    assert!(!inspects.is_empty());
    assert!(
        inspects
            .iter()
            .all(|c| c[1] == "--format" && !c[2].contains("Env"))
    );

    // dev-stop stops it through compose, and signals nothing (the pid is the VM's).
    let stop = world.run(&["dev-stop", "--yes"]);
    stop.expect_code(0);
    assert!(
        world.docker_calls().contains(
            &["compose", "-p", "lb", "stop", "partner"]
                .map(String::from)
                .to_vec()
        ),
        "{:?}\n{}",
        world.docker_calls(),
        stop.all_output()
    );
    stop.expect_stdout("ran `docker compose -p lb stop partner`");
    let after = world.run(&["status", "--json"]);
    assert_eq!(
        after.json()["bots"][0]["verdict"],
        "stopped",
        "{}",
        after.stdout
    );
}

/// One place decides a place's fix: for a container seen only through the engine (its pid is
/// the VM's), exec's refusal names the fix status shows, never `kill` of a pid no one here
/// can reach.
#[test]
fn exec_names_a_containers_fix_as_status_does() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    let pid = vm_pid();
    world.docker_state(serde_json::json!({
        "engine": "running",
        "containers": [compose_container(&script, pid)],
    }));
    let status = world.run(&["status", "--json"]);
    let stop = status.json()["bots"][0]["local"][0]["supervisor"]["stop"].clone();
    assert_eq!(
        stop, "docker compose -p lb stop partner",
        "{}",
        status.stdout
    );
    let run = world.run(&["exec", "partner", "--", "true"]);
    run.expect_code(1)
        .expect_stderr("fix: docker compose -p lb stop partner");
    assert!(
        !run.stderr.contains(&format!("kill {pid}")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_stopped_engine_is_not_checked_not_an_error() {
    let world = World::configured(partner);
    world.docker_state(serde_json::json!({"engine": "down"}));
    let run = world.run(&["status"]);
    run.expect_code(0);
    run.expect_stdout("Not checked:");
    run.expect_stdout("  docker: the Docker engine is not running");
    let json = world.run(&["status", "--json"]);
    assert_eq!(
        json.json()["bots"][0]["verdict"],
        "stopped",
        "{}",
        json.stdout
    );
    let doctor = world.run(&["doctor", "--json"]);
    let json = doctor.json();
    // Not checked is never ✓.
    let container = expect_finding(&json, "container", Level::Warn).one();
    assert_eq!(
        container["message"],
        "containers not checked: the Docker engine is not running"
    );
}

/// Linux: a container's process is also in the process table, its cgroup naming the
/// container. Here a real `python3 SCRIPT` is put into the cgroup docker's cgroupfs driver makes
/// (`/docker/ID`), and the fake engine reports that container with that pid: one instance.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root"]
fn a_container_seen_in_the_process_table_and_by_the_engine_is_one_instance() {
    require_root("moves a process into a cgroup");
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let bot = world.spawn(&["python3", &script], world.root());
    let doc = compose_container(&script, bot.pid());
    let id = doc["Id"].as_str().unwrap().to_string();
    let hierarchy = [
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup",
    ]
    .into_iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.join("cgroup.procs").exists())
    .expect("a cgroup hierarchy");
    // A tag of this world's own, so concurrent runs never share the cgroup.
    let group = hierarchy.join("docker").join(&id);
    let _ = std::fs::create_dir_all(&group);
    std::fs::write(group.join("cgroup.procs"), bot.pid().to_string()).unwrap();
    struct Back(std::path::PathBuf, std::path::PathBuf, u32);
    impl Drop for Back {
        fn drop(&mut self) {
            let _ = std::fs::write(self.0.join("cgroup.procs"), self.2.to_string());
            let _ = std::fs::remove_dir(&self.1);
        }
    }
    let _back = Back(hierarchy.clone(), group.clone(), bot.pid());
    let cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", bot.pid())).unwrap();
    assert!(cgroup.contains(&format!("/docker/{id}")), "{cgroup}");
    world.docker_state(serde_json::json!({"engine": "running", "containers": [doc]}));
    let run = world.run(&["status", "--json"]);
    let local = run.json()["bots"][0]["local"].clone();
    assert_eq!(local.as_array().unwrap().len(), 1, "{}", run.stdout);
    assert_eq!(local[0]["pid"], bot.pid());
    assert_eq!(local[0]["cwd"], world.root().display().to_string());
    assert_eq!(
        local[0]["supervisor"]["stop"],
        "docker compose -p lb stop partner"
    );
    assert_eq!(run.json()["bots"][0]["verdict"], "ok");
}

// ------------------------------------------------------------------------------------------
// launchd, through a fake launchctl

/// `python3 SCRIPT` whose parent is pid 1 (the subshell that started it exits), as a launchd
/// job's process is; with the shell that ran it (whose group it keeps, so it goes on drop).
/// Fails where orphans go to a subreaper instead (a desktop's `systemd --user`): the tests
/// that need it are ignored with that reason and run by `cargo xtask ci`.
pub(crate) fn orphaned_bot(world: &World, script: &str) -> (Proc, u32) {
    let starter = world.spawn_showing(
        &[
            "sh",
            "-c",
            &format!("(python3 {script} >/dev/null 2>&1 &); exec sleep 600"),
        ],
        world.root(),
        &["sleep", "600"],
    );
    let mut pid = None;
    let found = wait_until(std::time::Duration::from_secs(10), || {
        pid = world
            .pids_with_arg(script)
            .into_iter()
            .find(|p| cmdline(*p).is_some_and(|a| a[0] == "python3"));
        pid.is_some()
    });
    assert!(found, "the orphaned bot never showed up");
    let pid = pid.unwrap();
    let facts =
        botctl::proc::facts(botctl::proc::Backend::native(), botctl::proc::Pid(pid)).unwrap();
    assert_eq!(
        facts.ppid,
        botctl::proc::Pid::INIT,
        "orphans here are adopted by pid {}, not pid 1 (a subreaper): this test cannot run \
here; leave out --include-ignored",
        facts.ppid
    );
    (starter, pid)
}

/// Puts the fake launchctl on the world's PATH, answering `list` with `list` and `print`
/// for `jobs` (target → pid).
pub(crate) fn fake_launchctl(world: &World, list: &str, jobs: &[(&str, u32)]) {
    std::os::unix::fs::symlink(fake("launchctl"), world.bin().join("launchctl")).unwrap();
    let print =
        std::fs::read_to_string(workspace_root().join("tests/fixtures/launchd/print-gui-job.txt"))
            .unwrap();
    let jobs: serde_json::Map<String, Value> = jobs
        .iter()
        .map(|(target, pid)| {
            (
                target.to_string(),
                serde_json::json!({"pid": pid, "print": print.replace("4242", &pid.to_string())}),
            )
        })
        .collect();
    std::fs::write(
        world.home().join("fake-launchctl.json"),
        serde_json::to_string(&serde_json::json!({"list": list, "jobs": jobs})).unwrap(),
    )
    .unwrap();
}

/// The fake launchctl's calls so far, each as its arguments.
pub(crate) fn launchctl_calls(world: &World) -> Vec<String> {
    std::fs::read_to_string(world.home().join("fake-launchctl.json.calls"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Vec<String>>(l).ok())
        .map(|a| a.join(" "))
        .collect()
}

/// `launchctl list` (the fixture) with com.lb.partner's PID column set to `pid`.
pub(crate) fn launchctl_list(pid: u32) -> String {
    std::fs::read_to_string(workspace_root().join("tests/fixtures/supervisor/launchctl-list.txt"))
        .unwrap()
        .replace(
            "4242\t0\tcom.lb.partner",
            &format!("{pid}\t0\tcom.lb.partner"),
        )
}

/// An agent loaded from an ssh session lives in `user/UID`, not `gui/UID`: the domain is the
/// first where `launchctl print` knows the job, and the stop is bootout plus disable there.
#[test]
#[ignore = "needs orphans adopted by pid 1 (no subreaper such as systemd --user); cargo xtask ci runs it"]
fn a_launchd_job_is_found_in_its_domain_and_stopped_for_good_there() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let (_starter, pid) = orphaned_bot(&world, &script);
    let uid = nix::unistd::geteuid().as_raw();
    let target = format!("user/{uid}/com.lb.partner");
    fake_launchctl(&world, &launchctl_list(pid), &[(&target, pid)]);
    let run = world.run(&["status", "--json"]);
    let local = &run.json()["bots"][0]["local"][0];
    let stop = format!("launchctl bootout {target} && launchctl disable {target}");
    assert_eq!(
        local["supervisor"],
        serde_json::json!({"kind": "launchd", "name": "com.lb.partner", "pid": pid, "stop": stop}),
        "{}",
        run.stdout
    );
    let calls = launchctl_calls(&world);
    let gui = format!("print gui/{uid}/com.lb.partner");
    let user = format!("print {target}");
    let asked = |c: &str| calls.iter().position(|x| x == c);
    assert!(
        asked(&gui) < asked(&user) && asked(&user).is_some(),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.starts_with("print system/")),
        "{calls:?}"
    );

    let stopped = world.run(&["dev-stop", "--yes", "--grace", "5s"]);
    stopped
        .expect_code(0)
        .expect_stdout(&format!("ran `{stop}`"));
    let calls = launchctl_calls(&world);
    let bootout = calls.iter().position(|c| *c == format!("bootout {target}"));
    let disable = calls.iter().position(|c| *c == format!("disable {target}"));
    assert!(bootout.is_some() && bootout < disable, "{calls:?}");
    assert!(wait_until(std::time::Duration::from_secs(5), || !alive(
        pid
    )));
}

/// A daemon of the system domain (`/Library/LaunchDaemons`): its stop needs root.
#[test]
#[ignore = "needs orphans adopted by pid 1 (no subreaper such as systemd --user); cargo xtask ci runs it"]
fn a_system_domain_job_is_stopped_with_sudo() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let (_starter, pid) = orphaned_bot(&world, &script);
    fake_launchctl(
        &world,
        &launchctl_list(pid),
        &[("system/com.lb.partner", pid)],
    );
    let run = world.run(&["status"]);
    run.expect_stdout(
        "kept alive by launchd job com.lb.partner",
    )
    .expect_stdout(
        "stop: sudo launchctl bootout system/com.lb.partner && sudo launchctl disable system/com.lb.partner",
    );
}

/// Autostart: the LaunchAgents' plists, XML or binary, by their `Label`; loaded ones are booted
/// out and disabled, the rest disabled.
#[test]
fn launch_agents_in_xml_and_binary_plists_are_autostart_entries_by_label() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    let xml = std::fs::read_to_string(
        workspace_root().join("tests/fixtures/launchd/com.lb.partner.plist"),
    )
    .unwrap()
    .replace("bot.py", &script);
    world.add_launch_agent("com.lb.partner.plist", &xml);
    // The same job as a binary plist (what `plutil -convert binary1` writes), under another
    // label and a file name that is not its label.
    let binary = world.home().join("Library/LaunchAgents/lb-copy.plist");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import plistlib,sys; d=plistlib.loads(open(sys.argv[1],'rb').read()); \
             d['Label']='com.lb.copy'; open(sys.argv[2],'wb').write(plistlib.dumps(d, fmt=plistlib.FMT_BINARY))",
        ])
        .arg(world.home().join("Library/LaunchAgents/com.lb.partner.plist"))
        .arg(&binary)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read(&binary).unwrap().starts_with(b"bplist00"));
    fake_launchctl(&world, &launchctl_list(4242), &[]);
    let uid = nix::unistd::geteuid().as_raw();
    let json = world.run(&["status", "--json"]).json();
    let entries: Vec<String> = json["bots"][0]["autostart"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "launchd")
        .map(|e| e["entry"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(
        entries
            .iter()
            .any(|e| e.starts_with("com.lb.partner in ") && e.contains("(loaded)")),
        "{entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e.starts_with("com.lb.copy in ") && e.contains("lb-copy.plist (not loaded)")),
        "{entries:?}"
    );
    let doctor = world.run(&["doctor", "--json"]).json();
    let fixes: Vec<String> = doctor["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "autostart")
        .map(|f| f["fix"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        fixes.contains(&format!(
            "launchctl bootout gui/{uid}/com.lb.partner && launchctl disable gui/{uid}/com.lb.partner"
        )),
        "{fixes:?}"
    );
    assert!(
        fixes.contains(&format!("launchctl disable gui/{uid}/com.lb.copy")),
        "{fixes:?}"
    );
}
