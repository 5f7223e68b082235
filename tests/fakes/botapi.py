#!/usr/bin/env python3
"""Fake Telegram Bot API server for botctl's tests (stdlib only).

Reproduces the behaviours described in shared/reference/telegram.md that
matter for 409 conflicts: one pending long poll per token, the newer poll
terminating the older with a 409, 409 spacing, webhook conflicts, offsets,
allowed_updates bookkeeping.

    python3 botapi.py --port 0 --port-file PATH --token 123:AAAA...=mybot [--spacing 3] [--broken]

Bot API: /bot{TOKEN}/{method}, parameters from the query string, urlencoded
form, JSON or multipart/form-data.

Control endpoints (no token in the path; `token=` is a query parameter):
  POST /_control/update?token=T&text=hi      queue a message update -> {"ok":true,"result":update}
  POST /_control/webhook?token=T&url=U       set the webhook (empty url clears);
                                             optional last_error_message=... (sets last_error_date=now,
                                             or last_error_date=EPOCH), secret_token, max_connections,
                                             allowed_updates (JSON list), has_custom_certificate=1

Webhooks: setWebhook keeps url, secret_token (never shown by getWebhookInfo, as Telegram),
max_connections (default 40), allowed_updates and a certificate's presence; deleteWebhook and
setWebhook honour drop_pending_updates. While a webhook is set to a loopback http:// URL,
the fake delivers the queued updates to it as Telegram does (a POST of the update as JSON with
the X-Telegram-Bot-Api-Secret-Token header when a secret is set): a 2xx answer confirms the
update, anything else leaves it queued and sets last_error_date/last_error_message
("Wrong response from the webhook: 403 Forbidden", "Connection refused").
  GET  /_control/stats?token=T               {getUpdates_calls, conflicts_sent, pending_updates,
                                              allowed_updates_seen, allowed_updates, offsets_seen,
                                              webhook, long_poll_pending, methods, timeouts_seen}
  GET  /_control/stats                       {token_username: stats, ...} for every token
  POST /_control/token?token=T&username=U    add a valid token at run time
  POST /_control/broken?on=1|0               toggle the 502 mode
  POST /_control/flood?token=T&count=N&retry_after=S[&method=M]
                                             the next N Bot API calls of T (of method M only,
                                             e.g. setWebhook: Telegram's one-a-second rule)
                                             answer 429 with parameters.retry_after = S
  POST /_control/reset?token=T               clear updates, webhook, counters (and end a pending poll with [])
"""

import argparse
import email.parser
import email.policy
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")

CONFLICT_OTHER = ("Conflict: terminated by other getUpdates request; "
                  "make sure that only one bot instance is running")
CONFLICT_WEBHOOK = ("Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first")
CONFLICT_SETWEBHOOK = "Conflict: terminated by setWebhook request"

BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

CONFIG = {"spacing": 3.0, "broken": False}
TOKENS = {}          # token -> BotState
TOKENS_LOCK = threading.Lock()


