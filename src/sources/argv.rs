//! Which argv runs which script or module: the one table of interpreter forms.
//!
//! A process is an instance of a bot when its argv[0] names a runtime of the bot's language and
//! the runtime's first non-option argument is the bot's script (or, for a module bot, Python's
//! `-m` names the module), or when argv[0] itself is the script. Each runtime's own options are
//! skipped (with their value when they take one); the options and subcommands that run no
//! script (`python3 -c`, `node -e`, `node --check`, `deno fmt`, `bun test`, `tsx watch`) make
//! the process no instance at all.

use crate::model::Entry;
pub use crate::model::Language;

/// A program that runs scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Python,
    Node,
    Bun,
    Deno,
    Tsx,
    TsNode,
}

/// What a command line runs, as its runtime reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs<'a> {
    Script(&'a str),
    Module(&'a str),
    /// Code from `-c`/`-e`, a REPL, a check, a subcommand that runs no script, a reloader.
    Nothing,
}

/// How one runtime reads its command line.
struct Forms {
    /// Program names (for Python: see [`is_python`]).
    names: &'static [&'static str],
    /// Options followed by a value (`-W error`, `--require ./x.js`): skipped with it.
    takes_value: &'static [&'static str],
    /// Options after which no script runs (`-c CODE`, `--eval`, `--check`, `--help`).
    runs_nothing: &'static [&'static str],
    /// Subcommands that precede the script (`bun run bot.ts`, `deno run bot.ts`).
    run_commands: &'static [&'static str],
    /// Subcommands that run no script (`deno fmt`, `bun test`) or start a reloader (`tsx watch`).
    other_commands: &'static [&'static str],
}

/// Node's options that take a separate value; tsx and ts-node pass them on to Node.
const NODE_VALUE_OPTIONS: &[&str] = &[
    "-r",
    "--require",
    "--import",
    "--loader",
    "--experimental-loader",
    "-C",
    "--conditions",
    "--env-file",
    "--env-file-if-exists",
    "--input-type",
    "--experimental-default-type",
    "--disable-warning",
    "--inspect-port",
    "--debug-port",
    "--title",
    "--redirect-warnings",
    "--report-dir",
    "--report-directory",
    "--report-filename",
    "--report-signal",
    "--diagnostic-dir",
    "--heapsnapshot-signal",
    "--icu-data-dir",
    "--openssl-config",
    "--dns-result-order",
    "--unhandled-rejections",
    "--cpu-prof-dir",
    "--cpu-prof-name",
    "--heap-prof-dir",
    "--heap-prof-name",
    "--secure-heap",
    "--secure-heap-min",
    "--tls-cipher-list",
    "--trace-event-categories",
    "--trace-event-file-pattern",
    "--localstorage-file",
    "--watch-path",
    "--stack-trace-limit",
];

/// Node's options after which no script runs: code on the command line, a syntax check, the
/// test runner, a package.json script, the REPL's help. `--watch` makes a reloader parent that
/// runs the script in a child (the child is the instance).
const NODE_RUNS_NOTHING: &[&str] = &[
    "-e",
    "--eval",
    "-p",
    "--print",
    "-pe",
    "-c",
    "--check",
    "--test",
    "--run",
    "-h",
    "--help",
    "-v",
    "--version",
    "--v8-options",
    "--watch",
    "--completion-bash",
];

/// Python (its program names are matched by [`is_python`]).
const PYTHON: Forms = Forms {
    names: &[],
    takes_value: &["-W", "-X", "--check-hash-based-pycs"],
    // `-m` runs a module, not a script: see `python_runs`.
    runs_nothing: &[
        "-c",
        "-",
        "-h",
        "-?",
        "--help",
        "-V",
        "--version",
        "--help-env",
        "--help-xoptions",
        "--help-all",
    ],
    run_commands: &[],
    other_commands: &[],
};

/// Node: the script is its first argument that is no option.
const NODE: Forms = Forms {
    names: &["node", "nodejs"],
    takes_value: NODE_VALUE_OPTIONS,
    runs_nothing: NODE_RUNS_NOTHING,
    run_commands: &[],
    other_commands: &[],
};

