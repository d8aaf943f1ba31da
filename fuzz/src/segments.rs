//! The `segments` target: one [`Connection`], driven to a starting state by a real handshake,
//! then fed any sequence of segments, application calls and time steps, with the oracles of
//! [`Harness`] checked after every step.
//!
//! # Input
//!
//! A [`Header`] (policy, starting state, ISNs, the peer's SYN options), then [`Op`]s until the
//! data runs out. Segment numbers are mostly offsets from the connection's current RCV.NXT
//! (SEQ) and SND.UNA (ACK), read from `Connection::status()` at the moment the segment is
//! built, so the fuzzer lands in and around the window; sometimes offsets from the window's
//! other edge (RCV.NXT + RCV.WND, SND.NXT), sometimes raw values.

use std::net::{Ipv4Addr, SocketAddrV4};

use arbitrary::{Arbitrary, Unstructured};
use tcp_fsm::wire::{self, PseudoHeader, Repr};
use tcp_fsm::{
    CallError, Cause, Connection, Duration, Event, Flags, Instant, Options, Policy, Segment,
    SeqNum, State, Status, Timestamps, Transmit,
};

use crate::input::{Encode, PATTERN, Writer, byte, u16le, u32le};
use crate::observe::Observer;
use crate::policies::{PolicyChoice, Profile};

/// Our address in diagrams and pcaps.
pub const US: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
/// The peer's address.
pub const PEER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40_000);

/// Where the connection starts, reached through real calls and segments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Start {
    /// LISTEN, then CLOSE.
    Closed,
    /// Passive OPEN.
    Listen,
    /// Active OPEN, SYN sent.
    SynSent,
    /// LISTEN, a SYN arrived, SYN,ACK sent.
    SynReceivedPassive,
    /// SYN-SENT, the peer's SYN crossed ours (simultaneous open).
    SynReceivedActive,
    /// The handshake done (actively or passively, see [`Header::passive`]).
    Established,
    /// ESTABLISHED, then CLOSE.
    FinWait1,
    /// FIN-WAIT-1, our FIN acknowledged.
    FinWait2,
    /// ESTABLISHED, the peer's FIN arrived.
    CloseWait,
    /// FIN-WAIT-1, the peer's FIN arrived before the ACK of ours.
    Closing,
    /// CLOSE-WAIT, then CLOSE.
    LastAck,
    /// FIN-WAIT-2, the peer's FIN arrived.
    TimeWait,
}

impl Start {
    /// Every starting state, in input order.
    pub const ALL: [Start; 12] = [
        Start::Closed,
        Start::Listen,
        Start::SynSent,
        Start::SynReceivedPassive,
        Start::SynReceivedActive,
        Start::Established,
        Start::FinWait1,
        Start::FinWait2,
        Start::CloseWait,
        Start::Closing,
        Start::LastAck,
        Start::TimeWait,
    ];

    /// The state it names.
    #[must_use]
    pub fn state(self) -> State {
        match self {
            Start::Closed => State::Closed,
            Start::Listen => State::Listen,
            Start::SynSent => State::SynSent,
            Start::SynReceivedPassive | Start::SynReceivedActive => State::SynReceived,
            Start::Established => State::Established,
            Start::FinWait1 => State::FinWait1,
            Start::FinWait2 => State::FinWait2,
            Start::CloseWait => State::CloseWait,
            Start::Closing => State::Closing,
            Start::LastAck => State::LastAck,
            Start::TimeWait => State::TimeWait,
        }
    }
}

/// Everything before the operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// The policy.
    pub policy: PolicyChoice,
    /// The starting state.
    pub start: Start,
    /// Reach the synchronized states through a passive open (LISTEN, SYN, ACK) rather than an
    /// active one.
    pub passive: bool,
    /// Our ISS.
    pub iss: u32,
    /// The peer's ISS.
    pub peer_iss: u32,
    /// Options on the peer's SYN (or SYN,ACK).
    pub peer_options: Options,
}

impl Header {
    /// Reads a header.
    pub fn read(u: &mut Unstructured<'_>) -> Header {
        let policy = PolicyChoice::read(u, true);
        let s = byte(u);
        let start = Start::ALL[usize::from(s & 0x7f) % Start::ALL.len()];
        let passive = s & 0x80 != 0;
        let iss = u32le(u);
        let peer_iss = u32le(u);
        let o = byte(u);
        let mut peer_options = Options::NONE;
        if o & 1 != 0 {
            peer_options.mss = Some(u16le(u));
        }
        if o & 2 != 0 {
            peer_options.window_scale = Some(byte(u));
        }
        Header {
            policy,
            start,
            passive,
            iss,
            peer_iss,
            peer_options,
        }
    }

    /// Writes a header (the policy must not be [`Profile::Arbitrary`]).
    pub fn write(&self, w: &mut Writer) {
        PolicyChoice::write(self.policy.profile, self.policy.knobs, w);
        let s = Start::ALL
            .iter()
            .position(|&s| s == self.start)
            .unwrap_or(0) as u8;
        w.byte(s | if self.passive { 0x80 } else { 0 });
        w.u32le(self.iss).u32le(self.peer_iss);
        let o = u8::from(self.peer_options.mss.is_some())
            | (u8::from(self.peer_options.window_scale.is_some()) << 1);
        w.byte(o);
        if let Some(m) = self.peer_options.mss {
            w.u16le(m);
        }
        if let Some(s) = self.peer_options.window_scale {
            w.byte(s);
        }
    }
}

