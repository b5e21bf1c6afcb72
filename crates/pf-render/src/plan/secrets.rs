//! Declared secrets: names and file paths, never values.

use std::path::PathBuf;

use pf_model::TopologyFile;
use serde::Serialize;

use super::instance::Namer;
use super::users::SecretReader;

/// A declared secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct SecretPlan {
    /// Secret name (`postgres_password`).
    pub name: String,
    /// What it holds, as the topology describes it.
    pub description: String,
    /// Its rotation version (`secret-versions`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The Docker secret's name on Swarm: `<stack>_<name>`, or
    /// `<stack>_<name>_v<N>` for version N (mounted at the same path).
    pub swarm_name: String,
    /// The guide's variable for it (`POSTGRES_PASSWORD`).
    pub env: String,
    /// Where the processes of this target read it.
    pub file: PathBuf,
    /// The services that mount it, each with the user that reads it (none
    /// on the local target).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<SecretReader>,
}

impl SecretPlan {
    /// Every declared secret, in name order.
    pub(super) fn all(t: &TopologyFile, namer: &Namer<'_>) -> Vec<Self> {
        t.secrets
            .iter()
            .map(|(name, description)| Self {
                name: name.to_string(),
                description: description.clone(),
                version: t.secret_versions.get(name).copied(),
                swarm_name: match t.secret_versions.get(name) {
                    Some(v) => format!("{}_{name}_v{v}", namer.stack),
                    None => format!("{}_{name}", namer.stack),
                },
                env: name.env_stem(),
                file: namer.secret_file(name.as_str()),
                readers: Vec::new(),
            })
            .collect()
    }
}
