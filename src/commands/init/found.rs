//! From launches to bots: each file or module that runs found once however many project files
//! start it, judged (a bot for sure, a candidate with the reason it is not, or no bot at all),
//! named, and given what was found about its token and its Fly app.

use std::path::{Path, PathBuf};

use super::bot::FoundBot;
use super::code::{self, code_set};
use super::launch::{Launched, Sources, resolve};
use super::token;
use super::walk::{Project, read};
use crate::model::{Entry, Language};

pub struct Found {
    pub bots: Vec<FoundBot>,
    /// fly.toml apps no bot was tied to: (app, fly.toml shown).
    pub unassigned: Vec<(String, String)>,
    /// Every fly.toml read, shown: where init looked for a bot's app.
    pub fly_files: Vec<String>,
}

pub fn bots(project: &Project, sources: &Sources) -> Found {
    let mut bots: Vec<FoundBot> = Vec::new();
    for launch in &sources.launches {
        for (runs, dir) in resolve(project, &sources.packages, &launch.step, launch.file) {
            let (entry, key, language) = match &runs {
                Launched::Script { file, language } => (
                    Entry::Script(script_path(project, file)),
                    file.clone(),
                    *language,
                ),
                Launched::Module { name, file } if crate::config::is_module_name(name) => {
                    (Entry::Module(name.clone()), file.clone(), Language::Python)
                }
                Launched::Module { .. } => continue,
                Launched::Missing { entry, named } => (
                    entry.clone(),
                    dir.join(format!("\0{named}")),
                    Language::Python,
                ),
            };
            let bot = match bots.iter_mut().find(|b| b.key == key) {
                Some(b) => b,
                None => {
                    let doubt = match &runs {
                        Launched::Missing { named, .. } => Some(format!(
                            "{} runs `{named}`, which is not in the project",
                            launch.origin
                        )),
                        _ => None,
                    };
                    bots.push(FoundBot {
                        doubt,
                        ..FoundBot::new(entry, key, dir.clone(), language)
                    });
                    bots.last_mut().expect("just pushed")
                }
            };
            if !bot.origins.contains(&launch.origin) {
                bot.origins.push(launch.origin.clone());
            }
            bot.names.extend(launch.name.clone());
            bot.fly.extend(launch.fly.clone());
            if let Some(kind) = &launch.procfile
                && !bot.procfile.iter().any(|(k, _)| k == kind)
            {
                bot.procfile.push((kind.clone(), launch.origin.clone()));
            }
            if launch.railway && !bot.railway_config.contains(&launch.origin) {
                bot.railway_config.push(launch.origin.clone());
            }
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
            Language::Python => pyproject_name(&b.dir),
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
                bots.push(FoundBot {
                    doubt,
                    token: token::find(project, &code, &dir, &[]),
                    package: pyproject_name(&dir),
                    ..FoundBot::new(Entry::Module(module), main, dir, Language::Python)
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
        let entry = Entry::Script(script_path(project, file));
        bots.push(FoundBot {
            doubt,
            token: token::find(project, &code, &dir, &[]),
            package: pyproject_name(&dir),
            ..FoundBot::new(entry, file.clone(), dir, Language::Python)
        });
    }

    for b in &mut bots {
        b.dir_rel = Some(project.rel(&b.dir));
    }
    let unassigned = super::apps::assign(project, &sources.fly, &mut bots);
    super::heroku::assign(project, &mut bots);
    super::railway::assign(&mut bots);
    // The workload whose container starts the bot is its place on Kubernetes.
    for b in &mut bots {
        b.kube = sources
            .kube
            .iter()
            .find(|w| b.origins.contains(&w.origin))
            .cloned();
    }
    super::names::name_all(project, &mut bots);
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
fn pyproject_name(dir: &Path) -> Option<String> {
    let text = read(&dir.join("pyproject.toml"))?;
    let table = text.parse::<toml::Table>().ok()?;
    let name = table
        .get("project")
        .and_then(|p| p.get("name"))
        .or_else(|| table.get("tool")?.get("poetry")?.get("name"))
        .and_then(|n| n.as_str())?;
    Some(name.to_string())
}
