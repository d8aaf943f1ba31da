//! The properties two TCP peers must keep, written once: over a plain [`Observation`] (what the
//! model checks), and step by step over TCBs and [`Ledger`]s (what the `pair` fuzz target checks).
//!
//! The model checker builds an observation from each state it visits; a fuzz target or a
//! scenario test that drives two [`Connection`](tcp_fsm::Connection)s can build the same struct
//! and call the same functions. Every function returns `true` when the property holds.
//!
//! Safety properties hold in every state. Liveness is checked *at quiescence* (nothing in flight,
//! no timer allowed to fire, no application call left): stateright's `eventually` misses
//! counterexamples that end in a cycle, and quiescence is where a stuck connection shows.

use core::fmt;

use tcp_fsm::{Cause, EDGES, Policy, Segment, State, Status};

/// One peer as the properties see it.
#[derive(Clone, Copy, Debug)]
pub struct PeerView<'a> {
    /// The connection's TCB (`Connection::status`).
    pub status: Status,
    /// The peer's incarnation (it grows at each crash and reboot).
    pub incarnation: u8,
    /// The incarnation of the other peer whose SYN this connection accepted (its IRS), if any.
    pub peer_incarnation: Option<u8>,
    /// Every octet this peer's application wrote in this incarnation, in order.
    pub written: &'a [u8],
    /// Every octet delivered to this peer's application by its current connection, in order.
    pub read: &'a [u8],
    /// This connection received the peer's FIN before sending its own (it went through
    /// CLOSE-WAIT).
    pub passive_closer: bool,
    /// This connection became synchronized on a SYN its sender's incarnation had already died
    /// before the SYN was accepted: an old duplicate.
    pub stale_isn_established: bool,
    /// The application closed its socket (close or abort, not shutdown): it reads no more.
    pub app_closed: bool,
    /// The application listens and has neither accepted a connection nor closed the listener.
    pub listening: bool,
}

/// What happened so far on the path to this state, as far as the properties need it.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct History {
    /// A connection (not a closed port answering a stray segment) sent a RST, or a connection
    /// reported a reset or a refusal.
    pub connection_reset: bool,
    /// A connection timed out (retransmissions, keepalive, an orphaned FIN-WAIT-2).
    pub timed_out: bool,
    /// An application aborted (ABORT, linger 0, close with unread data), or deleted a TCB that
    /// a peer was reaching for (close in SYN-SENT, closing a listener).
    pub aborted: bool,
    /// A peer crashed.
    pub crashed: bool,
    /// A connection failed with an error.
    pub errored: bool,
    /// The model's own bounds were exceeded (a channel overflowed): not a TCP property.
    pub model_overflow: bool,
    /// A connection sent data beyond the window its peer offered (SND.UNA + SND.WND).
    pub beyond_window: bool,
    /// A connection that had not yet received its peer's FIN was given, in order and within
    /// its window, a FIN of its current peer, and RCV.NXT did not move past the FIN.
    pub fin_not_consumed: bool,
    /// A retransmitted FIN reached TIME-WAIT and the 2*MSL timer was not restarted.
    pub time_wait_not_restarted: bool,
    /// One event moved a connection along no edge of `tcp_fsm::EDGES` taken by that kind of
    /// event ([`step_allowed`]).
    pub forbidden_step: bool,
    /// A connection answered an arriving RST with a RST ([`no_rst_for_rst`]).
    pub rst_for_rst: bool,
}

/// A snapshot of the two peers, the history, and whether the system is quiescent.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// Peer A (index 0) and peer B (index 1).
    pub peers: [PeerView<'a>; 2],
    /// The path so far.
    pub history: History,
    /// The scenario lets connections be reset: it has aborts, crashes, unread data at close or
    /// old duplicates.
    pub resets_expected: bool,
    /// Nothing in flight, no timer allowed to fire, no application call left.
    pub quiescent: bool,
}

