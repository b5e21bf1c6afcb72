//! `pf-render lint`: check deployable files (hand-written or generated)
//! against the security and HA catalog of `pf-lint`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use pf_lint::{FileKind, Input, Options, Rule, Target};

use crate::cli::Format;
use crate::exit::Outcome;
use crate::lint_config::Configs;
use crate::lint_includes::FolderIncludes;
use crate::output::{Stream, colored, emit, error, note, quiet, shown};
use crate::walk::{self, Tree};

pub(crate) const HELP: &str = "\
A folder is searched (recursively, in name order, hidden folders skipped) for the files the
catalog reads; other files are skipped. Links inside a folder are never followed: each is named in
a note on stderr (name a linked file on the command line to lint it). A stack file's `x-pf-lint`
waivers may name other files of the same run. nginx `include`s are followed within the linted folder
(never through a link); others are named (`nginx-include-not-checked`).
Configuration: the nearest .pf-lint.toml in a linted path's folder or above (ignore, exclude,
per-file-ignores, severity; docs/ci.md), or --config FILE.
Rules: docs/security-catalog.md, or `pf-render explain --catalog`.

Exit status:
  0  no errors (warnings allowed unless --deny-warnings)
  1  findings: errors (or warnings with --deny-warnings)
  2  usage or I/O error: a file that cannot be read, or whose kind cannot be told, or an invalid
     lint configuration";

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
    /// The lint configuration [default: the nearest .pf-lint.toml in the linted path's folder or above].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Switch a rule off for every file (repeatable).
    #[arg(long, value_name = "RULE", value_parser = parse_rule)]
    ignore: Vec<Rule>,
    /// Do not lint files matching this glob, relative to the current folder (repeatable; `**` crosses folders).
    #[arg(long, value_name = "GLOB", value_parser = parse_glob)]
    exclude: Vec<Glob>,
}

/// A `--exclude` glob.
#[derive(Debug, Clone)]
pub(crate) struct Glob(globset::GlobMatcher);

fn parse_rule(s: &str) -> Result<Rule, String> {
    s.parse::<Rule>().map_err(|()| {
        let names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        match pf_diag::closest(s, &names) {
            Some(close) => format!("unknown rule `{s}`: did you mean `{close}`?"),
            None => format!("unknown rule `{s}`: `pf-render explain --catalog` lists every rule"),
        }
    })
}

fn parse_glob(s: &str) -> Result<Glob, String> {
    pf_lint::glob(s)
        .map(Glob)
        .map_err(|e| format!("not a glob: {e}"))
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
    let Ok(mut configs) = Configs::new(args.config.as_deref(), args.ignore.clone()) else {
        return Outcome::Failure;
    };
    let includes = FolderIncludes::new(configs.cwd());
    // Each input with the configuration that applies to it.
    let mut inputs: Vec<Input> = Vec::new();
    let mut config_of: Vec<(String, usize)> = Vec::new();
    for path in &args.paths {
        let kind = args.kind.map(FileKind::from);
        let (collected, located_at, is_dir) = if path.as_os_str() == "-" {
            let name = args.stdin_filename.as_deref();
            let at = PathBuf::from(name.unwrap_or(crate::load::STDIN_LABEL));
            (stdin(name, kind), at, false)
        } else if path.is_dir() {
            (folder(path), path.clone(), true)
        } else {
            (file(path, kind), path.clone(), false)
        };
        let found = match collected {
            Ok(found) => found,
            Err(message) => {
                error(&format!("error: {message}"));
                return Outcome::Failure;
            }
        };
        let Ok(config) = configs.for_path(&located_at, is_dir) else {
            return Outcome::Failure;
        };
        for (input, root, rel) in found {
            let excluded_by = if configs.get(config).excludes(&input.name, configs.cwd()) {
                Some("the lint configuration")
            } else if excluded(&args.exclude, &input.name, configs.cwd()) {
                Some("--exclude")
            } else {
                None
            };
            if let Some(by) = excluded_by {
                note(&format!("{}: excluded by {by}", shown(&input.name)));
                continue;
            }
            includes.add(&input.name, &root, &rel);
            config_of.push((input.name.clone(), config));
            inputs.push(input);
        }
    }
    let mut options = Options::default();
    options.target = args.target.map(|t| match t {
        TargetArg::Swarm => Target::Swarm,
        TargetArg::Compose => Target::Compose,
    });
    let mut report = pf_lint::lint_with(&inputs, &options, &includes);
    let lookup = |file: &str| {
        config_of
            .iter()
            .find(|(name, _)| name == file)
            .map(|(_, i)| configs.get(*i))
    };
    report.apply_config(&lookup, configs.cwd());
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

/// True when a `--exclude` glob matches `file` (relative to the current folder).
fn excluded(globs: &[Glob], file: &str, cwd: &Path) -> bool {
    let path = pf_lint::normalize(&cwd.join(file));
    let Ok(rel) = path.strip_prefix(pf_lint::normalize(cwd)) else {
        return false;
    };
    let rel = rel.to_string_lossy();
    globs.iter().any(|g| g.0.is_match(rel.as_ref()))
}

/// The name a file is reported under: the path as given, with `/`.
fn name(path: &Path) -> String {
    path.to_string_lossy().trim_end_matches('/').to_owned()
}

fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// An input, the folder its nginx includes may read, and its path there.
type Found = (Input, PathBuf, String);

/// The folder of a named file (its includes stay in it) and its name there.
fn placed(path: &Path) -> (PathBuf, String) {
    let root = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let rel = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (root, rel)
}

/// One named file: its kind is given or must be detectable.
fn file(path: &Path, kind: Option<FileKind>) -> Result<Vec<Found>, String> {
    let text = read(path)?;
    let (root, rel) = placed(path);
    Ok(vec![(input(name(path), text, kind)?, root, rel)])
}

/// The file on standard input, named `name` (`--stdin-filename`), which
/// also tells its kind when `--kind` does not.
fn stdin(name: Option<&str>, kind: Option<FileKind>) -> Result<Vec<Found>, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| "standard input is not UTF-8 text".to_owned())?;
    let shown_as = name.unwrap_or(crate::load::STDIN_LABEL);
    let (root, rel) = placed(Path::new(shown_as));
    Ok(vec![(input(shown_as.to_owned(), text, kind)?, root, rel)])
}

fn input(name: String, text: String, kind: Option<FileKind>) -> Result<Input, String> {
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
    Ok(Input { name, text, kind })
}

/// Every file of a folder that the catalog reads, found with
/// [`crate::walk`]: hidden folders are not entered, and a link is never
/// followed (a note on stderr names it; the exit code does not change).
fn folder(dir: &Path) -> Result<Vec<Found>, String> {
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
                    Some(kind) => found.push((
                        Input { name, text, kind },
                        dir.to_path_buf(),
                        entry.path.clone(),
                    )),
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
