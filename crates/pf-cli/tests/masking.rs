//! Diagnostics never print a secret value: the source line of a human
//! diagnostic masks values of secret-like keys and URL passwords, and no
//! format puts them in messages.

use std::process::Command;

const PROD: &str = include_str!("../../../topologies/prod.toml");

#[test]
fn secret_values_are_masked_in_every_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = PROD.replacen(
        "environment = { VITE_API_URL = \"https://promptforge.example.com\" }",
        "environment = { VITE_API_URL = \"https://promptforge.example.com\", DB_PASSWORD = \"hunter2-value\" }",
        1,
    );
    // A second service line with a URL password.
    let text = text.replacen(
        "workers = 2",
        "workers = 2\nenvironment = { ANALYTICS_URL = \"postgresql://reader:pw-value@analytics/db\" }",
        1,
    );
    std::fs::write(dir.path().join("t.toml"), text).expect("write");
    for format in ["human", "github", "json"] {
        let output = Command::new(env!("CARGO_BIN_EXE_pf-render"))
            .args(["check", "--format", format, "t.toml"])
            .current_dir(dir.path())
            .output()
            .expect("pf-render runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{format}: {stdout}{stderr}");
        assert!(
            stdout.contains("secret-in-environment") && stdout.contains("password-in-url"),
            "{format}: both findings expected:\n{stdout}"
        );
        for secret in ["hunter2-value", "pw-value"] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{format} prints the secret `{secret}`:\n{stdout}{stderr}"
            );
        }
        if format == "human" {
            assert!(
                stdout.contains("DB_PASSWORD = \"*************\""),
                "{stdout}"
            );
            assert!(stdout.contains("reader:********@analytics"), "{stdout}");
        }
    }
}