/// A sequence or acknowledgment number, as the input gives it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SeqSel {
    /// Offset from RCV.NXT (for SEQ) or SND.UNA (for ACK).
    Rel(i16),
    /// Offset from the window's other edge: RCV.NXT + RCV.WND (SEQ) or SND.NXT (ACK).
    Alt(i8),
    /// A raw number.
    Raw(u32),
}

impl SeqSel {
    fn read(u: &mut Unstructured<'_>) -> SeqSel {
        match byte(u) % 8 {
            0..=4 => SeqSel::Rel(i16::from(byte(u) as i8)),
            5 => SeqSel::Rel(u16le(u) as i16),
            6 => SeqSel::Alt(byte(u) as i8),
            _ => SeqSel::Raw(u32le(u)),
        }
    }

    fn write(self, w: &mut Writer) {
        match self {
            SeqSel::Rel(v) if i8::try_from(v).is_ok() => {
                w.byte(0).byte(v as i8 as u8);
            }
            SeqSel::Rel(v) => {
                w.byte(5).u16le(v as u16);
            }
            SeqSel::Alt(v) => {
                w.byte(6).byte(v as u8);
            }
            SeqSel::Raw(v) => {
                w.byte(7).u32le(v);
            }
        }
    }

    fn resolve(self, base: SeqNum, alt: SeqNum) -> SeqNum {
        match self {
            SeqSel::Rel(v) => SeqNum(base.0.wrapping_add(v as i32 as u32)),
            SeqSel::Alt(v) => SeqNum(alt.0.wrapping_add(v as i32 as u32)),
            SeqSel::Raw(v) => SeqNum(v),
        }
    }
}

/// A segment from the peer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SegOp {
    /// Control bits (any).
    pub flags: Flags,
    /// SEG.SEQ.
    pub seq: SeqSel,
    /// SEG.ACK.
    pub ack: SeqSel,
    /// SEG.WND.
    pub window: u16,
    /// Payload length (octets of [`PATTERN`]).
    pub len: u16,
    /// Options.
    pub options: Options,
}

impl SegOp {
    fn read(u: &mut Unstructured<'_>) -> SegOp {
        // Any control bits: the core's derived `Arbitrary` (one octet, as `write` emits it).
        let flags = Flags::arbitrary(u).unwrap_or_default();
        let seq = SeqSel::read(u);
        let ack = SeqSel::read(u);
        let window = match byte(u) % 4 {
            0 | 1 => 65_535,
            2 => 0,
            _ => u16le(u),
        };
        let l = byte(u);
        let len = match l {
            0..=127 => 0,
            128..=239 => u16::from(l - 127),
            240..=254 => u16le(u),
            255 => 1460,
        };
        let options = read_options(u);
        SegOp {
            flags,
            seq,
            ack,
            window,
            len,
            options,
        }
    }

    fn write(&self, w: &mut Writer) {
        w.byte(self.flags.0);
        self.seq.write(w);
        self.ack.write(w);
        match self.window {
            65_535 => w.byte(0),
            0 => w.byte(2),
            v => w.byte(3).u16le(v),
        };
        match self.len {
            0 => w.byte(0),
            1..=112 => w.byte(self.len as u8 + 127),
            1460 => w.byte(255),
            v => w.byte(240).u16le(v),
        };
        write_options(&self.options, w);
    }
}

/// Reads options: mostly none; sometimes MSS, window scale, or any mix of the four kinds.
pub fn read_options(u: &mut Unstructured<'_>) -> Options {
    let mut o = Options::NONE;
    match byte(u) % 8 {
        0..=4 => {}
        5 => o.mss = Some(u16le(u)),
        6 => o.window_scale = Some(byte(u)),
        _ => {
            let mask = byte(u);
            if mask & 1 != 0 {
                o.mss = Some(u16le(u));
            }
            if mask & 2 != 0 {
                o.window_scale = Some(byte(u));
            }
            o.sack_permitted = mask & 4 != 0;
            if mask & 8 != 0 {
                // TSval then TSecr, little-endian: the derived `Arbitrary`, as `write_options`
                // emits it.
                o.timestamps = Timestamps::arbitrary(u).ok();
            }
        }
    }
    o
}

/// Writes options as [`read_options`] reads them.
pub fn write_options(o: &Options, w: &mut Writer) {
    if *o == Options::NONE {
        w.byte(0);
        return;
    }
    let mask = u8::from(o.mss.is_some())
        | u8::from(o.window_scale.is_some()) << 1
        | u8::from(o.sack_permitted) << 2
        | u8::from(o.timestamps.is_some()) << 3;
    w.byte(7).byte(mask);
    if let Some(m) = o.mss {
        w.u16le(m);
    }
    if let Some(s) = o.window_scale {
        w.byte(s);
    }
    if let Some(t) = o.timestamps {
        w.u32le(t.value).u32le(t.echo);
    }
}

/// How much the application reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RecvSel {
    /// Everything unread.
    All,
    /// Up to this many (no more than unread).
    UpTo(u8),
    /// Exactly this many, even beyond what is unread (an invalid argument then).
    Exact(u16),
}

