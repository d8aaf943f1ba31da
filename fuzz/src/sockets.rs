//! The `sockets` target: two [`Stack`]s, a client host (10.0.0.1) and a server host
//! (10.0.0.2), on a network whose every decision comes from the input (deliver any segment in
//! flight, drop, duplicate, fire a timer, let time pass), and the applications' socket calls on
//! both hosts: `socket`, `bind`, `listen`, `accept`, `connect`, `send` of any size, `recv`,
//! `shutdown`, `close`, `dup`, `setsockopt`, `getsockopt(SO_ERROR)`, `poll` and `tcp_state`, on
//! any descriptor number, stale and never allocated ones included.
//!
//! The harness keeps its own model of each host's descriptors and sockets (what the calls
//! returned), and checks every result against the documented semantics (`socket.rs`'s docs,
//! `crates/fsm/tests/sockets.rs`):
//!
//! - a call on a descriptor that is not open gives `EBADF`, and one on an open descriptor never
//!   does; new descriptors are the lowest free number;
//! - `send`, `recv` and `shutdown` on a socket that never connected give `ENOTCONN`; `bind`,
//!   `listen`, `accept` and `connect` in the wrong role give `EINVAL`;
//! - after `shutdown(Write)`, or once a connection error was reported, `send` gives `EPIPE`
//!   (or, first, the pending error); a connection error is reported at most once;
//! - `connect`: `EINPROGRESS` first, `EALREADY` while the handshake runs, `Ok` exactly once
//!   after establishment, then `EISCONN`;
//! - `close` of one of several descriptors returns `Done` and sends no FIN or RST; the last
//!   close with unread data or `SO_LINGER {on, 0}` sends a RST with ACK = RCV.NXT, never a FIN,
//!   and leaves no TIME-WAIT; `Lingering` only with `SO_LINGER {on, t > 0}`;
//! - every octet `recv` returns is the peer application's octet at that stream offset, no more
//!   than it wrote ([`properties::stream_delivery`]);
//! - every segment survives `wire` emit/parse, and none answering a RST is a RST
//!   ([`properties::no_rst_for_rst`]);
//! - `tcp_state` is LISTEN for a listener, CLOSED for a fresh or bound socket, and the
//!   endpoint's connection state for a connected one.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use arbitrary::{Arbitrary, Unstructured};
use tcp_fsm::socket::{
    Closed, Errno, Fd, LingerExpiry, Shutdown, SockOpt, SockOptName, SocketEvent, Stack,
};
use tcp_fsm::{Duration, FourTuple, Instant, Policy, Segment, State};
use tcp_model::properties::{self, Ledger, Violation};

use crate::input::{Encode, Writer, byte, u16le};
use crate::network::{self, InFlight, Network};
use crate::observe::Observer;
use crate::policies::{PolicyChoice, Profile};
use crate::segments::wire_round_trip;

/// The client host's address.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The server host's address.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Ports the input chooses from (for `bind` on its own host, `connect` to the other).
pub const PORTS: [u16; 4] = [80, 81, 40_000, 40_001];
/// Descriptor numbers the input names: more than the harness ever opens, so some are never
/// allocated.
pub const FD_SPACE: u32 = 24;
/// Open descriptors per host at most (calls that would open more are skipped).
const MAX_OPEN: usize = 16;
/// Connections the harness keeps a ledger for; `connect` calls beyond are skipped.
const MAX_CONNS: usize = 64;
/// Segments the network holds at most; more are lost.
/// The time every run starts at.
pub const T0: Instant = Instant::from_millis(1_000);

/// Which host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Host {
    /// 10.0.0.1.
    Client,
    /// 10.0.0.2.
    Server,
}

impl Host {
    fn ip(self) -> Ipv4Addr {
        match self {
            Host::Client => CLIENT_IP,
            Host::Server => SERVER_IP,
        }
    }

    fn other(self) -> Host {
        match self {
            Host::Client => Host::Server,
            Host::Server => Host::Client,
        }
    }

    fn bit(self) -> u8 {
        u8::from(self == Host::Server)
    }
}

/// A socket option to set, as the input names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Opt {
    /// `SO_LINGER` off.
    LingerOff,
    /// `SO_LINGER {on, 0}`.
    LingerZero,
    /// `SO_LINGER {on, t}` with `t` in units of 100 ms (0 counts as 1).
    Linger(u8),
    /// The linger expiry knob: reset (true) or orphan.
    LingerReset(bool),
    /// `SO_KEEPALIVE`.
    KeepAlive(bool),
    /// `TCP_KEEPIDLE` in seconds.
    KeepIdle(u8),
    /// `TCP_KEEPCNT` (0 is invalid).
    KeepCount(u8),
    /// `TCP_KEEPINTVL` in 100 ms units.
    KeepInterval(u8),
    /// `SO_REUSEADDR`.
    ReuseAddr(bool),
    /// `TCP_USER_TIMEOUT` in seconds (0 is off).
    UserTimeout(u8),
}

impl Opt {
    fn read(u: &mut Unstructured<'_>) -> Opt {
        let k = byte(u);
        let v = byte(u);
        match k % 10 {
            0 => Opt::LingerOff,
            1 => Opt::LingerZero,
            2 => Opt::Linger(v),
            3 => Opt::LingerReset(v & 1 == 1),
            4 => Opt::KeepAlive(v & 1 == 1),
            5 => Opt::KeepIdle(v),
            6 => Opt::KeepCount(v),
            7 => Opt::ReuseAddr(v & 1 == 1),
            8 => Opt::UserTimeout(v),
            _ => Opt::KeepInterval(v),
        }
    }

    fn write(self, w: &mut Writer) {
        let (k, v) = match self {
            Opt::LingerOff => (0, 0),
            Opt::LingerZero => (1, 0),
            Opt::Linger(t) => (2, t),
            Opt::LingerReset(b) => (3, u8::from(b)),
            Opt::KeepAlive(b) => (4, u8::from(b)),
            Opt::KeepIdle(s) => (5, s),
            Opt::KeepCount(n) => (6, n),
            Opt::ReuseAddr(b) => (7, u8::from(b)),
            Opt::UserTimeout(s) => (8, s),
            Opt::KeepInterval(t) => (9, t),
        };
        w.byte(k).byte(v);
    }

