//! Round four of the red team, what comes from outside: deeply nested plists, outside fields
//! that could forge a line, run commands and script names, a symlinked `.botctl`, watch's
//! memory under a flood, and output that cannot be written.

use std::process::Stdio;

use test_support::config::{Bot, Toml};
use test_support::*;

fn partner(world: &World) -> Bot {
    Bot::script("partner", &world.script("bot.py"))
}

// ------------------------------------------------------------------ 12. a failed write

#[test]
fn output_that_cannot_be_written_is_an_error() {
    let world = World::configured(|w| Toml::new().bot(partner(w)));
    for args in [&["status"][..], &["status", "--json"], &["doctor"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = world
            .botctl_process(args)
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write the output: No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

// ------------------------------------------------------------------ 7. run commands quoted

#[test]
fn the_default_run_takes_a_script_name_as_one_word_and_runs_nothing_else() {
    let world = World::new();
    let spaced = world.script("my bot.py");
    let dollar = world.script("x$(touch INJECTED).py");
    world.write_config(
        Toml::new()
            .bot(Bot::script("spaced", &spaced))
            .bot(Bot::script("dollar", &dollar)),
    );
    for (bot, script) in [("spaced", &spaced), ("dollar", &dollar)] {
        world.write(script, &format!("open('ran-{bot}', 'w').write('ran')\n"));
        let run = world.run(&["exec", bot]);
        run.expect_code(0);
        assert!(
            world.path(&format!("ran-{bot}")).exists(),
            "{bot}: the script did not run\n{}",
            run.all_output()
        );
    }
    assert!(
        !world.path("INJECTED").exists(),
        "a script's name was run as shell syntax"
    );
}
