//! An endpoint holding 1, 1,000, 100,000 and 1,000,000 connections and as many TIME-WAIT
//! entries: the cost of one segment against the table size, and the memory per entry.
//!
//! Each table is built once per size (outside the timed region) and dropped before the next.
//! `cargo bench -p tcp-benches --bench scale`

use std::fmt::Write as _;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput};
use tcp_benches::report::criterion_dir;
use tcp_benches::scale::{SIZES, ScaleTable};

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(30)
        .measurement_time(std::time::Duration::from_secs(3));
    let mut memory = String::from(
        "| connections (and as many TIME-WAIT entries) | build time | resident bytes per connection | per TIME-WAIT entry |\n|---:|---:|---:|---:|\n",
    );
    for n in SIZES {
        let started = Instant::now();
        let mut table = ScaleTable::new(n);
        let built = started.elapsed();
        // Below 100,000 entries the resident-size delta is page noise and memory that the
        // previous size freed; the `sizes` binary measures in a fresh process.
        let (conn, tw) = if n >= 100_000 {
            (
                format!("{:.0}", table.bytes_per_connection),
                format!("{:.0}", table.bytes_per_time_wait),
            )
        } else {
            ("-".to_owned(), "-".to_owned())
        };
        let _ = writeln!(
            memory,
            "| {n} | {:.2} s | {conn} | {tw} |",
            built.as_secs_f64()
        );
        let mut g = c.benchmark_group("scale");
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("established", n), |b| {
            b.iter(|| table.data_segment());
        });
        g.bench_function(BenchmarkId::new("time_wait", n), |b| {
            b.iter(|| table.time_wait_fin());
        });
        g.finish();
    }
    c.final_summary();
    println!("\n{memory}");
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        let dir = criterion_dir().join("scale");
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join("memory.md"), &memory);
        }
    }
}
