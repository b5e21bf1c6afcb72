//! The docker CLI, as the operator's own shell would run it: the engine is
//! chosen with `--context` or `-H` (else the environment's `DOCKER_HOST` /
//! current context), and every call is bounded.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::error::{DrillError, Failure};
use crate::proc;

/// Which engine the docker CLI talks to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Engine {
    /// The environment's choice (`DOCKER_HOST`, else the current context).
    #[default]
    Default,
    /// `docker --context NAME`.
    Context(String),
    /// `docker -H HOST` (`unix:///path`, `ssh://user@host`, `tcp://...`).
    Host(String),
}

impl Engine {
    /// The global arguments that select it.
    pub(crate) fn args(&self) -> Vec<String> {
        match self {
            Self::Default => Vec::new(),
            Self::Context(c) => vec!["--context".into(), c.clone()],
            Self::Host(h) => vec!["-H".into(), h.clone()],
        }
    }

    /// How a person would name it in a message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Default => {
                "the default docker engine (DOCKER_HOST or the current context)".into()
            }
            Self::Context(c) => format!("docker context {c}"),
            Self::Host(h) => format!("docker host {h}"),
        }
    }
}

/// How long an ordinary docker command may take (inspect, ps, kill, scale).
pub(crate) const SHORT: Duration = Duration::from_secs(30);

/// The docker CLI for one engine.
#[derive(Debug, Clone)]
pub(crate) struct Docker {
    program: PathBuf,
    global: Vec<String>,
    pub(crate) cancel: Cancel,
}

/// What a docker command printed.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub(crate) ok: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Docker {
    /// The `docker` program on PATH, talking to `engine`.
    pub(crate) fn find(engine: &Engine, cancel: &Cancel) -> Result<Self, DrillError> {
        let program = on_path("docker").ok_or_else(|| {
            DrillError::env(
                "docker not found on PATH: the drill drives the stack through the docker CLI \
                 (Debian package docker.io, or Docker's docker-ce-cli)",
            )
        })?;
        Ok(Self {
            program,
            global: engine.args(),
            cancel: cancel.clone(),
        })
    }

    /// A docker command line (without running it), with the engine chosen.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.global).args(args);
        cmd
    }

    /// Runs `docker ARGS` to completion within `limit`.
    pub(crate) fn run(&self, args: &[&str], limit: Duration) -> Result<Output, DrillError> {
        let (ok, stdout, stderr) = proc::run(&mut self.command(args), limit, &self.cancel)?;
        Ok(Output { ok, stdout, stderr })
    }

    /// Runs `docker ARGS`: its standard output, or a finding naming the
    /// command and what docker said.
    pub(crate) fn ok(&self, args: &[&str]) -> Result<String, Failure> {
        let out = self.run(args, SHORT)?;
        if out.ok {
            Ok(out.stdout)
        } else {
            Err(Failure::Finding(format!(
                "docker {} failed: {}",
                shown(args),
                first_line(&out.stderr)
            )))
        }
    }

    /// Like [`Docker::ok`], but a failure stops the drill (inspecting the
    /// stack before anything was disrupted).
    pub(crate) fn must(&self, args: &[&str]) -> Result<String, DrillError> {
        self.ok(args).map_err(|e| match e {
            Failure::Finding(m) => DrillError::env(m),
            Failure::Drill(d) => d,
        })
    }

    /// The program's path (for workers, which hold their own child).
    pub(crate) fn program(&self) -> &Path {
        &self.program
    }
}

/// The command as a person would read it in a message (arguments that
/// carry scripts are cut).
fn shown(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.len() > 40 || a.contains('\n') {
                "…".to_owned()
            } else {
                (*a).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first non-empty line of a message.
pub(crate) fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_owned()
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_is_chosen_by_global_arguments() {
        assert!(Engine::Default.args().is_empty());
        assert_eq!(
            Engine::Context("staging".into()).args(),
            ["--context", "staging"]
        );
        assert_eq!(
            Engine::Host("ssh://ops@h".into()).args(),
            ["-H", "ssh://ops@h"]
        );
    }

    #[test]
    fn long_arguments_are_cut_in_messages() {
        let script = "x".repeat(60);
        assert_eq!(
            shown(&["exec", "c1", "sh", "-c", &script]),
            "exec c1 sh -c …"
        );
        assert_eq!(
            first_line("\n  Error: no such service\nmore"),
            "Error: no such service"
        );
    }
}
