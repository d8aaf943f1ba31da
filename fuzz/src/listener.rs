//! The `listener` target: one [`Endpoint`] listening on one address, and up to 256 clients
//! (4-tuples) sending SYNs, ACKs (completing handshakes, or forged), RSTs, data and FINs at it,
//! while the application accepts, closes, aborts and releases connections and time passes.
//!
//! After every step:
//! - the SYN queue (children in SYN-RECEIVED) holds at most `min(max(backlog, 1),
//!   max_syn_backlog)`, the accept queue at most `backlog + 1` (Linux's `sk_acceptq_is_full`);
//! - memory is bounded: live connections are exactly the SYN queue, the accept queue and the
//!   accepted connections still alive, and TIME-WAIT entries stay within `max_time_wait`;
//! - every connection `accept` returns is ESTABLISHED or later (or CLOSED by an error);
//! - an ACK that answers no SYN,ACK the endpoint sent to that 4-tuple never yields a
//!   connection;
//! - no RST answers a RST, and every segment survives the wire.
//!
//! SYN cookies: `Policy::syn_cookies` has no effect in the endpoint yet (a full SYN queue drops
//! the SYN). The input already chooses the setting, and a forged ACK is judged against the
//! SYN,ACKs actually sent, so a forged cookie is covered once cookies exist.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use arbitrary::{Arbitrary, Unstructured};
use tcp_fsm::{
    ConnId, Duration, Endpoint, Flags, FourTuple, Instant, Options, Policy, Segment, SeqNum, State,
    SynCookies,
};

use crate::input::{Encode, PATTERN, Writer, byte, u16le, u32le};
use crate::observe::Observer;
use crate::policies::{PolicyChoice, Profile};
use crate::segments::{read_options, wire_round_trip, write_options};

/// The listening address.
pub const LISTEN_ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);

/// Client `i`'s address: 192.0.2.(i % 16), port 1024 + i.
#[must_use]
pub fn client_addr(i: u8) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, i % 16), 1024 + u16::from(i))
}

fn tuple(i: u8) -> FourTuple {
    FourTuple {
        local: SocketAddr::V4(LISTEN_ADDR),
        remote: SocketAddr::V4(client_addr(i)),
    }
}

/// What the application does with an accepted connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AppCall {
    /// CLOSE.
    Close,
    /// ABORT.
    Abort,
    /// Let go of it (it lingers until CLOSED, or becomes a TIME-WAIT entry).
    Release,
    /// SEND this many octets.
    Send(u16),
    /// RECEIVE everything delivered.
    RecvAll,
}

/// One step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ListenerOp {
    /// Client `client` sends a SYN with ISN `isn`.
    Syn {
        /// Which client.
        client: u8,
        /// Its ISN.
        isn: u32,
        /// Options on the SYN.
        options: Options,
    },
    /// The client completes its handshake: `<SEQ=ISN+1><ACK=ISS+1><CTL=ACK>` for the last
    /// SYN,ACK it got (a forged ACK if it got none).
    Ack(u8),
    /// An ACK whose number is the client's last SYN,ACK's ISS+1 moved by `offset` (nonzero:
    /// forged), or any number when the client got no SYN,ACK.
    ForgedAck {
        /// Which client.
        client: u8,
        /// How far from the right number.
        offset: u32,
    },
    /// A RST at the client's sequence number plus `offset`.
    Rst {
        /// Which client.
        client: u8,
        /// Offset from the client's SND.NXT.
        offset: i8,
        /// With ACK (of the server's ISS+1).
        ack: bool,
    },
    /// Data (and maybe FIN) at the client's numbers.
    Data {
        /// Which client.
        client: u8,
        /// Payload length.
        len: u8,
        /// FIN too.
        fin: bool,
    },
    /// Any segment with raw numbers.
    Raw {
        /// Which client.
        client: u8,
        /// Control bits.
        flags: Flags,
        /// SEG.SEQ.
        seq: u32,
        /// SEG.ACK.
        ack: u32,
    },
    /// `accept()`.
    Accept,
    /// A call on the accepted connection at `index` (modulo their number).
    App {
        /// Which accepted connection.
        index: u8,
        /// The call.
        call: AppCall,
    },
    /// Time passes; the timers run.
    Advance(Duration),
    /// Time jumps to the next deadline; the timers run.
    FireTimer,
    /// Stop listening and listen again (queued children are reset, half-open ones dropped).
    Relisten,
}

