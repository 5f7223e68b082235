//! The command examples of README.md and docs/ run, as written, against the fake flyctl: every
//! ```console block is a trycmd case (`$ ` a command, `? ` its exit code, then its output;
//! `[..]` and `...` stand for what varies). Each runs in a copy of `tests/docs/project` (the
//! README's minimal botctl.toml) with the Fly state of `tests/docs/fly-state.json`, and a PATH
//! of only the fake flyctl, Python for it, and crontab and systemctl that find nothing, so the
//! machine the suite runs on shows through nowhere.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The markdown files that hold examples to run.
fn with_examples() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files.retain(|f| std::fs::read_to_string(f).unwrap().contains("```console"));
    files
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn readme_and_docs_examples_run_against_the_fakes() {
    let dir = tempfile::Builder::new()
        .prefix("botctl-docs-")
        .tempdir()
        .unwrap();
    let bin = dir.path().join("bin");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    symlink(test_support::fake("flyctl"), bin.join("flyctl")).unwrap();
    let python = std::fs::canonicalize(test_support::venv_python()).unwrap();
    symlink(python, bin.join("python3")).unwrap();
    script(
        &bin.join("crontab"),
        "#!/bin/sh\necho 'no crontab for you' >&2\nexit 1\n",
    );
    script(
        &bin.join("systemctl"),
        "#!/bin/sh\n\
         echo \"System has not been booted with systemd as init system (PID 1). Can't operate.\" >&2\n\
         exit 1\n",
    );
    let state = dir.path().join("fly-state.json");
    std::fs::copy(root().join("tests/docs/fly-state.json"), &state).unwrap();

    let cases = trycmd::TestCases::new();
    cases
        .register_bin("botctl", PathBuf::from(env!("CARGO_BIN_EXE_botctl")))
        .env("PATH", bin.display().to_string())
        .env("HOME", home.display().to_string())
        .env("NO_COLOR", "1")
        .env("FAKE_FLY_STATE", state.display().to_string())
        .env("FAKE_FLY_NO_RECORD", "1")
        .timeout(std::time::Duration::from_secs(60));
    for file in with_examples() {
        // FILE.md runs in FILE.in/, beside it: a copy of the project for each.
        let name = file.file_name().unwrap();
        let copy = dir.path().join(name);
        std::fs::copy(&file, &copy).unwrap();
        copy_dir(
            &root().join("tests/docs/project"),
            &copy.with_extension("in"),
        );
        cases.case(&copy);
    }
    cases.run();
}

/// The README's minimal botctl.toml is the one its examples run with.
#[test]
fn the_readme_botctl_toml_is_the_examples_project() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let project = std::fs::read_to_string(root().join("tests/docs/project/botctl.toml")).unwrap();
    let block = readme
        .split("```toml\n")
        .filter_map(|b| b.split_once("```").map(|(toml, _)| toml))
        .find(|toml| toml.contains("[[bot]]"))
        .expect("a botctl.toml in README.md");
    assert_eq!(block, project);
}

/// The README's "got a 409?" is doctor's real output, as the snapshot test pins it.
#[test]
fn the_readme_409_is_the_pinned_doctor_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let snap =
        std::fs::read_to_string(root().join("tests/it/snapshots/doctor_cause.snap")).unwrap();
    let pinned = snap.splitn(3, "---\n").nth(2).expect("the snapshot's body");
    let shown = readme
        .split("```text\n")
        .filter_map(|b| b.split_once("```").map(|(text, _)| text))
        .find(|text| text.starts_with("$ botctl doctor\n"))
        .expect("doctor's output in README.md");
    // The snapshot blanks what varies; the README shows one run's values.
    let shown = shown
        .replace("pid 48213", "pid [partner pid]")
        .replace("admin_bot.py", "admin_bot_[tag].py");
    assert_eq!(shown.trim_end(), pinned.trim_end());
}
