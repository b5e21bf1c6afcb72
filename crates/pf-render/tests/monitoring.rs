//! The monitoring artifacts against the real `promtool`: every bundle's
//! Prometheus configuration and alert rules are accepted, and unit tests
//! run by `promtool test rules` prove the replication lag alerts fire at
//! exactly the topology's thresholds (and stay quiet below them).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pf_model::TopologyFile;
use pf_render::{Bundle, Target};
use serde_json::{Value as Json, json};
use serde_yaml_ng::Value as Yaml;

const PROMETHEUS: &str = "monitoring/prometheus.yml";
const ALERTS: &str = "monitoring/alerts.yml";
const GRAFANA: &str = "monitoring/grafana-datasource.yml";
/// Where prometheus.yml expects the rules inside the container.
const ALERTS_MOUNT: &str = "/etc/prometheus/alerts.yml";

fn spec(relative: &str) -> TopologyFile {
    let text = std::fs::read_to_string(support::root().join(relative)).expect("read topology");
    let checked = pf_model::from_str(&text, relative)
        .unwrap_or_else(|e| panic!("{relative}: {e:?}"))
        .validate();
    checked
        .topology
        .unwrap_or_else(|| panic!("{relative} is invalid"))
        .spec()
        .clone()
}

/// The bundle's alerts.yml and a prometheus.yml whose `rule_files` entry
/// points at it instead of the container path.
struct Written {
    _dir: tempfile::TempDir,
    prometheus: PathBuf,
    alerts: PathBuf,
}

fn write(bundle: &Bundle) -> Written {
    let dir = tempfile::tempdir().expect("temp dir");
    let alerts = dir.path().join("alerts.yml");
    let prometheus = dir.path().join("prometheus.yml");
    let text = &bundle.get(ALERTS).expect("alerts.yml").contents;
    std::fs::write(&alerts, text).expect("write alerts");
    let config = &bundle.get(PROMETHEUS).expect("prometheus.yml").contents;
    let entry = format!("- {ALERTS_MOUNT}\n");
    assert_eq!(
        config.matches(&entry).count(),
        1,
        "one rule_files entry:\n{config}"
    );
    let config = config.replace(&entry, &format!("- {}\n", alerts.display()));
    std::fs::write(&prometheus, config).expect("write prometheus.yml");
    Written {
        _dir: dir,
        prometheus,
        alerts,
    }
}

fn promtool(args: &[&str], file: &Path) -> (bool, String) {
    let (ok, out, err) = support::run(Command::new(support::tool("promtool")).args(args).arg(file));
    (ok, format!("{out}{err}"))
}

fn monitored() -> Vec<(String, Target, Bundle, TopologyFile)> {
    let all: Vec<_> = support::all_bundles()
        .into_iter()
        .filter_map(|(t, target, bundle)| {
            let spec = spec(&t);
            assert_eq!(
                spec.monitoring.prometheus,
                bundle.get(PROMETHEUS).is_some() && bundle.get(ALERTS).is_some(),
                "{t} ({target}): monitoring files exactly when monitoring.prometheus is on"
            );
            assert_eq!(
                spec.monitoring.prometheus && spec.monitoring.grafana,
                bundle.get(GRAFANA).is_some(),
                "{t} ({target}): the Grafana data source exactly when grafana is on"
            );
            spec.monitoring
                .prometheus
                .then_some((t, target, bundle, spec))
        })
        .collect();
    assert!(all.len() >= 4, "prod and an example, both targets");
    all
}

#[test]
fn promtool_accepts_every_config_and_rule_file() {
    for (t, target, bundle, _) in monitored() {
        let w = write(&bundle);
        let (ok, out) = promtool(&["check", "config"], &w.prometheus);
        assert!(ok, "{t} ({target}): promtool check config:\n{out}");
        assert!(
            out.contains("1 rule files found"),
            "{t}: rules were checked:\n{out}"
        );
        let (ok, out) = promtool(&["check", "rules"], &w.alerts);
        assert!(ok, "{t} ({target}): promtool check rules:\n{out}");
        let grafana = bundle.get(GRAFANA).map(|a| a.contents.as_str());
        if let Some(text) = grafana {
            let doc: Yaml = serde_yaml_ng::from_str(text).expect("grafana yaml");
            assert_eq!(doc["apiVersion"], Yaml::from(1));
            assert_eq!(
                doc["datasources"][0]["url"],
                Yaml::from("http://prometheus:9090")
            );
        }
    }
}

