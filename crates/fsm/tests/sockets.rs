//! The socket layer against Linux's semantics: descriptors, close versus shutdown, SO_LINGER,
//! errno-like errors, and the listener's SYN and accept queues with SYN cookies. Two stacks
//! exchange real wire bytes; every test is named after the behaviour it pins down.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tcp_fsm::socket::{
    Closed, Errno, Fd, LingerExpiry, LingerOutcome, Shutdown, SockOpt, SockOptName, SocketEvent,
    Stack,
};
use tcp_fsm::wire::{self, PseudoHeader, Repr};
use tcp_fsm::{Duration, Flags, FourTuple, Instant, Policy, State, SynCookies};

fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, host), port))
}

const SERVER: u8 = 2;
const CLIENT: u8 = 1;

/// One segment that crossed the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    from_client: bool,
    flags: Flags,
    seq: u32,
    ack: u32,
    len: usize,
}

/// A client stack (10.0.0.1) and a server stack (10.0.0.2) on a wire that can be cut.
struct Net {
    client: Stack,
    server: Stack,
    now: Instant,
    log: Vec<Seen>,
    /// Drop everything the server sends (a dead peer, seen from the client).
    drop_from_server: bool,
    /// Drop everything the client sends.
    drop_from_client: bool,
}

fn pseudo(t: &FourTuple) -> PseudoHeader {
    match (t.local, t.remote) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => PseudoHeader::V4 {
            src: *s.ip(),
            dst: *d.ip(),
        },
        _ => unreachable!("IPv4 only here"),
    }
}

/// Everything `stack` sends now, as (tuple, bytes), with the source address filled in.
fn drain(stack: &mut Stack, now: Instant, host: u8) -> Vec<(FourTuple, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some((tuple, seg)) = stack.poll_transmit(now) {
        assert_eq!(
            tuple.local.ip(),
            addr(host, 0).ip(),
            "the source is the host's address"
        );
        let repr = Repr {
            src_port: tuple.local.port(),
            dst_port: tuple.remote.port(),
            segment: seg,
        };
        let mut bytes = vec![0; wire::buffer_len(&repr)];
        let n = wire::emit(&repr, Some(&pseudo(&tuple)), &mut bytes).expect("sized buffer");
        bytes.truncate(n);
        out.push((tuple, bytes));
    }
    out
}

impl Net {
    fn new(policy: Policy) -> Net {
        let mut client = Stack::new(policy, [1, 2, 3, 4]);
        client.add_address(addr(CLIENT, 0).ip());
        let mut server = Stack::new(policy, [5, 6, 7, 8]);
        server.add_address(addr(SERVER, 0).ip());
        Net {
            client,
            server,
            now: Instant::from_millis(100_000),
            log: Vec::new(),
            drop_from_server: false,
            drop_from_client: false,
        }
    }

    fn deliver(&mut self, from_client: bool, tuple: FourTuple, bytes: &[u8]) {
        let repr = wire::parse(bytes, Some(&pseudo(&tuple))).expect("valid bytes");
        let s = repr.segment;
        self.log.push(Seen {
            from_client,
            flags: s.flags.without(Flags::PSH),
            seq: s.seq.0,
            ack: if s.flags.ack() { s.ack.0 } else { 0 },
            len: s.payload.len(),
        });
        let dropped = if from_client {
            self.drop_from_client
        } else {
            self.drop_from_server
        };
        if dropped {
            return;
        }
        let arriving = FourTuple {
            local: tuple.remote,
            remote: tuple.local,
        };
        let to = if from_client {
            &mut self.server
        } else {
            &mut self.client
        };
        to.handle_segment(self.now, arriving, &s);
    }

    fn run(&mut self) {
        for _ in 0..10_000 {
            let c = drain(&mut self.client, self.now, CLIENT);
            let s = drain(&mut self.server, self.now, SERVER);
            if c.is_empty() && s.is_empty() {
                return;
            }
            for (t, b) in c {
                self.deliver(true, t, &b);
            }
            for (t, b) in s {
                self.deliver(false, t, &b);
            }
        }
        panic!("the stacks never went quiet");
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|&t| t <= end)
                .min();
            let Some(t) = next else { break };
            self.now = t.max(self.now);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            self.run();
        }
        self.now = end;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.run();
    }

    fn listener(&mut self, backlog: u32) -> Fd {
        let l = self.server.socket();
        self.server.bind(l, addr(SERVER, 80)).expect("bind");
        self.server.listen(l, backlog).expect("listen");
        l
    }

    /// A connected pair: (client fd, server fd).
    fn pair(&mut self) -> (Fd, Fd) {
        let l = self.listener(16);
        let c = self.connect_client();
        let (s, _) = self.server.accept(l).expect("accept");
        (c, s)
    }

    fn connect_client(&mut self) -> Fd {
        let c = self.client.socket();
        assert_eq!(
            self.client.connect(self.now, c, addr(SERVER, 80)),
            Err(Errno::EINPROGRESS)
        );
        self.run();
        assert_eq!(self.client.connect(self.now, c, addr(SERVER, 80)), Ok(()));
        c
    }

    fn flags(&self) -> Vec<(bool, Flags)> {
        self.log.iter().map(|s| (s.from_client, s.flags)).collect()
    }
}

