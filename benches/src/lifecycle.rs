//! Two peers of ours in memory, every segment through the wire (emit with checksum, parse with
//! verification): the steady-state 1-octet exchange, and a whole connection's lifecycle.

use std::net::SocketAddrV4;

use tcp_fsm::wire::PseudoHeader;
use tcp_fsm::{ConnId, Connection, Duration, Endpoint, FourTuple, Instant, Policy, State};

use crate::{CLIENT, SEND_BUFFER, SERVER, WIRE_BUFFER, established_pair, pseudo};

/// The virtual clock's step per exchange or pump round.
const TICK: Duration = Duration::from_micros(10);

/// Moves every segment `from` has to send into `to` through the wire; the receiving application
/// reads what is delivered at once. Returns the number of segments moved.
#[allow(clippy::too_many_arguments, reason = "one shuttle, both directions")]
fn shuttle(
    policy: &Policy,
    now: Instant,
    from: &mut Connection,
    to: &mut Connection,
    pseudo: &PseudoHeader,
    ports: (u16, u16),
    buf: &mut [u8; WIRE_BUFFER],
) -> usize {
    let mut moved = 0;
    while let Some(t) = from.poll_transmit(policy, now) {
        let seg = t.with_payload(&SEND_BUFFER).unwrap_or(t.segment);
        let n = crate::emit(&seg, ports.0, ports.1, pseudo, buf);
        let seg = crate::parse(&buf[..n], pseudo);
        let delivered = to.handle_segment(policy, now, &seg).data.len();
        if delivered > 0 {
            let _ = to.recv(policy, delivered);
        }
        moved += 1;
    }
    moved
}

/// Two connections of ours in ESTABLISHED, exchanging one octet at a time.
#[derive(Clone, Debug)]
pub struct SteadyPair {
    policy: Policy,
    now: Instant,
    client: Connection,
    server: Connection,
    c2s: PseudoHeader,
    s2c: PseudoHeader,
    buf: [u8; WIRE_BUFFER],
}

impl Default for SteadyPair {
    fn default() -> Self {
        SteadyPair::new()
    }
}

impl SteadyPair {
    /// A fresh pair after its handshake.
    #[must_use]
    pub fn new() -> SteadyPair {
        let policy = Policy::default();
        let (client, server) = established_pair(&policy);
        SteadyPair {
            policy,
            now: Instant::from_millis(1),
            client,
            server,
            c2s: pseudo(CLIENT, SERVER),
            s2c: pseudo(SERVER, CLIENT),
            buf: [0; WIRE_BUFFER],
        }
    }

    /// One exchange: the client sends one octet, the server delivers and ACKs it (its
    /// application reads it), the client takes the ACK. Returns the segments on the wire (2).
    pub fn exchange(&mut self) -> usize {
        let SteadyPair {
            policy,
            now,
            client,
            server,
            c2s,
            s2c,
            buf,
        } = self;
        *now = *now + TICK;
        let _ = client.send(policy, 1);
        let ports = (CLIENT.port(), SERVER.port());
        let mut total = 0;
        loop {
            let moved = shuttle(policy, *now, client, server, c2s, ports, buf)
                + shuttle(policy, *now, server, client, s2c, (ports.1, ports.0), buf);
            if moved == 0 {
                break;
            }
            total += moved;
        }
        let _ = client.take_acked();
        total
    }
}

/// Most segments an endpoint of these fixtures sends in one round.
const MAX_IN_FLIGHT: usize = 4;

/// Segments on the wire between two endpoints in one round: each with its 4-tuple (as its
/// sender sees it) and its bytes. Built once per pair and reused, round after round.
#[derive(Clone, Debug)]
struct Wire {
    len: usize,
    segments: [(FourTuple, usize, [u8; WIRE_BUFFER]); MAX_IN_FLIGHT],
}

