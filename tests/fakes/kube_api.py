#!/usr/bin/env python3
"""Fake Kubernetes API server for botctl's tests (stdlib only), for the real kubectl.

Speaks what botctl's `kubectl` calls need, in the shapes the API server sends them:

- discovery: GET /version, /api (APIVersions), /apis (APIGroupList), /api/v1 and /apis/apps/v1
  (APIResourceList). kubectl asks for aggregated discovery first (Accept
  `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`) and falls back to
  these legacy lists when the answer is plain `application/json`
  (k8s.io/client-go/discovery/discovery_client.go, `fetchGroupVersionResources`,
  `isV2Beta1ContentType`/`isV2ContentType`).
- apps/v1 Deployments and StatefulSets: GET (one, list), PATCH with
  `application/merge-patch+json` (RFC 7386) or `application/strategic-merge-patch+json` (maps
  merge the same way; lists are not merged here), and the `scale` subresource (autoscaling/v1
  Scale: GET, PUT, PATCH). `kubectl scale` patches `scale` with `{"spec":{"replicas":N}}`
  (k8s.io/kubectl/pkg/scale/scale.go, `ScaleSimple`); `kubectl patch --type merge` patches the
  object (k8s.io/kubectl/pkg/cmd/patch/patch.go).
- v1 Pods: list by `labelSelector` (equality terms `k=v,k2=v2`, as kubectl's `-l` sends them),
  GET one, and `/log` with `follow`, `timestamps`, `tailLines`, `sinceSeconds`, `container`
  (k8s.io/api/core/v1 `PodLogOptions`; a followed log streams until the pod is gone, as the
  kubelet's does). Timestamps are RFC 3339 with nanoseconds, `2026-12-06T20:00:00.123456789Z`.
- v1 Namespaces: GET one, list.
- Errors are v1 `Status` objects (`reason: NotFound`, `code: 404`), which kubectl prints as
  `Error from server (NotFound): deployments.apps "x" not found`
  (k8s.io/apimachinery/pkg/api/errors).

Pods follow the workload's `spec.replicas`, with a delay as a cluster has: a missing pod is
created `Pending` and becomes `Running` (Ready) after --delay seconds; a pod above the count
gets a `deletionTimestamp` (Terminating; it still runs) and is gone after --delay seconds. A
workload may name `ready_line`: every pod logs it as it starts (and `conflict_line`, logged one
second after the ready line, to play a second poller's 409).

    python3 kube_api.py --port 0 --port-file PATH [--delay 0.5]

Control endpoints (JSON bodies):
  POST /_control/workload   {"kind": "Deployment"|"StatefulSet", "name", "namespace",
                             "replicas", "strategy" (Deployment; default RollingUpdate 25%/25%),
                             "labels", "command", "args", "env", "annotations",
                             "ready_line", "conflict_line"}   create or replace; pods are made
  POST /_control/log        {"namespace", "pod"|"workload", "text"}   a line in the pod's log
                            (every running pod of the workload)
  POST /_control/crashloop  {"namespace", "workload"}   every pod of it waits in
                            CrashLoopBackOff (restartCount 5), phase Running, not ready
  POST /_control/hang       {"on": true|false}   API calls hang (never answered) while on
  GET  /_control/calls      ["METHOD PATH?QUERY", ...] every API call so far
  GET  /_control/state      the workloads and pods
"""

import argparse
import copy
import json
import os
import random
import string
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LOCK = threading.Condition()
WORKLOADS = {}  # (namespace, plural, name) -> object
PODS = {}  # (namespace, name) -> {"obj": pod, "owner": key, "ready_at": t, "gone_at": t, "log": [(t, text)]}
CALLS = []
HANG = {"on": False}
NAMESPACES = {"default", "bots", "kube-system"}
DELAY = 0.5
VERSION = 1


def now():
    return time.time()


