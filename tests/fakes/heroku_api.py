#!/usr/bin/env python3
"""Fake Heroku Platform API on loopback, for the REAL Heroku CLI (npm `heroku` 11.10.0).

The CLI is pointed here with HEROKU_HOST=http://127.0.0.1:PORT (and
HEROKU_PARTICLEBOARD_URL, the delinquency service it asks beside GET /account);
HEROKU_API_KEY is its token. Followed from the CLI's own source (github heroku/cli v11.9.0,
and node_modules/heroku/dist of the pinned 11.10.0; @heroku-cli/command 13.2.0):
- @heroku-cli/command lib/vars.js: HEROKU_HOST starting with http is the API URL as is;
  localhost and 127.0.0.1 are allowed hosts, and get `Authorization: Bearer KEY`
  (lib/api-client.js). Every request sends `Accept: application/vnd.heroku+json; version=3`
  unless the command names another (`version=3.sdk` below). A 401 with HEROKU_API_KEY set
  is "The token provided to HEROKU_API_KEY is invalid".
- `ps --json` (src/commands/ps/index.ts): GET /account, GET /apps/APP and
  GET /apps/APP/dynos, all `version=3.sdk`; prints the dynos sorted by name.
- `ps:scale` (src/commands/ps/scale.ts): without changes GET /apps/APP/formation and
  GET /apps/APP, prints `type=quantity:size …`; with `TYPE=N` GET /apps/APP then
  PATCH /apps/APP/formation {"updates": [{"type", "quantity", "size"}]}.
- `features --json` (src/commands/features/index.ts): GET /apps/APP/features, keeps
  state "general".
- `config` (src/commands/config/index.ts): GET /apps/APP/config-vars (botctl never calls it;
  served because the app has config vars, and the tests check botctl never asks).
- `logs` (src/lib/run/log-displayer.ts): GET /apps/APP (generation), POST
  /apps/APP/log-sessions {"dyno", "lines", "tail"} (`version=3.sdk`) answering
  {"logplex_url"}, then an EventSource (server-sent events) on that URL: each `data:` line is
  a log line; without tail the stream ends when the server closes it.
Errors are the Platform API's JSON: {"id": "not_found", "message": "Couldn't find that app."}.

State: the JSON file named by --state, read on every request and written back atomically:
{
  "api_key": "hrku-test",            # the only token accepted (401 otherwise)
  "start_delay": 1.0,                # a new dyno is "starting" that long, then "up"
  "hang": ["dynos"],                 # endpoints that never answer: dynos, formation, features, logs
  "apps": {"APP": {
      "formation": [{"type": "worker", "quantity": 1, "size": "Basic",
                     "command": "python bot.py"}],
      "dynos": [{"name": "worker.1", "type": "worker", "state": "up",
                 "command": "python bot.py", "updated_at": "…"}],   # missing keys filled
      "features": [{"name": "preboot", "enabled": false}],
      "config_vars": {"BOT_TOKEN": "…"},
      "logs": ["2026-12-06T20:00:00.000000+00:00 app[worker.1]: started"],
      "ready_line": "Bot started",         # logged by each dyno as it comes up (optional)
      "conflict_line": "409 Conflict…",    # logged right after it (optional)
      "refuse_scale": {"status": 403, "id": "forbidden", "message": "…"}}}   # PATCH formation
}
Every request is appended to "<state>.calls" as a JSON line {"method", "path", "accept"}.
"""

import argparse
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

LOCK = threading.Lock()
SIZE = "Basic"


def now_iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


class State:
    def __init__(self, path):
        self.path = path

    def read(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def write(self, state):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.path)

    def log_call(self, entry):
        with open(self.path + ".calls", "a") as f:
            f.write(json.dumps(entry) + "\n")


def logplex_time():
    """Logplex's stamp: `2026-12-06T20:00:00.123456+00:00`."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06d+00:00" % int((t % 1) * 1e6)


def settle(state):
    """Dynos asked for by a scale are `starting` until their time, then `up`: as it comes up a
    dyno logs the app's ready line (and conflict line) as `app[worker.1]`."""
    changed = False
    for app in state.get("apps", {}).values():
        for d in app.get("dynos", []):
            if d.get("state") == "starting" and d.get("up_at", 0) <= time.time() and "up_at" in d:
                d["state"] = "up"
                d["updated_at"] = now_iso()
                del d["up_at"]
                for key in ("ready_line", "conflict_line"):
                    if app.get(key):
                        app.setdefault("logs", []).append(
                            f"{logplex_time()} app[{d['name']}]: {app[key]}")
                changed = True
    return changed


