// A real Telegraf poller for botctl's tests, like grammy_bot.mjs: polls the Bot API at
// $BOTAPI_URL with $BOT_TOKEN through Telegraf's own `bot.launch()`, prints READY once
// connected, and exits 1 with the error when `launch()` rejects (Telegraf 4 rethrows a 409).
import { createRequire } from "node:module";

const require = createRequire(`${process.env.BOTCTL_NODE_FAKES}/package.json`);
const { Telegraf } = require("telegraf");

const READY = "Бот успешно подключен";
const bot = new Telegraf(process.env.BOT_TOKEN, {
  telegram: { apiRoot: process.env.BOTAPI_URL },
});
bot.on("message", (ctx) => console.log(`got: ${ctx.message.text}`));

bot
  .launch(() => console.log(`${READY} @${bot.botInfo.username}`))
  .then(() => {
    console.log("polling stopped");
    process.exit(0);
  })
  .catch((error) => {
    console.error(`bot.launch() rejected: ${error.description ?? error.message}`);
    process.exit(1);
  });

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => bot.stop(signal));
}
