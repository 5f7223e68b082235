//! The program behind the thin `main`: parse, set up output, dispatch, map errors to exit
//! codes.

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::commands::{self, Context};
use crate::error::{Error, ExitStatus, Result};
use crate::{config, interrupt, ui};

/// Parses the command line, sets up output, dispatches and returns the SPEC's exit code.
pub fn main() -> i32 {
    // A stale flyctl updates itself before it runs the command, which can take longer than a
    // call's time limit (reference/flyctl.md). Set once for the whole process, so every flyctl
    // that botctl starts, however it is started, inherits it.
    // SAFETY: the first thing botctl does, before any thread exists.
    unsafe { std::env::set_var("FLY_NO_UPDATE_CHECK", "1") };
    // The Heroku CLI asks npm for a newer version before a command (oclif's
    // plugin-warn-if-update-available): not within a call's time limit either.
    // SAFETY: as above.
    unsafe { std::env::set_var("HEROKU_SKIP_NEW_VERSION_CHECK", "true") };
    // `COMPLETE=bash botctl -- …` from the shell's completion hook: answer and exit.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    ui::install_panic_hook();
    let cli = Cli::parse();
    ui::init_color(cli.color.forced());
    if cli.verbose > 0 {
        tracing_subscriber::fmt()
            .with_writer(|| ui::TraceWriter)
            .with_target(false)
            .without_time()
            .with_max_level(if cli.verbose > 1 {
                tracing::Level::DEBUG
            } else {
                tracing::Level::INFO
            })
            .init();
    }
    interrupt::install(|| {
        ui::error("interrupted");
        ui::restore_terminal();
    });
    let status = match dispatch(cli) {
        Ok(_) | Err(Error::Interrupted) if interrupt::requested() => {
            ui::error("interrupted");
            ExitStatus::Interrupted
        }
        Ok(status) => status,
        Err(e) => {
            ui::failure(&e);
            e.exit_status()
        }
    };
    ui::restore_terminal();
    status.code()
}

fn context(cli: &Cli) -> Result<Context> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working folder", e))?;
    let path = config::locate(cli.config.as_deref(), &cwd)?;
    Ok(Context::new(config::load(&path)?))
}

fn dispatch(cli: Cli) -> Result<ExitStatus> {
    let detail = if cli.verbose > 0 {
        ui::report::Detail::All
    } else {
        ui::report::Detail::Problems
    };
    match &cli.command {
        Command::Status(args) => commands::status::run(&context(&cli)?, args, detail),
        Command::Doctor(args) => commands::doctor::run(&context(&cli)?, args, detail),
        Command::DevStart(args) => commands::dev_start::run(&context(&cli)?, args),
        Command::DevStop(args) => commands::dev_stop::run(&context(&cli)?, args),
        Command::DeployResume(args) => commands::deploy_resume::run(&context(&cli)?, args),
        Command::Deploy(args) => commands::deploy::run(&context(&cli)?, args),
        Command::Exec(args) => commands::exec::run(&context(&cli)?, args),
        Command::Checklist => commands::checklist::run(&context(&cli)?),
        Command::Init(args) => commands::init::run(args),
        Command::Watch(args) => commands::watch::run(&context(&cli)?, args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::aot::generate(*shell, &mut Cli::command(), "botctl", &mut script);
            ui::verbatim(&String::from_utf8_lossy(&script));
            Ok(ExitStatus::Clean)
        }
    }
}
