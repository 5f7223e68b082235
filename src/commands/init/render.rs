//! The botctl.toml init writes, and what it says on the terminal about it. Every value is a
//! TOML string made by the toml crate; every piece of a project file in a comment is escaped
//! to one line.

use super::bot::{App, FoundBot};
use super::found::Found;
use crate::model::Entry;

const HEADER: &str =
    "# botctl.toml — written by `botctl init`. Tokens never go here: put them in the
# environment or in .env, under the names given by token_env.

[fly]
# flyctl = \"flyctl\"   # default: flyctl, else fly, from PATH
# wait = \"90s\"

[telegram]
# api = \"https://api.telegram.org\"
# probe = \"12s\"

[local]
# respawn = \"5s\"   # after dev-stop, how long to watch for a copy that comes back
";

/// What init looked at, said when it found nothing and in the starter.
pub const LOOKED_AT: &str = "Dockerfile CMD/ENTRYPOINT, docker-compose command, Procfile, \
fly.toml [processes], package.json scripts, Makefile targets, *.sh scripts and *.py files that poll";

/// The file's text.
pub fn toml(found: &Found) -> String {
    let mut s = String::from(HEADER);
    let sure: Vec<&FoundBot> = found.bots.iter().filter(|b| b.doubt.is_none()).collect();
    if let Some(b) = sure.first() {
        s.push_str(&format!(
            "\n# Launch scripts, Dockerfile CMD, systemd ExecStart: put `botctl exec` in front of \
the bot.\n# It refuses (exit 1) while the bot runs anywhere else, and otherwise becomes \
the bot\n# (same pid, so the supervisor supervises the bot itself):\n#   exec botctl exec \
{name}   # runs its `run`\n",
            name = b.name
        ));
        // `-- COMMAND` is one program's argv: a run that changes folder first has none to show.
        // shell::join writes a line break in a file name as `$'\n'`, so the comment stays one line.
        if run_of(b).is_none() {
            s.push_str(&format!(
                "#   exec botctl exec {} -- {}\n",
                b.name,
                command_for(&b.entry)
            ));
        }
    }
    if found.bots.is_empty() {
        s.push_str(&starter());
    } else if sure.is_empty() {
        s.push_str(
            "\n# botctl init is sure of no bot here: check the candidates below and uncomment \
the right one.\n",
        );
    }
    for b in &sure {
        s.push('\n');
        s.push_str(&table(b, &found.fly_files));
    }
    for b in found.bots.iter().filter(|b| b.doubt.is_some()) {
        s.push_str(&format!(
            "\n# Not sure: {}.\n",
            b.doubt.as_deref().unwrap_or_default()
        ));
        for line in table(b, &found.fly_files).lines() {
            if line.starts_with('#') {
                s.push_str(&format!("{line}\n"));
            } else {
                s.push_str(&format!("# {line}\n"));
            }
        }
    }
    for (app, file) in &found.unassigned {
        s.push_str(&format!(
            "\n# {file} names the app {}, but botctl could not tell which bot it runs: set \
fly_app on that bot.\n",
            toml_str(app)
        ));
    }
    s
}

fn starter() -> String {
    format!(
        "\n# botctl init found no bot here. It looked at {}.
# Describe each bot in a table like this one, then remove the leading `# `:
#
# [[bot]]
# name = \"partner\"              # a-z, 0-9 and -
# script = \"./bot.py\"           # the file that runs, from this folder; or instead:
# module = \"app\"                # a bot run as `python3 -m app`
# run = \"cd bot && exec python3 bot.py\"   # how dev-start runs it (default: python3 SCRIPT)
# token_env = \"BOT_TOKEN\"       # the variable its code reads the token from
# fly_app = \"my-bot\"            # its Fly.io app, if it runs there
",
        LOOKED_AT.replace(", package.json", ",\n# package.json")
    )
}

/// The command that runs `entry`, as botctl's default run has it ([`Entry::default_run`]),
/// each word quoted for the shell: it goes after `cd DIR && exec` in a `run`.
fn command_for(entry: &Entry) -> String {
    crate::shell::join(&entry.default_run())
}

/// The `run` a bot needs: starting it in its own folder; `None`: the default from the root.
pub fn run_of(b: &FoundBot) -> Option<String> {
    let rel = b.dir_rel.as_deref().filter(|d| !d.is_empty())?;
    let inner = match &b.entry {
        Entry::Module(_) => command_for(&b.entry),
        Entry::Script(s) => {
            let from_dir = s
                .strip_prefix(rel)
                .and_then(|r| r.strip_prefix('/'))
                .map_or_else(|| s.clone(), |r| format!("./{r}"));
            command_for(&Entry::Script(from_dir))
        }
    };
    Some(format!("cd {} && exec {inner}", crate::shell::word(rel)))
}

/// `b`'s table on its own: a whole botctl.toml, for the config's check.
pub fn alone(b: &FoundBot) -> String {
    table(b, &[])
}

