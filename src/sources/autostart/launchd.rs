//! launchd jobs (LaunchAgents and LaunchDaemons plists) that run the bot.

use super::*;

/// launchd jobs whose command starts a bot: every plist (XML or binary) in the LaunchAgents
/// folders and `/Library/LaunchDaemons`, by its `Label` and `ProgramArguments`/`Program`.
pub(super) fn launchd(bots: &[&Bot], limit: Duration, found: &mut AutostartScan) {
    let launchctl = process::find_program("launchctl", Path::new("/"));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut folders: Vec<(PathBuf, Domain)> = home
        .iter()
        .map(|h| (h.join("Library/LaunchAgents"), Domain::Gui))
        .collect();
    folders.push(("/Library/LaunchAgents".into(), Domain::Gui));
    folders.push(("/Library/LaunchDaemons".into(), Domain::System));
    folders.retain(|(f, _)| f.is_dir());
    if launchctl.is_none() && folders.is_empty() {
        // Not macOS: no launchd to start anything.
        return not_here(
            found,
            Source::Launchd,
            "launchctl is not installed (not macOS)".into(),
        );
    }
    // `launchctl list` shows the caller's domain only; the system domain is asked by label.
    let loaded = match &launchctl {
        Some(p) => process::run(p, &["list"], limit)
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout)
            .unwrap_or_default(),
        None => String::new(),
    };
    let uid = crate::model::Uid::effective();
    for (folder, domain) in folders {
        for path in glob_files(&folder, "*.plist") {
            let Ok(bytes) = crate::files::read_bytes(&path, crate::files::CAP) else {
                continue;
            };
            let job = match launchd_job(&bytes) {
                Ok(Some(job)) => job,
                Ok(None) => continue,
                // It may hold a job that starts a bot: said, never skipped in silence.
                Err(why) => {
                    let why = why.to_string();
                    unchecked(
                        found,
                        Source::Launchd,
                        format!("{} is unreadable: {why}", path.display()),
                    );
                    found.unreadable.push(UnreadableFile {
                        source: Source::Launchd,
                        path,
                        why,
                    });
                    continue;
                }
            };
            let command = job.argv.join(" ");
            let matching: Vec<&&Bot> = bots.iter().filter(|b| names(&command, &b.entry)).collect();
            if matching.is_empty() {
                continue;
            }
            let target = match domain {
                Domain::Gui => format!("gui/{uid}/{}", job.label),
                Domain::System => format!("system/{}", job.label),
            };
            let loaded_now = match (domain, &launchctl) {
                (Domain::System, Some(p)) => {
                    process::run(p, &["print", &target], limit).is_ok_and(|o| o.success())
                }
                _ => loaded
                    .lines()
                    .any(|l| l.split('\t').nth(2) == Some(job.label.as_str())),
            };
            let state = if loaded_now {
                JobState::Loaded
            } else {
                JobState::NotLoaded
            };
            let fix = launchd_fix(&target, domain, state);
            for bot in matching {
                found.entries.push(AutostartEntry {
                    bot: bot.name.clone(),
                    source: Source::Launchd,
                    entry: format!(
                        "{} in {} ({}): {command}",
                        job.label,
                        path.display(),
                        match state {
                            JobState::Loaded => "loaded",
                            JobState::NotLoaded => "not loaded",
                        }
                    )
                    .into(),
                    fix: fix.clone(),
                });
            }
        }
    }
}

/// A job's label and command, from a plist's bytes (XML or binary).
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchdJob {
    pub label: String,
    pub argv: Vec<String>,
}

/// How deep a plist may nest. A launchd job is a dictionary holding arrays and dictionaries a
/// few levels deep; a file nested deeper is not a job anyone wrote by hand.
pub const PLIST_DEPTH: usize = 32;

/// Why a plist cannot be read as a launchd job.
#[derive(Debug)]
pub enum PlistError {
    /// Neither XML nor binary, or broken.
    Unreadable(plist::Error),
    /// Nested deeper than [`PLIST_DEPTH`].
    TooDeep,
    KeyNotString,
}

impl std::fmt::Display for PlistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlistError::Unreadable(e) => write!(f, "{e}"),
            PlistError::TooDeep => write!(f, "nested deeper than {PLIST_DEPTH} levels"),
            PlistError::KeyNotString => f.write_str("a dictionary key is not a string"),
        }
    }
}

impl std::error::Error for PlistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlistError::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

/// The `Label` and `ProgramArguments` (else `Program`) of a plist, XML or binary; `None` for
/// one that has no label or is `Disabled`; an error (why it is unreadable) for one that is
/// neither XML nor binary, or nests deeper than [`PLIST_DEPTH`]. Read as a stream of events,
/// never built into a tree: a tree as deep as a 1 MiB file allows is dropped by recursion,
/// which would overflow the stack.
pub fn launchd_job(bytes: &[u8]) -> Result<Option<LaunchdJob>, PlistError> {
    use plist::stream::Event;
    let mut depth = 0usize;
    let mut root_is_dict = false;
    // Inside the root dictionary: the key whose value comes next.
    let mut key: Option<String> = None;
    let mut in_arguments = false;
    let (mut label, mut program, mut disabled) = (None, None, false);
    let mut arguments: Vec<String> = Vec::new();
    for event in plist::stream::Reader::new(std::io::Cursor::new(bytes)) {
        let event = event.map_err(PlistError::Unreadable)?;
        match event {
            Event::StartArray(_) | Event::StartDictionary(_) => {
                depth += 1;
                if depth > PLIST_DEPTH {
                    return Err(PlistError::TooDeep);
                }
                if depth == 1 {
                    root_is_dict = matches!(event, Event::StartDictionary(_));
                } else if depth == 2 && root_is_dict {
                    in_arguments = key.take().as_deref() == Some("ProgramArguments")
                        && matches!(event, Event::StartArray(_));
                }
            }
            Event::EndCollection => {
                if depth == 2 {
                    in_arguments = false;
                }
                depth = depth.saturating_sub(1);
            }
            Event::String(text) if depth == 2 && in_arguments => arguments.push(text.into_owned()),
            value if depth == 1 && root_is_dict => match (key.take(), value) {
                (None, Event::String(k)) => key = Some(k.into_owned()),
                (None, _) => return Err(PlistError::KeyNotString),
                (Some(k), Event::String(v)) if k == "Label" => label = Some(v.into_owned()),
                (Some(k), Event::String(v)) if k == "Program" => program = Some(v.into_owned()),
                (Some(k), Event::Boolean(b)) if k == "Disabled" => disabled = b,
                (Some(_), _) => {}
            },
            _ => {}
        }
    }
    let Some(label) = label.filter(|l| !l.is_empty() && !disabled) else {
        return Ok(None);
    };
    if arguments.is_empty() {
        arguments.extend(program);
    }
    Ok(Some(LaunchdJob {
        label,
        argv: arguments,
    }))
}

/// Whether launchd has a job loaded now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobState {
    Loaded,
    NotLoaded,
}

/// What removes a job for good: `disable` keeps it from loading at the next login or boot,
/// `bootout` ends a loaded one now (it fails on one that is not loaded).
pub(super) fn launchd_fix(target: &str, domain: Domain, state: JobState) -> Fix {
    let run = |verb: &str| match domain {
        Domain::System => Fix::run(&["sudo", "launchctl", verb, target]),
        Domain::Gui => Fix::run(&["launchctl", verb, target]),
    };
    if state == JobState::Loaded {
        run("bootout").then(run("disable"))
    } else {
        run("disable")
    }
}
