//! TIME-WAIT (RFC 9293 §3.10.7.4, §3.6.1) with RFC 5961, RFC 1337 and MAY-2 reopening, both
//! in a [`Connection`](tcp_fsm::Connection) and in the compact [`TimeWait`] entry.
//!
//! The connection is the harness's [`reach`]: SND.NXT = 102, RCV.NXT = 302, entered at `t0()`.

mod common;
use common::*;
use tcp_fsm::{
    CallError, Disposition, Duration, Event, Instant, Policy, SeqNum, State, TimeWait,
    TimeWaitVerdict, Timer,
};

fn tw() -> Peer {
    reach(State::TimeWait)
}

fn tw_with(policy: Policy) -> Peer {
    reach_with(State::TimeWait, policy)
}

#[test]
fn time_wait_lasts_exactly_the_policy_time_wait() {
    let mut p = tw();
    assert_eq!(p.status().timer, Timer::TimeWait);
    assert_eq!(p.timeout_in(), Some(Duration::from_secs(60)));
    p.advance(Duration::from_secs(60) - Duration::from_micros(1));
    assert_eq!(p.state(), State::TimeWait);
    assert_eq!(p.take_events(), []);
    p.advance(Duration::from_micros(1));
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn time_wait_lasts_four_minutes_with_rfc_strict_policy() {
    let mut p = tw_with(Policy::RFC_STRICT);
    assert_eq!(p.timeout_in(), Some(Duration::from_secs(240)));
    p.fire();
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn time_wait_retransmitted_fin_is_acked_and_restarts_timer() {
    let mut p = tw();
    p.advance(Duration::from_secs(40));
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.timeout_in(), Some(Duration::from_secs(60)));
    p.advance(Duration::from_secs(59));
    assert_eq!(
        p.state(),
        State::TimeWait,
        "the restarted timer has not run out"
    );
    p.advance(Duration::from_secs(1));
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn time_wait_retransmitted_fin_with_data_is_acked() {
    let mut p = reach(State::FinWait2);
    p.rx_expect(
        "<SEQ=301><ACK=102><CTL=FIN,ACK><DATA=4>",
        Disposition::Accepted,
    );
    sends!(p, ["<SEQ=102><ACK=306><CTL=ACK>"]);
    assert_eq!(p.state(), State::TimeWait);
    p.rx_expect(
        "<SEQ=301><ACK=102><CTL=FIN,ACK><DATA=4>",
        Disposition::Accepted,
    );
    sends!(p, ["<SEQ=102><ACK=306><CTL=ACK>"]);
    assert_eq!(p.recv_buf.len(), 4, "nothing delivered twice");
}

#[test]
fn time_wait_old_duplicate_ack_draws_ack() {
    let mut p = tw();
    p.rx_expect("<SEQ=290><ACK=102><CTL=ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::TimeWait);
}

#[test]
fn time_wait_old_data_draws_ack() {
    let mut p = tw();
    p.rx_expect(
        "<SEQ=250><ACK=102><CTL=ACK><DATA=10>",
        Disposition::Unacceptable,
    );
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
}

#[test]
fn time_wait_in_window_ack_is_dropped_silently() {
    let mut p = tw();
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::Accepted);
    sends_nothing!(p);
    assert_eq!(p.state(), State::TimeWait);
    assert_eq!(p.timeout_in(), Some(Duration::from_secs(60)));
}

#[test]
fn time_wait_in_window_data_is_ignored() {
    let mut p = tw();
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK><DATA=3>", Disposition::Accepted);
    assert!(p.recv_buf.is_empty(), "nothing can follow the peer's FIN");
    assert_eq!(p.status().rcv_nxt, SeqNum(302));
}

#[test]
fn time_wait_rst_at_rcv_nxt_closes_without_rfc1337() {
    let mut p = tw();
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn time_wait_rst_at_rcv_nxt_is_ignored_with_rfc1337() {
    let mut p = tw_with(Policy {
        rfc1337: true,
        ..test_policy()
    });
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::Ignored);
    assert_eq!(p.state(), State::TimeWait);
    sends_nothing!(p);
    assert_eq!(p.timeout_in(), Some(Duration::from_secs(60)));
}

#[test]
fn time_wait_in_window_rst_draws_challenge_ack() {
    let mut p = tw();
    p.rx_expect("<SEQ=303><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::TimeWait);
}

#[test]
fn time_wait_out_of_window_rst_is_dropped_silently() {
    let mut p = tw();
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Unacceptable);
    sends_nothing!(p);
    assert_eq!(p.state(), State::TimeWait);
}

#[test]
fn time_wait_newer_syn_reopens_with_linux_policy() {
    let mut p = tw();
    let entry = p.conn.time_wait_entry(&p.policy);
    p.rx_expect("<SEQ=5000><CTL=SYN>", Disposition::Reopen);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
    // The new incarnation's ISS lies beyond anything this one sent.
    assert_eq!(entry.reopen_iss(), SeqNum(102 + 65_537));
}

#[test]
fn time_wait_older_syn_draws_challenge_ack() {
    let mut p = tw();
    p.rx_expect("<SEQ=200><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::TimeWait);
}

#[test]
fn time_wait_syn_ack_draws_challenge_ack() {
    let mut p = tw();
    p.rx_expect(
        "<SEQ=5000><ACK=102><CTL=SYN,ACK>",
        Disposition::ChallengeAck,
    );
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::TimeWait);
}

#[test]
fn time_wait_newer_syn_draws_challenge_ack_with_rfc_strict_policy() {
    let mut p = tw_with(Policy::RFC_STRICT);
    p.rx_expect("<SEQ=5000><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    assert_eq!(p.state(), State::TimeWait);
}

#[test]
fn time_wait_syn_rst_is_handled_as_rst() {
    let mut p = tw();
    p.rx_expect("<SEQ=302><CTL=SYN,RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
}

#[test]
fn time_wait_acks_are_rate_limited_but_data_and_fin_are_always_answered() {
    let mut p = tw_with(Policy {
        invalid_ratelimit: Duration::from_millis(500),
        ..test_policy()
    });
    p.rx_expect("<SEQ=290><ACK=102><CTL=ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    p.advance(Duration::from_millis(100));
    p.rx_expect("<SEQ=290><ACK=102><CTL=ACK>", Disposition::Unacceptable);
    sends_nothing!(p);
    p.rx_expect("<SEQ=303><CTL=RST>", Disposition::Unacceptable);
    sends_nothing!(p);
    p.rx_expect("<SEQ=200><CTL=SYN>", Disposition::Unacceptable);
    sends_nothing!(p);
    p.rx_expect(
        "<SEQ=250><ACK=102><CTL=ACK><DATA=10>",
        Disposition::Unacceptable,
    );
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
    p.advance(Duration::from_millis(400));
    p.rx_expect("<SEQ=290><ACK=102><CTL=ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=102><ACK=302><CTL=ACK>"]);
}

#[test]
fn time_wait_calls_report_closing_and_abort_closes_silently() {
    let mut p = tw();
    assert_eq!(p.conn.close(&p.policy, p.now), Err(CallError::Closing));
    assert_eq!(p.conn.send(&p.policy, 1), Err(CallError::Closing));
    p.abort();
    sends_nothing!(p);
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn time_wait_receive_still_drains_unread_data() {
    let mut p = reach(State::FinWait2);
    p.rx_expect(
        "<SEQ=301><ACK=102><CTL=FIN,ACK><DATA=\"last\">",
        Disposition::Accepted,
    );
    let _ = p.tx();
    assert_eq!(p.state(), State::TimeWait);
    assert_eq!(p.read_all(), b"last");
    sends_nothing!(p);
}

// ----- the compact entry -------------------------------------------------------------------------

#[test]
fn time_wait_entry_matches_the_connection() {
    let p = tw();
    let entry = p.conn.time_wait_entry(&p.policy);
    assert_eq!(entry.snd_nxt, SeqNum(102));
    assert_eq!(entry.rcv_nxt, SeqNum(302));
    assert_eq!(entry.deadline, t0() + Duration::from_secs(60));
    assert_eq!(entry.rcv_wnd(), 65535);
    assert_eq!(
        entry.ack_segment().to_string(),
        "<SEQ=102><ACK=302><CTL=ACK>"
    );
    assert!(!entry.expired(t0() + Duration::from_secs(59)));
    assert!(entry.expired(t0() + Duration::from_secs(60)));
}

#[test]
fn time_wait_entry_verdicts_follow_the_connection() {
    let policy = test_policy();
    let mut entry = TimeWait {
        snd_nxt: SeqNum(102),
        rcv_nxt: SeqNum(302),
        deadline: Instant::from_millis(10_000),
        last_invalid: Instant::NEVER,
        window: 1000,
        rcv_wscale: 0,
    };
    let at = Instant::from_millis(5_000);
    let seg = |text: &str| Seg::parse(text);
    let verdict = |e: &mut TimeWait, s: &Seg| e.handle_segment(&policy, at, &s.as_segment());
    assert_eq!(
        verdict(&mut entry, &seg("<SEQ=301><ACK=102><CTL=FIN,ACK>")),
        TimeWaitVerdict::AckFin
    );
    assert_eq!(entry.deadline, at + policy.time_wait, "2*MSL restarted");
    assert_eq!(
        verdict(&mut entry, &seg("<SEQ=290><ACK=102><CTL=ACK>")),
        TimeWaitVerdict::Ack
    );
    assert_eq!(
        verdict(&mut entry, &seg("<SEQ=302><CTL=RST>")),
        TimeWaitVerdict::Closed
    );
    assert_eq!(
        verdict(&mut entry, &seg("<SEQ=303><CTL=RST>")),
        TimeWaitVerdict::ChallengeAck
    );
    assert_eq!(
        verdict(&mut entry, &seg("<SEQ=1302><CTL=RST>")),
        TimeWaitVerdict::Drop(Disposition::Unacceptable),
        "beyond the 1000-octet window"
    );
    assert_eq!(
        verdict(&mut entry, &seg("<SEQ=400><CTL=SYN>")),
        TimeWaitVerdict::Reopen
    );
    assert_eq!(
        verdict(&mut entry, &seg("<SEQ=302><ACK=102><CTL=ACK>")),
        TimeWaitVerdict::Drop(Disposition::Accepted)
    );
    let rfc1337 = Policy {
        rfc1337: true,
        ..policy
    };
    let rst = seg("<SEQ=302><CTL=RST>");
    assert_eq!(
        entry.handle_segment(&rfc1337, at, &rst.as_segment()),
        TimeWaitVerdict::Drop(Disposition::Ignored)
    );
}
