//! Runs one stage of the pipeline in a loop, for profilers that count
//! instructions (`valgrind --tool=callgrind`), which stay stable while other
//! work loads the machine:
//!
//! `stage STAGE SERVICES ITERATIONS`, STAGE one of `load+validate`,
//! `render-swarm`, `render-compose`, `render-local`; SERVICES `prod` or a
//! number of synthetic app services. Prints the wall time per iteration
//! of the loop in nanoseconds (setup excluded), for A/B runs that
//! alternate two builds on a busy machine.

// A command-line tool reports on stdout and stderr.
#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use pf_render::Target;

const PROD: &str = include_str!("../../../../topologies/prod.toml");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(stage), Some(services), Some(iterations)) = (
        args.first(),
        args.get(1),
        args.get(2).and_then(|c| c.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: stage STAGE prod|SERVICES ITERATIONS");
        return ExitCode::from(2);
    };
    let text = match services.as_str() {
        "prod" => PROD.to_owned(),
        n => match n.parse() {
            Ok(n) => pf_bench::topology(n),
            Err(_) => {
                eprintln!("SERVICES is `prod` or a number");
                return ExitCode::from(2);
            }
        },
    };
    let load = || {
        pf_model::from_str(black_box(&text), "bench.toml")
            .expect("parses")
            .validate()
    };
    let target = match stage.as_str() {
        "load+validate" => {
            let start = Instant::now();
            for _ in 0..iterations {
                black_box(load());
            }
            report(start, iterations);
            return ExitCode::SUCCESS;
        }
        "render-swarm" => Target::Swarm,
        "render-compose" => Target::Compose,
        "render-local" => Target::local(),
        _ => {
            eprintln!("unknown stage {stage}");
            return ExitCode::from(2);
        }
    };
    let topology = load().topology.expect("valid");
    // One rendering outside the loop compiles the templates, as in a long-running process.
    black_box(pf_render::render(&topology, target.clone()).expect("renders"));
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(pf_render::render(black_box(&topology), target.clone()).expect("renders"));
    }
    report(start, iterations);
    ExitCode::SUCCESS
}

fn report(start: Instant, iterations: usize) {
    if iterations > 0 {
        println!("{}", start.elapsed().as_nanos() / iterations as u128);
    }
}
