//! Where a bot's token comes from: the environment, else `.env` in the project root.

use std::collections::HashMap;
use std::path::Path;

use crate::config::Bot;
use crate::fix::Fix;

/// A bot token. Its `Debug` never shows it, so it cannot leak through a panic or a trace.
#[derive(Clone, PartialEq)]
pub struct Token(String);

impl Token {
    /// Every token botctl holds is registered for redaction the moment it exists.
    pub fn new(s: impl Into<String>) -> Self {
        let token = Token(s.into());
        crate::redact::register(&token.0);
        token
    }
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Variables from `.env` in the project root, read once per run.
#[derive(Debug, Default, Clone)]
pub struct DotEnv {
    vars: HashMap<String, String>,
    /// Why .env could not be read whole, when it could not.
    problem: Option<DotEnvProblem>,
}

/// Why `.env` could not be read whole: its path and, for text that does not parse, the line.
/// It holds no text of the file, so no error about it can quote a secret (the parser's own
/// error holds the rest of the file from the bad line on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotEnvProblem {
    path: std::path::PathBuf,
    why: DotEnvWhy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DotEnvWhy {
    TooLarge,
    /// The file could not be read (the reader's error names no content).
    Unreadable(crate::files::FileError),
    NotUtf8 {
        line: usize,
    },
    /// A quote opened on `line` is never closed.
    Unclosed {
        line: usize,
    },
    NotParsed {
        line: usize,
    },
}

impl std::fmt::Display for DotEnvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display();
        match &self.why {
            DotEnvWhy::TooLarge => write!(f, "{path} is too large for a dotenv file (over 1 MiB)"),
            DotEnvWhy::Unreadable(e) => write!(f, "{path} cannot be read: {e}"),
            DotEnvWhy::NotUtf8 { line } => {
                write!(f, "{path} cannot be parsed: line {line} is not UTF-8")
            }
            DotEnvWhy::Unclosed { line } => write!(
                f,
                "{path} cannot be parsed: the quote opened on line {line} is never closed"
            ),
            DotEnvWhy::NotParsed { line } => write!(
                f,
                "{path} cannot be parsed: line {line} is not VAR=value (its text is not shown: \
.env holds secrets)"
            ),
        }
    }
}

/// A .env larger than this is not a dotenv file anyone wrote by hand.
const DOTENV_MAX: u64 = 1 << 20;

impl DotEnv {
    pub fn load(root: &Path) -> Self {
        let path = root.join(".env");
        let unreadable = |why: DotEnvWhy| DotEnv {
            vars: HashMap::new(),
            problem: Some(DotEnvProblem {
                path: path.clone(),
                why,
            }),
        };
        let bytes = match crate::files::read_bytes(&path, DOTENV_MAX) {
            Ok(bytes) => bytes,
            Err(e) if e.is_missing() => return DotEnv::default(),
            // Many projects name their virtualenv `.env`; a FIFO would block for ever.
            Err(e @ crate::files::FileError::NotRegular { .. }) => {
                tracing::info!(
                    "{} {e} (a virtualenv folder?): not read as a dotenv file",
                    path.display()
                );
                return DotEnv::default();
            }
            Err(crate::files::FileError::TooLarge { .. }) => {
                return unreadable(DotEnvWhy::TooLarge);
            }
            Err(e) => return unreadable(DotEnvWhy::Unreadable(e)),
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                return unreadable(DotEnvWhy::NotUtf8 {
                    line: line_at(&bytes, e.valid_up_to()),
                });
            }
        };
        let mut vars = HashMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((k, v)) => {
                    vars.insert(k, v);
                }
                Err(e) => {
                    return DotEnv {
                        vars,
                        problem: Some(DotEnvProblem {
                            path,
                            why: parse_error_line(text, &e),
                        }),
                    };
                }
            }
        }
        DotEnv {
            vars,
            problem: None,
        }
    }
}

