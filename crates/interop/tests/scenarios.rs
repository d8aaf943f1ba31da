//! The Linux kernel as a real peer: every scenario runs in a network namespace of its own, once
//! kernel-vs-ours over a TUN device and once kernel-vs-kernel on loopback, checks the socket
//! calls' results, the end states and the captured segments, and reports every difference
//! between the two runs (`target/interop-pcaps/<scenario>.txt`, with both pcaps).
//!
//! "A" is the side under test (ours, or a kernel socket playing its part), "B" the kernel peer.

mod common;

use std::io::ErrorKind;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::{Observed, Ports, Run, Scenario, Setup, Variant, expect_err, pattern};
use tcp_fsm::Flags;
use tcp_interop::ours::Verdict;
use tcp_interop::peer::Stream;
use tcp_interop::trace::{Seg, snd_nxt};

// ----- checks shared by the scenarios ---------------------------------------------------------

/// The three segments of the handshake, in order, client first.
fn check_handshake(obs: &Observed, p: Ports, a_client: bool) {
    let segs = obs.conn(p.0, p.1);
    let (client_ip, server_ip) = if a_client {
        (obs.sides.a, obs.sides.b)
    } else {
        (obs.sides.b, obs.sides.a)
    };
    let syn = segs
        .iter()
        .find(|s| s.flags.syn() && !s.flags.ack())
        .expect("a SYN");
    assert_eq!(
        *syn.src.ip(),
        client_ip,
        "[{}] the client sends the SYN",
        obs.label()
    );
    let synack = segs
        .iter()
        .find(|s| s.has(Flags::SYN | Flags::ACK))
        .expect("a SYN+ACK");
    assert_eq!(*synack.src.ip(), server_ip);
    assert_eq!(
        synack.ack,
        syn.seq.wrapping_add(1),
        "SYN+ACK acknowledges ISS+1"
    );
    let ack = segs
        .iter()
        .find(|s| *s.src.ip() == client_ip && s.flags.ack() && !s.flags.syn())
        .expect("the handshake's ACK");
    assert_eq!(ack.seq, syn.seq.wrapping_add(1));
    assert_eq!(
        ack.ack,
        synack.seq.wrapping_add(1),
        "the ACK acknowledges the SYN+ACK"
    );
}

fn check_no_rst(obs: &Observed, p: Ports) {
    let rsts: Vec<Seg> = obs
        .conn(p.0, p.1)
        .into_iter()
        .filter(|s| s.flags.rst())
        .collect();
    assert!(
        rsts.is_empty(),
        "[{}] unexpected RST: {rsts:?}",
        obs.label()
    );
}

/// The RST that `closer` ("A" or "B") sent instead of a FIN: `R.` with SEQ = its SND.NXT and
/// ACK = its RCV.NXT (everything the other side sent).
fn check_abort_rst(obs: &Observed, p: Ports, a_is_closer: bool) {
    let segs = obs.conn(p.0, p.1);
    let (closer, other) = if a_is_closer {
        (obs.sent_by_a(p.0, p.1), obs.sent_by_b(p.0, p.1))
    } else {
        (obs.sent_by_b(p.0, p.1), obs.sent_by_a(p.0, p.1))
    };
    let closer_addr = closer[0].src;
    let other_addr = other[0].src;
    let rst = closer.iter().find(|s| s.flags.rst()).unwrap_or_else(|| {
        panic!(
            "[{}] no RST from the closer:\n{}",
            obs.label(),
            obs.render(p.0, p.1)
        )
    });
    assert!(
        !closer.iter().any(|s| s.flags.fin()),
        "[{}] the closer sent no FIN",
        obs.label()
    );
    assert!(
        rst.flags.ack(),
        "[{}] Linux's RST on close carries ACK (R.)",
        obs.label()
    );
    let before: Vec<Seg> = segs
        .iter()
        .take_while(|s| !s.flags.rst())
        .cloned()
        .collect();
    assert_eq!(
        Some(rst.seq),
        snd_nxt(&before, closer_addr, other_addr),
        "[{}] RST SEQ = the closer's SND.NXT",
        obs.label()
    );
    assert_eq!(
        Some(rst.ack),
        snd_nxt(&before, other_addr, closer_addr),
        "[{}] RST ACK = the closer's RCV.NXT",
        obs.label()
    );
    println!("[{}] abort: {rst}", obs.label());
}

