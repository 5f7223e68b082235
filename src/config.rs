//! botctl.toml: where it is, what it says, and whether it makes sense.
//! Every error names the file, line and column.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
pub use crate::model::{AppName, BotName, Entry, Fly, HostName, UpdateMode};

pub const FILE_NAME: &str = "botctl.toml";

#[derive(Debug, Clone)]
pub struct Config {
    /// The file itself.
    pub path: PathBuf,
    /// Its folder: the project root that paths and commands are relative to.
    pub root: PathBuf,
    pub fly: FlySettings,
    pub telegram: TelegramSettings,
    pub local: LocalSettings,
    pub bots: Vec<Bot>,
    /// The team's servers, read over ssh (`[[host]]`).
    pub hosts: Vec<Host>,
    /// `[team]`: how handoff records on Fly are judged.
    pub team: TeamSettings,
    /// How often `botctl watch` reads each source.
    pub watch: WatchSettings,
}

#[derive(Debug, Clone)]
pub struct TeamSettings {
    /// A handoff record older than this is reported as stale.
    pub stale: Duration,
}

/// `[watch]`: each source's cadence under `botctl watch`.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// This machine's process table.
    pub local: Duration,
    /// Each app's `machine list` (and each bot's webhook info).
    pub fly: Duration,
    /// Each `[[host]]`, over ssh.
    pub hosts: Duration,
}

/// A server the team runs bots on, reached with ssh.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: HostName,
    /// What a person types after `ssh`: `user@host` or a Host alias.
    pub ssh: String,
    /// Extra ssh arguments, before the destination.
    pub options: Vec<String>,
    /// The bots that may run there (every bot when the table does not say).
    pub bots: Vec<BotName>,
    /// Time limit of one ssh round trip.
    pub timeout: Duration,
}

impl Host {
    pub fn may_run(&self, bot: &str) -> bool {
        self.bots.iter().any(|b| b == bot)
    }
}

#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// After a stop, how long to watch for a copy that comes back.
    pub respawn: Duration,
}

#[derive(Debug, Clone)]
pub struct FlySettings {
    /// Program named in the config; `None` means flyctl, else fly, from PATH.
    pub flyctl: Option<String>,
    /// How long to wait for machines to reach stopped / started (and for the ready log).
    pub wait: Duration,
    /// Time limit for one flyctl call.
    pub timeout: Duration,
    /// The project's fly.toml (`[fly] toml`, relative to the root); `None`: `fly.toml` beside
    /// botctl.toml.
    pub toml: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub api: String,
    pub probe: Duration,
    /// Time limit for one ordinary Bot API call.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Bot {
    pub name: BotName,
    /// How its process is recognised: `script` or `module`.
    pub entry: Entry,
    pub run: String,
    pub token_env: Option<String>,
    pub username: Option<String>,
    /// Its Fly.io app, the secret there and its ready log; `None` for a bot not on Fly.
    pub fly: Option<Fly>,
    /// How it gets updates on Fly.io: polling (the default) or a webhook.
    pub mode: UpdateMode,
    /// Webhook mode: the webhook it must have (else dev-start records the one it finds).
    pub webhook_url: Option<String>,
    /// Webhook mode: the variable (environment or .env) holding the webhook's `secret_token`.
    pub webhook_secret_env: Option<String>,
}

