//! botctl.toml for a test, built rather than hand-typed: [`Toml`] with its tables and
//! [`Bot`]s and [`Host`]s, rendered as valid TOML (values quoted by the `toml` crate).
//!
//! ```
//! use test_support::config::{Bot, Toml};
//! let text = Toml::new()
//!     .telegram_api("http://127.0.0.1:9")
//!     .bot(Bot::script("partner", "bot.py").token_env("PARTNER_BOT_TOKEN").fly_app("lb-partner"))
//!     .render();
//! assert!(text.contains("[[bot]]\nname = \"partner\"\nscript = \"bot.py\"\n"));
//! ```
//!
//! Tests *about* the file's text (parse errors and their line numbers, comments, odd quoting)
//! keep writing it by hand.

use std::fmt;

/// `key = value` lines of one table, in the order they were set.
#[derive(Clone, Debug, Default)]
struct Table(Vec<(&'static str, toml::Value)>);

impl Table {
    fn set(&mut self, key: &'static str, value: impl Into<toml::Value>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    fn render(&self, f: &mut fmt::Formatter<'_>, header: &str) -> fmt::Result {
        writeln!(f, "{header}")?;
        for (key, value) in &self.0 {
            writeln!(f, "{key} = {value}")?;
        }
        writeln!(f)
    }
}

/// A whole botctl.toml: the settings tables, then `[[host]]`s, then `[[bot]]`s.
#[derive(Clone, Debug, Default)]
pub struct Toml {
    fly: Table,
    telegram: Table,
    local: Table,
    team: Table,
    watch: Table,
    hosts: Vec<Host>,
    bots: Vec<Bot>,
}

impl Toml {
    pub fn new() -> Toml {
        Toml::default()
    }

    // ----- [fly]

    /// `[fly] flyctl`: the flyctl program botctl runs.
    pub fn flyctl(mut self, program: &str) -> Toml {
        self.fly.set("flyctl", program);
        self
    }

    /// `[fly] wait`: how long to wait for machines to stop or start.
    pub fn fly_wait(mut self, wait: &str) -> Toml {
        self.fly.set("wait", wait);
        self
    }

    /// `[fly] timeout`: the limit of one flyctl call.
    pub fn fly_timeout(mut self, timeout: &str) -> Toml {
        self.fly.set("timeout", timeout);
        self
    }

    /// `[fly] deploy_timeout`: how long `botctl deploy` lets `flyctl deploy` run.
    pub fn fly_deploy_timeout(mut self, timeout: &str) -> Toml {
        self.fly.set("deploy_timeout", timeout);
        self
    }

    /// `[fly] toml`: the fly.toml botctl reads.
    pub fn fly_toml(mut self, path: &str) -> Toml {
        self.fly.set("toml", path);
        self
    }

    // ----- [telegram]

    /// `[telegram] api`: the Bot API's base URL (a fake one's, in tests).
    pub fn telegram_api(mut self, url: &str) -> Toml {
        self.telegram.set("api", url);
        self
    }

    /// `[telegram] probe`: how long `doctor --probe` polls.
    pub fn probe(mut self, probe: &str) -> Toml {
        self.telegram.set("probe", probe);
        self
    }

    /// `[telegram] timeout`: the limit of one Bot API call.
    pub fn telegram_timeout(mut self, timeout: &str) -> Toml {
        self.telegram.set("timeout", timeout);
        self
    }

    // ----- [local], [team], [watch]

    /// `[local] respawn`: how long to watch for a supervisor restarting a stopped bot.
    pub fn respawn(mut self, respawn: &str) -> Toml {
        self.local.set("respawn", respawn);
        self
    }

    /// `[team] stale`: when a teammate's claim is old.
    pub fn team_stale(mut self, stale: &str) -> Toml {
        self.team.set("stale", stale);
        self
    }

    /// `[watch] local`: how often `watch` reads this machine.
    pub fn watch_local(mut self, every: &str) -> Toml {
        self.watch.set("local", every);
        self
    }

    /// `[watch] fly`: how often `watch` asks Fly.io.
    pub fn watch_fly(mut self, every: &str) -> Toml {
        self.watch.set("fly", every);
        self
    }

    /// `[watch] hosts`: how often `watch` asks the hosts.
    pub fn watch_hosts(mut self, every: &str) -> Toml {
        self.watch.set("hosts", every);
        self
    }

    // ----- [[host]], [[bot]]

    pub fn host(mut self, host: Host) -> Toml {
        self.hosts.push(host);
        self
    }

    pub fn bot(mut self, bot: Bot) -> Toml {
        self.bots.push(bot);
        self
    }

    /// Changes the bot named `name` (a scenario's variation on a shared config).
    pub fn change_bot(mut self, name: &str, change: impl FnOnce(Bot) -> Bot) -> Toml {
        let i = self
            .bots
            .iter()
            .position(|b| {
                b.0.0
                    .iter()
                    .any(|(k, v)| *k == "name" && v.as_str() == Some(name))
            })
            .unwrap_or_else(|| panic!("no bot {name:?} in this botctl.toml"));
        let bot = self.bots.remove(i);
        self.bots.insert(i, change(bot));
        self
    }

    /// The file's text.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Toml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tables = [
            ("[fly]", &self.fly),
            ("[telegram]", &self.telegram),
            ("[local]", &self.local),
            ("[team]", &self.team),
            ("[watch]", &self.watch),
        ];
        for (header, table) in tables {
            if !table.0.is_empty() {
                table.render(f, header)?;
            }
        }
        for host in &self.hosts {
            host.0.render(f, "[[host]]")?;
        }
        for bot in &self.bots {
            bot.0.render(f, "[[bot]]")?;
        }
        Ok(())
    }
}

