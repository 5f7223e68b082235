//! The npm packages, as esbuild and biome ship theirs: `botctl`, whose `bin` is the launcher
//! (packaging/npm/bin/botctl.js) and whose optionalDependencies pin every platform's package
//! exactly, and `botctl-<os>-<cpu>`, whose `os`, `cpu` (and `libc`) fields let npm install only
//! the one that fits, with the binary inside. Nothing is downloaded at install time.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::{PLATFORMS, Platform, copy_executable, fresh_dir, write};
use crate::{Error, Result, run_command};

/// The launcher and the main package's README, as committed.
const LAUNCHER: &str = "packaging/npm/bin/botctl.js";
const README: &str = "packaging/npm/README.md";
const DESCRIPTION: &str = "Find every place a Telegram bot polls from, and move it safely \
between Fly.io and a laptop";

/// Writes both packages under `work/npm/` and `npm pack`s them into dist.
pub fn packages(
    root: &Path,
    platform: &Platform,
    version: &str,
    binary: &Path,
    work: &Path,
    dist: &Path,
) -> Result<()> {
    let main = work.join("npm").join("botctl");
    fresh_dir(&main.join("bin"))?;
    write_json(&main.join("package.json"), &main_package(version))?;
    copy_executable(&root.join(LAUNCHER), &main.join("bin").join("botctl.js"))?;
    copy(&root.join(README), &main.join("README.md"))?;

    let name = platform_package(platform);
    let own = work.join("npm").join(&name);
    fresh_dir(&own.join("bin"))?;
    write_json(
        &own.join("package.json"),
        &binary_package(platform, version),
    )?;
    write(
        &own.join("README.md"),
        &format!(
            "# {name}\n\nThe botctl binary for {}: installed by the `botctl` package, which \
             runs it. Install `botctl`, not this.\n",
            platform.npm_name()
        ),
    )?;
    copy_executable(binary, &own.join("bin").join("botctl"))?;

    for dir in [&main, &own] {
        run_command(
            Command::new("npm")
                .args(["pack", "--loglevel=error", "--pack-destination"])
                .arg(dist)
                .current_dir(dir),
        )?;
    }
    Ok(())
}

/// `botctl-linux-x64`.
pub fn platform_package(platform: &Platform) -> String {
    format!("botctl-{}", platform.npm_name())
}

fn main_package(version: &str) -> Value {
    let optional: serde_json::Map<String, Value> = PLATFORMS
        .iter()
        .map(|p| (platform_package(p), json!(version)))
        .collect();
    with_repository(json!({
        "name": "botctl",
        "version": version,
        "description": DESCRIPTION,
        "license": "MIT",
        "keywords": ["telegram", "bot", "409", "fly.io", "cli"],
        "bin": { "botctl": "bin/botctl.js" },
        "files": ["bin/botctl.js"],
        "engines": { "node": ">=14" },
        "optionalDependencies": optional,
    }))
}

fn binary_package(platform: &Platform, version: &str) -> Value {
    let mut package = json!({
        "name": platform_package(platform),
        "version": version,
        "description": format!("The botctl binary for {}", platform.npm_name()),
        "license": "MIT",
        "os": [platform.os],
        "cpu": [platform.cpu],
        "files": ["bin/botctl"],
        // Yarn PnP must unpack it: a binary cannot run from inside a zip.
        "preferUnplugged": true,
    });
    if platform.glibc {
        package["libc"] = json!(["glibc"]);
    }
    with_repository(package)
}

