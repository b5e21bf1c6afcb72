//! nginx configuration: a tokenizer that keeps positions, a directive
//! tree, and the hardening rules (CIS NGINX, Mozilla intermediate TLS).
//! `include` is spliced in, as nginx does, from what the caller resolved
//! it to (see [`crate::include`]); the spliced directives are reported at
//! the `include` that brought them.

use crate::include::{Included, Includes};
use crate::rules::Rule;
use crate::source::FileCx;
use crate::yaml::Pos;

/// One directive, with its block if it has one.
#[derive(Debug, Clone)]
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
    pub(crate) pos: Pos,
    pub(crate) block: Option<Vec<Directive>>,
}

#[derive(Debug)]
enum Token {
    Word(String, Pos),
    Open(Pos),
    Close(Pos),
    Semi(Pos),
    Comment(String, Pos),
}

fn tokenize(text: &str) -> Result<Vec<Token>, (Pos, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut col) = (1usize, 1usize);
    let mut word = String::new();
    let mut start = Pos { line, col };
    macro_rules! flush {
        () => {
            if !word.is_empty() {
                out.push(Token::Word(std::mem::take(&mut word), start));
            }
        };
    }
    while let Some(c) = chars.next() {
        let here = Pos { line, col };
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
        match c {
            '"' | '\'' if word.is_empty() => {
                start = here;
                let mut value = String::new();
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\n' {
                        line += 1;
                        col = 1;
                    } else {
                        col += 1;
                    }
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            col += 1;
                            value.push(e);
                        }
                        continue;
                    }
                    if d == c {
                        closed = true;
                        break;
                    }
                    value.push(d);
                }
                if !closed {
                    return Err((here, "a quoted string is never closed".to_owned()));
                }
                out.push(Token::Word(value, start));
            }
            '#' if word.is_empty() => {
                let mut comment = String::from('#');
                while let Some(&d) = chars.peek() {
                    if d == '\n' {
                        break;
                    }
                    comment.push(d);
                    chars.next();
                    col += 1;
                }
                out.push(Token::Comment(comment, here));
            }
            '{' if word.ends_with('$') => word.push(c),
            '{' | '}' | ';' => {
                flush!();
                out.push(match c {
                    '{' => Token::Open(here),
                    '}' => Token::Close(here),
                    _ => Token::Semi(here),
                });
            }
            c if c.is_whitespace() => flush!(),
            c => {
                if word.is_empty() {
                    start = here;
                }
                word.push(c);
                // `${var}`: the closing brace belongs to the word.
                if word.contains("${") && !word.ends_with('}') {
                    while let Some(&d) = chars.peek() {
                        chars.next();
                        col += 1;
                        word.push(d);
                        if d == '}' {
                            break;
                        }
                    }
                }
            }
        }
    }
    flush!();
    Ok(out)
}

/// Top-level directives and comments (comments carry waivers).
type Parsed = (Vec<Directive>, Vec<(String, Pos)>);

/// Parses a configuration into its top-level directives, returning the
/// comments too (for waivers).
pub(crate) fn parse(text: &str) -> Result<Parsed, (Pos, String)> {
    let tokens = tokenize(text)?;
    let mut comments = Vec::new();
    let mut stack: Vec<(Directive, Vec<Directive>)> = Vec::new();
    let mut top: Vec<Directive> = Vec::new();
    let mut current: Vec<(String, Pos)> = Vec::new();
    for t in tokens {
        match t {
            Token::Comment(c, p) => comments.push((c, p)),
            Token::Word(w, p) => current.push((w, p)),
            Token::Semi(p) => {
                let d = directive(std::mem::take(&mut current), p, None)?;
                match stack.last_mut() {
                    Some((_, children)) => children.push(d),
                    None => top.push(d),
                }
            }
            Token::Open(p) => {
                let d = directive(std::mem::take(&mut current), p, Some(Vec::new()))?;
                stack.push((d, Vec::new()));
            }
            Token::Close(p) => {
                if !current.is_empty() {
                    return Err((
                        current[0].1,
                        "a directive is not terminated by `;`".to_owned(),
                    ));
                }
                let Some((mut d, children)) = stack.pop() else {
                    return Err((p, "`}` without a block to close".to_owned()));
                };
                d.block = Some(children);
                match stack.last_mut() {
                    Some((_, siblings)) => siblings.push(d),
                    None => top.push(d),
                }
            }
        }
    }
    if let Some((w, p)) = current.first() {
        return Err((*p, format!("`{w}` is not terminated by `;`")));
    }
    if let Some((d, _)) = stack.last() {
        return Err((d.pos, format!("the `{}` block is never closed", d.name)));
    }
    Ok((top, comments))
}

