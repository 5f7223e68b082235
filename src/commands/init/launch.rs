//! Every way the project's own files start a program, read by one reader per kind of file, and
//! each followed to the file or module it finally runs (`npm start` → its script → `tsx
//! ./src/main.ts`; `./run.sh` → `exec python -O -m app`; `node .` → package.json `main`).

use std::path::{Path, PathBuf};

use super::code::module_file;
use super::command::{LaunchStep, Starts};
use super::package_json::{self, Package};
use super::walk::{Project, normalize};
use super::{compose, dockerfile, fly_toml, manifests, procfile, railway, scripts};
use crate::model::Language;

/// One command of a project file that starts something.
pub struct Launch {
    pub step: LaunchStep,
    /// Where it is written: `Dockerfile:7 (CMD)`.
    pub origin: String,
    /// The name the file gives it: a compose service, a Procfile process, a Fly process group.
    pub name: Option<String>,
    /// The fly.toml (index into the fly files) that deploys it, and its process group.
    pub fly: Option<(usize, Option<String>)>,
    /// Variable names the file gives it (compose `environment`), with where.
    pub env: Vec<(String, String)>,
    /// What kind of file names it: an entry a launcher names that is not in the project is
    /// worth saying.
    pub file: LaunchFile,
    /// A Procfile's process type (what Heroku scales).
    pub procfile: Option<String>,
    /// Railway's config as code starts it.
    pub railway: bool,
}

/// A file whose commands all start something (fly.toml, a Dockerfile, compose, a Procfile,
/// a manifest), or one of many jobs (a Makefile, a shell script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchFile {
    Launcher,
    ManyJobs,
}

/// What a launch finally runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launched {
    Script {
        file: PathBuf,
        language: Language,
    },
    Module {
        name: String,
        file: PathBuf,
    },
    /// A Python file or module named but not in the project: what it would be, and the
    /// command as named.
    Missing {
        entry: crate::model::Entry,
        named: String,
    },
}

pub struct Sources {
    pub fly: Vec<fly_toml::FlyFile>,
    /// Kubernetes workloads whose containers start something.
    pub kube: Vec<manifests::ManifestWorkload>,
    pub packages: Vec<Package>,
    pub launches: Vec<Launch>,
}

pub fn gather(project: &Project) -> Sources {
    let fly = fly_toml::read_all(project);
    let images = dockerfile::read_all(project);
    let services = compose::read_all(project);
    let procs = procfile::read_all(project);
    let kube = manifests::read_all(project);
    let railway_starts = railway::read_all(project);
    let packages = package_json::read_all(project);
    let mut launches = Vec::new();
    let mut add = |steps: &[LaunchStep],
                   origin: &str,
                   name: Option<&str>,
                   fly,
                   env: &[(String, String)],
                   file| {
        for step in steps {
            launches.push(Launch {
                step: step.clone(),
                origin: origin.to_string(),
                name: name.map(String::from),
                fly: Option::clone(&fly),
                env: env.to_vec(),
                file,
                procfile: None,
                railway: false,
            });
        }
    };
    for (i, f) in fly.iter().enumerate() {
        for (group, origin, steps) in &f.processes {
            add(
                steps,
                origin,
                group.as_deref(),
                Some((i, group.clone())),
                &[],
                LaunchFile::Launcher,
            );
        }
    }
    let env_of = |s: &compose::ComposeService| -> Vec<(String, String)> {
        s.env
            .iter()
            .map(|e| (e.clone(), s.origin.clone()))
            .collect()
    };
    for image in &images {
        // fly.toml's [processes] replace the image's CMD on Fly.
        let fly_i = fly
            .iter()
            .position(|f| f.dockerfile == image.path && f.processes.is_empty());
        let service = services
            .iter()
            .find(|s| s.steps.is_empty() && s.dockerfile.as_deref() == Some(&image.path));
        let env = service.map(env_of).unwrap_or_default();
        for (step, origin) in &image.steps {
            add(
                std::slice::from_ref(step),
                origin,
                service.map(|s| s.name.as_str()),
                fly_i.map(|i| (i, None)),
                &env,
                LaunchFile::Launcher,
            );
        }
    }
    for s in services.iter().filter(|s| !s.steps.is_empty()) {
        add(
            &s.steps,
            &s.origin,
            Some(&s.name),
            None,
            &env_of(s),
            LaunchFile::Launcher,
        );
    }
    for p in &procs {
        // Fly builds a folder without a Dockerfile with buildpacks, which run its Procfile.
        let fly_i = fly
            .iter()
            .position(|f| f.dir == p.dir && f.processes.is_empty() && !f.dockerfile.is_file());
        add(
            &p.steps,
            &p.origin,
            Some(&p.kind),
            fly_i.map(|i| (i, None)),
            &[],
            LaunchFile::Launcher,
        );
    }
    for w in &kube {
        add(
            &w.steps,
            &w.origin,
            Some(&w.name),
            None,
            &[],
            LaunchFile::Launcher,
        );
    }
    for r in &railway_starts {
        add(&r.steps, &r.origin, None, None, &[], LaunchFile::Launcher);
    }
    for pkg in packages.iter().filter(|p| p.telegram) {
        let what = if pkg.script("start").is_some() {
            "scripts.start"
        } else {
            "main"
        };
        add(
            &pkg.start_steps(),
            &pkg.origin(project, what),
            None,
            None,
            &[],
            LaunchFile::Launcher,
        );
    }
    for r in scripts::makefiles(project)
        .into_iter()
        .chain(scripts::shell_scripts(project))
    {
        add(&r.steps, &r.origin, None, None, &[], LaunchFile::ManyJobs);
    }
    // A Procfile line's origin names it alone (`Procfile:2 (worker)`).
    for l in &mut launches {
        l.procfile = procs
            .iter()
            .find(|p| p.origin == l.origin)
            .map(|p| p.kind.clone());
        l.railway = railway_starts.iter().any(|r| r.origin == l.origin);
    }
    Sources {
        fly,
        kube,
        packages,
        launches,
    }
}

