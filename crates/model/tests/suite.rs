//! Small configurations of the model, stateright's way: each scenario of the suite but
//! `combined` is explored exhaustively with its unique-state count pinned (a change in the core or
//! the model that changes what is reachable shows here as a diff), `assert_properties()`, and
//! every `sometimes` property it expects replayed from a fixed path with `assert_discovery`.
//!
//! When a count changes for a reason, update it with the new value from
//! `cargo run --release -p tcp-model -- check` (the `unique` column).
#![cfg(feature = "checker")]

use stateright::{Checker, Model};
use tcp_model::{Action, Call, TcpModel, sometimes, suite};

fn deliver(from: u8) -> Action {
    Action::Deliver { from, index: 0 }
}

fn deliver_reordered(from: u8, index: u8) -> Action {
    Action::Deliver { from, index }
}

fn deliver_old(index: u8) -> Action {
    Action::DeliverOld { index }
}

fn lose(from: u8, index: u8) -> Action {
    Action::Lose { from, index }
}

fn fire(peer: u8) -> Action {
    Action::Fire(peer)
}

fn call(peer: u8, call: Call) -> Action {
    Action::Call(peer, call)
}

fn crash(peer: u8) -> Action {
    Action::Crash(peer)
}

/// (scenario, `sometimes` property, a path that reaches it). Peer A is 0, peer B is 1.
fn witnesses() -> Vec<(&'static str, &'static str, Vec<Action>)> {
    vec![
        ("handshake", "A in SYN-SENT", vec![]),
        ("handshake", "B in LISTEN", vec![]),
        ("handshake", "B in SYN-RECEIVED", vec![deliver(0)]),
        (
            "handshake",
            "A in ESTABLISHED",
            vec![deliver(0), deliver(1)],
        ),
        (
            "handshake",
            "B in ESTABLISHED",
            vec![deliver(0), deliver(1), deliver(0)],
        ),
        (
            "simultaneous-open",
            "both in SYN-RECEIVED",
            vec![deliver(0), deliver(1)],
        ),
        ("simultaneous-open", "B in SYN-SENT", vec![]),
        ("simultaneous-open", "A in SYN-RECEIVED", vec![deliver(1)]),
        (
            "close-client-first",
            "A in FIN-WAIT-1",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Send),
                deliver(1),
                call(0, Call::Close),
            ],
        ),
        (
            "close-client-first",
            "A in FIN-WAIT-2",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Send),
                deliver(1),
                call(0, Call::Close),
                deliver_reordered(0, 1),
                deliver(1),
            ],
        ),
        (
            "close-client-first",
            "A in TIME-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Send),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
            ],
        ),
        (
            "close-client-first",
            "B in CLOSE-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Send),
                deliver(1),
                call(0, Call::Close),
                deliver_reordered(0, 1),
            ],
        ),
        (
            "close-client-first",
            "B in LAST-ACK",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Send),
                deliver(1),
                call(0, Call::Close),
                deliver_reordered(0, 1),
                call(1, Call::Close),
            ],
        ),
        (
            "close-client-first",
            "B in CLOSED",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Send),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
                deliver(0),
            ],
        ),
        (
            "close-server-first",
            "B in FIN-WAIT-1",
            vec![
                deliver(0),
                deliver(1),
                call(0, Call::Send),
                deliver_reordered(0, 1),
                call(1, Call::Close),
            ],
        ),
        (
            "close-server-first",
            "B in FIN-WAIT-2",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Send),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
                deliver(0),
            ],
        ),
        (
            "close-server-first",
            "B in TIME-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Send),
                deliver(0),
                deliver(1),
                call(1, Call::Close),
                deliver(1),
                call(0, Call::Close),
                deliver_reordered(0, 1),
            ],
        ),
        (
            "close-server-first",
            "A in CLOSE-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Send),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
            ],
        ),
        (
            "close-server-first",
            "A in LAST-ACK",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Send),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
                call(0, Call::Close),
            ],
        ),
        (
            "close-server-first",
            "A in CLOSED",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Send),
                deliver(0),
                deliver(1),
                call(1, Call::Close),
                deliver(1),
                call(0, Call::Close),
                deliver_reordered(0, 1),
                deliver(1),
            ],
        ),
        (
            "simultaneous-close",
            "both in CLOSING",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                call(1, Call::Close),
                deliver(0),
                deliver(1),
            ],
        ),
        (
            "simultaneous-close",
            "A in CLOSING",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                call(1, Call::Close),
                deliver(1),
            ],
        ),
        (
            "simultaneous-close",
            "B in CLOSING",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                call(1, Call::Close),
                deliver(0),
            ],
        ),
        (
            "lost-final-ack",
            "FIN re-ACKed in TIME-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
                deliver(1),
                call(1, Call::Close),
                deliver(1),
                lose(0, 0),
                fire(1),
                deliver(1),
            ],
        ),
        (
            "half-close",
            "A in FIN-WAIT-2",
            vec![
                deliver(0),
                deliver(1),
                call(0, Call::Shutdown),
                deliver_reordered(0, 1),
                deliver(1),
            ],
        ),
        (
            "half-close",
            "B in CLOSE-WAIT",
            vec![
                deliver(0),
                deliver(1),
                call(0, Call::Shutdown),
                deliver_reordered(0, 1),
            ],
        ),
        (
            "abort",
            "A in CLOSING",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Shutdown),
                call(1, Call::Shutdown),
                deliver(1),
            ],
        ),
        (
            "abort",
            "B in LAST-ACK",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Shutdown),
                deliver(0),
                call(1, Call::Shutdown),
            ],
        ),
        (
            "half-open-data",
            "half-open connection reset",
            vec![deliver(0), deliver(1), crash(1), deliver(0), deliver(1)],
        ),
        (
            "half-open-keepalive",
            "half-open connection reset",
            vec![deliver(0), deliver(1), crash(1), deliver(0), deliver(1)],
        ),
        (
            "client-reboot",
            "half-open connection reset",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                crash(0),
                call(1, Call::Close),
                deliver(1),
                deliver(0),
            ],
        ),
        ("old-dup-syn", "B in SYN-RECEIVED", vec![deliver_old(0)]),
        (
            "old-dup-syn",
            "A in ESTABLISHED",
            vec![call(0, Call::Connect), deliver(0), deliver(1)],
        ),
        (
            "old-dup-rst",
            "A in ESTABLISHED",
            vec![deliver(0), deliver(1)],
        ),
        (
            "old-dup-rst",
            "B in ESTABLISHED",
            vec![deliver(0), deliver(1), deliver(0)],
        ),
        (
            "old-dup-rst",
            "A in TIME-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
                deliver(1),
                call(1, Call::Close),
                deliver(1),
            ],
        ),
        (
            "small-window",
            "A in CLOSE-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Close),
                deliver(1),
            ],
        ),
        (
            "small-window",
            "B in FIN-WAIT-2",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(1, Call::Close),
                deliver(1),
                deliver(0),
            ],
        ),
        (
            "rfc1337-off",
            "A in TIME-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
            ],
        ),
        (
            "rfc1337-off",
            "TIME-WAIT assassinated",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
                deliver(0),
                deliver(1),
                deliver(0),
                deliver(1),
            ],
        ),
        (
            "rfc1337-on",
            "A in TIME-WAIT",
            vec![
                deliver(0),
                deliver(1),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 1),
            ],
        ),
        ("seq-wrap", "A in LISTEN", vec![]),
        ("seq-wrap", "A in SYN-RECEIVED", vec![deliver(1)]),
        (
            "seq-wrap",
            "A in LAST-ACK",
            vec![
                deliver(1),
                deliver(0),
                deliver(1),
                call(0, Call::Send),
                deliver(0),
                call(0, Call::Send),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 2),
                call(0, Call::Close),
            ],
        ),
        (
            "seq-wrap",
            "B in TIME-WAIT",
            vec![
                deliver(1),
                deliver(0),
                deliver(1),
                call(0, Call::Send),
                deliver(0),
                call(0, Call::Send),
                deliver(0),
                call(1, Call::Close),
                deliver_reordered(1, 2),
                deliver(0),
                call(0, Call::Close),
                deliver(0),
            ],
        ),
    ]
}

