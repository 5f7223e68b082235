//! Railway's config as code (`railway.json`, `railway.toml`): `deploy.startCommand` is what
//! the service runs. A bot it starts runs on Railway, in the service the project is linked to
//! (`railway link` keeps that link outside the project, so init names no service).

use super::bot::{App, FoundBot};
use super::command::{self, LaunchStep};
use super::walk::{Project, read};

/// One config file's start command.
pub struct StartCommand {
    /// `railway.toml (deploy.startCommand)`.
    pub origin: String,
    pub steps: Vec<LaunchStep>,
}

pub fn read_all(project: &Project) -> Vec<StartCommand> {
    let mut out = Vec::new();
    for name in ["railway.json", "railway.toml"] {
        for path in project.named(name) {
            let Some(text) = read(path) else { continue };
            let start = if name.ends_with(".json") {
                serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["deploy"]["startCommand"].as_str().map(String::from))
            } else {
                text.parse::<toml::Table>().ok().and_then(|t| {
                    t.get("deploy")?
                        .get("startCommand")?
                        .as_str()
                        .map(String::from)
                })
            };
            let Some(start) = start else { continue };
            let dir = path.parent().unwrap_or(&project.root);
            out.push(StartCommand {
                origin: format!("{} (deploy.startCommand)", project.shown(path)),
                steps: command::steps(&start, dir),
            });
        }
    }
    out
}

/// A bot no fly.toml deploys and no Heroku app runs, started by a Railway config: it runs on
/// Railway.
pub fn assign(bots: &mut [FoundBot]) {
    for b in bots.iter_mut() {
        let on_heroku = b.heroku.as_ref().is_some_and(|h| h.app.is_some());
        if b.app == App::None && !on_heroku && b.railway.is_none() {
            b.railway = b.railway_config.first().map(|o| format!("{o} starts it"));
        }
    }
}
