//! `cargo xtask tour`: every rule of the 409 checklist, happening, with no Fly.io or Telegram
//! account.
//!
//! In a temp folder: a project with one bot (`partner`, @ghbipartnerbot), the fake Bot API
//! (tests/fakes/botapi.py) and the fake flyctl (tests/fakes/flyctl) whose one machine runs a real
//! python-telegram-bot poller while it is started. The tour starts that machine, then walks a
//! newcomer through status → a teammate's local copy → status (conflict) → doctor --probe →
//! dev-stop → dev-start --no-run → status (stopped) → a teammate's laptop reading the handoff
//! record on Fly → deploy-resume → status (ok), and then a webhook bot's handoff (its webhook
//! recorded, deleted keeping the updates and set again with its secret; a real
//! python-telegram-bot poller deleting it, and doctor naming it), and a bot on Kubernetes (the
//! real kubectl against a fake API server: two replicas counted, doctor's replicas and rollout
//! findings, dev-start scaling to 0, deploy-resume scaling back to one and reading the ready
//! line), printing each command with its real output and exit code.
//!
//! Each step is checked (exit code and a few key facts: the verdict, the machine's state, the
//! pollers, the handoff), so CI runs the tour as a test: it fails with the step that differed.
//! The machine's poller, the teammate's bot, the fake Bot API and the folder are removed however
//! the tour ends (Ctrl-C included).

use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};

use test_support::{BotApi, KubeApi, ProcessTableLock, PtbBot, READY_LINE, alive, fake, lock_path};

use crate::doubles::{self, TempDir, double_failed, interrupted, parse_json, pause};
use crate::{Error, Result, cargo, run_command, setup, target_dir};

const BOT: &str = "partner";
const USERNAME: &str = "ghbipartnerbot";
const APP: &str = "loyalitybot-partner";
const MACHINE: &str = "148ed193b95089";
const TOKEN_ENV: &str = "PARTNER_BOT_TOKEN";
/// A made-up token the fake Bot API accepts as @ghbipartnerbot (never a real one).
const TOKEN: &str = "7012345678:AAtourtourtourtourtourtourtourtour01";
/// Every botctl (and flyctl) call is killed after this long, and the tour fails.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);
/// How long the machine may take to settle and its poller to connect.
const MACHINE_LIMIT: Duration = Duration::from_secs(60);
/// Who botctl is on the teammate's laptop of the tour.
const TEAMMATE: &str = "bob@thinkpad";
/// The webhook bot of the tour's last chapter: its own folder, token, app and machine.
const SHOP: &str = "shop";
const SHOP_USERNAME: &str = "ghbishopbot";
const SHOP_APP: &str = "loyalitybot-shop";
const SHOP_MACHINE: &str = "6e82d4e1f0a777";
const SHOP_TOKEN_ENV: &str = "SHOP_BOT_TOKEN";
const SHOP_TOKEN: &str = "7012345679:AAtourshoptourshoptourshoptourshop01";
const SHOP_SECRET_ENV: &str = "SHOP_WEBHOOK_SECRET";
/// A made-up secret_token; the tour checks that no botctl output shows it.
const SHOP_SECRET: &str = "tour-webhook-secret-never-shown";
/// The Kubernetes chapter's bot, its Deployment and the line its pods log once they poll.
const RELAY: &str = "relay";
const RELAY_DEPLOYMENT: &str = "lb-relay";
const RELAY_READY: &str = "relay bot polling";

pub fn run(root: &Path) -> Result<()> {
    doubles::catch_interrupt();
    setup::run(root)?;
    let botctl = build_botctl(root)?;
    let _lock = wait_for_integration_tests()?;
    let mut tour = Tour::set_up(root, botctl)?;
    let walked = tour.walk();
    println!(
        "\n# Cleaning up: the machine's poller, the fake Bot API, {}",
        tour.dir.path().display()
    );
    drop(tour);
    walked?;
    println!("xtask tour: every step did what the checklist says");
    Ok(())
}

fn build_botctl(root: &Path) -> Result<PathBuf> {
    run_command(cargo(root).args(["build", "--locked", "-p", "botctl"]))?;
    let botctl = target_dir(root).join("debug/botctl");
    if !botctl.is_file() {
        return Err(Error::new(format!(
            "the build left no {}",
            botctl.display()
        )));
    }
    Ok(botctl)
}

/// The tour and the integration tests that start processes take the same process-table lock
/// (see test-support): it bounds how many real pollers run at once on a small machine.
fn wait_for_integration_tests() -> Result<ProcessTableLock> {
    let failed = |e| Error::io(format!("cannot lock {}", lock_path().display()), e);
    let mut said = false;
    loop {
        if let Some(lock) = ProcessTableLock::try_take().map_err(failed)? {
            return Ok(lock);
        }
        if !said {
            println!(
                "xtask tour: waiting for botctl's integration tests to finish (they hold {})",
                lock_path().display()
            );
            said = true;
        }
        pause()?;
    }
}

/// The doubles and the project. Fields drop in this order: the teammate's bot, the machine's
/// poller, the fake Bot API, then the folder.
struct Tour {
    local: Option<PtbBot>,
    fly: FakeFly,
    api: BotApi,
    dir: TempDir,
    project: PathBuf,
    botctl: PathBuf,
    python: PathBuf,
    colour: bool,
}

