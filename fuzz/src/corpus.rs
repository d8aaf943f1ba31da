//! The seed corpus: inputs for every target made from real handshakes and teardowns, written
//! with the mirror image of each target's decoder ([`Encode`]), so that each seed decodes to
//! exactly the exchange it was built from. `gen-corpus` writes them to `fuzz/corpus/<target>/`.
//!
//! - `wire`: every segment of real exchanges between two [`Connection`]s (handshake, data,
//!   FIN teardown, simultaneous close, RST on abort, SYN with every option kind), emitted by
//!   [`wire::emit`] under no, an IPv4 or an IPv6 pseudo-header.
//! - `segments`: each starting state (reached by the target's real handshake), followed by the
//!   peer's side of a data exchange and a teardown, under each policy profile.
//! - `pair`: handshakes (one-sided and simultaneous), data both ways, orderly and simultaneous
//!   close, loss and retransmission, duplicates and reordering, abort, crash and restart.
//! - `listener`: clients completing handshakes and being accepted, a SYN flood over a small
//!   backlog, cookies (good and forged), RSTs and data on half-open and accepted connections.
//! - `sockets`: socket sessions between a client and a server stack: connect/accept, data both
//!   ways, shutdown, close (graceful, with unread data, with `SO_LINGER` 0 and positive), dup,
//!   a refused connect, calls on bad descriptors, keepalive against a dead peer, SO_REUSEADDR.

use std::net::{Ipv4Addr, Ipv6Addr};

use tcp_fsm::wire::{self, PseudoHeader, Repr};
use tcp_fsm::{
    Connection, Duration, Flags, Instant, Options, Policy, Segment, SeqNum, SynCookies, Timestamps,
};

use crate::input::{Encode, PATTERN};
use crate::listener::{self, ListenerHeader, ListenerInput, ListenerOp};
use crate::pair::{self, NetOp, PairHeader, PairInput, Side};
use crate::policies::{Profile, knob};
use crate::segments::{Op, RecvSel, SegOp, SegmentsInput, SeqSel, Start};
use crate::sockets;
use crate::wire_target;

/// One seed: a file name (without directory) and its bytes.
pub type Seed = (String, Vec<u8>);

/// The targets that have a corpus, in order.
pub const TARGETS: [&str; 5] = ["wire", "segments", "pair", "listener", "sockets"];

/// The seeds of `target` (`None` for an unknown target).
#[must_use]
pub fn seeds(target: &str) -> Option<Vec<Seed>> {
    Some(match target {
        "wire" => wire_seeds(),
        "segments" => segments_seeds(),
        "pair" => pair_seeds(),
        "listener" => listener_seeds(),
        "sockets" => sockets_seeds(),
        _ => return None,
    })
}

// ----- wire ---------------------------------------------------------------------------------

/// A segment as it went over the wire, with its payload.
struct Captured {
    from_client: bool,
    seg: Segment<'static>,
    len: usize,
}

/// Drives a client and a server `Connection` through `script` (calls between rounds of
/// delivering everything in flight) and returns every segment sent, in order.
fn exchange(
    policy: &Policy,
    script: &[fn(&mut Connection, &mut Connection, &Policy, Instant)],
) -> Vec<Captured> {
    let mut now = Instant::from_millis(1_000);
    let mut client = Connection::connect(policy, now, SeqNum(0x1000_0000));
    let mut server = Connection::listen(policy, SeqNum(0xfff0_0000));
    let mut out = Vec::new();
    let mut shuttle = |c: &mut Connection, s: &mut Connection, now: Instant| {
        for _ in 0..32 {
            let mut moved = false;
            for from_client in [true, false] {
                let (src, dst) = if from_client {
                    (&mut *c, &mut *s)
                } else {
                    (&mut *s, &mut *c)
                };
                while let Some(t) = src.poll_transmit(policy, now) {
                    // The send buffer is PATTERN from offset 0 (the script sends from it).
                    let seg = t.with_payload(&PATTERN).unwrap_or(t.segment);
                    out.push(Captured {
                        from_client,
                        seg: t.segment,
                        len: seg.payload.len(),
                    });
                    let arrival = dst.handle_segment(policy, now, &seg);
                    let n = arrival.data.len();
                    let _ = dst.recv(policy, n);
                    moved = true;
                }
                let _ = src.take_acked();
                while src.poll_event().is_some() {}
            }
            if !moved {
                break;
            }
        }
    };
    shuttle(&mut client, &mut server, now);
    for step in script {
        now = now + Duration::from_millis(10);
        step(&mut client, &mut server, policy, now);
        shuttle(&mut client, &mut server, now);
    }
    out
}

