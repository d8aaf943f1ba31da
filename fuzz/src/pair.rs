//! The `pair` target: two connections, A and B, and a network whose every decision comes from
//! the input: deliver any segment in flight (so reorder), drop it, duplicate it, fire a timer,
//! let time pass, make an application call, crash a host (it loses its TCB, and may come back
//! with a fresh one). Applications write real data of any size, with random ISNs.
//!
//! After every step: each state change is an edge of the RFC's diagram, ISS <= SND.UNA <=
//! SND.NXT, the two TCBs agree ([`properties::pair_sequence`], from `tcp_model::properties`), every delivered octet is the one
//! the peer wrote at that offset, no RST answers a RST, and every segment survives the wire. At
//! the end, both applications read, close and let go, the network delivers everything and every
//! timer runs out; then nothing may be stuck, and a graceful close must have delivered
//! everything ([`properties::quiescent`], [`properties::graceful_close_delivers_all`]).

use std::net::{Ipv4Addr, SocketAddrV4};

use arbitrary::{Arbitrary, Unstructured};
use tcp_fsm::{
    Cause, Connection, Duration, Event, Instant, Policy, Segment, SeqNum, State, Transmit,
};

use crate::input::{Encode, Writer, byte, u16le, u32le};
use crate::network::{self, InFlight, Network};
use crate::observe::Observer;
use crate::policies::{PolicyChoice, Profile};
use crate::segments::wire_round_trip;
use tcp_model::properties::{self, Ledger, Violation};

/// A's address.
pub const ADDR_A: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40_000);
/// B's address.
pub const ADDR_B: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);

/// Segments the network holds at most; more are lost, as a full queue loses them.
/// Where a restarted host's ISS lands from its last SND.NXT: far beyond any window, as an ISN
/// clock (RFC 6528) that ran while the host was down would put it.
const RESTART_ISS_STEP: u32 = 1 << 30;
/// Rounds of the final drain before the pair counts as never going quiet.
const DRAIN_ROUNDS: u32 = 20_000;

/// Which host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// The active opener.
    A,
    /// The passive one (or the second active one, in a simultaneous open).
    B,
}

/// An application call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AppCall {
    /// SEND this many octets.
    Send(u16),
    /// RECEIVE everything unread.
    RecvAll,
    /// RECEIVE at most this many.
    Recv(u8),
    /// CLOSE.
    Close,
    /// ABORT.
    Abort,
    /// shutdown(SHUT_RD).
    ShutdownRead,
    /// Let go of the connection.
    Orphan,
}

/// One network or application decision.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NetOp {
    /// Deliver the segment at this index (modulo the number in flight).
    Deliver(u8),
    /// Deliver every segment in flight, oldest first.
    DeliverAll,
    /// Lose the segment at this index.
    Drop(u8),
    /// Copy the segment at this index.
    Duplicate(u8),
    /// Jump to a host's deadline and run its timers.
    Fire(Side),
    /// Let time pass and run both hosts' timers.
    Advance(Duration),
    /// An application call.
    App(Side, AppCall),
    /// A host loses its TCB; with `restart`, it opens again (A actively, B passively) with an
    /// ISS far from its last one.
    Crash {
        /// Which host.
        side: Side,
        /// Open again.
        restart: bool,
    },
}

impl<'a> Arbitrary<'a> for NetOp {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<NetOp> {
        let side = |b: u8| if b & 1 == 0 { Side::A } else { Side::B };
        Ok(match byte(u) % 16 {
            0..=4 => NetOp::Deliver(byte(u)),
            5 => NetOp::DeliverAll,
            6 => NetOp::Drop(byte(u)),
            7 => NetOp::Duplicate(byte(u)),
            8 => NetOp::Fire(side(byte(u))),
            9 => NetOp::Advance(Duration::from_millis(u64::from(u16le(u)) * 10)),
            10..=14 => {
                let c = byte(u);
                let call = match (c >> 1) % 8 {
                    0 | 1 => AppCall::Send(u16le(u)),
                    2 => AppCall::RecvAll,
                    3 => AppCall::Recv(byte(u)),
                    4 => AppCall::Close,
                    5 => AppCall::Abort,
                    6 => AppCall::ShutdownRead,
                    _ => AppCall::Orphan,
                };
                NetOp::App(side(c), call)
            }
            _ => {
                let c = byte(u);
                NetOp::Crash {
                    side: side(c),
                    restart: c & 2 != 0,
                }
            }
        })
    }
}