#[test]
fn promtool_rejects_a_broken_rule_and_the_config_that_loads_it() {
    let (t, target, bundle, _) = monitored().remove(0);
    let w = write(&bundle);
    let good = std::fs::read_to_string(&w.alerts).expect("read");
    for (what, broken) in [
        (
            "bad PromQL",
            good.replacen("pg_up == 0", "pg_up == == 0", 1),
        ),
        ("bad duration", good.replacen("for: ", "for: 2x", 1)),
    ] {
        assert_ne!(broken, good, "{what}: the corruption applies");
        std::fs::write(&w.alerts, &broken).expect("write");
        let (ok, out) = promtool(&["check", "rules"], &w.alerts);
        assert!(!ok, "{t} ({target}): promtool accepted {what}:\n{out}");
        let (ok, out) = promtool(&["check", "config"], &w.prometheus);
        assert!(
            !ok,
            "{t} ({target}): check config passed with {what} in its rules:\n{out}"
        );
    }
}

/// The annotations of `alert` in the rendered rules (of the rule for
/// `replica`, when the alert has one rule per replica).
fn annotations_of(alerts: &str, alert: &str, replica: Option<&str>) -> (String, String) {
    let doc: Yaml = serde_yaml_ng::from_str(alerts).expect("alerts yaml");
    let groups = doc["groups"].as_sequence().expect("groups");
    let rule = groups
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules").iter())
        .find(|r| {
            r["alert"].as_str() == Some(alert)
                && replica.is_none_or(|want| r["labels"]["replica"].as_str() == Some(want))
        })
        .unwrap_or_else(|| panic!("no rule {alert} {replica:?}"));
    let get = |k: &str| {
        rule["annotations"][k]
            .as_str()
            .expect("annotation")
            .to_owned()
    };
    (get("summary"), get("description"))
}

fn annotations(alerts: &str, alert: &str) -> (String, String) {
    annotations_of(alerts, alert, None)
}

/// Prometheus' `humanize1024` for the values these tests use.
fn humanize1024(mut v: f64) -> String {
    let mut prefix = "";
    for p in ["Ki", "Mi", "Gi", "Ti"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    // %.4g without an exponent: 4 significant digits, trailing zeros dropped.
    let int_digits = format!("{}", v.trunc() as u64).len();
    let text = format!("{:.*}", 4usize.saturating_sub(int_digits), v);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}{prefix}")
}

/// Expands the only template expressions the lag rules use.
fn expand(template: &str, slot: &str, value: f64) -> String {
    let out = template
        .replace("{{ $labels.application_name }}", slot)
        .replace("{{ $value | humanize1024 }}", &humanize1024(value))
        .replace("{{ $value | printf \"%.1f\" }}", &format!("{value:.1}"));
    assert!(!out.contains("{{"), "unexpected template in {template}");
    out
}

/// A promtool unit test: one replica row with `diff` bytes of lag while the
/// primary writes `rate` bytes/s, evaluated after the `for` duration.
struct LagCase {
    slot: String,
    diff: f64,
    rate: f64,
}