/// The octet a writer's application writes at `index` of its stream: distinct per writer,
/// incarnation and position, so that a duplicate, a gap or a stale octet shows.
#[must_use]
pub const fn stream_byte(writer: usize, incarnation: u8, index: usize) -> u8 {
    ((writer as u8) << 7) | ((incarnation & 0x7) << 4) | (index as u8 & 0xf)
}

/// Both synchronized ⇒ they are each other's peers (IRS = the other's ISS) and their sequence
/// views agree: neither has received (RCV.NXT) beyond what the other sent (SND.NXT), and
/// neither has had acknowledged (SND.UNA) beyond what the other received (RCV.NXT).
#[must_use]
pub fn sequence_views_agree(obs: &Observation<'_>) -> bool {
    let [a, b] = obs.peers.map(|p| p.status);
    if !(a.state.is_synchronized() && b.state.is_synchronized()) {
        return true;
    }
    let paired = a.irs == b.iss && b.irs == a.iss;
    paired
        && a.rcv_nxt <= b.snd_nxt
        && b.rcv_nxt <= a.snd_nxt
        && a.snd_una <= b.rcv_nxt
        && b.snd_una <= a.rcv_nxt
}

/// What each application read is a prefix of what the other wrote: in order, no duplicate, no
/// gap. When the writer has since crashed, its old stream is no longer known, and the read
/// octets are checked against the stream encoding of the incarnation they came from.
#[must_use]
pub fn reads_are_prefixes_of_writes(obs: &Observation<'_>) -> bool {
    (0..2).all(|r| {
        let (reader, writer) = (&obs.peers[r], &obs.peers[1 - r]);
        match reader.peer_incarnation {
            Some(inc) if inc == writer.incarnation => writer.written.starts_with(reader.read),
            Some(inc) => reader
                .read
                .iter()
                .enumerate()
                .all(|(i, &b)| b == stream_byte(1 - r, inc, i)),
            None => reader.read.is_empty(),
        }
    })
}

/// No connection becomes synchronized on an old duplicate SYN (RFC 9293 §3.4.1, §3.5).
#[must_use]
pub fn no_stale_isn_established(obs: &Observation<'_>) -> bool {
    obs.peers.iter().all(|p| !p.stale_isn_established)
}

/// Without aborts, crashes, unread data or old duplicates, no connection sends a RST or is
/// reset — unless a connection timed out first (its peer then meets a closed port). The
/// scenario says whether it has such events at all (`resets_expected`); the history says
/// whether this path has one.
///
/// A closed port's RST in answer to a stray segment (RFC 9293 §3.10.7.1) does not count: a
/// retransmission that fires early, or a reordered duplicate, legitimately outlives the
/// connection it belongs to.
#[must_use]
pub fn no_unexpected_reset(obs: &Observation<'_>) -> bool {
    let h = obs.history;
    obs.resets_expected || h.timed_out || h.aborted || h.crashed || !h.connection_reset
}

/// Only a side that sent its FIN first, or simultaneously, enters TIME-WAIT (RFC 9293 §3.6):
/// a connection that received the peer's FIN before sending its own never does.
#[must_use]
pub fn time_wait_only_for_active_closer(obs: &Observation<'_>) -> bool {
    obs.peers
        .iter()
        .all(|p| !(p.passive_closer && p.status.state == State::TimeWait))
}

/// At quiescence every connection is CLOSED (or a listener back in LISTEN): nothing is left
/// half-way in ESTABLISHED, SYN-RECEIVED, CLOSE-WAIT, FIN-WAIT-*, CLOSING or LAST-ACK.
#[must_use]
pub fn quiescent_all_closed(obs: &Observation<'_>) -> bool {
    !obs.quiescent
        || obs
            .peers
            .iter()
            .all(|p| matches!(p.status.state, State::Closed | State::Listen))
}

/// At quiescence after an orderly close (no abort, crash, error or timeout), every octet written
/// was delivered.
#[must_use]
pub fn quiescent_all_delivered(obs: &Observation<'_>) -> bool {
    let h = obs.history;
    let orderly = !(h.aborted || h.crashed || h.errored || h.timed_out);
    !obs.quiescent || !orderly || (0..2).all(|r| obs.peers[r].read == obs.peers[1 - r].written)
}

