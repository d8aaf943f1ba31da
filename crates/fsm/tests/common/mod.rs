//! Test harness: one connection with its buffers and a virtual clock, fed segments written in
//! RFC 9293's figure notation (`<SEQ=100><ACK=301><CTL=SYN,ACK>`) and asserting exactly the
//! segments that come out, in the same notation.
#![allow(dead_code)]

use tcp_fsm::{
    Arrival, Connection, Disposition, Duration, Event, Flags, Instant, Options, Policy, SeqNum,
    State,
};

/// A segment the test owns (payload included).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Seg {
    pub seq: u32,
    pub ack: u32,
    pub flags: Flags,
    pub window: u16,
    pub options: Options,
    pub payload: Vec<u8>,
}

impl Seg {
    pub fn as_segment(&self) -> tcp_fsm::Segment<'_> {
        tcp_fsm::Segment {
            seq: SeqNum(self.seq),
            ack: SeqNum(self.ack),
            flags: self.flags,
            window: self.window,
            urgent: 0,
            options: self.options,
            payload: &self.payload,
        }
    }

    pub fn from_segment(s: &tcp_fsm::Segment<'_>) -> Seg {
        Seg {
            seq: s.seq.0,
            ack: s.ack.0,
            flags: s.flags,
            window: s.window,
            options: s.options,
            payload: s.payload.to_vec(),
        }
    }

    /// Parses the RFC notation: `<SEQ=n>`, `<ACK=n>`, `<CTL=SYN,ACK,FIN,RST,PSH>`,
    /// `<DATA=n>` (n octets of b'x') or `<DATA="text">`, `<WND=n>` (default 65535), `<MSS=n>`.
    pub fn parse(text: &str) -> Seg {
        let mut seg = Seg {
            window: 65535,
            ..Seg::default()
        };
        let mut has_ack = false;
        for part in text.split('<').filter(|p| !p.trim().is_empty()) {
            let part = part.trim().trim_end_matches('>');
            let (key, value) = part
                .split_once('=')
                .unwrap_or_else(|| panic!("bad field {part:?}"));
            match key {
                "SEQ" => seg.seq = value.parse().unwrap(),
                "ACK" => {
                    seg.ack = value.parse().unwrap();
                    has_ack = true;
                }
                "CTL" => {
                    for name in value.split(',') {
                        seg.flags = seg.flags
                            | match name {
                                "SYN" => Flags::SYN,
                                "ACK" => Flags::ACK,
                                "FIN" => Flags::FIN,
                                "RST" => Flags::RST,
                                "PSH" => Flags::PSH,
                                other => panic!("unknown control {other}"),
                            };
                    }
                }
                "DATA" => {
                    seg.payload = if let Some(text) = value.strip_prefix('"') {
                        text.trim_end_matches('"').as_bytes().to_vec()
                    } else {
                        vec![b'x'; value.parse().unwrap()]
                    }
                }
                "WND" => seg.window = value.parse().unwrap(),
                "MSS" => seg.options.mss = Some(value.parse().unwrap()),
                other => panic!("unknown field {other}"),
            }
        }
        if has_ack && !seg.flags.ack() {
            seg.flags = seg.flags | Flags::ACK;
        }
        seg
    }
}

impl std::fmt::Display for Seg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.as_segment(), f)
    }
}

/// One connection, its application's buffers, and a clock.
pub struct Peer {
    pub conn: Connection,
    pub policy: Policy,
    pub now: Instant,
    /// What the application queued and is not yet acknowledged.
    pub send_buf: Vec<u8>,
    /// What arrived and the application has not read.
    pub recv_buf: Vec<u8>,
    /// Every event polled so far.
    pub events: Vec<Event>,
}

pub fn t0() -> Instant {
    Instant::from_millis(1_000)
}

/// A policy for unit tests: Linux defaults without window scaling (so windows read plainly),
/// and no rate limit on challenge ACKs unless a test sets one.
pub fn test_policy() -> Policy {
    Policy {
        window_scaling: false,
        recv_buffer: 65535,
        invalid_ratelimit: Duration::ZERO,
        ..Policy::LINUX
    }
}

impl Peer {
    pub fn with(conn: Connection, policy: Policy) -> Peer {
        Peer {
            conn,
            policy,
            now: t0(),
            send_buf: Vec::new(),
            recv_buf: Vec::new(),
            events: Vec::new(),
        }
    }

    /// A connection in SYN-SENT whose SYN has not been polled yet.
    pub fn connect(iss: u32) -> Peer {
        Peer::connect_with(iss, test_policy())
    }

    pub fn connect_with(iss: u32, policy: Policy) -> Peer {
        let conn = Connection::connect(&policy, t0(), SeqNum(iss));
        Peer::with(conn, policy)
    }

    /// A connection in LISTEN that will answer with ISS `iss`.
    pub fn listen(iss: u32) -> Peer {
        Peer::listen_with(iss, test_policy())
    }

    pub fn listen_with(iss: u32, policy: Policy) -> Peer {
        let conn = Connection::listen(&policy, SeqNum(iss));
        Peer::with(conn, policy)
    }

    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Feeds one segment in RFC notation; returns its disposition.
    pub fn rx(&mut self, text: &str) -> Disposition {
        let seg = Seg::parse(text);
        self.rx_seg(&seg)
    }

