//! Procfile lines (`worker: python bot.py`): Heroku, Fly's buildpacks, honcho and foreman run
//! each in the Procfile's folder.

use super::command::{self, LaunchStep};
use super::walk::{Project, read};

pub struct Process {
    /// `worker`.
    pub kind: String,
    /// `Procfile:2 (worker)`.
    pub origin: String,
    pub steps: Vec<LaunchStep>,
    /// The Procfile's folder.
    pub dir: std::path::PathBuf,
}

pub fn read_all(project: &Project) -> Vec<Process> {
    let mut out = Vec::new();
    for path in project.named("Procfile") {
        let Some(text) = read(path) else { continue };
        let dir = path.parent().unwrap_or(&project.root).to_path_buf();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((kind, cmd)) = line.split_once(':') else {
                continue;
            };
            let kind = kind.trim();
            if kind.is_empty() || kind.contains(char::is_whitespace) {
                continue;
            }
            out.push(Process {
                kind: kind.to_string(),
                origin: format!(
                    "{}:{} ({})",
                    project.shown(path),
                    i + 1,
                    crate::outside::shown(kind)
                ),
                steps: command::steps(cmd, &dir),
                dir: dir.clone(),
            });
        }
    }
    out
}