fn unit_test(
    spec: &TopologyFile,
    alerts: &Path,
    alerts_text: &str,
    cases: &[(LagCase, bool)],
) -> Json {
    let interval = spec.monitoring.scrape_interval.as_millis() / 1000;
    let for_secs = spec.monitoring.alerts.for_duration.as_millis() / 1000;
    // deriv() looks back at least 5 minutes; add the `for` and a margin.
    let eval = 300 + for_secs + 60;
    let samples = eval / interval + 10;
    let labels = |slot: &str| {
        json!({
            "application_name": slot,
            "client_addr": "10.0.0.2",
            "state": "streaming",
            "instance": "postgres-exporter:9187",
            "job": "postgres",
        })
    };
    let selector = |name: &str, slot: &str| {
        let l = labels(slot);
        let inner: Vec<String> = l
            .as_object()
            .expect("labels")
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().expect("str")))
            .collect();
        format!("{name}{{{}}}", inner.join(","))
    };
    let tests: Vec<Json> = cases
        .iter()
        .map(|(case, fires)| {
            let value_for = |alert: &str| match alert {
                "PostgresReplicationLagBytesCritical" | "PostgresReplicationLagBytesWarning" => {
                    case.diff
                }
                _ => case.diff / case.rate,
            };
            let rule_tests: Vec<Json> = [
                "PostgresReplicationLagCritical",
                "PostgresReplicationLagBytesCritical",
                "PostgresReplicationLagWarning",
                "PostgresReplicationLagBytesWarning",
            ]
            .iter()
            .map(|alert| {
                let severity = if alert.ends_with("Critical") { "critical" } else { "warning" };
                let exp = if *fires {
                    let (summary, description) = annotations(alerts_text, alert);
                    let mut l = labels(&case.slot);
                    l["severity"] = json!(severity);
                    let v = value_for(alert);
                    vec![json!({
                        "exp_labels": l,
                        "exp_annotations": {
                            "summary": expand(&summary, &case.slot, v),
                            "description": expand(&description, &case.slot, v),
                        },
                    })]
                } else {
                    vec![]
                };
                json!({ "eval_time": format!("{eval}s"), "alertname": alert, "exp_alerts": exp })
            })
            .collect();
            json!({
                "interval": format!("{interval}s"),
                "input_series": [
                    {
                        "series": selector("pg_stat_replication_pg_wal_lsn_diff", &case.slot),
                        "values": format!("{}x{samples}", case.diff),
                    },
                    {
                        "series": selector("pg_stat_replication_pg_current_wal_lsn_bytes", &case.slot),
                        "values": format!("0+{}x{samples}", case.rate * interval as f64),
                    },
                    {
                        "series": "pg_up{instance=\"postgres-exporter:9187\",job=\"postgres\"}",
                        "values": format!("1x{samples}"),
                    },
                ],
                "alert_rule_test": rule_tests,
            })
        })
        .collect();
    json!({
        "rule_files": [alerts.display().to_string()],
        "evaluation_interval": format!("{interval}s"),
        "tests": tests,
    })
}

fn run_unit_test(doc: &Json, dir: &Path) -> (bool, String) {
    let file = dir.join("lag-test.yml");
    std::fs::write(&file, serde_yaml_ng::to_string(doc).expect("yaml")).expect("write test");
    promtool(&["test", "rules"], &file)
}

#[test]
fn lag_alerts_fire_above_the_topology_thresholds_and_not_below() {
    for (t, target, bundle, spec) in monitored() {
        let w = write(&bundle);
        let alerts_text = &bundle.get(ALERTS).expect("alerts").contents;
        let lag = &spec.postgres.lag;
        let slot = pf_model::naming::slot_name(&pf_model::naming::postgres_instances(1)[1]);
        let mib = 1024.0 * 1024.0;
        // Twice the critical thresholds: 2x the bytes, and at 1 MiB/s of
        // WAL, 2x the critical time.
        let crit_secs = lag.critical.as_millis() as f64 / 1000.0;
        let above = LagCase {
            slot: slot.clone(),
            diff: (lag.critical_bytes.bytes() as f64 * 2.0).max(2.0 * crit_secs * mib),
            rate: 0.0,
        };
        let above = LagCase {
            rate: above.diff / (2.0 * crit_secs),
            ..above
        };
        // Half the warning thresholds, in bytes and in time.
        let warn_secs = lag.warning.as_millis() as f64 / 1000.0;
        let below_diff = lag.warning_bytes.bytes() as f64 / 2.0;
        let below = LagCase {
            slot: slot.clone(),
            diff: below_diff,
            rate: below_diff / (warn_secs / 2.0),
        };
        // The critical alerts need their own row; the warning ones fire too.
        let doc = unit_test(
            &spec,
            &w.alerts,
            alerts_text,
            &[(above, true), (below, false)],
        );
        let (ok, out) = run_unit_test(&doc, w.alerts.parent().expect("dir"));
        assert!(ok, "{t} ({target}): promtool test rules:\n{out}\n{doc:#}");
    }
}

