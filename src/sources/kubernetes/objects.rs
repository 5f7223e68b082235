//! What botctl reads of `kubectl get … -o json`: a workload's count, selector, strategy and
//! annotations; its pods' names, phases and container states (k8s.io/api apps/v1 and core/v1).
//! Only these fields are declared, so a pod spec's `env` — where the bot token often is — is
//! never kept, and never printed.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::outside::Outside;
use crate::sources::platform::{Condition, Instance};

#[derive(Debug, Deserialize)]
pub struct WorkloadObject {
    pub metadata: Metadata,
    pub spec: WorkloadSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: Outside,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>, // raw: crate::team's record, shown escaped
    pub creation_timestamp: Option<Outside>,
    pub deletion_timestamp: Option<Outside>,
    #[serde(default)]
    pub owner_references: Vec<OwnerReference>,
}

#[derive(Debug, Deserialize)]
pub struct OwnerReference {
    pub kind: Outside,
    pub name: Outside,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// Absent means 1 (the API server's default).
    pub replicas: Option<u32>,
    pub selector: Selector,
    /// Deployments only.
    pub strategy: Option<UpdateStrategy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>, // raw: kubectl's -l argument, never shown
    #[serde(default)]
    pub match_expressions: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStrategy {
    #[serde(rename = "type")]
    pub kind: Option<Outside>,
    pub rolling_update: Option<RollingUpdate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdate {
    /// An int or a percentage ("25%").
    pub max_surge: Option<serde_json::Value>,
}

impl WorkloadObject {
    pub fn replicas(&self) -> u32 {
        self.spec.replicas.unwrap_or(1)
    }

    /// The label selector as `-l` takes it (`app=lb,tier=bot`); `None` when the workload
    /// selects by expressions botctl does not read.
    pub fn selector(&self) -> Option<String> {
        let s = &self.spec.selector;
        (s.match_expressions.is_empty() && !s.match_labels.is_empty()).then(|| {
            s.match_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    /// A Deployment whose rollout starts the new pod before the old one stops: `RollingUpdate`
    /// (the default) with a `maxSurge` that is not 0 (absent: 25%, which rounds up to 1).
    /// Returns the surge as written.
    pub fn surges(&self) -> Option<String> {
        let strategy = self.spec.strategy.as_ref()?;
        if strategy.kind.as_ref().map_or("RollingUpdate", Outside::raw) != "RollingUpdate" {
            return None;
        }
        let surge = strategy
            .rolling_update
            .as_ref()
            .and_then(|r| r.max_surge.clone());
        let text = match &surge {
            None => "25%".to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        (!matches!(text.trim_end_matches('%'), "0")).then_some(text)
    }
}

#[derive(Debug, Deserialize)]
pub struct PodList {
    #[serde(default)]
    pub items: Vec<Pod>,
}

#[derive(Debug, Deserialize)]
pub struct Pod {
    pub metadata: Metadata,
    #[serde(default)]
    pub status: PodStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: Option<Outside>,
    pub start_time: Option<Outside>,
    #[serde(default)]
    pub container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Deserialize)]
pub struct ContainerStatus {
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub state: BTreeMap<String, ContainerState>, // raw: the state's name, only looked up
}

#[derive(Debug, Default, Deserialize)]
pub struct ContainerState {
    pub reason: Option<Outside>,
}

impl Pod {
    /// The reason a container waits (`CrashLoopBackOff`, `ContainerCreating`), if one does.
    pub fn waiting(&self) -> Option<&str> {
        self.status
            .container_statuses
            .iter()
            .find_map(|c| c.state.get("waiting").and_then(|w| w.reason.as_ref()))
            .map(Outside::raw)
    }

    pub fn crash_looping(&self) -> bool {
        self.waiting() == Some("CrashLoopBackOff")
    }

    /// As `kubectl get pods` shows it: `Terminating`, a waiting reason, else the phase.
    fn state(&self) -> String {
        let phase = self.status.phase.as_ref().map_or("Unknown", Outside::raw);
        if self.metadata.deletion_timestamp.is_some() {
            "Terminating".into()
        } else if let Some(reason) = self.waiting() {
            reason.into()
        } else {
            phase.into()
        }
    }

    /// The pod as the seam sees every platform's instances. A pod that is pending, running,
    /// crash-looping (the kubelet restarts it) or terminating (it polls through its grace
    /// period) may poll.
    pub fn instance(&self) -> Instance {
        let phase = self.status.phase.as_ref().map_or("Unknown", Outside::raw);
        let running = matches!(phase, "Pending" | "Running" | "Unknown");
        let ready = !self.status.container_statuses.is_empty()
            && self.status.container_statuses.iter().all(|c| c.ready);
        let condition = match (running, ready, self.metadata.deletion_timestamp.is_some()) {
            (false, _, _) => Condition::Down,
            (true, true, false) if phase == "Running" => Condition::Up,
            _ => Condition::Between,
        };
        let since = self
            .status
            .start_time
            .as_ref()
            .or(self.metadata.creation_timestamp.as_ref())
            .and_then(|t| t.raw().parse::<jiff::Timestamp>().ok());
        Instance {
            id: self.metadata.name.clone(),
            state: Outside::from(self.state()),
            running,
            condition,
            since,
            started_by: self
                .metadata
                .owner_references
                .first()
                .map(|o| Outside::from(format!("{} {}", o.kind, o.name))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_reads_its_count_selector_and_surge_and_never_keeps_env() {
        let w: WorkloadObject = serde_json::from_str(
            r#"{"metadata":{"name":"lb","annotations":{"botctl.dev/by":"ann@mbp"}},
                "spec":{"replicas":2,"selector":{"matchLabels":{"tier":"bot","app":"lb"}},
                        "strategy":{"type":"RollingUpdate"},
                        "template":{"spec":{"containers":[{"name":"bot","env":[{"name":"BOT_TOKEN","value":"123:SECRET"}]}]}}}}"#,
        )
        .unwrap();
        assert_eq!(w.replicas(), 2);
        assert_eq!(w.selector().as_deref(), Some("app=lb,tier=bot"));
        assert_eq!(w.surges().as_deref(), Some("25%"));
        assert!(!format!("{w:?}").contains("SECRET"));
        let recreate: WorkloadObject = serde_json::from_str(
            r#"{"metadata":{"name":"lb"},"spec":{"selector":{"matchLabels":{"app":"lb"}},
                "strategy":{"type":"Recreate"}}}"#,
        )
        .unwrap();
        assert_eq!((recreate.replicas(), recreate.surges()), (1, None));
        let no_surge: WorkloadObject = serde_json::from_str(
            r#"{"metadata":{"name":"lb"},"spec":{"selector":{"matchLabels":{"app":"lb"}},
                "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}"#,
        )
        .unwrap();
        assert_eq!(no_surge.surges(), None);
    }

    #[test]
    fn pods_are_instances_by_phase_readiness_and_deletion() {
        let list: PodList = serde_json::from_str(
            r#"{"items":[
              {"metadata":{"name":"lb-1","ownerReferences":[{"kind":"ReplicaSet","name":"lb-7d"}]},
               "status":{"phase":"Running","startTime":"2026-12-06T20:00:00Z",
                         "containerStatuses":[{"ready":true,"state":{"running":{"startedAt":"2026-12-06T20:00:01Z"}}}]}},
              {"metadata":{"name":"lb-2","deletionTimestamp":"2026-12-06T20:01:00Z"},
               "status":{"phase":"Running","containerStatuses":[{"ready":true,"state":{"running":{}}}]}},
              {"metadata":{"name":"lb-3"},
               "status":{"phase":"Running","containerStatuses":[{"ready":false,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}},
              {"metadata":{"name":"lb-4"},"status":{"phase":"Succeeded"}}]}"#,
        )
        .unwrap();
        let i: Vec<Instance> = list.items.iter().map(Pod::instance).collect();
        assert_eq!(i[0].condition, Condition::Up);
        let started = crate::time::parse_rfc3339("2026-12-06T20:00:00Z");
        assert_eq!(i[0].since, started);
        assert_eq!(i[0].started_by.as_ref().unwrap().raw(), "ReplicaSet lb-7d");
        assert_eq!(
            (i[1].state.raw(), i[1].running, i[1].condition),
            ("Terminating", true, Condition::Between)
        );
        assert!(list.items[2].crash_looping() && i[2].running);
        assert_eq!(i[2].state.raw(), "CrashLoopBackOff");
        assert_eq!((i[3].running, i[3].condition), (false, Condition::Down));
    }
}
