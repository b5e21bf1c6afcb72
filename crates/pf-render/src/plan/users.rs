//! Who reads the secrets inside each container: the user the image's
//! process runs as when it opens `/run/secrets/<name>`.
//!
//! Swarm mounts a secret root-owned with mode 0444 unless told otherwise;
//! the stack file gives each service its secrets owned by that user with
//! mode 0400 instead. Compose bind-mounts the host file as it is (owner
//! and mode included: docker/compose#9648), so `ha-setup.sh` makes and
//! checks the host files readable by every reader listed here.

use pf_model::units::ImageRef;
use serde::Serialize;

use super::Plan;
use super::instance::Kind;

/// A numeric user and group inside a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct FileOwner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl FileOwner {
    const fn new(uid: u32, gid: u32) -> Self {
        Self { uid, gid }
    }
}

/// A service that mounts a secret, and the user that reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct SecretReader {
    /// Service name in the stack or compose file.
    pub service: String,
    /// The user reading it; `None` when the image's user is not known (an
    /// app image): the file must then be readable by every user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<FileOwner>,
}

/// `nginx` in the official images (`addgroup --system --gid 101 nginx`,
/// `adduser --system --uid 101`). The master process runs as root (the
/// image has no `USER`) and reads the certificate and key through root's
/// capabilities whatever the owner; the workers run as `nginx` and read
/// `auth_basic_user_file` (the monitoring htpasswd) on every request, so
/// the file must be theirs (root-owned 0400 answered 500, found by the
/// container tier). The workers hold the key in memory anyway: owning its
/// file gives them nothing new.
const NGINX: FileOwner = FileOwner::new(101, 101);
/// `postgres` in the official Debian images (`groupadd -r postgres
/// --gid=999; useradd -r -g postgres --uid=999`): the entrypoint re-runs
/// itself through `gosu postgres` before the init scripts, which read the
/// replication password.
const POSTGRES_DEBIAN: FileOwner = FileOwner::new(999, 999);
/// `postgres` in the official Alpine images (`addgroup -g 70`, `adduser -u 70`).
const POSTGRES_ALPINE: FileOwner = FileOwner::new(70, 70);
/// `redis` in the official Debian images (`groupadd -r -g 999 redis &&
/// useradd -r -g redis -u 999 redis`); the entrypoint drops to it with gosu.
const REDIS_DEBIAN: FileOwner = FileOwner::new(999, 999);
/// `redis` in the official Alpine images (`addgroup -S -g 1000 redis &&
/// adduser -S -G redis -u 999 redis`).
const REDIS_ALPINE: FileOwner = FileOwner::new(999, 1000);
/// Grafana's image runs as `USER "$GF_UID"` with GF_UID=472, GF_GID=0.
const GRAFANA: FileOwner = FileOwner::new(472, 0);
/// postgres_exporter and Alertmanager: `USER nobody` on the Prometheus
/// busybox base.
const NOBODY: FileOwner = FileOwner::new(65534, 65534);
/// redis_exporter: `USER 59000:59000` (its docker/Dockerfile).
const REDIS_EXPORTER: FileOwner = FileOwner::new(59000, 59000);

/// The user that reads `/run/secrets/*` in an instance of `kind` running
/// `image`; `None` when the image does not say (the app images of the
/// topology choose their own user).
pub(crate) fn secret_reader(kind: Kind, image: &str) -> Option<FileOwner> {
    let alpine = image
        .parse::<ImageRef>()
        .ok()
        .and_then(|i| i.tag().map(|t| t.contains("alpine")))
        .unwrap_or(false);
    match kind {
        Kind::LoadBalancer => Some(NGINX),
        Kind::Postgres if alpine => Some(POSTGRES_ALPINE),
        Kind::Postgres => Some(POSTGRES_DEBIAN),
        Kind::Redis | Kind::Sentinel if alpine => Some(REDIS_ALPINE),
        Kind::Redis | Kind::Sentinel => Some(REDIS_DEBIAN),
        Kind::Grafana => Some(GRAFANA),
        Kind::Exporter if image.contains("redis_exporter") => Some(REDIS_EXPORTER),
        Kind::Exporter if image.contains("postgres-exporter") => Some(NOBODY),
        // prom/alertmanager: `USER nobody` (its Dockerfile); it reads the
        // webhook URL files (`url_file`).
        Kind::Alertmanager => Some(NOBODY),
        Kind::App | Kind::Exporter | Kind::Prometheus => None,
    }
}

/// Each secret's readers, once every tier is planned.
pub(super) fn readers(plan: &mut Plan) {
    let readers: Vec<(String, SecretReader)> = plan
        .services()
        .flat_map(|(i, d)| {
            d.secrets.iter().map(|s| {
                (
                    s.clone(),
                    SecretReader {
                        service: i.name.clone(),
                        owner: d.secret_reader,
                    },
                )
            })
        })
        .collect();
    for secret in &mut plan.secrets {
        secret.readers = readers
            .iter()
            .filter(|(name, _)| *name == secret.name)
            .map(|(_, r)| r.clone())
            .collect();
    }
}
