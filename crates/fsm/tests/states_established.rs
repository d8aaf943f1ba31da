//! ESTABLISHED (RFC 9293 §3.10.2 SEND, §3.10.3 RECEIVE, §3.10.7.4 SEGMENT ARRIVES): the
//! acceptability test, RST and SYN with RFC 5961's challenge ACKs and their rate limit, ACK
//! validation, the window update rule, text, FIN, and the sans-IO buffer contract.
//!
//! The connection under test is the harness's [`reach`]: SND.NXT = 101, RCV.NXT = 301, the
//! peer's window 65535, our receive window 65535 (so the window's right edge is 65836), MSS 536.

mod common;
use common::*;
use tcp_fsm::{
    CallError, ConnError, Disposition, Duration, Event, Policy, SeqNum, State, Timer, acceptable,
};

fn est() -> Peer {
    reach(State::Established)
}

/// ESTABLISHED with a receive buffer of `buffer` octets.
fn est_with_buffer(buffer: u32) -> Peer {
    reach_with(
        State::Established,
        Policy {
            recv_buffer: buffer,
            ..test_policy()
        },
    )
}

// ----- SEND --------------------------------------------------------------------------------------

#[test]
fn established_send_transmits_data_with_ack() {
    let mut p = est();
    assert_eq!(p.write(b"0123456789"), 10);
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=301><CTL=ACK><DATA=10>");
    assert_eq!(sent[0].payload, b"0123456789");
    assert_eq!(sent[0].window, 65535);
    let st = p.status();
    assert_eq!(st.snd_nxt, SeqNum(111));
    assert_eq!(st.timer, Timer::Retransmit);
    assert_eq!(st.unsent, 0);
}

#[test]
fn established_send_splits_data_at_the_mss() {
    let mut p = est();
    assert_eq!(p.write(&[7; 1200]), 1200);
    sends!(
        p,
        [
            "<SEQ=101><ACK=301><CTL=ACK><DATA=536>",
            "<SEQ=637><ACK=301><CTL=ACK><DATA=536>",
            "<SEQ=1173><ACK=301><CTL=ACK><DATA=128>",
        ]
    );
}

#[test]
fn established_send_stops_at_the_peer_window() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><WND=100>",
        Disposition::Accepted,
    );
    assert_eq!(p.status().snd_wnd, 100);
    p.write(&[1; 300]);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK><DATA=100>"]);
    assert_eq!(p.status().unsent, 200);
    p.rx_expect(
        "<SEQ=301><ACK=201><CTL=ACK><WND=100>",
        Disposition::Accepted,
    );
    sends!(p, ["<SEQ=201><ACK=301><CTL=ACK><DATA=100>"]);
}

#[test]
fn established_send_accepts_at_most_the_send_buffer() {
    let mut p = est();
    assert_eq!(p.conn.send(&p.policy, 20_000), Ok(16_384));
    assert_eq!(
        p.conn.send(&p.policy, 1),
        Ok(0),
        "a full buffer takes nothing"
    );
    assert_eq!(p.conn.send_buffered(), 16_384);
}

// ----- ACK processing ----------------------------------------------------------------------------

#[test]
fn established_ack_advances_snd_una_and_frees_the_send_buffer() {
    let mut p = est();
    p.write(b"0123456789");
    let _ = p.tx();
    p.rx_expect("<SEQ=301><ACK=106><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().snd_una, SeqNum(106));
    assert_eq!(
        p.send_buf, b"56789",
        "take_acked released the acknowledged front"
    );
    assert_eq!(
        p.status().timer,
        Timer::Retransmit,
        "five octets still outstanding"
    );
    p.rx_expect("<SEQ=301><ACK=111><CTL=ACK>", Disposition::Accepted);
    assert!(p.send_buf.is_empty());
    assert_eq!(p.conn.send_buffered(), 0);
    assert_eq!(p.status().timer, Timer::Idle);
    sends_nothing!(p);
}

#[test]
fn established_ack_of_unsent_data_draws_ack_and_drops_the_segment() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=200><CTL=ACK><DATA=3>", Disposition::BadAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert!(p.recv_buf.is_empty(), "its text is not taken");
    assert_eq!(p.status().rcv_nxt, SeqNum(301));
    assert_eq!(p.status().snd_una, SeqNum(101));
}

