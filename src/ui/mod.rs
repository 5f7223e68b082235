//! Everything that reaches the terminal goes through here: lines, colours, tables, prompts,
//! spinners and JSON.

mod prompt;
mod spinner;
mod table;

pub use prompt::{confirm, interactive};
pub use spinner::Spinner;
pub use table::table;

use console::style;
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub fn init_color(choice: ColorChoice) {
    match choice {
        // console already honours NO_COLOR, CLICOLOR and terminals.
        ColorChoice::Auto => {}
        ColorChoice::Always => {
            console::set_colors_enabled(true);
            console::set_colors_enabled_stderr(true);
        }
        ColorChoice::Never => {
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
    }
}

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// A line of normal output.
pub fn line(text: impl AsRef<str>) {
    println!("{}", text.as_ref());
}

pub fn blank() {
    println!();
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
        text
    );
}

/// A side remark on stderr (it must not pollute --json output).
pub fn note(text: impl std::fmt::Display) {
    eprintln!("{text}");
}

pub fn json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => error(format!("cannot write JSON: {e}")),
    }
}
