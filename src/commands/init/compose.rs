//! docker-compose files: each service's `command` (or `entrypoint`), the folder it is built
//! from, its `working_dir` and the variable names of its `environment`. Read line by line:
//! compose files use a small part of YAML (block maps, block and flow lists, quoted and folded
//! scalars), and this reader knows that part and nothing more.

use std::path::{Path, PathBuf};

use super::command::{self, LaunchStep};
use super::dockerfile::exec_form;
use super::walk::{Project, read};

pub struct ComposeService {
    pub name: String,
    /// The compose file, shown: `docker-compose.yml:12 (service bot)`.
    pub origin: String,
    /// The build context (`build: ./bot` or `build: {context: ./bot}`) and its Dockerfile.
    pub dockerfile: Option<PathBuf>,
    /// What `command:` (or `entrypoint:`) starts; empty: the image's own CMD.
    pub steps: Vec<LaunchStep>,
    /// Names from `environment:`.
    pub env: Vec<String>,
}

const NAMES: [&str; 4] = [
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
];

pub fn read_all(project: &Project) -> Vec<ComposeService> {
    let mut out = Vec::new();
    for name in NAMES {
        for path in project.named(name) {
            if let Some(text) = read(path) {
                out.extend(services(project, path, &text));
            }
        }
    }
    out
}

/// One line of the file: its indent, its text without comment, its number.
struct Line<'a> {
    indent: usize,
    text: &'a str,
    number: usize,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let trimmed = l.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                return None;
            }
            Some(Line {
                indent: l.len() - trimmed.len(),
                text: strip_comment(trimmed).trim_end(),
                number: i + 1,
            })
        })
        .collect()
}

/// `value # comment` → `value` (a `#` inside quotes stays).
pub(super) fn strip_comment(s: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return &s[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    s
}

/// `key: value` → (key, value).
fn key_value(text: &str) -> Option<(&str, &str)> {
    let (k, v) = text.split_once(':')?;
    let k = k.trim().trim_matches(['"', '\'']);
    (!k.is_empty() && !k.contains(' ')).then_some((k, v.trim()))
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        return s[1..s.len() - 1].to_string();
    }
    s.to_string()
}

/// The value of the key on `lines[i]`: its inline text, or the block under it (a list's items,
/// a map's lines, a folded scalar joined), and the index after it.
fn value_at(lines: &[Line], i: usize, inline: &str) -> (Value, usize) {
    let indent = lines[i].indent;
    let mut j = i + 1;
    while j < lines.len() && lines[j].indent > indent {
        j += 1;
    }
    let block = &lines[i + 1..j];
    let v = if inline.starts_with('>') || inline.starts_with('|') {
        Value::Scalar(block.iter().map(|l| l.text).collect::<Vec<_>>().join(" "))
    } else if !inline.is_empty() {
        match flow_list(inline) {
            Some(items) => Value::List(items),
            None => Value::Scalar(unquote(inline)),
        }
    } else if block.first().is_some_and(|l| l.text.starts_with('-')) {
        Value::List(
            block
                .iter()
                .filter(|l| l.indent == block[0].indent)
                .map(|l| unquote(l.text.trim_start_matches('-')))
                .collect(),
        )
    } else {
        let own = block.first().map_or(0, |l| l.indent);
        Value::Map(
            block
                .iter()
                .filter(|l| l.indent == own)
                .filter_map(|l| key_value(l.text).map(|(k, v)| (k.to_string(), unquote(v))))
                .collect(),
        )
    };
    (v, j)
}

enum Value {
    Scalar(String),
    List(Vec<String>),
    Map(Vec<(String, String)>),
}

/// `["python", "-m", "app"]`.
fn flow_list(s: &str) -> Option<Vec<String>> {
    if let Some(words) = exec_form(s) {
        return Some(words);
    }
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    Some(
        inner
            .split(',')
            .map(unquote)
            .filter(|w| !w.is_empty())
            .collect(),
    )
}

