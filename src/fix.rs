//! A fix: what a person types (or does) to end a problem botctl found. It is the argv to run,
//! each word quoted once by `shell::word` when shown, plus an optional `   # note`; or, where
//! no single command does it (edit fly.toml, ask a teammate), an instruction. Every fix is
//! built here, so its words are quoted in one way; `ui` prints it, and JSON carries its text.

use std::fmt;

use crate::shell;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fix {
    what: What,
    /// Remarks after it, each shown as `   # {note}`.
    notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum What {
    /// One command.
    Run(Vec<Word>),
    /// Commands typed one after the other: `a && b`.
    Chain(Vec<Fix>),
    /// One fix for each of several things: `a; and: b`.
    Each(Vec<Fix>),
    /// Something to do that is not one command, written here.
    Do(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Word {
    /// A word quoted for the shell when shown.
    Quoted(String),
    /// Written as it is: a placeholder (`<token from @BotFather>`), a `"$VAR"` the shell
    /// expands, or a `NAME=value` whose value is already quoted, each made here.
    Shown(String),
}

impl Fix {
    /// The command `argv`.
    pub fn run<S: AsRef<str>>(argv: &[S]) -> Fix {
        Fix::of(What::Run(
            argv.iter()
                .map(|w| Word::Quoted(w.as_ref().to_string()))
                .collect(),
        ))
    }

    /// Something to do that is not a command.
    pub fn instruction(text: &'static str) -> Fix {
        Fix::of(What::Do(text.into()))
    }

    /// `self`, then `next`: `a && b`.
    pub fn then(mut self, next: Fix) -> Fix {
        if let (What::Chain(all), true) = (&mut self.what, self.notes.is_empty()) {
            all.push(next);
            return self;
        }
        Fix::of(What::Chain(vec![self, next]))
    }

    /// One fix for each of several things, each said once (`a; and: b`); `None` for none.
    pub fn each(fixes: impl IntoIterator<Item = Fix>) -> Option<Fix> {
        let mut all: Vec<Fix> = Vec::new();
        for fix in fixes {
            if !all.contains(&fix) {
                all.push(fix);
            }
        }
        match all.len() {
            0 => None,
            1 => all.pop(),
            _ => Some(Fix::of(What::Each(all))),
        }
    }

    /// Words after the command that are not part of it: `{command} {words}`.
    pub fn note_also(self, words: &'static str) -> Fix {
        self.shown(words.into())
    }

    /// `self` with one more word.
    pub fn arg(mut self, word: &str) -> Fix {
        if let What::Run(words) = &mut self.what {
            words.push(Word::Quoted(word.to_string()));
        }
        self
    }

    /// `self` with one more word `KEY=VALUE`, each side quoted.
    pub fn assign(self, key: &str, value: &str) -> Fix {
        self.shown(format!("{}={}", shell::word(key), shell::word(value)))
    }

    /// A remark after the command: `   # {note}`.
    pub fn note(mut self, note: &'static str) -> Fix {
        self.notes.push(note.into());
        self
    }

    fn of(what: What) -> Fix {
        Fix {
            what,
            notes: Vec::new(),
        }
    }

    fn noted(mut self, note: String) -> Fix {
        self.notes.push(note);
        self
    }

    fn told(text: String) -> Fix {
        Fix::of(What::Do(text))
    }

    /// `self` with one more word, written as it is.
    fn shown(mut self, word: String) -> Fix {
        if let What::Run(words) = &mut self.what {
            words.push(Word::Shown(word));
        }
        self
    }

    // The commands botctl names, each in one place.

    /// `botctl dev-stop BOT`.
    pub fn dev_stop(bot: &str) -> Fix {
        Fix::run(&["botctl", "dev-stop", bot])
    }

    /// `botctl dev-stop BOT --host HOST`.
    pub fn dev_stop_on(bot: &str, host: &str) -> Fix {
        Fix::run(&["botctl", "dev-stop", bot, "--host", host])
    }

    /// `botctl doctor BOT`.
    pub fn doctor(bot: &str) -> Fix {
        Fix::run(&["botctl", "doctor", bot])
    }

    /// `botctl status BOT`.
    pub fn status(bot: &str) -> Fix {
        Fix::run(&["botctl", "status", bot])
    }

    /// `botctl deploy-resume BOT`.
    pub fn deploy_resume(bot: &str) -> Fix {
        Fix::run(&["botctl", "deploy-resume", bot])
    }

    /// `flyctl machine stop ID… --app APP`.
    pub fn stop_machines<S: AsRef<str>>(ids: &[S], app: &str) -> Fix {
        let mut argv = vec!["flyctl", "machine", "stop"];
        argv.extend(ids.iter().map(AsRef::as_ref));
        argv.extend(["--app", app]);
        Fix::run(&argv)
    }

    /// The command that keeps Fly Proxy from starting machine `id` by itself.
    pub fn proxy_autostart_off(id: &str, app: &str) -> Fix {
        Fix::run(&[
            "flyctl",
            "machine",
            "update",
            id,
            "--app",
            app,
            "--autostart=false",
            "--skip-start",
        ])
        .note("or auto_start_machines = false in fly.toml")
    }

    /// Give another Fly app its own bot's token (a placeholder, never a value), or stop its
    /// `started` machines.
    pub fn set_secret_placeholder(secret: &str, app: &str, started: &[&str]) -> Fix {
        let shown = crate::outside::Outside::from(app);
        let set = Fix::run(&["flyctl", "secrets", "set"])
            .shown(format!(
                "{}=<token of {shown}'s own bot from @BotFather>",
                shell::word(secret)
            ))
            .shown("--app".into())
            .shown(shell::word(app));
        if started.is_empty() {
            set
        } else {
            set.noted(format!("or stop it: {}", Fix::stop_machines(started, app)))
        }
    }

    /// A local copy of `bot` run by another user, who (or root) must end it.
    pub fn ask_user_to_stop(user: &str, bot: &str, pid: impl fmt::Display) -> Fix {
        Fix::told(format!(
            "ask {user} to stop it (as {user}: {}), or as root: {}",
            Fix::dev_stop(bot),
            Fix::run(&["kill", &pid.to_string()])
        ))
    }

    /// `fix`, typed on the server `dest` after ssh.
    pub fn on_server(dest: &str, fix: &Fix) -> Fix {
        Fix::run(&["ssh", dest]).noted(format!("then: {fix}"))
    }

    /// `NAME=value command…`: a command run with one variable set.
    pub fn run_with<S: AsRef<str>>(var: &str, value: &str, argv: &[S]) -> Fix {
        Fix::run_in(&[(var, value)], argv)
    }

    /// `A=1 B=2 command…`: a command run with these variables set.
    pub fn run_in<K: AsRef<str>, V: AsRef<str>, S: AsRef<str>>(env: &[(K, V)], argv: &[S]) -> Fix {
        let set = env
            .iter()
            .map(|(k, v)| Word::Shown(format!("{}={}", k.as_ref(), shell::word(v.as_ref()))));
        let words = argv.iter().map(|w| Word::Quoted(w.as_ref().to_string()));
        Fix::of(What::Run(set.chain(words).collect()))
    }

    /// `sudo ARGV…`.
    pub fn as_root<S: AsRef<str>>(argv: &[S]) -> Fix {
        let mut fix = Fix::run(argv);
        if let What::Run(words) = &mut fix.what {
            words.insert(0, Word::Quoted("sudo".into()));
        }
        fix
    }

    /// `sudo -u '#UID' …`: `fix` run as another user, with why as its note.
    fn as_uid(uid: impl fmt::Display, fix: Fix) -> Fix {
        let mut fix = fix;
        if let What::Run(words) = &mut fix.what {
            let sudo = ["sudo".to_string(), "-u".into(), format!("'#{uid}'")];
            for (i, w) in sudo.into_iter().enumerate() {
                words.insert(i, Word::Shown(w));
            }
        }
        fix
    }

    /// pm2, with `PM2_HOME` typed when `home` is not the user's own.
    fn pm2(home: Option<&str>, argv: &[&str]) -> Fix {
        let mut all = vec!["pm2"];
        all.extend(argv);
        match home {
            Some(home) => Fix::run_with("PM2_HOME", home, &all),
            None => Fix::run(&all),
        }
    }

    /// Another user's pm2 holds the bot: list its apps as that user.
    pub fn pm2_of_user(uid: impl fmt::Display + Copy, home: Option<&str>) -> Fix {
        Fix::as_uid(uid, Fix::pm2(home, &["list"])).noted(format!(
            "pm2 of user {uid}: find the app, then stop it as that user"
        ))
    }

    /// pm2 did not say which app is the bot: find it, then stop it.
    pub fn pm2_find_app(home: Option<&str>, bot: impl fmt::Display) -> Fix {
        Fix::pm2(home, &["list"]).noted(format!(
            "find the app with pid {bot}, then: {}",
            Fix::pm2(home, &["stop"]).shown("ID".into())
        ))
    }

    /// Another user's supervisord holds the bot: `status` it as that user.
    pub fn supervisord_of_user(uid: impl fmt::Display + Copy, status: &[String]) -> Fix {
        Fix::as_uid(uid, Fix::run(status)).noted(format!(
            "supervisord of user {uid}: find the program, then stop it as that user"
        ))
    }

    /// supervisord did not say which program is the bot: find it with `status`, then `stop`.
    pub fn supervisord_find_program(
        status: &[String],
        stop: &[String],
        bot: impl fmt::Display,
    ) -> Fix {
        Fix::run(status).noted(format!(
            "find the program with pid {bot}, then: {}",
            Fix::run(stop)
        ))
    }

    /// A container in a Kubernetes pod: its deployment is scaled down.
    pub fn scale_pod_down(container: &str) -> Fix {
        Fix::run(&["kubectl", "scale", "deployment", "--replicas=0"])
            .shown("…".into())
            .noted(format!("container {container} is in a Kubernetes pod"))
    }

    /// Turn autostart off for a supervisord program in `file`, then tell the daemon.
    pub fn supervisord_autostart_off(program: &str, file: &str, update: &Fix) -> Fix {
        Fix::told(format!(
            "set autostart=false under [program:{}] in {}, then: {update}",
            crate::outside::Outside::from(program),
            shell::word(file)
        ))
    }

    /// `echo 'VAR=<what>' >> .env`: put a value the user holds in `.env`.
    pub fn append_to_dotenv(var: &str, what: &str) -> Fix {
        Fix::told(format!("echo '{var}=<{what}>' >> .env"))
    }

    /// A `.env` that does not parse, which must hold `VAR`.
    pub fn repair_dotenv(var: &str) -> Fix {
        Fix::told(format!(
            "fix .env so that it parses (one VAR=value per line), with \
{var}=<token from @BotFather>"
        ))
    }

    /// The command that deletes a bot's webhook, naming the token's variable, never the
    /// token.
    pub fn delete_webhook(api: &str, token_env: Option<&str>) -> Fix {
        Fix::run(&["curl"])
            .shown(format!(
                "\"{api}/bot${}/deleteWebhook\"",
                token_env.unwrap_or("TOKEN")
            ))
            .note("only if this bot should poll")
    }

    /// The command that sets a bot's webhook by hand, naming the variables, never their
    /// values.
    pub fn set_webhook(
        api: &str,
        token_env: Option<&str>,
        url: &str,
        secret_env: Option<&str>,
    ) -> Fix {
        let mut fix = Fix::run(&["curl"])
            .shown(format!(
                "\"{api}/bot${}/setWebhook\"",
                token_env.unwrap_or("TOKEN")
            ))
            .shown("-d".into())
            .shown(format!("url={}", shell::word(url)));
        if let Some(var) = secret_env {
            fix = fix
                .shown("-d".into())
                .shown(format!("secret_token=\"${var}\""));
        }
        fix
    }

    /// Look at a file botctl cannot read as an autostart entry.
    pub fn look_at(path: &str) -> Fix {
        Fix::told(format!("look at {path}, then fix or remove it"))
    }

    /// Put the token of `@want` in `var`.
    pub fn put_token_in(want: &str, var: &str) -> Fix {
        Fix::told(format!("put @{want}'s token in {var}"))
    }

    /// A teammate holds the bot: they hand it back, or it is taken over with `take_over`.
    pub fn hand_back_or_take_over(bot: &str, take_over: &Fix) -> Fix {
        Fix::told(format!(
            "ask them to run `{}`, or take it over: `{take_over}`",
            Fix::deploy_resume(bot)
        ))
    }

    /// The take-over could not probe: fix why and run `take_over` again, or skip the probe.
    pub fn take_over_unprobed(take_over: &Fix) -> Fix {
        Fix::told(format!(
            "fix that and run `{take_over}` again; or, if you know their copy is stopped, \
take it over without the probe: `{take_over} --no-probe`"
        ))
    }

    /// Their copy answered the probe: they stop it, then `take_over`.
    pub fn ask_holder_to_stop(who: &str, bot: &str, take_over: &Fix) -> Fix {
        Fix::told(format!(
            "ask {who} to stop it (on their laptop: {}), then: {take_over}",
            Fix::dev_stop(bot)
        ))
    }

    /// A file that must parse (flyctl reads it too).
    pub fn repair_file(shown: &str, why: &'static str) -> Fix {
        Fix::told(format!("fix {shown} ({why})"))
    }

    /// Install flyctl.
    pub fn install_flyctl() -> Fix {
        Fix::instruction("curl -L https://fly.io/install.sh | sh")
            .noted("or: brew install flyctl".into())
    }

    /// A platform botctl cannot read yet: look with its own CLI.
    pub fn look_yourself(cli: &str) -> Fix {
        Fix::told(format!(
            "look at its instances with {cli} yourself: botctl cannot count them yet"
        ))
    }

    /// Do it by hand with the platform's CLI.
    pub fn by_hand(cli: &str) -> Fix {
        Fix::told(format!("{cli} (by hand)"))
    }

    /// A teammate's laptop holds it: they hand it back.
    pub fn ask_to_hand_back(who: &str, bot: &str) -> Fix {
        Fix::told(format!("ask {who} to run `{}`", Fix::deploy_resume(bot)))
    }

    /// The bot's app runs several process groups and botctl.toml names none: name the one
    /// that runs the bot (`groups`: those the app has).
    pub fn name_process_group(groups: &[String]) -> Fix {
        Fix::told(format!(
            "fly_process_group = \"{}\"   # in the bot's [[bot]] of botctl.toml: the group that \
runs it (one of: {})",
            groups.first().map(String::as_str).unwrap_or_default(),
            groups.join(", ")
        ))
    }

    /// Scale these process types down, and keep one line of the Procfile.
    pub fn scale_down_to_one_line(fixes: &[Fix]) -> Fix {
        let all: Vec<String> = fixes.iter().map(ToString::to_string).collect();
        Fix::told(format!(
            "{}, and run the bot from one line of the Procfile",
            all.join("; ")
        ))
    }

    /// Stop a Fly machine, or hand the bot over to it with dev-start.
    pub fn stop_machine_or_hand_over(id: &str, app: &str, bot: &str) -> Fix {
        Fix::stop_machines(&[id], app).noted(format!(
            "or hand it over: {}",
            Fix::run(&["botctl", "dev-start", bot])
        ))
    }

    /// Another exec is starting it: wait, or look.
    pub fn wait_or_status(bot: &str) -> Fix {
        Fix::told(format!("wait for it; or: {}", Fix::status(bot)))
    }

    /// `flyctl machine update ID --app APP --metadata KEY=VALUE… --skip-start --yes`, values
    /// quoted (an empty one stays empty: `botctl_by=`).
    pub fn set_metadata(app: &str, id: &str, pairs: &[(&str, &str)]) -> Fix {
        let mut fix = Fix::run(&["flyctl", "machine", "update", id, "--app", app]);
        for (key, value) in pairs {
            let value = if value.is_empty() {
                String::new()
            } else {
                shell::word(value)
            };
            fix = fix
                .shown("--metadata".into())
                .shown(format!("{}={value}", shell::word(key)));
        }
        fix.shown("--skip-start".into()).shown("--yes".into())
    }

    /// The bot's own start command from botctl.toml (a `run` line is the user's to write).
    pub fn shell_line(line: &str) -> Fix {
        Fix::told(line.to_string())
    }

    /// A teammate holds it: they hand it back, or it is taken over.
    pub fn ask_to_hand_back_or_take_over(who: &str, bot: &str) -> Fix {
        Fix::told(format!(
            "ask {who} to run `{}`, or: {}",
            Fix::deploy_resume(bot),
            Fix::run(&["botctl", "dev-start", bot, "--take-over"])
        ))
    }

    /// Upgrade flyctl.
    pub fn upgrade_flyctl() -> Fix {
        Fix::run(&["flyctl", "version", "upgrade"])
            .noted("or: curl -L https://fly.io/install.sh | sh".into())
    }

    /// The token in `var` is not the bot's.
    pub fn put_right_token_in(var: &str) -> Fix {
        Fix::told(format!("put the right token in {var}"))
    }

    /// Probe for the other poller; once it is gone, dev-start again.
    pub fn probe_then_dev_start(bot: &str) -> Fix {
        Fix::run(&["botctl", "doctor", bot, "--probe"]).noted(format!(
            "then, once it is gone: {}",
            Fix::run(&["botctl", "dev-start", bot])
        ))
    }

    /// `ssh DEST command…`: `fix` run on a server (each of its commands, when several).
    pub fn over_ssh(dest: &str, fix: Fix) -> Fix {
        let Fix { what, notes } = fix;
        let what = match what {
            What::Run(mut words) => {
                words.splice(
                    0..0,
                    [Word::Quoted("ssh".into()), Word::Quoted(dest.into())],
                );
                What::Run(words)
            }
            What::Chain(all) => {
                What::Chain(all.into_iter().map(|f| Fix::over_ssh(dest, f)).collect())
            }
            What::Each(all) => {
                What::Each(all.into_iter().map(|f| Fix::over_ssh(dest, f)).collect())
            }
            What::Do(text) => What::Do(text),
        };
        Fix { what, notes }
    }

    /// These commands one after the other, then `then`: `a && b   # then: c`.
    pub fn all_then(fixes: impl IntoIterator<Item = Fix>, then: &Fix) -> Option<Fix> {
        let all: Vec<Fix> = fixes.into_iter().collect();
        (!all.is_empty()).then(|| Fix::each_then(all).then_later(then))
    }

    /// Keep Fly Proxy from stopping a polling bot's machine.
    pub fn auto_stop_off(fly_toml: &str) -> Fix {
        Fix::told(format!(
            "set auto_stop_machines = \"off\" under [http_service] (or [[services]]) in {fly_toml}"
        ))
    }

    /// Deploy with botctl (rolling), or make rolling the strategy in fly.toml.
    pub fn deploy_rolling(bot: &str, fly_toml: &str) -> Fix {
        Fix::run(&["botctl", "deploy", bot]).noted(format!(
            "passes --strategy rolling, and keeps every machine stopped while a handoff is \
open; or set strategy = \"rolling\" under [deploy] in {fly_toml}"
        ))
    }

    /// Deploys that make one machine, and stopping the second.
    pub fn one_machine_per_deploy(app: &str) -> Fix {
        Fix::told(format!(
            "use strategy = \"rolling\" in fly.toml and deploy with --ha=false; if two machines \
still run: {}, then {}",
            Fix::run(&["flyctl", "machine", "list", "--app", app]),
            Fix::stop_machines(&["ID"], app)
        ))
    }

    /// Keep Fly Proxy from starting the machine, then stop it.
    pub fn proxy_off_then_stop(id: &str, app: &str) -> Fix {
        let mut off = Fix::proxy_autostart_off(id, app);
        if let Some(note) = off.notes.last_mut() {
            note.push_str(&format!("; then {}", Fix::stop_machines(&[id], app)));
        }
        off
    }

    /// Stop the machine a deploy started, and deploy in a way that keeps it stopped.
    pub fn stop_then_deploy_safely(id: &str, app: &str, bot: &str, since: &str) -> Fix {
        Fix::stop_machines(&[id], app).noted(format!(
            "and deploy with `{}` (rolling or immediate with flyctl {since} or newer: bluegreen \
and canary start a machine whatever the version); fly secrets set --stage while handed off",
            Fix::run(&["botctl", "deploy", bot])
        ))
    }

    /// Stop the machines beyond one, or destroy them.
    pub fn stop_or_destroy<S: AsRef<str>>(ids: &[S], app: &str) -> Fix {
        let mut destroy = vec!["flyctl", "machine", "destroy"];
        destroy.extend(ids.iter().map(AsRef::as_ref));
        destroy.extend(["--app", app]);
        Fix::stop_machines(ids, app).noted(format!("or destroy it: {}", Fix::run(&destroy)))
    }

    /// A handoff recorded for a bot no longer in botctl.toml: start its machines again if it
    /// should run, then drop the entry from the state file.
    pub fn drop_stale_handoff<S: AsRef<str>>(
        app: Option<&str>,
        machines: &[S],
        bot: &str,
        state_file: &str,
    ) -> Fix {
        match app {
            Some(app) => {
                let mut start = vec!["flyctl", "machine", "start"];
                start.extend(machines.iter().map(AsRef::as_ref));
                start.extend(["--app", app]);
                Fix::run(&start).noted(format!(
                    "if it should run; then remove the {bot:?} entry from {state_file}"
                ))
            }
            None => Fix::told(format!(
                "remove the {bot:?} entry from {state_file} once its webhook is set again"
            )),
        }
    }

    /// A teammate holds it: they hand it back, or it is taken over (doctor's words).
    pub fn ask_to_hand_back_or_take_it_over(who: &str, bot: &str) -> Fix {
        Fix::told(format!(
            "ask {who} to run `{}`, or take it over: {}",
            Fix::deploy_resume(bot),
            Fix::run(&["botctl", "dev-start", bot, "--take-over"])
        ))
    }

    /// Their copy answered the probe: they stop it, or hand it back.
    pub fn ask_to_stop_or_hand_back(who: &str, bot: &str) -> Fix {
        Fix::told(format!(
            "ask {who} to stop it (on their laptop: {}) or to hand it back ({})",
            Fix::dev_stop(bot),
            Fix::deploy_resume(bot)
        ))
    }

    /// Machines started after a handoff: their events say who; stop them or hand it back.
    pub fn find_who_started<S: AsRef<str>>(
        first: &str,
        started: &[S],
        app: &str,
        bot: &str,
    ) -> Fix {
        Fix::run(&["flyctl", "machine", "status", first, "--app", app]).noted(format!(
            "its events say what started it (source proxy, a deploy, a user); then stop it \
again ({}) or hand it back: {}",
            Fix::stop_machines(started, app),
            Fix::deploy_resume(bot)
        ))
    }

    /// Commands one after the other: `a && b`.
    pub fn each_then(fixes: Vec<Fix>) -> Fix {
        let mut all = fixes.into_iter();
        let first = all.next().unwrap_or_else(|| Fix::told(String::new()));
        all.fold(first, Fix::then)
    }

    /// `self`, or run the bot here instead: `{self}   # {why}or move it here: botctl
    /// dev-start BOT`.
    pub fn or_move_here(self, bot: &str, why: &'static str) -> Fix {
        let start = Fix::run(&["botctl", "dev-start", bot]);
        self.noted(format!("{why}or move it here: {start}"))
    }

    /// `self`, or run the bot here: `{self}   # or run it: botctl dev-start BOT`.
    pub fn or_run_here(self, bot: &str) -> Fix {
        let start = Fix::run(&["botctl", "dev-start", bot]);
        self.noted(format!("or run it: {start}"))
    }

    /// `self`, or set the webhook by hand: `{self}, or set it: {set}`.
    pub fn or_set_it(self, set: &Fix) -> Fix {
        Fix::told(format!("{self}, or set it: {set}"))
    }

    /// `self`, and later `next`: `{self}   # then: {next}`.
    pub fn then_later(self, next: &Fix) -> Fix {
        self.noted(format!("then: {next}"))
    }

    /// Name the token's variable in botctl.toml.
    pub fn add_token_env(bot: &str) -> Fix {
        Fix::told(format!(
            "add token_env = \"{}_BOT_TOKEN\" to the bot in botctl.toml",
            bot.to_uppercase().replace('-', "_")
        ))
    }

    /// The token was revoked or mistyped: get it again.
    pub fn renew_token(var: &str) -> Fix {
        Fix::told(format!(
            "get the token from @BotFather (/token) and update {var}"
        ))
    }

    /// A webhook with a custom certificate, which Telegram never gives back.
    pub fn webhook_by_hand(bot: &str) -> Fix {
        Fix::told(format!(
            "hand it over by hand, and set the webhook again with its certificate (or use a \
CA-signed certificate, as Fly's https does, and `{}`)",
            Fix::run(&["botctl", "dev-start", bot])
        ))
    }

    /// A webhook bot with no webhook recorded or configured.
    pub fn add_webhook_url(bot: &str) -> Fix {
        Fix::told(format!(
            "add webhook_url = \"https://…\" to [[bot]] {bot} in botctl.toml and run `{}` again",
            Fix::deploy_resume(bot)
        ))
    }
}

/// The error and its fix in one sentence, for places with room for one line (JSON).
pub fn with_fix(message: impl fmt::Display, fix: Option<&Fix>) -> String {
    match fix {
        Some(fix) => format!("{message}; fix: {fix}"),
        None => message.to_string(),
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.what {
            What::Run(words) => {
                for (i, w) in words.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    match w {
                        Word::Quoted(w) => f.write_str(&shell::word(w))?,
                        Word::Shown(w) => f.write_str(w)?,
                    }
                }
            }
            What::Chain(all) | What::Each(all) => {
                let joiner = if matches!(self.what, What::Chain(_)) {
                    " && "
                } else {
                    "; and: "
                };
                for (i, fix) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str(joiner)?;
                    }
                    write!(f, "{fix}")?;
                }
            }
            What::Do(text) => f.write_str(text)?,
        }
        for note in &self.notes {
            write!(f, "   # {note}")?;
        }
        Ok(())
    }
}

