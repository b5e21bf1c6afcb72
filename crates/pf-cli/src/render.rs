//! `pf-render swarm|compose FILE`: validate, render, write or compare.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use pf_render::Target;

use crate::exit::Outcome;
use crate::load::valid_topology;
use crate::output::{emit, error, error_chain, quiet, shown};
use crate::{drift, write};

/// Options of a render command.
pub(crate) struct Options {
    pub(crate) file: PathBuf,
    pub(crate) target: Target,
    pub(crate) out: Option<PathBuf>,
    pub(crate) check: Option<PathBuf>,
    pub(crate) deny_warnings: bool,
    pub(crate) force: bool,
}

/// The default output folder: `out/<file stem>/<target>`, or a message when
/// the stem would not be one folder inside `out/` (`...toml` has the stem
/// `..`, which once made `out/../swarm` replace `./swarm`).
fn default_out(file: &Path, target: &Target) -> Result<PathBuf, String> {
    let stem = file.file_stem().unwrap_or_default();
    let mut parts = Path::new(stem).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(stem)), None) => {
            Ok(PathBuf::from("out").join(stem).join(target.name()))
        }
        _ => Err(format!(
            "error: no default output folder for {}: its name gives no folder name inside out/\n  = help: name the folder with -o DIR",
            shown(&file.to_string_lossy())
        )),
    }
}

pub(crate) fn run(opts: &Options) -> Outcome {
    // Where the bundle goes, decided before anything is read: a bad
    // default is a usage error.
    let dir = match (&opts.check, &opts.out) {
        (Some(checked), _) => Err(checked),
        (None, Some(out)) => Ok(out.clone()),
        (None, None) => match default_out(&opts.file, &opts.target) {
            Ok(d) => Ok(d),
            Err(message) => {
                error(&message);
                return Outcome::Failure;
            }
        },
    };
    let topology = match valid_topology(
        &opts.file,
        opts.deny_warnings,
        "nothing was written: fix the topology first",
    ) {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let bundle = match pf_render::render(&topology, opts.target.clone()) {
        Ok(b) => b,
        Err(e) => {
            error(&error_chain(&e));
            return Outcome::Failure;
        }
    };
    let dir = match dir {
        Ok(dir) => dir,
        Err(checked) => return check(&bundle, checked, opts),
    };
    let written = write::replace_dir(&bundle, &dir, opts.force);
    if quiet() && written.is_ok() {
        return Outcome::Ok;
    }
    match written {
        Ok(write::Written::Unchanged) => emit(
            &format!(
                "{} files for {} in {}: unchanged, nothing written\n",
                bundle.artifacts().len(),
                opts.target,
                dir.display()
            ),
            Outcome::Ok,
        ),
        Ok(write::Written::Replaced) => {
            // One write for the whole list, not one per line.
            let mut text = String::new();
            for a in bundle.artifacts() {
                let _ = writeln!(
                    text,
                    "  wrote {}/{} ({} bytes)",
                    dir.display(),
                    a.path,
                    a.contents.len()
                );
            }
            let _ = writeln!(
                text,
                "{} files for {} in {}",
                bundle.artifacts().len(),
                opts.target,
                dir.display()
            );
            emit(&text, Outcome::Ok)
        }
        Err(write::WriteError::Foreign { path, refusal }) => {
            error(&format!(
                "error: refusing to replace {}: it holds files pf-render did not write, or edited since\n{}\nnothing was written",
                path.display(),
                refusal.details()
            ));
            Outcome::Failure
        }
        Err(e) => {
            error(&error_chain(&e));
            Outcome::Failure
        }
    }
}

/// `--check DIR`: compare and report.
fn check(bundle: &pf_render::Bundle, checked: &Path, opts: &Options) -> Outcome {
    match drift::diff(bundle, checked) {
        Ok(report) if report.is_empty() => emit(
            &format!(
                "{} is up to date ({} files)\n",
                checked.display(),
                bundle.artifacts().len()
            ),
            Outcome::Ok,
        ),
        Ok(report) => emit(
            &format!(
                "{report}{} is out of date: run `pf-render {} {} -o {}` and commit the result\n",
                checked.display(),
                opts.target,
                opts.file.display(),
                checked.display()
            ),
            Outcome::Findings,
        ),
        Err(e) => {
            error(&format!(
                "error: cannot read {}\n  caused by: {e}",
                checked.display()
            ));
            Outcome::Failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_folders_stay_in_out() {
        let ok = |f: &str| default_out(Path::new(f), &Target::Swarm).ok();
        assert_eq!(ok("topologies/prod.toml"), Some("out/prod/swarm".into()));
        assert_eq!(ok(".hidden.toml"), Some("out/.hidden/swarm".into()));
        assert_eq!(ok("a.b.toml"), Some("out/a.b/swarm".into()));
        for bad in ["...toml", "x/...toml", "..", ".", "/", ""] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }
}