impl Encode for NetOp {
    fn encode(&self, w: &mut Writer) {
        let s = |side: Side| u8::from(side == Side::B);
        match *self {
            NetOp::Deliver(i) => {
                w.byte(0).byte(i);
            }
            NetOp::DeliverAll => {
                w.byte(5);
            }
            NetOp::Drop(i) => {
                w.byte(6).byte(i);
            }
            NetOp::Duplicate(i) => {
                w.byte(7).byte(i);
            }
            NetOp::Fire(side) => {
                w.byte(8).byte(s(side));
            }
            NetOp::Advance(d) => {
                w.byte(9)
                    .u16le(u16::try_from(d.as_millis() / 10).unwrap_or(u16::MAX));
            }
            NetOp::App(side, call) => {
                w.byte(10);
                match call {
                    AppCall::Send(n) => w.byte(s(side)).u16le(n),
                    AppCall::RecvAll => w.byte(s(side) | 2 << 1),
                    AppCall::Recv(n) => w.byte(s(side) | 3 << 1).byte(n),
                    AppCall::Close => w.byte(s(side) | 4 << 1),
                    AppCall::Abort => w.byte(s(side) | 5 << 1),
                    AppCall::ShutdownRead => w.byte(s(side) | 6 << 1),
                    AppCall::Orphan => w.byte(s(side) | 7 << 1),
                };
            }
            NetOp::Crash { side, restart } => {
                w.byte(15).byte(s(side) | u8::from(restart) << 1);
            }
        }
    }
}

/// Everything before the operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PairHeader {
    /// The policy (both hosts).
    pub policy: PolicyChoice,
    /// B opens actively too (simultaneous open) instead of listening.
    pub simultaneous: bool,
    /// A's ISS.
    pub a_iss: u32,
    /// B's ISS.
    pub b_iss: u32,
}

impl PairHeader {
    /// Reads a header.
    pub fn read(u: &mut Unstructured<'_>) -> PairHeader {
        let policy = PolicyChoice::read(u, false);
        let simultaneous = byte(u) & 1 == 1;
        PairHeader {
            policy,
            simultaneous,
            a_iss: u32le(u),
            b_iss: u32le(u),
        }
    }

    /// Writes a header.
    pub fn write(&self, w: &mut Writer) {
        PolicyChoice::write(self.policy.profile, self.policy.knobs, w);
        w.byte(u8::from(self.simultaneous))
            .u32le(self.a_iss)
            .u32le(self.b_iss);
    }

    /// A header with a profile and knobs.
    #[must_use]
    pub fn new(profile: Profile, knobs: u8, simultaneous: bool, a_iss: u32, b_iss: u32) -> Self {
        PairHeader {
            policy: PolicyChoice {
                profile,
                knobs,
                policy: crate::policies::apply(crate::policies::base(profile), knobs),
            },
            simultaneous,
            a_iss,
            b_iss,
        }
    }
}

/// A whole `pair` input, decoded.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PairInput {
    /// The header.
    pub header: PairHeader,
    /// The operations.
    pub ops: Vec<NetOp>,
}

impl<'a> Arbitrary<'a> for PairInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let header = PairHeader::read(u);
        let mut ops = Vec::new();
        while !u.is_empty() {
            ops.push(NetOp::arbitrary(u)?);
        }
        Ok(PairInput { header, ops })
    }
}

impl Encode for PairInput {
    fn encode(&self, w: &mut Writer) {
        self.header.write(w);
        for op in &self.ops {
            op.encode(w);
        }
    }
}

/// A segment in flight, with its payload.
#[derive(Clone, Debug)]
struct Packet {
    id: u32,
    to_b: bool,
    /// The sender's incarnation.
    from: u64,
    seg: Segment<'static>,
    payload: Vec<u8>,
}

