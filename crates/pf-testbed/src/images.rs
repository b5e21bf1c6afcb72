//! The local look-alike images, by role.

use std::collections::BTreeMap;

use pf_model::units::ImageRef;

use crate::Error;

/// Which local image replaces the topology's image of each role.
///
/// Written by the image build (`containers/lib/images.sh`) as TOML:
///
/// ```toml
/// [images]
/// load-balancer = "nginx:1.30.0-pftest.1a2b3c4d"
/// postgres = "postgres:15.14-pftest.1a2b3c4d"
/// redis = "redis:7.0.15-pftest.1a2b3c4d"
/// prometheus = "prom/prometheus:2.42.0-pftest.1a2b3c4d"
/// alertmanager = "prom/alertmanager:0.28.1-pftest.1a2b3c4d"
/// postgres-exporter = "prometheuscommunity/postgres-exporter:0.11.1-pftest.1a2b3c4d"
/// redis-exporter = "oliver006/redis_exporter:1.45.0-pftest.1a2b3c4d"
///
/// [apps]
/// backend = "pf-testbed/backend:1.0.0-pftest.1a2b3c4d"
/// ```
///
/// A role without an image (Grafana, which Debian does not package) is
/// turned off in the topology and reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMap {
    /// Role (`load-balancer`, `postgres`, ...) to image.
    pub roles: BTreeMap<String, ImageRef>,
    /// App service name to image.
    pub apps: BTreeMap<String, ImageRef>,
}

/// The roles an image map may name.
pub const ROLES: [&str; 8] = [
    "load-balancer",
    "postgres",
    "redis",
    "prometheus",
    "grafana",
    "alertmanager",
    "postgres-exporter",
    "redis-exporter",
];

impl ImageMap {
    /// Parses the TOML form; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let bad = |message: String| Error::Images {
            origin: origin.to_owned(),
            message,
        };
        let doc: toml_edit::DocumentMut = text.parse().map_err(|e| bad(format!("{e}")))?;
        let mut map = Self::default();
        for (key, item) in doc.iter() {
            let table = item
                .as_table_like()
                .ok_or_else(|| bad(format!("`{key}` must be a table")))?;
            let into = match key {
                "images" => &mut map.roles,
                "apps" => &mut map.apps,
                other => return Err(bad(format!("unknown table `{other}` (images, apps)"))),
            };
            for (name, value) in table.iter() {
                if key == "images" && !ROLES.contains(&name) {
                    return Err(bad(format!(
                        "unknown role `{name}` (one of {})",
                        ROLES.join(", ")
                    )));
                }
                let text = value
                    .as_str()
                    .ok_or_else(|| bad(format!("`{key}.{name}` must be a string")))?;
                let image: ImageRef = text
                    .parse()
                    .map_err(|e| bad(format!("`{key}.{name}`: {e}")))?;
                into.insert(name.to_owned(), image);
            }
        }
        Ok(map)
    }

    /// The image of a role, or an error naming the key to add.
    pub(crate) fn role(&self, role: &str) -> Result<&ImageRef, Error> {
        self.roles.get(role).ok_or_else(|| Error::MissingImage {
            role: role.to_owned(),
            key: format!("images.{role}"),
        })
    }

    /// The image of an app service, or an error naming the key to add.
    pub(crate) fn app(&self, name: &str) -> Result<&ImageRef, Error> {
        self.apps.get(name).ok_or_else(|| Error::MissingImage {
            role: format!("service {name}"),
            key: format!("apps.{name}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roles_and_apps() {
        let m = ImageMap::parse(
            "[images]\npostgres = \"postgres:15.14-pftest.ab\"\n[apps]\nweb = \"pf-testbed/web:1.0-pftest.ab\"\n",
            "m.toml",
        )
        .expect("valid");
        assert_eq!(m.roles["postgres"].to_string(), "postgres:15.14-pftest.ab");
        assert_eq!(m.apps["web"].repository(), "pf-testbed/web");
    }

    #[test]
    fn rejects_unknown_roles_floating_tags_and_other_tables() {
        for (text, needle) in [
            ("[images]\nmysql = \"mysql:8.0\"\n", "unknown role `mysql`"),
            ("[images]\nredis = \"redis:latest\"\n", "images.redis"),
            ("[other]\nx = \"a:1\"\n", "unknown table `other`"),
            ("[images]\nredis = 7\n", "must be a string"),
        ] {
            let e = ImageMap::parse(text, "m.toml").expect_err(text);
            assert!(e.to_string().contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn a_missing_role_names_the_key_to_add() {
        let e = ImageMap::default().role("redis").expect_err("empty");
        assert!(e.to_string().contains("images.redis"), "{e}");
    }
}
