//! The `pf-render` command. Everything lives in [`cli`]; this only maps the
//! outcome to an exit code.

mod check;
mod cli;
mod exit;

fn main() -> std::process::ExitCode {
    cli::execute()
}
