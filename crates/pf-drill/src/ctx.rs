//! What every step of the drill reads: the plan of the local target, the
//! drill's own layout, the programs, who runs the servers, the cancel flag,
//! the progress sink and the secrets (which are scrubbed from everything
//! the drill prints).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use pf_model::Topology;
use pf_render::Plan;

use crate::cancel::Cancel;
use crate::layout::Layout;
use crate::setup::{Faults, Users};
use crate::tools::Tools;

/// Receives progress lines while the drill runs.
pub trait Progress: Sync {
    /// One line: `seconds` since the drill started, the scenario (or
    /// `setup`), and what happens.
    fn line(&self, seconds: f64, scope: &str, text: &str);
}

/// Shared, read-only state of one drill.
pub(crate) struct Ctx<'a> {
    /// Where every process runs and what it reads: the renderer's plan.
    pub(crate) plan: Plan,
    /// The topology the plan was made from (a scenario edits it, as a
    /// person does for a failover, and renders again).
    pub(crate) topology: Topology,
    /// Logs and budgets.
    pub(crate) layout: Layout,
    pub(crate) tools: Tools,
    pub(crate) users: Users,
    pub(crate) cancel: Cancel,
    pub(crate) progress: &'a dyn Progress,
    pub(crate) epoch: Instant,
    /// The data nodes' password (what an application reads from its secret).
    pub(crate) redis_password: String,
    /// The password file the Sentinels are started with.
    pub(crate) sentinel_password_file: PathBuf,
    /// The password the Sentinels require (from that file): what a client
    /// of the Sentinels is given.
    pub(crate) sentinel_password: String,
    /// libpq password file of the owner role, for connections over TCP.
    pub(crate) owner_passfile: PathBuf,
    /// The faults injected into the bundle (also when it is rendered again).
    pub(crate) faults: Faults,
    /// Every secret value; replaced by `<secret>` in all output.
    secrets: Vec<String>,
}

impl<'a> Ctx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        topology: Topology,
        plan: Plan,
        layout: Layout,
        tools: Tools,
        users: Users,
        cancel: Cancel,
        progress: &'a dyn Progress,
        epoch: Instant,
        secrets: Vec<String>,
        sentinel_password_file: PathBuf,
    ) -> Self {
        let owner_passfile = layout.local.secrets_dir.join("drill-owner.pgpass");
        Self {
            topology,
            plan,
            layout,
            tools,
            users,
            cancel,
            progress,
            epoch,
            redis_password: String::new(),
            sentinel_password_file,
            sentinel_password: String::new(),
            owner_passfile,
            faults: Faults::default(),
            secrets,
        }
    }

    /// Loads the passwords the drill logs in with from their secret files.
    pub(crate) fn read_passwords(&mut self) -> Result<(), crate::DrillError> {
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|e| crate::DrillError::io(format!("cannot read {}", p.display()), &e))
        };
        self.redis_password = read(&self.plan.redis.password_file)?;
        self.sentinel_password = read(&self.sentinel_password_file)?;
        let owner = read(&self.plan.postgres.password_file)?;
        let line = format!(
            "*:*:*:{}:{}\n",
            self.plan.postgres.settings.owner,
            owner.replace('\\', "\\\\").replace(':', "\\:")
        );
        std::fs::write(&self.owner_passfile, line)
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(
                    &self.owner_passfile,
                    std::fs::Permissions::from_mode(0o600),
                )
            })
            .map_err(|e| crate::DrillError::io("cannot write the owner's password file", &e))
    }

    /// A progress line.
    pub(crate) fn say(&self, scope: &str, text: &str) {
        self.progress
            .line(self.epoch.elapsed().as_secs_f64(), scope, &self.scrub(text));
    }

    /// `text` with every secret value replaced.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut t = text.to_owned();
        for s in &self.secrets {
            if !s.is_empty() {
                t = t.replace(s.as_str(), "<secret>");
            }
        }
        t
    }

    /// Seconds since the drill started.
    pub(crate) fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    /// A command for a server process: a clean environment (PATH of the
    /// right programs, HOME in the run folder), started in the run folder,
    /// as the PostgreSQL user when `postgres` is true and the drill is root.
    pub(crate) fn command(&self, program: impl AsRef<std::ffi::OsStr>, postgres: bool) -> Command {
        use std::os::unix::process::CommandExt as _;
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", self.tools.child_path())
            .env("HOME", &self.layout.local.state_dir)
            .env("LC_ALL", "C")
            .current_dir(&self.layout.local.run_dir);
        if postgres && let Some((uid, gid)) = self.users.postgres {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }
}
