//! Command-line interface: arguments and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};

use crate::exit::Outcome;
use crate::output::ColorChoice;
use crate::{check, drill, explain, inspect, lint, output, plan, render, shell};

const EXIT_CODES: &str = "\
Exit status:
  0  success: every topology is valid (warnings allowed unless --deny-warnings)
  1  findings: a topology has errors (or warnings with --deny-warnings)
  2  usage or I/O error: bad arguments, a file that cannot be read or written";

/// Turn one typed topology file into a complete, checked HA deployment, and lint deployable files.
#[derive(Debug, Parser)]
#[command(name = "pf-render", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Color human diagnostics: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
    /// Print only diagnostics, results and errors (no "wrote ..." lines, summaries or progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print which configuration was used and which files were skipped.
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate topology files and report every problem with file:line:col.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Topology files (TOML); `-` reads one from standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// The name diagnostics give the topology read from `-` [default: <stdin>].
        #[arg(long, value_name = "NAME")]
        stdin_filename: Option<String>,
    },
    /// Validate a topology and render the Docker Swarm bundle (docker-stack.yml and its files).
    #[command(after_help = RENDER_HELP)]
    Swarm(RenderArgs),
    /// Validate a topology and render the single-host Docker Compose bundle (docker-compose.ha.yml and its files).
    #[command(after_help = RENDER_HELP)]
    Compose(RenderArgs),
    /// Check stack/Compose files, nginx, pg_hba, Redis and Sentinel configs against the security and HA catalog.
    #[command(after_help = lint::HELP)]
    Lint(lint::Args),
    /// Run the HA guide's failover tests on real servers: render the local bundle, start nginx,
    /// PostgreSQL, Redis and Sentinels from it on loopback, measure each scenario against the
    /// topology's budgets, stop everything and remove the run folder.
    #[command(after_help = DRILL_HELP)]
    Drill(DrillArgs),
    /// Print the resolved plan of a topology for a target as JSON: every instance's name, host,
    /// address, ports, files, networks and deployment, as rendering would use them.
    #[command(after_help = inspect::HELP)]
    Inspect(inspect::Args),
    /// What a deploy of the Swarm bundle would do to the deployed stack (read-only): per service
    /// created, restarted, updated in place or unchanged, with HA verdicts; with
    /// --failure-domains, what the loss of each node leaves of every group.
    #[command(after_help = plan::HELP)]
    Plan(plan::Args),
    /// Print the JSON Schema of topology files (for editors and CI).
    Schema,
    /// Print the documentation of a diagnostic code or a lint rule.
    #[command(after_help = "Exit status:\n  0  the code exists\n  2  unknown code")]
    Explain {
        /// The code, for example `sentinel-quorum-out-of-range` or `env-secret-value`; `--all` prints every topology code.
        #[arg(required_unless_present_any = ["all", "catalog"])]
        code: Option<String>,
        /// Print docs/diagnostics.md: every code.
        #[arg(long, conflicts_with = "catalog")]
        all: bool,
        /// Print docs/security-catalog.md: every lint rule.
        #[arg(long)]
        catalog: bool,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): of pf-render, or of one command (`pf-render man check`).
    #[command(after_help = MAN_HELP)]
    Man {
        /// The command whose page to print (pf-render-COMMAND(1)) [default: pf-render(1)].
        command: Option<String>,
    },
}

const COMPLETIONS_HELP: &str = "\
Install, for example:
  pf-render completions bash > ~/.local/share/bash-completion/completions/pf-render
  pf-render completions zsh > ~/.zfunc/_pf-render    (with fpath+=~/.zfunc before compinit)
  pf-render completions fish > ~/.config/fish/completions/pf-render.fish";

const MAN_HELP: &str = "\
Install, for example:
  pf-render man > ~/.local/share/man/man1/pf-render.1
  pf-render man check > ~/.local/share/man/man1/pf-render-check.1
Read without installing: pf-render man | man -l -";

