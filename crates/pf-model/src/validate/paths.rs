//! Routes and health paths: absolute URL paths by RFC 3986, so nginx's
//! `location`, the health checks and the scripts read them as one word
//! that means what it says.

use std::collections::HashMap;

use super::Finding;
use crate::codes::Code;
use crate::model::TopologyFile;

pub(super) fn check(file: &TopologyFile, out: &mut Vec<Finding>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, svc) in file.services.iter().enumerate() {
        for (key, value, query) in [
            ("route", &svc.route, false),
            ("health-path", &svc.health_path, true),
        ] {
            if let Err(why) = url_path(value, query) {
                out.push(Finding::new(
                    Code::InvalidPath,
                    format!("services[{i}].{key}"),
                    format!("`{value}` is not an absolute URL path: {why}"),
                    if query {
                        "write `/` and then letters, digits, `-._~!&()*+,=:@/` or `%XX`, optionally `?` and a query of the same characters: `/api/health?probe=1`"
                    } else {
                        "write `/` and then letters, digits, `-._~!&()*+,=:@/` or `%XX`: `/api`"
                    },
                ));
            }
        }
        // `/api` and `/api/` are the same nginx location prefix for our purposes.
        let normalized = format!("{}/", svc.route.trim_end_matches('/'));
        if let Some(ui) = monitoring_web(file).into_iter().find(|ui| {
            normalized.starts_with(ui) || (ui.starts_with(&normalized) && normalized != "/")
        }) {
            out.push(Finding::new(
                Code::DuplicateRoute,
                format!("services[{i}].route"),
                format!(
                    "route `{}` overlaps `{ui}`, where the load balancer serves monitoring (`monitoring.web-htpasswd-secret`)",
                    svc.route
                ),
                "give the service another URL prefix",
            ));
        }
        if let Some(first) = seen.insert(normalized, i) {
            out.push(Finding::new(
                Code::DuplicateRoute,
                format!("services[{i}].route"),
                format!(
                    "route `{}` is already served by `{}`",
                    svc.route, file.services[first].name
                ),
                "give each service its own URL prefix",
            ));
        }
    }
}

/// The URL prefixes the load balancer gives monitoring UIs, when it
/// serves them (`monitoring.web-htpasswd-secret`).
pub(crate) fn monitoring_web(file: &TopologyFile) -> Vec<&'static str> {
    let m = &file.monitoring;
    if !m.prometheus || m.web_htpasswd_secret.is_none() {
        return Vec::new();
    }
    let mut out = vec![crate::naming::PROMETHEUS_PATH];
    if m.alertmanager.is_some() {
        out.push(crate::naming::ALERTMANAGER_PATH);
    }
    if m.grafana {
        out.push(crate::naming::GRAFANA_PATH);
    }
    out
}

/// RFC 3986 `path-absolute` characters (`pchar` and `/`) and, when
/// `query` is allowed, `?` and a query of the same characters. Three
/// sub-delimiters are left out although URLs allow them: `'` (it would
/// end a shell quote), `$` (Compose interpolation, nginx variables) and
/// `;` (it ends an nginx directive). Empty, over-long paths are a
/// `bad-length` error already.
fn url_path(p: &str, query: bool) -> Result<(), String> {
    if p.is_empty() {
        return Ok(());
    }
    if !p.starts_with('/') {
        return Err("it must start with `/`".into());
    }
    let b = p.as_bytes();
    let mut in_query = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphanumeric() || b"-._~!&()*+,=:@/".contains(&c);
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return Err("`%` must start an escape of two hex digits (`%20`)".into());
            }
            i += 3;
            continue;
        }
        if c == b'?' && (query || in_query) {
            if !query {
                return Err("a route has no query (`?`)".into());
            }
            in_query = true;
        } else if c == b'?' {
            return Err("a route has no query (`?`)".into());
        } else if !ok {
            let ch = p[i..].chars().next().unwrap_or('?');
            return Err(format!("{} is not allowed", describe(ch)));
        }
        i += 1;
    }
    Ok(())
}

fn describe(c: char) -> String {
    if c == ' ' {
        "a space".into()
    } else if c.is_control() || crate::units::is_bidi_control(c) || !c.is_ascii() {
        format!("the character {}", c.escape_unicode())
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
mod tests {
    use super::url_path;

    #[test]
    fn url_paths() {
        for good in [
            "/",
            "/api",
            "/api/",
            "/a-b_c.d~e!f&g(h)i*j+k,l=m:n@o",
            "/%7Euser/x%2F",
            "/v1/health",
        ] {
            assert_eq!(url_path(good, false), Ok(()), "{good}");
            assert_eq!(url_path(good, true), Ok(()), "{good}");
        }
        for good in ["/api/health?probe=1&x=1", "/h?a=/b?c", "/?"] {
            assert_eq!(url_path(good, true), Ok(()), "{good}");
            assert!(url_path(good, false).is_err(), "{good}");
        }
        for bad in [
            "api",
            "|id>/tmp/x",
            "/x|id>/tmp/x",
            "/a b",
            "/a\tb",
            "/a\nb",
            "/a;b",
            "/a'b",
            "/a\"b",
            "/a$b",
            "/a`b",
            "/a{b}",
            "/a#frag",
            "/a\\b",
            "/a<b>",
            "/a^b",
            "/%zz",
            "/%2",
            "/caf\u{e9}",
            "/a\u{202e}b",
        ] {
            assert!(url_path(bad, true).is_err(), "{bad:?}");
            assert!(url_path(bad, false).is_err(), "{bad:?}");
        }
    }
}
