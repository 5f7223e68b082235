//! Railway, through the `railway` CLI (the `railwayapp` crate's `status`, `deployment list`,
//! `variables`, `scale` and `logs` commands, read in its source, 5.43.1): a service's
//! deployments, their instances, its replicas per region and its deploy logs. Every call has
//! the `[railway] timeout`. Variables hold the bot's token: botctl reads one by name and never
//! prints a value.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::fix::Fix;
use crate::outside::Outside;
use crate::process;
use crate::sources::platform::{LogLine, PlatformError};

mod platform;
pub use platform::OnRailway;

/// The variable that keeps the old deployment running after the new one is up.
pub const OVERLAP: &str = "RAILWAY_DEPLOYMENT_OVERLAP_SECONDS";

/// The Railway CLI with the time limit of one call.
#[derive(Debug, Clone)]
pub struct RailwayCli {
    program: Option<PathBuf>,
    timeout: Duration,
}

/// Where the bot is on Railway: botctl.toml's keys, else the CLI's linked ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    pub project: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub service: Option<&'a str>,
}

impl Scope<'_> {
    /// `--project P --environment E --service S`, each when given (the CLI wants an
    /// environment with a project).
    fn args(&self, with_service: bool) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(p), Some(_)) = (self.project, self.environment) {
            out.extend(["--project".to_string(), p.to_string()]);
        }
        if let Some(e) = self.environment {
            out.extend(["--environment".to_string(), e.to_string()]);
        }
        if let (true, Some(s)) = (with_service, self.service) {
            out.extend(["--service".to_string(), s.to_string()]);
        }
        out
    }
}

/// One deployment of the service with its instances (`status --json`'s activeDeployments).
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: Outside,
    /// DeploymentStatus: `SUCCESS`, `DEPLOYING`, `REMOVED`…
    pub status: Outside,
    pub created_at: Option<Outside>,
    /// (instance id, DeploymentInstanceStatus: `RUNNING`, `STOPPED`…).
    pub instances: Vec<(Outside, Outside)>,
}

/// The service in one environment, as `status --json` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: Outside,
    pub environment: Outside,
    pub replicas: u32,
    pub active: Vec<Deployment>,
    /// The latest deployment's replicas per region (`meta.serviceManifest.deploy`).
    pub regions: Vec<(String, u32)>,
}

impl RailwayCli {
    pub fn new(timeout: Duration) -> RailwayCli {
        RailwayCli {
            program: which::which("railway").ok(),
            timeout,
        }
    }

    fn call(&self, args: &[String]) -> Result<String, PlatformError> {
        let program = self.program.as_deref().ok_or_else(not_installed)?;
        let command = format!("railway {}", args.join(" "));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = process::run(program, &args, self.timeout)
            .map_err(|e| PlatformError::from_exec(&command, e, not_installed, "railway"))?;
        if out.success() {
            return Ok(out.stdout);
        }
        Err(classify(&command, &out.stderr, out.error_line()))
    }

    fn json(&self, args: Vec<String>) -> Result<Value, PlatformError> {
        let out = self.call(&args)?;
        serde_json::from_str(&out).map_err(|e| {
            PlatformError::new(
                format!(
                    "`railway {}` printed something botctl cannot read: {e}",
                    args.join(" ")
                ),
                None,
            )
        })
    }

    /// The service where the bot runs: `status --json`, its environment and service chosen as
    /// [`pick`] says.
    pub fn service(&self, scope: Scope<'_>) -> Result<Service, PlatformError> {
        let mut args = vec!["status".to_string(), "--json".to_string()];
        args.extend(scope.args(false));
        pick(&self.json(args)?, scope)
    }