    fn sockopt(self) -> SockOpt {
        match self {
            Opt::LingerOff => SockOpt::Linger(None),
            Opt::LingerZero => SockOpt::Linger(Some(Duration::ZERO)),
            Opt::Linger(t) => {
                SockOpt::Linger(Some(Duration::from_millis(u64::from(t.max(1)) * 100)))
            }
            Opt::LingerReset(b) => SockOpt::LingerExpiry(if b {
                LingerExpiry::Reset
            } else {
                LingerExpiry::Orphan
            }),
            Opt::KeepAlive(b) => SockOpt::KeepAlive(b),
            Opt::KeepIdle(s) => SockOpt::KeepIdle(Duration::from_secs(u64::from(s))),
            Opt::KeepCount(n) => SockOpt::KeepCount(n),
            Opt::KeepInterval(t) => {
                SockOpt::KeepInterval(Duration::from_millis(u64::from(t) * 100))
            }
            Opt::ReuseAddr(b) => SockOpt::ReuseAddr(b),
            Opt::UserTimeout(0) => SockOpt::UserTimeout(None),
            Opt::UserTimeout(s) => SockOpt::UserTimeout(Some(Duration::from_secs(u64::from(s)))),
        }
    }
}

/// An application call on one host. Descriptor numbers are taken modulo [`FD_SPACE`] and port
/// indices modulo the length of [`PORTS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Call {
    /// `socket()`.
    Socket,
    /// `bind(fd, own host : PORTS[port])`.
    Bind(u8, u8),
    /// `listen(fd, backlog)`.
    Listen(u8, u8),
    /// `accept(fd)`.
    Accept(u8),
    /// `connect(fd, other host : PORTS[port])`.
    Connect(u8, u8),
    /// `send(fd, n octets)`.
    Send(u8, u16),
    /// `recv(fd, buffer of n octets)` (0 means 65,536).
    Recv(u8, u16),
    /// `shutdown(fd, how)`: 0 Read, 1 Write, 2 Both.
    Shutdown(u8, u8),
    /// `close(fd)`.
    Close(u8),
    /// `dup(fd)`.
    Dup(u8),
    /// `setsockopt(fd, opt)`.
    SetOpt(u8, Opt),
    /// `getsockopt(fd, SO_ERROR)`.
    GetError(u8),
    /// `poll(fd)`.
    Poll(u8),
    /// `tcp_state(fd)`.
    TcpState(u8),
}

/// One step: the network's or an application's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    /// Deliver the segment at this index (modulo the number in flight).
    Deliver(u8),
    /// Deliver every segment in flight now, oldest first.
    DeliverAll,
    /// Lose the segment at this index.
    Drop(u8),
    /// Copy the segment at this index.
    Duplicate(u8),
    /// Jump to a host's next deadline and run its timers.
    Fire(Host),
    /// Let this many 10 ms pass and run both hosts' timers.
    Advance(u16),
    /// An application call.
    Call(Host, Call),
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Op> {
        let host = |b: u8| {
            if b & 1 == 0 {
                Host::Client
            } else {
                Host::Server
            }
        };
        Ok(match byte(u) % 16 {
            0..=2 => Op::Deliver(byte(u)),
            3 => Op::DeliverAll,
            4 => Op::Drop(byte(u)),
            5 => Op::Duplicate(byte(u)),
            6 => Op::Fire(host(byte(u))),
            7 => Op::Advance(u16le(u)),
            _ => {
                let c = byte(u);
                let call = match (c >> 1) % 16 {
                    0 => Call::Socket,
                    1 => Call::Bind(byte(u), byte(u)),
                    2 => Call::Listen(byte(u), byte(u)),
                    3 => Call::Accept(byte(u)),
                    4 => Call::Connect(byte(u), byte(u)),
                    5 | 6 => Call::Send(byte(u), u16le(u)),
                    7 | 8 => Call::Recv(byte(u), u16le(u)),
                    9 => Call::Shutdown(byte(u), byte(u)),
                    10 => Call::Close(byte(u)),
                    11 => Call::Dup(byte(u)),
                    12 => {
                        let fd = byte(u);
                        Call::SetOpt(fd, Opt::read(u))
                    }
                    13 => Call::GetError(byte(u)),
                    14 => Call::Poll(byte(u)),
                    _ => Call::TcpState(byte(u)),
                };
                Op::Call(host(c), call)
            }
        })
    }
}

impl Encode for Op {
    fn encode(&self, w: &mut Writer) {
        match *self {
            Op::Deliver(i) => {
                w.byte(0).byte(i);
            }
            Op::DeliverAll => {
                w.byte(3);
            }
            Op::Drop(i) => {
                w.byte(4).byte(i);
            }
            Op::Duplicate(i) => {
                w.byte(5).byte(i);
            }
            Op::Fire(h) => {
                w.byte(6).byte(h.bit());
            }
            Op::Advance(n) => {
                w.byte(7).u16le(n);
            }
            Op::Call(h, call) => {
                w.byte(8);
                let c = |k: u8| h.bit() | k << 1;
                match call {
                    Call::Socket => w.byte(c(0)),
                    Call::Bind(fd, p) => w.byte(c(1)).byte(fd).byte(p),
                    Call::Listen(fd, b) => w.byte(c(2)).byte(fd).byte(b),
                    Call::Accept(fd) => w.byte(c(3)).byte(fd),
                    Call::Connect(fd, p) => w.byte(c(4)).byte(fd).byte(p),
                    Call::Send(fd, n) => w.byte(c(5)).byte(fd).u16le(n),
                    Call::Recv(fd, n) => w.byte(c(7)).byte(fd).u16le(n),
                    Call::Shutdown(fd, how) => w.byte(c(9)).byte(fd).byte(how),
                    Call::Close(fd) => w.byte(c(10)).byte(fd),
                    Call::Dup(fd) => w.byte(c(11)).byte(fd),
                    Call::SetOpt(fd, opt) => {
                        w.byte(c(12)).byte(fd);
                        opt.write(w);
                        w
                    }
                    Call::GetError(fd) => w.byte(c(13)).byte(fd),
                    Call::Poll(fd) => w.byte(c(14)).byte(fd),
                    Call::TcpState(fd) => w.byte(c(15)).byte(fd),
                };
            }
        }
    }
}