/// An orderly close: the closer's FIN first, the other's FIN after, the closer's last ACK
/// acknowledging it; no RST.
fn check_orderly_close(obs: &Observed, p: Ports, a_closes: bool) {
    check_no_rst(obs, p);
    let segs = obs.conn(p.0, p.1);
    let closer_ip = if a_closes { obs.sides.a } else { obs.sides.b };
    let fins: Vec<&Seg> = segs.iter().filter(|s| s.flags.fin()).collect();
    assert_eq!(
        fins.len(),
        2,
        "[{}] one FIN each way:\n{}",
        obs.label(),
        obs.render(p.0, p.1)
    );
    assert_eq!(
        *fins[0].src.ip(),
        closer_ip,
        "[{}] the closer's FIN comes first",
        obs.label()
    );
    assert!(fins[0].flags.ack() && fins[1].flags.ack());
    let last = segs.last().expect("segments");
    assert_eq!(
        *last.src.ip(),
        closer_ip,
        "[{}] the closer sends the last ACK",
        obs.label()
    );
    assert_eq!(
        last.ack,
        fins[1].end(),
        "[{}] the last ACK acknowledges the second FIN",
        obs.label()
    );
    assert!(!last.flags.fin() && last.len == 0);
}

// ----- 1 MiB each way, then an orderly close -----------------------------------------------------

const MIB: usize = 1 << 20;

fn bulk<const A_CLIENT: bool, const A_CLOSES: bool>(run: &Run<'_>) -> Vec<Ports> {
    let (mut a, b) = run.pair(A_CLIENT);
    let ports = Ports::of(&*a);
    let (a_addr, b_addr) = (a.local_addr(), a.peer_addr());
    let to_b = pattern(MIB, 1);
    let to_a = pattern(MIB, 2);
    let (expect_b, send_a) = (to_b.clone(), to_a.clone());
    let b_side = thread::spawn(move || {
        let mut b: Box<dyn Stream> = Box::new(b);
        let got = b.read_to_end(MIB).expect("B reads 1 MiB");
        assert!(got == expect_b, "B received A's 1 MiB intact");
        b.write_all(&send_a).expect("B writes 1 MiB");
        b
    });
    a.write_all(&to_b).expect("A writes 1 MiB");
    let got = a.read_to_end(MIB).expect("A reads 1 MiB");
    assert!(got == to_a, "A received B's 1 MiB intact");
    let mut b = b_side.join().expect("B's thread");
    if A_CLOSES {
        a.close();
        assert_eq!(b.read(&mut [0; 16]).expect("B reads EOF"), 0);
        b.close();
        run.expect_end_states(a_addr, b_addr, "TIME-WAIT", "none");
    } else {
        b.close();
        assert_eq!(a.read(&mut [0; 16]).expect("A reads EOF"), 0);
        a.close();
        run.expect_end_states(a_addr, b_addr, "none", "TIME-WAIT");
    }
    vec![ports]
}

fn check_bulk<const A_CLIENT: bool, const A_CLOSES: bool>(obs: &Observed, conns: &[Ports]) {
    let p = conns[0];
    check_handshake(obs, p, A_CLIENT);
    let a = obs.sent_by_a(p.0, p.1)[0].src;
    let b = obs.sent_by_b(p.0, p.1)[0].src;
    let segs = obs.conn(p.0, p.1);
    let label = obs.label();
    assert_eq!(
        tcp_interop::trace::payload_octets(&segs, a, b),
        MIB as u64,
        "[{label}] 1 MiB A to B"
    );
    assert_eq!(
        tcp_interop::trace::payload_octets(&segs, b, a),
        MIB as u64,
        "[{label}] 1 MiB B to A"
    );
    check_orderly_close(obs, p, A_CLOSES);
    let (active, passive) = if A_CLOSES {
        (obs.a_seq(p.0, p.1), obs.b_seq(p.0, p.1))
    } else {
        (obs.b_seq(p.0, p.1), obs.a_seq(p.0, p.1))
    };
    if !active.is_empty() {
        assert_eq!(
            active.last().map(String::as_str),
            Some("TIME-WAIT"),
            "[{}] {active:?}",
            obs.label()
        );
    }
    if !passive.is_empty() {
        assert_eq!(
            passive.last().map(String::as_str),
            Some("CLOSED"),
            "[{}] {passive:?}",
            obs.label()
        );
        assert!(
            passive.iter().any(|s| s == "LAST-ACK"),
            "[{}] the passive closer passes LAST-ACK",
            obs.label()
        );
    }
}

