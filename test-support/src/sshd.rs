//! A real `sshd` on a free loopback port, for `[[host]]` tests and the bench: temporary host
//! and client keys, its config, pid file and authorized_keys in its own temp folder, logging in
//! as the user that started it (root on CI). Killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::config::{Host, Toml};
use crate::{Result, kill_child, wait_until};

pub struct Sshd {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// A loopback port nothing listens on (right now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn keygen(path: &Path) -> Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "botctl-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("ssh-keygen: {e} (run `cargo xtask setup`)"))?;
    if !status.success() {
        return Err(format!("ssh-keygen failed ({status})"));
    }
    Ok(())
}

impl Sshd {
    /// sshd accepting `key("client_key")`; `extra` is added to its config (a `ForceCommand`).
    pub fn start(extra: &str) -> Sshd {
        Sshd::try_start(extra).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(extra: &str) -> Result<Sshd> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !sshd.is_file() {
            return Err("/usr/sbin/sshd is missing: run `cargo xtask setup`".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("botctl-sshd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let d = dir.path();
        for key in ["host_key", "client_key", "stranger_key"] {
            keygen(&d.join(key))?;
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys"))
            .map_err(|e| e.to_string())?;
        // sshd refuses to start without its privilege separation folder.
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
PermitRootLogin prohibit-password\nLogLevel ERROR\n{extra}\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(d.join("sshd.log")).map_err(|e| e.to_string())?;
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(sshd)
                .args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .envs(crate::cleanup::run_mark())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("start sshd: {e}"))?
        };
        let sshd = Sshd { child, port, dir };
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !up {
            return Err(format!(
                "sshd never listened on port {port}: {}",
                std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default()
            ));
        }
        Ok(sshd)
    }

    /// A key in its folder: `client_key` (authorized) or `stranger_key` (not).
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `[[host]]` table for this server, as root, with `key` and `timeout`.
    pub fn host_table(&self, name: &str, key: &str, timeout: &str) -> String {
        host_table(name, self.port, &self.key(key), timeout)
    }
}

/// A `[[host]]` table for `root@127.0.0.1:port` with this key; no ssh config or known hosts
/// of the machine are read.
pub fn host(name: &str, port: u16, key: &Path, timeout: &str) -> Host {
    let (port, key) = (port.to_string(), key.display().to_string());
    Host::new(name, "root@127.0.0.1")
        .options(&[
            "-p",
            &port,
            "-i",
            &key,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-F",
            "/dev/null",
        ])
        .timeout(timeout)
}

/// That `[[host]]` table as text, to append to a botctl.toml.
pub fn host_table(name: &str, port: u16, key: &Path, timeout: &str) -> String {
    format!("\n{}", Toml::new().host(host(name, port, key, timeout)))
}

impl Drop for Sshd {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}
