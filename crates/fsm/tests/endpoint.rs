//! The endpoint: demultiplexing by 4-tuple, listeners and their queues, TIME-WAIT entries, and
//! the CLOSED state's answers, between two endpoints that exchange real wire bytes.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tcp_fsm::wire::{self, PseudoHeader, Repr};
use tcp_fsm::{
    ConnId, Disposition, Duration, Endpoint, Event, Flags, FourTuple, Instant, Policy, SeqNum,
    State,
};

fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, host), port))
}

fn pseudo(src: SocketAddr, dst: SocketAddr) -> PseudoHeader {
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => PseudoHeader::V4 {
            src: *s.ip(),
            dst: *d.ip(),
        },
        _ => unreachable!("these tests use IPv4"),
    }
}

/// An endpoint with its application's buffers per connection.
struct Host {
    ep: Endpoint,
    send: HashMap<ConnId, Vec<u8>>,
    recv: HashMap<ConnId, Vec<u8>>,
    events: Vec<(ConnId, Event)>,
}

impl Host {
    fn new(policy: Policy, secret: u64) -> Host {
        Host {
            ep: Endpoint::new(policy, [secret, 2, 3, 4]),
            send: HashMap::new(),
            recv: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// Every segment this host sends now, as wire bytes with checksums.
    fn transmit(&mut self, now: Instant) -> Vec<Vec<u8>> {
        self.transmit_with_tuples(now)
            .into_iter()
            .map(|(_, b)| b)
            .collect()
    }

    fn transmit_with_tuples(&mut self, now: Instant) -> Vec<(FourTuple, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(o) = self.ep.poll_transmit(now) {
            let empty = Vec::new();
            let buf = o.conn.and_then(|id| self.send.get(&id)).unwrap_or(&empty);
            let seg = o
                .transmit
                .with_payload(buf)
                .expect("payload in the send buffer");
            let repr = Repr {
                src_port: o.tuple.local.port(),
                dst_port: o.tuple.remote.port(),
                segment: seg,
            };
            let mut bytes = vec![0; wire::buffer_len(&repr)];
            let ph = pseudo(o.tuple.local, o.tuple.remote);
            let n = wire::emit(&repr, Some(&ph), &mut bytes).expect("buffer sized by buffer_len");
            bytes.truncate(n);
            out.push((o.tuple, bytes));
        }
        while let Some(e) = self.ep.poll_event() {
            self.events.push(e);
        }
        out
    }

    fn receive(
        &mut self,
        now: Instant,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: &[u8],
    ) -> Disposition {
        let repr = wire::parse(bytes, Some(&pseudo(src, dst))).expect("valid segment");
        let tuple = FourTuple {
            local: dst,
            remote: src,
        };
        let routed = self.ep.handle_segment(now, tuple, &repr.segment);
        if let Some(id) = routed.conn {
            self.recv
                .entry(id)
                .or_default()
                .extend_from_slice(routed.data);
            let acked = self.ep.take_acked(id).expect("live connection") as usize;
            if let Some(buf) = self.send.get_mut(&id) {
                buf.drain(..acked);
            }
        }
        routed.disposition
    }

    fn write(&mut self, id: ConnId, data: &[u8]) {
        let n = self.ep.send(id, data.len()).expect("send");
        self.send
            .entry(id)
            .or_default()
            .extend_from_slice(&data[..n]);
    }

    fn read(&mut self, id: ConnId) -> Vec<u8> {
        let data = self.recv.remove(&id).unwrap_or_default();
        self.ep.recv(id, data.len()).expect("recv");
        data
    }
}

/// A client host at 10.0.0.1 and a server host at 10.0.0.2 on a lossless wire.
struct Net {
    client: Host,
    server: Host,
    now: Instant,
    c_addr: SocketAddr,
    s_addr: SocketAddr,
    /// (from client, flags) of every segment that crossed.
    log: Vec<(bool, Flags)>,
}

impl Net {
    fn new(policy: Policy) -> Net {
        Net {
            client: Host::new(policy, 1),
            server: Host::new(policy, 99),
            now: Instant::from_millis(10_000),
            c_addr: addr(1, 40_000),
            s_addr: addr(2, 80),
            log: Vec::new(),
        }
    }

    fn run(&mut self) {
        for _ in 0..1000 {
            let from_c = self.client.transmit_with_tuples(self.now);
            let from_s = self.server.transmit_with_tuples(self.now);
            if from_c.is_empty() && from_s.is_empty() {
                return;
            }
            for (t, b) in from_c {
                self.log.push((true, Flags(b[13])));
                self.server.receive(self.now, t.local, t.remote, &b);
            }
            for (t, b) in from_s {
                self.log.push((false, Flags(b[13])));
                self.client.receive(self.now, t.local, t.remote, &b);
            }
        }
        panic!("the hosts never went quiet");
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.client.ep.handle_timeout(self.now);
        self.server.ep.handle_timeout(self.now);
        self.run();
    }

    /// Connects, lets the handshake complete, accepts: (client id, server id).
    fn connect(&mut self) -> (ConnId, ConnId) {
        let c = self
            .client
            .ep
            .connect(self.now, self.c_addr, self.s_addr)
            .expect("connect");
        self.run();
        let s = self
            .server
            .ep
            .accept(self.s_addr)
            .expect("a connection to accept");
        (c, s)
    }
}

fn policy() -> Policy {
    Policy {
        invalid_ratelimit: Duration::ZERO,
        ..Policy::LINUX
    }
}

#[test]
fn endpoint_full_lifecycle_leaves_client_in_time_wait_entry_and_server_empty() {
    let mut net = Net::new(policy());
    net.server.ep.listen(net.s_addr, 16).expect("listen");
    let (c, s) = net.connect();
    assert_eq!(
        net.client.ep.connection(c).map(|x| x.state()),
        Some(State::Established)
    );
    assert_eq!(
        net.server.ep.connection(s).map(|x| x.state()),
        Some(State::Established)
    );

    net.client.write(c, b"ping");
    net.run();
    assert_eq!(net.server.read(s), b"ping");
    net.server.write(s, b"pong");
    net.run();
    assert_eq!(net.client.read(c), b"pong");

    // The client closes first and lets go; the server reads EOF and closes too.
    net.client.ep.close(net.now, c).expect("close");
    net.client.ep.release(net.now, c).expect("release");
    net.run();
    assert!(net.server.events.contains(&(s, Event::PeerFin)));
    net.server.ep.close(net.now, s).expect("close");
    net.server.ep.release(net.now, s).expect("release");
    net.run();

    assert_eq!(net.client.ep.len(), 0);
    assert_eq!(
        net.client.ep.time_wait_len(),
        1,
        "the active closer keeps TIME-WAIT"
    );
    assert_eq!(net.server.ep.len(), 0, "the passive closer keeps no state");
    assert_eq!(net.server.ep.time_wait_len(), 0);
    assert!(
        net.client.ep.connection(c).is_none(),
        "released handles go stale"
    );

    // TIME-WAIT lasts 2*MSL (Linux: 60 s) and then the entry goes.
    net.advance(Duration::from_secs(59));
    assert_eq!(net.client.ep.time_wait_len(), 1);
    net.advance(Duration::from_secs(1));
    assert_eq!(net.client.ep.time_wait_len(), 0);
    assert_eq!(net.client.ep.poll_timeout(), None);
}

#[test]
fn endpoint_time_wait_entry_reacks_retransmitted_fin() {
    let mut net = Net::new(policy());
    net.server.ep.listen(net.s_addr, 16).expect("listen");
    let (c, s) = net.connect();
    net.client.ep.close(net.now, c).expect("close");
    net.client.ep.release(net.now, c).expect("release");
    net.run();
    net.server.ep.close(net.now, s).expect("close");
    // Capture the server's FIN, deliver it, and then deliver it again as a retransmission.
    let fin = net.server.transmit(net.now);
    assert_eq!(fin.len(), 1);
    net.client.receive(net.now, net.s_addr, net.c_addr, &fin[0]);
    let ack = net.client.transmit(net.now);
    assert_eq!(ack.len(), 1, "the client ACKs the FIN");
    assert_eq!(net.client.ep.time_wait_len(), 1);
    net.now = net.now + Duration::from_secs(30);
    let d = net.client.receive(net.now, net.s_addr, net.c_addr, &fin[0]);
    assert_eq!(d, Disposition::Accepted);
    let again = net.client.transmit(net.now);
    assert_eq!(again, ack, "the same ACK goes again");
    // The 2*MSL timer restarted at the retransmission.
    let tuple = FourTuple {
        local: net.c_addr,
        remote: net.s_addr,
    };
    let tw = *net.client.ep.time_wait_entry(&tuple).expect("entry");
    assert_eq!(tw.deadline, net.now + Duration::from_secs(60));
}

#[test]
fn endpoint_unknown_tuple_answers_rst_and_never_rst_to_rst() {
    let mut net = Net::new(policy());
    // No listener: a SYN draws <SEQ=0><ACK=SEQ+1><CTL=RST,ACK>.
    let c = net
        .client
        .ep
        .connect(net.now, net.c_addr, net.s_addr)
        .expect("connect");
    net.run();
    assert_eq!(
        net.log,
        [(true, Flags::SYN), (false, Flags::RST | Flags::ACK)]
    );
    assert!(
        net.client
            .events
            .contains(&(c, Event::Error(tcp_fsm::ConnError::Refused)))
    );
    assert_eq!(
        net.client.ep.connection(c).map(|x| x.state()),
        Some(State::Closed)
    );

    // A RST to an unknown tuple is dropped silently.
    let rst = tcp_fsm::Segment {
        seq: SeqNum(5),
        flags: Flags::RST,
        ..Default::default()
    };
    let tuple = FourTuple {
        local: net.s_addr,
        remote: net.c_addr,
    };
    let routed = net.server.ep.handle_segment(net.now, tuple, &rst);
    assert_eq!(routed.disposition, Disposition::NoConnection);
    assert!(net.server.ep.poll_transmit(net.now).is_none());
}

#[test]
fn endpoint_accept_queue_full_drops_completing_ack_and_synack_is_retransmitted() {
    let mut net = Net::new(policy());
    // Linux counts the accept queue full once it holds more than the backlog: 3 for backlog 2.
    net.server.ep.listen(net.s_addr, 2).expect("listen");
    for port in [40_001, 40_002] {
        net.client
            .ep
            .connect(net.now, addr(1, port), net.s_addr)
            .expect("connect");
        net.run();
    }
    // Two handshakes in flight at once: both SYNs find room, but only one completing ACK does.
    let c3 = net
        .client
        .ep
        .connect(net.now, addr(1, 40_003), net.s_addr)
        .expect("connect");
    let c4 = net
        .client
        .ep
        .connect(net.now, addr(1, 40_004), net.s_addr)
        .expect("connect");
    net.run();
    let server_state = |net: &Net, port| {
        net.server
            .ep
            .lookup(&FourTuple {
                local: net.s_addr,
                remote: addr(1, port),
            })
            .and_then(|id| net.server.ep.connection(id))
            .map(|c| c.state())
    };
    assert_eq!(server_state(&net, 40_003), Some(State::Established));
    assert_eq!(
        server_state(&net, 40_004),
        Some(State::SynReceived),
        "its ACK was dropped"
    );
    for c in [c3, c4] {
        assert_eq!(
            net.client.ep.connection(c).map(|x| x.state()),
            Some(State::Established),
            "the client thinks it is connected"
        );
    }
    // While the queue is full, a new SYN is dropped too (Linux).
    let c5 = net
        .client
        .ep
        .connect(net.now, addr(1, 40_005), net.s_addr)
        .expect("connect");
    net.run();
    assert_eq!(server_state(&net, 40_005), None);
    assert_eq!(
        net.client.ep.connection(c5).map(|x| x.state()),
        Some(State::SynSent)
    );
    // Once there is room, the retransmitted SYN+ACK draws the ACK that completes the fourth.
    assert!(net.server.ep.accept(net.s_addr).is_some());
    assert!(net.server.ep.accept(net.s_addr).is_some());
    net.log.clear();
    net.advance(Duration::from_secs(1));
    assert!(
        net.log.contains(&(false, Flags::SYN | Flags::ACK)),
        "{:?}",
        net.log
    );
    assert_eq!(
        server_state(&net, 40_004),
        Some(State::Established),
        "{:?}",
        net.log
    );
}

#[test]
fn endpoint_unlisten_resets_connections_waiting_for_accept() {
    let mut net = Net::new(policy());
    net.server.ep.listen(net.s_addr, 8).expect("listen");
    let c = net
        .client
        .ep
        .connect(net.now, net.c_addr, net.s_addr)
        .expect("connect");
    net.run();
    net.log.clear();
    net.server.ep.unlisten(net.s_addr).expect("unlisten");
    net.run();
    assert_eq!(net.log, [(false, Flags::RST | Flags::ACK)]);
    assert!(
        net.client
            .events
            .contains(&(c, Event::Error(tcp_fsm::ConnError::Reset)))
    );
    assert_eq!(net.server.ep.len(), 0);
    assert_eq!(
        net.server.ep.time_wait_len(),
        0,
        "no TIME-WAIT after a reset"
    );
}

#[test]
fn endpoint_stale_handle_is_refused() {
    let mut net = Net::new(policy());
    net.server.ep.listen(net.s_addr, 8).expect("listen");
    let (c, _s) = net.connect();
    net.client.ep.abort(c).expect("abort");
    net.client.ep.release(net.now, c).expect("release");
    net.run();
    assert_eq!(
        net.client.ep.send(c, 1),
        Err(tcp_fsm::EndpointError::NoSuchConnection)
    );
    // The slot is reused by the next connection, under a new handle.
    let c2 = net
        .client
        .ep
        .connect(net.now, addr(1, 40_009), net.s_addr)
        .expect("connect");
    assert_ne!(c, c2);
    assert!(net.client.ep.connection(c).is_none());
}

#[test]
fn endpoint_connect_to_tuple_in_time_wait_is_refused_and_syn_may_reopen_it() {
    let mut net = Net::new(policy());
    net.server.ep.listen(net.s_addr, 8).expect("listen");
    let (c, s) = net.connect();
    // The server closes first this time, so the server keeps TIME-WAIT.
    net.server.ep.close(net.now, s).expect("close");
    net.server.ep.release(net.now, s).expect("release");
    net.run();
    net.client.ep.close(net.now, c).expect("close");
    net.client.ep.release(net.now, c).expect("release");
    net.run();
    assert_eq!(net.server.ep.time_wait_len(), 1);
    assert_eq!(net.client.ep.time_wait_len(), 0);
    // A new SYN on the same 4-tuple with a higher sequence number reopens it (RFC 9293
    // MAY-2, Linux): the TIME-WAIT entry gives way to a new SYN-RECEIVED child.
    net.now = net.now + Duration::from_secs(1);
    let c2 = net
        .client
        .ep
        .connect(net.now, net.c_addr, net.s_addr)
        .expect("connect");
    net.run();
    assert_eq!(net.server.ep.time_wait_len(), 0);
    assert!(net.server.ep.accept(net.s_addr).is_some());
    assert_eq!(
        net.client.ep.connection(c2).map(|x| x.state()),
        Some(State::Established)
    );
}

#[test]
fn endpoint_reopen_of_a_held_time_wait_connection_gives_the_tuple_to_the_new_one() {
    let mut net = Net::new(policy());
    net.server.ep.listen(net.s_addr, 8).expect("listen");
    let (c, s) = net.connect();
    // The server closes first and keeps its handle: its connection stays in TIME-WAIT in the
    // slab (no compact entry).
    net.server.ep.close(net.now, s).expect("close");
    net.run();
    net.client.ep.close(net.now, c).expect("close");
    net.client.ep.release(net.now, c).expect("release");
    net.run();
    assert_eq!(
        net.server.ep.connection(s).map(|x| x.state()),
        Some(State::TimeWait)
    );
    let tuple = net.server.ep.tuple(s).expect("held");
    assert_eq!(net.server.ep.lookup(&tuple), Some(s));
    // A new SYN on the same 4-tuple reopens it: a new child takes the tuple over while the
    // application still holds the old connection.
    net.now = net.now + Duration::from_secs(1);
    let c2 = net
        .client
        .ep
        .connect(net.now, net.c_addr, net.s_addr)
        .expect("connect");
    net.run();
    let s2 = net.server.ep.accept(net.s_addr).expect("a new connection");
    assert_ne!(s2, s);
    assert_eq!(net.server.ep.lookup(&tuple), Some(s2));
    assert!(net.server.ep.local_in_use(net.s_addr));
    // Letting go of the old one frees it without taking the tuple from the new one.
    net.server.ep.release(net.now, s).expect("release");
    net.run();
    assert_eq!(net.server.ep.lookup(&tuple), Some(s2));
    net.client.write(c2, b"after");
    net.run();
    assert_eq!(net.server.read(s2), b"after");
    assert_eq!(
        net.client.ep.connection(c2).map(|x| x.state()),
        Some(State::Established)
    );
}