/// One step of the input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    /// A segment from the peer.
    Segment(SegOp),
    /// SEND of this many octets.
    Send(u16),
    /// RECEIVE.
    Recv(RecvSel),
    /// CLOSE.
    Close,
    /// ABORT.
    Abort,
    /// shutdown(SHUT_RD).
    ShutdownRead,
    /// The application lets go of the connection.
    Orphan,
    /// Time passes (then the timers run).
    Advance(Duration),
    /// Time jumps to the armed deadline (then the timers run).
    FireTimer,
}

fn read_duration(u: &mut Unstructured<'_>) -> Duration {
    match byte(u) % 4 {
        0 => Duration::from_millis(u64::from(byte(u))),
        1 => Duration::from_secs(u64::from(byte(u))),
        2 => Duration::from_secs(60 * u64::from(byte(u))),
        _ => Duration::from_micros(u64::from(u32le(u))),
    }
}

fn write_duration(d: Duration, w: &mut Writer) {
    let us = d.as_micros();
    if us.is_multiple_of(60_000_000) && us / 60_000_000 <= 255 {
        w.byte(2).byte((us / 60_000_000) as u8);
    } else if us.is_multiple_of(1_000_000) && us / 1_000_000 <= 255 {
        w.byte(1).byte((us / 1_000_000) as u8);
    } else if us.is_multiple_of(1000) && us / 1000 <= 255 {
        w.byte(0).byte((us / 1000) as u8);
    } else {
        w.byte(3).u32le(u32::try_from(us).unwrap_or(u32::MAX));
    }
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Op> {
        Ok(match byte(u) % 16 {
            0..=7 => Op::Segment(SegOp::read(u)),
            8 => Op::Send(u16le(u)),
            9 => Op::Recv(match byte(u) {
                255 => RecvSel::Exact(u16le(u)),
                r @ 0..=127 => RecvSel::UpTo(r),
                _ => RecvSel::All,
            }),
            10 => Op::Close,
            11 => Op::Abort,
            12 => Op::ShutdownRead,
            13 => Op::Orphan,
            14 => Op::Advance(read_duration(u)),
            _ => Op::FireTimer,
        })
    }
}

impl Encode for Op {
    fn encode(&self, w: &mut Writer) {
        match self {
            Op::Segment(s) => {
                w.byte(0);
                s.write(w);
            }
            Op::Send(n) => {
                w.byte(8).u16le(*n);
            }
            Op::Recv(r) => {
                w.byte(9);
                match r {
                    RecvSel::Exact(n) => w.byte(255).u16le(*n),
                    RecvSel::UpTo(n) => w.byte(*n & 0x7f),
                    RecvSel::All => w.byte(128),
                };
            }
            Op::Close => {
                w.byte(10);
            }
            Op::Abort => {
                w.byte(11);
            }
            Op::ShutdownRead => {
                w.byte(12);
            }
            Op::Orphan => {
                w.byte(13);
            }
            Op::Advance(d) => {
                w.byte(14);
                write_duration(*d, w);
            }
            Op::FireTimer => {
                w.byte(15);
            }
        }
    }
}

/// A whole `segments` input, decoded (for `replay`, `gen-corpus` and the tests; the fuzz target
/// decodes one [`Op`] at a time instead).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SegmentsInput {
    /// The header.
    pub header: Header,
    /// The operations.
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for SegmentsInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let header = Header::read(u);
        let mut ops = Vec::new();
        while !u.is_empty() {
            ops.push(Op::arbitrary(u)?);
        }
        Ok(SegmentsInput { header, ops })
    }
}

impl Encode for SegmentsInput {
    fn encode(&self, w: &mut Writer) {
        self.header.write(w);
        for op in &self.ops {
            op.encode(w);
        }
    }
}

// ----- the harness --------------------------------------------------------------------------

/// What a step was, for the oracles that judge its output.
#[derive(Clone, Copy, Debug)]
pub enum StepCause<'s> {
    /// A segment arrived.
    Segment(&'s Segment<'s>),
    /// An application call (ABORT among them: it may send a RST).
    Call {
        /// It was ABORT.
        abort: bool,
    },
    /// A timer ran.
    Timeout,
}

impl StepCause<'_> {
    fn kind(&self) -> Cause {
        match self {
            StepCause::Segment(_) => Cause::Segment,
            StepCause::Call { .. } => Cause::Call,
            StepCause::Timeout => Cause::Timeout,
        }
    }
}

/// Whether the RFC's diagram (as `tcp_fsm::EDGES` draws it) has an edge `from -> to` taken by
/// `cause`; staying put is always allowed.
#[must_use]
pub fn edge_exists(from: State, to: State, cause: Cause) -> bool {
    tcp_model::properties::step_allowed(from, to, cause).is_ok()
}

/// One connection, the mirror of the caller's buffers (lengths only), a clock, and the oracles.
pub struct Harness<'o, O: Observer> {
    /// The connection.
    pub conn: Connection,
    /// Its policy.
    pub policy: Policy,
    /// The clock.
    pub now: Instant,
    obs: &'o mut O,
    scratch: &'o mut Vec<u8>,
    /// Octets delivered and not consumed (the caller's receive buffer length).
    unread: u32,
    /// Octets in the caller's send buffer.
    buffered: u32,
    /// Steps so far (for messages).
    pub steps: u32,
}

