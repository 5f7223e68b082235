//! Running kubectl for one bot's workload: the context and namespace of botctl.toml on every
//! call, each call bounded by `[kubernetes] timeout` (and kubectl's own `--request-timeout`),
//! and every failure a sentence with its fix (reference/platforms.md, "Kubernetes").

use std::path::PathBuf;
use std::time::Duration;

use crate::fix::Fix;
use crate::model::Kubernetes;
use crate::process::{self, ExecError};
use crate::sources::platform::PlatformError;

/// kubectl with the bot's context and namespace.
pub struct Kubectl {
    program: Option<PathBuf>,
    context: Option<String>,
    namespace: Option<String>,
    pub timeout: Duration,
}

impl Kubectl {
    pub fn new(k: &Kubernetes, timeout: Duration) -> Self {
        Kubectl {
            program: process::find_program("kubectl", std::path::Path::new(".")),
            context: k.context.clone(),
            namespace: k.namespace.clone(),
            timeout,
        }
    }

    /// `--context C -n NS` as botctl.toml names them (none: the kubeconfig's own).
    pub fn scope(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(c) = &self.context {
            args.extend(["--context".to_string(), c.clone()]);
        }
        if let Some(n) = &self.namespace {
            args.extend(["-n".to_string(), n.clone()]);
        }
        args
    }

    /// `kubectl` with the bot's scope and `args`, as a fix.
    pub fn fix(&self, args: &[&str]) -> Fix {
        let mut argv = vec!["kubectl".to_string()];
        argv.extend(self.scope());
        argv.extend(args.iter().map(|a| a.to_string()));
        Fix::run(&argv)
    }

    /// The command as a person types it (for fixes and messages).
    pub fn typed(&self, args: &[&str]) -> String {
        let mut words = vec!["kubectl".to_string()];
        words.extend(self.scope());
        words.extend(args.iter().map(|a| a.to_string()));
        words.join(" ")
    }

    pub fn program(&self) -> Result<&std::path::Path, PlatformError> {
        self.program.as_deref().ok_or_else(|| {
            PlatformError::new(
                "kubectl is not installed (not on PATH): the cluster was not checked",
                Some(Fix::instruction(
                    "install kubectl (https://kubernetes.io/docs/tasks/tools/), then run this again",
                )),
            )
        })
    }

    /// The whole argument list of one call: scope, a request time-out, `args`.
    pub fn args<'a>(&'a self, args: &[&'a str], request_timeout: &'a str) -> Vec<String> {
        let mut all = self.scope();
        all.push(format!("--request-timeout={request_timeout}"));
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    /// Runs one call; stdout on success.
    pub fn call(&self, args: &[&str]) -> Result<String, PlatformError> {
        let program = self.program()?;
        let secs = format!("{}s", self.timeout.as_secs().max(1));
        let all = self.args(args, &secs);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        // A little beyond kubectl's own request time-out: a hung exec is still ended.
        let limit = self.timeout + Duration::from_secs(2);
        let out = process::run(program, &all, limit).map_err(|e| self.exec_error(args, e))?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(self.classify(args, &out.stderr, out.error_line()))
        }
    }

    pub fn exec_error(&self, args: &[&str], e: ExecError) -> PlatformError {
        match e {
            ExecError::Interrupted => PlatformError::interrupted(),
            // Killed a little after kubectl's own request time-out: the limit set is the one.
            ExecError::TimedOut { .. } => self.hang(args, self.timeout),
            other => PlatformError::new(other.to_string(), None),
        }
    }

    fn hang(&self, args: &[&str], after: Duration) -> PlatformError {
        PlatformError::new(
            format!(
                "`{}` did not answer within {}s: the cluster was not checked",
                self.typed(args),
                after.as_secs()
            ),
            Some(Fix::run(&["kubectl", "cluster-info"]).note("or raise [kubernetes] timeout")),
        )
    }

    /// kubectl's stderr, as a sentence and its fix. Only its error line is quoted (escaped).
    fn classify(&self, args: &[&str], stderr: &str, said: String) -> PlatformError {
        let typed = self.typed(args);
        let context = self.context.as_deref().unwrap_or("the current context");
        let (message, fix) = if stderr.contains("context was not found")
            || stderr.contains("does not exist") && stderr.contains("context")
        {
            (
                format!("kubeconfig has no context {context}: the cluster was not checked"),
                Fix::run(&["kubectl", "config", "get-contexts"])
                    .note("then fix context in botctl.toml"),
            )
        } else if stderr.contains("connection refused")
            || stderr.contains("Unable to connect")
            || stderr.contains("no such host")
            || stderr.contains("dial tcp")
            || stderr.contains("The connection to the server")
        {
            (
                format!("no cluster answers for {context}: the cluster was not checked ({said})"),
                Fix::run(&["kubectl", "cluster-info"]).note("check the kubeconfig and the network"),
            )
        } else if stderr.contains("Client.Timeout") || stderr.contains("context deadline exceeded")
        {
            return self.hang(args, self.timeout);
        } else if stderr.contains("(NotFound)") {
            (
                format!("`{typed}`: {said}"),
                Fix::run(&["kubectl", "get", "deployments,statefulsets"])
                    .note("then fix kubernetes in botctl.toml"),
            )
        } else if stderr.contains("(Forbidden)") || stderr.contains("Unauthorized") {
            (
                format!("`{typed}` was refused: {said}"),
                Fix::run(&["kubectl", "auth", "can-i", "get", "pods"])
                    .note("log in, or ask for access"),
            )
        } else {
            return PlatformError::new(format!("`{typed}` failed: {said}"), None);
        };
        PlatformError::new(message, Some(fix))
    }
}
