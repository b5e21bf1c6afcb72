//! Rendering errors. Every one is a bug in the generator, not in the
//! topology: validation already rejected bad topologies.

/// A rendering failure. The help of each variant says to report it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A template failed to render.
    #[error(
        "template `{template}` failed to render (this is a bug in pf-render; please report it)"
    )]
    Template {
        /// The template's name.
        template: String,
        /// What minijinja said, with the template line.
        #[source]
        source: minijinja::Error,
    },
    /// A service mounts a bundle file that no emitter wrote.
    #[error(
        "`{artifact}` is mounted but was not rendered (this is a bug in pf-render; please report it)"
    )]
    MissingArtifact {
        /// The bundle path.
        artifact: String,
    },
    /// A typed YAML document holds something the YAML writer does not write.
    #[error(
        "`{artifact}` failed to serialize as YAML: {reason} (this is a bug in pf-render; please report it)"
    )]
    Yaml {
        /// The artifact being written.
        artifact: String,
        /// What the document holds that cannot be written.
        reason: String,
    },
    /// The manifest failed to serialize as JSON.
    #[error(
        "`{artifact}` failed to serialize as JSON (this is a bug in pf-render; please report it)"
    )]
    Json {
        /// The artifact being written.
        artifact: String,
        /// What the serializer said.
        #[source]
        source: serde_json::Error,
    },
}
