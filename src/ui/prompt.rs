//! Confirmations: asked only on a terminal; `--yes` answers them; without either, nothing
//! changes.

use std::io::IsTerminal;

use crate::error::{Error, NotConfirmed, Result};

/// Prompts only when both stdin and stderr are terminals (dialoguer would otherwise read from
/// /dev/tty behind a pipe's back).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Whether a confirmation is still to be asked, or was given up front (`--yes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Ask,
    /// `--yes`: every question is answered yes.
    Given,
}

impl Consent {
    /// From the `--yes` flag.
    pub fn from_yes(yes: bool) -> Self {
        if yes { Consent::Given } else { Consent::Ask }
    }
}

/// Asks `question` unless consent was given (`--yes`). Without a terminal and without `--yes`,
/// nothing is changed and the command exits 4.
pub fn confirm(question: &str, consent: Consent) -> Result<()> {
    if consent == Consent::Given {
        return Ok(());
    }
    if !interactive() {
        return Err(Error::NotConfirmed(NotConfirmed::NoTerminal {
            question: question.to_string(),
        }));
    }
    let answer = dialoguer::Confirm::new()
        .with_prompt(super::clean_stderr(question))
        .default(false)
        .interact_opt();
    // dialoguer hides the cursor while it asks and a Ctrl-C leaves it hidden.
    restore_terminal();
    if crate::interrupt::requested() {
        return Err(Error::Interrupted);
    }
    match answer {
        Ok(Some(true)) => Ok(()),
        Ok(_) => Err(Error::NotConfirmed(NotConfirmed::Declined)),
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            Err(Error::Interrupted)
        }
        Err(e) => Err(Error::NotConfirmed(NotConfirmed::CouldNotAsk(e))),
    }
}

/// Shows the cursor again (a prompt or spinner interrupted by Ctrl-C can leave it hidden).
pub fn restore_terminal() {
    if std::io::stderr().is_terminal() {
        let _ = console::Term::stderr().show_cursor();
    }
}