    /// `deployment list --json`: the latest deployments, newest first.
    fn deployment_list(&self, scope: Scope<'_>) -> Result<Vec<Value>, PlatformError> {
        let mut args = vec!["deployment", "list", "--json", "--limit", "10"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        args.extend(scope.args(true));
        Ok(match self.json(args)? {
            Value::Array(list) => list,
            _ => Vec::new(),
        })
    }

    /// The statuses of the latest deployments, newest first.
    pub fn deployments(&self, scope: Scope<'_>) -> Result<Vec<Outside>, PlatformError> {
        Ok(self
            .deployment_list(scope)?
            .iter()
            .map(|d| Outside::from(d["status"].as_str().unwrap_or_default()))
            .collect())
    }

    /// The replicas per region each of the latest deployments was made with, newest first.
    pub fn deployment_regions(
        &self,
        scope: Scope<'_>,
    ) -> Result<Vec<Vec<(String, u32)>>, PlatformError> {
        Ok(self
            .deployment_list(scope)?
            .iter()
            .map(|d| regions_of(&d["meta"]))
            .collect())
    }

    /// Whether the service's variables set `name` to something other than 0 (`None`: unset).
    /// The values are read by the CLI and dropped here: none is kept or shown.
    pub fn variable_is_nonzero(
        &self,
        scope: Scope<'_>,
        name: &str,
    ) -> Result<Option<bool>, PlatformError> {
        let mut args = vec!["variables".to_string(), "--json".to_string()];
        args.extend(scope.args(true));
        let vars = self.json(args)?;
        Ok(vars.get(name).map(|v| {
            let v = v.as_str().map(str::trim).unwrap_or_default();
            !(v.is_empty() || v.parse::<f64>().is_ok_and(|n| n == 0.0))
        }))
    }

    /// The last `lines` lines of the latest deployment's deploy logs, one JSON object a line.
    /// `railway logs` streams only on a terminal (src/commands/logs.rs: `should_stream` needs
    /// stdout to be one); with `--lines` it prints them and exits. `--latest`: the newest
    /// deployment even while it deploys (the one a scale just started), `--deployment`: its
    /// deploy logs, never its build logs.
    pub fn logs(&self, scope: Scope<'_>, lines: u32) -> Result<String, PlatformError> {
        self.call(&logs_args(scope, lines))
    }

    /// [`Railway::logs`] as a stream that ends after one page (see [`Railway::logs`]: the CLI
    /// follows nothing without a terminal); a reader starts it again for the next page.
    pub fn logs_page(
        &self,
        scope: Scope<'_>,
        lines: u32,
    ) -> Result<process::LineStream, PlatformError> {
        let program = self.program.as_deref().ok_or_else(not_installed)?;
        let args = logs_args(scope, lines);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        process::stream_lines(program, &args).map_err(|e| PlatformError::new(e.to_string(), None))
    }

    /// `railway scale REGION=N …`: does not wait.
    pub fn scale(&self, scope: Scope<'_>, regions: &[(String, u32)]) -> Result<(), PlatformError> {
        let mut args = vec!["scale".to_string()];
        args.extend(scale_scope(scope));
        args.push("--json".into());
        args.extend(regions.iter().map(|(r, n)| format!("{r}={n}")));
        self.call(&args).map(drop)
    }
}

/// [`Scope::args`] for `railway scale`, whose arguments are rewritten before they are parsed
/// (src/commands/scale.rs `normalize_legacy_scale_args`): a long flag it does not know, and
/// `--project` is one, becomes a `REGION=N` assignment with the word after it. `-p` passes.
fn scale_scope(scope: Scope<'_>) -> Vec<String> {
    scope
        .args(true)
        .into_iter()
        .map(|a| {
            if a == "--project" {
                "-p".to_string()
            } else {
                a
            }
        })
        .collect()
}

/// `logs --deployment --latest --json --lines N --service S …` (see [`Railway::logs`]).
fn logs_args(scope: Scope<'_>, lines: u32) -> Vec<String> {
    let mut args: Vec<String> = ["logs", "--deployment", "--latest", "--json", "--lines"]
        .into_iter()
        .map(String::from)
        .collect();
    args.push(lines.to_string());
    args.extend(scope.args(true));
    args
}

fn not_installed() -> PlatformError {
    PlatformError::new(
        "the Railway CLI is not installed (railway is not on PATH)",
        Some(Fix::run(&["npm", "install", "-g", "@railway/cli"]).note("or: brew install railway")),
    )
}

fn classify(command: &str, stderr: &str, line: String) -> PlatformError {
    if stderr.contains("Unauthorized") || stderr.contains("Not authenticated") {
        PlatformError::new(
            "the Railway CLI is not logged in",
            Some(Fix::run(&["railway", "login"]).note("or set RAILWAY_TOKEN")),
        )
    } else if stderr.contains("No linked project") || stderr.contains("Project not found") {
        PlatformError::new(
            "no Railway project is linked here and botctl.toml names none",
            Some(
                Fix::run(&["railway", "link"])
                    .note("or set railway.project and railway.environment"),
            ),
        )
    } else {
        PlatformError::new(format!("`{command}` failed: {line}"), None)
    }
}

/// One line of `railway logs --json` (src/util/logs.rs `format_log_string`): an object with
/// `message`, `timestamp` (RFC 3339) and the log's attributes (`level`…) as keys of their own.
/// A line that is not such an object is kept as text.
pub fn parse_log_line(raw: &str) -> Option<LogLine> {
    let text = console::strip_ansi_codes(raw).trim_end().to_string();
    if text.trim().is_empty() {
        return None;
    }
    let parsed = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        let message = v.get("message")?.as_str()?.to_string();
        let at = v["timestamp"].as_str().and_then(crate::time::parse_rfc3339);
        Some((at, message))
    });
    let (at, message) = parsed.unwrap_or((None, text.clone()));
    let shown = match at {
        Some(at) => format!("{at} {message}"),
        None => message.clone(),
    };
    Some(LogLine {
        at,
        // The CLI asks for no tags: a line does not say which replica logged it.
        machine: None,
        message: message.into(),
        text: shown.into(),
    })
}

