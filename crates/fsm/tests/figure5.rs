//! Every edge of RFC 9293 Figure 5, the edges its notes add (FIN-WAIT-1 → TIME-WAIT, RST and
//! ABORT from any state, passive and active SYN-RECEIVED on RST), and the timeout edges of
//! §3.10.8: one test per edge of [`tcp_fsm::state::EDGES`], named after it, each taking the edge
//! through real calls and segments and asserting what is sent.
//!
//! Sequence numbers are those of the harness's [`reach`] (our ISS 100, the peer's 300).

mod common;
use common::*;
use tcp_fsm::state::{Cause, EDGES};
use tcp_fsm::{CallError, ConnError, Disposition, Event, Keepalive, Policy, State};

use State::{
    CloseWait, Closed, Closing, Established, FinWait1, FinWait2, LastAck, Listen, SynReceived,
    SynSent, TimeWait,
};

/// Asserts that the diagram lists the edge a test just took.
#[track_caller]
fn took(from: State, to: State, cause: Cause, label: &str) {
    assert!(
        EDGES
            .iter()
            .any(|e| e.from == from && e.to == to && e.cause == cause && e.label == label),
        "{from} --{label}--> {to} is an edge of the diagram"
    );
}

fn policy(f: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = test_policy();
    f(&mut p);
    p
}

// ----- Figure 5 itself ---------------------------------------------------------------------------

#[test]
fn closed_to_listen_on_passive_open() {
    let mut p = Peer::listen(ISS);
    assert_eq!(p.state(), Listen);
    sends_nothing!(p);
    took(Closed, Listen, Cause::Call, "passive OPEN");
}

#[test]
fn closed_to_syn_sent_on_active_open_sends_syn() {
    let mut p = Peer::connect(ISS);
    assert_eq!(p.state(), SynSent);
    sends!(p, ["<SEQ=100><CTL=SYN>"]);
    took(Closed, SynSent, Cause::Call, "active OPEN / snd SYN");
}

#[test]
fn listen_to_syn_received_on_syn_sends_syn_ack() {
    let mut p = reach(Listen);
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Accepted);
    assert_eq!(p.state(), SynReceived);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    took(Listen, SynReceived, Cause::Segment, "rcv SYN / snd SYN,ACK");
}

#[test]
fn listen_to_syn_sent_on_send_is_not_implemented() {
    // The figure's LISTEN --SEND / snd SYN--> SYN-SENT needs a foreign socket, which a LISTEN
    // connection here does not have: SEND fails and the connection keeps listening.
    let mut p = reach(Listen);
    assert_eq!(p.conn.send(&p.policy, 1), Err(CallError::NotConnected));
    assert_eq!(p.state(), Listen);
    sends_nothing!(p);
    took(Listen, SynSent, Cause::Call, "SEND / snd SYN");
}

#[test]
fn listen_to_closed_on_close() {
    let mut p = reach(Listen);
    p.close();
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    took(Listen, Closed, Cause::Call, "CLOSE / delete TCB");
}

#[test]
fn syn_sent_to_syn_received_on_syn_sends_syn_ack() {
    let mut p = reach(SynSent);
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Accepted);
    assert_eq!(p.state(), SynReceived);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    took(
        SynSent,
        SynReceived,
        Cause::Segment,
        "rcv SYN / snd SYN,ACK",
    );
}

#[test]
fn syn_sent_to_established_on_syn_ack_sends_ack() {
    let mut p = reach(SynSent);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), Established);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::Established]);
    took(
        SynSent,
        Established,
        Cause::Segment,
        "rcv SYN,ACK / snd ACK",
    );
}

#[test]
fn syn_sent_to_closed_on_close() {
    let mut p = reach(SynSent);
    p.close();
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    took(SynSent, Closed, Cause::Call, "CLOSE / delete TCB");
}

#[test]
fn syn_received_to_established_on_ack_of_syn() {
    let mut p = reach(SynReceived);
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), Established);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Established]);
    took(SynReceived, Established, Cause::Segment, "rcv ACK of SYN");
}

