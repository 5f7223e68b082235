//! Makefile targets and shell scripts (`run.sh`, `scripts/start.sh`) that start a bot:
//! `exec python -O -m app`, `cd bot && python3 bot.py`. A Makefile's recipes run in its folder;
//! a script found on its own runs in its folder (most `./run.sh` are started from there).

use std::path::Path;

use super::command::{self, LaunchStep};
use super::walk::{Project, read};

pub struct Recipe {
    /// `Makefile:7 (run)` or `scripts/run.sh:3`.
    pub origin: String,
    pub steps: Vec<LaunchStep>,
}

/// Targets that check, build or install, and start no bot.
fn tooling_target(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "test",
        "lint",
        "fmt",
        "format",
        "check",
        "install",
        "clean",
        "migrat",
        "typecheck",
        "docs",
        "build",
        "deps",
        "setup",
        "coverage",
        "help",
    ]
    .iter()
    .any(|t| n.starts_with(t))
}

pub fn makefiles(project: &Project) -> Vec<Recipe> {
    let mut out = Vec::new();
    for path in project.files.iter().filter(|p| {
        p.file_name()
            .is_some_and(|n| n == "Makefile" || n == "makefile")
    }) {
        let Some(text) = read(path) else { continue };
        let dir = path.parent().unwrap_or(&project.root);
        let vars = variables(&text);
        let mut target: Option<String> = None;
        for (i, line) in text.lines().enumerate() {
            if let Some(recipe) = line.strip_prefix('\t') {
                let Some(t) = target.as_deref().filter(|t| !tooling_target(t)) else {
                    continue;
                };
                let recipe = recipe.trim_start_matches(['@', '-', '+']);
                let steps = command::steps(&expand(recipe, &vars), dir);
                if !steps.is_empty() {
                    out.push(Recipe {
                        origin: format!(
                            "{}:{} ({})",
                            project.shown(path),
                            i + 1,
                            crate::outside::shown(t)
                        ),
                        steps,
                    });
                }
            } else if !line.starts_with(' ') && !line.starts_with('#') {
                target = line
                    .split_once(':')
                    .filter(|(name, rest)| !name.contains('=') && !rest.starts_with('='))
                    .map(|(name, _)| name.trim().to_string())
                    .filter(|n| !n.starts_with('.') && !n.contains(' '));
            }
        }
    }
    out
}

/// `PYTHON ?= python3`, `APP := app`: the Makefile's simple variables.
fn variables(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('\t'))
        .filter_map(|l| {
            let (name, value) = l.split_once('=')?;
            let name = name.trim_end_matches([':', '?', '+', '!']).trim();
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| (name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// `$(PYTHON) -m $(APP)` with the Makefile's variables put in.
fn expand(recipe: &str, vars: &[(String, String)]) -> String {
    let mut s = recipe.to_string();
    for (name, value) in vars {
        s = s
            .replace(&format!("$({name})"), value)
            .replace(&format!("${{{name}}}"), value);
    }
    s
}

/// Every `*.sh` file of the project, each line read as commands run in its folder.
pub fn shell_scripts(project: &Project) -> Vec<Recipe> {
    project
        .with_ext("sh")
        .filter(|p| {
            // Test and install scripts start no bot.
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase());
            !n.is_some_and(|n| n.starts_with("test") || n.starts_with("install"))
        })
        .flat_map(|p| shell_script(project, p, p.parent().unwrap_or(&project.root)))
        .collect()
}

/// The commands of the shell script `path`, run from `dir`.
pub fn shell_script(project: &Project, path: &Path, dir: &Path) -> Vec<Recipe> {
    let Some(text) = read(path) else {
        return Vec::new();
    };
    let mut dir = dir.to_path_buf();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let steps = command::steps(line, &dir);
        // A `cd` on its own line moves the rest of the script.
        if let [words] = command::simple_commands(line).as_slice()
            && words.first().is_some_and(|w| w == "cd")
            && let Some(to) = words.get(1).filter(|t| !t.contains('$'))
        {
            dir = super::walk::normalize(&dir.join(to));
        }
        if !steps.is_empty() {
            out.push(Recipe {
                origin: format!("{}:{}", project.shown(path), i + 1),
                steps,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_variables() {
        let vars = variables("PYTHON ?= python3\nAPP := app\nrun:\n\t$(PYTHON) -O -m ${APP}\n");
        assert_eq!(expand("$(PYTHON) -O -m ${APP}", &vars), "python3 -O -m app");
        assert!(tooling_target("test-unit") && !tooling_target("run"));
    }
}
