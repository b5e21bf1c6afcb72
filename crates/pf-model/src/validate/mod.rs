//! Validation: field rules from `#[validate]` attributes, then every
//! cross-field rule. Each rule module appends [`Finding`]s; nothing stops
//! early, so a person sees every problem in one run.

mod capacity;
mod fields;
mod images;
mod lb;
mod names;
mod network;
mod paths;
mod placement;
mod postgres;
mod redis;
mod rollout;
mod secrets;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::TopologyFile;
use crate::source::SourceMap;

/// A problem before it is located in the file.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    code: Code,
    path: String,
    message: String,
    help: String,
}

impl Finding {
    pub(crate) fn new(
        code: Code,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Self {
            code,
            path: path.into(),
            message: message.into(),
            help: help.into(),
        }
    }

    pub(crate) fn locate(self, source: &SourceMap) -> Diagnostic {
        Diagnostic {
            location: source.locate_path(&self.path),
            code: self.code,
            message: crate::diagnostic::clip(self.message),
            help: crate::diagnostic::clip(self.help),
            path: crate::diagnostic::clip(self.path),
        }
    }
}

/// "use 3", or "use a value from 1 to 3": a range of one value reads better as the value.
pub(crate) fn use_range(lo: u32, hi: u32) -> String {
    if lo >= hi {
        format!("use {lo}")
    } else {
        format!("use a value from {lo} to {hi}")
    }
}

/// Every rule over a raw topology.
pub(crate) fn run(file: &TopologyFile) -> Vec<Finding> {
    let mut out = Vec::new();
    fields::check(file, &mut out);
    names::check(file, &mut out);
    paths::check(file, &mut out);
    secrets::check(file, &mut out);
    images::check(file, &mut out);
    redis::check(file, &mut out);
    postgres::check(file, &mut out);
    lb::check(file, &mut out);
    rollout::check(file, &mut out);
    capacity::check(file, &mut out);
    placement::check(file, &mut out);
    network::check(file, &mut out);
    out
}