/// How many hops (`npm start` → script → `./run.sh` → …) are followed.
const MAX_HOPS: usize = 4;

/// What `step` finally runs; empty when it runs no bot-like program (`tsc`, `gunicorn`).
pub fn resolve(
    project: &Project,
    packages: &[Package],
    step: &LaunchStep,
    named_by: LaunchFile,
) -> Vec<(Launched, PathBuf)> {
    let mut out = Vec::new();
    resolve_into(project, packages, step, named_by, 0, &mut out);
    out
}

fn resolve_into(
    project: &Project,
    packages: &[Package],
    step: &LaunchStep,
    named_by: LaunchFile,
    hops: usize,
    out: &mut Vec<(Launched, PathBuf)>,
) {
    if hops > MAX_HOPS || !project.contains(&step.dir) {
        return;
    }
    let dir = &step.dir;
    let strong = named_by == LaunchFile::Launcher;
    let follow = |steps: Vec<LaunchStep>, out: &mut Vec<(Launched, PathBuf)>| {
        for s in steps {
            resolve_into(project, packages, &s, named_by, hops + 1, out);
        }
    };
    match &step.starts {
        Starts::Script(s) => {
            let file = normalize(&dir.join(s));
            let language = Language::of(s);
            if !project.contains(&file) {
                return;
            }
            if file.is_file() {
                out.push((Launched::Script { file, language }, dir.clone()));
            } else if language == Language::JavaScript {
                // `node dist/bot.js` before the build: the file the process will run.
                if package_json::owning(packages, dir, &project.root).is_some_and(|p| p.telegram) {
                    out.push((Launched::Script { file, language }, dir.clone()));
                }
            } else if strong {
                out.push((
                    Launched::Missing {
                        entry: crate::model::Entry::Script(project.rel(&file)),
                        named: format!("python {}", crate::outside::shown(s)),
                    },
                    dir.clone(),
                ));
            }
        }
        Starts::Module(m) => match module_file(dir, m) {
            Some(file) => out.push((
                Launched::Module {
                    name: m.clone(),
                    file,
                },
                dir.clone(),
            )),
            // `python -m pip`, `-m pytest`: a tool, not the project's code.
            None if strong && !is_tool_module(m) && crate::config::is_module_name(m) => out.push((
                Launched::Missing {
                    entry: crate::model::Entry::Module(m.clone()),
                    named: format!("python -m {}", crate::outside::shown(m)),
                },
                dir.clone(),
            )),
            None => {}
        },
        Starts::NpmScript(name) => {
            let Some(pkg) = package_json::owning(packages, dir, &project.root) else {
                return;
            };
            let steps = match pkg.script(name) {
                Some(s) => super::command::steps(s, &pkg.dir),
                None if name == "start" => pkg.start_steps(),
                None => Vec::new(),
            };
            follow(steps, out);
        }
        Starts::NodeDot(w) => {
            let folder = normalize(&dir.join(w));
            if let Some(pkg) = packages.iter().find(|p| p.dir == folder)
                && let Some(main) = pkg.main_entry()
            {
                follow(
                    vec![LaunchStep {
                        dir: dir.clone(),
                        starts: Starts::Script(relative(&folder.join(main), dir)),
                    }],
                    out,
                );
            }
        }
        Starts::Shell(s) => {
            let file = normalize(&dir.join(s));
            if file.is_file() && project.contains(&file) {
                let steps = scripts::shell_script(project, &file, dir)
                    .into_iter()
                    .flat_map(|r| r.steps)
                    .collect();
                follow(steps, out);
            }
        }
    }
}

/// `path` as seen from `dir` (both inside the project; `dir` an ancestor in practice).
fn relative(path: &Path, dir: &Path) -> String {
    match path.strip_prefix(dir) {
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

fn is_tool_module(m: &str) -> bool {
    let first = m.split('.').next().unwrap_or(m);
    matches!(
        first,
        "pip"
            | "pytest"
            | "unittest"
            | "venv"
            | "http"
            | "black"
            | "ruff"
            | "mypy"
            | "flake8"
            | "isort"
            | "alembic"
            | "uvicorn"
            | "gunicorn"
            | "celery"
            | "coverage"
            | "pylint"
            | "build"
            | "twine"
            | "compileall"
            | "py_compile"
            | "ensurepip"
            | "json"
            | "django"
            | "flask"
            | "hypercorn"
            | "playwright"
            | "pre_commit"
            | "poetry"
            | "pdm"
            | "uv"
    )
}
