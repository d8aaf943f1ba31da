//! The properties of two TCP peers, written once.
//!
//! DESIGN.md wants these in the model crate (`tcp_model::properties`), shared by the model
//! checker, the `pair` fuzz target and the scenario tests. The model crate has no such module
//! yet, so they live here, apart from the fuzz machinery: every function takes plain
//! `tcp_fsm` values (states, `Status`, segments) and a [`Ledger`] of what each application did,
//! and returns `Err(Violation)`; none depends on the fuzz crate. They can move as they are.

use core::fmt;

use tcp_fsm::{Cause, EDGES, Policy, Segment, State, Status};

/// A property that failed, with what shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A state change that is no edge of RFC 9293's diagram (`tcp_fsm::EDGES`).
    ForbiddenStep {
        /// From.
        from: State,
        /// To.
        to: State,
        /// What took it.
        cause: Cause,
    },
    /// Not ISS <= SND.UNA <= SND.NXT (modular).
    SendSequence {
        /// The TCB.
        status: Status,
    },
    /// Two synchronized peers of one connection disagree: one acknowledged more than the other
    /// received, or received more than the other sent, or only one knows the other's ISS.
    PairSequence {
        /// What is wrong.
        what: &'static str,
        /// The side that shows it.
        a: Status,
        /// The other side.
        b: Status,
    },
    /// Delivered octets differ from what the peer's application wrote at that stream offset.
    StreamCorrupt {
        /// Offset in the stream.
        offset: u64,
        /// The octet delivered.
        got: u8,
        /// The octet written there.
        want: u8,
    },
    /// One TCB received data from two incarnations of its peer (a crash and restart in
    /// between): the old connection's sequence space let the new one's octets in.
    CrossIncarnation {
        /// The incarnation whose data it received first.
        receiving_from: u64,
        /// The incarnation whose data it received now.
        delivered_from: u64,
    },
    /// More octets delivered than the peer's application wrote.
    StreamOverrun {
        /// Delivered so far.
        delivered: u64,
        /// Written by the peer.
        written: u64,
    },
    /// A RST sent in answer to a RST.
    RstForRst {
        /// The RST that arrived.
        input: String,
        /// The RST that went out.
        output: String,
    },
    /// The pair went quiet (no segment in flight, no timer armed) with a side stuck in a state
    /// that only a segment or timer can leave.
    Stuck {
        /// The stuck side's state.
        state: State,
        /// The other side's state.
        peer: State,
    },
    /// Both applications closed and neither saw an error, yet not everything written arrived.
    IncompleteDelivery {
        /// Octets one side wrote.
        written: u64,
        /// Octets the other received.
        received: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::ForbiddenStep { from, to, cause } => {
                write!(f, "{from} -> {to} by {cause:?} is no edge of RFC 9293's diagram")
            }
            Violation::SendSequence { status } => write!(
                f,
                "not ISS <= SND.UNA <= SND.NXT: {} {} {}",
                status.iss, status.snd_una, status.snd_nxt
            ),
            Violation::PairSequence { what, a, b } => write!(
                f,
                "{what}: {} (ISS {} SND.UNA {} SND.NXT {} RCV.NXT {}) vs {} (ISS {} SND.UNA {} SND.NXT {} RCV.NXT {})",
                a.state,
                a.iss,
                a.snd_una,
                a.snd_nxt,
                a.rcv_nxt,
                b.state,
                b.iss,
                b.snd_una,
                b.snd_nxt,
                b.rcv_nxt
            ),
            Violation::StreamCorrupt { offset, got, want } => write!(
                f,
                "stream octet {offset} delivered as {got:#04x}, written as {want:#04x}"
            ),
            Violation::CrossIncarnation {
                receiving_from,
                delivered_from,
            } => write!(
                f,
                "a TCB receiving incarnation {receiving_from}'s stream was given incarnation {delivered_from}'s octets"
            ),
            Violation::StreamOverrun { delivered, written } => {
                write!(f, "{delivered} octets delivered, {written} written")
            }
            Violation::RstForRst { input, output } => {
                write!(f, "RST {output} sent in answer to RST {input}")
            }
            Violation::Stuck { state, peer } => write!(
                f,
                "quiescent with one side in {state} (the other in {peer}): nothing will move it"
            ),
            Violation::IncompleteDelivery { written, received } => write!(
                f,
                "both closed without error, but {received} of {written} written octets arrived"
            ),
        }
    }
}

/// RFC 9293 Figure 5 and its notes: one event moves a connection along an edge of
/// `tcp_fsm::EDGES` taken by that kind of event, or leaves it where it is.
pub fn step_allowed(from: State, to: State, cause: Cause) -> Result<(), Violation> {
    let known_gap = crate::known::F3_SYN_RECEIVED_TO_CLOSING
        && (from, to, cause) == (State::SynReceived, State::Closing, Cause::Segment);
    if known_gap
        || from == to
        || EDGES
            .iter()
            .any(|e| e.from == from && e.to == to && e.cause == cause)
    {
        Ok(())
    } else {
        Err(Violation::ForbiddenStep { from, to, cause })
    }
}