fn wire_seeds() -> Vec<Seed> {
    let linux = Policy::LINUX;
    let mut seeds = Vec::new();
    let exchanges: [(&str, Vec<Captured>); 3] = [
        (
            "data-and-close",
            exchange(
                &linux,
                &[
                    |c, _, p, _| {
                        let _ = c.send(p, 300);
                    },
                    |c, _, p, now| {
                        let _ = c.close(p, now);
                    },
                    |_, s, p, now| {
                        let _ = s.close(p, now);
                    },
                ],
            ),
        ),
        (
            "simultaneous-close",
            exchange(
                &linux,
                &[|c, s, p, now| {
                    let _ = c.close(p, now);
                    let _ = s.close(p, now);
                }],
            ),
        ),
        (
            "abort",
            exchange(
                &Policy::RFC_STRICT,
                &[|c, _, p, _| {
                    let _ = c.abort(p);
                }],
            ),
        ),
    ];
    let v4 = PseudoHeader::V4 {
        src: Ipv4Addr::new(192, 0, 2, 1),
        dst: Ipv4Addr::new(198, 51, 100, 2),
    };
    let v6 = PseudoHeader::V6 {
        src: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
    };
    for (name, segs) in &exchanges {
        for (i, c) in segs.iter().enumerate() {
            let (sp, dp) = if c.from_client {
                (49_152, 80)
            } else {
                (80, 49_152)
            };
            let seg = Segment {
                payload: &PATTERN[..c.len],
                ..c.seg
            };
            let pseudo = [None, Some(v4), Some(v6)][i % 3];
            let bytes = emit(sp, dp, &seg, pseudo.as_ref());
            seeds.push((
                format!("{name}-{i:02}"),
                wire_target::encode(pseudo.as_ref(), false, &bytes),
            ));
        }
    }
    // Every option kind on a SYN, under each pseudo-header; the checksum left for the target to
    // fix (mode bit 2) so mutations of the options still reach the option parser.
    let syn = Segment {
        seq: SeqNum(7),
        flags: Flags::SYN,
        window: 64_240,
        options: Options {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps {
                value: 0x0102_0304,
                echo: 0,
            }),
        },
        ..Segment::default()
    };
    for (i, pseudo) in [None, Some(v4), Some(v6)].iter().enumerate() {
        let bytes = emit(40_000, 443, &syn, pseudo.as_ref());
        seeds.push((
            format!("syn-all-options-{i}"),
            wire_target::encode(pseudo.as_ref(), pseudo.is_some(), &bytes),
        ));
    }
    seeds
}

fn emit(src_port: u16, dst_port: u16, seg: &Segment<'_>, pseudo: Option<&PseudoHeader>) -> Vec<u8> {
    let repr = Repr {
        src_port,
        dst_port,
        segment: *seg,
    };
    let mut buf = vec![0; wire::buffer_len(&repr)];
    let n = wire::emit(&repr, pseudo, &mut buf).expect("a segment the core sent emits");
    buf.truncate(n);
    buf
}

// ----- segments -----------------------------------------------------------------------------

/// A segment from the peer at its natural numbers: SEQ = RCV.NXT, ACK = SND.NXT.
fn peer(flags: Flags, len: u16) -> Op {
    Op::Segment(SegOp {
        flags,
        seq: SeqSel::Rel(0),
        ack: SeqSel::Alt(0),
        window: 65_535,
        len,
        options: Options::NONE,
    })
}

