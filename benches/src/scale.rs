//! An endpoint holding many connections and as many TIME-WAIT entries, processing a stream of
//! segments spread across them.
//!
//! The table is built by feeding the server endpoint the segments a client would send (SYN, then
//! the ACK of the SYN+ACK; for TIME-WAIT entries also the FIN after the server closed), so no
//! client endpoint is held in memory. The stream visits connections in a fixed pseudo-random
//! order (a multiplicative permutation of the indices), so that a large table is touched as a
//! real server's would be, not in creation order.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tcp_fsm::{
    ConnId, Disposition, Endpoint, Flags, FourTuple, Instant, Options, Policy, Segment, SeqNum,
};

use crate::{SEND_BUFFER, SERVER};

/// The table sizes of the scale bench.
pub const SIZES: [usize; 4] = [1, 1_000, 100_000, 1_000_000];

/// Knuth's multiplicative constant: odd and free of the factors 2 and 5, so coprime with every
/// table size used here (powers of ten).
const SPREAD: u64 = 2_654_435_761;

/// The client side of one TIME-WAIT entry's peer: the FIN it sends again. The same segment
/// for every entry (every client's ISS is the same, and TIME-WAIT does not look at SEG.ACK of a
/// FIN), so the stream keeps no state per entry.
fn retransmitted_fin(seq: SeqNum) -> Segment<'static> {
    Segment {
        seq,
        ack: SeqNum(0),
        flags: Flags::FIN | Flags::ACK,
        window: u16::MAX,
        ..Segment::default()
    }
}

/// Every client's ISS.
const CLIENT_ISS: SeqNum = SeqNum(1_000);

/// The policy of the big endpoint: Linux's, with room for every connection and TIME-WAIT entry
/// (Linux caps TIME-WAIT at `tcp_max_tw_buckets`, 131,072 by default).
#[must_use]
pub fn policy() -> Policy {
    Policy {
        max_time_wait: u32::MAX,
        ..Policy::default()
    }
}

/// An endpoint and the drivers of its connections and TIME-WAIT entries.
///
/// The stream driver keeps 4 octets per connection (the server's SND.NXT, which the client's
/// segments acknowledge) and nothing per TIME-WAIT entry: 4-tuples are computed from the index,
/// the client's sequence number from how often the permutation has come round, and handles come
/// back from the endpoint. So the cache misses measured are the endpoint's, not the driver's.
#[derive(Debug)]
pub struct ScaleTable {
    /// The endpoint under test.
    pub endpoint: Endpoint,
    now: Instant,
    /// Per connection, the server's SND.NXT.
    acks: Vec<SeqNum>,
    live_turn: u64,
    closed_turn: u64,
    /// Resident memory the live connections added, per connection (octets), the driver's own
    /// vector subtracted.
    pub bytes_per_connection: f64,
    /// Resident memory the TIME-WAIT entries added, per entry (octets).
    pub bytes_per_time_wait: f64,
}

const LIVE_NET: u32 = 10 << 24;
const CLOSED_NET: u32 = 11 << 24;

fn tuple(net: u32, i: usize) -> FourTuple {
    FourTuple {
        local: SocketAddr::V4(SERVER),
        remote: remote(net, i),
    }
}

fn remote(net: u32, i: usize) -> SocketAddr {
    let host = u32::try_from(i).expect("fewer than 2^24 connections");
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(net | host), 40_000))
}

/// Resident set size of this process, in octets (Linux `/proc/self/statm`), if known.
#[must_use]
pub fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

impl ScaleTable {
    /// An endpoint with `n` ESTABLISHED connections and `n` TIME-WAIT entries.
    ///
    /// # Panics
    /// If a handshake or close does not go as it should (a bug in the core).
    #[must_use]
    pub fn new(n: usize) -> ScaleTable {
        let now = Instant::from_millis(1);
        let mut endpoint = Endpoint::new(policy(), [11, 12, 13, 14]);
        endpoint
            .listen(SocketAddr::V4(SERVER), 128)
            .expect("a free address");
        let mut acks = Vec::with_capacity(n);
        let before = resident_bytes().unwrap_or(0);
        for i in 0..n {
            let (_, _, ack) = handshake(&mut endpoint, now, tuple(LIVE_NET, i));
            acks.push(ack);
        }
        let with_live = resident_bytes().unwrap_or(0);
        for i in 0..n {
            close_to_time_wait(&mut endpoint, now, tuple(CLOSED_NET, i));
        }
        let with_closed = resident_bytes().unwrap_or(0);
        assert_eq!(endpoint.len(), n);
        assert_eq!(endpoint.time_wait_len(), n);
        #[allow(clippy::cast_precision_loss, reason = "an estimate")]
        let per = |delta: usize| delta as f64 / n as f64;
        ScaleTable {
            bytes_per_connection: per(with_live
                .saturating_sub(before)
                .saturating_sub(n * size_of::<SeqNum>())),
            bytes_per_time_wait: per(with_closed.saturating_sub(with_live)),
            endpoint,
            now,
            acks,
            live_turn: 0,
            closed_turn: 0,
        }
    }

