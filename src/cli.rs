//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;

#[derive(Parser, Debug)]
#[command(
    name = "botctl",
    // The commit too (build.rs), so a bug report names the build, whichever way it came.
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("BOTCTL_COMMIT"), ")"),
    about = "Find every place a Telegram bot polls from, and move it \
safely between Fly.io and this machine",
    after_help = "Examples:\n  botctl status             where every bot \
runs\n  botctl doctor --probe     why does my bot get 409 \
Conflict?\n  botctl dev-start partner  take the partner bot \
from Fly.io to this machine"
)]
pub struct Cli {
    /// botctl.toml to use (default: $BOTCTL_CONFIG, else found walking up from here)
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// When to colour output
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub(crate) color: ColorChoice,

    /// Show each external command and Bot API call as it runs (tokens redacted)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `None`: decide by the terminal, `NO_COLOR` and `CLICOLOR`.
    pub(crate) fn forced(self) -> Option<bool> {
        match self {
            ColorChoice::Auto => None,
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
        }
    }
}

/// Each command owns its arguments (`commands::NAME::Args`); this only lists them.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Every bot and every place it runs: local processes, Fly machines, webhook, autostart
    Status(commands::status::Args),
    /// Name the cause of a 409 Conflict, with the command that fixes it
    Doctor(commands::doctor::Args),
    /// Hand a bot from Fly.io to this machine: stop its machines, check, run it here
    DevStart(commands::dev_start::Args),
    /// Stop your own instances of bots, here or with --host on a server (your own processes only)
    DevStop(commands::dev_stop::Args),
    /// Hand bots back to Fly.io: start the machines dev-start stopped and wait until ready
    DeployResume(commands::deploy_resume::Args),
    /// Run the bot in this process unless it already runs somewhere (for launch scripts)
    Exec(commands::exec::Args),
    /// The onboarding checklist, each item checked live
    #[command(after_help = "Examples:\n  botctl checklist")]
    Checklist,
    /// Write a botctl.toml for this folder, from how the project starts its bots
    Init(commands::init::Args),
    /// Report every change of every place, as it happens, for a 409 that comes and goes
    Watch(commands::watch::Args),
    /// Print static shell completions (for completions that know the bot names, see after)
    #[command(
        after_help = "Completions that offer the bot names of the botctl.toml in \
reach:\n  source <(COMPLETE=bash botctl)   # in \
~/.bashrc\n  source <(COMPLETE=zsh botctl)    # in \
~/.zshrc\n  COMPLETE=fish botctl | source    # in \
~/.config/fish/completions/botctl.fish\n\nExamples:\n  botctl \
completions bash > \
~/.local/share/bash-completion/completions/botctl\n  botctl \
completions zsh > ~/.zfunc/_botctl\n  botctl completions \
fish > ~/.config/fish/completions/botctl.fish"
    )]
    Completions { shell: clap_complete::Shell },
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
