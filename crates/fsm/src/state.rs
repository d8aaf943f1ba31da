//! The connection states of RFC 9293 §3.3.2.

use core::fmt;

/// A connection state (RFC 9293 §3.3.2, Figure 5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum State {
    /// No connection state at all.
    Closed,
    /// Waiting for a connection request from any remote TCP peer and port.
    Listen,
    /// Waiting for a matching connection request after having sent one.
    SynSent,
    /// Waiting for a confirming acknowledgment after having both received and sent a SYN.
    SynReceived,
    /// An open connection; data can be exchanged both ways.
    Established,
    /// Waiting for a termination request from the peer, or an ACK of our FIN.
    FinWait1,
    /// Waiting for a termination request from the peer (our FIN is acknowledged).
    FinWait2,
    /// Waiting for a termination request from the local user (the peer's FIN arrived).
    CloseWait,
    /// Waiting for the peer's ACK of our FIN after both sides sent FIN (simultaneous close).
    Closing,
    /// Waiting for the ACK of our FIN after the peer closed first.
    LastAck,
    /// Waiting 2*MSL so the peer surely received the ACK of its FIN and old duplicates died.
    TimeWait,
}

impl State {
    /// All eleven states, in the RFC's order.
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// The RFC's name, as in Figure 5.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// Whether the state is synchronized: both ISNs are known and acknowledged
    /// (RFC 9293 §3.5.2: ESTABLISHED and every state after it).
    #[must_use]
    pub const fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// Whether we have sent (or queued, in FIN-WAIT-1 before it is segmentized) our FIN.
    #[must_use]
    pub const fn local_closed(self) -> bool {
        matches!(
            self,
            State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck | State::TimeWait
        )
    }

    /// Whether the peer's FIN has been received.
    #[must_use]
    pub const fn remote_closed(self) -> bool {
        matches!(
            self,
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait
        )
    }

    /// The state's index in [`State::ALL`].
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What moves a connection along an edge of the state diagram.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Cause {
    /// An application call (OPEN, CLOSE, ABORT).
    Call,
    /// An arriving segment.
    Segment,
    /// A timer.
    Timeout,
}

/// An edge of the state diagram: RFC 9293 Figure 5, the edges its notes add, and the timeout
/// edges of §3.10.8.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Edge {
    /// Where it starts.
    pub from: State,
    /// Where it ends.
    pub to: State,
    /// What takes it.
    pub cause: Cause,
    /// The label, as in the figure.
    pub label: &'static str,
    /// Drawn in Figure 5 itself (`false`: added by its notes or by §3.10's text).
    pub in_figure: bool,
}

const fn edge(from: State, to: State, cause: Cause, label: &'static str, in_figure: bool) -> Edge {
    Edge {
        from,
        to,
        cause,
        label,
        in_figure,
    }
}

use State::{
    CloseWait, Closed, Closing, Established, FinWait1, FinWait2, LastAck, Listen, SynReceived,
    SynSent, TimeWait,
};

