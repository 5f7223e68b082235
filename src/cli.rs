//! The command line, as clap sees it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::commands;

#[derive(Parser, Debug)]
#[command(
    name = "botctl",
    version,
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
    pub config: Option<PathBuf>,

    /// When to colour output
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,

    /// Show each external command and Bot API call as it runs (tokens redacted)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `None`: decide by the terminal, `NO_COLOR` and `CLICOLOR`.
    pub fn forced(self) -> Option<bool> {
        match self {
            ColorChoice::Auto => None,
            ColorChoice::Always => Some(true),
            ColorChoice::Never => Some(false),
        }
    }
}

/// Each command owns its arguments (`commands::NAME::Args`); this only lists them.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every bot and every place it runs: local processes, Fly machines, webhook, autostart
    Status(commands::status::Args),
    /// Name the cause of a 409 Conflict, with the command that fixes it
    Doctor(commands::doctor::Args),
    /// Hand a bot from Fly.io to this machine: stop its machines, check, run it here
    DevStart(commands::dev_start::Args),
    /// Stop this machine's (or with --host, a server's) instances of bots (your own processes only)
    #[command(
        after_help = "Examples:\n  botctl dev-stop\n  botctl dev-stop partner --grace 5s \
--yes\n  botctl dev-stop partner --host vps"
    )]
    DevStop {
        #[arg(add = clap_complete::ArgValueCandidates::new(crate::complete::bot_names))]
        bots: Vec<String>,
        /// Stop them on this [[host]] over ssh (the ssh user's processes only)
        #[arg(long, value_name = "NAME", add = clap_complete::ArgValueCandidates::new(crate::complete::host_names))]
        host: Option<String>,
        #[arg(long, short)]
        yes: bool,
        #[arg(long)]
        dry_run: bool,
        /// How long to wait after SIGTERM before SIGKILL
        #[arg(long, default_value = "10s", value_parser = parse_grace)]
        grace: Duration,
    },
    /// Hand bots back to Fly.io: start the machines dev-start stopped and wait until ready
    DeployResume(commands::deploy_resume::Args),
    /// The onboarding checklist, each item checked live
    #[command(after_help = "Examples:\n  botctl checklist")]
    Checklist,
    /// Write a starter botctl.toml for this folder
    Init(commands::init::Args),
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

fn parse_grace(s: &str) -> Result<Duration, String> {
    crate::config::GRACE.parse(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