fn policy() -> Policy {
    Policy {
        invalid_ratelimit: Duration::ZERO,
        ..Policy::LINUX
    }
}

const C: bool = true;
const S: bool = false;
const ACK: Flags = Flags::ACK;
const FIN_ACK: Flags = Flags(Flags::FIN.0 | Flags::ACK.0);
const RST_ACK: Flags = Flags(Flags::RST.0 | Flags::ACK.0);

fn read_all(stack: &mut Stack, fd: Fd) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stack.recv(fd, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) if !out.is_empty() => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

// ----- descriptors -----------------------------------------------------------------------------

#[test]
fn dup_close_of_one_descriptor_sends_nothing_and_last_close_sends_fin() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    let c2 = net.client.dup(c).expect("dup");
    assert_eq!(net.client.descriptor_count(c), Ok(2));
    net.log.clear();
    assert_eq!(net.client.close(net.now, c), Ok(Closed::Done));
    net.run();
    assert!(
        net.log.is_empty(),
        "closing one of two descriptors sends nothing"
    );
    assert_eq!(net.client.tcp_state(c2), Ok(State::Established));
    assert_eq!(net.client.send(c, b"x"), Err(Errno::EBADF));
    assert_eq!(net.client.close(net.now, c2), Ok(Closed::Done));
    net.run();
    assert_eq!(net.flags(), [(C, FIN_ACK), (S, ACK)]);
}

#[test]
fn shutdown_acts_at_once_whatever_the_descriptor_count_and_releases_no_descriptor() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    let c2 = net.client.dup(c).expect("dup");
    net.log.clear();
    net.client
        .shutdown(net.now, c2, Shutdown::Write)
        .expect("shutdown");
    net.run();
    assert_eq!(
        net.flags(),
        [(C, FIN_ACK), (S, ACK)],
        "FIN despite two descriptors"
    );
    assert_eq!(net.client.tcp_state(c), Ok(State::FinWait2));
    // Both descriptors still work for reading.
    net.server.send(s, b"still here").expect("send");
    net.run();
    assert_eq!(
        read_all(&mut net.client, c2).as_deref(),
        Ok(&b"still here"[..])
    );
    assert_eq!(net.client.descriptor_count(c), Ok(2));
}

// ----- close with unread data, linger ------------------------------------------------------------

#[test]
fn close_with_unread_data_sends_rst_acking_rcv_nxt_and_peer_sees_econnreset() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    net.server.send(s, b"unread").expect("send");
    net.run();
    let tuple = net.client.tuple(c).expect("tuple");
    let rcv_nxt = net
        .client
        .endpoint()
        .lookup(&tuple)
        .and_then(|id| net.client.endpoint().connection(id))
        .map(|conn| conn.status().rcv_nxt.0);
    net.log.clear();
    assert_eq!(net.client.close(net.now, c), Ok(Closed::Done));
    net.run();
    assert_eq!(net.flags(), [(C, RST_ACK)]);
    assert_eq!(
        Some(net.log[0].ack),
        rcv_nxt,
        "the RST acknowledges RCV.NXT"
    );
    assert_eq!(
        net.client.endpoint().time_wait_len(),
        0,
        "no TIME-WAIT after RST"
    );
    assert_eq!(net.client.endpoint().len(), 0);
    let mut buf = [0u8; 8];
    assert_eq!(net.server.recv(s, &mut buf), Err(Errno::ECONNRESET));
    assert_eq!(
        net.server.recv(s, &mut buf),
        Ok(0),
        "the error is reported once"
    );
    assert_eq!(net.server.send(s, b"x"), Err(Errno::EPIPE));
}

#[test]
fn close_with_unread_data_resets_before_looking_at_linger() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::from_secs(5))))
        .expect("linger");
    net.server.send(s, b"unread").expect("send");
    net.run();
    net.log.clear();
    assert_eq!(
        net.client.close(net.now, c),
        Ok(Closed::Done),
        "no lingering"
    );
    net.run();
    assert_eq!(net.flags(), [(C, RST_ACK)]);
}