/// Every edge a connection may take, one event at a time. Figure 5's own edges come first.
///
/// `LISTEN --SEND--> SYN-SENT` is in the figure but not implemented: a LISTEN connection here has
/// no foreign socket to turn active towards (the sockets API has no such call either).
pub const EDGES: &[Edge] = &[
    edge(Closed, Listen, Cause::Call, "passive OPEN", true),
    edge(Closed, SynSent, Cause::Call, "active OPEN / snd SYN", true),
    edge(
        Listen,
        SynReceived,
        Cause::Segment,
        "rcv SYN / snd SYN,ACK",
        true,
    ),
    edge(Listen, SynSent, Cause::Call, "SEND / snd SYN", true),
    edge(Listen, Closed, Cause::Call, "CLOSE / delete TCB", true),
    edge(
        SynSent,
        SynReceived,
        Cause::Segment,
        "rcv SYN / snd SYN,ACK",
        true,
    ),
    edge(
        SynSent,
        Established,
        Cause::Segment,
        "rcv SYN,ACK / snd ACK",
        true,
    ),
    edge(SynSent, Closed, Cause::Call, "CLOSE / delete TCB", true),
    edge(
        SynReceived,
        Established,
        Cause::Segment,
        "rcv ACK of SYN",
        true,
    ),
    edge(SynReceived, FinWait1, Cause::Call, "CLOSE / snd FIN", true),
    edge(
        SynReceived,
        Listen,
        Cause::Segment,
        "rcv RST (note 1)",
        true,
    ),
    edge(Established, FinWait1, Cause::Call, "CLOSE / snd FIN", true),
    edge(
        Established,
        CloseWait,
        Cause::Segment,
        "rcv FIN / snd ACK",
        true,
    ),
    edge(FinWait1, FinWait2, Cause::Segment, "rcv ACK of FIN", true),
    edge(FinWait1, Closing, Cause::Segment, "rcv FIN / snd ACK", true),
    edge(
        FinWait2,
        TimeWait,
        Cause::Segment,
        "rcv FIN / snd ACK",
        true,
    ),
    edge(Closing, TimeWait, Cause::Segment, "rcv ACK of FIN", true),
    edge(CloseWait, LastAck, Cause::Call, "CLOSE / snd FIN", true),
    edge(LastAck, Closed, Cause::Segment, "rcv ACK of FIN", true),
    edge(TimeWait, Closed, Cause::Timeout, "Timeout=2MSL", true),
    // Note 2: a FIN that also acknowledges ours.
    edge(
        FinWait1,
        TimeWait,
        Cause::Segment,
        "rcv FIN,ACK of FIN (note 2)",
        false,
    ),
    // Note 3: RST from any state, and ABORT.
    edge(
        SynSent,
        Closed,
        Cause::Segment,
        "rcv RST,ACK (note 3)",
        false,
    ),
    edge(
        SynReceived,
        Closed,
        Cause::Segment,
        "rcv RST, active open (note 3)",
        false,
    ),
    edge(
        Established,
        Closed,
        Cause::Segment,
        "rcv RST (note 3)",
        false,
    ),
    edge(FinWait1, Closed, Cause::Segment, "rcv RST (note 3)", false),
    edge(FinWait2, Closed, Cause::Segment, "rcv RST (note 3)", false),
    edge(CloseWait, Closed, Cause::Segment, "rcv RST (note 3)", false),
    edge(Closing, Closed, Cause::Segment, "rcv RST (note 3)", false),
    edge(LastAck, Closed, Cause::Segment, "rcv RST (note 3)", false),
    edge(
        TimeWait,
        Closed,
        Cause::Segment,
        "rcv RST (note 3; RFC 1337 hazard)",
        false,
    ),
    edge(Listen, Closed, Cause::Call, "ABORT", false),
    edge(SynSent, Closed, Cause::Call, "ABORT", false),
    edge(SynReceived, Closed, Cause::Call, "ABORT / snd RST", false),
    edge(Established, Closed, Cause::Call, "ABORT / snd RST", false),
    edge(FinWait1, Closed, Cause::Call, "ABORT / snd RST", false),
    edge(FinWait2, Closed, Cause::Call, "ABORT / snd RST", false),
    edge(CloseWait, Closed, Cause::Call, "ABORT / snd RST", false),
    edge(Closing, Closed, Cause::Call, "ABORT", false),
    edge(LastAck, Closed, Cause::Call, "ABORT", false),
    edge(TimeWait, Closed, Cause::Call, "ABORT", false),
    // §3.10.7.4 fourth: a new SYN returns a passive SYN-RECEIVED to LISTEN.
    edge(
        SynReceived,
        Listen,
        Cause::Segment,
        "rcv SYN, passive open",
        false,
    ),
    // §3.10.7.4 eighth: a FIN riding on the segment that completes the handshake.
    edge(
        SynSent,
        CloseWait,
        Cause::Segment,
        "rcv SYN,ACK,FIN / snd ACK",
        false,
    ),
    edge(
        SynReceived,
        CloseWait,
        Cause::Segment,
        "rcv ACK,FIN / snd ACK",
        false,
    ),
    // CLOSE in SYN-RECEIVED with data queued: the FIN waits for ESTABLISHED.
    edge(
        SynReceived,
        FinWait1,
        Cause::Segment,
        "rcv ACK of SYN, FIN queued",
        false,
    ),
    // ... and the same segment carries the peer's FIN: §3.10.7.4 processes the ACK (to
    // FIN-WAIT-1) and then the FIN (to CLOSING) in one event. Found by the `segments` fuzz target.
    edge(
        SynReceived,
        Closing,
        Cause::Segment,
        "rcv ACK of SYN + FIN, FIN queued / snd ACK",
        false,
    ),
    // Linux: new data for an application that closed resets (tcp_rcv_state_process).
    edge(
        FinWait1,
        Closed,
        Cause::Segment,
        "rcv data after close / snd RST",
        false,
    ),
    // §3.10.7.4 with RFC 9293 MAY-2: a newer SYN ends TIME-WAIT for a new incarnation.
    edge(
        TimeWait,
        Closed,
        Cause::Segment,
        "rcv newer SYN (MAY-2)",
        false,
    ),
    // §3.10.8 timeouts: retransmission, user timeout, keepalive; FIN-WAIT-2 (Linux).
    edge(
        SynSent,
        Closed,
        Cause::Timeout,
        "SYN retries exhausted",
        false,
    ),
    edge(
        SynReceived,
        Listen,
        Cause::Timeout,
        "SYN,ACK retries exhausted, passive",
        false,
    ),
    edge(
        SynReceived,
        Closed,
        Cause::Timeout,
        "SYN,ACK retries exhausted, active",
        false,
    ),
    edge(
        Established,
        Closed,
        Cause::Timeout,
        "retries / user timeout / keepalive",
        false,
    ),
    edge(
        FinWait1,
        Closed,
        Cause::Timeout,
        "FIN retries / user timeout",
        false,
    ),
    edge(
        FinWait2,
        Closed,
        Cause::Timeout,
        "FIN-WAIT-2 timeout / keepalive",
        false,
    ),
    edge(
        CloseWait,
        Closed,
        Cause::Timeout,
        "retries / user timeout / keepalive",
        false,
    ),
    edge(
        Closing,
        Closed,
        Cause::Timeout,
        "FIN retries / user timeout",
        false,
    ),
    edge(
        LastAck,
        Closed,
        Cause::Timeout,
        "FIN retries / user timeout",
        false,
    ),
];