#[test]
fn a_lag_unit_test_that_expects_silence_fails_when_the_alert_fires() {
    let (t, target, bundle, spec) = monitored().remove(0);
    let w = write(&bundle);
    let alerts_text = &bundle.get(ALERTS).expect("alerts").contents;
    let lag = &spec.postgres.lag;
    let diff = lag.critical_bytes.bytes() as f64 * 4.0;
    let case = LagCase {
        slot: "postgres_replica".into(),
        diff,
        rate: diff / 1.0e6,
    };
    let doc = unit_test(&spec, &w.alerts, alerts_text, &[(case, false)]);
    let (ok, out) = run_unit_test(&doc, w.alerts.parent().expect("dir"));
    assert!(
        !ok,
        "{t} ({target}): promtool missed an alert that fires:\n{out}"
    );
    assert!(out.contains("PostgresReplicationLagBytesCritical"), "{out}");
}

#[test]
fn a_replica_missing_from_pg_stat_replication_alerts() {
    for (t, target, bundle, spec) in monitored() {
        let w = write(&bundle);
        let alerts_text = &bundle.get(ALERTS).expect("alerts").contents;
        let interval = spec.monitoring.scrape_interval.as_millis() / 1000;
        let eval = spec.monitoring.alerts.for_duration.as_millis() / 1000 + 60;
        let samples = eval / interval + 5;
        let replicas = &pf_model::naming::postgres_instances(spec.postgres.replicas)[1..];
        assert!(!replicas.is_empty(), "{t} has replicas");
        // The first replica streams (when there are several); every other
        // one is missing and must alert, named by its own rule.
        let (streaming, missing) = if replicas.len() == 1 {
            ("some_other_standby".to_owned(), replicas)
        } else {
            (pf_model::naming::slot_name(&replicas[0]), &replicas[1..])
        };
        let exp: Vec<Json> = missing
            .iter()
            .map(|r| {
                let (summary, description) =
                    annotations_of(alerts_text, "PostgresReplicaNotStreaming", Some(r));
                json!({
                    "exp_labels": {
                        "application_name": pf_model::naming::slot_name(r),
                        "replica": r,
                        "severity": "critical",
                    },
                    "exp_annotations": { "summary": summary, "description": description },
                })
            })
            .collect();
        let doc = json!({
            "rule_files": [w.alerts.display().to_string()],
            "evaluation_interval": format!("{interval}s"),
            "tests": [{
                "interval": format!("{interval}s"),
                "input_series": [
                    {
                        "series": format!(
                            "pg_stat_replication_pg_wal_lsn_diff{{application_name=\"{streaming}\",job=\"postgres\"}}"
                        ),
                        "values": format!("0x{samples}"),
                    },
                    { "series": "pg_up{job=\"postgres\"}", "values": format!("1x{samples}") },
                ],
                "alert_rule_test": [{
                    "eval_time": format!("{eval}s"),
                    "alertname": "PostgresReplicaNotStreaming",
                    "exp_alerts": exp,
                }],
            }],
        });
        let (ok, out) = run_unit_test(&doc, w.alerts.parent().expect("dir"));
        assert!(ok, "{t} ({target}): promtool test rules:\n{out}\n{doc:#}");
    }
}

/// An invalidated slot (`wal_status = lost`, postgres_exporter's
/// `pg_replication_slot_wal_status`) alerts as critical, named by its slot;
/// a slot that keeps its WAL does not.
#[test]
fn an_invalidated_replication_slot_alerts() {
    for (t, target, bundle, spec) in monitored() {
        if spec.postgres.max_slot_wal_keep_size.is_none() {
            continue;
        }
        let w = write(&bundle);
        let alerts_text = &bundle.get(ALERTS).expect("alerts").contents;
        let interval = spec.monitoring.scrape_interval.as_millis() / 1000;
        let eval = spec.monitoring.alerts.for_duration.as_millis() / 1000 + 60;
        let samples = eval / interval + 5;
        let (summary, description) = annotations(alerts_text, "PostgresReplicationSlotLost");
        let expand = |s: &str| s.replace("{{ $labels.slot_name }}", "postgres_2");
        let series = |slot: &str, status: &str| {
            json!({
                "series": format!(
                    "pg_replication_slot_wal_status{{job=\"postgres\",slot_name=\"{slot}\",slot_type=\"physical\",wal_status=\"{status}\"}}"
                ),
                "values": format!("1x{samples}"),
            })
        };
        let doc = json!({
            "rule_files": [w.alerts.display().to_string()],
            "evaluation_interval": format!("{interval}s"),
            "tests": [{
                "interval": format!("{interval}s"),
                "input_series": [series("postgres_2", "lost"), series("postgres_3", "reserved")],
                "alert_rule_test": [
                    {
                        "eval_time": format!("{eval}s"),
                        "alertname": "PostgresReplicationSlotLost",
                        "exp_alerts": [{
                            "exp_labels": {
                                "job": "postgres",
                                "slot_name": "postgres_2",
                                "slot_type": "physical",
                                "wal_status": "lost",
                                "severity": "critical",
                            },
                            "exp_annotations": {
                                "summary": expand(&summary),
                                "description": expand(&description),
                            },
                        }],
                    },
                    {
                        "eval_time": format!("{eval}s"),
                        "alertname": "PostgresReplicationSlotUnreserved",
                        "exp_alerts": [],
                    },
                ],
            }],
        });
        let (ok, out) = run_unit_test(&doc, w.alerts.parent().expect("dir"));
        assert!(ok, "{t} ({target}): promtool test rules:\n{out}\n{doc:#}");
    }
}

