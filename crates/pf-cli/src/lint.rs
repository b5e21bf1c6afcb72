//! `pf-render lint`: check deployable files (hand-written or generated)
//! against the security and HA catalog of `pf-lint`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use pf_lint::{FileKind, Input, Options, Target};

use crate::cli::Format;
use crate::exit::Outcome;
use crate::output::{Stream, colored, emit, error, note, quiet, shown};
use crate::walk::{self, Tree};

pub(crate) const HELP: &str = "\
A folder is searched (recursively, in name order, hidden folders skipped) for the files the
catalog reads; other files are skipped. Links inside a folder are never followed: each is named in
a note on stderr (name a linked file on the command line to lint it). A stack file's `x-pf-lint`
waivers may name other files of the same run.
Rules: docs/security-catalog.md, or `pf-render explain --catalog`.

Exit status:
  0  no errors (warnings allowed unless --deny-warnings)
  1  findings: errors (or warnings with --deny-warnings)
  2  usage or I/O error: a file that cannot be read, or whose kind cannot be told";

/// Arguments of `lint`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Files or folders: stack/Compose YAML, nginx.conf, pg_hba.conf, Redis and Sentinel configs; `-` reads one file from standard input.
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
    /// The name of the file read from `-`, for locations and kind detection [default: <stdin>].
    #[arg(long, value_name = "NAME")]
    stdin_filename: Option<String>,
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
    if args.paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        error("error: `-` (standard input) can be given once");
        return Outcome::Failure;
    }
    let mut inputs = Vec::new();
    for path in &args.paths {
        let collected = if path.as_os_str() == "-" {
            stdin(
                args.stdin_filename.as_deref(),
                args.kind.map(FileKind::from),
            )
        } else if path.is_dir() {
            folder(path)
        } else {
            file(path, args.kind.map(FileKind::from))
        };
        match collected {
            Ok(mut found) => inputs.append(&mut found),
            Err(message) => {
                error(&format!("error: {message}"));
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
        Format::Human => report.human(colored(Stream::Stdout), quiet()),
        Format::Json => report.to_json(),
        Format::Github => report.to_github(),
        Format::Sarif => report.to_sarif(env!("CARGO_PKG_VERSION")),
        Format::Junit => report.to_junit(args.deny_warnings),
    };
    let outcome = if report.errors() > 0 || (args.deny_warnings && report.warnings() > 0) {
        Outcome::Findings
    } else {
        Outcome::Ok
    };
    emit(&text, outcome)
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
    input(name(path), text, kind)
}

/// The file on standard input, named `name` (`--stdin-filename`), which
/// also tells its kind when `--kind` does not.
fn stdin(name: Option<&str>, kind: Option<FileKind>) -> Result<Vec<Input>, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| "standard input is not UTF-8 text".to_owned())?;
    input(
        name.unwrap_or(crate::load::STDIN_LABEL).to_owned(),
        text,
        kind,
    )
}

fn input(name: String, text: String, kind: Option<FileKind>) -> Result<Vec<Input>, String> {
    let kind = kind.or_else(|| pf_lint::detect(&name, &text)).ok_or_else(|| {
        format!(
            "cannot tell what kind of file {} is\n  = help: pass --kind stack|nginx|pg-hba|redis|sentinel{}",
            shown(&name),
            if name == crate::load::STDIN_LABEL {
                ", or name the file with --stdin-filename"
            } else {
                ""
            }
        )
    })?;
    Ok(vec![Input { name, text, kind }])
}

/// Every file of a folder that the catalog reads, found with
/// [`crate::walk`]: hidden folders are not entered, and a link is never
/// followed (a note on stderr names it; the exit code does not change).
fn folder(dir: &Path) -> Result<Vec<Input>, String> {
    let not_hidden = |path: &str| {
        !path
            .rsplit('/')
            .next()
            .is_some_and(|name| name.starts_with('.'))
    };
    let tree = Tree::read(dir, &not_hidden)
        .map_err(|e| format!("cannot read the folder {}: {e}", dir.display()))?;
    let mut found = Vec::new();
    for entry in &tree.entries {
        let name = name(&dir.join(&entry.path));
        match entry.meta.kind {
            walk::Kind::File => {
                // Binary or unreadable files are not configs.
                let Ok(text) = read_in(&tree, &entry.path) else {
                    note(&format!("{}: skipped, not UTF-8 text", shown(&name)));
                    continue;
                };
                match pf_lint::detect(&name, &text) {
                    Some(kind) => found.push(Input { name, text, kind }),
                    None => note(&format!(
                        "{}: skipped, not a kind of file the catalog reads",
                        shown(&name)
                    )),
                }
            }
            walk::Kind::Symlink => error(&format!(
                "note: {}: a symbolic link, not followed (links inside a folder are never read; name the file to lint it)",
                shown(&name)
            )),
            walk::Kind::Dir | walk::Kind::Other => {}
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

fn read_in(tree: &Tree, path: &str) -> Result<String, ()> {
    let mut bytes = Vec::new();
    tree.open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|_| ())?;
    String::from_utf8(bytes).map_err(|_| ())
}
