//! The lifecycle bench without criterion, for valgrind's cache simulation: `RUNS` times, a
//! fresh warm pair (built as the bench builds it) then one whole lifecycle, ours (`which` 0) or
//! smoltcp's (`which` 1).
//!
//! ```sh
//! cargo build --release -p tcp-benches --example lifecycle_probe
//! valgrind --tool=callgrind --cache-sim=yes --toggle-collect='*lifecycle_probe*run*' \
//!   --callgrind-out-file=lc.out target/release/examples/lifecycle_probe 0 2000
//! callgrind_annotate lc.out | grep 'PROGRAM TOTALS'
//! ```
//!
//! Instruction-cache misses (`I1mr`) divided by `RUNS` are the misses per lifecycle that
//! `benches/README.md` quotes; `nm -S --size-sort -C` on the binary gives the code sizes.

use std::hint::black_box;

use tcp_benches::lifecycle::EndpointPair;
use tcp_benches::peer::SmolPair;

#[inline(never)]
fn run_ours(pair: &mut EndpointPair) -> usize {
    pair.lifecycle()
}

#[inline(never)]
fn run_smoltcp(pair: &mut SmolPair) {
    pair.lifecycle();
}

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (which, runs) = (arg(1, 0), arg(2, 2_000));
    for _ in 0..runs {
        if which == 0 {
            let mut pair = EndpointPair::new();
            black_box(run_ours(&mut pair));
        } else {
            let mut pair = SmolPair::listening();
            run_smoltcp(&mut pair);
            black_box(&pair);
        }
    }
}