impl Bot {
    /// Its Fly app, if it has one.
    pub fn app(&self) -> Option<&AppName> {
        self.fly.as_ref().map(|f| &f.app)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    fly: RawFly,
    #[serde(default)]
    telegram: RawTelegram,
    #[serde(default)]
    local: RawLocal,
    #[serde(default)]
    bot: Vec<RawBot>,
    #[serde(default)]
    host: Vec<RawHost>,
    #[serde(default)]
    team: RawTeam,
    #[serde(default)]
    watch: RawWatch,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    stale: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    local: Option<Spanned<String>>,
    fly: Option<Spanned<String>>,
    hosts: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: Spanned<String>,
    ssh: Spanned<String>,
    #[serde(default)]
    options: Vec<Spanned<String>>,
    bots: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFly {
    flyctl: Option<Spanned<String>>,
    wait: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    toml: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    api: Option<Spanned<String>>,
    probe: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLocal {
    respawn: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    name: Spanned<String>,
    script: Option<Spanned<String>>,
    module: Option<Spanned<String>>,
    run: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    fly_app: Option<Spanned<String>>,
    ready_log: Option<Spanned<String>>,
    token_secret: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    webhook_url: Option<Spanned<String>>,
    webhook_secret_env: Option<Spanned<String>>,
}

impl RawConfig {
    /// Every string value in the file, with its place.
    fn strings(&self) -> impl Iterator<Item = &Spanned<String>> {
        let fly = [
            &self.fly.flyctl,
            &self.fly.wait,
            &self.fly.timeout,
            &self.local.respawn,
            &self.team.stale,
            &self.fly.toml,
            &self.watch.local,
            &self.watch.fly,
            &self.watch.hosts,
        ];
        let telegram = [
            &self.telegram.api,
            &self.telegram.probe,
            &self.telegram.timeout,
        ];
        let bots = self.bot.iter().flat_map(|b| {
            [
                Some(&b.name),
                b.script.as_ref(),
                b.module.as_ref(),
                b.run.as_ref(),
                b.token_env.as_ref(),
                b.username.as_ref(),
                b.fly_app.as_ref(),
                b.ready_log.as_ref(),
                b.token_secret.as_ref(),
                b.mode.as_ref(),
                b.webhook_url.as_ref(),
                b.webhook_secret_env.as_ref(),
            ]
        });
        let hosts = self.host.iter().flat_map(|h| {
            [Some(&h.name), Some(&h.ssh), h.timeout.as_ref()]
                .into_iter()
                .flatten()
                .chain(&h.options)
                .chain(h.bots.iter().flatten())
        });
        fly.into_iter()
            .chain(telegram)
            .filter_map(Option::as_ref)
            .chain(bots.flatten())
            .chain(hosts)
    }
}

const TOKEN_IN_CONFIG: &str = "this looks like a bot token; tokens never go in botctl.toml: \
put it in the environment or .env and name the variable with \
token_env";

/// What a duration key accepts: a wait of hours is a typo, and zero is no wait at all.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The key, as the error names it.
    pub name: &'static str,
    pub default: Duration,
    pub min: Duration,
    pub max: Duration,
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const fn bounds(name: &'static str, default: u64, min: u64, max: u64) -> Bounds {
    Bounds {
        name,
        default: secs(default),
        min: secs(min),
        max: secs(max),
    }
}

pub const FLY_WAIT: Bounds = bounds("wait", 90, 1, 30 * 60);
pub const FLY_TIMEOUT: Bounds = bounds("timeout", 30, 1, 10 * 60);
pub const PROBE: Bounds = bounds("probe", 12, 1, 5 * 60);
pub const TELEGRAM_TIMEOUT: Bounds = bounds("timeout", 15, 1, 5 * 60);
/// [[host]] timeout: one ssh round trip, connection included.
pub const HOST_TIMEOUT: Bounds = bounds("timeout", 15, 1, 5 * 60);
/// [local] respawn: zero means "scan once right away", which is a choice.
pub const RESPAWN: Bounds = bounds("respawn", 5, 0, 10 * 60);
/// dev-stop --grace: zero means SIGKILL at once, which is a choice, not a typo.
pub const GRACE: Bounds = bounds("--grace", 10, 0, 10 * 60);
/// [team] stale: from a minute (a test, a strict team) to a month.
pub const TEAM_STALE: Bounds = bounds("stale", 12 * 3600, 60, 31 * 86_400);
/// [watch] local: this machine's processes; a scan costs milliseconds.
pub const WATCH_LOCAL: Bounds = Bounds {
    name: "local",
    default: secs(1),
    min: Duration::from_millis(200),
    max: secs(10 * 60),
};
/// [watch] fly: one `machine list` per app per period.
pub const WATCH_FLY: Bounds = bounds("fly", 10, 1, 60 * 60);
/// [watch] hosts: one ssh round trip per host per period.
pub const WATCH_HOSTS: Bounds = bounds("hosts", 30, 1, 60 * 60);
/// watch --for.
pub const WATCH_FOR: Bounds = bounds("--for", 0, 1, 7 * 24 * 60 * 60);

impl Bounds {
    pub fn parse(&self, s: &str) -> std::result::Result<Duration, String> {
        let d = parse_duration(s)?;
        if d < self.min || d > self.max {
            return Err(format!(
                "{} must be between {} and {}, not {s:?}",
                self.name,
                show(self.min),
                show(self.max)
            ));
        }
        Ok(d)
    }
}

/// A duration as a person writes it ("90s", "30m").
fn show(d: Duration) -> String {
    match d.as_secs() {
        0 => "0s".into(),
        n if n % 60 == 0 => format!("{}m", n / 60),
        n => format!("{n}s"),
    }
}

/// Finds botctl.toml: `--config`, else `$BOTCTL_CONFIG`, else walking up from `cwd`.
pub fn locate(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(cwd.join(path));
    }
    if let Some(path) = std::env::var_os("BOTCTL_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(cwd.join(path));
    }
    cwd.ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Error::ConfigNotFound {
            from: cwd.to_path_buf(),
        })
}

/// A botctl.toml larger than this is not one.
const MAX_SIZE: u64 = 1 << 20;

pub fn load(path: &Path) -> Result<Config> {
    let unreadable = |message: String| Error::Config {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
        snippet: String::new(),
    };
    // Only a regular file: reading a FIFO or a device would block or never end.
    let text = crate::files::read_text(path, MAX_SIZE).map_err(|e| match e {
        crate::files::FileError::NotRegular { .. } => {
            unreadable("not a regular file; --config must name a botctl.toml".into())
        }
        crate::files::FileError::TooLarge { .. } => {
            unreadable("larger than 1 MiB: too large for a botctl.toml".into())
        }
        e => unreadable(format!("cannot read the file: {e}")),
    })?;
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, path, root)
}