impl Wire {
    fn new() -> Wire {
        let unspecified = std::net::SocketAddr::V4(SocketAddrV4::new([0; 4].into(), 0));
        let tuple = FourTuple {
            local: unspecified,
            remote: unspecified,
        };
        Wire {
            len: 0,
            segments: [(tuple, 0, [0; WIRE_BUFFER]); MAX_IN_FLIGHT],
        }
    }

    /// Emits (checksum filled) every segment `from` has to send; returns how many.
    fn drain(&mut self, now: Instant, from: &mut Endpoint) -> usize {
        let start = self.len;
        while let Some(out) = from.poll_transmit(now) {
            let seg = out
                .transmit
                .with_payload(&SEND_BUFFER)
                .unwrap_or(out.transmit.segment);
            let tuple = out.tuple;
            let slot = &mut self.segments[self.len];
            slot.0 = tuple;
            slot.1 = crate::emit(
                &seg,
                tuple.local.port(),
                tuple.remote.port(),
                &crate::pseudo_of(&tuple),
                &mut slot.2,
            );
            self.len += 1;
        }
        self.len - start
    }

    /// Parses (checksum verified) and delivers the segments `range` to `to`, whose application
    /// reads delivered data at once.
    fn deliver(&self, now: Instant, range: core::ops::Range<usize>, to: &mut Endpoint) {
        for (tuple, n, bytes) in &self.segments[range] {
            let seg = crate::parse(&bytes[..*n], &crate::pseudo_of(tuple));
            let back = FourTuple {
                local: tuple.remote,
                remote: tuple.local,
            };
            let routed = to.handle_segment(now, back, &seg);
            if let Some(id) = routed.conn
                && !routed.data.is_empty()
            {
                let _ = to.recv(id, routed.data.len());
            }
        }
    }
}

/// Two endpoints of ours in memory: the client's connects from [`CLIENT`] (port + n), the
/// server listens on [`SERVER`].
#[derive(Clone, Debug)]
pub struct EndpointPair {
    now: Instant,
    /// The client endpoint.
    pub client: Endpoint,
    /// The server endpoint.
    pub server: Endpoint,
    next_port: u16,
    wire: Wire,
}

impl Default for EndpointPair {
    fn default() -> Self {
        EndpointPair::new()
    }
}

impl EndpointPair {
    /// A warm pair: the server listens, and one whole lifecycle has already run (so that the
    /// endpoints' tables and queues hold their first allocations, as on a live host).
    ///
    /// # Panics
    /// If the warm-up lifecycle does not end as it should (a bug in the core).
    #[must_use]
    pub fn new() -> EndpointPair {
        let server_addr = std::net::SocketAddr::V4(SERVER);
        let mut server = Endpoint::new(Policy::default(), [1, 2, 3, 4]);
        server.listen(server_addr, 128).expect("a free address");
        let mut pair = EndpointPair {
            now: Instant::from_millis(1),
            client: Endpoint::new(Policy::default(), [5, 6, 7, 8]),
            server,
            next_port: CLIENT.port(),
            wire: Wire::new(),
        };
        let segments = pair.lifecycle();
        assert!(segments > 0);
        pair
    }

    /// Rounds until both endpoints are quiet. In a round both send everything they have, then
    /// both receive: as smoltcp's interface polls (egress, then ingress), so that segments cross
    /// the same way (two octets sent at once cross, and are ACKed separately).
    fn pump(&mut self) -> usize {
        let mut total = 0;
        loop {
            self.now = self.now + TICK;
            let wire = &mut self.wire;
            wire.len = 0;
            let from_client = wire.drain(self.now, &mut self.client);
            let from_server = wire.drain(self.now, &mut self.server);
            if from_client + from_server == 0 {
                return total;
            }
            wire.deliver(self.now, 0..from_client, &mut self.server);
            wire.deliver(self.now, from_client..wire.len, &mut self.client);
            total += wire.len;
        }
    }

