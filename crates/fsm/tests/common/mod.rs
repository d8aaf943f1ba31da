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

// ----- single-connection states reached by hand -------------------------------------------------

/// Our ISS in the single-connection state tests (active and passive alike).
pub const ISS: u32 = 100;
/// The hand-driven peer's ISS: our RCV.NXT is `PEER_ISS + 1` once synchronized.
pub const PEER_ISS: u32 = 300;

impl Peer {
    /// The TCB's variables (STATUS).
    pub fn status(&self) -> tcp_fsm::Status {
        self.conn.status()
    }

    /// How long from now until the armed timer fires, if one is armed.
    pub fn timeout_in(&self) -> Option<Duration> {
        self.conn
            .poll_timeout()
            .map(|d| d.saturating_since(self.now))
    }

    /// Feeds one segment and asserts its disposition.
    #[track_caller]
    pub fn rx_expect(&mut self, text: &str, disposition: Disposition) {
        assert_eq!(self.rx(text), disposition, "disposition of {text}");
    }
}

/// A connection driven into `state` through real calls and hand-delivered segments, with every
/// segment on the way asserted and the events drained. Our ISS is [`ISS`] (100), the peer's
/// [`PEER_ISS`] (300); the peer's SYN carries no MSS option (so we send 536-octet segments) and
/// a window of 65535. SYN-RECEIVED is the passive one (from LISTEN).
///
/// | state        | SND.UNA | SND.NXT | RCV.NXT |
/// |--------------|---------|---------|---------|
/// | ESTABLISHED  | 101     | 101     | 301     |
/// | FIN-WAIT-1   | 101     | 102     | 301     |
/// | FIN-WAIT-2   | 102     | 102     | 301     |
/// | CLOSE-WAIT   | 101     | 101     | 302     |
/// | CLOSING      | 101     | 102     | 302     |
/// | LAST-ACK     | 101     | 102     | 302     |
/// | TIME-WAIT    | 102     | 102     | 302     |
#[track_caller]
pub fn reach(state: State) -> Peer {
    reach_with(state, test_policy())
}

/// [`reach`] under another policy.
#[track_caller]
pub fn reach_with(state: State, policy: Policy) -> Peer {
    let mut p = match state {
        State::Closed => {
            let mut p = Peer::listen_with(ISS, policy);
            p.close();
            p
        }
        State::Listen => Peer::listen_with(ISS, policy),
        State::SynSent => {
            let mut p = Peer::connect_with(ISS, policy);
            sends!(p, ["<SEQ=100><CTL=SYN>"]);
            p
        }
        State::SynReceived => {
            let mut p = Peer::listen_with(ISS, policy);
            p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Accepted);
            sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
            p
        }
        State::Established => {
            let mut p = reach_with(State::SynSent, policy);
            p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
            sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
            p
        }
        State::FinWait1 => {
            let mut p = reach_with(State::Established, policy);
            p.close();
            sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]);
            p
        }
        State::FinWait2 => {
            let mut p = reach_with(State::FinWait1, policy);
            p.rx_expect("<SEQ=301><ACK=102><CTL=ACK>", Disposition::Accepted);
            sends_nothing!(p);
            p
        }
        State::CloseWait => {
            let mut p = reach_with(State::Established, policy);
            p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
            sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
            p
        }
        State::Closing => {
            let mut p = reach_with(State::FinWait1, policy);
            p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
            sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
            p
        }
        State::LastAck => {
            let mut p = reach_with(State::CloseWait, policy);
            p.close();
            sends!(p, ["<SEQ=101><ACK=302><CTL=FIN,ACK>"]);
            p
        }
        State::TimeWait => {
            let mut p = reach_with(State::FinWait2, policy);
            p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
            sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
            p
        }
    };
    assert_eq!(p.state(), state, "reached the wanted state");
    p.take_events();
    p
}

/// SYN-RECEIVED reached by simultaneous open (RFC 9293 Figure 7): our SYN went, the peer's SYN
/// crossed it, and our SYN,ACK went. SND.NXT = 101, RCV.NXT = 301.
#[track_caller]
pub fn reach_active_syn_received(policy: Policy) -> Peer {
    let mut p = reach_with(State::SynSent, policy);
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Accepted);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    assert_eq!(p.state(), State::SynReceived);
    assert!(!p.conn.is_passive());
    p.take_events();
    p
}

impl Pair {
    /// One round: everything each side sends now is delivered to the other; returns how many
    /// segments crossed.
    pub fn step(&mut self) -> usize {
        let from_a = self.a.tx();
        let from_b = self.b.tx();
        let n = from_a.len() + from_b.len();
        for s in from_a {
            self.b.rx_seg(&s);
            self.log.push((true, s));
        }
        for s in from_b {
            self.a.rx_seg(&s);
            self.log.push((false, s));
        }
        n
    }

    /// Everything `a` sends now is delivered to `b` (one direction only); returns how many.
    pub fn a_to_b(&mut self) -> usize {
        let segs = self.a.tx();
        let n = segs.len();
        for s in segs {
            self.deliver_to_b(s);
        }
        n
    }

    /// Everything `b` sends now is delivered to `a` (one direction only); returns how many.
    pub fn b_to_a(&mut self) -> usize {
        let segs = self.b.tx();
        let n = segs.len();
        for s in segs {
            self.deliver_to_a(s);
        }
        n
    }

    /// One segment reaches `b` as if `a` (or an earlier incarnation of it) had sent it: a
    /// segment held in the network, or an old duplicate. It is logged as `A -->`.
    pub fn deliver_to_b(&mut self, seg: Seg) -> Disposition {
        let d = self.b.rx_seg(&seg);
        self.log.push((true, seg));
        d
    }

    /// One segment reaches `a` as if `b` had sent it, logged as `<-- B`.
    pub fn deliver_to_a(&mut self, seg: Seg) -> Disposition {
        let d = self.a.rx_seg(&seg);
        self.log.push((false, seg));
        d
    }

    /// The log so far as text (see [`Pair::log_text`]), and an empty log.
    pub fn take_log_text(&mut self) -> Vec<String> {
        let text = self.log_text();
        self.log.clear();
        text
    }
}
