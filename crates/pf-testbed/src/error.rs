//! Errors of the transformation.

/// Why a topology could not be localized.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input topology does not load or validate.
    #[error("{origin}: the topology is not valid:\n{report}")]
    InvalidInput {
        /// The file.
        origin: String,
        /// Every diagnostic, human-readable.
        report: String,
    },
    /// The image map is malformed.
    #[error("{origin}: {message}")]
    Images {
        /// The file.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The image map has no image for a role the topology needs.
    #[error("no local image for {role} in the image map (add `{key} = \"...\"`)")]
    MissingImage {
        /// What needs the image (`service backend`).
        role: String,
        /// The key to add.
        key: String,
    },
    /// The machine description is impossible.
    #[error("invalid machine: {0}")]
    Machine(String),
    /// The transformed topology no longer validates (a bug of the transformation).
    #[error("the localized topology is not valid:\n{0}")]
    InvalidOutput(String),
}
