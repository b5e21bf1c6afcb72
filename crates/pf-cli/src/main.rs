//! The `pf-render` command. Everything lives in [`cli`]; this only maps the
//! outcome to an exit code.

// This crate is the printing layer; the libraries never print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod check;
mod cli;
mod drift;
mod drill;
mod drill_report;
mod exit;
mod explain;
mod inspect;
mod lint;
mod lint_config;
mod lint_includes;
mod load;
mod output;
mod ownership;
mod plan;
mod render;
mod shell;
mod staging;
mod unchanged;
mod walk;
mod write;

fn main() -> std::process::ExitCode {
    cli::execute()
}