fn segments_seeds() -> Vec<Seed> {
    let ack = Flags::ACK;
    let data_and_teardown = vec![
        peer(ack | Flags::PSH, 100),
        Op::Recv(RecvSel::All),
        Op::Send(200),
        peer(ack, 0),
        Op::Close,
        peer(ack, 0),
        peer(ack | Flags::FIN, 0),
        Op::FireTimer,
    ];
    let passive_close = vec![
        peer(ack | Flags::FIN, 0),
        Op::Send(10),
        Op::Close,
        peer(ack, 0),
        Op::FireTimer,
    ];
    let hostile = vec![
        Op::Segment(SegOp {
            flags: Flags::RST,
            seq: SeqSel::Rel(1),
            ack: SeqSel::Rel(0),
            window: 0,
            len: 0,
            options: Options::NONE,
        }),
        Op::Segment(SegOp {
            flags: Flags::SYN,
            seq: SeqSel::Raw(12_345),
            ack: SeqSel::Rel(0),
            window: 65_535,
            len: 0,
            options: Options::NONE,
        }),
        Op::Segment(SegOp {
            flags: ack,
            seq: SeqSel::Alt(10),
            ack: SeqSel::Alt(50),
            window: 1,
            len: 1460,
            options: Options::NONE,
        }),
        Op::Advance(Duration::from_secs(3)),
        Op::FireTimer,
        Op::Abort,
    ];
    let retransmit = vec![
        Op::Send(3000),
        Op::FireTimer,
        Op::FireTimer,
        peer(ack, 0),
        Op::Advance(Duration::from_secs(120)),
    ];
    let mut seeds = Vec::new();
    for (i, &start) in Start::ALL.iter().enumerate() {
        for passive in [false, true] {
            if passive
                && !matches!(
                    start,
                    Start::Established | Start::CloseWait | Start::LastAck
                )
            {
                continue;
            }
            let (profile, knobs) = [
                (Profile::Linux, 0),
                (Profile::Test, 0),
                (Profile::RfcStrict, 0),
            ][i % 3];
            let script = [&data_and_teardown, &passive_close, &hostile, &retransmit][i % 4];
            let input = SegmentsInput {
                header: crate::segments::header(profile, knobs, start, passive),
                ops: script.clone(),
            };
            let side = if passive { "passive" } else { "active" };
            seeds.push((format!("{start:?}-{side}"), input.to_bytes()));
        }
    }
    // Small buffers and window scaling: zero windows and probes.
    let input = SegmentsInput {
        header: crate::segments::header(
            Profile::Linux,
            knob::SMALL_BUFFERS | knob::KEEPALIVE,
            Start::Established,
            false,
        ),
        ops: vec![
            Op::Segment(SegOp {
                flags: ack,
                seq: SeqSel::Rel(0),
                ack: SeqSel::Alt(0),
                window: 0,
                len: 4000,
                options: Options::NONE,
            }),
            Op::Send(3000),
            Op::FireTimer,
            Op::Recv(RecvSel::UpTo(100)),
            Op::Advance(Duration::from_secs(20)),
            Op::FireTimer,
        ],
    };
    seeds.push(("zero-window-keepalive".to_owned(), input.to_bytes()));
    seeds
}

// ----- pair ---------------------------------------------------------------------------------