impl InFlight for Packet {
    fn id(&self) -> u32 {
        self.id
    }

    fn set_id(&mut self, id: u32) {
        self.id = id;
    }

    fn into_payload(self) -> Vec<u8> {
        self.payload
    }
}

/// One host: its connection, its application's ledger and buffers (as counts).
#[derive(Debug)]
struct Host {
    name: &'static str,
    addr: SocketAddrV4,
    conn: Connection,
    /// What the application wrote and received, for the end-to-end properties.
    ledger: Ledger,
    /// Stream offset of the send buffer's front (acknowledged and dropped before it).
    send_front: u64,
    /// Delivered and not yet read.
    unread: u64,
    incarnation: u64,
    /// The ledgers of this host's earlier incarnations (their segments may still be in flight).
    history: Vec<Ledger>,
    /// The peer incarnation whose data this TCB receives (set by the first octet).
    receiving_from: Option<u64>,
    /// This TCB received the peer's FIN before sending its own (it went through CLOSE-WAIT).
    passive_closer: bool,
}

impl Host {
    fn new(name: &'static str, addr: SocketAddrV4, conn: Connection, incarnation: u64) -> Host {
        Host {
            name,
            addr,
            conn,
            ledger: Ledger {
                seed: incarnation.wrapping_mul(0x1000_0000_01B3) ^ u64::from(addr.port()),
                ..Ledger::default()
            },
            send_front: 0,
            unread: 0,
            incarnation,
            history: Vec::new(),
            receiving_from: None,
            passive_closer: false,
        }
    }
}

/// The simulation.
struct Sim<'o, O: Observer> {
    policy: Policy,
    now: Instant,
    a: Host,
    b: Host,
    net: Network<Packet>,
    obs: &'o mut O,
    scratch: &'o mut Vec<u8>,
    /// No crash so far: the two TCBs still stand for the first incarnations.
    steps: u32,
}

