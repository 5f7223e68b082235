//! What a Mac meets, shown on Linux where it can be: a process whose argv cannot be read,
//! containers known only to the engine (a fake `docker` whose output is copied from docker 27),
//! launchd jobs in their domains (a fake `launchctl`), XML and binary plists.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use test_support::*;

fn partner(world: &World) -> String {
    format!(
        "[[bot]]\nname = \"partner\"\nscript = \"{}\"\n",
        world.script("bot.py")
    )
}

/// Unreadable is not absent. macOS lets only root read another user's argv; on Linux the same
/// happens when `/proc/PID/cmdline` is not readable. This test makes exactly that: another
/// user's real `python3 SCRIPT`, and botctl run in its own mount namespace where that
/// process's cmdline has a root-owned mode-000 file bound over it, as root without any
/// capability (so file permissions hold for it). The kernel still tells the executable's name
/// (`python3…` in /proc/PID/stat) and its owner, as `proc_pidinfo` does on a Mac.
#[cfg(target_os = "linux")]
#[test]
fn another_users_python_whose_argv_cannot_be_read_makes_the_verdict_unknown() {
    if skip_unless_root("binds a file over another process's /proc/PID/cmdline") {
        return;
    }
    let world = World::configured(partner);
    let script = world.script("bot.py");
    let shared = tempfile::Builder::new()
        .prefix("botctl-other-")
        .tempdir()
        .unwrap();
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
    // Readable: another user's copy is seen and counted.
    let seen = world.run(&["status", "--json"]);
    let bot = &seen.json()["bots"][0];
    assert_eq!(bot["verdict"], "ok", "{}", seen.stdout);
    assert_eq!(bot["local"][0]["pid"], other.pid());

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
