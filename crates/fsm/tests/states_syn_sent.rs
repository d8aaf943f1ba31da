//! SYN-SENT (RFC 9293 §3.10.7.3 with RFC 5961 §3.2): every flag combination of an arriving
//! segment, and the application calls.

mod common;
use common::*;
use tcp_fsm::{CallError, Disposition, Event, Policy, SeqNum, State, Timer};

#[test]
fn syn_sent_syn_ack_with_acceptable_ack_establishes_and_acks() {
    let mut p = reach(State::SynSent);
    p.rx_expect(
        "<SEQ=300><ACK=101><CTL=SYN,ACK><WND=4000><MSS=1000>",
        Disposition::Accepted,
    );
    assert_eq!(p.state(), State::Established);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::Established]);
    let st = p.status();
    assert_eq!(st.irs, SeqNum(300));
    assert_eq!(st.rcv_nxt, SeqNum(301));
    assert_eq!(st.snd_una, SeqNum(101));
    assert_eq!(st.snd_wnd, 4000);
    assert_eq!((st.snd_wl1, st.snd_wl2), (SeqNum(300), SeqNum(101)));
    assert_eq!(p.conn.send_mss(), 1000);
}

#[test]
fn syn_sent_syn_ack_with_data_delivers_it() {
    let mut p = reach(State::SynSent);
    p.rx_expect(
        "<SEQ=300><ACK=101><CTL=SYN,ACK><DATA=\"hello\">",
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf, b"hello");
    sends!(p, ["<SEQ=101><ACK=306><CTL=ACK>"]);
    assert_eq!(p.status().unread, 5);
}

#[test]
fn syn_sent_syn_ack_fin_with_rfc_strict_policy_enters_close_wait() {
    let mut p = reach_with(State::SynSent, Policy::RFC_STRICT);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK,FIN>", Disposition::Accepted);
    assert_eq!(p.state(), State::CloseWait);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::Established, Event::PeerFin]);
}

#[test]
fn syn_sent_syn_ack_fin_with_linux_policy_is_dropped() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK,FIN>", Disposition::Ignored);
    assert_eq!(p.state(), State::SynSent);
    sends_nothing!(p);
}

#[test]
fn syn_sent_syn_ack_acking_iss_draws_rst() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><ACK=100><CTL=SYN,ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=100><CTL=RST>"]);
    assert_eq!(p.state(), State::SynSent);
    assert_eq!(p.take_events(), []);
}

#[test]
fn syn_sent_syn_ack_acking_beyond_snd_nxt_draws_rst() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><ACK=102><CTL=SYN,ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=102><CTL=RST>"]);
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_ack_with_unacceptable_ack_draws_rst() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><ACK=5000><CTL=ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=5000><CTL=RST>"]);
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_ack_with_acceptable_ack_but_no_syn_is_dropped() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><ACK=101><CTL=ACK>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynSent);
    assert_eq!(
        p.status().snd_una,
        SeqNum(100),
        "SND.UNA moves only with a SYN"
    );
}

#[test]
fn syn_sent_rst_with_acceptable_ack_refuses() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=0><ACK=101><CTL=RST,ACK>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(tcp_fsm::ConnError::Refused), Event::Closed]
    );
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn syn_sent_rst_without_ack_is_ignored() {
    // RFC 5961 §3.2 / RFC 9293: only a RST whose ACK acknowledges the SYN is acceptable.
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><CTL=RST>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_rst_with_unacceptable_ack_is_dropped_without_reply() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=0><ACK=99><CTL=RST,ACK>", Disposition::BadAck);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_syn_enters_syn_received_and_sends_syn_ack() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><CTL=SYN><WND=2000>", Disposition::Accepted);
    assert_eq!(p.state(), State::SynReceived);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    assert_eq!(p.take_events(), []);
    let st = p.status();
    assert!(!st.passive);
    assert_eq!(st.rcv_nxt, SeqNum(301));
    assert_eq!(st.snd_una, SeqNum(100));
    assert_eq!(st.snd_wnd, 2000);
}

#[test]
fn syn_sent_syn_rst_without_ack_is_ignored() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><CTL=SYN,RST>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_syn_ack_rst_with_acceptable_ack_refuses() {
    // RST is checked before SYN.
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK,RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
}

#[test]
fn syn_sent_syn_fin_with_linux_policy_is_dropped() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><CTL=SYN,FIN>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_syn_fin_with_rfc_strict_policy_opens_simultaneously_without_the_fin() {
    let mut p = reach_with(State::SynSent, Policy::RFC_STRICT);
    p.rx_expect("<SEQ=300><CTL=SYN,FIN>", Disposition::Accepted);
    assert_eq!(p.state(), State::SynReceived);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
}

#[test]
fn syn_sent_fin_is_dropped() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><CTL=FIN>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_segment_without_flags_is_dropped() {
    let mut p = reach(State::SynSent);
    p.rx_expect("<SEQ=300><DATA=3>", Disposition::Ignored);
    sends_nothing!(p);
    assert!(p.recv_buf.is_empty());
    assert_eq!(p.state(), State::SynSent);
}

#[test]
fn syn_sent_send_queues_data_until_established() {
    let mut p = reach(State::SynSent);
    assert_eq!(p.write(b"abc"), 3);
    sends_nothing!(p);
    assert_eq!(p.status().unsent, 3);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    // The queued data rides on the handshake's ACK.
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=301><CTL=ACK><DATA=3>");
    assert_eq!(sent[0].payload, b"abc");
}

#[test]
fn syn_sent_send_before_the_syn_is_polled_keeps_data_after_the_syn() {
    let mut p = Peer::connect(ISS);
    assert_eq!(p.write(b"xy"), 2);
    assert_eq!(p.status().unsent, 2);
    sends!(p, ["<SEQ=100><CTL=SYN>"]);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=2>"]);
}

#[test]
fn syn_sent_close_deletes_the_tcb_silently() {
    let mut p = reach(State::SynSent);
    p.close();
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    // Linux: a SYN,ACK arriving later is answered with RST.
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::NoConnection);
    sends!(p, ["<SEQ=101><CTL=RST>"]);
}

#[test]
fn syn_sent_abort_sends_nothing() {
    let mut p = reach(State::SynSent);
    p.abort();
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn syn_sent_receive_has_nothing_to_consume() {
    let mut p = reach(State::SynSent);
    assert_eq!(p.conn.recv(&p.policy, 0), Ok(()));
    assert_eq!(p.conn.recv(&p.policy, 1), Err(CallError::InvalidArgument));
}

#[test]
fn syn_sent_status_shows_the_syn_outstanding() {
    let p = reach(State::SynSent);
    let st = p.status();
    assert_eq!(st.state, State::SynSent);
    assert_eq!(st.iss, SeqNum(100));
    assert_eq!((st.snd_una, st.snd_nxt), (SeqNum(100), SeqNum(101)));
    assert_eq!(st.timer, Timer::Retransmit);
    assert_eq!(st.retries, 0);
    assert!(!st.passive);
}
