//! The scenario suite: each scenario is one row of `check`.
//!
//! Peer A is the client and B the server, except in `seq-wrap` where A listens (so that each
//! peer index reaches the passive states somewhere). ISNs are those of RFC 9293's figures
//! (A 100, B 300) unless the scenario is about them.

use tcp_fsm::{Flags, Policy};

use crate::peer::Role;
use crate::scenario::{
    CloseWhen, Faults, MODEL_KEEPALIVE, OldDup, PeerSetup, Scenario, Script, model_policy,
};

/// ISSs of a client, per incarnation.
const CLIENT_ISS: [u32; 3] = [100, 0x4000_0100, 0x8000_0100];
/// ISSs of a server, per incarnation.
const SERVER_ISS: [u32; 3] = [300, 0x4000_0300, 0x8000_0300];

fn client(script: Script) -> PeerSetup {
    PeerSetup {
        role: Role::Client,
        script,
        policy: model_policy(),
        iss: CLIENT_ISS,
        may_crash: false,
    }
}

fn server(script: Script) -> PeerSetup {
    PeerSetup {
        role: Role::Server,
        script,
        policy: model_policy(),
        iss: SERVER_ISS,
        may_crash: false,
    }
}

const fn faults(loss: u8, dup: u8, reorder: u8) -> Faults {
    Faults {
        loss,
        dup,
        reorder,
        crash: 0,
        early: 0,
    }
}

/// Writes `n` octets, then closes when `close` allows.
const fn writer(n: u8, close: CloseWhen) -> Script {
    Script {
        writes: n,
        close,
        ..Script::CLOSE_ONLY
    }
}

/// Every call: writes, shutdown, close (with unread data possible), abort.
const fn every_call(writes: u8) -> Script {
    Script {
        connect_at_start: true,
        reconnect: false,
        writes,
        shutdown: true,
        close: CloseWhen::Any,
        abort: true,
        explicit_read: true,
        close_listener: false,
    }
}

fn with_policy(mut peer: PeerSetup, f: impl FnOnce(&mut Policy)) -> PeerSetup {
    f(&mut peer.policy);
    peer
}

fn crashing(mut peer: PeerSetup) -> PeerSetup {
    peer.may_crash = true;
    peer
}

fn time_wait_old_duplicates(name: &'static str, rfc1337: bool) -> Scenario {
    let on = |p: &mut Policy| p.rfc1337 = rfc1337;
    Scenario {
        name,
        summary: if rfc1337 {
            "old duplicates reach TIME-WAIT; RFC 1337 F1 on: its RST is ignored"
        } else {
            "old duplicates reach TIME-WAIT; RFC 1337 off: a RST ends it early"
        },
        peers: [
            with_policy(client(writer(0, CloseWhen::Any)), on),
            with_policy(server(writer(1, CloseWhen::AfterEof)), on),
        ],
        faults: faults(0, 1, 1),
        // An ACK of B's earlier incarnation, far below the current window.
        old: vec![OldDup {
            from: 1,
            seq: 250,
            ack: 90,
            flags: Flags::ACK,
        }],
        resets_expected: true,
        expect: if rfc1337 {
            vec!["A in TIME-WAIT"]
        } else {
            vec!["A in TIME-WAIT", "TIME-WAIT assassinated"]
        },
    }
}

