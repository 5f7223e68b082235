//! A command line from a project file (`cd bot && exec python -O -m app`, `tsc && tsx
//! ./src/main.ts`, `sh -c "…"`), read as the shell would run it: each simple command of a
//! chain, in the folder the `cd`s before it lead to, wrappers (`exec`, `env`, `nohup`, `uv run`,
//! `poetry run`, `npx`) taken off. What each command starts is decided by the same table of
//! runtimes as process matching ([`crate::sources::argv`]), read-only.

use std::path::{Path, PathBuf};

use crate::sources::argv::{Runs, Runtime, script_of};

/// What one simple command starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Starts {
    /// A runtime runs this file (as written, relative to `dir`).
    Script(String),
    /// `python -m NAME`.
    Module(String),
    /// `npm start`, `npm run NAME`, `yarn NAME`, `pnpm NAME`, `bun run NAME`: a package.json script.
    NpmScript(String),
    /// `node .` (or `node` with a folder): the package's `main`.
    NodeDot(String),
    /// `sh run.sh`, `./start.sh`, `bash scripts/run`: a shell script to read in turn.
    Shell(String),
}

/// One simple command, where it runs and what it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchStep {
    pub dir: PathBuf,
    pub starts: Starts,
}

/// How deep `sh -c "sh -c …"` is followed.
const MAX_NESTING: usize = 4;

/// The steps of a shell command line run in `dir`.
pub fn steps(line: &str, dir: &Path) -> Vec<LaunchStep> {
    let mut dir = dir.to_path_buf();
    let mut out = Vec::new();
    steps_into(line, &mut dir, &mut out, 0);
    out
}

/// The steps of an exec-form command (`CMD ["python", "-m", "app"]`): no shell, one command.
pub fn steps_of_words(words: &[String], dir: &Path) -> Vec<LaunchStep> {
    let mut dir = dir.to_path_buf();
    let mut out = Vec::new();
    command_into(words, &mut dir, &mut out, 0);
    out
}

fn steps_into(line: &str, dir: &mut PathBuf, out: &mut Vec<LaunchStep>, depth: usize) {
    if depth > MAX_NESTING {
        return;
    }
    for words in simple_commands(line) {
        command_into(&words, dir, out, depth);
    }
}

fn command_into(words: &[String], dir: &mut PathBuf, out: &mut Vec<LaunchStep>, depth: usize) {
    let words = unwrap(words);
    let Some(first) = words.first() else {
        return;
    };
    let rest = &words[1..];
    let base = first.rsplit('/').next().unwrap_or(first);
    match base {
        "cd" => {
            match rest.first().map(String::as_str) {
                // `cd "$(dirname "$0")"`: the script's own folder, where it already is.
                Some(to) if to.contains('$') => {}
                Some(to) if to.starts_with('/') => *dir = PathBuf::from(to),
                Some(to) => *dir = super::walk::normalize(&dir.join(to)),
                None => {}
            }
            return;
        }
        "sh" | "bash" | "dash" | "zsh" => {
            if let Some(i) = rest
                .iter()
                .position(|w| w == "-c" || w == "-lc" || w == "-ec")
            {
                if let Some(text) = rest.get(i + 1) {
                    steps_into(text, dir, out, depth + 1);
                }
            } else if let Some(script) = rest.iter().find(|w| !w.starts_with('-')) {
                out.push(step(dir, Starts::Shell(script.clone())));
            }
            return;
        }
        "npm" | "pnpm" | "yarn" | "bun" => {
            if let Some(name) = package_script(base, rest) {
                out.push(step(dir, Starts::NpmScript(name)));
                return;
            }
        }
        _ => {}
    }
    if first.ends_with(".sh") {
        out.push(step(dir, Starts::Shell(first.clone())));
        return;
    }
    let Some(runtime) = Runtime::of(first) else {
        return;
    };
    let starts = match (runtime.runs(rest), script_of(&words)) {
        (Runs::Module(m), _) => Starts::Module(m.to_string()),
        (_, Some(s)) if runtime != Runtime::Python && is_folder_word(s) => {
            Starts::NodeDot(s.to_string())
        }
        (_, Some(s)) => Starts::Script(s.to_string()),
        _ => return,
    };
    out.push(step(dir, starts));
}

fn step(dir: &Path, starts: Starts) -> LaunchStep {
    LaunchStep {
        dir: dir.to_path_buf(),
        starts,
    }
}

/// `.`, `./`, `..`, `./server/`: Node runs the folder's package `main`.
fn is_folder_word(s: &str) -> bool {
    s == "." || s == ".." || s.ends_with('/') || s == "./"
}

/// The package.json script `npm start` / `npm run dev` / `yarn bot` / `pnpm start` runs.
fn package_script(tool: &str, rest: &[String]) -> Option<String> {
    let args: Vec<&str> = rest
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with('-'))
        .collect();
    match (tool, args.as_slice()) {
        (_, ["start", ..]) => Some("start".into()),
        // `bun run src/bot.ts` runs a file, not a script: left to the runtime table.
        (_, ["run" | "run-script", name, ..]) if !is_file_word(name) => Some((*name).to_string()),
        ("yarn" | "pnpm", [name, ..]) if !is_file_word(name) => Some((*name).to_string()),
        _ => None,
    }
}