impl<'a> Arbitrary<'a> for ListenerOp {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<ListenerOp> {
        Ok(match byte(u) % 16 {
            0..=3 => ListenerOp::Syn {
                client: byte(u),
                isn: u32le(u),
                options: read_options(u),
            },
            4 | 5 => ListenerOp::Ack(byte(u)),
            6 => ListenerOp::ForgedAck {
                client: byte(u),
                offset: u32le(u),
            },
            7 => {
                let client = byte(u);
                let offset = byte(u) as i8;
                ListenerOp::Rst {
                    client,
                    offset,
                    ack: byte(u) & 1 == 1,
                }
            }
            8 | 9 => {
                let client = byte(u);
                let len = byte(u);
                ListenerOp::Data {
                    client,
                    len,
                    fin: byte(u) & 1 == 1,
                }
            }
            10 => ListenerOp::Raw {
                client: byte(u),
                flags: Flags::arbitrary(u).unwrap_or_default(),
                seq: u32le(u),
                ack: u32le(u),
            },
            11 => ListenerOp::Accept,
            12 => {
                let index = byte(u);
                let call = match byte(u) % 5 {
                    0 => AppCall::Close,
                    1 => AppCall::Abort,
                    2 => AppCall::Release,
                    3 => AppCall::Send(u16le(u)),
                    _ => AppCall::RecvAll,
                };
                ListenerOp::App { index, call }
            }
            13 => ListenerOp::Advance(Duration::from_millis(u64::from(u16le(u)) * 10)),
            14 => ListenerOp::FireTimer,
            _ => {
                // Rare: a second octet must agree, so stray 15s mostly fire a timer instead.
                if byte(u) == 0xff {
                    ListenerOp::Relisten
                } else {
                    ListenerOp::FireTimer
                }
            }
        })
    }
}

impl Encode for ListenerOp {
    fn encode(&self, w: &mut Writer) {
        match *self {
            ListenerOp::Syn {
                client,
                isn,
                options,
            } => {
                w.byte(0).byte(client).u32le(isn);
                write_options(&options, w);
            }
            ListenerOp::Ack(c) => {
                w.byte(4).byte(c);
            }
            ListenerOp::ForgedAck { client, offset } => {
                w.byte(6).byte(client).u32le(offset);
            }
            ListenerOp::Rst {
                client,
                offset,
                ack,
            } => {
                w.byte(7)
                    .byte(client)
                    .byte(offset as u8)
                    .byte(u8::from(ack));
            }
            ListenerOp::Data { client, len, fin } => {
                w.byte(8).byte(client).byte(len).byte(u8::from(fin));
            }
            ListenerOp::Raw {
                client,
                flags,
                seq,
                ack,
            } => {
                w.byte(10).byte(client).byte(flags.0).u32le(seq).u32le(ack);
            }
            ListenerOp::Accept => {
                w.byte(11);
            }
            ListenerOp::App { index, call } => {
                w.byte(12).byte(index);
                match call {
                    AppCall::Close => w.byte(0),
                    AppCall::Abort => w.byte(1),
                    AppCall::Release => w.byte(2),
                    AppCall::Send(n) => w.byte(3).u16le(n),
                    AppCall::RecvAll => w.byte(4),
                };
            }
            ListenerOp::Advance(d) => {
                w.byte(13)
                    .u16le(u16::try_from(d.as_millis() / 10).unwrap_or(u16::MAX));
            }
            ListenerOp::FireTimer => {
                w.byte(14);
            }
            ListenerOp::Relisten => {
                w.byte(15).byte(0xff);
            }
        }
    }
}

