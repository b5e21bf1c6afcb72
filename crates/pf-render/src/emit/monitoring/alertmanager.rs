//! Alertmanager's configuration: every receiver of the topology gets the
//! alerts of its minimum severity or worse; webhook URLs are read from
//! the Docker secrets (`url_file`, Alertmanager >= 0.26), never written.

use pf_model::model::{AlertSeverity, Alertmanager};
use serde::Serialize;

use crate::files::mount;

/// The root route's receiver: takes what no receiver wants (a
/// critical-only setup's warnings) and sends it nowhere.
const UNROUTED: &str = "unrouted";

#[derive(Serialize)]
pub(super) struct Config {
    route: Route,
    receivers: Vec<Receiver>,
}

#[derive(Serialize)]
struct Route {
    receiver: String,
    group_by: Vec<&'static str>,
    group_wait: String,
    group_interval: &'static str,
    repeat_interval: String,
    routes: Vec<ChildRoute>,
}

#[derive(Serialize)]
struct ChildRoute {
    receiver: String,
    matchers: Vec<String>,
    /// Later receivers get the alert too.
    #[serde(rename = "continue")]
    continue_: bool,
}

#[derive(Serialize)]
struct Receiver {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<Webhook>,
}

#[derive(Serialize)]
struct Webhook {
    url_file: String,
    send_resolved: bool,
}

pub(super) fn config(am: &Alertmanager) -> Config {
    let mut receivers = vec![Receiver {
        name: UNROUTED.to_owned(),
        webhook_configs: Vec::new(),
    }];
    let mut routes = Vec::new();
    for r in &am.receivers {
        let matcher = match r.min_severity {
            AlertSeverity::Warning => "severity=~\"warning|critical\"",
            AlertSeverity::Critical => "severity=\"critical\"",
        };
        routes.push(ChildRoute {
            receiver: r.name.to_string(),
            matchers: vec![matcher.to_owned()],
            continue_: true,
        });
        receivers.push(Receiver {
            name: r.name.to_string(),
            webhook_configs: vec![Webhook {
                url_file: format!("{}/{}", mount::SECRETS, r.webhook_url_secret),
                send_resolved: r.send_resolved,
            }],
        });
    }
    Config {
        route: Route {
            receiver: UNROUTED.to_owned(),
            // One notification per alert and target: a PostgreSQL member
            // down and a Redis node down are separate pages.
            group_by: vec!["alertname", "job", "member", "instance"],
            group_wait: am.group_wait.to_string(),
            group_interval: "5m",
            repeat_interval: am.repeat_interval.to_string(),
            routes,
        },
        receivers,
    }
}