fn services(project: &Project, path: &Path, text: &str) -> Vec<ComposeService> {
    let lines = lines(text);
    let dir = path.parent().unwrap_or(&project.root).to_path_buf();
    let shown = project.shown(path);
    let mut out = Vec::new();
    let Some(start) = lines
        .iter()
        .position(|l| l.indent == 0 && l.text == "services:")
    else {
        return out;
    };
    let mut i = start + 1;
    while i < lines.len() && lines[i].indent > 0 {
        let service_indent = lines[i].indent;
        let Some((name, _)) = key_value(lines[i].text) else {
            i += 1;
            continue;
        };
        let number = lines[i].number;
        let mut j = i + 1;
        let (mut context, mut dockerfile_name) = (None, None);
        let (mut cmd, mut entrypoint, mut workdir, mut env) = (None, None, None, Vec::new());
        while j < lines.len() && lines[j].indent > service_indent {
            let Some((key, inline)) = key_value(lines[j].text) else {
                j += 1;
                continue;
            };
            let (value, next) = value_at(&lines, j, inline);
            match (key, value) {
                ("build", Value::Scalar(s)) => context = Some(s),
                ("build", Value::Map(m)) => {
                    for (k, v) in m {
                        match k.as_str() {
                            "context" => context = Some(v),
                            "dockerfile" => dockerfile_name = Some(v),
                            _ => {}
                        }
                    }
                }
                ("command", v) => cmd = Some(v),
                ("entrypoint", v) => entrypoint = Some(v),
                ("working_dir", Value::Scalar(s)) => workdir = Some(s),
                ("environment", Value::List(items)) => env.extend(
                    items
                        .iter()
                        .map(|i| i.split('=').next().unwrap_or("").trim().to_string()),
                ),
                ("environment", Value::Map(m)) => env.extend(m.into_iter().map(|(k, _)| k)),
                _ => {}
            }
            j = next;
        }
        let context_dir = context.map(|c| super::walk::normalize(&dir.join(c)));
        // The command runs in the image's working folder: the build context; with no build,
        // the project mounted where compose runs.
        let run_dir = context_dir.clone().unwrap_or_else(|| dir.clone());
        let to_words = |v: Value| match v {
            Value::Scalar(s) => command::steps(&strip_workdir(&s, workdir.as_deref()), &run_dir),
            Value::List(words) => command::steps_of_words(
                &words
                    .iter()
                    .map(|w| strip_workdir(w, workdir.as_deref()))
                    .collect::<Vec<_>>(),
                &run_dir,
            ),
            Value::Map(_) => Vec::new(),
        };
        let mut steps = entrypoint.map(to_words).unwrap_or_default();
        steps.extend(cmd.map(to_words).unwrap_or_default());
        out.push(ComposeService {
            name: name.to_string(),
            origin: format!("{shown}:{number} (service {})", crate::outside::shown(name)),
            dockerfile: context_dir
                .map(|c| c.join(dockerfile_name.as_deref().unwrap_or("Dockerfile"))),
            steps,
            env: env.into_iter().filter(|e| !e.is_empty()).collect(),
        });
        i = j;
    }
    out
}

/// `/app/bot.py` with `working_dir: /app` is `./bot.py` of the context.
fn strip_workdir(word: &str, workdir: Option<&str>) -> String {
    match workdir.map(|w| w.trim_end_matches('/')) {
        Some(w) if !w.is_empty() => word.replace(&format!("{w}/"), "./"),
        _ => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::init::command::Starts;

    #[test]
    fn services_commands_and_environment() {
        let project = Project {
            root: PathBuf::from("/p"),
            files: Vec::new(),
        };
        let text = "version: '3'\nservices:\n  bot:\n    build:\n      context: ./bot\n    \
command: python -m app.delivery.bot  # polls\n    environment:\n      - BOT_TOKEN=${BOT_TOKEN}\n      \
- DEBUG\n  admin:\n    image: x\n    command: [\"python\", \"admin.py\"]\n    environment:\n      \
ADMIN_TOKEN: abc\n  db:\n    image: postgres\n";
        let s = services(&project, Path::new("/p/docker-compose.yml"), text);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].name, "bot");
        assert_eq!(
            s[0].steps[0].starts,
            Starts::Module("app.delivery.bot".into())
        );
        assert_eq!(s[0].steps[0].dir, PathBuf::from("/p/bot"));
        assert_eq!(s[0].env, ["BOT_TOKEN", "DEBUG"]);
        assert_eq!(s[0].dockerfile, Some(PathBuf::from("/p/bot/Dockerfile")));
        assert_eq!(s[1].steps[0].starts, Starts::Script("admin.py".into()));
        assert_eq!(s[1].env, ["ADMIN_TOKEN"]);
        assert!(s[2].steps.is_empty());
        assert_eq!(s[0].origin, "docker-compose.yml:3 (service bot)");
    }
}
