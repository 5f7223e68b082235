//! Kubernetes behind the platform seam, through the user's kubectl and kubeconfig: a bot is a
//! Deployment or StatefulSet, its instances the pods its selector picks, its count the
//! workload's replicas, its team record annotations on the workload (`botctl.dev/by`, `/at`,
//! `/bot`, `/on`, `/scale`). See reference/platforms.md, "Kubernetes".

mod kubectl;
mod objects;

use std::time::Duration;

use crate::fix::Fix;
use crate::model::{Kubernetes, PlatformKind, Workload};
use crate::outside::Outside;
use crate::process;
use crate::sources::platform::{
    Control, Instance, LogLine, LogStream, Platform, PlatformError, PlatformWarning, RecentLogs,
    RecordHome,
};
use kubectl::Kubectl;
use objects::{Pod, PodList, WorkloadObject};

/// Where botctl's record keys live on the workload: `botctl_by` is `botctl.dev/by`.
const ANNOTATION_PREFIX: &str = "botctl.dev/";
/// The log lines one read of recent logs asks for, per pod.
const TAIL: &str = "--tail=200";
/// The lines doctor reads of a crash-looping pod for a 409.
const CRASH_TAIL: &str = "--tail=30";

/// One bot's workload on a cluster.
pub struct OnKubernetes {
    kubectl: Kubectl,
    /// `deployment/lb-partner`, as kubectl names it.
    name: String,
}

impl OnKubernetes {
    pub fn new(k: &Kubernetes, timeout: Duration) -> Self {
        let (kind, name) = match &k.workload {
            Workload::Deployment(n) => ("deployment", n),
            Workload::StatefulSet(n) => ("statefulset", n),
        };
        OnKubernetes {
            kubectl: Kubectl::new(k, timeout),
            name: format!("{kind}/{name}"),
        }
    }

    fn workload(&self) -> Result<WorkloadObject, PlatformError> {
        let out = self.kubectl.call(&["get", &self.name, "-o", "json"])?;
        parse(
            &out,
            &self.kubectl.typed(&["get", &self.name, "-o", "json"]),
        )
    }

    /// The workload's selector, or why its pods cannot be found.
    fn selector(&self, w: &WorkloadObject) -> Result<String, PlatformError> {
        w.selector().ok_or_else(|| {
            PlatformError::new(
                format!(
                    "{} selects its pods by expressions botctl does not read: its pods were not \
checked",
                    self.name
                ),
                Some(
                    self.kubectl
                        .fix(&["describe", &self.name])
                        .note("to see them yourself"),
                ),
            )
        })
    }

    fn pods(&self, selector: &str) -> Result<Vec<Pod>, PlatformError> {
        let args = ["get", "pods", "-l", selector, "-o", "json"];
        let out = self.kubectl.call(&args)?;
        Ok(parse::<PodList>(&out, &self.kubectl.typed(&args))?.items)
    }

    fn warn_replicas(&self, w: &WorkloadObject) -> Option<PlatformWarning> {
        (w.replicas() > 1).then(|| PlatformWarning {
            check: "replicas",
            message: format!(
                "{} keeps {} replicas: each pod polls with the same token, and all but one get 409",
                self.name,
                w.replicas()
            ),
            fix: Some(
                self.kubectl
                    .fix(&["scale", &self.name])
                    .assign("--replicas", "1")
                    .note("and replicas: 1 in the manifest"),
            ),
        })
    }

    fn warn_rollout(&self, w: &WorkloadObject) -> Option<PlatformWarning> {
        w.surges().map(|surge| {
            PlatformWarning {
            check: "rollout",
            message: format!(
                "{} rolls out with RollingUpdate and maxSurge {surge}: the new pod polls before \
the old one stops, two pollers on every rollout",
                self.name
            ),
            fix: Some(Fix::instruction(
                "set strategy: {type: Recreate} in the manifest (or maxSurge: 0, maxUnavailable: 1)",
            )),
        }
        })
    }

