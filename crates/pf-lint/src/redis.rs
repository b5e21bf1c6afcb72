//! Redis and Sentinel configurations: authentication, protected mode,
//! script reconfiguration, host names.

use crate::pg_hba::words;
use crate::rules::Rule;
use crate::source::FileCx;
use crate::yaml::Pos;

struct Line {
    /// Lower-case directive.
    name: String,
    args: Vec<(String, Pos)>,
    pos: Pos,
}

fn lines(cx: &mut FileCx<'_>) -> Vec<Line> {
    let mut out = Vec::new();
    let text = cx.text;
    for (i, line) in text.lines().enumerate() {
        let (w, comment) = words(line, i + 1);
        if let Some((c, pos)) = comment {
            crate::waiver::from_comment(cx, &c, pos);
        }
        let mut it = w.into_iter();
        if let Some((name, pos)) = it.next() {
            out.push(Line {
                name: name.to_ascii_lowercase(),
                args: it
                    .map(|(a, p)| (a.trim_matches('"').to_owned(), p))
                    .collect(),
                pos,
            });
        }
    }
    out
}

fn arg(l: &Line, i: usize) -> &str {
    l.args.get(i).map_or("", |(a, _)| a.as_str())
}

const START: Pos = Pos { line: 1, col: 1 };

/// Lints a Redis server (`sentinel == false`) or Sentinel configuration.
pub(crate) fn check(cx: &mut FileCx<'_>, sentinel: bool) {
    let lines = lines(cx);
    if sentinel {
        sentinel_rules(cx, &lines);
    } else {
        server_rules(cx, &lines);
    }
}

fn has_password(lines: &[Line]) -> bool {
    lines.iter().any(|l| {
        (l.name == "requirepass" && !arg(l, 0).is_empty())
            || l.name == "aclfile"
            || (l.name == "user"
                && arg(l, 0) == "default"
                && !l.args.iter().any(|(a, _)| a == "nopass")
                && l.args
                    .iter()
                    .any(|(a, _)| a.starts_with('>') || a.starts_with('#')))
    })
}

fn server_rules(cx: &mut FileCx<'_>, lines: &[Line]) {
    if !has_password(lines) {
        let nopass = lines
            .iter()
            .find(|l| l.name == "user" && l.args.iter().any(|(a, _)| a == "nopass"));
        cx.simple(
            Rule::RedisAuthMissing,
            nopass.map_or(START, |l| l.pos),
            "requirepass",
            "the server accepts clients without a password",
            "set `requirepass` (or ACL users) from a secret file when the server starts",
        );
    }
    if let Some(r) = lines
        .iter()
        .find(|l| l.name == "replicaof" || l.name == "slaveof")
        && !lines.iter().any(|l| l.name == "masterauth")
    {
        cx.simple(
            Rule::RedisReplicaAuthMissing,
            r.pos,
            "masterauth",
            "a replica without `masterauth` cannot authenticate to its master",
            "set `masterauth` (and `masteruser` with ACLs) on every data node",
        );
    }
    for l in lines {
        if l.name == "protected-mode" && arg(l, 0).eq_ignore_ascii_case("no") {
            cx.simple(
                Rule::RedisProtectedModeOff,
                l.pos,
                "protected-mode",
                "`protected-mode no`",
                "use `protected-mode yes`",
            );
        }
        if l.name == "rename-command" {
            cx.simple(
                Rule::RedisRenameCommand,
                l.pos,
                "rename-command",
                format!("`rename-command {}` is deprecated", arg(l, 0)),
                "remove it and restrict commands with ACLs",
            );
        }
    }
}