#[test]
fn established_too_old_ack_is_dropped_with_ack() {
    // RFC 5961 §5.2: SEG.ACK < SND.UNA - MAX.SND.WND: discard, and ACK.
    let mut p = est();
    let too_old = 101u32.wrapping_sub(65_536);
    p.rx_expect(
        &format!("<SEQ=301><ACK={too_old}><CTL=ACK><DATA=3>"),
        Disposition::BadAck,
    );
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert!(p.recv_buf.is_empty());
    assert_eq!(p.status().rcv_nxt, SeqNum(301));
}

#[test]
fn established_old_ack_within_max_window_is_ignored_and_text_processed() {
    // SEG.ACK < SND.UNA but within MAX.SND.WND: "it can be ignored", the segment is processed.
    let mut p = est();
    let old = 101u32.wrapping_sub(65_535);
    p.rx_expect(
        &format!("<SEQ=301><ACK={old}><CTL=ACK><DATA=\"abc\">"),
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf, b"abc");
    sends!(p, ["<SEQ=101><ACK=304><CTL=ACK>"]);
    assert_eq!(p.status().snd_una, SeqNum(101));
}

#[test]
fn established_segment_without_ack_is_dropped() {
    let mut p = est();
    p.rx_expect("<SEQ=301><DATA=3>", Disposition::NoAck);
    sends_nothing!(p);
    assert!(p.recv_buf.is_empty());
    p.rx_expect("<SEQ=301><CTL=FIN>", Disposition::NoAck);
    sends_nothing!(p);
    assert_eq!(p.state(), State::Established);
    p.rx_expect("<SEQ=301>", Disposition::NoAck);
    sends_nothing!(p);
}

// ----- window update (SND.WL1, SND.WL2) ----------------------------------------------------------

#[test]
fn established_newer_segment_updates_the_send_window() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><WND=1000>",
        Disposition::Accepted,
    );
    let st = p.status();
    assert_eq!(st.snd_wnd, 1000);
    assert_eq!((st.snd_wl1, st.snd_wl2), (SeqNum(301), SeqNum(101)));
}

#[test]
fn established_old_segment_does_not_update_the_send_window() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><DATA=10><WND=2000>",
        Disposition::Accepted,
    );
    p.rx_expect(
        "<SEQ=311><ACK=101><CTL=ACK><DATA=5><WND=3000>",
        Disposition::Accepted,
    );
    assert_eq!(p.status().snd_wnd, 3000);
    assert_eq!(p.status().snd_wl1, SeqNum(311));
    // An older segment (SEG.SEQ < SND.WL1) overlapping new text: text taken, window not.
    p.rx_expect(
        "<SEQ=306><ACK=101><CTL=ACK><DATA=15><WND=50>",
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf.len(), 20);
    assert_eq!(p.status().snd_wnd, 3000);
    assert_eq!(p.status().snd_wl1, SeqNum(311));
}

#[test]
fn established_reordered_older_ack_does_not_update_the_send_window() {
    let mut p = est();
    p.write(&[0; 20]);
    let _ = p.tx();
    p.rx_expect(
        "<SEQ=301><ACK=121><CTL=ACK><WND=1000>",
        Disposition::Accepted,
    );
    assert_eq!(p.status().snd_wnd, 1000);
    // Same SEG.SEQ, older SEG.ACK (SND.WL2 > SEG.ACK): a reordered earlier ACK.
    p.rx_expect(
        "<SEQ=301><ACK=111><CTL=ACK><WND=5000>",
        Disposition::Accepted,
    );
    assert_eq!(p.status().snd_wnd, 1000);
    assert_eq!(p.status().snd_wl2, SeqNum(121));
    assert_eq!(p.status().snd_una, SeqNum(121));
}

