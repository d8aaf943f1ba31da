//! Findings of the fuzz targets (fuzz/), each as a test against the public API, with the fix in
//! the core. Each test names the target that found it and what its oracle saw.

use tcp_fsm::{Cause, Connection, EDGES, Flags, Instant, Policy, Segment, SeqNum, State, Transmit};

const T0: Instant = Instant::from_millis(1_000);

fn seg(seq: u32, ack: u32, flags: Flags) -> Segment<'static> {
    Segment {
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 65_535,
        ..Segment::default()
    }
}

/// Everything the connection wants sent now.
fn drain(c: &mut Connection, p: &Policy, now: Instant) -> Vec<Transmit> {
    let mut out = Vec::new();
    while let Some(t) = c.poll_transmit(p, now) {
        out.push(t);
    }
    while c.poll_event().is_some() {}
    out
}

fn edge_exists(from: State, to: State, cause: Cause) -> bool {
    EDGES
        .iter()
        .any(|e| e.from == from && e.to == to && e.cause == cause)
}

/// Finding 3 (`segments`, `pair`: "SYN-RECEIVED -> CLOSING by Segment is no edge"). CLOSE in
/// SYN-RECEIVED with data queued keeps the FIN for after the handshake (RFC 9293 §3.10.4); one
/// segment that ACKs our SYN and carries the peer's FIN then takes the connection through
/// ESTABLISHED (our data and FIN go, FIN-WAIT-1) to CLOSING, as §3.10.7.4 processes the ACK and
/// then the FIN in one event. `EDGES` lacked that composite edge.
#[test]
fn syn_received_close_with_data_then_ack_and_fin_goes_to_closing() {
    let p = Policy::LINUX;
    let mut c = Connection::listen(&p, SeqNum(100));
    let _ = c.handle_segment(&p, T0, &seg(300, 0, Flags::SYN));
    let synack = drain(&mut c, &p, T0);
    assert_eq!(
        synack[0].segment.to_string(),
        "<SEQ=100><ACK=301><CTL=SYN,ACK>"
    );
    assert_eq!(c.send(&p, 10), Ok(10));
    assert_eq!(c.close(&p, T0), Ok(()));
    assert_eq!(c.state(), State::SynReceived);
    let _ = c.handle_segment(&p, T0, &seg(301, 101, Flags::ACK | Flags::FIN));
    assert_eq!(c.state(), State::Closing);
    assert!(edge_exists(
        State::SynReceived,
        State::Closing,
        Cause::Segment
    ));
    let out: Vec<String> = drain(&mut c, &p, T0)
        .iter()
        .map(|t| format!("{} +{}", t.segment, t.payload.len))
        .collect();
    // The queued data with the FIN, acknowledging the peer's FIN.
    assert!(
        out.iter()
            .any(|s| s.contains("<ACK=302>") && s.contains("FIN")),
        "{out:?}"
    );
}

/// Finding 4 (`pair`: "the pair never went quiet in 20000 rounds"). CLOSE in SYN-RECEIVED with
/// nothing queued sends the FIN at once and enters FIN-WAIT-1 before our SYN is acknowledged:
/// the connection is not yet synchronized (RFC 9293 §3.5.2). For a passive open, a bad ACK must
/// get SYN-RECEIVED's answer, `<SEQ=SEG.ACK><CTL=RST>` (§3.10.7.4), before the sequence number
/// is tested (as Linux's `tcp_check_req`), not a synchronized state's ACK (RFC 5961 §5.2): two
/// TCBs synchronized to different incarnations of each other otherwise answer each other's
/// segments with ACKs, forever when `Policy::invalid_ratelimit` is zero.
#[test]
fn fin_wait_1_before_our_syn_is_acked_resets_a_bad_ack() {
    let p = Policy {
        invalid_ratelimit: tcp_fsm::Duration::ZERO,
        ..Policy::LINUX
    };
    let mut c = Connection::listen(&p, SeqNum(100));
    let _ = c.handle_segment(&p, T0, &seg(300, 0, Flags::SYN));
    let _ = drain(&mut c, &p, T0);
    assert_eq!(c.close(&p, T0), Ok(()));
    assert_eq!(c.state(), State::FinWait1);
    assert_eq!(
        c.status().snd_una,
        SeqNum(100),
        "our SYN is not acknowledged"
    );
    let _ = drain(&mut c, &p, T0);
    // An ACK of a SYN we never sent (another incarnation's), and an old one, each in and out
    // of the receive window (the fuzzed case: the other TCB had another incarnation of us, so
    // its sequence numbers were far off too), twice: the same answer every time, no rate limit
    // involved.
    for (seq, bad_ack) in [
        (301, 5_000),
        (301, 100),
        (9_000_000, 5_000),
        (9_000_000, 100),
    ]
    .into_iter()
    .cycle()
    .take(8)
    {
        let _ = c.handle_segment(&p, T0, &seg(seq, bad_ack, Flags::ACK));
        let out: Vec<String> = drain(&mut c, &p, T0)
            .iter()
            .map(|t| t.segment.to_string())
            .collect();
        assert_eq!(out, [format!("<SEQ={bad_ack}><CTL=RST>")]);
        assert_eq!(c.state(), State::FinWait1);
    }
    // The right ACK still completes the handshake (and acknowledges our FIN).
    let _ = c.handle_segment(&p, T0, &seg(301, 102, Flags::ACK));
    assert_eq!(c.state(), State::FinWait2);
}

