//! `botctl init`: write a starter botctl.toml — bots found from `*.py` files that poll and from
//! `package.json` files that depend on a Node Telegram framework, app names from `fly.toml`.

use std::path::{Path, PathBuf};

use crate::config::{self, FILE_NAME};
use crate::error::{Error, Result};
use crate::ui;

/// Markers of a script that long-polls (python-telegram-bot, aiogram, pyTelegramBotAPI, …).
const POLLING_MARKERS: [&str; 5] = [
    "run_polling",
    "start_polling",
    "infinity_polling",
    ".polling(",
    "Updater(",
];

/// Node packages that poll Telegram.
const NODE_FRAMEWORKS: [&str; 3] = ["telegraf", "grammy", "node-telegram-bot-api"];

#[derive(Debug)]
struct Proposal {
    name: String,
    script: String,
    token_env: String,
    fly_app: Option<String>,
    /// The name of the package it belongs to (package.json, pyproject.toml): a Fly app of the
    /// same name is its.
    package: Option<String>,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  botctl init\n  botctl init --yes")]
pub struct Args {
    /// Do not ask for confirmation
    #[arg(long, short)]
    yes: bool,
    /// Overwrite an existing botctl.toml
    #[arg(long)]
    force: bool,
}

pub fn run(args: &Args) -> Result<i32> {
    let (yes, force) = (args.yes, args.force);
    let root =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working folder", e))?;
    let target = root.join(FILE_NAME);
    if target.exists() && !force {
        return Err(Error::Refused {
            message: format!(
                "{} already exists; botctl init does not overwrite it",
                target.display()
            ),
            fix: "botctl init --force".into(),
        });
    }
    let mut bots = find_bots(&root);
    find_node_bots(&root, &mut bots);
    let apps = find_fly_apps(&root);
    let proposals = assign_apps(&root, bots, &apps);
    let text = render(&proposals, &apps);
    // The file must be accepted by every command: check it with the real parser.
    config::parse(&text, &target, root.clone())?;

    ui::line(ui::heading(&format!("Proposed {}:", target.display())));
    ui::line(&text);
    if proposals.is_empty() {
        ui::note(
            "No *.py file here polls Telegram (run_polling, \
start_polling, infinity_polling, polling(), Updater) and no \
package.json depends on telegraf, grammy or \
node-telegram-bot-api: add [[bot]] entries by hand.",
        );
    }
    ui::confirm(&format!("Write {}?", target.display()), yes)?;
    write_atomically(&target, &text)?;
    ui::line(format!("Wrote {}. Next: botctl status", target.display()));
    Ok(0)
}

fn find_bots(root: &Path) -> Vec<Proposal> {
    let mut files = py_files(root);
    files.sort();
    let mut out: Vec<Proposal> = Vec::new();
    for path in files {
        // A FIFO named `x_pipe.py` or a link to /dev/zero is no bot.
        let Ok(text) = read(&path) else {
            continue;
        };
        if !POLLING_MARKERS.iter().any(|m| text.contains(m)) {
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = unique_name(&stem, &out);
        let token_env = token_var_in(&text)
            .unwrap_or_else(|| format!("{}_TOKEN", name.to_uppercase().replace('-', "_")));
        out.push(Proposal {
            name,
            script: rel,
            token_env,
            fly_app: None,
            package: pyproject_name(root, &path),
        });
    }
    out
}

/// A bot name (`[a-z0-9-]+`) made from `stem`, not yet taken.
fn unique_name(stem: &str, taken: &[Proposal]) -> String {
    let mut name: String = stem
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').to_string();
    if name.is_empty() {
        name = "bot".into();
    }
    while taken.iter().any(|p| p.name == name) {
        name.push_str("-2");
    }
    name
}

/// Node bots: a `package.json` (root or one folder down) that depends on telegraf, grammy or
/// node-telegram-bot-api; its entry is the file its `start` script runs, else `main`, else
/// `index.js`.
fn find_node_bots(root: &Path, out: &mut Vec<Proposal>) {
    let mut manifests: Vec<PathBuf> = std::iter::once(root.to_path_buf())
        .chain(subfolders(root))
        .map(|dir| dir.join("package.json"))
        .filter(|p| p.is_file())
        .collect();
    manifests.sort();
    for manifest in manifests {
        let Some(package) = read(&manifest)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        let depends = ["dependencies", "devDependencies"].iter().any(|key| {
            package[key]
                .as_object()
                .is_some_and(|deps| NODE_FRAMEWORKS.iter().any(|f| deps.contains_key(*f)))
        });
        if !depends {
            continue;
        }
        let dir = manifest.parent().unwrap_or(root);
        let Some(entry) = node_entry(&package, dir) else {
            continue;
        };
        let file = dir.join(&entry);
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        let package_name = package["name"]
            .as_str()
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_string())
            .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let name = unique_name(&package_name, out);
        let text = read(&file).unwrap_or_default();
        let token_env = node_token_var_in(&text)
            .or_else(|| token_var_in(&text))
            .unwrap_or_else(|| format!("{}_TOKEN", name.to_uppercase().replace('-', "_")));
        out.push(Proposal {
            name,
            script: rel.trim_start_matches("./").to_string(),
            token_env,
            fly_app: None,
            package: package["name"]
                .as_str()
                .map(|n| n.rsplit('/').next().unwrap_or(n).to_string()),
        });
    }
}

/// The file a package runs: its `start` script's (`node dist/bot.js`, `tsx src/bot.ts`), else
/// `main`, else `index.js` when it exists. Relative to the package's folder.
fn node_entry(package: &serde_json::Value, dir: &Path) -> Option<String> {
    let from_start = package["scripts"]["start"].as_str().and_then(|start| {
        // The first command of the line, without leading `VAR=value` assignments.
        let first = start.split(['&', ';', '|']).next().unwrap_or("");
        let words: Vec<String> = first
            .split_whitespace()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .map(String::from)
            .collect();
        crate::sources::argv::script_of(&words).map(String::from)
    });
    let from_main = || package["main"].as_str().map(String::from);
    let index = || {
        dir.join("index.js")
            .is_file()
            .then(|| "index.js".to_string())
    };
    from_start.or_else(from_main).or_else(index).filter(|e| {
        crate::sources::argv::Language::of(e) == crate::sources::argv::Language::JavaScript
    })
}

/// `process.env.PARTNER_BOT_TOKEN` (or `process.env["…"]`, `Deno.env.get("…")`).
fn node_token_var_in(text: &str) -> Option<String> {
    text.split("process.env.").skip(1).find_map(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        name.contains("TOKEN").then_some(name)
    })
}

