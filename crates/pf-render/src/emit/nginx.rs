//! Placeholder until the nginx artifacts land.

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;

/// Templates of this area.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[];

pub(crate) fn emit(_cx: &Cx<'_>, _bundle: &mut Bundle) -> Result<(), RenderError> {
    Ok(())
}