def rfc3339(t, nanos=False):
    d = datetime.fromtimestamp(t, tz=timezone.utc)
    if nanos:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % int((t % 1) * 1e9)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def next_version():
    global VERSION
    VERSION += 1
    return str(VERSION)


def status(code, reason, message, details=None):
    return code, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": details or {}, "code": code,
    }


def not_found(group_plural, name):
    return status(404, "NotFound", '%s "%s" not found' % (group_plural, name),
                  {"name": name, "kind": group_plural.split(".")[0]})


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---------------------------------------------------------------- discovery

def resource(name, kind, namespaced=True, verbs=None, short=None):
    r = {"name": name, "singularName": "" if "/" in name else kind.lower(), "namespaced": namespaced,
         "kind": kind, "verbs": verbs or ["get", "list", "patch", "update", "watch"]}
    if short:
        r["shortNames"] = short
    return r


API_V1 = {
    "kind": "APIResourceList", "groupVersion": "v1",
    "resources": [
        resource("namespaces", "Namespace", False, ["get", "list"], ["ns"]),
        resource("pods", "Pod", True, ["get", "list", "delete"], ["po"]),
        resource("pods/log", "Pod", True, ["get"]),
    ],
}
APPS_V1 = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
    "resources": [
        dict(resource("deployments", "Deployment", short=["deploy"]), categories=["all"]),
        {"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
         "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
        dict(resource("statefulsets", "StatefulSet", short=["sts"]), categories=["all"]),
        {"name": "statefulsets/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
         "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
    ],
}
APIS = {
    "kind": "APIGroupList", "apiVersion": "v1",
    "groups": [{"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}],
}


# ---------------------------------------------------------------- workloads and pods

def make_workload(spec):
    kind = spec.get("kind", "Deployment")
    plural = "deployments" if kind == "Deployment" else "statefulsets"
    ns = spec.get("namespace", "default")
    name = spec["name"]
    labels = spec.get("labels") or {"app": name}
    container = {"name": spec.get("container", "bot"), "image": spec.get("image", "bots/bot:1")}
    for key in ("command", "args", "env"):
        if key in spec:
            container[key] = spec[key]
    obj = {
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                     "resourceVersion": next_version(), "generation": 1,
                     "creationTimestamp": rfc3339(now()), "labels": dict(labels),
                     "annotations": dict(spec.get("annotations") or {})},
        "spec": {
            "replicas": spec.get("replicas", 1),
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}},
        },
        "status": {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "observedGeneration": 1},
    }
    if kind == "Deployment":
        obj["spec"]["strategy"] = spec.get("strategy") or {
            "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    else:
        obj["spec"]["serviceName"] = name
        obj["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    extra = {k: spec[k] for k in ("ready_line", "conflict_line") if k in spec}
    return (ns, plural, name), obj, extra


EXTRA = {}  # workload key -> ready_line / conflict_line


def pods_of(key):
    return [(k, p) for k, p in PODS.items() if p["owner"] == key]


def new_pod(key, obj, index):
    ns, plural, name = key
    if plural == "statefulsets":
        pod_name = "%s-%d" % (name, index)
        owner = {"kind": "StatefulSet", "name": name}
    else:
        rs = "%s-%s" % (name, obj["metadata"]["uid"][:10].replace("-", ""))
        pod_name = "%s-%s" % (rs, "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5)))
        owner = {"kind": "ReplicaSet", "name": rs}
    t = now()
    tmpl = obj["spec"]["template"]
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod_name, "namespace": ns, "uid": str(uuid.uuid4()),
                     "resourceVersion": next_version(), "creationTimestamp": rfc3339(t),
                     "labels": dict(tmpl["metadata"]["labels"]),
                     "ownerReferences": [dict(owner, apiVersion="apps/v1", controller=True,
                                              uid=obj["metadata"]["uid"])]},
        "spec": copy.deepcopy(tmpl["spec"]),
        "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                   "containerStatuses": [{"name": c["name"], "ready": False, "restartCount": 0,
                                          "state": {"waiting": {"reason": "ContainerCreating"}}}
                                         for c in tmpl["spec"]["containers"]]},
    }
    PODS[(ns, pod_name)] = {"obj": pod, "owner": key, "ready_at": t + DELAY, "gone_at": None, "log": []}


