//! Writes synthetic topologies for benchmarks: `gen-topologies DIR COUNT [SERVICES]`
//! writes COUNT files `t-0000.toml`.. with SERVICES app services each (default 2).

// A command-line tool reports on stderr.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(count)) = (
        args.first(),
        args.get(1).and_then(|c| c.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: gen-topologies DIR COUNT [SERVICES]");
        return ExitCode::from(2);
    };
    let services = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let text = pf_bench::topology(services);
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("cannot create {dir}: {e}");
        return ExitCode::from(2);
    }
    for i in 0..count {
        let path = format!("{dir}/t-{i:04}.toml");
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
