//! Kubernetes manifests (`k8s/`, `deploy/`, a folder with `kustomization.yaml`): each
//! Deployment's or StatefulSet's name, namespace and its containers' `command` + `args`. Read
//! line by line, like compose files: the block maps and lists, flow lists and quoted scalars
//! manifests are written in, and nothing more. `env` is never read (it often holds the token).

use std::path::Path;

use super::command::{self, LaunchStep};
use super::compose::strip_comment;
use super::dockerfile::exec_form;
use super::walk::{Project, read};

/// A workload that starts something.
#[derive(Debug, Clone)]
pub struct ManifestWorkload {
    /// `deployment` or `statefulset`: the botctl.toml key.
    pub kind: &'static str,
    pub name: String,
    pub namespace: Option<String>,
    /// `k8s/bot.yaml:21 (deployment lb-partner)`.
    pub origin: String,
    pub steps: Vec<LaunchStep>,
}

/// The manifests of the project: YAML under a `k8s` or `deploy` folder, or beside a
/// `kustomization.yaml`.
pub fn read_all(project: &Project) -> Vec<ManifestWorkload> {
    let kustomized: Vec<&Path> = project
        .named("kustomization.yaml")
        .chain(project.named("kustomization.yml"))
        .filter_map(|p| p.parent())
        .collect();
    let is_manifest = |p: &Path| {
        let rel = p.strip_prefix(&project.root).unwrap_or(p);
        rel.parent().is_some_and(|dir| {
            dir.components()
                .any(|c| matches!(c.as_os_str().to_str(), Some("k8s" | "deploy")))
        }) || p.parent().is_some_and(|d| kustomized.contains(&d))
    };
    let mut out = Vec::new();
    for path in project.with_ext("yaml").chain(project.with_ext("yml")) {
        if !is_manifest(path) || path.file_stem().is_some_and(|s| s == "kustomization") {
            continue;
        }
        if let Some(text) = read(path) {
            out.extend(workloads(&project.shown(path), &text, &project.root));
        }
    }
    out
}

/// The workloads of one file (its `---` documents); a container's command runs in the
/// image's working folder, taken to be the project root.
fn workloads(shown: &str, text: &str, root: &Path) -> Vec<ManifestWorkload> {
    let mut out = Vec::new();
    let mut doc: Vec<(usize, usize, &str)> = Vec::new();
    let lines = text.lines().enumerate().chain([(usize::MAX, "---")]);
    for (i, raw) in lines {
        if raw.trim_end() == "---" || raw.starts_with("--- ") {
            out.extend(workload(shown, &doc, root));
            doc.clear();
            continue;
        }
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        doc.push((
            raw.len() - trimmed.len(),
            i + 1,
            strip_comment(trimmed).trim_end(),
        ));
    }
    out
}

fn workload(shown: &str, doc: &[(usize, usize, &str)], root: &Path) -> Option<ManifestWorkload> {
    let top = |key: &str| {
        doc.iter()
            .find(|(indent, _, t)| *indent == 0 && key_of(t) == Some(key))
            .and_then(|(_, _, t)| value_of(t))
    };
    let kind = match top("kind")?.as_str() {
        "Deployment" => "deployment",
        "StatefulSet" => "statefulset",
        _ => return None,
    };
    let meta = doc
        .iter()
        .position(|(indent, _, t)| *indent == 0 && key_of(t) == Some("metadata"))?;
    let field = |key: &str| {
        let child = doc.get(meta + 1)?.0;
        doc[meta + 1..]
            .iter()
            .take_while(|(indent, _, _)| *indent >= child && child > 0)
            .find(|(indent, _, t)| *indent == child && key_of(t) == Some(key))
            .and_then(|(_, _, t)| value_of(t))
    };
    let name = field("name")?;
    let namespace = field("namespace");
    let (line, words) = containers(doc).into_iter().find(|(_, w)| !w.is_empty())?;
    Some(ManifestWorkload {
        kind,
        origin: format!("{shown}:{line} ({kind} {})", crate::outside::shown(&name)),
        steps: command::steps_of_words(&words, root),
        name,
        namespace,
    })
}

