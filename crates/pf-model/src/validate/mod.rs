//! Validation: field rules from `#[validate]` attributes, then every
//! cross-field rule. Each rule module appends [`Finding`]s, located in the file
//! afterwards; nothing stops
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

use crate::model::TopologyFile;

/// A problem before it is located in the file.
pub(crate) use pf_diag::Finding;

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
