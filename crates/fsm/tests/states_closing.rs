//! The closing states: FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING and LAST-ACK
//! (RFC 9293 §3.10.4 CLOSE, §3.10.5 ABORT, §3.10.7.4 SEGMENT ARRIVES), and Linux's reset of data
//! that arrives after the application stopped reading.
//!
//! Sequence numbers are those of the harness's [`reach`] (our ISS 100, the peer's 300).

mod common;
use common::*;
use tcp_fsm::{CallError, ConnError, Disposition, Event, Policy, SeqNum, State, Timer};

// ----- FIN-WAIT-1: SND.UNA = 101, SND.NXT = 102 (our FIN), RCV.NXT = 301 ------------------------

#[test]
fn fin_wait_1_ack_of_fin_enters_fin_wait_2() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::FinWait2);
    sends_nothing!(p);
    assert_eq!(p.take_events(), []);
    assert_eq!(p.status().snd_una, SeqNum(102));
}

#[test]
fn fin_wait_1_ack_of_data_but_not_fin_stays() {
    let mut p = reach(State::Established);
    p.write(b"abcde");
    p.close();
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=5>"]);
    p.rx_expect("<SEQ=301><ACK=106><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::FinWait1);
    assert!(
        p.send_buf.is_empty(),
        "the data is acknowledged and released"
    );
    assert_eq!(
        p.status().timer,
        Timer::Retransmit,
        "the FIN is still outstanding"
    );
    p.rx_expect("<SEQ=301><ACK=107><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::FinWait2);
}

#[test]
fn fin_wait_1_fin_enters_closing() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::Closing);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::PeerFin]);
}

#[test]
fn fin_wait_1_fin_acking_our_fin_enters_time_wait() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::TimeWait);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::PeerFin]);
    assert_eq!(p.status().timer, Timer::TimeWait);
}

#[test]
fn fin_wait_1_data_is_delivered_and_acked() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><ACK=101><DATA=\"more\">", Disposition::Accepted);
    assert_eq!(p.recv_buf, b"more");
    sends!(p, ["<SEQ=102><ACK=305><CTL=ACK>"]);
    assert_eq!(p.state(), State::FinWait1);
}

#[test]
fn fin_wait_1_data_after_shutdown_read_resets() {
    let mut p = reach(State::FinWait1);
    p.conn.shutdown_read();
    p.rx_expect("<SEQ=301><ACK=101><DATA=3>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    // Linux answers the segment as a closed port would: <SEQ=SEG.ACK><CTL=RST>.
    sends!(p, ["<SEQ=101><CTL=RST>"]);
    assert!(p.recv_buf.is_empty());
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
}

#[test]
fn fin_wait_1_bare_ack_after_shutdown_read_is_processed() {
    let mut p = reach(State::FinWait1);
    p.conn.shutdown_read();
    p.rx_expect("<SEQ=301><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::FinWait2);
    sends_nothing!(p);
}

#[test]
fn fin_wait_1_rst_at_rcv_nxt_resets() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
}

#[test]
fn fin_wait_1_in_window_rst_draws_challenge_ack() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=400><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::FinWait1);
}

#[test]
fn fin_wait_1_syn_draws_challenge_ack() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::FinWait1);
}

#[test]
fn fin_wait_1_ack_of_unsent_draws_ack() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><ACK=103><CTL=ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=102><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::FinWait1);
}

#[test]
fn fin_wait_1_segment_without_ack_is_dropped() {
    let mut p = reach(State::FinWait1);
    p.rx_expect("<SEQ=301><CTL=FIN>", Disposition::NoAck);
    sends_nothing!(p);
    assert_eq!(p.state(), State::FinWait1);
}

#[test]
fn fin_wait_1_close_again_is_accepted_and_sends_no_second_fin() {
    let mut p = reach(State::FinWait1);
    assert_eq!(p.conn.close(&p.policy, p.now), Ok(()));
    sends_nothing!(p);
    assert_eq!(p.state(), State::FinWait1);
}

#[test]
fn fin_wait_1_send_reports_closing() {
    let mut p = reach(State::FinWait1);
    assert_eq!(p.conn.send(&p.policy, 1), Err(CallError::Closing));
}