// ----- simultaneous close ------------------------------------------------------------------------

fn simultaneous<const A_CLIENT: bool>(run: &Run<'_>) -> Vec<Ports> {
    let (mut a, mut b) = run.pair(A_CLIENT);
    let ports = Ports::of(&*a);
    let (a_addr, b_addr) = (a.local_addr(), a.peer_addr());
    if let Some(host) = run.host {
        // Hold B's FIN, and everything after it, until our FIN is out: the FINs cross.
        let mut holding = false;
        host.set_filter(Some(Box::new(move |s: &Seg| {
            holding |= s.flags.fin();
            if holding {
                Verdict::Hold
            } else {
                Verdict::Pass
            }
        })));
        b.shutdown_write().expect("B shuts down");
        let start = Instant::now();
        while host.held() == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "B's FIN reached the TUN"
            );
            thread::sleep(Duration::from_millis(1));
        }
        a.shutdown_write().expect("A shuts down");
        thread::sleep(Duration::from_millis(50));
        host.set_filter(None);
        host.release_held();
    } else {
        // Two kernel sockets on loopback: both threads call shutdown at once. Whether the
        // FINs cross is up to the scheduler (loopback delivers within the sending syscall).
        let barrier = Arc::new(Barrier::new(2));
        let bb = Arc::clone(&barrier);
        let t = thread::spawn(move || {
            bb.wait();
            b.shutdown_write().expect("B shuts down");
            b
        });
        barrier.wait();
        a.shutdown_write().expect("A shuts down");
        b = t.join().expect("B's thread");
    }
    assert_eq!(a.read(&mut [0; 8]).expect("A reads EOF"), 0);
    assert_eq!(b.read(&mut [0; 8]).expect("B reads EOF"), 0);
    a.close();
    drop(b);
    if run.variant == Variant::Ours {
        run.expect_end_states(a_addr, b_addr, "TIME-WAIT", "TIME-WAIT");
    } else {
        thread::sleep(Duration::from_millis(100));
        println!(
            "[kernel-vs-kernel] simultaneous close by two threads: A ends {}, B ends {}",
            run.a_state(a_addr, b_addr),
            run.b_state(b_addr, a_addr)
        );
    }
    vec![ports]
}

fn check_simultaneous<const A_CLIENT: bool>(obs: &Observed, conns: &[Ports]) {
    let p = conns[0];
    check_handshake(obs, p, A_CLIENT);
    check_no_rst(obs, p);
    let a_fin = obs
        .sent_by_a(p.0, p.1)
        .into_iter()
        .find(|s| s.flags.fin())
        .cloned()
        .expect("A's FIN");
    let b_fin = obs
        .sent_by_b(p.0, p.1)
        .into_iter()
        .find(|s| s.flags.fin())
        .cloned()
        .expect("B's FIN");
    let crossed = a_fin.ack != b_fin.end() && b_fin.ack != a_fin.end();
    println!(
        "[{}] FINs crossed: {crossed} (A {a_fin}; B {b_fin})",
        obs.label()
    );
    if obs.variant == Variant::Ours {
        assert!(crossed, "neither FIN acknowledges the other");
        assert!(
            obs.a_seq(p.0, p.1).iter().any(|s| s == "CLOSING"),
            "ours passes CLOSING"
        );
        let b = obs.b_seq(p.0, p.1);
        assert!(
            b.is_empty() || b.iter().any(|s| s == "CLOSING"),
            "the kernel passes CLOSING: {b:?}"
        );
        // Each side acknowledges the other's FIN.
        for (from, fin) in [
            (obs.sent_by_a(p.0, p.1), &b_fin),
            (obs.sent_by_b(p.0, p.1), &a_fin),
        ] {
            assert!(
                from.iter().any(|s| s.flags.ack() && s.ack == fin.end()),
                "FIN acknowledged"
            );
        }
    }
}

// ----- close with unread data; SO_LINGER {on, 0} -------------------------------------------------