/// The environment (botctl.toml's; else the only one holding a service; else `production`)
/// and the service (botctl.toml's; else the only one there) in `status --json`.
pub fn pick(project: &Value, scope: Scope<'_>) -> Result<Service, PlatformError> {
    let envs: Vec<&Value> = project["environments"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["node"])
        .filter(|n| {
            !n["serviceInstances"]["edges"]
                .as_array()
                .is_none_or(Vec::is_empty)
        })
        .collect();
    let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_string();
    let env = match scope.environment {
        Some(e) => envs.iter().find(|n| name(n) == e),
        None if envs.len() == 1 => envs.first(),
        None => envs.iter().find(|n| name(n) == "production"),
    }
    .ok_or_else(|| {
        PlatformError::new(
            match scope.environment {
                Some(e) => format!(
                    "Railway environment {} has no service",
                    crate::outside::shown(e)
                ),
                None => "botctl cannot tell which Railway environment runs the bot".into(),
            },
            Some(Fix::instruction(
                "set railway.environment in botctl.toml (railway environment lists them)",
            )),
        )
    })?;
    let services: Vec<&Value> = env["serviceInstances"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["node"])
        .collect();
    let service = match scope.service {
        Some(s) => services
            .iter()
            .find(|n| n["serviceName"].as_str() == Some(s)),
        None if services.len() == 1 => services.first(),
        None => None,
    }
    .ok_or_else(|| {
        PlatformError::new(
            match scope.service {
                Some(s) => format!(
                    "Railway service {} is not in environment {}",
                    crate::outside::shown(s),
                    crate::outside::shown(&name(env))
                ),
                None => "botctl cannot tell which Railway service runs the bot".into(),
            },
            Some(Fix::instruction(
                "set railway.service in botctl.toml (railway status lists them)",
            )),
        )
    })?;
    let deployment = |d: &Value| Deployment {
        id: Outside::from(d["id"].as_str().unwrap_or_default()),
        status: Outside::from(d["status"].as_str().unwrap_or_default()),
        created_at: d["createdAt"].as_str().map(Outside::from),
        instances: d["instances"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    Outside::from(i["id"].as_str().unwrap_or_default()),
                    Outside::from(i["status"].as_str().unwrap_or_default()),
                )
            })
            .collect(),
    };
    let regions = regions_of(&service["latestDeployment"]["meta"]);
    Ok(Service {
        name: Outside::from(service["serviceName"].as_str().unwrap_or_default()),
        environment: Outside::from(name(env)),
        replicas: service["numReplicas"].as_u64().unwrap_or(0) as u32,
        active: service["activeDeployments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(deployment)
            .collect(),
        regions,
    })
}