impl Tour {
    fn set_up(root: &Path, botctl: PathBuf) -> Result<Tour> {
        let python = setup::venv_python(root);
        let dir = TempDir::new("tour")?;
        let project = dir.path().join("project");
        std::fs::create_dir(&project)
            .map_err(|e| Error::io(format!("cannot create {}", project.display()), e))?;

        heading("Setting the stage: a project, a fake Bot API, a fake Fly.io");
        let api = BotApi::launch(
            &python,
            &[(TOKEN, USERNAME), (SHOP_TOKEN, SHOP_USERNAME)],
            &[],
        )
        .map_err(double_failed)?;
        println!(
            "fake Bot API (tests/fakes/botapi.py) at {}, knows a token for @{USERNAME}",
            api.url()
        );
        let fly = FakeFly {
            flyctl: fake("flyctl"),
            state: dir.path().join("fly-state.json"),
        };
        let colour = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let tour = Tour {
            local: None,
            fly,
            api,
            dir,
            project,
            botctl,
            python,
            colour,
        };
        tour.write_project()?;
        tour.write_fly_state()?;
        Ok(tour)
    }

    fn write_project(&self) -> Result<()> {
        // `./bot.py`, a path: only the project's own copy counts, so a teammate's `python3
        // bot.py` elsewhere on this machine is neither counted by the tour nor stopped by it.
        let config = format!(
            "[fly]\nflyctl = {flyctl:?}\nwait = \"60s\"\n\n\
             [telegram]\napi = {api:?}\nprobe = \"8s\"\n\n\
             [[bot]]\nname = \"{BOT}\"\nscript = \"./bot.py\"\ntoken_env = \"{TOKEN_ENV}\"\n\
             username = \"{USERNAME}\"\nfly_app = \"{APP}\"\nready_log = \"{READY_LINE}\"\n",
            flyctl = self.fly.flyctl.display().to_string(),
            api = self.api.url(),
        );
        self.write("botctl.toml", &config)?;
        self.write(".env", &format!("{TOKEN_ENV}={TOKEN}\n"))?;
        let bot = self.project.join("bot.py");
        std::fs::copy(fake("ptb_bot.py"), &bot)
            .map_err(|e| Error::io(format!("cannot write {}", bot.display()), e))?;
        println!("project {}:", self.project.display());
        println!("  bot.py       a real python-telegram-bot bot (tests/fakes/ptb_bot.py)");
        println!("  .env         {TOKEN_ENV}=… (a made-up token)");
        println!("  botctl.toml");
        for line in config.lines() {
            println!("    {line}");
        }
        Ok(())
    }

    fn write_fly_state(&self) -> Result<()> {
        let poller = [
            self.python.display().to_string(),
            fake("ptb_bot.py").display().to_string(),
        ];
        let state = json!({
            "logged_in": true,
            "apps": {APP: {
                "machines": [{
                    "id": MACHINE, "name": "odd-fog-1234", "state": "stopped", "region": "ams",
                    "autostart": false, "start_delay": 1, "stop_delay": 1,
                    "poller": poller,
                    "poller_env": {"BOT_TOKEN": TOKEN, "BOTAPI_URL": self.api.url()},
                }],
                "ready_log": READY_LINE,
                // The app holds the token as a secret, as a deployed bot's app does.
                "secrets": [{"name": TOKEN_ENV, "value": TOKEN}],
            }},
        });
        std::fs::write(&self.fly.state, state.to_string())
            .map_err(|e| Error::io(format!("cannot write {}", self.fly.state.display()), e))?;
        println!(
            "fake Fly.io ({}): app {APP}, machine {MACHINE} in ams, stopped; \
             when started it runs the real poller",
            self.fly.state.display()
        );
        Ok(())
    }