/// Bun: `bun run bot.ts` or `bun bot.ts`.
const BUN: Forms = Forms {
    names: &["bun"],
    takes_value: &[
        "-r",
        "--preload",
        "--require",
        "--import",
        "--cwd",
        "--env-file",
        "-c",
        "--config",
        "--tsconfig-override",
        "--main-fields",
        "--extension-order",
        "--jsx-factory",
        "--jsx-fragment",
        "--jsx-import-source",
        "--jsx-runtime",
        "--define",
        "-d",
        "--loader",
        "-l",
        "--port",
        "--conditions",
        // `--inspect[=URL]`, `--inspect-wait`, `--inspect-brk`: values only after `=`.
        "--console-depth",
    ],
    runs_nothing: &[
        "-e",
        "--eval",
        "-p",
        "--print",
        "-h",
        "--help",
        "-v",
        "--version",
        "--revision",
    ],
    run_commands: &["run"],
    other_commands: &[
        "test", "x", "repl", "exec", "install", "i", "add", "a", "remove", "rm", "update",
        "outdated", "link", "unlink", "pm", "build", "init", "create", "c", "upgrade", "publish",
        "patch", "audit", "info", "why",
    ],
};

/// Deno: `deno run bot.ts`.
const DENO: Forms = Forms {
    names: &["deno"],
    // Deno's optional values are attached with `=` (`--allow-net=host`).
    takes_value: &[
        "-c",
        "--config",
        "--import-map",
        "--lock",
        "--cert",
        "--location",
        "--seed",
        "--ext",
        "-L",
        "--log-level",
        "--preload",
        // `--inspect`, `--inspect-wait`, `--inspect-brk`: values only after `=`.
    ],
    runs_nothing: &["-h", "--help", "-V", "--version"],
    run_commands: &["run"],
    other_commands: &[
        "fmt",
        "test",
        "lint",
        "check",
        "bench",
        "compile",
        "doc",
        "eval",
        "repl",
        "task",
        "install",
        "uninstall",
        "add",
        "remove",
        "cache",
        "info",
        "coverage",
        "jupyter",
        "lsp",
        "init",
        "upgrade",
        "serve",
        "publish",
        "types",
        "completions",
        "outdated",
        "clean",
    ],
};

/// tsx, which passes Node's options on.
const TSX: Forms = Forms {
    names: &["tsx"],
    takes_value: &["--tsconfig", "-r", "--require", "--import", "--env-file"],
    runs_nothing: &[
        "-e",
        "--eval",
        "-p",
        "--print",
        "-h",
        "--help",
        "-v",
        "--version",
        "--test",
    ],
    run_commands: &[],
    // `tsx watch bot.ts` is a reloader: its child runs the bot.
    other_commands: &["watch"],
};

/// ts-node and its variants.
const TS_NODE: Forms = Forms {
    names: &[
        "ts-node",
        "ts-node-esm",
        "ts-node-transpile-only",
        "ts-node-cwd",
    ],
    takes_value: &[
        "-P",
        "--project",
        "-r",
        "--require",
        "-C",
        "--compiler",
        "-O",
        "--compilerOptions",
        "--compiler-options",
        "-I",
        "--ignore",
        "-D",
        "--ignore-diagnostics",
        "--cwd",
        "--dir",
        "--scope-dir",
        "--transpiler",
        "--cwdMode",
    ],
    runs_nothing: &[
        "-e",
        "--eval",
        "-p",
        "--print",
        "-i",
        "--interactive",
        "-h",
        "--help",
        "-v",
        "--version",
        "-vv",
        "--showConfig",
    ],
    run_commands: &[],
    other_commands: &[],
};

impl Runtime {
    const ALL: [Runtime; 6] = [
        Runtime::Python,
        Runtime::Node,
        Runtime::Bun,
        Runtime::Deno,
        Runtime::Tsx,
        Runtime::TsNode,
    ];