fn closer_and_peer(
    a: Box<dyn Stream>,
    b: Box<dyn Stream>,
    a_closes: bool,
) -> (Box<dyn Stream>, Box<dyn Stream>) {
    if a_closes { (a, b) } else { (b, a) }
}

/// Lets the last ACKs cross (Linux may delay one by up to 40 ms) before a connection is
/// aborted, so that none arrives after it: both runs then see the same segments.
fn settle() {
    thread::sleep(Duration::from_millis(60));
}

fn wait_unread(s: &dyn Stream, n: usize) {
    let start = Instant::now();
    while s.unread() < n {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{n} octets arrived"
        );
        thread::sleep(Duration::from_millis(2));
    }
}

fn unread<const A_CLIENT: bool, const A_CLOSES: bool>(run: &Run<'_>) -> Vec<Ports> {
    let (a, b) = run.pair(A_CLIENT);
    let ports = Ports::of(&*a);
    let (a_addr, b_addr) = (a.local_addr(), a.peer_addr());
    let (closer, mut peer) = closer_and_peer(a, Box::new(b), A_CLOSES);
    peer.write_all(&pattern(1000, 3)).expect("the peer writes");
    wait_unread(&*closer, 1000);
    settle();
    closer.close();
    thread::sleep(Duration::from_millis(20));
    expect_err(
        peer.read(&mut [0; 64]),
        ErrorKind::ConnectionReset,
        "the peer's next read",
    );
    run.expect_end_states(a_addr, b_addr, "none", "none");
    vec![ports]
}

fn check_unread<const A_CLIENT: bool, const A_CLOSES: bool>(obs: &Observed, conns: &[Ports]) {
    check_handshake(obs, conns[0], A_CLIENT);
    check_abort_rst(obs, conns[0], A_CLOSES);
}

fn linger0<const A_CLIENT: bool, const A_CLOSES: bool>(run: &Run<'_>) -> Vec<Ports> {
    let (a, b) = run.pair(A_CLIENT);
    let ports = Ports::of(&*a);
    let (a_addr, b_addr) = (a.local_addr(), a.peer_addr());
    let (mut closer, mut peer) = closer_and_peer(a, Box::new(b), A_CLOSES);
    peer.write_all(b"ping").expect("the peer writes");
    assert_eq!(closer.read_to_end(4).expect("the closer reads"), b"ping");
    closer.write_all(b"pong").expect("the closer writes");
    assert_eq!(peer.read_to_end(4).expect("the peer reads"), b"pong");
    settle();
    closer.close_linger0();
    thread::sleep(Duration::from_millis(20));
    expect_err(
        peer.read(&mut [0; 64]),
        ErrorKind::ConnectionReset,
        "the peer's next read",
    );
    run.expect_end_states(a_addr, b_addr, "none", "none");
    vec![ports]
}

fn check_linger0<const A_CLIENT: bool, const A_CLOSES: bool>(obs: &Observed, conns: &[Ports]) {
    check_handshake(obs, conns[0], A_CLIENT);
    check_abort_rst(obs, conns[0], A_CLOSES);
    let closer = if A_CLOSES {
        obs.a_seq(conns[0].0, conns[0].1)
    } else {
        obs.b_seq(conns[0].0, conns[0].1)
    };
    assert!(
        !closer.iter().any(|s| s == "TIME-WAIT"),
        "[{}] no TIME-WAIT: {closer:?}",
        obs.label()
    );
}

// ----- half-close ----------------------------------------------------------------------------------

const HALF: usize = 256 * 1024;

fn half_close<const A_CLIENT: bool, const A_SHUTS: bool>(run: &Run<'_>) -> Vec<Ports> {
    let (a, b) = run.pair(A_CLIENT);
    let ports = Ports::of(&*a);
    let (a_addr, b_addr) = (a.local_addr(), a.peer_addr());
    let (mut shutter, mut other) = closer_and_peer(a, Box::new(b), A_SHUTS);
    shutter.shutdown_write().expect("shutdown(SHUT_WR)");
    assert_eq!(
        other.read(&mut [0; 8]).expect("the other side reads EOF"),
        0
    );
    let data = pattern(HALF, 4);
    let expect = data.clone();
    let writer = thread::spawn(move || {
        other
            .write_all(&data)
            .expect("the other side keeps sending");
        other
    });
    let got = shutter
        .read_to_end(HALF)
        .expect("the shutter keeps reading");
    assert!(got == expect, "256 KiB intact after the half-close");
    let other = writer.join().expect("writer");
    expect_err(
        shutter.write_all(b"late"),
        ErrorKind::BrokenPipe,
        "a write after shutdown(SHUT_WR)",
    );
    other.close();
    assert_eq!(shutter.read(&mut [0; 8]).expect("EOF"), 0);
    shutter.close();
    if A_SHUTS {
        run.expect_end_states(a_addr, b_addr, "TIME-WAIT", "none");
    } else {
        run.expect_end_states(a_addr, b_addr, "none", "TIME-WAIT");
    }
    vec![ports]
}

