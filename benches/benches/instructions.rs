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
use tcp_benches::peer::SmolPair;
use tcp_fsm::ConnId;

// Setups hand the bench a leaked `&'static mut`: only a pointer moves into the counted region,
// and nothing is freed in it (the process ends after the one run).
fn fixture(path: Path) -> &'static mut (Fixture, Machine) {
    let f = Fixture::new(path);
    let m = f.machine.clone();
    Box::leak(Box::new((f, m)))
}

/// Exchanges run before the counted one, so that it is a steady-state exchange: the RTT
/// estimate has settled and the endpoint's queues and timer heap have their capacity.
const WARM_UP: usize = 64;

fn steady_pair() -> &'static mut SteadyPair {
    let pair = Box::leak(Box::new(SteadyPair::new()));
    for _ in 0..WARM_UP {
        pair.exchange();
    }
    pair
}

fn open_endpoint_pair() -> (&'static mut EndpointPair, ConnId) {
    let pair = Box::leak(Box::new(EndpointPair::new()));
    let id = pair.open();
    for _ in 0..WARM_UP {
        pair.exchange(id);
    }
    (pair, id)
}

fn endpoint_pair() -> &'static mut EndpointPair {
    Box::leak(Box::new(EndpointPair::new()))
}

#[library_benchmark]
#[bench::data_in_order(args = (Path::DataInOrder), setup = fixture)]
#[bench::pure_ack(args = (Path::PureAck), setup = fixture)]
#[bench::dup_ack(args = (Path::DupAck), setup = fixture)]
#[bench::out_of_window(args = (Path::OutOfWindow), setup = fixture)]
#[bench::rst_challenge_ack(args = (Path::RstChallenge), setup = fixture)]
#[bench::syn_at_listener(args = (Path::SynAtListener), setup = fixture)]
#[bench::time_wait_fin(args = (Path::TimeWaitFin), setup = fixture)]
fn state_machine((f, m): &'static mut (Fixture, Machine)) -> Outcome {
    black_box(f.run(m))
}

#[library_benchmark]
#[bench::data_in_order(args = (Path::DataInOrder), setup = fixture)]
#[bench::pure_ack(args = (Path::PureAck), setup = fixture)]
#[bench::dup_ack(args = (Path::DupAck), setup = fixture)]
#[bench::out_of_window(args = (Path::OutOfWindow), setup = fixture)]
#[bench::rst_challenge_ack(args = (Path::RstChallenge), setup = fixture)]
#[bench::syn_at_listener(args = (Path::SynAtListener), setup = fixture)]
#[bench::time_wait_fin(args = (Path::TimeWaitFin), setup = fixture)]
fn with_bytes((f, m): &'static mut (Fixture, Machine)) -> Outcome {
    let mut out = [0u8; WIRE_BUFFER];
    black_box(f.run_bytes(m, &mut out))
}

// One steady-state exchange (two segments through the wire) between two connections.
#[library_benchmark]
#[bench::one_octet(setup = steady_pair)]
fn steady_exchange(pair: &'static mut SteadyPair) -> usize {
    black_box(pair.exchange())
}

// The same exchange between two endpoints: 4-tuple demultiplexing, ready queue and events
// included.
#[library_benchmark]
#[bench::one_octet(setup = open_endpoint_pair)]
fn endpoint_exchange((pair, id): (&'static mut EndpointPair, ConnId)) -> usize {
    black_box(pair.exchange(id))
}

// One whole lifecycle between two warm endpoints.
#[library_benchmark]
#[bench::whole(setup = endpoint_pair)]
fn lifecycle(pair: &'static mut EndpointPair) -> usize {
    black_box(pair.lifecycle())
}

fn smol_established() -> &'static mut SmolPair {
    let pair = Box::leak(Box::new(SmolPair::established()));
    for _ in 0..WARM_UP {
        pair.exchange();
    }
    pair
}

fn smol_listening() -> &'static mut SmolPair {
    Box::leak(Box::new(SmolPair::listening()))
}

// smoltcp doing the same, for comparison; the gate leaves these out (smoltcp only changes when
// Cargo.lock does).
#[library_benchmark]
#[bench::one_octet(setup = smol_established)]
fn exchange(pair: &'static mut SmolPair) {
    pair.exchange();
}

#[library_benchmark]
#[bench::whole(setup = smol_listening)]
fn whole_lifecycle(pair: &'static mut SmolPair) {
    pair.lifecycle();
}

library_benchmark_group!(
    name = hot_paths;
    benchmarks = state_machine, with_bytes, steady_exchange, endpoint_exchange, lifecycle
);

library_benchmark_group!(
    name = smoltcp;
    benchmarks = exchange, whole_lifecycle
);

main!(library_benchmark_groups = hot_paths, smoltcp);
