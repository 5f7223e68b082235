//! The command line, as clap sees it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::ui::ColorChoice;

#[derive(Parser, Debug)]
#[command(
    name = "botctl",
    version,
    about = "Find every place a Telegram bot polls from, and move it safely between Fly.io and this machine",
    after_help = "Examples:\n  botctl status             where every bot runs\n  botctl doctor --probe     why does my bot get 409 Conflict?\n  botctl dev-start partner  take the partner bot from Fly.io to this machine"
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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every bot and every place it runs: local processes, Fly machines, webhook, autostart
    #[command(
        after_help = "Examples:\n  botctl status\n  botctl status partner --json\n\nExit: 0 no conflict, 1 a bot runs in two or more places, 2 bad botctl.toml"
    )]
    Status {
        /// Bots to show (default: all)
        bots: Vec<String>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Name the cause of a 409 Conflict, with the command that fixes it
    #[command(
        after_help = "Examples:\n  botctl doctor\n  botctl doctor partner --probe\n  botctl doctor --json\n\nExit: 0 no error found, 1 an error finding"
    )]
    Doctor {
        /// Bots to check (default: all)
        bots: Vec<String>,
        /// Also long-poll getUpdates to catch a poller no other check can see
        #[arg(long)]
        probe: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Hand a bot from Fly.io to this machine: stop its machines, check, run it here
    #[command(
        after_help = "Examples:\n  botctl dev-start partner\n  botctl dev-start partner --dry-run\n  botctl dev-start partner --yes --no-run"
    )]
    DevStart {
        bot: String,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
        /// Print the steps and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Stop Fly.io but do not run the bot here
        #[arg(long)]
        no_run: bool,
        /// Skip the conflict probe
        #[arg(long)]
        no_probe: bool,
    },
    /// Stop this machine's instances of bots (your own processes only)
    #[command(
        after_help = "Examples:\n  botctl dev-stop\n  botctl dev-stop partner --grace 5s --yes"
    )]
    DevStop {
        bots: Vec<String>,
        #[arg(long, short)]
        yes: bool,
        #[arg(long)]
        dry_run: bool,
        /// How long to wait after SIGTERM before SIGKILL
        #[arg(long, default_value = "10s", value_parser = parse_grace)]
        grace: Duration,
    },
    /// Hand bots back to Fly.io: start the machines dev-start stopped and wait until ready
    #[command(
        after_help = "Examples:\n  botctl deploy-resume partner\n  botctl deploy-resume --dry-run"
    )]
    DeployResume {
        bots: Vec<String>,
        #[arg(long, short)]
        yes: bool,
        #[arg(long)]
        dry_run: bool,
    },
    /// The onboarding checklist, each item checked live
    #[command(after_help = "Examples:\n  botctl checklist")]
    Checklist,
    /// Write a starter botctl.toml for this folder
    #[command(after_help = "Examples:\n  botctl init\n  botctl init --yes")]
    Init {
        #[arg(long, short)]
        yes: bool,
        /// Overwrite an existing botctl.toml
        #[arg(long)]
        force: bool,
    },
    /// Print shell completions
    #[command(
        after_help = "Examples:\n  botctl completions bash > ~/.local/share/bash-completion/completions/botctl\n  botctl completions zsh > ~/.zfunc/_botctl\n  botctl completions fish > ~/.config/fish/completions/botctl.fish"
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