/// `npm publish --provenance` refuses a package whose `repository` is not the repository the
/// workflow runs in; GitHub Actions names it (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`).
fn with_repository(mut package: Value) -> Value {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(server), Some(repository)) = (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY")) {
        package["repository"] = json!({
            "type": "git",
            "url": format!("git+{server}/{repository}.git"),
        });
    }
    package
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("JSON of plain values");
    write(path, &format!("{text}\n"))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| {
        Error::io(
            format!("cannot copy {} to {}", from.display(), to.display()),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    //! The launcher, run by node against fake platform packages (a shell script as the binary).

    use std::os::unix::process::ExitStatusExt;
    use std::path::PathBuf;
    use std::process::{Command, Output};

    use super::*;

    /// `node_modules/botctl/bin/botctl.js` in a fresh folder, as npm lays it out.
    struct Install {
        dir: PathBuf,
    }

    impl Install {
        fn new(name: &str) -> Install {
            let dir = crate::target_dir(&crate::project_root())
                .join("xtask-tests")
                .join(format!("launcher-{name}-{}", std::process::id()));
            fresh_dir(&dir.join("node_modules/botctl/bin")).unwrap();
            let root = crate::project_root();
            std::fs::copy(
                root.join(LAUNCHER),
                dir.join("node_modules/botctl/bin/botctl.js"),
            )
            .unwrap();
            Install { dir }
        }

        /// This machine's platform package, with `script` as its binary.
        fn with_binary(self, script: &str) -> Install {
            let bin = self
                .dir
                .join("node_modules")
                .join(platform_package(this_platform()))
                .join("bin");
            fresh_dir(&bin).unwrap();
            write(&bin.join("botctl"), &format!("#!/bin/sh\n{script}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(bin.join("botctl"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
            self
        }

        fn run(&self, args: &[&str]) -> Output {
            Command::new("node")
                .arg(self.dir.join("node_modules/botctl/bin/botctl.js"))
                .args(args)
                .output()
                .expect("node runs (cargo xtask setup installs it)")
        }
    }

    impl Drop for Install {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn this_platform() -> &'static Platform {
        Platform::host().expect("the tests run on a platform botctl is released for")
    }

    fn stderr(output: &Output) -> String {
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    #[test]
    fn without_the_platform_package_it_names_the_platform_and_exits_1() {
        let output = Install::new("missing").run(&["status"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        let platform = this_platform();
        assert!(
            err.starts_with(&format!(
                "botctl: {}, the package with the botctl binary for {}, is not installed.",
                platform_package(platform),
                platform.npm_name()
            )),
            "{err}"
        );
        assert!(err.contains("--omit=optional"), "{err}");
        assert!(output.stdout.is_empty());
    }

    #[test]
    fn arguments_pass_through_whole_and_the_exit_code_comes_back() {
        let install = Install::new("args")
            .with_binary(r#"for a in "$@"; do printf '[%s]\n' "$a"; done; exit 7"#);
        let output = install.run(&["status", "two words", "", "it's", "--config=a b/c.toml"]);
        assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "[status]\n[two words]\n[]\n[it's]\n[--config=a b/c.toml]\n"
        );
        let output = Install::new("zero").with_binary("exit 0").run(&[]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }

    #[test]
    fn a_signal_that_ends_the_binary_ends_the_launcher() {
        let output = Install::new("signal")
            .with_binary("kill -TERM $$")
            .run(&["watch"]);
        assert_eq!(output.status.signal(), Some(15), "{:?}", output.status);
    }

    #[test]
    fn on_ctrl_c_the_launcher_waits_for_botctl_and_exits_as_it_does() {
        use std::io::{BufRead, BufReader, Read};
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;

        // botctl's own Ctrl-C: finish the step, say so, exit 130 (the shell's sleep dies too).
        let install = Install::new("ctrl-c").with_binary(
            "trap 'echo \"stopped cleanly\"; exit 130' INT\necho ready\nwhile :; do sleep 1; done",
        );
        let mut child = Command::new("node")
            .arg(install.dir.join("node_modules/botctl/bin/botctl.js"))
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        // As a terminal sends it: to the whole foreground group, launcher and binary alike.
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{status:?}");
        assert_eq!(rest, "stopped cleanly\n");
    }

    #[test]
    fn the_main_package_pins_every_platform_package_and_each_names_its_platform() {
        let main = main_package("0.2.0");
        assert_eq!(main["bin"]["botctl"], "bin/botctl.js");
        let optional = main["optionalDependencies"].as_object().unwrap();
        assert_eq!(optional.len(), 4);
        for (name, version) in optional {
            assert!(name.starts_with("botctl-"), "{name}");
            assert_eq!(version, "0.2.0", "{name}");
        }
        // The launcher's table and these names must agree, or npm installs a package the
        // launcher never looks for.
        let launcher = std::fs::read_to_string(crate::project_root().join(LAUNCHER)).unwrap();
        for platform in PLATFORMS {
            assert!(
                launcher.contains(&format!(
                    "\"{}\": \"{}\"",
                    platform.npm_name(),
                    platform_package(platform)
                )),
                "{}",
                platform.npm_name()
            );
        }
        let linux = binary_package(&PLATFORMS[0], "0.2.0");
        assert_eq!(
            (&linux["os"], &linux["cpu"], &linux["libc"]),
            (&json!(["linux"]), &json!(["x64"]), &json!(["glibc"]))
        );
        let mac = binary_package(&PLATFORMS[3], "0.2.0");
        assert_eq!(
            (&mac["os"], &mac["cpu"], mac.get("libc")),
            (&json!(["darwin"]), &json!(["arm64"]), None)
        );
    }
}