    fn forms(self) -> &'static Forms {
        match self {
            Runtime::Python => &PYTHON,
            Runtime::Node => &NODE,
            Runtime::Bun => &BUN,
            Runtime::Deno => &DENO,
            Runtime::Tsx => &TSX,
            Runtime::TsNode => &TS_NODE,
        }
    }

    /// The runtime argv[0] names, if any (`/usr/bin/python3.12`, `node`, `/opt/bun/bin/bun`).
    pub fn of(argv0: &str) -> Option<Runtime> {
        if is_python(argv0) {
            return Some(Runtime::Python);
        }
        let name = base_name(argv0);
        Runtime::ALL
            .into_iter()
            .find(|r| r.forms().names.contains(&name))
    }

    /// A runtime's CLI run by Node through its `#!/usr/bin/env node` shebang:
    /// `node /p/node_modules/.bin/tsx bot.ts` is tsx.
    fn wrapped_by_node(script: &str) -> Option<Runtime> {
        match Runtime::of(script) {
            Some(r @ (Runtime::Tsx | Runtime::TsNode)) => Some(r),
            _ if script.ends_with("/tsx/dist/cli.mjs") || script.ends_with("/tsx/dist/cli.cjs") => {
                Some(Runtime::Tsx)
            }
            _ if script.ends_with("/ts-node/dist/bin.js") => Some(Runtime::TsNode),
            _ => None,
        }
    }

    fn language(self) -> Language {
        match self {
            Runtime::Python => Language::Python,
            _ => Language::JavaScript,
        }
    }

    /// What this runtime runs, given the arguments after argv[0].
    pub fn runs(self, args: &[String]) -> Runs<'_> {
        if self == Runtime::Python {
            return python_runs(args);
        }
        let forms = self.forms();
        let mut seen_command = false;
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            i += 1;
            if arg == "--" {
                return args.get(i).map_or(Runs::Nothing, |a| Runs::Script(a));
            }
            if arg == "-" {
                return Runs::Nothing; // program from stdin
            }
            if arg.starts_with('-') {
                let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
                if forms.runs_nothing.contains(&name) {
                    return Runs::Nothing;
                }
                if !arg.contains('=') && forms.takes_value.contains(&name) {
                    i += 1;
                }
                continue;
            }
            if !seen_command && forms.run_commands.contains(&arg.as_str()) {
                seen_command = true;
                continue;
            }
            if !seen_command && forms.other_commands.contains(&arg.as_str()) {
                return Runs::Nothing;
            }
            if self == Runtime::Node
                && let Some(wrapped) = Runtime::wrapped_by_node(arg)
            {
                return wrapped.runs(&args[i..]);
            }
            return Runs::Script(arg);
        }
        Runs::Nothing
    }
}

/// The argument by which `cmd` runs the bot's script or module, when it is an instance of it
/// (scripts by file name; the caller compares paths for a script that holds a `/`).
pub fn runs(cmd: &[String], entry: &Entry) -> Option<String> {
    let argv0 = cmd.first()?;
    let args = &cmd[1..];
    match entry {
        Entry::Module(module) if is_python(argv0) => match python_runs(args) {
            Runs::Module(m) if m == module => Some(m.to_string()),
            _ => None,
        },
        Entry::Module(_) => None,
        Entry::Script(script) => {
            let wanted = base_name(script);
            if base_name(argv0) == wanted {
                return Some(argv0.clone()); // the script itself, through its shebang
            }
            let runtime = Runtime::of(argv0).filter(|r| r.language() == Language::of(script))?;
            match runtime.runs(args) {
                Runs::Script(arg) if base_name(arg) == wanted => Some(arg.to_string()),
                _ => None,
            }
        }
    }
}

/// `node .`, `node ./app/`: Node runs a folder's package.json `main`. The index of that
/// argument in `cmd`, for the caller to resolve in the process's working folder.
pub fn runs_a_folder(cmd: &[String]) -> Option<usize> {
    if Runtime::of(cmd.first()?)? != Runtime::Node {
        return None;
    }
    let Runs::Script(arg) = Runtime::Node.runs(&cmd[1..]) else {
        return None;
    };
    if !(arg == "." || arg == ".." || arg.ends_with('/')) {
        return None;
    }
    cmd.iter().position(|a| std::ptr::eq(a.as_str(), arg))
}

/// The script a command line runs, whatever it is (init reads `npm start` scripts with it).
pub fn script_of(cmd: &[String]) -> Option<&str> {
    match Runtime::of(cmd.first()?)?.runs(&cmd[1..]) {
        Runs::Script(s) => Some(s),
        _ => None,
    }
}

/// The language a runtime named `name` runs (`python3`, `Python`, `node`, `bun`), if any: what a
/// process whose argv cannot be read may be.
pub fn runtime_language(name: &str) -> Option<Language> {
    Runtime::of(name).map(Runtime::language)
}