fn pair_seeds() -> Vec<Seed> {
    use NetOp::{App, Crash, Deliver, DeliverAll, Drop, Duplicate, Fire};
    use Side::{A, B};
    use pair::AppCall::{Abort, Close, Orphan, Recv, RecvAll, Send};
    let handshake = [DeliverAll, DeliverAll, DeliverAll];
    let teardown = [
        App(A, RecvAll),
        App(B, RecvAll),
        App(A, Close),
        DeliverAll,
        DeliverAll,
        App(B, Close),
        DeliverAll,
        DeliverAll,
        Fire(A),
    ];
    let scripts: Vec<(&str, bool, Vec<NetOp>)> = vec![
        (
            "handshake-and-close",
            false,
            [&handshake[..], &teardown].concat(),
        ),
        (
            "data-both-ways",
            false,
            [
                &handshake[..],
                &[
                    App(A, Send(1000)),
                    App(B, Send(3000)),
                    DeliverAll,
                    DeliverAll,
                    App(B, Recv(200)),
                    DeliverAll,
                ],
                &teardown,
            ]
            .concat(),
        ),
        (
            "simultaneous-open",
            true,
            [&handshake[..], &[App(A, Send(10)), DeliverAll], &teardown].concat(),
        ),
        (
            "simultaneous-close",
            false,
            [
                &handshake[..],
                &[
                    App(A, Close),
                    App(B, Close),
                    DeliverAll,
                    DeliverAll,
                    Fire(A),
                    Fire(B),
                ],
            ]
            .concat(),
        ),
        (
            "loss-and-retransmit",
            false,
            [
                &[
                    Drop(0),
                    Fire(A),
                    DeliverAll,
                    Drop(0),
                    Fire(B),
                    DeliverAll,
                    DeliverAll,
                ],
                &[App(A, Send(2000)), Drop(1), DeliverAll, Fire(A), DeliverAll][..],
                &teardown,
            ]
            .concat(),
        ),
        (
            "duplicate-and-reorder",
            false,
            [
                &handshake[..],
                &[
                    App(A, Send(1460)),
                    App(A, Send(1460)),
                    Duplicate(0),
                    Deliver(2),
                    Deliver(0),
                    Deliver(0),
                    DeliverAll,
                ],
                &teardown,
            ]
            .concat(),
        ),
        (
            "abort",
            false,
            [
                &handshake[..],
                &[App(A, Send(100)), App(A, Abort), DeliverAll, DeliverAll],
            ]
            .concat(),
        ),
        (
            "crash-and-restart",
            false,
            [
                &handshake[..],
                &[
                    App(A, Send(100)),
                    DeliverAll,
                    Crash {
                        side: B,
                        restart: true,
                    },
                    App(A, Send(100)),
                    DeliverAll,
                    DeliverAll,
                    Fire(A),
                    DeliverAll,
                ],
            ]
            .concat(),
        ),
        (
            "orphaned-close",
            false,
            [
                &handshake[..],
                &[
                    App(A, Send(500)),
                    App(A, Close),
                    App(A, Orphan),
                    DeliverAll,
                    DeliverAll,
                ],
                &teardown[1..],
            ]
            .concat(),
        ),
    ];
    let mut seeds = Vec::new();
    for (i, (name, simultaneous, ops)) in scripts.into_iter().enumerate() {
        for (profile, tag) in [(Profile::Linux, "linux"), (Profile::RfcStrict, "rfc")] {
            let header = PairHeader::new(
                profile,
                0,
                simultaneous,
                0x1000_0000 + i as u32,
                u32::MAX - 100,
            );
            let input = PairInput {
                header,
                ops: ops.clone(),
            };
            seeds.push((format!("{name}-{tag}"), input.to_bytes()));
        }
    }
    seeds
}

// ----- sockets ------------------------------------------------------------------------------