fn table(b: &FoundBot, fly_files: &[String]) -> String {
    let mut s = String::new();
    if !b.origins.is_empty() {
        s.push_str(&format!("# started by {}\n", b.origins.join(", ")));
    }
    s.push_str(&format!("[[bot]]\nname = {}\n", toml_str(&b.name)));
    match &b.entry {
        Entry::Script(p) => s.push_str(&format!("script = {}\n", toml_str(p))),
        Entry::Module(m) => s.push_str(&format!("module = {}\n", toml_str(m))),
    }
    if let Some(run) = run_of(b) {
        s.push_str(&format!("run = {}\n", toml_str(&run)));
    }
    match &b.token.var {
        Some(v) if v.from_code => {
            s.push_str(&format!("token_env = {}   # {}\n", toml_str(&v.name), v.at))
        }
        Some(v) => s.push_str(&format!(
            "token_env = {}   # named in {}, not seen read by the code\n",
            toml_str(&v.name),
            v.at
        )),
        None => s.push_str(&format!(
            "# token_env = \"…\"   # not found: no *TOKEN* variable read in {}\n",
            looked(&b.token.looked)
        )),
    }
    for place in &b.token.hard_coded {
        s.push_str(&format!(
            "# the token is hard-coded in {place}: move it to the environment\n"
        ));
    }
    // A bot has one platform in botctl.toml: Fly first, a workload otherwise.
    if let Some(w) = &b.kube {
        let line = kubernetes_key(w);
        match &b.app {
            App::None => {
                s.push_str(&format!("{line}   # {} runs it\n", w.origin));
                s.push_str("# ready_log = \"a line the bot logs once connected\"\n");
                return s;
            }
            _ => s.push_str(&format!(
                "# {line}   # {} runs it too; a bot has one platform in botctl.toml\n",
                w.origin
            )),
        }
    }
    match &b.app {
        App::Found {
            app,
            why,
            fly_toml,
            group,
        } => {
            s.push_str(&format!("fly_app = {}   # {why}\n", toml_str(app)));
            if let Some(t) = fly_toml {
                s.push_str(&format!("fly_toml = {}\n", toml_str(t)));
            }
            // The app's [processes] give it several groups: status and dev-start count and
            // stop only this one's machines.
            if let Some(g) = group {
                s.push_str(&format!(
                    "fly_process_group = {}   # its [processes] entry in fly.toml\n",
                    toml_str(g)
                ));
            }
            s.push_str("# ready_log = \"a line the bot logs once connected\"\n");
        }
        App::Several(apps) => s.push_str(&format!(
            "# fly_app = \"…\"   # several fly.toml files deploy it ({}): name the one\n",
            apps.iter()
                .map(|a| toml_str(a))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        // Its platform is Heroku: one platform per bot.
        App::None if b.heroku.as_ref().is_some_and(|h| h.app.is_some()) || b.railway.is_some() => {}
        App::None if fly_files.is_empty() => {
            s.push_str("# fly_app = \"…\"   # not found: the project has no fly.toml\n")
        }
        App::None => s.push_str(&format!(
            "# fly_app = \"…\"   # not found: no fly.toml deploys it ({} read)\n",
            looked(fly_files)
        )),
    }
    if let Some(why) = &b.railway {
        s.push_str(&format!(
            "railway = {{}}   # {why}: the service linked with `railway link` (or name service, \
environment)\n"
        ));
    }
    if let Some(h) = &b.heroku.as_ref().filter(|_| b.railway.is_none()) {
        let process = toml_str(&h.process);
        match &h.app {
            Some(app) => s.push_str(&format!(
                "heroku = {{ app = {}, process = {process} }}   # {}; the git remote heroku \
names the app\n",
                toml_str(app),
                h.why
            )),
            None => s.push_str(&format!(
                "# heroku = {{ app = \"…\", process = {process} }}   # {}: name its Heroku app \
if it runs there\n",
                h.why
            )),
        }
    }
    s
}

/// `kubernetes = { deployment = "lb", namespace = "bots" }`.
fn kubernetes_key(w: &super::manifests::ManifestWorkload) -> String {
    let ns = w
        .namespace
        .as_ref()
        .map(|n| format!(", namespace = {}", toml_str(n)))
        .unwrap_or_default();
    format!("kubernetes = {{ {} = {}{ns} }}", w.kind, toml_str(&w.name))
}

/// `a.py, b.py and 3 more`.
fn looked(files: &[String]) -> String {
    match files.len() {
        0 => "its code, which is not in the project".into(),
        n if n <= 4 => files.join(", "),
        n => format!("{} and {} more", files[..3].join(", "), n - 3),
    }
}

/// A TOML basic string, escaped as TOML (not Rust) escapes.
pub fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The terminal's account: what init found, what it guessed, what it left for the user.
pub fn summary(found: &Found) -> Vec<String> {
    let mut found_lines = Vec::new();
    let mut guessed = Vec::new();
    let mut left = Vec::new();
    for b in &found.bots {
        let what = match &b.entry {
            Entry::Script(s) => crate::outside::shown(s).into_owned(),
            Entry::Module(m) => format!("python -m {}", crate::outside::shown(m)),
        };
        if let Some(doubt) = &b.doubt {
            guessed.push(format!("{}: commented out, {doubt}", b.name));
            continue;
        }
        if b.origins.is_empty() {
            found_lines.push(format!(
                "{}: {what}, which polls (no project file starts it)",
                b.name
            ));
        } else {
            found_lines.push(format!(
                "{}: {what}, started by {}",
                b.name,
                b.origins.join(", ")
            ));
        }
        match &b.token.var {
            Some(v) if v.from_code => found_lines.push(format!(
                "{}: token_env {} (read in {})",
                b.name, v.name, v.at
            )),
            Some(v) => guessed.push(format!(
                "{}: token_env {}, named in {} but not seen read by its code",
                b.name, v.name, v.at
            )),
            None => left.push(format!(
                "{}: token_env, no *TOKEN* variable read in {}",
                b.name,
                looked(&b.token.looked)
            )),
        }
        for place in &b.token.hard_coded {
            left.push(format!(
                "{}: the token is hard-coded in {place}: move it to the environment",
                b.name
            ));
        }
        if let Some(run) = run_of(b) {
            let line = format!("{}: runs in {} (run = \"{run}\")", b.name, b.dir_shown());
            if b.origins.is_empty() {
                guessed.push(format!(
                    "{line}, the nearest folder with its own project files"
                ));
            } else {
                found_lines.push(line);
            }
        }
        if let (Some(w), App::None) = (&b.kube, &b.app) {
            let ns = w
                .namespace
                .as_ref()
                .map(|n| format!(" in namespace {}", crate::outside::shown(n)))
                .unwrap_or_default();
            found_lines.push(format!(
                "{}: kubernetes {} {}{ns}",
                b.name,
                w.kind,
                crate::outside::shown(&w.name)
            ));
        }
        match &b.app {
            App::Found { app, why, .. } if b.fly_from_launch => {
                found_lines.push(format!("{}: fly_app {app} ({why})", b.name))
            }
            App::Found { app, why, .. } => {
                guessed.push(format!("{}: fly_app {app}, as {why}", b.name))
            }
            App::Several(apps) => left.push(format!(
                "{}: fly_app, several fly.toml files deploy it ({})",
                b.name,
                apps.join(", ")
            )),
            App::None => {}
        }
        if let Some(why) = &b.railway {
            found_lines.push(format!("{}: railway, the linked service ({why})", b.name));
        }
        // Without an app the key stays a comment in the file: a Procfile is not only Heroku's.
        if let Some(h) = &b.heroku
            && let Some(app) = &h.app
        {
            found_lines.push(format!(
                "{}: heroku app {app}, process {} ({}; the git remote heroku names the app)",
                b.name, h.process, h.why
            ));
        }
    }
    for (app, file) in &found.unassigned {
        left.push(format!(
            "{file} names the app {app}, but botctl could not tell which bot it runs: set fly_app"
        ));
    }
    let mut out = Vec::new();
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push(title.to_string());
            out.extend(lines.into_iter().map(|l| format!("  {l}")));
        }
    };
    section("Found:", found_lines);
    section("Guessed (check these):", guessed);
    section("Left for you:", left);
    if found.bots.is_empty() {
        out.push(format!(
            "No bot found. init looked at {LOOKED_AT}: botctl.toml has a commented table to fill in."
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::init::token::{Read, TokenFound};
    use std::path::{Path, PathBuf};

    #[test]
    fn odd_names_are_toml_the_config_accepts() {
        let odd = "bot\u{200b}\"x\\y.py";
        let found = Found {
            bots: vec![FoundBot::for_test(
                "a",
                Entry::Script(format!("sub dir/{odd}")),
                Some("sub dir"),
                TokenFound {
                    var: Some(Read {
                        name: "A_TOKEN".into(),
                        at: "x.py:1".into(),
                        from_code: true,
                    }),
                    ..TokenFound::default()
                },
            )],
            unassigned: vec![("lb-x".into(), "deploy/fly.toml".into())],
            fly_files: vec!["deploy/fly.toml".into()],
        };
        let text = toml(&found);
        let cfg =
            crate::config::parse(&text, Path::new("botctl.toml"), PathBuf::from("/p")).unwrap();
        assert_eq!(cfg.bots[0].entry, Entry::Script(format!("sub dir/{odd}")));
        // The folder quoted for the shell; the script as the default run has it.
        assert!(
            matches!(&cfg.bots[0].run, crate::config::Run::Shell(line)
                if line.starts_with("cd 'sub dir' && exec python3 ")),
            "{}",
            cfg.bots[0].run
        );
        assert!(
            text.contains("# deploy/fly.toml names the app \"lb-x\""),
            "{text}"
        );
    }
}
