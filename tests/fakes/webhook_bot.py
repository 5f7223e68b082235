#!/usr/bin/env python3
"""A webhook bot for botctl's tests, run on a fake Fly machine (the fake flyctl's "poller").

It serves Telegram's posts on 127.0.0.1:$WEBHOOK_PORT (stdlib only) and, like the frameworks:
  SETS_WEBHOOK=1   calls setWebhook at start with its url and secret_token, as
                   python-telegram-bot's run_webhook and Telegraf's launch({webhook}) do
  SETS_WEBHOOK=0   never sets it, as grammY's webhookCallback and aiogram do (a deploy script
                   or botctl must)
Env: BOT_TOKEN, BOTAPI_URL, WEBHOOK_URL, WEBHOOK_PORT, WEBHOOK_SECRET (optional: posts without
that X-Telegram-Bot-Api-Secret-Token header are answered 403, as PTB does).
Prints (stdout, flushed): "Бот успешно подключен" once serving, "got message: <text>" per
update, "rejected a post without the secret token" per 403.
"""

import json
import os
import signal
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READY_LINE = "Бот успешно подключен"
SECRET = os.environ.get("WEBHOOK_SECRET") or None


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Hook(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if SECRET and self.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            say("rejected a post without the secret token")
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            update = json.loads(body)
            say("got message: %s" % ((update.get("message") or {}).get("text") or ""))
        except ValueError:
            pass
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def set_webhook():
    api = os.environ["BOTAPI_URL"].rstrip("/")
    params = {"url": os.environ["WEBHOOK_URL"], "max_connections": "40"}
    if SECRET:
        params["secret_token"] = SECRET
    url = "%s/bot%s/setWebhook" % (api, os.environ["BOT_TOKEN"])
    data = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
        r.read()


def main():
    sys.stdout.reconfigure(encoding="utf-8")
    srv = ThreadingHTTPServer(("127.0.0.1", int(os.environ["WEBHOOK_PORT"])), Hook)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.environ.get("SETS_WEBHOOK") == "1":
        try:
            set_webhook()
        except OSError as e:
            say("setWebhook failed: %s" % e)
            return 1
    say(READY_LINE)
    srv.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
