//! Fixtures shared by the benchmarks of `tcp-fsm`: the criterion benches (`benches/hot_path.rs`,
//! `benches/peer.rs`, `benches/scale.rs`), the instruction-count gate
//! (`benches/instructions.rs`) and the `sizes` and `report` binaries.
//!
//! Everything that is measured lives here once, so that the wall-clock and the instruction-count
//! benches measure the same code, and so that the tests below can check that each fixture does
//! what its name says (the segment that comes out is the one the path is about).

pub mod hot;
pub mod lifecycle;
pub mod peer;
pub mod report;
pub mod scale;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tcp_fsm::wire::{self, PseudoHeader, Repr};
use tcp_fsm::{Connection, FourTuple, Instant, Policy, Segment, SeqNum};

/// The client's address in every two-peer fixture.
pub const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40_000);
/// The server's address in every two-peer fixture.
pub const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 80);

/// Send buffer contents: the payload of every data segment is a slice of it.
pub static SEND_BUFFER: [u8; 64] = [b'x'; 64];

/// Largest segment any fixture emits (header with options, and a few payload octets).
pub const WIRE_BUFFER: usize = 128;

/// The 4-tuple of a segment from `src` to `dst`, as the receiving endpoint sees it.
#[must_use]
pub fn arriving(src: SocketAddrV4, dst: SocketAddrV4) -> FourTuple {
    FourTuple {
        local: SocketAddr::V4(dst),
        remote: SocketAddr::V4(src),
    }
}

/// The IPv4 pseudo-header of a segment from `src` to `dst`.
#[must_use]
pub fn pseudo(src: SocketAddrV4, dst: SocketAddrV4) -> PseudoHeader {
    PseudoHeader::V4 {
        src: *src.ip(),
        dst: *dst.ip(),
    }
}

/// The pseudo-header of a segment sent on `tuple` (from `local` to `remote`).
#[must_use]
pub fn pseudo_of(tuple: &FourTuple) -> PseudoHeader {
    match (tuple.local, tuple.remote) {
        (SocketAddr::V4(l), SocketAddr::V4(r)) => pseudo(l, r),
        (l, r) => PseudoHeader::V6 {
            src: to_v6(l),
            dst: to_v6(r),
        },
    }
}

fn to_v6(a: SocketAddr) -> std::net::Ipv6Addr {
    match a {
        SocketAddr::V4(a) => a.ip().to_ipv6_mapped(),
        SocketAddr::V6(a) => *a.ip(),
    }
}

/// Writes `seg` from port `src` to port `dst` into `out`, checksum filled; returns its length.
///
/// # Panics
/// If `out` is too small (a fixture bug).
pub fn emit(seg: &Segment<'_>, src: u16, dst: u16, pseudo: &PseudoHeader, out: &mut [u8]) -> usize {
    let repr = Repr {
        src_port: src,
        dst_port: dst,
        segment: *seg,
    };
    wire::emit(&repr, Some(pseudo), out).expect("the wire buffer holds the segment")
}

/// Parses and checks `bytes`.
///
/// # Panics
/// If the bytes do not parse or the checksum fails (a fixture bug).
#[must_use]
pub fn parse<'a>(bytes: &'a [u8], pseudo: &PseudoHeader) -> Segment<'a> {
    wire::parse(bytes, Some(pseudo))
        .expect("a well-formed segment")
        .segment
}

/// Two connections, client and server, in ESTABLISHED after a handshake at time zero, with
/// Linux's default policy (window scaling on, no options beyond the SYNs').
///
/// # Panics
/// If the handshake does not complete (a bug in the core).
#[must_use]
pub fn established_pair(policy: &Policy) -> (Connection, Connection) {
    let now = Instant::from_millis(0);
    let mut client = Connection::connect(policy, now, SeqNum(1_000));
    let mut server = Connection::listen(policy, SeqNum(500_000));
    let mut moved = true;
    while moved {
        moved = false;
        while let Some(t) = client.poll_transmit(policy, now) {
            let _ = server.handle_segment(policy, now, &t.segment);
            moved = true;
        }
        while let Some(t) = server.poll_transmit(policy, now) {
            let _ = client.handle_segment(policy, now, &t.segment);
            moved = true;
        }
    }
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    assert_eq!(client.state(), tcp_fsm::State::Established);
    assert_eq!(server.state(), tcp_fsm::State::Established);
    (client, server)
}