/// An application that closed its socket reads no more, so its connection holds no unread
/// data: closing with unread data resets (RFC 2525 §2.17, RFC 1122 §4.2.2.13: the peer must
/// learn that data was lost), and so does new data arriving after the close (Linux,
/// `tcp_rcv_state_process`).
#[must_use]
pub fn no_unread_data_after_close(obs: &Observation<'_>) -> bool {
    obs.peers
        .iter()
        .all(|p| !(p.app_closed && p.status.unread > 0))
}

/// A listener lasts until its application closes it: a passive SYN-RECEIVED that fails (RST,
/// retransmission timeout) returns to LISTEN (RFC 9293 §3.10.7.4 second, MUST-11), so a
/// listening application is never left with a CLOSED socket.
#[must_use]
pub fn listener_survives(obs: &Observation<'_>) -> bool {
    obs.peers
        .iter()
        .all(|p| !(p.listening && p.status.state == State::Closed))
}

/// Every state change is an edge of RFC 9293 Figure 5 (or of its notes, or a timeout edge) taken
/// by the kind of event that happened: a segment, a call or a timer ([`step_allowed`], checked
/// by the model on every action and by the `pair` and `segments` fuzz targets on every step).
#[must_use]
pub fn state_changes_follow_figure_5(obs: &Observation<'_>) -> bool {
    !obs.history.forbidden_step
}

/// No RST ever answers a RST (RFC 9293 §3.10.7, every state; [`no_rst_for_rst`]).
#[must_use]
pub fn no_rst_answers_a_rst(obs: &Observation<'_>) -> bool {
    !obs.history.rst_for_rst
}

/// Each peer keeps ISS <= SND.UNA <= SND.NXT in modular order (RFC 9293 §3.3.1;
/// [`send_sequence`]).
#[must_use]
pub fn send_sequences_in_order(obs: &Observation<'_>) -> bool {
    obs.peers.iter().all(|p| send_sequence(&p.status).is_ok())
}

/// A sender never sends data beyond the window its peer offered, SND.UNA + SND.WND (RFC 9293
/// §3.8.6).
#[must_use]
pub fn sender_respects_window(obs: &Observation<'_>) -> bool {
    !obs.history.beyond_window
}

/// An in-order FIN is consumed: RCV.NXT moves one past it (RFC 9293 §3.10.7.4 eighth; the FIN
/// occupies a sequence number, §3.4), in ESTABLISHED, FIN-WAIT-1 (including a FIN that also
/// acknowledges ours, note 2 of Figure 5) and FIN-WAIT-2.
#[must_use]
pub fn in_order_fin_consumed(obs: &Observation<'_>) -> bool {
    !obs.history.fin_not_consumed
}

/// A retransmitted FIN arriving in TIME-WAIT is acknowledged and restarts the 2*MSL timeout
/// (RFC 9293 §3.10.7.4 eighth, TIME-WAIT STATE).
#[must_use]
pub fn time_wait_restarts_on_fin(obs: &Observation<'_>) -> bool {
    !obs.history.time_wait_not_restarted
}

/// The model stayed within its own bounds (not a TCP property: a failure means the model's
/// capacities must grow).
#[must_use]
pub fn within_model_bounds(obs: &Observation<'_>) -> bool {
    !obs.history.model_overflow
}

