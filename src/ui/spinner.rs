//! A spinner on stderr while botctl waits (a probe, machines settling), with the time limit.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner with the elapsed time and the limit, on stderr; invisible on a pipe.
pub struct Spinner(ProgressBar);

impl Spinner {
    pub fn new(message: &str, limit: Duration) -> Self {
        let bar = ProgressBar::new_spinner();
        let template = format!("{{spinner}} {{msg}} {{elapsed}} of {}s", limit.as_secs());
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar.set_message(super::clean_stderr(message));
        bar.enable_steady_tick(Duration::from_millis(120));
        Spinner(bar)
    }

    pub fn set_message(&self, message: &str) {
        self.0.set_message(super::clean_stderr(message));
    }

    /// Runs `print` with the spinner off its line, so lines printed meanwhile (a program's
    /// output streamed through) are not torn by its redraws.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.0.suspend(print)
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