/// Most segments one step may produce before `poll_transmit` counts as not running dry: the
/// whole send buffer in segments of the smallest MSS (48, Linux's `TCP_MIN_SND_MSS`), plus SYN,
/// FIN, a probe, an ACK and a RST.
fn max_transmits_per_step(policy: &Policy) -> u32 {
    policy.send_buffer / 48 + 16
}

impl<'o, O: Observer> Harness<'o, O> {
    /// A harness around a fresh connection (just opened by a call).
    pub fn new(
        conn: Connection,
        policy: Policy,
        now: Instant,
        obs: &'o mut O,
        scratch: &'o mut Vec<u8>,
    ) -> Self {
        let mut h = Harness {
            conn,
            policy,
            now,
            obs,
            scratch,
            unread: 0,
            buffered: 0,
            steps: 0,
        };
        if O::ENABLED {
            h.obs.note(
                now,
                format_args!("OPEN -> {} (ISS={})", h.conn.state(), h.conn.status().iss),
            );
        }
        let before = h.conn.status();
        h.after(StepCause::Call { abort: false }, &before);
        h
    }

    /// Panics with an oracle's verdict and the context.
    #[track_caller]
    fn fail(&self, what: core::fmt::Arguments<'_>) -> ! {
        panic!(
            "oracle failed at step {}: {what}\n  now {:?}, status {:?}",
            self.steps,
            self.now,
            self.conn.status()
        );
    }

    /// A segment arrives from the peer.
    pub fn deliver(&mut self, seg: &Segment<'_>) {
        self.steps += 1;
        let before = self.conn.status();
        self.obs.segment(self.now, PEER, US, seg);
        let arrival = self.conn.handle_segment(&self.policy, self.now, seg);
        let data = arrival.data;
        if O::ENABLED {
            self.obs.note(
                self.now,
                format_args!("{:?}, {} octets delivered", arrival.disposition, data.len()),
            );
        }
        if !data.is_empty() {
            self.check_delivery(&before, seg, data);
        }
        self.unread += data.len() as u32;
        self.after(StepCause::Segment(seg), &before);
    }

    /// In-order data: exactly the payload octets from RCV.NXT on, no more than the window.
    fn check_delivery(&self, before: &Status, seg: &Segment<'_>, data: &[u8]) {
        let after = self.conn.status();
        let text_seq = seg.seq + u32::from(seg.flags.syn());
        // In SYN-SENT, RCV.NXT is set by this very segment's SYN.
        let base = if before.state == State::SynSent {
            seg.seq + 1
        } else {
            before.rcv_nxt
        };
        if !matches!(
            before.state,
            State::SynSent
                | State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
        ) {
            self.fail(format_args!(
                "data delivered in {} from {seg}",
                before.state
            ));
        }
        let offset = (data.as_ptr() as usize).wrapping_sub(seg.payload.as_ptr() as usize);
        let want = base.since(text_seq) as usize;
        if offset != want || base < text_seq {
            self.fail(format_args!(
                "delivered data starts at payload offset {offset}, RCV.NXT says {want} ({seg})"
            ));
        }
        let advanced = after.rcv_nxt.since(base) as usize;
        if after.state != State::Listen && advanced != data.len() && advanced != data.len() + 1 {
            self.fail(format_args!(
                "{} octets delivered but RCV.NXT moved by {advanced}",
                data.len()
            ));
        }
        let room = self.policy.recv_buffer.saturating_sub(before.unread) as usize;
        if data.len() > room {
            self.fail(format_args!(
                "{} octets delivered into a window of {room}",
                data.len()
            ));
        }
    }

    /// SEND.
    pub fn send(&mut self, len: usize) {
        self.steps += 1;
        let before_conn = self.conn.clone();
        let before = self.conn.status();
        // RFC 9293 §3.10.2, as `Connection::send` documents it.
        let want = match before.state {
            State::Closed | State::Listen => Some(CallError::NotConnected),
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
                if !before_conn.fin_queued() =>
            {
                None
            }
            _ => Some(CallError::Closing),
        };
        let r = self.conn.send(&self.policy, len);
        if O::ENABLED {
            self.obs.note(self.now, format_args!("SEND {len} -> {r:?}"));
        }
        match r {
            Ok(n) => {
                if let Some(e) = want {
                    self.fail(format_args!(
                        "SEND in {} accepted, documented {e:?}",
                        before.state
                    ));
                }
                if n > len {
                    self.fail(format_args!("SEND {len} took {n}"));
                }
                self.buffered += n as u32;
            }
            Err(e) => {
                if Some(e) != want {
                    self.fail(format_args!("SEND in {} refused with {e:?}", before.state));
                }
                self.refused_call_changes_nothing(&before_conn, "SEND");
            }
        }
        self.after(StepCause::Call { abort: false }, &before);
    }

    /// RECEIVE.
    pub fn recv(&mut self, sel: RecvSel) {
        self.steps += 1;
        let before_conn = self.conn.clone();
        let before = self.conn.status();
        let len = match sel {
            RecvSel::All => self.unread as usize,
            RecvSel::UpTo(n) => usize::from(n).min(self.unread as usize),
            RecvSel::Exact(n) => usize::from(n),
        };
        let r = self.conn.recv(&self.policy, len);
        if O::ENABLED {
            self.obs
                .note(self.now, format_args!("RECEIVE {len} -> {r:?}"));
        }
        match r {
            Ok(()) => {
                if len > self.unread as usize {
                    self.fail(format_args!(
                        "RECEIVE {len} accepted with {} unread",
                        self.unread
                    ));
                }
                self.unread -= len as u32;
            }
            Err(e) => {
                let ok = match e {
                    CallError::InvalidArgument => len > self.unread as usize,
                    CallError::NotConnected => before.state == State::Closed && self.unread == 0,
                    _ => false,
                };
                if !ok {
                    self.fail(format_args!(
                        "RECEIVE {len} in {} with {} unread refused with {e:?}",
                        before.state, self.unread
                    ));
                }
                self.refused_call_changes_nothing(&before_conn, "RECEIVE");
            }
        }
        self.after(StepCause::Call { abort: false }, &before);
    }

