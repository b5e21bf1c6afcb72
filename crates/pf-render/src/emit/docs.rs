//! The bundle's README (what was generated, a Mermaid diagram of this
//! topology, the exact commands, failover budgets, secrets and node labels)
//! and `.env.production.example` (the guide's variables with this
//! topology's values; secrets only named, never valued).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Cx;
use super::scripts::{ScriptsCx, SecretCx};
use crate::bundle::Bundle;
use crate::error::RenderError;
use crate::escape::comment_text;
use crate::files;
use crate::templates;

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    let ops = ScriptsCx::new(cx);
    let lb = &cx.plan.lb.settings;
    let monitoring = cx.plan.monitoring.as_ref();
    let lag = &cx.plan.postgres.settings.lag;
    let readme = ReadmeCx {
        files: generated_files(cx, bundle),
        mermaid: mermaid(cx),
        next_upstream: lb
            .next_upstream
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        next_upstream_tries: lb.next_upstream_tries,
        next_upstream_timeout: lb.next_upstream_timeout.to_string(),
        lb_instances: cx.plan.lb.replicas,
        monitoring: monitoring.is_some(),
        grafana: monitoring.is_some_and(|m| m.grafana.is_some()),
        alertmanager: monitoring
            .and_then(|m| m.settings.alertmanager.as_ref())
            .map(|a| {
                a.receivers
                    .iter()
                    .map(|r| ReceiverCx {
                        name: r.name.to_string(),
                        severity: match r.min_severity {
                            pf_model::model::AlertSeverity::Warning => {
                                "warnings and critical alerts"
                            }
                            pf_model::model::AlertSeverity::Critical => "critical alerts",
                        },
                        secret: r.webhook_url_secret.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        alertmanager_target: monitoring
            .and_then(|m| m.alertmanager.as_ref())
            .map(|a| a.container.clone())
            .unwrap_or_default(),
        web: monitoring
            .and_then(|m| m.web.as_ref())
            .map(|w| {
                w.routes
                    .iter()
                    .map(|r| WebCx {
                        path: r.path.clone(),
                        basic_auth: r.basic_auth,
                        secret: w.htpasswd_secret.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        sentinels: cx.plan.redis.sentinels.len(),
        lag: LagCx {
            warning: lag.warning.to_string(),
            critical: lag.critical.to_string(),
            warning_bytes: lag.warning_bytes.to_string(),
            critical_bytes: lag.critical_bytes.to_string(),
        },
        env_example: files::ENV_EXAMPLE,
        setup_swarm: files::SETUP_SWARM,
        ha_setup: files::HA_SETUP,
        connect_timeout: lb.connect_timeout.nginx(),
        lb_update_order: cx
            .plan
            .lb
            .instance
            .deployment
            .as_ref()
            .map_or("", |d| d.update_order.as_str()),
        restart_delay: cx.plan.restart.delay.to_string(),
        restart_capped: cx.plan.restart.max_attempts.is_some(),
        app_env: cx
            .plan
            .apps
            .iter()
            .map(|a| AppEnvCx {
                name: a.name.clone(),
                env: a.secrets_env.is_some(),
                secrets: !a.secrets.is_empty(),
                shim: a
                    .secrets_env
                    .as_ref()
                    .map(|e| e.file.artifact.clone())
                    .unwrap_or_default(),
                variables_text: code_list(a.secrets.iter().map(|s| s.to_ascii_uppercase()), ", "),
                file_variables_text: code_list(
                    a.secrets
                        .iter()
                        .map(|s| format!("{}_FILE", s.to_ascii_uppercase())),
                    ", ",
                ),
                urls_text: match a.secrets_env.as_ref().map(|e| &e.urls) {
                    Some(urls) if !urls.is_empty() => format!(
                        ", adds the PostgreSQL password, URL-encoded, to {}",
                        code_list(urls.iter().cloned(), " and ")
                    ),
                    _ => String::new(),
                },
                exec: a
                    .secrets_env
                    .as_ref()
                    .map(|e| e.exec.join(" "))
                    .unwrap_or_default(),
            })
            .collect(),
        ops,
    };
    bundle.add(
        files::README,
        &templates::render("docs/README.md", &readme)?,
    );
    let env = EnvCx {
        secrets_dir: readme.ops.secrets_dir.clone(),
        stack: cx.plan.stack.clone(),
        swarm: cx.plan.is_swarm(),
        sections: env_sections(cx, &readme.ops.secrets),
    };
    bundle.add(
        files::ENV_EXAMPLE,
        &templates::render("docs/env.example", &env)?,
    );
    Ok(())
}

#[derive(Serialize)]
struct ReadmeCx {
    /// Names, secrets, labels and budgets shared with the scripts.
    ops: ScriptsCx,
    files: Vec<FileCx>,
    mermaid: String,
    next_upstream: String,
    next_upstream_tries: u32,
    next_upstream_timeout: String,
    lb_instances: u32,
    monitoring: bool,
    grafana: bool,
    /// Alertmanager's receivers; empty without Alertmanager.
    alertmanager: Vec<ReceiverCx>,
    /// Where `docker logs` finds Alertmanager.
    alertmanager_target: String,
    /// The monitoring UIs behind the load balancer.
    web: Vec<WebCx>,
    sentinels: usize,
    lag: LagCx,
    env_example: &'static str,
    setup_swarm: &'static str,
    ha_setup: &'static str,
    connect_timeout: String,
    /// How nginx is updated (Swarm).
    lb_update_order: &'static str,
    restart_delay: String,
    restart_capped: bool,
    app_env: Vec<AppEnvCx>,
}

/// How an app service gets its secrets.
#[derive(Serialize)]
struct AppEnvCx {
    name: String,
    /// `secrets-as = "env"` through the shim.
    env: bool,
    secrets: bool,
    shim: String,
    /// `` `SECRET_KEY`, `REDIS_PASSWORD` ``.
    variables_text: String,
    file_variables_text: String,
    /// What it adds to the PostgreSQL URLs, or empty.
    urls_text: String,
    /// The program the shim runs.
    exec: String,
}

#[derive(Serialize)]
struct ReceiverCx {
    name: String,
    severity: &'static str,
    secret: String,
}

#[derive(Serialize)]
struct WebCx {
    path: String,
    basic_auth: bool,
    secret: String,
}

#[derive(Serialize)]
struct LagCx {
    warning: String,
    critical: String,
    warning_bytes: String,
    critical_bytes: String,
}

#[derive(Serialize)]
struct FileCx {
    path: String,
    what: String,
}

/// Every artifact of the bundle. The stack or compose file is emitted
/// after the docs, so it and the docs' own files are added here by name.
fn generated_files(cx: &Cx<'_>, bundle: &Bundle) -> Vec<FileCx> {
    let mut paths: BTreeSet<String> = bundle.artifacts().iter().map(|a| a.path.clone()).collect();
    paths.insert(
        if cx.plan.is_swarm() {
            files::STACK
        } else {
            files::COMPOSE
        }
        .to_owned(),
    );
    paths.insert(files::README.to_owned());
    paths.insert(files::ENV_EXAMPLE.to_owned());
    // Added last of all, by `Bundle::finish`.
    paths.insert(files::MANIFEST.to_owned());
    paths
        .into_iter()
        .map(|path| FileCx {
            what: describe(cx, &path),
            path,
        })
        .collect()
}

fn describe(cx: &Cx<'_>, path: &str) -> String {
    let stack = &cx.plan.stack;
    let text = match path {
        files::STACK => "the Swarm stack: services, overlay network, volumes, configs and secrets",
        files::COMPOSE => "the Compose file for one host",
        files::ENV_EXAMPLE => {
            "the guide's variables with this topology's values; secrets only named"
        }
        files::README => "this file",
        files::MANIFEST => {
            "what pf-render wrote here, each file with its SHA-256 and mode: it replaces this folder only while every file in it is listed and unchanged"
        }
        files::NGINX_CONF => {
            "nginx.conf of the load balancer: upstreams with passive health checks and retries, TLS, status port"
        }
        files::PG_PRIMARY_CONF => {
            "postgresql.conf of a member that starts as the primary: WAL level, senders, slots, synchronous standbys"
        }
        files::PG_STANDBY_CONF => {
            "postgresql.conf of a member that starts as a standby (hot standby)"
        }
        files::PG_HBA => "pg_hba.conf of every member: replication and app access",
        files::PG_INIT => {
            "runs once when a new cluster is initialised: replication role, its pg_rewind grants, a slot per other member"
        }
        files::PG_MEMBER => {
            "entrypoint of every member: decides primary or standby from postgres.primary and the other members, clones, rejoins (pg_rewind), promotes after the fence; also --promote, --status, --health"
        }
        files::REDIS_MASTER_CONF => "redis.conf template of the initial master",
        files::REDIS_REPLICA_CONF => "redis.conf template of the replicas",
        files::REDIS_ENTRYPOINT => {
            "Redis entrypoint: rebuilds the config in the volume from the template at every start, keeps the replication state, adds the password"
        }
        files::SENTINEL_ENTRYPOINT => {
            "Sentinel entrypoint: rebuilds the config in the writable volume from its template at every start, keeps Sentinel's state, adds the password"
        }
        files::REDIS_EXPORTER_ENTRYPOINT => {
            "Redis exporter entrypoint: the password secret as the JSON password file the exporter reads"
        }
        files::PROMETHEUS => "Prometheus scrape configuration",
        files::ALERTS => {
            "alert rules: targets down, roles after failover, replication lag, 5xx share, resource usage"
        }
        files::GRAFANA_DATASOURCE => "Grafana data source provisioning (Prometheus)",
        files::GRAFANA_DASHBOARDS => {
            "Grafana dashboard provisioning: the dashboards below, read-only"
        }
        files::ALERTMANAGER => "Alertmanager routes and webhook receivers (URLs read from secrets)",
        files::NGINX_METRICS => {
            "njs handler: each load balancer task's own metrics at /metrics on the status port"
        }
        files::SETUP_SWARM => {
            "Swarm setup: --init, --label-nodes, --create-secrets, --deploy (in steps), --status"
        }
        files::HA_SETUP => {
            if cx.plan.is_swarm() {
                "the guide's ha-setup.sh: --secrets, --swarm (through setup-swarm.sh), --check, --status, --test-failover"
            } else {
                "the guide's ha-setup.sh: --secrets (owners and modes), --compose, --check, --status, --test-failover"
            }
        }
        files::SSL_SETUP => {
            "the guide's ssl-setup.sh: the certificate and key from files (import) or self-signed for staging, checked"
        }
        files::HEALTH_CHECK => "the guide's health checks with this topology's names",
        files::FAILOVER_TEST => {
            "the guide's failover tests: backend, Redis Sentinel, PostgreSQL promotion"
        }
        files::BACKUP => {
            "the guide's backup from a replica (pg_dump), --verify reads it back, --verify-restore restores it into a scratch PostgreSQL"
        }
        files::BACKUP_RUN => {
            "the scheduled backup: a verified dump from a standby on this host, copied outside the bundle, the newest N kept"
        }
        _ => {
            if let Some(app) = cx.plan.apps.iter().find(|a| {
                a.secrets_env
                    .as_ref()
                    .is_some_and(|e| e.file.artifact == path)
            }) {
                return format!(
                    "entrypoint of {}: exports its secrets from their files as variables, then runs its command",
                    app.name
                );
            }
            return match path
                .strip_prefix("redis/sentinel-")
                .and_then(|rest| rest.strip_suffix(".conf"))
            {
                Some(n) => format!("sentinel.conf template of redis-sentinel-{n} (its own myid)"),
                None => match path
                    .strip_prefix("monitoring/dashboards/")
                    .and_then(|rest| rest.strip_suffix(".json"))
                {
                    Some(tier) => format!("Grafana dashboard of the {tier} tier"),
                    None => format!("generated for stack {stack}"),
                },
            };
        }
    };
    text.to_owned()
}

/// Each item in backquotes, joined by `sep`.
fn code_list(items: impl Iterator<Item = String>, sep: &str) -> String {
    items
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// `redis-sentinel-1` -> `redis_sentinel_1`: Mermaid ids allow no dashes.
fn id(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

/// A flowchart of this topology: clients, nginx, each app's instances,
/// PostgreSQL with its streaming slots, Redis and the Sentinels.
fn mermaid(cx: &Cx<'_>) -> String {
    let plan = cx.plan;
    let mut m = vec!["flowchart TD".to_owned()];
    let lb = &plan.lb.instance;
    let scheme = plan.lb.entry.scheme.as_str().to_ascii_uppercase();
    let port = plan.lb.entry.port;
    m.push("    clients([Clients])".into());
    m.push(format!(
        "    {}[\"{} (load balancer, {} instance{})\"]",
        id(&lb.name),
        lb.name,
        plan.lb.replicas,
        if plan.lb.replicas == 1 { "" } else { "s" }
    ));
    m.push(format!(
        "    clients -->|\"{scheme} {port}\"| {}",
        id(&lb.name)
    ));

    for app in &plan.apps {
        let spec = &app.settings;
        let group = format!("app_{}", id(&app.name));
        if plan.is_swarm() {
            m.push(format!(
                "    {group}[\"{} ({} replicas, tasks.{})\"]",
                app.name, spec.replicas, app.name
            ));
        } else {
            m.push(format!("    subgraph {group}[\"{}\"]", app.name));
            for i in &app.instances {
                m.push(format!("        {}[\"{}\"]", id(&i.name), i.name));
            }
            m.push("    end".into());
        }
        m.push(format!(
            "    {} -->|\"{}\"| {group}",
            id(&lb.name),
            spec.route
        ));
    }

    let pg = &plan.postgres;
    let primary = &pg.primary().instance;
    m.push(format!(
        "    {}[(\"{} (primary: read/write, {})\")]",
        id(&primary.name),
        primary.name,
        pg.primary_host
    ));
    for r in pg.replicas() {
        m.push(format!(
            "    {}[(\"{} (hot standby)\")]",
            id(&r.instance.name),
            r.instance.name
        ));
        m.push(format!(
            "    {} -->|\"WAL streaming, slot {}\"| {}",
            id(&primary.name),
            r.slot,
            id(&r.instance.name)
        ));
    }
    if let Some(read) = &plan.lb.read {
        for r in pg.replicas() {
            m.push(format!(
                "    {} -.->|\"reads, TCP {}\"| {}",
                id(&lb.name),
                read.port,
                id(&r.instance.name)
            ));
        }
    }

    let redis = &plan.redis;
    let sentinel = &redis.settings.sentinel;
    let master = &redis.master.instance;
    let master_name = &redis.settings.master_name;
    m.push(format!(
        "    subgraph sentinels[\"Sentinels (quorum {} of {})\"]",
        sentinel.quorum,
        redis.sentinels.len()
    ));
    for s in &redis.sentinels {
        m.push(format!(
            "        {}[\"{}\"]",
            id(&s.instance.name),
            s.instance.name
        ));
    }
    m.push("    end".into());
    m.push(format!(
        "    {}[(\"{} (master {})\")]",
        id(&master.name),
        master.name,
        master_name
    ));
    for r in redis.replicas.iter().map(|r| &r.instance) {
        m.push(format!("    {}[(\"{}\")]", id(&r.name), r.name));
        m.push(format!(
            "    {} -->|replication| {}",
            id(&master.name),
            id(&r.name)
        ));
    }
    m.push(format!(
        "    sentinels -.->|\"monitor {}\"| {}",
        master_name,
        id(&master.name)
    ));
    for r in redis.replicas.iter().map(|r| &r.instance) {
        m.push(format!("    sentinels -.-> {}", id(&r.name)));
    }

    for app in &plan.apps {
        let spec = &app.settings;
        let group = format!("app_{}", id(&app.name));
        use pf_model::model::Connection;
        if spec.connects_to.contains(&Connection::Postgres) {
            m.push(format!("    {group} -->|SQL| {}", id(&primary.name)));
        }
        if spec.connects_to.contains(&Connection::Redis) {
            m.push(format!("    {group} -->|\"master lookup\"| sentinels"));
            m.push(format!("    {group} -->|commands| {}", id(&master.name)));
        }
    }

    if let Some(monitoring) = &plan.monitoring {
        m.push("    prometheus[\"prometheus + exporters\"]".into());
        m.push(format!("    prometheus -.->|scrape| {}", id(&lb.name)));
        for member in plan.postgres.members() {
            m.push(format!(
                "    prometheus -.->|scrape| {}",
                id(&member.instance.name)
            ));
        }
        for node in plan.redis.nodes() {
            m.push(format!(
                "    prometheus -.->|scrape| {}",
                id(&node.instance.name)
            ));
        }
        if monitoring.alertmanager.is_some() {
            m.push("    prometheus -.->|alerts| alertmanager[\"alertmanager\"]".into());
        }
        if monitoring.grafana.is_some() {
            m.push("    grafana[\"grafana\"] --> prometheus".into());
        }
    }
    m.join("\n")
}

#[derive(Serialize)]
struct EnvCx {
    /// The default SECRETS_DIR, where `.env.production` goes too.
    secrets_dir: String,
    stack: String,
    swarm: bool,
    sections: Vec<EnvSection>,
}

#[derive(Serialize)]
struct EnvSection {
    title: String,
    lines: Vec<String>,
}

/// Names that must never carry a value in the example.
fn secret_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["pass", "secret", "token", "key"]
        .iter()
        .any(|w| lower.contains(w))
}

/// `NAME=value` as a dotenv line reads it and as a shell sources it: bare
/// when plain, single-quoted (literal) otherwise, double-quoted when it
/// holds a single quote but nothing a shell expands in double quotes
/// (`"`, `$`, backtick, `\`). A value no quoting keeps literal on one line
/// (a line break, a control or bidi character, or both quotes and an
/// expansion) becomes a comment pointing at the stack file.
fn env_line(name: &str, value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:/@,+=%".contains(c);
    if value.chars().all(plain) {
        format!("{name}={value}")
    } else if pf_model::units::first_unsafe_in_line(value).is_some() {
        format!("# {name}: its value spans lines or holds control characters; see the stack file")
    } else if !value.contains('\'') {
        format!("{name}='{value}'")
    } else if !value.contains(['"', '$', '`', '\\']) {
        format!("{name}=\"{value}\"")
    } else {
        format!("# {name}: its value cannot be quoted for a .env file; see the stack file")
    }
}

fn env_sections(cx: &Cx<'_>, secrets: &[SecretCx]) -> Vec<EnvSection> {
    let plan = cx.plan;
    let secret_line = |s: &SecretCx| {
        if plan.is_swarm() {
            format!(
                "# {}: Docker secret {} (file {}), mounted at /run/secrets/{}: {}",
                s.env,
                s.swarm_name,
                s.file,
                s.name,
                comment_text(&s.description)
            )
        } else {
            format!(
                "# {}: Compose secret {} (file {}), mounted at /run/secrets/{}: {}",
                s.env,
                s.name,
                s.file,
                s.name,
                comment_text(&s.description)
            )
        }
    };
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut section = |title: &str, vars: Vec<(String, String)>, owned: Vec<&str>| {
        let mut lines = Vec::new();
        for (k, v) in vars {
            if used.insert(k.clone()) {
                lines.push(env_line(&k, &v));
            }
        }
        for name in owned {
            if let Some(s) = secrets.iter().find(|s| s.name == name)
                && used.insert(format!("secret:{name}"))
            {
                lines.push(secret_line(s));
            }
        }
        EnvSection {
            title: title.to_owned(),
            lines,
        }
    };

    // The app services' own environment, merged: one value per variable.
    let mut merged: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for app in &cx.plan.apps {
        for (k, v) in &app.environment {
            if k.ends_with("_FILE") {
                continue;
            }
            merged
                .entry(k.clone())
                .or_default()
                .insert(app.name.clone(), v.clone());
        }
    }
    let take = |names: &[&str]| -> Vec<(String, String)> {
        names
            .iter()
            .filter_map(|n| {
                let by_app = merged.get(*n)?;
                let mut values = by_app.values();
                let first = values.next()?.clone();
                values
                    .all(|v| *v == first)
                    .then(|| ((*n).to_owned(), first))
            })
            .collect()
    };

    let pg = &plan.postgres.settings;
    let mut db = vec![
        ("POSTGRES_USER".to_owned(), pg.owner.to_string()),
        ("POSTGRES_DB".to_owned(), pg.database.to_string()),
        (
            "POSTGRES_REPLICATION_USER".to_owned(),
            pg.replication_role.to_string(),
        ),
    ];
    db.extend(take(&["DATABASE_URL", "DATABASE_REPLICA_URL"]));
    let mut sections = vec![section(
        "Database",
        db,
        vec![
            pg.password_secret.as_str(),
            pg.replication_password_secret.as_str(),
        ],
    )];

    let mut redis = take(&["REDIS_MASTER_NAME", "REDIS_SENTINELS"]);
    if redis.is_empty() {
        redis.push((
            "REDIS_MASTER_NAME".to_owned(),
            plan.redis.settings.master_name.clone(),
        ));
    }
    sections.push(section(
        "Redis",
        redis,
        vec![plan.redis.settings.password_secret.as_str()],
    ));

    // Everything else the apps set, and the secrets they mount.
    let mut app_vars = Vec::new();
    let mut app_comments = Vec::new();
    let mut workers = Vec::new();
    for (k, by_app) in &merged {
        let mut values: Vec<&String> = by_app.values().collect();
        values.dedup();
        if secret_like(k) {
            app_comments.push(format!(
                "# {k}: set in the stack for {}; not repeated here",
                by_app.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        } else if values.len() > 1 {
            app_comments.push(format!(
                "# {k} differs per service: {}",
                by_app
                    .iter()
                    .map(|(app, v)| format!("{app}={}", comment_text(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else if k.ends_with("_WORKERS") {
            workers.push((k.clone(), values[0].clone()));
        } else {
            app_vars.push((k.clone(), values[0].clone()));
        }
    }
    let app_secrets: Vec<&str> = plan
        .apps
        .iter()
        .flat_map(|a| a.settings.secrets.iter().map(|n| n.as_str()))
        .collect();
    let mut app = section("Application", app_vars, app_secrets);
    app.lines.extend(app_comments);
    sections.push(app);
    sections.push(section("Workers per instance", workers, vec![]));

    let tls: Vec<&str> = plan
        .lb
        .settings
        .tls
        .as_ref()
        .map(|tls| vec![tls.certificate_secret.as_str(), tls.key_secret.as_str()])
        .unwrap_or_default();
    sections.push(section("Load balancer TLS", vec![], tls));

    let rest: Vec<&str> = secrets.iter().map(|s| s.name.as_str()).collect();
    sections.push(section("Other secrets", vec![], rest));

    let registries: BTreeSet<&str> = plan
        .apps
        .iter()
        .filter_map(|a| registry(a.settings.image.repository()))
        .collect();
    let mut registry_section = section("Docker registry (for Swarm)", vec![], vec![]);
    match registries.len() {
        0 => registry_section
            .lines
            .push("# DOCKER_REGISTRY: not used, the app images come from Docker Hub".into()),
        1 => registry_section.lines.push(env_line(
            "DOCKER_REGISTRY",
            registries.first().copied().unwrap_or_default(),
        )),
        _ => registry_section.lines.push(format!(
            "# DOCKER_REGISTRY: the app images come from several registries: {}",
            registries.iter().copied().collect::<Vec<_>>().join(", ")
        )),
    }
    sections.push(registry_section);
    sections.retain(|s| !s.lines.is_empty());
    sections
}

/// The registry part of a repository, by Docker's rule: a first path part
/// with a dot or a port, or `localhost`.
fn registry(repository: &str) -> Option<&str> {
    let (first, _) = repository.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_follow_docker() {
        assert_eq!(registry("localhost:5000/app"), Some("localhost:5000"));
        assert_eq!(
            registry("registry.example.org/team/app"),
            Some("registry.example.org")
        );
        assert_eq!(registry("library/nginx"), None);
        assert_eq!(registry("nginx"), None);
    }

    #[test]
    fn secret_like_names() {
        assert!(secret_like("GEMINI_API_KEY"));
        assert!(secret_like("db_password"));
        assert!(!secret_like("DATABASE_URL"));
    }
}
