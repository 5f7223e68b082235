//! botctl: thin entry point. Parse, set up output, dispatch, map errors to exit codes.

use clap::{CommandFactory, Parser};

use botctl::cli::{Cli, Command};
use botctl::commands::{self, Context};
use botctl::error::{Error, Result};
use botctl::{config, interrupt, ui};

fn main() {
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
    interrupt::install();
    let code = match run(cli) {
        Ok(_) | Err(Error::Interrupted) if interrupt::requested() => {
            ui::error("interrupted");
            130
        }
        Ok(code) => code,
        Err(e) => {
            ui::error(&e);
            e.exit_code()
        }
    };
    ui::restore_terminal();
    std::process::exit(code);
}

fn context(cli: &Cli) -> Result<Context> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working folder", e))?;
    let path = config::locate(cli.config.as_deref(), &cwd)?;
    Ok(Context::new(config::load(&path)?))
}

fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Status(args) => commands::status::run(&context(&cli)?, args),
        Command::Doctor(args) => commands::doctor::run(&context(&cli)?, args),
        Command::DevStart(args) => commands::dev_start::run(&context(&cli)?, args),
        Command::DevStop {
            bots,
            yes,
            dry_run,
            grace,
            host: Some(host),
        } => commands::dev_stop_host::run(&context(&cli)?, host, bots, *yes, *dry_run, *grace),
        Command::DevStop {
            bots,
            yes,
            dry_run,
            grace,
            host: None,
        } => commands::dev_stop::run(&context(&cli)?, bots, *yes, *dry_run, *grace),
        Command::DeployResume(args) => commands::deploy_resume::run(&context(&cli)?, args),
        Command::Checklist => commands::checklist::run(&context(&cli)?),
        Command::Init(args) => commands::init::run(args),
        Command::Completions { shell } => {
            clap_complete::aot::generate(
                *shell,
                &mut Cli::command(),
                "botctl",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}