#[test]
fn linger_zero_close_sends_rst_and_skips_time_wait() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::ZERO)))
        .expect("linger");
    net.log.clear();
    net.client.close(net.now, c).expect("close");
    net.run();
    assert_eq!(net.flags(), [(C, RST_ACK)]);
    assert_eq!(net.client.endpoint().time_wait_len(), 0);
    let mut buf = [0u8; 1];
    assert_eq!(net.server.recv(s, &mut buf), Err(Errno::ECONNRESET));
}

#[test]
fn linger_zero_after_shutdown_sends_fin_then_rst() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::ZERO)))
        .expect("linger");
    net.log.clear();
    net.client
        .shutdown(net.now, c, Shutdown::Both)
        .expect("shutdown");
    net.run();
    net.client.close(net.now, c).expect("close");
    net.run();
    assert_eq!(net.flags(), [(C, FIN_ACK), (S, ACK), (C, RST_ACK)]);
    assert_eq!(net.client.endpoint().time_wait_len(), 0);
}

#[test]
fn shutdown_ignores_linger_zero_and_sends_fin() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::ZERO)))
        .expect("linger");
    net.log.clear();
    net.client
        .shutdown(net.now, c, Shutdown::Write)
        .expect("shutdown");
    net.run();
    assert_eq!(net.flags(), [(C, FIN_ACK), (S, ACK)]);
}

#[test]
fn linger_positive_close_completes_when_fin_is_acknowledged() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::from_secs(5))))
        .expect("linger");
    net.client.send(c, b"last words").expect("send");
    assert_eq!(net.client.close(net.now, c), Ok(Closed::Lingering));
    net.run();
    assert_eq!(
        net.client.poll_event(),
        Some(SocketEvent::LingerDone(c, LingerOutcome::Acknowledged))
    );
}

#[test]
fn linger_positive_close_times_out_and_goes_on_in_background_as_linux() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::from_secs(2))))
        .expect("linger");
    net.drop_from_server = true;
    assert_eq!(net.client.close(net.now, c), Ok(Closed::Lingering));
    net.run();
    net.advance(Duration::from_secs(2));
    assert_eq!(
        net.client.poll_event(),
        Some(SocketEvent::LingerDone(c, LingerOutcome::TimedOut))
    );
    assert!(
        !net.log.iter().any(|s| s.flags.rst()),
        "Linux sends no RST when the linger time runs out"
    );
    assert_eq!(
        net.client.endpoint().len(),
        1,
        "still closing in the background"
    );
}

#[test]
fn linger_positive_close_with_reset_expiry_sends_rst_when_time_runs_out() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::from_secs(2))))
        .expect("linger");
    net.client
        .setsockopt(net.now, c, SockOpt::LingerExpiry(LingerExpiry::Reset))
        .expect("expiry");
    net.drop_from_server = true;
    assert_eq!(net.client.close(net.now, c), Ok(Closed::Lingering));
    net.run();
    net.advance(Duration::from_secs(2));
    assert_eq!(
        net.client.poll_event(),
        Some(SocketEvent::LingerDone(c, LingerOutcome::Reset))
    );
    assert_eq!(net.log.last().map(|s| s.flags), Some(RST_ACK));
    assert_eq!(net.client.endpoint().len(), 0);
}

// ----- shutdown --------------------------------------------------------------------------------

#[test]
fn shutdown_write_sends_fin_after_queued_data_then_writes_fail_with_epipe_and_reads_go_on() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    net.client.send(c, b"queued").expect("send");
    net.log.clear();
    net.client
        .shutdown(net.now, c, Shutdown::Write)
        .expect("shutdown");
    assert_eq!(net.client.send(c, b"more"), Err(Errno::EPIPE));
    net.run();
    // Data first, then the FIN (here in one segment), acknowledged.
    assert_eq!(net.log[0].flags, FIN_ACK);
    assert_eq!(net.log[0].len, 6);
    assert_eq!(read_all(&mut net.server, s).as_deref(), Ok(&b"queued"[..]));
    // The peer keeps sending; we keep reading until its FIN, then 0.
    net.server.send(s, b"reply").expect("send");
    net.run();
    assert_eq!(read_all(&mut net.client, c).as_deref(), Ok(&b"reply"[..]));
    let mut buf = [0u8; 4];
    assert_eq!(
        net.client.recv(c, &mut buf),
        Err(Errno::EAGAIN),
        "no FIN yet"
    );
    net.server
        .shutdown(net.now, s, Shutdown::Write)
        .expect("shutdown");
    net.run();
    assert_eq!(net.client.recv(c, &mut buf), Ok(0));
    assert_eq!(net.client.tcp_state(c), Ok(State::TimeWait));
}

