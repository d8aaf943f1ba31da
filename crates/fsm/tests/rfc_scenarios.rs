//! The RFC's own exchanges between two endpoints, replayed with two real connections and
//! asserted line by line against the figures: RFC 9293 §3.5 Figures 6-11 (handshakes, old
//! duplicate SYNs, half-open connections), §3.6 Figures 12-13 (normal and simultaneous close),
//! RFC 1337's TIME-WAIT assassination with and without its fix, and sequence numbers that wrap.
//!
//! Log lines read `A --> <segment>` (sent by A, or an old duplicate of A's) and `<-- B <segment>`.

mod common;
use common::*;
use tcp_fsm::{ConnError, Disposition, Event, Policy, State};

/// Asserts both states, in the figure's order (A then B).
#[track_caller]
fn states(pair: &Pair, a: State, b: State) {
    assert_eq!(
        (pair.a.state(), pair.b.state()),
        (a, b),
        "states of A and B"
    );
}

/// RFC 9293 Figure 6: the basic three-way handshake, then data.
#[test]
fn figure_6_basic_three_way_handshake() {
    let mut pair = Pair::new(Peer::connect(100), Peer::listen(300));
    states(&pair, State::SynSent, State::Listen);
    assert_eq!(pair.a_to_b(), 1);
    states(&pair, State::SynSent, State::SynReceived);
    assert_eq!(pair.b_to_a(), 1);
    states(&pair, State::Established, State::SynReceived);
    assert_eq!(pair.a_to_b(), 1);
    states(&pair, State::Established, State::Established);
    pair.a.write(b"data");
    assert_eq!(pair.a_to_b(), 1);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=100><CTL=SYN>",
            "<-- B <SEQ=300><ACK=101><CTL=SYN,ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK><DATA=4>",
        ]
    );
    assert_eq!(pair.b.recv_buf, b"data");
    assert_eq!(pair.a.take_events(), [Event::Established]);
    assert_eq!(pair.b.take_events(), [Event::Established]);
}

/// RFC 9293 Figure 7: simultaneous open; both pass SYN-RECEIVED (MUST-10).
#[test]
fn figure_7_simultaneous_open() {
    let mut pair = Pair::new(Peer::connect(100), Peer::connect(300));
    // Lines 2-4: the SYNs cross.
    assert_eq!(pair.step(), 2);
    states(&pair, State::SynReceived, State::SynReceived);
    // Lines 5-7: the SYN,ACKs cross.
    assert_eq!(pair.step(), 2);
    states(&pair, State::Established, State::Established);
    assert_eq!(pair.step(), 0, "nothing more to say");
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=100><CTL=SYN>",
            "<-- B <SEQ=300><CTL=SYN>",
            "A --> <SEQ=100><ACK=301><CTL=SYN,ACK>",
            "<-- B <SEQ=300><ACK=101><CTL=SYN,ACK>",
        ]
    );
    assert_eq!(pair.a.take_events(), [Event::Established]);
    assert_eq!(pair.b.take_events(), [Event::Established]);
    // And the connection carries data both ways.
    pair.a.write(b"ping");
    pair.b.write(b"pong");
    pair.run();
    assert_eq!(
        (&pair.a.recv_buf[..], &pair.b.recv_buf[..]),
        (&b"pong"[..], &b"ping"[..])
    );
}

/// Figure 7 with A's SYN,ACK lost: A is ESTABLISHED by B's SYN,ACK, B retransmits its SYN,ACK
/// on timeout and A's ACK of it completes B's side.
#[test]
fn figure_7_simultaneous_open_recovers_from_a_lost_syn_ack() {
    let mut pair = Pair::new(Peer::connect(100), Peer::connect(300));
    pair.step();
    states(&pair, State::SynReceived, State::SynReceived);
    let lost = pair.a.tx();
    assert_eq!(lost[0].to_string(), "<SEQ=100><ACK=301><CTL=SYN,ACK>");
    pair.b_to_a();
    states(&pair, State::Established, State::SynReceived);
    pair.b.fire();
    pair.b_to_a();
    pair.a_to_b();
    states(&pair, State::Established, State::Established);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=100><CTL=SYN>",
            "<-- B <SEQ=300><CTL=SYN>",
            "<-- B <SEQ=300><ACK=101><CTL=SYN,ACK>",
            "<-- B <SEQ=300><ACK=101><CTL=SYN,ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK>",
        ]
    );
}

