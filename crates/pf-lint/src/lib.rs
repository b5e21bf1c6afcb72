//! Security and HA catalog over deployable files.
//!
//! `pf-model` checks what we meant to deploy (the topology); this crate
//! checks what will be deployed: the stack or Compose YAML, the nginx
//! configuration, `pg_hba.conf` and the Redis and Sentinel configurations,
//! whoever wrote them. Every rule has a stable code ([`Rule`]); checks that
//! cannot be met on a target are named ([`EXCEPTIONS`]) rather than
//! skipped; a file can waive a finding only with a reason.
//!
//! ```
//! use pf_lint::{Input, Options, lint};
//!
//! let stack = "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: hunter2\n";
//! let input = Input::new("docker-compose.yml", stack).expect("a compose file");
//! let report = lint(&[input], &Options::default());
//! assert!(report.findings.iter().any(|f| f.code == pf_lint::Rule::SecretInEnvironment));
//! ```
//!
//! Pure: no I/O, no printing. `pf-render lint` reads files and prints.

mod config;
mod detect;
mod include;
mod nginx;
mod pg_hba;
mod redis;
mod report;
mod rules;
mod source;
mod stack;
mod waiver;
mod yaml;

pub use config::{CONFIG_FILE, Config, ConfigCode, glob, normalize};
pub use detect::detect;
pub use include::{Included, IncludedFile, Includes, NoIncludes, nginx_includes};
pub use report::{AppliedException, Diagnostic, FileReport, Location, Report, Waived};
pub use rules::{
    EXCEPTIONS, Exception, FileKind, Rule, RuleMeta, Scope, Target, catalog_markdown, entry,
    exceptions,
};

use source::FileCx;

/// One file to lint.
#[derive(Debug, Clone)]
pub struct Input {
    /// The name findings are reported under (the path as given).
    pub name: String,
    /// Its text.
    pub text: String,
    /// What it is.
    pub kind: FileKind,
}

impl Input {
    /// A file whose kind is detected from its name and contents; `None`
    /// when it is none of the kinds this crate reads.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Option<Self> {
        let name = name.into();
        let text = text.into();
        let kind = detect(&name, &text)?;
        Some(Self { name, text, kind })
    }
}

/// How to lint.
#[derive(Debug, Clone, Copy, Default)]
// Options are added without a major version: start from `Options::default()`.
#[non_exhaustive]
pub struct Options {
    /// The target of stack files; detected per file when `None`.
    pub target: Option<Target>,
}

/// Lints every input and applies the waivers they declare (a stack file's
/// waivers may name other files of the same run, relative to its folder).
/// nginx `include`s are not read: each is reported as not checked (see
/// [`lint_with`]).
pub fn lint(inputs: &[Input], options: &Options) -> Report {
    lint_with(inputs, options, &NoIncludes)
}

/// [`lint`], with nginx `include`s resolved by `includes`: what they
/// name is checked as part of the including file.
pub fn lint_with(inputs: &[Input], options: &Options, includes: &dyn Includes) -> Report {
    let mut files: Vec<FileCx<'_>> = inputs
        .iter()
        .map(|input| {
            let mut cx = FileCx::new(&input.name, &input.text, input.kind);
            match input.kind {
                FileKind::Stack => stack::check(&mut cx, options.target),
                FileKind::Nginx => nginx::check(&mut cx, includes),
                FileKind::PgHba => pg_hba::check(&mut cx),
                FileKind::Redis => redis::check(&mut cx, false),
                FileKind::Sentinel => redis::check(&mut cx, true),
            }
            cx
        })
        .collect();
    waiver::apply(&mut files)
}