    fn write(&self, name: &str, text: &str) -> Result<()> {
        let path = self.project.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    // -------------------------------------------------------------------- the walk

    fn walk(&mut self) -> Result<()> {
        heading("Fly.io runs the partner bot");
        say("The machine starts, and its poller long-polls the (fake) Bot API.");
        let mut start = self.fly.command();
        start.args(["machine", "start", MACHINE, "--app", APP]);
        run_shown(
            start,
            &format!("flyctl machine start {MACHINE} --app {APP}"),
        )?
        .expect(0)?;
        let fly_poller = self.wait_for_fly_poller()?;
        println!(
            "every botctl below runs in {} with FAKE_FLY_STATE={} and {}, and is stopped \
             after {} s",
            self.project.display(),
            self.fly.state.display(),
            if self.colour {
                "CLICOLOR_FORCE=1"
            } else {
                "NO_COLOR=1"
            },
            COMMAND_LIMIT.as_secs()
        );

        heading("One place: all is well");
        say("`status` looks everywhere a bot can poll from: processes here, Fly machines,");
        say("the webhook, autostart entries. One place is the only healthy answer.");
        self.botctl(&["status"])?
            .expect_hint(
                0,
                "is another `python3 ./bot.py` running in the tour's project? botctl counts \
                 it as a second place, so the tour stops here",
            )?
            .expect_verdict("ok")?;

        heading("A teammate starts the bot on their laptop");
        say("Same token, second poller: Telegram now answers one of them");
        say("409 Conflict: terminated by other getUpdates request, and updates get split.");
        self.start_local_bot()?;

        heading("status sees both places");
        self.botctl(&["status"])?
            .expect(1)?
            .expect_verdict("conflict")?;

        heading("doctor names the cause first");
        say("`doctor` lists findings, the cause of the 409 first, each with the command that");
        say("fixes it; `--probe` long-polls to catch a poller nobody can see.");
        let doctor = self.botctl(&["doctor", "--probe"])?;
        doctor.expect(1)?;
        // Its first line after the probe's warning (stderr, before the probe runs).
        let first = doctor.first_line_after("Probing for ");
        if !first.contains(&format!("{BOT} runs in 2 places")) {
            return Err(Error::new(format!(
                "`botctl doctor --probe` should name the cause first ({BOT} runs in 2 places); \
                 its first line is: {first}"
            )));
        }

        heading("Rule: stop your own local copy (not `pkill -f bot.py`)");
        say("`dev-stop` stops each copy through what keeps it alive (pm2, supervisord, systemd,");
        say("a shell loop: `pkill` alone is useless against them), SIGTERMs the rest, SIGKILLs");
        say("what is left, and watches `[local] respawn` to prove no copy comes back.");
        self.botctl(&["dev-stop", BOT, "--yes"])?.expect(0)?;
        self.expect_local_bot_gone()?;

        heading("Rule: to work on it locally, take it off Fly.io first");
        say("`dev-start` records the handoff, stops the machine and waits until Fly says");
        say("stopped (`flyctl machine stop` does not wait), then probes that nobody polls.");
        say("--no-run: do not start the bot here (this tour has no terminal to run it in).");
        self.botctl(&["dev-start", BOT, "--yes", "--no-run"])?
            .expect(0)?;
        self.expect_machine("stopped")?;
        if alive(fly_poller) {
            return Err(Error::new(format!(
                "the machine is stopped, but its poller (pid {fly_poller}) still runs"
            )));
        }
        println!("(the machine's poller, pid {fly_poller}, is gone)");
        if self.handoff()?.is_none() {
            return Err(Error::new(
                "dev-start recorded no handoff in .botctl/state.json",
            ));
        }

        heading("Nobody polls now; the handoff is recorded");
        self.botctl(&["status"])?
            .expect(0)?
            .expect_verdict("stopped")?;

        self.teammate_sees_the_record()?;

        heading("Rule: hand it back to Fly.io");
        say("`deploy-resume` starts exactly the machines dev-start stopped, waits until they");
        say("are started and the ready line appears in the logs with no 409 after it, then");
        say("clears the handoff.");
        self.botctl(&["deploy-resume", BOT, "--yes"])?
            .expect(0)?
            .expect_text(READY_LINE, "the ready line it waited for")?;
        self.expect_machine("started")?;
        if let Some(handoff) = self.handoff()? {
            return Err(Error::new(format!(
                "deploy-resume left the handoff in .botctl/state.json: {handoff}"
            )));
        }
        self.wait_for_fly_poller()?;

        heading("Back to one place");
        self.botctl(&["status"])?.expect(0)?.expect_verdict("ok")?;
        self.webhook_bot()?;
        self.kubernetes_bot()
    }

    /// The Kubernetes chapter: the real kubectl (pinned, in `.venv`) against the fake API
    /// server (tests/fakes/kube_api.py), through a kubeconfig of the tour's own.
    fn kubernetes_bot(&mut self) -> Result<()> {
        heading("A bot on Kubernetes: two replicas are two pollers");
        say("The relay bot runs as Deployment lb-relay with replicas: 2 and the default");
        say("RollingUpdate: two pods poll with one token, and every rollout adds a third.");
        let folder = self.dir.path().join("cluster");
        let kube = KubeApi::start(&folder.join("api"), &[]).map_err(double_failed)?;
        let kubeconfig = folder.join("kubeconfig");
        kube.write_kubeconfig(&kubeconfig).map_err(double_failed)?;
        kube.deployment(
            RELAY_DEPLOYMENT,
            2,
            json!({"strategy": null, "ready_line": RELAY_READY}),
        );
        let config = format!(
            "[[bot]]\nname = \"{RELAY}\"\nscript = \"./relay_bot.py\"\nready_log = \"{RELAY_READY}\"\n\
kubernetes = {{ deployment = \"{RELAY_DEPLOYMENT}\", namespace = \"bots\", context = \"prod\" }}\n"
        );
        let path = folder.join("botctl.toml");
        std::fs::write(&path, config)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        println!(
            "fake Kubernetes API (tests/fakes/kube_api.py) at {}; KUBECONFIG={}",
            kube.url(),
            kubeconfig.display()
        );
        if !kube.wait_for_pods(RELAY_DEPLOYMENT, 2, MACHINE_LIMIT) {
            return Err(Error::new(
                "the fake cluster did not start lb-relay's two pods",
            ));
        }
        let relay = |args: &[&str]| {
            let (mut cmd, shown) = self.botctl_command(&folder, None, args);
            let venv_bin = test_support::kubectl()
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let path = std::env::var_os("PATH").unwrap_or_default();
            let path =
                std::env::join_paths(std::iter::once(venv_bin).chain(std::env::split_paths(&path)))
                    .unwrap_or(path);
            cmd.env("KUBECONFIG", &kubeconfig).env("PATH", path);
            run_shown(cmd, &shown)
        };

        heading("status counts the pods; doctor says why there are two");
        relay(&["status"])?
            .expect(1)?
            .expect_verdict_of(RELAY, "conflict")?;
        relay(&["doctor"])?
            .expect(1)?
            .expect_text("keeps 2 replicas", "the replicas finding")?
            .expect_text("maxSurge 25%", "the rollout finding")?;

        heading("dev-start scales it to 0 and records the handoff on the Deployment");
        say("The former count goes to .botctl/state.json and to annotations botctl.dev/by, /at,");
        say(
            "/bot, /scale on the Deployment (no pod restarts), where a teammate's status reads it.",
        );
        relay(&["dev-start", RELAY, "--yes", "--no-run", "--no-probe"])?
            .expect(0)?
            .expect_text("from 2 to 0", "the scale step")?;
        relay(&["status"])?
            .expect(0)?
            .expect_verdict_of(RELAY, "stopped")?;

        heading("deploy-resume scales it back: to one, for a polling bot");
        relay(&["deploy-resume", RELAY, "--yes"])?
            .expect(0)?
            .expect_text("scaling to 1", "one replica for a polling bot")?
            .expect_text(RELAY_READY, "the ready line in kubectl logs")?;
        relay(&["status"])?
            .expect(0)?
            .expect_verdict_of(RELAY, "ok")?;
        Ok(())
    }

    /// The last chapter: a webhook bot (`mode = "webhook"`), in a folder of its own. Its Fly
    /// machine runs tests/fakes/webhook_bot.py, which serves Telegram's posts, checks the
    /// secret and (like grammY's webhookCallback) never sets its webhook itself.
    fn webhook_bot(&mut self) -> Result<()> {
        heading("A webhook bot: Telegram posts to Fly, the laptop polls");
        say("Many bots on Fly take updates by webhook (a stopped machine costs nothing: Fly Proxy");
        say(
            "starts one on Telegram's POST) and poll when run on a laptop. What the frameworks do:",
        );
        say(
            "  python-telegram-bot: run_polling deletes the webhook, run_webhook sets it (with its secret)",
        );
        say("  Telegraf:            launch() deletes it, launch({webhook}) sets it");
        say("  grammY:              bot.start() deletes it, webhookCallback never sets it");
        say("  aiogram 3:           never touches it");
        say("So a polling copy silently deletes production's webhook, and only PTB and Telegraf");
        say("set it again by themselves. getWebhookInfo never returns the secret token: botctl");
        say("records the rest and reads the secret from webhook_secret_env.");
        let (folder, port) = self.write_shop()?;
        let hook = format!("http://127.0.0.1:{port}/telegram");
        let mut start = self.fly.command();
        start.args(["machine", "start", SHOP_MACHINE, "--app", SHOP_APP]);
        run_shown(
            start,
            &format!("flyctl machine start {SHOP_MACHINE} --app {SHOP_APP}"),
        )?
        .expect(0)?;
        self.wait_for_shop_bot()?;
        say("Its deploy script set the webhook (grammY does not), with the secret:");
        println!(
            "$ curl \"$API/bot${SHOP_TOKEN_ENV}/setWebhook\" -d url={hook} -d secret_token=\"${SHOP_SECRET_ENV}\""
        );
        self.api
            .set_webhook_with(SHOP_TOKEN, &hook, &[("secret_token", SHOP_SECRET)]);

        heading("The webhook and its machine are one place");
        self.shop(&["status"])?
            .expect(0)?
            .expect_verdict_of(SHOP, "ok")?;

        heading("dev-start records the webhook and deletes it, keeping the pending updates");
        say("Steps: record url, max_connections and allowed_updates; stop the machine and wait;");
        say("deleteWebhook without drop_pending_updates, so the poller here gets what waited.");
        self.shop(&["dev-start", SHOP, "--yes", "--no-run"])?
            .expect(0)?
            .expect_text("keeping the pending updates", "the delete step")?;
        say("Users write meanwhile; with no webhook and nobody polling, Telegram holds it:");
        println!("(two messages queued at the fake Bot API)");
        self.api.queue_update(SHOP_TOKEN, "order 1");
        self.api.queue_update(SHOP_TOKEN, "order 2");

        heading("deploy-resume sets the webhook again, with its secret, and checks delivery");
        say("The bot on the machine does not set it (grammY), so botctl sets it from the record");
        say("and webhook_secret_env, then watches Telegram deliver the two waiting updates.");
        self.shop(&["deploy-resume", SHOP, "--yes"])?
            .expect(0)?
            .expect_text("with the secret_token from", "the secret's variable")?
            .expect_text("no delivery error", "the delivery check")?;
        let log = std::fs::read_to_string(self.fly.poller_log_of(SHOP_MACHINE)).unwrap_or_default();
        if !log.contains("got message: order 2") {
            return Err(Error::new(format!(
                "the webhook bot on {SHOP_MACHINE} did not get the waiting updates; its output:\n{log}"
            )));
        }
        println!("(the bot on {SHOP_MACHINE} got \"order 1\" and \"order 2\" through its webhook)");

        heading("A polling copy deletes the webhook, and no 409 says so");
        say("A teammate runs the bot locally with python-telegram-bot's run_polling:");
        std::fs::copy(fake("ptb_bot.py"), folder.join("shop_bot.py"))
            .map_err(|e| Error::io("cannot copy ptb_bot.py", e))?;
        let mut cmd = test_support::venv_python3(&self.python);
        cmd.arg("shop_bot.py")
            .current_dir(&folder)
            .env("BOT_TOKEN", SHOP_TOKEN)
            .env("BOTAPI_URL", self.api.url())
            .env_remove(TOKEN_ENV);
        println!("$ python3 shop_bot.py &   # with the production token");
        let copy = PtbBot::spawn(&mut cmd).map_err(double_failed)?;
        println!(
            "(shop_bot.py runs as pid {}; it deleted the webhook as it started)",
            copy.pid()
        );
        self.shop(&["doctor", SHOP])?
            .expect(1)?
            .expect_text("a polling copy deleted it", "the webhook finding")?;
        self.shop(&["dev-stop", SHOP, "--yes"])?.expect(0)?;
        drop(copy);
        self.shop(&["deploy-resume", SHOP, "--yes"])?
            .expect(0)?
            .expect_text("Set the webhook", "the webhook set again")?;
        self.shop(&["status"])?
            .expect(0)?
            .expect_verdict_of(SHOP, "ok")?;
        Ok(())
    }

    /// The webhook bot's folder (botctl.toml and .env) and its app in the fake Fly.io; returns
    /// the folder and the port its bot serves.
    fn write_shop(&self) -> Result<(PathBuf, u16)> {
        let folder = self.dir.path().join("shop");
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::io(format!("cannot create {}", folder.display()), e))?;
        let port = test_support::free_port();
        let hook = format!("http://127.0.0.1:{port}/telegram");
        let config = format!(
            "[fly]\nflyctl = {flyctl:?}\nwait = \"60s\"\n\n\
             [telegram]\napi = {api:?}\nprobe = \"3s\"\n\n\
             [[bot]]\nname = \"{SHOP}\"\nscript = \"./shop_bot.py\"\ntoken_env = \"{SHOP_TOKEN_ENV}\"\n\
             username = \"{SHOP_USERNAME}\"\nfly_app = \"{SHOP_APP}\"\nready_log = \"{READY_LINE}\"\n\
             mode = \"webhook\"\nwebhook_url = \"{hook}\"\nwebhook_secret_env = \"{SHOP_SECRET_ENV}\"\n",
            flyctl = self.fly.flyctl.display().to_string(),
            api = self.api.url(),
        );
        let write = |name: &str, text: &str| {
            let path = folder.join(name);
            std::fs::write(&path, text)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
        };
        write("botctl.toml", &config)?;
        write(
            ".env",
            &format!("{SHOP_TOKEN_ENV}={SHOP_TOKEN}\n{SHOP_SECRET_ENV}={SHOP_SECRET}\n"),
        )?;
        println!("project {}:", folder.display());
        println!("  .env         {SHOP_TOKEN_ENV}=…, {SHOP_SECRET_ENV}=… (made up)");
        println!("  botctl.toml");
        for line in config.lines() {
            println!("    {line}");
        }
        let mut state = self.fly.read()?;
        state["apps"][SHOP_APP] = json!({
            "machines": [{
                "id": SHOP_MACHINE, "state": "stopped", "region": "ams", "autostart": true,
                "start_delay": 1, "stop_delay": 1,
                "poller": [self.python.display().to_string(), fake("webhook_bot.py").display().to_string()],
                "poller_env": {"BOT_TOKEN": SHOP_TOKEN, "BOTAPI_URL": self.api.url(),
                               "WEBHOOK_URL": hook, "WEBHOOK_PORT": port.to_string(),
                               "WEBHOOK_SECRET": SHOP_SECRET, "SETS_WEBHOOK": "0"},
            }],
            "ready_log": READY_LINE,
            "logs": [],
            // The app holds its token as a secret, as a deployed bot's app does.
            "secrets": [{"name": SHOP_TOKEN_ENV, "value": SHOP_TOKEN}],
        });
        std::fs::write(&self.fly.state, state.to_string())
            .map_err(|e| Error::io(format!("cannot write {}", self.fly.state.display()), e))?;
        println!(
            "fake Fly.io: app {SHOP_APP}, machine {SHOP_MACHINE}, stopped; when started it runs \
             tests/fakes/webhook_bot.py on 127.0.0.1:{port}"
        );
        Ok((folder, port))
    }