#[test]
fn shutdown_read_returns_eof_while_later_data_is_still_acked_and_readable_as_linux() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    net.client
        .shutdown(net.now, c, Shutdown::Read)
        .expect("shutdown");
    let mut buf = [0u8; 16];
    assert_eq!(net.client.recv(c, &mut buf), Ok(0));
    net.log.clear();
    net.server.send(s, b"after").expect("send");
    net.run();
    assert_eq!(net.flags(), [(S, ACK), (C, ACK)], "acknowledged, not reset");
    assert_eq!(net.client.recv(c, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"after");
    assert_eq!(net.client.recv(c, &mut buf), Ok(0));
    // Left unread, such data makes the close a reset.
    net.server.send(s, b"more").expect("send");
    net.run();
    net.log.clear();
    net.client.close(net.now, c).expect("close");
    net.run();
    assert_eq!(net.flags(), [(C, RST_ACK)]);
}

// ----- orphans and TIME-WAIT --------------------------------------------------------------------

#[test]
fn data_arriving_after_close_gets_rst() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    net.client.close(net.now, c).expect("close");
    net.run();
    assert_eq!(net.server.tcp_state(s), Ok(State::CloseWait));
    net.log.clear();
    net.server.send(s, b"anyone?").expect("send");
    net.run();
    assert_eq!(net.flags(), [(S, ACK), (C, Flags::RST)]);
    let mut buf = [0u8; 1];
    assert_eq!(net.server.recv(s, &mut buf), Err(Errno::ECONNRESET));
    assert_eq!(net.client.endpoint().len(), 0);
}

#[test]
fn orphaned_fin_wait_2_ends_after_fin_timeout() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    net.client.close(net.now, c).expect("close");
    net.run();
    assert_eq!(net.server.tcp_state(s), Ok(State::CloseWait));
    assert_eq!(net.client.endpoint().len(), 1, "orphaned, in FIN-WAIT-2");
    net.advance(Duration::from_secs(59));
    assert_eq!(net.client.endpoint().len(), 1);
    net.advance(Duration::from_secs(1));
    assert_eq!(net.client.endpoint().len(), 0, "tcp_fin_timeout: 60 s");
    assert_eq!(net.client.endpoint().time_wait_len(), 0);
}

#[test]
fn shutdown_write_without_close_never_times_out_in_fin_wait_2() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    net.client
        .shutdown(net.now, c, Shutdown::Write)
        .expect("shutdown");
    net.run();
    net.advance(Duration::from_secs(600));
    assert_eq!(net.client.tcp_state(c), Ok(State::FinWait2));
}

#[test]
fn first_fin_sender_ends_in_time_wait_and_passive_closer_keeps_no_state() {
    let mut net = Net::new(policy());
    let (c, s) = net.pair();
    let tuple = net.server.tuple(s).expect("tuple");
    net.client.close(net.now, c).expect("close");
    net.run();
    net.server.close(net.now, s).expect("close");
    net.run();
    assert_eq!(net.client.endpoint().time_wait_len(), 1);
    assert_eq!(net.server.endpoint().len(), 0);
    assert_eq!(net.server.endpoint().time_wait_len(), 0);
    // A later segment for the passive closer's tuple draws a RST.
    net.log.clear();
    let seg = tcp_fsm::Segment {
        seq: tcp_fsm::SeqNum(1),
        ack: tcp_fsm::SeqNum(1),
        flags: Flags::ACK,
        ..Default::default()
    };
    net.server.handle_segment(net.now, tuple, &seg);
    let out = drain(&mut net.server, net.now, SERVER);
    assert_eq!(out.len(), 1);
    assert_eq!(Flags(out[0].1[13]), Flags::RST);
}

// ----- connect ---------------------------------------------------------------------------------

#[test]
fn connect_to_port_without_listener_fails_with_econnrefused() {
    let mut net = Net::new(policy());
    let c = net.client.socket();
    assert_eq!(
        net.client.connect(net.now, c, addr(SERVER, 81)),
        Err(Errno::EINPROGRESS)
    );
    net.run();
    assert_eq!(net.flags(), [(C, Flags::SYN), (S, RST_ACK)]);
    assert_eq!(net.client.poll(c).map(|r| r.error), Ok(true));
    assert_eq!(
        net.client.connect(net.now, c, addr(SERVER, 81)),
        Err(Errno::ECONNREFUSED)
    );
}

