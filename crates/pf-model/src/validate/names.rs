//! Names, ports and environment variable names.

use std::collections::{HashMap, HashSet};

use super::Finding;
use crate::codes::Code;
use crate::model::TopologyFile;
use crate::naming;

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    server_name(file, out);
    service_names(file, out);
    ports(file, out);
    environment(file, out);
}

fn server_name(file: &TopologyFile, out: &mut Vec<Finding>) {
    let name = &file.load_balancer.server_name;
    let host = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    // Empty or over-long names are already a `bad-length` error.
    if (1..=253).contains(&name.len()) && !host.split('.').all(label_ok) {
        out.push(Finding::new(
            Code::InvalidServerName,
            "load-balancer.server-name",
            format!("`{name}` is not a host name"),
            "use a DNS name such as `app.example.org`, `*.example.org` or `localhost`",
        ));
    }
}

fn service_names(file: &TopologyFile, out: &mut Vec<Finding>) {
    let mut generated: HashSet<String> = HashSet::new();
    generated.extend([
        naming::LOAD_BALANCER_SERVICE.to_owned(),
        naming::LOAD_BALANCER_INSTANCE.to_owned(),
    ]);
    generated.extend(naming::MONITORING_SERVICES.iter().map(|s| (*s).to_owned()));
    generated.extend(naming::postgres_instances(file.postgres.replicas));
    generated.extend(naming::redis_instances(file.redis.replicas));
    generated.extend(naming::sentinel_instances(file.redis.sentinel.count));
    // Every name of the postgres/redis families is reserved (`postgres-N`
    // and its exporter `postgres-N-exporter` for any N, the aliases
    // `postgres-primary` and `postgres-replica`), so
    // that raising a replica count later cannot collide with an app service.
    let reserved_prefixes = [
        "postgres-primary",
        "postgres-replica",
        "redis-master",
        "redis-replica",
        "redis-sentinel",
    ];

    let mut first_use: HashMap<&str, usize> = HashMap::new();
    // Services that get Compose instances: the first of each name.
    let mut declared: HashMap<&str, usize> = HashMap::new();
    for (i, svc) in file.services.iter().enumerate() {
        let name = svc.name.as_str();
        if let Some(first) = first_use.insert(name, i) {
            out.push(Finding::new(
                Code::DuplicateServiceName,
                format!("services[{i}].name"),
                format!("service name `{name}` is used twice (first by services[{first}])"),
                "give each app service its own name",
            ));
            continue;
        }
        if generated.contains(name)
            || naming::is_postgres_member(name)
            || name
                .strip_suffix("-exporter")
                .is_some_and(naming::is_postgres_member)
            || reserved_prefixes.iter().any(|p| name.starts_with(p))
        {
            out.push(Finding::new(
                Code::ReservedServiceName,
                format!("services[{i}].name"),
                format!("service name `{name}` collides with a service the generator creates"),
                "rename the service; generated names are nginx, nginx-lb, postgres-*, redis-*, and the monitoring services",
            ));
        }
        declared.insert(name, i);
    }
    // `api` with 12 replicas makes `api1`..`api12`; a service named `api1` would clash.
    let replicas = |owner: usize| file.services[owner].replicas;
    for (i, svc) in file.services.iter().enumerate() {
        if let Some(owner) = instance_owner(svc.name.as_str(), &declared, replicas)
            && owner != i
        {
            {
                out.push(Finding::new(
                    Code::ReservedServiceName,
                    format!("services[{i}].name"),
                    format!(
                        "service name `{}` collides with a Compose instance of `{}`",
                        svc.name, file.services[owner].name
                    ),
                    "Compose names instances `<service><n>`; rename this service",
                ));
            }
        }
    }
}

/// The service whose Compose instances (`naming::app_instance`: the name
/// and a number from 1 to its replicas) include `name`; of several, the
/// last declared. Reading the number off the end of `name` costs the
/// length of its digits, where listing every instance of every service
/// cost all their replicas in allocations.
fn instance_owner(
    name: &str,
    declared: &HashMap<&str, usize>,
    replicas: impl Fn(usize) -> u32,
) -> Option<usize> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    (name.len() - digits..name.len())
        .filter_map(|at| {
            let (base, number) = name.split_at(at);
            // Instance numbers are written without leading zeros.
            if number.starts_with('0') {
                return None;
            }
            let n: u32 = number.parse().ok()?;
            let &owner = declared.get(base)?;
            (n <= replicas(owner)).then_some(owner)
        })
        .max()
}