/// Each container's `command` then `args` (the words it runs), with the line of `command`.
/// `args` written before their `command` wait for it; `args` alone run the image's entrypoint,
/// which the manifest does not say.
fn containers(doc: &[(usize, usize, &str)]) -> Vec<(usize, Vec<String>)> {
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    // The last command still takes the args that follow it.
    let mut open = false;
    let mut i = 0;
    while i < doc.len() {
        let (indent, line, text) = doc[i];
        let text = text.trim_start_matches("- ");
        let key = key_of(text);
        if !matches!(key, Some("command" | "args")) {
            i += 1;
            continue;
        }
        let mut words = match value_of(text) {
            Some(v) => exec_form(&v).unwrap_or_else(|| vec![v]),
            None => Vec::new(),
        };
        // A block list below the key (at its indent or deeper).
        let mut j = i + 1;
        while let Some((next, _, t)) = doc.get(j) {
            if *next < indent || !t.starts_with("- ") || (*next == indent && t.contains(": ")) {
                break;
            }
            words.push(unquote(&t[2..]));
            j += 1;
        }
        match (key, out.last_mut()) {
            (Some("command"), _) => {
                words.append(&mut pending);
                out.push((line, words));
                open = pending.is_empty();
            }
            (_, Some((_, last))) if open => {
                last.append(&mut words);
                open = false;
            }
            _ => pending = words,
        }
        i = j;
    }
    out
}

fn key_of(text: &str) -> Option<&str> {
    let (key, _) = text.split_once(':')?;
    let key = key.trim();
    (!key.is_empty() && !key.contains(' ')).then_some(key)
}

/// The scalar or flow value after `key:`; `None` when it is empty (a block follows).
fn value_of(text: &str) -> Option<String> {
    let (_, v) = text.split_once(':')?;
    let v = v.trim();
    (!v.is_empty()).then(|| unquote(v))
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::init::command::Starts;

    #[test]
    fn a_deployments_command_and_args_are_what_it_runs() {
        let text = [
            "apiVersion: v1",
            "kind: Service",
            "metadata:",
            "  name: web",
            "---",
            "apiVersion: apps/v1",
            "kind: Deployment",
            "metadata:",
            "  name: lb-partner  # the bot",
            "  namespace: bots",
            "spec:",
            "  replicas: 1",
            "  template:",
            "    spec:",
            "      containers:",
            "        - name: bot",
            "          image: bots/partner:1",
            "          command: [\"python\", \"-u\"]",
            "          args:",
            "            - bot.py",
            "          env:",
            "            - name: BOT_TOKEN",
            "              value: \"123:x\"",
        ]
        .join("\n");
        let text = text.as_str();
        let w = workloads("k8s/bot.yaml", text, Path::new("/p"));
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].kind, w[0].name.as_str()),
            ("deployment", "lb-partner")
        );
        assert_eq!(w[0].namespace.as_deref(), Some("bots"));
        assert_eq!(w[0].origin, "k8s/bot.yaml:18 (deployment lb-partner)");
        assert!(
            matches!(&w[0].steps[..], [s] if s.starts == Starts::Script("bot.py".into())),
            "{:?}",
            w[0].steps
        );
    }

    #[test]
    fn a_statefulset_with_a_block_command_and_no_namespace() {
        let text = [
            "kind: StatefulSet",
            "metadata:",
            "  name: lb",
            "spec:",
            "  template:",
            "    spec:",
            "      containers:",
            "      - name: bot",
            "        command:",
            "        - python",
            "        - -m",
            "        - app",
        ]
        .join("\n");
        let text = text.as_str();
        let w = workloads("deploy/sts.yml", text, Path::new("/p"));
        assert_eq!((w[0].kind, w[0].namespace.clone()), ("statefulset", None));
        assert!(matches!(&w[0].steps[..], [s] if s.starts == Starts::Module("app".into())));
    }
}
