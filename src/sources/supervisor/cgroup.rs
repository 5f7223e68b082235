//! What `/proc/PID/cgroup` says: the systemd unit, container or session a process is in.

use crate::model::SystemdManager;

/// What `/proc/PID/cgroup` says about the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cgroup {
    /// A systemd service: `bot.service`, of the system or of a user's manager.
    Unit {
        unit: String,
        manager: SystemdManager,
    },
    /// A container (docker with either driver, podman, Kubernetes): engine and id.
    Container { engine: ContainerKind, id: String },
    /// A login session, desktop app scope, the root, or something unknown: no supervisor.
    Other,
}

/// What runs a container, as its cgroup path tells (Kubernetes runs one through its own
/// engine, and restarts it itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    Docker,
    Podman,
    Kubernetes,
}

/// Parses `/proc/PID/cgroup` (v2 `0::/PATH`, or v1 lines whose `name=systemd` or `pids` line
/// carries the path).
pub fn parse_cgroup(text: &str) -> Cgroup {
    let mut v2 = None;
    let mut systemd = None;
    let mut pids = None;
    let mut any = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2 = Some(path);
        } else if controllers == "name=systemd" {
            systemd = Some(path);
        } else if controllers.split(',').any(|c| c == "pids") {
            pids = Some(path);
        } else if any.is_none() && path != "/" {
            any = Some(path);
        }
    }
    // On hybrid hosts the v2 line is "0::/" while the v1 name=systemd line has the real path.
    let path = [systemd, v2, pids, any]
        .into_iter()
        .flatten()
        .find(|p| *p != "/")
        .unwrap_or("/");
    classify_cgroup_path(path)
}

pub(super) fn classify_cgroup_path(path: &str) -> Cgroup {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // Containers first: their path may sit under system.slice.
    for (i, part) in parts.iter().enumerate() {
        if let Some(id) = strip_scope(part, "docker-") {
            return container(ContainerKind::Docker, id);
        }
        if let Some(id) = strip_scope(part, "libpod-") {
            if id.starts_with("conmon-") {
                continue;
            }
            return container(ContainerKind::Podman, id);
        }
        if let Some(id) = part
            .strip_prefix("cri-containerd-")
            .map(|p| p.trim_end_matches(".scope"))
        {
            return container(ContainerKind::Kubernetes, id);
        }
        if *part == "docker"
            && let Some(id) = parts.get(i + 1).filter(|id| is_hex_id(id))
        {
            return container(ContainerKind::Docker, id);
        }
        if part.starts_with("kubepods") {
            let id = parts
                .last()
                .map(|p| {
                    let p = p.trim_end_matches(".scope");
                    p.rsplit('-').next().unwrap_or(p)
                })
                .unwrap_or("");
            return container(ContainerKind::Kubernetes, id);
        }
    }
    // The innermost .service names the unit (a service may delegate sub-groups below it); a
    // .scope met first (a session, a desktop app, init) is no unit, nor is the user manager.
    for (i, part) in parts.iter().enumerate().rev() {
        if part.ends_with(".scope") || part.starts_with("user@") {
            return Cgroup::Other;
        }
        if part.ends_with(".service") {
            let user = parts[..i]
                .iter()
                .any(|p| p.starts_with("user@") && p.ends_with(".service"));
            return Cgroup::Unit {
                unit: part.to_string(),
                manager: if user {
                    SystemdManager::User
                } else {
                    SystemdManager::System
                },
            };
        }
    }
    Cgroup::Other
}

pub(super) fn container(engine: ContainerKind, id: &str) -> Cgroup {
    Cgroup::Container {
        engine,
        id: id.to_string(),
    }
}

pub(super) fn strip_scope<'a>(part: &'a str, prefix: &str) -> Option<&'a str> {
    part.strip_prefix(prefix)?.strip_suffix(".scope")
}

pub(super) fn is_hex_id(s: &str) -> bool {
    s.len() >= 12 && s.chars().all(|c| c.is_ascii_hexdigit())
}
