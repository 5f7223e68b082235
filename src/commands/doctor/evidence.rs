//! Everything doctor looks at, gathered at once: the survey, flyctl's account, version and
//! recent logs, the probe, the handoff state and a second look at waiting updates.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Context, webhook};
use crate::config::Bot;
use crate::model::{AppName, BotName};
use crate::sources::fly::{FlyError, FlyctlVersion, OnFly};
use crate::sources::platform::{Platform, PlatformError, PlatformWarning, RecentLogs};
use crate::sources::telegram::{BotApi, ProbeOutcome, TokenLookup};
use crate::state;
use crate::survey::{self, Survey, joined};

/// Everything doctor looks at, gathered at once.
pub struct Evidence {
    pub survey: Survey,
    pub whoami: Option<Result<crate::outside::Outside, FlyError>>,
    /// Each app's recent logs, through the platform seam.
    pub logs: BTreeMap<AppName, Result<RecentLogs, PlatformError>>,
    pub probes: BTreeMap<BotName, ProbeOutcome>,
    pub handoffs: crate::error::Result<state::State>,
    /// `flyctl version`, read beside whoami (what an old flyctl does to stopped machines).
    pub flyctl_version: Option<std::result::Result<FlyctlVersion, FlyError>>,
    /// Webhook bots with updates waiting: the webhook read again a moment later.
    pub webhook_again: BTreeMap<BotName, webhook::PendingTrend>,
    /// What each bot's platform other than Fly says makes two pollers (preboot, a formation
    /// above 1…), through the seam.
    pub platform_warnings: BTreeMap<BotName, Result<Vec<PlatformWarning>, PlatformError>>,
    /// The recent logs of each bot's platform other than Fly (Fly's are `logs`, by app).
    pub platform_logs: BTreeMap<BotName, Result<RecentLogs, PlatformError>>,
}

const LOGS_LIMIT: Duration = Duration::from_secs(10);

/// flyctl prints a non-empty log buffer within a second or two and then exits; on an empty
/// buffer it prints nothing and polls for ever. No line by then means the buffer is empty.
pub(super) const LOGS_FIRST_LINE: Duration = Duration::from_secs(3);

pub(super) fn gather(ctx: &Context, bots: &[&Bot], probe: super::Probe) -> Evidence {
    let cfg = &ctx.cfg;
    let apps = survey::apps(bots);
    std::thread::scope(|s| {
        let survey = s.spawn(|| ctx.survey(bots));
        let whoami = (!apps.is_empty()).then(|| s.spawn(|| ctx.flyctl.whoami()));
        let version = (!apps.is_empty()).then(|| s.spawn(|| ctx.flyctl.version()));
        let logs: Vec<_> = apps
            .iter()
            .map(|app| {
                let limit = LOGS_LIMIT.min(ctx.flyctl.timeout());
                (
                    app.clone(),
                    s.spawn(move || {
                        let on_fly = OnFly::app(&ctx.flyctl, app);
                        on_fly.recent_logs(LOGS_FIRST_LINE, limit)
                    }),
                )
            })
            .collect();
        let probes: Vec<_> = if probe == super::Probe::Listen {
            bots.iter()
                .filter_map(|bot| match ctx.tokens.of(bot).clone() {
                    TokenLookup::Found { token, .. } => {
                        let api = BotApi::new(&cfg.telegram.api, token, cfg.telegram.timeout);
                        let window = cfg.telegram.probe;
                        Some((bot.name.clone(), s.spawn(move || api.probe(window))))
                    }
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let webhook_again = s.spawn(|| webhook::read_twice(ctx, bots));
        let platform_warnings: Vec<_> = bots
            .iter()
            .filter(|bot| bot.fly().is_none())
            .filter_map(|bot| {
                let platform = ctx.platform_of(bot)?;
                Some((bot.name.clone(), s.spawn(move || platform.warnings())))
            })
            .collect();
        let platform_logs: Vec<_> = bots
            .iter()
            .filter(|bot| bot.fly().is_none())
            .filter_map(|bot| {
                let platform = ctx.platform_of(bot)?;
                Some((
                    bot.name.clone(),
                    s.spawn(move || platform.recent_logs(LOGS_FIRST_LINE, LOGS_LIMIT)),
                ))
            })
            .collect();
        Evidence {
            survey: joined(survey.join()),
            whoami: whoami.map(|h| joined(h.join())),
            logs: logs
                .into_iter()
                .map(|(a, h)| (a, joined(h.join())))
                .collect(),
            probes: probes
                .into_iter()
                .map(|(b, h)| (b, joined(h.join())))
                .collect(),
            handoffs: state::read(&cfg.root),
            flyctl_version: version.map(|h| joined(h.join())),
            webhook_again: joined(webhook_again.join()),
            platform_warnings: platform_warnings
                .into_iter()
                .map(|(b, h)| (b, joined(h.join())))
                .collect(),
            platform_logs: platform_logs
                .into_iter()
                .map(|(b, h)| (b, joined(h.join())))
                .collect(),
        }
    })
}
