//! From botctl.toml's text to a checked [`Config`]: every name, path, URL and duration
//! validated once, each error located at its line and column.

use super::raw::*;
use super::*;

pub(super) const TOKEN_IN_CONFIG: &str = "this looks like a bot token; tokens never go in botctl.toml: \
put it in the environment or .env and name the variable with \
token_env";

/// Where an error is: a span of the file and the message, made into a located [`Error`].
type At<'a> = dyn Fn(Range<usize>, String) -> Error + 'a;

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
    no_token_in_values(&raw, text, path)?;

    let duration = |value: &Option<Spanned<String>>, bounds: Bounds| -> Result<Duration> {
        match value {
            None => Ok(bounds.default),
            Some(v) => bounds
                .parse(v.get_ref())
                .map_err(|e| at(v.span(), e.to_string())),
        }
    };

    let fly = fly_settings(&raw.fly, &root, &at, &duration)?;
    let telegram = telegram_settings(&raw.telegram, &at, &duration)?;
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
        platform: duration(&raw.watch.platform, WATCH_PLATFORM)?,
    };
    let platforms = PlatformSettings {
        kubernetes: duration(&raw.kubernetes.timeout, PLATFORM_TIMEOUT)?,
        heroku: duration(&raw.heroku.timeout, PLATFORM_TIMEOUT)?,
        railway: duration(&raw.railway.timeout, PLATFORM_TIMEOUT)?,
    };
    let bots = bots(raw.bot, &root, &at)?;
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
        platforms,
    })
}

/// TOML escapes (`\u0037…`) can spell a token the raw text does not show: the values are
/// checked too.
fn no_token_in_values(raw: &RawConfig, text: &str, path: &Path) -> Result<()> {
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
    Ok(())
}