/// The 1-based line of byte `offset`.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Where dotenvy's error is, as a line number: its error carries the text of the logical line
/// (for an unclosed quote, the rest of the file), which is located in `text` and never kept.
fn parse_error_line(text: &str, e: &dotenvy::Error) -> DotEnvWhy {
    let dotenvy::Error::LineParse(quoted, index) = e else {
        return DotEnvWhy::NotParsed { line: 1 };
    };
    // An unclosed quote: the reader hit the end of the file with the rest of it in hand.
    if *index == quoted.len() && !quoted.is_empty() && text.ends_with(quoted.as_str()) {
        return DotEnvWhy::Unclosed {
            line: line_at(text.as_bytes(), text.len() - quoted.len()),
        };
    }
    // Else the first line that starts with the logical line: an identical line before it
    // would have failed first.
    let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
    let start = starts
        .into_iter()
        .find(|&i| text[i..].starts_with(quoted.as_str()))
        .unwrap_or(0);
    DotEnvWhy::NotParsed {
        line: line_at(text.as_bytes(), start + index.min(&quoted.len())),
    }
}

/// Where a bot's token was found: the environment wins over `.env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFrom {
    Environment,
    DotEnv,
}

impl std::fmt::Display for TokenFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenFrom::Environment => "the environment",
            TokenFrom::DotEnv => ".env",
        })
    }
}

#[derive(Debug, Clone)]
pub enum TokenLookup {
    Found {
        token: Token,
        from: TokenFrom,
    },
    /// `token_env` is set but neither the environment nor .env has it.
    Missing {
        var: String,
        /// .env could not be read whole, so the variable may be in it.
        dotenv_problem: Option<DotEnvProblem>,
    },
    /// The bot has no `token_env`.
    NotConfigured,
}

pub fn token_for(bot: &Bot, dotenv: &DotEnv) -> TokenLookup {
    let Some(var) = &bot.token_env else {
        return TokenLookup::NotConfigured;
    };
    if let Some(v) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
        return TokenLookup::Found {
            token: Token::new(v.trim()),
            from: TokenFrom::Environment,
        };
    }
    match dotenv.vars.get(var).filter(|v| !v.trim().is_empty()) {
        Some(v) => TokenLookup::Found {
            token: Token::new(v.trim()),
            from: TokenFrom::DotEnv,
        },
        None => TokenLookup::Missing {
            var: var.clone(),
            dotenv_problem: dotenv.problem.clone(),
        },
    }
}

impl TokenLookup {
    /// For a missing token: why, and the command that fixes it. Appending to a .env that
    /// cannot be parsed would not help, so then the fix is to repair it.
    pub fn missing(&self) -> Option<(String, Fix)> {
        let TokenLookup::Missing {
            var,
            dotenv_problem,
        } = self
        else {
            return None;
        };
        Some(match dotenv_problem {
            Some(problem) => (
                format!("{var} is not in the environment, and {problem}"),
                Fix::repair_dotenv(var),
            ),
            None => (
                format!("{var} is in neither the environment nor .env"),
                Fix::append_to_dotenv(var, "token from @BotFather"),
            ),
        })
    }
}

impl DotEnv {
    /// A variable from .env (not the environment), when .env holds it.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.vars.get(var).map(String::as_str)
    }

    /// Why .env could not be read whole, when it could not.
    pub fn problem(&self) -> Option<&DotEnvProblem> {
        self.problem.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// holds the rest of the file.
    #[test]
    fn a_dotenv_error_names_the_line_never_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &str); 3] = [
            (
                b"A=1\nB='halfvalue\nDATABASE_URL=postgres://u:hunter2@db/x\nHOOK=s3cr3t-hook\n",
                "the quote opened on line 2 is never closed",
            ),
            (
                b"A=1\n\nnot a pair s3cr3t-hook\nB=2\n",
                "line 3 is not VAR=value",
            ),
            (b"A=1\nB=\"x\"\nC=\xff s3cr3t-hook\n", "line 3 is not UTF-8"),
        ];
        for (text, want) in cases {
            std::fs::write(dir.path().join(".env"), text).unwrap();
            let problem = DotEnv::load(dir.path()).problem().unwrap().to_string();
            assert!(problem.contains(want), "{problem}");
            assert!(problem.contains(".env"), "{problem}");
            for secret in ["hunter2", "s3cr3t", "halfvalue", "not a pair"] {
                assert!(!problem.contains(secret), "{problem}");
            }
        }
    }
}
