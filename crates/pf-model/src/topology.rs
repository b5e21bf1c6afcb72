//! The valid topology: only [`TopologyFile::validate`] builds one.

use crate::load::Loaded;
use crate::model::TopologyFile;
use crate::source::SourceMap;
use crate::validate;
use pf_diag::{Diagnostic, Severity};

/// A topology that passed every field and cross-field rule with no error.
/// Renderers take this type, so they never see unchecked input.
#[derive(Debug, Clone)]
pub struct Topology {
    spec: TopologyFile,
    origin: String,
}

impl Topology {
    /// The validated settings.
    pub fn spec(&self) -> &TopologyFile {
        &self.spec
    }

    /// The file the topology came from, as given (`topologies/prod.toml`);
    /// rendered files name it in their header.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// This topology with `edit` applied, validated again; it keeps its
    /// origin (diagnostics point into the edited settings' TOML). The
    /// failover drill uses it the way a person edits the file: another
    /// `postgres.primary`, then a new render.
    pub fn edited(&self, edit: impl FnOnce(&mut TopologyFile)) -> Checked {
        let mut spec = self.spec.clone();
        edit(&mut spec);
        let text = toml::to_string(&spec).unwrap_or_default();
        let source = SourceMap::new(&text, &self.origin);
        spec.validate_with(&source)
    }
}

/// The result of validation: every diagnostic, and the topology when no
/// diagnostic is an error.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The valid topology, present exactly when there is no error.
    pub topology: Option<Topology>,
    /// Every problem found, errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Number of diagnostics of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == severity)
            .count()
    }
}

impl Loaded {
    /// Validates the loaded topology; diagnostics point into its file.
    pub fn validate(self) -> Checked {
        self.file.validate_with(&self.source)
    }
}

impl TopologyFile {
    /// Validates a topology built in code. Diagnostics point into its TOML
    /// serialization, labelled `<in-memory>`.
    pub fn validate(self) -> Checked {
        let text = toml::to_string(&self).unwrap_or_default();
        let source = SourceMap::new(&text, "<in-memory>");
        self.validate_with(&source)
    }

    /// Validates against the source the topology was read from.
    pub fn validate_with(self, source: &SourceMap) -> Checked {
        let mut diagnostics: Vec<Diagnostic> = validate::run(&self)
            .into_iter()
            .map(|f| {
                let location = source.locate_path(&f.path);
                f.at(location)
            })
            .collect();
        diagnostics.sort_by(|a, b| {
            (a.location.line, a.location.column, a.code).cmp(&(
                b.location.line,
                b.location.column,
                b.code,
            ))
        });
        diagnostics.dedup();
        let ok = !diagnostics.iter().any(Diagnostic::is_error);
        Checked {
            topology: ok.then(|| Topology {
                spec: self,
                origin: source.origin().to_owned(),
            }),
            diagnostics,
        }
    }
}