    /// A crash-looping pod whose last lines hold a 409: a framework that dies on 409, started
    /// again and again by the kubelet.
    fn warn_crashloop(&self, pods: &[Pod]) -> Vec<PlatformWarning> {
        pods.iter()
            .filter(|p| p.crash_looping())
            .filter_map(|p| {
                let out = self
                    .kubectl
                    .call(&[
                        "logs",
                        p.metadata.name.raw(),
                        "--all-containers",
                        CRASH_TAIL,
                    ])
                    .ok()?;
                let conflict = out
                    .lines()
                    .filter_map(parse_log_line)
                    .find(LogLine::is_conflict)?;
                Some(PlatformWarning {
                    check: "crashloop",
                    message: format!(
                        "pod {} is in CrashLoopBackOff and its last lines hold a 409 ({}): the bot \
dies on 409 and the kubelet starts it again, while another copy polls",
                        p.metadata.name, conflict.message
                    ),
                    fix: Some(
                        Fix::run(&["botctl", "status"])
                            .then(self.kubectl.fix(&["rollout", "restart", &self.name])),
                    ),
                })
            })
            .collect()
    }

    fn logs_args<'a>(&self, selector: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "logs",
            "-l",
            selector,
            "--all-containers",
            "--prefix",
            "--timestamps",
        ];
        args.extend(extra);
        args.push("--max-log-requests=20");
        args
    }
}

fn parse<T: serde::de::DeserializeOwned>(out: &str, typed: &str) -> Result<T, PlatformError> {
    serde_json::from_str(out).map_err(|e| {
        PlatformError::new(
            format!("`{typed}` printed something botctl cannot read: {e}"),
            None,
        )
    })
}

/// One line of `kubectl logs --prefix --timestamps`: `[pod/NAME/CONTAINER] TIME message`.
pub fn parse_log_line(raw: &str) -> Option<LogLine> {
    let text = console::strip_ansi_codes(raw).trim_end().to_string();
    if text.trim().is_empty() {
        return None;
    }
    let (pod, rest) = match text.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((prefix, rest)) => (prefix.split('/').nth(1).map(str::to_string), rest),
        None => (None, text.as_str()),
    };
    let (at, message) = match rest.split_once(' ') {
        Some((ts, msg)) if crate::time::parse_rfc3339(ts).is_some() => {
            (crate::time::parse_rfc3339(ts), msg.to_string())
        }
        _ => (None, rest.to_string()),
    };
    Some(LogLine {
        at,
        machine: pod.map(Outside::from),
        message: message.into(),
        text: text.clone().into(),
    })
}

/// `botctl_by` → `botctl.dev/by`.
fn annotation(key: &str) -> String {
    format!(
        "{ANNOTATION_PREFIX}{}",
        key.strip_prefix("botctl_").unwrap_or(key)
    )
}

impl Platform for OnKubernetes {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Kubernetes
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn instances(&self) -> Result<Vec<Instance>, PlatformError> {
        let w = self.workload()?;
        let selector = self.selector(&w)?;
        Ok(self.pods(&selector)?.iter().map(Pod::instance).collect())
    }

    fn stop(&self, _: &Outside) -> Result<(), PlatformError> {
        Err(PlatformError::new(
            format!(
                "{} keeps a count: botctl scales it, never stops one pod",
                self.name
            ),
            None,
        ))
    }

    fn start(&self, id: &Outside) -> Result<(), PlatformError> {
        self.stop(id)
    }

    fn recent_logs(
        &self,
        first_line: Duration,
        limit: Duration,
    ) -> Result<RecentLogs, PlatformError> {
        let w = self.workload()?;
        let selector = self.selector(&w)?;
        let args = self.logs_args(&selector, &[TAIL]);
        let program = self.kubectl.program()?;
        let all = self.kubectl.args(&args, "0");
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let waits = process::Waits {
            first_line: first_line.min(limit),
            idle: limit,
            limit: limit.min(self.kubectl.timeout),
        };
        let out = process::run_streaming(program, &all, waits)
            .map_err(|e| self.kubectl.exec_error(&args, e))?;
        if out.end == process::StreamEnd::Exited && out.code.is_some_and(|c| c != 0) {
            return Err(PlatformError::new(
                format!(
                    "`{}` failed: {}",
                    self.kubectl.typed(&args),
                    out.error_line()
                ),
                None,
            ));
        }
        let lines: Vec<LogLine> = out.lines.iter().filter_map(|l| parse_log_line(l)).collect();
        Ok(RecentLogs {
            empty: lines.is_empty(),
            complete: out.end != process::StreamEnd::Limit,
            lines,
        })
    }