/// A whole `sockets` input, decoded (for `replay` and the seeds).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SocketsInput {
    /// The policy of both stacks.
    pub policy: PolicyChoice,
    /// The steps.
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for SocketsInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let policy = PolicyChoice::read(u, false);
        let mut ops = Vec::new();
        while !u.is_empty() {
            ops.push(Op::arbitrary(u)?);
        }
        Ok(SocketsInput { policy, ops })
    }
}

impl Encode for SocketsInput {
    fn encode(&self, w: &mut Writer) {
        PolicyChoice::write(self.policy.profile, self.policy.knobs, w);
        for op in &self.ops {
            op.encode(w);
        }
    }
}

impl SocketsInput {
    /// An input with a profile, knobs and steps.
    #[must_use]
    pub fn new(profile: Profile, knobs: u8, ops: Vec<Op>) -> SocketsInput {
        SocketsInput {
            policy: PolicyChoice {
                profile,
                knobs,
                policy: crate::policies::apply(crate::policies::base(profile), knobs),
            },
            ops,
        }
    }
}

// ----- the harness's model -------------------------------------------------------------------

/// What the harness knows of a socket's role.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Fresh,
    Bound,
    Listening,
    /// Connected (by `connect` or `accept`), with its 4-tuple and its connection's ledger.
    Connected {
        tuple: FourTuple,
        conn: usize,
    },
}

/// Where a `connect` stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Never connected by `connect` (fresh, bound, listening or accepted).
    None,
    /// `EINPROGRESS` was returned; completion not yet reported.
    InProgress,
    /// `Ok` was returned.
    Done,
    /// The connect's error was returned.
    Failed,
}

#[derive(Clone, Copy, Debug)]
struct MSock {
    refs: u32,
    role: Role,
    phase: Phase,
    linger: Option<Duration>,
    shut_wr: bool,
    /// A connection error was reported (by send, recv, connect or SO_ERROR).
    error_reported: bool,
}

/// One connection's two streams: `a` is the connecting side's, `b` the accepting side's.
#[derive(Clone, Copy, Debug)]
struct ConnRec {
    /// The connecting side's host.
    connector: Host,
    /// The 4-tuple as the connecting side sees it.
    tuple: FourTuple,
    a: Ledger,
    b: Ledger,
    /// Another connection used the same 4-tuple (or two connectors opened it simultaneously):
    /// segments of one may land in the other, so the streams are not compared.
    unchecked: bool,
}

struct Side {
    stack: Stack,
    /// Descriptor number -> index into `socks`.
    fds: [Option<usize>; FD_SPACE as usize],
    socks: Vec<MSock>,
}

impl Side {
    fn new(policy: Policy, host: Host, secret: [u64; 4]) -> Side {
        let mut stack = Stack::new(policy, secret);
        stack.add_address(IpAddr::V4(host.ip()));
        Side {
            stack,
            fds: [None; FD_SPACE as usize],
            socks: Vec::with_capacity(MAX_OPEN),
        }
    }

    fn open(&self) -> usize {
        self.fds.iter().filter(|f| f.is_some()).count()
    }

    fn lowest_free(&self) -> u32 {
        self.fds
            .iter()
            .position(Option::is_none)
            .map_or(FD_SPACE, |i| i as u32)
    }

    fn new_sock(&mut self, s: MSock) -> usize {
        if let Some(i) = self.socks.iter().position(|s| s.refs == 0) {
            self.socks[i] = s;
            i
        } else {
            self.socks.push(s);
            self.socks.len() - 1
        }
    }
}

/// A segment in flight.
#[derive(Clone, Debug)]
struct Packet {
    id: u32,
    src: SocketAddrV4,
    dst: SocketAddrV4,
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

/// What the segments sent after one step showed for a watched 4-tuple.
#[derive(Clone, Copy, Default, Debug)]
struct Watch {
    fin: bool,
    rst: bool,
    rst_ack_ok: bool,
}

struct Sim<'o, O: Observer> {
    policy: Policy,
    now: Instant,
    client: Side,
    server: Side,
    conns: Vec<ConnRec>,
    net: Network<Packet>,
    obs: &'o mut O,
    scratch: &'o mut Vec<u8>,
    steps: u32,
}

thread_local! {
    /// The application's send and receive buffers (64 KiB each), reused across runs.
    static APP_BUFS: RefCell<(Vec<u8>, Vec<u8>)> =
        RefCell::new((vec![0; 65_536], vec![0; 65_536]));
}

fn v4(a: SocketAddr) -> SocketAddrV4 {
    match a {
        SocketAddr::V4(a) => a,
        // Only IPv4 addresses are ever used.
        SocketAddr::V6(_) => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, a.port()),
    }
}

fn is_conn_error(e: Errno) -> bool {
    matches!(
        e,
        Errno::ECONNRESET | Errno::ECONNREFUSED | Errno::ETIMEDOUT
    )
}