#[test]
fn connect_fails_with_etimedout_when_syn_retries_run_out() {
    let mut net = Net::new(policy());
    net.drop_from_client = true;
    let c = net.client.socket();
    let _ = net.client.connect(net.now, c, addr(SERVER, 80));
    net.run();
    // Linux: 6 retries, 1+2+4+8+16+32+64 = 127 s.
    net.advance(Duration::from_secs(126));
    assert_eq!(
        net.client.connect(net.now, c, addr(SERVER, 80)),
        Err(Errno::EALREADY)
    );
    net.advance(Duration::from_secs(1));
    assert_eq!(
        net.client.getsockopt(c, SockOptName::Error),
        Ok(SockOpt::Error(Some(Errno::ETIMEDOUT)))
    );
    assert_eq!(net.log.iter().filter(|s| s.flags == Flags::SYN).count(), 7);
}

#[test]
fn close_in_syn_sent_sends_nothing_and_a_late_synack_gets_rst() {
    let mut net = Net::new(policy());
    let _l = net.listener(8);
    let c = net.client.socket();
    let _ = net.client.connect(net.now, c, addr(SERVER, 80));
    // Take the SYN off the client by hand, close, then deliver the SYN.
    let syn = drain(&mut net.client, net.now, CLIENT);
    assert_eq!(net.client.close(net.now, c), Ok(Closed::Done));
    assert!(
        drain(&mut net.client, net.now, CLIENT).is_empty(),
        "close in SYN-SENT is silent"
    );
    for (t, b) in syn {
        net.deliver(true, t, &b);
    }
    net.run();
    assert_eq!(
        net.flags(),
        [
            (C, Flags::SYN),
            (S, Flags::SYN | Flags::ACK),
            (C, Flags::RST)
        ]
    );
}

#[test]
fn nonblocking_connect_answers_einprogress_ealready_ok_then_eisconn() {
    let mut net = Net::new(policy());
    let _l = net.listener(8);
    let c = net.client.socket();
    assert_eq!(
        net.client.connect(net.now, c, addr(SERVER, 80)),
        Err(Errno::EINPROGRESS)
    );
    assert_eq!(
        net.client.connect(net.now, c, addr(SERVER, 80)),
        Err(Errno::EALREADY)
    );
    assert_eq!(net.client.send(c, b"early"), Err(Errno::EAGAIN));
    assert!(!net.client.poll(c).expect("poll").writable);
    net.run();
    assert!(net.client.poll(c).expect("poll").writable);
    assert_eq!(net.client.connect(net.now, c, addr(SERVER, 80)), Ok(()));
    assert_eq!(
        net.client.connect(net.now, c, addr(SERVER, 80)),
        Err(Errno::EISCONN)
    );
}

#[test]
fn calls_in_the_wrong_state_get_typed_errors() {
    let mut net = Net::new(policy());
    let fresh = net.client.socket();
    let mut buf = [0u8; 1];
    assert_eq!(net.client.send(fresh, b"x"), Err(Errno::ENOTCONN));
    assert_eq!(net.client.recv(fresh, &mut buf), Err(Errno::ENOTCONN));
    assert_eq!(
        net.client.shutdown(net.now, fresh, Shutdown::Write),
        Err(Errno::ENOTCONN)
    );
    assert_eq!(
        net.client.listen(fresh, 1),
        Err(Errno::EINVAL),
        "listen needs bind"
    );
    assert_eq!(net.client.accept(fresh), Err(Errno::EINVAL));
    net.client.bind(fresh, addr(CLIENT, 7)).expect("bind");
    assert_eq!(net.client.bind(fresh, addr(CLIENT, 8)), Err(Errno::EINVAL));
    let other = net.client.socket();
    assert_eq!(
        net.client.bind(other, addr(CLIENT, 7)),
        Err(Errno::EADDRINUSE)
    );
    net.client.listen(fresh, 4).expect("listen");
    assert_eq!(net.client.accept(fresh), Err(Errno::EAGAIN));
    assert_eq!(
        net.client.connect(net.now, fresh, addr(SERVER, 80)),
        Err(Errno::EINVAL)
    );
    net.client.close(net.now, fresh).expect("close");
    assert_eq!(net.client.close(net.now, fresh), Err(Errno::EBADF));
    assert_eq!(net.client.dup(Fd(999)), Err(Errno::EBADF));
    assert_eq!(
        net.client.setsockopt(net.now, other, SockOpt::Error(None)),
        Err(Errno::EINVAL)
    );
}