    /// `kubectl logs -f` of the pods the selector picks now, from their last lines (as `flyctl
    /// logs` starts with its buffer: a ready line logged a moment ago is read); it ends when
    /// they are gone (the reader starts it again, on the pods there are then).
    fn stream_logs(&self) -> Result<LogStream, PlatformError> {
        let w = self.workload()?;
        let selector = self.selector(&w)?;
        let args = self.logs_args(&selector, &["-f", TAIL]);
        let program = self.kubectl.program()?;
        let all = self.kubectl.args(&args, "0");
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let lines =
            process::stream_lines(program, &all).map_err(|e| self.kubectl.exec_error(&args, e))?;
        Ok(LogStream {
            lines,
            parse: parse_log_line,
        })
    }

    fn record_home(&self) -> RecordHome {
        RecordHome::OnPlatform
    }

    /// Annotations on the workload (no pod restarts: the pod template is not touched). An
    /// empty value removes the annotation (a merge patch's `null`).
    fn write_record(&self, _: &Outside, pairs: &[(&str, &str)]) -> Result<(), PlatformError> {
        let annotations: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| {
                let value = match v.is_empty() {
                    true => serde_json::Value::Null,
                    false => serde_json::Value::from(*v),
                };
                (annotation(k), value)
            })
            .collect();
        let patch = serde_json::json!({"metadata": {"annotations": annotations}}).to_string();
        self.kubectl
            .call(&["patch", &self.name, "--type", "merge", "-p", &patch])
            .map(drop)
    }

    fn read_record(&self) -> Result<Vec<(String, String)>, PlatformError> {
        let w = self.workload()?;
        Ok(w.metadata
            .annotations
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix(ANNOTATION_PREFIX)?;
                Some((format!("botctl_{key}"), v.clone()))
            })
            .collect())
    }

    fn look_command(&self) -> String {
        self.kubectl.typed(&["describe", &self.name])
    }

    fn control(&self) -> Control {
        Control::Scale
    }

    fn scale(&self) -> Result<u32, PlatformError> {
        Ok(self.workload()?.replicas())
    }

    fn set_scale(&self, n: u32) -> Result<(), PlatformError> {
        let replicas = format!("--replicas={n}");
        self.kubectl
            .call(&["scale", &self.name, &replicas])
            .map(drop)
    }

    fn warnings(&self) -> Result<Vec<PlatformWarning>, PlatformError> {
        let w = self.workload()?;
        let pods = match self.selector(&w) {
            Ok(selector) => self.pods(&selector)?,
            Err(_) => Vec::new(),
        };
        let mut out: Vec<PlatformWarning> = self
            .warn_replicas(&w)
            .into_iter()
            .chain(self.warn_rollout(&w))
            .collect();
        out.extend(self.warn_crashloop(&pods));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefixed_timestamped_line_names_its_pod_and_time() {
        let l = parse_log_line(
            "[pod/lb-7d9f-x2k/bot] 2026-12-06T20:22:47.368498325Z 409 Conflict: terminated by other getUpdates request",
        )
        .unwrap();
        assert_eq!(l.machine.as_ref().unwrap().raw(), "lb-7d9f-x2k");
        assert_eq!(l.at, crate::time::parse_rfc3339("2026-12-06T20:22:47Z"));
        assert!(l.is_conflict());
        let plain = parse_log_line("Bot started").unwrap();
        assert_eq!((plain.at, plain.message.raw()), (None, "Bot started"));
        assert_eq!(annotation("botctl_by"), "botctl.dev/by");
    }
}