pub fn parse(text: &str, path: &Path, root: PathBuf) -> Result<Config> {
    let at = |span: Range<usize>, message: String| located(text, path, span, message);

    // Before anything else: a token must never sit in this file, not even in a comment or
    // inside a URL (`…/bot<token>`).
    if let Some(span) = crate::redact::find_token(text) {
        return Err(at(span, TOKEN_IN_CONFIG.into()));
    }

    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        at(span, e.message().trim().to_string())
    })?;
    // TOML escapes (`\u0037…`) can spell a token the raw text does not show: check the values.
    for value in raw.strings() {
        if crate::redact::find_token(value.get_ref()).is_some() {
            // Spelled with escapes: the raw text may not look like a token, so mask it whole.
            let span = value.span();
            let mut masked = text.to_string();
            if masked.get(span.clone()).is_some() {
                masked.replace_range(span.clone(), "\"<token>\"");
            }
            return Err(located(&masked, path, span, TOKEN_IN_CONFIG.into()));
        }
    }

    let duration = |value: &Option<Spanned<String>>, bounds: Bounds| -> Result<Duration> {
        match value {
            None => Ok(bounds.default),
            Some(v) => bounds.parse(v.get_ref()).map_err(|m| at(v.span(), m)),
        }
    };

    let fly = FlySettings {
        flyctl: raw.fly.flyctl.as_ref().map(|v| v.get_ref().clone()),
        wait: duration(&raw.fly.wait, FLY_WAIT)?,
        timeout: duration(&raw.fly.timeout, FLY_TIMEOUT)?,
        toml: match &raw.fly.toml {
            Some(v) if v.get_ref().trim().is_empty() => {
                return Err(at(
                    v.span(),
                    "toml must name a file, like \"fly.toml\"".into(),
                ));
            }
            Some(v) => Some(root.join(v.get_ref().trim())),
            None => None,
        },
    };
    if let Some(v) = raw
        .fly
        .flyctl
        .as_ref()
        .filter(|v| v.get_ref().trim().is_empty())
    {
        return Err(at(v.span(), "flyctl must name a program".into()));
    }

    let api = match &raw.telegram.api {
        None => "https://api.telegram.org".to_string(),
        Some(v) => {
            let url = v.get_ref().trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(at(
                    v.span(),
                    format!("api must be an http:// or https:// URL, not {url:?}"),
                ));
            }
            url.to_string()
        }
    };
    let telegram = TelegramSettings {
        api,
        probe: duration(&raw.telegram.probe, PROBE)?,
        timeout: duration(&raw.telegram.timeout, TELEGRAM_TIMEOUT)?,
    };

    let local = LocalSettings {
        respawn: duration(&raw.local.respawn, RESPAWN)?,
    };
    let team = TeamSettings {
        stale: duration(&raw.team.stale, TEAM_STALE)?,
    };
    let watch = WatchSettings {
        local: duration(&raw.watch.local, WATCH_LOCAL)?,
        fly: duration(&raw.watch.fly, WATCH_FLY)?,
        hosts: duration(&raw.watch.hosts, WATCH_HOSTS)?,
    };

    let mut seen = HashSet::new();
    let mut bots = Vec::new();
    for b in raw.bot {
        let name = b.name.get_ref();
        if !is_name(name) {
            return Err(at(
                b.name.span(),
                format!("bot name {name:?} must be made of a-z, 0-9 and -"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(at(b.name.span(), format!("duplicate bot name {name:?}")));
        }
        let entry = match (&b.script, &b.module) {
            (Some(script), None) => {
                let text = script.get_ref().trim();
                if text.is_empty() || text.ends_with('/') {
                    return Err(at(script.span(), "script must name a file".into()));
                }
                Entry::Script(text.to_string())
            }
            (None, Some(module)) => {
                let text = module.get_ref().trim();
                if !is_module_name(text) {
                    return Err(at(
                        module.span(),
                        format!(
                            "module must be a Python module name, like \"lb.partner\", not {text:?}"
                        ),
                    ));
                }
                Entry::Module(text.to_string())
            }
            (Some(_), Some(module)) => {
                return Err(at(
                    module.span(),
                    format!("bot {name:?} has both script and module; keep exactly one of the two"),
                ));
            }
            (None, None) => {
                return Err(at(
                    b.name.span(),
                    format!(
                        "bot {name:?} needs script = \"bot.py\" or module = \
\"pkg.bot\" (how its process is recognised)"
                    ),
                ));
            }
        };
        if let Some(v) = b.token_env.as_ref().filter(|v| !is_env_name(v.get_ref())) {
            return Err(at(
                v.span(),
                format!(
                    "token_env must be the name of an environment variable, like \
PARTNER_BOT_TOKEN, not {:?}",
                    v.get_ref()
                ),
            ));
        }
        if let Some(v) = b
            .token_secret
            .as_ref()
            .filter(|v| !is_env_name(v.get_ref()))
        {
            return Err(at(
                v.span(),
                format!(
                    "token_secret must be the name of a Fly secret, like \
PARTNER_BOT_TOKEN, not {:?}",
                    v.get_ref()
                ),
            ));
        }
        let (mode, webhook_url, webhook_secret_env) = webhook_keys(&b, &at)?;
        for field in [&b.fly_app, &b.run, &b.username].into_iter().flatten() {
            if field.get_ref().trim().is_empty() {
                return Err(at(field.span(), "this value must not be empty".into()));
            }
        }
        // A secret and a ready log belong to an app: without one they could not mean anything.
        if b.fly_app.is_none()
            && let Some(v) = b.token_secret.as_ref().or(b.ready_log.as_ref())
        {
            return Err(at(
                v.span(),
                "token_secret and ready_log belong to the bot's Fly app: add fly_app = \"…\""
                    .into(),
            ));
        }
        let token_secret = b
            .token_secret
            .map(Spanned::into_inner)
            .or_else(|| b.token_env.as_ref().map(|v| v.get_ref().clone()));
        let ready_log = b
            .ready_log
            .map(Spanned::into_inner)
            .filter(|s| !s.is_empty());
        let fly = match b.fly_app {
            Some(app) if !is_name(app.get_ref()) => {
                return Err(at(
                    app.span(),
                    format!(
                        "fly_app must be a Fly app name (a-z, 0-9 and -), not {:?}",
                        app.get_ref()
                    ),
                ));
            }
            Some(app) => Some(Fly {
                app: AppName::new(app.into_inner()),
                token_secret,
                ready_log,
            }),
            None => None,
        };
        bots.push(Bot {
            name: BotName::new(name.clone()),
            run: b
                .run
                .map(|r| r.into_inner())
                .unwrap_or_else(|| entry.default_run()),
            entry,
            token_env: b.token_env.map(Spanned::into_inner),
            username: b
                .username
                .map(|u| u.into_inner().trim_start_matches('@').to_string()),
            fly,
            mode,
            webhook_url,
            webhook_secret_env,
        });
    }

    if bots.is_empty() {
        return Err(at(
            0..0,
            "describes no bots: add a [[bot]] table with name and script (botctl init writes one)"
                .into(),
        ));
    }
    let hosts = hosts(&raw.host, &bots, &at, &duration)?;
    Ok(Config {
        path: path.to_path_buf(),
        root,
        fly,
        telegram,
        local,
        bots,
        hosts,
        team,
        watch,
    })
}

/// `mode`, `webhook_url` and `webhook_secret_env`: the webhook keys only mean something in
/// webhook mode, and the secret is named, never written here.
fn webhook_keys(
    b: &RawBot,
    at: &dyn Fn(Range<usize>, String) -> Error,
) -> Result<(UpdateMode, Option<String>, Option<String>)> {
    let mode = match b.mode.as_ref() {
        None => UpdateMode::Polling,
        Some(v) => match v.get_ref().as_str() {
            "polling" => UpdateMode::Polling,
            "webhook" => UpdateMode::Webhook,
            other => {
                return Err(at(
                    v.span(),
                    format!("mode must be \"polling\" or \"webhook\", not {other:?}"),
                ));
            }
        },
    };
    if !mode.is_webhook()
        && let Some(v) = b.webhook_url.as_ref().or(b.webhook_secret_env.as_ref())
    {
        return Err(at(
            v.span(),
            "webhook_url and webhook_secret_env are for a webhook bot: add mode = \"webhook\""
                .into(),
        ));
    }
    if let Some(v) = &b.webhook_url {
        let url = v.get_ref().trim();
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(at(
                v.span(),
                format!(
                    "webhook_url must be an https:// URL, not \"{}\"",
                    crate::outside::shown(url)
                ),
            ));
        }
    }
    if let Some(v) = b
        .webhook_secret_env
        .as_ref()
        .filter(|v| !is_env_name(v.get_ref()))
    {
        return Err(at(
            v.span(),
            "webhook_secret_env must name an environment variable, like PARTNER_WEBHOOK_SECRET; \
the secret itself never goes in botctl.toml"
                .into(),
        ));
    }
    Ok((
        mode,
        b.webhook_url
            .as_ref()
            .map(|v| v.get_ref().trim().to_string()),
        b.webhook_secret_env.as_ref().map(|v| v.get_ref().clone()),
    ))
}

/// Reads an optional duration key within its bounds.
type DurationOf<'a> = dyn Fn(&Option<Spanned<String>>, Bounds) -> Result<Duration> + 'a;

/// The `[[host]]` tables, checked: names like bot names and unique, an ssh destination that
/// is not an option, `bots` naming configured bots.
fn hosts(
    raw: &[RawHost],
    bots: &[Bot],
    at: &dyn Fn(Range<usize>, String) -> Error,
    duration: &DurationOf<'_>,
) -> Result<Vec<Host>> {
    let mut seen = HashSet::new();
    let mut hosts = Vec::new();
    for h in raw {
        let name = h.name.get_ref();
        if !is_name(name) {
            return Err(at(
                h.name.span(),
                format!("host name {name:?} must be made of a-z, 0-9 and -"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(at(h.name.span(), format!("duplicate host name {name:?}")));
        }
        let ssh = h.ssh.get_ref().trim();
        if let Some(o) = h
            .options
            .iter()
            .find(|o| o.get_ref().chars().any(char::is_control))
        {
            return Err(at(
                o.span(),
                format!(
                    "ssh options must not hold control characters or NUL: {}",
                    crate::outside::shown(o.get_ref())
                ),
            ));
        }
        if ssh.is_empty()
            || ssh.starts_with('-')
            || ssh.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(at(
                h.ssh.span(),
                format!(
                    "ssh must be what you would type after `ssh`: user@host or a Host alias, \
not \"{}\" (options go in options = [...])",
                    crate::outside::shown(ssh)
                ),
            ));
        }
        let mut names = Vec::new();
        match &h.bots {
            None => names.extend(bots.iter().map(|b| b.name.clone())),
            Some(list) => {
                for b in list {
                    if !bots.iter().any(|known| &known.name == b.get_ref()) {
                        let known: Vec<&str> = bots.iter().map(|b| b.name.as_str()).collect();
                        return Err(at(
                            b.span(),
                            format!(
                                "no bot named {:?}; known bots: {}",
                                b.get_ref(),
                                known.join(", ")
                            ),
                        ));
                    }
                    names.push(BotName::new(b.get_ref().clone()));
                }
            }
        }
        hosts.push(Host {
            name: HostName::new(name.clone()),
            ssh: ssh.to_string(),
            options: h.options.iter().map(|o| o.get_ref().clone()).collect(),
            bots: names,
            timeout: duration(&h.timeout, HOST_TIMEOUT)?,
        });
    }
    Ok(hosts)
}

impl Config {
    /// The host named by `--host`.
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts.iter().find(|h| h.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
            Error::Usage(if known.is_empty() {
                format!(
                    "no host named {name:?}: {} has no [[host]] table",
                    self.path.display()
                )
            } else {
                format!(
                    "no host named {name:?} in {}; known hosts: {}",
                    self.path.display(),
                    known.join(", ")
                )
            })
        })
    }

    /// The bots named on the command line, in config order; no names means every bot.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Bot>> {
        for name in names {
            if !self.bots.iter().any(|b| &b.name == name) {
                let known: Vec<&str> = self.bots.iter().map(|b| b.name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "no bot named {name:?} in {}; known bots: {}",
                    self.path.display(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        Ok(self
            .bots
            .iter()
            .filter(|b| names.is_empty() || names.iter().any(|n| b.name == *n))
            .collect())
    }

    pub fn bot(&self, name: &str) -> Result<&Bot> {
        Ok(self.select(&[name.to_string()])?[0])
    }
}

/// Bot, host and Fly app names: a-z, 0-9 and -.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `lb.partner`: dotted Python identifiers.
fn is_module_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// "90s", "2m", "1m30s", "500ms", "1h" (jiff's friendly format); no negative or overflowing
/// values, and a bare number is refused (seconds or minutes?).
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration; write it like \"90s\", \"2m\" or \"500ms\"");
    let text = s.trim();
    // The compact form only ("1m30s"): botctl.toml's durations read alike everywhere.
    if text.is_empty()
        || text.chars().all(|c| c.is_ascii_digit())
        || text.contains(char::is_whitespace)
    {
        return Err(bad());
    }
    let signed: jiff::SignedDuration = text.parse().map_err(|_| bad())?;
    if signed.is_negative() {
        return Err(format!("{s:?} is negative"));
    }
    Duration::try_from(signed).map_err(|_| bad())
}

fn located(text: &str, path: &Path, span: Range<usize>, message: String) -> Error {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    // Never echo a token back, even in the snippet.
    let shown = crate::redact::redact(line_text);
    let snippet = if shown.trim().is_empty() {
        String::new()
    } else {
        format!(
            "  {line:>3} | {shown}\n      | {}^",
            " ".repeat(column.saturating_sub(1))
        )
    };
    Error::Config {
        path: path.to_path_buf(),
        line,
        column,
        message,
        snippet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Config> {
        parse(text, Path::new("botctl.toml"), PathBuf::from("/p"))
    }

    fn line_of(e: Error) -> (usize, usize) {
        match e {
            Error::Config { line, column, .. } => (line, column),
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("ninety").is_err());
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        // These panicked or wrapped around before.
        assert!(parse_duration("18446744073709551615s1s").is_err());
        assert!(parse_duration("307445734561825861m").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(FLY_WAIT.parse("5h").is_err());
        assert!(FLY_WAIT.parse("0s").is_err());
        assert_eq!(GRACE.parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn team_stale_defaults_to_12h_and_is_bounded() {
        let bot = "[[bot]]\nname = \"a\"\nscript = \"b.py\"\n";
        assert_eq!(
            parse_str(bot).unwrap().team.stale,
            Duration::from_secs(12 * 3600)
        );
        let two_days = parse_str(&format!("[team]\nstale = \"48h\"\n{bot}")).unwrap();
        assert_eq!(two_days.team.stale, Duration::from_secs(48 * 3600));
        let e = parse_str(&format!("[team]\nstale = \"5s\"\n{bot}")).unwrap_err();
        assert!(e.to_string().contains("stale must be between"), "{e}");
        assert_eq!(line_of(e), (2, 9));
        let e = parse_str(&format!("[team]\nstaleness = \"1h\"\n{bot}")).unwrap_err();
        assert_eq!(line_of(e).0, 2);
    }

    #[test]
    fn tokens_in_any_spelling_are_refused() {
        let tok = format!("7012345678:{}", "A".repeat(35));
        let escaped = format!("\\u0037{}", &tok[1..]);
        for (text, line) in [
            (format!("[telegram]\napi = \"http://host/bot{tok}\"\n"), 2),
            (
                format!(
                    "[telegram]\napi = \"http://host/bot{}\"\n",
                    tok.replace(':', "%3A")
                ),
                2,
            ),
            (
                format!("[[bot]]\nname = \"a\"\nscript = \"b.py\"\nrun = \"{escaped}\"\n"),
                4,
            ),
        ] {
            let e = parse_str(&text).unwrap_err();
            assert!(!e.to_string().contains(&tok[11..]), "{e}");
            assert_eq!(line_of(e).0, line, "{text}");
        }
        // Escapes inside the secret half: the value is masked whole in the snippet.
        let split = format!("{}\\u0041{}", &tok[..12], &tok[13..]);
        let e = parse_str(&format!(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\nrun = \"{split}\"\n"
        ))
        .unwrap_err();
        assert!(!e.to_string().contains(&tok[13..]), "{e}");
        // Two tokens on a line: both masked in the snippet.
        let e = parse_str(&format!("# {tok} {tok}\n")).unwrap_err();
        assert!(!e.to_string().contains(&tok[11..]), "{e}");
    }

    #[test]
    fn hosts_default_to_every_bot_and_a_15s_timeout() {
        let c = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"a.py\"\n[[bot]]\nname = \"b\"\nscript = \"b.py\"\n\
[[host]]\nname = \"vps\"\nssh = \"deploy@vps\"\n\
[[host]]\nname = \"box\"\nssh = \"box\"\nbots = [\"b\"]\ntimeout = \"3s\"\noptions = [\"-p\", \"2222\"]\n",
        )
        .unwrap();
        let vps = c.host("vps").unwrap();
        assert_eq!(vps.bots, ["a", "b"]);
        assert_eq!(vps.timeout, Duration::from_secs(15));
        assert!(vps.options.is_empty());
        let host = c.host("box").unwrap();
        assert_eq!(host.bots, ["b"]);
        assert!(host.may_run("b") && !host.may_run("a"));
        assert_eq!(host.timeout, Duration::from_secs(3));
        assert_eq!(host.options, ["-p", "2222"]);
        let e = c.host("nope").unwrap_err().to_string();
        assert!(e.contains("known hosts: vps, box"), "{e}");
    }

    #[test]
    fn watch_cadences_and_the_fly_toml() {
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\n").unwrap();
        assert_eq!(c.watch.local, Duration::from_secs(1));
        assert_eq!(c.watch.fly, Duration::from_secs(10));
        assert_eq!(c.watch.hosts, Duration::from_secs(30));
        assert_eq!(c.fly.toml, None);
        let c = parse_str(
            "[watch]\nlocal = \"500ms\"\nfly = \"1m\"\nhosts = \"2m\"\n[fly]\ntoml = \"deploy/fly.toml\"\n\
[[bot]]\nname = \"a\"\nscript = \"b.py\"\n",
        )
        .unwrap();
        assert_eq!(c.watch.local, Duration::from_millis(500));
        assert_eq!(c.watch.fly, Duration::from_secs(60));
        assert_eq!(c.watch.hosts, Duration::from_secs(120));
        assert_eq!(c.fly.toml, Some(PathBuf::from("/p/deploy/fly.toml")));
        let e = parse_str("[watch]\nlocal = \"10ms\"\n").unwrap_err();
        assert_eq!(line_of(e), (2, 9));
        let e = parse_str("[watch]\nevery = \"1s\"\n").unwrap_err();
        assert_eq!(line_of(e).0, 2);
    }

    #[test]
    fn no_bots_is_an_error() {
        let e = parse_str("").unwrap_err();
        assert!(e.to_string().contains("no bots"), "{e}");
    }

    #[test]
    fn defaults_and_errors() {
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"bot.py\"\n").unwrap();
        assert_eq!(c.bots[0].run, "python3 bot.py");
        assert_eq!(c.bots[0].fly, None);
        let secret = |c: &Config| c.bots[0].fly.as_ref().and_then(|f| f.token_secret.clone());
        let c = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\ntoken_env = \"A_TOKEN\"\nfly_app = \"x\"\n",
        )
        .unwrap();
        assert_eq!(secret(&c).as_deref(), Some("A_TOKEN"));
        let c = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\ntoken_env = \
\"A\"\ntoken_secret = \"BOT_TOKEN\"\nfly_app = \"x\"\n",
        )
        .unwrap();
        assert_eq!(secret(&c).as_deref(), Some("BOT_TOKEN"));
        let e = parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\ntoken_secret = \"no way\"\n")
            .unwrap_err();
        assert_eq!(line_of(e), (4, 16));
        let e = parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\ntoken_secret = \"A\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("add fly_app"), "{e}");
        let e =
            parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\nfly_app = \"A\"\n").unwrap_err();
        assert!(
            e.to_string().contains("fly_app must be a Fly app name"),
            "{e}"
        );
        assert_eq!(c.fly.wait, Duration::from_secs(90));
        assert_eq!(c.local.respawn, Duration::from_secs(5));
        let c =
            parse_str("[local]\nrespawn = \"1500ms\"\n[[bot]]\nname = \"a\"\nscript = \"b.py\"\n")
                .unwrap();
        assert_eq!(c.local.respawn, Duration::from_millis(1500));
        let e = parse_str("[local]\nrespawn = \"soon\"\n").unwrap_err();
        assert_eq!(line_of(e), (2, 11));
        let e = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"x.py\"\n[[bot]]\nname = \"a\"\nscript = \"y.py\"\n",
        )
        .unwrap_err();
        assert_eq!(line_of(e), (5, 8));
        let e = parse_str("[fly]\nwait = \"soon\"\n").unwrap_err();
        assert_eq!(line_of(e), (2, 8));
    }

    #[test]
    fn script_or_module_exactly_one() {
        let c = parse_str("[[bot]]\nname = \"a\"\nmodule = \"lb.partner\"\n").unwrap();
        assert_eq!(c.bots[0].entry, Entry::Module("lb.partner".into()));
        assert_eq!(c.bots[0].run, "python3 -m lb.partner");
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"src/bot.ts\"\n").unwrap();
        assert_eq!(c.bots[0].run, "npx tsx src/bot.ts");
        let e =
            parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\nmodule = \"b\"\n").unwrap_err();
        assert!(e.to_string().contains("exactly one"), "{e}");
        assert_eq!(line_of(e), (4, 10));
        let e = parse_str("[[bot]]\nname = \"a\"\n").unwrap_err();
        assert!(e.to_string().contains("module"), "{e}");
        assert_eq!(line_of(e), (2, 8));
        let e = parse_str("[[bot]]\nname = \"a\"\nmodule = \"lb/partner.py\"\n").unwrap_err();
        assert_eq!(line_of(e), (3, 10));
    }

    #[test]
    fn webhook_mode_and_its_keys() {
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\n").unwrap();
        assert_eq!(c.bots[0].mode, UpdateMode::Polling);
        let c = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\nmode = \"webhook\"\n\
webhook_url = \"https://a.fly.dev/tg\"\nwebhook_secret_env = \"A_SECRET\"\n",
        )
        .unwrap();
        assert_eq!(c.bots[0].mode, UpdateMode::Webhook);
        assert_eq!(
            c.bots[0].webhook_url.as_deref(),
            Some("https://a.fly.dev/tg")
        );
        assert_eq!(c.bots[0].webhook_secret_env.as_deref(), Some("A_SECRET"));
        let e =
            parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\nmode = \"hook\"\n").unwrap_err();
        assert_eq!(line_of(e), (4, 8));
        let e =
            parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\nwebhook_url = \"https://a/b\"\n")
                .unwrap_err();
        assert!(e.to_string().contains("mode = \"webhook\""), "{e}");
        let e = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\nmode = \"webhook\"\n\
webhook_secret_env = \"s3cret value\"\n",
        )
        .unwrap_err();
        assert_eq!(line_of(e).0, 5);
    }

    #[test]
    fn token_is_refused_without_echo() {
        let tok = format!("123456789:{}", "A".repeat(35));
        let e = parse_str(&format!(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\ntoken_env = \"{tok}\"\n"
        ))
        .unwrap_err();
        assert!(!e.to_string().contains(&tok));
        assert_eq!(line_of(e), (4, 14));
    }
}