#[test]
fn established_segment_acking_below_snd_una_does_not_update_the_send_window() {
    // RFC 9293 §3.10.7.4: the window is updated only "if SND.UNA =< SEG.ACK =< SND.NXT".
    let mut p = est();
    p.write(&[0; 20]);
    let _ = p.tx();
    p.rx_expect(
        "<SEQ=301><ACK=121><CTL=ACK><DATA=5><WND=1000>",
        Disposition::Accepted,
    );
    // Newer SEG.SEQ (> SND.WL1) but SEG.ACK < SND.UNA.
    p.rx_expect(
        "<SEQ=306><ACK=111><CTL=ACK><DATA=1><WND=7>",
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf.len(), 6, "the text is still taken");
    assert_eq!(p.status().snd_wnd, 1000);
    assert_eq!(p.status().snd_wl1, SeqNum(301));
}

// ----- acceptability test (RFC 9293 §3.10.7.4, first) --------------------------------------------

#[test]
fn established_acceptable_implements_the_four_cases() {
    let nxt = SeqNum(301);
    // Zero length, zero window: only SEG.SEQ = RCV.NXT.
    assert!(acceptable(nxt, 0, nxt, 0));
    assert!(!acceptable(nxt + 1, 0, nxt, 0));
    assert!(!acceptable(nxt - 1, 0, nxt, 0));
    // Zero length, nonzero window: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND.
    assert!(acceptable(nxt, 0, nxt, 10));
    assert!(acceptable(nxt + 9, 0, nxt, 10));
    assert!(!acceptable(nxt + 10, 0, nxt, 10));
    assert!(!acceptable(nxt - 1, 0, nxt, 10));
    // Nonzero length, zero window: not acceptable, but for the special allowance at RCV.NXT
    // (its ACK, RST and window are processed; its text is not taken).
    assert!(!acceptable(nxt + 1, 5, nxt, 0));
    assert!(!acceptable(nxt - 5, 5, nxt, 0));
    assert!(acceptable(nxt, 5, nxt, 0));
    // Nonzero length, nonzero window: the first or the last octet in the window.
    assert!(acceptable(nxt + 9, 5, nxt, 10));
    assert!(!acceptable(nxt + 10, 5, nxt, 10));
    assert!(acceptable(nxt - 4, 5, nxt, 10), "last octet at RCV.NXT");
    assert!(
        !acceptable(nxt - 5, 5, nxt, 10),
        "last octet before RCV.NXT"
    );
    // Across the wrap of the sequence space.
    let top = SeqNum(u32::MAX - 1);
    assert!(acceptable(SeqNum(3), 1, top, 10));
    assert!(!acceptable(SeqNum(8), 1, top, 10));
}

#[test]
fn established_empty_segment_at_the_window_right_edge_minus_one_is_accepted() {
    let mut p = est();
    p.rx_expect("<SEQ=65835><ACK=101><CTL=ACK>", Disposition::Accepted);
    sends_nothing!(p);
}

#[test]
fn established_empty_segment_at_the_window_right_edge_is_rejected_with_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=65836><ACK=101><CTL=ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
}

#[test]
fn established_empty_segment_before_rcv_nxt_is_rejected_with_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=300><ACK=101><CTL=ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
}

#[test]
fn established_data_starting_at_the_window_right_edge_minus_one_is_accepted_out_of_order() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=65835><ACK=101><CTL=ACK><DATA=1>",
        Disposition::Accepted,
    );
    assert!(p.recv_buf.is_empty(), "out of order: not held");
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
}

#[test]
fn established_data_starting_at_the_window_right_edge_is_rejected_with_ack() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=65836><ACK=101><CTL=ACK><DATA=1>",
        Disposition::Unacceptable,
    );
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
}

#[test]
fn established_data_straddling_rcv_nxt_delivers_only_the_new_part() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=296><ACK=101><CTL=ACK><DATA=\"oldernew\">",
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf, b"new");
    sends!(p, ["<SEQ=101><ACK=304><CTL=ACK>"]);
}

#[test]
fn established_duplicate_data_is_rejected_with_ack() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=291><ACK=101><CTL=ACK><DATA=10>",
        Disposition::Unacceptable,
    );
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert!(p.recv_buf.is_empty());
}

#[test]
fn established_data_beyond_the_window_is_trimmed() {
    let mut p = est_with_buffer(10);
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><DATA=15>",
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf.len(), 10);
    let sent = p.tx();
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=311><CTL=ACK>");
    assert_eq!(sent[0].window, 0);
}

