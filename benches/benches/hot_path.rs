//! The transition hot paths, state machine only and with the wire (parse with checksum
//! verification, state machine, emit with checksum), and the wire alone.
//!
//! `cargo bench -p tcp-benches --bench hot_path`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tcp_benches::hot::{Fixture, Path};
use tcp_benches::{CLIENT, SERVER, WIRE_BUFFER};

/// Each iteration starts from a fresh copy of the state before the segment (copied outside the
/// timed region), so every iteration takes the same path.
fn state_machine(c: &mut Criterion) {
    let mut g = c.benchmark_group("hot_state_machine");
    g.throughput(Throughput::Elements(1));
    for path in Path::ALL {
        let f = Fixture::new(path);
        g.bench_function(path.name(), |b| {
            b.iter_batched_ref(|| f.machine.clone(), |m| f.run(m), BatchSize::SmallInput);
        });
    }
    g.finish();
}

fn with_bytes(c: &mut Criterion) {
    let mut g = c.benchmark_group("hot_with_bytes");
    g.throughput(Throughput::Elements(1));
    for path in Path::ALL {
        let f = Fixture::new(path);
        g.bench_function(path.name(), |b| {
            b.iter_batched_ref(
                || (f.machine.clone(), [0u8; WIRE_BUFFER]),
                |(m, out)| f.run_bytes(m, out),
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

/// The wire alone, to see its share of the paths above.
fn wire(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    let data = Fixture::new(Path::DataInOrder);
    let rx = tcp_benches::pseudo(CLIENT, SERVER);
    g.bench_function("parse_data", |b| {
        b.iter(|| tcp_benches::parse(black_box(&data.bytes[..data.len]), &rx).seq);
    });
    let ack = tcp_fsm::Segment {
        flags: tcp_fsm::Flags::ACK,
        window: 32_768,
        ..data.segment
    };
    let ack = tcp_fsm::Segment {
        payload: &[],
        ..ack
    };
    let tx = tcp_benches::pseudo(SERVER, CLIENT);
    let mut out = [0u8; WIRE_BUFFER];
    g.bench_function("emit_ack", |b| {
        b.iter(|| tcp_benches::emit(black_box(&ack), SERVER.port(), CLIENT.port(), &tx, &mut out));
    });
    g.finish();
}

criterion_group!(benches, state_machine, with_bytes, wire);
criterion_main!(benches);
