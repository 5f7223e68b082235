//! botctl.toml as serde reads it: every value with its span, so an error names its line.

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) fly: RawFly,
    #[serde(default)]
    pub(super) telegram: RawTelegram,
    #[serde(default)]
    pub(super) local: RawLocal,
    #[serde(default)]
    pub(super) bot: Vec<RawBot>,
    #[serde(default)]
    pub(super) host: Vec<RawHost>,
    #[serde(default)]
    pub(super) team: RawTeam,
    #[serde(default)]
    pub(super) watch: RawWatch,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTeam {
    pub(super) stale: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWatch {
    pub(super) local: Option<Spanned<String>>,
    pub(super) fly: Option<Spanned<String>>,
    pub(super) hosts: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHost {
    pub(super) name: Spanned<String>,
    pub(super) ssh: Spanned<String>,
    #[serde(default)]
    pub(super) options: Vec<Spanned<String>>,
    pub(super) bots: Option<Vec<Spanned<String>>>,
    pub(super) timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFly {
    pub(super) flyctl: Option<Spanned<String>>,
    pub(super) wait: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) toml: Option<Spanned<String>>,
    pub(super) deploy_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTelegram {
    pub(super) api: Option<Spanned<String>>,
    pub(super) probe: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLocal {
    pub(super) respawn: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBot {
    pub(super) name: Spanned<String>,
    pub(super) script: Option<Spanned<String>>,
    pub(super) module: Option<Spanned<String>>,
    pub(super) run: Option<Spanned<String>>,
    pub(super) token_env: Option<Spanned<String>>,
    pub(super) username: Option<Spanned<String>>,
    pub(super) fly_app: Option<Spanned<String>>,
    pub(super) ready_log: Option<Spanned<String>>,
    pub(super) token_secret: Option<Spanned<String>>,
    pub(super) mode: Option<Spanned<String>>,
    pub(super) webhook_url: Option<Spanned<String>>,
    pub(super) webhook_secret_env: Option<Spanned<String>>,
    pub(super) fly_toml: Option<Spanned<String>>,
}

impl RawConfig {
    /// Every string value in the file, with its place.
    pub(super) fn strings(&self) -> impl Iterator<Item = &Spanned<String>> {
        let fly = [
            &self.fly.flyctl,
            &self.fly.wait,
            &self.fly.timeout,
            &self.local.respawn,
            &self.team.stale,
            &self.fly.toml,
            &self.fly.deploy_timeout,
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
                b.fly_toml.as_ref(),
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
