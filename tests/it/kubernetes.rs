//! A bot on Kubernetes: the REAL kubectl against the fake API server (tests/fakes/kube_api.py),
//! through a kubeconfig in the world's HOME (`World::kube`). Status counts the workload's pods,
//! doctor names what makes two pollers there, dev-start scales it to zero and records the
//! handoff on the workload, deploy-resume scales it back and waits for the ready line; a
//! kubectl that is missing, a context that is not there, a cluster that does not answer and one
//! that hangs are each "not checked", within `[kubernetes] timeout`.

use std::time::{Duration, Instant};

use serde_json::json;
use test_support::{KubeApi, SECRET_IN_ENV, World, bot, findings};

const POD_LIMIT: Duration = Duration::from_secs(15);

/// botctl.toml: bot `partner` on Deployment lb-partner in namespace `bots` of context `extra`
/// (`context = "prod"` unless `context` says otherwise), with `ready_log`.
fn config(world: &World, context: &str, extra: &str) -> String {
    format!(
        "[[bot]]\nname = \"partner\"\nscript = \"{}\"\nready_log = \"Bot started\"\n\
kubernetes = {{ deployment = \"lb-partner\", namespace = \"bots\", context = \"{context}\" }}\n{extra}",
        world.script("bot.py")
    )
}

fn cluster(replicas: u32, extra: serde_json::Value) -> (World, KubeApi) {
    let world = World::configured(|w| config(w, "prod", ""));
    let kube = world.kube();
    kube.deployment("lb-partner", replicas, extra);
    assert!(
        kube.wait_for_pods("lb-partner", replicas as usize, POD_LIMIT),
        "the fake made no {replicas} pods"
    );
    (world, kube)
}

#[test]
fn status_counts_the_deployments_pods_and_two_are_a_conflict() {
    let (world, _kube) = cluster(2, json!({}));
    let run = world.run(&["status", "--json"]);
    run.expect_code(1);
    let json = run.json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["verdict"], "conflict", "{json:#}");
    assert_eq!(partner["places"], 2);
    let platform = &partner["platform"];
    assert_eq!(platform["kind"], "kubernetes");
    assert_eq!(platform["name"], "deployment/lb-partner");
    assert!(platform["error"].is_null(), "{json:#}");
    let instances = platform["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2);
    assert!(
        instances
            .iter()
            .all(|i| i["id"].as_str().unwrap().starts_with("lb-partner-"))
    );
    let text = world.run(&["status"]);
    text.expect_stdout("kubernetes deployment/lb-partner lb-partner-");
    for out in [run.all_output(), text.all_output()] {
        assert!(
            !out.contains(SECRET_IN_ENV),
            "the pod's env was printed:\n{out}"
        );
    }
}

#[test]
fn a_statefulset_with_one_pod_is_one_place() {
    let world = World::configured(|w| {
        config(w, "prod", "").replace("deployment = \"lb-partner\"", "statefulset = \"lb-sts\"")
    });
    let kube = world.kube();
    kube.workload(
        json!({"kind": "StatefulSet", "name": "lb-sts", "namespace": "bots",
                         "replicas": 1}),
    );
    assert!(kube.wait_for_pods("lb-sts", 1, POD_LIMIT));
    let json = world.run(&["status", "--json"]).json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["verdict"], "ok", "{json:#}");
    assert_eq!(partner["platform"]["instances"][0]["id"], "lb-sts-0");
}

#[test]
fn doctor_warns_of_replicas_a_surging_rollout_and_a_crashloop_on_409() {
    let (world, kube) = cluster(2, json!({"strategy": null}));
    kube.log(
        "lb-partner",
        "telegram.error.Conflict: 409 Conflict: terminated by other getUpdates request",
    );
    kube.crashloop("lb-partner");
    let run = world.run(&["doctor", "--json"]);
    let json = run.json();
    let found = findings(&json, "platform", Some("partner"));
    let text: Vec<String> = found
        .iter()
        .map(|f| format!("{} | {}", f["message"], f["fix"]))
        .collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(
        has("(replicas): deployment/lb-partner keeps 2 replicas"),
        "{text:#?}"
    );
    assert!(
        has("kubectl --context prod -n bots scale deployment/lb-partner --replicas=1"),
        "{text:#?}"
    );
    assert!(
        has("(rollout): ") && has("maxSurge 25%") && has("Recreate"),
        "{text:#?}"
    );
    assert!(
        has("(crashloop): pod lb-partner-") && has("409"),
        "{text:#?}"
    );
    assert!(!run.all_output().contains(SECRET_IN_ENV));
}

