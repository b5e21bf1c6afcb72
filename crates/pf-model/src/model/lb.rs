//! The nginx load balancer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::defaults;
use super::resources::Resources;
use super::stack::UpdateOrder;
use crate::units::{ByteSize, Cidr, Duration, ImageRef, SecretName};

/// nginx in front of the app services, with passive health checks and retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoadBalancer {
    /// nginx image; needs >= 1.27.3 for `server ... resolve` in upstreams (`nginx:1.28.0`).
    pub image: ImageRef,
    /// nginx instances; an external balancer or DNS spreads clients over them.
    #[validate(range(min = 1, max = 64))]
    pub instances: u32,
    /// How each upstream picks a server.
    #[serde(default)]
    pub method: LbMethod,
    /// Failed attempts within `fail-timeout` that mark a server down (0 turns passive checks off).
    #[validate(range(max = 100))]
    #[serde(default = "three")]
    pub max_fails: u32,
    /// How long a failed server stays down, and the window failures are counted in.
    #[serde(default = "defaults::secs::<30>")]
    pub fail_timeout: Duration,
    /// Which failures make nginx retry the request on the next server.
    #[serde(default = "default_next_upstream")]
    #[validate(length(min = 1))]
    pub next_upstream: Vec<NextUpstream>,
    /// Most servers tried for one request (0 = all).
    #[validate(range(max = 100))]
    #[serde(default = "three")]
    pub next_upstream_tries: u32,
    /// Time limit for passing a request to the next server.
    #[serde(default = "defaults::secs::<15>")]
    pub next_upstream_timeout: Duration,
    /// Connect timeout to the upstream servers, all inside the cluster. A task that dies on an
    /// overlay sends no reset, so requests sent to it wait this long before nginx tries the next
    /// server: keep it well under the guide's 1s backend failover.
    #[serde(default = "defaults::millis::<500>")]
    pub connect_timeout: Duration,
    /// How ports are published: `host` keeps client addresses (needed by ip-hash), `ingress` uses the routing mesh.
    #[serde(default)]
    pub publish_mode: PublishMode,
    /// Swarm nodes that run nginx with host-mode ports: `setup-swarm.sh --label-nodes` labels this
    /// many nodes `<stack>.edge=true`, and the addresses DNS or the external balancer points at
    /// stay the same across reschedules. Default: `instances` (from `instances` to `capacity.nodes`).
    #[validate(range(min = 1, max = 1000))]
    #[serde(default)]
    pub edge_nodes: Option<u32>,
    /// Plain HTTP port (redirects to HTTPS when TLS is on).
    #[validate(range(min = 1))]
    #[serde(default = "defaults::http_port")]
    pub http_port: u16,
    /// HTTPS port.
    #[validate(range(min = 1))]
    #[serde(default = "defaults::https_port")]
    pub https_port: u16,
    /// Host name the site answers to.
    #[validate(length(min = 1, max = 253))]
    pub server_name: String,
    /// Shared-memory zone per upstream; `resolve` needs one (at least 64k).
    #[serde(default = "defaults::zone_size")]
    pub zone_size: ByteSize,
    /// How long resolved addresses are trusted; Docker's DNS says 600s otherwise.
    #[serde(default = "defaults::secs::<10>")]
    pub resolver_valid: Duration,
    /// Largest request body accepted.
    #[serde(default = "defaults::body_size")]
    pub client_max_body_size: ByteSize,
    /// Internal status endpoint (`stub_status` and `/health`), never published.
    #[serde(default)]
    #[validate(nested)]
    pub status: StatusEndpoint,
    /// TLS certificate and key, as secret names. Without it, the site is served on plain HTTP.
    #[serde(default)]
    #[validate(nested)]
    pub tls: Option<Tls>,
    /// Resources per nginx instance.
    #[validate(nested)]
    pub resources: Resources,
    /// Update order override for this tier.
    #[serde(default)]
    pub update_order: Option<UpdateOrder>,
}

impl LoadBalancer {
    /// Nodes that may run nginx with host-mode ports: `edge-nodes`, or one
    /// per instance.
    pub fn edge_node_count(&self) -> u32 {
        self.edge_nodes.unwrap_or(self.instances)
    }

    /// Whether a start-first update, `parallelism` tasks at a time, can
    /// place its new tasks: each needs an edge node that runs no nginx yet
    /// when ports are published in host mode (the routing mesh has no such
    /// limit).
    pub fn start_first_fits(&self, parallelism: u32) -> bool {
        self.publish_mode != PublishMode::Host
            || self.edge_node_count()
                >= self
                    .instances
                    .saturating_add(parallelism.min(self.instances))
    }
}

fn three() -> u32 {
    3
}

fn default_next_upstream() -> Vec<NextUpstream> {
    use NextUpstream::*;
    vec![Error, Timeout, Http502, Http503, Http504]
}

/// Load-balancing method of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LbMethod {
    /// Each request to the next server in turn.
    RoundRobin,
    /// The server with the fewest active connections (the guide's default).
    #[default]
    LeastConn,
    /// The same client address always reaches the same server (session persistence).
    IpHash,
}

impl LbMethod {
    /// The nginx directive, if the method needs one.
    pub fn directive(self) -> Option<&'static str> {
        match self {
            Self::RoundRobin => None,
            Self::LeastConn => Some("least_conn"),
            Self::IpHash => Some("ip_hash"),
        }
    }
}

/// A condition of `proxy_next_upstream`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NextUpstream {
    /// Connection error.
    Error,
    /// Timeout.
    Timeout,
    /// Empty or invalid response.
    InvalidHeader,
    /// HTTP 500.
    #[serde(rename = "http_500")]
    Http500,
    /// HTTP 502.
    #[serde(rename = "http_502")]
    Http502,
    /// HTTP 503.
    #[serde(rename = "http_503")]
    Http503,
    /// HTTP 504.
    #[serde(rename = "http_504")]
    Http504,
    /// HTTP 429.
    #[serde(rename = "http_429")]
    Http429,
    /// Also retry non-idempotent requests (POST, PATCH): they may run twice.
    NonIdempotent,
}

impl NextUpstream {
    /// The nginx keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::InvalidHeader => "invalid_header",
            Self::Http500 => "http_500",
            Self::Http502 => "http_502",
            Self::Http503 => "http_503",
            Self::Http504 => "http_504",
            Self::Http429 => "http_429",
            Self::NonIdempotent => "non_idempotent",
        }
    }
}

/// How the load balancer's ports are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PublishMode {
    /// On the node running the task; nginx sees real client addresses.
    #[default]
    Host,
    /// Through the Swarm routing mesh; nginx sees mesh addresses, not clients.
    Ingress,
}

/// The internal status endpoint: `/nginx_status` (stub_status) and `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StatusEndpoint {
    /// Port inside the container; never published (the guide uses 8080).
    #[validate(range(min = 1))]
    #[serde(default = "defaults::status_port")]
    pub port: u16,
    /// Networks allowed to read the status page; everyone else gets 403.
    #[serde(default = "defaults::loopback")]
    #[validate(length(min = 1))]
    pub allow: Vec<Cidr>,
}

impl Default for StatusEndpoint {
    fn default() -> Self {
        Self {
            port: defaults::status_port(),
            allow: defaults::loopback(),
        }
    }
}

/// TLS on the load balancer, from secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tls {
    /// Secret holding the PEM certificate chain.
    pub certificate_secret: SecretName,
    /// Secret holding the PEM private key.
    pub key_secret: SecretName,
}
