//! botctl.toml: where it is, what it says, and whether it makes sense.
//! Every error names the file, line and column.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::error::{Error, Result, Usage};
use crate::model::{
    AppName, BotName, Entry, Fly, Heroku, HostName, Kubernetes, PlatformConfig, ProcessGroup,
    Railway, UpdateMode, Workload,
};

mod bounds;
mod parse;
mod raw;

pub use bounds::*;
pub use parse::parse;
pub(crate) use parse::{is_module_name, is_name};

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
    /// `[kubernetes]`, `[heroku]`, `[railway]`: each CLI's time limit.
    pub platforms: PlatformSettings,
}

/// The time limit of one call of each platform's CLI (Fly's is `[fly] timeout`).
// Read by each platform's implementation behind the seam (issue 32 items 2-4); until then the
// keys are accepted and checked, and no CLI is run.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    pub kubernetes: Duration,
    pub heroku: Duration,
    pub railway: Duration,
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
    /// A bot's platform other than Fly (its instances).
    pub platform: Duration,
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
    /// How long `botctl deploy` lets `flyctl deploy` run.
    pub deploy_timeout: Duration,
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
    pub run: Run,
    pub token_env: Option<String>,
    pub username: Option<String>,
    /// Where it runs in production: its Fly.io app (with the secret there and its ready log)
    /// or another platform; `None` for a bot with none.
    pub platform: Option<PlatformConfig>,
    /// How it gets updates on Fly.io: polling (the default) or a webhook.
    pub mode: UpdateMode,
    /// Webhook mode: the webhook it must have (else dev-start records the one it finds).
    pub webhook_url: Option<String>,
    /// Webhook mode: the variable (environment or .env) holding the webhook's `secret_token`.
    pub webhook_secret_env: Option<String>,
}

/// How dev-start and exec run a bot here. Only the user's own `run` goes through a shell;
/// the default is an argv, so no script name is ever read as shell syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// `run` from botctl.toml: a command line for `sh -c`, the user's to write.
    Shell(String),
    /// botctl's default (`python3 SCRIPT`), run as these words, without a shell.
    Argv(Vec<String>),
}

impl Run {
    /// The process that runs it, in no particular folder yet.
    pub fn command(&self) -> std::process::Command {
        match self {
            Run::Argv(argv) => {
                let mut cmd = std::process::Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                cmd
            }
            Run::Shell(line) => {
                // A plain command replaces the shell, so the bot's pid is the one started (a
                // supervisor supervises the bot itself, Ctrl-C reaches it as if typed).
                let plain = !line.contains(|c| ";&|()<>$`\n".contains(c));
                let mut cmd = std::process::Command::new("sh");
                cmd.arg("-c").arg(if plain {
                    format!("exec {line}")
                } else {
                    line.clone()
                });
                cmd
            }
        }
    }
}

/// As a person types it: the user's line as written, the default's words shell-quoted.
impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Run::Shell(line) => f.write_str(line),
            Run::Argv(argv) => f.write_str(&crate::shell::join(argv)),
        }
    }
}

impl Bot {
    /// Its life on Fly, if Fly is its platform.
    pub fn fly(&self) -> Option<&Fly> {
        match &self.platform {
            Some(PlatformConfig::Fly(fly)) => Some(fly),
            _ => None,
        }
    }

    /// The log line that says the bot is up (`ready_log`), where botctl reads its platform's logs.
    pub fn ready_log(&self) -> Option<&str> {
        match &self.platform {
            Some(PlatformConfig::Fly(f)) => f.ready_log.as_deref(),
            Some(PlatformConfig::Kubernetes(k)) => k.ready_log.as_deref(),
            Some(PlatformConfig::Heroku(h)) => h.ready_log.as_deref(),
            Some(PlatformConfig::Railway(r)) => r.ready_log.as_deref(),
            None => None,
        }
    }