/// `[fly]`: the program, its time limits, and the fly.toml it deploys with.
fn fly_settings(
    raw: &RawFly,
    root: &Path,
    at: &At<'_>,
    duration: &DurationOf<'_>,
) -> Result<FlySettings> {
    let fly = FlySettings {
        flyctl: raw.flyctl.as_ref().map(|v| v.get_ref().clone()),
        wait: duration(&raw.wait, FLY_WAIT)?,
        timeout: duration(&raw.timeout, FLY_TIMEOUT)?,
        deploy_timeout: duration(&raw.deploy_timeout, DEPLOY_TIMEOUT)?,
        toml: match &raw.toml {
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
        .flyctl
        .as_ref()
        .filter(|v| v.get_ref().trim().is_empty())
    {
        return Err(at(v.span(), "flyctl must name a program".into()));
    }
    Ok(fly)
}

/// `[telegram]`: the Bot API's URL (http or https) and the probe's and calls' time limits.
fn telegram_settings(
    raw: &RawTelegram,
    at: &At<'_>,
    duration: &DurationOf<'_>,
) -> Result<TelegramSettings> {
    let api = match &raw.api {
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
    Ok(TelegramSettings {
        api,
        probe: duration(&raw.probe, PROBE)?,
        timeout: duration(&raw.timeout, TELEGRAM_TIMEOUT)?,
    })
}

/// The `[[bot]]` tables, each checked, names unique; at least one.
fn bots(raw: Vec<RawBot>, root: &Path, at: &At<'_>) -> Result<Vec<Bot>> {
    let mut seen = HashSet::new();
    let mut bots = Vec::new();
    for b in raw {
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
        bots.push(bot(b, root, at)?);
    }
    if bots.is_empty() {
        return Err(at(
            0..0,
            "describes no bots: add a [[bot]] table with name and script, or uncomment one that \
botctl init wrote"
                .into(),
        ));
    }
    Ok(bots)
}

/// One `[[bot]]` table, its name already checked.
fn bot(b: RawBot, root: &Path, at: &At<'_>) -> Result<Bot> {
    let name = b.name.get_ref();
    let entry = entry(&b, name, at)?;
    variable_names(&b, at)?;
    let (mode, webhook_url, webhook_secret_env) = webhook_keys(&b, at)?;
    app_keys(&b, at)?;
    let token_secret = b
        .token_secret
        .as_ref()
        .map(|v| v.get_ref().clone())
        .or_else(|| b.token_env.as_ref().map(|v| v.get_ref().clone()));
    let ready_log = b
        .ready_log
        .as_ref()
        .map(|v| v.get_ref().clone())
        .filter(|s| !s.is_empty());
    let toml = b.fly_toml.as_ref().map(|t| root.join(t.get_ref().trim()));
    let platform = platform(&b, name, token_secret, ready_log, toml, at)?;
    Ok(Bot {
        name: BotName::new(name.clone()),
        run: b
            .run
            .map(|r| Run::Shell(r.into_inner()))
            .unwrap_or_else(|| Run::Argv(entry.default_run())),
        entry,
        token_env: b.token_env.map(Spanned::into_inner),
        username: b
            .username
            .map(|u| u.into_inner().trim_start_matches('@').to_string()),
        platform,
        mode,
        webhook_url,
        webhook_secret_env,
    })
}

/// How the bot's process is recognised: exactly one of `script` and `module`.
fn entry(b: &RawBot, name: &str, at: &At<'_>) -> Result<Entry> {
    match (&b.script, &b.module) {
        (Some(script), None) => {
            let text = script.get_ref().trim();
            if text.is_empty() || text.ends_with('/') {
                return Err(at(script.span(), "script must name a file".into()));
            }
            Ok(Entry::Script(text.to_string()))
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
            Ok(Entry::Module(text.to_string()))
        }
        (Some(_), Some(module)) => Err(at(
            module.span(),
            format!("bot {name:?} has both script and module; keep exactly one of the two"),
        )),
        (None, None) => Err(at(
            b.name.span(),
            format!(
                "bot {name:?} needs script = \"bot.py\" or module = \
\"pkg.bot\" (how its process is recognised)"
            ),
        )),
    }
}

/// `token_env` and `token_secret` name a variable and a secret; they never hold a token.
fn variable_names(b: &RawBot, at: &At<'_>) -> Result<()> {
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
    Ok(())
}

/// The keys naming things on an app are not empty, and those of a Fly app come with one.
fn app_keys(b: &RawBot, at: &At<'_>) -> Result<()> {
    for field in [
        &b.fly_app,
        &b.run,
        &b.username,
        &b.fly_toml,
        &b.fly_process_group,
    ]
    .into_iter()
    .flatten()
    {
        if field.get_ref().trim().is_empty() {
            return Err(at(field.span(), "this value must not be empty".into()));
        }
    }
    // A secret, a ready log and a fly.toml belong to an app: without one they could not
    // mean anything.
    if b.fly_app.is_none()
        && b.kubernetes.is_none()
        && b.heroku.is_none()
        && b.railway.is_none()
        && let Some(v) = b
            .token_secret
            .as_ref()
            .or(b.ready_log.as_ref())
            .or(b.fly_toml.as_ref())
            .or(b.fly_process_group.as_ref())
    {
        return Err(at(
            v.span(),
            "token_secret, ready_log, fly_toml and fly_process_group belong to the bot's Fly \
app: add fly_app = \"…\""
                .into(),
        ));
    }
    Ok(())
}

/// `mode`, `webhook_url` and `webhook_secret_env`: the webhook keys only mean something in
/// webhook mode, and the secret is named, never written here.
pub(super) fn webhook_keys(
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

/// The bot's one platform: `fly_app` or one of the `kubernetes`, `heroku`, `railway` tables,
/// each name checked; a second one is refused where it is written.
fn platform(
    b: &RawBot,
    bot: &str,
    token_secret: Option<String>,
    ready_log: Option<String>,
    toml: Option<PathBuf>,
    at: &dyn Fn(Range<usize>, String) -> Error,
) -> Result<Option<PlatformConfig>> {
    let keys = [
        ("fly_app", b.fly_app.as_ref().map(Spanned::span)),
        ("kubernetes", b.kubernetes.as_ref().map(Spanned::span)),
        ("heroku", b.heroku.as_ref().map(Spanned::span)),
        ("railway", b.railway.as_ref().map(Spanned::span)),
    ];
    let mut given: Vec<_> = keys
        .into_iter()
        .filter_map(|(key, span)| Some((key, span?)))
        .collect();
    given.sort_by_key(|(_, span)| span.start);
    let mut given = given.into_iter();
    let first = given.next();
    if let (Some((first, _)), Some((second, span))) = (first.clone(), given.next()) {
        // The later one in the file is the one to point at.
        return Err(at(
            span,
            format!(
                "bot {bot:?} has both {first} and {second}; a bot runs on at most one platform: \
keep one of the two"
            ),
        ));
    }
    // A key of botctl.toml naming something on a platform: text a CLI gets as one argument.
    let named = |v: &Spanned<String>, what: &str, ok: fn(&str) -> bool| -> Result<String> {
        let text = v.get_ref().trim();
        if ok(text) {
            Ok(text.to_string())
        } else {
            Err(at(
                v.span(),
                format!("{what}, not \"{}\"", crate::outside::shown(v.get_ref())),
            ))
        }
    };
    // botctl reads a secret on Fly only, and a ready log where it reads the logs (every
    // platform).
    let other = |key: &str| -> Result<()> {
        let given = b
            .token_secret
            .as_ref()
            .or(b.fly_toml.as_ref())
            .or(b.fly_process_group.as_ref())
            .map(Spanned::span);
        match given {
            Some(span) => Err(at(
                span,
                format!(
                    "token_secret, fly_toml and fly_process_group belong to a bot's Fly app, and \
this bot runs on {key}: remove them"
                ),
            )),
            None => Ok(()),
        }
    };
    Ok(match first.map(|(key, _)| key) {
        None => None,
        Some("fly_app") => {
            let app = b.fly_app.as_ref().expect("fly_app was given");
            let app = named(
                app,
                "fly_app must be a Fly app name (a-z, 0-9 and -)",
                is_name,
            )?;
            let group = match &b.fly_process_group {
                Some(g) => Some(ProcessGroup::new(named(
                    g,
                    "fly_process_group must be a process group of the app's fly.toml \
[processes] (a-z, 0-9, _ and -), not one of Fly's own fly_app_* groups",
                    is_process_group,
                )?)),
                None => None,
            };
            Some(PlatformConfig::Fly(Fly {
                app: AppName::new(app),
                token_secret,
                ready_log,
                toml,
                group,
            }))
        }
        Some("kubernetes") => {
            other("kubernetes")?;
            let k = b.kubernetes.as_ref().expect("kubernetes was given");
            let table = k.get_ref();
            const DNS: &str = "must be a Kubernetes name (a-z, 0-9, - and .)";
            let workload = match (&table.deployment, &table.statefulset) {
                (Some(d), None) => {
                    Workload::Deployment(named(d, &format!("deployment {DNS}"), is_k8s_name)?)
                }
                (None, Some(s)) => {
                    Workload::StatefulSet(named(s, &format!("statefulset {DNS}"), is_k8s_name)?)
                }
                (Some(_), Some(s)) => {
                    return Err(at(
                        s.span(),
                        "kubernetes names a deployment or a statefulset, not both".into(),
                    ));
                }
                (None, None) => {
                    return Err(at(
                        k.span(),
                        "kubernetes needs deployment = \"…\" or statefulset = \"…\" (the workload \
that runs the bot)"
                            .into(),
                    ));
                }
            };
            Some(PlatformConfig::Kubernetes(Kubernetes {
                workload,
                namespace: table
                    .namespace
                    .as_ref()
                    .map(|n| named(n, &format!("namespace {DNS}"), is_k8s_name))
                    .transpose()?,
                context: table
                    .context
                    .as_ref()
                    .map(|c| named(c, "context must name a kubeconfig context", is_word))
                    .transpose()?,
                ready_log,
            }))
        }
        Some("heroku") => {
            other("heroku")?;
            let h = b.heroku.as_ref().expect("heroku was given").get_ref();
            Some(PlatformConfig::Heroku(Heroku {
                app: named(
                    &h.app,
                    "app must be a Heroku app name (a-z, 0-9 and -)",
                    is_name,
                )?,
                process: h
                    .process
                    .as_ref()
                    .map(|p| {
                        named(
                            p,
                            "process must be a Procfile process type, like \"worker\"",
                            is_process_type,
                        )
                    })
                    .transpose()?,
                ready_log,
            }))
        }
        Some(_) => {
            other("railway")?;
            let r = b.railway.as_ref().expect("railway was given").get_ref();
            let word = |v: &Option<Spanned<String>>, what: &str| {
                v.as_ref().map(|v| named(v, what, is_word)).transpose()
            };
            Some(PlatformConfig::Railway(Railway {
                service: word(&r.service, "service must name a Railway service")?,
                environment: word(
                    &r.environment,
                    "environment must name a Railway environment",
                )?,
                project: word(&r.project, "project must name a Railway project")?,
                ready_log,
            }))
        }
    })
}

/// A Kubernetes object name (RFC 1123 subdomain): a-z, 0-9, `-` and `.`, alphanumeric at both
/// ends, at most 253 characters.
pub(super) fn is_k8s_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A Procfile process type: letters, digits, `_` and `-`.
pub(super) fn is_process_type(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A name a CLI gets as one argument: not empty, no control characters, never an option.
pub(super) fn is_word(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('-') && !s.chars().any(char::is_control)
}

/// Reads an optional duration key within its bounds.
pub(super) type DurationOf<'a> = dyn Fn(&Option<Spanned<String>>, Bounds) -> Result<Duration> + 'a;

/// The `[[host]]` tables, checked: names like bot names and unique, an ssh destination that
/// is not an option, `bots` naming configured bots.
pub(super) fn hosts(
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

/// Bot, host and Fly app names: a-z, 0-9 and -.
/// A fly.toml `[processes]` name; Fly's own groups (`fly_app_console`, …) never run a bot.
fn is_process_group(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with("fly_app")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `lb.partner`: dotted Python identifiers.
pub(crate) fn is_module_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

pub(super) fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn located(text: &str, path: &Path, span: Range<usize>, message: String) -> Error {
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