/// Explores `scenario` exhaustively, checks its pinned unique-state count and its properties,
/// and replays its witnesses.
fn check(scenario: &str, unique: usize) {
    let model = TcpModel::new(suite::by_name(scenario).expect("a scenario of the suite"));
    let expected = model.scenario.expect.clone();
    let checker = model.checker().spawn_bfs().join();
    assert_eq!(
        checker.unique_state_count(),
        unique,
        "{scenario}: unique states"
    );
    checker.assert_properties();
    let witnesses: Vec<_> = witnesses()
        .into_iter()
        .filter(|(s, _, _)| *s == scenario)
        .collect();
    for name in &expected {
        assert!(
            witnesses.iter().any(|(_, p, _)| p == name),
            "{scenario}: no witness for {name:?}"
        );
    }
    for (_, name, path) in witnesses {
        checker.assert_discovery(name, path);
    }
}

#[test]
fn handshake() {
    check("handshake", 8615);
}

#[test]
fn simultaneous_open() {
    check("simultaneous-open", 5480);
}

#[test]
fn close_client_first() {
    check("close-client-first", 38751);
}

#[test]
fn close_server_first() {
    check("close-server-first", 47319);
}

#[test]
fn simultaneous_close() {
    check("simultaneous-close", 714);
}

#[test]
fn lost_final_ack() {
    check("lost-final-ack", 670);
}

#[test]
fn half_close() {
    check("half-close", 11424);
}

#[test]
fn abort() {
    check("abort", 31554);
}

#[test]
fn half_open_data() {
    check("half-open-data", 343);
}

#[test]
fn half_open_keepalive() {
    check("half-open-keepalive", 511);
}

#[test]
fn client_reboot() {
    check("client-reboot", 563);
}

#[test]
fn old_dup_syn() {
    check("old-dup-syn", 251);
}

#[test]
fn old_dup_rst() {
    check("old-dup-rst", 81);
}

#[test]
fn small_window() {
    check("small-window", 1069);
}

#[test]
fn rfc1337_off() {
    check("rfc1337-off", 17875);
}

#[test]
fn rfc1337_on() {
    check("rfc1337-on", 17789);
}

#[test]
fn seq_wrap() {
    check("seq-wrap", 51509);
}

/// Every reachability property the issue asks for (each state by each peer, both in
/// SYN-RECEIVED, both in CLOSING, a FIN re-ACKed in TIME-WAIT, a half-open connection reset),
/// and the RFC 1337 hazard, has a witness above in a scenario that expects it.
#[test]
fn every_sometimes_property_has_a_witness() {
    let witnesses = witnesses();
    let names = sometimes::ALL
        .iter()
        .chain([&sometimes::TIME_WAIT_ASSASSINATED])
        .map(|(name, _)| *name);
    for name in names {
        let (scenario, _, _) = witnesses
            .iter()
            .find(|(_, p, _)| *p == name)
            .unwrap_or_else(|| panic!("no witness for {name:?}"));
        let expects = suite::by_name(scenario).is_some_and(|s| s.expect.contains(&name));
        assert!(expects, "{scenario} does not expect {name:?}");
    }
}
