//! The variable a bot's code reads its token from: `os.getenv("X")`, `os.environ["X"]`,
//! `os.environ.get("X")`, environs/decouple (`env("X")`, `env.str("X")`, `config("X")`),
//! pydantic settings (a field plus `env_prefix`, or its `alias`), `process.env.X`,
//! `process.env["X"]`, `const { X } = process.env`; then the names in `.env.example`,
//! `.env.dist`, `.env.sample` and the compose service's `environment`. A name that looks like a
//! token's (`*TOKEN*`) wins. A token written in the code is found too, and only its place is
//! ever said.

use std::path::{Path, PathBuf};

use super::walk::{Project, read};

/// A variable the code reads, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub name: String,
    /// `settings/config.py:8`, shown.
    pub at: String,
    /// Read by the code (not only named in an example file or compose).
    pub from_code: bool,
}

/// Every environment variable the text reads, in order.
pub fn reads(text: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut push = |name: String, line: usize| {
        if is_env_name(&name) && !out.iter().any(|(n, _)| *n == name) {
            out.push((name, line));
        }
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        for call in [
            "getenv(",
            "environ[",
            "environ.get(",
            "env(",
            "env.str(",
            "env.int(",
            "config(",
            "Deno.env.get(",
            "process.env[",
            "Bun.env[",
        ] {
            for rest in line.split(call).skip(1) {
                if let Some(name) = quoted_first(rest) {
                    push(name, n);
                }
            }
        }
        for prefix in ["process.env.", "Bun.env.", "import.meta.env."] {
            for rest in line.split(prefix).skip(1) {
                push(ident(rest), n);
            }
        }
        // `const { BOT_TOKEN, ADMIN_ID } = process.env`
        if let Some((lhs, _)) = line.split_once("= process.env")
            && let Some(inner) = lhs.rsplit_once('{').map(|(_, r)| r)
        {
            for part in inner.trim_end().trim_end_matches('}').split(',') {
                let key = part.split(':').next().unwrap_or("").trim();
                push(key.split('=').next().unwrap_or("").trim().to_string(), n);
            }
        }
    }
    for (name, line) in pydantic_fields(text) {
        push(name, line);
    }
    out
}

/// The first argument of a call, when it is a string literal: `("X", …` → X.
fn quoted_first(rest: &str) -> Option<String> {
    let rest = rest.trim_start();
    let q = rest
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'' || *c == '`')?;
    let body = &rest[1..];
    let end = body.find(q)?;
    Some(body[..end].to_string())
}

fn ident(rest: &str) -> String {
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// pydantic `BaseSettings` classes: each field's variable is its `alias` (or v1's `env`), else
/// `env_prefix` plus its name, upper-cased (settings are case-insensitive by default).
fn pydantic_fields(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let is_settings = line.trim_start().starts_with("class ")
            && (line.contains("BaseSettings") || line.contains("Settings)"));
        if !is_settings {
            i += 1;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut j = i + 1;
        let mut body = Vec::new();
        while j < lines.len() {
            let l = lines[j];
            let ind = l.len() - l.trim_start().len();
            if !l.trim().is_empty() && ind <= indent {
                break;
            }
            body.push((j + 1, l));
            j += 1;
        }
        let field_indent = body
            .iter()
            .find(|(_, l)| !l.trim().is_empty())
            .map_or(0, |(_, l)| l.len() - l.trim_start().len());
        let prefix = body
            .iter()
            .find_map(|(_, l)| {
                let rest = l.split("env_prefix").nth(1)?;
                quoted_first(
                    rest.trim_start()
                        .trim_start_matches(['=', ':'])
                        .trim_start(),
                )
            })
            .unwrap_or_default();
        for (n, l) in &body {
            let ind = l.len() - l.trim_start().len();
            let t = l.trim();
            if ind != field_indent || t.starts_with('#') || t.starts_with("model_config") {
                continue;
            }
            let Some((name, rest)) = t.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if !is_env_name(name) || name.starts_with('_') || rest.trim_start().starts_with(':') {
                continue;
            }
            let alias = ["validation_alias=", "alias=", "env="]
                .iter()
                .find_map(|k| quoted_first(rest.split(k).nth(1)?));
            let var = alias.unwrap_or_else(|| format!("{prefix}{name}"));
            out.push((var.to_ascii_uppercase(), *n));
        }
        i = j;
    }
    out
}

/// `*TOKEN*`, and not another service's token (a Telegram payments provider's, GitHub's…).
pub fn looks_like_token_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    const OTHERS: [&str; 12] = [
        "PAYMENT", "PROVIDER", "GITHUB", "GITLAB", "OPENAI", "SENTRY", "CSRF", "REFRESH",
        "HUGGING", "NOTION", "SLACK", "DISCORD",
    ];
    n.contains("TOKEN") && !OTHERS.iter().any(|o| n.contains(o))
}

/// A name that says it is a Telegram bot's.
fn says_telegram(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.contains("BOT") || n.contains("TELEGRAM") || n.starts_with("TG_")
}

/// The names a `.env.example`-style file lists, with their lines.
pub fn dotenv_names(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim().trim_start_matches("export ").trim();
            let (name, _) = l.split_once('=')?;
            let name = name.trim();
            is_env_name(name).then(|| (name.to_string(), i + 1))
        })
        .collect()
}