/// `src/bot.ts`, `bot.js`: a file, where a package script's name could stand.
fn is_file_word(w: &str) -> bool {
    w.contains('/')
        || [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".py"]
            .iter()
            .any(|e| w.ends_with(e))
}

/// The command without what only wraps it: `VAR=value` assignments, `exec`, `env [-i] [VAR=…]`,
/// `nohup`, `time`, `uv run`, `poetry run`, `pipenv run`, `pdm run`, `npx`, `pnpm exec`,
/// `dotenv --`, `doppler run --`.
fn unwrap(words: &[String]) -> Vec<String> {
    let mut w: Vec<String> = words.to_vec();
    loop {
        let before = w.len();
        while w.first().is_some_and(|x| is_assignment(x)) {
            w.remove(0);
        }
        match w.first().map(String::as_str) {
            Some("exec" | "nohup" | "time" | "command" | "npx" | "bunx") => {
                w.remove(0);
                while w.first().is_some_and(|x| x.starts_with('-')) {
                    w.remove(0);
                }
            }
            Some("env") => {
                w.remove(0);
                while w
                    .first()
                    .is_some_and(|x| x.starts_with('-') || is_assignment(x))
                {
                    w.remove(0);
                }
            }
            Some("uv" | "poetry" | "pipenv" | "pdm" | "rye" | "hatch" | "pnpm")
                if w.get(1).is_some_and(|x| x == "run" || x == "exec")
                    && !(w[0] == "pnpm" && w[1] == "run") =>
            {
                w.drain(..2);
                // `uv run --env-file .env python …`: its options, with their values.
                while let Some(x) = w.first().cloned() {
                    if !x.starts_with('-') {
                        break;
                    }
                    w.remove(0);
                    if !x.contains('=')
                        && matches!(x.as_str(), "--env-file" | "--with" | "--python" | "-p")
                    {
                        w.remove(0);
                    }
                }
            }
            Some("dotenv" | "doppler") => match w.iter().position(|x| x == "--") {
                Some(i) => {
                    w.drain(..=i);
                }
                None => w.clear(),
            },
            _ => {}
        }
        if w.len() == before || w.is_empty() {
            return w;
        }
    }
}

/// `NODE_ENV=production`: a shell assignment, not a word of the command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// A shell line split into simple commands at `&&`, `||`, `;`, `|`, `&` and newlines, each into
/// words with the shell's quoting (single, double, backslash) taken off. `#` starts a comment
/// at the start of a word.
pub fn simple_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let end_word = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if chars.peek().is_some_and(|n| "\"\\$`".contains(*n)) => {
                            word.extend(chars.next());
                        }
                        c => word.push(c),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(n) => {
                    in_word = true;
                    word.push(n);
                }
            },
            '#' if !in_word => {
                // A comment to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                end_word(&mut words, &mut word, &mut in_word);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            ';' | '&' | '|' | '\n' | '(' | ')' => {
                end_word(&mut words, &mut word, &mut in_word);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() => end_word(&mut words, &mut word, &mut in_word),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(line: &str) -> Vec<(String, Starts)> {
        steps(line, Path::new("/p"))
            .into_iter()
            .map(|s| (s.dir.display().to_string(), s.starts))
            .collect()
    }

    #[test]
    fn chains_cds_and_wrappers() {
        assert_eq!(
            starts("tsc && tsx ./src/main.ts"),
            [("/p".into(), Starts::Script("./src/main.ts".into()))]
        );
        assert_eq!(
            starts("cd bot && exec python3 -O -m app; echo done"),
            [("/p/bot".into(), Starts::Module("app".into()))]
        );
        assert_eq!(
            starts("NODE_ENV=production node -r dotenv/config dist/bot.js"),
            [("/p".into(), Starts::Script("dist/bot.js".into()))]
        );
        assert_eq!(
            starts("uv run --env-file .env python -m lb.partner"),
            [("/p".into(), Starts::Module("lb.partner".into()))]
        );
        assert_eq!(
            starts("sh -c 'cd \"bots/a b\" && python bot.py'"),
            [("/p/bots/a b".into(), Starts::Script("bot.py".into()))]
        );
        assert_eq!(
            starts("node ."),
            [("/p".into(), Starts::NodeDot(".".into()))]
        );
        assert_eq!(
            starts("npm run build && npm start"),
            [
                ("/p".into(), Starts::NpmScript("build".into())),
                ("/p".into(), Starts::NpmScript("start".into()))
            ]
        );
        assert_eq!(
            starts("./scripts/run.sh # starts it"),
            [("/p".into(), Starts::Shell("./scripts/run.sh".into()))]
        );
        assert_eq!(
            starts("bun run src/bot.ts"),
            [("/p".into(), Starts::Script("src/bot.ts".into()))]
        );
        assert_eq!(
            starts("pnpm run start:prod"),
            [("/p".into(), Starts::NpmScript("start:prod".into()))]
        );
        assert!(starts("python -c 'import x'").is_empty());
        assert!(starts("gunicorn app:app").is_empty());
    }
}