/// A named property over an observation.
pub type Check = fn(&Observation<'_>) -> bool;

/// Every safety and quiescence property, with its name.
pub const ALL: [(&str, Check); 16] = [
    ("sequence views agree", sequence_views_agree),
    ("reads are prefixes of writes", reads_are_prefixes_of_writes),
    ("no stale ISN established", no_stale_isn_established),
    ("no unexpected reset", no_unexpected_reset),
    (
        "TIME-WAIT only for the active closer",
        time_wait_only_for_active_closer,
    ),
    ("quiescent: all closed", quiescent_all_closed),
    ("quiescent: all delivered", quiescent_all_delivered),
    ("no unread data after close", no_unread_data_after_close),
    ("listener survives", listener_survives),
    ("sender respects window", sender_respects_window),
    ("in-order FIN consumed", in_order_fin_consumed),
    ("TIME-WAIT restarts on FIN", time_wait_restarts_on_fin),
    (
        "state changes follow Figure 5",
        state_changes_follow_figure_5,
    ),
    ("no RST answers a RST", no_rst_answers_a_rst),
    ("send sequences in order", send_sequences_in_order),
    ("within model bounds", within_model_bounds),
];

/// The names of the properties `obs` violates.
pub fn violations<'a>(obs: &'a Observation<'_>) -> impl Iterator<Item = &'static str> + 'a {
    ALL.iter().filter(|(_, f)| !f(obs)).map(|(name, _)| *name)
}