#[test]
fn established_zero_window_empty_segment_at_rcv_nxt_is_accepted_and_its_ack_processed() {
    let mut p = est_with_buffer(10);
    p.write(b"abc");
    let _ = p.tx();
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><DATA=10>",
        Disposition::Accepted,
    );
    let sent = p.tx();
    assert_eq!(sent[0].window, 0, "the receive window is closed");
    p.rx_expect("<SEQ=311><ACK=104><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.status().snd_una, SeqNum(104));
    sends_nothing!(p);
}

#[test]
fn established_zero_window_empty_segment_beyond_rcv_nxt_is_rejected_with_ack() {
    let mut p = est_with_buffer(10);
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><DATA=10>",
        Disposition::Accepted,
    );
    let _ = p.tx();
    p.rx_expect("<SEQ=312><ACK=101><CTL=ACK>", Disposition::Unacceptable);
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=311><CTL=ACK>");
    assert_eq!(sent[0].window, 0);
}

#[test]
fn established_zero_window_data_at_rcv_nxt_is_not_taken_but_its_ack_is() {
    let mut p = est_with_buffer(10);
    p.write(b"abc");
    let _ = p.tx();
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><DATA=10>",
        Disposition::Accepted,
    );
    let _ = p.tx();
    p.rx_expect("<SEQ=311><ACK=104><CTL=ACK><DATA=4>", Disposition::Accepted);
    assert_eq!(p.recv_buf.len(), 10, "no room: the text is not taken");
    assert_eq!(
        p.status().snd_una,
        SeqNum(104),
        "the special allowance takes the ACK"
    );
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=104><ACK=311><CTL=ACK>");
    assert_eq!(sent[0].window, 0);
}

#[test]
fn established_zero_window_data_beyond_rcv_nxt_is_rejected_with_ack() {
    let mut p = est_with_buffer(10);
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=ACK><DATA=10>",
        Disposition::Accepted,
    );
    let _ = p.tx();
    p.rx_expect(
        "<SEQ=312><ACK=101><CTL=ACK><DATA=1>",
        Disposition::Unacceptable,
    );
    sends!(p, ["<SEQ=101><ACK=311><CTL=ACK>"]);
}

#[test]
fn established_unscaled_window_edge_is_the_advertised_65535() {
    // Linux's 128 KiB buffer, but the peer offered no window scaling: RCV.WND is what the
    // 16-bit field could advertise, and the acceptability test uses that.
    let mut p = reach_with(State::SynReceived, Policy::LINUX);
    p.rx_expect("<SEQ=301><ACK=101><CTL=ACK>", Disposition::Accepted);
    p.rx_expect("<SEQ=65835><ACK=101><CTL=ACK>", Disposition::Accepted);
    p.rx_expect("<SEQ=65836><ACK=101><CTL=ACK>", Disposition::Unacceptable);
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=301><CTL=ACK>");
    assert_eq!(sent[0].window, 65535);
}

#[test]
fn established_scaled_windows_with_linux_policy() {
    let (mut a, mut b) = established_with(100, 300, Policy::LINUX);
    // B learnt A's window from the handshake's ACK: 32768 << 2.
    assert_eq!(b.status().snd_wnd, 131_072);
    b.write(b"x");
    let sent = b.tx();
    assert_eq!(sent[0].window, 32768, "131072 >> 2 in the header");
    a.rx_seg(&sent[0]);
    assert_eq!(a.status().snd_wnd, 131_072);
    // The receive window narrows by unread data, in units of 4 octets.
    let ack = a.tx();
    assert_eq!(ack[0].to_string(), "<SEQ=101><ACK=302><CTL=ACK>");
    assert_eq!(ack[0].window, 32767, "(131072 - 1) >> 2");
}

// ----- RST ---------------------------------------------------------------------------------------