#[test]
fn syn_received_to_fin_wait_1_on_close_sends_fin() {
    let mut p = reach(SynReceived);
    p.close();
    assert_eq!(p.state(), FinWait1);
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]);
    took(SynReceived, FinWait1, Cause::Call, "CLOSE / snd FIN");
}

#[test]
fn syn_received_to_listen_on_rst_note_1() {
    let mut p = reach(SynReceived);
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), Listen);
    sends_nothing!(p);
    assert_eq!(p.take_events(), []);
    took(SynReceived, Listen, Cause::Segment, "rcv RST (note 1)");
}

#[test]
fn established_to_fin_wait_1_on_close_sends_fin() {
    let mut p = reach(Established);
    p.close();
    assert_eq!(p.state(), FinWait1);
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]);
    took(Established, FinWait1, Cause::Call, "CLOSE / snd FIN");
}

#[test]
fn established_to_close_wait_on_fin_sends_ack() {
    let mut p = reach(Established);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), CloseWait);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::PeerFin]);
    took(Established, CloseWait, Cause::Segment, "rcv FIN / snd ACK");
}

#[test]
fn fin_wait_1_to_fin_wait_2_on_ack_of_fin() {
    let mut p = reach(FinWait1);
    p.rx_expect("<SEQ=301><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), FinWait2);
    sends_nothing!(p);
    took(FinWait1, FinWait2, Cause::Segment, "rcv ACK of FIN");
}

#[test]
fn fin_wait_1_to_closing_on_fin_sends_ack() {
    let mut p = reach(FinWait1);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), Closing);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    took(FinWait1, Closing, Cause::Segment, "rcv FIN / snd ACK");
}

#[test]
fn fin_wait_2_to_time_wait_on_fin_sends_ack() {
    let mut p = reach(FinWait2);
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), TimeWait);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    took(FinWait2, TimeWait, Cause::Segment, "rcv FIN / snd ACK");
}

#[test]
fn closing_to_time_wait_on_ack_of_fin() {
    let mut p = reach(Closing);
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), TimeWait);
    sends_nothing!(p);
    took(Closing, TimeWait, Cause::Segment, "rcv ACK of FIN");
}

#[test]
fn close_wait_to_last_ack_on_close_sends_fin() {
    let mut p = reach(CloseWait);
    p.close();
    assert_eq!(p.state(), LastAck);
    sends!(p, ["<SEQ=101><ACK=302><CTL=FIN,ACK>"]);
    took(CloseWait, LastAck, Cause::Call, "CLOSE / snd FIN");
}

#[test]
fn last_ack_to_closed_on_ack_of_fin() {
    let mut p = reach(LastAck);
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    took(LastAck, Closed, Cause::Segment, "rcv ACK of FIN");
}

#[test]
fn time_wait_to_closed_on_timeout_2msl() {
    let mut p = reach(TimeWait);
    p.advance(p.policy.time_wait);
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    took(TimeWait, Closed, Cause::Timeout, "Timeout=2MSL");
}

// ----- note 2: FIN-WAIT-1 straight to TIME-WAIT --------------------------------------------------

#[test]
fn fin_wait_1_to_time_wait_on_fin_acking_our_fin_note_2() {
    let mut p = reach(FinWait1);
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), TimeWait);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    took(
        FinWait1,
        TimeWait,
        Cause::Segment,
        "rcv FIN,ACK of FIN (note 2)",
    );
}

// ----- note 3: RST from any state ----------------------------------------------------------------

#[test]
fn syn_sent_to_closed_on_rst_ack_note_3() {
    let mut p = reach(SynSent);
    p.rx_expect("<SEQ=0><ACK=101><CTL=RST,ACK>", Disposition::Reset);
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Refused), Event::Closed]
    );
    took(SynSent, Closed, Cause::Segment, "rcv RST,ACK (note 3)");
}

#[test]
fn syn_received_active_to_closed_on_rst_note_3() {
    let mut p = reach_active_syn_received(test_policy());
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Refused), Event::Closed]
    );
    took(
        SynReceived,
        Closed,
        Cause::Segment,
        "rcv RST, active open (note 3)",
    );
}

/// A RST at RCV.NXT in `state` closes with `events`, silently.
#[track_caller]
fn rst_closes(state: State, rst: &str, events: &[Event]) {
    let mut p = reach(state);
    p.rx_expect(rst, Disposition::Reset);
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), events);
}

