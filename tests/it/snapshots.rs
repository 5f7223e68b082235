//! The human output of every command, pinned as insta snapshots (tests/it/snapshots/*.snap) in
//! one representative world: partner on Fly.io (a started machine and a stopped standby, its
//! token in .env and valid on the fake Bot API), admin running here, a crontab line that can
//! start admin again; and in that world with a copy of partner here too (the conflict). status,
//! doctor, checklist, the dry runs of dev-start, dev-stop, deploy and deploy-resume, one pass
//! of watch, and the errors: exec's refusal, init over a botctl.toml, an unknown bot, a config
//! error. (What init writes for each project shape is pinned by tests/it/init_shapes.rs.) A
//! change of layout fails here; what varies between runs (pids, the world's temp folder and
//! tag, ports, times and durations, dates, user names) is blanked by filters first.
//!
//! To accept an intended change (cargo-insta may not be installed):
//!
//! ```text
//! INSTA_UPDATE=always cargo test --test it snapshots
//! git diff tests/it/snapshots/   # review every changed line, then commit the .snap files
//! ```
//!
//! `cargo xtask ci` sets INSTA_UPDATE=no: a changed snapshot fails and nothing is written.

use serde_json::Value;
use test_support::config::{Bot, Toml};
use test_support::{BotApi, Proc, Run, World, fly_apps, machine, with_secret};

const APP: &str = "loyalitybot-partner";

/// The representative world (see the module docs), with the copy of admin running here.
/// Fields drop in order: admin's copy and the Bot API before the World (and its lock).
struct Scene {
    admin: Proc,
    _api: BotApi,
    world: World,
}

fn scene() -> Scene {
    let token = test_support::token(2101);
    let api = BotApi::start(&[(&token, "ghbipartnerbot")]);
    let world = World::configured(|w| {
        Toml::new()
            .telegram_api(&api.url())
            .bot(
                Bot::script("partner", &w.script("bot.py"))
                    .token_env("PARTNER_BOT_TOKEN")
                    .username("ghbipartnerbot")
                    .fly_app(APP),
            )
            .bot(Bot::script("admin", &w.script("admin_bot.py")))
    });
    world.dotenv(&[("PARTNER_BOT_TOKEN", &token)]);
    world.fly_state(fly(&token));
    let (bot_py, admin_py) = (world.script("bot.py"), world.script("admin_bot.py"));
    world.write_sleeper(&bot_py);
    world.write_sleeper(&admin_py);
    world.set_crontab(&format!("@reboot cd ~/lb && python3 {admin_py}\n"));
    let admin = world.spawn(&["python3", &admin_py], world.root());
    Scene {
        admin,
        _api: api,
        world,
    }
}

/// partner's app: one machine started, a standby stopped, the token in its secret.
fn fly(token: &str) -> Value {
    with_secret(
        fly_apps(&[(
            APP,
            vec![
                machine("148ed193b95089", "started", Some(false)),
                machine("d8d9e2f0c12345", "stopped", Some(false)),
            ],
        )]),
        APP,
        "PARTNER_BOT_TOKEN",
        token,
    )
}

/// Escapes `text` for a regex (filters take regexes; paths have dots).
fn literal(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Asserts `botctl ARGS`'s exit code and its stdout and stderr as the snapshot `name`, with
/// what varies blanked.
#[track_caller]
fn assert_output(scene: &Scene, name: &str, args: &[&str], code: i32) {
    assert_streams(scene, name, args, code, Streams::Both)
}

/// [`assert_output`] with a copy of partner running here too (its pid blanked): partner in two
/// places, the conflict.
#[track_caller]
fn assert_output_in_conflict(scene: &Scene, name: &str, args: &[&str], code: i32) {
    let bot_py = scene.world.script("bot.py");
    let partner = scene.world.spawn(&["python3", &bot_py], scene.world.root());
    let masks = [(partner.pid(), "[partner pid]")];
    snapshot(scene, name, args, code, Streams::Both, &masks);
}

/// Which of a run's streams a snapshot holds: `-v`'s trace on stderr comes from concurrent
/// calls in any order, so a verbose run is pinned by its stdout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Streams {
    Both,
    Stdout,
    /// Both, with watch's event lines sorted by what they say: the first pass reports every
    /// source at once, in the order their answers arrive.
    EventsInAnyOrder,
}

