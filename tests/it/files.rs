//! botctl reads and writes only what it means to: regular files, never through a symlink a
//! hostile user planted, never waiting on a FIFO or a device, never a file whole that could be
//! endless; a folder is walked once, however many links lead back to it.

use std::time::Duration;
use test_support::config::Bot;
use test_support::*;

const APP: &str = "loyalitybot-partner";

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

#[test]
fn a_virtualenv_named_dot_env_is_skipped_not_looped_on() {
    let world = partner_on_fly_with(fly_apps(&[(APP, vec![])]));
    std::fs::create_dir_all(world.path(".env/bin")).unwrap();
    world.write(".env/pyvenv.cfg", "home = /usr/bin\n");
    let run = run(world
        .botctl()
        .args(["-v", "status"])
        .timeout(Duration::from_secs(20)));
    run.expect_code(0);
    run.expect_stderr("not a regular file");
}

#[test]
fn a_fifo_as_config_is_refused_at_once() {
    let world = World::new();
    let fifo = world.path("pipe.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let run = run(world
        .botctl()
        .args(["--config", "pipe.toml", "status"])
        .timeout(Duration::from_secs(20)));
    run.expect_code(2).expect_stderr("not a regular file");
}

#[test]
fn planted_symlinks_are_never_written_through() {
    let world = partner_on_fly_with(fly_apps(&[(
        APP,
        vec![machine("148ed193b95089", "started", Some(false))],
    )]));
    let victim = world.elsewhere().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::create_dir_all(world.path(".botctl")).unwrap();
    std::os::unix::fs::symlink(&victim, world.path(".botctl/state.json.tmp")).unwrap();
    world
        .run(&["dev-start", "partner", "--yes", "--no-run"])
        .expect_code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let meta = std::fs::symlink_metadata(world.path(".botctl/state.json")).unwrap();
    assert!(meta.is_file(), "state.json is not a regular file");

    // A dangling lock link: botctl must not create its target.
    let target = world.elsewhere().join("created-by-botctl");
    std::fs::remove_file(world.path(".botctl/lock")).unwrap();
    std::os::unix::fs::symlink(&target, world.path(".botctl/lock")).unwrap();
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(3).expect_stderr("symbolic link");
    assert!(!target.exists(), "botctl created the lock link's target");
}

#[test]
fn init_does_not_write_through_a_planted_tmp_link() {
    let world = World::new();
    world.write(
        "bot.py",
        "import os\nTOKEN = os.getenv(\"PARTNER_BOT_TOKEN\")\napp.run_polling()\n",
    );
    let victim = world.elsewhere().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, world.path("botctl.toml.tmp")).unwrap();
    world.run(&["init", "--yes"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        std::fs::symlink_metadata(world.path("botctl.toml"))
            .unwrap()
            .is_file()
    );
}

#[test]
fn a_fifo_or_a_device_among_the_bots_files_hangs_nothing() {
    let world = World::new();
    world.write(
        "admin_bot.py",
        "import os\nfrom telegram.ext import Application\n\
app = Application.builder().token(os.environ['ADMIN_BOT_TOKEN']).build()\napp.run_polling()\n",
    );
    nix::unistd::mkfifo(
        &world.path("x_pipe.py"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", world.path("zero.py")).unwrap();
    let run = run(world
        .botctl()
        .args(["init", "--yes"])
        .timeout(Duration::from_secs(20)));
    run.expect_code(0);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "init took {:?}",
        run.elapsed
    );
    let toml = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert!(toml.contains("admin_bot.py"), "{toml}");
    assert!(
        !toml.contains("x_pipe") && !toml.contains("zero.py"),
        "{toml}"
    );

    // Completion with --config naming a FIFO answers at once (and offers nothing).
    let fifo = world.path("pipe.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let run = test_support::run(
        world
            .botctl()
            .env("COMPLETE", "bash")
            .args(["--", "botctl", "--config", "pipe.toml", "dev-start", ""])
            .timeout(Duration::from_secs(20)),
    );
    assert!(
        run.elapsed < Duration::from_secs(5),
        "completion took {:?}",
        run.elapsed
    );
}

#[test]
fn a_loops_script_swapped_for_dev_zero_is_not_read_whole() {
    let world = World::configured(partner);
    let script = world.script("bot.py");
    world.write_sleeper(&script);
    let run_sh = world.path("run.sh");
    std::fs::write(
        &run_sh,
        format!("while true; do python3 {script}; sleep 1; done\n"),
    )
    .unwrap();
    let shell = world.spawn(&["sh", "./run.sh"], world.root());
    shell.wait_child(&["python3", &script]);
    std::fs::remove_file(&run_sh).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &run_sh).unwrap();
    let run = run(world
        .botctl()
        .args(["status", "--json"])
        .timeout(Duration::from_secs(30)));
    assert!(
        run.elapsed < Duration::from_secs(5),
        "status took {:?}",
        run.elapsed
    );
    assert_eq!(local_pids(bot(&run.json(), "partner")).len(), 1);
}

/// A link to the project's own folder makes no bot appear twice.
#[test]
fn init_walks_each_real_folder_once() {
    let world = World::new();
    world.write(
        "bots/admin_bot.py",
        "import os\nfrom telegram.ext import Application\n\
app = Application.builder().token(os.environ['ADMIN_BOT_TOKEN']).build()\napp.run_polling()\n",
    );
    std::os::unix::fs::symlink(world.path("bots"), world.path("again")).unwrap();
    std::os::unix::fs::symlink(world.root(), world.path("self")).unwrap();
    world.run(&["init", "--yes"]).expect_code(0);
    let toml = std::fs::read_to_string(world.path("botctl.toml")).unwrap();
    assert_eq!(toml.matches("[[bot]]").count(), 1, "{toml}");
}

#[test]
fn a_symlinked_dot_botctl_is_refused_by_name_and_nothing_is_made_where_it_points() {
    let app = "loyalitybot-partner";
    let world = partner_on_fly_with(fly_apps(&[(
        app,
        vec![machine("148ed193b95089", "started", Some(false))],
    )]));
    let target = world.elsewhere().join("not-botctls");
    std::fs::create_dir_all(&target).unwrap();
    std::os::unix::fs::symlink(&target, world.path(".botctl")).unwrap();
    let named = world.path(".botctl").display().to_string();
    for args in [
        &["dev-start", "partner", "--yes", "--no-run", "--no-probe"][..],
        &["exec", "partner", "--", "sh", "-c", "touch started"],
        &["deploy-resume", "partner", "--yes"],
    ] {
        let run = world.run(args);
        assert_ne!(run.code, 0, "{args:?}: {}", run.all_output());
        run.expect_stderr(&named).expect_stderr("symbolic link");
    }
    assert!(!world.path("started").exists(), "exec ran past the refusal");
    let made: Vec<_> = std::fs::read_dir(&target).unwrap().collect();
    assert!(made.is_empty(), "files made through the link: {made:?}");
    assert_eq!(
        world.fly_machines(app),
        [("148ed193b95089".to_string(), "started".to_string())],
        "a machine was stopped past the refusal"
    );
    // Reports name it too, rather than read a state through it.
    let run = world.run(&["doctor"]);
    assert!(run.all_output().contains(&named), "{}", run.all_output());
}