#[test]
fn fin_wait_1_abort_sends_rst_ack() {
    let mut p = reach(State::FinWait1);
    p.abort();
    sends!(p, ["<SEQ=102><ACK=301><CTL=RST,ACK>"]);
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.take_events(), [Event::Closed]);
}

// ----- FIN-WAIT-2: SND.UNA = SND.NXT = 102, RCV.NXT = 301 ----------------------------------------

#[test]
fn fin_wait_2_fin_enters_time_wait() {
    let mut p = reach(State::FinWait2);
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::TimeWait);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::PeerFin]);
}

#[test]
fn fin_wait_2_data_is_delivered_and_acked() {
    let mut p = reach(State::FinWait2);
    p.rx_expect("<SEQ=301><ACK=102><DATA=\"late\">", Disposition::Accepted);
    assert_eq!(p.recv_buf, b"late");
    sends!(p, ["<SEQ=102><ACK=305><CTL=ACK>"]);
    assert_eq!(p.state(), State::FinWait2);
}

#[test]
fn fin_wait_2_data_and_fin_deliver_then_enter_time_wait() {
    let mut p = reach(State::FinWait2);
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN><DATA=2>", Disposition::Accepted);
    assert_eq!(p.recv_buf.len(), 2);
    assert_eq!(p.state(), State::TimeWait);
    sends!(p, ["<SEQ=102><ACK=304><CTL=ACK>"]);
}

