//! One error type for the whole program. Its `Display` is the sentence the user reads, and
//! `exit_code` maps it onto the SPEC's exit codes.

use std::fmt;
use std::path::PathBuf;

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
        fix: crate::fix::Fix,
    },
    /// A step that changes things failed (flyctl error, timeout, survivor).
    StepFailed(String),
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

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config { .. } | Error::ConfigNotFound { .. } | Error::Usage(_) => 2,
            Error::Refused { .. } => 1,
            Error::StepFailed(_) | Error::State { .. } | Error::Io { .. } => 3,
            Error::NotConfirmed(_) => 4,
            Error::Interrupted => crate::interrupt::exit_code(),
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
            Error::Refused { message, fix } => write!(f, "{message}\n  fix: {fix}"),
            Error::StepFailed(message) => write!(f, "{message}"),
            Error::NotConfirmed(message) => write!(f, "{message}"),
            Error::Interrupted => write!(f, "interrupted"),
            Error::State { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {}