const RENDER_HELP: &str = "\
The output folder is replaced atomically: after a failed validation or write it is left exactly as it was.
It is only replaced when it is new, empty, or a bundle pf-render wrote (its .pf-render.json lists every
file in it, unchanged); otherwise nothing is written and the files in the way are named (exit 2), unless
--force. Keep the secret files and .env.production outside it (the bundle's README says where).
Concurrent renders of one folder wait for each other. Links are never followed.

Exit status:
  0  rendered (or, with --check, the folder is up to date)
  1  the topology has errors (nothing written), or --check found drift (a diff is printed)
  2  usage or I/O error, or the output folder holds files pf-render did not write";

const DRILL_HELP: &str = "\
Needs PostgreSQL (Debian package postgresql), redis-server, nginx >= 1.25.1, curl and openssl.
Runs as root (PostgreSQL then runs as the postgres user) or as a normal user (ports below 1024
are then moved up by 10000). Uses only loopback addresses: 127.0.<group>.<index> with the
production ports. Ctrl-C stops every process and removes the run folder.

With --on swarm|compose the same scenarios run against a stack deployed from this topology's
bundle (or deployed first with --deploy, and removed after). Needs only the docker CLI: faults
are injected with it (kill a container, scale a service to 0 and back) and measured inside the
stack's own containers (curl in nginx, redis-cli in Redis, psql in PostgreSQL). The drill
refuses a stack whose services, images, configs or secrets differ from the rendered bundle,
says what it will disrupt and asks (--yes skips the question; without a terminal it refuses).
On several Swarm nodes, point it (--context/-H) at a manager that runs the tasks to disrupt.

Exit status:
  0  every selected scenario passed
  1  a scenario failed, the system did not start, or the topology has errors
  2  usage or environment error (missing program, address in use, a deployed stack that does
     not match the bundle, no confirmation), or interrupted";

/// Arguments of `drill`.
#[derive(Debug, clap::Args)]
struct DrillArgs {
    /// The topology file.
    file: PathBuf,
    /// Run only this scenario (repeatable) [default: all].
    #[arg(long, value_enum, value_name = "NAME")]
    scenario: Vec<ScenarioArg>,
    /// Leave the run folder (bundle, data, logs) for inspection.
    #[arg(long)]
    keep: bool,
    /// Print the results as JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// The run folder (must not exist or be empty) [default: /dev/shm/pf-drill-<random> when /dev/shm is a memory file system, else in the temp folder].
    #[arg(long, value_name = "DIR", conflicts_with = "on")]
    run_dir: Option<PathBuf>,
    /// Drill a stack deployed from this topology's bundle instead of loopback processes: faults
    /// through the docker CLI, measured inside the stack's own containers.
    #[arg(long, value_enum, value_name = "TARGET", conflicts_with = "keep")]
    on: Option<OnArg>,
    /// --on swarm: the stack name it was deployed as [default: the topology's name].
    #[arg(long, value_name = "NAME", requires = "on", conflicts_with = "project")]
    stack: Option<String>,
    /// --on compose: the Compose project name [default: the topology's name].
    #[arg(long, value_name = "NAME", requires = "on")]
    project: Option<String>,
    /// The docker context of the engine to drill (a Swarm manager for --on swarm).
    #[arg(long, value_name = "NAME", requires = "on", conflicts_with = "host")]
    context: Option<String>,
    /// The docker host of the engine to drill (unix://, ssh://, tcp://).
    #[arg(short = 'H', long, value_name = "HOST", requires = "on")]
    host: Option<String>,
    /// Deploy the bundle first with its own scripts (secret files from --secrets) and remove
    /// it afterwards.
    #[arg(long, requires_all = ["on", "secrets"])]
    deploy: bool,
    /// --deploy: the folder of secret files (one value per file, named as the bundle's README lists).
    #[arg(long, value_name = "DIR", requires = "deploy")]
    secrets: Option<PathBuf>,
    /// Do not ask before disrupting the stack (needed when standard input is not a terminal).
    #[arg(long, requires = "on")]
    yes: bool,
}

/// Where `drill --on` runs the scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnArg {
    /// A Docker Swarm stack (`docker stack deploy` of docker-stack.yml).
    Swarm,
    /// A Docker Compose project (docker-compose.ha.yml).
    Compose,
}

/// A drill scenario on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScenarioArg {
    /// Stop a backend under a request stream: no failed request, out for fail-timeout, back after.
    BackendFailover,
    /// Kill the Redis master under writes: Sentinels agree on a new one, the old one rejoins.
    RedisFailover,
    /// Replicas stream, lag under load, then kill the primary and promote a replica.
    Postgres,
    /// least-conn / round-robin / ip-hash as configured; status page only from its allow-list.
    LoadBalancer,
}