#[test]
fn established_rst_at_rcv_nxt_resets() {
    let mut p = est();
    p.rx_expect("<SEQ=301><CTL=RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
    assert_eq!(
        p.take_events(),
        [Event::Error(ConnError::Reset), Event::Closed]
    );
    assert_eq!(p.conn.error(), Some(ConnError::Reset));
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn established_rst_ack_at_rcv_nxt_resets() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=101><CTL=RST,ACK>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
}

#[test]
fn established_in_window_rst_draws_challenge_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::Established);
    p.rx_expect(
        "<SEQ=65835><ACK=101><CTL=RST,ACK>",
        Disposition::ChallengeAck,
    );
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.take_events(), []);
}

#[test]
fn established_out_of_window_rst_is_dropped_silently() {
    let mut p = est();
    p.rx_expect("<SEQ=65836><CTL=RST>", Disposition::Unacceptable);
    sends_nothing!(p);
    p.rx_expect("<SEQ=300><CTL=RST>", Disposition::Unacceptable);
    sends_nothing!(p);
    assert_eq!(p.state(), State::Established);
}

#[test]
fn established_rst_with_data_at_rcv_nxt_resets_without_delivering() {
    let mut p = est();
    p.rx_expect("<SEQ=301><CTL=RST><DATA=\"bye\">", Disposition::Reset);
    assert!(p.recv_buf.is_empty());
    assert_eq!(p.state(), State::Closed);
}

// ----- SYN ---------------------------------------------------------------------------------------

#[test]
fn established_in_window_syn_draws_challenge_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=305><CTL=SYN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::Established);
}

#[test]
fn established_out_of_window_syn_draws_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=5><CTL=SYN>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::Established);
}

#[test]
fn established_syn_ack_draws_challenge_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=101><CTL=SYN,ACK>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::Established);
}

#[test]
fn established_retransmitted_syn_ack_draws_ack() {
    // Our ACK of the handshake was lost and the peer repeats its SYN,ACK.
    let mut p = est();
    p.rx_expect("<SEQ=300><ACK=101><CTL=SYN,ACK>", Disposition::Unacceptable);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::Established);
}

#[test]
fn established_syn_fin_draws_challenge_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=301><CTL=SYN,FIN>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::Established, "the FIN is not processed");
}

#[test]
fn established_syn_rst_at_rcv_nxt_resets() {
    // RST is checked before SYN.
    let mut p = est();
    p.rx_expect("<SEQ=301><CTL=SYN,RST>", Disposition::Reset);
    assert_eq!(p.state(), State::Closed);
    sends_nothing!(p);
}

// ----- rate limit of challenge and out-of-window ACKs (RFC 5961 §7) ------------------------------

#[test]
fn established_challenge_acks_are_rate_limited_but_data_is_always_acked() {
    let mut p = reach_with(
        State::Established,
        Policy {
            invalid_ratelimit: Duration::from_millis(500),
            ..test_policy()
        },
    );
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    p.advance(Duration::from_millis(100));
    p.rx_expect("<SEQ=303><CTL=RST>", Disposition::ChallengeAck);
    sends_nothing!(p);
    p.advance(Duration::from_millis(100));
    p.rx_expect("<SEQ=305><CTL=SYN>", Disposition::ChallengeAck);
    sends_nothing!(p);
    p.advance(Duration::from_millis(100));
    p.rx_expect("<SEQ=300><ACK=101><CTL=ACK>", Disposition::Unacceptable);
    sends_nothing!(p);
    // A segment with data is never rate limited: it cannot be part of an ACK loop.
    p.rx_expect(
        "<SEQ=291><ACK=101><CTL=ACK><DATA=5>",
        Disposition::Unacceptable,
    );
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    p.rx_expect("<SEQ=301><ACK=999><CTL=ACK><DATA=5>", Disposition::BadAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    // 500 ms after the first challenge ACK, the next may go.
    p.advance(Duration::from_millis(200));
    p.rx_expect("<SEQ=302><CTL=RST>", Disposition::ChallengeAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.state(), State::Established);
}

#[test]
fn established_ack_of_unsent_data_without_text_is_rate_limited() {
    let mut p = reach_with(
        State::Established,
        Policy {
            invalid_ratelimit: Duration::from_millis(500),
            ..test_policy()
        },
    );
    p.rx_expect("<SEQ=301><ACK=999><CTL=ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    p.rx_expect("<SEQ=301><ACK=999><CTL=ACK>", Disposition::BadAck);
    sends_nothing!(p);
    p.advance(Duration::from_millis(500));
    p.rx_expect("<SEQ=301><ACK=999><CTL=ACK>", Disposition::BadAck);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
}

// ----- text and FIN ------------------------------------------------------------------------------

#[test]
fn established_in_order_data_is_delivered_and_acked() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=101><DATA=\"hello\">", Disposition::Accepted);
    assert_eq!(p.recv_buf, b"hello");
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=306><CTL=ACK>");
    assert_eq!(sent[0].window, 65530, "unread data narrows the window");
    assert_eq!(p.status().unread, 5);
}