def dyno_json(app_name, d):
    """A dyno as the Platform API shows it (the fields `ps --json` prints)."""
    name = d["name"]
    kind = d.get("type", name.split(".")[0])
    return {
        "attach_url": None,
        "command": d.get("command", ""),
        "created_at": d.get("created_at", d.get("updated_at", now_iso())),
        "id": d.get("id", str(uuid.uuid5(uuid.NAMESPACE_DNS, app_name + name))),
        "name": name,
        "app": {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, app_name)), "name": app_name},
        "release": {"id": "0b6a8a67-7c41-4d6e-9b0e-0c1e6d7a3c55", "version": 7},
        "size": d.get("size", SIZE),
        "state": d.get("state", "up"),
        "type": kind,
        "updated_at": d.get("updated_at", now_iso()),
    }


def formation_json(app_name, f):
    return {
        "app": {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, app_name)), "name": app_name},
        "command": f.get("command", ""),
        "created_at": "2026-11-20T09:00:00Z",
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, app_name + f["type"])),
        "quantity": f.get("quantity", 1),
        "size": f.get("size", SIZE),
        "type": f["type"],
        "updated_at": "2026-11-20T09:00:00Z",
    }


def feature_json(f):
    return {
        "created_at": "2026-11-20T09:00:00Z",
        "description": f.get("description", ""),
        "doc_url": "https://devcenter.heroku.com/articles/" + f["name"],
        "enabled": bool(f.get("enabled", False)),
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f["name"])),
        "name": f["name"],
        "state": f.get("state", "general"),
        "updated_at": "2026-11-20T09:00:00Z",
        "display_name": f["name"],
        "feedback_email": "",
    }


