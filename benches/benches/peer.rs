//! Ours beside smoltcp 0.14 in the same run: the steady-state 1-octet exchange (two segments:
//! the data and its ACK) and a whole connection's lifecycle, every segment through the wire.
//! Prints the medians and the ratio ours/smoltcp at the end.
//!
//! `cargo bench -p tcp-benches --bench peer`

use criterion::{BatchSize, Criterion, Throughput};
use tcp_benches::lifecycle::{EndpointPair, SteadyPair};
use tcp_benches::peer::SmolPair;
use tcp_benches::report::{criterion_dir, table};

fn steady(c: &mut Criterion) {
    let mut g = c.benchmark_group("steady");
    // Two segments per exchange: criterion's throughput line is in segments per second.
    g.throughput(Throughput::Elements(2));
    let mut ours = SteadyPair::new();
    g.bench_function("ours_connection", |b| b.iter(|| ours.exchange()));
    let mut pair = EndpointPair::new();
    let id = pair.open();
    g.bench_function("ours_endpoint", |b| b.iter(|| pair.exchange(id)));
    let mut smol = SmolPair::established();
    g.bench_function("smoltcp", |b| b.iter(|| smol.exchange()));
    g.finish();
}

/// A fresh, warm pair per iteration, built outside the timed region right before it runs
/// (`PerIteration`: its memory is in cache, as the steady-state pairs' is; with batches of
/// pairs built ahead, each lifecycle would also measure cache misses on a cold pair).
fn lifecycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("lifecycle");
    g.bench_function("ours", |b| {
        b.iter_batched_ref(
            EndpointPair::new,
            EndpointPair::lifecycle,
            BatchSize::PerIteration,
        );
    });
    g.bench_function("smoltcp", |b| {
        b.iter_batched_ref(
            SmolPair::listening,
            SmolPair::lifecycle,
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    steady(&mut c);
    lifecycle(&mut c);
    c.final_summary();
    let measured = !std::env::args().any(|a| a == "--test" || a == "--list");
    if measured {
        let rows = [
            (
                "steady exchange, per segment (Connection)",
                "steady/ours_connection",
                Some("steady/smoltcp"),
                2.0,
            ),
            (
                "steady exchange, per segment (Endpoint)",
                "steady/ours_endpoint",
                Some("steady/smoltcp"),
                2.0,
            ),
            (
                "lifecycle",
                "lifecycle/ours",
                Some("lifecycle/smoltcp"),
                1.0,
            ),
        ];
        println!("\n{}", table(&criterion_dir(), &rows));
    }
}
