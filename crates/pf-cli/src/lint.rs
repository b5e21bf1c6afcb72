//! `pf-render lint`: check deployable files (hand-written or generated)
//! against the security and HA catalog of `pf-lint`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use pf_lint::{FileKind, Input, Options, Target};

use crate::cli::Format;
use crate::exit::Outcome;

pub(crate) const HELP: &str = "\
A folder is searched (recursively, in name order) for the files the catalog reads; other files
are skipped. A stack file's `x-pf-lint` waivers may name other files of the same run.
Rules: docs/security-catalog.md, or `pf-render explain --catalog`.

Exit status:
  0  no errors (warnings allowed unless --deny-warnings)
  1  findings: errors (or warnings with --deny-warnings)
  2  usage or I/O error: a file that cannot be read, or whose kind cannot be told";

/// Arguments of `lint`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Files or folders: stack/Compose YAML, nginx.conf, pg_hba.conf, Redis and Sentinel configs.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// What the named files are [default: detected from name and contents].
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// What stack files are deployed with [default: swarm for `version: "3.x"` or Swarm-only keys, else compose].
    #[arg(long, value_enum)]
    target: Option<TargetArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
}

/// `--kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// A Swarm stack or Compose file.
    Stack,
    /// An nginx configuration.
    Nginx,
    /// A PostgreSQL pg_hba.conf.
    PgHba,
    /// A Redis server configuration.
    Redis,
    /// A Redis Sentinel configuration.
    Sentinel,
}

impl From<Kind> for FileKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Stack => Self::Stack,
            Kind::Nginx => Self::Nginx,
            Kind::PgHba => Self::PgHba,
            Kind::Redis => Self::Redis,
            Kind::Sentinel => Self::Sentinel,
        }
    }
}

/// `--target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    /// `docker stack deploy`.
    Swarm,
    /// `docker compose`.
    Compose,
}

/// Lints every file, prints the report, returns the outcome.
pub(crate) fn run(args: &Args) -> Outcome {
    let mut inputs = Vec::new();
    for path in &args.paths {
        let collected = if path.is_dir() {
            folder(path)
        } else {
            file(path, args.kind.map(FileKind::from))
        };
        match collected {
            Ok(mut found) => inputs.append(&mut found),
            Err(message) => {
                eprintln!("error: {message}");
                return Outcome::Failure;
            }
        }
    }
    let options = Options {
        target: args.target.map(|t| match t {
            TargetArg::Swarm => Target::Swarm,
            TargetArg::Compose => Target::Compose,
        }),
    };
    let report = pf_lint::lint(&inputs, &options);
    let text = match args.format {
        Format::Human => report.to_human(),
        Format::Json => report.to_json(),
        Format::Github => report.to_github(),
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return Outcome::Failure;
    }
    if report.errors() > 0 || (args.deny_warnings && report.warnings() > 0) {
        Outcome::Findings
    } else {
        Outcome::Ok
    }
}

/// The name a file is reported under: the path as given, with `/`.
fn name(path: &Path) -> String {
    path.to_string_lossy().trim_end_matches('/').to_owned()
}

fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// One named file: its kind is given or must be detectable.
fn file(path: &Path, kind: Option<FileKind>) -> Result<Vec<Input>, String> {
    let text = read(path)?;
    let name = name(path);
    let kind = kind.or_else(|| pf_lint::detect(&name, &text)).ok_or_else(|| {
        format!(
            "cannot tell what kind of file {name} is\n  = help: pass --kind stack|nginx|pg-hba|redis|sentinel"
        )
    })?;
    Ok(vec![Input { name, text, kind }])
}

/// Every file of a folder that the catalog reads.
fn folder(dir: &Path) -> Result<Vec<Input>, String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .map_err(|e| format!("cannot read the folder {}: {e}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        // Depth first, in name order: subfolders after the files beside them.
        for p in entries.iter().rev() {
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if p.is_dir() && !hidden {
                pending.push(p.clone());
            }
        }
        for p in entries.iter().filter(|p| p.is_file()) {
            // Binary or unreadable files are not configs.
            let Ok(text) = read(p) else { continue };
            let name = name(p);
            if let Some(kind) = pf_lint::detect(&name, &text) {
                found.push(Input { name, text, kind });
            }
        }
    }
    if found.is_empty() {
        return Err(format!(
            "no file in {} is one the catalog reads (stack/Compose YAML, nginx, pg_hba, Redis, Sentinel)",
            dir.display()
        ));
    }
    Ok(found)
}
