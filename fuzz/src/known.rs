//! Open findings the oracles tolerate, so that fuzzing (and `fuzz/ci.sh`) goes on finding
//! other things until the core is fixed.
//!
//! Each switch names a finding reported to the core's maintainers, with its regression test in
//! `crates/fsm/tests/fuzz_regressions.rs` (marked `#[ignore = "finding N: ..."]`). When the
//! core is fixed: un-ignore the test, set the switch to `false`, and run the targets: the
//! oracle then holds the fix in place.

/// Finding 2: a passive connection that returns from SYN-RECEIVED to LISTEN (RST, new SYN,
/// SYN,ACK retries exhausted) forgets the octets queued by SEND, without telling the caller,
/// whose send buffer then no longer matches `Transmit::payload` offsets.
pub const F2_LISTEN_FORGETS_SEND_BUFFER: bool = true;

/// Finding 3: one segment takes SYN-RECEIVED to CLOSING (CLOSE was called with data queued, so
/// the FIN waits; the peer's segment ACKs our SYN, which makes FIN-WAIT-1, and carries its FIN,
/// which makes CLOSING). RFC 9293 §3.10.7.4 processes the ACK and then the FIN in one event, as
/// for `SYN-RECEIVED -> CLOSE-WAIT`, but `tcp_fsm::EDGES` has no `SYN-RECEIVED -> CLOSING`.
pub const F3_SYN_RECEIVED_TO_CLOSING: bool = true;

/// Finding 4: FIN-WAIT-1 entered by CLOSE in SYN-RECEIVED, before our SYN is acknowledged,
/// answers a bad ACK as a synchronized state does (an ACK, RFC 5961 §5.2) rather than as
/// SYN-RECEIVED does (`<SEQ=SEG.ACK><CTL=RST>`). Two such TCBs synchronized to different
/// incarnations of each other then ACK each other's ACKs; with `Policy::invalid_ratelimit`
/// zero ("disables the limit") that never ends. The `pair` drain stops early instead of
/// failing when it sees that shape.
pub const F4_FIN_WAIT_1_UNSYNCHRONIZED_ACK_WAR: bool = true;