/// Figure 6 with the handshake's final ACK lost: A's first data segment carries the same ACK
/// and completes B's side.
#[test]
fn figure_6_lost_final_ack_is_replaced_by_the_first_data_segment() {
    let mut pair = Pair::new(Peer::connect(100), Peer::listen(300));
    pair.a_to_b();
    pair.b_to_a();
    let lost = pair.a.tx();
    assert_eq!(lost[0].to_string(), "<SEQ=101><ACK=301><CTL=ACK>");
    pair.a.write(b"hi");
    pair.a_to_b();
    pair.b_to_a();
    states(&pair, State::Established, State::Established);
    assert_eq!(pair.b.recv_buf, b"hi");
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=100><CTL=SYN>",
            "<-- B <SEQ=300><ACK=101><CTL=SYN,ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK><DATA=2>",
            "<-- B <SEQ=301><ACK=103><CTL=ACK>",
        ]
    );
}

/// A RST overtaking the handshake's final ACK (the reordering of FreeBSD review D40982): the
/// passive SYN-RECEIVED honours it and returns to LISTEN, whose answer to the late ACK is a RST
/// that A's closed port drops. Nothing is left behind on either side.
#[test]
fn rst_overtaking_the_final_ack_returns_the_passive_side_to_listen() {
    let mut pair = Pair::new(Peer::connect(100), Peer::listen(300));
    pair.a_to_b();
    pair.b_to_a();
    let ack = pair.a.tx();
    pair.a.abort();
    pair.a_to_b();
    states(&pair, State::Closed, State::Listen);
    pair.deliver_to_b(ack[0].clone());
    pair.b_to_a();
    assert_eq!(pair.step(), 0);
    states(&pair, State::Closed, State::Listen);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=100><CTL=SYN>",
            "<-- B <SEQ=300><ACK=101><CTL=SYN,ACK>",
            "A --> <SEQ=101><ACK=301><CTL=RST,ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK>",
            "<-- B <SEQ=301><CTL=RST>",
        ]
    );
    assert_eq!(pair.b.take_events(), []);
    assert_eq!(pair.b.conn.poll_timeout(), None, "no half-open entry left");
}

/// RFC 9293 Figure 8: recovery from an old duplicate SYN. B's second ISS is chosen by the core
/// (ISS + 128000) where the figure shows 400.
#[test]
fn figure_8_recovery_from_old_duplicate_syn() {
    let mut pair = Pair::new(Peer::connect(100), Peer::listen(300));
    // Line 2: A's SYN is delayed in the network.
    let syn = pair.a.tx();
    assert_eq!(syn[0].to_string(), "<SEQ=100><CTL=SYN>");
    // Line 3: an old duplicate SYN arrives first.
    pair.deliver_to_b(Seg::parse("<SEQ=90><CTL=SYN>"));
    states(&pair, State::SynSent, State::SynReceived);
    // Lines 4-5: A sees an ACK of nothing it sent and resets; B returns to LISTEN.
    pair.b_to_a();
    pair.a_to_b();
    states(&pair, State::SynSent, State::Listen);
    // Lines 6-8: the real SYN arrives and the handshake completes.
    pair.deliver_to_b(syn[0].clone());
    states(&pair, State::SynSent, State::SynReceived);
    pair.b_to_a();
    pair.a_to_b();
    states(&pair, State::Established, State::Established);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=90><CTL=SYN>",
            "<-- B <SEQ=300><ACK=91><CTL=SYN,ACK>",
            "A --> <SEQ=91><CTL=RST>",
            "A --> <SEQ=100><CTL=SYN>",
            "<-- B <SEQ=128300><ACK=101><CTL=SYN,ACK>",
            "A --> <SEQ=101><ACK=128301><CTL=ACK>",
        ]
    );
    assert_eq!(pair.b.take_events(), [Event::Established]);
}