impl From<ScenarioArg> for pf_drill::Scenario {
    fn from(s: ScenarioArg) -> Self {
        match s {
            ScenarioArg::BackendFailover => Self::BackendFailover,
            ScenarioArg::RedisFailover => Self::RedisFailover,
            ScenarioArg::Postgres => Self::Postgres,
            ScenarioArg::LoadBalancer => Self::LoadBalancer,
        }
    }
}

/// Arguments of `swarm` and `compose`.
#[derive(Debug, clap::Args)]
struct RenderArgs {
    /// The topology file.
    file: PathBuf,
    /// Output folder [default: out/<file stem>/<target>].
    #[arg(short, long, value_name = "DIR", conflicts_with = "check")]
    out: Option<PathBuf>,
    /// Render in memory and compare with DIR instead of writing (drift check for committed output).
    #[arg(long, value_name = "DIR")]
    check: Option<PathBuf>,
    /// Refuse to render when the topology has warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Replace the output folder even when it holds files pf-render did not write (they are
    /// deleted). Links in it are removed, never followed; a link as the folder itself is still refused.
    #[arg(long, conflicts_with = "check")]
    force: bool,
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Compiler-style text with the source line and a caret.
    Human,
    /// The versioned JSON report (schema/report.schema.json).
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0, for GitHub code scanning and other CI systems.
    Sarif,
    /// JUnit XML: a test suite per file, a test case per finding.
    Junit,
}

/// Parses the arguments, runs the command, returns the exit code.
pub(crate) fn execute() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout, usage errors to stderr; a help
        // text nobody can read is an I/O error like any other (exit 2).
        Err(e) => {
            return match e.print() {
                Err(io) if !e.use_stderr() => {
                    output::error(&format!("error: cannot write to stdout: {io}"));
                    Outcome::Failure.into()
                }
                _ => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
            };
        }
    };
    output::configure(output::Settings {
        color: cli.color,
        quiet: cli.quiet,
        verbose: cli.verbose,
    });
    let outcome = match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
            stdin_filename,
        } => check::run(&check::Options {
            files,
            format,
            deny_warnings,
            stdin_filename,
        }),
        Command::Swarm(args) => render_cmd(args, pf_render::Target::Swarm),
        Command::Compose(args) => render_cmd(args, pf_render::Target::Compose),
        Command::Lint(args) => lint::run(&args),
        Command::Drill(args) => drill::run(&drill::Options {
            file: args.file,
            scenarios: args.scenario.into_iter().map(Into::into).collect(),
            keep: args.keep,
            json: args.json,
            run_dir: args.run_dir,
            on: args.on.map(|on| {
                let engine = match (args.context, args.host) {
                    (Some(c), _) => pf_drill::Engine::Context(c),
                    (None, Some(h)) => pf_drill::Engine::Host(h),
                    (None, None) => pf_drill::Engine::Default,
                };
                let (orchestrator, name) = match on {
                    OnArg::Swarm => (pf_drill::Orchestrator::Swarm, args.stack),
                    OnArg::Compose => (pf_drill::Orchestrator::Compose, args.project),
                };
                drill::OnOptions {
                    orchestrator,
                    name,
                    engine,
                    deploy: args.secrets.filter(|_| args.deploy),
                    yes: args.yes,
                }
            }),
        }),
        Command::Inspect(args) => inspect::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Schema => emit(&pf_model::json_schema()),
        Command::Explain { code, all, catalog } => explain::run(code.as_deref(), all, catalog),
        Command::Completions { shell } => shell::completions(shell, Cli::command()),
        Command::Man { command } => shell::man(Cli::command(), command.as_deref()),
    };
    outcome.into()
}

fn render_cmd(args: RenderArgs, target: pf_render::Target) -> Outcome {
    render::run(&render::Options {
        file: args.file,
        target,
        out: args.out,
        check: args.check,
        deny_warnings: args.deny_warnings,
        force: args.force,
    })
}

/// Writes `text` to stdout; a write failure is exit 2.
pub(crate) fn emit(text: &str) -> Outcome {
    output::emit(text, Outcome::Ok)
}
