//! One error type for the whole program, and how a command ends. An error's `Display` is the
//! sentence the user reads; [`ExitStatus`] maps both onto the SPEC's exit codes.

use std::fmt;
use std::path::PathBuf;

use crate::fix::Fix;
use crate::model::{AppName, BotName, HostName};

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
    Usage(Usage),
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
    /// A step that changes things failed (a timeout, a survivor, a program that could not
    /// run): its typed cause, which tells it in its own sentence.
    Step(Box<dyn std::error::Error + Send + Sync>),
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
    NotConfirmed(NotConfirmed),
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

/// What was wrong with how botctl was called (exit 2).
#[derive(Debug)]
pub enum Usage {
    /// `--host NAME` names no `[[host]]` of `config` (`known`: the ones it has).
    NoHost {
        name: String,
        config: PathBuf,
        known: Vec<HostName>,
    },
    /// A bot name on the command line is not in `config` (`known`: the ones it has).
    NoBot {
        name: String,
        config: PathBuf,
        known: Vec<BotName>,
    },
    /// A command for one bot was given no bot it knows.
    NoBotNamed { name: String },
    /// The bot has no platform, so the command has nothing to do.
    NoPlatform { bot: BotName, nothing_to: Action },
    /// None of the chosen bots has a platform to resume.
    NoneToResume,
    /// `botctl deploy … -- FLAG`: a flyctl flag botctl sets itself.
    OwnFlag { flag: &'static str, app: AppName },
    /// `--host NAME` runs none of the chosen bots.
    HostRunsNone { host: HostName, bots: Vec<BotName> },
    /// botctl init wrote something that is not TOML (a bug of its own).
    InitNotToml(toml::de::Error),
}

/// What a command would have done (`nothing to deploy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Deploy,
    Resume,
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Usage::NoHost {
                name,
                config,
                known,
            } if known.is_empty() => write!(
                f,
                "no host named {name:?}: {} has no [[host]] table",
                config.display()
            ),
            Usage::NoHost {
                name,
                config,
                known,
            } => write!(
                f,
                "no host named {name:?} in {}; known hosts: {}",
                config.display(),
                joined(known)
            ),
            Usage::NoBot {
                name,
                config,
                known,
            } => write!(
                f,
                "no bot named {name:?} in {}; known bots: {}",
                config.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    joined(known)
                }
            ),
            Usage::NoBotNamed { name } => write!(f, "no bot named {name:?}"),
            Usage::NoPlatform { bot, nothing_to } => write!(
                f,
                "{bot} has no fly_app in botctl.toml: nothing to {}",
                match nothing_to {
                    Action::Deploy => "deploy",
                    Action::Resume => "resume",
                }
            ),
            Usage::NoneToResume => {
                f.write_str("none of these bots has a fly_app in botctl.toml: nothing to resume")
            }
            Usage::OwnFlag { flag, app } => write!(
                f,
                "botctl deploy chooses the app (fly_app = {app}) and the fly.toml ([fly] toml) \
itself: leave {flag} out of the arguments after --"
            ),
            Usage::HostRunsNone { host, bots } => {
                write!(
                    f,
                    "host {host} runs none of these bots (its bots: {})",
                    joined(bots)
                )
            }
            Usage::InitNotToml(e) => write!(f, "botctl init made a file that is not TOML: {e}"),
        }
    }
}

impl std::error::Error for Usage {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Usage::InitNotToml(e) => Some(e),
            _ => None,
        }
    }
}

/// Names joined with ", ".
fn joined<T: fmt::Display>(names: &[T]) -> String {
    names
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why nothing was changed for want of a confirmation (exit 4).
#[derive(Debug)]
pub enum NotConfirmed {
    /// There is no terminal to ask `question` on.
    NoTerminal { question: String },
    /// The answer was no.
    Declined,
    /// The prompt failed.
    CouldNotAsk(dialoguer::Error),
}

impl fmt::Display for NotConfirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotConfirmed::NoTerminal { question } => write!(
                f,
                "{question} — this needs a confirmation and there is no \
terminal to ask on; nothing was changed. Pass --yes to \
proceed without asking."
            ),
            NotConfirmed::Declined => f.write_str("not confirmed; nothing was changed"),
            NotConfirmed::CouldNotAsk(e) => {
                write!(
                    f,
                    "could not ask for confirmation ({e}); nothing was changed"
                )
            }
        }
    }
}

impl std::error::Error for NotConfirmed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NotConfirmed::CouldNotAsk(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    /// How a command that ends with this error exits.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config { .. } | Error::ConfigNotFound { .. } | Error::Usage(_) => {
                ExitStatus::Usage
            }
            Error::Refused { .. } | Error::RefusedIn { .. } => ExitStatus::Found,
            Error::Step(_)
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

    /// A step that failed for this cause.
    pub fn step(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Step(Box::new(cause))
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
            Error::Usage(usage) => write!(f, "{usage}"),
            // The fixes these carry are printed by `ui` (`ui::report::with_fixes`), never here.
            Error::Refused { message, .. }
            | Error::RefusedIn { message, .. }
            | Error::LeftToDo { message, .. }
            | Error::Failed { message, .. } => write!(f, "{message}"),
            Error::Step(cause) => write!(f, "{cause}"),
            Error::NotConfirmed(why) => write!(f, "{why}"),
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
            Error::Step(cause) => Some(cause.as_ref()),
            Error::Usage(usage) => Some(usage),
            Error::NotConfirmed(why) => Some(why),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::proc::TableError;

    /// Each error and the ones under it, outermost first.
    fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
        std::iter::successors(Some(e), |e| e.source())
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_failed_step_keeps_the_error_under_it() {
        let denied = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::step(TableError::ProcDir(denied.into()));
        assert_eq!(e.exit_status(), ExitStatus::StepFailed);
        assert_eq!(
            chain(&e),
            [
                "cannot read /proc: denied",
                "cannot read /proc: denied",
                "denied"
            ]
        );
        let io = chain(&e).len() - 1;
        let under = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .nth(io)
            .unwrap();
        assert!(under.downcast_ref::<std::io::Error>().is_some());
    }

    #[test]
    fn usage_and_refusals_to_confirm_say_what_they_said_before() {
        let e = Error::Usage(Usage::NoBot {
            name: "nope".into(),
            config: PathBuf::from("/p/botctl.toml"),
            known: Vec::new(),
        });
        assert_eq!(
            e.to_string(),
            "no bot named \"nope\" in /p/botctl.toml; known bots: none"
        );
        assert_eq!(e.exit_status(), ExitStatus::Usage);
        let bad = "a = ".parse::<toml::Table>().unwrap_err();
        let e = Error::Usage(Usage::InitNotToml(bad));
        assert_eq!(chain(&e).len(), 3, "{:?}", chain(&e));
        let e = Error::NotConfirmed(NotConfirmed::Declined);
        assert_eq!(e.to_string(), "not confirmed; nothing was changed");
        assert_eq!(e.exit_status(), ExitStatus::NotConfirmed);
    }
}