#[test]
fn bind_to_an_address_held_by_time_wait_needs_so_reuseaddr() {
    let mut net = Net::new(policy());
    let l = net.listener(8);
    let c = net.connect_client();
    let (s, _) = net.server.accept(l).expect("accept");
    net.server.close(net.now, l).expect("close listener");
    // The server closes first, so its side of the tuple stays in TIME-WAIT.
    net.server.close(net.now, s).expect("close");
    net.run();
    net.client.close(net.now, c).expect("close");
    net.run();
    assert_eq!(net.server.endpoint().time_wait_len(), 1);
    let again = net.server.socket();
    assert_eq!(
        net.server.bind(again, addr(SERVER, 80)),
        Err(Errno::EADDRINUSE)
    );
    net.server
        .setsockopt(net.now, again, SockOpt::ReuseAddr(true))
        .expect("reuseaddr");
    assert_eq!(net.server.bind(again, addr(SERVER, 80)), Ok(()));
}

#[test]
fn keepalive_socket_options_find_a_dead_peer() {
    let mut net = Net::new(policy());
    let (c, _s) = net.pair();
    for opt in [
        SockOpt::KeepIdle(Duration::from_secs(10)),
        SockOpt::KeepInterval(Duration::from_secs(2)),
        SockOpt::KeepCount(3),
        SockOpt::KeepAlive(true),
    ] {
        net.client.setsockopt(net.now, c, opt).expect("setsockopt");
    }
    assert_eq!(
        net.client.getsockopt(c, SockOptName::KeepIdle),
        Ok(SockOpt::KeepIdle(Duration::from_secs(10)))
    );
    net.drop_from_server = true;
    net.log.clear();
    net.advance(Duration::from_secs(10 + 3 * 2));
    let mut buf = [0u8; 1];
    assert_eq!(net.client.recv(c, &mut buf), Err(Errno::ETIMEDOUT));
    let probes = net
        .log
        .iter()
        .filter(|s| s.from_client && s.flags == ACK)
        .count();
    assert_eq!(probes, 3, "three unanswered probes");
    assert_eq!(
        net.log.last().map(|s| s.flags),
        Some(RST_ACK),
        "then a RST, as Linux"
    );
}

// ----- the listener ----------------------------------------------------------------------------

#[test]
fn accepted_connection_inherits_the_listening_socket_options_from_its_syn() {
    let mut net = Net::new(policy());
    let l = net.server.socket();
    net.server.bind(l, addr(SERVER, 80)).expect("bind");
    net.server.listen(l, 8).expect("listen");
    net.server
        .setsockopt(net.now, l, SockOpt::KeepIdle(Duration::from_secs(30)))
        .expect("keepidle");
    net.server
        .setsockopt(net.now, l, SockOpt::KeepAlive(true))
        .expect("keepalive");
    let _c = net.connect_client();
    let (s, _) = net.server.accept(l).expect("accept");
    assert_eq!(
        net.server.getsockopt(s, SockOptName::KeepAlive),
        Ok(SockOpt::KeepAlive(true))
    );
    // The keepalive timer runs from the handshake: a probe 30 s later.
    net.log.clear();
    net.advance(Duration::from_secs(30));
    assert_eq!(net.flags(), [(S, ACK), (C, ACK)], "probe and its answer");
}

#[test]
fn syn_queue_holds_one_entry_per_syn_until_the_final_ack() {
    let mut net = Net::new(policy());
    let l = net.listener(8);
    let mut clients = Vec::new();
    for _ in 0..3 {
        let c = net.client.socket();
        let _ = net.client.connect(net.now, c, addr(SERVER, 80));
        clients.push(c);
    }
    // Deliver the SYNs only.
    for (t, b) in drain(&mut net.client, net.now, CLIENT) {
        net.deliver(true, t, &b);
    }
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 3);
    assert_eq!(net.server.endpoint().accept_queue_len(addr(SERVER, 80)), 0);
    net.run();
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 0);
    assert_eq!(net.server.endpoint().accept_queue_len(addr(SERVER, 80)), 3);
    for _ in 0..3 {
        net.server.accept(l).expect("accept");
    }
}

