//! `pf-render swarm|compose FILE`: validate, render, write or compare.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use pf_model::LoadError;
use pf_render::Target;

use crate::check::error_chain;
use crate::exit::Outcome;
use crate::{drift, write};

/// Options of a render command.
pub(crate) struct Options {
    pub(crate) file: PathBuf,
    pub(crate) target: Target,
    pub(crate) out: Option<PathBuf>,
    pub(crate) check: Option<PathBuf>,
    pub(crate) deny_warnings: bool,
}

/// The default output folder: `out/<file stem>/<target>`.
fn default_out(file: &Path, target: Target) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "topology".to_owned());
    PathBuf::from("out").join(stem).join(target.name())
}

pub(crate) fn run(opts: &Options) -> Outcome {
    let loaded = match pf_model::load(&opts.file) {
        Ok(l) => l,
        Err(LoadError::Invalid { diagnostic }) => {
            eprintln!("{}\n", diagnostic.to_human());
            eprintln!("nothing was written: fix the topology first");
            return Outcome::Findings;
        }
        Err(e) => {
            eprintln!("{}", error_chain(&e));
            return Outcome::Failure;
        }
    };
    let checked = loaded.validate();
    for d in &checked.diagnostics {
        eprintln!("{}\n", d.to_human());
    }
    let warnings = checked.diagnostics.iter().filter(|d| !d.is_error()).count();
    let topology = match checked.topology {
        Some(t) if !(opts.deny_warnings && warnings > 0) => t,
        _ => {
            eprintln!("nothing was written: fix the topology first");
            return Outcome::Findings;
        }
    };
    let bundle = match pf_render::render(&topology, opts.target.clone()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}", error_chain(&e));
            return Outcome::Failure;
        }
    };
    if let Some(dir) = &opts.check {
        return match drift::diff(&bundle, dir) {
            Ok(report) if report.is_empty() => {
                println!(
                    "{} is up to date ({} files)",
                    dir.display(),
                    bundle.artifacts().len()
                );
                Outcome::Ok
            }
            Ok(report) => {
                let mut out = std::io::stdout().lock();
                let _ = write!(out, "{report}");
                let _ = writeln!(
                    out,
                    "{} is out of date: run `pf-render {} {} -o {}` and commit the result",
                    dir.display(),
                    opts.target,
                    opts.file.display(),
                    dir.display()
                );
                Outcome::Findings
            }
            Err(e) => {
                eprintln!("error: cannot read {}\n  caused by: {e}", dir.display());
                Outcome::Failure
            }
        };
    }
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out(&opts.file, opts.target.clone()));
    match write::replace_dir(&bundle, &dir) {
        Ok(write::Written::Unchanged) => {
            println!(
                "{} files for {} in {}: unchanged, nothing written",
                bundle.artifacts().len(),
                opts.target,
                dir.display()
            );
            Outcome::Ok
        }
        Ok(write::Written::Replaced) => {
            // One write for the whole list, not one per line.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for a in bundle.artifacts() {
                let _ = writeln!(
                    out,
                    "  wrote {}/{} ({} bytes)",
                    dir.display(),
                    a.path,
                    a.contents.len()
                );
            }
            let _ = writeln!(
                out,
                "{} files for {} in {}",
                bundle.artifacts().len(),
                opts.target,
                dir.display()
            );
            let _ = out.flush();
            Outcome::Ok
        }
        Err(e) => {
            eprintln!("{}", error_chain(&e));
            Outcome::Failure
        }
    }
}
