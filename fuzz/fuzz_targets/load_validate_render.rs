//! Valid topologies through the renderer: both targets render, a second
//! rendering is byte-identical, and no secret value reaches an artifact or
//! the plan `pf-render inspect` prints.
//!
//! Secret canary: before the first input, every secret the seed topologies
//! declare (and the variables the HA guide names) is set in the process
//! environment to a canary value, as an operator's shell would have them.
//! Rendering is pure, so no artifact may ever contain the canary, unless the
//! input itself spells it out.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use pf_render::Target;

const CANARY: &str = "pf-fuzz-canary-7c1e94b2";

const SECRET_VARIABLES: &[&str] = &[
    "POSTGRES_PASSWORD",
    "POSTGRES_REPLICATION_PASSWORD",
    "REDIS_PASSWORD",
    "SECRET_KEY",
    "GEMINI_API_KEY",
    "GRAFANA_ADMIN_PASSWORD",
    "postgres_password",
    "postgres_replication_password",
    "redis_password",
    "secret_key",
    "gemini_api_key",
    "grafana_admin_password",
    "tls_private_key",
    "tls_certificate",
];

static CANARIES: Once = Once::new();

fn plant_canaries() {
    CANARIES.call_once(|| {
        for name in SECRET_VARIABLES {
            // SAFETY: runs once, before any other thread of this process
            // reads the environment (libFuzzer runs inputs on one thread).
            unsafe {
                std::env::set_var(name, CANARY);
                std::env::set_var(format!("{name}_FILE"), format!("/tmp/{CANARY}"));
            }
        }
    });
}

fuzz_target!(|data: &[u8]| {
    plant_canaries();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = pf_model::from_str(text, "fuzz.toml") else {
        return;
    };
    let Some(topology) = loaded.validate().topology else {
        return;
    };
    let input_has_canary = text.contains(CANARY);
    for target in [Target::Swarm, Target::Compose, Target::local()] {
        let plan = serde_json::to_string(&pf_render::plan(&topology, target.clone()))
            .unwrap_or_else(|e| panic!("the plan for {target} does not serialize: {e}"));
        assert!(
            input_has_canary || !plan.contains(CANARY),
            "{target}: the plan contains the secret canary"
        );
        let first = pf_render::render(&topology, target.clone())
            .unwrap_or_else(|e| panic!("a valid topology failed to render for {target}: {e}"));
        let second = pf_render::render(&topology, target.clone()).expect("rendered once already");
        assert_eq!(first, second, "two renderings for {target} differ");
        assert!(!first.artifacts().is_empty());
        if !input_has_canary {
            for a in first.artifacts() {
                assert!(
                    !a.contents.contains(CANARY),
                    "{target}: {} contains the secret canary",
                    a.path
                );
            }
        }
    }
});
