//! Dockerfile `CMD` and `ENTRYPOINT`, exec form (`["python", "-m", "app"]`) and shell form
//! (`python bot.py`), of the last stage. The image's `WORKDIR` is the build context (the
//! Dockerfile's folder, or the folder `COPY bot/ .` copies), so `/app/bot.py` is `bot.py` there.

use std::path::{Path, PathBuf};

use super::command::{self, LaunchStep};
use super::walk::{Project, read};

/// What one Dockerfile starts.
pub struct Image {
    pub path: PathBuf,
    /// Each step with the instruction it comes from: `Dockerfile:7 (CMD)`.
    pub steps: Vec<(LaunchStep, String)>,
}

/// Every Dockerfile of the project (`Dockerfile`, `Dockerfile.prod`, `bot.Dockerfile`).
pub fn read_all(project: &Project) -> Vec<Image> {
    project
        .files
        .iter()
        .filter(|p| is_dockerfile(p))
        .filter_map(|p| read_one(project, p))
        .collect()
}

pub fn is_dockerfile(p: &Path) -> bool {
    p.file_name().map(|n| n.to_string_lossy()).is_some_and(|n| {
        n == "Dockerfile" || n.starts_with("Dockerfile.") || n.ends_with(".Dockerfile")
    })
}

/// One instruction: its keyword, its text, its first line.
fn instructions(text: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if current.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let (mut acc, first) = current.take().unwrap_or((String::new(), i + 1));
        if trimmed.starts_with('#') {
            current = Some((acc, first));
            continue;
        }
        if let Some(cont) = trimmed.strip_suffix('\\') {
            acc.push_str(cont);
            acc.push(' ');
            current = Some((acc, first));
            continue;
        }
        acc.push_str(trimmed);
        let (kw, rest) = acc.split_once(char::is_whitespace).unwrap_or((&acc, ""));
        out.push((kw.to_ascii_uppercase(), rest.trim().to_string(), first));
    }
    out
}

/// `["a", "b"]` → words; anything else → None (shell form).
pub fn exec_form(text: &str) -> Option<Vec<String>> {
    if !text.trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(text.trim()).ok()
}

fn read_one(project: &Project, path: &Path) -> Option<Image> {
    let text = read(path)?;
    let dir = path.parent()?.to_path_buf();
    let mut context = dir.clone();
    let mut workdir = String::from("/");
    let (mut cmd, mut entrypoint) = (None, None);
    for (kw, rest, line) in instructions(&text) {
        match kw.as_str() {
            // A new stage starts afresh.
            "FROM" => {
                (cmd, entrypoint) = (None, None);
                context = dir.clone();
                workdir = "/".into();
            }
            "WORKDIR" => {
                let w = rest.trim_matches('"');
                workdir = if w.starts_with('/') {
                    w.to_string()
                } else {
                    format!("{}/{w}", workdir.trim_end_matches('/'))
                };
            }
            "COPY" | "ADD" => {
                // `COPY bot/ .`: the image's working folder holds that folder of the context.
                let words: Vec<&str> = rest
                    .split_whitespace()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                if let [src, dest] = words.as_slice() {
                    let dest = dest.trim_end_matches('/');
                    let into_workdir =
                        dest == "." || dest.is_empty() || dest == workdir.trim_end_matches('/');
                    let folder = dir.join(src);
                    if into_workdir && *src != "." && folder.is_dir() && project.contains(&folder) {
                        context = super::walk::normalize(&folder);
                    }
                }
            }
            "CMD" => cmd = Some((rest, line)),
            "ENTRYPOINT" => entrypoint = Some((rest, line)),
            _ => {}
        }
    }
    let local = |w: &str| container_to_context(w, &workdir);
    let mut steps = Vec::new();
    let name = project.shown(path);
    if let Some((e, line)) = &entrypoint {
        steps = match (exec_form(e), cmd.as_ref().and_then(|(c, _)| exec_form(c))) {
            (Some(mut words), Some(args)) => {
                words.extend(args);
                command::steps_of_words(&map(&words, &local), &context)
            }
            (Some(words), None) => command::steps_of_words(&map(&words, &local), &context),
            (None, _) => command::steps(&local(e), &context),
        }
        .into_iter()
        .map(|s| (s, format!("{name}:{line} (ENTRYPOINT)")))
        .collect();
    }
    if let Some((c, line)) = &cmd {
        // An entrypoint script usually ends with `exec "$@"`: CMD is what runs.
        let more = match exec_form(c) {
            Some(words) => command::steps_of_words(&map(&words, &local), &context),
            None => command::steps(&local(c), &context),
        };
        for s in more {
            if !steps.iter().any(|(known, _)| *known == s) {
                steps.push((s, format!("{name}:{line} (CMD)")));
            }
        }
    }
    Some(Image {
        path: path.to_path_buf(),
        steps,
    })
}

fn map(words: &[String], f: &impl Fn(&str) -> String) -> Vec<String> {
    words.iter().map(|w| f(w)).collect()
}

/// A path inside the image, as a path of the build context: `/app/bot.py` with `WORKDIR /app`
/// is `bot.py`; `cd /app/bot` is `cd bot`.
fn container_to_context(text: &str, workdir: &str) -> String {
    let w = workdir.trim_end_matches('/');
    if w.is_empty() {
        return text.to_string();
    }
    text.replace(&format!("{w}/"), "./")
        .split(' ')
        .map(|word| if word == w { "." } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_become_context_paths() {
        assert_eq!(
            container_to_context("python /app/bot.py", "/app"),
            "python ./bot.py"
        );
        assert_eq!(
            container_to_context("cd /app && python bot.py", "/app"),
            "cd . && python bot.py"
        );
        assert_eq!(container_to_context("python bot.py", "/"), "python bot.py");
    }

    #[test]
    fn continued_lines_and_forms() {
        let i = instructions("FROM python\n# c\nCMD [\"python\", \\\n  \"-m\", \"app\"]\n");
        assert_eq!(i[1].0, "CMD");
        assert_eq!(exec_form(&i[1].1).unwrap(), ["python", "-m", "app"]);
        assert_eq!(i[1].2, 3);
        assert!(exec_form("python bot.py").is_none());
    }
}