    /// CLOSE.
    pub fn close(&mut self) {
        self.steps += 1;
        let before_conn = self.conn.clone();
        let before = self.conn.status();
        let r = self.conn.close(&self.policy, self.now);
        if O::ENABLED {
            self.obs.note(self.now, format_args!("CLOSE -> {r:?}"));
        }
        let want = match before.state {
            State::Closed => Err(CallError::NotConnected),
            State::Closing | State::LastAck | State::TimeWait => Err(CallError::Closing),
            _ => Ok(()),
        };
        if r != want {
            self.fail(format_args!(
                "CLOSE in {} returned {r:?}, documented {want:?}",
                before.state
            ));
        }
        if r.is_err() {
            self.refused_call_changes_nothing(&before_conn, "CLOSE");
        }
        self.after(StepCause::Call { abort: false }, &before);
    }

    /// ABORT.
    pub fn abort(&mut self) {
        self.steps += 1;
        let before_conn = self.conn.clone();
        let before = self.conn.status();
        let r = self.conn.abort(&self.policy);
        if O::ENABLED {
            self.obs.note(self.now, format_args!("ABORT -> {r:?}"));
        }
        let want = if before.state == State::Closed {
            Err(CallError::NotConnected)
        } else {
            Ok(())
        };
        if r != want {
            self.fail(format_args!("ABORT in {} returned {r:?}", before.state));
        }
        if r.is_err() {
            self.refused_call_changes_nothing(&before_conn, "ABORT");
        } else if self.conn.state() != State::Closed {
            self.fail(format_args!(
                "ABORT left the connection in {}",
                self.conn.state()
            ));
        }
        self.after(StepCause::Call { abort: true }, &before);
    }

    /// shutdown(SHUT_RD).
    pub fn shutdown_read(&mut self) {
        self.steps += 1;
        let before = self.conn.status();
        self.conn.shutdown_read();
        if O::ENABLED {
            self.obs.note(self.now, format_args!("shutdown(SHUT_RD)"));
        }
        self.after(StepCause::Call { abort: false }, &before);
    }

    /// The application lets go.
    pub fn orphan(&mut self) {
        self.steps += 1;
        let before = self.conn.status();
        self.conn.orphan(&self.policy, self.now);
        if O::ENABLED {
            self.obs.note(self.now, format_args!("orphaned"));
        }
        self.after(StepCause::Call { abort: false }, &before);
    }

    /// Time passes by `d`; the timers run.
    pub fn advance(&mut self, d: Duration) {
        self.steps += 1;
        self.now = self.now + d;
        self.timeout();
    }

    /// Time jumps to the armed deadline, if any; the timers run.
    pub fn fire(&mut self) {
        self.steps += 1;
        if let Some(deadline) = self.conn.poll_timeout() {
            self.now = self.now.max(deadline);
            self.timeout();
        }
    }

    fn timeout(&mut self) {
        let before = self.conn.status();
        self.conn.handle_timeout(&self.policy, self.now);
        if O::ENABLED {
            self.obs.note(
                self.now,
                format_args!("timers run ({:?} armed)", before.timer),
            );
        }
        self.after(StepCause::Timeout, &before);
    }

    fn refused_call_changes_nothing(&self, before: &Connection, call: &str) {
        if self.conn != *before {
            self.fail(format_args!("a refused {call} changed the connection"));
        }
    }

    /// Polls everything out and checks every oracle of the step.
    fn after(&mut self, cause: StepCause<'_>, before: &Status) {
        let mut n = 0;
        let limit = max_transmits_per_step(&self.policy);
        loop {
            let state_at = self.conn.state();
            let Some(t) = self.conn.poll_transmit(&self.policy, self.now) else {
                break;
            };
            n += 1;
            if n > limit {
                self.fail(format_args!("poll_transmit does not run dry"));
            }
            self.check_transmit(cause, state_at, &t);
        }
        while let Some(event) = self.conn.poll_event() {
            if O::ENABLED {
                self.obs.note(self.now, format_args!("event {event:?}"));
            }
            self.check_event(event);
        }
        let acked = self.conn.take_acked();
        if acked > self.buffered {
            self.fail(format_args!(
                "take_acked says {acked} octets of a send buffer of {}",
                self.buffered
            ));
        }
        self.buffered -= acked;
        let after = self.conn.status();
        if O::ENABLED && after.state != before.state {
            self.obs.note(
                self.now,
                format_args!("{} -> {}", before.state, after.state),
            );
        }
        self.check_step(cause, before, &after);
        self.check_status(&after);
    }

