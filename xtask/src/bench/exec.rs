//! `botctl exec` in front of a bot: what it adds to the bot's start. A local-only bot (no Fly
//! app, no token, no host: no remote source), so exec is start-up, config, the process scan,
//! the locks and the exec itself. Interleaved rounds of `botctl exec partner -- true`, `true`
//! alone, and `botctl status partner` (start-up, config and the same scan) as the reference.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{
    Bench, LocalOnly, Row, count_processes, local_only, median, millis, needed_program, time_run,
};
use crate::Result;
use crate::shown;

const EXEC_RUNS: usize = 30;
/// The goal: exec costs at most this much more than the local scan (status) it makes.
const EXEC_OVER_SCAN: Duration = Duration::from_millis(3);

pub fn exec_overhead(b: &Bench) -> Result<Vec<Row>> {
    // As in the scan bench: status is its scan (exec reads no autostart entries anyway);
    // `true` is given by its path.
    let LocalOnly {
        dir,
        config,
        empty_path,
    } = local_only("bench-exec")?;
    let true_ = needed_program("true")?;
    let in_dir = |mut cmd: Command, path: &Path| {
        cmd.env("PATH", path).current_dir(dir.path());
        cmd
    };
    let true_arg = true_.display().to_string();
    let mut exec = in_dir(
        b.botctl(&config, &["exec", "partner", "--", &true_arg]),
        &empty_path,
    );
    let mut alone = in_dir(Command::new(&true_), &empty_path);
    let mut status = in_dir(b.botctl(&config, &["status", "partner"]), &empty_path);
    let processes = count_processes()?;
    println!("{processes} processes on the machine");
    let mut commands = [&mut exec, &mut alone, &mut status];
    println!("interleaved, {EXEC_RUNS} rounds of:");
    for cmd in &mut commands {
        println!("$ {}", shown(cmd));
    }
    let mut times: [Vec<Duration>; 3] = Default::default();
    for round in 0..=EXEC_RUNS {
        for (i, cmd) in commands.iter_mut().enumerate() {
            let took = time_run(cmd, &[0])?;
            if round > 0 {
                times[i].push(took); // round 0 warms the page cache
            }
        }
    }
    let [exec, alone, status] = times.map(|t| median(&t));
    let added = exec.saturating_sub(alone);
    let over_scan = added.as_secs_f64() - status.as_secs_f64();
    Ok(vec![
        Row::new(
            format!("exec: `botctl exec partner -- true`, local bot, {processes} processes"),
            millis(exec),
        )
        .ratio(format!("+{} over `true`", millis(added)))
        .goal("≤ status (scan) + 3 ms", added <= status + EXEC_OVER_SCAN)
        .note(format!(
            "With no remote source configured (no Fly app, no token, no host) exec is start-up, \
             config, the process scan, the two locks and the exec: {} over `true`, of which the \
             same scan in `status partner` is {}. exec reads no autostart entries (they are no \
             places); with a Fly app, a token or a host, the look waits for the slowest of them, \
             as status does.",
            millis(added),
            millis(status)
        )),
        Row::new("  `true` alone", millis(alone)),
        Row::new("  status partner (the same scan)", millis(status))
            .ratio(format!("exec adds {:+.1} ms beyond it", over_scan * 1000.0)),
    ])
}
