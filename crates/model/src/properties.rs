//! The properties two TCP peers must keep, written once over a plain [`Observation`].
//!
//! The model checker builds an observation from each state it visits; a fuzz target or a
//! scenario test that drives two [`Connection`](tcp_fsm::Connection)s can build the same struct
//! and call the same functions. Every function returns `true` when the property holds.
//!
//! Safety properties hold in every state. Liveness is checked *at quiescence* (nothing in flight,
//! no timer allowed to fire, no application call left): stateright's `eventually` misses
//! counterexamples that end in a cycle, and quiescence is where a stuck connection shows.

use tcp_fsm::{State, Status};

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

/// The model stayed within its own bounds (not a TCP property: a failure means the model's
/// capacities must grow).
#[must_use]
pub fn within_model_bounds(obs: &Observation<'_>) -> bool {
    !obs.history.model_overflow
}

/// A named property over an observation.
pub type Check = fn(&Observation<'_>) -> bool;

/// Every safety and quiescence property, with its name.
pub const ALL: [(&str, Check); 8] = [
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
    ("within model bounds", within_model_bounds),
];

/// The names of the properties `obs` violates.
pub fn violations<'a>(obs: &'a Observation<'_>) -> impl Iterator<Item = &'static str> + 'a {
    ALL.iter().filter(|(_, f)| !f(obs)).map(|(name, _)| *name)
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
}
