//! Whether a process that runs a bot's entry is this project's copy of the bot: the one rule,
//! for this machine and for `[[host]]` servers alike (a host's scan computes the SHA-256 of
//! the token variable there, so the token never crosses ssh; here botctl computes it).
//!
//! A copy is this bot when its working folder (or the script's resolved path) is inside the
//! project, or when the bot's token is in its environment, or — the environment not holding
//! the variable — in the `.env` of its folder. Any other token, or none where botctl can read,
//! is another bot that happens to share the file name. Only the own user's processes are read
//! (another user's environment is theirs, even for root): theirs cannot be told.

use std::collections::HashMap;
use std::path::Path;

use crate::config::Bot;
use crate::model::BotName;
use crate::sources::telegram::{DotEnv, TokenLookup, Tokens};

/// What botctl learned of the token variable in one place: a process's environment, or the
/// `.env` of its working folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The SHA-256 of its value (lowercase hex).
    Hash(String),
    /// That place was read and the variable is not in it.
    Absent,
    /// That place could not be read: why, as a sentence.
    Unknown(String),
}

/// Whose copy a process is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whose {
    /// This project's bot.
    This,
    /// Another program with the same file name: not a place, never signalled.
    Other,
    /// It cannot be told: why. Listed, counted as unknown, never signalled.
    Maybe(String),
}

/// What the rule needs to know of the bot: its token variable and the SHA-256 of its token.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub var: Option<String>,
    pub hash: Option<String>,
}

/// Each bot's token variable and token hash: the token the run looked up (the environment or
/// the project's `.env`), as every other command reads it.
pub fn wanted(bots: &[&Bot], tokens: &Tokens) -> HashMap<BotName, Wanted> {
    bots.iter()
        .map(|b| {
            let hash = match tokens.of(b) {
                TokenLookup::Found { token, .. } => Some(sha256_hex(token.secret())),
                _ => None,
            };
            let var = b.token_env.clone();
            (b.name.clone(), Wanted { var, hash })
        })
        .collect()
}

/// Where a process runs from, as the rule reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    /// Its working folder or script is inside the project.
    InProject,
    /// Anywhere else, or not known (on a host: never known).
    Elsewhere,
}

/// Whose user a process runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessUser {
    /// botctl's own user (on a host: the ssh user).
    Own,
    Another,
}

impl ProcessUser {
    /// A process of user `uid` (`None`: unknown, never one's own), seen by user `me`.
    pub fn of(uid: Option<crate::model::Uid>, me: crate::model::Uid) -> Self {
        if uid == Some(me) {
            ProcessUser::Own
        } else {
            ProcessUser::Another
        }
    }
}

/// The rule. The two places are read only when the rule needs them, in this order.
pub fn decide(
    folder: Folder,
    user: ProcessUser,
    wanted: &Wanted,
    environ: impl FnOnce(&str) -> Seen,
    dotenv: impl FnOnce(&str) -> Seen,
) -> Whose {
    if folder == Folder::InProject {
        return Whose::This;
    }
    if user == ProcessUser::Another {
        return Whose::Maybe(
            "another user's process: botctl does not read other users' environments, so whose \
token it holds cannot be told"
                .into(),
        );
    }
    let Some(var) = wanted.var.as_deref() else {
        return Whose::Maybe("the bot has no token_env to tell this project's copy by".into());
    };
    let seen = match environ(var) {
        Seen::Absent => match dotenv(var) {
            Seen::Absent => return Whose::Other,
            other => other,
        },
        other => other,
    };
    match (seen, &wanted.hash) {
        (Seen::Hash(h), Some(w)) if h == *w => Whose::This,
        (Seen::Hash(_), Some(_)) | (Seen::Absent, _) => Whose::Other,
        (Seen::Hash(_), None) => Whose::Maybe(format!(
            "it has its own {var}, and botctl has none to compare it with ({var} is in neither \
the environment nor .env)"
        )),
        (Seen::Unknown(why), _) => Whose::Maybe(why),
    }
}

/// The SHA-256 of a token, lowercase hex: what a host's `sha256sum` prints.
pub fn sha256_hex(value: &str) -> String {
    use std::fmt::Write;
    let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    digest.as_ref().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The variable in a process's `.env` (its working folder's), read as the project's is.
pub fn dotenv_var(cwd: &Path, var: &str) -> Seen {
    let dotenv = DotEnv::load(cwd);
    match (dotenv.get(var), dotenv.problem()) {
        (Some(v), _) if !v.trim().is_empty() => Seen::Hash(sha256_hex(v.trim())),
        (_, Some(problem)) => Seen::Unknown(problem.to_string()),
        _ => Seen::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Folder::{Elsewhere, InProject};
    use ProcessUser::{Another, Own};

    fn wanted(token: Option<&str>) -> Wanted {
        Wanted {
            var: Some("PARTNER_BOT_TOKEN".into()),
            hash: token.map(sha256_hex),
        }
    }

    fn hash(v: &str) -> Seen {
        Seen::Hash(sha256_hex(v))
    }

    #[test]
    fn the_copy_is_told_by_folder_then_environment_then_its_dotenv() {
        let w = wanted(Some("1:a"));
        let unread = |_: &str| -> Seen { panic!("read although the rule knew") };
        assert_eq!(decide(InProject, Another, &w, unread, unread), Whose::This);
        assert_eq!(
            decide(Elsewhere, Own, &w, |_| hash("1:a"), unread),
            Whose::This
        );
        assert_eq!(
            decide(Elsewhere, Own, &w, |_| hash("2:b"), unread),
            Whose::Other
        );
        assert_eq!(
            decide(Elsewhere, Own, &w, |_| Seen::Absent, |_| hash("1:a")),
            Whose::This
        );
        assert_eq!(
            decide(Elsewhere, Own, &w, |_| Seen::Absent, |_| hash("2:b")),
            Whose::Other
        );
        assert_eq!(
            decide(Elsewhere, Own, &w, |_| Seen::Absent, |_| Seen::Absent),
            Whose::Other
        );
        assert!(matches!(
            decide(Elsewhere, Own, &w, |_| Seen::Unknown("x".into()), unread),
            Whose::Maybe(_)
        ));
        assert!(matches!(
            decide(Elsewhere, Another, &w, unread, unread),
            Whose::Maybe(_)
        ));
        // No token here to compare with: a copy with a token of its own cannot be told.
        assert!(matches!(
            decide(Elsewhere, Own, &wanted(None), |_| hash("2:b"), unread),
            Whose::Maybe(_)
        ));
    }

    #[test]
    fn the_hash_is_sha256_as_sha256sum_prints_it() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
