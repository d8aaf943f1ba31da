//! Instruction counts of the hot paths under callgrind (gungraun): the regression gate's
//! numbers, which machine noise does not move. Each bench's setup (building the state and the
//! segment) runs outside the counted region; the counted region is one pass of the path.
//!
//! `cargo bench -p tcp-benches --bench instructions` (needs valgrind and `gungraun-runner`);
//! `.ci/bench-gate` compares the counts with `benches/baseline.txt`.

#![allow(missing_docs, reason = "gungraun's macros generate undocumented items")]

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};
use tcp_benches::WIRE_BUFFER;
use tcp_benches::hot::{Fixture, Machine, Outcome, Path};
use tcp_benches::lifecycle::{EndpointPair, SteadyPair};

fn fixture(path: Path) -> (Fixture, Machine) {
    let f = Fixture::new(path);
    let m = f.machine.clone();
    (f, m)
}

#[library_benchmark]
#[bench::data_in_order(args = (Path::DataInOrder), setup = fixture)]
#[bench::pure_ack(args = (Path::PureAck), setup = fixture)]
#[bench::dup_ack(args = (Path::DupAck), setup = fixture)]
#[bench::out_of_window(args = (Path::OutOfWindow), setup = fixture)]
#[bench::rst_challenge_ack(args = (Path::RstChallenge), setup = fixture)]
#[bench::syn_at_listener(args = (Path::SynAtListener), setup = fixture)]
#[bench::time_wait_fin(args = (Path::TimeWaitFin), setup = fixture)]
fn state_machine((f, mut m): (Fixture, Machine)) -> Outcome {
    black_box(f.run(&mut m))
}

#[library_benchmark]
#[bench::data_in_order(args = (Path::DataInOrder), setup = fixture)]
#[bench::pure_ack(args = (Path::PureAck), setup = fixture)]
#[bench::dup_ack(args = (Path::DupAck), setup = fixture)]
#[bench::out_of_window(args = (Path::OutOfWindow), setup = fixture)]
#[bench::rst_challenge_ack(args = (Path::RstChallenge), setup = fixture)]
#[bench::syn_at_listener(args = (Path::SynAtListener), setup = fixture)]
#[bench::time_wait_fin(args = (Path::TimeWaitFin), setup = fixture)]
fn with_bytes((f, mut m): (Fixture, Machine)) -> Outcome {
    let mut out = [0u8; WIRE_BUFFER];
    black_box(f.run_bytes(&mut m, &mut out))
}

// One steady-state exchange (two segments through the wire) between two connections.
#[library_benchmark]
#[bench::one_octet(setup = SteadyPair::new)]
fn steady_exchange(mut pair: SteadyPair) -> usize {
    black_box(pair.exchange())
}

// One whole lifecycle between two warm endpoints. The pair is leaked, not dropped, so that
// freeing the endpoints' tables is not counted (the process ends right after).
#[library_benchmark]
#[bench::whole(setup = EndpointPair::new)]
fn lifecycle(mut pair: EndpointPair) -> usize {
    let n = black_box(pair.lifecycle());
    std::mem::forget(pair);
    n
}

library_benchmark_group!(
    name = hot_paths;
    benchmarks = state_machine, with_bytes, steady_exchange, lifecycle
);

main!(library_benchmark_groups = hot_paths);