pub fn base_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// `python`, `python3`, `python3.12`, `pypy3`, or a path ending in one; also CPython's build
/// variants: free-threaded `python3.13t`, debug `python3.12-dbg` / `python3.12d`, and the old
/// `python3.7m` / `python3.6dm`.
pub fn is_python(argv0: &str) -> bool {
    let name = base_name(argv0).to_ascii_lowercase();
    let rest = if let Some(r) = name.strip_prefix("python") {
        r
    } else if let Some(r) = name.strip_prefix("pypy") {
        r
    } else {
        return false;
    };
    let rest = rest.strip_suffix("-dbg").unwrap_or(rest);
    // ABI flags after the version: t (free-threaded), d (debug), m (pymalloc, up to 3.7).
    let trimmed = rest.trim_end_matches(['t', 'd', 'm']);
    let rest = if trimmed.len() < rest.len() && trimmed.ends_with(|c: char| c.is_ascii_digit()) {
        trimmed
    } else {
        rest
    };
    // "", "3", "2", "3.12"
    let mut parts = rest.splitn(2, '.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next();
    (major.is_empty() && minor.is_none())
        || (matches!(major, "2" | "3")
            && minor.is_none_or(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit())))
}

/// Python's reading of its arguments: short options cluster (`-uB`), `-W`/`-X` take a value
/// attached or next, `-c`/`-m` take the rest of the cluster or the next argument.
/// Profilers and debuggers run as `python -m TOOL [its options] SCRIPT`: the bot still runs.
/// Their options that take a value.
fn tool_options(module: &str) -> Option<&'static [&'static str]> {
    match module {
        "cProfile" | "profile" => Some(&["-o", "--outfile", "-s", "--sort"]),
        "pdb" => Some(&["-c", "--command"]),
        "debugpy" => Some(&["--listen", "--connect", "--log-to", "--pid"]),
        _ => None,
    }
}

/// What a profiler or debugger runs: `-m MODULE`, else its first argument that is no option.
fn tool_runs<'a>(takes_value: &[&str], args: &'a [String]) -> Runs<'a> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-m" => return args.next().map_or(Runs::Nothing, |m| Runs::Module(m)),
            "-c" if !takes_value.contains(&"-c") => return Runs::Nothing,
            a if a.starts_with("--configure-") && !a.contains('=') => {
                args.next();
            }
            a if takes_value.contains(&a) => {
                args.next();
            }
            a if a.starts_with('-') => {}
            _ => return Runs::Script(arg),
        }
    }
    Runs::Nothing
}

/// `pydevd.py --port 5678 --client 127.0.0.1 [--module] --file bot.py`.
fn pydevd_runs(args: &[String]) -> Runs<'_> {
    let module = args.iter().any(|a| a == "--module");
    let file = args
        .iter()
        .position(|a| a == "--file")
        .and_then(|i| args.get(i + 1));
    match file {
        Some(f) if module => Runs::Module(f),
        Some(f) => Runs::Script(f),
        None => Runs::Nothing,
    }
}

