//! The first screen of the repository's README shows real things, kept
//! current here: an excerpt of `topologies/prod.toml`, what `pf-render
//! check` prints for a mistake in it, the files of its Swarm bundle, and
//! the Mermaid diagram the bundle's own README draws. Each is between
//! `<!-- generated: NAME -->` and `<!-- end: NAME -->`; `PF_UPDATE_DOCS=1
//! cargo test -p pf-cli --test readme` rewrites them (read the diff).

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn prod() -> String {
    std::fs::read_to_string(root().join("topologies/prod.toml")).expect("prod.toml")
}

fn fenced(lang: &str, body: &str) -> String {
    format!("```{lang}\n{}\n```", body.trim_end_matches('\n'))
}

/// `[redis]` and `[redis.sentinel]`: where the mistake below is made.
fn topology() -> String {
    let prod = prod();
    let lines: Vec<&str> = prod.lines().collect();
    let start = lines.iter().position(|l| *l == "[redis]").expect("[redis]");
    let sentinel = lines
        .iter()
        .position(|l| *l == "[redis.sentinel]")
        .expect("[redis.sentinel]");
    let end = sentinel
        + lines[sentinel..]
            .iter()
            .position(|l| l.is_empty())
            .expect("a blank line after [redis.sentinel]");
    fenced("toml", &lines[start..end].join("\n"))
}

/// `pf-render check topologies/prod.toml` with `quorum = 4`, as a terminal
/// without color shows it.
fn check() -> String {
    let broken = support::edit(&prod(), "quorum = 2", "quorum = 4");
    let mut child = support::pf()
        .args([
            "check",
            "--color",
            "never",
            "-",
            "--stdin-filename",
            "topologies/prod.toml",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(broken.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(support::code(&out), 1, "{}", support::stderr(&out));
    assert_eq!(support::stderr(&out), "");
    fenced(
        "console",
        &format!(
            "$ pf-render check topologies/prod.toml\n{}",
            support::stdout(&out)
        ),
    )
}

fn swarm_bundle() -> pf_render::Bundle {
    let topology = pf_model::from_str(&prod(), "topologies/prod.toml")
        .expect("loads")
        .validate()
        .topology
        .expect("valid");
    pf_render::render(&topology, pf_render::Target::Swarm).expect("renders")
}

/// The bundle's files, one line per folder.
fn bundle() -> String {
    let bundle = swarm_bundle();
    let mut folders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in bundle.artifacts() {
        let (folder, file) = match a.path.rsplit_once('/') {
            Some((folder, file)) => (format!("{folder}/"), file.to_owned()),
            None => (String::new(), a.path.clone()),
        };
        folders.entry(folder).or_default().push(file);
    }
    // `out/prod/swarm/` and its files, then each folder indented with its
    // files, wrapped at 80 columns under the first one.
    let names: Vec<String> = folders
        .keys()
        .map(|f| {
            if f.is_empty() {
                "out/prod/swarm/".to_owned()
            } else {
                format!("  {f}")
            }
        })
        .collect();
    let width = names.iter().map(String::len).max().unwrap_or(0) + 2;
    let mut text = String::new();
    for (name, mut files) in names.into_iter().zip(folders.into_values()) {
        files.sort();
        let mut line = format!("{name:width$}");
        for file in files {
            if line.len() > width && line.len() + 2 + file.len() > 80 {
                text.push_str(line.trim_end());
                text.push('\n');
                line = " ".repeat(width);
            } else if line.len() > width {
                line.push_str("  ");
            }
            line.push_str(&file);
        }
        text.push_str(&line);
        text.push('\n');
    }
    fenced("text", &text)
}

/// The mermaid block of the bundle's README.
fn diagram() -> String {
    let bundle = swarm_bundle();
    let readme = &bundle.get("README.md").expect("README.md").contents;
    let start = readme.find("```mermaid\n").expect("a mermaid block");
    let end = start + readme[start..].find("\n```").expect("its end") + 4;
    readme[start..end].to_owned()
}

/// A generated block: its name and what makes it.
type Block = (&'static str, fn() -> String);

/// The README with each generated block current; which blocks changed.
fn current(readme: &str) -> (String, Vec<&'static str>) {
    let mut text = readme.to_owned();
    let mut changed = Vec::new();
    let blocks: [Block; 4] = [
        ("topology", topology),
        ("check", check),
        ("bundle", bundle),
        ("diagram", diagram),
    ];
    for (name, generate) in blocks {
        let open = text
            .find(&format!("<!-- generated: {name}"))
            .unwrap_or_else(|| panic!("README has no `<!-- generated: {name}` marker"));
        let body_start = open + text[open..].find("-->\n").expect("marker end") + 4;
        let close = text
            .find(&format!("<!-- end: {name} -->"))
            .unwrap_or_else(|| panic!("README has no `<!-- end: {name} -->` marker"));
        let expected = format!("{}\n", generate());
        if text[body_start..close] != expected {
            changed.push(name);
            text.replace_range(body_start..close, &expected);
        }
    }
    (text, changed)
}

#[test]
fn the_first_screen_shows_what_pf_render_does_now() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (text, changed) = current(&readme);
    if std::env::var_os("PF_UPDATE_DOCS").is_some() {
        std::fs::write(&path, text).expect("write README.md");
        return;
    }
    assert!(
        changed.is_empty(),
        "README.md is out of date in {changed:?}: PF_UPDATE_DOCS=1 cargo test -p pf-cli --test readme, then read the diff"
    );
}

/// The set-up is exactly two commands, and the first screen has the rest:
/// what it does, the install line, the drill table.
#[test]
fn the_set_up_is_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let setup = &readme[readme.find("## Set-up").expect("set-up")..];
    let setup = &setup[..setup[3..].find("\n## ").expect("next section") + 3];
    let commands: Vec<&str> = setup
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap_or_default())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo install --locked --path crates/pf-cli && pf-render swarm topologies/prod.toml",
            "bash scripts/test.sh",
        ]
    );
    let first_screen = &readme[..readme.find("## The `pf-render` command").expect("commands")];
    for needed in ["| Redis (Sentinel", "```mermaid", "error[", "needs root"] {
        assert!(
            first_screen.contains(needed),
            "{needed} is not on the first screen"
        );
    }
}
