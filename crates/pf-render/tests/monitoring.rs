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