#[test]
fn fin_wait_2_data_after_shutdown_read_resets() {
    let mut p = reach(State::FinWait2);
    p.conn.shutdown_read();
    p.rx_expect("<SEQ=301><ACK=102><DATA=1>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends!(p, ["<SEQ=102><CTL=RST>"]);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
}

#[test]
fn fin_wait_2_out_of_order_data_after_shutdown_read_resets() {
    // Linux resets on any new data (end_seq after RCV.NXT), in order or not.
    let mut p = reach(State::FinWait2);
    p.conn.shutdown_read();
    p.rx_expect("<SEQ=310><ACK=102><DATA=1>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends!(p, ["<SEQ=102><CTL=RST>"]);
}

#[test]
fn fin_wait_2_old_data_after_shutdown_read_draws_ack() {
    // Nothing new in it: an ordinary duplicate, not a reason to reset.
    let mut p = reach(State::FinWait2);
    p.conn.shutdown_read();
    p.rx_expect("<SEQ=290><ACK=102><DATA=5>", Disposition::Unacceptable);
    assert_eq!(p.state(), State::FinWait2);
    sends!(p, ["<SEQ=102><ACK=301><CTL=ACK>"]);
}

#[test]
fn fin_wait_2_fin_after_shutdown_read_enters_time_wait() {
    // A FIN without data is no data for the application: no reset.
    let mut p = reach(State::FinWait2);
    p.conn.shutdown_read();
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::TimeWait);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
}

#[test]
fn fin_wait_2_rst_at_rcv_nxt_resets() {
    let mut p = reach(State::FinWait2);
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
}

#[test]
fn fin_wait_2_in_window_rst_draws_challenge_ack() {
    let mut p = reach(State::FinWait2);
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=301><CTL=ACK>"]);
}

#[test]
fn fin_wait_2_syn_draws_challenge_ack() {
    let mut p = reach(State::FinWait2);
    p.rx_expect("<SEQ=9000><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::FinWait2);
}

#[test]
fn fin_wait_2_out_of_window_segment_draws_ack() {
    let mut p = reach(State::FinWait2);
    p.rx_expect(
        "<SEQ=200><ACK=102><CTL=ACK><DATA=1>",
        Disposition::Unacceptable,
    );
    sends!(p, ["<SEQ=102><ACK=301><CTL=ACK>"]);
}

#[test]
fn fin_wait_2_close_again_is_accepted_and_sends_nothing() {
    let mut p = reach(State::FinWait2);
    assert_eq!(p.conn.close(&p.policy, p.now), Ok(()));
    sends_nothing!(p);
    assert_eq!(p.state(), State::FinWait2);
}

#[test]
fn fin_wait_2_abort_sends_rst_ack() {
    let mut p = reach(State::FinWait2);
    p.abort();
    sends!(p, ["<SEQ=102><ACK=301><CTL=RST,ACK>"]);
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn fin_wait_2_abort_sends_bare_rst_with_rfc_strict_policy() {
    let mut p = reach_with(State::FinWait2, Policy::RFC_STRICT);
    p.abort();
    sends!(p, ["<SEQ=102><CTL=RST>"]);
}

// ----- CLOSE-WAIT: SND.NXT = 101, RCV.NXT = 302 --------------------------------------------------

#[test]
fn close_wait_close_sends_fin_and_enters_last_ack() {
    let mut p = reach(State::CloseWait);
    p.close();
    assert_eq!(p.state(), State::LastAck);
    sends!(p, ["<SEQ=101><ACK=302><CTL=FIN,ACK>"]);
}

#[test]
fn close_wait_send_is_still_allowed() {
    let mut p = reach(State::CloseWait);
    assert_eq!(p.write(b"reply"), 5);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK><DATA=5>"]);
    p.rx_expect("<SEQ=302><ACK=106><CTL=ACK>", Disposition::Accepted);
    assert!(p.send_buf.is_empty());
    assert_eq!(p.state(), State::CloseWait);
}

#[test]
fn close_wait_receive_drains_what_arrived_before_the_fin() {
    let mut p = reach(State::Established);
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=FIN><DATA=\"xy\">",
        Disposition::Accepted,
    );
    assert_eq!(p.state(), State::CloseWait);
    assert_eq!(p.read_all(), b"xy");
    assert_eq!(p.conn.unread(), 0);
    // No window update in CLOSE-WAIT: the peer sends no more.
    sends!(p, ["<SEQ=101><ACK=304><CTL=ACK>"]);
    sends_nothing!(p);
}

#[test]
fn close_wait_retransmitted_fin_draws_ack() {
    let mut p = reach(State::CloseWait);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::CloseWait);
    assert_eq!(p.take_events(), [], "no second PeerFin");
}

#[test]
fn close_wait_text_after_the_fin_is_ignored() {
    let mut p = reach(State::CloseWait);
    p.rx_expect("<SEQ=302><ACK=101><DATA=3>", Disposition::Accepted);
    assert!(p.recv_buf.is_empty());
    assert_eq!(p.status().rcv_nxt, SeqNum(302));
    assert_eq!(p.state(), State::CloseWait);
}

#[test]
fn close_wait_rst_at_rcv_nxt_resets() {
    let mut p = reach(State::CloseWait);
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
}

#[test]
fn close_wait_in_window_rst_draws_challenge_ack() {
    let mut p = reach(State::CloseWait);
    p.rx_expect("<SEQ=303><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
}

#[test]
fn close_wait_syn_draws_challenge_ack() {
    let mut p = reach(State::CloseWait);
    p.rx_expect("<SEQ=302><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::CloseWait);
}

#[test]
fn close_wait_ack_of_unsent_draws_ack() {
    let mut p = reach(State::CloseWait);
    p.rx_expect("<SEQ=302><ACK=150><CTL=ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
}

#[test]
fn close_wait_abort_sends_rst_ack() {
    let mut p = reach(State::CloseWait);
    p.abort();
    sends!(p, ["<SEQ=101><ACK=302><CTL=RST,ACK>"]);
    assert_eq!(p.state(), State::Closed);
}

// ----- CLOSING: SND.UNA = 101, SND.NXT = 102, RCV.NXT = 302 ---------------------------------------

#[test]
fn closing_ack_of_fin_enters_time_wait() {
    let mut p = reach(State::Closing);
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::TimeWait);
    sends_nothing!(p);
    assert_eq!(p.status().timer, Timer::TimeWait);
}

#[test]
fn closing_ack_not_of_fin_stays() {
    let mut p = reach(State::Closing);
    p.rx_expect("<SEQ=302><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::Closing);
    sends_nothing!(p);
}

#[test]
fn closing_retransmitted_fin_draws_ack() {
    let mut p = reach(State::Closing);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::Closing);
}

#[test]
fn closing_rst_at_rcv_nxt_closes() {
    let mut p = reach(State::Closing);
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn closing_in_window_rst_draws_challenge_ack() {
    let mut p = reach(State::Closing);
    p.rx_expect("<SEQ=310><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
}

#[test]
fn closing_syn_draws_challenge_ack() {
    let mut p = reach(State::Closing);
    p.rx_expect("<SEQ=302><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::Closing);
}

#[test]
fn closing_calls_report_closing_and_abort_sends_nothing() {
    let mut p = reach(State::Closing);
    assert_eq!(p.conn.close(&p.policy, p.now), Err(CallError::Closing));
    assert_eq!(p.conn.send(&p.policy, 1), Err(CallError::Closing));
    p.abort();
    sends_nothing!(p);
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.take_events(), [Event::Closed]);
}

// ----- LAST-ACK: SND.UNA = 101, SND.NXT = 102, RCV.NXT = 302 --------------------------------------

#[test]
fn last_ack_ack_of_fin_closes() {
    let mut p = reach(State::LastAck);
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn last_ack_ack_not_of_fin_stays() {
    let mut p = reach(State::LastAck);
    p.rx_expect("<SEQ=302><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::LastAck);
    sends_nothing!(p);
}

#[test]
fn last_ack_retransmitted_fin_draws_ack() {
    let mut p = reach(State::LastAck);
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::LastAck);
}

#[test]
fn last_ack_rst_at_rcv_nxt_closes() {
    let mut p = reach(State::LastAck);
    p.rx_expect("<SEQ=302><ACK=101><CTL=RST,ACK>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn last_ack_in_window_rst_draws_challenge_ack() {
    let mut p = reach(State::LastAck);
    p.rx_expect("<SEQ=303><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
}

#[test]
fn last_ack_syn_draws_challenge_ack() {
    let mut p = reach(State::LastAck);
    p.rx_expect("<SEQ=302><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::LastAck);
}

#[test]
fn last_ack_calls_report_closing_and_abort_sends_nothing() {
    let mut p = reach(State::LastAck);
    assert_eq!(p.conn.close(&p.policy, p.now), Err(CallError::Closing));
    assert_eq!(p.conn.send(&p.policy, 1), Err(CallError::Closing));
    p.abort();
    sends_nothing!(p);
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn last_ack_completed_keeps_no_state_and_answers_rst() {
    // Linux: after LAST-ACK completes, any further segment for the tuple gets a RST.
    let mut p = reach(State::LastAck);
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::Accepted);
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::NoConnection);
    sends!(p, ["<SEQ=102><CTL=RST>"]);
}

// ----- flag combinations common to the closing states --------------------------------------------

const CLOSING_STATES: [State; 5] = [
    State::FinWait1,
    State::FinWait2,
    State::CloseWait,
    State::Closing,
    State::LastAck,
];

/// RCV.NXT in the state, from the harness's table.
fn rcv_nxt(state: State) -> u32 {
    if state.remote_closed() { 302 } else { 301 }
}

#[test]
fn closing_states_segment_without_ack_is_dropped() {
    for state in CLOSING_STATES {
        let mut p = reach(state);
        let seq = rcv_nxt(state);
        p.rx_expect(&format!("<SEQ={seq}>"), Disposition::NoAck);
        p.rx_expect(&format!("<SEQ={seq}><DATA=2>"), Disposition::NoAck);
        sends_nothing!(p);
        assert_eq!(p.state(), state);
        assert!(p.recv_buf.is_empty());
    }
}

#[test]
fn closing_states_syn_fin_draws_challenge_ack() {
    for state in CLOSING_STATES {
        let mut p = reach(state);
        let seq = rcv_nxt(state);
        p.rx_expect(
            &format!("<SEQ={seq}><CTL=SYN,FIN>"),
            Disposition::ChallengeAck,
        );
        assert_eq!(p.tx().len(), 1, "{state}: one challenge ACK");
        assert_eq!(p.state(), state);
    }
}

#[test]
fn closing_states_out_of_window_rst_is_dropped_silently() {
    for state in CLOSING_STATES {
        let mut p = reach(state);
        p.rx_expect("<SEQ=100000><CTL=RST>", Disposition::Unacceptable);
        sends_nothing!(p);
        assert_eq!(p.state(), state);
    }
}
