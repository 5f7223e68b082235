//! A bot's code: the file it starts, and the project's own modules that file imports (the
//! config module with the token among them), followed a few levels. Whether that code uses a
//! Telegram library, and where a `python -m` module lives.

use std::path::{Path, PathBuf};

use super::walk::{Project, normalize, read};
use crate::model::Language;

/// Markers of Python code that long-polls (python-telegram-bot, aiogram, pyTelegramBotAPI).
pub const POLLING_MARKERS: [&str; 5] = [
    "run_polling",
    "start_polling",
    "infinity_polling",
    ".polling(",
    "Updater(",
];

/// Code that uses a Telegram bot library.
const TELEGRAM_MARKERS: [&str; 12] = [
    "from telegram",
    "import telegram",
    "from aiogram",
    "import aiogram",
    "import telebot",
    "from telebot",
    "from grammy",
    "from \"grammy\"",
    "from 'grammy'",
    "telegraf",
    "node-telegram-bot-api",
    "getUpdates",
];

/// How many files of a bot's code are read at most.
const MAX_FILES: usize = 60;

pub fn polls(text: &str) -> bool {
    POLLING_MARKERS.iter().any(|m| text.contains(m))
}

pub fn uses_telegram(text: &str) -> bool {
    polls(text) || TELEGRAM_MARKERS.iter().any(|m| text.contains(m))
}

/// The file `python -m NAME` runs from `dir`: `NAME/__main__.py` (a package) or `NAME.py`,
/// also under `src/` (the src layout).
pub fn module_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let rel: PathBuf = name.split('.').collect();
    [dir.to_path_buf(), dir.join("src")]
        .into_iter()
        .find_map(|base| {
            let package = base.join(&rel);
            [package.join("__main__.py"), package.with_extension("py")]
                .into_iter()
                .find(|p| p.is_file())
        })
}

/// The entry file and the project's own files it imports, a few levels deep, each once.
/// `dir` is where the bot runs (Python's first import folder for `-m`).
pub fn code_set(project: &Project, entry: &Path, dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    let mut queue = vec![entry.to_path_buf()];
    while let Some(file) = queue.pop() {
        if out.len() >= MAX_FILES || out.iter().any(|(p, _)| *p == file) {
            continue;
        }
        if !project.contains(&file) {
            continue;
        }
        let Some(text) = read(&file) else { continue };
        let imports = match Language::of(&file.to_string_lossy()) {
            Language::Python => python_imports(&text, &file, dir),
            Language::JavaScript => node_imports(&text, &file),
        };
        out.push((file, text));
        for i in imports.into_iter().rev() {
            queue.push(i);
        }
    }
    out
}

/// The project files a Python file imports: `import a.b`, `from a.b import c` (against the
/// run folder and the file's folder), `from .x import y` (against the file's package).
fn python_imports(text: &str, file: &Path, dir: &Path) -> Vec<PathBuf> {
    let here = file.parent().unwrap_or(dir);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let (module, names): (&str, Vec<&str>) = if let Some(rest) = line.strip_prefix("from ") {
            let Some((m, names)) = rest.split_once(" import ") else {
                continue;
            };
            let names = names
                .trim_matches(['(', ')', ' '])
                .split(',')
                .map(|n| n.split_whitespace().next().unwrap_or(""))
                .collect();
            (m.trim(), names)
        } else if let Some(rest) = line.strip_prefix("import ") {
            (rest.split([',', ' ']).next().unwrap_or(""), Vec::new())
        } else {
            continue;
        };
        let dots = module.len() - module.trim_start_matches('.').len();
        let rel: PathBuf = module
            .trim_start_matches('.')
            .split('.')
            .filter(|p| !p.is_empty())
            .collect();
        let bases: Vec<PathBuf> = if dots > 0 {
            let mut b = here.to_path_buf();
            for _ in 1..dots {
                b.pop();
            }
            vec![b]
        } else {
            vec![dir.to_path_buf(), here.to_path_buf(), dir.join("src")]
        };
        for base in bases {
            let target = normalize(&base.join(&rel));
            let found: Vec<PathBuf> = [target.with_extension("py"), target.join("__init__.py")]
                .into_iter()
                .filter(|p| p.is_file() && p.as_path() != file)
                .collect();
            // `from pkg import config`: config may be a module of the package.
            let submodules = names
                .iter()
                .map(|n| target.join(n).with_extension("py"))
                .filter(|p| p.is_file());
            let before = out.len();
            out.extend(found);
            out.extend(submodules);
            if out.len() > before {
                break;
            }
        }
    }
    out
}

/// The project files a JavaScript or TypeScript file imports by a relative path.
fn node_imports(text: &str, file: &Path) -> Vec<PathBuf> {
    let here = file.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for quote in ['"', '\''] {
        for (i, part) in text.split(quote).enumerate() {
            if i % 2 == 0 || !(part.starts_with("./") || part.starts_with("../")) {
                continue;
            }
            let base = normalize(&here.join(part));
            // `./config.js` in TypeScript names `./config.ts`.
            let stem = base.with_extension("");
            let candidates = [
                base.clone(),
                stem.with_extension("ts"),
                stem.with_extension("js"),
                stem.with_extension("mjs"),
                base.with_extension("ts"),
                base.with_extension("js"),
                base.join("index.ts"),
                base.join("index.js"),
            ];
            if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
                out.push(found);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert!(polls("app.run_polling()"));
        assert!(uses_telegram("from aiogram import Bot"));
        assert!(!uses_telegram("import flask"));
    }
}
