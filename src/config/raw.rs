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
    #[serde(default)]
    pub(super) kubernetes: RawPlatformCli,
    #[serde(default)]
    pub(super) heroku: RawPlatformCli,
    #[serde(default)]
    pub(super) railway: RawPlatformCli,
}

/// `[kubernetes]`, `[heroku]`, `[railway]`: one call of that platform's CLI.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlatformCli {
    pub(super) timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKubernetes {
    pub(super) deployment: Option<Spanned<String>>,
    pub(super) statefulset: Option<Spanned<String>>,
    pub(super) namespace: Option<Spanned<String>>,
    pub(super) context: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeroku {
    pub(super) app: Spanned<String>,
    pub(super) process: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRailway {
    pub(super) service: Option<Spanned<String>>,
    pub(super) environment: Option<Spanned<String>>,
    pub(super) project: Option<Spanned<String>>,
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
    pub(super) platform: Option<Spanned<String>>,
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
    pub(super) fly_process_group: Option<Spanned<String>>,
    pub(super) kubernetes: Option<Spanned<RawKubernetes>>,
    pub(super) heroku: Option<Spanned<RawHeroku>>,
    pub(super) railway: Option<Spanned<RawRailway>>,
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
            &self.watch.platform,
            &self.kubernetes.timeout,
            &self.heroku.timeout,
            &self.railway.timeout,
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
                b.fly_process_group.as_ref(),
            ]
            .into_iter()
            .chain(b.platform_strings())
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

impl RawBot {
    /// The string values of its platform table, if it has one.
    fn platform_strings(&self) -> impl Iterator<Item = Option<&Spanned<String>>> {
        let k = self.kubernetes.as_ref().map(|k| k.get_ref());
        let h = self.heroku.as_ref().map(|h| h.get_ref());
        let r = self.railway.as_ref().map(|r| r.get_ref());
        [
            k.and_then(|k| k.deployment.as_ref()),
            k.and_then(|k| k.statefulset.as_ref()),
            k.and_then(|k| k.namespace.as_ref()),
            k.and_then(|k| k.context.as_ref()),
            h.map(|h| &h.app),
            h.and_then(|h| h.process.as_ref()),
            r.and_then(|r| r.service.as_ref()),
            r.and_then(|r| r.environment.as_ref()),
            r.and_then(|r| r.project.as_ref()),
        ]
        .into_iter()
    }
}