fn check_half_close<const A_CLIENT: bool, const A_SHUTS: bool>(obs: &Observed, conns: &[Ports]) {
    let p = conns[0];
    check_handshake(obs, p, A_CLIENT);
    check_orderly_close(obs, p, A_SHUTS);
    let segs = obs.conn(p.0, p.1);
    let shutter_ip = if A_SHUTS { obs.sides.a } else { obs.sides.b };
    let fin_at = segs
        .iter()
        .position(|s| s.flags.fin())
        .expect("the shutter's FIN");
    let after: u64 = segs[fin_at..]
        .iter()
        .filter(|s| *s.src.ip() != shutter_ip)
        .map(|s| u64::from(s.len))
        .sum();
    assert!(
        after >= HALF as u64,
        "[{}] {after} octets flowed after the half-close",
        obs.label()
    );
}

// ----- connection refused ----------------------------------------------------------------------------

fn refused<const A_CONNECTS: bool>(run: &Run<'_>) -> Vec<Ports> {
    if A_CONNECTS {
        let r = run.a.connect(run.a_addr(1), run.b_addr(0)).map(|_| ());
        expect_err(r, ErrorKind::ConnectionRefused, "A's connect");
        vec![Ports(run.port + 1, run.port)]
    } else {
        let r = run
            .b
            .connect_socket(run.b_addr(1), run.a_addr(0))
            .map(|_| ());
        expect_err(r, ErrorKind::ConnectionRefused, "B's connect");
        vec![Ports(run.port, run.port + 1)]
    }
}

fn check_refused<const A_CONNECTS: bool>(obs: &Observed, conns: &[Ports]) {
    let p = conns[0];
    let segs = obs.conn(p.0, p.1);
    let connector = if A_CONNECTS { obs.sides.a } else { obs.sides.b };
    assert_eq!(
        segs.len(),
        2,
        "[{}] SYN, RST:\n{}",
        obs.label(),
        obs.render(p.0, p.1)
    );
    assert_eq!(*segs[0].src.ip(), connector);
    assert_eq!(segs[0].control(), "S");
    assert_eq!(
        segs[1].control(),
        "R.",
        "[{}] a RST,ACK answers the SYN",
        obs.label()
    );
    assert_eq!(segs[1].seq, 0, "RFC 9293 §3.10.7.1: <SEQ=0>");
    assert_eq!(
        segs[1].ack,
        segs[0].seq.wrapping_add(1),
        "<ACK=SEG.SEQ+SEG.LEN>"
    );
}

// ----- half-open connections ---------------------------------------------------------------------------

fn crash<const A_CLIENT: bool>(run: &Run<'_>) -> Vec<Ports> {
    let (mut a, mut b) = run.pair(A_CLIENT);
    let ports = Ports::of(&*a);
    let (a_addr, b_addr) = (a.local_addr(), a.peer_addr());
    a.write_all(b"before the crash").expect("A writes");
    assert_eq!(b.read_to_end(16).expect("B reads"), b"before the crash");
    settle();
    a.vanish();
    assert_eq!(run.a_state(a_addr, b_addr), "none", "A kept no state");
    b.write_all(b"anyone there?")
        .expect("B's write is only queued");
    expect_err(
        b.read(&mut [0; 8]),
        ErrorKind::ConnectionReset,
        "B's next read",
    );
    run.expect_end_states(a_addr, b_addr, "none", "none");
    vec![ports]
}