fn python_runs(args: &[String]) -> Runs<'_> {
    let forms = Runtime::Python.forms();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            return args.next().map_or(Runs::Nothing, |a| Runs::Script(a));
        }
        if forms.runs_nothing.contains(&arg.as_str()) {
            return Runs::Nothing;
        }
        if !arg.starts_with('-') {
            // pydevd (PyCharm's debugger) runs the bot named by its `--file`.
            if base_name(arg) == "pydevd.py" {
                return pydevd_runs(args.as_slice());
            }
            return Runs::Script(arg);
        }
        if arg.starts_with("--") {
            if forms.takes_value.contains(&arg.as_str()) {
                args.next();
            }
            continue;
        }
        let flags = &arg[1..];
        for (i, c) in flags.char_indices() {
            let attached = &flags[i + c.len_utf8()..];
            match c {
                'c' | 'h' | '?' | 'V' => return Runs::Nothing,
                'm' => {
                    let module = if attached.is_empty() {
                        args.next().map(String::as_str)
                    } else {
                        Some(attached)
                    };
                    return match module {
                        Some(m) => match tool_options(m) {
                            Some(takes_value) => tool_runs(takes_value, args.as_slice()),
                            None => Runs::Module(m),
                        },
                        None => Runs::Nothing,
                    };
                }
                'W' | 'X' => {
                    if attached.is_empty() {
                        args.next();
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    Runs::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn script(s: &str) -> Entry {
        Entry::Script(s.into())
    }

    /// Each command line runs `entry`, named as `shown`.
    fn assert_runs(entry: &Entry, shown: &str, cmds: &[&str]) {
        for cmd in cmds {
            assert_eq!(runs(&argv(cmd), entry).as_deref(), Some(shown), "{cmd}");
        }
    }

    /// No command line runs `entry`.
    fn assert_runs_not(entry: &Entry, cmds: &[&str]) {
        for cmd in cmds {
            assert_eq!(runs(&argv(cmd), entry), None, "{cmd}");
        }
    }

    #[test]
    fn interpreters() {
        for yes in [
            "python",
            "python3",
            "python3.12",
            "/usr/bin/python3.11",
            "pypy3",
            "/opt/venv/bin/python",
            "python3.13t",
            "/usr/bin/python3.12-dbg",
            "python3.12d",
            "python3t",
            "python3.7m",
            "python3.6dm",
            "python3.14t-dbg",
            "pypy3.10",
        ] {
            assert!(is_python(yes), "{yes}");
        }
        for no in [
            "python-config",
            "pythonista",
            "bash",
            "python3.x",
            "ipython",
            "python3.",
            "pythont",
            "python3.-dbg",
            "pythonm",
            "python3.12-config",
        ] {
            assert!(!is_python(no), "{no}");
        }
    }

    #[test]
    fn instances_of_bot_py() {
        let yes = [
            "python3 bot.py",
            "python3 -u bot.py",
            "python -W ignore bot.py --flag",
            "python3 -Werror -X dev bot.py",
            "/usr/bin/python3.11 /home/dev/lb/bot.py",
            "python3 ./bot.py",
            "./bot.py",
            "python3 -- bot.py",
            "python3.13t bot.py",
            "pypy3 -O bot.py",
        ];
        for cmd in yes {
            assert!(runs(&argv(cmd), &script("bot.py")).is_some(), "{cmd}");
        }
        let no = [
            "vim bot.py",
            "less bot.py",
            "tail -f bot.py",
            "grep bot.py",
            "python3 admin_bot.py",
            "python3 -c print(1) bot.py",
            "python3 -m http.server bot.py",
            "python3 -mhttp.server bot.py",
            "bash -c python3 bot.py",
            "python3 other.py bot.py",
            "python3 - bot.py",
            "node bot.py",
            "python3 -uc pass bot.py",
        ];
        for cmd in no {
            assert!(runs(&argv(cmd), &script("bot.py")).is_none(), "{cmd}");
        }
    }

    #[test]
    fn module_bots() {
        let partner = Entry::Module("lb.partner".into());
        assert_runs(
            &partner,
            "lb.partner",
            &[
                "python3 -m lb.partner",
                "python3 -u -m lb.partner --verbose",
                "python3 -um lb.partner",
                "python3 -mlb.partner",
                "/opt/venv/bin/python3.12 -X dev -W error -m lb.partner",
            ],
        );
        assert_runs_not(
            &partner,
            &[
                "python3 -m lb.partner_admin",
                "python3 -m lb",
                "python3 lb/partner.py",
                "python3 -c pass -m lb.partner",
                "python3 bot.py -m lb.partner",
                "node -m lb.partner",
                "vim -m lb.partner",
            ],
        );
        // A script bot is never a module run.
        assert!(runs(&argv("python3 -m bot.py"), &script("bot.py")).is_none());
    }

    #[test]
    fn debuggers_profilers_and_inspectors_run_the_bot() {
        let py = script("bot.py");
        assert_runs(
            &py,
            "bot.py",
            &[
                "python3 -m cProfile bot.py",
                "python3 -m cProfile -o out.prof -s cumtime bot.py",
                "python3 -m profile bot.py",
                "python3 -m pdb bot.py",
                "python3 -m debugpy --listen 5678 --wait-for-client bot.py",
                "python3 -m debugpy --listen 0.0.0.0:5678 --configure-subProcess true bot.py",
                "python3 /opt/pycharm/plugins/python/helpers/pydev/pydevd.py --multiprocess --port 5678 --client 127.0.0.1 --file bot.py",
            ],
        );
        assert_runs_not(
            &py,
            &[
                "python3 -m cProfile -m other bot.py",
                "python3 -m pdb -c continue other.py",
                "python3 -m debugpy --listen 5678 -c print(1)",
                "python3 pydevd.py --port 5678 --file other.py",
            ],
        );
        let module = Entry::Module("lb.partner".into());
        assert!(runs(&argv("python3 -m cProfile -m lb.partner"), &module).is_some());
        assert!(
            runs(
                &argv("python3 -m debugpy --listen 5678 -m lb.partner"),
                &module
            )
            .is_some()
        );
        let ts = script("bot.ts");
        assert_runs(
            &ts,
            "bot.ts",
            &[
                "bun --inspect bot.ts",
                "bun --inspect-wait bot.ts",
                "bun --inspect=127.0.0.1:6499 bot.ts",
                "deno run --inspect-wait bot.ts",
                "deno --inspect-wait bot.ts",
                "deno run --inspect-brk=127.0.0.1:9229 -A bot.ts",
            ],
        );
    }

    #[test]
    fn node_runtimes() {
        let js = script("bot.js");
        for yes in [
            "node bot.js",
            "/usr/local/bin/node --enable-source-maps bot.js",
            "node -r dotenv/config bot.js",
            "node --require dotenv/config --max-old-space-size=512 bot.js",
            "node --env-file .env bot.js",
            "node --env-file=.env ./src/bot.js",
            "nodejs bot.js",
            "bun bot.js",
            "bun run bot.js",
            "bun --smol run bot.js",
            "deno run --allow-net bot.js",
            "deno run -A --config deno.json bot.js",
            "deno bot.js",
            "tsx bot.js",
            "node -- bot.js",
        ] {
            assert!(runs(&argv(yes), &js).is_some(), "{yes}");
        }
        let ts = script("src/bot.ts");
        for yes in [
            "tsx src/bot.ts",
            "tsx --tsconfig tsconfig.json src/bot.ts",
            "ts-node src/bot.ts",
            "ts-node -P tsconfig.json --transpile-only src/bot.ts",
            "ts-node-esm src/bot.ts",
            "node --import tsx src/bot.ts",
            "node /p/node_modules/.bin/tsx src/bot.ts",
            "node /p/node_modules/tsx/dist/cli.mjs src/bot.ts",
            "node /p/node_modules/.bin/ts-node src/bot.ts",
            "node --require /p/node_modules/tsx/dist/preflight.cjs \
--import file:///p/node_modules/tsx/dist/loader.mjs \
src/bot.ts",
            "bun src/bot.ts",
            "deno run --allow-env --allow-net=api.telegram.org src/bot.ts",
        ] {
            assert_eq!(
                runs(&argv(yes), &ts).as_deref(),
                Some("src/bot.ts"),
                "{yes}"
            );
        }
        assert_runs_not(
            &js,
            &[
                "node -e setTimeout(()=>{},1e6) bot.js",
                "node --eval x bot.js",
                "node -p 1 bot.js",
                "node --check bot.js",
                "node -c bot.js",
                "node --test bot.js",
                "node --watch bot.js",
                "node admin_bot.js",
                "node /p/node_modules/.bin/nodemon bot.js",
                "npm exec tsx bot.js",
                "node /usr/bin/npx tsx bot.js",
                "sh -c 'tsx' bot.js",
                "deno fmt bot.js",
                "deno test bot.js",
                "deno lint bot.js",
                "deno check bot.js",
                "deno compile bot.js",
                "bun test bot.js",
                "bun build bot.js",
                "bun x bot.js",
                "bun install bot.js",
                "tsx watch bot.js",
                "ts-node -e 1 bot.js",
                "python3 bot.js",
                "vim bot.js",
                "nodemon bot.js",
                "node - bot.js",
                "node -r bot.js other.js",
            ],
        );
    }

    #[test]
    fn node_runs_a_folder_through_its_package_json() {
        assert_eq!(runs_a_folder(&argv("node .")), Some(1));
        assert_eq!(
            runs_a_folder(&argv("node -r dotenv/config ./app/")),
            Some(3)
        );
        assert_eq!(runs_a_folder(&argv("node bot.js")), None);
        assert_eq!(runs_a_folder(&argv("node -e 1 .")), None);
        assert_eq!(runs_a_folder(&argv("python3 .")), None);
    }

    #[test]
    fn languages_and_scripts() {
        assert_eq!(Language::of("bot.py"), Language::Python);
        assert_eq!(Language::of("bot"), Language::Python);
        assert_eq!(Language::of("src/bot.mjs"), Language::JavaScript);
        assert_eq!(script_of(&argv("tsx watch src/bot.ts")), None);
        assert_eq!(
            script_of(&argv("node dist/index.js")),
            Some("dist/index.js")
        );
    }
}
