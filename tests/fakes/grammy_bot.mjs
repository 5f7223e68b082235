// A real grammY poller for botctl's tests (the Node counterpart of ptb_bot.py).
//
// Polls the Bot API at $BOTAPI_URL with $BOT_TOKEN through grammY's own `bot.start()`, prints
// READY once polling starts, and exits 1 with the error when `bot.start()` rejects: grammY
// stops polling on a 409 Conflict (it never retries), which is what the tests show.
// grammY is the pinned one in tests/fakes/node (cargo xtask setup), found through
// $BOTCTL_NODE_FAKES so this file also runs when copied into a test's project folder.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.BOTCTL_NODE_FAKES}/package.json`);
const { Bot } = require("grammy");

const READY = "Бот успешно подключен";
const bot = new Bot(process.env.BOT_TOKEN, {
  client: { apiRoot: process.env.BOTAPI_URL },
});
bot.on("message", (ctx) => console.log(`got: ${ctx.message.text}`));

bot
  .start({
    onStart: (me) => console.log(`${READY} @${me.username}`),
  })
  .then(() => {
    console.log("polling stopped");
    process.exit(0);
  })
  .catch((error) => {
    console.error(`bot.start() rejected: ${error.description ?? error.message}`);
    process.exit(1);
  });

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => bot.stop());
}
