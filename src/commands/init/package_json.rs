//! package.json: whether the package depends on a Node Telegram framework, its `scripts` (each
//! command of an `&&`/`;` chain) and its `main` (what `node .` and `npm start` without a start
//! script run).

use std::path::{Path, PathBuf};

use super::command::{self, LaunchStep};
use super::walk::{Project, read};

/// Node packages that poll Telegram.
pub const NODE_FRAMEWORKS: [&str; 3] = ["telegraf", "grammy", "node-telegram-bot-api"];

pub struct Package {
    pub path: PathBuf,
    pub dir: PathBuf,
    /// The package's name without its scope (`@lb/shop-bot` → `shop-bot`).
    pub name: Option<String>,
    pub main: Option<String>,
    pub scripts: Vec<(String, String)>,
    /// Depends on telegraf, grammy or node-telegram-bot-api.
    pub telegram: bool,
}

pub fn read_all(project: &Project) -> Vec<Package> {
    project
        .named("package.json")
        .filter_map(|p| read_one(p))
        .collect()
}

fn read_one(path: &Path) -> Option<Package> {
    let value: serde_json::Value = serde_json::from_str(&read(path)?).ok()?;
    let telegram = ["dependencies", "devDependencies"].iter().any(|key| {
        value[key]
            .as_object()
            .is_some_and(|deps| NODE_FRAMEWORKS.iter().any(|f| deps.contains_key(*f)))
    });
    let scripts = value["scripts"]
        .as_object()
        .map(|s| {
            s.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Some(Package {
        path: path.to_path_buf(),
        dir: path.parent()?.to_path_buf(),
        name: value["name"]
            .as_str()
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_string())
            .filter(|n| !n.is_empty()),
        main: value["main"].as_str().map(String::from),
        scripts,
        telegram,
    })
}

impl Package {
    pub fn script(&self, name: &str) -> Option<&str> {
        self.scripts
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// What `npm start` runs: the start script, else `node` with `main` (npm's default is
    /// `node server.js`, which no bot is).
    pub fn start_steps(&self) -> Vec<LaunchStep> {
        match self.script("start") {
            Some(s) => command::steps(s, &self.dir),
            None => self
                .main_entry()
                .map(|m| {
                    vec![LaunchStep {
                        dir: self.dir.clone(),
                        starts: command::Starts::Script(m),
                    }]
                })
                .unwrap_or_default(),
        }
    }

    /// What `node .` runs in this package: `main`, else `index.js` (Node's own default).
    pub fn main_entry(&self) -> Option<String> {
        self.main.clone().or_else(|| {
            self.dir
                .join("index.js")
                .is_file()
                .then(|| "index.js".to_string())
        })
    }

    /// Where the package's origin is shown: `package.json (scripts.start)`.
    pub fn origin(&self, project: &Project, what: &str) -> String {
        format!("{} ({what})", project.shown(&self.path))
    }
}

/// The package whose folder is `dir` or the nearest above it inside the project.
pub fn owning<'a>(packages: &'a [Package], dir: &Path, root: &Path) -> Option<&'a Package> {
    dir.ancestors()
        .take_while(|d| d.starts_with(root))
        .find_map(|d| packages.iter().find(|p| p.dir == d))
}
