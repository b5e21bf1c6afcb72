//! Secrets: declared, used, and never disguised as plain variables.

use std::collections::BTreeSet;

use super::Finding;
use crate::codes::Code;
use crate::model::{SecretsAs, TopologyFile};
use crate::secret_like::{name_looks_secret, url_has_password};
use crate::units::SecretName;

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let mut used: BTreeSet<&SecretName> = BTreeSet::new();
    let mut refs: Vec<(String, &SecretName)> = Vec::new();
    if let Some(tls) = &file.load_balancer.tls {
        refs.push((
            "load-balancer.tls.certificate-secret".into(),
            &tls.certificate_secret,
        ));
        refs.push(("load-balancer.tls.key-secret".into(), &tls.key_secret));
    }
    refs.push((
        "postgres.password-secret".into(),
        &file.postgres.password_secret,
    ));
    refs.push((
        "postgres.replication-password-secret".into(),
        &file.postgres.replication_password_secret,
    ));
    refs.push(("redis.password-secret".into(), &file.redis.password_secret));
    if let Some(grafana) = file
        .monitoring
        .grafana_admin_password_secret
        .as_ref()
        .filter(|_| file.monitoring.grafana)
    {
        refs.push(("monitoring.grafana-admin-password-secret".into(), grafana));
    }
    if file.monitoring.prometheus {
        if let Some(htpasswd) = &file.monitoring.web_htpasswd_secret {
            refs.push(("monitoring.web-htpasswd-secret".into(), htpasswd));
        }
        for (i, r) in file
            .monitoring
            .alertmanager
            .iter()
            .flat_map(|a| a.receivers.iter())
            .enumerate()
        {
            refs.push((
                format!("monitoring.alertmanager.receivers[{i}].webhook-url-secret"),
                &r.webhook_url_secret,
            ));
        }
    }
    for (i, svc) in file.services.iter().enumerate() {
        for (j, s) in svc.secrets.iter().enumerate() {
            refs.push((format!("services[{i}].secrets[{j}]"), s));
        }
    }
    for (path, name) in &refs {
        used.insert(name);
        if !file.secrets.contains_key(*name) {
            let declared: Vec<&str> = file.secrets.keys().map(|k| k.as_str()).collect();
            let help = match pf_diag::closest(name.as_str(), &declared) {
                Some(near) => format!(
                    "did you mean `{near}`? otherwise add `{name} = \"what it holds\"` under `[secrets]`"
                ),
                None => format!("add `{name} = \"what it holds\"` under `[secrets]`"),
            };
            out.push(Finding::new(
                Code::UndeclaredSecret,
                path.clone(),
                format!("secret `{name}` is not declared"),
                help,
            ));
        }
    }
    for (name, description) in &file.secrets {
        if let Some(c) = crate::units::first_unsafe_in_line(description) {
            out.push(Finding::new(
                Code::InvalidDescription,
                format!("secrets.{name}"),
                format!(
                    "the description of secret `{name}` holds {}, so it is not one line of text",
                    c.escape_unicode()
                ),
                "describe the secret in one line, without line breaks, control or bidirectional characters",
            ));
        }
    }
    for (name, version) in &file.secret_versions {
        if !file.secrets.contains_key(name) {
            out.push(Finding::new(
                Code::UndeclaredSecret,
                format!("secret-versions.{name}"),
                format!("secret `{name}` has a version but is not declared"),
                "declare it under `[secrets]`, or remove its version",
            ));
        }
        if !(1..=9999).contains(version) {
            out.push(Finding::new(
                Code::OutOfRange,
                format!("secret-versions.{name}"),
                format!("version {version} of secret `{name}` is not between 1 and 9999"),
                "number the versions of a secret from 1",
            ));
        }
    }
    for name in file.secrets.keys() {
        if !used.contains(name) {
            out.push(Finding::new(
                Code::UnusedSecret,
                format!("secrets.{name}"),
                format!("secret `{name}` is declared but not used"),
                "remove it, or list it in the `secrets` of the service that needs it",
            ));
        }
    }
    if file.postgres.password_secret == file.postgres.replication_password_secret {
        out.push(Finding::new(
            Code::SharedPasswordSecret,
            "postgres.replication-password-secret",
            format!(
                "the owner and the replication role share the secret `{}`",
                file.postgres.password_secret
            ),
            "declare a separate secret for the replication role",
        ));
    }
    for (i, svc) in file.services.iter().enumerate() {
        for (name, value) in &svc.environment {
            if name_looks_secret(name) {
                out.push(Finding::new(
                    Code::SecretInEnvironment,
                    format!("services[{i}].environment.{name}"),
                    format!("`{name}` looks like a secret but is a plain environment variable"),
                    format!(
                        "declare it under `[secrets]`, list it in `services[{i}].secrets`, and read the file named by `{name}_FILE`"
                    ),
                ));
            } else if url_has_password(value) {
                out.push(Finding::new(
                    Code::PasswordInUrl,
                    format!("services[{i}].environment.{name}"),
                    format!("`{name}` is a URL with a password in it"),
                    format!(
                        "drop the password from the URL, declare it under `[secrets]` and list it in `services[{i}].secrets`: the app reads it from the file named by `<SECRET>_FILE`"
                    ),
                ));
            }
        }
    }
    for (i, svc) in file.services.iter().enumerate() {
        let has_secrets = !svc.secrets.is_empty() || !svc.connects_to.is_empty();
        if svc.secrets_as == SecretsAs::Env && has_secrets && svc.command.is_empty() {
            out.push(Finding::new(
                Code::SecretsAsEnvWithoutCommand,
                format!("services[{i}].name"),
                format!(
                    "`{}` gets its secrets as environment variables through a shim, which must then run the image's own command, but `command` is not set",
                    svc.name
                ),
                "set `command` (and `entrypoint`, if the image has one) to the image's own (`docker image inspect`), or `secrets-as = \"file\"` if the app reads `<NAME>_FILE`",
            ));
        }
    }
}