/// The project's folders one level down, each real folder once (not the root again).
fn subfolders(root: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut walked: Vec<PathBuf> = std::fs::canonicalize(root).into_iter().collect();
    dir.flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !skipped_folder(p))
        .filter(|p| match std::fs::canonicalize(p) {
            Ok(real) if !walked.contains(&real) => {
                walked.push(real);
                true
            }
            _ => false,
        })
        .collect()
}

/// Hidden folders, virtualenvs, dependencies and build output hold no bots of the team.
fn skipped_folder(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    n.starts_with('.')
        || matches!(
            n.as_str(),
            "venv" | "env" | "node_modules" | "__pycache__" | "site-packages" | "target"
        )
}

/// A file of the project, through the capped, non-blocking reader.
fn read(path: &Path) -> Result<String, crate::files::FileError> {
    crate::files::read_text(path, crate::files::CAP)
}

/// `*.py` in the root and one folder down (not in virtualenvs or hidden folders). Each real
/// folder is walked once: a link to the project's own folder proposes nothing twice.
fn py_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let skip = skipped_folder;
    let Ok(dir) = std::fs::read_dir(root) else {
        return out;
    };
    let mut walked: Vec<PathBuf> = std::fs::canonicalize(root).into_iter().collect();
    for e in dir.flatten() {
        let p = e.path();
        if p.is_dir() && !skip(&p) {
            match std::fs::canonicalize(&p) {
                Ok(real) if !walked.contains(&real) => walked.push(real),
                _ => continue,
            }
            if let Ok(sub) = std::fs::read_dir(&p) {
                out.extend(
                    sub.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "py")),
                );
            }
        } else if p.extension().is_some_and(|x| x == "py") {
            out.push(p);
        }
    }
    out
}

/// The environment variable a script reads its token from, e.g. `os.getenv("PARTNER_BOT_TOKEN")`.
fn token_var_in(text: &str) -> Option<String> {
    for quote in ['"', '\''] {
        for part in text.split(quote).skip(1).step_by(2) {
            if part.contains("TOKEN")
                && !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                return Some(part.to_string());
            }
        }
    }
    None
}

