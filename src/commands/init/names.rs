//! A bot's name (`[a-z0-9-]+`, unique): from what says which bot it is (its module or file,
//! the service or process a project file gives it, its package), never from a word every bot
//! has (`app`, `main`, `bot`); else its Fly app; else the repository's folder.

use std::path::Path;

use super::bot::{App, FoundBot};
use super::walk::Project;
use crate::model::{Entry, Language};

/// Names that say nothing about which bot it is.
const GENERIC: [&str; 16] = [
    "app", "main", "bot", "src", "__main__", "run", "start", "index", "server", "cli", "dist",
    "lib", "source", "core", "worker", "web",
];

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
fn entry_names(b: &FoundBot, project: &Project) -> Vec<String> {
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

/// Names every bot, in order, each name once.
pub fn name_all(project: &Project, bots: &mut [FoundBot]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("admin_bot"), Some("admin-bot".into()));
        assert_eq!(slug("__"), None);
        assert!(is_generic("Main") && !is_generic("partner"));
    }
}
