//! Everything that reaches the terminal goes through here: lines, colours, tables, prompts,
//! spinners and JSON.

pub mod describe;
pub mod json;
mod live;
mod prompt;
pub mod report;
mod spinner;
mod table;
mod text;

pub use crate::outside::shown;
pub use live::Live;
pub use prompt::{Consent, confirm, interactive, restore_terminal};
pub use spinner::Spinner;
pub use table::table;
pub use text::{clean, clean_stderr};

use console::style;
use std::io::IsTerminal;

/// `Some(on)` forces colours on or off; `None` leaves it to the terminal, `NO_COLOR` and
/// `CLICOLOR`, which console already honours.
pub fn init_color(forced: Option<bool>) {
    if let Some(on) = forced {
        console::set_colors_enabled(on);
        console::set_colors_enabled_stderr(on);
    }
}

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// A line of normal output. On a terminal, long lines wrap at word boundaries, continued
/// under their own indent plus four; on a pipe they stay whole, for grep.
pub fn line(text: impl AsRef<str>) {
    hanging(text, None)
}

/// Like `line`, with wrapped parts continued at column `indent` (to sit under a label).
pub fn hanging(text: impl AsRef<str>, indent: Option<usize>) {
    let text = clean(text.as_ref());
    if !stdout_is_terminal() {
        out(&text);
        return;
    }
    let width = usize::from(console::Term::stdout().size().1).max(40);
    for l in text.lines() {
        out(&wrap(l, width, indent));
    }
}

/// Writes one line to stdout (see [`write_stdout`]).
fn out(line: &str) {
    if !write_stdout(&format!("{line}\n")) {
        restore_terminal();
        std::process::exit(0);
    }
}

/// The one writer of stdout, so no caller can forget a failed write. A closed pipe
/// (`botctl status | head -1`) returns false: whoever closed it has read what they wanted,
/// and botctl ends quietly, as ripgrep does. Any other failure (a full disk, `> /dev/full`)
/// would lose output the user asked for: botctl ends with exit 1, saying why.
fn write_stdout(text: &str) -> bool {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => false,
        Err(e) => {
            drop(stdout);
            restore_terminal();
            error(format!("cannot write the output: {e}"));
            std::process::exit(1);
        }
    }
}

/// A line wider than `width`, wrapped at spaces (a word longer than a line is cut), its
/// continuations at `indent` (default: its own indent plus four).
fn wrap(line: &str, width: usize, indent: Option<usize>) -> String {
    if console::measure_text_width(line) <= width {
        return line.to_string();
    }
    let lead = line.len() - line.trim_start().len();
    let first = " ".repeat(lead);
    let rest = " ".repeat(indent.unwrap_or(lead + 4).max(4));
    let options = textwrap::Options::new(width)
        .initial_indent(&first)
        .subsequent_indent(&rest);
    textwrap::wrap(line.trim_start(), options).join("\n")
}

/// Text botctl made whole (a completion script): no wrapping, one trailing newline.
pub fn verbatim(text: &str) {
    out(clean(text).trim_end_matches('\n'));
}

pub fn blank() {
    out("");
}

pub fn heading(text: &str) -> String {
    style(text).bold().to_string()
}

pub fn dim(text: &str) -> String {
    style(text).dim().to_string()
}

pub fn good(text: &str) -> String {
    style(text).green().to_string()
}

pub fn bad(text: &str) -> String {
    style(text).red().bold().to_string()
}

pub fn caution(text: &str) -> String {
    style(text).yellow().to_string()
}

/// An error, on stderr.
pub fn error(text: impl std::fmt::Display) {
    eprintln!(
        "{} {}",
        console::style("error:").for_stderr().red().bold(),
        clean_stderr(&text.to_string())
    );
}

/// The error a command ends with, on stderr: its sentence, then the fixes it carries.
pub fn failure(e: &crate::error::Error) {
    error(report::with_fixes(e))
}

/// A side remark on stderr (it must not pollute --json output).
pub fn note(text: impl std::fmt::Display) {
    eprintln!("{}", clean_stderr(&text.to_string()));
}

/// JSON keeps outside text as it is (serde escapes control characters), tokens redacted.
pub fn json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => out(&crate::redact::redact(&s)),
        Err(e) => error(format!("cannot write JSON: {e}")),
    }
}

/// The `-v` trace and panic messages go to stderr through the same redaction and escaping.
#[derive(Clone, Copy)]
pub struct TraceWriter;

impl std::io::Write for TraceWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = clean_stderr(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Panics print through `clean` too: a message can quote anything.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        restore_terminal();
        eprintln!(
            "{}",
            clean_stderr(&format!(
                "botctl panicked{at}: {message}\nThis is a bug; please report it."
            ))
        );
    }));
}

#[cfg(test)]
mod tests {
    #[test]
    fn wraps_under_the_indent() {
        let w = super::wrap("  fix: one two three four five six", 16, None);
        assert_eq!(w, "  fix: one two\n      three four\n      five six");
        assert_eq!(super::wrap("short", 16, None), "short");
        assert_eq!(
            super::wrap("x err: aa bb cc", 12, Some(7)),
            "x err: aa bb\n       cc"
        );
        // A path longer than a line is cut; colours take no room.
        assert_eq!(
            super::wrap("see /a/very/long/path/here", 12, Some(4)),
            "see /a/very/\n    long/pat\n    h/here"
        );
        let red = console::style("bad").red().force_styling(true).to_string();
        assert_eq!(
            super::wrap(&format!("{red} one two"), 11, None),
            format!("{red} one two")
        );
        assert_eq!(
            super::wrap(&format!("{red} one two"), 9, None),
            format!("{red} one\n    two")
        );
    }
}