    /// One connection, whole: handshake, one octet each way, orderly close by the client first
    /// (both applications close and let go) until the client holds a TIME-WAIT entry and the
    /// server's connection is CLOSED and freed. Returns the segments on the wire.
    ///
    /// # Panics
    /// If a step does not reach the state it should (a bug in the core).
    pub fn lifecycle(&mut self) -> usize {
        let from = SocketAddrV4::new(*CLIENT.ip(), self.next_port);
        self.next_port = self.next_port.wrapping_add(1).max(1024);
        let (local, remote) = (from.into(), SERVER.into());
        let tw_before = self.client.time_wait_len();
        let id = self
            .client
            .connect(self.now, local, remote)
            .expect("a free 4-tuple");
        let mut segments = self.pump();
        let sid = self.server.accept(remote).expect("an accepted connection");
        let _ = self.client.send(id, 1);
        let _ = self.server.send(sid, 1);
        segments += self.pump();
        let _ = self.client.take_acked(id);
        let _ = self.server.take_acked(sid);
        close_and_release(&mut self.client, self.now, id);
        segments += self.pump();
        close_and_release(&mut self.server, self.now, sid);
        segments += self.pump();
        while self.client.poll_event().is_some() {}
        while self.server.poll_event().is_some() {}
        assert_eq!(
            self.client.time_wait_len(),
            tw_before + 1,
            "client in TIME-WAIT"
        );
        assert!(self.server.is_empty(), "server connection closed and freed");
        segments
    }

    /// One exchange on an established connection of these endpoints (client to server, one
    /// octet, ACKed). Returns the segments on the wire.
    pub fn exchange(&mut self, client: ConnId) -> usize {
        let _ = self.client.send(client, 1);
        let n = self.pump();
        let _ = self.client.take_acked(client);
        n
    }

    /// Opens a connection and leaves it ESTABLISHED on both sides; returns the client's handle.
    ///
    /// # Panics
    /// If the handshake fails (a bug in the core).
    pub fn open(&mut self) -> ConnId {
        let from = SocketAddrV4::new(*CLIENT.ip(), self.next_port);
        self.next_port = self.next_port.wrapping_add(1).max(1024);
        let id = self
            .client
            .connect(self.now, from.into(), SERVER.into())
            .expect("a free 4-tuple");
        self.pump();
        let _ = self.server.accept(SERVER.into()).expect("accepted");
        while self.client.poll_event().is_some() {}
        while self.server.poll_event().is_some() {}
        id
    }
}

fn close_and_release(ep: &mut Endpoint, now: Instant, id: ConnId) {
    ep.close(now, id).expect("close of a live connection");
    ep.release(now, id).expect("release of a live connection");
}

/// The state a connection of `ep` is in (for tests).
#[must_use]
pub fn state_of(ep: &Endpoint, id: ConnId) -> Option<State> {
    ep.connection(id).map(Connection::state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_exchange_is_two_segments() {
        let mut p = SteadyPair::new();
        for _ in 0..1000 {
            assert_eq!(p.exchange(), 2);
        }
        assert_eq!(p.client.state(), State::Established);
        assert_eq!(p.server.unread(), 0);
    }

    #[test]
    fn endpoint_exchange_is_two_segments() {
        let mut p = EndpointPair::new();
        let id = p.open();
        for _ in 0..1000 {
            assert_eq!(p.exchange(id), 2);
        }
        assert_eq!(state_of(&p.client, id), Some(State::Established));
    }

    #[test]
    fn lifecycle_repeats() {
        let mut p = EndpointPair::new();
        let first = p.lifecycle();
        // SYN, SYN+ACK, ACK; the two octets crossing, two ACKs; FIN, ACK; FIN, ACK.
        assert_eq!(first, 11);
        assert_eq!(p.lifecycle(), first);
        assert_eq!(p.client.time_wait_len(), 3);
    }
}
