//! Command-line interface: arguments and dispatch.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pf_model::Code;

use crate::check;
use crate::exit::Outcome;

const EXIT_CODES: &str = "\
Exit status:
  0  success: every topology is valid (warnings allowed unless --deny-warnings)
  1  findings: a topology has errors (or warnings with --deny-warnings)
  2  usage or I/O error: bad arguments, a file that cannot be read or written";

/// Turn one typed topology file into a complete, working HA deployment.
#[derive(Debug, Parser)]
#[command(name = "pf-render", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate topology files and report every problem with file:line:col.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Topology files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Print the JSON Schema of topology files (for editors and CI).
    Schema,
    /// Print the documentation of a diagnostic code.
    #[command(after_help = "Exit status:\n  0  the code exists\n  2  unknown code")]
    Explain {
        /// The code, for example `sentinel-quorum-out-of-range`; `--all` prints every code.
        #[arg(required_unless_present = "all")]
        code: Option<String>,
        /// Print docs/diagnostics.md: every code.
        #[arg(long)]
        all: bool,
    },
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Compiler-style text with the source line and a caret.
    Human,
    /// A JSON array with one object per diagnostic.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
}

/// Parses the arguments, runs the command, returns the exit code.
pub(crate) fn execute() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
        } => check::run(&files, format, deny_warnings),
        Command::Schema => emit(&pf_model::json_schema()),
        Command::Explain { code, all } => explain(code.as_deref(), all),
    };
    outcome.into()
}

fn emit(text: &str) -> Outcome {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Outcome::Ok,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            Outcome::Failure
        }
    }
}

fn explain(code: Option<&str>, all: bool) -> Outcome {
    if all {
        return emit(&pf_model::codes::diagnostics_markdown());
    }
    let name = code.unwrap_or_default();
    match name.parse::<Code>() {
        Ok(c) => emit(&format!(
            "{} ({})\n\n{}.\n\n{}\n",
            c.name(),
            c.severity(),
            c.description(),
            c.explanation()
        )),
        Err(()) => {
            eprintln!(
                "error: unknown diagnostic code `{name}`\n  = help: `pf-render explain --all` lists every code"
            );
            Outcome::Failure
        }
    }
}