#[test]
fn syn_queue_entry_goes_on_rst_and_when_synack_retries_run_out() {
    let mut net = Net::new(policy());
    let _l = net.listener(8);
    let c = net.client.socket();
    let _ = net.client.connect(net.now, c, addr(SERVER, 80));
    net.drop_from_server = true;
    net.run();
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 1);
    // Linux: 5 SYN+ACK retransmissions, then the entry is dropped silently.
    net.drop_from_client = true;
    net.advance(Duration::from_secs(1 + 2 + 4 + 8 + 16 + 32));
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 0);
    assert_eq!(net.server.endpoint().len(), 0);
    let synacks = net.log.iter().filter(|s| !s.from_client).count();
    assert_eq!(synacks, 6, "one SYN+ACK and five retransmissions");

    // A RST from the client removes an entry at once.
    let mut net = Net::new(policy());
    let _l = net.listener(8);
    let c = net.client.socket();
    let _ = net.client.connect(net.now, c, addr(SERVER, 80));
    net.drop_from_server = true;
    net.run();
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 1);
    net.drop_from_server = false;
    net.client
        .setsockopt(net.now, c, SockOpt::Linger(Some(Duration::ZERO)))
        .expect("linger");
    // Abort in SYN-SENT sends nothing, so send the RST by hand, as a client that rebooted would.
    let syn = net.log[0].clone();
    let tuple = FourTuple {
        local: addr(SERVER, 80),
        remote: net.client.tuple(c).map(|t| t.local).expect("tuple"),
    };
    let tuple = FourTuple {
        local: tuple.local,
        remote: addr(CLIENT, tuple.remote.port()),
    };
    let rst = tcp_fsm::Segment {
        seq: tcp_fsm::SeqNum(syn.seq.wrapping_add(1)),
        flags: Flags::RST,
        ..Default::default()
    };
    net.server.handle_segment(net.now, tuple, &rst);
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 0);
}

#[test]
fn accept_queue_full_drops_the_final_ack_and_synack_is_retransmitted() {
    let mut net = Net::new(policy());
    let l = net.listener(1);
    // Linux's queue is full past the backlog: two established connections.
    let _c1 = net.connect_client();
    let _c2 = net.connect_client();
    assert_eq!(net.server.endpoint().accept_queue_len(addr(SERVER, 80)), 2);
    // Two more SYNs that raced in while one slot was free: only use the simple path here.
    let c3 = net.client.socket();
    let _ = net.client.connect(net.now, c3, addr(SERVER, 80));
    net.log.clear();
    net.run();
    assert_eq!(
        net.flags(),
        [(C, Flags::SYN)],
        "a SYN at a full accept queue is dropped"
    );
    net.server.accept(l).expect("accept");
    net.server.accept(l).expect("accept");
    net.advance(Duration::from_secs(1));
    assert_eq!(net.client.tcp_state(c3), Ok(State::Established));
}

#[test]
fn accept_queue_full_with_abort_on_overflow_resets_the_client() {
    let mut net = Net::new(Policy {
        abort_on_overflow: true,
        ..policy()
    });
    let _l = net.listener(2);
    let _c1 = net.connect_client();
    let _c2 = net.connect_client();
    // Two handshakes at once: both SYNs find room (two in the queue is not yet full), but the
    // second completing ACK finds the queue full and, with tcp_abort_on_overflow, is reset.
    let c3 = net.client.socket();
    let c4 = net.client.socket();
    let _ = net.client.connect(net.now, c3, addr(SERVER, 80));
    let _ = net.client.connect(net.now, c4, addr(SERVER, 80));
    net.log.clear();
    net.run();
    assert_eq!(net.client.tcp_state(c3), Ok(State::Established));
    assert_eq!(net.client.tcp_state(c4), Ok(State::Closed));
    assert_eq!(
        net.log.last().map(|s| (s.from_client, s.flags)),
        Some((S, Flags::RST))
    );
    assert_eq!(
        net.client.connect(net.now, c4, addr(SERVER, 80)),
        Err(Errno::ECONNRESET)
    );
}

#[test]
fn syn_cookies_complete_the_handshake_with_no_state_per_syn() {
    let mut net = Net::new(Policy {
        syn_cookies: SynCookies::Always,
        ..policy()
    });
    let l = net.listener(8);
    let c = net.client.socket();
    let _ = net.client.connect(net.now, c, addr(SERVER, 80));
    for (t, b) in drain(&mut net.client, net.now, CLIENT) {
        net.deliver(true, t, &b);
    }
    assert_eq!(net.server.endpoint().len(), 0, "no memory spent on the SYN");
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 0);
    net.run();
    let (s, _) = net
        .server
        .accept(l)
        .expect("the cookie's ACK made a connection");
    assert_eq!(net.server.tcp_state(s), Ok(State::Established));
    net.client.send(c, b"over a cookie").expect("send");
    net.run();
    assert_eq!(
        read_all(&mut net.server, s).as_deref(),
        Ok(&b"over a cookie"[..])
    );
}