class ApiError(Exception):
    def __init__(self, code, description, parameters=None, headers=None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters or {}
        self.headers = headers or {}


class Poll:
    """One pending long poll."""

    def __init__(self):
        self.terminated = None      # description of the 409 that ends it


class BotState:
    def __init__(self, token, username):
        self.token = token
        self.username = username
        self.cond = threading.Condition()
        self.reset()

    def reset(self):
        self.updates = []
        self.next_update_id = 100000001
        self.next_message_id = 1
        self.webhook_url = ""
        self.last_error_date = None
        self.last_error_message = None
        self.pending = None
        self.last_409 = None             # time the last 409 was (or will be) sent
        self.prev_offset = None          # for the "same offset again" rules
        self.prev_start = 0.0
        self.allowed_updates = None
        self.allowed_updates_seen = False
        self.stats = {"getUpdates_calls": 0, "conflicts_sent": 0, "offsets_seen": [],
                      "timeouts_seen": [], "methods": {}}
        self.flood = 0
        self.flood_retry_after = 0
        self.flood_method = None
        self.secret_token = None
        self.max_connections = 40
        self.has_custom_certificate = False
        self.drop_pending_seen = False
        self.deliveries = 0


# ---------------------------------------------------------------- parameters

def _to_int(v, default=0):
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return int(v)
    try:
        return int(str(v).strip())
    except ValueError:
        try:
            return int(float(str(v).strip()))
        except ValueError:
            return default


def _to_bool(v):
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def _json_list(v):
    if v is None:
        return None
    if isinstance(v, list):
        return v
    s = str(v)
    try:
        val = json.loads(s)
        if isinstance(val, list):
            return val
    except ValueError:
        pass
    return [x for x in s.split(",") if x]


def parse_params(handler, body):
    params = {}
    q = urlsplit(handler.path).query
    for k, vs in parse_qs(q, keep_blank_values=True).items():
        params[k] = vs[-1]
    ctype = handler.headers.get("Content-Type", "") or ""
    main = ctype.split(";")[0].strip().lower()
    if not body:
        return params
    if main == "application/json":
        try:
            obj = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Bad Request: can't parse JSON object")
        if isinstance(obj, dict):
            params.update(obj)
    elif main == "multipart/form-data":
        raw = b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        if msg.is_multipart():
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not name:
                    continue
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    params[name] = payload
                else:
                    params[name] = payload.decode(part.get_content_charset() or "utf-8", "replace")
    else:  # application/x-www-form-urlencoded or unspecified
        for k, vs in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
            params[k] = vs[-1]
    return params


# ---------------------------------------------------------------- Bot API methods

def make_update(st, text):
    now = int(time.time())
    user = {"id": 1001, "is_bot": False, "first_name": "Test", "username": "tester",
            "language_code": "en"}
    msg = {"message_id": st.next_message_id, "from": user,
           "chat": {"id": 1001, "first_name": "Test", "username": "tester", "type": "private"},
           "date": now, "text": text}
    if text.startswith("/"):
        msg["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    upd = {"update_id": st.next_update_id, "message": msg}
    st.next_update_id += 1
    st.next_message_id += 1
    return upd


def conflict(st, description):
    """Reserve the next 409 slot (under st.cond) and return the time to send it."""
    now = time.time()
    send_at = now
    if st.last_409 is not None and st.last_409 + CONFIG["spacing"] > now:
        send_at = st.last_409 + CONFIG["spacing"]
    st.last_409 = send_at
    st.stats["conflicts_sent"] += 1
    return ApiError(409, description, headers={"_send_at": send_at})


def m_getme(st, p):
    return {"id": int(st.token.split(":")[0]), "is_bot": True, "first_name": st.username,
            "username": st.username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False}


def m_getwebhookinfo(st, p):
    with st.cond:
        info = {"url": st.webhook_url, "has_custom_certificate": st.has_custom_certificate,
                "pending_update_count": len(st.updates)}
        if st.last_error_date is not None:
            info["last_error_date"] = st.last_error_date
            info["last_error_message"] = st.last_error_message or ""
        if st.webhook_url:
            info["max_connections"] = st.max_connections
            info["ip_address"] = "127.0.0.1"
        if st.allowed_updates:
            info["allowed_updates"] = list(st.allowed_updates)
    return info


def set_webhook_locked(st, url):
    st.webhook_url = url
    if url and st.pending is not None:
        st.pending.terminated = CONFLICT_SETWEBHOOK
        st.pending = None
        st.cond.notify_all()


def m_setwebhook(st, p):
    url = str(p.get("url", "") or "")
    secret = p.get("secret_token")
    if secret is not None and not re.match(r"^[A-Za-z0-9_-]{1,256}$", str(secret)):
        raise ApiError(400, "Bad Request: secret token contains unallowed characters")
    with st.cond:
        if _to_bool(p.get("drop_pending_updates")):
            st.drop_pending_seen = True
            st.updates.clear()
        if "allowed_updates" in p:
            st.allowed_updates = _json_list(p.get("allowed_updates"))
        was = st.webhook_url
        st.secret_token = str(secret) if secret else None
        st.max_connections = min(100, max(1, _to_int(p.get("max_connections"), 40)))
        st.has_custom_certificate = bool(url) and p.get("certificate") not in (None, "")
        if url != was:
            st.last_error_date = None
            st.last_error_message = None
        set_webhook_locked(st, url)
        st.cond.notify_all()
    if url:
        return True, ("Webhook is already set" if was == url else "Webhook was set")
    return True, ("Webhook is already deleted" if not was else "Webhook was deleted")


def m_deletewebhook(st, p):
    with st.cond:
        if _to_bool(p.get("drop_pending_updates")):
            st.drop_pending_seen = True
            st.updates.clear()
        was = st.webhook_url
        st.webhook_url = ""
        st.secret_token = None
        st.has_custom_certificate = False
    return True, ("Webhook was deleted" if was else "Webhook is already deleted")


def m_sendmessage(st, p):
    now = int(time.time())
    with st.cond:
        mid = st.next_message_id
        st.next_message_id += 1
    chat_id = _to_int(p.get("chat_id"), 1001)
    return {"message_id": mid,
            "from": {"id": int(st.token.split(":")[0]), "is_bot": True,
                     "first_name": st.username, "username": st.username},
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "date": now, "text": str(p.get("text", ""))}


def m_getupdates(st, p):
    offset = _to_int(p.get("offset"), 0)
    limit = min(100, max(1, _to_int(p.get("limit"), 100)))
    timeout = min(50, max(0, _to_int(p.get("timeout"), 0)))
    with st.cond:
        now = time.time()
        st.stats["getUpdates_calls"] += 1
        if "offset" in p:
            st.stats["offsets_seen"].append(offset)
        if "allowed_updates" in p:
            st.allowed_updates_seen = True
            st.allowed_updates = _json_list(p.get("allowed_updates"))
        # same offset again: timeout < 3 within 3 s is raised to 3; within 0.5 s limit becomes 1
        if st.prev_offset == offset:
            if timeout < 3 and now < st.prev_start + 3.0:
                timeout = 3
            if now < st.prev_start + 0.5:
                limit = 1
        st.prev_offset = offset
        st.prev_start = now
        st.stats["timeouts_seen"].append(timeout)
        if st.webhook_url:
            raise conflict(st, CONFLICT_WEBHOOK)
        if offset > 0:
            st.updates = [u for u in st.updates if u["update_id"] >= offset]
        elif offset < 0:
            st.updates = st.updates[offset:]

        def ready():
            return [u for u in st.updates if u["update_id"] >= offset][:limit]

        got = ready()
        if got or timeout == 0:
            return got
        me = Poll()
        if st.pending is not None:
            st.pending.terminated = CONFLICT_OTHER
            st.cond.notify_all()
        st.pending = me
        deadline = now + timeout
        while True:
            if me.terminated:
                raise conflict(st, me.terminated)
            if st.pending is not me:        # reset by /_control/reset
                return []
            got = ready()
            if got:
                if st.pending is me:
                    st.pending = None
                return got
            left = deadline - time.time()
            if left <= 0:
                if st.pending is me:
                    st.pending = None
                return []
            st.cond.wait(left)


METHODS = {
    "getme": m_getme,
    "getwebhookinfo": m_getwebhookinfo,
    "setwebhook": m_setwebhook,
    "deletewebhook": m_deletewebhook,
    "getupdates": m_getupdates,
    "sendmessage": m_sendmessage,
}


# ---------------------------------------------------------------- HTTP

def redact(path):
    path = re.sub(r"^/bot[^/?]*", "/bot<token>", path)
    return re.sub(r"(token=)[^&]*", r"\1<token>", path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx/1.18.0"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def log_line(self, status):
        sys.stderr.write("%s %s %s %d\n" % (time.strftime("%H:%M:%S"), self.command,
                                            redact(self.path), status))
        sys.stderr.flush()

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_raw(self, status, body, ctype, headers=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self.log_line(status)

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_raw(status, body, "application/json", headers)

    def send_error_json(self, err):
        hdrs = {k: v for k, v in err.headers.items() if not k.startswith("_")}
        send_at = err.headers.get("_send_at")
        if send_at is not None:
            delay = send_at - time.time()
            if delay > 0:
                time.sleep(delay)
        obj = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            obj["parameters"] = err.parameters
        self.send_json(err.code, obj, hdrs)

    def handle_any(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        path = urlsplit(self.path).path
        if path.startswith("/_control/"):
            return self.control(path[len("/_control/"):], body)
        if CONFIG["broken"]:
            return self.send_raw(502, BAD_GATEWAY_HTML.encode(), "text/html")
        try:
            m = re.match(r"^/bot([^/]*)/([A-Za-z_]+)/?$", path)
            if not m:
                raise ApiError(404, "Not Found")
            token, method = m.group(1), m.group(2)
            if not TOKEN_RE.match(token):
                raise ApiError(401, "Unauthorized: invalid token specified")
            with TOKENS_LOCK:
                st = TOKENS.get(token)
            if st is None:
                raise ApiError(401, "Unauthorized")
            fn = METHODS.get(method.lower())
            if fn is None:
                raise ApiError(404, "Not Found")
            with st.cond:
                st.stats["methods"][method] = st.stats["methods"].get(method, 0) + 1
                if st.flood > 0 and st.flood_method in (None, method.lower()):
                    st.flood -= 1
                    ra = st.flood_retry_after
                    raise ApiError(429, "Too Many Requests: retry after %d" % ra,
                                   {"retry_after": ra}, {"Retry-After": str(ra)})
            params = parse_params(self, body)
            res = fn(st, params)
            obj = {"ok": True}
            if isinstance(res, tuple):
                obj["result"], obj["description"] = res
            else:
                obj["result"] = res
            self.send_json(200, obj)
        except ApiError as e:
            self.send_error_json(e)

    # ------------------------------------------------------------ control
    def control(self, what, body):
        q = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
        if body:
            try:
                q.update(parse_params(self, body))
            except ApiError:
                pass
        token = q.get("token")
        if what == "broken":
            CONFIG["broken"] = _to_bool(q.get("on", "1"))
            return self.send_json(200, {"ok": True, "result": CONFIG["broken"]})
        if what == "token":
            if not token:
                return self.send_json(400, {"ok": False, "description": "token required"})
            with TOKENS_LOCK:
                if token not in TOKENS:
                    TOKENS[token] = BotState(token, q.get("username") or "bot")
            return self.send_json(200, {"ok": True, "result": True})
        if what == "stats" and not token:
            with TOKENS_LOCK:
                sts = list(TOKENS.values())
            return self.send_json(200, {s.username: stats_of(s) for s in sts})
        with TOKENS_LOCK:
            st = TOKENS.get(token)
        if st is None:
            return self.send_json(404, {"ok": False, "description": "unknown token"})
        if what == "update":
            with st.cond:
                upd = make_update(st, q.get("text", "hi"))
                st.updates.append(upd)
                st.cond.notify_all()
            return self.send_json(200, {"ok": True, "result": upd})
        if what == "webhook":
            with st.cond:
                set_webhook_locked(st, q.get("url", "") or "")
                if "last_error_message" in q:
                    st.last_error_message = q["last_error_message"] or None
                    st.last_error_date = (_to_int(q.get("last_error_date"), int(time.time()))
                                          if st.last_error_message else None)
                if "secret_token" in q:
                    st.secret_token = q["secret_token"] or None
                if "max_connections" in q:
                    st.max_connections = _to_int(q["max_connections"], 40)
                if "allowed_updates" in q:
                    st.allowed_updates = _json_list(q["allowed_updates"])
                st.has_custom_certificate = _to_bool(q.get("has_custom_certificate"))
                st.cond.notify_all()
            return self.send_json(200, {"ok": True, "result": True})
        if what == "stats":
            return self.send_json(200, stats_of(st))
        if what == "flood":
            with st.cond:
                st.flood = _to_int(q.get("count"), 1)
                st.flood_retry_after = _to_int(q.get("retry_after"), 5)
                st.flood_method = (q.get("method") or "").lower() or None
            return self.send_json(200, {"ok": True, "result": True})
        if what == "reset":
            with st.cond:
                if st.pending is not None:
                    st.pending.terminated = None
                st.reset()
                st.cond.notify_all()
            return self.send_json(200, {"ok": True, "result": True})
        return self.send_json(404, {"ok": False, "description": "unknown control endpoint"})

    do_GET = do_POST = do_HEAD = handle_any


def stats_of(st):
    with st.cond:
        return {"getUpdates_calls": st.stats["getUpdates_calls"],
                "conflicts_sent": st.stats["conflicts_sent"],
                "pending_updates": len(st.updates),
                "allowed_updates_seen": st.allowed_updates_seen,
                "allowed_updates": st.allowed_updates,
                "offsets_seen": list(st.stats["offsets_seen"]),
                "timeouts_seen": list(st.stats["timeouts_seen"]),
                "webhook": st.webhook_url,
                "long_poll_pending": st.pending is not None,
                "secret_token": st.secret_token,
                "max_connections": st.max_connections,
                "drop_pending_updates_seen": st.drop_pending_seen,
                "webhook_deliveries": st.deliveries,
                "methods": dict(st.stats["methods"])}


# ---------------------------------------------------------------- webhook delivery

def deliver_once(st):
    """POST the oldest queued update to the webhook, as Telegram does; True if one went."""
    with st.cond:
        url = st.webhook_url
        if not url or not st.updates or not re.match(r"^http://(127\.0\.0\.1|localhost)[:/]", url):
            return False
        upd = st.updates[0]
        secret = st.secret_token
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    req = urllib.request.Request(url, data=json.dumps(upd).encode(), headers=headers, method="POST")
    error = None
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            if not 200 <= resp.status < 300:
                error = "Wrong response from the webhook: %d %s" % (resp.status, resp.reason)
    except urllib.error.HTTPError as e:
        error = "Wrong response from the webhook: %d %s" % (e.code, e.reason)
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        error = "Connection refused" if isinstance(reason, ConnectionRefusedError) else str(reason)
    with st.cond:
        if st.webhook_url != url:
            return False
        if error:
            st.last_error_date = int(time.time())
            st.last_error_message = error
            return False
        if st.updates and st.updates[0] is upd:
            st.updates.pop(0)
        st.deliveries += 1
    return True


def delivery_loop():
    while True:
        with TOKENS_LOCK:
            sts = list(TOKENS.values())
        went = False
        for st in sts:
            went = deliver_once(st) or went
        time.sleep(0.05 if went else 0.5)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file")
    ap.add_argument("--token", action="append", default=[], metavar="TOKEN=username")
    ap.add_argument("--spacing", type=float, default=3.0)
    ap.add_argument("--broken", action="store_true")
    a = ap.parse_args()
    CONFIG["spacing"] = a.spacing
    CONFIG["broken"] = a.broken
    for t in a.token:
        tok, _, user = t.partition("=")
        TOKENS[tok] = BotState(tok, user or "bot")

    threading.Thread(target=delivery_loop, daemon=True).start()
    srv = Server((a.host, a.port), Handler)
    port = srv.server_address[1]
    if a.port_file:
        tmp = "%s.tmp.%d" % (a.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    print(port, flush=True)
    sys.stderr.write("fake botapi listening on %s:%d\n" % (a.host, port))
    sys.stderr.flush()

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
