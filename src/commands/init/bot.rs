//! A bot as init found it (or a candidate it is unsure of), and what it knows of its Fly app:
//! the types the finding, naming, app and rendering steps share.

use std::path::PathBuf;

use super::token::TokenFound;
use crate::model::{Entry, Language};

/// A bot, or a candidate init is unsure of.
pub struct FoundBot {
    pub name: String,
    pub entry: Entry,
    /// Where it runs (the project root, or the folder a `cd`, a Dockerfile or a Procfile puts it in).
    pub dir: PathBuf,
    /// That folder relative to the root (empty: the root).
    pub dir_rel: Option<String>,
    /// The Fly app came from a file that deploys it (not from a name or a folder).
    pub fly_from_launch: bool,
    /// Every project file that starts it.
    pub origins: Vec<String>,
    /// Why it is only a candidate; `None`: a bot for sure.
    pub doubt: Option<String>,
    pub token: TokenFound,
    pub app: App,
    /// The Kubernetes workload whose container starts it.
    pub kube: Option<super::manifests::ManifestWorkload>,
    /// Its Heroku app and process type, when a Procfile starts it and no fly.toml deploys it.
    pub heroku: Option<HerokuKey>,
    /// Why it runs on Railway (`railway.toml (deploy.startCommand) starts it`).
    pub railway: Option<String>,
    pub language: Language,
    /// Names the project files give it (services, processes), and its package's.
    pub(super) names: Vec<String>,
    pub(super) package: Option<String>,
    pub(super) fly: Vec<(usize, Option<String>)>,
    /// The Procfile lines that start it: (process type, origin).
    pub(super) procfile: Vec<(String, String)>,
    /// The Railway configs that start it (origins).
    pub(super) railway_config: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    /// The file that runs, to merge what names it twice.
    pub(super) key: PathBuf,
}

impl FoundBot {
    /// A bot for sure, with nothing found about it yet, not named yet.
    pub fn new(entry: Entry, key: PathBuf, dir: PathBuf, language: Language) -> FoundBot {
        FoundBot {
            name: String::new(),
            entry,
            dir,
            dir_rel: None,
            fly_from_launch: false,
            origins: Vec::new(),
            doubt: None,
            token: TokenFound::default(),
            app: App::None,
            kube: None,
            heroku: None,
            railway: None,
            language,
            names: Vec::new(),
            package: None,
            fly: Vec::new(),
            procfile: Vec::new(),
            railway_config: Vec::new(),
            env: Vec::new(),
            key,
        }
    }

    /// A sure bot with no app, for render's tests.
    #[cfg(test)]
    pub fn for_test(name: &str, entry: Entry, dir: Option<&str>, token: TokenFound) -> FoundBot {
        FoundBot {
            name: name.into(),
            dir_rel: dir.map(String::from),
            origins: vec!["Procfile:1 (worker)".into()],
            token,
            ..FoundBot::new(
                entry,
                PathBuf::from("/p/x.py"),
                PathBuf::from("/p").join(dir.unwrap_or("")),
                Language::Python,
            )
        }
    }

    /// Its folder for a message: escaped, `.` for the root.
    pub fn dir_shown(&self) -> String {
        match self.dir_rel.as_deref() {
            None | Some("") => ".".into(),
            Some(d) => crate::outside::shown(d).into_owned(),
        }
    }
}

/// What init knows of a bot's Fly app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum App {
    None,
    /// The app, how it was tied to the bot, its fly.toml (when not the root's), its group.
    Found {
        app: String,
        why: String,
        fly_toml: Option<String>,
        group: Option<String>,
    },
    /// Several fly.toml files name it.
    Several(Vec<String>),
}

/// The `heroku` key init writes for a bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HerokuKey {
    /// `None`: no git remote names it; the key is written commented, for the user to fill.
    pub app: Option<String>,
    pub process: String,
    /// `Procfile:2 (worker) starts it`.
    pub why: String,
}
