//! Stateless app services behind the load balancer.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::resources::Resources;
use super::stack::UpdateOrder;
use crate::units::{DnsLabel, ImageRef, SecretName};

/// A stateless service with replicas, reached through the load balancer at `route`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AppService {
    /// Service name (`backend`); instances are `backend1`.. on Compose.
    pub name: DnsLabel,
    /// Image with a pinned tag.
    pub image: ImageRef,
    /// Number of instances; 2 or more for HA.
    #[validate(range(min = 1, max = 1000))]
    pub replicas: u32,
    /// Port the service listens on inside its container.
    #[validate(range(min = 1))]
    pub port: u16,
    /// URL prefix the load balancer routes here (`/api`, `/`).
    #[validate(length(min = 1, max = 200))]
    pub route: String,
    /// Path answering 200 when an instance is healthy (`/api/health`).
    #[validate(length(min = 1, max = 200))]
    pub health_path: String,
    /// Worker processes per instance, passed as `WORKERS` (the guide's `BACKEND_WORKERS=2`).
    #[validate(range(min = 1, max = 256))]
    #[serde(default)]
    pub workers: Option<u32>,
    /// Plain environment variables. Never put secrets here: list them in `secrets`.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Secrets mounted at `/run/secrets/<name>`, announced as `<NAME>_FILE`.
    #[serde(default)]
    pub secrets: Vec<SecretName>,
    /// Data services this service talks to; each adds its connection settings (no passwords) to the environment.
    #[serde(default)]
    pub connects_to: Vec<Connection>,
    /// Resources per instance.
    #[validate(nested)]
    pub resources: Resources,
    /// Update order override for this service.
    #[serde(default)]
    pub update_order: Option<UpdateOrder>,
    /// How the service receives its secrets: `env` (the guide's app reads `SECRET_KEY`,
    /// `DATABASE_URL` with the password, ...) through a generated entrypoint shim that exports
    /// each variable from its file and then runs `entrypoint` + `command`; `file` passes only
    /// `<NAME>_FILE` paths, for apps that read the files themselves.
    #[serde(default)]
    pub secrets_as: SecretsAs,
    /// The image's own entrypoint, when it has one (`docker image inspect -f '{{.Config.Entrypoint}}'`).
    /// The shim of `secrets-as = "env"` runs it; with `file` it replaces the image's.
    #[validate(length(max = 64))]
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// The image's own command (`docker image inspect -f '{{.Config.Cmd}}'`). Required with
    /// `secrets-as = "env"` when the service has secrets: the shim replaces the image's
    /// entrypoint, and a container cannot read the image's command at run time.
    #[validate(length(max = 256))]
    #[serde(default)]
    pub command: Vec<String>,
}

/// How an app service receives its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecretsAs {
    /// Environment variables (`SECRET_KEY`, `REDIS_PASSWORD`, `DATABASE_URL` with the
    /// password URL-encoded), exported from the secret files at start by a shim; never
    /// written into any generated file.
    #[default]
    Env,
    /// `<NAME>_FILE` variables naming the files under `/run/secrets`.
    File,
}

/// A data service an app service connects to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Connection {
    /// `DATABASE_URL` (primary), `DATABASE_REPLICA_URL`, and the password file.
    Postgres,
    /// `REDIS_SENTINELS`, `REDIS_MASTER_NAME`, and the password file.
    Redis,
}