fn sockets_seeds() -> Vec<Seed> {
    use sockets::Call::{
        Accept, Bind, Close, Connect, Dup, GetError, Listen, Poll, Recv, Send, SetOpt, Shutdown,
        Socket, TcpState,
    };
    use sockets::Host::{Client as C, Server as S};
    use sockets::Op::{Advance, Call, DeliverAll, Drop, Duplicate, Fire};
    use sockets::Opt;
    // Server fd 0 listens on :80, client fd 0 connects (EINPROGRESS, EALREADY, Ok, EISCONN),
    // server fd 1 is the accepted connection.
    let establish = [
        Call(S, Socket),
        Call(S, Bind(0, 0)),
        Call(S, Listen(0, 8)),
        Call(C, Socket),
        Call(C, Connect(0, 0)),
        Call(C, Connect(0, 0)),
        DeliverAll,
        DeliverAll,
        DeliverAll,
        Call(C, Connect(0, 0)),
        Call(C, Connect(0, 0)),
        Call(S, Accept(0)),
        Call(S, Accept(0)),
        Call(C, TcpState(0)),
        Call(S, TcpState(1)),
    ];
    let exchange = [
        Call(C, Send(0, 1000)),
        DeliverAll,
        DeliverAll,
        Call(S, Recv(1, 600)),
        Call(S, Recv(1, 0)),
        Call(S, Send(1, 700)),
        DeliverAll,
        DeliverAll,
        Call(C, Recv(0, 0)),
        Call(C, Poll(0)),
    ];
    let scripts: Vec<(&str, u8, Vec<sockets::Op>)> = vec![
        (
            "orderly-close",
            0,
            [
                &exchange[..],
                &[
                    Call(C, Close(0)),
                    DeliverAll,
                    DeliverAll,
                    Call(S, Recv(1, 0)),
                    Call(S, Send(1, 10)),
                    Call(S, Close(1)),
                    DeliverAll,
                    DeliverAll,
                    Call(C, TcpState(0)),
                    Advance(6100),
                    Call(S, Close(0)),
                ],
            ]
            .concat(),
        ),
        (
            "shutdown-write-then-epipe",
            0,
            [
                &exchange[..],
                &[
                    Call(C, Shutdown(0, 1)),
                    Call(C, Send(0, 10)),
                    DeliverAll,
                    DeliverAll,
                    Call(S, Recv(1, 0)),
                    Call(S, Send(1, 300)),
                    DeliverAll,
                    Call(C, Recv(0, 0)),
                    Call(S, Shutdown(1, 2)),
                    DeliverAll,
                    DeliverAll,
                    Call(C, Poll(0)),
                    Call(C, Close(0)),
                    Call(S, Close(1)),
                    Advance(6100),
                ],
            ]
            .concat(),
        ),
        (
            "linger-zero-close",
            0,
            [
                &exchange[..],
                &[
                    Call(C, SetOpt(0, Opt::LingerZero)),
                    Call(C, Send(0, 100)),
                    Call(C, Close(0)),
                    DeliverAll,
                    Call(S, Recv(1, 0)),
                    Call(S, Recv(1, 0)),
                    Call(S, GetError(1)),
                    Call(S, Send(1, 5)),
                    Call(S, Close(1)),
                ],
            ]
            .concat(),
        ),
        (
            "unread-data-close",
            0,
            vec![
                Call(C, Send(0, 300)),
                DeliverAll,
                DeliverAll,
                Call(S, Close(1)),
                DeliverAll,
                Call(C, Send(0, 10)),
                Call(C, Send(0, 10)),
                Call(C, GetError(0)),
                Call(C, Recv(0, 0)),
                Call(C, Close(0)),
            ],
        ),
        (
            "refused-connect",
            0,
            vec![
                Call(C, Socket),
                Call(C, Send(0, 10)),
                Call(C, Connect(0, 1)),
                DeliverAll,
                DeliverAll,
                Call(C, Poll(0)),
                Call(C, Connect(0, 1)),
                Call(C, Connect(0, 1)),
                Call(C, Send(0, 10)),
                Call(C, Recv(0, 0)),
                Call(C, Close(0)),
                Call(C, Close(0)),
            ],
        ),
        (
            "dup-then-close-each",
            0,
            [
                &exchange[..],
                &[
                    Call(C, Dup(0)),
                    Call(C, Close(0)),
                    Call(C, Send(1, 50)),
                    DeliverAll,
                    DeliverAll,
                    Call(S, Recv(1, 0)),
                    Call(S, Dup(1)),
                    Call(S, Close(1)),
                    Call(C, Close(1)),
                    DeliverAll,
                    DeliverAll,
                    Call(S, Recv(2, 0)),
                    Call(S, Close(2)),
                    DeliverAll,
                ],
            ]
            .concat(),
        ),
        (
            "linger-positive",
            0,
            [
                &exchange[..],
                &[
                    Call(C, SetOpt(0, Opt::Linger(20))),
                    Call(C, SetOpt(0, Opt::LingerReset(true))),
                    Call(C, Send(0, 2000)),
                    Call(C, Close(0)),
                    Drop(0),
                    Fire(C),
                    Fire(C),
                    DeliverAll,
                    DeliverAll,
                ],
            ]
            .concat(),
        ),
        (
            "bad-descriptors",
            0,
            vec![
                Call(C, Close(0)),
                Call(C, Send(5, 1)),
                Call(C, Recv(23, 1)),
                Call(C, Socket),
                Call(C, Dup(0)),
                Call(C, Close(0)),
                Call(C, Poll(0)),
                Call(C, TcpState(1)),
                Call(C, Listen(1, 1)),
                Call(C, Accept(1)),
                Call(C, Shutdown(1, 0)),
                Call(C, Bind(1, 2)),
                Call(C, Bind(1, 3)),
                Call(C, Listen(1, 0)),
                Call(C, Connect(1, 0)),
                Call(C, Close(1)),
                Call(C, SetOpt(1, Opt::KeepCount(0))),
            ],
        ),
        (
            "bulk-small-buffers",
            knob::SMALL_BUFFERS,
            [
                &exchange[..],
                &[
                    Call(C, Send(0, 65_535)),
                    Call(C, Send(0, 65_535)),
                    DeliverAll,
                    DeliverAll,
                    Call(S, Recv(1, 100)),
                    Call(S, Recv(1, 0)),
                    DeliverAll,
                    DeliverAll,
                    Call(C, Send(0, 65_535)),
                    DeliverAll,
                    Duplicate(0),
                    DeliverAll,
                    Call(S, Recv(1, 0)),
                    DeliverAll,
                ],
            ]
            .concat(),
        ),
        (
            "keepalive-dead-peer",
            0,
            [
                &exchange[..],
                &[
                    Call(C, SetOpt(0, Opt::KeepIdle(2))),
                    Call(C, SetOpt(0, Opt::KeepAlive(true))),
                    Call(C, SetOpt(0, Opt::UserTimeout(5))),
                    Advance(300),
                    Drop(0),
                    Fire(C),
                    Drop(0),
                    Fire(C),
                    Drop(0),
                    Fire(C),
                    Drop(0),
                    Fire(C),
                    Drop(0),
                    Fire(C),
                    Drop(0),
                    Fire(C),
                    Drop(0),
                    Call(C, GetError(0)),
                    Call(C, Send(0, 1)),
                    Call(C, Poll(0)),
                ],
            ]
            .concat(),
        ),
        (
            "shutdown-read-then-data-close",
            0,
            [
                &exchange[..],
                &[
                    Call(S, Shutdown(1, 0)),
                    Call(S, Recv(1, 0)),
                    Call(C, Send(0, 40)),
                    DeliverAll,
                    DeliverAll,
                    Call(S, Close(1)),
                    DeliverAll,
                    Call(C, Recv(0, 0)),
                ],
            ]
            .concat(),
        ),
        (
            "simultaneous-close-reuseaddr",
            0,
            [
                &exchange[..],
                &[
                    Call(C, Recv(0, 0)),
                    Call(S, Recv(1, 0)),
                    Call(C, Close(0)),
                    Call(S, Close(1)),
                    DeliverAll,
                    DeliverAll,
                    Call(S, Close(0)),
                    Call(S, Socket),
                    Call(S, Bind(0, 0)),
                    Call(S, SetOpt(0, Opt::ReuseAddr(true))),
                    Call(S, Bind(0, 0)),
                    Call(S, Listen(0, 1)),
                    Call(C, Socket),
                    Call(C, Connect(0, 0)),
                    DeliverAll,
                    DeliverAll,
                    DeliverAll,
                    Call(S, Accept(0)),
                    Call(C, Connect(0, 0)),
                ],
            ]
            .concat(),
        ),
    ];
    let mut seeds = Vec::new();
    for (name, knobs, ops) in scripts {
        // The handshake first, except for scripts that open their own sockets.
        let ops = if matches!(name, "refused-connect" | "bad-descriptors") {
            ops
        } else {
            [&establish[..], &ops[..]].concat()
        };
        for (tag, profile) in [("linux", Profile::Linux), ("rfc", Profile::RfcStrict)] {
            let input = sockets::SocketsInput::new(profile, knobs, ops.clone());
            seeds.push((format!("{name}-{tag}"), input.to_bytes()));
        }
    }
    seeds
}