/// Whether one event may move a connection from `from` to `to` (staying put always may).
#[must_use]
pub fn is_allowed_step(from: State, to: State) -> bool {
    from == to || EDGES.iter().any(|e| e.from == from && e.to == to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_5_has_its_twenty_edges_and_no_duplicates() {
        let figure: Vec<_> = EDGES.iter().filter(|e| e.in_figure).collect();
        assert_eq!(figure.len(), 20);
        for (i, a) in EDGES.iter().enumerate() {
            for b in &EDGES[i + 1..] {
                assert!(
                    !(a.from == b.from && a.to == b.to && a.cause == b.cause && a.label == b.label),
                    "duplicate edge {a:?}"
                );
            }
        }
        assert!(is_allowed_step(State::FinWait1, State::TimeWait));
        assert!(!is_allowed_step(State::Established, State::TimeWait));
        assert!(!is_allowed_step(State::CloseWait, State::TimeWait));
    }

    #[test]
    fn display_prints_rfc_names() {
        let names: Vec<String> = State::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "CLOSED",
                "LISTEN",
                "SYN-SENT",
                "SYN-RECEIVED",
                "ESTABLISHED",
                "FIN-WAIT-1",
                "FIN-WAIT-2",
                "CLOSE-WAIT",
                "CLOSING",
                "LAST-ACK",
                "TIME-WAIT"
            ]
        );
        for (i, s) in State::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
    }
}
