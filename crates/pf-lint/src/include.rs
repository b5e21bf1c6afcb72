//! nginx `include`: what the caller resolved it to. The catalog is pure,
//! so reading the included files is the caller's (`pf-render lint` reads
//! them within the linted folder, never following a link); this crate
//! checks them as part of the including file, or names an include that
//! was not read.

/// One file an `include` resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedFile {
    /// Its name, as reported.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// What an `include` resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Included {
    /// These files, in the order nginx reads them (a glob may match none).
    Files(Vec<IncludedFile>),
    /// Nothing was read, and why (outside the linted folder, a link, missing).
    NotChecked(String),
}

/// Resolves the `include` directives of nginx files.
pub trait Includes {
    /// What `include PATTERN;` in the file `from` (as reported) names.
    fn resolve(&self, from: &str, pattern: &str) -> Included;
}

/// Reads nothing: every include is reported as not checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIncludes;

impl Includes for NoIncludes {
    fn resolve(&self, _from: &str, _pattern: &str) -> Included {
        Included::NotChecked("the caller reads no files".to_owned())
    }
}

/// The patterns of every `include` of an nginx configuration, in file
/// order; none when it does not parse.
pub fn nginx_includes(text: &str) -> Vec<String> {
    let Ok((top, _)) = crate::nginx::parse(text) else {
        return Vec::new();
    };
    let mut all = Vec::new();
    crate::nginx::walk(&top, &mut all);
    all.iter()
        .filter(|d| d.name == "include")
        .filter_map(|d| d.args.first().cloned())
        .collect()
}
