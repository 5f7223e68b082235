//! Secrets botctl can know never reach its output, whatever the command and however the text
//! arrives: a `.env` that does not parse is named by its line, never quoted; every token and
//! webhook secret is masked from the first line printed; a line is masked whole before any cut.

use test_support::config::{Bot, Toml};
use test_support::*;

/// What the broken `.env` holds after its bad line: none of it may be printed.
const AFTER_THE_QUOTE: [&str; 3] = [
    "hunter2-db-password",
    "whsec-never-printed-1234",
    "line-with\rcarriage",
];

#[test]
fn a_dotenv_that_does_not_parse_is_named_by_its_line_in_every_command() {
    let world = World::configured(|w| {
        Toml::new().telegram_timeout("2s").bot(
            Bot::script("partner", &w.script("bot.py"))
                .token_env("PARTNER_BOT_TOKEN")
                .fly_app("loyalitybot-partner"),
        )
    });
    world.write(
        ".env",
        "OTHER=1\nBROKEN='unclosed\nDATABASE_URL=postgres://app:hunter2-db-password@db/lb\n\
         HOOK_SECRET=whsec-never-printed-1234\nNOTE=line-with\rcarriage\n",
    );
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["checklist"],
        &["dev-start", "partner", "--dry-run"],
        &["deploy-resume", "partner", "--dry-run"],
        &["exec", "partner", "--", "true"],
        &["watch", "--for", "1s"],
    ] {
        let run = world.run(args);
        let out = run.all_output();
        for secret in AFTER_THE_QUOTE {
            assert!(
                !out.contains(secret),
                "`botctl {}` printed .env's text ({secret:?}):\n{out}",
                args.join(" ")
            );
        }
    }
    for args in [&["status"][..], &["doctor"]] {
        world
            .run(args)
            .expect_stdout("the quote opened on line 2 is never closed");
    }
}
