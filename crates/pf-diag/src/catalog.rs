//! Catalogs of stable codes, and the one macro that declares them.
//!
//! Every check of the product reports problems under a stable kebab-case
//! code with a severity, a one-line description and an explanation:
//! topology codes (`pf-model`), lint rules (`pf-lint`) and drill checks
//! (`pf-render drill`). Each catalog is a typed enum declared with
//! [`catalog!`](crate::catalog!), so a rule named in code is checked by the
//! compiler; a [`Diagnostic`](crate::Diagnostic) holds the catalog-neutral
//! [`DiagnosticCode`] of any of them. Codes are never renamed: CI
//! configurations filter on them and waivers name them.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::Serialize;

/// How bad a problem is. Errors fail a check; warnings do not, unless the
/// caller asks (`--deny-warnings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
// A lower level (note) may come: callers ask `Diagnostic::is_error`.
#[non_exhaustive]
pub enum Severity {
    /// The input would not work, or would not be HA.
    Error,
    /// The input works but has a weakness worth a look.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Severity {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(Self::Error),
            "warning" => Ok(Self::Warning),
            _ => Err(()),
        }
    }
}

/// Which catalog a code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
// Each new check brings its catalog.
#[non_exhaustive]
pub enum Catalog {
    /// Topology codes: `pf-render check` (`docs/diagnostics.md`).
    Topology,
    /// Lint rules: `pf-render lint` (`docs/security-catalog.md`).
    Lint,
    /// Drill checks: `pf-render drill` (`docs/drill.md`).
    Drill,
    /// Problems in a lint configuration file (`.pf-lint.toml`).
    Config,
    /// Verdicts of `pf-render plan` on a deploy (`docs/plan.md`).
    Plan,
}

impl Catalog {
    /// `topology`, `lint` or `drill`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Topology => "topology",
            Self::Lint => "lint",
            Self::Drill => "drill",
            Self::Config => "config",
            Self::Plan => "plan",
        }
    }
}

/// What a catalog says about one code. Built by [`catalog!`](crate::catalog!).
#[derive(Debug)]
pub struct Entry {
    /// The kebab-case name (`sentinel-quorum-out-of-range`).
    pub name: &'static str,
    /// The severity of problems with this code.
    pub severity: Severity,
    /// One line, no full stop: what the rule checks.
    pub description: &'static str,
    /// Why the rule exists and how to fix a finding.
    pub explanation: &'static str,
    /// The catalog it is in.
    pub catalog: Catalog,
    /// Its position in that catalog (documentation order).
    pub index: u16,
}

/// A code of any catalog: a copyable handle to its [`Entry`]. Compares
/// equal to the typed code it came from (`code == Code::TomlSyntax`).
#[derive(Clone, Copy)]
pub struct DiagnosticCode(&'static Entry);

impl DiagnosticCode {
    /// The handle of a catalog entry.
    pub const fn new(entry: &'static Entry) -> Self {
        Self(entry)
    }

    /// Everything the catalog says about the code.
    pub fn entry(self) -> &'static Entry {
        self.0
    }

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The severity of problems with this code.
    pub fn severity(self) -> Severity {
        self.0.severity
    }

    /// One line: what the rule checks.
    pub fn description(self) -> &'static str {
        self.0.description
    }

    /// Why the rule exists and how to fix a finding.
    pub fn explanation(self) -> &'static str {
        self.0.explanation
    }

    /// The catalog it is in.
    pub fn catalog(self) -> Catalog {
        self.0.catalog
    }

    fn key(self) -> (Catalog, u16) {
        (self.0.catalog, self.0.index)
    }
}