/// Everything before the operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ListenerHeader {
    /// Base policy.
    pub policy: PolicyChoice,
    /// `listen()` backlog (0-16).
    pub backlog: u32,
    /// `Policy::max_syn_backlog` (1-16).
    pub max_syn_backlog: u32,
    /// `Policy::max_time_wait` (0-8).
    pub max_time_wait: u32,
    /// `Policy::abort_on_overflow`.
    pub abort_on_overflow: bool,
    /// `Policy::syn_cookies`.
    pub syn_cookies: SynCookies,
}

impl ListenerHeader {
    /// Reads a header.
    pub fn read(u: &mut Unstructured<'_>) -> ListenerHeader {
        let policy = PolicyChoice::read(u, false);
        let backlog = u32::from(byte(u) % 17);
        let max_syn_backlog = u32::from(byte(u) % 16) + 1;
        let max_time_wait = u32::from(byte(u) % 9);
        let f = byte(u);
        ListenerHeader {
            policy,
            backlog,
            max_syn_backlog,
            max_time_wait,
            abort_on_overflow: f & 1 == 1,
            syn_cookies: match (f >> 1) % 3 {
                0 => SynCookies::Off,
                1 => SynCookies::WhenFull,
                _ => SynCookies::Always,
            },
        }
    }

    /// Writes a header.
    pub fn write(&self, w: &mut Writer) {
        PolicyChoice::write(self.policy.profile, self.policy.knobs, w);
        let cookies = match self.syn_cookies {
            SynCookies::Off => 0,
            SynCookies::WhenFull => 1,
            SynCookies::Always => 2,
        };
        w.byte(self.backlog as u8)
            .byte((self.max_syn_backlog - 1) as u8)
            .byte(self.max_time_wait as u8)
            .byte(u8::from(self.abort_on_overflow) | cookies << 1);
    }

    /// A header for seeds.
    #[must_use]
    pub fn new(profile: Profile, knobs: u8, backlog: u32, max_syn_backlog: u32) -> Self {
        ListenerHeader {
            policy: PolicyChoice {
                profile,
                knobs,
                policy: crate::policies::apply(crate::policies::base(profile), knobs),
            },
            backlog,
            max_syn_backlog,
            max_time_wait: 4,
            abort_on_overflow: false,
            syn_cookies: SynCookies::WhenFull,
        }
    }

    /// The endpoint's policy.
    #[must_use]
    pub fn endpoint_policy(&self) -> Policy {
        Policy {
            max_syn_backlog: self.max_syn_backlog,
            max_time_wait: self.max_time_wait,
            abort_on_overflow: self.abort_on_overflow,
            syn_cookies: self.syn_cookies,
            ..self.policy.policy
        }
    }
}

/// A whole `listener` input, decoded.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ListenerInput {
    /// The header.
    pub header: ListenerHeader,
    /// The operations.
    pub ops: Vec<ListenerOp>,
}

impl<'a> Arbitrary<'a> for ListenerInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let header = ListenerHeader::read(u);
        let mut ops = Vec::new();
        while !u.is_empty() {
            ops.push(ListenerOp::arbitrary(u)?);
        }
        Ok(ListenerInput { header, ops })
    }
}

impl Encode for ListenerInput {
    fn encode(&self, w: &mut Writer) {
        self.header.write(w);
        for op in &self.ops {
            op.encode(w);
        }
    }
}

/// What one client knows.
#[derive(Clone, Copy, Debug, Default)]
struct Client {
    /// The ISN of its last SYN.
    isn: Option<SeqNum>,
    /// Its next sequence number.
    snd_nxt: SeqNum,
    /// The ISS of the last SYN,ACK the endpoint sent it.
    server_iss: Option<SeqNum>,
    /// The acknowledgment number of that SYN,ACK (the client ISN it answered, plus one).
    synack_ack: SeqNum,
    /// It has sent something (it is in `Sim::active`).
    active: bool,
}

struct Sim<'o, O: Observer> {
    ep: Endpoint,
    policy: Policy,
    backlog: u32,
    now: Instant,
    clients: Vec<Client>,
    /// The clients that have sent anything, in order: the only 4-tuples the endpoint can hold
    /// (the bounds check walks these, not all 256).
    active: Vec<u8>,
    accepted: Vec<ConnId>,
    obs: &'o mut O,
    scratch: &'o mut Vec<u8>,
    steps: u32,
}

