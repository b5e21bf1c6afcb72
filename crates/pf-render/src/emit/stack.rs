//! Placeholder.

use super::Cx;
use crate::bundle::Bundle;
use crate::error::RenderError;

pub(crate) fn emit(_cx: &Cx<'_>, _bundle: &mut Bundle) -> Result<(), RenderError> {
    Ok(())
}