fn directive(
    words: Vec<(String, Pos)>,
    at: Pos,
    block: Option<Vec<Directive>>,
) -> Result<Directive, (Pos, String)> {
    let mut it = words.into_iter();
    let Some((name, pos)) = it.next() else {
        return Err((at, "an empty directive".to_owned()));
    };
    Ok(Directive {
        name,
        args: it.map(|(w, _)| w).collect(),
        pos,
        block,
    })
}

impl Directive {
    fn children(&self) -> &[Directive] {
        self.block.as_deref().unwrap_or_default()
    }

    fn find<'a>(&'a self, name: &str) -> Option<&'a Directive> {
        find(self.children(), name)
    }
}

fn find<'a>(list: &'a [Directive], name: &str) -> Option<&'a Directive> {
    list.iter().rev().find(|d| d.name == name)
}

/// Every directive below `list` (depth first).
pub(crate) fn walk<'a>(list: &'a [Directive], out: &mut Vec<&'a Directive>) {
    for d in list {
        out.push(d);
        walk(d.children(), out);
    }
}

/// An nginx time in milliseconds (`10s`, `500ms`, `1m`, bare seconds).
fn millis(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "" | "s" => n * 1000,
        "ms" => n,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return None,
    })
}

/// Mozilla intermediate TLS 1.2 ciphers (guidelines 6.0).
const MOZILLA_INTERMEDIATE: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
];

const HSTS_MIN_AGE: u64 = 63_072_000;

/// How deep includes are followed: nginx itself stops at a cycle; a
/// chain this long is one.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Replaces every `include` in `list` with the directives of what it
/// resolved to, at the include's position; an include that was not read
/// becomes a finding. `at` is the position in the linted file of the
/// include that brought `list` (none for the file's own directives).
fn splice(
    cx: &mut FileCx<'_>,
    includes: &dyn Includes,
    from: &str,
    list: Vec<Directive>,
    depth: usize,
    at: Option<Pos>,
) -> Vec<Directive> {
    let mut out = Vec::with_capacity(list.len());
    for mut d in list {
        if let Some(block) = d.block.take() {
            d.block = Some(splice(cx, includes, from, block, depth, at));
        }
        let here = at.unwrap_or(d.pos);
        let pattern = match (d.name.as_str(), d.args.as_slice()) {
            ("include", [pattern]) => pattern.clone(),
            _ => {
                out.push(d);
                continue;
            }
        };
        let not_checked = |cx: &mut FileCx<'_>, why: &str| {
            cx.simple(
                Rule::NginxIncludeNotChecked,
                here,
                "include",
                format!("`{pattern}` was not checked: {why}"),
                "lint the folder that holds it, or waive with `# pf-lint: waive nginx-include-not-checked -- reason`",
            );
        };
        if depth >= MAX_INCLUDE_DEPTH {
            not_checked(cx, "includes nest deeper than 8 levels (a cycle?)");
            continue;
        }
        match includes.resolve(from, &pattern) {
            Included::NotChecked(why) => not_checked(cx, &why),
            Included::Files(files) => {
                for file in files {
                    match parse(&file.text) {
                        Ok((top, _)) => {
                            let spliced =
                                splice(cx, includes, &file.name, top, depth + 1, Some(here));
                            out.extend(spliced.into_iter().map(|mut s| {
                                relocate(&mut s, here);
                                s
                            }));
                        }
                        Err((pos, message)) => not_checked(
                            cx,
                            &format!(
                                "{} does not parse at {}:{}: {message}",
                                file.name, pos.line, pos.col
                            ),
                        ),
                    }
                }
            }
        }
    }
    out
}