/// The time every run starts at.
pub const T0: Instant = Instant::from_millis(1_000);

/// Most answers polled after one step before `poll_transmit` counts as not running dry.
const MAX_OUT_PER_STEP: u32 = 100_000;

impl<O: Observer> Sim<'_, O> {
    #[track_caller]
    fn fail(&self, what: core::fmt::Arguments<'_>) -> ! {
        panic!(
            "oracle failed at step {}: {what}\n  live {}, TIME-WAIT {}",
            self.steps,
            self.ep.len(),
            self.ep.time_wait_len()
        );
    }

    fn send(&mut self, client: u8, seg: &Segment<'_>) {
        let t = tuple(client);
        let c = &mut self.clients[usize::from(client)];
        if !c.active {
            c.active = true;
            self.active.push(client);
        }
        self.obs
            .segment(self.now, client_addr(client), LISTEN_ADDR, seg);
        let had = self.synchronized(client);
        let routed = self.ep.handle_segment(self.now, t, seg);
        if O::ENABLED {
            self.obs.note(
                self.now,
                format_args!("{:?} (conn {:?})", routed.disposition, routed.conn),
            );
        }
        // A forged ACK never yields a connection: only an ACK of a SYN,ACK that went out. A
        // SYN cookie authenticates ISS - client ISN (Linux's layout, `tcp_fsm::syncookie`), so
        // an ACK whose SEQ and ACK are both moved by the same amount from a SYN,ACK the client
        // received passes too (a cookie for another ISN of the same 4-tuple and period): that
        // takes having seen a cookie, it is no blind forgery.
        let c = self.clients[usize::from(client)];
        let answers_synack = c.server_iss.is_some_and(|iss| {
            let shift = seg.seq.since(c.synack_ack);
            seg.ack == iss + 1 || seg.ack == iss + 1 + shift
        });
        let pure_ack = seg.flags.ack() && !seg.flags.syn() && !seg.flags.rst();
        if pure_ack && !answers_synack && !had && self.synchronized(client) {
            self.fail(format_args!(
                "a forged ACK {seg} from client {client} made a connection"
            ));
        }
        self.after(Some(seg));
    }

    /// Whether the client's 4-tuple has a connection past the handshake.
    fn synchronized(&self, client: u8) -> bool {
        self.ep
            .lookup(&tuple(client))
            .and_then(|id| self.ep.connection(id))
            .is_some_and(|c| c.state().is_synchronized())
    }

    /// Polls everything out and checks the invariants.
    fn after(&mut self, input: Option<&Segment<'_>>) {
        let mut n = 0u32;
        while let Some(out) = self.ep.poll_transmit(self.now) {
            n += 1;
            if n > MAX_OUT_PER_STEP {
                self.fail(format_args!("poll_transmit does not run dry"));
            }
            let len = out.transmit.payload.len as usize;
            let seg = Segment {
                payload: PATTERN.get(..len).unwrap_or(&[]),
                ..out.transmit.segment
            };
            let SocketAddr::V4(remote) = out.tuple.remote else {
                self.fail(format_args!("a segment to an IPv6 peer"));
            };
            if input.is_some_and(|i| i.flags.rst()) && seg.flags.rst() {
                self.fail(format_args!("a RST {seg} answered a RST"));
            }
            wire_round_trip(self.scratch, &seg, LISTEN_ADDR, remote);
            self.obs.segment(self.now, LISTEN_ADDR, remote, &seg);
            let i = remote.port().wrapping_sub(1024);
            if let Some(c) = self.clients.get_mut(usize::from(i))
                && seg.flags.contains(Flags::SYN | Flags::ACK)
            {
                c.server_iss = Some(seg.seq);
                c.synack_ack = seg.ack;
            }
        }
        while let Some((id, e)) = self.ep.poll_event() {
            if O::ENABLED {
                self.obs
                    .note(self.now, format_args!("event {e:?} on {id:?}"));
            }
        }
        self.check_bounds();
    }

    fn check_bounds(&self) {
        // Linux 6.x, as the core documents it: each queue counts as full once it holds more
        // than its bound, so it may hold one more than the bound (`min(backlog,
        // max_syn_backlog)` for the SYN queue).
        let syn_limit = self.backlog.min(self.policy.max_syn_backlog) as usize + 1;
        let accept_limit = self.backlog as usize + 1;
        let (mut syn_q, mut accept_q) = (0usize, 0usize);
        for &i in &self.active {
            let Some(id) = self.ep.lookup(&tuple(i)) else {
                continue;
            };
            if self.accepted.contains(&id) {
                continue;
            }
            let Some(c) = self.ep.connection(id) else {
                continue;
            };
            match c.state() {
                State::SynReceived => syn_q += 1,
                _ => accept_q += 1,
            }
        }
        let alive = self
            .accepted
            .iter()
            .filter(|&&id| self.ep.connection(id).is_some())
            .count();
        if syn_q > syn_limit {
            self.fail(format_args!("SYN queue holds {syn_q}, bound {syn_limit}"));
        }
        if accept_q > accept_limit {
            self.fail(format_args!(
                "accept queue holds {accept_q}, bound {accept_limit}"
            ));
        }
        if self.ep.len() != syn_q + accept_q + alive {
            self.fail(format_args!(
                "{} live connections, but {syn_q} half-open + {accept_q} to accept + {alive} accepted",
                self.ep.len()
            ));
        }
        if self.ep.time_wait_len() > self.policy.max_time_wait as usize {
            self.fail(format_args!(
                "{} TIME-WAIT entries, bound {}",
                self.ep.time_wait_len(),
                self.policy.max_time_wait
            ));
        }
    }

    fn apply(&mut self, op: ListenerOp) {
        self.steps += 1;
        match op {
            ListenerOp::Syn {
                client,
                isn,
                options,
            } => {
                let c = &mut self.clients[usize::from(client)];
                c.isn = Some(SeqNum(isn));
                c.snd_nxt = SeqNum(isn) + 1;
                let seg = Segment {
                    seq: SeqNum(isn),
                    flags: Flags::SYN,
                    window: 65_535,
                    options,
                    ..Segment::default()
                };
                self.send(client, &seg);
            }
            ListenerOp::Ack(client) => {
                let c = self.clients[usize::from(client)];
                let seg = Segment {
                    seq: c.snd_nxt,
                    ack: c.server_iss.map_or(SeqNum(1), |s| s + 1),
                    flags: Flags::ACK,
                    window: 65_535,
                    ..Segment::default()
                };
                self.send(client, &seg);
            }
            ListenerOp::ForgedAck { client, offset } => {
                let c = self.clients[usize::from(client)];
                let ack = match c.server_iss {
                    Some(s) => s + 1 + offset.max(1),
                    None => SeqNum(offset),
                };
                let seg = Segment {
                    seq: c.snd_nxt,
                    ack,
                    flags: Flags::ACK,
                    window: 65_535,
                    ..Segment::default()
                };
                self.send(client, &seg);
            }
            ListenerOp::Rst {
                client,
                offset,
                ack,
            } => {
                let c = self.clients[usize::from(client)];
                let seg = Segment {
                    seq: SeqNum(c.snd_nxt.0.wrapping_add(offset as i32 as u32)),
                    ack: c.server_iss.map_or(SeqNum(0), |s| s + 1),
                    flags: if ack {
                        Flags::RST | Flags::ACK
                    } else {
                        Flags::RST
                    },
                    ..Segment::default()
                };
                self.send(client, &seg);
            }
            ListenerOp::Data { client, len, fin } => {
                let c = self.clients[usize::from(client)];
                let mut flags = Flags::ACK | Flags::PSH;
                if fin {
                    flags = flags | Flags::FIN;
                }
                let seg = Segment {
                    seq: c.snd_nxt,
                    ack: c.server_iss.map_or(SeqNum(1), |s| s + 1),
                    flags,
                    window: 65_535,
                    payload: &PATTERN[..usize::from(len)],
                    ..Segment::default()
                };
                self.clients[usize::from(client)].snd_nxt = c.snd_nxt + seg.len();
                self.send(client, &seg);
            }
            ListenerOp::Raw {
                client,
                flags,
                seq,
                ack,
            } => {
                let seg = Segment {
                    seq: SeqNum(seq),
                    ack: SeqNum(ack),
                    flags,
                    window: 65_535,
                    ..Segment::default()
                };
                self.send(client, &seg);
            }
            ListenerOp::Accept => {
                if let Some(id) = self.ep.accept(SocketAddr::V4(LISTEN_ADDR)) {
                    let c = self
                        .ep
                        .connection(id)
                        .expect("accept returns a live connection");
                    let state = c.state();
                    let ok = match state {
                        State::Listen | State::SynSent | State::SynReceived => false,
                        State::Closed => c.error().is_some(),
                        _ => true,
                    };
                    if O::ENABLED {
                        self.obs
                            .note(self.now, format_args!("accept -> {id:?} in {state}"));
                    }
                    if !ok {
                        self.fail(format_args!("accept returned a connection in {state}"));
                    }
                    self.accepted.push(id);
                }
                self.after(None);
            }
            ListenerOp::App { index, call } => {
                if !self.accepted.is_empty() {
                    let id = self.accepted[usize::from(index) % self.accepted.len()];
                    let r = match call {
                        AppCall::Close => self.ep.close(self.now, id),
                        AppCall::Abort => self.ep.abort(id),
                        AppCall::Release => self.ep.release(self.now, id),
                        AppCall::Send(n) => self.ep.send(id, usize::from(n)).map(|_| ()),
                        AppCall::RecvAll => {
                            let unread = self.ep.connection(id).map_or(0, |c| c.unread());
                            self.ep.recv(id, unread as usize)
                        }
                    };
                    if O::ENABLED {
                        self.obs
                            .note(self.now, format_args!("{call:?} on {id:?} -> {r:?}"));
                    }
                    // The caller's send buffer is not modelled: drop what is acknowledged.
                    let _ = self.ep.take_acked(id);
                }
                self.after(None);
            }
            ListenerOp::Advance(d) => {
                self.now = self.now + d;
                self.ep.handle_timeout(self.now);
                self.after(None);
            }
            ListenerOp::FireTimer => {
                if let Some(t) = self.ep.poll_timeout() {
                    self.now = self.now.max(t);
                    self.ep.handle_timeout(self.now);
                }
                self.after(None);
            }
            ListenerOp::Relisten => {
                let local = SocketAddr::V4(LISTEN_ADDR);
                let _ = self.ep.unlisten(local);
                let _ = self.ep.listen(local, self.backlog);
                if O::ENABLED {
                    self.obs
                        .note(self.now, format_args!("unlisten, listen again"));
                }
                self.after(None);
            }
        }
    }
}

/// The whole target.
pub fn run<O: Observer>(data: &[u8], obs: &mut O, scratch: &mut Vec<u8>) {
    let mut u = Unstructured::new(data);
    let header = ListenerHeader::read(&mut u);
    let policy = header.endpoint_policy();
    let mut ep = Endpoint::new(policy, [1, 2, 3, 4]);
    if ep
        .listen(SocketAddr::V4(LISTEN_ADDR), header.backlog)
        .is_err()
    {
        panic!("oracle failed: the first listen() was refused");
    }
    if O::ENABLED {
        obs.note(T0, format_args!("{header:?}"));
    }
    let mut sim = Sim {
        ep,
        policy,
        backlog: header.backlog.min(policy.somaxconn),
        now: T0,
        clients: vec![Client::default(); 256],
        active: Vec::new(),
        accepted: Vec::new(),
        obs,
        scratch,
        steps: 0,
    };
    while !u.is_empty() {
        let Ok(op) = ListenerOp::arbitrary(&mut u) else {
            break;
        };
        sim.apply(op);
    }
}
