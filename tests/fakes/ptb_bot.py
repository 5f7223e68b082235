#!/usr/bin/env python3
"""A real python-telegram-bot 22 long-polling bot, for botctl's tests.

Env:
  BOT_TOKEN (or PARTNER_BOT_TOKEN)   the bot token (required)
  BOTAPI_URL                         Bot API base, e.g. http://127.0.0.1:PORT
                                     (default https://api.telegram.org)
Prints (stdout, flushed):
  "Бот успешно подключен"            once initialised (post_init), the ready log line
  "409 Conflict: <message>"          on every telegram.error.Conflict while polling
  "got message: <text>"              for every text message it receives
Uses PTB's defaults: 10 s long-poll timeout, retry with back-off on errors,
graceful stop on SIGTERM/SIGINT.  Works copied or symlinked as bot.py.
"""

import os
import sys

from telegram import Update
from telegram.error import Conflict
from telegram.ext import Application, ContextTypes, MessageHandler, filters

READY_LINE = "Бот успешно подключен"


def say(line, stream=None):
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


async def post_init(app: Application) -> None:
    say(READY_LINE)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    err = context.error
    if isinstance(err, Conflict):
        msg = err.message
        if msg.startswith("Conflict: "):
            msg = msg[len("Conflict: "):]
        say("409 Conflict: %s" % msg)
    else:
        say("error: %s: %s" % (type(err).__name__, err), sys.stderr)


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        say("got message: %s" % (update.effective_message.text or ""))


def main() -> int:
    for s in (sys.stdout, sys.stderr):
        try:
            s.reconfigure(encoding="utf-8")
        except (AttributeError, ValueError):
            pass
    token = os.environ.get("BOT_TOKEN") or os.environ.get("PARTNER_BOT_TOKEN")
    if not token:
        say("BOT_TOKEN (or PARTNER_BOT_TOKEN) is not set", sys.stderr)
        return 2
    api = (os.environ.get("BOTAPI_URL") or "https://api.telegram.org").rstrip("/")
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .post_init(post_init)
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, on_message))
    app.add_error_handler(on_error)
    app.run_polling()
    return 0


if __name__ == "__main__":
    sys.exit(main())