/// RFC 9293 Figure 9: half-open connection discovery. A crashed and lost its TCB; B still has
/// "send 300, receive 100". A's new SYN draws B's (challenge) ACK, which A answers with RST;
/// B aborts; A's retransmitted SYN then finds B listening again.
#[test]
fn figure_9_half_open_connection_discovery() {
    let (_, b) = established(99, 299);
    assert_eq!((b.status().snd_nxt.0, b.status().rcv_nxt.0), (300, 100));
    // Lines 1-3: A crashes and reopens.
    let mut pair = Pair::new(Peer::connect(400), b);
    pair.a_to_b();
    states(&pair, State::SynSent, State::Established);
    // Line 4-5: B's ACK is not acceptable to A's SYN-SENT: RST.
    pair.b_to_a();
    pair.a_to_b();
    // Line 6: B aborted.
    states(&pair, State::SynSent, State::Closed);
    assert_eq!(
        pair.b.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
    // Line 7: B's application listens again; A's SYN is retransmitted after its RTO.
    pair.b = Peer::listen(700);
    pair.a.fire();
    pair.run();
    states(&pair, State::Established, State::Established);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=400><CTL=SYN>",
            "<-- B <SEQ=300><ACK=100><CTL=ACK>",
            "A --> <SEQ=100><CTL=RST>",
            "A --> <SEQ=400><CTL=SYN>",
            "<-- B <SEQ=700><ACK=401><CTL=SYN,ACK>",
            "A --> <SEQ=401><ACK=701><CTL=ACK>",
        ]
    );
}

/// RFC 9293 Figure 10: the active side causes half-open discovery. A rebooted (no TCB); B sends
/// data, A's closed port answers RST, B aborts.
#[test]
fn figure_10_active_side_causes_half_open_connection_discovery() {
    let (_, b) = established(99, 299);
    let mut pair = Pair::new(reach(State::Closed), b);
    pair.b.write(&[0; 10]);
    pair.b_to_a();
    pair.a_to_b();
    states(&pair, State::Closed, State::Closed);
    assert_eq!(
        pair.take_log_text(),
        [
            "<-- B <SEQ=300><ACK=100><CTL=ACK><DATA=10>",
            "A --> <SEQ=100><CTL=RST>",
        ]
    );
    assert_eq!(
        pair.b.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
}

/// RFC 9293 Figure 11: an old duplicate SYN initiates a reset on two passive sockets; both end
/// in LISTEN.
#[test]
fn figure_11_old_duplicate_syn_resets_two_passive_sockets() {
    let mut pair = Pair::new(Peer::listen(100), Peer::listen(300));
    // Line 2: the old duplicate SYN (Z = 5000).
    assert_eq!(
        pair.deliver_to_b(Seg::parse("<SEQ=5000><CTL=SYN>")),
        Disposition::Accepted
    );
    states(&pair, State::Listen, State::SynReceived);
    // Lines 3-4: A's LISTEN answers the SYN,ACK with RST; B returns to LISTEN.
    pair.b_to_a();
    pair.a_to_b();
    states(&pair, State::Listen, State::Listen);
    assert_eq!(pair.step(), 0);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=5000><CTL=SYN>",
            "<-- B <SEQ=300><ACK=5001><CTL=SYN,ACK>",
            "A --> <SEQ=5001><CTL=RST>",
        ]
    );
}

/// RFC 9293 Figure 12: the normal close sequence.
#[test]
fn figure_12_normal_close_sequence() {
    let (a, b) = established(99, 299);
    let mut pair = Pair::new(a, b);
    // Line 2.
    pair.a.close();
    pair.a_to_b();
    states(&pair, State::FinWait1, State::CloseWait);
    // Line 3.
    pair.b_to_a();
    states(&pair, State::FinWait2, State::CloseWait);
    // Line 4.
    pair.b.close();
    pair.b_to_a();
    states(&pair, State::TimeWait, State::LastAck);
    // Line 5.
    pair.a_to_b();
    states(&pair, State::TimeWait, State::Closed);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=100><ACK=300><CTL=FIN,ACK>",
            "<-- B <SEQ=300><ACK=101><CTL=ACK>",
            "<-- B <SEQ=300><ACK=101><CTL=FIN,ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK>",
        ]
    );
    // Line 6: 2 MSL.
    pair.a.advance(pair.a.policy.time_wait);
    states(&pair, State::Closed, State::Closed);
    assert_eq!(pair.a.take_events(), [Event::PeerFin, Event::Closed]);
    assert_eq!(pair.b.take_events(), [Event::PeerFin, Event::Closed]);
}

