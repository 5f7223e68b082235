//! Which Heroku app and process type run each bot: the Procfile line that starts it (Heroku
//! scales process types), and the app named by the project's `heroku` git remote (what
//! `heroku create` and `heroku git:remote` write), when there is one.

use std::path::Path;

use super::bot::{App, FoundBot, HerokuKey};
use super::walk::{Project, read};

/// A bot no fly.toml deploys and a Procfile starts: its Heroku key. Of several process types
/// that start it, `worker` (Heroku's name for a process with no web traffic), else the first.
pub fn assign(project: &Project, bots: &mut [FoundBot]) {
    let app = app_from_git(&project.root);
    for b in bots.iter_mut().filter(|b| b.app == App::None) {
        let Some((process, origin)) = b
            .procfile
            .iter()
            .find(|(k, _)| k == "worker")
            .or(b.procfile.first())
        else {
            continue;
        };
        let others = b.procfile.len() - 1;
        b.heroku = Some(HerokuKey {
            app: app.clone(),
            process: process.clone(),
            why: if others == 0 {
                format!("{origin} starts it")
            } else {
                format!("{origin} starts it, and {others} other process type(s) too")
            },
        });
    }
}

/// The app of `[remote "heroku"]` in `.git/config`: `https://git.heroku.com/NAME.git` or
/// `git@heroku.com:NAME.git`.
fn app_from_git(root: &Path) -> Option<String> {
    app_in_git_config(&read(&root.join(".git/config"))?)
}

fn app_in_git_config(text: &str) -> Option<String> {
    let mut in_heroku = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_heroku = line.replace(' ', "") == "[remote\"heroku\"]";
            continue;
        }
        let Some(url) = line
            .strip_prefix("url")
            .map(str::trim_start)
            .and_then(|l| l.strip_prefix('='))
            .map(str::trim)
        else {
            continue;
        };
        if !in_heroku {
            continue;
        }
        let name = url
            .strip_prefix("https://git.heroku.com/")
            .or_else(|| url.strip_prefix("git@heroku.com:"))?
            .trim_end_matches('/')
            .trim_end_matches(".git");
        // A Heroku app name: what botctl.toml accepts.
        return (!name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .then(|| name.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heroku_remote_names_the_app() {
        let config = "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:a/b.git\n\
[remote \"heroku\"]\n\turl = https://git.heroku.com/lb-partner.git\n\tfetch = +refs/heads/*:refs/remotes/heroku/*\n";
        assert_eq!(app_in_git_config(config).as_deref(), Some("lb-partner"));
        assert_eq!(
            app_in_git_config("[remote \"heroku\"]\nurl = git@heroku.com:shop-bot.git\n")
                .as_deref(),
            Some("shop-bot")
        );
        assert_eq!(
            app_in_git_config("[remote \"origin\"]\nurl = https://git.heroku.com/x.git\n"),
            None
        );
        assert_eq!(
            app_in_git_config("[remote \"heroku\"]\nurl = https://git.heroku.com/Bad App.git\n"),
            None
        );
    }
}