impl<O: Observer> Sim<'_, O> {
    fn host(&mut self, side: Side) -> (&mut Host, &mut Host) {
        match side {
            Side::A => (&mut self.a, &mut self.b),
            Side::B => (&mut self.b, &mut self.a),
        }
    }

    #[track_caller]
    fn violated(&self, v: Violation) -> ! {
        panic!(
            "oracle failed at step {}: {v}\n  A {:?}\n  B {:?}",
            self.steps,
            self.a.conn.status(),
            self.b.conn.status()
        );
    }

    fn check(&self, r: Result<(), Violation>) {
        if let Err(v) = r {
            self.violated(v);
        }
    }

    /// After an input to `side`'s host: poll it out, check the step, and put its segments on
    /// the network. `input` is the segment that arrived, if that was the step.
    fn after(&mut self, side: Side, before: State, cause: Cause, input: Option<&Segment<'_>>) {
        let now = self.now;
        let policy = self.policy;
        let mut sent = 0u32;
        let limit = policy.send_buffer / 48 + 16;
        loop {
            let (host, _) = self.host(side);
            let Some(t) = host.conn.poll_transmit(&policy, now) else {
                break;
            };
            sent += 1;
            if sent > limit {
                panic!(
                    "oracle failed: {} poll_transmit does not run dry",
                    host.name
                );
            }
            self.transmit(side, &t, input);
        }
        let (host, peer) = match side {
            Side::A => (&mut self.a, &mut self.b),
            Side::B => (&mut self.b, &mut self.a),
        };
        while let Some(e) = host.conn.poll_event() {
            match e {
                Event::Established => host.ledger.established = true,
                Event::PeerFin => host.ledger.peer_fin = true,
                Event::Error(_) => {
                    host.ledger.broken = true;
                    // The peer's view of this connection is broken too (it sent a RST, or
                    // is about to learn of this one's end).
                    peer.ledger.broken = true;
                }
                Event::Closed => {}
            }
            if O::ENABLED {
                let name = host.name;
                self.obs.note(now, format_args!("{name}: event {e:?}"));
            }
        }
        let (host, _) = self.host(side);
        let acked = host.conn.take_acked();
        host.send_front += u64::from(acked);
        let after = host.conn.state();
        host.passive_closer |= after == State::CloseWait;
        let status = host.conn.status();
        if O::ENABLED && after != before {
            let name = host.name;
            self.obs
                .note(now, format_args!("{name}: {before} -> {after}"));
        }
        self.check(properties::step_allowed(before, after, cause));
        self.check(properties::send_sequence(&status));
    }

    /// One segment from `side`: checked, recorded, and put on the network.
    fn transmit(&mut self, side: Side, t: &Transmit, input: Option<&Segment<'_>>) {
        let mut payload = self.net.pool.pop().unwrap_or_default();
        payload.clear();
        let (host, peer) = self.host(side);
        let (src, dst) = (host.addr, peer.addr);
        let start = host.send_front + u64::from(t.payload.offset);
        let end = start + u64::from(t.payload.len);
        if end > host.ledger.written {
            panic!(
                "oracle failed: {} sends stream octets {start}..{end}, but only {} were written",
                host.name, host.ledger.written
            );
        }
        let seed = host.ledger.seed;
        payload.extend((start..end).map(|o| properties::stream_octet(seed, o)));
        let seg = Segment {
            payload: &payload,
            ..t.segment
        };
        if let Some(input) = input {
            self.check(properties::no_rst_for_rst(input, &seg));
        }
        wire_round_trip(self.scratch, &seg, src, dst);
        self.obs.segment(self.now, src, dst, &seg);
        if self.net.packets.len() >= network::CAPACITY {
            if O::ENABLED {
                self.obs.note(self.now, format_args!("network full: lost"));
            }
            self.net.pool.push(payload);
            return;
        }
        let from = self.host(side).0.incarnation;
        let id = self.net.next_id();
        self.net.packets.push(Packet {
            id,
            to_b: side == Side::A,
            from,
            seg: t.segment,
            payload,
        });
    }

    fn deliver(&mut self, index: usize) {
        let p = self.net.packets.remove(index);
        let side = if p.to_b { Side::B } else { Side::A };
        let seg = Segment {
            payload: &p.payload,
            ..p.seg
        };
        if O::ENABLED {
            self.obs.note(
                self.now,
                format_args!("deliver #{} to {side:?}: {seg}", p.id),
            );
        }
        let policy = self.policy;
        let now = self.now;
        let (host, peer) = self.host(side);
        let before = host.conn.state();
        let arrival = host.conn.handle_segment(&policy, now, &seg);
        let data = arrival.data;
        if !data.is_empty() {
            host.unread += data.len() as u64;
            let from = *host.receiving_from.get_or_insert(p.from);
            let r = if from != p.from {
                Err(Violation::CrossIncarnation {
                    receiving_from: from,
                    delivered_from: p.from,
                })
            } else {
                let sender = peer.history.get(p.from as usize).unwrap_or(&peer.ledger);
                properties::stream_delivery(&mut host.ledger, sender, data)
            };
            self.check(r);
        }
        self.after(side, before, Cause::Segment, Some(&seg));
        self.net.pool.push(p.payload);
    }

    fn app(&mut self, side: Side, call: AppCall) {
        let policy = self.policy;
        let now = self.now;
        let (host, peer) = self.host(side);
        let before = host.conn.state();
        let r = match call {
            AppCall::Send(n) => host.conn.send(&policy, usize::from(n)).map(|k| {
                host.ledger.written += k as u64;
            }),
            AppCall::RecvAll | AppCall::Recv(_) => {
                let n = match call {
                    AppCall::Recv(n) => u64::from(n).min(host.unread),
                    _ => host.unread,
                };
                host.conn
                    .recv(&policy, n as usize)
                    .map(|()| host.unread -= n)
            }
            AppCall::Close => host.conn.close(&policy, now),
            AppCall::Abort => host.conn.abort(&policy).map(|()| {
                host.ledger.broken = true;
                peer.ledger.broken = true;
            }),
            AppCall::ShutdownRead => {
                host.conn.shutdown_read();
                Ok(())
            }
            AppCall::Orphan => {
                // An application that lets go no longer reads: nothing is promised to it.
                host.ledger.broken = true;
                host.conn.orphan(&policy, now);
                Ok(())
            }
        };
        if O::ENABLED {
            let name = host.name;
            self.obs
                .note(now, format_args!("{name}: {call:?} -> {r:?}"));
        }
        self.after(side, before, Cause::Call, None);
    }

    fn timeout(&mut self, side: Side) {
        let policy = self.policy;
        let now = self.now;
        let (host, _) = self.host(side);
        let before = host.conn.state();
        if host.conn.poll_timeout().is_some_and(|d| d <= now) {
            host.conn.handle_timeout(&policy, now);
            if O::ENABLED {
                let name = host.name;
                self.obs.note(now, format_args!("{name}: timer fires"));
            }
            self.after(side, before, Cause::Timeout, None);
        }
    }

    fn crash(&mut self, side: Side, restart: bool) {
        let policy = self.policy;
        let now = self.now;
        let (host, peer) = self.host(side);
        let iss = host.conn.status().snd_nxt + RESTART_ISS_STEP;
        let conn = match (side, restart) {
            (Side::A, true) => Connection::connect(&policy, now, iss),
            (Side::B, true) => Connection::listen(&policy, iss),
            // A host with no TCB answers as a CLOSED port does: a connection that was
            // LISTENing and was closed (real calls, no field poked).
            (_, false) => {
                let mut c = Connection::listen(&policy, iss);
                let _ = c.close(&policy, now);
                while c.poll_event().is_some() {}
                c
            }
        };
        peer.ledger.broken = true;
        let mut history = core::mem::take(&mut host.history);
        history.push(host.ledger);
        *host = Host::new(host.name, host.addr, conn, host.incarnation + 1);
        host.history = history;
        if O::ENABLED {
            let name = host.name;
            self.obs.note(
                now,
                format_args!(
                    "{name} crashes{}",
                    if restart { " and opens again" } else { "" }
                ),
            );
        }
        self.after(side, State::Closed, Cause::Call, None);
    }

    fn apply(&mut self, op: NetOp) {
        self.steps += 1;
        match op {
            NetOp::Deliver(i) => {
                if let Some(i) = self.net.pick(i) {
                    self.deliver(i);
                }
            }
            NetOp::DeliverAll => {
                // Only what is in flight now; answers wait for the next step.
                for _ in 0..self.net.packets.len() {
                    if self.net.packets.is_empty() {
                        break;
                    }
                    self.deliver(0);
                }
            }
            NetOp::Drop(i) => {
                if let Some(id) = self.net.lose(i)
                    && O::ENABLED
                {
                    self.obs.note(self.now, format_args!("lose #{id}"));
                }
            }
            NetOp::Duplicate(i) => {
                if let Some((id, copy)) = self.net.duplicate(i)
                    && O::ENABLED
                {
                    self.obs
                        .note(self.now, format_args!("duplicate #{id} as #{copy}"));
                }
            }
            NetOp::Fire(side) => {
                let (host, _) = self.host(side);
                if let Some(d) = host.conn.poll_timeout() {
                    self.now = self.now.max(d);
                    self.timeout(side);
                }
            }
            NetOp::Advance(d) => {
                self.now = self.now + d;
                self.timeout(Side::A);
                self.timeout(Side::B);
            }
            NetOp::App(side, call) => self.app(side, call),
            NetOp::Crash { side, restart } => self.crash(side, restart),
        }
        let (a, b) = (self.a.conn.status(), self.b.conn.status());
        self.check(properties::pair_sequence(&a, &b));
        self.check_snapshot(a, b);
    }

    /// The model's snapshot properties that hold for streams kept as counts: each peer as a
    /// `tcp_model::properties::PeerView` with no octets (what was delivered is checked octet by
    /// octet by `stream_delivery` instead).
    fn check_snapshot(&self, a: tcp_fsm::Status, b: tcp_fsm::Status) {
        let view = |h: &Host, status| properties::PeerView {
            status,
            incarnation: h.incarnation as u8,
            peer_incarnation: None,
            written: &[],
            read: &[],
            passive_closer: h.passive_closer,
            stale_isn_established: false,
            // Not read by the property checked here.
            app_closed: false,
            listening: false,
        };
        let obs = properties::Observation {
            peers: [view(&self.a, a), view(&self.b, b)],
            history: properties::History::default(),
            resets_expected: true,
            quiescent: false,
        };
        if !properties::time_wait_only_for_active_closer(&obs) {
            panic!(
                "oracle failed at step {}: TIME-WAIT only for the active closer\n  A {a:?}\n  B {b:?}",
                self.steps
            );
        }
    }

    /// The end, in two phases. First both applications read and close (still reading), and
    /// the network delivers everything in order while every timer runs: a graceful close must
    /// then have delivered everything. Then both let go, and everything runs out again:
    /// nothing may be stuck.
    fn finish(&mut self) {
        if O::ENABLED {
            self.obs
                .note(self.now, format_args!("the end: both read and close"));
        }
        for side in [Side::A, Side::B] {
            self.app(side, AppCall::RecvAll);
            self.app(side, AppCall::Close);
        }
        self.drain();
        self.check(properties::graceful_close_delivers_all(
            &self.a.ledger,
            &self.b.ledger,
        ));
        if O::ENABLED {
            self.obs.note(self.now, format_args!("both let go"));
        }
        for side in [Side::A, Side::B] {
            self.app(side, AppCall::Orphan);
        }
        self.drain();
        let (a, b) = (self.a.conn.state(), self.b.conn.state());
        self.check(properties::quiescent(a, b, &self.policy));
    }

    /// Delivers everything in order, with the applications reading, and runs every timer,
    /// until nothing is in flight and no timer is armed.
    fn drain(&mut self) {
        for _ in 0..DRAIN_ROUNDS {
            if !self.net.packets.is_empty() {
                self.deliver(0);
                for side in [Side::A, Side::B] {
                    if self.host(side).0.unread > 0 {
                        self.app(side, AppCall::RecvAll);
                    }
                }
                continue;
            }
            let next = [self.a.conn.poll_timeout(), self.b.conn.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else {
                if O::ENABLED {
                    let (a, b) = (self.a.conn.state(), self.b.conn.state());
                    self.obs.note(self.now, format_args!("quiet: A {a}, B {b}"));
                }
                return;
            };
            self.now = self.now.max(next);
            self.timeout(Side::A);
            self.timeout(Side::B);
        }
        panic!(
            "oracle failed: the pair never went quiet in {DRAIN_ROUNDS} rounds: A {:?}, B {:?}",
            self.a.conn.status(),
            self.b.conn.status()
        );
    }
}

/// The time every run starts at.
pub const T0: Instant = Instant::from_millis(1_000);

/// The whole target.
pub fn run<O: Observer>(data: &[u8], obs: &mut O, scratch: &mut Vec<u8>) {
    let mut u = Unstructured::new(data);
    let header = PairHeader::read(&mut u);
    let policy = header.policy.policy;
    let a = Connection::connect(&policy, T0, SeqNum(header.a_iss));
    let b = if header.simultaneous {
        Connection::connect(&policy, T0, SeqNum(header.b_iss))
    } else {
        Connection::listen(&policy, SeqNum(header.b_iss))
    };
    if O::ENABLED {
        obs.note(T0, format_args!("{header:?}"));
    }
    let mut sim = Sim {
        policy,
        now: T0,
        a: Host::new("A", ADDR_A, a, 0),
        b: Host::new("B", ADDR_B, b, 0),
        net: Network::new(),
        obs,
        scratch,
        steps: 0,
    };
    sim.after(Side::A, State::Closed, Cause::Call, None);
    sim.after(Side::B, State::Closed, Cause::Call, None);
    while !u.is_empty() {
        let Ok(op) = NetOp::arbitrary(&mut u) else {
            break;
        };
        sim.apply(op);
    }
    sim.finish();
}