    /// Waits until the webhook bot's machine is started and its bot serves.
    fn wait_for_shop_bot(&self) -> Result<()> {
        let deadline = Instant::now() + MACHINE_LIMIT;
        let log = self.fly.poller_log_of(SHOP_MACHINE);
        loop {
            // A machine list settles the machine (and so starts its bot).
            let _ = self
                .fly
                .command()
                .args(["machine", "list", "--app", SHOP_APP, "--json"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if std::fs::read_to_string(&log).is_ok_and(|t| t.contains(READY_LINE)) {
                println!("machine {SHOP_MACHINE}'s webhook bot: {READY_LINE}, serving");
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "machine {SHOP_MACHINE}'s webhook bot did not start within {} s",
                    MACHINE_LIMIT.as_secs()
                )));
            }
            pause()?;
        }
    }

    /// [`Tour::botctl`] in the webhook bot's folder; no output may show its secret.
    fn shop(&self, args: &[&str]) -> Result<Ran> {
        let ran = self.botctl_in(&self.dir.path().join("shop"), None, args)?;
        if ran.output.contains(SHOP_SECRET) {
            return Err(Error::new(format!(
                "`{}` printed the webhook's secret token",
                ran.shown
            )));
        }
        Ok(ran)
    }

    /// A teammate's laptop (a clone of the project, botctl as `TEAMMATE`) reads the handoff
    /// record dev-start published on the stopped machine: status names who has the bot, and
    /// the teammate's dev-start refuses.
    fn teammate_sees_the_record(&self) -> Result<()> {
        heading("A teammate's laptop sees who has it");
        say("dev-start published the handoff on the stopped machine (Fly machine metadata");
        say("botctl_by, botctl_at, botctl_bot), so every laptop reads it from the `machine list`");
        say(&format!(
            "it makes anyway. Here botctl runs as {TEAMMATE} (BOTCTL_WHO), in a clone of the"
        ));
        say(
            "project of their own: your laptop is a place of the bot they cannot see but can name.",
        );
        let clone = self.dir.path().join("teammate");
        std::fs::create_dir_all(&clone)
            .map_err(|e| Error::io(format!("cannot create {}", clone.display()), e))?;
        for name in ["botctl.toml", ".env"] {
            std::fs::copy(self.project.join(name), clone.join(name))
                .map_err(|e| Error::io(format!("cannot copy {name}"), e))?;
        }
        self.botctl_in(&clone, Some(TEAMMATE), &["status"])?
            .expect(0)?
            .expect_verdict("ok")?
            .expect_text(
                "not seen from here",
                "your laptop as the place the bot runs",
            )?;
        say("Their dev-start refuses, naming you and the fix (`--take-over` probes first):");
        self.botctl_in(
            &clone,
            Some(TEAMMATE),
            &["dev-start", BOT, "--yes", "--no-run"],
        )?
        .expect(1)?
        .expect_text("--take-over", "the take-over fix")?;
        Ok(())
    }

    /// Waits until the machine is started and its poller has connected and polls; its pid.
    fn wait_for_fly_poller(&self) -> Result<u32> {
        let deadline = Instant::now() + MACHINE_LIMIT;
        let log = self.fly.poller_log();
        let pid = loop {
            let machine = self.fly.machine()?;
            let pid = machine["poller_pid"].as_u64().map(|p| p as u32);
            let ready = std::fs::read_to_string(&log)
                .is_ok_and(|text| text.lines().any(|l| l.contains(READY_LINE)));
            match pid {
                Some(pid) if machine["state"] == "started" && ready => break pid,
                Some(pid) if !alive(pid) => {
                    return Err(Error::new(format!(
                        "the machine's poller (pid {pid}) exited; its output, {}:\n{}",
                        log.display(),
                        std::fs::read_to_string(&log).unwrap_or_default()
                    )));
                }
                _ => {}
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "machine {MACHINE} did not start a poller that printed {READY_LINE:?} \
                     within {} s (machine: {machine})",
                    MACHINE_LIMIT.as_secs()
                )));
            }
            pause()?;
        };
        self.api
            .wait_for_long_poll(TOKEN, true)
            .map_err(double_failed)?;
        println!("machine {MACHINE}'s poller (pid {pid}): {READY_LINE}, and it long-polls");
        Ok(pid)
    }

    /// `python3 bot.py` in the project, as a teammate types it.
    fn start_local_bot(&mut self) -> Result<()> {
        let mut cmd = test_support::venv_python3(&self.python);
        cmd.arg("bot.py")
            .current_dir(&self.project)
            .env(TOKEN_ENV, TOKEN)
            .env("BOTAPI_URL", self.api.url())
            .env_remove("BOT_TOKEN");
        println!(
            "$ python3 bot.py &   # in the project, {TOKEN_ENV} from .env, BOTAPI_URL={}",
            self.api.url()
        );
        let bot = PtbBot::spawn(&mut cmd).map_err(double_failed)?;
        println!("bot.py: {READY_LINE}");
        println!("(bot.py runs as pid {})", bot.pid());
        self.local = Some(bot);
        Ok(())
    }

    fn expect_local_bot_gone(&mut self) -> Result<()> {
        let Some(mut bot) = self.local.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !bot.has_exited() {
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "dev-stop said it was done, but bot.py (pid {}) still runs",
                    bot.pid()
                )));
            }
            pause()?;
        }
        println!("(bot.py, pid {}, is gone)", bot.pid());
        Ok(())
    }

    fn expect_machine(&self, state: &str) -> Result<()> {
        let machine = self.fly.machine()?;
        if machine["state"] == state {
            println!("(fake Fly.io: machine {MACHINE} is {state})");
            Ok(())
        } else {
            Err(Error::new(format!(
                "machine {MACHINE} should be {state}; the fake flyctl has it as {}",
                machine["state"]
            )))
        }
    }

    /// The open handoff of our bot in .botctl/state.json, if any.
    fn handoff(&self) -> Result<Option<Value>> {
        let path = self.project.join(".botctl/state.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        let state = parse_json(&path.display().to_string(), &text)?;
        Ok(state["handoffs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| h["bot"] == BOT)
            .cloned())
    }

    /// Shows `$ botctl ARGS`, runs it in the project with the fake Fly.io, shows its output.
    fn botctl(&self, args: &[&str]) -> Result<Ran> {
        self.botctl_in(&self.project, None, args)
    }

    /// [`Tour::botctl`] in `folder`, as `who` (`BOTCTL_WHO`) when given.
    fn botctl_in(&self, folder: &Path, who: Option<&str>, args: &[&str]) -> Result<Ran> {
        let (cmd, shown) = self.botctl_command(folder, who, args);
        run_shown(cmd, &shown)
    }

    /// botctl in `folder` as the tour runs it, and the command as shown.
    fn botctl_command(&self, folder: &Path, who: Option<&str>, args: &[&str]) -> (Command, String) {
        let mut cmd = Command::new(&self.botctl);
        match who {
            Some(who) => cmd.env("BOTCTL_WHO", who),
            None => cmd.env_remove("BOTCTL_WHO"),
        };
        cmd.args(args)
            .current_dir(folder)
            .env("FAKE_FLY_STATE", &self.fly.state)
            .env_remove("BOTCTL_CONFIG")
            .env_remove(TOKEN_ENV)
            .env_remove("RUST_LOG");
        if self.colour {
            cmd.env("CLICOLOR_FORCE", "1");
        } else {
            cmd.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
        }
        let shown = match who {
            Some(who) => format!("BOTCTL_WHO={who} botctl {}", args.join(" ")),
            None => format!("botctl {}", args.join(" ")),
        };
        (cmd, shown)
    }
}

// ------------------------------------------------------------------------ the fake Fly.io

/// tests/fakes/flyctl and its state file. When dropped, stops the pollers of the machines
/// (they run in their own sessions, so nothing else would).
struct FakeFly {
    flyctl: PathBuf,
    state: PathBuf,
}

impl FakeFly {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.flyctl);
        cmd.env("FAKE_FLY_STATE", &self.state);
        cmd
    }

    fn read(&self) -> Result<Value> {
        let text = std::fs::read_to_string(&self.state)
            .map_err(|e| Error::io(format!("cannot read {}", self.state.display()), e))?;
        parse_json("the fake flyctl's state", &text)
    }

    fn machine(&self) -> Result<Value> {
        let state = self.read()?;
        Ok(state["apps"][APP]["machines"][0].clone())
    }

    /// Where the fake writes the machine's poller output.
    fn poller_log(&self) -> PathBuf {
        self.poller_log_of(MACHINE)
    }

    /// Where the fake writes machine `id`'s poller output.
    fn poller_log_of(&self, id: &str) -> PathBuf {
        let mut name = self.state.as_os_str().to_owned();
        name.push(format!(".poller-{id}.log"));
        PathBuf::from(name)
    }

    fn stop_pollers(&self) {
        let Ok(state) = self.read() else { return };
        // A machine still starting gets its poller when it settles: wait for that first, and
        // let flyctl settle it (a machine list does) so its pid is in the state.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let last_deadline = machines(&state)
            .filter_map(|m| m["pending"]["at"].as_f64())
            .fold(now, f64::max);
        if last_deadline > now {
            std::thread::sleep(Duration::from_secs_f64(
                (last_deadline - now).min(10.0) + 0.2,
            ));
            let _ = self
                .command()
                .args(["machine", "list", "--app", APP, "--json"])
                .env("FAKE_FLY_NO_RECORD", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let Ok(state) = self.read() else { return };
        for machine in machines(&state) {
            if let Some(pid) = machine["poller_pid"].as_u64().map(|p| p as u32) {
                kill_poller(pid);
            }
        }
    }
}

impl Drop for FakeFly {
    fn drop(&mut self) {
        self.stop_pollers();
    }
}

fn machines(state: &Value) -> impl Iterator<Item = &Value> {
    state["apps"]
        .as_object()
        .into_iter()
        .flat_map(|apps| apps.values())
        .flat_map(|app| app["machines"].as_array().into_iter().flatten())
}

/// SIGKILL to a machine's poller and its process group (the fake starts it in a new session),
/// only while its command line is still ptb_bot.py.
fn kill_poller(pid: u32) {
    let cmdline = test_support::cmdline(pid).unwrap_or_default();
    let ours = |a: &String| a.contains("ptb_bot.py") || a.contains("webhook_bot.py");
    if !alive(pid) || !cmdline.iter().any(ours) {
        return;
    }
    let Ok(raw) = i32::try_from(pid) else { return };
    if killpg(Pid::from_raw(raw), Signal::SIGKILL).is_err() {
        let _ = nix::sys::signal::kill(Pid::from_raw(raw), Signal::SIGKILL);
    }
}

// ------------------------------------------------------------------------ running and checking

/// One command the tour ran: its output (stdout and stderr, as they came) and exit code.
struct Ran {
    shown: String,
    code: i32,
    /// Its stdout and stderr as they came, without colour codes.
    output: String,
}

impl Ran {
    fn expect(&self, code: i32) -> Result<&Ran> {
        self.expect_hint(code, "")
    }

    fn expect_hint(&self, code: i32, hint: &str) -> Result<&Ran> {
        if self.code == code {
            println!("[exit {code}, as expected]");
            return Ok(self);
        }
        println!("[exit {}, but the tour expects {code}]", self.code);
        let mut message = format!(
            "`{}` exited {}, but the tour expects {code}",
            self.shown, self.code
        );
        if !hint.is_empty() {
            let _ = write!(message, ": {hint}");
        }
        Err(Error::new(message))
    }

    /// `status` prints the verdict in `bot`'s row.
    fn expect_verdict_of(&self, bot: &str, verdict: &str) -> Result<&Ran> {
        let row = self
            .output
            .lines()
            .find(|l| l.split_whitespace().next() == Some(bot));
        match row {
            Some(row) if row.split_whitespace().any(|w| w == verdict) => Ok(self),
            _ => Err(Error::new(format!(
                "`{}` should say {bot} is {verdict}; it printed:\n{}",
                self.shown, self.output
            ))),
        }
    }

    /// `status` prints the verdict in the bot's row.
    fn expect_verdict(&self, verdict: &str) -> Result<&Ran> {
        let row = self
            .output
            .lines()
            .find(|l| l.split_whitespace().next() == Some(BOT));
        match row {
            Some(row) if row.split_whitespace().any(|w| w == verdict) => Ok(self),
            _ => Err(Error::new(format!(
                "`{}` should say {BOT} is {verdict}; it printed:\n{}",
                self.shown, self.output
            ))),
        }
    }

    fn expect_text(&self, needle: &str, what: &str) -> Result<&Ran> {
        if self.output.contains(needle) {
            Ok(self)
        } else {
            Err(Error::new(format!(
                "`{}` did not print {what} ({needle:?})",
                self.shown
            )))
        }
    }

    /// Its first line that is not `note` (a note on stderr, such as the probe's warning).
    fn first_line_after(&self, note: &str) -> &str {
        self.output
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with(note))
            .unwrap_or_default()
    }
}

