//! What a scenario fixes: the peers' roles, policies and ISNs, what their applications may
//! call, the fault budgets, and the old duplicates in the network at the start.

use core::fmt;

use tcp_fsm::{Duration, Flags, Keepalive, Policy};

use crate::peer::Role;

/// When an application may call close.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CloseWhen {
    /// Never (the scenario ends some other way).
    Never,
    /// Any time after connect (or accept).
    Any,
    /// Only once the peer's FIN was reported (answering the peer's close).
    AfterEof,
    /// Once everything the peer's application writes has arrived (an application protocol
    /// whose last message is complete), or the peer's FIN.
    AfterData,
}

/// The application calls a peer may make, as nondeterministic actions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Script {
    /// A client connects in the initial state (otherwise connect is an action).
    pub connect_at_start: bool,
    /// A rebooted client connects again.
    pub reconnect: bool,
    /// Octets the application may write, one per call (at most [`crate::peer::RX_CAP`]).
    pub writes: u8,
    /// shutdown(SHUT_WR) (= `Connection::close`, the socket kept).
    pub shutdown: bool,
    /// close (= `Connection::close` + `orphan`; with unread data, abort as the socket layer
    /// does).
    pub close: CloseWhen,
    /// abort, or close with SO_LINGER {on, 0} (= `Connection::abort`).
    pub abort: bool,
    /// The application reads as an action, so data may be left unread at close; otherwise it
    /// reads everything as it arrives.
    pub explicit_read: bool,
    /// A server may close its listener before accepting (LISTEN → CLOSED).
    pub close_listener: bool,
}

impl Script {
    /// Connect (a client) or listen (a server), then close at any time; nothing else.
    pub const CLOSE_ONLY: Script = Script {
        connect_at_start: true,
        reconnect: false,
        writes: 0,
        shutdown: false,
        close: CloseWhen::Any,
        abort: false,
        explicit_read: false,
        close_listener: false,
    };
}

/// One peer of a scenario.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct PeerSetup {
    /// Client or server.
    pub role: Role,
    /// What its application may call.
    pub script: Script,
    /// Its policy.
    pub policy: Policy,
    /// Its ISS in incarnations 1, 2 and 3 (a passive connection that returns to LISTEN moves
    /// its ISS on by itself).
    pub iss: [u32; 3],
    /// Whether it may crash (losing its whole state) and reboot.
    pub may_crash: bool,
}

/// Fault budgets: how many of each fault one path may contain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Faults {
    /// Segments lost.
    pub loss: u8,
    /// Segments duplicated (the copy arrives after everything sent before it).
    pub dup: u8,
    /// Segments delivered before an older one of the same direction.
    pub reorder: u8,
    /// Crashes (each followed at once by a reboot with a new ISN).
    pub crash: u8,
    /// Premature timer firings: a timer firing while a segment is in flight (a retransmission
    /// timeout shorter than the round trip). Otherwise timers fire only when both channels are
    /// empty, as when RTO exceeds the round-trip time.
    pub early: u8,
}

/// An old duplicate from the peer's incarnation 0, in flight at the start.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct OldDup {
    /// The sending peer.
    pub from: usize,
    /// SEG.SEQ.
    pub seq: u32,
    /// SEG.ACK.
    pub ack: u32,
    /// Control bits.
    pub flags: Flags,
}

/// A scenario: one row of the `check` table.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Short name, used on the command line.
    pub name: &'static str,
    /// What the scenario explores.
    pub summary: &'static str,
    /// Peer A (index 0) and peer B (index 1).
    pub peers: [PeerSetup; 2],
    /// Fault budgets.
    pub faults: Faults,
    /// Old duplicates in flight at the start.
    pub old: Vec<OldDup>,
    /// Connections may legitimately be reset (aborts, crashes, unread data, old duplicates).
    pub resets_expected: bool,
    /// The `sometimes` properties this scenario must reach.
    pub expect: Vec<&'static str>,
}

/// The policy the model starts from: Linux's, with few retries so that every path ends, no
/// window scaling (windows read plainly), small buffers, and no rate limit on challenge ACKs
/// (the model's clocks move only when a timer fires).
#[must_use]
pub fn model_policy() -> Policy {
    Policy {
        syn_retries: 2,
        synack_retries: 2,
        retries: 2,
        invalid_ratelimit: Duration::ZERO,
        window_scaling: false,
        recv_buffer: 64,
        send_buffer: 64,
        mss: 536,
        ..Policy::LINUX
    }
}

/// A keepalive that probes after 10 s idle, once, 1 s apart.
pub const MODEL_KEEPALIVE: Keepalive = Keepalive {
    idle: Duration::from_secs(10),
    interval: Duration::from_secs(1),
    probes: 1,
};

impl Scenario {
    /// The bounds, in one line for the table.
    #[must_use]
    pub fn bounds(&self) -> String {
        let f = self.faults;
        let [a, b] = &self.peers;
        let mut s = format!(
            "loss {} dup {} reord {} early {} crash {} old {} | writes {}/{} | retries {}",
            f.loss,
            f.dup,
            f.reorder,
            f.early,
            f.crash,
            self.old.len(),
            a.script.writes,
            b.script.writes,
            a.policy.retries.max(b.policy.retries),
        );
        if let Some(k) = a.policy.keepalive.or(b.policy.keepalive) {
            s.push_str(&format!(" | keepalive {}", k.probes));
        }
        s
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.summary)
    }
}
