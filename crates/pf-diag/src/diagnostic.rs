//! A problem, before and after it is located in a file.
//!
//! Rules produce a [`Finding`]: a code, the key path or directive it is
//! about, what is wrong and how to fix it. Once the file it came from is
//! known, [`Finding::at`] places it and gives a [`Diagnostic`], which is
//! what every output format prints.

use serde::Serialize;

use crate::catalog::{DiagnosticCode, Severity};
use crate::text::clip;

/// Where a problem is: file, 1-based line and column, and the line's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file (as given on the command line) or a label such as `<stdin>`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Characters to underline, at least 1.
    #[serde(skip)]
    pub width: usize,
    /// The text of the line, for the caret excerpt.
    #[serde(skip)]
    pub source_line: String,
}

impl Location {
    /// The location of the byte span `span` of `text`, read from `file`.
    /// For small texts (configuration files); topology files have an
    /// indexed source map.
    pub fn of_span(file: &str, text: &str, span: std::ops::Range<usize>) -> Self {
        let mut start = span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let mut end = span.end.clamp(start, line_end);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            file: file.to_owned(),
            line: text[..start].matches('\n').count() + 1,
            column: text[line_start..start].chars().count() + 1,
            width: text[start..end].chars().count().max(1),
            source_line: text[line_start..line_end].trim_end_matches('\r').to_owned(),
        }
    }
}

/// A problem a rule found, not yet located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule that found it.
    pub code: DiagnosticCode,
    /// The key path (`redis.sentinel.quorum`, `services.web.user`) or
    /// directive it is about; empty for the whole file.
    pub path: String,
    /// What is wrong, lower-case, naming the values involved.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// The stack service it is about, if any (waivers can name it).
    pub service: Option<String>,
}

impl Finding {
    /// A finding about `path`.
    pub fn new(
        code: impl Into<DiagnosticCode>,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            path: path.into(),
            message: message.into(),
            help: help.into(),
            service: None,
        }
    }

    /// The same finding, about a stack service.
    pub fn in_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The located diagnostic. Message, help and path are clipped: they
    /// quote values, and a value can be megabytes long.
    pub fn at(self, location: Location) -> Diagnostic {
        Diagnostic {
            code: self.code,
            severity: self.code.severity(),
            message: clip(self.message),
            help: clip(self.help),
            path: clip(self.path),
            service: self.service,
            location,
        }
    }
}

/// One located problem: a stable code, what is wrong, how to fix it, and
/// where. Every command prints these, in every format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule or loading step that found it.
    pub code: DiagnosticCode,
    /// Its severity: the code's, unless a lint configuration overrides it.
    pub severity: Severity,
    /// What is wrong, lower-case, naming the values involved.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// The key path or directive it is about; empty for the whole file.
    pub path: String,
    /// The stack service it is about, if any.
    pub service: Option<String>,
    /// Where it is.
    pub location: Location,
}

impl Diagnostic {
    /// Its severity (see [`Diagnostic::severity`](#structfield.severity)).
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// JSON form: one flat object per diagnostic.
impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Diagnostic", 9)?;
        st.serialize_field("file", &self.location.file)?;
        st.serialize_field("line", &self.location.line)?;
        st.serialize_field("column", &self.location.column)?;
        st.serialize_field("severity", &self.severity())?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("help", &self.help)?;
        st.serialize_field("path", &self.path)?;
        if let Some(service) = &self.service {
            st.serialize_field("service", service)?;
        }
        st.end()
    }
}