fn sentinel_rules(cx: &mut FileCx<'_>, lines: &[Line]) {
    let sub = |l: &Line, s: &str| l.name == "sentinel" && arg(l, 0).eq_ignore_ascii_case(s);
    let resolve = lines
        .iter()
        .any(|l| sub(l, "resolve-hostnames") && arg(l, 1).eq_ignore_ascii_case("yes"));
    for m in lines.iter().filter(|l| sub(l, "monitor")) {
        let master = arg(m, 1);
        if !lines
            .iter()
            .any(|l| sub(l, "auth-pass") && arg(l, 1) == master)
        {
            cx.simple(
                Rule::SentinelAuthPassMissing,
                m.pos,
                "sentinel auth-pass",
                format!("Sentinel monitors `{master}` without `sentinel auth-pass {master} ...`"),
                "set `sentinel auth-pass` from the Redis password secret when Sentinel starts",
            );
        }
        let host = arg(m, 2);
        if !host.is_empty() && host.parse::<std::net::IpAddr>().is_err() && !resolve {
            cx.simple(
                Rule::SentinelHostnameWithoutResolve,
                m.args.get(2).map_or(m.pos, |(_, p)| *p),
                "sentinel monitor",
                format!("`{host}` is a host name, but `sentinel resolve-hostnames` is not `yes`"),
                "add `sentinel resolve-hostnames yes` and `sentinel announce-hostnames yes` (Redis 6.2+)",
            );
        }
        if arg(m, 4).parse::<u64>().is_ok_and(|q| q >= 1) {
            continue;
        }
        cx.simple(
            Rule::SentinelQuorumInvalid,
            m.args.get(4).map_or(m.pos, |(_, p)| *p),
            "sentinel monitor",
            format!("the quorum `{}` is not a positive number", arg(m, 4)),
            "use the majority of the Sentinels, `count / 2 + 1`",
        );
    }
    if !lines
        .iter()
        .any(|l| l.name == "requirepass" && !arg(l, 0).is_empty())
    {
        cx.simple(
            Rule::SentinelWithoutPassword,
            START,
            "requirepass",
            "Sentinel accepts commands without a password",
            "set `requirepass` (Redis 6.2+), or keep Sentinel on an internal network and waive the rule saying so",
        );
    }
    for l in lines.iter().filter(|l| sub(l, "deny-scripts-reconfig")) {
        if arg(l, 1).eq_ignore_ascii_case("no") {
            cx.simple(
                Rule::SentinelScriptsReconfig,
                l.pos,
                "sentinel deny-scripts-reconfig",
                "`sentinel deny-scripts-reconfig no`",
                "remove the line (the default is yes)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{FileKind, Input, Options, lint};

    fn codes(text: &str, kind: FileKind) -> Vec<(String, usize)> {
        let r = lint(
            &[Input {
                name: "r.conf".into(),
                text: text.into(),
                kind,
            }],
            &Options::default(),
        );
        r.findings
            .iter()
            .map(|f| (f.code.name().to_owned(), f.location.line))
            .collect()
    }

    #[test]
    fn redis_without_auth() {
        assert_eq!(
            codes(
                "bind 0.0.0.0\nprotected-mode no\nreplicaof m 6379\nrename-command CONFIG \"\"\n",
                FileKind::Redis
            ),
            vec![
                ("redis-auth-missing".into(), 1),
                ("redis-protected-mode-off".into(), 2),
                ("redis-replica-auth-missing".into(), 3),
                ("redis-rename-command".into(), 4),
            ]
        );
        assert!(
            codes(
                "requirepass \"x y\"\nmasterauth z\nreplicaof m 1\n",
                FileKind::Redis
            )
            .is_empty()
        );
        assert_eq!(
            codes("user default on nopass ~* +@all\n", FileKind::Redis),
            vec![("redis-auth-missing".into(), 1)]
        );
    }

    #[test]
    fn sentinel_rules() {
        assert_eq!(
            codes(
                "sentinel monitor m redis-master 6379 0\nsentinel deny-scripts-reconfig no\n",
                FileKind::Sentinel
            ),
            vec![
                ("sentinel-auth-pass-missing".into(), 1),
                ("sentinel-without-password".into(), 1),
                ("sentinel-hostname-without-resolve".into(), 1),
                ("sentinel-quorum-invalid".into(), 1),
                ("sentinel-scripts-reconfig".into(), 2),
            ]
        );
        assert!(codes(
            "requirepass s\nsentinel resolve-hostnames yes\nsentinel monitor m h 6379 2\nsentinel auth-pass m p\n",
            FileKind::Sentinel
        )
        .is_empty());
    }
}
