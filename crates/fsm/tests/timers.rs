//! Timeouts (RFC 9293 §3.10.8, §3.8): SYN, SYN,ACK, data and FIN retransmission with RFC 6298's
//! timer and backoff, Karn's rule, the user timeout, TIME-WAIT, the orphaned FIN-WAIT-2 timeout,
//! keepalive (RFC 9293 §3.8.4) and zero-window probes (§3.8.6.1).

mod common;
use common::*;
use tcp_fsm::{ConnError, Disposition, Duration, Event, Keepalive, Policy, SeqNum, State, Timer};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// The test policy with one change made by `f`.
fn policy(f: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = test_policy();
    f(&mut p);
    p
}

// ----- SYN ---------------------------------------------------------------------------------------

#[test]
fn syn_sent_syn_is_retransmitted_with_exponential_backoff_then_times_out() {
    let mut p = reach(State::SynSent);
    assert_eq!(p.status().rto, secs(1), "RFC 6298 §2.1: initial RTO 1 s");
    // Linux tcp_syn_retries = 6: retransmissions after 1, 2, 4, 8, 16, 32 s.
    for (i, wait) in [1, 2, 4, 8, 16, 32].into_iter().enumerate() {
        assert_eq!(
            p.timeout_in(),
            Some(secs(wait)),
            "wait before retransmission {i}"
        );
        p.fire();
        sends!(p, ["<SEQ=100><CTL=SYN>"]);
        assert_eq!(p.status().retries as usize, i + 1);
        assert_eq!(p.state(), State::SynSent);
    }
    assert_eq!(p.timeout_in(), Some(secs(64)));
    p.fire();
    assert_eq!(p.now, t0() + secs(127));
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
    assert_eq!(p.conn.error(), Some(ConnError::TimedOut));
}

