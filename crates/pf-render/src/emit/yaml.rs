//! Typed YAML.