#[test]
fn established_out_of_order_data_draws_duplicate_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=311><ACK=101><DATA=5>", Disposition::Accepted);
    assert!(p.recv_buf.is_empty());
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.status().rcv_nxt, SeqNum(301));
}

#[test]
fn established_fin_enters_close_wait_and_is_acked() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=101><CTL=FIN,ACK>", Disposition::Accepted);
    assert_eq!(p.state(), State::CloseWait);
    sends!(p, ["<SEQ=101><ACK=302><CTL=ACK>"]);
    assert_eq!(p.take_events(), [Event::PeerFin]);
    assert!(p.conn.peer_fin_received());
}

#[test]
fn established_fin_with_data_delivers_then_enters_close_wait() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=FIN><DATA=\"end\">",
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf, b"end");
    assert_eq!(p.state(), State::CloseWait);
    sends!(p, ["<SEQ=101><ACK=305><CTL=ACK>"]);
}

#[test]
fn established_out_of_order_fin_is_not_processed_and_draws_duplicate_ack() {
    let mut p = est();
    p.rx_expect("<SEQ=310><ACK=101><CTL=FIN>", Disposition::Accepted);
    assert_eq!(p.state(), State::Established);
    sends!(p, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert_eq!(p.take_events(), []);
}

#[test]
fn established_fin_with_data_trimmed_by_the_window_is_not_processed() {
    let mut p = est_with_buffer(10);
    p.rx_expect(
        "<SEQ=301><ACK=101><CTL=FIN><DATA=12>",
        Disposition::Accepted,
    );
    assert_eq!(p.recv_buf.len(), 10);
    assert_eq!(
        p.state(),
        State::Established,
        "the FIN lies beyond what was taken"
    );
    sends!(p, ["<SEQ=101><ACK=311><CTL=ACK>"]);
}

// ----- RECEIVE -----------------------------------------------------------------------------------

#[test]
fn established_receive_window_shrinks_by_unread_data_and_reopens_with_an_update() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=101><DATA=1000>", Disposition::Accepted);
    let sent = p.tx();
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=1301><CTL=ACK>");
    assert_eq!(sent[0].window, 64535);
    p.rx_expect("<SEQ=1301><ACK=101><DATA=1000>", Disposition::Accepted);
    assert_eq!(p.tx()[0].window, 63535);
    // Reading 500 octets moves the right edge by less than an MSS (536): no update yet.
    p.conn.recv(&p.policy, 500).unwrap();
    sends_nothing!(p);
    assert_eq!(p.status().unread, 1500);
    // Reading the rest does: RFC 9293 §3.8.6.2.2.
    p.conn.recv(&p.policy, 1500).unwrap();
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=2301><CTL=ACK>");
    assert_eq!(sent[0].window, 65535);
}

#[test]
fn established_closed_receive_window_reopens_with_an_update() {
    let mut p = est_with_buffer(1000);
    p.rx_expect("<SEQ=301><ACK=101><DATA=1000>", Disposition::Accepted);
    assert_eq!(p.tx()[0].window, 0);
    assert_eq!(p.read_all().len(), 1000);
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=101><ACK=1301><CTL=ACK>");
    assert_eq!(sent[0].window, 1000);
}

#[test]
fn established_receive_more_than_unread_is_invalid() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=101><DATA=3>", Disposition::Accepted);
    assert_eq!(p.conn.recv(&p.policy, 4), Err(CallError::InvalidArgument));
    assert_eq!(p.conn.recv(&p.policy, 3), Ok(()));
    assert_eq!(p.conn.unread(), 0);
}