// ----- listener -----------------------------------------------------------------------------

fn listener_seeds() -> Vec<Seed> {
    use ListenerOp::{Accept, Ack, App, Data, FireTimer, ForgedAck, Relisten, Rst, Syn};
    use listener::AppCall::{Close, RecvAll, Release, Send};
    let syn = |client: u8| Syn {
        client,
        isn: 1000 * u32::from(client) + 7,
        options: Options {
            mss: Some(1460),
            ..Options::NONE
        },
    };
    let mut seeds = Vec::new();
    // Each script twice: as given, and with no TIME-WAIT entries and `abort_on_overflow` (a RST
    // instead of a silent drop when the accept queue is full).
    let mut push = |name: &str, header: ListenerHeader, ops: Vec<ListenerOp>| {
        let strict = ListenerHeader {
            max_time_wait: 0,
            abort_on_overflow: true,
            ..header
        };
        seeds.push((
            name.to_owned(),
            ListenerInput {
                header,
                ops: ops.clone(),
            }
            .to_bytes(),
        ));
        seeds.push((
            format!("{name}-overflow-rst"),
            ListenerInput {
                header: strict,
                ops,
            }
            .to_bytes(),
        ));
    };
    let base = ListenerHeader::new(Profile::Linux, 0, 4, 8);
    push(
        "handshakes-accepted",
        base,
        vec![
            syn(0),
            syn(1),
            Ack(0),
            Ack(1),
            Accept,
            Accept,
            Data {
                client: 0,
                len: 100,
                fin: true,
            },
            App {
                index: 0,
                call: RecvAll,
            },
            App {
                index: 0,
                call: Send(50),
            },
            App {
                index: 0,
                call: Close,
            },
            App {
                index: 1,
                call: Release,
            },
            FireTimer,
        ],
    );
    let flood: Vec<ListenerOp> = (0..24).map(syn).chain([Ack(3), Accept]).collect();
    push(
        "syn-flood-small-backlog",
        ListenerHeader::new(Profile::Linux, 0, 1, 2),
        flood.clone(),
    );
    let cookies = ListenerHeader {
        syn_cookies: SynCookies::Always,
        ..base
    };
    push(
        "cookies-good-and-forged",
        cookies,
        vec![
            syn(5),
            ForgedAck {
                client: 5,
                offset: 1,
            },
            ForgedAck {
                client: 6,
                offset: 0x8000_0000,
            },
            Ack(5),
            Accept,
        ],
    );
    push("cookies-flood", cookies, flood);
    push(
        "rst-on-half-open",
        base,
        vec![
            syn(2),
            Rst {
                client: 2,
                offset: 0,
                ack: false,
            },
            syn(3),
            Rst {
                client: 3,
                offset: 5,
                ack: true,
            },
            syn(4),
            FireTimer,
            FireTimer,
            FireTimer,
            Ack(4),
        ],
    );
    push(
        "accept-queue-full-relisten",
        ListenerHeader::new(Profile::RfcStrict, 0, 0, 4),
        vec![
            syn(0),
            Ack(0),
            syn(1),
            Ack(1),
            Relisten,
            syn(2),
            Ack(2),
            Accept,
        ],
    );
    push(
        "data-before-accept",
        ListenerHeader::new(Profile::Test, 0, 2, 4),
        vec![
            syn(9),
            Data {
                client: 9,
                len: 10,
                fin: false,
            },
            Ack(9),
            Data {
                client: 9,
                len: 200,
                fin: true,
            },
            Accept,
            App {
                index: 0,
                call: Close,
            },
            FireTimer,
        ],
    );
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Silent;

    /// Every seed runs through its target with every oracle holding: a seed that fails would
    /// be a finding, and the CI replays the committed corpus the same way.
    #[test]
    fn every_seed_passes_its_target() {
        let mut scratch = vec![0u8; 70_000];
        for target in TARGETS {
            let seeds = seeds(target).expect("a known target");
            assert!(seeds.len() >= 10, "{target}: {} seeds", seeds.len());
            for (name, data) in seeds {
                assert!(
                    data.len() <= 4096,
                    "{target}/{name} is {} octets",
                    data.len()
                );
                match target {
                    "wire" => wire_target::run(&data, &mut scratch),
                    "segments" => crate::segments::run(&data, &mut Silent, &mut scratch),
                    "pair" => pair::run(&data, &mut Silent, &mut scratch),
                    "sockets" => crate::sockets::run(&data, &mut Silent, &mut scratch),
                    _ => listener::run(&data, &mut Silent, &mut scratch),
                }
            }
        }
    }
}
