//! Client requests through nginx, made with curl (TLS with the drill's own
//! certificate, a chosen loopback source address for "different clients").
//! One curl per request: every request is a new connection, as from
//! independent clients.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::backend::HEADER;
use crate::cancel::Cancel;
use crate::error::DrillError;
use crate::proc;
use pf_render::plan::LbPlan;

/// One response as the client saw it.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// HTTP status, 0 when no response came (connection refused, timeout).
    pub(crate) status: u16,
    /// The instance that answered (the stand-ins' header).
    pub(crate) backend: Option<String>,
    /// The body (first line), for pages nginx answers itself.
    pub(crate) body: String,
    /// curl's message when the request failed.
    pub(crate) error: String,
    /// From starting curl to its exit: what the client waited.
    pub(crate) elapsed: Duration,
}

impl Response {
    /// A 2xx answer.
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Requests to the load balancer.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    curl: PathBuf,
    lb: LbPlan,
    cancel: Cancel,
}

/// How long one request may take before it counts as failed: nginx's own
/// retry budget is bounded by next-upstream-timeout, so this is generous.
const REQUEST_LIMIT: Duration = Duration::from_secs(20);

impl Client {
    pub(crate) fn new(curl: PathBuf, lb: &LbPlan, cancel: &Cancel) -> Self {
        Self {
            curl,
            lb: lb.clone(),
            cancel: cancel.clone(),
        }
    }

    /// GET `path` on the site (HTTPS when TLS is on), from `source`.
    pub(crate) fn site(
        &self,
        path: &str,
        source: Option<Ipv4Addr>,
    ) -> Result<Response, DrillError> {
        let lb = &self.lb;
        let (name, addr) = (&lb.settings.server_name, lb.instance.listen);
        let mut cmd = Command::new(&self.curl);
        match &lb.tls {
            Some(tls) => {
                // The real server name, resolved to the local address, and
                // the certificate checked against the drill's own CA.
                cmd.arg("--resolve")
                    .arg(format!("{name}:{}:{addr}", lb.https_port))
                    .arg("--cacert")
                    .arg(&tls.certificate)
                    .arg(format!("https://{name}:{}{path}", lb.https_port));
            }
            None => {
                cmd.arg("--resolve")
                    .arg(format!("{name}:{}:{addr}", lb.http_port))
                    .arg(format!("http://{name}:{}{path}", lb.http_port));
            }
        }
        self.send(cmd, source)
    }

    /// GET `path` on the internal status port, from `source`.
    pub(crate) fn status(
        &self,
        path: &str,
        source: Option<Ipv4Addr>,
    ) -> Result<Response, DrillError> {
        let mut cmd = Command::new(&self.curl);
        cmd.arg(format!(
            "http://{}:{}{path}",
            self.lb.instance.listen, self.lb.status_port
        ));
        self.send(cmd, source)
    }

    fn send(&self, mut cmd: Command, source: Option<Ipv4Addr>) -> Result<Response, DrillError> {
        cmd.args(["-sS", "-D", "-", "--max-time"])
            .arg(REQUEST_LIMIT.as_secs().to_string())
            .env_clear();
        if let Some(src) = source {
            cmd.arg("--interface").arg(src.to_string());
        }
        let started = Instant::now();
        let (ok, out, err) = proc::run(
            &mut cmd,
            REQUEST_LIMIT + Duration::from_secs(5),
            &self.cancel,
        )?;
        let elapsed = started.elapsed();
        let mut status = 0;
        let mut backend = None;
        let mut lines = out.split("\r\n");
        if let Some(first) = lines.next() {
            status = first
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
        }
        let mut body = String::new();
        let mut in_body = false;
        for line in lines {
            if in_body {
                body.push_str(line);
                continue;
            }
            if line.is_empty() {
                in_body = true;
                continue;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.trim().eq_ignore_ascii_case(HEADER)
            {
                backend = Some(v.trim().to_owned());
            }
        }
        if !ok {
            status = 0;
        }
        Ok(Response {
            status,
            backend,
            body: body.lines().next().unwrap_or_default().to_owned(),
            error: err.trim().to_owned(),
            elapsed,
        })
    }
}
