//! `pf-testbed`: the container test tier's helper (not part of the product).
//!
//! ```text
//! pf-testbed localize IN.toml --images IMAGES.toml --nodes N --cpus C --memory BYTES -o OUT.toml
//! pf-testbed apps IN.toml
//! pf-testbed facts IN.toml
//! ```
//!
//! `localize` writes the localized topology and prints one line per change;
//! `apps` prints one tab-separated line per app service (name, port, route,
//! health path, tag) for the stand-in image builder. Exit status: 0 ok,
//! 1 the topology or image map is not valid, 2 usage or I/O error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pf_testbed::{Error, ImageMap, Machine, apps, facts, localize, validated};

#[derive(Parser)]
#[command(
    name = "pf-testbed",
    about = "Topology transformation of the container test tier"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rewrite a topology for the test machine: local images, capacity, reservations.
    Localize {
        /// The topology to read (never changed).
        input: PathBuf,
        /// The image map written by the image build.
        #[arg(long)]
        images: PathBuf,
        /// Number of nodes (Docker engines).
        #[arg(long)]
        nodes: u32,
        /// CPUs per node, in thousandths of a core.
        #[arg(long)]
        cpu_millis: u64,
        /// Memory per node, in bytes.
        #[arg(long)]
        memory: u64,
        /// Where to write the localized topology.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Print what the harness checks, as `key=value` lines.
    Facts {
        /// The topology to read.
        input: PathBuf,
    },
    /// Print the app services a stand-in image must imitate.
    Apps {
        /// The topology to read.
        input: PathBuf,
    },
}

fn read(path: &PathBuf) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn run(cli: Cli, out: &mut impl Write) -> Result<(), Error> {
    let io = |path: &PathBuf| {
        let path = path.display().to_string();
        move |source| Error::Io { path, source }
    };
    match cli.command {
        Command::Localize {
            input,
            images,
            nodes,
            cpu_millis,
            memory,
            output,
        } => {
            let map = ImageMap::parse(&read(&images)?, &images.display().to_string())?;
            let machine = Machine::new(nodes, cpu_millis, memory)?;
            let text = read(&input)?;
            let done = localize(&text, &input.display().to_string(), &map, &machine)?;
            // Written next to the target and renamed: never half a file.
            let tmp = output.with_extension("toml.tmp");
            std::fs::write(&tmp, &done.text).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &output).map_err(io(&output))?;
            for c in &done.changes {
                writeln!(out, "{c}").map_err(io(&output))?;
            }
        }
        Command::Facts { input } => {
            let text = read(&input)?;
            let t = validated(&text, &input.display().to_string())?;
            for (k, v) in facts(&t) {
                writeln!(out, "{k}={v}").map_err(io(&input))?;
            }
        }
        Command::Apps { input } => {
            let text = read(&input)?;
            let t = validated(&text, &input.display().to_string())?;
            for app in apps(&t) {
                writeln!(out, "{}", app.line()).map_err(io(&input))?;
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    match run(cli, &mut stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = match e {
                Error::Io { .. } | Error::Machine(_) => 2,
                _ => 1,
            };
            #[allow(clippy::print_stderr)]
            {
                eprintln!("pf-testbed: {e}");
            }
            ExitCode::from(code)
        }
    }
}