// ----- Step properties -------------------------------------------------------------------------
//
// The properties above judge a snapshot of two peers whose applications' streams are kept as
// octets (the model's bounded streams). The ones below judge one step of one TCB, a pair of
// TCBs, or a stream kept as counts ([`Ledger`], for streams of any length): the `pair` fuzz
// target checks them after every step, and the scenario tests may. Each returns
// `Err(Violation)` saying what failed.

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
        /// The TCB (boxed: a `Violation` is built only on failure, and a `Result` carrying it
        /// stays small).
        status: Box<Status>,
    },
    /// Two synchronized peers of one connection disagree: one acknowledged more than the other
    /// received, or received more than the other sent, or only one knows the other's ISS.
    PairSequence {
        /// What is wrong.
        what: &'static str,
        /// The side that shows it.
        a: Box<Status>,
        /// The other side.
        b: Box<Status>,
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
                write!(
                    f,
                    "{from} -> {to} by {cause:?} is no edge of RFC 9293's diagram"
                )
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
    if from == to
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
        Err(Violation::SendSequence {
            status: Box::new(*status),
        })
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
            a: Box::new(*a),
            b: Box::new(*b),
        });
    }
    if !a_knows_b {
        return Ok(());
    }
    for (x, y) in [(a, b), (b, a)] {
        if !y.rcv_nxt.in_closed(x.snd_una, x.snd_nxt) {
            return Err(Violation::PairSequence {
                what: "SND.UNA <= peer's RCV.NXT <= SND.NXT does not hold",
                a: Box::new(*x),
                b: Box::new(*y),
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
pub fn stream_delivery(
    receiver: &mut Ledger,
    sender: &Ledger,
    data: &[u8],
) -> Result<(), Violation> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_fsm::{Duration, SeqNum, Timer};

    fn status(state: State, iss: u32, irs: u32, una: u32, nxt: u32, rcv: u32) -> Status {
        Status {
            state,
            iss: SeqNum(iss),
            irs: SeqNum(irs),
            snd_una: SeqNum(una),
            snd_nxt: SeqNum(nxt),
            snd_wnd: 0,
            snd_wl1: SeqNum(0),
            snd_wl2: SeqNum(0),
            rcv_nxt: SeqNum(rcv),
            unread: 0,
            unsent: 0,
            rto: Duration::ZERO,
            timer: Timer::Idle,
            retries: 0,
            passive: false,
        }
    }

    fn view<'a>(status: Status, written: &'a [u8], read: &'a [u8]) -> PeerView<'a> {
        PeerView {
            status,
            incarnation: 1,
            peer_incarnation: Some(1),
            written,
            read,
            passive_closer: false,
            stale_isn_established: false,
            app_closed: false,
            listening: false,
        }
    }

    fn obs<'a>(a: PeerView<'a>, b: PeerView<'a>) -> Observation<'a> {
        Observation {
            peers: [a, b],
            history: History::default(),
            resets_expected: false,
            quiescent: false,
        }
    }

    #[test]
    fn views_agree_across_the_wrap() {
        let top = u32::MAX;
        let a = status(
            State::Established,
            top,
            5,
            top.wrapping_add(1),
            top.wrapping_add(3),
            6,
        );
        let b = status(State::Established, 5, top, 6, 6, top.wrapping_add(3));
        let (wa, wb) = ([0x80u8], []);
        let o = obs(view(a, &[], &[]), view(b, &wb, &wa[..0]));
        assert!(sequence_views_agree(&o));
        // B acknowledging an octet A never sent.
        let b_bad = status(State::Established, 5, top, 6, 6, top.wrapping_add(4));
        assert!(!sequence_views_agree(&obs(
            view(a, &[], &[]),
            view(b_bad, &[], &[])
        )));
    }

    #[test]
    fn reads_must_be_prefixes() {
        let st = status(State::Established, 1, 1, 1, 1, 1);
        let written = [stream_byte(0, 1, 0), stream_byte(0, 1, 1)];
        let ok = obs(view(st, &written, &[]), view(st, &[], &written[..1]));
        assert!(reads_are_prefixes_of_writes(&ok));
        let dup = [written[0], written[0]];
        let bad = obs(view(st, &written, &[]), view(st, &[], &dup));
        assert!(!reads_are_prefixes_of_writes(&bad));
    }

    #[test]
    fn passive_closer_in_time_wait_is_flagged() {
        let mut b = view(status(State::TimeWait, 1, 1, 1, 1, 1), &[], &[]);
        b.passive_closer = true;
        let a = view(status(State::Closed, 1, 1, 1, 1, 1), &[], &[]);
        assert!(!time_wait_only_for_active_closer(&obs(a, b)));
        assert_eq!(
            violations(&obs(a, b)).collect::<Vec<_>>(),
            ["TIME-WAIT only for the active closer"]
        );
    }

    #[test]
    fn a_closed_socket_holds_no_unread_data() {
        let mut st = status(State::FinWait1, 1, 1, 1, 2, 1);
        st.unread = 1;
        let mut a = view(st, &[], &[]);
        let b = view(status(State::CloseWait, 1, 1, 1, 1, 2), &[], &[]);
        assert!(no_unread_data_after_close(&obs(a, b)));
        a.app_closed = true;
        assert_eq!(
            violations(&obs(a, b)).collect::<Vec<_>>(),
            ["no unread data after close"]
        );
    }

    #[test]
    fn a_listener_is_not_lost() {
        let closed = status(State::Closed, 1, 1, 1, 1, 1);
        let mut b = view(closed, &[], &[]);
        let a = view(closed, &[], &[]);
        assert!(listener_survives(&obs(a, b)));
        b.listening = true;
        assert!(!listener_survives(&obs(a, b)));
        b.status.state = State::Listen;
        assert!(listener_survives(&obs(a, b)));
    }

    #[test]
    fn send_sequences_must_stay_between_iss_and_snd_nxt_across_the_wrap() {
        let ok = status(State::Established, u32::MAX - 1, 1, 2, 5, 1);
        assert!(send_sequences_in_order(&obs(
            view(ok, &[], &[]),
            view(ok, &[], &[])
        )));
        // SND.UNA beyond SND.NXT: acknowledged more than was sent.
        let bad = status(State::Established, u32::MAX - 1, 1, 6, 5, 1);
        let o = obs(view(ok, &[], &[]), view(bad, &[], &[]));
        assert!(!send_sequences_in_order(&o));
        assert!(violations(&o).any(|name| name == "send sequences in order"));
    }

    #[test]
    fn step_properties_read_the_history() {
        let st = status(State::Established, 1, 1, 1, 1, 1);
        let mut o = obs(view(st, &[], &[]), view(st, &[], &[]));
        assert_eq!(violations(&o).count(), 0);
        o.history.beyond_window = true;
        o.history.fin_not_consumed = true;
        o.history.time_wait_not_restarted = true;
        o.history.forbidden_step = true;
        o.history.rst_for_rst = true;
        assert_eq!(
            violations(&o).collect::<Vec<_>>(),
            [
                "sender respects window",
                "in-order FIN consumed",
                "TIME-WAIT restarts on FIN",
                "state changes follow Figure 5",
                "no RST answers a RST"
            ]
        );
    }

    // ----- step properties -----

    #[test]
    fn steps_follow_the_diagram() {
        assert_eq!(
            step_allowed(State::SynSent, State::Established, Cause::Segment),
            Ok(())
        );
        assert_eq!(
            step_allowed(State::Established, State::Established, Cause::Call),
            Ok(())
        );
        assert!(matches!(
            step_allowed(State::Listen, State::Established, Cause::Segment),
            Err(Violation::ForbiddenStep { .. })
        ));
    }

    #[test]
    fn send_sequence_is_modular() {
        let top = u32::MAX;
        let ok = status(State::Established, top, 0, 2, 5, 0);
        assert_eq!(send_sequence(&ok), Ok(()));
        let bad = status(State::Established, 10, 0, 5, 20, 0);
        assert!(send_sequence(&bad).is_err());
    }

    #[test]
    fn pair_sequence_catches_an_ack_beyond_what_was_sent() {
        let a = status(State::Established, 100, 300, 101, 105, 301);
        let b = status(State::Established, 300, 100, 301, 301, 105);
        assert_eq!(pair_sequence(&a, &b), Ok(()));
        let b_ahead = status(State::Established, 300, 100, 301, 301, 106);
        assert!(pair_sequence(&a, &b_ahead).is_err());
        let b_other = status(State::Established, 300, 7, 301, 301, 105);
        assert!(matches!(
            pair_sequence(&a, &b_other),
            Err(Violation::PairSequence { .. })
        ));
    }

    #[test]
    fn stream_delivery_checks_octets_and_length() {
        let sender = Ledger {
            seed: 9,
            written: 4,
            ..Ledger::default()
        };
        let mut receiver = Ledger::default();
        let good: Vec<u8> = (0..3).map(|o| stream_octet(9, o)).collect();
        assert_eq!(stream_delivery(&mut receiver, &sender, &good), Ok(()));
        assert_eq!(receiver.received, 3);
        let wrong = [stream_octet(9, 4)];
        assert!(matches!(
            stream_delivery(&mut receiver.clone(), &sender, &wrong),
            Err(Violation::StreamCorrupt { offset: 3, .. })
        ));
        let too_much = [stream_octet(9, 3), stream_octet(9, 4)];
        assert!(matches!(
            stream_delivery(&mut receiver, &sender, &too_much),
            Err(Violation::StreamOverrun { .. })
        ));
    }

    #[test]
    fn rst_never_answers_rst() {
        let rst = Segment {
            flags: tcp_fsm::Flags::RST,
            ..Segment::default()
        };
        let ack = Segment {
            flags: tcp_fsm::Flags::ACK,
            ..Segment::default()
        };
        assert!(no_rst_for_rst(&rst, &rst).is_err());
        assert_eq!(no_rst_for_rst(&ack, &rst), Ok(()));
    }

    #[test]
    fn quiescence_and_graceful_delivery() {
        assert_eq!(
            quiescent(State::Closed, State::Listen, &Policy::LINUX),
            Ok(())
        );
        assert!(quiescent(State::Established, State::Closed, &Policy::LINUX).is_err());
        let a = Ledger {
            written: 3,
            received: 2,
            established: true,
            peer_fin: true,
            ..Ledger::default()
        };
        let b = Ledger {
            written: 2,
            received: 3,
            established: true,
            peer_fin: true,
            ..Ledger::default()
        };
        assert_eq!(graceful_close_delivers_all(&a, &b), Ok(()));
        let short = Ledger { received: 1, ..b };
        assert!(graceful_close_delivers_all(&a, &short).is_err());
        let broken = Ledger {
            broken: true,
            ..short
        };
        assert_eq!(graceful_close_delivers_all(&a, &broken), Ok(()));
    }
}