def scale(app_name, app, updates, delay):
    """PATCH formation: the type's quantity, and its dynos: extra ones stop at once (gone from
    `ps`), new ones start as `starting`."""
    for u in updates:
        kind = u.get("type")
        q = int(str(u.get("quantity", "0")).lstrip("="))
        form = next((f for f in app.setdefault("formation", []) if f["type"] == kind), None)
        if form is None:
            return None, kind
        form["quantity"] = q
        if u.get("size"):
            form["size"] = u["size"]
        dynos = app.setdefault("dynos", [])
        mine = sorted(
            (d for d in dynos if d.get("type", d["name"].split(".")[0]) == kind),
            key=lambda d: int(d["name"].split(".")[1]),
        )
        for d in mine[q:]:
            dynos.remove(d)
        numbers = {int(d["name"].split(".")[1]) for d in mine[:q]}
        n = 1
        while len(numbers) < q:
            if n not in numbers:
                numbers.add(n)
                dynos.append({
                    "name": f"{kind}.{n}", "type": kind, "state": "starting",
                    "command": form.get("command", ""), "updated_at": now_iso(),
                    "up_at": time.time() + delay,
                })
            n += 1
    return [formation_json(app_name, f) for f in app["formation"]], None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-heroku-api"

    def log_message(self, *args):
        pass

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self, what="app"):
        self.send_json(404, {"id": "not_found", "message": f"Couldn't find that {what}."})

    def hang(self, state, what):
        if what in state.get("hang", []):
            while True:
                time.sleep(3600)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def handle_any(self, method):
        path = urlparse(self.path).path
        store = self.server.store
        with LOCK:
            store.log_call({"method": method, "path": path,
                            "accept": self.headers.get("Accept", "")})
            state = store.read()
            if settle(state):
                store.write(state)
        if path.startswith("/logs/"):
            return self.stream_logs(path[len("/logs/"):])
        if path == "/particleboard/account" or path.startswith("/particleboard/"):
            return self.send_json(200, {})
        auth = self.headers.get("Authorization", "")
        if auth != "Bearer " + state.get("api_key", "hrku-test"):
            return self.send_json(401, {"id": "unauthorized",
                                        "message": "Invalid credentials provided."})
        parts = [p for p in path.split("/") if p]
        if parts == ["account"]:
            return self.send_json(200, {"id": "5f9b2a1e-0000-4000-8000-000000000001",
                                        "email": "dev@example.com"})
        if len(parts) < 2 or parts[0] != "apps":
            return self.not_found("resource")
        name = parts[1]
        app = state.get("apps", {}).get(name)
        if app is None:
            return self.not_found()
        rest = parts[2:]
        if rest == [] and method == "GET":
            return self.send_json(200, {
                "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "name": name,
                "generation": {"name": "cedar"}, "process_tier": "basic",
                "owner": {"id": "5f9b2a1e-0000-4000-8000-000000000001",
                          "email": "dev@example.com"},
                "space": None, "stack": {"name": "heroku-24"},
            })
        if rest == ["dynos"] and method == "GET":
            self.hang(state, "dynos")
            return self.send_json(200, [dyno_json(name, d) for d in app.get("dynos", [])])
        if rest == ["formation"] and method == "GET":
            self.hang(state, "formation")
            return self.send_json(200, [formation_json(name, f)
                                        for f in app.get("formation", [])])
        if rest == ["formation"] and method == "PATCH":
            body = self.body()
            refused = app.get("refuse_scale")
            if refused:
                return self.send_json(int(refused.get("status", 403)), {
                    "id": refused.get("id", "forbidden"), "message": refused.get("message", "")})
            with LOCK:
                state = store.read()
                app = state["apps"][name]
                out, missing = scale(name, app, body.get("updates", []),
                                     float(state.get("start_delay", 1.0)))
                if out is not None:
                    store.write(state)
            if out is None:
                return self.send_json(404, {"id": "not_found",
                                            "message": f"Couldn't find that process type ({missing})."})
            return self.send_json(200, out)
        if rest == ["features"] and method == "GET":
            self.hang(state, "features")
            return self.send_json(200, [feature_json(f) for f in app.get("features", [])])
        if len(rest) == 2 and rest[0] == "features" and method == "GET":
            f = next((f for f in app.get("features", []) if f["name"] == rest[1]), None)
            return self.send_json(200, feature_json(f)) if f else self.not_found("feature")
        if rest == ["config-vars"] and method == "GET":
            return self.send_json(200, app.get("config_vars", {}))
        if rest == ["log-sessions"] and method == "POST":
            self.hang(state, "logs")
            body = self.body()
            sid = uuid.uuid4().hex
            with LOCK:
                state = store.read()
                state.setdefault("log_sessions", {})[sid] = {
                    "app": name, "dyno": body.get("dyno"), "lines": body.get("lines", 100),
                    "tail": bool(body.get("tail")),
                }
                store.write(state)
            host, port = self.server.server_address[:2]
            return self.send_json(201, {
                "created_at": now_iso(), "id": sid, "updated_at": now_iso(),
                "logplex_url": f"http://{host}:{port}/logs/{sid}",
            })
        return self.not_found("resource")

    def stream_logs(self, sid):
        """Server-sent events, one `data:` per log line; the recent lines, then (tail) each
        new line appended to the app's logs until the client goes away."""
        session = self.server.store.read().get("log_sessions", {}).get(sid)
        if session is None:
            return self.send_json(404, {"id": "not_found", "message": "no such log session"})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def matching(lines):
            dyno = session.get("dyno")
            if not dyno:
                return lines
            return [l for l in lines if f"[{dyno}." in l or f"[{dyno}]" in l]

        def app_lines():
            app = self.server.store.read().get("apps", {}).get(session["app"], {})
            return app.get("logs", [])

        try:
            seen = len(app_lines())
            for line in matching(app_lines())[-int(session.get("lines") or 100):]:
                self.wfile.write(f"data: {line}\n\n".encode())
            self.wfile.flush()
            while session.get("tail"):
                time.sleep(0.2)
                lines = app_lines()
                for line in matching(lines[seen:]):
                    self.wfile.write(f"data: {line}\n\n".encode())
                seen = len(lines)
                # A comment line: finds a client that went away.
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.store = State(args.state)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
