//! The deployed stack as the docker scenarios see it: its containers on
//! the engine the CLI talks to, the faults (kill a container, keep a
//! service down, bring it back) and one-shot commands inside containers.
//! Names come from the plan of the same target, never from guesses.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use pf_render::Plan;
use pf_render::plan::Instance;

use super::cli::{Docker, SHORT};
use super::inspect::{self, ContainerInfo, PsRow};
use super::worker::Worker;
use crate::budgets::Budgets;
use crate::ctx::Progress;
use crate::error::{DrillError, Failure};

/// Swarm stack or Compose project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Orchestrator {
    /// `docker stack deploy` of the bundle's docker-stack.yml.
    Swarm,
    /// `docker compose up` of the bundle's docker-compose.ha.yml.
    Compose,
}

impl Orchestrator {
    /// `swarm` / `compose`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Swarm => "swarm",
            Self::Compose => "compose",
        }
    }
}

/// Everything a docker scenario reads.
pub(crate) struct Stack<'a> {
    pub(crate) docker: Docker,
    pub(crate) on: Orchestrator,
    /// Stack (Swarm) or project (Compose) name.
    pub(crate) name: String,
    /// The plan of this target.
    pub(crate) plan: Plan,
    pub(crate) budgets: Budgets,
    progress: &'a dyn Progress,
    epoch: Instant,
    /// What the operator must know afterwards (something left changed).
    notes: Mutex<Vec<String>>,
}

/// A running container of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Running {
    pub(crate) id: String,
    pub(crate) name: String,
}

impl<'a> Stack<'a> {
    pub(crate) fn new(
        docker: Docker,
        on: Orchestrator,
        name: String,
        plan: Plan,
        progress: &'a dyn Progress,
        epoch: Instant,
    ) -> Self {
        let budgets = Budgets::of(&plan);
        Self {
            docker,
            on,
            name,
            plan,
            budgets,
            progress,
            epoch,
            notes: Mutex::new(Vec::new()),
        }
    }

    /// A progress line.
    pub(crate) fn say(&self, scope: &str, text: &str) {
        self.progress
            .line(self.epoch.elapsed().as_secs_f64(), scope, text);
    }

    /// Seconds since the drill started.
    pub(crate) fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    /// Adds a note for the operator (also shown as progress).
    pub(crate) fn note(&self, scope: &str, text: String) {
        self.say(scope, &text);
        if let Ok(mut n) = self.notes.lock() {
            n.push(text);
        }
    }

    /// Every note.
    pub(crate) fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    pub(crate) fn sleep(&self, d: Duration) -> Result<(), DrillError> {
        self.docker.cancel.sleep(d)
    }

    /// The orchestrator's name of an instance: the Swarm service
    /// (`promptforge_backend`) or the Compose service (`backend1`).
    pub(crate) fn service(&self, i: &Instance) -> String {
        match self.on {
            Orchestrator::Swarm => format!("{}_{}", self.name, i.name),
            Orchestrator::Compose => i.name.clone(),
        }
    }

