//! Who botctl is and where it runs, as handoff records name them: read once per run.

use crate::model::{Person, Workstation};

/// Where botctl runs, in handoff records (`botctl_on`): `$BOTCTL_ON` when set, else a short
/// hash of the machine's id (`/etc/machine-id`, the Mac's hardware UUID), else of its host
/// name — stable across runs, and never the name itself, which may be private. Read once.
pub fn here() -> Workstation {
    static HERE: std::sync::OnceLock<Workstation> = std::sync::OnceLock::new();
    HERE.get_or_init(|| Workstation::new(read_here())).clone()
}

fn read_here() -> String {
    if let Some(v) = std::env::var("BOTCTL_ON")
        .ok()
        .map(|v| clean(&v))
        .filter(|v| !v.is_empty())
    {
        return v;
    }
    let id = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| {
            crate::files::read_text(std::path::Path::new(p), 4096)
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        })
        .or_else(host_uuid)
        .or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .map(|h| format!("host:{}", h.to_string_lossy()))
        })
        .unwrap_or_else(|| "unknown".into());
    short_id(&id)
}

/// The first 12 hex digits of SHA-256 over the id, keyed for botctl (as systemd asks of an
/// application's id derived from the machine id).
fn short_id(id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("botctl-on:{id}").as_bytes());
    digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(target_os = "macos")]
fn host_uuid() -> Option<String> {
    let mut uuid = [0u8; 16];
    let wait = nix::libc::timespec {
        tv_sec: 1,
        tv_nsec: 0,
    };
    // SAFETY: gethostuuid writes 16 bytes into the buffer it is given.
    let rc = unsafe { nix::libc::gethostuuid(uuid.as_mut_ptr(), &wait) };
    (rc == 0).then(|| uuid.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(not(target_os = "macos"))]
fn host_uuid() -> Option<String> {
    None
}

/// Who botctl is, in handoff records (and in `.botctl/state.json`'s `by`): `$BOTCTL_WHO` when
/// set, else `user@host` with the short host name. Read once per run.
pub fn who() -> Person {
    static WHO: std::sync::OnceLock<Person> = std::sync::OnceLock::new();
    WHO.get_or_init(|| Person::new(read_who())).clone()
}

fn read_who() -> String {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        });
    let host = nix::unistd::gethostname()
        .ok()
        .map(|h| h.to_string_lossy().into_owned());
    who_from(
        std::env::var("BOTCTL_WHO").ok().as_deref(),
        user.as_deref(),
        host.as_deref(),
    )
}

/// A record value stays short and printable: control characters and spaces are dropped, and
/// it is cut at 64 characters.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .take(64)
        .collect()
}

/// [`who`] from its inputs.
fn who_from(env: Option<&str>, user: Option<&str>, host: Option<&str>) -> String {
    if let Some(v) = env.map(clean).filter(|v| !v.is_empty()) {
        return v;
    }
    let short = host
        .and_then(|h| h.split('.').next())
        .filter(|h| !h.is_empty())
        .unwrap_or("unknown");
    clean(&format!("{}@{short}", user.unwrap_or("unknown")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_is_botctl_who_else_user_at_short_host() {
        assert_eq!(
            who_from(Some("alice@mbp"), Some("dev"), Some("x.lan")),
            "alice@mbp"
        );
        assert_eq!(
            who_from(None, Some("dev"), Some("thinkpad.example.com")),
            "dev@thinkpad"
        );
        assert_eq!(who_from(Some(""), Some("dev"), Some("box")), "dev@box");
        assert_eq!(who_from(Some("a\u{1b}[2J b"), None, None), "a[2Jb");
        assert_eq!(who_from(None, None, None), "unknown@unknown");
    }

    #[test]
    fn a_machine_id_is_short_stable_and_not_the_name() {
        let a = short_id("0123456789abcdef0123456789abcdef");
        assert_eq!(a.len(), 12);
        assert_eq!(a, short_id("0123456789abcdef0123456789abcdef"));
        assert_ne!(a, short_id("host:mbp"));
        assert!(!short_id("host:alices-mbp").contains("mbp"));
    }
}