    /// Connections (and TIME-WAIT entries) in the table.
    #[must_use]
    pub fn len(&self) -> usize {
        self.acks.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.acks.is_empty()
    }

    /// The index the stream visits next, and how many times every index was visited before
    /// (the permutation visits each once per round of `n` turns).
    fn next(turn: &mut u64, n: usize) -> (usize, u32) {
        let n = n as u64;
        let round = *turn / n;
        *turn += 1;
        // The index is below `n`, and rounds stay far below 2^32 in any bench.
        ((turn.wrapping_mul(SPREAD) % n) as usize, round as u32)
    }

    /// The next connection in the stream receives one in-order octet; the application reads
    /// it; the endpoint's ACK is polled. Returns the disposition.
    pub fn data_segment(&mut self) -> Disposition {
        let (k, round) = Self::next(&mut self.live_turn, self.acks.len());
        let seg = Segment {
            seq: CLIENT_ISS + 1 + round,
            ack: self.acks[k],
            flags: Flags::ACK,
            window: u16::MAX,
            payload: &SEND_BUFFER[..1],
            ..Segment::default()
        };
        let routed = self
            .endpoint
            .handle_segment(self.now, tuple(LIVE_NET, k), &seg);
        if let Some(id) = routed.conn
            && !routed.data.is_empty()
        {
            let _ = self.endpoint.recv(id, routed.data.len());
        }
        while let Some(out) = self.endpoint.poll_transmit(self.now) {
            let _sent = black_box(out);
        }
        routed.disposition
    }

    /// The next TIME-WAIT entry in the stream receives its peer's FIN again; its ACK is polled.
    pub fn time_wait_fin(&mut self) -> Disposition {
        let (k, _) = Self::next(&mut self.closed_turn, self.acks.len());
        let fin = retransmitted_fin(CLIENT_ISS + 1);
        let disposition = self
            .endpoint
            .handle_segment(self.now, tuple(CLOSED_NET, k), &fin)
            .disposition;
        while let Some(out) = self.endpoint.poll_transmit(self.now) {
            let _sent = black_box(out);
        }
        disposition
    }
}

/// SYN in, SYN+ACK out, ACK in, accepted: returns the handle, the client's next sequence number
/// and the server's SND.NXT.
fn handshake(ep: &mut Endpoint, now: Instant, tuple: FourTuple) -> (ConnId, SeqNum, SeqNum) {
    let iss = CLIENT_ISS;
    let syn = Segment {
        seq: iss,
        flags: Flags::SYN,
        window: u16::MAX,
        options: Options {
            mss: Some(1460),
            ..Options::NONE
        },
        ..Segment::default()
    };
    let _ = ep.handle_segment(now, tuple, &syn);
    let synack = ep.poll_transmit(now).expect("the SYN+ACK").transmit.segment;
    while ep.poll_transmit(now).is_some() {}
    let ack = Segment {
        seq: iss + 1,
        ack: synack.seq + 1,
        flags: Flags::ACK,
        window: u16::MAX,
        ..Segment::default()
    };
    let _ = ep.handle_segment(now, tuple, &ack);
    while ep.poll_transmit(now).is_some() {}
    let id = ep.accept(tuple.local).expect("the accepted connection");
    while ep.poll_event().is_some() {}
    (id, iss + 1, synack.seq + 1)
}

/// A connection the server closes first: its FIN, the client's FIN+ACK, the server's last ACK,
/// and the application lets go, leaving a TIME-WAIT entry.
fn close_to_time_wait(ep: &mut Endpoint, now: Instant, tuple: FourTuple) {
    let (id, seq, _) = handshake(ep, now, tuple);
    ep.close(now, id).expect("close of a live connection");
    let fin = ep
        .poll_transmit(now)
        .expect("the server's FIN")
        .transmit
        .segment;
    let fin = Segment {
        ack: fin.seq + 1,
        ..retransmitted_fin(seq)
    };
    let _ = ep.handle_segment(now, tuple, &fin);
    ep.release(now, id).expect("release of a live connection");
    while ep.poll_transmit(now).is_some() {}
    while ep.poll_event().is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_reach_connections_and_time_wait_entries() {
        let mut t = ScaleTable::new(1000);
        assert_eq!(t.endpoint.len(), 1000);
        assert_eq!(t.endpoint.time_wait_len(), 1000);
        for _ in 0..5000 {
            assert_eq!(t.data_segment(), Disposition::Accepted);
            assert_eq!(t.time_wait_fin(), Disposition::Accepted);
        }
        // Every connection got its 5 octets, in order.
        for i in 0..1000 {
            let id = t.endpoint.lookup(&tuple(LIVE_NET, i)).expect("live");
            let c = t.endpoint.connection(id).expect("live");
            assert_eq!(c.status().rcv_nxt, CLIENT_ISS + 6);
        }
    }

    #[test]
    fn one_connection_works_too() {
        let mut t = ScaleTable::new(1);
        for _ in 0..10 {
            assert_eq!(t.data_segment(), Disposition::Accepted);
            assert_eq!(t.time_wait_fin(), Disposition::Accepted);
        }
    }
}