// Identity is the place in the catalogs, so codes sort in documentation
// order (topology, then lint, then drill), as the typed enums do.
impl PartialEq for DiagnosticCode {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for DiagnosticCode {}

impl Hash for DiagnosticCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for DiagnosticCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DiagnosticCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Debug for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for DiagnosticCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Declares a catalog: a typed enum of codes, each with its name,
/// severity, description and explanation, and optionally a value of
/// catalog-specific data (`with Meta`, one expression per code).
///
/// The enum gets `ALL` (documentation order), `name`, `severity`,
/// `description`, `explanation`, `code` (its [`DiagnosticCode`]),
/// `from_code`, `Display`, `FromStr`, `Serialize` (as its name), and
/// equality with [`DiagnosticCode`] both ways.
///
/// ```
/// pf_diag::catalog! {
///     /// Codes of a small check.
///     pub enum Demo in Drill;
///     /// The first.
///     First = ("demo-first", Error, "the first code", "Why it matters and how to fix it."),
/// }
/// assert_eq!(Demo::First.name(), "demo-first");
/// assert_eq!("demo-first".parse::<Demo>(), Ok(Demo::First));
/// assert!(Demo::First.code() == Demo::First);
/// ```
#[macro_export]
macro_rules! catalog {
    (
        $(#[$enum_doc:meta])*
        $vis:vis enum $Enum:ident in $catalog:ident with $Meta:ty;
        $( $(#[$doc:meta])* $variant:ident = ($name:literal, $severity:ident, $description:literal, $explanation:literal, $meta:expr), )*
    ) => {
        $crate::catalog! {
            @enum [$(#[$enum_doc])*] $vis $Enum $catalog;
            $( [$(#[$doc])*] $variant $name $severity $description $explanation; )*
        }
        #[allow(dead_code, unreachable_pub)]
        impl $Enum {
            /// The catalog-specific data of the code.
            pub fn meta(self) -> $Meta {
                match self { $( Self::$variant => $meta, )* }
            }
        }
    };
    (
        $(#[$enum_doc:meta])*
        $vis:vis enum $Enum:ident in $catalog:ident;
        $( $(#[$doc:meta])* $variant:ident = ($name:literal, $severity:ident, $description:literal, $explanation:literal), )*
    ) => {
        $crate::catalog! {
            @enum [$(#[$enum_doc])*] $vis $Enum $catalog;
            $( [$(#[$doc])*] $variant $name $severity $description $explanation; )*
        }
    };
    (
        @enum [$($enum_attr:tt)*] $vis:vis $Enum:ident $catalog:ident;
        $( [$($attr:tt)*] $variant:ident $name:literal $severity:ident $description:literal $explanation:literal; )*
    ) => {
        $($enum_attr)*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $Enum {
            $( $($attr)* $variant, )*
        }

        // The API of every catalog, whatever the enum's visibility: a
        // private catalog (tests) need not use all of it.
        #[allow(dead_code, unreachable_pub)]
        impl $Enum {
            /// Every code, in documentation order.
            pub const ALL: &'static [$Enum] = &[$($Enum::$variant,)*];

            const ENTRIES: &'static [$crate::Entry] = &[$(
                $crate::Entry {
                    name: $name,
                    severity: $crate::Severity::$severity,
                    description: $description,
                    explanation: $explanation,
                    catalog: $crate::Catalog::$catalog,
                    index: $Enum::$variant as u16,
                },
            )*];

            /// Everything the catalog says about the code.
            pub fn entry(self) -> &'static $crate::Entry {
                &Self::ENTRIES[self as usize]
            }

            /// The catalog-neutral handle a diagnostic holds.
            pub fn code(self) -> $crate::DiagnosticCode {
                $crate::DiagnosticCode::new(self.entry())
            }

            /// The typed code of a handle, when it is of this catalog.
            pub fn from_code(code: $crate::DiagnosticCode) -> Option<Self> {
                let entry = code.entry();
                if entry.catalog == $crate::Catalog::$catalog {
                    Self::ALL.get(usize::from(entry.index)).copied()
                } else {
                    None
                }
            }

            /// The kebab-case name.
            pub fn name(self) -> &'static str {
                self.entry().name
            }

            /// The severity of problems with this code.
            pub fn severity(self) -> $crate::Severity {
                self.entry().severity
            }

            /// One line: what the rule checks.
            pub fn description(self) -> &'static str {
                self.entry().description
            }

            /// Why the rule exists and how to fix a finding.
            pub fn explanation(self) -> &'static str {
                self.entry().explanation
            }
        }

        impl ::std::fmt::Display for $Enum {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $Enum {
            type Err = ();

            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|c| c.name() == s).ok_or(())
            }
        }

        impl $crate::__serde::Serialize for $Enum {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl ::std::convert::From<$Enum> for $crate::DiagnosticCode {
            fn from(code: $Enum) -> Self {
                code.code()
            }
        }

        impl ::std::cmp::PartialEq<$Enum> for $crate::DiagnosticCode {
            fn eq(&self, other: &$Enum) -> bool {
                *self == other.code()
            }
        }

        impl ::std::cmp::PartialEq<$crate::DiagnosticCode> for $Enum {
            fn eq(&self, other: &$crate::DiagnosticCode) -> bool {
                self.code() == *other
            }
        }
    };
}

/// Checks a set of catalogs: names unique across all of them, kebab-case,
/// described in one line without a full stop, explained. Returns the
/// problems, one line each (empty when all is well).
pub fn check_codes(codes: &[DiagnosticCode]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for code in codes {
        let name = code.name();
        if let Some(first) = seen.insert(name, code.catalog()) {
            problems.push(format!(
                "`{name}` is in the {} and the {} catalogs",
                first.name(),
                code.catalog().name()
            ));
        }
        if name.is_empty()
            || name.starts_with('-')
            || name.ends_with('-')
            || !name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            problems.push(format!("`{name}` is not kebab-case"));
        }
        if code.description().is_empty() || code.description().ends_with('.') {
            problems.push(format!("`{name}`: describe it in one line, no full stop"));
        }
        if code.explanation().len() <= 40 {
            problems.push(format!("`{name}`: explain why"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::catalog! {
        /// Test codes.
        enum One in Topology;
        /// A.
        A = ("code-a", Error, "a code", "An explanation that is long enough to pass."),
        /// B.
        B = ("code-b", Warning, "b code", "An explanation that is long enough to pass."),
    }

    crate::catalog! {
        /// Test codes with data.
        enum Two in Lint with u8;
        /// C.
        C = ("code-c", Error, "c code.", "short", 7),
        /// Same name as A.
        D = ("code-a", Warning, "d code", "An explanation that is long enough to pass.", 9),
    }

    #[test]
    fn typed_codes_and_handles_agree() {
        assert_eq!(One::B.code().name(), "code-b");
        assert!(One::B.code() == One::B && One::B == One::B.code());
        assert!(One::A.code() != One::B);
        assert_eq!(One::from_code(One::B.code()), Some(One::B));
        assert_eq!(Two::from_code(One::B.code()), None);
        assert_eq!(Two::D.meta(), 9);
        assert_eq!("code-b".parse::<One>(), Ok(One::B));
        // Handles sort by catalog, then documentation order.
        let mut codes = vec![Two::C.code(), One::B.code(), One::A.code()];
        codes.sort();
        assert_eq!(codes, [One::A.code(), One::B.code(), Two::C.code()]);
    }

    #[test]
    fn the_check_finds_clashes_across_catalogs() {
        let all: Vec<DiagnosticCode> = One::ALL
            .iter()
            .map(|c| c.code())
            .chain(Two::ALL.iter().map(|c| c.code()))
            .collect();
        assert_eq!(
            check_codes(&all),
            [
                "`code-c`: describe it in one line, no full stop",
                "`code-c`: explain why",
                "`code-a` is in the topology and the lint catalogs",
            ]
        );
    }
}
