//! Judged lines and their fixes: one set of marks (✓ ! ✗) and one way to print a fix, for
//! doctor, checklist, status and the steps of dev-start, dev-stop and deploy-resume. A fix sits
//! under the text it fixes, at an indent measured from what precedes that text.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::fix::Fix;
use crate::survey::finding::{Finding, Level};

/// How a line judges its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Ok,
    Warn,
    Error,
}

impl Mark {
    /// The mark, coloured when stdout is.
    pub fn symbol(self) -> String {
        match self {
            Mark::Ok => super::good("✓"),
            Mark::Warn => super::caution("!"),
            Mark::Error => super::bad("✗"),
        }
    }
}

impl From<Level> for Mark {
    fn from(level: Level) -> Mark {
        match level {
            Level::Ok => Mark::Ok,
            Level::Warn => Mark::Warn,
            Level::Error => Mark::Error,
        }
    }
}

/// `{indent}{mark} {text}`, wrapped under the text, and under it `fix: {fix}`.
pub fn judged(indent: usize, mark: Mark, text: &str, fix: Option<&Fix>) {
    item(indent, &format!("{} ", mark.symbol()), text, fix);
}

/// `{indent}{text}` with no mark, and its fix under it.
pub fn noted(indent: usize, text: &str, fix: Option<&Fix>) {
    item(indent, "", text, fix);
}

/// With -v: the sources that cannot be on this system (launchd on Linux, systemd where it does
/// not run), apart from what was not checked, each with why (outside text, escaped here).
pub fn not_here(sources: &[String]) {
    if sources.is_empty() {
        return;
    }
    super::blank();
    super::line(super::heading("Not on this system:"));
    for s in sources {
        noted(2, &super::shown(s), None);
    }
}

/// An error's sentence with the fixes it carries, as the user reads it: a refusal's fix
/// under it, each place of a refusal for several places with the command that ends it there.
pub fn with_fixes(e: &Error) -> String {
    match e {
        Error::Refused { fix, .. } => format!("{e}\n  fix: {fix}"),
        Error::RefusedIn { places, fix, .. } => {
            let mut text = format!("{e}:");
            for p in places {
                text.push_str(&format!("\n  - {}\n    fix: {}", p.place, p.fix));
            }
            text.push_str(&format!("\n  fix: {fix}"));
            text
        }
        Error::LeftToDo { fix, .. } => format!("{e}\nfix: {fix}"),
        Error::Failed { fix, .. } => crate::fix::with_fix(e, fix.as_ref()),
        _ => e.to_string(),
    }
}

/// A fix under a text that starts at column `at`.
fn fix(at: usize, command: &Fix) {
    let label = "fix: ";
    super::hanging(
        format!("{}{label}{command}", " ".repeat(at + 4)),
        Some(at + 4 + label.len()),
    );
}

fn item(indent: usize, lead: &str, text: &str, fix_of_it: Option<&Fix>) {
    let at = indent + console::measure_text_width(lead);
    let mut lines = text.lines();
    super::hanging(
        format!("{}{lead}{}", " ".repeat(indent), lines.next().unwrap_or("")),
        Some(at),
    );
    for more in lines {
        super::hanging(format!("{}{more}", " ".repeat(at)), Some(at));
    }
    if let Some(command) = fix_of_it {
        fix(at, command);
    }
}

/// Whether doctor shows every ok line, or one per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Problems each on its line; the ok findings of a subject collapsed into one.
    Problems,
    /// Every finding on its line (`-v`).
    All,
}

/// doctor's report: the cause of the 409 and its fix first; then one heading for the project
/// and one per bot, in `bots` order, each with its problems (fixes under them) and its ok
/// lines; last, how many problems and where.
pub fn doctor(findings: &[Finding], bots: &[&str], detail: Detail) {
    cause(findings);
    super::blank();
    let subjects = std::iter::once(None).chain(bots.iter().map(|b| Some(*b)));
    for subject in subjects {
        let of: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.bot.as_deref() == subject)
            .collect();
        if of.is_empty() {
            continue;
        }
        super::line(super::heading(subject.unwrap_or("Project")));
        let (ok, problems): (Vec<&Finding>, Vec<&Finding>) =
            of.iter().partition(|f| f.level == Level::Ok);
        for f in &problems {
            judged(
                2,
                f.level.into(),
                &format!("{}: {}", f.check.name(), f.message),
                f.fix.as_ref(),
            );
        }
        match detail {
            Detail::All => {
                for f in &ok {
                    judged(
                        2,
                        Mark::Ok,
                        &format!("{}: {}", f.check.name(), f.message),
                        None,
                    );
                }
            }
            Detail::Problems if !ok.is_empty() => {
                let names: BTreeSet<&str> = ok.iter().map(|f| f.check.name()).collect();
                let names: Vec<&str> = names.into_iter().collect();
                judged(
                    2,
                    Mark::Ok,
                    &format!("{} ok: {}", plural(ok.len(), "check"), names.join(", ")),
                    None,
                );
            }
            Detail::Problems => {}
        }
    }
    super::blank();
    super::line(summary(findings));
}