/// Finding 2 (`segments`: "send buffer: connection 0, caller 10"; `pair`: the receiver's
/// stream offsets). A passive connection that returns from SYN-RECEIVED to LISTEN (a RST, a new
/// SYN, SYN,ACK retries exhausted) forgot the octets SEND had queued, without telling the
/// caller, whose send buffer still held them: `Transmit::payload` offsets no longer matched it.
/// They now stay queued and go after the next handshake.
#[test]
fn syn_received_back_to_listen_keeps_the_queued_send_data() {
    let p = Policy::LINUX;
    let mut c = Connection::listen(&p, SeqNum(100));
    let _ = c.handle_segment(&p, T0, &seg(300, 0, Flags::SYN));
    let _ = drain(&mut c, &p, T0);
    assert_eq!(c.send(&p, 10), Ok(10));
    // RST in SYN-RECEIVED, passive: back to LISTEN (RFC 9293 §3.10.7.4, note 1 of Figure 5).
    let _ = c.handle_segment(&p, T0, &seg(301, 0, Flags::RST));
    assert_eq!(c.state(), State::Listen);
    assert_eq!(
        c.send_buffered(),
        10,
        "the caller's buffer still holds 10 octets"
    );
    assert_eq!(c.take_acked(), 0);
    // Another peer's handshake, then the queued octets go, from the buffer's front.
    let _ = c.handle_segment(&p, T0, &seg(7_000, 0, Flags::SYN));
    let synack = drain(&mut c, &p, T0);
    let iss = synack[0].segment.seq;
    let _ = c.handle_segment(&p, T0, &seg(7_001, iss.0 + 1, Flags::ACK));
    assert_eq!(c.state(), State::Established);
    let data: Vec<(u32, u32)> = drain(&mut c, &p, T0)
        .iter()
        .filter(|t| t.payload.len > 0)
        .map(|t| (t.payload.offset, t.payload.len))
        .collect();
    assert_eq!(data, [(0, 10)]);
    let _ = c.handle_segment(&p, T0, &seg(7_001, iss.0 + 11, Flags::ACK));
    assert_eq!(c.take_acked(), 10);
    assert_eq!(c.send_buffered(), 0);
}

/// Finding 4 again (`pair`, two active opens): after a simultaneous open each side closed in
/// SYN-RECEIVED, each holding another incarnation of the other. An active open's FIN-WAIT-1
/// with our SYN unacknowledged also resets a segment whose ACK acknowledges nothing we sent
/// (§3.5.2), whatever its sequence number; only a SYN,ACK keeps the acceptability test first.
#[test]
fn active_fin_wait_1_before_our_syn_is_acked_resets_a_bad_ack() {
    let p = Policy {
        invalid_ratelimit: tcp_fsm::Duration::ZERO,
        ..Policy::LINUX
    };
    let mut c = Connection::connect(&p, T0, SeqNum(100));
    let _ = drain(&mut c, &p, T0);
    // The peer's SYN crosses ours: SYN-RECEIVED, then CLOSE: FIN-WAIT-1, SYN unacknowledged.
    let _ = c.handle_segment(&p, T0, &seg(300, 0, Flags::SYN));
    let _ = drain(&mut c, &p, T0);
    assert_eq!(c.state(), State::SynReceived);
    assert_eq!(c.close(&p, T0), Ok(()));
    assert_eq!(c.state(), State::FinWait1);
    let _ = drain(&mut c, &p, T0);
    for (seq, bad_ack) in [(9_000_000, 5_000), (301, 5_000), (9_000_000, 5_000)] {
        let _ = c.handle_segment(&p, T0, &seg(seq, bad_ack, Flags::ACK));
        let out: Vec<String> = drain(&mut c, &p, T0)
            .iter()
            .map(|t| t.segment.to_string())
            .collect();
        assert_eq!(out, [format!("<SEQ={bad_ack}><CTL=RST>")]);
        assert_eq!(c.state(), State::FinWait1);
    }
}
