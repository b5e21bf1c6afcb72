//! The lint configuration, `.pf-lint.toml`: rules switched off everywhere
//! or for some files, files not linted at all, and severity overrides.
//! Third-party stack files cannot carry waivers; this file can.
//!
//! ```toml
//! ignore = ["healthcheck-missing"]          # rules switched off
//! exclude = ["vendor/**"]                   # files not linted
//!
//! [per-file-ignores]                        # rules switched off for some files
//! "legacy/*.yml" = ["single-replica-stateless"]
//!
//! [severity]                                # severity overrides
//! image-tag-not-pinned = "error"
//! ```
//!
//! Globs are matched against paths relative to the folder of the
//! configuration file, `/`-separated; `*` stays within a folder, `**`
//! crosses folders. Parsing is pure: the caller reads the file.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use pf_diag::{Diagnostic, Finding, Location, Severity};
use serde::Deserialize;
use toml::Spanned;

use crate::rules::Rule;

/// The configuration file name, discovered upward from the linted files.
pub const CONFIG_FILE: &str = ".pf-lint.toml";

pf_diag::catalog! {
    /// A problem in a lint configuration file.
    pub enum ConfigCode in Config;
    /// Not a configuration.
    Invalid = ("lint-config-invalid", Error, "the lint configuration is not valid TOML, or has an unknown key or a value of the wrong type",
        "`.pf-lint.toml` has the keys `ignore`, `exclude`, `per-file-ignores` and `severity` (docs/ci.md). A typo must not silently lint less, so anything else is an error, and `lint` stops (exit 2)."),
    /// A rule the catalog does not have.
    UnknownRule = ("lint-config-unknown-rule", Error, "the lint configuration names a rule the catalog does not have",
        "A misspelt rule in `ignore` would switch nothing off, and one in `severity` would change nothing, both silently. Use a code from `pf-render explain --catalog`."),
    /// A glob that does not parse.
    BadGlob = ("lint-config-bad-glob", Error, "a glob of the lint configuration does not parse",
        "Globs are matched against paths relative to the configuration's folder: `*` and `?` stay within a folder, `**` crosses folders, `{a,b}` and `[ab]` choose. Fix the marked pattern."),
    /// A severity that is not `error` or `warning`.
    BadSeverity = ("lint-config-bad-severity", Error, "a severity override is neither `error` nor `warning`",
        "`[severity]` maps a rule to `error` (fails `lint`) or `warning` (reported, fails only with `--deny-warnings`). To switch a rule off, list it in `ignore`."),
}

/// A parsed lint configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The folder globs are relative to (absolute).
    dir: PathBuf,
    ignore: Vec<Rule>,
    exclude: Vec<GlobMatcher>,
    per_file_ignores: Vec<(GlobMatcher, Vec<Rule>)>,
    severity: Vec<(Rule, Severity)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    per_file_ignores: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Spanned<String>>,
}

impl Config {
    /// A configuration with nothing in it, whose globs are relative to `dir`.
    pub fn empty(dir: PathBuf) -> Self {
        Self {
            dir,
            ..Self::default()
        }
    }