fn check_crash<const A_CLIENT: bool>(obs: &Observed, conns: &[Ports]) {
    let p = conns[0];
    check_handshake(obs, p, A_CLIENT);
    let segs = obs.conn(p.0, p.1);
    let data = segs
        .iter()
        .rfind(|s| *s.src.ip() == obs.sides.b && s.len > 0)
        .expect("B's data after the crash");
    let rst = segs.iter().find(|s| s.flags.rst()).expect("a RST");
    assert_eq!(
        *rst.src.ip(),
        obs.sides.a,
        "[{}] A, with no state, resets",
        obs.label()
    );
    assert_eq!(
        rst.control(),
        "R",
        "[{}] the RST of a closed port to an ACK has no ACK",
        obs.label()
    );
    assert_eq!(
        rst.seq,
        data.ack,
        "[{}] <SEQ=SEG.ACK><CTL=RST>",
        obs.label()
    );
    assert!(
        !segs.iter().any(|s| s.flags.fin()),
        "[{}] no FIN",
        obs.label()
    );
}

fn peer_vanishes<const A_CLIENT: bool, const KEEPALIVE: bool>(run: &Run<'_>) -> Vec<Ports> {
    let (mut a, b) = run.pair(A_CLIENT);
    let ports = Ports::of(&*a);
    let (a_addr, b_addr) = (a.local_addr(), a.peer_addr());
    let mut b: Box<dyn Stream> = Box::new(b);
    b.write_all(b"hello").expect("B writes");
    assert_eq!(a.read_to_end(5).expect("A reads"), b"hello");
    if let Some(host) = run.host {
        // B closes with linger 0, and its RST is lost: A is left half-open.
        let mut lost = false;
        host.set_filter(Some(Box::new(move |s: &Seg| {
            if s.flags.rst() && !lost {
                lost = true;
                Verdict::Drop
            } else {
                Verdict::Pass
            }
        })));
        b.close_linger0();
    } else {
        // On loopback nothing can lose the RST: B's socket vanishes without one instead.
        b.vanish();
    }
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        run.a_state(a_addr, b_addr),
        "ESTABLISHED",
        "A does not know yet"
    );
    let started = Instant::now();
    if !KEEPALIVE {
        a.write_all(b"are you there?").expect("A's write is queued");
    }
    expect_err(a.read(&mut [0; 8]), ErrorKind::ConnectionReset, "A's read");
    println!(
        "[{}] A found out after {:.2?}",
        run.variant.label(),
        started.elapsed()
    );
    if let Some(host) = run.host {
        host.set_filter(None);
    }
    run.expect_end_states(a_addr, b_addr, "none", "none");
    vec![ports]
}

fn check_peer_vanishes<const A_CLIENT: bool, const KEEPALIVE: bool>(
    obs: &Observed,
    conns: &[Ports],
) {
    let p = conns[0];
    check_handshake(obs, p, A_CLIENT);
    let from_a = obs.sent_by_a(p.0, p.1);
    let from_b = obs.sent_by_b(p.0, p.1);
    let b_rsts: Vec<&&Seg> = from_b.iter().filter(|s| s.flags.rst()).collect();
    let last_rst = b_rsts.last().expect("B's RST answering A");
    assert_eq!(
        last_rst.control(),
        "R",
        "[{}] B has no state: <SEQ=SEG.ACK><CTL=RST>",
        obs.label()
    );
    let trigger = from_a
        .iter()
        .rfind(|s| s.at <= last_rst.at && !s.flags.rst())
        .expect("the segment B answered");
    assert_eq!(
        last_rst.seq,
        trigger.ack,
        "[{}] the RST's SEQ is the ACK it answers",
        obs.label()
    );
    if KEEPALIVE {
        let a_addr = from_a[0].src;
        let b_addr = from_b[0].src;
        let before: Vec<Seg> = obs
            .conn(p.0, p.1)
            .into_iter()
            .filter(|s| s.at < trigger.at)
            .collect();
        let nxt = snd_nxt(&before, a_addr, b_addr).expect("A sent");
        assert_eq!(
            trigger.len,
            0,
            "[{}] a keepalive probe: {trigger}",
            obs.label()
        );
        assert_eq!(
            trigger.seq,
            nxt.wrapping_sub(1),
            "[{}] probe <SEQ=SND.NXT-1>",
            obs.label()
        );
    } else {
        assert!(trigger.len > 0, "[{}] A's data drew the RST", obs.label());
    }
    if obs.variant == Variant::Ours {
        assert_eq!(b_rsts.len(), 2, "B's lost RST, then its answer");
        assert_eq!(b_rsts[0].note, Some("dropped by the harness"));
        assert_eq!(b_rsts[0].control(), "R.", "linger-0 close: R.");
    }
}

