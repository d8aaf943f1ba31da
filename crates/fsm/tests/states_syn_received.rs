//! SYN-RECEIVED, passive (from LISTEN) and active (simultaneous open): RFC 9293 §3.10.7.4 with
//! MUST-11 (remember how the connection was opened) and RFC 5961.

mod common;
use common::*;
use tcp_fsm::{CallError, ConnError, Disposition, Event, Policy, SeqNum, State};

// ----- passive (from LISTEN) ---------------------------------------------------------------------

#[test]
fn syn_received_ack_of_syn_establishes() {
    let mut p = reach(State::SynReceived);
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><WND=3000>",
        Disposition::Accepted,
    );
    assert_eq!(p.state(), State::Established);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Established]);
    let st = p.status();
    assert_eq!(st.snd_una, SeqNum(101));
    assert_eq!(st.snd_wnd, 3000);
    assert_eq!((st.snd_wl1, st.snd_wl2), (SeqNum(301), SeqNum(101)));
}

#[test]
fn syn_received_ack_with_data_establishes_and_delivers() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><ACK=101><DATA=\"hi\">", Disposition::Accepted);
    assert_eq!(p.state(), State::Established);
    assert_eq!(p.recv_buf, b"hi");
    sends!(p, ["<SEQ=101><ACK=303><CTL=ACK>"]);
}

#[test]
fn syn_received_ack_with_fin_establishes_then_enters_close_wait() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::CloseWait);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::Established, Event::PeerFin]);
}

#[test]
fn syn_received_ack_of_nothing_new_draws_rst() {
    // SND.UNA < SEG.ACK fails: form <SEQ=SEG.ACK><CTL=RST>.
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><ACK=100><CTL=ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=100><CTL=RST>"]);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_ack_beyond_snd_nxt_draws_rst() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><ACK=900><CTL=ACK><DATA=2>", Disposition::BadAck);
    sends!(p, ["<SEQ=900><CTL=RST>"]);
    assert_eq!(p.state(), State::SynReceived);
    assert!(p.recv_buf.is_empty());
}

#[test]
fn syn_received_segment_without_ack_is_dropped() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><DATA=3>", Disposition::NoAck);
    sends_nothing!(p);
    assert!(p.recv_buf.is_empty());
    p.rx_expect("<SEQ=301><CTL=FIN>", Disposition::NoAck);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_retransmitted_syn_draws_syn_ack_again() {
    // The peer lost our SYN,ACK and repeated its SYN: fails the acceptability test; as Linux
    // (tcp_check_req), the answer is our SYN,ACK again.
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_out_of_window_segment_draws_ack() {
    // RFC 9293 §3.10.7.4: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=70000><ACK=101><DATA=1>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_rst_at_rcv_nxt_returns_passive_to_listen() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Listen);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [],
        "a passive open knows nothing of the failed attempt"
    );
    assert!(p.conn.is_passive());
    // A fresh ISS, so that the abandoned attempt's segments cannot match the next one.
    assert_ne!(p.status().iss, SeqNum(ISS));
    // And it listens again.
    p.rx_expect("<SEQ=700><CTL=SYN>", Disposition::Accepted);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_rst_ack_at_rcv_nxt_returns_passive_to_listen() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><ACK=101><CTL=RST,ACK>", Disposition::Reset);
    assert_eq!(p.state(), State::Listen);
    sends_nothing!(p);
}

#[test]
fn syn_received_in_window_rst_draws_challenge_ack() {
    // RFC 5961 §3.2, as RFC 9293 §3.10.7.4 applies it to every state but SYN-SENT.
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=305><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_out_of_window_rst_is_dropped_silently() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=200000><CTL=RST>", Disposition::Unacceptable);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_in_window_syn_returns_passive_to_listen() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=310><CTL=SYN>", Disposition::Reset);
    assert_eq!(p.state(), State::Listen);
    sends_nothing!(p);
}

#[test]
fn syn_received_syn_rst_at_rcv_nxt_returns_passive_to_listen() {
    let mut p = reach(State::SynReceived);
    p.rx_expect("<SEQ=301><CTL=SYN,RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Listen);
    sends_nothing!(p);
}

#[test]
fn syn_received_close_with_nothing_queued_sends_fin_at_once() {
    // RFC 9293 §3.10.4: no SENDs issued, so form a FIN and enter FIN-WAIT-1.
    let mut p = reach(State::SynReceived);
    p.close();
    assert_eq!(p.state(), State::FinWait1);
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]);
    // The ACK of SYN and FIN completes both.
    p.rx_expect("<SEQ=301><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::FinWait2);
    sends_nothing!(p);
}

#[test]
fn syn_received_close_with_queued_data_waits_for_established() {
    let mut p = reach(State::SynReceived);
    assert_eq!(p.write(b"abc"), 3);
    p.close();
    assert_eq!(
        p.state(),
        State::SynReceived,
        "the FIN waits for ESTABLISHED"
    );
    assert!(p.conn.fin_queued());
    sends_nothing!(p);
    assert_eq!(p.conn.send(&p.policy, 1), Err(CallError::Closing));
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::FinWait1);
    assert_eq!(p.take_events(), [Event::Established]);
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=3>"]);
}

#[test]
fn syn_received_send_is_queued_until_established() {
    let mut p = reach(State::SynReceived);
    assert_eq!(p.write(b"data"), 4);
    sends_nothing!(p);
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=301><CTL=ACK><DATA=4>");
    assert_eq!(sent[0].payload, b"data");
}

#[test]
fn syn_received_abort_sends_rst_ack_with_linux_policy() {
    let mut p = reach(State::SynReceived);
    p.abort();
    sends!(p, ["<SEQ=101><ACK=301><CTL=RST,ACK>"]);
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn syn_received_abort_sends_bare_rst_with_rfc_strict_policy() {
    let mut p = reach_with(State::SynReceived, Policy::RFC_STRICT);
    p.abort();
    sends!(p, ["<SEQ=101><CTL=RST>"]);
    assert_eq!(p.state(), State::Closed);
}

// ----- active (simultaneous open) ----------------------------------------------------------------

#[test]
fn syn_received_active_crossing_syn_ack_establishes() {
    let mut p = reach_active_syn_received(test_policy());
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::Established);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Established]);
}

#[test]
fn syn_received_active_ack_of_syn_establishes() {
    let mut p = reach_active_syn_received(test_policy());
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::Established);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Established]);
}

#[test]
fn syn_received_active_rst_at_rcv_nxt_refuses() {
    let mut p = reach_active_syn_received(test_policy());
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Refused), Event::Closed]
    );
}

#[test]
fn syn_received_active_in_window_syn_draws_challenge_ack() {
    let mut p = reach_active_syn_received(test_policy());
    p.rx_expect("<SEQ=310><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::SynReceived);
}

#[test]
fn syn_received_active_retransmitted_syn_draws_syn_ack_again() {
    let mut p = reach_active_syn_received(test_policy());
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
}

#[test]
fn syn_received_active_syn_ack_with_wrong_ack_draws_ack() {
    let mut p = reach_active_syn_received(test_policy());
    // Not the crossing SYN,ACK (its ACK is wrong): it fails the acceptability test.
    p.rx_expect("<SEQ=300><ACK=150><CTL=SYN,ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::SynReceived);
}