const ALERTMANAGER: &str = "monitoring/alertmanager.yml";

fn amtool(file: &Path) -> (bool, String) {
    let (ok, out, err) = support::run(
        Command::new(support::tool("amtool"))
            .args(["check-config"])
            .arg(file),
    );
    (ok, format!("{out}{err}"))
}

#[test]
fn amtool_accepts_every_alertmanager_config_and_rejects_a_broken_one() {
    let mut checked = 0;
    for (t, target, bundle, spec) in monitored() {
        let Some(am) = bundle.get(ALERTMANAGER) else {
            assert!(
                spec.monitoring.alertmanager.is_none(),
                "{t}: config missing"
            );
            continue;
        };
        let settings = spec.monitoring.alertmanager.as_ref().expect("settings");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, &am.contents).expect("write");
        let (ok, out) = amtool(&file);
        assert!(ok, "{t} ({target}): amtool check-config:\n{out}");
        assert!(
            out.contains(&format!("{} receivers", settings.receivers.len() + 1)),
            "{t}: every receiver and the unrouted one:\n{out}"
        );
        // Webhook URLs are read from the secrets, never written.
        for r in &settings.receivers {
            assert!(
                am.contents
                    .contains(&format!("url_file: /run/secrets/{}", r.webhook_url_secret))
            );
        }
        assert!(!am.contents.contains("url:"), "{t}: a URL is written");
        // Prometheus sends its alerts there.
        let prom = &bundle.get(PROMETHEUS).expect("prometheus.yml").contents;
        assert!(prom.contains("alerting:\n  alertmanagers:\n  - static_configs:\n    - targets:\n      - alertmanager:9093"), "{prom}");
        let broken = am
            .contents
            .replacen("receiver: unrouted", "receiver: nobody", 1);
        assert_ne!(broken, am.contents);
        std::fs::write(&file, broken).expect("write");
        let (ok, out) = amtool(&file);
        assert!(!ok, "{t}: amtool accepted an undefined receiver:\n{out}");
        checked += 1;
    }
    assert!(checked >= 4, "prod and the large example, both targets");
}

