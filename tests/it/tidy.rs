//! Rules the code cannot forget, checked over the source: every file from the outside world is
//! read through `src/files.rs` (non-blocking, regular, capped) — only the kernel's own `/proc`
//! files are read directly — only `src/ui/` writes to stdout, and only the process-facts module
//! (and the host scan, which reads a Linux server's `/proc` on purpose) names `/proc`.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// (file, line number, line) of the non-test code of every file under src/.
fn code_lines() -> Vec<(PathBuf, usize, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut out = Vec::new();
    for file in files {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            // Unit tests sit at the end of a file, after this line.
            if line.trim() == "#[cfg(test)]"
                && text
                    .lines()
                    .nth(i + 1)
                    .is_some_and(|l| l.starts_with("mod "))
            {
                break;
            }
            out.push((file.clone(), i + 1, line.to_string()));
        }
    }
    out
}

#[test]
fn outside_files_are_read_only_through_files_rs() {
    let offending: Vec<String> = code_lines()
        .into_iter()
        .filter(|(file, _, line)| {
            let reads = ["fs::read_to_string(", "fs::read(", "File::open("]
                .iter()
                .any(|r| line.contains(r));
            let kernel = line.contains("/proc") || line.contains("join(\"stat\")");
            // The process-facts module reads only the kernel's /proc files.
            let facts = file.ends_with("src/sources/proc.rs");
            reads
                && !kernel
                && !facts
                && !file.ends_with("src/files.rs")
                && !line.contains("File::open(dir)")
        })
        .map(|(file, n, line)| format!("{}:{n}: {}", file.display(), line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "read these through crate::files (non-blocking, regular file, capped):\n{}",
        offending.join("\n")
    );
}

#[test]
fn only_ui_writes_to_stdout() {
    let offending: Vec<String> = code_lines()
        .into_iter()
        .filter(|(file, _, line)| {
            let writes = line.contains("println!(")
                || line.contains("print!(")
                || line.contains("io::stdout()");
            writes && !file.to_string_lossy().contains("/src/ui/")
        })
        .map(|(file, n, line)| format!("{}:{n}: {}", file.display(), line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "write through ui (escaping, redaction, a closed pipe ends quietly):\n{}",
        offending.join("\n")
    );
}

#[test]
fn only_the_process_facts_module_names_proc() {
    let offending: Vec<String> = code_lines()
        .into_iter()
        .filter(|(file, _, line)| {
            let path = file.to_string_lossy();
            let allowed =
                path.ends_with("src/sources/proc.rs") || path.contains("/src/sources/host/");
            let comment = line.trim_start().starts_with("//");
            line.contains("/proc") && !comment && !allowed
        })
        .map(|(file, n, line)| format!("{}:{n}: {}", file.display(), line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "ask crate::sources::proc (it has a backend for every platform):\n{}",
        offending.join("\n")
    );
}
