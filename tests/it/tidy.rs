//! Rules the code cannot forget, checked over the source: every file from the outside world is
//! read through `src/files.rs` (non-blocking, regular, capped) — only the kernel's own `/proc`
//! files are read directly — only `ui::write_stdout` writes to stdout, only the process-facts
//! module (and the host scan, which reads a Linux server's `/proc` on purpose) names `/proc`,
//! what serde reads from outside in `src/sources` is `Outside` text, no two modules use each
//! other, no two `pub` types share a name, and no `pub` function takes a `bool` parameter.

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
            writes && !file.ends_with("src/ui/mod.rs")
        })
        .map(|(file, n, line)| format!("{}:{n}: {}", file.display(), line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "write through ui::write_stdout (escaping, redaction, a closed pipe ends quietly, a failed write is an error):\n{}",
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

/// `src/commands/doctor/mod.rs` → `commands::doctor`; `src/lib.rs` → the crate itself ("").
fn module_of(file: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rel = file.strip_prefix(&src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The paths after each `crate::` and `super::` in a line of code (a `{a, b::c}` group gives
/// one path per item), with `super` resolved against `module`.
fn paths_named(line: &str, module: &str) -> Vec<String> {
    let code = match line.find(" //") {
        Some(i) => &line[..i],
        None if line.trim_start().starts_with("//") => "",
        None => line,
    };
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    for (at, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        if at > 0 && code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `my_crate::`, `supersuper::`
        }
        let mut base: Vec<&str> = if code[at..].starts_with("crate::") {
            Vec::new()
        } else {
            // `super` is the parent module, whether the module is a file or a folder.
            let mut b: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
            let mut rest = &code[at..];
            let mut ups = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            if code[..at].ends_with("super::") {
                continue; // counted from the first `super::` of the run
            }
            b.truncate(b.len().saturating_sub(ups));
            b
        };
        let after = &code[at..];
        let after = after.trim_start_matches("crate::");
        let after = after.trim_start_matches("super::");
        let items: Vec<String> = if let Some(group) = after.strip_prefix('{') {
            group
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_string())
                .collect()
        } else {
            vec![after.chars().take_while(|c| ident(*c)).collect()]
        };
        for item in items {
            let mut path = base.clone();
            path.extend(item.split("::").filter(|s| !s.is_empty() && *s != "self"));
            out.push(path.join("::"));
        }
        base.clear();
    }
    out
}

/// A module may use its ancestors and its own children freely; between any other two, the
/// uses go one way only, so each can be read (and changed) without the other.
#[test]
fn no_cycles_between_modules() {
    use std::collections::{BTreeMap, BTreeSet};
    let lines = code_lines();
    let files: BTreeSet<PathBuf> = lines.iter().map(|(f, _, _)| f.clone()).collect();
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let owner = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains(m))
    };
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, _, line) in &lines {
        let module = module_of(file);
        for path in paths_named(line, &module) {
            let Some(target) = owner(&path) else { continue };
            let related = target == module
                || module.starts_with(&format!("{target}::"))
                || target.starts_with(&format!("{module}::"));
            if !related && !module.is_empty() {
                uses.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // A use of `b` by `a` is part of a cycle when `a` can be reached again from `b`.
    let reaches = |from: &str, to: &str| -> Option<Vec<String>> {
        let mut stack = vec![vec![from.to_string()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap().clone();
            if last == to {
                return Some(path);
            }
            if seen.insert(last.clone()) {
                for next in uses.get(&last).into_iter().flatten() {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push(p);
                }
            }
        }
        None
    };
    let mut cycles = BTreeSet::new();
    for (a, targets) in &uses {
        for b in targets {
            if let Some(back) = reaches(b, a) {
                let mut cycle = vec![a.clone()];
                cycle.extend(back);
                // One report per cycle, whichever module it starts from.
                let start = cycle[..cycle.len() - 1].iter().min().unwrap().clone();
                let at = cycle.iter().position(|m| *m == start).unwrap();
                let mut norm: Vec<String> = cycle[at..cycle.len() - 1].to_vec();
                norm.extend(cycle[..at].iter().cloned());
                norm.push(start);
                cycles.insert(norm.join(" → "));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that use each other (move what both need into a leaf, e.g. src/model.rs):\n{}",
        cycles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_cycle_check_reads_paths_as_rust_does() {
    assert_eq!(
        paths_named("use crate::{config, sources::argv::Runs};", "team"),
        ["config", "sources::argv::Runs"]
    );
    assert_eq!(
        paths_named(
            "    super::dev_stop::stop(x) // crate::ui",
            "commands::dev_stop_host"
        ),
        ["commands::dev_stop::stop"]
    );
    assert_eq!(
        paths_named("use super::super::steps;", "commands::dev_stop::host"),
        ["commands::steps"]
    );
    assert_eq!(
        paths_named("use super::place::Place;", "commands::dev_stop::host"),
        ["commands::dev_stop::place::Place"]
    );
    assert!(paths_named("// see crate::team", "sources::fly").is_empty());
}

/// What flyctl, docker, the Bot API and the other programs botctl reads print enters as
/// `Outside` (or a type made of it, as `MachineId`), whose only way into a line is escaped: in
/// `src/sources`, a struct that serde fills holds no `String`. A field that must stay one says
/// why on its line (`// raw: …`).
#[test]
fn outside_data_is_deserialized_as_outside_text() {
    let lines = code_lines();
    let mut offending = Vec::new();
    let mut in_struct = false;
    let mut derived = false;
    for (file, n, line) in &lines {
        if !file.to_string_lossy().contains("/src/sources/") {
            continue;
        }
        let t = line.trim();
        if t.starts_with("#[derive(") && t.contains("Deserialize") {
            derived = true;
            continue;
        }
        if derived && t.contains("struct ") {
            (in_struct, derived) = (t.ends_with('{'), false);
            continue;
        }
        if in_struct {
            if t == "}" {
                in_struct = false;
            } else if !t.starts_with("//")
                && !t.starts_with("#[")
                && t.split_once(':')
                    .is_some_and(|(_, ty)| ty.contains("String"))
                && !t.contains("// raw:")
            {
                offending.push(format!("{}:{n}: {t}", file.display()));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "outside text is crate::outside::Outside, shown only escaped:\n{}",
        offending.join("\n")
    );
}

// ---------------------------------------------------------------------------- the docs

/// The project's prose: README, CONTRIBUTING, BENCHMARKS and everything under docs/.
fn doc_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "BENCHMARKS.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    let mut pending = vec![root.join("docs")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|e| e == "md") {
                files.push(p);
            }
        }
    }
    files
}

/// The text outside fenced code blocks, line by line with its number.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// The targets of markdown links `[text](target)` in a line.
fn link_targets(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &line[i + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .collect()
}

/// Inline code that names a file of the repository (`src/…`, `tests/…`): a path from the root.
fn repo_paths(line: &str) -> Vec<&str> {
    const TOP: [&str; 8] = [
        "src/",
        "tests/",
        "test-support/",
        "xtask/",
        "packaging/",
        "docs/",
        ".github/",
        "build.rs",
    ];
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|code| TOP.iter().any(|t| code.starts_with(t)))
        // A pattern or a placeholder names no one file.
        .filter(|code| !code.contains(['*', ' ', '…']) && !code.contains("PID"))
        .collect()
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    prose_lines(text)
        .into_iter()
        .filter_map(|(_, l)| l.strip_prefix('#'))
        .map(|h| anchor(h.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_link_and_path_in_the_docs_resolves_inside_the_repository() {
    let root = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut offending = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let folder = file.parent().unwrap();
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.starts_with("https://") || target.starts_with("http://") {
                    continue;
                }
                let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
                let resolved = if path.is_empty() {
                    Some(file.clone())
                } else {
                    std::fs::canonicalize(folder.join(path)).ok()
                };
                match resolved {
                    None => offending.push(format!("{name}:{n}: no such file: {target}")),
                    Some(p) if !p.starts_with(&root) => {
                        offending.push(format!("{name}:{n}: outside the repository: {target}"))
                    }
                    Some(p) if !fragment.is_empty() => {
                        let heads = std::fs::read_to_string(&p).map(|t| anchors(&t));
                        if !heads.is_ok_and(|h| h.iter().any(|a| a == fragment)) {
                            offending.push(format!("{name}:{n}: no heading #{fragment} in {path}"));
                        }
                    }
                    Some(_) => {}
                }
            }
            for path in repo_paths(line) {
                if !root.join(path).exists() {
                    offending.push(format!("{name}:{n}: no such file: {path}"));
                }
            }
            if line.contains("../shared") {
                offending.push(format!("{name}:{n}: names a file outside the repository"));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "links and paths in the docs must resolve inside the repository:\n{}",
        offending.join("\n")
    );
}

#[test]
fn docs_links_paths_and_anchors_are_read_as_github_does() {
    assert_eq!(
        link_targets("see [a](docs/a.md#x) and [b](../b.md)."),
        ["docs/a.md#x", "../b.md"]
    );
    assert_eq!(
        repo_paths("in `src/files.rs`, not `src/*.rs` nor `cargo test` or `/proc/PID/stat`"),
        ["src/files.rs"]
    );
    assert_eq!(
        anchor(" Got a 409? `botctl doctor`"),
        "got-a-409-botctl-doctor"
    );
    assert_eq!(anchor("Other hosts (`[[host]]`)"), "other-hosts-host");
    let text = "# T\n```sh\n# not a heading\n```\n## What keeps a local copy alive\n";
    assert_eq!(anchors(text), ["t", "what-keeps-a-local-copy-alive"]);
}

#[test]
fn fixes_are_built_only_in_the_fix_module() {
    // A fix written with `format!` elsewhere quotes its words its own way, or not at all.
    let offending: Vec<String> = code_lines()
        .into_iter()
        .filter(|(file, _, line)| {
            let built = ["fix: format!(", ".fix(format!(", "fix_opt(Some(format!("]
                .iter()
                .any(|b| line.contains(b));
            built && !file.ends_with("src/fix.rs")
        })
        .map(|(file, n, line)| format!("{}:{n}: {}", file.display(), line.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "build the fix in src/fix.rs (Fix::run with the argv, or a named constructor):\n{}",
        offending.join("\n")
    );
}

/// The error type of a `Result<T, E>` written in `text` at `at` (just after `Result<`): `E`
/// at the top level of the brackets, or `None` for a one-argument `Result<T>`.
fn result_error(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut comma = None;
    for (i, c) in text.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' if depth == 0 => return comma.map(|start| text[start..i].trim()),
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => comma = Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Every public signature under src/ (a `pub` function up to its body, a `pub` field), with
/// its file and first line.
fn pub_signatures() -> Vec<(PathBuf, usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(PathBuf, usize, String)> = None;
    for (file, n, line) in code_lines() {
        let code = line.trim();
        if let Some((f, start, mut sig)) = open.take() {
            sig.push(' ');
            sig.push_str(code);
            if code.ends_with('{') || code.ends_with(';') || code.starts_with("where") {
                out.push((f, start, sig));
            } else {
                open = Some((f, start, sig));
            }
            continue;
        }
        if !code.starts_with("pub") {
            continue;
        }
        let is_fn = code.contains("fn ");
        if is_fn && !(code.ends_with('{') || code.ends_with(';')) {
            open = Some((file, n, code.to_string()));
        } else {
            out.push((file, n, code.to_string()));
        }
    }
    out
}

#[test]
fn no_public_signature_has_a_string_for_an_error() {
    // A `String` error loses what went wrong (the path, the pid, the io::Error) at the
    // module's edge: give the module an error type instead (see src/error.rs).
    let offending: Vec<String> = pub_signatures()
        .into_iter()
        .filter(|(_, _, sig)| {
            sig.match_indices("Result<")
                .any(|(at, _)| result_error(&sig[at + "Result<".len()..]) == Some("String"))
        })
        .map(|(file, n, sig)| format!("{}:{n}: {sig}", file.display()))
        .collect();
    assert!(
        offending.is_empty(),
        "public signatures whose error is a String:\n{}",
        offending.join("\n")
    );
}

/// The name a line defines as a `pub` (or `pub(crate)`, `pub(super)`) struct, enum, type or
/// trait, if it defines one.
fn pub_type_named(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("pub")?;
    let rest = match rest.strip_prefix('(') {
        Some(r) => r.split_once(')')?.1,
        None => rest,
    };
    let rest = rest.trim_start();
    let rest = ["struct ", "enum ", "type ", "trait "]
        .iter()
        .find_map(|k| rest.strip_prefix(k))?;
    let end = rest
        .find(|c: char| !c.is_alphanumeric() && c != '_')
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|n| n.starts_with(|c: char| c.is_ascii_uppercase()))
}

#[test]
fn each_pub_type_name_means_one_thing() {
    // Every command's clap arguments are `Args`, as clap's derive names them: always read with
    // their module (`status::Args`), never imported side by side.
    const BOILERPLATE: &[&str] = &["Args"];
    let mut defined: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (file, n, line) in code_lines() {
        if let Some(name) = pub_type_named(&line) {
            defined
                .entry(name.to_string())
                .or_default()
                .push(format!("{}:{n}", file.display()));
        }
    }
    let twice: Vec<String> = defined
        .iter()
        .filter(|(name, at)| at.len() > 1 && !BOILERPLATE.contains(&name.as_str()))
        .map(|(name, at)| format!("{name}: {}", at.join(", ")))
        .collect();
    assert!(
        twice.is_empty(),
        "one name per concept: rename one of each (after what it is, e.g. `HerokuCli` beside \
the config's `Heroku`):\n{}",
        twice.join("\n")
    );
}

#[test]
fn the_string_error_check_reads_nested_types() {
    assert_eq!(result_error("T, String>"), Some("String"));
    assert_eq!(
        result_error("HashMap<Pid, String>, ScanProblem>"),
        Some("ScanProblem")
    );
    assert_eq!(result_error("(u16, String), String> {"), Some("String"));
    assert_eq!(result_error("Vec<String>>"), None);
    assert_eq!(result_error("Option<String>, String>"), Some("String"));
}

#[test]
fn pub_type_names_are_read_from_their_definitions() {
    assert_eq!(pub_type_named("pub struct Bot {"), Some("Bot"));
    assert_eq!(
        pub_type_named("    pub(super) enum OnHost<'a> {"),
        Some("OnHost")
    );
    assert_eq!(
        pub_type_named("pub(crate) type Found = (u8, u8);"),
        Some("Found")
    );
    assert_eq!(
        pub_type_named("pub trait Platform: Sync {"),
        Some("Platform")
    );
    assert_eq!(pub_type_named("struct Private {"), None);
    assert_eq!(pub_type_named("pub fn structure() {}"), None);
    assert_eq!(pub_type_named("    type Target = str;"), None);
}

/// The `pub` functions of `text` (any `pub(…)` too) with a `bool` parameter: (name, parameter).
fn pub_fns_taking_bools(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("fn ") {
        let before = rest[..at].trim_end();
        let after = &rest[at + 3..];
        rest = after;
        let public = before.ends_with("pub")
            || before.ends_with(')')
                && before
                    .rfind("pub(")
                    .is_some_and(|p| !before[p..].contains('\n'));
        let (Some(open), Some(close)) = (after.find('('), after.find(')')) else {
            continue;
        };
        if !public || open > close {
            continue;
        }
        let name = after[..open]
            .split('<')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        for param in after[open + 1..close].split(',') {
            if let Some((p, ty)) = param.split_once(':')
                && ty.trim() == "bool"
            {
                out.push((name.clone(), p.trim().to_string()));
            }
        }
    }
    out
}

#[test]
fn pub_functions_take_enums_not_bools() {
    // Constructors from a clap flag are where a bool becomes the enum.
    const FROM_FLAGS: &[(&str, &str)] = &[
        ("src/error.rs", "found_if"),
        ("src/ui/prompt.rs", "from_yes"),
        ("src/commands/steps/mod.rs", "new"),
        ("src/commands/steps/team.rs", "new"),
    ];
    let mut text: std::collections::BTreeMap<PathBuf, String> = Default::default();
    for (file, _, line) in code_lines() {
        let t = text.entry(file).or_default();
        t.push_str(&line);
        t.push('\n');
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let offending: Vec<String> = text
        .iter()
        .flat_map(|(file, t)| {
            let rel = file
                .strip_prefix(root)
                .unwrap_or(file)
                .display()
                .to_string();
            pub_fns_taking_bools(t)
                .into_iter()
                .filter(move |(name, _)| !FROM_FLAGS.contains(&(rel.as_str(), name.as_str())))
                .map(move |(name, p)| format!("{}: fn {name}(…, {p}: bool)", file.display()))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "give each a two-variant enum named for what it says (`IfMissing::Create`, not `true`):\n{}",
        offending.join("\n")
    );
}

#[test]
fn bool_parameters_are_read_from_signatures_over_lines() {
    let text = "pub fn a(x: u8, create: bool) {}\nfn private(b: bool) {}\npub(super) fn c(\n    \
mine: &[u8],\n    root: bool,\n) -> u8 {}\npub fn d(f: impl Fn(bool) -> bool) {}\n";
    assert_eq!(
        pub_fns_taking_bools(text),
        [
            ("a".to_string(), "create".to_string()),
            ("c".into(), "root".into())
        ]
    );
}