/// A fix is equal to the line it shows (tests compare them).
impl PartialEq<&str> for Fix {
    fn eq(&self, other: &&str) -> bool {
        self.to_string().as_str() == *other
    }
}

/// JSON carries a fix as the line a person types.
impl serde::Serialize for Fix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_is_its_words_quoted_and_its_note() {
        assert_eq!(
            Fix::run(&["pm2", "stop", "x; touch /tmp/INJECTED #"]).to_string(),
            "pm2 stop 'x; touch /tmp/INJECTED #'"
        );
        assert_eq!(
            Fix::run(&["crontab", "-e"])
                .note("delete or comment out that line")
                .to_string(),
            "crontab -e   # delete or comment out that line"
        );
        assert_eq!(
            Fix::run(&["a"])
                .then(Fix::run(&["b"]))
                .then(Fix::run(&["c"]))
                .to_string(),
            "a && b && c"
        );
        assert_eq!(
            Fix::each([Fix::dev_stop("p"), Fix::dev_stop("p"), Fix::doctor("p")])
                .unwrap()
                .to_string(),
            "botctl dev-stop p; and: botctl doctor p"
        );
        assert_eq!(
            Fix::run_with("PM2_HOME", "/h/x y", &["pm2", "save"]).to_string(),
            "PM2_HOME='/h/x y' pm2 save"
        );
    }

    #[test]
    fn placeholders_and_variables_are_written_as_they_are() {
        assert_eq!(
            Fix::set_webhook("https://api", Some("TOK"), "https://x/y", Some("SEC")).to_string(),
            "curl \"https://api/bot$TOK/setWebhook\" -d url=https://x/y -d secret_token=\"$SEC\""
        );
        assert_eq!(
            Fix::set_secret_placeholder("BOT_TOKEN", "other", &["m1"]).to_string(),
            "flyctl secrets set BOT_TOKEN=<token of other's own bot from @BotFather> --app \
other   # or stop it: flyctl machine stop m1 --app other"
        );
    }
}