/// The example env files that may name a bot's variables: in its folder and up to the root.
pub fn example_files(project: &Project, dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dir.ancestors().take_while(|d| d.starts_with(&project.root)) {
        for name in [
            ".env.example",
            ".env.dist",
            ".env.sample",
            ".env.template",
            "example.env",
        ] {
            let p = d.join(name);
            if p.is_file() {
                out.push(p);
            }
        }
    }
    out
}

/// The first line of `text` that holds a token-shaped constant (the place only).
pub fn hard_coded(text: &str) -> Option<usize> {
    text.lines()
        .position(|l| crate::redact::find_token(l).is_some())
        .map(|i| i + 1)
}

/// What was found about a bot's token.
#[derive(Debug, Default)]
pub struct TokenFound {
    /// The variable and where it was read.
    pub var: Option<Read>,
    /// Every place init looked, for the comment when nothing was found.
    pub looked: Vec<String>,
    /// Where the token itself is written in the code.
    pub hard_coded: Vec<String>,
}

/// The token variable of a bot whose code is `code` and that runs in `dir`, with `extra`
/// names from its compose service.
pub fn find(
    project: &Project,
    code: &[(PathBuf, String)],
    dir: &Path,
    extra: &[(String, String)],
) -> TokenFound {
    let mut token = TokenFound::default();
    let mut candidates: Vec<Read> = Vec::new();
    for (path, text) in code {
        let shown = project.shown(path);
        token.looked.push(shown.clone());
        if let Some(line) = hard_coded(text) {
            token.hard_coded.push(format!("{shown}:{line}"));
        }
        for (name, line) in reads(text) {
            candidates.push(Read {
                name,
                at: format!("{shown}:{line}"),
                from_code: true,
            });
        }
    }
    // The code's own reads come first; then the example files; then compose.
    for file in example_files(project, dir) {
        let shown = project.shown(&file);
        if let Some(text) = read(&file) {
            token.looked.push(shown.clone());
            for (name, line) in dotenv_names(&text) {
                candidates.push(Read {
                    name,
                    at: format!("{shown}:{line}"),
                    from_code: false,
                });
            }
        }
    }
    for (name, at) in extra.iter().filter(|(n, _)| is_env_name(n)) {
        candidates.push(Read {
            name: name.clone(),
            at: at.clone(),
            from_code: false,
        });
    }
    if !extra.is_empty() {
        token.looked.push("its compose environment".into());
    }
    token.var = candidates
        .iter()
        .find(|r| looks_like_token_var(&r.name) && says_telegram(&r.name))
        .or_else(|| candidates.iter().find(|r| looks_like_token_var(&r.name)))
        .cloned();
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        reads(text).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn python_reads() {
        assert_eq!(
            names("TOKEN = os.getenv(\"PARTNER_BOT_TOKEN\")"),
            ["PARTNER_BOT_TOKEN"]
        );
        assert_eq!(
            names("t = os.environ['A_TOKEN']; u = os.environ.get('B')"),
            ["A_TOKEN", "B"]
        );
        assert_eq!(
            names("TOKEN = env.str(\"BOT_TOKEN\")\nX = config('ADMIN_IDS', cast=int)"),
            ["BOT_TOKEN", "ADMIN_IDS"]
        );
    }

    #[test]
    fn pydantic_settings() {
        let text = "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\
class Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix=\"TELEGRAM_\")\n\n    \
bot_token: SecretStr\n    admin_id: int = 0\n    db: str = Field(alias=\"DATABASE_URL\")\n\nsettings = Settings()\n";
        assert_eq!(
            names(text),
            ["TELEGRAM_BOT_TOKEN", "TELEGRAM_ADMIN_ID", "DATABASE_URL"]
        );
        let v1 = "class Config(BaseSettings):\n    token: str\n\n    class Config:\n        env_prefix = 'BOT_'\n";
        assert!(
            names(v1).contains(&"BOT_TOKEN".to_string()),
            "{:?}",
            names(v1)
        );
    }

    #[test]
    fn node_reads() {
        assert_eq!(
            names("const { BOT_TOKEN, ADMIN = '1' } = process.env;"),
            ["BOT_TOKEN", "ADMIN"]
        );
        assert_eq!(
            names("new Bot(process.env.SHOP_BOT_TOKEN!)"),
            ["SHOP_BOT_TOKEN"]
        );
        assert_eq!(names("process.env[\"X_TOKEN\"]"), ["X_TOKEN"]);
    }

    #[test]
    fn the_bots_token_is_preferred_to_other_tokens() {
        assert!(looks_like_token_var("TOKEN") && looks_like_token_var("tg_token"));
        assert!(!looks_like_token_var("PAYMENT_PROVIDER_TOKEN"));
        assert!(!looks_like_token_var("GITHUB_TOKEN"));
        assert!(says_telegram("TG_TOKEN") && !says_telegram("API_TOKEN"));
    }

    #[test]
    fn a_written_token_is_found_by_place() {
        let tok = format!("7012345678:{}", "A".repeat(35));
        assert_eq!(hard_coded(&format!("a = 1\nTOKEN = \"{tok}\"\n")), Some(2));
        assert_eq!(hard_coded("TOKEN = os.getenv('X')"), None);
    }
}