/// (folder, app name, text of fly.toml and Dockerfile there)
fn find_fly_apps(root: &Path) -> Vec<(PathBuf, String, String)> {
    let mut candidates = vec![root.to_path_buf()];
    if let Ok(dir) = std::fs::read_dir(root) {
        candidates.extend(dir.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    let mut out = Vec::new();
    for dir in candidates {
        let Ok(text) = read(&dir.join("fly.toml")) else {
            continue;
        };
        let Some(app) = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("app").and_then(|a| a.as_str()).map(String::from))
        else {
            continue;
        };
        let docker = read(&dir.join("Dockerfile")).unwrap_or_default();
        out.push((dir, app, format!("{text}\n{docker}")));
    }
    out
}

/// An app goes to the bot its fly.toml or Dockerfile names; else to the bot whose package
/// (package.json, pyproject.toml) has the app's name; else to the only bot in its folder; and a
/// fly.toml at the project root to the project's only bot, wherever its entry file lives.
fn assign_apps(
    root: &Path,
    mut bots: Vec<Proposal>,
    apps: &[(PathBuf, String, String)],
) -> Vec<Proposal> {
    for (dir, app, text) in apps {
        let named: Vec<usize> = (0..bots.len())
            .filter(|&i| crate::sources::autostart::mentions(text, &bots[i].script))
            .collect();
        let in_folder: Vec<usize> = (0..bots.len())
            .filter(|&i| root.join(&bots[i].script).parent() == Some(dir.as_path()))
            .collect();
        let packaged: Vec<usize> = (0..bots.len())
            .filter(|&i| {
                bots[i]
                    .package
                    .as_deref()
                    .is_some_and(|p| same_name(p, app))
            })
            .collect();
        let only_bot = (dir.as_path() == root && bots.len() == 1).then_some(0);
        let chosen = match (named.as_slice(), packaged.as_slice(), in_folder.as_slice()) {
            ([one], _, _) | ([], [one], _) | ([], [], [one]) => Some(*one),
            ([], [], []) => only_bot,
            _ => None,
        };
        if let Some(i) = chosen
            && bots[i].fly_app.is_none()
        {
            bots[i].fly_app = Some(app.clone());
        }
    }
    bots
}

/// A package name and a Fly app name name the same thing: case and `_`/`-` aside (Python
/// normalises package names so; Fly app names are lower case with dashes).
fn same_name(package: &str, app: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
    norm(package) == norm(app)
}

/// `[project] name` (or Poetry's `[tool.poetry] name`) of the nearest pyproject.toml from the
/// script's folder up to the project root.
fn pyproject_name(root: &Path, script: &Path) -> Option<String> {
    let mut dir = script.parent();
    while let Some(d) = dir.filter(|d| d.starts_with(root)) {
        if let Ok(text) = read(&d.join("pyproject.toml")) {
            let table = text.parse::<toml::Table>().ok()?;
            let name = table
                .get("project")
                .and_then(|p| p.get("name"))
                .or_else(|| table.get("tool")?.get("poetry")?.get("name"))
                .and_then(|n| n.as_str())?;
            return Some(name.to_string());
        }
        dir = d.parent();
    }
    None
}

fn render(bots: &[Proposal], apps: &[(PathBuf, String, String)]) -> String {
    let mut s = String::from(
        "# botctl.toml — written by `botctl init`. Tokens never go \
here: put them in the\n# environment or in .env, under the \
names given by token_env.\n\n[fly]\n# flyctl = \
\"flyctl\"   # default: flyctl, else fly, from PATH\n# wait \
= \"90s\"\n\n[telegram]\n# api = \
\"https://api.telegram.org\"\n# probe = \
\"12s\"\n\n[local]\n# respawn = \"5s\"   # after dev-stop, \
how long to watch for a copy that comes back\n",
    );
    let (name, run) = bots
        .first()
        .map_or(("NAME".to_string(), "COMMAND ARGS".to_string()), |b| {
            let entry = crate::model::Entry::Script(b.script.clone());
            // Quoted as a shell reads it: the line is for a person to copy.
            let run = crate::shell::join(&entry.default_run());
            // A file name with a line break in it would end the comment.
            let run = if run.chars().any(char::is_control) {
                "COMMAND ARGS".to_string()
            } else {
                run
            };
            (b.name.clone(), run)
        });
    s.push_str(&format!(
        "\n# Launch scripts, Dockerfile CMD, systemd ExecStart: put `botctl exec` in front of \
the bot.\n# It refuses (exit 1) while the bot runs anywhere else, and otherwise becomes \
the bot\n# (same pid, so the supervisor supervises the bot itself):\n#   exec botctl exec \
{name}   # runs its `run`\n#   exec botctl exec {name} -- {run}\n"
    ));
    for b in bots {
        s.push_str(&format!(
            "\n[[bot]]\nname = {}\nscript = {}\ntoken_env = {}\n",
            toml_str(&b.name),
            toml_str(&b.script),
            toml_str(&b.token_env)
        ));
        match &b.fly_app {
            Some(app) => s.push_str(&format!(
                "fly_app = {}\n# ready_log = \"a line the bot logs once connected\"\n",
                toml_str(app)
            )),
            None => s.push_str("# fly_app = \"…\"\n"),
        }
    }
    let unassigned: Vec<&String> = apps
        .iter()
        .map(|(_, a, _)| a)
        .filter(|a| !bots.iter().any(|b| b.fly_app.as_ref() == Some(*a)))
        .collect();
    for app in unassigned {
        s.push_str(&format!(
            "\n# fly.toml names the app {}, but botctl could not tell \
which bot it runs: set fly_app on that bot.\n",
            toml_str(app)
        ));
    }
    s
}

/// A TOML basic string, escaped as TOML (not Rust) escapes.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn write_atomically(target: &Path, text: &str) -> Result<()> {
    crate::state::write_atomically(target, text)
        .map_err(|e| Error::io(format!("cannot write {}", target.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_var() {
        assert_eq!(
            token_var_in("TOKEN = os.getenv(\"PARTNER_BOT_TOKEN\")"),
            Some("PARTNER_BOT_TOKEN".into())
        );
        assert_eq!(token_var_in("print('hello')"), None);
        assert_eq!(
            node_token_var_in("const bot = new Bot(process.env.SHOP_BOT_TOKEN!);"),
            Some("SHOP_BOT_TOKEN".into())
        );
    }

    #[test]
    fn node_entries() {
        let dir = Path::new("/nonexistent");
        let entry = |json: &str| node_entry(&serde_json::from_str(json).unwrap(), dir);
        assert_eq!(
            entry(
                r#"{"main": "lib.js", "scripts": {"start": "NODE_ENV=production node -r dotenv/config dist/bot.js && echo"}}"#
            ),
            Some("dist/bot.js".into())
        );
        assert_eq!(
            entry(r#"{"scripts": {"start": "tsx src/bot.ts"}}"#),
            Some("src/bot.ts".into())
        );
        assert_eq!(
            entry(r#"{"main": "src/index.mjs"}"#),
            Some("src/index.mjs".into())
        );
        assert_eq!(entry(r#"{"scripts": {"start": "next start"}}"#), None);
    }

    #[test]
    fn package_and_app_names() {
        assert!(same_name("shop-bot", "shop-bot"));
        assert!(same_name("LB_Partner", "lb-partner"));
        assert!(same_name("lb.partner", "lb-partner"));
        assert!(!same_name("shop", "shop-bot"));
    }

    #[test]
    fn rendered_strings_are_toml() {
        let odd = "bot\u{200b}\"x\\y.py";
        let text = render(
            &[Proposal {
                name: "a".into(),
                script: odd.into(),
                token_env: "A_TOKEN".into(),
                fly_app: Some("app\u{1}".into()),
                package: None,
            }],
            &[],
        );
        // TOML keeps the odd script name; config refuses an app name Fly would not make.
        let e = config::parse(&text, Path::new("botctl.toml"), PathBuf::from("/p")).unwrap_err();
        assert!(
            e.to_string().contains("fly_app must be a Fly app name"),
            "{e}"
        );
        let text = text.replace("app\\u0001", "app");
        let cfg = config::parse(&text, Path::new("botctl.toml"), PathBuf::from("/p")).unwrap();
        assert_eq!(cfg.bots[0].entry, crate::model::Entry::Script(odd.into()));
    }
}
