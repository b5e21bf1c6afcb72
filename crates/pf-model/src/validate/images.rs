//! Image versions: pinned, and new enough for the features the output uses.

use super::Finding;
use crate::codes::Code;
use crate::model::TopologyFile;
use crate::units::{ImageRef, Version};

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let versioned = [
        (
            "load-balancer.image",
            &file.load_balancer.image,
            Version::new(1, 27, 3),
            Code::NginxTooOld,
            "nginx:1.28.0",
        ),
        (
            "redis.image",
            &file.redis.image,
            Version::new(6, 2, 0),
            Code::RedisTooOld,
            "redis:7.4.1",
        ),
        (
            "postgres.image",
            &file.postgres.image,
            Version::new(13, 0, 0),
            Code::PostgresTooOld,
            "postgres:16.6",
        ),
    ];
    for (path, image, minimum, code, example) in versioned {
        match image.version() {
            Some(v) if v < minimum => out.push(Finding::new(
                code,
                path,
                format!("`{image}` is version {v}, older than {minimum}"),
                format!("use {minimum} or newer, for example `{example}`"),
            )),
            Some(_) => {}
            None if image.tag().is_none() => out.push(Finding::new(
                Code::UnknownImageVersion,
                path,
                format!("`{image}` is pinned by digest alone, so its version cannot be read"),
                format!(
                    "add the version tag before the digest, for example `{example}@sha256:...`"
                ),
            )),
            None => out.push(Finding::new(
                Code::UnknownImageVersion,
                path,
                format!("cannot read a version from the tag of `{image}`"),
                format!("use a version tag, for example `{example}`"),
            )),
        }
    }
    let mut others: Vec<(String, &ImageRef)> = file
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("services[{i}].image"), &s.image))
        .collect();
    if file.monitoring.prometheus {
        let m = &file.monitoring;
        others.push(("monitoring.prometheus-image".into(), &m.prometheus_image));
        others.push((
            "monitoring.postgres-exporter-image".into(),
            &m.postgres_exporter_image,
        ));
        others.push((
            "monitoring.redis-exporter-image".into(),
            &m.redis_exporter_image,
        ));
        if m.grafana {
            others.push(("monitoring.grafana-image".into(), &m.grafana_image));
        }
        if let Some(am) = &m.alertmanager {
            others.push(("monitoring.alertmanager.image".into(), &am.image));
        }
    }
    nginx_metrics(file, out);
    for (path, image) in others {
        // A digest pins the image whatever its tag says.
        if image.version().is_none() && image.digest().is_none() {
            out.push(Finding::new(
                Code::FloatingImageTag,
                path,
                format!("the tag of `{image}` is not a version"),
                "pin a version tag such as `1.4.2`, or add a digest",
            ));
        }
    }
}

/// Prometheus reads each load balancer's own metrics from a small njs
/// handler (`nginx/metrics.js`): njs ships in the official nginx image,
/// Debian- and Alpine-based, but not in `-alpine-slim` nor, as far as
/// anything documents, in other images.
fn nginx_metrics(file: &TopologyFile, out: &mut Vec<Finding>) {
    let image = &file.load_balancer.image;
    if file.monitoring.prometheus && !ships_njs(image) {
        out.push(Finding::new(
            Code::LbMetricsNeedNjs,
            "load-balancer.image",
            format!(
                "`{image}` may not ship the njs module that serves each load balancer's metrics to Prometheus"
            ),
            "use the official nginx image (`nginx:1.28.0`, not `-alpine-slim`), or turn `monitoring.prometheus` off",
        ));
    }
}

/// The official image, except its `-alpine-slim` variant, loads
/// `modules/ngx_http_js_module.so` (docker-library nginx Dockerfiles install
/// `nginx-module-njs`).
pub(crate) fn ships_njs(image: &ImageRef) -> bool {
    matches!(
        image.repository(),
        "nginx" | "library/nginx" | "docker.io/library/nginx"
    ) && !image.tag().is_some_and(|t| t.contains("slim"))
}