    fn check_event(&self, event: Event) {
        let state = self.conn.state();
        let ok = match event {
            Event::Established => {
                !matches!(state, State::Listen | State::SynSent | State::SynReceived)
            }
            Event::PeerFin => state.remote_closed() || state == State::Closed,
            Event::Error(_) => state == State::Closed && self.conn.error().is_some(),
            Event::Closed => state == State::Closed,
        };
        if !ok {
            self.fail(format_args!("event {event:?} in {state}"));
        }
    }

    /// One segment the connection sends: is it one the RFC allows from this state?
    fn check_transmit(&mut self, cause: StepCause<'_>, state_at: State, t: &Transmit) {
        let st = self.conn.status();
        let seg = t.segment;
        let range = t.payload;
        let plen = range.len;
        if u64::from(range.offset) + u64::from(plen) > u64::from(self.buffered) {
            self.fail(format_args!(
                "payload {range:?} outside a send buffer of {}",
                self.buffered
            ));
        }
        if seg.flags.rst() {
            self.check_rst(cause, &st, &seg);
        } else {
            if matches!(state_at, State::Closed | State::Listen) {
                self.fail(format_args!("{state_at} sent {seg}, which is not a RST"));
            }
            if state_at == State::SynSent && (seg.flags != Flags::SYN || seg.seq != st.iss) {
                self.fail(format_args!("SYN-SENT sent {seg}, not its SYN"));
            }
            // Our SYN goes (again) only while unacknowledged: in SYN-SENT, SYN-RECEIVED, and in
            // FIN-WAIT-1 or CLOSING reached from SYN-RECEIVED by CLOSE.
            let syn_pending = matches!(state_at, State::SynSent | State::SynReceived)
                || (matches!(state_at, State::FinWait1 | State::Closing) && st.snd_una == st.iss);
            if seg.flags.syn() && (seg.seq != st.iss || !syn_pending) {
                self.fail(format_args!("{state_at} sent a SYN {seg} (ISS={})", st.iss));
            }
            if state_at == State::SynReceived || state_at.is_synchronized() {
                if !seg.flags.ack() {
                    self.fail(format_args!("{state_at} sent {seg} without ACK"));
                }
                if seg.ack != st.rcv_nxt {
                    self.fail(format_args!(
                        "{state_at} sent {seg} but RCV.NXT={}",
                        st.rcv_nxt
                    ));
                }
            }
            let len = seg.len() + plen;
            let end = seg.seq + len;
            if !seg.seq.in_closed(st.snd_una - 1, st.snd_nxt)
                || !end.in_closed(st.iss, st.snd_nxt)
                || !seg.seq.in_closed(st.iss, st.snd_nxt)
            {
                self.fail(format_args!(
                    "{state_at} sent {seg} (+{plen} octets) outside what was sent: ISS={} SND.UNA={} SND.NXT={}",
                    st.iss, st.snd_una, st.snd_nxt
                ));
            }
            if seg.flags.fin() && !self.conn.fin_queued() {
                self.fail(format_args!(
                    "{state_at} sent a FIN nobody asked for: {seg}"
                ));
            }
            if plen > 0 && !state_at.is_synchronized() {
                self.fail(format_args!("{state_at} sent data: {seg}"));
            }
            if plen > u32::from(self.conn.send_mss()) {
                self.fail(format_args!(
                    "{plen} octets in one segment, MSS {}",
                    self.conn.send_mss()
                ));
            }
        }
        // The segment survives the wire: emit under an IPv4 pseudo-header and parse it back.
        let payload = PATTERN.get(..plen as usize).unwrap_or(&[]);
        let full = Segment { payload, ..seg };
        self.obs.segment(self.now, US, PEER, &full);
        wire_round_trip(self.scratch, &full, US, PEER);
    }

    fn check_rst(&self, cause: StepCause<'_>, st: &Status, seg: &Segment<'_>) {
        let ok = match cause {
            StepCause::Segment(input) => {
                if let Err(v) = tcp_model::properties::no_rst_for_rst(input, seg) {
                    self.fail(format_args!("{v}"));
                }
                // RFC 9293 §3.10.7.1 (and the bad-ACK answers of SYN-SENT, SYN-RECEIVED and
                // LISTEN, and Linux's reset of data after close, which use it).
                if input.flags.ack() {
                    seg.flags == Flags::RST && seg.seq == input.ack
                } else {
                    seg.flags == (Flags::RST | Flags::ACK)
                        && seg.seq == SeqNum(0)
                        && seg.ack == input.seq + input.len()
                }
            }
            StepCause::Call { abort: true } | StepCause::Timeout => {
                // ABORT (and a keepalive that gave up): <SEQ=SND.NXT><CTL=RST>, maybe with ACK.
                seg.seq == st.snd_nxt
                    && (seg.flags == Flags::RST
                        || (seg.flags == (Flags::RST | Flags::ACK) && seg.ack == st.rcv_nxt))
            }
            _ => false,
        };
        if !ok {
            self.fail(format_args!("an unexpected RST {seg} after {cause:?}"));
        }
    }

