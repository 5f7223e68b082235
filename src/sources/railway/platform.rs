//! Railway behind the platform seam: the instances of the service's active deployments. The
//! service keeps a replica count per region, so the bot goes to zero with `railway scale
//! REGION=0` and back; Railway keeps no team record botctl could write without a redeploy
//! (variables redeploy the service), so the handoff is recorded on this machine only.

use std::time::Duration;

use super::{OVERLAP, RailwayCli, Scope, Service, parse_log_line};
use crate::fix::Fix;
use crate::model::PlatformKind;
use crate::outside::Outside;
use crate::sources::platform::{
    Condition, Control, Instance, LogLine, LogStream, Platform, PlatformError, PlatformWarning,
    RecentLogs, RecordHome, joined,
};

/// One bot's service on Railway.
pub struct OnRailway<'a> {
    pub cli: RailwayCli,
    pub scope: Scope<'a>,
    /// What botctl.toml calls it (`the linked service` without a service key).
    pub name: String,
}

impl OnRailway<'_> {
    /// `railway … --service S`, as a person types it.
    fn scoped(&self, command: &[&str]) -> Fix {
        let mut fix = Fix::run(&["railway"]);
        for w in command {
            fix = fix.arg(w);
        }
        for (flag, v) in [
            ("--service", self.scope.service),
            ("--environment", self.scope.environment),
        ] {
            if let Some(v) = v {
                fix = fix.arg(flag).arg(v);
            }
        }
        fix
    }

    /// The regions to scale: the latest deployment's; after a scale to 0 it has none (a
    /// region at 0 is removed, src/controllers/regions.rs `convert_hashmap_to_map`), so the
    /// newest deployment that ran somewhere names them.
    fn regions(&self, service: &Service) -> Result<Vec<(String, u32)>, PlatformError> {
        if service.regions.iter().any(|(_, n)| *n > 0) {
            return Ok(service.regions.clone());
        }
        let earlier = self.cli.deployment_regions(self.scope)?;
        Ok(earlier
            .into_iter()
            .find(|r| r.iter().any(|(_, n)| *n > 0))
            .unwrap_or_else(|| service.regions.clone()))
    }
}

/// Lines of one page of `railway logs`: the latest ones (the ready line and a 409 after it
/// are recent).
const PAGE: u32 = 500;

fn instances(service: &Service) -> Vec<Instance> {
    service
        .active
        .iter()
        .flat_map(|d| {
            d.instances.iter().map(move |(id, status)| Instance {
                id: id.clone(),
                state: status.clone(),
                running: matches!(
                    status.raw(),
                    "RUNNING" | "INITIALIZING" | "RESTARTING" | "CREATED"
                ),
                condition: match status.raw() {
                    "RUNNING" => Condition::Up,
                    "STOPPED" | "EXITED" | "REMOVED" | "SKIPPED" => Condition::Down,
                    _ => Condition::Between,
                },
                since: d
                    .created_at
                    .as_ref()
                    .and_then(|t| t.raw().parse::<jiff::Timestamp>().ok()),
                started_by: Some(Outside::from(format!("deployment {}", d.id.raw()))),
            })
        })
        .collect()
}