impl From<Toml> for String {
    fn from(toml: Toml) -> String {
        toml.render()
    }
}

/// A botctl.toml of this bot alone.
impl From<Bot> for String {
    fn from(bot: Bot) -> String {
        Toml::new().bot(bot).render()
    }
}

/// One `[[bot]]`.
#[derive(Clone, Debug)]
pub struct Bot(Table);

impl Bot {
    /// A bot with only a name (botctl says what it lacks).
    pub fn named(name: &str) -> Bot {
        let mut table = Table::default();
        table.set("name", name);
        Bot(table)
    }

    /// A bot run as `python3 SCRIPT` (or node, bun… by the script's extension).
    pub fn script(name: &str, script: &str) -> Bot {
        Bot::named(name).with("script", script)
    }

    /// A bot run as `python3 -m MODULE`.
    pub fn module(name: &str, module: &str) -> Bot {
        Bot::named(name).with("module", module)
    }

    fn with(mut self, key: &'static str, value: &str) -> Bot {
        self.0.set(key, value);
        self
    }

    /// `run`: the command line that starts it.
    pub fn run(self, command: &str) -> Bot {
        self.with("run", command)
    }

    /// `token_env`: the variable (in the environment or `.env`) holding its token.
    pub fn token_env(self, var: &str) -> Bot {
        self.with("token_env", var)
    }

    /// `token_secret`: the Fly secret holding its token (default: token_env).
    pub fn token_secret(self, secret: &str) -> Bot {
        self.with("token_secret", secret)
    }

    /// `username`: the bot's @username, as getMe should answer.
    pub fn username(self, username: &str) -> Bot {
        self.with("username", username)
    }

    /// `fly_app`: the Fly app it is deployed as.
    pub fn fly_app(self, app: &str) -> Bot {
        self.with("fly_app", app)
    }

    /// `fly_process_group`: the app's process group that runs it.
    pub fn fly_process_group(self, group: &str) -> Bot {
        self.with("fly_process_group", group)
    }

    /// `ready_log`: the log line that says it is up.
    pub fn ready_log(self, line: &str) -> Bot {
        self.with("ready_log", line)
    }

    /// `mode`: "polling" or "webhook".
    pub fn mode(self, mode: &str) -> Bot {
        self.with("mode", mode)
    }

    /// `webhook_url`.
    pub fn webhook_url(self, url: &str) -> Bot {
        self.with("webhook_url", url)
    }

    /// `webhook_secret_env`: the variable holding the webhook's secret token.
    pub fn webhook_secret_env(self, var: &str) -> Bot {
        self.with("webhook_secret_env", var)
    }
}

/// One `[[host]]`: a server reached over ssh.
#[derive(Clone, Debug)]
pub struct Host(Table);

impl Host {
    pub fn new(name: &str, ssh: &str) -> Host {
        let mut table = Table::default();
        table.set("name", name);
        table.set("ssh", ssh);
        Host(table)
    }

    /// `options`: extra ssh arguments.
    pub fn options(mut self, options: &[&str]) -> Host {
        self.0.set("options", strings(options));
        self
    }

    /// `bots`: the bots that may run there.
    pub fn bots(mut self, bots: &[&str]) -> Host {
        self.0.set("bots", strings(bots));
        self
    }

    /// `timeout`: the limit of one ssh call.
    pub fn timeout(mut self, timeout: &str) -> Host {
        self.0.set("timeout", timeout);
        self
    }
}

fn strings(items: &[&str]) -> toml::Value {
    toml::Value::Array(items.iter().map(|s| toml::Value::from(*s)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_table_with_quoting_toml_reads_back() {
        let text = Toml::new()
            .fly_timeout("2s")
            .telegram_api("http://127.0.0.1:9")
            .respawn("1s")
            .team_stale("1h")
            .watch_local("300ms")
            .host(
                Host::new("vps", "deploy@vps")
                    .options(&["-p", "22"])
                    .bots(&["partner"]),
            )
            .bot(
                Bot::script("partner", "bot \"x\".py")
                    .token_env("PARTNER_BOT_TOKEN")
                    .ready_log("Бот \\ ready"),
            )
            .bot(Bot::module("admin", "lb.admin"))
            .render();
        let back: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back["fly"]["timeout"].as_str(), Some("2s"));
        assert_eq!(back["team"]["stale"].as_str(), Some("1h"));
        assert_eq!(back["host"][0]["options"][1].as_str(), Some("22"));
        assert_eq!(back["bot"][0]["script"].as_str(), Some("bot \"x\".py"));
        assert_eq!(back["bot"][0]["ready_log"].as_str(), Some("Бот \\ ready"));
        assert_eq!(back["bot"][1]["module"].as_str(), Some("lb.admin"));
        assert!(
            text.starts_with("[fly]\ntimeout = \"2s\"\n\n[telegram]\n"),
            "{text}"
        );
        // Arrays inline, as hand-written ones are (hosts.rs edits an option list in place).
        assert!(text.contains("options = [\"-p\", \"22\"]\n"), "{text}");
    }
}