def reconcile():
    """One pass: pods toward each workload's count, pods through their lifecycle."""
    with LOCK:
        t = now()
        changed = False
        for key, obj in WORKLOADS.items():
            want = obj["spec"].get("replicas", 1) or 0
            live = [(k, p) for k, p in pods_of(key) if p["gone_at"] is None]
            live.sort(key=lambda kp: kp[1]["obj"]["metadata"]["creationTimestamp"] + kp[0][1])
            if len(live) < want:
                used = {k[1] for k, _ in pods_of(key)}
                i = 0
                for _ in range(want - len(live)):
                    while "%s-%d" % (key[2], i) in used:
                        i += 1
                    new_pod(key, obj, i)
                    used.add("%s-%d" % (key[2], i))
                changed = True
            elif len(live) > want:
                for k, p in live[want:]:
                    p["gone_at"] = t + DELAY
                    p["obj"]["metadata"]["deletionTimestamp"] = rfc3339(t)
                    p["obj"]["metadata"]["deletionGracePeriodSeconds"] = 30
                changed = True
        for k, p in list(PODS.items()):
            st = p["obj"]["status"]
            if p["gone_at"] is not None and t >= p["gone_at"]:
                del PODS[k]
                changed = True
            elif st["phase"] == "Pending" and t >= p["ready_at"]:
                st["phase"] = "Running"
                st["startTime"] = rfc3339(t)
                st["conditions"] = [{"type": "Ready", "status": "True"}]
                for cs in st["containerStatuses"]:
                    cs["ready"] = True
                    cs["state"] = {"running": {"startedAt": rfc3339(t)}}
                extra = EXTRA.get(p["owner"], {})
                if extra.get("ready_line"):
                    p["log"].append((t, extra["ready_line"]))
                if extra.get("conflict_line"):
                    p["log"].append((t + 1, extra["conflict_line"]))
                changed = True
        for key, obj in WORKLOADS.items():
            pods = [p for _, p in pods_of(key)]
            ready = sum(1 for p in pods if p["obj"]["status"]["phase"] == "Running"
                        and p["gone_at"] is None
                        and all(c["ready"] for c in p["obj"]["status"]["containerStatuses"]))
            obj["status"].update({"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready})
        if changed:
            LOCK.notify_all()


def reconciler():
    while True:
        reconcile()
        time.sleep(0.1)


def selector_matches(selector, labels):
    if not selector:
        return True
    for term in selector.split(","):
        term = term.strip()
        if not term:
            continue
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            k, v = k.strip(), v.strip().lstrip("=")
            if labels.get(k) != v:
                return False
        elif labels.get(term) is None:
            return False
    return True


def scale_of(obj):
    sel = ",".join("%s=%s" % kv for kv in sorted(obj["spec"]["selector"]["matchLabels"].items()))
    md = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                         "resourceVersion": md["resourceVersion"],
                         "creationTimestamp": md["creationTimestamp"]},
            "spec": {"replicas": obj["spec"].get("replicas", 0)},
            "status": {"replicas": obj["status"]["replicas"], "selector": sel}}


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw.strip() else {}

    def do_GET(self):
        self.route("GET")

    def do_PATCH(self):
        self.route("PATCH")

    def do_PUT(self):
        self.route("PUT")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        if parts[:1] == ["_control"]:
            return self.control(method, parts[1:])
        with LOCK:
            CALLS.append("%s %s" % (method, self.path))
        while HANG["on"]:
            time.sleep(0.1)
        try:
            answer = self.api(method, parts, query)
        except (ValueError, KeyError) as e:
            answer = status(400, "BadRequest", "bad request: %s" % e)
        if answer is not None:
            self.send_json(*answer)

    def control(self, method, parts):
        what = parts[0] if parts else ""
        if method == "GET" and what == "calls":
            with LOCK:
                return self.send_json(200, list(CALLS))
        if method == "GET" and what == "state":
            with LOCK:
                return self.send_json(200, {
                    "workloads": [obj for obj in WORKLOADS.values()],
                    "pods": [p["obj"] for p in PODS.values()]})
        body = self.body()
        with LOCK:
            if what == "workload":
                key, obj, extra = make_workload(body)
                for k, _ in pods_of(key):
                    del PODS[k]
                WORKLOADS[key] = obj
                EXTRA[key] = extra
                NAMESPACES.add(key[0])
                self.send_json(200, obj)
            elif what == "log":
                ns = body.get("namespace", "default")
                if "pod" in body:
                    targets = [PODS[(ns, body["pod"])]] if (ns, body["pod"]) in PODS else []
                else:
                    targets = [p for (pns, _), p in PODS.items()
                               if pns == ns and p["owner"][2] == body["workload"]
                               and p["obj"]["status"]["phase"] == "Running"]
                for p in targets:
                    p["log"].append((now(), body["text"]))
                LOCK.notify_all()
                self.send_json(200, {"pods": len(targets)})
            elif what == "crashloop":
                ns = body.get("namespace", "default")
                n = 0
                for (pns, _), p in PODS.items():
                    if pns == ns and p["owner"][2] == body["workload"]:
                        st = p["obj"]["status"]
                        st["phase"] = "Running"
                        st["conditions"] = [{"type": "Ready", "status": "False"}]
                        for cs in st["containerStatuses"]:
                            cs.update({"ready": False, "restartCount": 5,
                                       "state": {"waiting": {"reason": "CrashLoopBackOff",
                                                             "message": "back-off 5m0s restarting failed container"}}})
                        n += 1
                self.send_json(200, {"pods": n})
            elif what == "hang":
                HANG["on"] = bool(body.get("on"))
                self.send_json(200, HANG)
            else:
                self.send_json(404, {"error": "unknown control " + what})

    def api(self, method, parts, query):
        if parts == ["version"]:
            return 200, {"major": "1", "minor": "37", "gitVersion": "v1.37.1", "platform": "linux/amd64"}
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                         "serverAddress": self.headers.get("Host", "")}]}
        if parts == ["apis"]:
            return 200, APIS
        if parts == ["api", "v1"]:
            return 200, API_V1
        if parts == ["apis", "apps", "v1"]:
            return 200, APPS_V1
        if parts[:2] == ["api", "v1"] and len(parts) >= 3 and parts[2] == "namespaces":
            return self.core(method, parts[3:], query)
        if parts[:3] == ["apis", "apps", "v1"] and len(parts) >= 6 and parts[3] == "namespaces":
            return self.apps(method, parts[4], parts[5], parts[6:], query)
        if parts[:3] == ["apis", "apps", "v1"] and len(parts) == 4:
            with LOCK:
                items = [o for (ns, pl, _), o in WORKLOADS.items() if pl == parts[3]]
                return 200, self.listed(parts[3], items)
        return status(404, "NotFound", "the server could not find the requested resource")

    def listed(self, plural, items):
        kind = {"deployments": "DeploymentList", "statefulsets": "StatefulSetList",
                "pods": "PodList", "namespaces": "NamespaceList"}[plural]
        api = "v1" if plural in ("pods", "namespaces") else "apps/v1"
        return {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": str(VERSION)},
                "items": copy.deepcopy(items)}

    def core(self, method, rest, query):
        if not rest:
            with LOCK:
                items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n},
                          "status": {"phase": "Active"}} for n in sorted(NAMESPACES)]
            return 200, self.listed("namespaces", items)
        ns = rest[0]
        if len(rest) == 1:
            if ns not in NAMESPACES:
                return not_found("namespaces", ns)
            return 200, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                         "status": {"phase": "Active"}}
        if rest[1] != "pods":
            return status(404, "NotFound", "the server could not find the requested resource")
        if len(rest) == 2:
            sel = query.get("labelSelector", "")
            with LOCK:
                items = [p["obj"] for (pns, _), p in sorted(PODS.items())
                         if pns == ns and selector_matches(sel, p["obj"]["metadata"]["labels"])]
                return 200, self.listed("pods", items)
        name = rest[2]
        with LOCK:
            pod = PODS.get((ns, name))
            if pod is None:
                return not_found("pods", name)
            if len(rest) == 3:
                return 200, copy.deepcopy(pod["obj"])
        if rest[3] == "log":
            self.stream_log(ns, name, query)
            return None
        return status(404, "NotFound", "the server could not find the requested resource")

    def apps(self, method, ns, plural, rest, query):
        if plural not in ("deployments", "statefulsets"):
            return status(404, "NotFound", "the server could not find the requested resource")
        group = plural + ".apps"
        if not rest:
            with LOCK:
                items = [o for (wns, pl, _), o in WORKLOADS.items() if wns == ns and pl == plural]
                return 200, self.listed(plural, items)
        name = rest[0]
        key = (ns, plural, name)
        with LOCK:
            obj = WORKLOADS.get(key)
            if obj is None:
                return not_found(group, name)
            sub = rest[1] if len(rest) > 1 else None
            if sub not in (None, "scale"):
                return status(404, "NotFound", "the server could not find the requested resource")
            if method == "GET":
                return 200, copy.deepcopy(scale_of(obj) if sub == "scale" else obj)
            if method not in ("PATCH", "PUT"):
                return status(405, "MethodNotAllowed", "method not allowed")
            patch = self.body()
            if sub == "scale":
                if method == "PUT":
                    replicas = patch.get("spec", {}).get("replicas", 0)
                else:
                    replicas = merge_patch(scale_of(obj), patch)["spec"].get("replicas", 0)
                obj["spec"]["replicas"] = int(replicas)
            else:
                ctype = self.headers.get("Content-Type", "")
                if method == "PATCH" and "json-patch" in ctype and "merge" not in ctype:
                    return status(415, "UnsupportedMediaType", "json-patch is not supported by this fake")
                new = patch if method == "PUT" else merge_patch(obj, patch)
                new["metadata"] = dict(new.get("metadata", {}), name=name, namespace=ns,
                                       uid=obj["metadata"]["uid"])
                obj.clear()
                obj.update(new)
            obj["metadata"]["resourceVersion"] = next_version()
            obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            LOCK.notify_all()
            return 200, copy.deepcopy(scale_of(obj) if sub == "scale" else obj)

    def stream_log(self, ns, name, query):
        follow = query.get("follow") == "true"
        stamps = query.get("timestamps") == "true"
        tail = int(query["tailLines"]) if "tailLines" in query else None
        since = float(query["sinceSeconds"]) if "sinceSeconds" in query else None

        def line(t, text):
            return ((rfc3339(t, nanos=True) + " " if stamps else "") + text + "\n").encode()

        with LOCK:
            pod = PODS.get((ns, name))
            t = now()
            lines = [(lt, tx) for lt, tx in pod["log"] if lt <= t and (since is None or lt >= t - since)]
            if tail is not None:
                lines = lines[-tail:] if tail > 0 else []
            sent = len([1 for lt, _ in pod["log"] if lt <= t])
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for lt, tx in lines:
                self.chunk(line(lt, tx))
            while follow:
                with LOCK:
                    LOCK.wait(0.2)
                    pod = PODS.get((ns, name))
                    if pod is None:
                        break
                    t = now()
                    due = [(lt, tx) for lt, tx in pod["log"] if lt <= t]
                    fresh, sent = due[sent:], len(due)
                for lt, tx in fresh:
                    self.chunk(line(lt, tx))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def main():
    global DELAY
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--delay", type=float, default=0.5)
    args = ap.parse_args()
    DELAY = args.delay
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=reconciler, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