/// RFC 9293 Figure 13: the simultaneous close sequence; both pass CLOSING to TIME-WAIT.
#[test]
fn figure_13_simultaneous_close_sequence() {
    let (a, b) = established(99, 299);
    let mut pair = Pair::new(a, b);
    pair.a.close();
    pair.b.close();
    // Line 2: the FINs cross.
    assert_eq!(pair.step(), 2);
    states(&pair, State::Closing, State::Closing);
    // Line 3: the ACKs cross.
    assert_eq!(pair.step(), 2);
    states(&pair, State::TimeWait, State::TimeWait);
    assert_eq!(pair.step(), 0);
    assert_eq!(
        pair.take_log_text(),
        [
            "A --> <SEQ=100><ACK=300><CTL=FIN,ACK>",
            "<-- B <SEQ=300><ACK=100><CTL=FIN,ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK>",
            "<-- B <SEQ=301><ACK=101><CTL=ACK>",
        ]
    );
    // Line 4.
    pair.advance(pair.a.policy.time_wait);
    states(&pair, State::Closed, State::Closed);
}

/// Two peers through the normal close: A in TIME-WAIT, B gone (CLOSED, no state).
fn a_in_time_wait(policy: Policy) -> Pair {
    let (a, b) = established_with(99, 299, policy);
    let mut pair = Pair::new(a, b);
    pair.a.close();
    pair.run();
    pair.b.close();
    pair.run();
    states(&pair, State::TimeWait, State::Closed);
    pair.log.clear();
    pair.a.take_events();
    pair.b.take_events();
    pair
}

/// RFC 1337: an old duplicate ACK reaches A in TIME-WAIT; A answers with an ACK; B, which has no
/// state, answers with RST; without the fix (Linux's default) the RST ends TIME-WAIT early.
#[test]
fn rfc_1337_time_wait_assassination_without_the_fix() {
    let mut pair = a_in_time_wait(test_policy());
    assert_eq!(
        pair.deliver_to_a(Seg::parse("<SEQ=295><ACK=101><CTL=ACK>")),
        Disposition::Unacceptable
    );
    pair.a_to_b();
    pair.b_to_a();
    assert_eq!(
        pair.take_log_text(),
        [
            "<-- B <SEQ=295><ACK=101><CTL=ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK>",
            "<-- B <SEQ=301><CTL=RST>",
        ]
    );
    states(&pair, State::Closed, State::Closed);
    assert_eq!(pair.a.take_events(), [Event::Closed]);
}

/// RFC 1337 fix F1 (`Policy::rfc1337`): the RST is ignored and TIME-WAIT runs its course.
#[test]
fn rfc_1337_time_wait_assassination_prevented_by_ignoring_rst() {
    let mut pair = a_in_time_wait(Policy {
        rfc1337: true,
        ..test_policy()
    });
    pair.deliver_to_a(Seg::parse("<SEQ=295><ACK=101><CTL=ACK>"));
    pair.a_to_b();
    assert_eq!(pair.b_to_a(), 1, "B's closed port still answers with RST");
    assert_eq!(
        pair.take_log_text(),
        [
            "<-- B <SEQ=295><ACK=101><CTL=ACK>",
            "A --> <SEQ=101><ACK=301><CTL=ACK>",
            "<-- B <SEQ=301><CTL=RST>",
        ]
    );
    states(&pair, State::TimeWait, State::Closed);
    assert_eq!(pair.a.take_events(), []);
    pair.a.advance(pair.a.policy.time_wait);
    assert_eq!(pair.a.state(), State::Closed);
}