const RESET: [Event; 2] = [Event::Error(ConnError::Reset), Event::Closed];

#[test]
fn established_to_closed_on_rst_note_3() {
    rst_closes(Established, "<SEQ=301><CTL=RST>", &RESET);
    took(Established, Closed, Cause::Segment, "rcv RST (note 3)");
}

#[test]
fn fin_wait_1_to_closed_on_rst_note_3() {
    rst_closes(FinWait1, "<SEQ=301><CTL=RST>", &RESET);
    took(FinWait1, Closed, Cause::Segment, "rcv RST (note 3)");
}

#[test]
fn fin_wait_2_to_closed_on_rst_note_3() {
    rst_closes(FinWait2, "<SEQ=301><CTL=RST>", &RESET);
    took(FinWait2, Closed, Cause::Segment, "rcv RST (note 3)");
}

#[test]
fn close_wait_to_closed_on_rst_note_3() {
    rst_closes(CloseWait, "<SEQ=302><CTL=RST>", &RESET);
    took(CloseWait, Closed, Cause::Segment, "rcv RST (note 3)");
}

#[test]
fn closing_to_closed_on_rst_note_3() {
    rst_closes(Closing, "<SEQ=302><CTL=RST>", &[Event::Closed]);
    took(Closing, Closed, Cause::Segment, "rcv RST (note 3)");
}

#[test]
fn last_ack_to_closed_on_rst_note_3() {
    rst_closes(LastAck, "<SEQ=302><CTL=RST>", &[Event::Closed]);
    took(LastAck, Closed, Cause::Segment, "rcv RST (note 3)");
}

#[test]
fn time_wait_to_closed_on_rst_note_3_rfc_1337_hazard() {
    rst_closes(TimeWait, "<SEQ=302><CTL=RST>", &[Event::Closed]);
    took(
        TimeWait,
        Closed,
        Cause::Segment,
        "rcv RST (note 3; RFC 1337 hazard)",
    );
}

// ----- ABORT from any state ----------------------------------------------------------------------

/// ABORT in `state` sends `rst` (or nothing) and closes.
#[track_caller]
fn abort_closes(state: State, rst: Option<&str>) {
    let mut p = reach(state);
    p.abort();
    assert_eq!(p.state(), Closed);
    match rst {
        Some(rst) => sends!(p, [rst]),
        None => sends_nothing!(p),
    }
    assert_eq!(p.take_events(), [Event::Closed]);
    assert_eq!(p.conn.poll_timeout(), None, "no TIME-WAIT after ABORT");
}

#[test]
fn listen_to_closed_on_abort() {
    abort_closes(Listen, None);
    took(Listen, Closed, Cause::Call, "ABORT");
}

#[test]
fn syn_sent_to_closed_on_abort() {
    abort_closes(SynSent, None);
    took(SynSent, Closed, Cause::Call, "ABORT");
}

#[test]
fn syn_received_to_closed_on_abort_sends_rst() {
    abort_closes(SynReceived, Some("<SEQ=101><ACK=301><CTL=RST,ACK>"));
    took(SynReceived, Closed, Cause::Call, "ABORT / snd RST");
}

#[test]
fn established_to_closed_on_abort_sends_rst() {
    abort_closes(Established, Some("<SEQ=101><ACK=301><CTL=RST,ACK>"));
    took(Established, Closed, Cause::Call, "ABORT / snd RST");
}

#[test]
fn fin_wait_1_to_closed_on_abort_sends_rst() {
    abort_closes(FinWait1, Some("<SEQ=102><ACK=301><CTL=RST,ACK>"));
    took(FinWait1, Closed, Cause::Call, "ABORT / snd RST");
}

#[test]
fn fin_wait_2_to_closed_on_abort_sends_rst() {
    abort_closes(FinWait2, Some("<SEQ=102><ACK=301><CTL=RST,ACK>"));
    took(FinWait2, Closed, Cause::Call, "ABORT / snd RST");
}

