//! The app services a stand-in image must imitate.

use pf_model::Topology;

/// What a stand-in for one app service must answer: it listens on `port`,
/// returns 200 on `health_path` and on every path under `route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Service name (`backend`).
    pub name: String,
    /// Port inside the container.
    pub port: u16,
    /// URL prefix the load balancer routes to it.
    pub route: String,
    /// Path answering 200 when healthy.
    pub health_path: String,
    /// The image's tag in the topology (the stand-in keeps its version);
    /// `latest` for an image pinned by digest alone.
    pub tag: String,
    /// Instances (Swarm replicas; Compose containers).
    pub replicas: u32,
}

impl App {
    /// One tab-separated line: name, port, route, health path, tag, replicas. The
    /// fields come from a validated topology (names are DNS labels; routes
    /// and paths are checked to be URL paths), so a shell `read` splits them.
    pub fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            self.name, self.port, self.route, self.health_path, self.tag, self.replicas
        )
    }
}

/// The app services of a validated topology, in file order.
pub fn apps(topology: &Topology) -> Vec<App> {
    topology
        .spec()
        .services
        .iter()
        .map(|s| App {
            name: s.name.to_string(),
            port: s.port,
            route: s.route.clone(),
            health_path: s.health_path.clone(),
            tag: s.image.tag().unwrap_or("latest").to_owned(),
            replicas: s.replicas,
        })
        .collect()
}