#[test]
fn dashboards_are_json_and_every_query_is_promql() {
    let mut checked = 0;
    for (t, target, bundle, spec) in monitored() {
        let dashboards: Vec<_> = bundle
            .artifacts()
            .iter()
            .filter(|a| a.path.starts_with("monitoring/dashboards/"))
            .collect();
        if !spec.monitoring.grafana {
            assert!(dashboards.is_empty(), "{t}: dashboards without Grafana");
            continue;
        }
        let tiers: Vec<&str> = dashboards
            .iter()
            .map(|a| a.path.trim_start_matches("monitoring/dashboards/"))
            .collect();
        assert_eq!(
            tiers,
            ["apps.json", "nginx.json", "postgres.json", "redis.json"]
        );
        let provider = &bundle
            .get("monitoring/grafana-dashboards.yml")
            .expect("provider")
            .contents;
        let provider: Yaml = serde_yaml_ng::from_str(provider).expect("provider yaml");
        assert_eq!(
            provider["providers"][0]["options"]["path"],
            Yaml::from("/etc/grafana/dashboards")
        );
        let datasource: Yaml =
            serde_yaml_ng::from_str(&bundle.get(GRAFANA).expect("ds").contents).expect("yaml");
        let uid = datasource["datasources"][0]["uid"]
            .as_str()
            .expect("uid")
            .to_owned();
        let mut uids = std::collections::BTreeSet::new();
        let mut rules = Vec::new();
        for a in &dashboards {
            let doc: Json = serde_json::from_str(&a.contents)
                .unwrap_or_else(|e| panic!("{t}: {} is not JSON: {e}", a.path));
            assert!(
                uids.insert(doc["uid"].as_str().expect("uid").to_owned()),
                "{t}: uids unique"
            );
            let panels = doc["panels"].as_array().expect("panels");
            assert!(!panels.is_empty(), "{t}: {} has panels", a.path);
            for p in panels {
                assert_eq!(p["datasource"]["uid"], json!(uid), "{t}: {}", a.path);
                for target in p["targets"].as_array().expect("targets") {
                    let expr = target["expr"].as_str().expect("expr");
                    rules.push(
                        json!({ "record": format!("dashboard:q{}", rules.len()), "expr": expr }),
                    );
                }
            }
        }
        // Every query through Prometheus' own parser.
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("queries.yml");
        let doc = json!({ "groups": [{ "name": "dashboards", "rules": rules }] });
        std::fs::write(&file, serde_yaml_ng::to_string(&doc).expect("yaml")).expect("write");
        let (ok, out) = promtool(&["check", "rules"], &file);
        assert!(
            ok,
            "{t} ({target}): a dashboard query is not PromQL:\n{out}"
        );
        checked += 1;
    }
    assert!(checked >= 4);
}

/// Runs `promtool test rules` on one test group over the bundle's rules.
fn rule_test(alerts: &Path, interval: u64, series: Json, checks: Json) -> (bool, String) {
    let doc = json!({
        "rule_files": [alerts.display().to_string()],
        "evaluation_interval": format!("{interval}s"),
        "tests": [{
            "interval": format!("{interval}s"),
            "input_series": series,
            "alert_rule_test": checks,
        }],
    });
    run_unit_test(&doc, alerts.parent().expect("dir"))
}

/// After a Sentinel failover the exporters follow the roles: the node that
/// is master now is named, two masters page, a quiet group stays quiet.
#[test]
fn redis_role_alerts_follow_the_failover() {
    for (t, target, bundle, spec) in monitored() {
        let w = write(&bundle);
        let interval = spec.monitoring.scrape_interval.as_secs_ceil();
        let eval = spec.monitoring.alerts.for_duration.as_secs_ceil() + 60;
        let n = eval / interval + 5;
        let nodes = pf_model::naming::redis_instances(spec.redis.replicas);
        let info = |member: &str, role: &str| {
            json!({
                "series": format!("redis_instance_info{{job=\"redis\",member=\"{member}\",instance=\"{member}-exporter:9121\",role=\"{role}\"}}"),
                "values": format!("1x{n}"),
            })
        };
        // Failed over: the first replica is master, the old master a replica.
        let series = json!([info(&nodes[1], "master"), info(&nodes[0], "slave")]);
        let moved = json!([{
            "eval_time": format!("{eval}s"),
            "alertname": "RedisMasterMoved",
            "exp_alerts": [{
                "exp_labels": {
                    "job": "redis", "member": nodes[1], "instance": format!("{}-exporter:9121", nodes[1]),
                    "role": "master", "severity": "warning",
                },
                "exp_annotations": {
                    "summary": format!("Sentinel moved the Redis master to {}", nodes[1]),
                    "description": annotations(&bundle.get(ALERTS).expect("alerts").contents, "RedisMasterMoved").1
                        .replace("{{ $labels.member }}", &nodes[1]),
                },
            }],
        }, {
            "eval_time": format!("{eval}s"), "alertname": "RedisSeveralMasters", "exp_alerts": [],
        }, {
            "eval_time": format!("{eval}s"), "alertname": "RedisNoMaster", "exp_alerts": [],
        }]);
        let (ok, out) = rule_test(&w.alerts, interval, series, moved);
        assert!(ok, "{t} ({target}): after a failover:\n{out}");
        // The old master came back as a master too.
        let series = json!([info(&nodes[1], "master"), info(&nodes[0], "master")]);
        let two = json!([{
            "eval_time": format!("{eval}s"),
            "alertname": "RedisSeveralMasters",
            "exp_alerts": [{
                "exp_labels": { "severity": "critical" },
                "exp_annotations": {
                    "summary": "2 Redis nodes report the master role",
                    "description": annotations(&bundle.get(ALERTS).expect("alerts").contents, "RedisSeveralMasters").1,
                },
            }],
        }]);
        let (ok, out) = rule_test(&w.alerts, interval, series, two);
        assert!(ok, "{t} ({target}): two masters:\n{out}");
    }
}

