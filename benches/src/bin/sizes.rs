//! Prints the memory a connection costs: `size_of` of the core's types beside smoltcp's
//! `tcp::Socket`, and the resident memory an endpoint spends per connection and per TIME-WAIT
//! entry (measured by filling one with 100,000 of each).
//!
//! `cargo run --release -p tcp-benches --bin sizes`

use tcp_benches::peer;
use tcp_benches::scale::ScaleTable;
use tcp_fsm::{Connection, Endpoint, FourTuple, Policy, Segment, TimeWait, Transmit};

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
    // The endpoint's private records, as the endpoint itself reports them.
    let records = Endpoint::record_sizes();
    row(
        "endpoint listener record with its `SocketAddr` key",
        records.listener,
    );
    row(
        "`FourTuple` (the key of the TIME-WAIT table, kept in each slot)",
        size_of::<FourTuple>(),
    );
    row(
        "endpoint slab slot (tuple, connection, parent, flags, policy)",
        records.connection_slot,
    );
    row(
        "endpoint connection-table bucket (hash tag and slot index)",
        records.connection_bucket,
    );
    row(
        "endpoint TIME-WAIT-table bucket (`FourTuple`, `TimeWait`)",
        records.time_wait_bucket,
    );
    row("endpoint timer-heap entry", records.timer_entry);
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
