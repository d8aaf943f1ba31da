//! Teeth: the model must catch every deliberate bug of the core (`tcp_fsm::Bug`, behind the
//! core's `teeth` feature, which this crate's dev-dependency turns on), and name the property
//! that catches it.
//!
//! Each row runs [`run::check`] (what `tcp-model check` runs) on the smallest scenario of the
//! suite that catches the bug, with the bug in both peers' policies, and asserts that the
//! outcome names the expected property: a safety or quiescence property violated, or a
//! reachability property no longer reached (both make `check` exit non-zero). The same scenario
//! without the bug must pass, so the catch is the bug's doing.
#![cfg(feature = "checker")]

use std::net::Ipv4Addr;
use std::time::Instant;

use tcp_fsm::wire::{self, PseudoHeader};
use tcp_fsm::{Bug, Policy};
use tcp_model::run::{self, Outcome};
use tcp_model::{Scenario, TcpModel, diagram, pcap, suite};

/// How `check` reports a bug.
#[derive(Clone, Copy, Debug)]
enum Caught {
    /// A safety or quiescence property is violated.
    Violated(&'static str),
    /// A reachability (`sometimes`) property is no longer reached.
    Unreached(&'static str),
}

use Caught::{Unreached, Violated};

/// Bug -> the scenario that catches it -> the property that does.
const TEETH: [(Bug, &str, Caught); 14] = [
    // The octet that rides with the peer's FIN is dropped with the connection, and a lost
    // final ACK can no longer be re-sent.
    (
        Bug::SkipTimeWait,
        "half-close",
        Violated("quiescent: all delivered"),
    ),
    (
        Bug::SkipTimeWait,
        "lost-final-ack",
        Unreached("FIN re-ACKed in TIME-WAIT"),
    ),
    // The peer, half-closed and never orphaned, waits in FIN-WAIT-2 for a FIN that was lost.
    (
        Bug::LastAckNoRetransmit,
        "half-close",
        Violated("quiescent: all closed"),
    ),
    (
        Bug::RstAnySeq,
        "old-dup-rst",
        Violated("no unexpected reset"),
    ),
    (
        Bug::PassiveSynReceivedRstCloses,
        "old-dup-syn",
        Violated("listener survives"),
    ),
    (
        Bug::FinNoSeq,
        "lost-final-ack",
        Violated("in-order FIN consumed"),
    ),
    (
        Bug::WindowEdgeOffByOne,
        "small-window",
        Violated("sender respects window"),
    ),
    (
        Bug::IgnoreSynInSynSent,
        "simultaneous-open",
        Unreached("both in SYN-RECEIVED"),
    ),
    (
        Bug::FinWait1IgnoresFinAck,
        "simultaneous-close",
        Violated("in-order FIN consumed"),
    ),
    (
        Bug::CloseUnreadSendsFin,
        "abort",
        Violated("no unread data after close"),
    ),
    (
        Bug::TimeWaitNoRestart,
        "lost-final-ack",
        Violated("TIME-WAIT restarts on FIN"),
    ),
    (
        Bug::CloseWaitToClosing,
        "simultaneous-close",
        Violated("TIME-WAIT only for the active closer"),
    ),
    // CLOSE-WAIT -> CLOSING is no edge of Figure 5.
    (
        Bug::CloseWaitToClosing,
        "simultaneous-close",
        Violated("state changes follow Figure 5"),
    ),
    (
        Bug::AckOneTooFar,
        "small-window",
        Violated("sequence views agree"),
    ),
];

/// Threads per check: nextest runs tests side by side.
const THREADS: usize = 1;

fn scenario(name: &str) -> Scenario {
    suite::by_name(name).unwrap_or_else(|| panic!("no scenario {name:?}"))
}

fn with_bug(mut s: Scenario, bug: Bug) -> Scenario {
    for peer in &mut s.peers {
        peer.policy.bug = Some(bug);
    }
    s
}

fn caught(outcome: &Outcome, expected: Caught) -> bool {
    match expected {
        Violated(name) => outcome.violations.iter().any(|v| v.property == name),
        Unreached(name) => outcome.unreached.contains(&name),
    }
}

#[test]
fn every_bug_is_in_the_table() {
    for bug in Bug::ALL {
        assert!(
            TEETH.iter().any(|(b, _, _)| *b == bug),
            "{bug:?} has no row in TEETH"
        );
    }
}

#[test]
fn check_catches_every_bug_with_the_named_property() {
    let mut failures = Vec::new();
    let mut table = String::from(
        "bug                          scenario            caught by                                        seconds\n",
    );
    for (bug, name, expected) in TEETH {
        let baseline = run::check(scenario(name), THREADS);
        if !baseline.ok() {
            failures.push(format!("{name} fails without a bug: {}", baseline.result()));
        }
        let start = Instant::now();
        let outcome = run::check(with_bug(scenario(name), bug), THREADS);
        let seconds = start.elapsed().as_secs_f64();
        let what = match expected {
            Violated(p) => format!("violated {p:?}"),
            Unreached(p) => format!("unreached {p:?}"),
        };
        table.push_str(&format!(
            "{:<28} {name:<19} {what:<48} {seconds:.2}\n",
            format!("{bug:?}")
        ));
        if !caught(&outcome, expected) {
            failures.push(format!(
                "{bug:?} in {name}: expected {what}, check reported: {}",
                outcome.result()
            ));
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A violation is shown as the shortest path in RFC-figure style, and as a pcap file whose
/// datagrams carry valid IPv4 and TCP checksums.
#[test]
fn a_violation_prints_a_diagram_and_writes_a_pcap() {
    let s = with_bug(scenario("simultaneous-close"), Bug::CloseWaitToClosing);
    let outcome = run::check(s.clone(), THREADS);
    let violation = outcome
        .violations
        .iter()
        .find(|v| v.property == "TIME-WAIT only for the active closer")
        .expect("the bug is caught");
    let model = TcpModel::new(s);

    let text = diagram::render(&model, &violation.path);
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let expected = [
        "     TCP A                                                                 TCP B",
        "  5. FIN-WAIT-1   --> <SEQ=101><ACK=301><CTL=FIN,ACK>                  --> CLOSE-WAIT",
        "  6. FIN-WAIT-1       (B: close)                                           CLOSING",
        "  8. TIME-WAIT    --> <SEQ=102><ACK=302><CTL=ACK>                      --> TIME-WAIT",
    ];
    for line in expected {
        assert!(lines.contains(&line), "missing {line:?} in\n{text}");
    }
    assert_eq!(
        violation.path.len(),
        9,
        "the shortest path has 8 steps:\n{text}"
    );

    let arrivals = diagram::arrivals(&violation.path);
    let bytes = pcap::file(&arrivals, |p| model.scenario.peers[p].policy);
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("teeth.pcap");
    std::fs::write(&file, &bytes).expect("pcap written");
    let bytes = std::fs::read(&file).expect("pcap read back");
    let records = parse_pcap(&bytes, &model.scenario.peers[0].policy);
    assert_eq!(records, arrivals.len(), "one record per arrival");
    assert_eq!(records, 6, "segments that arrived along the path");

    // Where tshark is installed, it must read the file and find every TCP checksum good
    // (status 1); elsewhere the checks above stand alone.
    let tshark = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-o", "tcp.check_checksum:TRUE"])
        .args(["-T", "fields", "-e", "tcp.checksum.status"])
        .output();
    if let Ok(out) = tshark {
        assert!(out.status.success(), "tshark failed: {out:?}");
        let statuses = String::from_utf8_lossy(&out.stdout);
        let statuses: Vec<&str> = statuses.lines().collect();
        assert_eq!(statuses, ["1"; 6], "tshark's checksum verdicts");
    }
}

/// Parses a classic pcap file of raw IPv4 datagrams, verifying every checksum, and returns the
/// number of records.
fn parse_pcap(bytes: &[u8], policy: &Policy) -> usize {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xa1b2_c3d4, "magic, little-endian, microseconds");
    assert_eq!(&bytes[4..8], &[2, 0, 4, 0], "version 2.4");
    assert_eq!(u32_at(20), pcap::LINKTYPE_IPV4);
    let mut at = 24;
    let mut records = 0;
    while at < bytes.len() {
        let (incl, orig) = (u32_at(at + 8) as usize, u32_at(at + 12) as usize);
        assert_eq!(incl, orig, "no truncation");
        let packet = &bytes[at + 16..at + 16 + incl];
        assert_eq!(packet[0], 0x45, "IPv4, 20-octet header");
        assert_eq!(packet[9], 6, "TCP");
        assert_eq!(
            usize::from(u16::from_be_bytes([packet[2], packet[3]])),
            incl
        );
        assert_eq!(internet_checksum(&packet[..20]), 0, "IPv4 header checksum");
        let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
        let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
        // The TCP checksum, independently of the core's parser: over the pseudo-header
        // (RFC 9293 §3.1) and the segment, it sums to zero.
        let tcp = &packet[20..];
        let mut covered = Vec::from(&packet[12..20]);
        covered.extend_from_slice(&[0, 6]);
        covered.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        covered.extend_from_slice(tcp);
        assert_eq!(internet_checksum(&covered), 0, "TCP checksum");
        let pseudo = PseudoHeader::V4 { src, dst };
        let repr = wire::parse(&packet[20..], Some(&pseudo)).expect("TCP parses, checksum ok");
        assert!(repr.segment.options.mss.is_none() || repr.segment.flags.syn());
        assert!(repr.segment.payload.len() <= policy.mss.into());
        at += 16 + incl;
        records += 1;
    }
    assert_eq!(at, bytes.len(), "no trailing octets");
    records
}

/// The RFC 1071 checksum (an odd last octet is padded with zero).
fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
