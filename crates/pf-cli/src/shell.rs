//! `pf-render completions SHELL` and `pf-render man [COMMAND]`: generated
//! from the same clap definition as the parser, so they never disagree
//! with it. Packagers run them at build time; users can too:
//!
//! ```text
//! pf-render completions bash > ~/.local/share/bash-completion/completions/pf-render
//! pf-render man > ~/.local/share/man/man1/pf-render.1
//! ```

use clap::Command;

use crate::exit::Outcome;
use crate::output::{emit, error};

/// The completion script of `shell` for `cmd`.
pub(crate) fn completions(shell: clap_complete::Shell, mut cmd: Command) -> Outcome {
    let name = cmd.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name.clone(), &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if shell == clap_complete::Shell::Bash {
        // clap_complete 4.6 spells the state of a subcommand of a hyphenated
        // binary two ways in bash (`pf__render__subcmd__lint` when it walks
        // the words, `pf__subcmd__render__subcmd__lint` in the case labels),
        // so no option of a subcommand ever completes (clap-rs/clap#6421).
        // The labels are made to match; once clap spells them alike, this
        // finds nothing to replace.
        let wrong = name.replace('-', "__subcmd__");
        let right = name.replace('-', "__");
        script = script.replace(&format!("{wrong}__subcmd__"), &format!("{right}__subcmd__"));
    }
    emit(&script, Outcome::Ok)
}

/// The man page (roff) of `cmd`, or of its subcommand `sub`
/// (`pf-render-check(1)`, as git and cargo name theirs).
pub(crate) fn man(mut cmd: Command, sub: Option<&str>) -> Outcome {
    // Building names each subcommand `pf-render-check`, run as `pf-render check`.
    cmd.build();
    let source = format!("pf-render {}", cmd.get_version().unwrap_or_default());
    let page = match sub {
        None => cmd,
        Some(name) => {
            let Some(found) = cmd.find_subcommand(name) else {
                error(&format!(
                    "error: no command `{name}`: `pf-render --help` lists them"
                ));
                return Outcome::Failure;
            };
            found.clone()
        }
    };
    let mut roff = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).source(source).render(&mut roff) {
        error(&format!("error: cannot render the man page: {e}"));
        return Outcome::Failure;
    }
    emit(&String::from_utf8_lossy(&roff), Outcome::Ok)
}