fn ports(file: &TopologyFile, out: &mut Vec<Finding>) {
    let lb = &file.load_balancer;
    let mut listeners: Vec<(&str, u16)> = vec![("load-balancer.http-port", lb.http_port)];
    if lb.tls.is_some() {
        listeners.push(("load-balancer.https-port", lb.https_port));
    }
    listeners.push(("load-balancer.status.port", lb.status.port));
    if let Some(read) = &file.postgres.read_endpoint {
        listeners.push(("postgres.read-endpoint.port", read.port));
    }
    clash(&listeners, "the load balancer", out);
    let data = [
        ("postgres.port", file.postgres.port),
        ("redis.port", file.redis.port),
        ("redis.sentinel.port", file.redis.sentinel.port),
    ];
    clash(&data, "the data services", out);
}

fn clash(listeners: &[(&str, u16)], owner: &str, out: &mut Vec<Finding>) {
    for (i, (path, port)) in listeners.iter().enumerate() {
        if let Some((first, _)) = listeners[..i].iter().find(|(_, p)| p == port) {
            out.push(Finding::new(
                Code::PortConflict,
                *path,
                format!("port {port} of {owner} is already used by `{first}`"),
                "give each listener its own port",
            ));
        }
    }
}

fn environment(file: &TopologyFile, out: &mut Vec<Finding>) {
    for (i, svc) in file.services.iter().enumerate() {
        for name in svc.environment.keys() {
            let portable = name.len() <= 128
                && name
                    .as_bytes()
                    .first()
                    .is_some_and(|c| c.is_ascii_uppercase() || *c == b'_')
                && name
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
            if !portable {
                out.push(Finding::new(
                    Code::InvalidEnvironmentName,
                    format!("services[{i}].environment.{name}"),
                    format!("environment variable name `{name}` is not portable"),
                    "use at most 128 upper-case letters, digits and `_`, not starting with a digit: `LOG_LEVEL`",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The former rule: every instance name of every service in a map, the
    /// last service writing an instance name owning it.
    fn owners_by_listing(services: &[(&str, u32)]) -> Vec<Option<usize>> {
        let mut seen = HashSet::new();
        let mut instances: HashMap<String, usize> = HashMap::new();
        for (i, (name, replicas)) in services.iter().enumerate() {
            if !seen.insert(*name) {
                continue;
            }
            for n in 1..=*replicas {
                instances.insert(naming::app_instance(name, n), i);
            }
        }
        services
            .iter()
            .map(|(name, _)| instances.get(*name).copied())
            .collect()
    }

    fn owners_by_parsing(services: &[(&str, u32)]) -> Vec<Option<usize>> {
        let mut declared = HashMap::new();
        for (i, (name, _)) in services.iter().enumerate() {
            declared.entry(*name).or_insert(i);
        }
        services
            .iter()
            .map(|(name, _)| instance_owner(name, &declared, |o| services[o].1))
            .collect()
    }

    #[test]
    fn instance_owners_match_the_full_listing() {
        let names = [
            "a", "a1", "a2", "a12", "a0", "a01", "a10", "a100", "a1a", "b", "b3", "b30", "s1",
            "s12", "s", "s123", "1", "12", "x9", "x10", "api", "api1", "api12",
        ];
        // Every pair and triple of names, with replica counts that make and
        // miss the numbered names, duplicates included.
        let counts = [0u32, 1, 2, 3, 9, 10, 12];
        let mut cases = 0;
        for (i, a) in names.iter().enumerate() {
            for b in &names {
                for c in &names[i..] {
                    for k in 0..counts.len() {
                        let services = [
                            (*a, counts[k]),
                            (*b, counts[(k + 3) % counts.len()]),
                            (*c, counts[(k + 5) % counts.len()]),
                            (*a, counts[(k + 1) % counts.len()]),
                        ];
                        assert_eq!(
                            owners_by_parsing(&services),
                            owners_by_listing(&services),
                            "{services:?}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 10_000);
    }
}
