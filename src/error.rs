//! One error type for the whole program, and how a command ends. An error's `Display` is the
//! sentence the user reads; [`ExitStatus`] maps both onto the SPEC's exit codes.

use std::fmt;
use std::path::PathBuf;

use crate::fix::Fix;

/// How a command ended: each is one of the SPEC's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, or nothing wrong found.
    Clean,
    /// 1: a problem found (a conflict, an error finding, an unticked item), or a refusal
    /// that names its fix.
    Found,
    /// 2: bad usage or a bad botctl.toml.
    Usage,
    /// 3: a step failed.
    StepFailed,
    /// 4: a confirmation was declined or could not be asked.
    NotConfirmed,
    /// 130 (143 for SIGTERM): Ctrl-C or SIGTERM.
    Interrupted,
}

impl ExitStatus {
    /// `Found` when a problem was found, else `Clean`.
    pub fn found_if(found: bool) -> Self {
        if found {
            ExitStatus::Found
        } else {
            ExitStatus::Clean
        }
    }

    /// The number the process exits with.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Found => 1,
            ExitStatus::Usage => 2,
            ExitStatus::StepFailed => 3,
            ExitStatus::NotConfirmed => 4,
            ExitStatus::Interrupted => crate::interrupt::exit_code(),
        }
    }
}

#[derive(Debug)]
pub enum Error {
    /// botctl.toml is wrong: names the file, line and column.
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        snippet: String,
    },
    ConfigNotFound {
        from: PathBuf,
    },
    Usage(String),
    /// Something is wrong and botctl refused to act; `fix` is the command to type.
    Refused {
        message: String,
        fix: Fix,
    },
    /// Refused because the bot runs in several places: each with the command that ends it
    /// there, then what to do after.
    RefusedIn {
        message: String,
        places: Vec<Elsewhere>,
        fix: Fix,
    },
    /// A step that changes things failed (a timeout, a survivor), told in its own sentence.
    StepFailed(String),
    /// A step failed and left something for a person to do by hand: `fix`.
    LeftToDo {
        message: String,
        fix: Fix,
    },
    /// A program or service failed inside a step (flyctl, a platform's CLI, the Bot API):
    /// its sentence, the command that fixes it when there is one, and its own error.
    Failed {
        message: String,
        fix: Option<Fix>,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A confirmation was declined or could not be asked.
    NotConfirmed(String),
    Interrupted,
    State {
        path: PathBuf,
        message: String,
    },
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// Another place the bot runs, as a refusal names it, and the command that ends it there.
#[derive(Debug, Clone, PartialEq)]
pub struct Elsewhere {
    pub place: String,
    pub fix: Fix,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How a command that ends with this error exits.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config { .. } | Error::ConfigNotFound { .. } | Error::Usage(_) => {
                ExitStatus::Usage
            }
            Error::Refused { .. } | Error::RefusedIn { .. } => ExitStatus::Found,
            Error::StepFailed(_)
            | Error::LeftToDo { .. }
            | Error::Failed { .. }
            | Error::State { .. }
            | Error::Io { .. } => ExitStatus::StepFailed,
            Error::NotConfirmed(_) => ExitStatus::NotConfirmed,
            Error::Interrupted => ExitStatus::Interrupted,
        }
    }

    /// A program or service that failed inside a step, with its fix.
    pub fn failed(e: impl std::error::Error + Send + Sync + 'static, fix: Option<Fix>) -> Self {
        Error::Failed {
            message: e.to_string(),
            fix,
            source: Box::new(e),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config {
                path,
                line,
                column,
                message,
                snippet,
            } => {
                write!(f, "{}:{line}:{column}: {message}", path.display())?;
                if !snippet.is_empty() {
                    write!(f, "\n{snippet}")?;
                }
                Ok(())
            }
            Error::ConfigNotFound { from } => write!(
                f,
                "no botctl.toml found in {} or any folder above it; run \
`botctl init` to write one, or pass --config PATH",
                from.display()
            ),
            Error::Usage(message) => write!(f, "{message}"),
            // The fixes these carry are printed by `ui` (`ui::report::with_fixes`), never here.
            Error::Refused { message, .. }
            | Error::RefusedIn { message, .. }
            | Error::LeftToDo { message, .. }
            | Error::Failed { message, .. } => write!(f, "{message}"),
            Error::StepFailed(message) => write!(f, "{message}"),
            Error::NotConfirmed(message) => write!(f, "{message}"),
            Error::Interrupted => write!(f, "interrupted"),
            Error::State { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Failed { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
