//! Numbered, named steps that read like the checklist they replace. Each prints its outcome:
//! done, skipped, would (dry run), warn or failed, with a line of detail.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sources::fly::Flyctl;
use crate::{interrupt, ui};

pub struct Steps {
    next: usize,
}

pub enum Outcome {
    Done,
    Skipped,
    Would,
    Warn,
    Failed,
}

impl Steps {
    pub fn new(title: &str, dry_run: bool) -> Self {
        ui::line(ui::heading(&if dry_run {
            format!("{title} (dry run: nothing will be changed)")
        } else {
            title.to_string()
        }));
        Steps { next: 1 }
    }

    /// Prints the step's name and returns a handle to report its outcome.
    pub fn begin(&mut self, name: &str) -> Step {
        let n = self.next;
        self.next += 1;
        ui::line(format!("{n:>2}. {name}"));
        Step { reported: false }
    }
}

pub struct Step {
    reported: bool,
}

impl Step {
    pub fn report(&mut self, outcome: Outcome, detail: impl AsRef<str>) {
        self.reported = true;
        let word = match outcome {
            Outcome::Done => ui::good("done"),
            Outcome::Skipped => ui::dim("skipped"),
            Outcome::Would => ui::caution("would"),
            Outcome::Warn => ui::caution("warning"),
            Outcome::Failed => ui::bad("failed"),
        };
        let mut lines = detail.as_ref().lines();
        ui::line(format!("    {word}: {}", lines.next().unwrap_or("")));
        for l in lines {
            ui::line(format!("      {l}"));
        }
    }

    pub fn done(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Done, detail)
    }
    pub fn skipped(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Skipped, detail)
    }
    pub fn would(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Would, detail)
    }
    pub fn warn(&mut self, detail: impl AsRef<str>) {
        self.report(Outcome::Warn, detail)
    }
    /// Marks the step as failed and hands the error back for `?`; main prints the error itself.
    pub fn fail(&mut self, error: Error) -> Error {
        let word = match &error {
            Error::Refused { .. } => "refused",
            Error::NotConfirmed(_) => "not confirmed",
            Error::Interrupted => "interrupted",
            _ => "see below",
        };
        self.report(Outcome::Failed, word);
        error
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.reported && !std::thread::panicking() {
            self.report(Outcome::Failed, "interrupted");
        }
    }
}

/// Polls `check` every `every` until it returns `Some`, `limit` passes, or Ctrl-C; shows a
/// spinner meanwhile. `check` returns the status line to show while waiting.
pub fn wait_for<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<std::ops::ControlFlow<T, String>>,
) -> Result<Option<T>> {
    let spinner = ui::Spinner::new(what, limit);
    let deadline = Instant::now() + limit;
    loop {
        match check()? {
            std::ops::ControlFlow::Break(v) => return Ok(Some(v)),
            std::ops::ControlFlow::Continue(status) => {
                spinner.set_message(&format!("{what}: {status}"))
            }
        }
        let until = (Instant::now() + every).min(deadline);
        while Instant::now() < until {
            if interrupt::requested() {
                return Err(Error::Interrupted);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
    }
}

/// Polls `flyctl machine list` until every machine in `ids` is in one of the `settled` states
/// (flyctl's stop and start do not wait). Returns the machines still pending ("id state") when
/// `limit` passed; empty when all settled.
pub fn wait_for_machines(
    fly: &Flyctl,
    app: &str,
    ids: &[String],
    settled: &[&str],
    limit: Duration,
) -> Result<Vec<String>> {
    let mut pending = Vec::new();
    let what = format!("waiting for {} to be {}", ids.join(", "), settled[0]);
    let done = wait_for(&what, limit, Duration::from_secs(1), || {
        let now = fly.machines(app).map_err(Error::from)?;
        pending = ids
            .iter()
            .filter_map(|id| match now.iter().find(|m| &m.id == id) {
                Some(m) if settled.contains(&m.state.as_str()) => None,
                Some(m) => Some(format!("{id} {}", m.state)),
                None => Some(format!("{id} missing")),
            })
            .collect();
        Ok(if pending.is_empty() {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(pending.join(", "))
        })
    })?;
    Ok(if done.is_some() { Vec::new() } else { pending })
}
