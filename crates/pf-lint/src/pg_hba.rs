//! `pg_hba.conf`: authentication methods, addresses, replication lines.

use crate::rules::Rule;
use crate::source::FileCx;
use crate::yaml::Pos;

/// One word of a line and where it starts.
type Word = (String, Pos);

/// Splits a line into words (double quotes group), dropping a comment.
pub(crate) fn words(line: &str, line_no: usize) -> (Vec<Word>, Option<(String, Pos)>) {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in line.chars().enumerate() {
        if !quoted && c == '#' {
            if !word.is_empty() {
                out.push((
                    std::mem::take(&mut word),
                    Pos {
                        line: line_no,
                        col: start + 1,
                    },
                ));
            }
            let comment: String = line.chars().skip(i).collect();
            return (
                out,
                Some((
                    comment,
                    Pos {
                        line: line_no,
                        col: i + 1,
                    },
                )),
            );
        }
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_whitespace() && !quoted {
            if !word.is_empty() {
                out.push((
                    std::mem::take(&mut word),
                    Pos {
                        line: line_no,
                        col: start + 1,
                    },
                ));
            }
            continue;
        }
        if word.is_empty() {
            start = i;
        }
        word.push(c);
    }
    if !word.is_empty() {
        out.push((
            word,
            Pos {
                line: line_no,
                col: start + 1,
            },
        ));
    }
    (out, None)
}

fn is_loopback(addr: &str) -> bool {
    addr.starts_with("127.")
        || addr == "::1/128"
        || addr == "::1"
        || addr == "localhost"
        || addr == "samehost"
}

/// Lints a pg_hba.conf.
pub(crate) fn check(cx: &mut FileCx<'_>) {
    let mut replication_lines = 0;
    let lines: Vec<&str> = cx.text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let (w, comment) = words(line, i + 1);
        if let Some((c, pos)) = comment {
            crate::waiver::from_comment(cx, &c, pos);
        }
        let Some((kind, kind_pos)) = w.first() else {
            continue;
        };
        let kind = kind.as_str();
        if kind.starts_with("include") || w.len() < 4 {
            continue;
        }
        let databases = &w[1];
        let users = &w[2];
        let replication = databases.0.split(',').any(|d| d == "replication");
        if replication {
            replication_lines += 1;
            if users.0.split(',').any(|u| u == "all") {
                cx.simple(
                    Rule::PgHbaReplicationAnyUser,
                    users.1,
                    format!("line {}", i + 1),
                    "this replication line accepts every user",
                    "name the dedicated replication role (CREATE ROLE ... REPLICATION)",
                );
            }
        }
        if kind == "local" {
            continue;
        }
        let address = &w[3];
        // An IP address without `/` is followed by a netmask column.
        let mask = (!address.0.contains('/') && address.0.parse::<std::net::IpAddr>().is_ok())
            .then(|| w.get(4))
            .flatten();
        let method = if mask.is_some() { w.get(5) } else { w.get(4) };
        let open = matches!(address.0.as_str(), "all" | "0.0.0.0/0" | "::/0")
            || (address.0 == "0.0.0.0" && mask.is_some_and(|m| m.0 == "0.0.0.0"));
        if open {
            cx.simple(
                Rule::PgHbaOpenAddress,
                address.1,
                format!("line {}", i + 1),
                format!("`{}` accepts connections from every address", address.0),
                "name the networks that may connect: the overlay subnet, 127.0.0.1/32",
            );
        }
        if let Some((m, pos)) = method
            && matches!(m.as_str(), "trust" | "password" | "md5" | "ident")
        {
            cx.simple(
                Rule::PgHbaWeakAuth,
                *pos,
                format!("line {}", i + 1),
                format!("a TCP line uses `{m}`"),
                "use `scram-sha-256` (with `password_encryption = scram-sha-256`)",
            );
        }
        if matches!(kind, "host" | "hostnossl") && !is_loopback(&address.0) {
            cx.simple(
                Rule::PgHbaTcpWithoutTls,
                *kind_pos,
                format!("line {}", i + 1),
                format!("`{kind}` accepts connections from `{}` without TLS", address.0),
                "use `hostssl` with `ssl = on`, or waive the rule if the network is encrypted and internal",
            );
        }
    }
    if replication_lines == 0 {
        cx.simple(
            Rule::PgHbaNoReplicationLine,
            Pos { line: 1, col: 1 },
            "",
            "no line allows replication connections (`all` does not match them)",
            "add `host replication <role> <network> scram-sha-256` before broader lines",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::{FileKind, Input, Options, lint};

    fn codes(text: &str) -> Vec<(String, usize, usize)> {
        let r = lint(
            &[Input {
                name: "pg_hba.conf".into(),
                text: text.into(),
                kind: FileKind::PgHba,
            }],
            &Options::default(),
        );
        r.findings
            .iter()
            .map(|f| (f.code.name().to_owned(), f.location.line, f.location.column))
            .collect()
    }

    #[test]
    fn weak_open_and_plain_lines_are_found() {
        let found = codes(
            "local all all trust\nhost all all 0.0.0.0/0 md5 # comment\nhostssl replication all 10.0.0.0/8 scram-sha-256\nhost all all 127.0.0.1 255.255.255.255 trust\n",
        );
        assert_eq!(
            found,
            vec![
                ("pg-hba-tcp-without-tls".into(), 2, 1),
                ("pg-hba-open-address".into(), 2, 14),
                ("pg-hba-weak-auth".into(), 2, 24),
                ("pg-hba-replication-any-user".into(), 3, 21),
                ("pg-hba-weak-auth".into(), 4, 40),
            ]
        );
    }

    #[test]
    fn a_file_without_replication_is_found_and_waivers_apply() {
        assert_eq!(
            codes("hostssl all app 10.0.0.0/8 scram-sha-256\n"),
            vec![("pg-hba-no-replication-line".into(), 1, 1)]
        );
        assert!(codes("# pf-lint: waive pg-hba-no-replication-line -- no replicas here\nhostssl all app 10.0.0.0/8 scram-sha-256\n").is_empty());
        assert_eq!(codes("# pf-lint: waive pg-hba-weak-auth\nhostssl replication r 10.0.0.0/8 scram-sha-256\n")[0].0, "waiver-invalid");
    }
}
