//! The suite ends what it starts: whatever a test's World started, however it was started, ends
//! with the World (test-support's `cleanup`), and `cargo xtask ci` fails on anything left.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::*;

const APP: &str = "loyalitybot-partner";

/// The fake flyctl starts a machine's bot in a session of its own once the machine settles in
/// started (Fly runs it apart from flyctl), and ends it only when a later flyctl call settles
/// the machine stopped. A test that ended with its machine started left the bot running after
/// its folder was deleted (three `webhook_bot.py` after one CI run): it ends with its World.
#[test]
fn a_fake_machines_bot_ends_with_its_world() {
    let world = partner_on_fly_with(Value::Null);
    world.hold_process_table();
    let bot = world.write_sleeper("machine_bot.py");
    let mut m = machine("148ed193b95089", "stopped", None);
    m["pending"] = json!({"to": "started", "at": 0});
    m["poller"] = json!([system_python(), bot]);
    world.fly_state(fly_apps(&[(APP, vec![m])]));

    // Any flyctl call settles the machine, which starts its bot.
    world.run(&["status", "--json"]);
    let machine = &world.fly_state_now()["apps"][APP]["machines"][0];
    assert_eq!(machine["state"], "started", "{machine}");
    let pid = machine["poller_pid"].as_u64().expect("the machine's bot") as u32;
    assert!(alive(pid));

    drop(world);
    assert!(
        wait_until(Duration::from_secs(10), || !alive(pid)),
        "the machine's bot (pid {pid}) outlived its world"
    );
}
