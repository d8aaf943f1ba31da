//! Prints the memory a connection costs: `size_of` of the core's types beside smoltcp's
//! `tcp::Socket`, and the resident memory an endpoint spends per connection and per TIME-WAIT
//! entry (measured by filling one with 100,000 of each).
//!
//! `cargo run --release -p tcp-benches --bin sizes`

use std::collections::VecDeque;

use tcp_benches::peer;
use tcp_benches::scale::ScaleTable;
use tcp_fsm::{ConnId, Connection, FourTuple, Policy, Segment, TimeWait, Transmit};

/// The endpoint's listener record (`Listener` in `crates/fsm/src/endpoint.rs`, private), field
/// for field, so that its size can be printed; keyed by a `SocketAddr` in the listener table.
#[allow(dead_code, reason = "a layout mirror, never read")]
struct ListenerMirror {
    backlog: u32,
    policy: Option<Box<Policy>>,
    syn_queue: u32,
    accept_queue: VecDeque<ConnId>,
}

/// The endpoint's slab entry (`Entry` in `crates/fsm/src/endpoint.rs`, private), mirrored.
#[allow(dead_code, reason = "a layout mirror, never read")]
struct EntryMirror {
    tuple: FourTuple,
    conn: Connection,
    generation: u32,
    parent: Option<std::net::SocketAddr>,
    in_syn_queue: bool,
    queued: bool,
    released: bool,
    armed: tcp_fsm::Instant,
}

/// The endpoint's timer-heap key (`TimerKey`, private), mirrored; a heap entry is
/// `Reverse<(Instant, TimerKey)>`, and the heap deletes lazily (a re-armed or ended timer stays
/// until its old deadline comes).
#[allow(dead_code, reason = "a layout mirror, never read")]
enum TimerKeyMirror {
    Conn(ConnId),
    TimeWait(FourTuple),
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000usize);
    println!("| what | bytes |");
    println!("|---|---:|");
    let row = |what: &str, v: usize| println!("| {what} | {v} |");
    row(
        "`tcp_fsm::Connection` (any state, LISTEN included)",
        size_of::<Connection>(),
    );
    row(
        "`tcp_fsm::TimeWait` (compact TIME-WAIT entry)",
        size_of::<TimeWait>(),
    );
    row(
        "endpoint listener record (`Listener`, mirrored) + its `SocketAddr` key",
        size_of::<ListenerMirror>() + size_of::<std::net::SocketAddr>(),
    );
    row(
        "`FourTuple` (the key of every table)",
        size_of::<FourTuple>(),
    );
    row(
        "endpoint slab entry (`Entry`, mirrored: tuple, connection, parent, flags)",
        size_of::<EntryMirror>(),
    );
    row(
        "endpoint connection-table bucket (`FourTuple` -> `ConnId`)",
        size_of::<(FourTuple, ConnId)>(),
    );
    row(
        "endpoint TIME-WAIT-table bucket (`FourTuple` -> `TimeWait`)",
        size_of::<(FourTuple, TimeWait)>(),
    );
    row(
        "endpoint timer-heap entry (mirrored)",
        size_of::<std::cmp::Reverse<(tcp_fsm::Instant, TimerKeyMirror)>>(),
    );
    row("`Segment`", size_of::<Segment<'_>>());
    row("`Transmit`", size_of::<Transmit>());
    row("`Policy`", size_of::<Policy>());
    row(
        "`smoltcp::socket::tcp::Socket` (this crate's features)",
        peer::socket_size(),
    );
    let t = ScaleTable::new(n);
    println!(
        "| endpoint, per ESTABLISHED connection (resident, {n} of them) | {:.0} |",
        t.bytes_per_connection
    );
    println!(
        "| endpoint, per TIME-WAIT entry (resident, {n} of them) | {:.0} |",
        t.bytes_per_time_wait
    );
}