    pub fn rx_seg(&mut self, seg: &Seg) -> Disposition {
        let s = seg.as_segment();
        let Arrival { data, disposition } = self.conn.handle_segment(&self.policy, self.now, &s);
        self.recv_buf.extend_from_slice(data);
        self.drain_events();
        disposition
    }

    /// Every segment the connection sends now, with payloads filled in.
    pub fn tx(&mut self) -> Vec<Seg> {
        let mut out = Vec::new();
        while let Some(t) = self.conn.poll_transmit(&self.policy, self.now) {
            let seg = t
                .with_payload(&self.send_buf)
                .expect("transmit payload lies inside the send buffer");
            out.push(Seg::from_segment(&seg));
            assert!(out.len() < 10_000, "poll_transmit does not run dry");
        }
        self.drain_events();
        out
    }

    /// The segments sent now, in RFC notation.
    pub fn tx_text(&mut self) -> Vec<String> {
        self.tx().iter().map(ToString::to_string).collect()
    }

    /// The application writes `data`.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = self
            .conn
            .send(&self.policy, data.len())
            .expect("send accepted");
        self.send_buf.extend_from_slice(&data[..n]);
        n
    }

    /// The application reads everything buffered.
    pub fn read_all(&mut self) -> Vec<u8> {
        let data = std::mem::take(&mut self.recv_buf);
        self.conn
            .recv(&self.policy, data.len())
            .expect("recv accepted");
        data
    }

    pub fn close(&mut self) {
        self.conn
            .close(&self.policy, self.now)
            .expect("close accepted");
        self.drain_events();
    }

    pub fn abort(&mut self) {
        self.conn.abort(&self.policy).expect("abort accepted");
        self.drain_events();
    }

    /// Advances the clock by `d` and runs the timers.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.conn.handle_timeout(&self.policy, self.now);
        self.drain_events();
    }

    /// Jumps to the next deadline and runs the timers; panics if none is armed.
    pub fn fire(&mut self) {
        let deadline = self.conn.poll_timeout().expect("a timer is armed");
        self.now = self.now.max(deadline);
        self.conn.handle_timeout(&self.policy, self.now);
        self.drain_events();
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            self.events.push(e);
        }
        // Keep the caller's send buffer in step with what is acknowledged.
        let acked = self.conn.take_acked() as usize;
        self.send_buf.drain(..acked);
    }

    /// The events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

/// Asserts the exact segments a peer sends now, in RFC notation.
#[macro_export]
macro_rules! sends {
    ($peer:expr, [$($seg:expr),* $(,)?]) => {{
        let expected: Vec<String> = vec![$(String::from($seg)),*];
        assert_eq!($peer.tx_text(), expected, "segments sent");
    }};
}

/// Asserts that a peer sends nothing now.
#[macro_export]
macro_rules! sends_nothing {
    ($peer:expr) => {{
        let sent = $peer.tx_text();
        assert!(sent.is_empty(), "expected silence, sent {sent:?}");
    }};
}

/// A client with ISS `c_iss` and a server with ISS `s_iss`, driven through the handshake:
/// both ESTABLISHED, nothing in flight, events drained.
pub fn established(c_iss: u32, s_iss: u32) -> (Peer, Peer) {
    established_with(c_iss, s_iss, test_policy())
}

pub fn established_with(c_iss: u32, s_iss: u32, policy: Policy) -> (Peer, Peer) {
    let mut pair = Pair::new(
        Peer::connect_with(c_iss, policy),
        Peer::listen_with(s_iss, policy),
    );
    pair.run();
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    pair.a.take_events();
    pair.b.take_events();
    (pair.a, pair.b)
}

/// Two peers and a lossless, in-order network, with a log of what crossed it.
pub struct Pair {
    pub a: Peer,
    pub b: Peer,
    /// (from_a, segment) in the order sent.
    pub log: Vec<(bool, Seg)>,
}

impl Pair {
    pub fn new(a: Peer, b: Peer) -> Pair {
        Pair {
            a,
            b,
            log: Vec::new(),
        }
    }

    /// Delivers segments both ways until neither side has anything to send.
    pub fn run(&mut self) {
        for _ in 0..1000 {
            let from_a = self.a.tx();
            let from_b = self.b.tx();
            if from_a.is_empty() && from_b.is_empty() {
                return;
            }
            for s in from_a {
                self.b.rx_seg(&s);
                self.log.push((true, s));
            }
            for s in from_b {
                self.a.rx_seg(&s);
                self.log.push((false, s));
            }
        }
        panic!("the pair never went quiet");
    }

    /// The log as lines `A --> <...>` / `B --> <...>`.
    pub fn log_text(&self) -> Vec<String> {
        self.log
            .iter()
            .map(|(from_a, s)| format!("{} {s}", if *from_a { "A -->" } else { "<-- B" }))
            .collect()
    }

    /// Advances both clocks by `d` and runs their timers.
    pub fn advance(&mut self, d: Duration) {
        self.a.advance(d);
        self.b.advance(d);
    }
}
