//! The entrypoint shim of each app service with `secrets-as = "env"`: it
//! exports every secret from its file and the PostgreSQL URLs with the
//! password, at start, then runs the service's own program. The plan
//! decides which variables; this writes them down.

use serde::Serialize;

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;

#[derive(Serialize)]
struct Ctx<'a> {
    app: &'a str,
    variables: &'a [String],
    urls: &'a [String],
    /// `$POSTGRES_PASSWORD`, when URLs get the password.
    url_password: String,
    exports: Vec<Export>,
    url_exports: Vec<Export>,
}

/// `NAME=...` from a value the shell expands at start.
#[derive(Serialize)]
struct Export {
    name: String,
    /// `${NAME_FILE:?NAME_FILE is not set}`: fails loudly when unset.
    from: String,
}

fn required(var: &str) -> String {
    format!("${{{var}:?{var} is not set}}")
}

pub(crate) fn emit(cx: &Cx<'_>, bundle: &mut Bundle) -> Result<(), RenderError> {
    for app in &cx.plan.apps {
        let Some(shim) = &app.secrets_env else {
            continue;
        };
        let ctx = Ctx {
            app: &app.name,
            variables: &shim.variables,
            urls: &shim.urls,
            url_password: shim
                .url_password
                .as_ref()
                .map(|v| format!("${v}"))
                .unwrap_or_default(),
            exports: shim
                .variables
                .iter()
                .map(|v| Export {
                    name: v.clone(),
                    from: required(&format!("{v}_FILE")),
                })
                .collect(),
            url_exports: shim
                .urls
                .iter()
                .map(|u| Export {
                    name: u.clone(),
                    from: required(u),
                })
                .collect(),
        };
        let text = crate::templates::render("apps/secrets-env.sh", &ctx)?;
        bundle.add(&shim.file.artifact, &text);
    }
    Ok(())
}