/// Moves a spliced directive and its block to the `include` that brought it.
fn relocate(d: &mut Directive, at: Pos) {
    d.pos = at;
    for child in d.block.iter_mut().flatten() {
        relocate(child, at);
    }
}

/// Lints an nginx configuration.
pub(crate) fn check(cx: &mut FileCx<'_>, includes: &dyn Includes) {
    let (top, comments) = match parse(cx.text) {
        Ok(p) => p,
        Err((pos, message)) => {
            cx.simple(
                Rule::NginxSyntax,
                pos,
                "",
                message,
                "fix the marked position; `nginx -t` gives the full verdict",
            );
            return;
        }
    };
    for (c, pos) in &comments {
        crate::waiver::from_comment(cx, c, *pos);
    }
    let name = cx.name;
    let top = splice(cx, includes, name, top, 0, None);
    for http in top.iter().filter(|d| d.name == "http") {
        http_rules(cx, http);
    }
}

fn http_rules(cx: &mut FileCx<'_>, http: &Directive) {
    let mut all = Vec::new();
    walk(http.children(), &mut all);

    match http.find("server_tokens") {
        None => cx.simple(
            Rule::NginxServerTokens,
            http.pos,
            "http",
            "`server_tokens` is not set, so nginx sends its version",
            "add `server_tokens off;` to `http`",
        ),
        Some(d) if d.args.first().map(String::as_str) != Some("off") => cx.simple(
            Rule::NginxServerTokens,
            d.pos,
            "http.server_tokens",
            format!("`server_tokens {}`", d.args.join(" ")),
            "use `server_tokens off;`",
        ),
        Some(_) => {}
    }
    for d in all.iter().filter(|d| d.name == "server_tokens") {
        if d.args.first().map(String::as_str) != Some("off")
            && !http.children().iter().any(|c| std::ptr::eq(c, *d))
        {
            cx.simple(
                Rule::NginxServerTokens,
                d.pos,
                "server_tokens",
                format!("`server_tokens {}`", d.args.join(" ")),
                "use `server_tokens off;`",
            );
        }
    }

    for (name, default) in [
        ("client_header_timeout", "60s"),
        ("client_body_timeout", "60s"),
        ("keepalive_timeout", "75s"),
        ("send_timeout", "60s"),
    ] {
        if http.find(name).is_none() {
            cx.simple(
                Rule::NginxTimeoutTooLong,
                http.pos,
                format!("http.{name}"),
                format!("`{name}` is not set (default {default})"),
                format!("add `{name} 10s;` to `http`"),
            );
        }
        for d in all.iter().filter(|d| d.name == name) {
            let ms = d.args.first().and_then(|a| millis(a));
            if ms.is_none_or(|ms| ms > 10_000) {
                cx.simple(
                    Rule::NginxTimeoutTooLong,
                    d.pos,
                    name,
                    format!("`{name} {}` is longer than 10s", d.args.join(" ")),
                    format!("use `{name} 10s;` or less"),
                );
            }
        }
    }

    if !all.iter().any(|d| d.name == "client_max_body_size") {
        cx.simple(
            Rule::NginxBodySizeImplicit,
            http.pos,
            "http.client_max_body_size",
            "`client_max_body_size` is not set (default 1m)",
            "state the largest body the application accepts: `client_max_body_size 10m;`",
        );
    }

    for server in http.children().iter().filter(|d| d.name == "server") {
        status(cx, http, server, &[]);
        tls(cx, http, server);
    }
}