#[test]
fn postgres_alerts_page_for_two_primaries_and_for_none() {
    for (t, target, bundle, spec) in monitored() {
        let w = write(&bundle);
        let alerts = &bundle.get(ALERTS).expect("alerts").contents;
        let interval = spec.monitoring.scrape_interval.as_secs_ceil();
        let eval = spec.monitoring.alerts.for_duration.as_secs_ceil() + 60;
        let n = eval / interval + 5;
        let members = pf_model::naming::postgres_instances(spec.postgres.replicas);
        let role = |member: &str, replica: u8| {
            json!({
                "series": format!("pg_replication_is_replica{{job=\"postgres\",member=\"{member}\"}}"),
                "values": format!("{replica}x{n}"),
            })
        };
        let check = |alert: &str, fires: bool, summary: &str| {
            json!({
                "eval_time": format!("{eval}s"),
                "alertname": alert,
                "exp_alerts": if fires { json!([{
                    "exp_labels": { "severity": "critical" },
                    "exp_annotations": { "summary": summary, "description": annotations(alerts, alert).1 },
                }]) } else { json!([]) },
            })
        };
        // A promoted replica and the old primary back: two writers.
        let series = json!([role(&members[0], 0), role(&members[1], 0)]);
        let (ok, out) = rule_test(
            &w.alerts,
            interval,
            series,
            json!([
                check(
                    "PostgresSeveralPrimaries",
                    true,
                    "2 PostgreSQL members accept writes"
                ),
                check("PostgresNoPrimary", false, ""),
            ]),
        );
        assert!(ok, "{t} ({target}): two primaries:\n{out}");
        // Every member a standby: nobody takes writes.
        let series = json!([role(&members[0], 1), role(&members[1], 1)]);
        let (ok, out) = rule_test(
            &w.alerts,
            interval,
            series,
            json!([
                check(
                    "PostgresNoPrimary",
                    true,
                    "No PostgreSQL member is a primary"
                ),
                check("PostgresSeveralPrimaries", false, ""),
            ]),
        );
        assert!(ok, "{t} ({target}): no primary:\n{out}");
        // The initial layout is quiet.
        let series = json!([role(&members[0], 0), role(&members[1], 1)]);
        let (ok, out) = rule_test(
            &w.alerts,
            interval,
            series,
            json!([
                check("PostgresNoPrimary", false, ""),
                check("PostgresSeveralPrimaries", false, ""),
            ]),
        );
        assert!(ok, "{t} ({target}): a healthy cluster alerts:\n{out}");
    }
}