/// A deployment's replicas per region, from its `meta.serviceManifest.deploy`
/// (src/controllers/regions.rs `region_data_from_deploy`). A region scaled to 0 is `null`.
fn regions_of(meta: &Value) -> Vec<(String, u32)> {
    let deploy = &meta["serviceManifest"]["deploy"];
    match deploy["multiRegionConfig"].as_object() {
        Some(map) => map
            .iter()
            .map(|(r, c)| (r.clone(), c["numReplicas"].as_u64().unwrap_or(0) as u32))
            .collect(),
        // Older deployments: one region and numReplicas.
        None => deploy["region"]
            .as_str()
            .map(|r| {
                vec![(
                    r.to_string(),
                    deploy["numReplicas"].as_u64().unwrap_or(1) as u32,
                )]
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project() -> Value {
        let instance = |env: &str| {
            json!({"node": {"serviceName": "partner", "numReplicas": 2,
                "latestDeployment": {"id": "d2", "status": "SUCCESS", "meta": {"serviceManifest":
                    {"deploy": {"multiRegionConfig": {"europe-west4": {"numReplicas": 2}}}}}},
                "activeDeployments": [{"id": "d2", "status": "SUCCESS", "createdAt": "2026-12-06T19:00:00Z",
                    "instances": [{"id": format!("{env}-i1"), "status": "RUNNING"},
                                  {"id": format!("{env}-i2"), "status": "INITIALIZING"}]}]}})
        };
        json!({"environments": {"edges": [
            {"node": {"name": "staging", "serviceInstances": {"edges": [instance("s")]}}},
            {"node": {"name": "production", "serviceInstances": {"edges": [instance("p")]}}},
            {"node": {"name": "empty", "serviceInstances": {"edges": []}}}]}})
    }

    #[test]
    fn the_service_of_status_json() {
        let s = pick(&project(), Scope::default()).unwrap();
        assert_eq!(s.environment, "production");
        assert_eq!(s.replicas, 2);
        assert_eq!(s.regions, [("europe-west4".to_string(), 2)]);
        assert_eq!(s.active[0].instances[1].1, "INITIALIZING");
        let staging = Scope {
            environment: Some("staging"),
            ..Scope::default()
        };
        assert_eq!(
            pick(&project(), staging).unwrap().active[0].instances[0].0,
            "s-i1"
        );
        let other = Scope {
            service: Some("web"),
            ..Scope::default()
        };
        assert!(
            pick(&project(), other)
                .unwrap_err()
                .message
                .contains("web is not in")
        );
    }

    #[test]
    fn scale_names_the_project_with_its_short_flag() {
        let scope = Scope {
            project: Some("p-lb"),
            environment: Some("production"),
            service: Some("partner"),
        };
        assert_eq!(
            scale_scope(scope),
            [
                "-p",
                "p-lb",
                "--environment",
                "production",
                "--service",
                "partner"
            ]
        );
    }

    #[test]
    fn log_lines_of_logs_json() {
        let l = parse_log_line(
            r#"{"level":"error","message":"telegram.error.Conflict: Conflict: terminated by other getUpdates request","timestamp":"2026-12-06T20:00:01.123456789Z"}"#,
        )
        .unwrap();
        assert_eq!(l.at, crate::time::parse_rfc3339("2026-12-06T20:00:01Z"));
        assert!(l.is_conflict());
        assert!(
            l.text.raw().starts_with("2026-12-06T20:00:01Z telegram"),
            "{l:?}"
        );
        let plain = parse_log_line("not json").unwrap();
        assert_eq!((plain.at, plain.message.raw()), (None, "not json"));
        assert!(parse_log_line("  ").is_none());
    }

    #[test]
    fn not_logged_in_says_so() {
        let e = classify(
            "railway status",
            "Unauthorized. Please login with `railway login`\n",
            String::new(),
        );
        assert_eq!(
            e.fix.map(|f| f.to_string()).as_deref(),
            Some("railway login   # or set RAILWAY_TOKEN")
        );
    }
}