/// The expected log of [`wrap`] for ISSs `a` and `b`, computed modulo 2^32.
fn wrap_log(a: u32, b: u32) -> Vec<String> {
    let a = |n: u32| a.wrapping_add(n);
    let b = |n: u32| b.wrapping_add(n);
    vec![
        format!("A --> <SEQ={}><CTL=SYN>", a(0)),
        format!("<-- B <SEQ={}><ACK={}><CTL=SYN,ACK>", b(0), a(1)),
        format!("A --> <SEQ={}><ACK={}><CTL=ACK>", a(1), b(1)),
        format!("A --> <SEQ={}><ACK={}><CTL=ACK><DATA=10>", a(1), b(1)),
        format!("<-- B <SEQ={}><ACK={}><CTL=ACK><DATA=10>", b(1), a(1)),
        format!("A --> <SEQ={}><ACK={}><CTL=ACK>", a(11), b(11)),
        format!("<-- B <SEQ={}><ACK={}><CTL=ACK>", b(11), a(11)),
        format!("A --> <SEQ={}><ACK={}><CTL=FIN,ACK>", a(11), b(11)),
        format!("<-- B <SEQ={}><ACK={}><CTL=ACK>", b(11), a(12)),
        format!("<-- B <SEQ={}><ACK={}><CTL=FIN,ACK>", b(11), a(12)),
        format!("A --> <SEQ={}><ACK={}><CTL=ACK>", a(12), b(12)),
    ]
}

/// Handshake, data both ways and a normal close with ISSs near 2^32.
fn wrap(a_iss: u32, b_iss: u32) {
    let mut pair = Pair::new(Peer::connect(a_iss), Peer::listen(b_iss));
    pair.run();
    states(&pair, State::Established, State::Established);
    pair.a.write(b"0123456789");
    pair.b.write(b"abcdefghij");
    pair.run();
    assert_eq!(pair.a.recv_buf, b"abcdefghij");
    assert_eq!(pair.b.recv_buf, b"0123456789");
    assert!(pair.a.send_buf.is_empty() && pair.b.send_buf.is_empty());
    pair.a.close();
    pair.run();
    pair.b.close();
    pair.run();
    states(&pair, State::TimeWait, State::Closed);
    assert_eq!(pair.take_log_text(), wrap_log(a_iss, b_iss));
    pair.a.advance(pair.a.policy.time_wait);
    assert_eq!(pair.a.state(), State::Closed);
}

#[test]
fn sequence_wrap_iss_2_pow_32_minus_1_and_minus_3() {
    wrap(u32::MAX, u32::MAX - 2);
    // The data crosses the wrap: B's ten octets run from 2^32 - 2 to 8.
    assert_eq!(
        wrap_log(u32::MAX, u32::MAX - 2)[4],
        "<-- B <SEQ=4294967294><ACK=0><CTL=ACK><DATA=10>"
    );
}

#[test]
fn sequence_wrap_iss_2_pow_32_minus_3_and_minus_1() {
    wrap(u32::MAX - 2, u32::MAX);
    assert_eq!(
        wrap_log(u32::MAX - 2, u32::MAX)[3],
        "A --> <SEQ=4294967294><ACK=0><CTL=ACK><DATA=10>"
    );
}

#[test]
fn sequence_wrap_bulk_data_and_retransmission_across_the_wrap() {
    // Several MSS-sized segments, one lost and retransmitted, all across 2^32.
    let (mut a, mut b) = established(u32::MAX - 1000, u32::MAX - 3);
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(a.write(&data), 5000);
    let sent = a.tx();
    assert_eq!(sent.len(), 4, "1460 + 1460 + 1460 + 620");
    // The second segment is lost; the rest arrive (out of order ones are not held).
    for (i, s) in sent.iter().enumerate() {
        if i != 1 {
            b.rx_seg(s);
        }
    }
    for s in b.tx() {
        a.rx_seg(&s);
    }
    assert_eq!(b.recv_buf.len(), 1460);
    // Timeouts resend from SND.UNA until everything is through.
    for _ in 0..10 {
        if b.recv_buf.len() == 5000 {
            break;
        }
        a.fire();
        let mut p = Pair::new(a, b);
        p.run();
        (a, b) = (p.a, p.b);
    }
    assert_eq!(b.recv_buf, data);
    assert!(a.send_buf.is_empty());
    assert_eq!(a.status().snd_una, a.status().snd_nxt);
    assert_eq!(a.status().snd_nxt.0, (u32::MAX - 1000).wrapping_add(5001));
}
