//! The ssh transport: one program run on the host, with a time limit, keeping token-holding
//! variables from ssh's `SendEnv`.

use std::path::Path;

use super::HostError;
use crate::config::Host;
use crate::process::{self, ExecError, Output};

/// Runs `remote` on the host (ssh joins it into one command line for the login shell there)
/// with `input` on its stdin, within the host's timeout. Errors carry ssh's own words.
pub fn ssh(host: &Host, remote: &[&str], input: &str) -> Result<Output, HostError> {
    let program = process::find_program("ssh", Path::new("/")).ok_or(HostError::NoSsh)?;
    let args = ssh_args(host, remote);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = process::run_with_input(&program, &args, input, &token_vars(), host.timeout)
        .map_err(|e| match e {
            ExecError::TimedOut { after, .. } => HostError::SshTimedOut {
                ssh: host.ssh.clone(),
                after,
                host: host.name.clone(),
            },
            other => HostError::SshRun(other),
        })?;
    // ssh's own failures (unreachable, refused key, unknown host) exit 255.
    if out.code == Some(255) {
        return Err(HostError::Ssh {
            ssh: host.ssh.clone(),
            said: out.error_line(),
        });
    }
    Ok(out)
}

/// `ssh -o BatchMode=yes -o ConnectTimeout=N [options] DEST remote…`.
pub fn ssh_args(host: &Host, remote: &[&str]) -> Vec<String> {
    let mut args = vec![
        "-o".to_string(),
        "BatchMode=yes".into(),
        "-o".into(),
        format!("ConnectTimeout={}", host.timeout.as_secs().max(1)),
    ];
    args.extend(host.options.iter().cloned());
    args.push(host.ssh.clone());
    args.extend(remote.iter().map(|s| s.to_string()));
    args
}

/// Variables holding something that looks like a bot token: kept from ssh, which can send
/// variables to the server (`SendEnv`).
fn token_vars() -> Vec<String> {
    std::env::vars_os()
        .filter(|(_, v)| crate::redact::find_token(&v.to_string_lossy()).is_some())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect()
}

pub(super) fn status_words(out: &Output) -> String {
    match out.code {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".into(),
    }
}