/// Shows `$ SHOWN`, runs `cmd` with its stdout and stderr on one pipe (so they interleave as on
/// a terminal), echoes the output as it comes and shows the exit code. Killed (with its process
/// group) after [`COMMAND_LIMIT`]; Ctrl-C is passed on as SIGINT.
fn run_shown(mut cmd: Command, shown: &str) -> Result<Ran> {
    println!("\n$ {shown}");
    let pipe_failed = |e| Error::io("cannot make a pipe for a command", e);
    let (reader, writer) = std::io::pipe().map_err(pipe_failed)?;
    let writer2 = writer.try_clone().map_err(pipe_failed)?;
    cmd.stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .process_group(0);
    let spawned = cmd.spawn();
    drop(cmd); // closes our copies of the pipe's write end
    let mut child = spawned.map_err(|e| Error::new(format!("cannot run `{shown}`: {e}")))?;
    let output = echo(reader);

    let started = Instant::now();
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let mut sent_sigint = None;
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(Error::io(format!("cannot wait for `{shown}`"), e)),
        }
        if started.elapsed() > COMMAND_LIMIT {
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait();
            return Err(Error::new(format!(
                "`{shown}` did not finish within {} s and was killed",
                COMMAND_LIMIT.as_secs()
            )));
        }
        if interrupted() {
            // Its own process group: the terminal's Ctrl-C did not reach it.
            match sent_sigint {
                None => {
                    let _ = killpg(group, Signal::SIGINT);
                    sent_sigint = Some(Instant::now());
                }
                Some(at) if at.elapsed() > Duration::from_secs(10) => {
                    let _ = killpg(group, Signal::SIGKILL);
                }
                Some(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Output a grandchild still holds open is not waited for.
    let output = output
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_default();
    doubles::check_interrupt()?;
    let Some(code) = status.code() else {
        return Err(Error::new(format!("`{shown}` was killed ({status})")));
    };
    Ok(Ran {
        shown: shown.to_string(),
        code,
        output: plain(&String::from_utf8_lossy(&output)),
    })
}

/// Copies a command's output to ours as it comes; the whole of it once the pipe closes.
fn echo(mut pipe: std::io::PipeReader) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        let mut terminal = std::io::stdout();
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            all.extend_from_slice(&buf[..n]);
            let _ = terminal.write_all(&buf[..n]);
            let _ = terminal.flush();
        }
        if !all.is_empty() && !all.ends_with(b"\n") {
            println!();
        }
        let _ = tx.send(all);
    });
    rx
}

/// `text` without the colours a pty run adds.
fn plain(text: &str) -> String {
    console::strip_ansi_codes(text).into_owned()
}

fn heading(text: &str) {
    println!("\n## {text}");
}

fn say(text: &str) {
    println!("{text}");
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn colour_codes_are_dropped_and_text_kept() {
        assert_eq!(
            plain("\x1b[1m\x1b[32mok\x1b[0m partner \x1b[38;5;208mconflict\x1b[m"),
            "ok partner conflict"
        );
        assert_eq!(plain("plain — ünïcode"), "plain — ünïcode");
    }
}