    /// Its Fly app, if it has one.
    pub fn app(&self) -> Option<&AppName> {
        self.fly().map(|f| &f.app)
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

impl Config {
    /// The host named by `--host`.
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts.iter().find(|h| h.name == name).ok_or_else(|| {
            Error::Usage(Usage::NoHost {
                name: name.to_string(),
                config: self.path.clone(),
                known: self.hosts.iter().map(|h| h.name.clone()).collect(),
            })
        })
    }

    /// The bots named on the command line, in config order; no names means every bot.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Bot>> {
        for name in names {
            if !self.bots.iter().any(|b| &b.name == name) {
                return Err(Error::Usage(Usage::NoBot {
                    name: name.clone(),
                    config: self.path.clone(),
                    known: self.bots.iter().map(|b| b.name.clone()).collect(),
                }));
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
    fn a_bots_own_fly_toml_belongs_to_its_app() {
        let c = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"bot/bot.py\"\nfly_app = \"quiz\"\nfly_toml = \"bot/fly.toml\"\n",
        )
        .unwrap();
        let fly = c.bots[0].fly().unwrap();
        assert_eq!(fly.toml, Some(PathBuf::from("/p/bot/fly.toml")));
        let e =
            parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\nfly_toml = \"bot/fly.toml\"\n")
                .unwrap_err();
        assert!(e.to_string().contains("add fly_app"), "{e}");
        assert_eq!(line_of(e), (4, 12));
        let e = parse_str(
            "[[bot]]\nname = \"a\"\nscript = \"b.py\"\nfly_app = \"quiz\"\nfly_toml = \" \"\n",
        )
        .unwrap_err();
        assert_eq!(line_of(e), (5, 12));
    }

    #[test]
    fn a_bots_fly_process_group_is_a_group_of_its_app() {
        let bot = "[[bot]]\nname = \"a\"\nscript = \"b.py\"\n";
        let c = parse_str(&format!(
            "{bot}fly_app = \"lb\"\nfly_process_group = \"bot\"\n"
        ))
        .unwrap();
        let group = c.bots[0].fly().and_then(|f| f.group.clone());
        assert_eq!(group.as_deref(), Some("bot"));
        let e = parse_str(&format!(
            "{bot}fly_app = \"lb\"\nfly_process_group = \"fly_app_console\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("not one of Fly's own"), "{e}");
        assert_eq!(line_of(e), (5, 21));
        let e = parse_str(&format!("{bot}fly_process_group = \"bot\"\n")).unwrap_err();
        assert!(e.to_string().contains("add fly_app"), "{e}");
        assert_eq!(line_of(e), (4, 21));
    }

    #[test]
    fn no_bots_is_an_error() {
        let e = parse_str("").unwrap_err();
        assert!(e.to_string().contains("no bots"), "{e}");
    }

    #[test]
    fn defaults_and_errors() {
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"bot.py\"\n").unwrap();
        assert_eq!(c.bots[0].run.to_string(), "python3 bot.py");
        assert_eq!(c.bots[0].platform, None);
        let secret = |c: &Config| c.bots[0].fly().and_then(|f| f.token_secret.clone());
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
        assert_eq!(c.bots[0].run.to_string(), "python3 -m lb.partner");
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"src/bot.ts\"\n").unwrap();
        assert_eq!(c.bots[0].run.to_string(), "npx tsx src/bot.ts");
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"x$(touch I).py\"\n").unwrap();
        assert_eq!(
            c.bots[0].run,
            Run::Argv(vec!["python3".into(), "x$(touch I).py".into()])
        );
        assert_eq!(c.bots[0].run.to_string(), "python3 'x$(touch I).py'");
        let c =
            parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\nrun = \"make run\"\n").unwrap();
        assert_eq!(c.bots[0].run, Run::Shell("make run".into()));
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
    fn one_platform_per_bot_each_named_and_checked() {
        const BOT: &str = "[[bot]]\nname = \"a\"\nscript = \"b.py\"\n";
        let c = parse_str(&format!(
            "{BOT}kubernetes = {{ deployment = \"lb-partner\", namespace = \"bots\", context = \"prod\" }}\n"
        ))
        .unwrap();
        let Some(PlatformConfig::Kubernetes(k)) = &c.bots[0].platform else {
            panic!("{:?}", c.bots[0].platform)
        };
        assert_eq!(k.workload, Workload::Deployment("lb-partner".into()));
        assert_eq!(
            (k.namespace.as_deref(), k.context.as_deref()),
            (Some("bots"), Some("prod"))
        );
        assert_eq!(c.bots[0].app(), None);
        let c = parse_str(&format!("{BOT}kubernetes = {{ statefulset = \"lb\" }}\n")).unwrap();
        assert_eq!(
            c.bots[0].platform.as_ref().map(|p| p.name()).as_deref(),
            Some("statefulset/lb")
        );
        let c = parse_str(&format!(
            "{BOT}heroku = {{ app = \"lb-partner\", process = \"worker\" }}\n"
        ))
        .unwrap();
        assert_eq!(
            c.bots[0].platform,
            Some(PlatformConfig::Heroku(Heroku {
                app: "lb-partner".into(),
                process: Some("worker".into()),
                ready_log: None,
            }))
        );
        let c = parse_str(&format!("{BOT}railway = {{ service = \"partner\" }}\n")).unwrap();
        assert_eq!(
            c.bots[0].platform.as_ref().map(|p| p.kind()),
            Some(crate::model::PlatformKind::Railway)
        );
        let c = parse_str(&format!("{BOT}railway = {{}}\n")).unwrap();
        assert!(
            matches!(&c.bots[0].platform, Some(PlatformConfig::Railway(r)) if r.service.is_none())
        );

        // Two platforms: the second is pointed at.
        let e = parse_str(&format!(
            "{BOT}fly_app = \"lb\"\nheroku = {{ app = \"lb\" }}\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("both fly_app and heroku"), "{e}");
        assert_eq!(line_of(e), (5, 10));
        let e = parse_str(&format!(
            "{BOT}railway = {{ service = \"x\" }}\nkubernetes = {{ deployment = \"lb\" }}\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("at most one platform"), "{e}");
        assert_eq!(line_of(e).0, 5);

        // Names, each at its place.
        let e = parse_str(&format!("{BOT}kubernetes = {{ deployment = \"LB_x\" }}\n")).unwrap_err();
        assert!(e.to_string().contains("Kubernetes name"), "{e}");
        assert_eq!(line_of(e), (4, 29));
        let e = parse_str(&format!("{BOT}kubernetes = {{ namespace = \"bots\" }}\n")).unwrap_err();
        assert!(e.to_string().contains("deployment = "), "{e}");
        assert_eq!(line_of(e), (4, 14));
        let e = parse_str(&format!(
            "{BOT}kubernetes = {{ deployment = \"a\", statefulset = \"b\" }}\n"
        ))
        .unwrap_err();
        assert_eq!(line_of(e).0, 4);
        let e = parse_str(&format!(
            "{BOT}heroku = {{ app = \"lb\", process = \"a b\" }}\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("process type"), "{e}");
        assert_eq!(line_of(e), (4, 34));
        let e = parse_str(&format!("{BOT}heroku = {{ process = \"worker\" }}\n")).unwrap_err();
        assert!(e.to_string().contains("app"), "{e}");
        let e = parse_str(&format!("{BOT}railway = {{ service = \"--all\" }}\n")).unwrap_err();
        assert_eq!(line_of(e), (4, 23));
        let e = parse_str(&format!("{BOT}railway = {{ replicas = 2 }}\n")).unwrap_err();
        assert!(e.to_string().contains("replicas"), "{e}");
        assert_eq!(line_of(e).0, 4);
        // A secret is read on Fly only; a ready log on every platform.
        let e = parse_str(&format!(
            "{BOT}token_secret = \"BOT_TOKEN\"\nheroku = {{ app = \"lb\" }}\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("runs on heroku"), "{e}");
        assert_eq!(line_of(e), (4, 16));
        let c = parse_str(&format!(
            "{BOT}ready_log = \"up\"\nrailway = {{ service = \"lb\" }}\n"
        ))
        .unwrap();
        assert_eq!(c.bots[0].ready_log(), Some("up"));
    }

    #[test]
    fn platform_timeouts_and_cadence() {
        let c = parse_str("[[bot]]\nname = \"a\"\nscript = \"b.py\"\n").unwrap();
        assert_eq!(c.watch.platform, Duration::from_secs(10));
        assert_eq!(c.platforms.kubernetes, Duration::from_secs(15));
        let c = parse_str(
            "[kubernetes]\ntimeout = \"20s\"\n[heroku]\ntimeout = \"5s\"\n[railway]\ntimeout = \"1m\"\n\
[watch]\nplatform = \"30s\"\n[[bot]]\nname = \"a\"\nscript = \"b.py\"\n",
        )
        .unwrap();
        assert_eq!(
            (
                c.platforms.kubernetes,
                c.platforms.heroku,
                c.platforms.railway
            ),
            (
                Duration::from_secs(20),
                Duration::from_secs(5),
                Duration::from_secs(60)
            )
        );
        assert_eq!(c.watch.platform, Duration::from_secs(30));
        let e = parse_str("[heroku]\ntimeout = \"0s\"\n").unwrap_err();
        assert_eq!(line_of(e), (2, 11));
        let e = parse_str("[kubernetes]\nwait = \"1s\"\n").unwrap_err();
        assert_eq!(line_of(e).0, 2);
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
