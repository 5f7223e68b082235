//! What an ancestor's argv says it is: a daemon (pm2, supervisord), a shell loop, a
//! reloader, cron.

pub(super) fn base_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The names a process goes by: its program, the script an interpreter runs, a `-m` module.
pub(super) fn program_names(argv: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    let Some(argv0) = argv.first() else {
        return names;
    };
    names.push(base_name(argv0).to_ascii_lowercase());
    let interpreter = crate::sources::argv::is_python(argv0)
        || matches!(base_name(argv0), "node" | "nodejs" | "bun" | "deno");
    if interpreter {
        let mut args = argv.iter().skip(1);
        while let Some(a) = args.next() {
            if a == "-m" {
                if let Some(m) = args.next() {
                    names.push(m.to_ascii_lowercase());
                }
                break;
            }
            if !a.starts_with('-') {
                let script = base_name(a).to_ascii_lowercase();
                let stem = script
                    .strip_suffix(".js")
                    .or_else(|| script.strip_suffix(".py"))
                    .unwrap_or(&script)
                    .to_string();
                names.push(stem);
                break;
            }
        }
    }
    names
}

/// The pm2 daemon's home from its title `PM2 v5.3.0: God Daemon (/home/u/.pm2)`.
pub fn pm2_home(argv: &[String]) -> Option<String> {
    let title = argv.join(" ");
    let title = title.trim();
    if !(title.starts_with("PM2 v") && title.contains("God Daemon")) {
        return None;
    }
    let open = title.find('(')?;
    let close = title.rfind(')')?;
    (close > open + 1).then(|| title[open + 1..close].to_string())
}

/// A supervisord daemon: `supervisord …` or `python3 /usr/bin/supervisord …`.
pub fn is_supervisord(argv: &[String]) -> bool {
    program_names(argv).iter().any(|n| n == "supervisord")
}

/// supervisord's `-c CONF` / `--configuration=CONF`.
pub fn supervisord_conf(argv: &[String]) -> Option<String> {
    let mut args = argv.iter();
    while let Some(a) = args.next() {
        if a == "-c" || a == "--configuration" {
            return args.next().cloned();
        }
        if let Some(v) = a.strip_prefix("--configuration=") {
            return Some(v.to_string());
        }
        if let Some(v) = a
            .strip_prefix("-c")
            .filter(|v| !v.is_empty() && !a.starts_with("--"))
        {
            return Some(v.to_string());
        }
    }
    None
}

/// The supervisorctl beside a supervisord script run by path (`/x/bin/supervisord`).
pub(super) fn supervisorctl_beside(argv: &[String]) -> Option<String> {
    argv.iter()
        .take(2)
        .find(|a| base_name(a) == "supervisord" && a.contains('/'))
        .map(|a| format!("{}/supervisorctl", &a[..a.rfind('/').unwrap_or(0)]))
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"];

/// A shell's `-c` text, or the script file it runs.
pub(super) enum ShellProgram<'a> {
    Text(&'a str),
    File(&'a str),
}

pub(super) fn shell_program(argv: &[String]) -> Option<ShellProgram<'_>> {
    let name = base_name(argv.first()?).trim_start_matches('-');
    if !SHELLS.contains(&name) {
        return None;
    }
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with('-') && a.len() > 1 && !a.starts_with("--") {
            if a[1..].contains('c') {
                return args.next().map(|t| ShellProgram::Text(t));
            }
            if a == "-o" || a == "+o" {
                args.next();
            }
            continue;
        }
        if a.starts_with("--") {
            continue;
        }
        return Some(ShellProgram::File(a));
    }
    None // an interactive shell
}

/// Does shell code loop (`while`, `until`, `for` as words)?
pub fn loops(code: &str) -> bool {
    code.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .any(|w| matches!(w, "while" | "until" | "for"))
}

const RELOADERS: &[&str] = &["watchmedo", "nodemon", "hupper", "watchfiles"];

/// A runtime's own watch mode, which starts the script again on a file change: `node --watch`
/// (and `--watch-path=`), `tsx watch`, `bun --watch`/`--hot`, `deno run --watch`.
pub(super) fn watch_mode(argv: &[String]) -> Option<String> {
    let program = base_name(argv.first()?).to_ascii_lowercase();
    let flag = |a: &String| {
        a == "--watch" || a.starts_with("--watch=") || a.starts_with("--watch-path") || a == "--hot"
    };
    let options = || {
        argv.iter()
            .skip(1)
            .take_while(|a| a.starts_with('-') || *a == "run")
    };
    match program.as_str() {
        "node" | "nodejs" | "bun" if options().any(flag) => Some(format!("{program} --watch")),
        "deno" if options().any(flag) => Some("deno --watch".into()),
        "tsx" if argv.get(1).is_some_and(|a| a == "watch") => Some("tsx watch".into()),
        // tsx through its shebang: `node …/node_modules/.bin/tsx watch bot.ts`.
        "node"
            if argv.get(1).is_some_and(|a| base_name(a) == "tsx")
                && argv.get(2).is_some_and(|a| a == "watch") =>
        {
            Some("tsx watch".into())
        }
        _ => None,
    }
}

pub(super) fn reloader_name(argv: &[String]) -> Option<String> {
    if let Some(name) = watch_mode(argv) {
        return Some(name);
    }
    let names = program_names(argv);
    let found = RELOADERS.iter().find(|r| {
        names
            .iter()
            .any(|n| n == *r || n.strip_suffix(".exe") == Some(r))
    })?;
    // watchmedo restarts only in auto-restart mode; its other modes run commands on events.
    if *found == "watchmedo" && !argv.iter().any(|a| a == "auto-restart") {
        return None;
    }
    Some(found.to_string())
}

pub(super) fn is_cron(argv: &[String]) -> bool {
    program_names(argv)
        .first()
        .is_some_and(|n| n == "cron" || n == "crond" || n == "cronie")
}