// ----- the buffer contract -----------------------------------------------------------------------

#[test]
fn established_take_acked_and_payload_offsets_stay_consistent_over_several_segments() {
    let mut p = est();
    let data: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(p.write(&data), 1500);
    let sent = p.tx();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].payload, data[..536]);
    assert_eq!(sent[1].payload, data[536..1072]);
    assert_eq!(sent[2].payload, data[1072..]);
    // A partial ACK inside the first segment, then one inside the second.
    p.rx_expect("<SEQ=301><ACK=401><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.send_buf, data[300..]);
    p.rx_expect("<SEQ=301><ACK=737><CTL=ACK>", Disposition::Accepted);
    assert_eq!(p.send_buf, data[636..]);
    assert_eq!(p.conn.send_buffered(), 864);
    // The retransmission starts at SND.UNA, offset 0 of what the caller still holds.
    p.fire();
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=737><ACK=301><CTL=ACK><DATA=536>");
    assert_eq!(sent[0].payload, data[636..1172]);
    // More data appended behind the outstanding octets goes after them.
    p.write(b"tail");
    p.rx_expect("<SEQ=301><ACK=1601><CTL=ACK>", Disposition::Accepted);
    let sent = p.tx();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to_string(), "<SEQ=1601><ACK=301><CTL=ACK><DATA=4>");
    assert_eq!(sent[0].payload, b"tail");
    p.rx_expect("<SEQ=301><ACK=1605><CTL=ACK>", Disposition::Accepted);
    assert!(p.send_buf.is_empty());
    assert_eq!(p.conn.send_buffered(), 0);
}

// ----- CLOSE, ABORT, STATUS ----------------------------------------------------------------------

#[test]
fn established_close_sends_fin_and_enters_fin_wait_1() {
    let mut p = est();
    p.close();
    assert_eq!(p.state(), State::FinWait1);
    sends!(p, ["<SEQ=101><ACK=301><CTL=FIN,ACK>"]);
    assert!(p.conn.fin_queued());
    assert_eq!(p.status().timer, Timer::Retransmit);
}

#[test]
fn established_close_sends_fin_after_queued_data() {
    let mut p = est();
    p.write(&[9; 600]);
    p.close();
    sends!(
        p,
        [
            "<SEQ=101><ACK=301><CTL=ACK><DATA=536>",
            "<SEQ=637><ACK=301><CTL=FIN,ACK><DATA=64>",
        ]
    );
    assert_eq!(p.conn.send(&p.policy, 1), Err(CallError::Closing));
}

#[test]
fn established_abort_sends_rst_ack_with_linux_policy() {
    let mut p = est();
    p.rx_expect("<SEQ=301><ACK=101><DATA=4>", Disposition::Accepted);
    let _ = p.tx();
    p.write(b"xyz");
    let _ = p.tx();
    p.abort();
    sends!(p, ["<SEQ=104><ACK=305><CTL=RST,ACK>"]);
    assert_eq!(p.state(), State::Closed);
    assert_eq!(p.take_events(), [Event::Closed]);
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn established_abort_sends_bare_rst_with_rfc_strict_policy() {
    let mut p = reach_with(State::Established, Policy::RFC_STRICT);
    p.abort();
    sends!(p, ["<SEQ=101><CTL=RST>"]);
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn established_status_reports_the_tcb() {
    let mut p = est();
    p.rx_expect(
        "<SEQ=301><ACK=101><DATA=7><WND=5000>",
        Disposition::Accepted,
    );
    let _ = p.tx();
    p.write(b"abcd");
    let st = p.status();
    assert_eq!(st.state, State::Established);
    assert_eq!((st.iss, st.irs), (SeqNum(100), SeqNum(300)));
    assert_eq!((st.snd_una, st.snd_nxt), (SeqNum(101), SeqNum(101)));
    assert_eq!(st.snd_wnd, 5000);
    assert_eq!(st.rcv_nxt, SeqNum(308));
    assert_eq!(st.unread, 7);
    assert_eq!(st.unsent, 4);
    assert!(!st.passive);
}
