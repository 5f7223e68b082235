//! From launches to bots: each file or module that runs found once however many project files
//! start it, judged (a bot for sure, a candidate with the reason it is not, or no bot at all),
//! named, and given what was found about its token and its Fly app.

use std::path::{Path, PathBuf};

use super::code::{self, code_set};
use super::launch::{Runs, Sources, resolve};
use super::token::{self, Token};
use super::walk::{Project, read};
use crate::model::{Entry, Language};

/// A bot, or a candidate init is unsure of.
pub struct Bot {
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
    pub token: Token,
    pub app: App,
    pub language: Language,
    /// Names the project files give it (services, processes), and its package's.
    names: Vec<String>,
    package: Option<String>,
    fly: Vec<(usize, Option<String>)>,
    env: Vec<(String, String)>,
    /// The file that runs, to merge what names it twice.
    key: PathBuf,
}

impl Bot {
    /// A sure bot with no app, for render's tests.
    #[cfg(test)]
    pub fn for_test(name: &str, entry: Entry, dir: Option<&str>, token: Token) -> Bot {
        Bot {
            name: name.into(),
            entry,
            dir: PathBuf::from("/p").join(dir.unwrap_or("")),
            dir_rel: dir.map(String::from),
            fly_from_launch: false,
            origins: vec!["Procfile:1 (worker)".into()],
            doubt: None,
            token,
            app: App::None,
            language: Language::Python,
            names: Vec::new(),
            package: None,
            fly: Vec::new(),
            env: Vec::new(),
            key: PathBuf::from("/p/x.py"),
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

/// Names that say nothing about which bot it is.
const GENERIC: [&str; 16] = [
    "app", "main", "bot", "src", "__main__", "run", "start", "index", "server", "cli", "dist",
    "lib", "source", "core", "worker", "web",
];

pub struct Found {
    pub bots: Vec<Bot>,
    /// fly.toml apps no bot was tied to: (app, fly.toml shown).
    pub unassigned: Vec<(String, String)>,
    /// Every fly.toml read, shown: where init looked for a bot's app.
    pub fly_files: Vec<String>,
}

pub fn bots(project: &Project, sources: &Sources) -> Found {
    let mut bots: Vec<Bot> = Vec::new();
    for launch in &sources.launches {
        for (runs, dir) in resolve(project, &sources.packages, &launch.step, launch.strong) {
            let (entry, key, language) = match &runs {
                Runs::Script { file, language } => (
                    Entry::Script(script_path(project, file)),
                    file.clone(),
                    *language,
                ),
                Runs::Module { name, file } if crate::config::is_module_name(name) => {
                    (Entry::Module(name.clone()), file.clone(), Language::Python)
                }
                Runs::Module { .. } => continue,
                Runs::Missing { entry, named } => (
                    entry.clone(),
                    dir.join(format!("\0{named}")),
                    Language::Python,
                ),
            };
            let bot = match bots.iter_mut().find(|b| b.key == key) {
                Some(b) => b,
                None => {
                    let doubt = match &runs {
                        Runs::Missing { named, .. } => Some(format!(
                            "{} runs `{named}`, which is not in the project",
                            launch.origin
                        )),
                        _ => None,
                    };
                    bots.push(Bot {
                        name: String::new(),
                        entry,
                        dir: dir.clone(),
                        dir_rel: None,
                        fly_from_launch: false,
                        origins: Vec::new(),
                        doubt,
                        token: Token::default(),
                        app: App::None,
                        language,
                        names: Vec::new(),
                        package: None,
                        fly: Vec::new(),
                        env: Vec::new(),
                        key,
                    });
                    bots.last_mut().expect("just pushed")
                }
            };
            if !bot.origins.contains(&launch.origin) {
                bot.origins.push(launch.origin.clone());
            }
            bot.names.extend(launch.name.clone());
            bot.fly.extend(launch.fly.clone());
            bot.env.extend(launch.env.iter().cloned());
        }
    }

    // Judge each launched one by its code; keep what it covers.
    let mut covered: Vec<PathBuf> = Vec::new();
    let mut python_started = false;
    bots.retain_mut(|b| {
        if b.doubt.is_some() {
            return true;
        }
        let code = code_set(project, &built_from(&b.key), &b.dir);
        let package = super::package_json::owning(&sources.packages, &b.dir, &project.root);
        let telegram = code.iter().any(|(_, t)| code::uses_telegram(t))
            || (b.language == Language::JavaScript && package.is_some_and(|p| p.telegram));
        if !telegram {
            return false; // a web server, a worker of another kind: no bot
        }
        if b.language == Language::Python {
            python_started = true;
        }
        b.package = match b.language {
            Language::JavaScript => package.and_then(|p| p.name.clone()),
            Language::Python => pyproject_name(project, &b.dir),
        };
        b.token = token::find(project, &code, &b.dir, &b.env);
        covered.extend(code.into_iter().map(|(p, _)| p));
        true
    });

    // Python files that poll and that nothing found starts.
    for file in project.with_ext("py") {
        if covered.contains(file) || bots.iter().any(|b| &b.key == file) {
            continue;
        }
        let Some(text) = read(file) else { continue };
        if !code::polls(&text) {
            continue;
        }
        // Polling inside a package whose `__main__` runs it: the bot is `python -m PACKAGE`.
        if let Some((main, module, dir)) = package_main(project, file)
            && !bots.iter().any(|b| b.key == main)
        {
            let code = code_set(project, &main, &dir);
            if code.iter().any(|(p, _)| p == file) {
                let doubt = python_started.then(|| {
                    format!(
                        "{} polls, run by `python -m {module}`, but no Dockerfile, compose \
file, Procfile, fly.toml, package.json, Makefile or script starts it",
                        project.shown(file)
                    )
                });
                covered.extend(code.iter().map(|(p, _)| p.clone()));
                bots.push(Bot {
                    name: String::new(),
                    entry: Entry::Module(module),
                    origins: Vec::new(),
                    doubt,
                    token: token::find(project, &code, &dir, &[]),
                    app: App::None,
                    language: Language::Python,
                    names: Vec::new(),
                    package: pyproject_name(project, &dir),
                    fly: Vec::new(),
                    env: Vec::new(),
                    key: main,
                    dir,
                    dir_rel: None,
                    fly_from_launch: false,
                });
                continue;
            }
        }
        let dir = run_folder(project, file);
        let code = code_set(project, file, &dir);
        let doubt = if text.lines().any(|l| l.trim_start().starts_with("from .")) {
            Some(format!(
                "{} polls, but imports with `from .`, so it runs as part of its package \
(python -m): set module",
                project.shown(file)
            ))
        } else if python_started {
            Some(format!(
                "{} polls, but no Dockerfile, compose file, Procfile, fly.toml, package.json, \
Makefile or script starts it",
                project.shown(file)
            ))
        } else {
            None
        };
        covered.extend(code.iter().map(|(p, _)| p.clone()));
        bots.push(Bot {
            name: String::new(),
            entry: Entry::Script(script_path(project, file)),
            origins: Vec::new(),
            doubt,
            token: token::find(project, &code, &dir, &[]),
            app: App::None,
            language: Language::Python,
            names: Vec::new(),
            package: pyproject_name(project, &dir),
            fly: Vec::new(),
            env: Vec::new(),
            key: file.clone(),
            dir,
            dir_rel: None,
            fly_from_launch: false,
        });
    }

    for b in &mut bots {
        b.dir_rel = Some(project.rel(&b.dir));
    }
    let unassigned = assign_apps(project, sources, &mut bots);
    name_all(project, &mut bots);
    let fly_files = sources.fly.iter().map(|f| project.shown(&f.path)).collect();
    Found {
        bots,
        unassigned,
        fly_files,
    }
}

/// The source a built file comes from, when the build is not there: `dist/main.js` is built
/// from `src/main.ts` (TypeScript's usual layout).
fn built_from(file: &Path) -> PathBuf {
    if file.is_file() {
        return file.to_path_buf();
    }
    let mut parts: Vec<String> = file
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(i) = parts
        .iter()
        .rposition(|p| matches!(p.as_str(), "dist" | "build" | "out" | "lib"))
    {
        parts[i] = "src".into();
        let src: PathBuf = parts.iter().collect();
        for ext in ["ts", "mts", "js"] {
            let candidate = src.with_extension(ext);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    file.to_path_buf()
}

/// A script as botctl.toml names it: relative to the root, with a `/` so that only this
/// project's copy matches (`./main.py`, `bot/bot.py`).
fn script_path(project: &Project, file: &Path) -> String {
    let rel = project.rel(file);
    if rel.contains('/') {
        rel
    } else {
        format!("./{rel}")
    }
}

/// The package `__main__.py` nearest above `file` (its own folder first), its module name and
/// the folder `python -m` runs it from (the first one up that is no package; above `src/`).
fn package_main(project: &Project, file: &Path) -> Option<(PathBuf, String, PathBuf)> {
    let mut folder = file.parent()?;
    loop {
        let main = folder.join("__main__.py");
        if main.is_file() {
            let mut top = folder;
            while let Some(up) = top.parent()
                && up.join("__init__.py").is_file()
                && up.starts_with(&project.root)
            {
                top = up;
            }
            let base = top.parent()?;
            let module: Vec<String> = folder
                .strip_prefix(base)
                .ok()?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let module = module.join(".");
            let run_dir = match base.file_name() {
                Some(n) if n == "src" && base != project.root => base.parent()?,
                _ => base,
            };
            return crate::config::is_module_name(&module)
                .then(|| (main, module, run_dir.to_path_buf()));
        }
        // Only up through packages, never above the root.
        if !folder.join("__init__.py").is_file() || folder == project.root {
            return None;
        }
        folder = folder.parent()?;
    }
}

/// Where a polling file no project file starts would run: the nearest folder from it up to
/// the root that looks like its own project (requirements, a Dockerfile, a .env), else the root.
fn run_folder(project: &Project, file: &Path) -> PathBuf {
    let markers = [
        "requirements.txt",
        "pyproject.toml",
        "Dockerfile",
        "fly.toml",
        ".env",
        ".env.example",
        "Pipfile",
    ];
    file.parent()
        .into_iter()
        .flat_map(Path::ancestors)
        .take_while(|d| d.starts_with(&project.root) && *d != project.root)
        .find(|d| markers.iter().any(|m| d.join(m).is_file()))
        .map_or_else(|| project.root.clone(), Path::to_path_buf)
}

/// `[project] name` (or Poetry's) of a pyproject.toml in the bot's own folder (a root one
/// names the whole project, not one bot, unless the bot runs there).
fn pyproject_name(project: &Project, dir: &Path) -> Option<String> {
    let text = read(&dir.join("pyproject.toml"))?;
    let _ = project;
    let table = text.parse::<toml::Table>().ok()?;
    let name = table
        .get("project")
        .and_then(|p| p.get("name"))
        .or_else(|| table.get("tool")?.get("poetry")?.get("name"))
        .and_then(|n| n.as_str())?;
    Some(name.to_string())
}

/// A bot name (`[a-z0-9-]+`) from `text`, or nothing.
fn slug(text: &str) -> Option<String> {
    let s: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut out = String::new();
    for part in s.split('-').filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(part);
    }
    (!out.is_empty()).then_some(out)
}

fn is_generic(name: &str) -> bool {
    GENERIC.contains(&name.to_ascii_lowercase().as_str())
}

/// The names a bot's entry suggests, most telling first: `frontend.admin_bot.src` →
/// `admin_bot`; `bots/partner/main.py` → `partner`.
fn entry_names(b: &Bot, project: &Project) -> Vec<String> {
    let parts: Vec<String> = match &b.entry {
        Entry::Module(m) => m.split('.').map(String::from).collect(),
        Entry::Script(s) => {
            let p = Path::new(s);
            let stem = p.file_stem().map(|x| x.to_string_lossy().into_owned());
            let mut parts: Vec<String> = p
                .parent()
                .into_iter()
                .flat_map(|d| d.components())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .filter(|c| c != ".")
                .collect();
            parts.extend(stem);
            parts
        }
    };
    let mut out: Vec<String> = parts
        .iter()
        .rev()
        .filter(|p| !is_generic(p))
        .cloned()
        .collect();
    if b.dir != project.root
        && let Some(d) = b.dir.file_name()
    {
        out.push(d.to_string_lossy().into_owned());
    }
    out
}

fn name_all(project: &Project, bots: &mut [Bot]) {
    let mut taken: Vec<String> = Vec::new();
    for b in bots.iter_mut() {
        let services = b.names.iter().filter(|n| !is_generic(n)).cloned();
        let entry = entry_names(b, project);
        let package = b.package.clone().into_iter();
        let ordered: Vec<String> = match b.language {
            Language::JavaScript => package.chain(services).chain(entry).collect(),
            Language::Python => entry.into_iter().chain(services).chain(package).collect(),
        };
        let base = ordered
            .iter()
            .find_map(|n| slug(n).filter(|s| !is_generic(s)))
            .or_else(|| match &b.app {
                App::Found { app, .. } => Some(app.clone()),
                _ => None,
            })
            // A repository is often named after its bot.
            .or_else(|| {
                project
                    .root
                    .file_name()
                    .and_then(|n| slug(&n.to_string_lossy()))
                    .filter(|s| !is_generic(s))
            })
            .or_else(|| b.names.first().and_then(|n| slug(n)))
            .unwrap_or_else(|| "bot".to_string());
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        taken.push(name.clone());
        b.name = name;
    }
}

/// Ties each bot to the Fly app that deploys it: the fly.toml whose processes or Dockerfile
/// start it; else a package named like the app; else the only bot in the fly.toml's folder; a
/// root fly.toml to the project's only bot. Returns the apps tied to no bot.
fn assign_apps(project: &Project, sources: &Sources, bots: &mut [Bot]) -> Vec<(String, String)> {
    let fly = &sources.fly;
    let mut used = vec![false; fly.len()];
    let app_of = |i: usize, why: String, group: Option<String>| {
        let f = &fly[i];
        App::Found {
            app: f.app.clone(),
            why,
            fly_toml: (f.path != project.root.join("fly.toml")).then(|| project.rel(&f.path)),
            group,
        }
    };
    for b in bots.iter_mut() {
        let mut apps: Vec<usize> = b.fly.iter().map(|(i, _)| *i).collect();
        apps.sort();
        apps.dedup();
        match apps.as_slice() {
            [one] => {
                let group = b.fly.iter().find_map(|(_, g)| g.clone());
                b.app = app_of(
                    *one,
                    format!("{} deploys it", project.shown(&fly[*one].path)),
                    group,
                );
                b.fly_from_launch = true;
                used[*one] = true;
            }
            [] => {}
            many => {
                b.app = App::Several(many.iter().map(|i| fly[*i].app.clone()).collect());
                for i in many {
                    used[*i] = true;
                }
            }
        }
    }
    let sure = bots.iter().filter(|b| b.doubt.is_none()).count();
    for (i, f) in fly.iter().enumerate() {
        if used[i] {
            continue;
        }
        let free: Vec<usize> = (0..bots.len())
            .filter(|&j| bots[j].app == App::None)
            .collect();
        let packaged: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&j| {
                bots[j]
                    .package
                    .as_deref()
                    .is_some_and(|p| same_name(p, &f.app))
            })
            .collect();
        let in_folder: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&j| bots[j].dir == f.dir)
            .collect();
        let shown = project.shown(&f.path);
        let chosen = match (packaged.as_slice(), in_folder.as_slice()) {
            ([one], _) => Some((
                *one,
                format!("its package is named like the app in {shown}"),
            )),
            ([], [one]) => Some((*one, format!("{shown} is in its folder"))),
            ([], [])
                if f.dir == project.root && sure == 1 && bots.len() == 1 && free.len() == 1 =>
            {
                Some((
                    free[0],
                    format!("{shown} is the project's and it is the only bot"),
                ))
            }
            _ => None,
        };
        if let Some((j, why)) = chosen {
            bots[j].app = app_of(i, why, None);
            used[i] = true;
        }
    }
    fly.iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(f, _)| (f.app.clone(), project.shown(&f.path)))
        .collect()
}

/// A package name and a Fly app name name the same thing: case and `_`/`-` aside (Python
/// normalises package names so; Fly app names are lower case with dashes).
pub fn same_name(package: &str, app: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
    norm(package) == norm(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_and_app_names() {
        assert!(same_name("shop-bot", "shop-bot"));
        assert!(same_name("LB_Partner", "lb-partner"));
        assert!(same_name("lb.partner", "lb-partner"));
        assert!(!same_name("shop", "shop-bot"));
        assert_eq!(slug("admin_bot"), Some("admin-bot".into()));
        assert_eq!(slug("__"), None);
    }
}