/// Walks locations, carrying the enclosing blocks for inheritance.
fn status<'a>(
    cx: &mut FileCx<'_>,
    http: &'a Directive,
    block: &'a Directive,
    outer: &[&'a Directive],
) {
    let mut chain: Vec<&Directive> = vec![block];
    chain.extend(outer);
    if block.children().iter().any(|d| d.name == "stub_status") {
        // The access module inherits allow/deny from the nearest level that has any.
        let mut levels: Vec<&Directive> = chain.clone();
        levels.push(http);
        let rules: Vec<&Directive> = levels
            .iter()
            .map(|l| {
                l.children()
                    .iter()
                    .filter(|d| d.name == "allow" || d.name == "deny")
                    .collect::<Vec<_>>()
            })
            .find(|r| !r.is_empty())
            .unwrap_or_default();
        let deny_all = rules
            .iter()
            .any(|d| d.name == "deny" && d.args.first().map(String::as_str) == Some("all"));
        let allow_all = rules
            .iter()
            .any(|d| d.name == "allow" && d.args.first().map(String::as_str) == Some("all"));
        if !deny_all || allow_all {
            let at = block
                .children()
                .iter()
                .find(|d| d.name == "stub_status")
                .map_or(block.pos, |d| d.pos);
            cx.simple(
                Rule::NginxStatusOpen,
                at,
                "stub_status",
                "`stub_status` is reachable from every address",
                "add `allow 127.0.0.1; allow <monitoring network>; deny all;` to the location or its server",
            );
        }
    }
    for loc in block.children().iter().filter(|d| d.name == "location") {
        status(cx, http, loc, &chain);
    }
}