/// The whole suite, in table order.
#[must_use]
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "handshake",
            summary: "three-way handshake, then either side closes; the listener may close first",
            peers: [
                client(Script::CLOSE_ONLY),
                server(Script {
                    close_listener: true,
                    ..Script::CLOSE_ONLY
                }),
            ],
            faults: faults(1, 1, 1),
            old: vec![],
            resets_expected: false,
            expect: vec![
                "A in SYN-SENT",
                "B in LISTEN",
                "B in SYN-RECEIVED",
                "A in ESTABLISHED",
                "B in ESTABLISHED",
            ],
        },
        Scenario {
            name: "simultaneous-open",
            summary: "both connect at once (RFC 9293 Figure 7)",
            peers: [client(Script::CLOSE_ONLY), client(Script::CLOSE_ONLY)],
            faults: faults(1, 0, 1),
            old: vec![],
            resets_expected: false,
            expect: vec!["both in SYN-RECEIVED", "B in SYN-SENT", "A in SYN-RECEIVED"],
        },
        Scenario {
            name: "close-client-first",
            summary: "one octet each way, the client closes first",
            peers: [
                client(writer(1, CloseWhen::AfterData)),
                server(writer(1, CloseWhen::AfterEof)),
            ],
            faults: faults(1, 1, 1),
            old: vec![],
            resets_expected: false,
            expect: vec![
                "A in FIN-WAIT-1",
                "A in FIN-WAIT-2",
                "A in TIME-WAIT",
                "B in CLOSE-WAIT",
                "B in LAST-ACK",
                "B in CLOSED",
            ],
        },
        Scenario {
            name: "close-server-first",
            summary: "one octet each way, the server closes first",
            peers: [
                client(writer(1, CloseWhen::AfterEof)),
                server(writer(1, CloseWhen::AfterData)),
            ],
            faults: faults(1, 1, 1),
            old: vec![],
            resets_expected: false,
            expect: vec![
                "B in FIN-WAIT-1",
                "B in FIN-WAIT-2",
                "B in TIME-WAIT",
                "A in CLOSE-WAIT",
                "A in LAST-ACK",
                "A in CLOSED",
            ],
        },
        Scenario {
            name: "simultaneous-close",
            summary: "both close at once (RFC 9293 Figure 13)",
            peers: [client(Script::CLOSE_ONLY), server(Script::CLOSE_ONLY)],
            faults: faults(1, 0, 1),
            old: vec![],
            resets_expected: false,
            expect: vec!["both in CLOSING", "A in CLOSING", "B in CLOSING"],
        },
        Scenario {
            name: "lost-final-ack",
            summary: "the final ACK is lost: LAST-ACK retransmits its FIN, TIME-WAIT ACKs again",
            peers: [
                client(writer(0, CloseWhen::Any)),
                server(writer(0, CloseWhen::AfterEof)),
            ],
            faults: faults(2, 0, 0),
            old: vec![],
            resets_expected: false,
            expect: vec!["FIN re-ACKed in TIME-WAIT"],
        },
        Scenario {
            name: "half-close",
            summary: "the client shuts down its sending side while the server keeps sending",
            peers: [
                client(Script {
                    shutdown: true,
                    close: CloseWhen::AfterEof,
                    ..Script::CLOSE_ONLY
                }),
                server(writer(2, CloseWhen::AfterEof)),
            ],
            faults: faults(1, 0, 1),
            old: vec![],
            resets_expected: false,
            expect: vec!["A in FIN-WAIT-2", "B in CLOSE-WAIT"],
        },
        Scenario {
            name: "abort",
            summary: "abort, linger 0, close with unread data (after shutdown or not) in every state; the listener may close",
            peers: [
                client(every_call(1)),
                server(Script {
                    close_listener: true,
                    ..every_call(1)
                }),
            ],
            faults: faults(0, 0, 0),
            old: vec![],
            resets_expected: true,
            expect: vec!["A in CLOSING", "B in LAST-ACK"],
        },
        Scenario {
            name: "half-open-data",
            summary: "the server crashes and reboots; the client's data meets its listener (Figure 11)",
            peers: [
                client(writer(1, CloseWhen::Any)),
                crashing(server(Script::CLOSE_ONLY)),
            ],
            faults: Faults {
                crash: 1,
                ..faults(0, 0, 0)
            },
            old: vec![],
            resets_expected: true,
            expect: vec!["half-open connection reset"],
        },
        Scenario {
            name: "half-open-keepalive",
            summary: "the server crashes; the idle client finds out by a keepalive probe",
            peers: [
                with_policy(client(Script::CLOSE_ONLY), |p| {
                    p.keepalive = Some(MODEL_KEEPALIVE)
                }),
                crashing(server(Script::CLOSE_ONLY)),
            ],
            faults: Faults {
                crash: 1,
                ..faults(0, 0, 0)
            },
            old: vec![],
            resets_expected: true,
            expect: vec!["half-open connection reset"],
        },
        Scenario {
            name: "client-reboot",
            summary: "the client crashes and reconnects to its half-open peer (Figure 10)",
            peers: [
                crashing(client(Script {
                    reconnect: true,
                    ..Script::CLOSE_ONLY
                })),
                server(Script::CLOSE_ONLY),
            ],
            faults: Faults {
                crash: 1,
                ..faults(0, 0, 0)
            },
            old: vec![],
            resets_expected: true,
            expect: vec!["half-open connection reset"],
        },
        Scenario {
            name: "old-dup-syn",
            summary: "an old duplicate SYN reaches the listener before the new one (Figure 9)",
            peers: [
                client(Script {
                    connect_at_start: false,
                    ..Script::CLOSE_ONLY
                }),
                server(Script::CLOSE_ONLY),
            ],
            faults: faults(0, 0, 0),
            old: vec![OldDup {
                from: 0,
                seq: 90,
                ack: 0,
                flags: Flags::SYN,
            }],
            resets_expected: true,
            expect: vec!["B in SYN-RECEIVED", "A in ESTABLISHED"],
        },
        Scenario {
            name: "old-dup-rst",
            summary: "old duplicate RSTs, out of window, reach both peers at any time (RFC 5961 §3)",
            peers: [
                client(Script::CLOSE_ONLY),
                server(Script {
                    close: CloseWhen::AfterEof,
                    ..Script::CLOSE_ONLY
                }),
            ],
            faults: faults(0, 0, 0),
            // RSTs of the peers' earlier incarnations, far below the current windows. Their
            // only correct effect is none, so no connection may be reset.
            old: vec![
                OldDup {
                    from: 1,
                    seq: 250,
                    ack: 0,
                    flags: Flags::RST,
                },
                OldDup {
                    from: 0,
                    seq: 50,
                    ack: 0,
                    flags: Flags::RST,
                },
            ],
            resets_expected: false,
            expect: vec!["A in ESTABLISHED", "B in ESTABLISHED", "A in TIME-WAIT"],
        },
        Scenario {
            name: "small-window",
            summary: "a one-octet receive buffer: three octets go one per window (RFC 9293 §3.8.6)",
            peers: [
                with_policy(client(writer(0, CloseWhen::AfterEof)), |p| {
                    p.recv_buffer = 1
                }),
                server(writer(3, CloseWhen::AfterData)),
            ],
            faults: faults(1, 0, 0),
            old: vec![],
            resets_expected: false,
            expect: vec!["A in CLOSE-WAIT", "B in FIN-WAIT-2"],
        },
        time_wait_old_duplicates("rfc1337-off", false),
        time_wait_old_duplicates("rfc1337-on", true),
        Scenario {
            name: "seq-wrap",
            summary: "ISNs at 2^32-1 and 2^32-2: handshake, data and FINs cross zero; A listens",
            peers: [
                PeerSetup {
                    iss: [u32::MAX, 0x7fff_ffff, 0x3fff_ffff],
                    ..server(writer(2, CloseWhen::AfterEof))
                },
                PeerSetup {
                    iss: [u32::MAX - 1, 0x7fff_fffe, 0x3fff_fffe],
                    ..client(writer(2, CloseWhen::AfterData))
                },
            ],
            faults: faults(1, 0, 1),
            old: vec![],
            resets_expected: false,
            expect: vec![
                "A in LISTEN",
                "A in SYN-RECEIVED",
                "A in LAST-ACK",
                "B in TIME-WAIT",
            ],
        },
        Scenario {
            name: "combined",
            summary: "every call and every fault at the smallest bounds",
            peers: [
                crashing(client(every_call(1))),
                crashing(server(every_call(0))),
            ],
            faults: Faults {
                loss: 1,
                dup: 1,
                reorder: 0,
                crash: 1,
                early: 0,
            },
            old: vec![OldDup {
                from: 0,
                seq: 90,
                ack: 0,
                flags: Flags::SYN,
            }],
            resets_expected: true,
            expect: vec![],
        },
    ]
}

/// The scenario called `name`.
#[must_use]
pub fn by_name(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}