// ----- a listener with a small backlog under a burst of connects --------------------------------------

const BURST: u16 = 8;
const BACKLOG: u32 = 2;

fn backlog(run: &Run<'_>) -> Vec<Ports> {
    let mut listener = run.a.listen(run.a_addr(0), BACKLOG).expect("A listens");
    let start = Instant::now();
    let clients: Vec<_> = (1..=BURST)
        .map(|i| {
            let (b, local, remote) = (run.b, run.b_addr(i), run.a_addr(0));
            thread::spawn(move || {
                let mut s = b.connect_socket(local, remote).expect("a client connects");
                let connected = start.elapsed();
                s.write_all(&[i as u8]).expect("the client writes");
                let mut reply = [0u8; 1];
                let got = std::io::Read::read_exact(&mut &s.socket, &mut reply);
                (i, connected, got.map(|()| reply[0]), start.elapsed())
            })
        })
        .collect();
    // Nobody accepts for a while: the queues fill.
    thread::sleep(Duration::from_millis(1500));
    let mut accepted = Vec::new();
    let mut first_batch = 0u32;
    let t0 = Instant::now();
    for _ in 0..BURST {
        accepted.push(
            listener
                .accept()
                .expect("A accepts every client in the end"),
        );
        if t0.elapsed() < Duration::from_millis(20) {
            first_batch += 1;
        }
    }
    for s in &mut accepted {
        assert_eq!(
            s.read_to_end(1).expect("A reads the client's byte").len(),
            1
        );
        s.write_all(&[0xaa]).expect("A answers");
    }
    let mut ports = Vec::new();
    for c in clients {
        let (i, connected, reply, done) = c.join().expect("client thread");
        assert_eq!(reply.expect("the client got its answer"), 0xaa);
        println!(
            "[{}] client {i}: connect() returned at {connected:.2?}, answer at {done:.2?}",
            run.variant.label()
        );
        ports.push(Ports(run.port, run.port + i));
    }
    println!(
        "[{}] {first_batch} connections were waiting in the accept queue (backlog {BACKLOG})",
        run.variant.label()
    );
    assert!(
        first_batch <= BACKLOG + 1,
        "the accept queue holds at most backlog + 1"
    );
    for s in accepted {
        s.close();
    }
    ports
}

fn check_backlog(obs: &Observed, conns: &[Ports]) {
    let mut overflow = 0;
    for &p in conns {
        let from_a = obs.sent_by_a(p.0, p.1);
        let from_b = obs.sent_by_b(p.0, p.1);
        assert!(
            !from_a.iter().any(|s| s.flags.rst()),
            "[{}] no RST (tcp_abort_on_overflow = 0)",
            obs.label()
        );
        let syns = from_b.iter().filter(|s| s.control() == "S").count();
        let synacks = from_a.iter().filter(|s| s.control() == "S.").count();
        assert!(
            syns >= 1 && synacks >= 1,
            "[{}] handshake for {p:?}",
            obs.label()
        );
        let mut data_seqs: Vec<u32> = from_b.iter().filter(|s| s.len > 0).map(|s| s.seq).collect();
        let sent = data_seqs.len();
        data_seqs.dedup();
        let data_retransmitted = sent > data_seqs.len();
        // Ours keeps no state for a SYN answered with a cookie: its log starts at ESTABLISHED.
        let cookie = obs.variant == Variant::Ours
            && obs.a_seq(p.0, p.1).first().map(String::as_str) == Some("ESTABLISHED");
        let mut seen = Vec::new();
        if syns > 1 {
            seen.push("SYN dropped, retransmitted");
        }
        if cookie {
            seen.push("SYN cookie");
        }
        if synacks > 1 {
            seen.push("final ACK dropped, SYN+ACK retransmitted");
        }
        if data_retransmitted {
            seen.push("client data dropped until accepted, retransmitted");
        }
        overflow += seen.len();
        println!(
            "[{}] B port {}: {syns} SYN, {synacks} SYN+ACK: {}",
            obs.label(),
            p.1,
            if seen.is_empty() {
                "at once".to_string()
            } else {
                seen.join("; ")
            }
        );
    }
    assert!(
        overflow > 0,
        "[{}] {BURST} connects against backlog {BACKLOG}: the overflow must show",
        obs.label()
    );
}

