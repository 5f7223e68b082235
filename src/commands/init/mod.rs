//! `botctl init`: write a botctl.toml for the folder, always. One reader per kind of project
//! file says how the project starts its programs; each is followed to the file or module it
//! runs; the ones whose code uses a Telegram library are the bots, each found once:
//!
//! - [`dockerfile`]: `CMD` and `ENTRYPOINT`, exec and shell forms
//! - [`compose`]: each service's `command`, build folder and `environment`
//! - [`procfile`]: `worker: python bot.py`
//! - [`fly_toml`]: the app, `[processes]`, `[experimental] cmd`, the Dockerfile it deploys
//! - [`manifests`]: Kubernetes Deployments and StatefulSets (`k8s/`, `deploy/`, kustomize):
//!   the workload and its containers' command, for the bot's `kubernetes` key
//! - [`package_json`]: `scripts` (each command of a chain) and `main` (`node .`, `npm start`)
//! - [`scripts`]: Makefile targets and `*.sh` scripts
//! - [`code`]: the bot's code and the project modules it imports; polling files nothing starts
//! - [`token`]: the variable that code reads its token from, and a token written in it
//! - [`names`] and [`apps`]: each bot's name, and the Fly app that deploys it
//! - [`heroku`]: the Heroku app (the `heroku` git remote) and process type that run it
//! - [`railway`]: `deploy.startCommand` of railway.json / railway.toml: a bot on Railway
//!
//! What init is unsure of is written commented out with the reason; what it could not find is
//! left out with a comment saying where it looked; nothing is invented.

mod apps;
mod bot;
mod code;
mod command;
mod compose;
mod dockerfile;
mod fly_toml;
mod found;
mod heroku;
mod launch;
mod manifests;
mod names;
mod package_json;
mod procfile;
mod railway;
mod render;
mod scripts;
mod token;
mod walk;

use crate::config::{self, FILE_NAME};
use crate::error::{Error, ExitStatus, Result, Usage};
use crate::ui;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  botctl init\n  botctl init --yes")]
pub struct Args {
    /// Do not ask for confirmation
    #[arg(long, short)]
    yes: bool,
    /// Overwrite an existing botctl.toml
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<ExitStatus> {
    let root =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working folder", e))?;
    let target = root.join(FILE_NAME);
    if target.exists() && !args.force {
        return Err(Error::Refused {
            message: format!(
                "{} already exists; botctl init does not overwrite it",
                target.display()
            ),
            fix: crate::fix::Fix::run(&["botctl", "init", "--force"]),
        });
    }
    let project = walk::Project::walk(&root);
    let sources = launch::gather(&project);
    let mut found = found::bots(&project, &sources);
    // A bot the config would refuse is written as a candidate with the config's reason, so
    // init never fails on what it found.
    for b in found.bots.iter_mut().filter(|b| b.doubt.is_none()) {
        if let Err(Error::Config { message, .. }) =
            config::parse(&render::alone(b), &target, root.clone())
        {
            b.doubt = Some(format!("botctl.toml would refuse it: {message}"));
        }
    }
    let text = render::toml(&found);
    check(&text, &target, &root, &found)?;

    for line in render::summary(&found) {
        ui::line(line);
    }
    ui::confirm(
        &format!("Write {}?", target.display()),
        ui::Consent::from_yes(args.yes),
    )?;
    crate::state::write_atomically(&target, &text)
        .map_err(|e| Error::io(format!("cannot write {}", target.display()), e))?;
    let next = if found.bots.iter().any(|b| b.doubt.is_none()) {
        "Next: botctl status"
    } else {
        "Next: fill in a [[bot]] table, then botctl status"
    };
    ui::line(format!("Wrote {}. {next}", target.display()));
    Ok(ExitStatus::Clean)
}

/// What init writes must be accepted by every command: checked with the real parser (a file
/// with no bot yet is checked as TOML, and every other command says it describes no bots).
fn check(
    text: &str,
    target: &std::path::Path,
    root: &std::path::Path,
    found: &found::Found,
) -> Result<()> {
    if found.bots.iter().any(|b| b.doubt.is_none()) {
        config::parse(text, target, root.to_path_buf())?;
    } else if let Err(e) = text.parse::<toml::Table>() {
        return Err(Error::Usage(Usage::InitNotToml(e)));
    }
    Ok(())
}
