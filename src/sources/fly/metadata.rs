//! Machine metadata updates: where the team's handoff record is written (`crate::team`).

use super::{FlyError, Flyctl};

impl Flyctl {
    /// `flyctl machine update ID --app APP --metadata K=V… --skip-start --yes`: merges the keys
    /// into the machine's metadata. A full config update: it reboots a running machine, so
    /// callers (`crate::team`) use it on stopped machines only; `--skip-start` keeps them
    /// stopped. Returns the command as typed, for a retry.
    pub fn update_metadata(
        &self,
        app: &str,
        id: &str,
        pairs: &[(&str, &str)],
    ) -> Result<(), FlyError> {
        let args = metadata_args(app, id, pairs);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.call(&args, self.timeout).map(drop)
    }
}

/// The argv of a metadata update (without the program name).
pub fn metadata_args(app: &str, id: &str, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut args: Vec<String> = ["machine", "update", id, "--app", app]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (key, value) in pairs {
        args.push("--metadata".into());
        args.push(format!("{key}={value}"));
    }
    args.push("--skip-start".into());
    args.push("--yes".into());
    args
}