#[test]
fn close_wait_to_closed_on_abort_sends_rst() {
    abort_closes(CloseWait, Some("<SEQ=101><ACK=302><CTL=RST,ACK>"));
    took(CloseWait, Closed, Cause::Call, "ABORT / snd RST");
}

#[test]
fn closing_to_closed_on_abort() {
    abort_closes(Closing, None);
    took(Closing, Closed, Cause::Call, "ABORT");
}

#[test]
fn last_ack_to_closed_on_abort() {
    abort_closes(LastAck, None);
    took(LastAck, Closed, Cause::Call, "ABORT");
}

#[test]
fn time_wait_to_closed_on_abort() {
    abort_closes(TimeWait, None);
    took(TimeWait, Closed, Cause::Call, "ABORT");
}

// ----- edges added by §3.10's text ---------------------------------------------------------------

#[test]
fn syn_received_to_listen_on_syn_passive_open() {
    let mut p = reach(SynReceived);
    p.rx_expect("<SEQ=350><CTL=SYN>", Disposition::Reset);
    assert_eq!(p.state(), Listen);
    sends_nothing!(p);
    took(SynReceived, Listen, Cause::Segment, "rcv SYN, passive open");
}

#[test]
fn syn_sent_to_close_wait_on_syn_ack_fin_sends_ack() {
    let mut p = reach_with(SynSent, Policy::RFC_STRICT);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK,FIN>", Disposition::Accepted);
    assert_eq!(p.state(), CloseWait);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    took(
        SynSent,
        CloseWait,
        Cause::Segment,
        "rcv SYN,ACK,FIN / snd ACK",
    );
}

#[test]
fn syn_received_to_close_wait_on_ack_fin_sends_ack() {
    let mut p = reach(SynReceived);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), CloseWait);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    took(
        SynReceived,
        CloseWait,
        Cause::Segment,
        "rcv ACK,FIN / snd ACK",
    );
}

#[test]
fn syn_received_to_fin_wait_1_on_ack_of_syn_with_fin_queued() {
    let mut p = reach(SynReceived);
    p.write(b"q");
    p.close();
    assert_eq!(p.state(), SynReceived);
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), FinWait1);
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=1>"]);
    took(
        SynReceived,
        FinWait1,
        Cause::Segment,
        "rcv ACK of SYN, FIN queued",
    );
}

#[test]
fn syn_received_to_closing_on_ack_of_syn_and_fin_with_fin_queued() {
    let mut p = reach(SynReceived);
    p.write(b"q");
    p.close();
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), Closing);
    sends!(p, ["<SEQ=101><ACK=302><CTL=FIN,ACK><DATA=1>"]);
    took(
        SynReceived,
        Closing,
        Cause::Segment,
        "rcv ACK of SYN + FIN, FIN queued / snd ACK",
    );
}

#[test]
fn fin_wait_1_to_closed_on_data_after_close_sends_rst() {
    let mut p = reach(FinWait1);
    p.conn.orphan(&p.policy, p.now);
    p.rx_expect("<SEQ=301><ACK=101><DATA=1>", Disposition::Reset);
    assert_eq!(p.state(), Closed);
    sends!(p, ["<SEQ=101><CTL=RST>"]);
    took(
        FinWait1,
        Closed,
        Cause::Segment,
        "rcv data after close / snd RST",
    );
}

#[test]
fn time_wait_to_closed_on_newer_syn_may_2() {
    let mut p = reach(TimeWait);
    p.rx_expect("<SEQ=90000><CTL=SYN>", Disposition::Reopen);
    assert_eq!(p.state(), Closed);
    sends_nothing!(p);
    took(TimeWait, Closed, Cause::Segment, "rcv newer SYN (MAY-2)");
}

// ----- timeouts (§3.10.8) ------------------------------------------------------------------------

/// Fires the timer until the connection leaves `state`; returns the events.
#[track_caller]
fn fire_until_it_leaves(p: &mut Peer, state: State) -> Vec<Event> {
    for _ in 0..100 {
        if p.state() != state {
            return p.take_events();
        }
        p.fire();
        let _ = p.tx();
    }
    panic!("{state} never timed out");
}

const TIMED_OUT: [Event; 2] = [Event::Error(ConnError::TimedOut), Event::Closed];

