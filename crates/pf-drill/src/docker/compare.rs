//! The refusal: a drill disrupts the stack it is pointed at, so it runs
//! only when what is deployed is what this topology's bundle deploys. Every
//! difference is listed; one is enough to refuse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::expected::ExpectedService;
use super::inspect::{ComposeContainer, ContainerInfo, SwarmService};

/// Differences between the bundle's Swarm services and the deployed stack.
pub(crate) fn swarm(expected: &[ExpectedService], deployed: &[SwarmService]) -> Vec<String> {
    let by_name: BTreeMap<&str, &SwarmService> =
        deployed.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut out = Vec::new();
    for e in expected {
        let Some(d) = by_name.get(e.name.as_str()) else {
            out.push(format!("service {} is not deployed", e.name));
            continue;
        };
        if d.image != e.image {
            out.push(format!(
                "service {}: image {}, the bundle has {}",
                e.name, d.image, e.image
            ));
        }
        if d.replicas != Some(u64::from(e.replicas)) {
            out.push(format!(
                "service {}: {} replicas, the bundle has {}",
                e.name,
                d.replicas
                    .map_or_else(|| "global".to_owned(), |r| r.to_string()),
                e.replicas
            ));
        }
        if d.configs != e.configs {
            out.push(format!(
                "service {}: configs {}, the bundle has {} (a config's name ends with a hash of \
                 its content: the deployed files differ from this topology's bundle)",
                e.name,
                pairs(&d.configs),
                pairs(&e.configs)
            ));
        }
        if d.secrets != e.secrets {
            out.push(format!(
                "service {}: secrets [{}], the bundle has [{}]",
                e.name,
                d.secrets.join(", "),
                e.secrets.join(", ")
            ));
        }
    }
    let known: BTreeSet<&str> = expected.iter().map(|e| e.name.as_str()).collect();
    for d in deployed {
        if !known.contains(d.name.as_str()) {
            out.push(format!(
                "service {} is deployed in the stack but not in the bundle",
                d.name
            ));
        }
    }
    out
}

/// A bind-mounted file of a container, read from the host when the drill
/// runs there: `Some(content)`, or `None` when it cannot be read (another
/// host, no permission).
pub(crate) type ReadHostFile<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Differences between the bundle's Compose services and the project's
/// containers. Bind-mounted bundle files are compared by content when the
/// host file can be read; `unread` collects the ones that could not.
pub(crate) fn compose(
    expected: &[ExpectedService],
    deployed: &[ComposeContainer],
    inspected: &[ContainerInfo],
    read: &ReadHostFile<'_>,
    unread: &mut Vec<String>,
) -> Vec<String> {
    let by_service: BTreeMap<&str, &ComposeContainer> =
        deployed.iter().map(|c| (c.service.as_str(), c)).collect();
    let info: BTreeMap<&str, &ContainerInfo> =
        inspected.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut out = Vec::new();
    for e in expected {
        let Some(d) = by_service.get(e.name.as_str()) else {
            out.push(format!("service {} has no container", e.name));
            continue;
        };
        if d.name != e.container {
            out.push(format!(
                "service {}: container {}, the bundle names it {}",
                e.name, d.name, e.container
            ));
        }
        if d.image != e.image {
            out.push(format!(
                "service {}: image {}, the bundle has {}",
                e.name, d.image, e.image
            ));
        }
        let Some(c) = info.get(d.name.as_str()) else {
            continue;
        };
        let binds: BTreeMap<PathBuf, &str> = c
            .binds
            .iter()
            .map(|(src, dst)| (PathBuf::from(dst), src.as_str()))
            .collect();
        for (mount, content) in &e.files {
            match binds.get(mount) {
                None => out.push(format!(
                    "service {}: nothing is mounted at {}, the bundle mounts a file there",
                    e.name,
                    mount.display()
                )),
                Some(src) => match read(src) {
                    Some(found) if found == *content => {}
                    Some(_) => out.push(format!(
                        "service {}: {} (mounted at {}) differs from this topology's bundle",
                        e.name,
                        src,
                        mount.display()
                    )),
                    None => unread.push((*src).to_owned()),
                },
            }
        }
    }
    let known: BTreeSet<&str> = expected.iter().map(|e| e.name.as_str()).collect();
    for d in deployed {
        if !known.contains(d.service.as_str()) {
            out.push(format!(
                "service {} runs in the project but is not in the bundle",
                d.service
            ));
        }
    }
    out
}