impl<O: Observer> Sim<'_, O> {
    fn side(&mut self, h: Host) -> &mut Side {
        match h {
            Host::Client => &mut self.client,
            Host::Server => &mut self.server,
        }
    }

    #[track_caller]
    fn fail(&self, what: core::fmt::Arguments<'_>) -> ! {
        panic!("oracle failed at step {}: {what}", self.steps);
    }

    fn check(&self, r: Result<(), Violation>) {
        if let Err(v) = r {
            self.fail(format_args!("{v}"));
        }
    }

    /// Sends everything both stacks have to send; checks each segment (wire round trip, no RST
    /// for a RST `input`) and reports what was sent on `watch`.
    fn flush(
        &mut self,
        input: Option<(&Segment<'_>, Host, FourTuple)>,
        watch: Option<(Host, FourTuple)>,
    ) -> Watch {
        let mut w = Watch::default();
        let rcv_nxt = watch.and_then(|(h, t)| {
            let ep = self.side(h).stack.endpoint();
            ep.lookup(&t)
                .and_then(|id| ep.connection(id))
                .map(|c| c.status().rcv_nxt)
        });
        let limit = self.policy.send_buffer / 48 + 64;
        for h in [Host::Client, Host::Server] {
            let now = self.now;
            let mut sent = 0u32;
            loop {
                let mut payload = self.net.pool.pop().unwrap_or_default();
                payload.clear();
                let side = match h {
                    Host::Client => &mut self.client,
                    Host::Server => &mut self.server,
                };
                let Some((tuple, seg)) = side.stack.poll_transmit(now) else {
                    self.net.pool.push(payload);
                    break;
                };
                payload.extend_from_slice(seg.payload);
                let seg = Segment {
                    payload: &[],
                    ..seg
                };
                sent += 1;
                if sent > limit {
                    self.fail(format_args!("{h:?}: poll_transmit does not run dry"));
                }
                let (src, dst) = (v4(tuple.local), v4(tuple.remote));
                let full = Segment {
                    payload: &payload,
                    ..seg
                };
                // Only an answer on the input's own 4-tuple: the same call may also settle
                // another connection (an expired linger's RST, say).
                if let Some((input, to, in_tuple)) = input
                    && to == h
                    && in_tuple == tuple
                {
                    self.check(properties::no_rst_for_rst(input, &full));
                }
                if let Some((wh, wt)) = watch
                    && wh == h
                    && wt == tuple
                {
                    w.fin |= full.flags.fin();
                    if full.flags.rst() {
                        w.rst = true;
                        // ACK = RCV.NXT; a policy whose RSTs carry no ACK (RFC 9293 for
                        // ABORT: <SEQ=SND.NXT><CTL=RST>) sends none.
                        w.rst_ack_ok = if full.flags.ack() {
                            Some(full.ack) == rcv_nxt
                        } else {
                            !self.policy.rst_carries_ack
                        };
                    }
                }
                wire_round_trip(self.scratch, &full, src, dst);
                self.obs.segment(now, src, dst, &full);
                if self.net.packets.len() >= network::CAPACITY {
                    if O::ENABLED {
                        self.obs.note(now, format_args!("network full: lost"));
                    }
                    self.net.pool.push(payload);
                    continue;
                }
                let id = self.net.next_id();
                self.net.packets.push(Packet {
                    id,
                    src,
                    dst,
                    seg,
                    payload,
                });
            }
            let side = match h {
                Host::Client => &mut self.client,
                Host::Server => &mut self.server,
            };
            while let Some(SocketEvent::LingerDone(fd, outcome)) = side.stack.poll_event() {
                if O::ENABLED {
                    self.obs.note(
                        now,
                        format_args!("{h:?}: linger on fd {} done: {outcome:?}", fd.0),
                    );
                }
            }
        }
        w
    }

    fn deliver(&mut self, index: usize) {
        let p = self.net.packets.remove(index);
        let to = if *p.dst.ip() == CLIENT_IP {
            Host::Client
        } else {
            Host::Server
        };
        let seg = Segment {
            payload: &p.payload,
            ..p.seg
        };
        if O::ENABLED {
            self.obs
                .note(self.now, format_args!("deliver #{} to {to:?}: {seg}", p.id));
        }
        let tuple = FourTuple {
            local: SocketAddr::V4(p.dst),
            remote: SocketAddr::V4(p.src),
        };
        let now = self.now;
        self.side(to).stack.handle_segment(now, tuple, &seg);
        self.flush(Some((&seg, to, tuple)), None);
        self.net.pool.push(p.payload);
    }

    fn timers(&mut self, h: Host) {
        let now = self.now;
        let side = self.side(h);
        if side.stack.poll_timeout().is_some_and(|d| d <= now) {
            side.stack.handle_timeout(now);
            if O::ENABLED {
                self.obs.note(now, format_args!("{h:?}: timers fire"));
            }
            self.flush(None, None);
        }
    }

    fn apply(&mut self, op: Op) {
        self.steps += 1;
        match op {
            Op::Deliver(i) => {
                if let Some(i) = self.net.pick(i) {
                    self.deliver(i);
                }
            }
            Op::DeliverAll => {
                for _ in 0..self.net.packets.len() {
                    if self.net.packets.is_empty() {
                        break;
                    }
                    self.deliver(0);
                }
            }
            Op::Drop(i) => {
                if let Some(id) = self.net.lose(i)
                    && O::ENABLED
                {
                    self.obs.note(self.now, format_args!("lose #{id}"));
                }
            }
            Op::Duplicate(i) => {
                if let Some((id, copy)) = self.net.duplicate(i)
                    && O::ENABLED
                {
                    self.obs
                        .note(self.now, format_args!("duplicate #{id} as #{copy}"));
                }
            }
            Op::Fire(h) => {
                if let Some(d) = self.side(h).stack.poll_timeout() {
                    self.now = self.now.max(d);
                    self.timers(h);
                }
            }
            Op::Advance(n) => {
                self.now = self.now + Duration::from_millis(u64::from(n) * 10);
                self.timers(Host::Client);
                self.timers(Host::Server);
            }
            Op::Call(h, call) => {
                self.call(h, call);
                // Whatever the call made the stack send (a no-op after those that flushed).
                self.flush(None, None);
            }
        }
    }

    /// The model socket behind `fd` on `h`, if open.
    fn msock(&mut self, h: Host, fd: Fd) -> Option<usize> {
        self.side(h).fds[fd.0 as usize]
    }

    /// A call on a descriptor that is not open must fail with `EBADF`, and one on an open
    /// descriptor must not.
    fn check_badf<T: core::fmt::Debug>(&self, h: Host, fd: Fd, open: bool, r: &Result<T, Errno>) {
        let badf = matches!(r, Err(Errno::EBADF));
        if open == badf {
            self.fail(format_args!(
                "{h:?}: fd {} is {}open but the call gave {r:?}",
                fd.0,
                if open { "" } else { "not " }
            ));
        }
    }

    fn note_call<T: core::fmt::Debug>(&mut self, h: Host, call: Call, r: &T) {
        if O::ENABLED {
            self.obs
                .note(self.now, format_args!("{h:?}: {call:?} -> {r:?}"));
        }
    }

    /// The ledgers of a connected socket: (its own, the peer's), unless unchecked.
    fn ledgers(&mut self, h: Host, conn: usize) -> Option<(&mut Ledger, &mut Ledger)> {
        let rec = &mut self.conns[conn];
        if rec.unchecked {
            return None;
        }
        Some(if rec.connector == h {
            (&mut rec.a, &mut rec.b)
        } else {
            (&mut rec.b, &mut rec.a)
        })
    }

    fn record_error(&mut self, h: Host, i: usize, e: Errno) {
        if !is_conn_error(e) {
            return;
        }
        let s = &mut self.side(h).socks[i];
        if s.error_reported && s.phase != Phase::Failed {
            let s = *s;
            self.fail(format_args!(
                "{h:?}: a second connection error {e:?} ({s:?})"
            ));
        }
        s.error_reported = true;
    }

    fn call(&mut self, h: Host, call: Call) {
        let now = self.now;
        let fdn = |n: u8| Fd(u32::from(n) % FD_SPACE);
        match call {
            Call::Socket => {
                if self.side(h).open() >= MAX_OPEN {
                    return;
                }
                let want = self.side(h).lowest_free();
                let fd = self.side(h).stack.socket();
                self.note_call(h, call, &fd);
                if fd.0 != want {
                    self.fail(format_args!(
                        "{h:?}: socket() gave fd {}, lowest free is {want}",
                        fd.0
                    ));
                }
                let side = self.side(h);
                let i = side.new_sock(MSock {
                    refs: 1,
                    role: Role::Fresh,
                    phase: Phase::None,
                    linger: None,
                    shut_wr: false,
                    error_reported: false,
                });
                side.fds[fd.0 as usize] = Some(i);
            }
            Call::Dup(n) => {
                let fd = fdn(n);
                if self.side(h).open() >= MAX_OPEN {
                    return;
                }
                let want = self.side(h).lowest_free();
                let m = self.msock(h, fd);
                let r = self.side(h).stack.dup(fd);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                if let (Ok(new), Some(i)) = (r, m) {
                    if new.0 != want {
                        self.fail(format_args!(
                            "{h:?}: dup gave fd {}, lowest free is {want}",
                            new.0
                        ));
                    }
                    let side = self.side(h);
                    side.socks[i].refs += 1;
                    side.fds[new.0 as usize] = Some(i);
                    let count = side.stack.descriptor_count(new);
                    let refs = side.socks[i].refs;
                    if count != Ok(refs) {
                        self.fail(format_args!(
                            "{h:?}: descriptor_count {count:?}, {refs} open"
                        ));
                    }
                }
            }
            Call::Bind(n, p) => {
                let fd = fdn(n);
                let m = self.msock(h, fd);
                let addr = SocketAddr::V4(SocketAddrV4::new(
                    h.ip(),
                    PORTS[usize::from(p) % PORTS.len()],
                ));
                let r = self.side(h).stack.bind(fd, addr);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                let Some(i) = m else { return };
                let role = self.side(h).socks[i].role;
                let ok = match role {
                    Role::Fresh => matches!(r, Ok(()) | Err(Errno::EADDRINUSE)),
                    _ => r == Err(Errno::EINVAL),
                };
                if !ok {
                    self.fail(format_args!("{h:?}: bind on a {role:?} socket gave {r:?}"));
                }
                if r.is_ok() {
                    self.side(h).socks[i].role = Role::Bound;
                }
            }
            Call::Listen(n, backlog) => {
                let fd = fdn(n);
                let m = self.msock(h, fd);
                let r = self.side(h).stack.listen(fd, u32::from(backlog));
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                let Some(i) = m else { return };
                let role = self.side(h).socks[i].role;
                let ok = match role {
                    Role::Bound => matches!(r, Ok(()) | Err(Errno::EADDRINUSE)),
                    Role::Listening => r.is_ok(),
                    _ => r == Err(Errno::EINVAL),
                };
                if !ok {
                    self.fail(format_args!(
                        "{h:?}: listen on a {role:?} socket gave {r:?}"
                    ));
                }
                if r.is_ok() {
                    self.side(h).socks[i].role = Role::Listening;
                }
            }
            Call::Accept(n) => {
                let fd = fdn(n);
                if self.side(h).open() >= MAX_OPEN {
                    return;
                }
                let want = self.side(h).lowest_free();
                let m = self.msock(h, fd);
                let r = self.side(h).stack.accept(fd);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                let Some(i) = m else { return };
                let listener = self.side(h).socks[i];
                let ok = match listener.role {
                    Role::Listening => matches!(r, Ok(_) | Err(Errno::EAGAIN)),
                    _ => r == Err(Errno::EINVAL),
                };
                if !ok {
                    self.fail(format_args!(
                        "{h:?}: accept on a {:?} socket gave {r:?}",
                        listener.role
                    ));
                }
                let Ok((new, remote)) = r else { return };
                if new.0 != want {
                    self.fail(format_args!(
                        "{h:?}: accept gave fd {}, lowest free is {want}",
                        new.0
                    ));
                }
                let tuple = match self.side(h).stack.tuple(new) {
                    Ok(t) => t,
                    Err(e) => self.fail(format_args!("{h:?}: an accepted fd has no tuple: {e:?}")),
                };
                if tuple.remote != remote {
                    self.fail(format_args!(
                        "{h:?}: accept named {remote}, the tuple {tuple:?}"
                    ));
                }
                // The connector's record of this 4-tuple, the latest one.
                let found = self.conns.iter().rposition(|c| {
                    c.connector != h
                        && c.tuple.local == tuple.remote
                        && c.tuple.remote == tuple.local
                });
                let conn = match found {
                    Some(c) => c,
                    None => {
                        // Cannot be: every connection starts with a connect on the other host.
                        self.fail(format_args!(
                            "{h:?}: accepted {tuple:?}, which nobody connected"
                        ));
                    }
                };
                let side = self.side(h);
                let j = side.new_sock(MSock {
                    refs: 1,
                    role: Role::Connected { tuple, conn },
                    phase: Phase::None,
                    linger: listener.linger,
                    shut_wr: false,
                    error_reported: false,
                });
                side.fds[new.0 as usize] = Some(j);
            }
            Call::Connect(n, p) => {
                let fd = fdn(n);
                let m = self.msock(h, fd);
                if m.is_some_and(|i| {
                    matches!(self.side(h).socks[i].role, Role::Fresh | Role::Bound)
                }) && self.conns.len() >= MAX_CONNS
                {
                    return;
                }
                let remote = SocketAddr::V4(SocketAddrV4::new(
                    h.other().ip(),
                    PORTS[usize::from(p) % PORTS.len()],
                ));
                let state_before = self.side(h).stack.tcp_state(fd);
                let r = self.side(h).stack.connect(now, fd, remote);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                let Some(i) = m else { return };
                let s = self.side(h).socks[i];
                let ok = match (s.role, s.phase) {
                    (Role::Fresh | Role::Bound, _) => {
                        matches!(r, Err(Errno::EINPROGRESS | Errno::EADDRINUSE))
                    }
                    (Role::Listening, _) => r == Err(Errno::EINVAL),
                    (Role::Connected { .. }, Phase::InProgress) => match state_before {
                        Ok(State::SynSent | State::SynReceived) => r == Err(Errno::EALREADY),
                        Ok(State::Closed) => matches!(r, Err(e) if is_conn_error(e)),
                        _ => r.is_ok(),
                    },
                    (Role::Connected { .. }, Phase::Done | Phase::None) => r == Err(Errno::EISCONN),
                    (Role::Connected { .. }, Phase::Failed) => r.is_err(),
                };
                if !ok {
                    self.fail(format_args!(
                        "{h:?}: connect on {s:?} in {state_before:?} gave {r:?}"
                    ));
                }
                match (s.role, r) {
                    (Role::Fresh | Role::Bound, Err(Errno::EINPROGRESS)) => {
                        let tuple = match self.side(h).stack.tuple(fd) {
                            Ok(t) => t,
                            Err(e) => {
                                self.fail(format_args!("{h:?}: connecting fd has no tuple: {e:?}"))
                            }
                        };
                        let reused = self.conns.iter().any(|c| {
                            c.tuple == tuple
                                || (c.tuple.local == tuple.remote && c.tuple.remote == tuple.local)
                        });
                        if reused {
                            for c in &mut self.conns {
                                if c.tuple == tuple
                                    || (c.tuple.local == tuple.remote
                                        && c.tuple.remote == tuple.local)
                                {
                                    c.unchecked = true;
                                }
                            }
                        }
                        let k = self.conns.len() as u64;
                        self.conns.push(ConnRec {
                            connector: h,
                            tuple,
                            a: Ledger {
                                seed: k.wrapping_mul(0x1000_0000_01B3) ^ 0xA,
                                ..Ledger::default()
                            },
                            b: Ledger {
                                seed: k.wrapping_mul(0x1000_0000_01B3) ^ 0xB,
                                ..Ledger::default()
                            },
                            unchecked: reused,
                        });
                        let conn = self.conns.len() - 1;
                        let s = &mut self.side(h).socks[i];
                        s.role = Role::Connected { tuple, conn };
                        s.phase = Phase::InProgress;
                    }
                    (Role::Connected { .. }, Ok(())) => self.side(h).socks[i].phase = Phase::Done,
                    (Role::Connected { .. }, Err(e)) if is_conn_error(e) => {
                        // A failed connect whose error SO_ERROR already took still fails (Linux
                        // says ECONNABORTED, this stack ECONNREFUSED): not a second report.
                        if !s.error_reported {
                            self.record_error(h, i, e);
                        }
                        self.side(h).socks[i].phase = Phase::Failed;
                    }
                    _ => {}
                }
            }
            Call::Send(n, len) => self.send(h, call, fdn(n), usize::from(len)),
            Call::Recv(n, len) => {
                let len = if len == 0 { 65_536 } else { usize::from(len) };
                self.recv(h, call, fdn(n), len);
            }
            Call::Shutdown(n, how) => {
                let fd = fdn(n);
                let how = match how % 3 {
                    0 => Shutdown::Read,
                    1 => Shutdown::Write,
                    _ => Shutdown::Both,
                };
                let m = self.msock(h, fd);
                let r = self.side(h).stack.shutdown(now, fd, how);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                if let Some(i) = m {
                    let s = self.side(h).socks[i];
                    let ok = match s.role {
                        Role::Connected { .. } => r.is_ok() || r == Err(Errno::ENOTCONN),
                        _ => r == Err(Errno::ENOTCONN),
                    };
                    if !ok {
                        self.fail(format_args!("{h:?}: shutdown on {s:?} gave {r:?}"));
                    }
                    if r.is_ok() && how != Shutdown::Read {
                        self.side(h).socks[i].shut_wr = true;
                    }
                }
                self.flush(None, None);
            }
            Call::Close(n) => self.close(h, call, fdn(n)),
            Call::SetOpt(n, opt) => {
                let fd = fdn(n);
                let m = self.msock(h, fd);
                let r = self.side(h).stack.setsockopt(now, fd, opt.sockopt());
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                if let Some(i) = m {
                    let want = if opt == Opt::KeepCount(0) {
                        Err(Errno::EINVAL)
                    } else {
                        Ok(())
                    };
                    if r != want {
                        self.fail(format_args!("{h:?}: setsockopt gave {r:?}, not {want:?}"));
                    }
                    if let SockOpt::Linger(l) = opt.sockopt() {
                        self.side(h).socks[i].linger = l;
                    }
                    let got = self.side(h).stack.getsockopt(fd, SockOptName::Linger);
                    let l = self.side(h).socks[i].linger;
                    if got != Ok(SockOpt::Linger(l)) {
                        self.fail(format_args!("{h:?}: SO_LINGER reads {got:?}, set {l:?}"));
                    }
                    // What was set reads back (a refused TCP_KEEPCNT of 0 changes nothing).
                    let set = opt.sockopt();
                    let name = match set {
                        SockOpt::Linger(_) => SockOptName::Linger,
                        SockOpt::LingerExpiry(_) => SockOptName::LingerExpiry,
                        SockOpt::KeepAlive(_) => SockOptName::KeepAlive,
                        SockOpt::KeepIdle(_) => SockOptName::KeepIdle,
                        SockOpt::KeepInterval(_) => SockOptName::KeepInterval,
                        SockOpt::KeepCount(_) => SockOptName::KeepCount,
                        SockOpt::ReuseAddr(_) => SockOptName::ReuseAddr,
                        SockOpt::UserTimeout(_) => SockOptName::UserTimeout,
                        _ => SockOptName::Error,
                    };
                    let got = self.side(h).stack.getsockopt(fd, name);
                    if r.is_ok() && name != SockOptName::Error && got != Ok(set) {
                        self.fail(format_args!("{h:?}: set {set:?}, reads back {got:?}"));
                    }
                    if r.is_err() && matches!(got, Ok(SockOpt::KeepCount(0)) | Err(_)) {
                        self.fail(format_args!("{h:?}: refused {set:?}, reads {got:?}"));
                    }
                }
                self.flush(None, None);
            }
            Call::GetError(n) => {
                let fd = fdn(n);
                let m = self.msock(h, fd);
                let r = self.side(h).stack.getsockopt(fd, SockOptName::Error);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                if let (Some(i), Ok(SockOpt::Error(Some(e)))) = (m, r) {
                    if !is_conn_error(e) {
                        self.fail(format_args!("{h:?}: SO_ERROR holds {e:?}"));
                    }
                    self.record_error(h, i, e);
                }
            }
            Call::Poll(n) => {
                let fd = fdn(n);
                let m = self.msock(h, fd);
                let r = self.side(h).stack.poll(fd);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                if let (Some(i), Ok(ready)) = (m, r) {
                    let s = self.side(h).socks[i];
                    if matches!(s.role, Role::Fresh | Role::Bound) && !ready.hangup {
                        self.fail(format_args!(
                            "{h:?}: poll of an unconnected socket: {ready:?}"
                        ));
                    }
                    if s.shut_wr && ready.writable {
                        self.fail(format_args!("{h:?}: writable after shutdown(Write)"));
                    }
                }
            }
            Call::TcpState(n) => {
                let fd = fdn(n);
                let m = self.msock(h, fd);
                let r = self.side(h).stack.tcp_state(fd);
                self.note_call(h, call, &r);
                self.check_badf(h, fd, m.is_some(), &r);
                if let Some(i) = m {
                    let unchecked = match self.side(h).socks[i].role {
                        Role::Connected { conn, .. } => self.conns[conn].unchecked,
                        _ => false,
                    };
                    if !unchecked {
                        self.check_tcp_state(h, fd, i);
                    }
                }
            }
        }
    }

    /// `tcp_state` agrees with the harness's role and with the endpoint's connection.
    fn check_tcp_state(&mut self, h: Host, fd: Fd, i: usize) {
        let side = self.side(h);
        let got = side.stack.tcp_state(fd);
        let want = match side.socks[i].role {
            Role::Fresh | Role::Bound => State::Closed,
            Role::Listening => State::Listen,
            Role::Connected { tuple, .. } => {
                let ep = side.stack.endpoint();
                ep.lookup(&tuple)
                    .and_then(|id| ep.connection(id))
                    .map_or(State::Closed, |c| c.state())
            }
        };
        if got != Ok(want) {
            let role = side.socks[i].role;
            self.fail(format_args!(
                "{h:?}: tcp_state {got:?} of {role:?}, endpoint says {want}"
            ));
        }
    }

    fn send(&mut self, h: Host, call: Call, fd: Fd, len: usize) {
        let m = self.msock(h, fd);
        let cap = len.min(self.policy.send_buffer as usize).min(65_536);
        let before = m.map(|i| self.side(h).socks[i]);
        // The octets at the stream's next offsets (of this socket's connection, if checked).
        let (seed, offset, room) = match before.map(|s| s.role) {
            Some(Role::Connected { conn, tuple }) => {
                let rec = &self.conns[conn];
                let l = if rec.connector == h { rec.a } else { rec.b };
                // Room in the send buffer: only that much can be taken, so only that much of
                // the stream is written out (the rest of the buffer holds stale octets, which
                // the stream oracle would catch if they were ever sent).
                let ep = self.side(h).stack.endpoint();
                let room = ep.lookup(&tuple).map_or(0, |id| {
                    let total = ep.connection_policy(id).map_or(0, |p| p.send_buffer);
                    let used = ep.connection(id).map_or(0, |c| c.send_buffered());
                    (total as usize).saturating_sub(used as usize)
                });
                (l.seed, l.written, room)
            }
            _ => (0, 0, 0),
        };
        let r = APP_BUFS.with(|b| {
            let buf = &mut b.borrow_mut().0;
            for (k, o) in buf[..cap.min(room)].iter_mut().enumerate() {
                *o = properties::stream_octet(seed, offset + k as u64);
            }
            // `len` beyond `cap` cannot fit: ask for `cap` only (the buffer is 64 KiB).
            self.side(h).stack.send(fd, &buf[..cap])
        });
        self.note_call(h, call, &r);
        self.check_badf(h, fd, m.is_some(), &r);
        let (Some(i), Some(s)) = (m, before) else {
            self.flush(None, None);
            return;
        };
        let ok = match s.role {
            Role::Connected { .. } if s.shut_wr || s.error_reported => {
                matches!(r, Err(e) if e == Errno::EPIPE || (is_conn_error(e) && !s.error_reported))
            }
            Role::Connected { .. } => match r {
                Ok(k) => k <= cap && (k > 0 || cap == 0),
                Err(e) => matches!(e, Errno::EAGAIN | Errno::EPIPE) || is_conn_error(e),
            },
            _ => r == Err(Errno::ENOTCONN),
        };
        if !ok {
            self.fail(format_args!("{h:?}: send of {cap} on {s:?} gave {r:?}"));
        }
        match r {
            Ok(k) => {
                if let Role::Connected { conn, .. } = s.role {
                    let rec = &mut self.conns[conn];
                    let l = if rec.connector == h {
                        &mut rec.a
                    } else {
                        &mut rec.b
                    };
                    l.written += k as u64;
                }
            }
            Err(e) => self.record_error(h, i, e),
        }
        self.flush(None, None);
    }

    fn recv(&mut self, h: Host, call: Call, fd: Fd, len: usize) {
        let m = self.msock(h, fd);
        let r = APP_BUFS.with(|b| {
            let buf = &mut b.borrow_mut().1;
            let r = self.side(h).stack.recv(fd, &mut buf[..len]);
            self.note_call(h, call, &r);
            self.check_badf(h, fd, m.is_some(), &r);
            let Some(i) = m else { return r };
            let s = self.side(h).socks[i];
            match s.role {
                Role::Connected { conn, .. } => {
                    if let Err(e) = r
                        && !(e == Errno::EAGAIN || (is_conn_error(e) && !s.error_reported))
                    {
                        self.fail(format_args!("{h:?}: recv on {s:?} gave {e:?}"));
                    }
                    if let Ok(k) = r {
                        if k > len {
                            self.fail(format_args!("{h:?}: recv of {len} returned {k}"));
                        }
                        if let Some((mine, peer)) = self.ledgers(h, conn) {
                            let res = properties::stream_delivery(mine, peer, &buf[..k]);
                            self.check(res);
                        }
                    }
                }
                _ => {
                    if r != Err(Errno::ENOTCONN) {
                        self.fail(format_args!("{h:?}: recv on {s:?} gave {r:?}"));
                    }
                }
            }
            r
        });
        if let (Some(i), Err(e)) = (m, r) {
            self.record_error(h, i, e);
        }
        self.flush(None, None);
    }

    fn close(&mut self, h: Host, call: Call, fd: Fd) {
        let now = self.now;
        let m = self.msock(h, fd);
        // What the endpoint holds for the socket's connection before the close.
        let before = m.map(|i| self.side(h).socks[i]);
        let conn_before = match before.map(|s| s.role) {
            // A 4-tuple used by another incarnation too names an ambiguous connection (the
            // endpoint's lookup finds the newest): no verdict on it.
            Some(Role::Connected { tuple, conn }) if !self.conns[conn].unchecked => {
                let ep = self.side(h).stack.endpoint();
                ep.lookup(&tuple)
                    .and_then(|id| ep.connection(id))
                    .map(|c| (tuple, c.state(), c.unread()))
            }
            _ => None,
        };
        let r = self.side(h).stack.close(now, fd);
        self.note_call(h, call, &r);
        self.check_badf(h, fd, m.is_some(), &r);
        let watch = conn_before.map(|(t, ..)| (h, t));
        let w = self.flush(None, watch);
        let (Some(i), Some(s)) = (m, before) else {
            return;
        };
        let side = self.side(h);
        side.fds[fd.0 as usize] = None;
        side.socks[i].refs -= 1;
        if s.refs > 1 {
            if r != Ok(Closed::Done) || w.fin || w.rst {
                self.fail(format_args!(
                    "{h:?}: close of one of {} descriptors gave {r:?} and sent {w:?}",
                    s.refs
                ));
            }
            return;
        }
        let lingers = matches!(s.linger, Some(t) if t > Duration::ZERO);
        if r == Ok(Closed::Lingering) && !lingers {
            self.fail(format_args!(
                "{h:?}: close lingered with SO_LINGER {:?}",
                s.linger
            ));
        }
        let Some((tuple, state, unread)) = conn_before else {
            return;
        };
        if unread > 0 || s.linger == Some(Duration::ZERO) {
            // Linux's tcp_close: RST (ACK = RCV.NXT), never a FIN, no TIME-WAIT.
            let rst_expected = matches!(
                state,
                State::Established | State::CloseWait | State::FinWait1 | State::FinWait2
            );
            if w.fin || (rst_expected && !(w.rst && w.rst_ack_ok)) {
                self.fail(format_args!(
                    "{h:?}: close in {state} with {unread} unread, SO_LINGER {:?}: sent {w:?}",
                    s.linger
                ));
            }
            let ep = self.side(h).stack.endpoint();
            let tw = ep.time_wait_entry(&tuple).is_some()
                || ep
                    .lookup(&tuple)
                    .and_then(|id| ep.connection(id))
                    .is_some_and(|c| c.state() == State::TimeWait);
            if tw {
                self.fail(format_args!(
                    "{h:?}: a reset close left TIME-WAIT for {tuple:?}"
                ));
            }
        }
    }
}

/// The whole target.
pub fn run<O: Observer>(data: &[u8], obs: &mut O, scratch: &mut Vec<u8>) {
    let mut u = Unstructured::new(data);
    let choice = PolicyChoice::read(&mut u, false);
    let policy = choice.policy;
    if O::ENABLED {
        obs.note(T0, format_args!("{choice:?}"));
    }
    let mut sim = Sim {
        policy,
        now: T0,
        client: Side::new(policy, Host::Client, [1, 2, 3, 4]),
        server: Side::new(policy, Host::Server, [5, 6, 7, 8]),
        conns: Vec::new(),
        net: Network::new(),
        obs,
        scratch,
        steps: 0,
    };
    while !u.is_empty() {
        let Ok(op) = Op::arbitrary(&mut u) else {
            break;
        };
        sim.apply(op);
    }
}