#[track_caller]
fn assert_streams(scene: &Scene, name: &str, args: &[&str], code: i32, streams: Streams) {
    snapshot(scene, name, args, code, streams, &[]);
}

/// Runs `botctl ARGS`, asserts its exit code and pins `streams` as the snapshot `name`, each
/// pid of `masks` blanked by its label besides what always varies ([`filters`]).
#[track_caller]
fn snapshot(
    scene: &Scene,
    name: &str,
    args: &[&str],
    code: i32,
    streams: Streams,
    masks: &[(u32, &str)],
) {
    let run = test_support::run(botctl(scene).args(args));
    run.expect_code(code);
    let text = match streams {
        Streams::Both => shown(&run, args),
        Streams::Stdout => format!("$ botctl {}\n{}", args.join(" "), run.stdout),
        Streams::EventsInAnyOrder => events_sorted(&shown(&run, args)),
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("botctl {}", args.join(" ")));
    for (pid, label) in masks {
        settings.add_filter(&format!(r"\b{pid}\b"), *label);
    }
    for (regex, replacement) in filters(scene) {
        settings.add_filter(&regex, replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// botctl in the scene. Who it says changes things (`user@host` by default) and where (this
/// machine's id) are fixed, as a teammate's are.
fn botctl(scene: &Scene) -> assert_cmd::Command {
    let mut cmd = scene.world.botctl();
    cmd.env("BOTCTL_WHO", "dev@laptop")
        .env("BOTCTL_ON", "0a1b2c3d4e5f");
    cmd
}

/// What varies between runs, as (regex, what it becomes): the specific before the general.
fn filters(scene: &Scene) -> Vec<(String, String)> {
    let world = &scene.world;
    let base = world.root().parent().unwrap().display().to_string();
    // Order matters: the specific before the general.
    vec![
        (literal(&base), "[world]".to_string()),
        (literal(&world.tag()), "[tag]".to_string()),
        (
            format!(r"\b{}\b", scene.admin.pid()),
            "[admin pid]".to_string(),
        ),
        (
            r"127\.0\.0\.1:\d+".to_string(),
            "127.0.0.1:[port]".to_string(),
        ),
        (
            r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?(\.\d+)?Z?".to_string(),
            "[time]".to_string(),
        ),
        // Clock times as watch and the handoff record print them.
        (r"\b\d\d:\d\d(:\d\d)?Z".to_string(), "[time]".to_string()),
        (r"\b\d\d:\d\d UTC\b".to_string(), "[time] UTC".to_string()),
        // Any number of seconds but 409 ("0 409s" counts conflicts).
        (
            r"\b(\d+(\.\d+)?\s?(ms|m|h|d)|(\d{1,2}|\d{4,}|[0-35-9]\d\d|4[1-9]\d|40[0-8]|\d+\.\d+)\s?s)\b"
                .to_string(),
            "[duration]".to_string(),
        ),
        // The test binary, as the parent of the processes it starts.
        (r"\bit-[0-9a-f]{16}\b".to_string(), "[test binary]".to_string()),
        (
            format!(r"\({}, in ", literal(&user_name())),
            "([user], in ".to_string(),
        ),
        (r"\bpid \d+".to_string(), "pid [pid]".to_string()),
        (r"gui/\d+".to_string(), "gui/[uid]".to_string()),
    ]
}

/// What the snapshot holds: the command, its stdout, its stderr when it said anything.
fn shown(run: &Run, args: &[&str]) -> String {
    let mut text = format!("$ botctl {}\n{}", args.join(" "), run.stdout);
    if !run.stderr.trim().is_empty() {
        text.push_str("--- stderr\n");
        text.push_str(&run.stderr);
    }
    text
}

/// The name of the user the test's processes run as (botctl shows a process's owner).
fn user_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| nix::unistd::geteuid().to_string())
}

#[test]
fn status_human_output() {
    let scene = scene();
    assert_output(&scene, "status", &["status"], 0);
}

#[test]
fn doctor_human_output() {
    let scene = scene();
    assert_output(&scene, "doctor", &["doctor"], 0);
}

#[test]
fn doctor_verbose_shows_every_ok_check() {
    let scene = scene();
    assert_streams(
        &scene,
        "doctor_verbose",
        &["doctor", "-v"],
        0,
        Streams::Stdout,
    );
}

#[test]
fn doctor_names_the_cause_first_and_groups_by_bot() {
    let scene = scene();
    // A copy of partner here while its Fly machine runs: two places, the cause.
    let bot_py = scene.world.script("bot.py");
    let partner = scene.world.spawn(&["python3", &bot_py], scene.world.root());
    let pid = partner.pid().to_string();
    let run = test_support::run(scene.world.botctl().args(["doctor"]));
    run.expect_code(1);
    assert!(
        run.stdout.starts_with("Cause: partner runs in 2 places"),
        "{}",
        run.stdout
    );
    // The partner copy's pid varies too: blanked like admin's.
    let stdout = run.stdout.replace(&pid, "[partner pid]");
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description("botctl doctor, partner here and on Fly.io");
    for (regex, replacement) in filters(&scene) {
        settings.add_filter(&regex, replacement);
    }
    settings.bind(|| insta::assert_snapshot!("doctor_cause", format!("$ botctl doctor\n{stdout}")));
    drop(partner);
}

#[test]
fn checklist_human_output() {
    let scene = scene();
    // Exit 1: admin has no token_env and a crontab line can start it (two unticked items).
    assert_output(&scene, "checklist", &["checklist"], 1);
}

#[test]
fn dev_start_dry_run_human_output() {
    let scene = scene();
    assert_output(
        &scene,
        "dev_start_dry_run",
        &["dev-start", "partner", "--dry-run"],
        0,
    );
}

#[test]
fn dev_stop_dry_run_human_output() {
    let scene = scene();
    assert_output(&scene, "dev_stop_dry_run", &["dev-stop", "--dry-run"], 0);
}

#[test]
fn status_in_conflict_human_output() {
    let scene = scene();
    assert_output_in_conflict(&scene, "status_conflict", &["status"], 1);
}

#[test]
fn deploy_dry_run_human_output() {
    let scene = scene();
    assert_output(
        &scene,
        "deploy_dry_run",
        &["deploy", "partner", "--dry-run"],
        0,
    );
}

#[test]
fn deploy_resume_dry_run_human_output() {
    let scene = scene();
    // dev-start's handoff first: its machine stopped, the record written.
    test_support::run(botctl(&scene).args([
        "dev-start",
        "partner",
        "--yes",
        "--no-run",
        "--no-probe",
    ]))
    .expect_code(0);
    assert_output(
        &scene,
        "deploy_resume_dry_run",
        &["deploy-resume", "partner", "--dry-run"],
        0,
    );
}

#[test]
fn exec_refusal_human_output() {
    let scene = scene();
    // partner's machine runs on Fly.io: exec refuses to start a second poller.
    assert_output(
        &scene,
        "exec_refused",
        &["exec", "partner", "--", "true"],
        1,
    );
}

#[test]
fn watch_one_pass_human_output() {
    let scene = scene();
    assert_streams(
        &scene,
        "watch_one_pass",
        &["watch", "--for", "2s"],
        0,
        Streams::EventsInAnyOrder,
    );
}

#[test]
fn init_over_an_existing_config_human_output() {
    let scene = scene();
    assert_output(&scene, "init_refused", &["init"], 1);
}

#[test]
fn unknown_bot_human_output() {
    let scene = scene();
    assert_output(
        &scene,
        "unknown_bot",
        &["dev-start", "nosuchbot", "--dry-run"],
        2,
    );
}

#[test]
fn config_error_human_output() {
    let scene = scene();
    let typo = Toml::new()
        .bot(Bot::script("partner", &scene.world.script("bot.py")))
        .render()
        .replace("script = ", "scrpt = ");
    scene.world.write_config(typo);
    assert_output(&scene, "config_error", &["status"], 2);
}

/// `text` with its event lines (`HH:MM:SS bot …`) sorted by what follows the time, each sorted
/// line put where an event line was.
fn events_sorted(text: &str) -> String {
    // "10:02:11Z admin  …": a time of day, then what happened.
    let is_event = |l: &str| {
        let b = l.as_bytes();
        b.len() > 9 && b[0].is_ascii_digit() && b[2] == b':' && b[5] == b':'
    };
    let said = |l: &&str| l.split_once(' ').map_or("", |(_, rest)| rest).to_string();
    let mut events: Vec<&str> = text.lines().filter(|l| is_event(l)).collect();
    events.sort_by_key(said);
    let mut events = events.into_iter();
    let mut out: Vec<&str> = text
        .lines()
        .map(|l| {
            if is_event(l) {
                events.next().unwrap_or(l)
            } else {
                l
            }
        })
        .collect();
    out.push("");
    out.join("\n")
}
