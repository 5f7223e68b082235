//! Lines that keep coming (`botctl watch`), with a status line under them on a terminal. The
//! status line is redrawn in place; on a pipe there is none, and every line stays whole.

use std::sync::Mutex;

/// stdout for a stream of events. Writes from several threads come out whole.
pub struct Live {
    state: Mutex<Screen>,
}

struct Screen {
    /// Draw a status line: stdout is a terminal.
    terminal: bool,
    status: String,
    /// stdout was closed (`botctl watch | head -3`): nothing more is written.
    closed: bool,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Live {
        Live {
            state: Mutex::new(Screen {
                terminal: super::stdout_is_terminal(),
                status: String::new(),
                closed: false,
            }),
        }
    }

    /// One line botctl made (outside text in it already passed through `shown`); tokens are
    /// masked and control characters escaped here. false once stdout is closed.
    pub fn line(&self, text: &str) -> bool {
        let text = super::clean(text).replace('\n', " ");
        self.write(&text)
    }

    /// One JSON object on one line, tokens masked.
    pub fn json_line(&self, value: &impl serde::Serialize) -> bool {
        match serde_json::to_string(value) {
            Ok(s) => self.write(&crate::redact::redact(&s)),
            Err(e) => {
                super::error(format!("cannot write JSON: {e}"));
                true
            }
        }
    }

    /// Replaces the status line (only drawn on a terminal).
    pub fn status(&self, text: &str) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if !st.terminal || st.closed {
            return;
        }
        st.status = fit(&super::clean(text));
        let out = format!("\r\x1b[2K{}", st.status);
        let ok = print(&out);
        st.closed |= !ok;
    }

    /// Removes the status line: what follows starts on a clean line.
    pub fn finish(&self) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if st.terminal && !st.closed && !st.status.is_empty() {
            let _ = print("\r\x1b[2K");
        }
        st.status.clear();
    }

    pub fn closed(&self) -> bool {
        self.state.lock().map(|s| s.closed).unwrap_or(true)
    }

    fn write(&self, text: &str) -> bool {
        let Ok(mut st) = self.state.lock() else {
            return false;
        };
        if st.closed {
            return false;
        }
        let out = if st.terminal && !st.status.is_empty() {
            format!("\r\x1b[2K{text}\n{}", st.status)
        } else {
            format!("{text}\n")
        };
        let ok = print(&out);
        st.closed |= !ok;
        ok
    }
}

/// The status line cut to the terminal's width: a wrapped one could not be redrawn in place.
fn fit(text: &str) -> String {
    let width = usize::from(console::Term::stdout().size().1).max(20);
    console::truncate_str(text, width - 1, "…").into_owned()
}

fn print(text: &str) -> bool {
    super::write_stdout(text)
}