fn pairs(p: &[(String, String)]) -> String {
    let items: Vec<String> = p.iter().map(|(t, n)| format!("{t}={n}")).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::inspect;

    fn expected_nginx() -> ExpectedService {
        ExpectedService {
            key: "nginx".into(),
            name: "promptforge_nginx".into(),
            container: "promptforge_nginx".into(),
            image: "nginx:1.30.6-pftest.ab12".into(),
            replicas: 2,
            configs: vec![
                (
                    "/etc/nginx/metrics.js".into(),
                    "promptforge_nginx_metrics_js_0f38d70dd6".into(),
                ),
                (
                    "/etc/nginx/nginx.conf".into(),
                    "promptforge_nginx_load-balancer_conf_f40c64cd77".into(),
                ),
            ],
            secrets: vec![
                "promptforge_tls_certificate".into(),
                "promptforge_tls_private_key".into(),
            ],
            files: Vec::new(),
            spec: crate::docker::spec::SpecFields::default(),
            stateful: false,
            step: 1,
        }
    }

    fn deployed(conf: &str, image: &str, replicas: u64, extra: bool) -> Vec<SwarmService> {
        let mut json = format!(
            r#"[{{"Spec": {{"Name": "promptforge_nginx",
              "Labels": {{"com.docker.stack.image": "{image}", "com.docker.stack.namespace": "promptforge"}},
              "TaskTemplate": {{"ContainerSpec": {{"Image": "{image}@sha256:1",
                "Configs": [{{"File": {{"Name": "/etc/nginx/nginx.conf"}}, "ConfigName": "{conf}"}},
                            {{"File": {{"Name": "/etc/nginx/metrics.js"}}, "ConfigName": "promptforge_nginx_metrics_js_0f38d70dd6"}}],
                "Secrets": [{{"SecretName": "promptforge_tls_certificate"}}, {{"SecretName": "promptforge_tls_private_key"}}]}}}},
              "Mode": {{"Replicated": {{"Replicas": {replicas}}}}}}}}}"#
        );
        if extra {
            json.push_str(
                r#",{"Spec": {"Name": "promptforge_debug", "TaskTemplate": {"ContainerSpec": {"Image": "busybox:1"}},
                   "Mode": {"Replicated": {"Replicas": 1}}}}"#,
            );
        }
        json.push(']');
        inspect::swarm_services(&json).expect("canned inspect output parses")
    }

    #[test]
    fn the_stack_rendered_from_this_topology_matches() {
        let d = deployed(
            "promptforge_nginx_load-balancer_conf_f40c64cd77",
            "nginx:1.30.6-pftest.ab12",
            2,
            false,
        );
        assert_eq!(swarm(&[expected_nginx()], &d), Vec::<String>::new());
    }

    #[test]
    fn a_config_from_another_rendering_is_refused() {
        let d = deployed(
            "promptforge_nginx_load-balancer_conf_0000000000",
            "nginx:1.30.6-pftest.ab12",
            2,
            false,
        );
        let m = swarm(&[expected_nginx()], &d);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("configs") && m[0].contains("0000000000"),
            "{m:?}"
        );
    }

    #[test]
    fn image_replicas_extra_and_missing_services_are_each_named() {
        let d = deployed(
            "promptforge_nginx_load-balancer_conf_f40c64cd77",
            "nginx:1.28.0",
            0,
            true,
        );
        let mut e = vec![expected_nginx()];
        e.push(ExpectedService {
            key: "backend".into(),
            name: "promptforge_backend".into(),
            container: "promptforge_backend".into(),
            image: "backend:1".into(),
            replicas: 3,
            configs: Vec::new(),
            secrets: Vec::new(),
            files: Vec::new(),
            spec: crate::docker::spec::SpecFields::default(),
            stateful: false,
            step: 1,
        });
        let m = swarm(&e, &d).join("\n");
        assert!(
            m.contains("image nginx:1.28.0, the bundle has nginx:1.30.6-pftest.ab12"),
            "{m}"
        );
        assert!(m.contains("0 replicas, the bundle has 2"), "{m}");
        assert!(
            m.contains("service promptforge_backend is not deployed"),
            "{m}"
        );
        assert!(
            m.contains("promptforge_debug is deployed in the stack but not in the bundle"),
            "{m}"
        );
    }

    fn compose_expected() -> ExpectedService {
        ExpectedService {
            key: "nginx-lb".into(),
            name: "nginx-lb".into(),
            container: "promptforge-nginx-lb".into(),
            image: "nginx:1.30.6-pftest.ab12".into(),
            replicas: 1,
            configs: Vec::new(),
            secrets: Vec::new(),
            files: vec![(
                PathBuf::from("/etc/nginx/nginx.conf"),
                "worker_processes auto;\n".into(),
            )],
            spec: crate::docker::spec::SpecFields::default(),
            stateful: false,
            step: 1,
        }
    }

    fn compose_deployed() -> (Vec<ComposeContainer>, Vec<ContainerInfo>) {
        let ps = inspect::compose_containers(
            r#"{"Image":"nginx:1.30.6-pftest.ab12","Name":"promptforge-nginx-lb","Project":"promptforge","Service":"nginx-lb","State":"running","Health":"healthy"}"#,
        )
        .expect("ps");
        let info = inspect::containers(
            r#"[{"Id":"1","Name":"/promptforge-nginx-lb","State":{"Running":true},"NetworkSettings":{"Networks":{}},
                "Mounts":[{"Type":"bind","Source":"/srv/bundle/nginx/load-balancer.conf","Destination":"/etc/nginx/nginx.conf"}]}]"#,
        )
        .expect("inspect");
        (ps, info)
    }

    #[test]
    fn compose_files_are_compared_by_content_when_readable() {
        let (ps, info) = compose_deployed();
        let e = [compose_expected()];
        let mut unread = Vec::new();
        let same = |_: &str| Some("worker_processes auto;\n".to_owned());
        assert!(compose(&e, &ps, &info, &same, &mut unread).is_empty());
        let edited = |_: &str| Some("worker_processes 1;\n".to_owned());
        let m = compose(&e, &ps, &info, &edited, &mut unread);
        assert_eq!(m.len(), 1);
        assert!(
            m[0].contains("differs from this topology's bundle"),
            "{m:?}"
        );
        let remote = |_: &str| None;
        assert!(compose(&e, &ps, &info, &remote, &mut unread).is_empty());
        assert_eq!(unread, ["/srv/bundle/nginx/load-balancer.conf"]);
    }

    #[test]
    fn compose_services_and_images_are_compared() {
        let (ps, info) = compose_deployed();
        let mut e = compose_expected();
        e.image = "nginx:1.28.0".into();
        let mut other = compose_expected();
        other.name = "backend1".into();
        other.container = "promptforge-backend-1".into();
        other.files.clear();
        let mut unread = Vec::new();
        let read = |_: &str| Some("worker_processes auto;\n".to_owned());
        let m = compose(&[e, other], &ps, &info, &read, &mut unread).join("\n");
        assert!(
            m.contains("nginx-lb: image nginx:1.30.6-pftest.ab12, the bundle has nginx:1.28.0"),
            "{m}"
        );
        assert!(m.contains("service backend1 has no container"), "{m}");
    }
}
