//! Criterion benchmarks of every stage, on prod and on synthetic
//! topologies of 10 to 10,000 app services. Targets and results are in
//! BENCHMARKS.md; timing is never asserted in tests.
//!
//! Whole-process timings (`pf-render swarm ... -o DIR`, `pf-render check`
//! over 1,000 files) and peak memory are measured by
//! `crates/pf-bench/process.sh` with hyperfine and `/usr/bin/time -v`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pf_render::Target;

const PROD: &str = include_str!("../../../topologies/prod.toml");

/// Every target; the local one with its default run folder.
fn targets() -> [Target; 3] {
    [Target::Swarm, Target::Compose, Target::local()]
}

fn validated(text: &str) -> pf_model::Topology {
    pf_model::from_str(text, "bench.toml")
        .expect("parses")
        .validate()
        .topology
        .expect("valid")
}

fn prod(c: &mut Criterion) {
    c.bench_function("prod/load+validate", |b| {
        b.iter(|| {
            black_box(
                pf_model::from_str(black_box(PROD), "prod.toml")
                    .expect("parses")
                    .validate(),
            )
        })
    });
    let topology = validated(PROD);
    for target in targets() {
        c.bench_function(&format!("prod/render-{target}"), |b| {
            b.iter(|| {
                black_box(pf_render::render(black_box(&topology), target.clone()).expect("renders"))
            })
        });
    }
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling");
    group.sample_size(10);
    for n in [10usize, 100, 1_000, 10_000] {
        let text = pf_bench::topology(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("load+validate", n), &text, |b, text| {
            b.iter(|| {
                black_box(
                    pf_model::from_str(text, "s.toml")
                        .expect("parses")
                        .validate(),
                )
            })
        });
        let topology = validated(&text);
        for target in targets() {
            group.bench_with_input(
                BenchmarkId::new(format!("render-{target}"), n),
                &topology,
                |b, t| b.iter(|| black_box(pf_render::render(t, target.clone()).expect("renders"))),
            );
        }
    }
    group.finish();
}

fn check_many(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = pf_bench::topology(2);
    let files: Vec<_> = (0..1_000)
        .map(|i| {
            let p = dir.path().join(format!("t-{i:04}.toml"));
            std::fs::write(&p, &text).expect("write");
            p
        })
        .collect();
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("1000-files", |b| {
        b.iter(|| {
            for f in &files {
                black_box(pf_model::load(f).expect("loads").validate());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, prod, scaling, check_many);
criterion_main!(benches);
