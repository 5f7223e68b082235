//! One app's `flyctl logs --app APP` (no `--no-tail`: it streams until killed), started again
//! with a back-off whenever it ends or goes silent for too long (a hung flyctl looks exactly
//! like a quiet bot, so silence past the bound counts as a hang).

use std::time::{Duration, Instant};

use super::Stop;
use super::event::StreamTrouble;
use crate::process::Next;
use crate::sources::platform::{LogLine, LogStream, Platform};

/// What a stream tells the watcher.
pub enum Heard {
    Line(LogLine),
    /// Lines dropped unread since the last word (see [`process::LineStream::take_dropped`]).
    Dropped(u64),
    Trouble {
        trouble: StreamTrouble,
        retry_in: Duration,
    },
}

/// How long a stream may print nothing before it is taken for hung: a few `[watch] fly`
/// periods (a minute at the default).
pub fn silence_bound(fly: Duration) -> Duration {
    (fly * 6).max(Duration::from_secs(5))
}

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A stream that ran this long was healthy: the back-off starts again from the first step.
const HEALTHY: Duration = Duration::from_secs(60);

/// Runs until `stop`: streams, reports each line, and restarts the stream after a back-off
/// (1 s, doubling up to 30 s; back to 1 s after a stream that ran for a minute). A stream
/// that replays its buffer and dies at once is not healthy.
pub fn follow(
    platform: &dyn Platform,
    silence: Duration,
    stop: &Stop,
    send: &dyn Fn(Heard) -> bool,
) {
    if platform.logs_in_pages() {
        return follow_pages(platform, silence, stop, send);
    }
    let mut backoff = FIRST_BACKOFF;
    // The same trouble at the longest back-off is said once, not every 30 s.
    let mut said: Option<(StreamTrouble, Duration)> = None;
    while !stop.is_set() {
        let began = Instant::now();
        let trouble = match platform.stream_logs() {
            Err(e) => StreamTrouble::NotStarted(e.to_string()),
            Ok(mut stream) => read(&mut stream, silence, stop, send),
        };
        if stop.is_set() {
            return;
        }
        if began.elapsed() >= HEALTHY {
            backoff = FIRST_BACKOFF;
        }
        let news = said.as_ref() != Some(&(trouble.clone(), backoff));
        if news {
            said = Some((trouble.clone(), backoff));
            if !send(Heard::Trouble {
                trouble,
                retry_in: backoff,
            }) {
                return;
            }
        }
        stop.sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// How often a platform whose logs come in pages is read again.
const PAGE_EVERY: Duration = Duration::from_secs(2);

/// A platform whose CLI prints a page of its latest lines and exits (Railway's, without a
/// terminal): the page is read every [`PAGE_EVERY`], and only the lines the page before did
/// not hold are told.
fn follow_pages(
    platform: &dyn Platform,
    silence: Duration,
    stop: &Stop,
    send: &dyn Fn(Heard) -> bool,
) {
    let mut before: Vec<LogLine> = Vec::new();
    while !stop.is_set() {
        let (page, trouble) = match platform.stream_logs() {
            Err(e) => (None, Some(StreamTrouble::NotStarted(e.to_string()))),
            Ok(mut stream) => read_page(&mut stream, silence, stop),
        };
        if let Some(page) = page {
            for line in page.iter().filter(|l| !before.contains(l)) {
                if !send(Heard::Line(line.clone())) {
                    return;
                }
            }
            before = page;
        }
        if let Some(trouble) = trouble
            && !stop.is_set()
            && !send(Heard::Trouble {
                trouble,
                retry_in: PAGE_EVERY,
            })
        {
            return;
        }
        stop.sleep(PAGE_EVERY);
    }
}

/// One page: its lines when the program ended well, else what went wrong.
fn read_page(
    stream: &mut LogStream,
    silence: Duration,
    stop: &Stop,
) -> (Option<Vec<LogLine>>, Option<StreamTrouble>) {
    let began = Instant::now();
    let mut page = Vec::new();
    loop {
        if stop.is_set() {
            return (None, None);
        }
        match stream.lines.next(Duration::from_millis(200)) {
            Next::Line(raw) => page.extend((stream.parse)(&raw)),
            Next::Quiet if began.elapsed() >= silence => {
                return (None, Some(StreamTrouble::Silent(silence)));
            }
            Next::Quiet => {}
            Next::Ended { code: Some(0), .. } => return (Some(page), None),
            Next::Ended { error, .. } => return (None, Some(StreamTrouble::Ended(error))),
        }
    }
}

/// Reads one stream until it ends, goes silent past `silence`, or `stop`.
fn read(
    stream: &mut LogStream,
    silence: Duration,
    stop: &Stop,
    send: &dyn Fn(Heard) -> bool,
) -> StreamTrouble {
    let mut last = Instant::now();
    // Dropped lines are said at most once a second, summed.
    let mut dropped = 0;
    let mut told = Instant::now();
    loop {
        if stop.is_set() {
            return StreamTrouble::Silent(Duration::ZERO);
        }
        dropped += stream.lines.take_dropped();
        if dropped > 0 && told.elapsed() >= Duration::from_secs(1) {
            if !send(Heard::Dropped(dropped)) {
                return StreamTrouble::Silent(Duration::ZERO);
            }
            (dropped, told) = (0, Instant::now());
        }
        match stream.lines.next(Duration::from_millis(200)) {
            Next::Line(raw) => {
                last = Instant::now();
                if let Some(line) = (stream.parse)(&raw)
                    && !send(Heard::Line(line))
                {
                    return StreamTrouble::Silent(Duration::ZERO);
                }
            }
            Next::Quiet if last.elapsed() >= silence => {
                return StreamTrouble::Silent(Duration::from_secs(silence.as_secs()));
            }
            Next::Quiet => {}
            Next::Ended { error, .. } => {
                let dropped = dropped + stream.lines.take_dropped();
                if dropped > 0 {
                    send(Heard::Dropped(dropped));
                }
                return StreamTrouble::Ended(error);
            }
        }
    }
}