// ----- the tests -----------------------------------------------------------------------------------------

macro_rules! scenario {
    ($name:ident, $port:expr, $body:expr, $check:expr) => {
        scenario!($name, $port, Setup::default(), $body, $check);
    };
    ($name:ident, $port:expr, $setup:expr, $body:expr, $check:expr) => {
        #[test]
        fn $name() {
            common::run(&Scenario {
                name: stringify!($name),
                port: $port,
                setup: $setup,
                body: $body,
                check: $check,
            });
        }
    };
}

const KEEPALIVE: Setup = Setup {
    keepalive: Some((Duration::from_secs(1), Duration::from_secs(1), 3)),
};

scenario!(
    bulk_a_client_a_closes,
    21000,
    bulk::<true, true>,
    check_bulk::<true, true>
);
scenario!(
    bulk_a_client_b_closes,
    21040,
    bulk::<true, false>,
    check_bulk::<true, false>
);
scenario!(
    bulk_a_server_a_closes,
    21080,
    bulk::<false, true>,
    check_bulk::<false, true>
);
scenario!(
    bulk_a_server_b_closes,
    21120,
    bulk::<false, false>,
    check_bulk::<false, false>
);
scenario!(
    simultaneous_close_a_client,
    21160,
    simultaneous::<true>,
    check_simultaneous::<true>
);
scenario!(
    simultaneous_close_a_server,
    21200,
    simultaneous::<false>,
    check_simultaneous::<false>
);
scenario!(
    unread_close_by_a_client,
    21240,
    unread::<true, true>,
    check_unread::<true, true>
);
scenario!(
    unread_close_by_a_server,
    21280,
    unread::<false, true>,
    check_unread::<false, true>
);
scenario!(
    unread_close_by_b_a_client,
    21320,
    unread::<true, false>,
    check_unread::<true, false>
);
scenario!(
    unread_close_by_b_a_server,
    21360,
    unread::<false, false>,
    check_unread::<false, false>
);
scenario!(
    linger0_close_by_a_client,
    21400,
    linger0::<true, true>,
    check_linger0::<true, true>
);
scenario!(
    linger0_close_by_a_server,
    21440,
    linger0::<false, true>,
    check_linger0::<false, true>
);
scenario!(
    linger0_close_by_b_a_client,
    21480,
    linger0::<true, false>,
    check_linger0::<true, false>
);
scenario!(
    linger0_close_by_b_a_server,
    21520,
    linger0::<false, false>,
    check_linger0::<false, false>
);
scenario!(
    half_close_by_a_client,
    21560,
    half_close::<true, true>,
    check_half_close::<true, true>
);
scenario!(
    half_close_by_a_server,
    21600,
    half_close::<false, true>,
    check_half_close::<false, true>
);
scenario!(
    half_close_by_b_a_client,
    21640,
    half_close::<true, false>,
    check_half_close::<true, false>
);
scenario!(
    half_close_by_b_a_server,
    21680,
    half_close::<false, false>,
    check_half_close::<false, false>
);
scenario!(
    refused_a_connects,
    21720,
    refused::<true>,
    check_refused::<true>
);
scenario!(
    refused_b_connects,
    21760,
    refused::<false>,
    check_refused::<false>
);
scenario!(crash_of_a_client, 21800, crash::<true>, check_crash::<true>);
scenario!(
    crash_of_a_server,
    21840,
    crash::<false>,
    check_crash::<false>
);
scenario!(
    b_vanishes_a_client_keepalive,
    21880,
    KEEPALIVE,
    peer_vanishes::<true, true>,
    check_peer_vanishes::<true, true>
);
scenario!(
    b_vanishes_a_server_keepalive,
    21920,
    KEEPALIVE,
    peer_vanishes::<false, true>,
    check_peer_vanishes::<false, true>
);
scenario!(
    b_vanishes_a_client_send,
    21960,
    peer_vanishes::<true, false>,
    check_peer_vanishes::<true, false>
);
scenario!(
    b_vanishes_a_server_send,
    22000,
    peer_vanishes::<false, false>,
    check_peer_vanishes::<false, false>
);
scenario!(backlog_burst, 22040, backlog, check_backlog);