#[test]
fn syn_sent_to_closed_on_syn_retries_exhausted() {
    let mut p = reach(SynSent);
    assert_eq!(fire_until_it_leaves(&mut p, SynSent), TIMED_OUT);
    assert_eq!(p.state(), Closed);
    took(SynSent, Closed, Cause::Timeout, "SYN retries exhausted");
}

#[test]
fn syn_received_to_listen_on_syn_ack_retries_exhausted_passive() {
    let mut p = reach(SynReceived);
    assert_eq!(fire_until_it_leaves(&mut p, SynReceived), []);
    assert_eq!(p.state(), Listen);
    took(
        SynReceived,
        Listen,
        Cause::Timeout,
        "SYN,ACK retries exhausted, passive",
    );
}

#[test]
fn syn_received_to_closed_on_syn_ack_retries_exhausted_active() {
    let mut p = reach_active_syn_received(test_policy());
    assert_eq!(fire_until_it_leaves(&mut p, SynReceived), TIMED_OUT);
    assert_eq!(p.state(), Closed);
    took(
        SynReceived,
        Closed,
        Cause::Timeout,
        "SYN,ACK retries exhausted, active",
    );
}

#[test]
fn established_to_closed_on_retries_user_timeout_or_keepalive() {
    let mut p = reach_with(Established, policy(|p| p.retries = 2));
    p.write(b"x");
    let _ = p.tx();
    assert_eq!(fire_until_it_leaves(&mut p, Established), TIMED_OUT);
    let mut k = reach_with(
        Established,
        policy(|p| p.keepalive = Some(Keepalive::LINUX)),
    );
    assert_eq!(fire_until_it_leaves(&mut k, Established), TIMED_OUT);
    took(
        Established,
        Closed,
        Cause::Timeout,
        "retries / user timeout / keepalive",
    );
}

#[test]
fn fin_wait_1_to_closed_on_fin_retries_or_user_timeout() {
    let mut p = reach_with(FinWait1, policy(|p| p.retries = 2));
    assert_eq!(fire_until_it_leaves(&mut p, FinWait1), TIMED_OUT);
    took(
        FinWait1,
        Closed,
        Cause::Timeout,
        "FIN retries / user timeout",
    );
}

#[test]
fn fin_wait_2_to_closed_on_fin_wait_2_timeout_or_keepalive() {
    let mut p = reach(FinWait2);
    p.conn.orphan(&p.policy, p.now);
    assert_eq!(fire_until_it_leaves(&mut p, FinWait2), [Event::Closed]);
    took(
        FinWait2,
        Closed,
        Cause::Timeout,
        "FIN-WAIT-2 timeout / keepalive",
    );
}

#[test]
fn close_wait_to_closed_on_retries_user_timeout_or_keepalive() {
    let mut p = reach_with(CloseWait, policy(|p| p.user_timeout = Some(p.min_rto)));
    p.write(b"x");
    let _ = p.tx();
    assert_eq!(fire_until_it_leaves(&mut p, CloseWait), TIMED_OUT);
    took(
        CloseWait,
        Closed,
        Cause::Timeout,
        "retries / user timeout / keepalive",
    );
}

#[test]
fn closing_to_closed_on_fin_retries_or_user_timeout() {
    let mut p = reach_with(Closing, policy(|p| p.retries = 1));
    assert_eq!(fire_until_it_leaves(&mut p, Closing), TIMED_OUT);
    took(
        Closing,
        Closed,
        Cause::Timeout,
        "FIN retries / user timeout",
    );
}

#[test]
fn last_ack_to_closed_on_fin_retries_or_user_timeout() {
    let mut p = reach_with(LastAck, policy(|p| p.retries = 1));
    assert_eq!(fire_until_it_leaves(&mut p, LastAck), TIMED_OUT);
    took(
        LastAck,
        Closed,
        Cause::Timeout,
        "FIN retries / user timeout",
    );
}

// ----- coverage ----------------------------------------------------------------------------------