/// RFC 9293 §3.3.1: ISS <= SND.UNA <= SND.NXT, in modular order.
pub fn send_sequence(status: &Status) -> Result<(), Violation> {
    if status.snd_una.in_closed(status.iss, status.snd_nxt) {
        Ok(())
    } else {
        Err(Violation::SendSequence { status: *status })
    }
}

/// Synchronized in RFC 9293 §3.5.2's sense: both ISNs known *and acknowledged*. A state that
/// `State::is_synchronized` calls synchronized may still have our SYN unacknowledged (FIN-WAIT-1
/// or CLOSING reached by CLOSE from SYN-RECEIVED).
#[must_use]
pub fn synchronized(s: &Status) -> bool {
    s.state.is_synchronized() && s.snd_una != s.iss
}

/// Two synchronized TCBs of one connection (each knows the other's ISS): what one acknowledged
/// the other received, and what one received the other sent, SYN and FIN included:
/// `A.SND.UNA <= B.RCV.NXT <= A.SND.NXT`, and the same the other way. Two synchronized TCBs of
/// which only one knows the other's ISS are two incarnations mixed up.
///
/// Only meaningful while both TCBs stand for the same incarnations (no crash in between); TCBs
/// that are not both synchronized pass.
pub fn pair_sequence(a: &Status, b: &Status) -> Result<(), Violation> {
    if !(synchronized(a) && synchronized(b)) {
        return Ok(());
    }
    let (a_knows_b, b_knows_a) = (a.irs == b.iss, b.irs == a.iss);
    if a_knows_b != b_knows_a {
        return Err(Violation::PairSequence {
            what: "synchronized to different incarnations",
            a: *a,
            b: *b,
        });
    }
    if !a_knows_b {
        return Ok(());
    }
    for (x, y) in [(a, b), (b, a)] {
        if !y.rcv_nxt.in_closed(x.snd_una, x.snd_nxt) {
            return Err(Violation::PairSequence {
                what: "SND.UNA <= peer's RCV.NXT <= SND.NXT does not hold",
                a: *x,
                b: *y,
            });
        }
    }
    Ok(())
}

/// The octets an application writes at stream offset `offset` of incarnation `seed`: every
/// offset has its own octet, so a shifted, repeated or foreign octet shows.
#[must_use]
pub fn stream_octet(seed: u64, offset: u64) -> u8 {
    let x = offset
        .wrapping_add(seed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8
}

/// What one application did and saw, for the end-to-end properties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// The stream's seed (see [`stream_octet`]).
    pub seed: u64,
    /// Octets written (accepted by SEND).
    pub written: u64,
    /// Octets delivered in order.
    pub received: u64,
    /// The connection reached ESTABLISHED (the `Established` event).
    pub established: bool,
    /// The peer's FIN arrived (the `PeerFin` event).
    pub peer_fin: bool,
    /// An `Error` event, an ABORT, a crash, or the application let go (orphaned) before the
    /// end: nothing is promised about delivery any more.
    pub broken: bool,
}

/// Octets delivered to one side are the peer's octets at those offsets, and no more than the
/// peer wrote. `receiver` is updated.
pub fn stream_delivery(receiver: &mut Ledger, sender: &Ledger, data: &[u8]) -> Result<(), Violation> {
    let start = receiver.received;
    let end = start + data.len() as u64;
    if end > sender.written {
        return Err(Violation::StreamOverrun {
            delivered: end,
            written: sender.written,
        });
    }
    for (i, &got) in data.iter().enumerate() {
        let offset = start + i as u64;
        let want = stream_octet(sender.seed, offset);
        if got != want {
            return Err(Violation::StreamCorrupt { offset, got, want });
        }
    }
    receiver.received = end;
    Ok(())
}

/// RFC 9293 §3.10.7.1 and every state's rules: a RST never answers a RST.
pub fn no_rst_for_rst(input: &Segment<'_>, output: &Segment<'_>) -> Result<(), Violation> {
    if input.flags.rst() && output.flags.rst() {
        Err(Violation::RstForRst {
            input: input.to_string(),
            output: output.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Liveness at quiescence, after both applications closed and released their connections and
/// every segment and timer ran its course: each side is CLOSED (or LISTEN, passive). FIN-WAIT-2
/// may last only when the policy has no FIN-WAIT-2 timeout (RFC 9293 waits forever there).
pub fn quiescent(a: State, b: State, policy: &Policy) -> Result<(), Violation> {
    for (x, y) in [(a, b), (b, a)] {
        let done = matches!(x, State::Closed | State::Listen)
            || (x == State::FinWait2 && policy.fin_wait2_timeout.is_none());
        if !done {
            return Err(Violation::Stuck { state: x, peer: y });
        }
    }
    Ok(())
}

/// Both applications closed, both connections were established, and neither broke (no error,
/// abort or crash): then each received everything the other wrote, and the other's FIN.
pub fn graceful_close_delivers_all(a: &Ledger, b: &Ledger) -> Result<(), Violation> {
    if !(a.established && b.established) || a.broken || b.broken {
        return Ok(());
    }
    for (x, y) in [(a, b), (b, a)] {
        if y.received != x.written || !y.peer_fin {
            return Err(Violation::IncompleteDelivery {
                written: x.written,
                received: y.received,
            });
        }
    }
    Ok(())
}