/// The first lines: the first error is the cause, with its fix; a warning is worth a look.
fn cause(findings: &[Finding]) {
    match findings.iter().find(|f| f.level != Level::Ok) {
        Some(c) if c.level == Level::Error => {
            // Continued lines sit under the text, after the label.
            let (cause, fix) = ("Cause:", "Fix:");
            super::hanging(
                format!("{} {}", super::bad(cause), c.message),
                Some(cause.len() + 1),
            );
            if let Some(command) = &c.fix {
                super::hanging(
                    format!("{} {command}", super::heading(fix)),
                    Some(fix.len() + 1),
                );
            }
        }
        Some(c) => super::line(format!(
            "{} no cause of a 409 found; worth a look: {}",
            super::caution("Probably fine:"),
            c.message
        )),
        None => super::line(super::good("No cause of a 409 found.")),
    }
}

/// "2 problems (1 error, 1 warning) in 1 bot (partner); run the fixes above, then botctl
/// doctor again".
fn summary(findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.iter().filter(|f| f.level == Level::Warn).count();
    if errors + warnings == 0 {
        return "no problems found (0 errors, 0 warnings)".to_string();
    }
    let mut bots: Vec<&str> = Vec::new();
    let mut project = false;
    for f in findings.iter().filter(|f| f.level != Level::Ok) {
        match f.bot.as_deref() {
            Some(b) if !bots.contains(&b) => bots.push(b),
            Some(_) => {}
            None => project = true,
        }
    }
    let mut places = Vec::new();
    if !bots.is_empty() {
        places.push(format!(
            "{} ({})",
            plural(bots.len(), "bot"),
            bots.join(", ")
        ));
    }
    if project {
        places.push("the project".to_string());
    }
    format!(
        "{} ({}, {}) in {}; run the fixes above, then botctl doctor again",
        plural(errors + warnings, "problem"),
        plural(errors, "error"),
        plural(warnings, "warning"),
        places.join(" and ")
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Elsewhere;

    #[test]
    fn a_refusal_for_several_places_prints_each_place_with_its_fix_then_its_own() {
        let e = Error::RefusedIn {
            message: "partner already runs in 2 places; another copy would make one more poller"
                .into(),
            places: vec![
                Elsewhere {
                    place: "local pid 7".into(),
                    fix: Fix::run(&["kill", "7"]),
                },
                Elsewhere {
                    place: "host vps".into(),
                    fix: Fix::run(&["botctl", "dev-stop", "partner", "--host", "vps"]),
                },
            ],
            fix: Fix::instruction("end each of them as above, then run this again"),
        };
        assert_eq!(e.to_string().lines().count(), 1, "no fix in the sentence");
        assert_eq!(
            with_fixes(&e),
            "partner already runs in 2 places; another copy would make one more poller:\n  \
- local pid 7\n    fix: kill 7\n  - host vps\n    fix: botctl dev-stop partner --host vps\n  \
fix: end each of them as above, then run this again"
        );
    }

    use super::*;
    use crate::survey::finding::Check;

    fn finding(level: Level, bot: Option<&str>, check: Check) -> Finding {
        Finding {
            bot: bot.map(Into::into),
            check,
            level,
            message: "m".into(),
            fix: None,
        }
    }

    #[test]
    fn the_summary_counts_problems_and_names_where() {
        assert_eq!(
            summary(&[finding(Level::Ok, None, Check::Config)]),
            "no problems found (0 errors, 0 warnings)"
        );
        assert_eq!(
            summary(&[
                finding(Level::Error, Some("partner"), Check::Places),
                finding(Level::Warn, Some("partner"), Check::Autostart),
                finding(Level::Ok, Some("admin"), Check::Places),
            ]),
            "2 problems (1 error, 1 warning) in 1 bot (partner); run the fixes above, then \
botctl doctor again"
        );
        assert_eq!(
            summary(&[
                finding(Level::Warn, None, Check::Flyctl),
                finding(Level::Warn, Some("a"), Check::Token),
                finding(Level::Warn, Some("b"), Check::Token),
            ]),
            "3 problems (0 errors, 3 warnings) in 2 bots (a, b) and the project; run the fixes \
above, then botctl doctor again"
        );
    }
}
