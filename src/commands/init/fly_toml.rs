//! fly.toml: the app, the commands of its `[processes]` (one process group each) and
//! `[experimental] cmd`, and the Dockerfile it builds (`[build] dockerfile`, else the one beside
//! it).

use std::path::PathBuf;

use super::command::{self, LaunchStep};
use super::walk::{Project, normalize, read};

pub struct FlyFile {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub app: String,
    /// (process group, `fly.toml:9 ([processes] bot)`, what it starts); no group for
    /// `[experimental] cmd`.
    pub processes: Vec<(Option<String>, String, Vec<LaunchStep>)>,
    /// The Dockerfile it deploys.
    pub dockerfile: PathBuf,
}

pub fn read_all(project: &Project) -> Vec<FlyFile> {
    project
        .named("fly.toml")
        .filter_map(|path| {
            let text = read(path)?;
            let table = text.parse::<toml::Table>().ok()?;
            // An app name Fly would not make is no app botctl.toml can name.
            let app = table
                .get("app")?
                .as_str()
                .filter(|a| crate::config::is_name(a))?
                .to_string();
            let dir = path.parent()?.to_path_buf();
            let shown = project.shown(path);
            let line_of = |needle: &str| {
                text.lines()
                    .position(|l| l.trim_start().starts_with(needle))
                    .map_or(1, |i| i + 1)
            };
            let mut processes = Vec::new();
            if let Some(groups) = table.get("processes").and_then(|p| p.as_table()) {
                for (group, cmd) in groups {
                    let Some(steps) = steps_of(cmd, &dir) else {
                        continue;
                    };
                    let origin = format!(
                        "{shown}:{} ([processes] {})",
                        line_of(group),
                        crate::outside::shown(group)
                    );
                    processes.push((Some(group.clone()), origin, steps));
                }
            }
            if let Some(cmd) = table.get("experimental").and_then(|e| e.get("cmd"))
                && let Some(steps) = steps_of(cmd, &dir)
            {
                let origin = format!("{shown}:{} ([experimental] cmd)", line_of("cmd"));
                processes.push((None, origin, steps));
            }
            let dockerfile = table
                .get("build")
                .and_then(|b| b.get("dockerfile"))
                .and_then(|d| d.as_str())
                .map_or_else(|| dir.join("Dockerfile"), |d| normalize(&dir.join(d)));
            Some(FlyFile {
                path: path.clone(),
                dir,
                app,
                processes,
                dockerfile,
            })
        })
        .collect()
}

/// A command as fly.toml holds it: a string (run by a shell) or a list of words.
fn steps_of(cmd: &toml::Value, dir: &std::path::Path) -> Option<Vec<LaunchStep>> {
    match cmd {
        toml::Value::String(s) => Some(command::steps(s, dir)),
        toml::Value::Array(words) => {
            let words: Vec<String> = words
                .iter()
                .filter_map(|w| w.as_str().map(String::from))
                .collect();
            Some(command::steps_of_words(&words, dir))
        }
        _ => None,
    }
}
