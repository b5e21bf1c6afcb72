//! Examples of library use; see `examples/`. Run one with
//! `cargo run -p pf-examples --example validate_in_code`.