    fn check_step(&self, cause: StepCause<'_>, before: &Status, after: &Status) {
        let (from, to) = (before.state, after.state);
        if !edge_exists(from, to, cause.kind()) {
            self.fail(format_args!(
                "{from} -> {to} by {:?} is no edge of the RFC's diagram (cause {cause:?})",
                cause.kind()
            ));
        }
        let same_incarnation =
            !matches!(from, State::Listen | State::SynSent) && to != State::Listen;
        if same_incarnation {
            if after.rcv_nxt < before.rcv_nxt {
                self.fail(format_args!(
                    "RCV.NXT moved back from {} to {}",
                    before.rcv_nxt, after.rcv_nxt
                ));
            }
            if after.snd_una < before.snd_una || after.snd_nxt < before.snd_nxt {
                self.fail(format_args!(
                    "SND.UNA/SND.NXT moved back from {}/{} to {}/{}",
                    before.snd_una, before.snd_nxt, after.snd_una, after.snd_nxt
                ));
            }
            let grew = after.rcv_nxt.since(before.rcv_nxt);
            if u64::from(grew) > u64::from(self.policy.recv_buffer) + 1 {
                self.fail(format_args!("RCV.NXT jumped by {grew}"));
            }
        }
    }

    fn check_status(&self, st: &Status) {
        let state = st.state;
        if let Err(v) = tcp_model::properties::send_sequence(st) {
            self.fail(format_args!("{v}"));
        }
        let in_flight = st.snd_nxt.since(st.snd_una);
        if u64::from(in_flight) > u64::from(self.policy.send_buffer) + 2 {
            self.fail(format_args!("{in_flight} octets in flight"));
        }
        if st.unread != self.unread {
            self.fail(format_args!(
                "the connection counts {} unread, the caller's buffer holds {}",
                st.unread, self.unread
            ));
        }
        if st.unread > self.policy.recv_buffer {
            self.fail(format_args!(
                "{} unread in a buffer of {}",
                st.unread, self.policy.recv_buffer
            ));
        }
        let buffered = self.conn.send_buffered();
        if buffered != self.buffered || (buffered > self.policy.send_buffer) || st.unsent > buffered
        {
            self.fail(format_args!(
                "send buffer: connection {buffered}, caller {}, unsent {}, limit {}",
                self.buffered, st.unsent, self.policy.send_buffer
            ));
        }
        if u64::from(st.snd_wnd) > u64::from(u16::MAX) << 14 {
            self.fail(format_args!("SND.WND {} beyond 65535 << 14", st.snd_wnd));
        }
        // FIN-WAIT-1 (and CLOSING after it) may come straight from SYN-RECEIVED by CLOSE, before
        // our SYN is acknowledged (RFC 9293 §3.10.4).
        if state.is_synchronized() {
            if st.snd_una == st.iss && !matches!(state, State::FinWait1 | State::Closing) {
                self.fail(format_args!("{state} with our SYN unacknowledged"));
            }
            if st.rcv_nxt == st.irs {
                self.fail(format_args!("{state} with the peer's SYN not received"));
            }
        }
        if state.local_closed() && !self.conn.fin_queued() {
            self.fail(format_args!("{state} without a FIN queued"));
        }
        let timer = self.conn.poll_timeout();
        match state {
            State::Closed | State::Listen => {
                if timer.is_some() {
                    self.fail(format_args!("{state} with a timer armed at {timer:?}"));
                }
            }
            State::SynSent | State::SynReceived | State::TimeWait => {
                if timer.is_none() {
                    self.fail(format_args!("{state} with no timer"));
                }
            }
            _ => {
                if (st.snd_una != st.snd_nxt || st.unsent > 0) && timer.is_none() {
                    self.fail(format_args!(
                        "{state} with {} octets in flight and {} unsent, and no timer",
                        st.snd_nxt.since(st.snd_una),
                        st.unsent
                    ));
                }
            }
        }
    }
}

/// Payload octets a segment keeps for [`wire_round_trip`].
pub const ROUND_TRIP_PAYLOAD: usize = 64;

/// Emits `seg` from `src` to `dst` under an IPv4 pseudo-header and parses it back; panics if
/// the result differs.
///
/// Only the first [`ROUND_TRIP_PAYLOAD`] payload octets go along: what is checked here is the
/// header the state machine made (flags, numbers, window, options, and a checksum that covers
/// some payload); the `wire` target checks payload handling octet by octet. Checksumming whole
/// segments (up to 64 KiB with an arbitrary MSS, twice, through coverage-instrumented loops)
/// took a third of the `segments` target's time.
pub fn wire_round_trip(
    scratch: &mut Vec<u8>,
    seg: &Segment<'_>,
    src: SocketAddrV4,
    dst: SocketAddrV4,
) {
    let payload = &seg.payload[..seg.payload.len().min(ROUND_TRIP_PAYLOAD)];
    let repr = Repr {
        src_port: src.port(),
        dst_port: dst.port(),
        segment: Segment { payload, ..*seg },
    };
    let pseudo = PseudoHeader::V4 {
        src: *src.ip(),
        dst: *dst.ip(),
    };
    let need = wire::buffer_len(&repr);
    if scratch.len() < need {
        scratch.resize(need, 0);
    }
    let n = match wire::emit(&repr, Some(&pseudo), scratch) {
        Ok(n) => n,
        Err(e) => panic!("oracle failed: emitted segment {seg} does not emit: {e}"),
    };
    match wire::parse(&scratch[..n], Some(&pseudo)) {
        Ok(back) if back == repr => {}
        Ok(back) => panic!(
            "oracle failed: {seg} came back from the wire as {:?}",
            back.segment
        ),
        Err(e) => panic!("oracle failed: emitted segment {seg} does not parse: {e}"),
    }
}