fn tls(cx: &mut FileCx<'_>, http: &Directive, server: &Directive) {
    let is_tls = server.children().iter().any(|d| {
        (d.name == "listen" && d.args.iter().any(|a| a == "ssl" || a == "quic"))
            || (d.name == "ssl" && d.args.first().map(String::as_str) == Some("on"))
    });
    if !is_tls {
        return;
    }
    let effective = |name: &str| server.find(name).or_else(|| http.find(name));
    match effective("ssl_protocols") {
        None => cx.simple(
            Rule::NginxTlsProtocols,
            server.pos,
            "ssl_protocols",
            "a TLS server does not state `ssl_protocols`",
            "add `ssl_protocols TLSv1.2 TLSv1.3;`",
        ),
        Some(d) => {
            let old: Vec<&String> = d
                .args
                .iter()
                .filter(|a| matches!(a.as_str(), "SSLv2" | "SSLv3" | "TLSv1" | "TLSv1.1"))
                .collect();
            if !old.is_empty() {
                cx.simple(
                    Rule::NginxTlsProtocols,
                    d.pos,
                    "ssl_protocols",
                    format!(
                        "`ssl_protocols` allows {}",
                        old.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "use `ssl_protocols TLSv1.2 TLSv1.3;`",
                );
            }
        }
    }
    match effective("ssl_ciphers") {
        None => cx.simple(
            Rule::NginxTlsCiphers,
            server.pos,
            "ssl_ciphers",
            "a TLS server does not state `ssl_ciphers`",
            "set the Mozilla intermediate list",
        ),
        Some(d) => {
            let extra: Vec<&str> = d
                .args
                .first()
                .map(|a| a.split(':').collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|c| !c.starts_with('!') && !c.starts_with('-'))
                .filter(|c| !MOZILLA_INTERMEDIATE.contains(c))
                .collect();
            if !extra.is_empty() {
                cx.simple(
                    Rule::NginxTlsCiphers,
                    d.pos,
                    "ssl_ciphers",
                    format!(
                        "`ssl_ciphers` goes beyond Mozilla intermediate: {}",
                        extra.join(", ")
                    ),
                    "use the Mozilla intermediate list (ECDHE with AES-GCM or CHACHA20-POLY1305)",
                );
            }
        }
    }
    if let Some(d) = effective("ssl_prefer_server_ciphers")
        && d.args.first().map(String::as_str) == Some("on")
    {
        cx.simple(
            Rule::NginxTlsCiphers,
            d.pos,
            "ssl_prefer_server_ciphers",
            "`ssl_prefer_server_ciphers on` (Mozilla intermediate: off, every listed cipher is strong)",
            "use `ssl_prefer_server_ciphers off;`",
        );
    }
    // add_header at a level replaces every add_header inherited from above.
    let headers = |list: &[Directive]| -> Option<bool> {
        let adds: Vec<&Directive> = list.iter().filter(|d| d.name == "add_header").collect();
        if adds.is_empty() {
            return None;
        }
        Some(adds.iter().any(|d| {
            d.args
                .first()
                .is_some_and(|h| h.eq_ignore_ascii_case("strict-transport-security"))
                && d.args
                    .get(1)
                    .and_then(|v| max_age(v))
                    .is_some_and(|a| a >= HSTS_MIN_AGE)
        }))
    };
    let base = headers(server.children())
        .or_else(|| headers(http.children()))
        .unwrap_or(false);
    if !base {
        cx.simple(
            Rule::NginxHstsMissing,
            server.find("add_header").map_or(server.pos, |d| d.pos),
            "add_header",
            "a TLS server sends no `Strict-Transport-Security` header of two years or more",
            "add `add_header Strict-Transport-Security \"max-age=63072000\" always;` to the server",
        );
    }
    let mut all = Vec::new();
    walk(server.children(), &mut all);
    for loc in all.iter().filter(|d| d.name == "location") {
        if headers(loc.children()) == Some(false) {
            cx.simple(
                Rule::NginxHstsMissing,
                loc.pos,
                "location.add_header",
                format!(
                    "`location {}` has its own `add_header`, which drops the server's HSTS header",
                    loc.args.join(" ")
                ),
                "repeat the `Strict-Transport-Security` header in this location",
            );
        }
    }
}

fn max_age(v: &str) -> Option<u64> {
    let at = v.to_ascii_lowercase().find("max-age=")?;
    v[at + 8..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileKind, Input, Options, lint};

    fn codes(text: &str) -> Vec<(String, usize)> {
        let r = lint(
            &[Input {
                name: "n.conf".into(),
                text: text.into(),
                kind: FileKind::Nginx,
            }],
            &Options::default(),
        );
        r.findings
            .iter()
            .map(|f| (f.code.name().to_owned(), f.location.line))
            .collect()
    }

    /// Resolves `snippets/*.conf` to one hardening snippet, `loop.conf` to
    /// itself, and nothing else.
    struct Snippets;

    impl Includes for Snippets {
        fn resolve(&self, _from: &str, pattern: &str) -> Included {
            match pattern {
                "snippets/*.conf" => Included::Files(vec![crate::IncludedFile {
                    name: "snippets/hardening.conf".into(),
                    text: format!("{GOOD_HTTP}\n"),
                }]),
                "loop.conf" => Included::Files(vec![crate::IncludedFile {
                    name: "loop.conf".into(),
                    text: "include loop.conf;\n".into(),
                }]),
                _ => Included::NotChecked("outside the linted folder".into()),
            }
        }
    }

    fn codes_with(text: &str, includes: &dyn Includes) -> Vec<(String, usize)> {
        let input = Input {
            name: "n.conf".into(),
            text: text.into(),
            kind: FileKind::Nginx,
        };
        crate::lint_with(&[input], &Options::default(), includes)
            .findings
            .iter()
            .map(|f| (f.code.name().to_owned(), f.location.line))
            .collect()
    }

    #[test]
    fn includes_are_spliced_or_named() {
        let text = "http {\n  include snippets/*.conf;\n  include /etc/nginx/mime.types;\n}\n";
        // Followed: the snippet's hardening counts; the absolute include is named.
        assert_eq!(
            codes_with(text, &Snippets),
            [("nginx-include-not-checked".to_owned(), 3)]
        );
        // Not followed: both are named, and the hardening is missing.
        let found = codes_with(text, &crate::NoIncludes);
        assert!(
            found.contains(&("nginx-include-not-checked".to_owned(), 2)),
            "{found:?}"
        );
        assert!(
            found.iter().any(|(c, _)| c == "nginx-server-tokens"),
            "{found:?}"
        );
        // A problem inside an included file is reported at the include.
        struct Bad;
        impl Includes for Bad {
            fn resolve(&self, _: &str, _: &str) -> Included {
                Included::Files(vec![crate::IncludedFile {
                    name: "bad.conf".into(),
                    text: format!("{GOOD_HTTP} server_tokens on;\n"),
                }])
            }
        }
        assert_eq!(
            codes_with("http {\n  include bad.conf;\n}\n", &Bad),
            [("nginx-server-tokens".to_owned(), 2)]
        );
        // A cycle stops.
        let found = codes_with("http {\n include loop.conf;\n}\n", &Snippets);
        assert!(
            found.contains(&("nginx-include-not-checked".to_owned(), 2)),
            "{found:?}"
        );
    }

    const GOOD_HTTP: &str = "server_tokens off; client_header_timeout 10s; client_body_timeout 10s; keepalive_timeout 10s; send_timeout 10s; client_max_body_size 1m;";

    #[test]
    fn tokens_keep_positions_and_variables() {
        let (top, comments) =
            parse("# c\nhttp {\n  log_format x '${a} \"q\"';\n  server { listen 80; }\n}\n")
                .expect("parses");
        assert_eq!(comments.len(), 1);
        assert_eq!(top[0].name, "http");
        assert_eq!(top[0].pos, Pos { line: 2, col: 1 });
        let server = top[0].find("server").expect("server");
        assert_eq!(server.pos, Pos { line: 4, col: 3 });
        assert_eq!(top[0].find("log_format").expect("lf").args[1], "${a} \"q\"");
    }

    #[test]
    fn syntax_errors_are_located() {
        assert_eq!(
            codes("http {\n  server {\n}\n"),
            vec![("nginx-syntax".to_owned(), 1)]
        );
        assert_eq!(codes("http {\n  x 'open;\n}\n")[0].0, "nginx-syntax");
    }

    #[test]
    fn defaults_are_findings() {
        let found = codes("http {\n  server { listen 80; }\n}\n");
        for code in [
            "nginx-server-tokens",
            "nginx-timeout-too-long",
            "nginx-body-size-implicit",
        ] {
            assert!(found.contains(&(code.to_owned(), 1)), "{code}: {found:?}");
        }
    }

    #[test]
    fn status_needs_deny_all_inherited_or_local() {
        let open = format!(
            "http {{ {GOOD_HTTP}\n server {{ listen 8080;\n location = /s {{ stub_status; }} }} }}\n"
        );
        assert_eq!(codes(&open), vec![("nginx-status-open".to_owned(), 3)]);
        let closed = format!(
            "http {{ {GOOD_HTTP}\n server {{ listen 8080; allow 127.0.0.1; deny all;\n location = /s {{ stub_status; }} }} }}\n"
        );
        assert!(codes(&closed).is_empty());
        let overridden = format!(
            "http {{ {GOOD_HTTP}\n server {{ listen 8080; deny all;\n location = /s {{ allow all; stub_status; }} }} }}\n"
        );
        assert_eq!(
            codes(&overridden),
            vec![("nginx-status-open".to_owned(), 3)]
        );
    }

    #[test]
    fn tls_servers_need_modern_protocols_ciphers_and_hsts() {
        let weak = format!(
            "http {{ {GOOD_HTTP}\n server {{ listen 443 ssl;\n ssl_protocols TLSv1 TLSv1.2;\n ssl_ciphers HIGH:!aNULL;\n }} }}\n"
        );
        let found = codes(&weak);
        assert!(
            found.contains(&("nginx-tls-protocols".to_owned(), 3)),
            "{found:?}"
        );
        assert!(
            found.contains(&("nginx-tls-ciphers".to_owned(), 4)),
            "{found:?}"
        );
        assert!(
            found.contains(&("nginx-hsts-missing".to_owned(), 2)),
            "{found:?}"
        );
        let lost = format!(
            "http {{ {GOOD_HTTP}\n server {{ listen 443 ssl; ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;\n add_header Strict-Transport-Security \"max-age=63072000\" always;\n location / {{ add_header X-A b; }}\n }} }}\n"
        );
        assert_eq!(codes(&lost), vec![("nginx-hsts-missing".to_owned(), 4)]);
    }
}
