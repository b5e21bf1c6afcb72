//! GitHub Actions workflow commands: one annotation per diagnostic.

use crate::diagnostic::Diagnostic;
use crate::text::printable;

impl Diagnostic {
    /// A GitHub Actions workflow command that annotates the line in a pull request.
    pub fn to_github(&self) -> String {
        let loc = &self.location;
        let data = escape_data(&printable(&format!(
            "{} (help: {})",
            self.message, self.help
        )));
        format!(
            "::{} file={},line={},col={},title={}::{data}",
            self.severity(),
            escape_property(&loc.file),
            loc.line,
            loc.column,
            escape_property(self.code.name()),
        )
    }
}

// Escaping rules of GitHub workflow commands (actions/toolkit `command.ts`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
