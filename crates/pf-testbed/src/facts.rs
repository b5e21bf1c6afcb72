//! What the harness needs to know about a topology to check its bundle,
//! as `key=value` lines a shell reads without `eval`.

use pf_model::Topology;

/// The facts of a validated topology, one `key=value` per entry. Values are
/// names, numbers and paths the validation already restricted (DNS labels,
/// identifiers, host names), so none contains `=`, a newline or a quote.
pub fn facts(topology: &Topology) -> Vec<(&'static str, String)> {
    let t = topology.spec();
    let lb = &t.load_balancer;
    let pg = &t.postgres;
    let r = &t.redis;
    let s = &r.sentinel;
    let tls = lb.tls.as_ref();
    let am = t.monitoring.alertmanager.as_ref();
    let secs = |d: pf_model::units::Duration| d.as_secs_ceil().to_string();
    // Members are role-neutral (`postgres-1` ..); the topology names the
    // primary by number.
    let members = pf_model::naming::postgres_instances(pg.replicas);
    let primary_index = usize::try_from(pg.primary).unwrap_or(1).saturating_sub(1);
    let primary = members.get(primary_index).cloned().unwrap_or_default();
    let standbys: Vec<&str> = members
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != primary_index)
        .map(|(_, m)| m.as_str())
        .collect();
    vec![
        ("stack", t.name.to_string()),
        ("nodes", t.capacity.nodes.to_string()),
        ("server_name", lb.server_name.clone()),
        ("lb_instances", lb.instances.to_string()),
        ("lb_method", format!("{:?}", lb.method).to_lowercase()),
        ("http_port", lb.http_port.to_string()),
        (
            "https_port",
            tls.map_or_else(String::new, |_| lb.https_port.to_string()),
        ),
        ("status_port", lb.status.port.to_string()),
        ("fail_timeout_s", secs(lb.fail_timeout)),
        (
            "tls_certificate_secret",
            tls.map_or_else(String::new, |x| x.certificate_secret.to_string()),
        ),
        (
            "tls_key_secret",
            tls.map_or_else(String::new, |x| x.key_secret.to_string()),
        ),
        ("pg_replicas", pg.replicas.to_string()),
        ("pg_primary", primary),
        ("pg_standbys", standbys.join(" ")),
        ("pg_database", pg.database.to_string()),
        ("pg_owner", pg.owner.to_string()),
        ("pg_port", pg.port.to_string()),
        ("pg_synchronous", pg.synchronous.to_string()),
        ("pg_password_secret", pg.password_secret.to_string()),
        ("redis_replicas", r.replicas.to_string()),
        ("redis_port", r.port.to_string()),
        ("master_name", r.master_name.clone()),
        ("redis_password_secret", r.password_secret.to_string()),
        ("sentinels", s.count.to_string()),
        ("sentinel_port", s.port.to_string()),
        ("quorum", s.quorum.to_string()),
        ("down_after_s", secs(s.down_after)),
        ("failover_timeout_s", secs(s.failover_timeout)),
        ("prometheus", u8::from(t.monitoring.prometheus).to_string()),
        ("scrape_interval_s", secs(t.monitoring.scrape_interval)),
        ("alert_for_s", secs(t.monitoring.alerts.for_duration)),
        (
            "alertmanager",
            u8::from(t.monitoring.prometheus && am.is_some()).to_string(),
        ),
        (
            "group_wait_s",
            am.map_or_else(String::new, |a| secs(a.group_wait)),
        ),
        (
            "webhook_secrets",
            am.map_or_else(String::new, |a| {
                a.receivers
                    .iter()
                    .map(|r| r.webhook_url_secret.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        ),
        (
            "web_htpasswd_secret",
            t.monitoring
                .web_htpasswd_secret
                .as_ref()
                .filter(|_| t.monitoring.prometheus)
                .map_or_else(String::new, ToString::to_string),
        ),
        ("grafana", u8::from(t.monitoring.grafana).to_string()),
        (
            "secrets",
            t.secrets
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}
