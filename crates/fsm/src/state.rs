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

#[cfg(test)]
mod tests {
    use super::*;

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