    /// Parses `text`, the file `origin` in the folder `dir` (absolute).
    /// Every problem is reported, located in the file.
    pub fn parse(text: &str, origin: &str, dir: PathBuf) -> Result<Self, Vec<Diagnostic>> {
        let at = |span: std::ops::Range<usize>| Location::of_span(origin, text, span);
        let raw: Raw = toml::from_str(text).map_err(|e| {
            vec![
                Finding::new(
                    ConfigCode::Invalid,
                    "",
                    e.message().trim_end().to_owned(),
                    "see docs/ci.md for the keys of `.pf-lint.toml`",
                )
                .at(at(e.span().unwrap_or(0..0))),
            ]
        })?;
        let mut problems = Vec::new();
        let rule = |name: &Spanned<String>, problems: &mut Vec<Diagnostic>| -> Option<Rule> {
            let found = name.get_ref().parse::<Rule>().ok();
            if found.is_none() {
                problems.push(unknown_rule(name.get_ref()).at(at(name.span())));
            }
            found
        };
        let glob_at =
            |pattern: &Spanned<String>, problems: &mut Vec<Diagnostic>| -> Option<GlobMatcher> {
                match glob(pattern.get_ref()) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        problems.push(
                            Finding::new(
                                ConfigCode::BadGlob,
                                "",
                                format!("`{}` is not a glob: {e}", pattern.get_ref()),
                                "fix the pattern: `*` within a folder, `**` across folders",
                            )
                            .at(at(pattern.span())),
                        );
                        None
                    }
                }
            };
        let mut config = Self::empty(dir);
        for name in &raw.ignore {
            config.ignore.extend(rule(name, &mut problems));
        }
        for pattern in &raw.exclude {
            config.exclude.extend(glob_at(pattern, &mut problems));
        }
        for (pattern, names) in &raw.per_file_ignores {
            let rules: Vec<Rule> = names
                .iter()
                .filter_map(|n| rule(n, &mut problems))
                .collect();
            if let Some(m) = glob_at(pattern, &mut problems) {
                config.per_file_ignores.push((m, rules));
            }
        }
        for (name, level) in &raw.severity {
            let severity = level.get_ref().parse::<Severity>().ok();
            if severity.is_none() {
                problems.push(
                    Finding::new(
                        ConfigCode::BadSeverity,
                        "",
                        format!("`{}` is not a severity", level.get_ref()),
                        "use \"error\" or \"warning\"; to switch the rule off, list it in `ignore`",
                    )
                    .at(at(level.span())),
                );
            }
            if let (Some(r), Some(s)) = (rule(name, &mut problems), severity) {
                config.severity.push((r, s));
            }
        }
        problems.sort_by_key(|d| (d.location.line, d.location.column));
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// Adds rules switched off for every file (`--ignore`).
    pub fn ignore(&mut self, rules: &[Rule]) {
        self.ignore.extend_from_slice(rules);
    }

    /// True when `file` (a path as given, relative to `cwd`) is excluded.
    pub fn excludes(&self, file: &str, cwd: &Path) -> bool {
        self.relative(file, cwd)
            .is_some_and(|r| self.exclude.iter().any(|g| g.is_match(&r)))
    }

    /// True when `rule` is switched off for `file`.
    pub fn ignores(&self, rule: Rule, file: &str, cwd: &Path) -> bool {
        self.ignore.contains(&rule)
            || self.relative(file, cwd).is_some_and(|r| {
                self.per_file_ignores
                    .iter()
                    .any(|(g, rules)| rules.contains(&rule) && g.is_match(&r))
            })
    }

    /// The severity `rule` has here, when overridden.
    pub fn severity(&self, rule: Rule) -> Option<Severity> {
        self.severity
            .iter()
            .rev()
            .find(|(r, _)| *r == rule)
            .map(|(_, s)| *s)
    }

    /// `file` relative to the configuration's folder, `/`-separated, when
    /// it is inside it.
    fn relative(&self, file: &str, cwd: &Path) -> Option<String> {
        let path = normalize(&cwd.join(file));
        let rel = path.strip_prefix(normalize(&self.dir)).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }
}

/// A glob as configuration files and `--exclude` write them.
pub fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}

/// The finding for a rule name the catalog does not have, with the
/// closest one when it looks like a typo.
fn unknown_rule(name: &str) -> Finding {
    let names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
    let help = match pf_diag::closest(name, &names) {
        Some(r) => format!("did you mean `{r}`? `pf-render explain --catalog` lists every rule"),
        None => "`pf-render explain --catalog` lists every rule".to_owned(),
    };
    Finding::new(
        ConfigCode::UnknownRule,
        "",
        format!("unknown rule `{name}`"),
        help,
    )
}

/// `path` without `.` and with `..` applied, lexically (links are not
/// resolved: a configuration speaks of paths as they are written).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "ignore = [\"healthcheck-missing\"]\nexclude = [\"vendor/**\"]\n\n[per-file-ignores]\n\"legacy/*.yml\" = [\"user-not-set\"]\n\n[severity]\ncapabilities-not-dropped = \"error\"\n";

    #[test]
    fn rules_files_and_severities() {
        let config = Config::parse(TEXT, "c.toml", PathBuf::from("/repo")).expect("valid");
        let cwd = Path::new("/repo/sub");
        assert!(config.ignores(Rule::HealthcheckMissing, "x.yml", cwd));
        assert!(!config.ignores(Rule::UserNotSet, "x.yml", cwd));
        assert!(config.ignores(Rule::UserNotSet, "../legacy/a.yml", cwd));
        assert!(!config.ignores(Rule::UserNotSet, "../legacy/deeper/a.yml", cwd));
        assert!(config.excludes("/repo/vendor/a/b.yml", cwd));
        assert!(!config.excludes("/elsewhere/vendor/a.yml", cwd));
        assert_eq!(
            config.severity(Rule::CapabilitiesNotDropped),
            Some(Severity::Error)
        );
    }

    #[test]
    fn every_problem_is_located() {
        let text = "ignore = [\"healthcheck-misssing\", \"nope\"]\nexclude = [\"a/[b\"]\n[severity]\nuser-not-set = \"fatal\"\n";
        let problems = Config::parse(text, "c.toml", PathBuf::from("/")).expect_err("invalid");
        let found: Vec<(&str, usize, usize)> = problems
            .iter()
            .map(|d| (d.code.name(), d.location.line, d.location.column))
            .collect();
        assert_eq!(
            found,
            [
                ("lint-config-unknown-rule", 1, 11),
                ("lint-config-unknown-rule", 1, 35),
                ("lint-config-bad-glob", 2, 12),
                ("lint-config-bad-severity", 4, 16),
            ]
        );
        assert!(
            problems[0]
                .help
                .contains("did you mean `healthcheck-missing`?")
        );
        let problems =
            Config::parse("ignor = []\n", "c.toml", PathBuf::from("/")).expect_err("invalid");
        assert_eq!(problems[0].code, ConfigCode::Invalid);
        assert_eq!(problems[0].location.line, 1);
    }
}