/// The edges this file takes, one test each.
const TAKEN: &[(State, State, &str)] = &[
    (Closed, Listen, "passive OPEN"),
    (Closed, SynSent, "active OPEN / snd SYN"),
    (Listen, SynReceived, "rcv SYN / snd SYN,ACK"),
    (Listen, SynSent, "SEND / snd SYN"),
    (Listen, Closed, "CLOSE / delete TCB"),
    (SynSent, SynReceived, "rcv SYN / snd SYN,ACK"),
    (SynSent, Established, "rcv SYN,ACK / snd ACK"),
    (SynSent, Closed, "CLOSE / delete TCB"),
    (SynReceived, Established, "rcv ACK of SYN"),
    (SynReceived, FinWait1, "CLOSE / snd FIN"),
    (SynReceived, Listen, "rcv RST (note 1)"),
    (Established, FinWait1, "CLOSE / snd FIN"),
    (Established, CloseWait, "rcv FIN / snd ACK"),
    (FinWait1, FinWait2, "rcv ACK of FIN"),
    (FinWait1, Closing, "rcv FIN / snd ACK"),
    (FinWait2, TimeWait, "rcv FIN / snd ACK"),
    (Closing, TimeWait, "rcv ACK of FIN"),
    (CloseWait, LastAck, "CLOSE / snd FIN"),
    (LastAck, Closed, "rcv ACK of FIN"),
    (TimeWait, Closed, "Timeout=2MSL"),
    (FinWait1, TimeWait, "rcv FIN,ACK of FIN (note 2)"),
    (SynSent, Closed, "rcv RST,ACK (note 3)"),
    (SynReceived, Closed, "rcv RST, active open (note 3)"),
    (Established, Closed, "rcv RST (note 3)"),
    (FinWait1, Closed, "rcv RST (note 3)"),
    (FinWait2, Closed, "rcv RST (note 3)"),
    (CloseWait, Closed, "rcv RST (note 3)"),
    (Closing, Closed, "rcv RST (note 3)"),
    (LastAck, Closed, "rcv RST (note 3)"),
    (TimeWait, Closed, "rcv RST (note 3; RFC 1337 hazard)"),
    (Listen, Closed, "ABORT"),
    (SynSent, Closed, "ABORT"),
    (SynReceived, Closed, "ABORT / snd RST"),
    (Established, Closed, "ABORT / snd RST"),
    (FinWait1, Closed, "ABORT / snd RST"),
    (FinWait2, Closed, "ABORT / snd RST"),
    (CloseWait, Closed, "ABORT / snd RST"),
    (Closing, Closed, "ABORT"),
    (LastAck, Closed, "ABORT"),
    (TimeWait, Closed, "ABORT"),
    (SynReceived, Listen, "rcv SYN, passive open"),
    (SynSent, CloseWait, "rcv SYN,ACK,FIN / snd ACK"),
    (SynReceived, CloseWait, "rcv ACK,FIN / snd ACK"),
    (SynReceived, FinWait1, "rcv ACK of SYN, FIN queued"),
    (
        SynReceived,
        Closing,
        "rcv ACK of SYN + FIN, FIN queued / snd ACK",
    ),
    (FinWait1, Closed, "rcv data after close / snd RST"),
    (TimeWait, Closed, "rcv newer SYN (MAY-2)"),
    (SynSent, Closed, "SYN retries exhausted"),
    (SynReceived, Listen, "SYN,ACK retries exhausted, passive"),
    (SynReceived, Closed, "SYN,ACK retries exhausted, active"),
    (Established, Closed, "retries / user timeout / keepalive"),
    (FinWait1, Closed, "FIN retries / user timeout"),
    (FinWait2, Closed, "FIN-WAIT-2 timeout / keepalive"),
    (CloseWait, Closed, "retries / user timeout / keepalive"),
    (Closing, Closed, "FIN retries / user timeout"),
    (LastAck, Closed, "FIN retries / user timeout"),
];

#[test]
fn every_edge_of_the_diagram_has_a_test() {
    for e in EDGES {
        assert!(
            TAKEN
                .iter()
                .any(|&(from, to, label)| e.from == from && e.to == to && e.label == label),
            "no test takes {} --{}--> {}",
            e.from,
            e.label,
            e.to
        );
    }
    assert_eq!(TAKEN.len(), EDGES.len(), "every edge taken once");
}
