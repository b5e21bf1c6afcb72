//! Secrets in the environment (catalog check 26).

use super::{Stack, Svc};
use crate::rules::Rule;
use crate::source::FileCx;
use crate::yaml::Pos;

/// Options whose value is a secret (`--requirepass`, `--password=`).
const SECRET_FLAGS: &[&str] = &[
    "requirepass",
    "masterauth",
    "password",
    "passwd",
    "pass",
    "secret",
    "token",
    "api-key",
    "apikey",
];

pub(super) fn check(cx: &mut FileCx<'_>, stack: &Stack<'_>) {
    for svc in &stack.services {
        for (name, value, pos) in environment(svc) {
            secret(cx, svc, name, value, pos);
            url(cx, svc, name, value, pos);
        }
        command(cx, svc);
    }
}

fn command(cx: &mut FileCx<'_>, svc: &Svc<'_>) {
    for key in ["command", "entrypoint"] {
        let Some(node) = svc.node.get(key) else {
            continue;
        };
        let words: Vec<(&str, Pos)> = node
            .strings()
            .into_iter()
            .flat_map(|(s, p)| s.split_whitespace().map(move |w| (w, p)))
            .collect();
        for (i, (word, pos)) in words.iter().enumerate() {
            let Some(flag) = word.strip_prefix('-') else {
                continue;
            };
            let flag = flag.trim_start_matches('-');
            let (flag, value) = match flag.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (flag, words.get(i + 1).map(|(w, _)| *w)),
            };
            let literal = value.is_some_and(|v| {
                !v.is_empty()
                    && !v.starts_with('-')
                    && !v.starts_with('$')
                    && !v.starts_with("/run/secrets/")
            });
            if SECRET_FLAGS.contains(&flag.to_ascii_lowercase().as_str()) && literal {
                svc.report(
                    cx,
                    Rule::SecretInCommand,
                    *pos,
                    key,
                    format!("`{}` passes `--{flag}` a literal value in its {key}", svc.name),
                    "read the value from a secret file inside the container (an entrypoint that reads /run/secrets/<name>)",
                );
            }
        }
    }
}

/// `(name, value, position)` of every variable, in map or list form.
fn environment<'a>(svc: &Svc<'a>) -> Vec<(&'a str, &'a str, Pos)> {
    let Some(env) = svc.node.get("environment") else {
        return Vec::new();
    };
    if env.is_map() {
        return env
            .entries()
            .iter()
            .filter_map(|(k, v)| {
                let name = k.as_str()?;
                Some((name, v.as_str().unwrap_or_default(), k.pos))
            })
            .collect();
    }
    env.items()
        .iter()
        .filter_map(|i| {
            let s = i.as_str()?;
            let (name, value) = s.split_once('=').unwrap_or((s, ""));
            Some((name, value, i.pos))
        })
        .collect()
}

fn secret(cx: &mut FileCx<'_>, svc: &Svc<'_>, name: &str, value: &str, pos: Pos) {
    // The rule pf-model applies to topologies, so a valid topology's
    // bundle never fails here.
    if !pf_diag::secret_like::name_looks_secret(name)
        || value.trim().is_empty()
        || value.starts_with("/run/secrets/")
    {
        return;
    }
    let interpolated = value.trim_start().starts_with('$');
    svc.report(
        cx,
        Rule::SecretInEnvironment,
        pos,
        &format!("environment.{name}"),
        if interpolated {
            format!("`{name}` passes a secret through the environment (visible in `docker inspect`)")
        } else {
            format!("`{name}` holds a literal secret value in the file")
        },
        format!(
            "declare a Docker secret, list it under the service's `secrets`, and set `{name}_FILE=/run/secrets/<name>` if the image reads it"
        ),
    );
}

fn url(cx: &mut FileCx<'_>, svc: &Svc<'_>, name: &str, value: &str, pos: Pos) {
    if !pf_diag::secret_like::url_has_password(value) {
        return;
    }
    svc.report(
        cx,
        Rule::CredentialsInUrl,
        pos,
        &format!("environment.{name}"),
        format!("`{name}` is a URL with a password in it"),
        "drop the password from the URL and give it to the application as a secret file",
    );
}

#[cfg(test)]
mod tests {
    use crate::Target;
    use crate::stack::tests::{has, lint_stack};

    #[test]
    fn secrets_in_environment_in_both_forms() {
        let r = lint_stack(
            "services:\n  a:\n    image: x:1\n    environment:\n      - DB_PASSWORD=hunter2\n      - TOKEN_FILE=/run/secrets/t\n      - API_KEY=${API_KEY}\n  b:\n    image: x:1\n    environment:\n      SECRET_KEY: abc\n      URL: postgres://u:p@db/x\n      PLAIN: postgres://u@db/x\n",
            Target::Compose,
        );
        assert!(has(&r, "env-secret-value", 5));
        assert!(!has(&r, "env-secret-value", 6));
        assert!(has(&r, "env-secret-value", 7));
        assert!(has(&r, "env-secret-value", 11));
        assert!(has(&r, "credentials-in-url", 12));
        assert!(!has(&r, "credentials-in-url", 13));
    }

    #[test]
    fn passwords_on_the_command_line() {
        let r = lint_stack(
            "services:\n  r:\n    image: redis:7.4\n    command: redis-server --requirepass hunter2\n  s:\n    image: x:1\n    command: [\"app\", \"--password=$$(cat /run/secrets/p)\", \"--token\", \"abc\"]\n",
            Target::Compose,
        );
        assert!(has(&r, "secret-in-command", 4));
        assert_eq!(
            r.findings
                .iter()
                .filter(|f| f.code.name() == "secret-in-command")
                .count(),
            2,
            "{}",
            r.to_human()
        );
    }
}