#[test]
fn syn_cookies_start_when_the_syn_queue_is_full_and_encode_the_mss() {
    let mut net = Net::new(policy());
    // The client announces MSS 1400: a queued connection sends with 1400, one built from a
    // cookie with 1300, the largest cookie MSS not above it.
    net.client = Stack::new(
        Policy {
            mss: 1400,
            ..policy()
        },
        [1, 2, 3, 4],
    );
    net.client.add_address(addr(CLIENT, 0).ip());
    let l = net.listener(1);
    // Linux 6.x counts the SYN queue full once it holds more than the backlog: two SYNs are
    // queued, the third is answered with a cookie and leaves no state.
    for _ in 0..3 {
        let c = net.client.socket();
        let _ = net.client.connect(net.now, c, addr(SERVER, 80));
    }
    for (t, b) in drain(&mut net.client, net.now, CLIENT) {
        net.deliver(true, t, &b);
    }
    assert_eq!(net.server.endpoint().syn_queue_len(addr(SERVER, 80)), 2);
    assert_eq!(net.server.endpoint().len(), 2, "no state for the third SYN");
    // Whatever the order the handshakes complete in, all three end up accepted (one completing
    // ACK may meet a full accept queue and wait for a SYN+ACK retransmission).
    let mut accepted = Vec::new();
    for _ in 0..3 {
        net.run();
        while let Ok((s, _)) = net.server.accept(l) {
            accepted.push(s);
        }
        net.advance(Duration::from_secs(1));
    }
    let mut mss: Vec<u16> = accepted
        .iter()
        .filter_map(|&s| {
            let ep = net.server.endpoint();
            ep.lookup(&net.server.tuple(s).ok()?)
                .and_then(|id| ep.connection(id))
                .map(|c| c.send_mss())
        })
        .collect();
    mss.sort_unstable();
    assert_eq!(mss, [1300, 1400, 1400]);
}

#[test]
fn forged_cookie_ack_is_refused_with_rst_and_makes_no_connection() {
    let mut net = Net::new(Policy {
        syn_cookies: SynCookies::Always,
        ..policy()
    });
    let _l = net.listener(8);
    let tuple = FourTuple {
        local: addr(SERVER, 80),
        remote: addr(CLIENT, 5555),
    };
    for guess in [0u32, 1, 0xdead_beef, 0x8000_0000] {
        let forged = tcp_fsm::Segment {
            seq: tcp_fsm::SeqNum(1000),
            ack: tcp_fsm::SeqNum(guess),
            flags: Flags::ACK,
            ..Default::default()
        };
        net.server.handle_segment(net.now, tuple, &forged);
        let out = drain(&mut net.server, net.now, SERVER);
        assert_eq!(out.len(), 1);
        assert_eq!(Flags(out[0].1[13]), Flags::RST);
    }
    assert_eq!(net.server.endpoint().len(), 0);
    assert_eq!(net.server.endpoint().accept_queue_len(addr(SERVER, 80)), 0);
}

#[test]
fn closing_the_listener_resets_connections_waiting_for_accept() {
    let mut net = Net::new(policy());
    let l = net.listener(8);
    let c1 = net.connect_client();
    let c2 = net.connect_client();
    net.log.clear();
    net.server.close(net.now, l).expect("close");
    net.run();
    assert_eq!(net.flags(), [(S, RST_ACK), (S, RST_ACK)]);
    let mut buf = [0u8; 1];
    for c in [c1, c2] {
        assert_eq!(net.client.recv(c, &mut buf), Err(Errno::ECONNRESET));
    }
    assert_eq!(net.server.endpoint().len(), 0);
    assert_eq!(net.server.endpoint().time_wait_len(), 0);
}

#[test]
fn connection_accepted_already_in_close_wait_delivers_its_data_then_eof() {
    let mut net = Net::new(policy());
    let l = net.listener(8);
    let c = net.connect_client();
    net.client.send(c, b"hello before accept").expect("send");
    net.client
        .shutdown(net.now, c, Shutdown::Write)
        .expect("shutdown");
    net.run();
    let (s, _) = net.server.accept(l).expect("accept");
    assert_eq!(net.server.tcp_state(s), Ok(State::CloseWait));
    let mut buf = [0u8; 64];
    let n = net.server.recv(s, &mut buf).expect("data");
    assert_eq!(&buf[..n], b"hello before accept");
    assert_eq!(net.server.recv(s, &mut buf), Ok(0));
}
