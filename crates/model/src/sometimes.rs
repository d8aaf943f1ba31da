//! Reachability (`sometimes`) properties: things the exploration must be able to reach, each
//! replayed from a fixed path with `assert_discovery` in the tests.

use stateright::Property;
use tcp_fsm::State;

use crate::model::{ModelState, TcpModel, hist};

type Cond = fn(&TcpModel, &ModelState) -> bool;

macro_rules! reach {
    ($p:literal, $state:ident, $name:literal) => {
        ($name, |_: &TcpModel, s: &ModelState| {
            s.peers[$p].state() == State::$state
        })
    };
}

/// Every `sometimes` property, by name.
pub const ALL: [(&str, Cond); 26] = [
    reach!(0, Closed, "A in CLOSED"),
    reach!(0, Listen, "A in LISTEN"),
    reach!(0, SynSent, "A in SYN-SENT"),
    reach!(0, SynReceived, "A in SYN-RECEIVED"),
    reach!(0, Established, "A in ESTABLISHED"),
    reach!(0, FinWait1, "A in FIN-WAIT-1"),
    reach!(0, FinWait2, "A in FIN-WAIT-2"),
    reach!(0, CloseWait, "A in CLOSE-WAIT"),
    reach!(0, Closing, "A in CLOSING"),
    reach!(0, LastAck, "A in LAST-ACK"),
    reach!(0, TimeWait, "A in TIME-WAIT"),
    reach!(1, Closed, "B in CLOSED"),
    reach!(1, Listen, "B in LISTEN"),
    reach!(1, SynSent, "B in SYN-SENT"),
    reach!(1, SynReceived, "B in SYN-RECEIVED"),
    reach!(1, Established, "B in ESTABLISHED"),
    reach!(1, FinWait1, "B in FIN-WAIT-1"),
    reach!(1, FinWait2, "B in FIN-WAIT-2"),
    reach!(1, CloseWait, "B in CLOSE-WAIT"),
    reach!(1, Closing, "B in CLOSING"),
    reach!(1, LastAck, "B in LAST-ACK"),
    reach!(1, TimeWait, "B in TIME-WAIT"),
    ("both in SYN-RECEIVED", |_, s| {
        s.peers.iter().all(|p| p.state() == State::SynReceived)
    }),
    ("both in CLOSING", |_, s| {
        s.peers.iter().all(|p| p.state() == State::Closing)
    }),
    ("FIN re-ACKed in TIME-WAIT", |_, s| {
        s.history & hist::FIN_REACKED != 0
    }),
    ("half-open connection reset", |_, s| {
        s.history & hist::HALF_OPEN_RESET != 0
    }),
];

/// The RFC 1337 hazard: a RST ends TIME-WAIT early. Reachable only with the policy off.
pub const TIME_WAIT_ASSASSINATED: (&str, Cond) = ("TIME-WAIT assassinated", |_, s| {
    s.history & hist::TW_ASSASSINATED != 0
});

/// The `sometimes` property called `name`.
#[must_use]
pub fn property(name: &str) -> Option<Property<TcpModel>> {
    ALL.iter()
        .chain([&TIME_WAIT_ASSASSINATED])
        .find(|(n, _)| *n == name)
        .map(|&(n, cond)| Property::sometimes(n, cond))
}