// ----- driving ------------------------------------------------------------------------------

/// The time every run starts at.
pub const T0: Instant = Instant::from_millis(1_000);

/// A segment from the peer at the connection's current numbers: SEQ = RCV.NXT, ACK = `ack`.
fn peer_segment(h: &Harness<'_, impl Observer>, flags: Flags, ack: SeqNum) -> Segment<'static> {
    Segment {
        seq: h.conn.status().rcv_nxt,
        ack,
        flags,
        window: 65_535,
        ..Segment::default()
    }
}

/// Drives a fresh harness to `header.start` through real calls and segments.
pub fn reach<'o, O: Observer>(
    header: &Header,
    obs: &'o mut O,
    scratch: &'o mut Vec<u8>,
) -> Harness<'o, O> {
    reach_state(header.start, header, obs, scratch)
}

fn reach_state<'o, O: Observer>(
    start: Start,
    header: &Header,
    obs: &'o mut O,
    scratch: &'o mut Vec<u8>,
) -> Harness<'o, O> {
    let policy = header.policy.policy;
    let iss = SeqNum(header.iss);
    let syn = Segment {
        seq: SeqNum(header.peer_iss),
        flags: Flags::SYN,
        window: 65_535,
        options: header.peer_options,
        ..Segment::default()
    };
    let mut h = match start {
        Start::Closed | Start::Listen | Start::SynReceivedPassive => {
            Harness::new(Connection::listen(&policy, iss), policy, T0, obs, scratch)
        }
        Start::SynSent | Start::SynReceivedActive => Harness::new(
            Connection::connect(&policy, T0, iss),
            policy,
            T0,
            obs,
            scratch,
        ),
        Start::Established if header.passive => {
            let mut h = reach_state(Start::SynReceivedPassive, header, obs, scratch);
            let ack = peer_segment(&h, Flags::ACK, iss + 1);
            h.deliver(&ack);
            return h;
        }
        Start::Established => {
            let mut h = reach_state(Start::SynSent, header, obs, scratch);
            let synack = Segment {
                flags: Flags::SYN | Flags::ACK,
                ack: iss + 1,
                ..syn
            };
            h.deliver(&synack);
            return h;
        }
        Start::FinWait1 | Start::CloseWait => reach_state(Start::Established, header, obs, scratch),
        Start::FinWait2 | Start::Closing => reach_state(Start::FinWait1, header, obs, scratch),
        Start::LastAck => reach_state(Start::CloseWait, header, obs, scratch),
        Start::TimeWait => reach_state(Start::FinWait2, header, obs, scratch),
    };
    let st = h.conn.status();
    match start {
        Start::Closed | Start::FinWait1 | Start::LastAck => h.close(),
        Start::SynReceivedPassive | Start::SynReceivedActive => h.deliver(&syn),
        Start::FinWait2 => h.deliver(&peer_segment(&h, Flags::ACK, st.snd_nxt)),
        Start::CloseWait | Start::TimeWait => {
            h.deliver(&peer_segment(&h, Flags::FIN | Flags::ACK, st.snd_nxt));
        }
        Start::Closing => h.deliver(&peer_segment(&h, Flags::FIN | Flags::ACK, st.snd_una)),
        Start::Listen | Start::SynSent | Start::Established => {}
    }
    h
}

impl<O: Observer> Harness<'_, O> {
    /// Applies one operation.
    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Segment(s) => {
                let st = self.conn.status();
                let rcv_wnd = self.policy.recv_buffer.saturating_sub(st.unread);
                let seg = Segment {
                    seq: s.seq.resolve(st.rcv_nxt, st.rcv_nxt + rcv_wnd),
                    ack: s.ack.resolve(st.snd_una, st.snd_nxt),
                    flags: s.flags,
                    window: s.window,
                    urgent: 0,
                    options: s.options,
                    payload: &PATTERN[..usize::from(s.len)],
                };
                self.deliver(&seg);
            }
            Op::Send(n) => self.send(usize::from(n)),
            Op::Recv(r) => self.recv(r),
            Op::Close => self.close(),
            Op::Abort => self.abort(),
            Op::ShutdownRead => self.shutdown_read(),
            Op::Orphan => self.orphan(),
            Op::Advance(d) => self.advance(d),
            Op::FireTimer => self.fire(),
        }
    }
}

/// The whole target: decode the header, reach the starting state, apply every operation.
pub fn run<O: Observer>(data: &[u8], obs: &mut O, scratch: &mut Vec<u8>) {
    let mut u = Unstructured::new(data);
    let header = Header::read(&mut u);
    if O::ENABLED {
        obs.note(T0, format_args!("{header:?}"));
    }
    let mut h = reach(&header, obs, scratch);
    if O::ENABLED {
        h.obs.note(
            h.now,
            format_args!(
                "start reached: {} (wanted {})",
                h.conn.state(),
                header.start.state()
            ),
        );
    }
    while !u.is_empty() {
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        h.apply(&op);
    }
}

/// A profile helper for seeds.
#[must_use]
pub fn header(profile: Profile, knobs: u8, start: Start, passive: bool) -> Header {
    Header {
        policy: PolicyChoice {
            profile,
            knobs,
            policy: crate::policies::apply(crate::policies::base(profile), knobs),
        },
        start,
        passive,
        iss: 100,
        peer_iss: 300,
        peer_options: Options::NONE,
    }
}
