//! CLOSED and LISTEN (RFC 9293 §3.10.1 OPEN, §3.10.4 CLOSE, §3.10.5 ABORT, §3.10.7.1 and
//! §3.10.7.2 SEGMENT ARRIVES), and the answers of a port with no connection.

mod common;
use common::*;
use tcp_fsm::{
    CallError, Connection, Disposition, Event, Flags, Policy, Segment, SeqNum, State, Timer,
    reset_for,
};

// ----- CLOSED ------------------------------------------------------------------------------------

#[test]
fn closed_segment_with_ack_draws_rst_at_seg_ack() {
    let mut p = reach(State::Closed);
    p.rx_expect(
        "<SEQ=300><ACK=555><CTL=ACK><DATA=4>",
        Disposition::NoConnection,
    );
    sends!(p, ["<SEQ=555><CTL=RST>"]);
    assert!(p.recv_buf.is_empty(), "data at a closed port is discarded");
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn closed_syn_draws_rst_ack_covering_the_syn() {
    let mut p = reach(State::Closed);
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::NoConnection);
    sends!(p, ["<SEQ=0><ACK=301><CTL=RST,ACK>"]);
}

#[test]
fn closed_segment_without_ack_draws_rst_ack_covering_data_and_fin() {
    let mut p = reach(State::Closed);
    // SEG.LEN = 5 octets of data + 1 for FIN.
    p.rx_expect("<SEQ=300><CTL=FIN><DATA=5>", Disposition::NoConnection);
    sends!(p, ["<SEQ=0><ACK=306><CTL=RST,ACK>"]);
}

#[test]
fn closed_segment_without_flags_draws_rst_ack() {
    let mut p = reach(State::Closed);
    p.rx_expect("<SEQ=300>", Disposition::NoConnection);
    sends!(p, ["<SEQ=0><ACK=300><CTL=RST,ACK>"]);
}

#[test]
fn closed_syn_ack_draws_rst_at_seg_ack() {
    let mut p = reach(State::Closed);
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::NoConnection);
    sends!(p, ["<SEQ=101><CTL=RST>"]);
}

#[test]
fn closed_rst_is_discarded_silently() {
    let mut p = reach(State::Closed);
    p.rx_expect("<SEQ=300><CTL=RST>", Disposition::NoConnection);
    sends_nothing!(p);
    p.rx_expect("<SEQ=300><ACK=101><CTL=RST,ACK>", Disposition::NoConnection);
    sends_nothing!(p);
    p.rx_expect("<SEQ=300><CTL=SYN,RST>", Disposition::NoConnection);
    sends_nothing!(p);
}

#[test]
fn closed_calls_report_connection_does_not_exist() {
    let mut p = reach(State::Closed);
    assert_eq!(p.conn.send(&p.policy, 10), Err(CallError::NotConnected));
    assert_eq!(p.conn.recv(&p.policy, 0), Err(CallError::NotConnected));
    assert_eq!(p.conn.close(&p.policy, p.now), Err(CallError::NotConnected));
    assert_eq!(p.conn.abort(&p.policy), Err(CallError::NotConnected));
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn closed_status_reports_closed_and_no_timer() {
    let p = reach(State::Closed);
    let st = p.status();
    assert_eq!(st.state, State::Closed);
    assert_eq!(st.timer, Timer::Idle);
    assert_eq!(p.conn.error(), None);
}

#[test]
fn closed_reset_for_follows_rfc_9293_3_10_7_1() {
    let with_ack = Segment {
        seq: SeqNum(7),
        ack: SeqNum(900),
        flags: Flags::ACK | Flags::PSH,
        payload: b"abc",
        ..Segment::default()
    };
    let rst = reset_for(&with_ack).expect("a RST answers");
    assert_eq!(rst.to_string(), "<SEQ=900><CTL=RST>");
    let without_ack = Segment {
        seq: SeqNum(u32::MAX),
        flags: Flags::SYN | Flags::FIN,
        payload: b"ab",
        ..Segment::default()
    };
    // SEG.SEQ + SEG.LEN wraps: 2^32 - 1 + 4 = 3.
    let rst = reset_for(&without_ack).expect("a RST answers");
    assert_eq!(rst.to_string(), "<SEQ=0><ACK=3><CTL=RST,ACK>");
    let a_rst = Segment {
        flags: Flags::RST | Flags::ACK,
        ..Segment::default()
    };
    assert_eq!(reset_for(&a_rst), None, "never a RST in answer to a RST");
}

// ----- OPEN --------------------------------------------------------------------------------------

#[test]
fn closed_open_passive_enters_listen_silently() {
    let mut p = Peer::listen(ISS);
    assert_eq!(p.state(), State::Listen);
    assert!(p.conn.is_passive());
    sends_nothing!(p);
    assert_eq!(p.conn.poll_timeout(), None, "LISTEN runs no timer");
    assert_eq!(p.take_events(), []);
}

#[test]
fn closed_open_active_enters_syn_sent_and_sends_syn_with_mss() {
    let mut p = Peer::connect(ISS);
    assert_eq!(p.state(), State::SynSent);
    assert!(!p.conn.is_passive());
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=100><CTL=SYN>");
    assert_eq!(sent[0].options.mss, Some(1460));
    assert_eq!(
        sent[0].options.window_scale, None,
        "the test policy offers no scaling"
    );
    assert_eq!(sent[0].window, 65535);
    assert_eq!(p.status().snd_nxt, SeqNum(101));
    assert_eq!(p.status().timer, Timer::Retransmit);
}

#[test]
fn closed_open_active_offers_window_scale_with_linux_policy() {
    let policy = Policy::LINUX;
    let mut p = Peer::connect_with(ISS, policy);
    let sent = p.tx();
    assert_eq!(
        sent[0].options.window_scale,
        Some(2),
        "128 KiB needs a shift of 2"
    );
    // RFC 7323 §2.2: the window field of a SYN is never scaled.
    assert_eq!(sent[0].window, 65535);
}

// ----- LISTEN ------------------------------------------------------------------------------------

#[test]
fn listen_syn_enters_syn_received_and_sends_syn_ack() {
    let mut p = Peer::listen(ISS);
    p.rx_expect(
        "<SEQ=300><CTL=SYN><WND=1000><MSS=1200>",
        Disposition::Accepted,
    );
    assert_eq!(p.state(), State::SynReceived);
    let sent = p.tx();
    assert_eq!(
        sent.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]
    );
    assert_eq!(sent[0].options.mss, Some(1460));
    assert_eq!(sent[0].window, 65535);
    let st = p.status();
    assert_eq!(st.irs, SeqNum(300));
    assert_eq!(st.rcv_nxt, SeqNum(301));
    assert_eq!(st.snd_una, SeqNum(100));
    assert_eq!(st.snd_nxt, SeqNum(101));
    assert_eq!(st.snd_wnd, 1000);
    assert_eq!(p.conn.send_mss(), 1200);
    assert_eq!(st.timer, Timer::Retransmit);
    assert_eq!(
        p.take_events(),
        [],
        "no event before the handshake completes"
    );
}