/// Two nginx processes (two load balancer tasks) run the bundle's
/// monitoring block and metrics handler; each reports its own counters,
/// in the exposition format promtool reads, with proxied responses counted
/// by upstream and status class.
#[test]
fn every_nginx_task_serves_its_own_metrics() {
    use std::io::{Read, Write};
    let bundle = support::render("topologies/prod.toml", Target::Compose);
    let conf = &bundle
        .get("nginx/load-balancer.conf")
        .expect("conf")
        .contents;
    let start = conf
        .find("    # ---- monitoring")
        .expect("monitoring block");
    let end = conf
        .find("    # ---- end of monitoring")
        .expect("end of block");
    let block: String = conf[start..end]
        .lines()
        // The UIs' upstreams need Docker's DNS; the handler does not.
        .take_while(|l| !l.trim_start().starts_with("upstream "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(conf.contains("location = /metrics {\n            js_content pfmetrics.metrics;"));
    let module =
        support::root().join(".tools/nginx-root/usr/lib/nginx/modules/ngx_http_js_module.so");
    assert!(
        module.is_file(),
        "{} missing: run scripts/install-test-tools.sh",
        module.display()
    );
    // An app that answers 500 on /api/fail and 200 elsewhere.
    let app = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let app_port = app.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in app.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).unwrap_or(0);
            let status = if String::from_utf8_lossy(&buf[..n]).starts_with("GET /api/fail") {
                "500 Oops"
            } else {
                "200 OK"
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("a")
            .port()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("metrics.js"),
        &bundle.get("nginx/metrics.js").expect("js").contents,
    )
    .expect("write");
    let mut tasks = Vec::new();
    for i in 0..2 {
        let d = dir.path().join(format!("task{i}"));
        std::fs::create_dir(&d).expect("mkdir");
        let (web, status) = (free(), free());
        let block = block.replace(
            "/etc/nginx/metrics.js",
            &dir.path().join("metrics.js").display().to_string(),
        );
        let text = format!(
            "load_module {module};\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n\
             client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
             {block}\n    upstream backend {{ server 127.0.0.1:{app_port}; }}\n\
             server {{ listen 127.0.0.1:{web}; location /api {{ proxy_pass http://backend; }} location / {{ return 404; }} }}\n\
             server {{ listen 127.0.0.1:{status}; allow 127.0.0.1/32; deny all;\n\
             location = /nginx_status {{ stub_status; }}\n location = /metrics {{ js_content pfmetrics.metrics; }} }}\n}}\n",
            module = module.display(),
            d = d.display(),
        );
        let path = d.join("nginx.conf");
        std::fs::write(&path, text).expect("write conf");
        let (ok, out, err) = support::run(
            Command::new(support::tool("nginx"))
                .arg("-p")
                .arg(&d)
                .arg("-c")
                .arg(&path),
        );
        assert!(ok, "nginx {i} did not start: {out}{err}");
        tasks.push((d, web, status));
    }
    let get = |port: u16, path: &str| -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    };
    // Task 0: three successes and one app error; task 1: one success.
    for path in ["/api/a", "/api/b", "/api/c", "/api/fail"] {
        assert!(get(tasks[0].1, path).starts_with("HTTP/1.1"));
    }
    get(tasks[1].1, "/api/a");
    get(tasks[1].1, "/nothing");
    let metrics: Vec<String> = tasks
        .iter()
        .map(|(_, _, status)| {
            let reply = get(*status, "/metrics");
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
            reply.split_once("\r\n\r\n").expect("body").1.to_owned()
        })
        .collect();
    for (d, _, _) in &tasks {
        let _ = support::run(
            Command::new(support::tool("nginx"))
                .arg("-p")
                .arg(d)
                .arg("-c")
                .arg(d.join("nginx.conf"))
                .args(["-s", "stop"]),
        );
    }
    assert!(
        metrics[0]
            .contains("nginx_upstream_responses_total{upstream=\"backend\",code=\"2xx\"} 3\n"),
        "{}",
        metrics[0]
    );
    assert!(
        metrics[0]
            .contains("nginx_upstream_responses_total{upstream=\"backend\",code=\"5xx\"} 1\n"),
        "{}",
        metrics[0]
    );
    assert!(
        metrics[1]
            .contains("nginx_upstream_responses_total{upstream=\"backend\",code=\"2xx\"} 1\n"),
        "{}",
        metrics[1]
    );
    assert!(
        !metrics[1].contains("code=\"5xx\""),
        "task 1 counts only its own: {}",
        metrics[1]
    );
    assert!(
        !metrics[1].contains("code=\"4xx\""),
        "unproxied requests are not counted: {}",
        metrics[1]
    );
    for m in &metrics {
        let file = dir.path().join("m.txt");
        std::fs::write(&file, m).expect("write");
        let (_, out, err) = support::run(Command::new("sh").arg("-c").arg(format!(
            "{} check metrics < {}",
            support::tool("promtool").display(),
            file.display()
        )));
        // The only lint promtool has: nginx-prometheus-exporter's names,
        // kept for familiarity, lack `_total`. Parse errors would show here.
        for line in format!("{out}{err}")
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            assert!(
                line.contains("should have \"_total\" suffix"),
                "promtool check metrics: {line}"
            );
        }
    }
}
