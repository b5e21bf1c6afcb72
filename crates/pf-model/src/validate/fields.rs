//! Field rules declared with `#[validate(...)]` (ranges, lengths), turned
//! into findings with the key path as written in TOML.

use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use super::Finding;
use crate::codes::Code;
use crate::model::TopologyFile;

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    if let Err(errors) = file.validate() {
        walk(&errors, "", out);
    }
    not_a_number(file, out);
}

/// TOML has `nan`, and NaN compares false with every bound, so the range
/// rules above let it through (infinities fail them). Every fraction of
/// the model is checked here, with its range for the help.
fn not_a_number(file: &TopologyFile, out: &mut Vec<Finding>) {
    let fractions = [
        ("capacity.headroom", file.capacity.headroom, "0 to 0.9"),
        (
            "rollout.max-failure-ratio",
            file.rollout.max_failure_ratio,
            "0 to 1",
        ),
        (
            "monitoring.alerts.resource-usage",
            file.monitoring.alerts.resource_usage,
            "0.1 to 1",
        ),
    ];
    for (path, value, range) in fractions {
        if value.is_nan() {
            let key = path.rsplit('.').next().unwrap_or(path);
            out.push(Finding::new(
                Code::OutOfRange,
                path,
                format!("`{key}` is not a number (nan)"),
                format!("use a number from {range}"),
            ));
        }
    }
}

fn walk(errors: &ValidationErrors, prefix: &str, out: &mut Vec<Finding>) {
    let mut fields: Vec<_> = errors.errors().iter().collect();
    // HashMap order is random; sort so diagnostics are deterministic.
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (field, kind) in fields {
        // Rust field names are snake_case; the file uses kebab-case.
        let key = field.replace('_', "-");
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match kind {
            ValidationErrorsKind::Struct(inner) => walk(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    walk(inner, &format!("{path}[{i}]"), out);
                }
            }
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(finding(&path, &key, e));
                }
            }
        }
    }
}

fn finding(path: &str, key: &str, e: &validator::ValidationError) -> Finding {
    let param = |name: &str| e.params.get(name).map(ToString::to_string);
    let bounds = match (param("min"), param("max")) {
        (Some(min), Some(max)) => format!("from {min} to {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "within its allowed range".to_owned(),
    };
    match e.code.as_ref() {
        "length" => {
            let shown = param("value")
                .map(|v| format!(" ({} long)", length_of(&v)))
                .unwrap_or_default();
            Finding::new(
                Code::BadLength,
                path,
                format!("`{key}` has the wrong length{shown}"),
                format!("its length must be {bounds}"),
            )
        }
        _ => {
            let value = param("value").unwrap_or_default();
            Finding::new(
                Code::OutOfRange,
                path,
                format!("`{key}` = {value} is out of range"),
                format!("use a value {bounds}"),
            )
        }
    }
}

/// The length validator puts the whole value in its params; count what it holds.
fn length_of(json: &str) -> usize {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Array(a)) => a.len(),
        Ok(serde_json::Value::String(s)) => s.chars().count(),
        _ => 0,
    }
}