impl Platform for OnRailway<'_> {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Railway
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn instances(&self) -> Result<Vec<Instance>, PlatformError> {
        Ok(instances(&self.cli.service(self.scope)?))
    }

    /// Railway stops no single replica for good: the count goes.
    fn stop(&self, _: &Outside) -> Result<(), PlatformError> {
        self.set_scale(0)
    }

    fn start(&self, _: &Outside) -> Result<(), PlatformError> {
        self.set_scale(1)
    }

    /// `railway logs --lines` prints the latest deployment's last lines and exits.
    fn recent_logs(&self, _: Duration, _: Duration) -> Result<RecentLogs, PlatformError> {
        let out = self.cli.logs(self.scope, PAGE)?;
        let lines: Vec<LogLine> = out.lines().filter_map(parse_log_line).collect();
        Ok(RecentLogs {
            empty: lines.is_empty(),
            complete: true,
            lines,
        })
    }

    /// One page that ends: the CLI follows nothing without a terminal. A reader that wants
    /// more (deploy-resume's ready line, watch) starts it again and drops the lines it saw.
    fn stream_logs(&self) -> Result<LogStream, PlatformError> {
        Ok(LogStream {
            lines: self.cli.logs_page(self.scope, PAGE)?,
            parse: parse_log_line,
        })
    }

    fn logs_in_pages(&self) -> bool {
        true
    }

    fn record_home(&self) -> RecordHome {
        RecordHome::LocalOnly
    }

    fn look_command(&self) -> String {
        self.scoped(&["status"]).to_string()
    }

    fn control(&self) -> Control {
        Control::Scale
    }

    fn scale(&self) -> Result<u32, PlatformError> {
        Ok(self.cli.service(self.scope)?.replicas)
    }

    /// Every region to 0 for `n = 0`; else `n` in the first region (the one the service was
    /// deployed to: a region at 0 stays in its config), the others at 0.
    fn set_scale(&self, n: u32) -> Result<(), PlatformError> {
        let service = self.cli.service(self.scope)?;
        let regions = self.regions(&service)?;
        if regions.is_empty() {
            return Err(PlatformError::new(
                format!(
                    "botctl cannot tell which region Railway service {} runs in",
                    service.name
                ),
                Some(
                    self.scoped(&["scale"])
                        .assign("REGION", &n.to_string())
                        .note("by hand, in the service's region"),
                ),
            ));
        }
        let regions: Vec<(String, u32)> = regions
            .iter()
            .enumerate()
            .map(|(i, (r, _))| (r.clone(), if i == 0 { n } else { 0 }))
            .collect();
        let scope = Scope {
            service: self.scope.service.or(Some(service.name.raw())),
            ..self.scope
        };
        self.cli.scale(scope, &regions)
    }

    /// Replicas above 1, a deployment overlap, and two deployments that run now.
    fn warnings(&self) -> Result<Vec<PlatformWarning>, PlatformError> {
        let (service, overlap, deployments) = std::thread::scope(|s| {
            let service = s.spawn(|| self.cli.service(self.scope));
            let overlap = s.spawn(|| self.cli.variable_is_nonzero(self.scope, OVERLAP));
            let deployments = s.spawn(|| self.cli.deployments(self.scope));
            (joined(service), joined(overlap), joined(deployments))
        });
        let (service, overlap, deployments) = (service?, overlap?, deployments?);
        let mut out = Vec::new();
        if service.replicas > 1 {
            let region = service
                .regions
                .first()
                .map_or("REGION".to_string(), |(r, _)| r.clone());
            out.push(PlatformWarning {
                check: "replicas",
                message: format!(
                    "Railway runs {} replicas of {}: each one polls, and Telegram answers all \
but one with 409 Conflict",
                    service.replicas, service.name
                ),
                fix: Some(self.scoped(&["scale"]).assign(&region, "1")),
            });
        }
        if overlap == Some(true) {
            out.push(PlatformWarning {
                check: "overlap",
                message: format!(
                    "{OVERLAP} is set on {}: after a deploy the old deployment keeps polling \
beside the new one",
                    service.name
                ),
                fix: Some(self.scoped(&["variable", "set"]).assign(OVERLAP, "0")),
            });
        }
        let running = deployments
            .iter()
            .filter(|s| matches!(s.raw(), "SUCCESS" | "DEPLOYING" | "SLEEPING"))
            .count();
        if running > 1 {
            out.push(PlatformWarning {
                check: "deployments",
                message: format!(
                    "{running} deployments of {} run at once: each one polls",
                    service.name
                ),
                fix: Some(
                    self.scoped(&["deployment", "list"])
                        .note("then remove the older one"),
                ),
            });
        }
        Ok(out)
    }
}