#[test]
fn dev_start_scales_to_zero_and_deploy_resume_scales_back_to_one_with_the_ready_line() {
    let (world, kube) = cluster(2, json!({"ready_line": "Bot started"}));
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("scaled deployment/lb-partner from 2 to 0");
    assert!(kube.pods("lb-partner").is_empty(), "{}", run.all_output());
    let w = kube.workload_now("lb-partner");
    assert_eq!(w["spec"]["replicas"], 0);
    let notes = &w["metadata"]["annotations"];
    assert_eq!(notes["botctl.dev/bot"], "partner", "{w:#}");
    assert_eq!(notes["botctl.dev/scale"], "2", "{w:#}");
    assert!(
        notes["botctl.dev/by"]
            .as_str()
            .is_some_and(|b| !b.is_empty())
    );
    assert!(notes["botctl.dev/at"].as_str().is_some());
    let state = std::fs::read_to_string(world.path(".botctl/state.json")).unwrap();
    assert!(state.contains("\"scaled_from\": 2"), "{state}");

    // Status shows the handoff, read from the workload's annotations.
    let json = world.run(&["status", "--json"]).json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["verdict"], "stopped", "{json:#}");
    assert_eq!(partner["handoff"]["mine"], true, "{json:#}");

    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(0);
    run.expect_stdout("a polling bot runs on exactly one")
        .expect_stdout("scaling to 1")
        .expect_stdout("\"Bot started\" at ");
    assert_eq!(kube.workload_now("lb-partner")["spec"]["replicas"], 1);
    assert_eq!(kube.pods("lb-partner").len(), 1);
    let notes = &kube.workload_now("lb-partner")["metadata"]["annotations"];
    assert!(notes.get("botctl.dev/by").is_none(), "{notes:#}");
    assert!(
        !world.path(".botctl/state.json").exists() || {
            let s = std::fs::read_to_string(world.path(".botctl/state.json")).unwrap();
            !s.contains("partner")
        }
    );
    assert!(!run.all_output().contains(SECRET_IN_ENV));
}

#[test]
fn a_409_after_the_ready_line_fails_deploy_resume() {
    let (world, kube) = cluster(
        0,
        json!({"ready_line": "Bot started",
               "conflict_line": "409 Conflict: terminated by other getUpdates request"}),
    );
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(3);
    run.expect_stderr("got a 409 after it started");
    assert_eq!(kube.workload_now("lb-partner")["spec"]["replicas"], 1);
}

#[test]
fn dev_start_dry_run_changes_nothing() {
    let (world, kube) = cluster(1, json!({}));
    let run = world.run(&["dev-start", "partner", "--dry-run", "--no-probe"]);
    run.expect_code(0);
    run.expect_stdout("scale deployment/lb-partner to 0");
    assert_eq!(kube.workload_now("lb-partner")["spec"]["replicas"], 1);
    assert!(
        !kube.calls().iter().any(|c| c.starts_with("PATCH")),
        "{:#?}",
        kube.calls()
    );
}

