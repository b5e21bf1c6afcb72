//! Any bytes through the loader and the validator: never a panic, and every
//! diagnostic can be printed (locating a span in arbitrary text is where an
//! off-by-one in a char boundary would show).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 is rejected by `pf_model::load` before parsing; the
    // lossy text still goes through the parser, as a file with a bad byte
    // replaced would.
    let text = String::from_utf8_lossy(data);
    match pf_model::from_str(&text, "fuzz.toml") {
        Ok(loaded) => {
            let checked = loaded.validate();
            for d in &checked.diagnostics {
                let _ = d.to_human();
                let _ = d.to_github();
            }
            // A topology is built exactly when there is no error.
            let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
            assert_eq!(checked.topology.is_some(), errors == 0);
        }
        Err(pf_model::LoadError::Invalid { diagnostics, .. }) => {
            assert!(!diagnostics.is_empty(), "an invalid file has a diagnostic");
            for d in &diagnostics {
                let _ = d.to_human();
                let _ = d.to_github();
            }
        }
        // `from_str` does no I/O: every other error is a bug.
        Err(e) => panic!("from_str failed without diagnostics: {e}"),
    }
});
