//! Every app the account can see and each app's secrets (names and digests, never values): how
//! another app holding the same token is found.

use serde::Deserialize;

use super::{FlyError, Flyctl, NotAList};
use crate::outside::Outside;

/// flyctl's own apps, made for `flyctl ssh console` sessions: never a bot.
const FLYCTL_OWN_APPS: &str = "flyctl-interactive-shells-";

/// A Fly secret as `flyctl secrets list --json` shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FlySecret {
    pub name: Outside,
    /// Computed by Fly from the value: equal digests mean equal values.
    #[serde(default)]
    pub digest: Outside,
}

impl Flyctl {
    /// Every app this Fly account can see, except flyctl's own (`flyctl-interactive-shells-*`).
    pub fn apps(&self) -> Result<Vec<Outside>, FlyError> {
        let args = ["apps", "list", "--json"];
        let stdout = self.call(&args, self.timeout)?;
        parse_apps(&stdout).map_err(|e| FlyError::BadOutput {
            command: format!("flyctl {}", args.join(" ")),
            message: e.to_string(),
        })
    }

    /// The names and digests of an app's secrets (never their values: flyctl cannot show them).
    pub fn secrets(&self, app: &str) -> Result<Vec<FlySecret>, FlyError> {
        let args = ["secrets", "list", "--app", app, "--json"];
        let stdout = self.call(&args, self.timeout)?;
        parse_secrets(&stdout).map_err(|e| FlyError::BadOutput {
            command: format!("flyctl {}", args.join(" ")),
            message: e.to_string(),
        })
    }
}

/// fly-go's `App`: Go field names as keys; everything but the name is ignored.
#[derive(Deserialize)]
struct RawApp {
    #[serde(rename = "Name")]
    name: Outside,
}

pub fn parse_apps(json: &str) -> Result<Vec<Outside>, NotAList> {
    let raw: Vec<RawApp> =
        serde_json::from_str(json.trim()).map_err(|source| NotAList::of("apps", source))?;
    Ok(raw
        .into_iter()
        .map(|a| a.name)
        .filter(|name| !name.is_empty() && !name.raw().starts_with(FLYCTL_OWN_APPS))
        .collect())
}

pub fn parse_secrets(json: &str) -> Result<Vec<FlySecret>, NotAList> {
    // flyctl prints `null` rather than `[]` for an app without secrets in some versions.
    let raw: Option<Vec<FlySecret>> =
        serde_json::from_str(json.trim()).map_err(|source| NotAList::of("secrets", source))?;
    Ok(raw.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_and_secrets_json() {
        let apps = parse_apps(
            r#"[{"ID":"a","Name":"loyalitybot-beta","Status":"deployed","Deployed":true,
                 "Organization":{"ID":"o","Slug":"personal","Name":"P","Extra":1},"New":[1]},
                {"ID":"s","Name":"flyctl-interactive-shells-123","Organization":null}]"#,
        )
        .unwrap();
        assert_eq!(apps, [Outside::from("loyalitybot-beta")]);
        let secrets = parse_secrets(
            r#"[{"name":"BOT_TOKEN","digest":"ab12","status":"Deployed"},{"name":"X","digest":"cd"}]"#,
        )
        .unwrap();
        assert_eq!(secrets[0].name, "BOT_TOKEN");
        assert_eq!(secrets[1].digest, "cd");
        assert!(parse_secrets("null").unwrap().is_empty());
        assert!(parse_apps("Error").is_err());
    }
}