/// kubectl missing, a context not in the kubeconfig, a cluster nobody answers for, one that
/// hangs: each is "not checked" with its fix, the verdict unknown, and a Fly bot beside it
/// still read.
#[test]
fn a_cluster_that_cannot_be_read_is_not_checked_with_the_fix() {
    let fly_bot = "[[bot]]\nname = \"admin\"\nscript = \"admin_bot.py\"\nfly_app = \"lb-admin\"\n";
    let cases: [(&str, &str, &str); 3] = [
        ("nope", "has no context nope", "kubectl config get-contexts"),
        (
            "down",
            "no cluster answers for down",
            "kubectl cluster-info",
        ),
        ("prod", "did not answer within 2s", "[kubernetes] timeout"),
    ];
    for (context, says, fix) in cases {
        let world = World::configured(|w| {
            config(
                w,
                context,
                &format!("{fly_bot}[kubernetes]\ntimeout = \"2s\"\n"),
            )
        });
        world.fly_state(test_support::fly_apps(&[("lb-admin", vec![])]));
        let kube = world.kube();
        kube.deployment("lb-partner", 1, json!({}));
        kube.hang(context == "prod");
        let began = Instant::now();
        let run = world.run(&["status", "--json"]);
        assert!(
            began.elapsed() < Duration::from_secs(12),
            "status waited {:?}",
            began.elapsed()
        );
        run.expect_code(0);
        let json = run.json();
        let partner = bot(&json, "partner");
        assert_eq!(partner["verdict"], "unknown", "{context}: {json:#}");
        let error = partner["platform"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(says) && error.contains(fix),
            "{context}: {error}"
        );
        assert_eq!(bot(&json, "admin")["verdict"], "stopped", "{json:#}");
        kube.hang(false);
    }
    let world = World::configured(|w| config(w, "prod", "")).without_tool("kubectl");
    let run = world.run(&["status", "--json"]);
    let json = run.json();
    let error = bot(&json, "partner")["platform"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("kubectl is not installed"), "{error}");
    let run = world.run(&["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    run.expect_code(1);
    run.expect_stderr("kubectl is not installed");
}

#[test]
fn watch_reads_the_pods_and_streams_their_logs() {
    let world = World::configured(|w| config(w, "prod", "[watch]\nplatform = \"1s\"\n"));
    let kube = world.kube();
    kube.deployment("lb-partner", 1, json!({}));
    assert!(kube.wait_for_pods("lb-partner", 1, POD_LIMIT));
    let child = world
        .botctl_process(&["watch", "--for", "8s", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start botctl watch");
    let following = test_support::wait_until(Duration::from_secs(6), || {
        kube.calls()
            .iter()
            .any(|c| c.contains("/log?") && c.contains("follow=true"))
    });
    let logged = kube.log(
        "lb-partner",
        "409 Conflict: terminated by other getUpdates request",
    );
    let out = child.wait_with_output().expect("botctl watch ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        following && logged == 1,
        "no kubectl logs -f: {:#?}",
        kube.calls()
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        events.iter().any(|e| e["event"] == "instance"
            && e["change"] == "found"
            && e["platform"] == "deployment/lb-partner"),
        "{stdout}"
    );
    let conflict = events.iter().find(|e| e["event"] == "409");
    let conflict = conflict.unwrap_or_else(|| panic!("no 409 event: {stdout}"));
    assert_eq!(conflict["app"], "deployment/lb-partner");
    assert!(
        conflict["machine"]
            .as_str()
            .unwrap()
            .starts_with("lb-partner-"),
        "{conflict}"
    );
    assert!(!stdout.contains(SECRET_IN_ENV));
}

/// A teammate's dev-start, on their laptop, leaves its record on the workload: status here
/// names them, and deploy-resume refuses until they hand it back (or it is taken over).
#[test]
fn a_teammates_record_on_the_workload_holds_the_bot_here() {
    let (world, kube) = cluster(1, json!({}));
    let mut theirs = world.botctl();
    theirs
        .env("BOTCTL_WHO", "bob@thinkpad")
        .env("BOTCTL_ON", "b0b5laptop")
        .args(["dev-start", "partner", "--yes", "--no-run", "--no-probe"]);
    test_support::run(&mut theirs).expect_code(0);
    std::fs::remove_dir_all(world.path(".botctl")).unwrap(); // their laptop's, not this one's
    assert_eq!(
        kube.workload_now("lb-partner")["metadata"]["annotations"]["botctl.dev/by"],
        "bob@thinkpad"
    );
    let json = world.run(&["status", "--json"]).json();
    let partner = bot(&json, "partner");
    assert_eq!(partner["handoff"]["by"], "bob@thinkpad", "{json:#}");
    assert_eq!(partner["handoff"]["mine"], false, "{json:#}");
    let run = world.run(&["deploy-resume", "partner", "--yes"]);
    run.expect_code(1);
    run.expect_stderr("bob@thinkpad")
        .expect_stderr("by the handoff record on deployment/lb-partner")
        .expect_stderr("--take-over");
    assert_eq!(kube.workload_now("lb-partner")["spec"]["replicas"], 0);
}
