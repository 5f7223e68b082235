//! An app's logs through flyctl: the recent buffer (read from the stream: `logs --no-tail`
//! prints one page only, and waits for ever on an empty buffer) and the line format.

use std::time::Duration;

use super::{FlyError, Flyctl, LogLine, RecentLogs, classify, from_exec};
use crate::outside::Outside;
use crate::process;

/// After a log line, how long a pause means flyctl has printed its whole buffer (it prints the
/// buffer in one go).
const LOGS_IDLE: Duration = Duration::from_millis(1500);

impl Flyctl {
    /// The buffered log lines, read from `flyctl logs` streaming (`--no-tail` prints one page
    /// only, the last few dozen lines). On an empty buffer flyctl prints nothing, so no first
    /// line within `first_line` means "empty"; after a line, a short pause means the buffer
    /// has been printed; the stream is then stopped.
    pub fn recent_logs(
        &self,
        app: &str,
        first_line: Duration,
        limit: Duration,
    ) -> Result<RecentLogs, FlyError> {
        let program = self.installed()?;
        let args = ["logs", "--app", app];
        let command = format!("flyctl {}", args.join(" "));
        let waits = process::Waits {
            first_line: first_line.min(limit),
            idle: LOGS_IDLE.min(limit),
            limit,
        };
        let out =
            process::run_streaming(program, &args, waits).map_err(|e| from_exec(&command, e))?;
        if out.end == process::StreamEnd::Exited && out.code.is_some_and(|c| c != 0) {
            return Err(classify(&args, out.error_line()));
        }
        let lines: Vec<LogLine> = out.lines.iter().filter_map(|l| parse_log_line(l)).collect();
        Ok(RecentLogs {
            empty: lines.is_empty(),
            complete: out.end != process::StreamEnd::Limit,
            lines,
        })
    }
}

/// A `flyctl logs` stream that ended with `error`: what it means when it is no network
/// trouble worth starting it again for (not logged in, no such app: `Error: 404 Not Found`).
pub fn logs_failed(app: &str, error: &str) -> Option<FlyError> {
    match classify(&["logs", "--app", app], error.to_string()) {
        e @ (FlyError::NotLoggedIn | FlyError::AppNotFound { .. }) => Some(e),
        _ => None,
    }
}

/// `2023-03-07T16:18:08Z app[5683606c41098e] lhr [info]Starting init...`
pub fn parse_log_line(raw: &str) -> Option<LogLine> {
    // flyctl colours its log lines on a terminal.
    let text = console::strip_ansi_codes(raw).trim_end().to_string();
    if text.trim().is_empty() {
        return None;
    }
    let mut words = text.splitn(4, ' ');
    let ts = words.next().unwrap_or("");
    let at = crate::time::parse_rfc3339(ts);
    let (machine, message) = match (at, words.next(), words.next(), words.next()) {
        (Some(_), Some(src), Some(_region), Some(rest)) => {
            let machine = src
                .split_once('[')
                .map(|(_, r)| r.trim_end_matches(']').to_string());
            let message = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some((_level, msg)) => msg.trim_start().to_string(),
                None => rest.to_string(),
            };
            (machine, message)
        }
        _ => (None, text.clone()),
    };
    Some(LogLine {
        at,
        machine: machine.map(Outside::from),
        message: message.into(),
        text: text.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines() {
        let l = parse_log_line(
            "\u{1b}[2m2023-03-07T16:18:08Z\u{1b}[0m \
\u{1b}[34mapp[5683606c41098e]\u{1b}[0m lhr \
[info]telegram.error.Conflict: Conflict: terminated by other \
getUpdates request",
        )
        .unwrap();
        assert_eq!(l.machine, Some(Outside::from("5683606c41098e")));
        assert!(l.message.raw().starts_with("telegram.error.Conflict"));
        assert!(l.is_conflict());
        assert_eq!(l.at, crate::time::parse_rfc3339("2023-03-07T16:18:08Z"));
    }
}
