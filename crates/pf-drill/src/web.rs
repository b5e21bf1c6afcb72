//! The load balancer and the stand-in app instances behind it.

use std::net::SocketAddr;
use std::time::Duration;

use rustix::process::Signal;

use crate::backend::StandIn;
use crate::ctx::Ctx;
use crate::error::{DrillError, Failure, finding};
use crate::http::Client;
use crate::pg::poll;
use crate::proc::{self, Proc};

/// nginx and the stand-ins.
#[derive(Debug)]
pub(crate) struct WebTier {
    /// Per app service (layout order), per instance.
    pub(crate) apps: Vec<Vec<StandIn>>,
    pub(crate) nginx: Option<Proc>,
    pub(crate) client: Client,
}

impl WebTier {
    /// Starts every stand-in, checks and starts nginx, and waits until each
    /// route answers through it.
    pub(crate) fn start(ctx: &Ctx<'_>) -> Result<Self, Failure> {
        let l = &ctx.layout;
        let lb = &ctx.plan.lb;
        let mut tier = Self {
            apps: Vec::new(),
            nginx: None,
            client: Client::new(ctx.tools.curl.clone(), lb, &ctx.cancel),
        };
        for app in &ctx.plan.apps {
            let mut instances = Vec::new();
            for i in &app.instances {
                let addr = SocketAddr::from((i.listen, app.port));
                let s = StandIn::start(&i.name, addr).map_err(|e| {
                    DrillError::io(format!("{}: cannot listen on {addr}", i.name), &e)
                })?;
                instances.push(s);
            }
            ctx.say(
                "setup",
                &format!(
                    "{}: {} stand-in instance(s) on port {}",
                    app.name,
                    instances.len(),
                    app.port
                ),
            );
            tier.apps.push(instances);
        }

        // What the official image has built in: the stream module (Debian
        // builds it as a module). The rendered file itself is included as is.
        let prefix = l.local.state_dir.join("nginx");
        std::fs::create_dir_all(&prefix)
            .map_err(|e| DrillError::io(format!("cannot create {}", prefix.display()), &e))?;
        let main = l.local.state_dir.join("nginx-main.conf");
        let mut text = String::new();
        if let Some(m) = &ctx.tools.stream_module {
            text.push_str(&format!("load_module {};\n", m.display()));
        }
        text.push_str(&format!("include {};\n", lb.config.path.display()));
        std::fs::write(&main, text)
            .map_err(|e| DrillError::io(format!("cannot write {}", main.display()), &e))?;
        let args = |cmd: &mut std::process::Command| {
            cmd.arg("-p")
                .arg(&prefix)
                .args(["-e", "stderr", "-c"])
                .arg(&main);
        };
        let mut test = ctx.command(&ctx.tools.nginx, false);
        args(&mut test);
        test.arg("-t");
        let (ok, out, err) = proc::run(&mut test, Duration::from_secs(20), &ctx.cancel)?;
        if !ok {
            return finding(format!(
                "nginx rejects the rendered {}: {}",
                lb.config.artifact,
                ctx.scrub(&format!("{out}{err}")).trim()
            ));
        }
        let mut cmd = ctx.command(&ctx.tools.nginx, false);
        args(&mut cmd);
        cmd.args(["-g", "daemon off;"]);
        tier.nginx = Some(Proc::spawn(
            "nginx",
            cmd,
            &l.logs.join("nginx.log"),
            Signal::TERM,
        )?);

        let healthy = poll(
            ctx,
            Duration::from_secs(20),
            Duration::from_millis(100),
            || {
                if let Some(p) = tier.nginx.as_mut()
                    && let Some(status) = p.exited()
                {
                    return finding(format!(
                        "nginx exited during start ({status}): {}",
                        ctx.scrub(&p.log_tail(10))
                    ));
                }
                let r = tier.client.status("/health", None)?;
                Ok((r.status == 200).then_some(()))
            },
        )?;
        if healthy.is_none() {
            return finding("nginx did not answer /health on its status port within 20s");
        }
        for app in &ctx.plan.apps {
            let path = &app.settings.health_path;
            let r = tier.client.site(path, None)?;
            if !r.ok() || r.backend.is_none() {
                return finding(format!(
                    "GET {path} through nginx did not reach a {} instance: status {} {}",
                    app.name, r.status, r.error
                ));
            }
        }
        ctx.say(
            "setup",
            &format!(
                "nginx: answering on {} ({}), every route reaches its service",
                lb.instance.listen,
                if lb.tls.is_some() {
                    format!("https {}", lb.https_port)
                } else {
                    format!("http {}", lb.http_port)
                }
            ),
        );
        Ok(tier)
    }

    /// Stops nginx, then the stand-ins.
    pub(crate) fn stop(&mut self, ctx: &Ctx<'_>) {
        if let Some(p) = self.nginx.as_mut() {
            p.stop(proc::STOP_GRACE, Some(&ctx.cancel));
        }
        for s in self.apps.iter_mut().flatten() {
            s.stop();
        }
    }
}

/// A path under an app's route: `/api` + `x` -> `/api/x`, `/` + `x` -> `/x`.
pub(crate) fn route_path(route: &str, leaf: &str) -> String {
    format!("{}/{leaf}", route.trim_end_matches('/'))
}