#[test]
fn listen_syn_without_mss_assumes_536() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Accepted);
    assert_eq!(p.conn.send_mss(), 536);
}

#[test]
fn listen_syn_with_window_scale_is_answered_with_ours() {
    let mut p = Peer::listen_with(ISS, Policy::LINUX);
    let mut syn = Seg::parse("<SEQ=300><CTL=SYN>");
    syn.options.window_scale = Some(7);
    assert_eq!(p.rx_seg(&syn), Disposition::Accepted);
    let sent = p.tx();
    assert_eq!(sent[0].to_string(), "<SEQ=100><ACK=301><CTL=SYN,ACK>");
    assert_eq!(sent[0].options.window_scale, Some(2));
    // The handshake's ACK carries a window scaled by 2^7.
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK><WND=10>", Disposition::Accepted);
    assert_eq!(p.status().snd_wnd, 10 << 7);
}

#[test]
fn listen_syn_with_data_acks_only_the_syn() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><CTL=SYN><DATA=\"early\">", Disposition::Accepted);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    assert!(
        p.recv_buf.is_empty(),
        "text on a SYN is left for the peer to send again"
    );
}

#[test]
fn listen_rst_is_ignored() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><CTL=RST>", Disposition::Ignored);
    sends_nothing!(p);
    p.rx_expect("<SEQ=300><ACK=5><CTL=RST,ACK>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_syn_rst_is_ignored() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><CTL=SYN,RST>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_ack_draws_rst_at_seg_ack() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><ACK=555><CTL=ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=555><CTL=RST>"]);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_syn_ack_draws_rst_at_seg_ack() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><ACK=42><CTL=SYN,ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=42><CTL=RST>"]);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_fin_is_ignored() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><CTL=FIN>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_segment_without_flags_is_ignored() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><DATA=3>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_syn_fin_is_dropped_with_linux_policy() {
    let mut p = Peer::listen(ISS);
    p.rx_expect("<SEQ=300><CTL=SYN,FIN>", Disposition::Ignored);
    sends_nothing!(p);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_syn_fin_opens_with_rfc_strict_policy_and_leaves_the_fin() {
    let mut p = Peer::listen_with(ISS, Policy::RFC_STRICT);
    p.rx_expect("<SEQ=300><CTL=SYN,FIN>", Disposition::Accepted);
    assert_eq!(p.state(), State::SynReceived);
    // The FIN is not acknowledged: the SYN,ACK covers the SYN only.
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
}

#[test]
fn listen_send_reports_connection_does_not_exist() {
    // RFC 9293 §3.10.2 would turn LISTEN active given a foreign socket; the core has none.
    let mut p = Peer::listen(ISS);
    assert_eq!(p.conn.send(&p.policy, 5), Err(CallError::NotConnected));
    sends_nothing!(p);
    assert_eq!(p.state(), State::Listen);
}

#[test]
fn listen_receive_has_nothing_to_consume() {
    let mut p = Peer::listen(ISS);
    assert_eq!(p.conn.recv(&p.policy, 0), Ok(()));
    assert_eq!(p.conn.recv(&p.policy, 1), Err(CallError::InvalidArgument));
}

#[test]
fn listen_close_enters_closed_silently() {
    let mut p = Peer::listen(ISS);
    p.close();
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn listen_abort_enters_closed_silently() {
    let mut p = Peer::listen(ISS);
    p.abort();
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn listen_status_reports_passive_and_iss() {
    let p = Peer::listen(ISS);
    let st = p.status();
    assert_eq!(st.state, State::Listen);
    assert!(st.passive);
    assert_eq!(st.iss, SeqNum(ISS));
    assert_eq!(st.timer, Timer::Idle);
}

#[test]
fn listen_connections_are_plain_values() {
    // Clone + Eq: the model checker holds states by value.
    let policy = test_policy();
    let a = Connection::listen(&policy, SeqNum(1));
    let b = a.clone();
    assert_eq!(a, b);
    assert_ne!(a, Connection::listen(&policy, SeqNum(2)));
}
