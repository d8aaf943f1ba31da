//! The scale bench's stream, without criterion, for valgrind's cache simulation: builds a table
//! of `CONNECTIONS` connections and as many TIME-WAIT entries, then sends `SEGMENTS` data
//! segments (`kind` 0) or TIME-WAIT FINs (`kind` 1), as `benches/scale.rs` does.
//!
//! ```sh
//! cargo build --release -p tcp-benches --example scale_probe
//! valgrind --tool=callgrind --cache-sim=yes --LL=33554432,16,64 --D1=32768,8,64 \
//!   --toggle-collect='*ScaleTable*data_segment*' --callgrind-out-file=scale.out \
//!   target/release/examples/scale_probe 1000000 20000 0
//! callgrind_annotate --inclusive=no --show=DLmr,D1mr --sort=DLmr scale.out | head -30
//! ```
//!
//! Last-level read misses (`DLmr`) divided by `SEGMENTS` are the misses per segment that
//! `benches/README.md` quotes.

use std::hint::black_box;

use tcp_benches::scale::ScaleTable;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (connections, segments, kind) = (arg(1, 1_000_000), arg(2, 20_000), arg(3, 0));
    let mut table = ScaleTable::new(connections);
    for _ in 0..segments {
        if kind == 0 {
            black_box(table.data_segment());
        } else {
            black_box(table.time_wait_fin());
        }
    }
}