#[test]
fn syn_sent_syn_retries_limit_is_the_policy_s() {
    let mut p = reach_with(State::SynSent, policy(|p| p.syn_retries = 2));
    p.fire();
    sends!(p, ["<SEQ=100><CTL=SYN>"]);
    p.fire();
    sends!(p, ["<SEQ=100><CTL=SYN>"]);
    p.fire();
    assert_eq!(p.now, t0() + secs(7));
    assert_eq!(p.state(), State::Closed);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

#[test]
fn syn_sent_backoff_is_capped_at_max_rto() {
    let mut p = reach_with(
        State::SynSent,
        policy(|p| {
            p.max_rto = secs(3);
            p.syn_retries = 10;
        }),
    );
    let mut waits = Vec::new();
    for _ in 0..5 {
        waits.push(p.timeout_in().unwrap());
        p.fire();
        let _ = p.tx();
    }
    assert_eq!(waits, [secs(1), secs(2), secs(3), secs(3), secs(3)]);
}

#[test]
fn syn_sent_timer_does_nothing_before_its_deadline() {
    let mut p = reach(State::SynSent);
    p.advance(ms(999));
    sends_nothing!(p);
    assert_eq!(p.status().retries, 0);
    p.advance(ms(1));
    sends!(p, ["<SEQ=100><CTL=SYN>"]);
}

#[test]
fn syn_sent_user_timeout_ends_the_attempt() {
    let mut p = reach_with(State::SynSent, policy(|p| p.user_timeout = Some(secs(3))));
    p.fire();
    sends!(p, ["<SEQ=100><CTL=SYN>"]);
    // The next retransmission would be at 3 s: the user timeout comes first (or together).
    assert_eq!(p.timeout_in(), Some(secs(2)));
    p.fire();
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

// ----- SYN,ACK -----------------------------------------------------------------------------------

#[test]
fn syn_received_syn_ack_is_retransmitted_then_passive_returns_to_listen() {
    let mut p = reach(State::SynReceived);
    // Linux tcp_synack_retries = 5.
    for wait in [1, 2, 4, 8, 16] {
        assert_eq!(p.timeout_in(), Some(secs(wait)));
        p.fire();
        sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
        assert_eq!(p.state(), State::SynReceived);
    }
    p.fire();
    assert_eq!(p.now, t0() + secs(63));
    assert_eq!(p.state(), State::Listen);
    sends_nothing!(p);
    assert_eq!(p.take_events(), []);
    assert_eq!(p.conn.poll_timeout(), None, "LISTEN runs no timer");
}

#[test]
fn syn_received_active_syn_ack_retransmission_times_out_to_closed() {
    let mut p = reach_active_syn_received(policy(|p| p.syn_retries = 1));
    p.fire();
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    p.fire();
    assert_eq!(p.state(), State::Closed);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

// ----- data and FIN ------------------------------------------------------------------------------

#[test]
fn established_data_is_retransmitted_with_backoff_then_times_out() {
    let mut p = reach_with(State::Established, policy(|p| p.retries = 3));
    // The handshake's RTT sample was 0: RTO = max(0 + 4*0, G) clamped to min_rto (200 ms).
    assert_eq!(p.status().rto, ms(200));
    p.write(b"0123456789");
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=10>"]);
    for wait in [200, 400, 800] {
        assert_eq!(p.timeout_in(), Some(ms(wait)));
        p.fire();
        let sent = p.tx();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=301><CTL=ACK><DATA=10>");
        assert_eq!(sent[0].payload, b"0123456789");
    }
    assert_eq!(p.timeout_in(), Some(ms(1600)));
    p.fire();
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

#[test]
fn established_retransmission_resends_only_the_oldest_segment() {
    let mut p = reach(State::Established);
    p.write(&[1; 1000]);
    sends!(
        p,
        [
            "<SEQ=101><ACK=301><CTL=ACK><DATA=536>",
            "<SEQ=637><ACK=301><CTL=ACK><DATA=464>",
        ]
    );
    p.fire();
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=536>"]);
}

#[test]
fn established_ack_of_part_restarts_the_timer_and_resets_the_count() {
    let mut p = reach(State::Established);
    p.write(&[1; 1000]);
    let _ = p.tx();
    p.fire();
    let _ = p.tx();
    assert_eq!(p.status().retries, 1);
    p.advance(ms(100));
    p.rx_expect("<SEQ=301><ACK=637><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().retries, 0);
    // RFC 6298 §5.3: restarted from now with the (backed-off) RTO.
    assert_eq!(p.timeout_in(), Some(ms(400)));
    p.fire();
    sends!(p, ["<SEQ=637><ACK=301><CTL=ACK><DATA=464>"]);
}

#[test]
fn fin_wait_1_fin_is_retransmitted_then_times_out() {
    let mut p = reach_with(State::FinWait1, policy(|p| p.retries = 2));
    p.fire();
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]);
    p.fire();
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]);
    p.fire();
    assert_eq!(p.state(), State::Closed);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

#[test]
fn fin_wait_1_data_and_fin_are_retransmitted_together() {
    let mut p = reach(State::Established);
    p.write(b"bye");
    p.close();
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=3>"]);
    p.fire();
    let sent = p.tx();
    assert_eq!(
        sent[0].to_string(),
        "<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=3>"
    );
    assert_eq!(sent[0].payload, b"bye");
}

#[test]
fn last_ack_fin_is_retransmitted() {
    let mut p = reach(State::LastAck);
    p.fire();
    sends!(p, ["<SEQ=101><ACK=302><CTL=FIN,ACK>"]);
    assert_eq!(p.state(), State::LastAck);
}

#[test]
fn closing_fin_is_retransmitted() {
    let mut p = reach(State::Closing);
    p.fire();
    sends!(p, ["<SEQ=101><ACK=302><CTL=FIN,ACK>"]);
    assert_eq!(p.state(), State::Closing);
}

#[test]
fn established_user_timeout_aborts_unacknowledged_data() {
    let mut p = reach_with(
        State::Established,
        policy(|p| p.user_timeout = Some(secs(5))),
    );
    p.write(b"x");
    let _ = p.tx();
    // Retransmissions at 0.2, 0.6, 1.4 and 3.0 s; the next would be at 6.2 s.
    for _ in 0..4 {
        p.fire();
        sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=1>"]);
    }
    assert_eq!(p.now, t0() + ms(3000));
    p.advance(secs(2) - Duration::from_micros(1));
    assert_eq!(p.state(), State::Established);
    p.advance(Duration::from_micros(1));
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

// ----- RTO from RTT samples (RFC 6298 §2) --------------------------------------------------------

#[test]
fn syn_sent_rtt_sample_sets_rto_by_rfc_6298() {
    let mut p = reach(State::SynSent);
    p.advance(ms(100));
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    let _ = p.tx();
    // SRTT = R = 100 ms, RTTVAR = R/2 = 50 ms, RTO = SRTT + 4*RTTVAR = 300 ms.
    assert_eq!(p.status().rto, ms(300));
    // A second sample R' = 50 ms: RTTVAR = 3/4*50 + 1/4*|100-50| = 50 ms,
    // SRTT = 7/8*100 + 1/8*50 = 93.75 ms, RTO = 293.75 ms.
    p.write(b"abc");
    let _ = p.tx();
    assert_eq!(p.timeout_in(), Some(ms(300)));
    p.advance(ms(50));
    p.rx_expect("<SEQ=301><ACK=104><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().rto, Duration::from_micros(293_750));
}

#[test]
fn syn_sent_small_rtt_is_clamped_to_min_rto() {
    let mut p = reach(State::SynSent);
    p.advance(ms(10));
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    assert_eq!(p.status().rto, ms(200), "Linux min RTO");
    let mut strict = reach_with(State::SynSent, Policy::RFC_STRICT);
    strict.advance(ms(10));
    strict.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    assert_eq!(strict.status().rto, secs(1), "RFC 6298 §2.4: at least 1 s");
}

#[test]
fn syn_received_rtt_sample_comes_from_the_syn_ack() {
    let mut p = reach(State::SynReceived);
    p.advance(ms(40));
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    let p2 = policy(|p| p.min_rto = ms(1));
    let mut q = reach_with(State::SynReceived, p2);
    q.advance(ms(40));
    q.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().rto, ms(200));
    assert_eq!(q.status().rto, ms(120), "40 + 4*20");
}

#[test]
fn established_karn_takes_no_sample_from_a_retransmitted_segment() {
    let mut p = reach_with(State::SynSent, policy(|p| p.min_rto = ms(1)));
    p.advance(ms(100));
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    let _ = p.tx();
    assert_eq!(p.status().rto, ms(300));
    p.write(b"a");
    let _ = p.tx();
    p.fire();
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=1>"]);
    assert_eq!(p.status().rto, ms(600), "backed off");
    // The ACK comes 50 ms after the retransmission: which transmission does it answer?
    p.advance(ms(50));
    p.rx_expect("<SEQ=301><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(
        p.status().rto,
        ms(600),
        "no sample, the backed-off RTO stays"
    );
    // New data is timed again: R = 100 ms, RTTVAR = 3/4*50 + 1/4*0, SRTT = 100 ms.
    p.write(b"b");
    let _ = p.tx();
    p.advance(ms(100));
    p.rx_expect("<SEQ=301><ACK=103><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().rto, ms(250));
}

#[test]
fn syn_sent_retransmitted_syn_falls_back_to_three_seconds() {
    // RFC 6298 §5.7: after a retransmitted SYN and no sample, RTO = 3 s once established.
    let mut p = reach(State::SynSent);
    p.fire();
    let _ = p.tx();
    p.advance(ms(500));
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    assert_eq!(p.status().rto, secs(3));
    let mut q = reach_with(State::SynSent, policy(|p| p.syn_rto_fallback = false));
    q.fire();
    let _ = q.tx();
    q.advance(ms(500));
    q.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Accepted);
    assert_eq!(
        q.status().rto,
        secs(2),
        "Karn: no sample, the backed-off RTO stays"
    );
}

#[test]
fn syn_received_repeated_syn_takes_no_sample_from_the_syn_ack() {
    // The SYN,ACK is sent again in answer to the repeated SYN: its ACK is ambiguous (Karn).
    let mut p = reach_with(State::SynReceived, policy(|p| p.min_rto = ms(1)));
    p.advance(ms(500));
    p.rx_expect("<SEQ=300><CTL=SYN>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=100><ACK=301><CTL=SYN,ACK>"]);
    p.advance(ms(10));
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(
        p.status().rto,
        secs(1),
        "neither 10 ms nor 510 ms was sampled"
    );
}

// ----- TIME-WAIT and FIN-WAIT-2 ------------------------------------------------------------------

#[test]
fn time_wait_timer_runs_the_policy_time_wait_from_entry() {
    let mut p = reach(State::FinWait2);
    p.advance(secs(5));
    p.rx_expect("<SEQ=301><ACK=102><CTL=FIN,ACK>", Disposition::Accepted);
    let _ = p.tx();
    assert_eq!(p.timeout_in(), Some(secs(60)));
    p.fire();
    assert_eq!(p.now, t0() + secs(65));
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.take_events(), [Event::PeerFin, Event::Closed]);
}

#[test]
fn fin_wait_2_orphaned_times_out_after_fin_wait2_timeout() {
    let mut p = reach(State::FinWait1);
    p.conn.orphan(&p.policy, p.now);
    assert!(p.conn.is_orphan());
    p.advance(secs(1));
    p.rx_expect("<SEQ=301><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::FinWait2);
    assert_eq!(p.status().timer, Timer::FinWait2);
    assert_eq!(p.timeout_in(), Some(secs(60)));
    p.advance(secs(60) - Duration::from_micros(1));
    assert_eq!(p.state(), State::FinWait2);
    p.advance(Duration::from_micros(1));
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(p.take_events(), [Event::Closed]);
}

#[test]
fn fin_wait_2_orphaned_later_times_out_from_the_orphan_call() {
    let mut p = reach(State::FinWait2);
    p.advance(secs(30));
    p.conn.orphan(&p.policy, p.now);
    assert_eq!(p.timeout_in(), Some(secs(60)));
    p.fire();
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn fin_wait_2_after_a_plain_close_never_times_out() {
    let mut p = reach(State::FinWait2);
    assert_eq!(p.status().timer, Timer::Idle);
    assert_eq!(p.conn.poll_timeout(), None);
    p.advance(secs(3600));
    assert_eq!(p.state(), State::FinWait2);
    assert_eq!(p.take_events(), []);
}

#[test]
fn fin_wait_2_orphaned_never_times_out_with_rfc_strict_policy() {
    let mut p = reach_with(State::FinWait2, Policy::RFC_STRICT);
    p.conn.orphan(&p.policy, p.now);
    assert_eq!(p.conn.poll_timeout(), None);
    p.advance(secs(3600));
    assert_eq!(p.state(), State::FinWait2);
}

// ----- keepalive (RFC 9293 §3.8.4) ---------------------------------------------------------------

fn keepalive() -> Policy {
    policy(|p| p.keepalive = Some(Keepalive::LINUX))
}

#[test]
fn established_keepalive_probes_after_idle() {
    let mut p = reach_with(State::Established, keepalive());
    assert_eq!(p.status().timer, Timer::Keepalive);
    assert_eq!(p.timeout_in(), Some(secs(7200)));
    p.fire();
    // <SEQ=SND.UNA-1><ACK=RCV.NXT>: the peer must answer it.
    sends!(p, ["<SEQ=100><ACK=301><CTL=ACK>"]);
    assert_eq!(p.timeout_in(), Some(secs(75)));
}

#[test]
fn established_answered_keepalive_probe_resets_the_count() {
    let mut p = reach_with(State::Established, keepalive());
    p.fire();
    let _ = p.tx();
    p.fire();
    let _ = p.tx();
    assert_eq!(p.status().retries, 2);
    p.advance(secs(10));
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().retries, 0);
    assert_eq!(
        p.timeout_in(),
        Some(secs(7200)),
        "idle again from the answer"
    );
    sends_nothing!(p);
}

#[test]
fn established_unanswered_keepalive_probes_end_in_rst_and_timeout() {
    let mut p = reach_with(State::Established, keepalive());
    for _ in 0..9 {
        p.fire();
        sends!(p, ["<SEQ=100><ACK=301><CTL=ACK>"]);
    }
    p.fire();
    assert_eq!(p.now, t0() + secs(7200 + 9 * 75));
    sends!(p, ["<SEQ=101><ACK=301><CTL=RST,ACK>"]);
    assert_eq!(p.state(), State::Closed);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

#[test]
fn established_traffic_postpones_keepalive() {
    let mut p = reach_with(State::Established, keepalive());
    p.advance(secs(7000));
    p.rx_expect("<SEQ=301><ACK=101><DATA=1>", Disposition::Accepted);
    let _ = p.tx();
    assert_eq!(p.timeout_in(), Some(secs(7200)));
    p.write(b"x");
    let _ = p.tx();
    assert_eq!(p.status().timer, Timer::Retransmit);
    p.rx_expect("<SEQ=302><ACK=102><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().timer, Timer::Keepalive);
    assert_eq!(p.timeout_in(), Some(secs(7200)));
}

#[test]
fn close_wait_and_fin_wait_2_keep_alive_too() {
    let mut p = reach_with(State::CloseWait, keepalive());
    assert_eq!(p.status().timer, Timer::Keepalive);
    p.fire();
    sends!(p, ["<SEQ=100><ACK=302><CTL=ACK>"]);
    let mut q = reach_with(State::FinWait2, keepalive());
    assert_eq!(q.status().timer, Timer::Keepalive);
    q.fire();
    sends!(q, ["<SEQ=101><ACK=301><CTL=ACK>"]);
}

#[test]
fn established_without_keepalive_runs_no_timer() {
    let p = reach(State::Established);
    assert_eq!(p.status().timer, Timer::Idle);
    assert_eq!(p.conn.poll_timeout(), None);
}

// ----- zero-window probes (RFC 9293 §3.8.6.1) ----------------------------------------------------

#[test]
fn established_data_waiting_on_a_zero_window_is_probed() {
    let mut p = reach(State::Established);
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK><WND=0>", Disposition::Accepted);
    assert_eq!(p.status().snd_wnd, 0);
    p.write(b"0123456789");
    sends_nothing!(p);
    assert_eq!(p.status().timer, Timer::Persist);
    assert_eq!(p.timeout_in(), Some(ms(200)));
    p.fire();
    sends!(p, ["<SEQ=100><ACK=301><CTL=ACK>"]);
    assert_eq!(p.timeout_in(), Some(ms(400)), "probes back off");
    // Still closed: the probe count restarts, probing goes on.
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK><WND=0>", Disposition::Accepted);
    assert_eq!(p.status().retries, 0);
    sends_nothing!(p);
    p.fire();
    sends!(p, ["<SEQ=100><ACK=301><CTL=ACK>"]);
    // The window opens: the data goes.
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><WND=100>",
        Disposition::Accepted,
    );
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=10>"]);
    assert_eq!(p.status().timer, Timer::Retransmit);
}

#[test]
fn established_window_closing_behind_acked_data_starts_probing() {
    let mut p = reach(State::Established);
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK><WND=10>", Disposition::Accepted);
    p.write(&[5; 20]);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=10>"]);
    p.rx_expect("<SEQ=301><ACK=111><CTL=ACK><WND=0>", Disposition::Accepted);
    assert_eq!(p.status().timer, Timer::Persist);
    p.fire();
    sends!(p, ["<SEQ=110><ACK=301><CTL=ACK>"]);
}

#[test]
fn established_unanswered_zero_window_probes_time_out() {
    let mut p = reach_with(State::Established, policy(|p| p.retries = 2));
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK><WND=0>", Disposition::Accepted);
    p.write(b"x");
    sends_nothing!(p);
    p.fire();
    sends!(p, ["<SEQ=100><ACK=301><CTL=ACK>"]);
    p.fire();
    sends!(p, ["<SEQ=100><ACK=301><CTL=ACK>"]);
    p.fire();
    assert_eq!(p.state(), State::Closed);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::TimedOut), Event::Closed]
    );
}

#[test]
fn established_zero_window_without_data_runs_no_persist_timer() {
    let mut p = reach(State::Established);
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK><WND=0>", Disposition::Accepted);
    assert_eq!(p.status().timer, Timer::Idle);
    assert_eq!(p.status().snd_una, SeqNum(101));
}