    /// The running containers of an instance on this engine (Swarm: the
    /// service's tasks here; other nodes' tasks are not visible).
    pub(crate) fn running(&self, i: &Instance) -> Result<Vec<Running>, Failure> {
        let service = self.service(i);
        let filters = match self.on {
            Orchestrator::Swarm => vec![format!("label=com.docker.swarm.service.name={service}")],
            Orchestrator::Compose => vec![
                format!("label=com.docker.compose.project={}", self.name),
                format!("label=com.docker.compose.service={service}"),
            ],
        };
        let mut args = vec!["ps", "--no-trunc", "--filter", "status=running"];
        for f in &filters {
            args.extend(["--filter", f.as_str()]);
        }
        args.extend(["--format", "{{json .}}"]);
        let rows: Vec<PsRow> =
            inspect::ps_rows(&self.docker.ok(&args)?).map_err(Failure::Finding)?;
        let mut out: Vec<Running> = rows
            .into_iter()
            .map(|r| Running {
                id: r.id,
                name: r.name,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One running container of an instance, or a finding saying where to
    /// run the drill instead.
    pub(crate) fn one(&self, i: &Instance) -> Result<Running, Failure> {
        self.running(i)?.into_iter().next().ok_or_else(|| {
            Failure::Finding(match self.on {
                Orchestrator::Swarm => format!(
                    "no running task of {} on this engine: on several nodes, point the drill \
                     (--context/-H) at the node that runs it",
                    self.service(i)
                ),
                Orchestrator::Compose => format!("{} is not running", i.container),
            })
        })
    }

    /// `docker inspect` of containers.
    pub(crate) fn inspect(&self, ids: &[&str]) -> Result<Vec<ContainerInfo>, Failure> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["inspect", "--type", "container"];
        args.extend(ids);
        inspect::containers(&self.docker.ok(&args)?).map_err(Failure::Finding)
    }

    /// SIGKILL to a container: a crash, not a clean shutdown.
    pub(crate) fn kill(&self, c: &Running) -> Result<(), Failure> {
        self.docker
            .ok(&["kill", "--signal", "KILL", &c.id])
            .map(drop)
    }

    /// Kills an instance's container and keeps the instance down: on Swarm
    /// the service is scaled to 0 (else it starts a new task at once); on
    /// Compose a killed container stays stopped (docker does not restart
    /// what it was told to kill).
    pub(crate) fn kill_and_hold(&self, i: &Instance, c: &Running) -> Result<(), Failure> {
        self.kill(c)?;
        if self.on == Orchestrator::Swarm {
            let arg = format!("{}=0", self.service(i));
            self.docker
                .ok(&["service", "scale", "--detach", &arg])
                .map(drop)?;
        }
        Ok(())
    }

    /// Starts an instance held down by [`Stack::kill_and_hold`] again.
    pub(crate) fn bring_back(&self, i: &Instance, c: &Running) -> Result<(), Failure> {
        match self.on {
            Orchestrator::Swarm => {
                let replicas = i.deployment.as_ref().map_or(1, |d| d.replicas);
                let arg = format!("{}={replicas}", self.service(i));
                self.docker
                    .ok(&["service", "scale", "--detach", &arg])
                    .map(drop)
            }
            Orchestrator::Compose => self.docker.ok(&["start", &c.id]).map(drop),
        }
    }

    /// A POSIX sh script in a container, to completion within `limit`:
    /// its standard output, or a finding with its error.
    pub(crate) fn exec(
        &self,
        c: &Running,
        user: Option<&str>,
        script: &str,
        args: &[&str],
        limit: Duration,
    ) -> Result<String, Failure> {
        let mut argv: Vec<&str> = vec!["exec"];
        if let Some(u) = user {
            argv.extend(["-u", u]);
        }
        argv.extend([c.id.as_str(), "sh", "-c", script, "sh"]);
        argv.extend(args);
        let out = self.docker.run(&argv, limit)?;
        if out.ok {
            Ok(out.stdout)
        } else {
            Err(Failure::Finding(format!(
                "in {}: {}",
                c.name,
                super::cli::first_line(&format!("{}\n{}", out.stderr, out.stdout))
            )))
        }
    }

    /// A line-driven measuring shell in a container.
    pub(crate) fn worker(
        &self,
        c: &Running,
        user: Option<&str>,
        script: &str,
        args: &[&str],
    ) -> Result<Worker, Failure> {
        Worker::start(&self.docker, &c.id, user, script, args)
    }

    /// The container's log since a Unix time (seconds), standard output and
    /// error together.
    pub(crate) fn logs_since(&self, c: &Running, since: u64) -> Result<String, Failure> {
        let since = since.to_string();
        let out = self
            .docker
            .run(&["logs", "--since", &since, &c.id], SHORT)?;
        Ok(format!("{}\n{}", out.stdout, out.stderr))
    }
}

/// Seconds since the Unix epoch, for `docker logs --since`.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
