//! Every choice the RFCs leave open, as a documented value.
//!
//! [`Policy::linux`] (the [`Default`]) follows the Linux kernel's defaults, read with `sysctl` from
//! a 6.18 kernel; [`Policy::rfc_strict`] follows the letter of RFC 9293 where Linux differs.
//!
//! A policy is passed by reference to every call that may need it, so a caller can keep one
//! policy for a whole endpoint, or one per socket when socket options differ.

use crate::time::Duration;

/// Keepalive settings (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6; Linux `tcp_keepalive_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Keepalive {
    /// Idle time before the first probe (Linux `tcp_keepalive_time`: 7200 s; RFC 1122: at least
    /// two hours by default).
    pub idle: Duration,
    /// Time between unanswered probes (Linux `tcp_keepalive_intvl`: 75 s).
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead (Linux `tcp_keepalive_probes`: 9).
    pub probes: u8,
}

impl Keepalive {
    /// Linux's defaults: 7200 s idle, 75 s between probes, 9 probes.
    pub const LINUX: Keepalive = Keepalive {
        idle: Duration::from_secs(7200),
        interval: Duration::from_secs(75),
        probes: 9,
    };
}

/// Deliberately wrong variants of the state machine, for proving that the model checker and the
/// fuzzers catch real mistakes ("teeth"). Only with the `teeth` cargo feature; never in
/// production builds.
#[cfg(feature = "teeth")]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Bug {
    /// The active closer goes straight to CLOSED where it should enter TIME-WAIT.
    SkipTimeWait,
    /// LAST-ACK never retransmits its FIN.
    LastAckNoRetransmit,
    /// A RST is accepted at any sequence number (no RFC 5961 check, no window check).
    RstAnySeq,
    /// A passive SYN-RECEIVED goes to CLOSED on RST instead of back to LISTEN.
    PassiveSynReceivedRstCloses,
    /// Our FIN consumes no sequence number.
    FinNoSeq,
    /// The acceptability test lets in a segment starting at the window's right edge.
    WindowEdgeOffByOne,
    /// A SYN in SYN-SENT is ignored: no simultaneous open.
    IgnoreSynInSynSent,
    /// FIN-WAIT-1 ignores a FIN that also acknowledges our FIN.
    FinWait1IgnoresFinAck,
    /// Closing with unread data sends FIN instead of RST.
    CloseUnreadSendsFin,
    /// A retransmitted FIN in TIME-WAIT does not restart the 2*MSL timer.
    TimeWaitNoRestart,
    /// CLOSE in CLOSE-WAIT enters CLOSING (RFC 793's erratum) instead of LAST-ACK.
    CloseWaitToClosing,
    /// Data is acknowledged one octet beyond what arrived.
    AckOneTooFar,
}

#[cfg(feature = "teeth")]
impl Bug {
    /// Every variant.
    pub const ALL: [Bug; 12] = [
        Bug::SkipTimeWait,
        Bug::LastAckNoRetransmit,
        Bug::RstAnySeq,
        Bug::PassiveSynReceivedRstCloses,
        Bug::FinNoSeq,
        Bug::WindowEdgeOffByOne,
        Bug::IgnoreSynInSynSent,
        Bug::FinWait1IgnoresFinAck,
        Bug::CloseUnreadSendsFin,
        Bug::TimeWaitNoRestart,
        Bug::CloseWaitToClosing,
        Bug::AckOneTooFar,
    ];
}

/// What a listener does when its SYN queue is full (RFC 4987 §3.6).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SynCookies {
    /// Never: a SYN that finds the queue full is dropped.
    Off,
    /// Only when the SYN queue is full (Linux `tcp_syncookies = 1`, the default).
    WhenFull,
    /// For every SYN (Linux `tcp_syncookies = 2`).
    Always,
}

/// The choices RFC 9293 and its companions leave to the implementation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Policy {
    /// How long TIME-WAIT lasts: 2*MSL (RFC 9293 §3.3.2 sets MSL to 2 minutes, so 4 minutes;
    /// Linux uses a fixed 60 s, `TCP_TIMEWAIT_LEN`).
    pub time_wait: Duration,
    /// How long an orphaned connection (the application called close) may stay in FIN-WAIT-2
    /// waiting for the peer's FIN (Linux `tcp_fin_timeout`: 60 s). `None`: forever, as the RFC.
    /// A connection that only shut down its sending side is never timed out here.
    pub fin_wait2_timeout: Option<Duration>,
    /// RTO before any RTT sample (RFC 6298 §2.1: 1 s; Linux 1 s).
    pub initial_rto: Duration,
    /// Lower bound of the RTO (RFC 6298 §2.4: 1 s; Linux 200 ms).
    pub min_rto: Duration,
    /// Upper bound of the RTO (RFC 6298 §2.5: at least 60 s; Linux 120 s).
    pub max_rto: Duration,
    /// SYN retransmissions before connect fails with a timeout (Linux `tcp_syn_retries`: 6,
    /// about 127 s; RFC 9293 §3.8.3 asks R2 for a SYN to cover at least 3 minutes).
    pub syn_retries: u8,
    /// SYN+ACK retransmissions before a half-open connection is dropped (Linux
    /// `tcp_synack_retries`: 5).
    pub synack_retries: u8,
    /// Retransmissions of data or FIN before the connection is aborted (Linux `tcp_retries2`: 15,
    /// counted here as retransmissions, where Linux turns it into a time; RFC 9293 §3.8.3 asks
    /// R2 to cover at least 100 s).
    pub retries: u8,
    /// Abort when outstanding data stays unacknowledged this long (RFC 9293 §3.10.8 USER TIMEOUT,
    /// RFC 5482; Linux `TCP_USER_TIMEOUT`, off by default).
    pub user_timeout: Option<Duration>,
    /// Keepalive probes (Linux `SO_KEEPALIVE`, off by default; RFC 1122 §4.2.3.6: off by default).
    pub keepalive: Option<Keepalive>,
    /// The MSS we announce and the most payload we put in one segment.
    pub mss: u16,
    /// The MSS assumed for a peer that sent no MSS option (RFC 9293 §3.7.1: 536 for IPv4).
    pub default_peer_mss: u16,
    /// Receive buffer: the receive window is this minus the octets the application has not read.
    pub recv_buffer: u32,
    /// Send buffer: how many octets may be queued and unacknowledged at once.
    pub send_buffer: u32,
    /// Offer and accept window scaling (RFC 7323 §2; Linux `tcp_window_scaling`: 1).
    pub window_scaling: bool,
    /// Ignore RST in TIME-WAIT (RFC 1337 fix F1; Linux `tcp_rfc1337`: 0, so a RST ends TIME-WAIT).
    pub rfc1337: bool,
    /// Let a SYN whose SEG.SEQ is beyond RCV.NXT reopen a connection in TIME-WAIT
    /// (RFC 9293 §3.10.7.4 MAY-2; Linux does). Otherwise the SYN draws a challenge ACK.
    pub time_wait_reuse: bool,
    /// Minimum time between two challenge ACKs or out-of-window duplicate ACKs of one connection
    /// (RFC 5961 §7; Linux `tcp_invalid_ratelimit`: 500 ms). Zero disables the limit.
    pub invalid_ratelimit: Duration,
    /// A RST sent by ABORT (or close with unread data) also carries ACK = RCV.NXT, as Linux's
    /// `R.`; RFC 9293 §3.10.5 sends `<SEQ=SND.NXT><CTL=RST>` only.
    pub rst_carries_ack: bool,
    /// Drop a SYN that also carries FIN at LISTEN and SYN-SENT, as Linux does; RFC 9293 would
    /// process it (its FIN is then dropped for want of an ACK).
    pub drop_syn_fin: bool,
    /// After a retransmitted SYN, start the connection with RTO = 3 s when no RTT sample was taken
    /// (RFC 6298 §5.7; Linux `TCP_TIMEOUT_FALLBACK`).
    pub syn_rto_fallback: bool,
    /// Largest SYN queue of a listener (Linux `tcp_max_syn_backlog`: 2048).
    pub max_syn_backlog: u32,
    /// Largest accept backlog a listener may ask for (Linux `somaxconn`: 4096).
    pub somaxconn: u32,
    /// SYN cookies (Linux `tcp_syncookies`: 1, when the SYN queue is full).
    pub syn_cookies: SynCookies,
    /// Answer a completing ACK with RST when the accept queue is full, instead of dropping it
    /// (Linux `tcp_abort_on_overflow`: 0).
    pub abort_on_overflow: bool,
    /// Most TIME-WAIT entries an endpoint keeps; past it a closing connection skips TIME-WAIT
    /// (Linux `tcp_max_tw_buckets`: 131072).
    pub max_time_wait: u32,
    /// A deliberate mistake to run with (the `teeth` feature only).
    #[cfg(feature = "teeth")]
    pub bug: Option<Bug>,
}

impl Policy {
    /// Linux's defaults (a 6.18 kernel's sysctl values).
    pub const LINUX: Policy = Policy {
        time_wait: Duration::from_secs(60),
        fin_wait2_timeout: Some(Duration::from_secs(60)),
        initial_rto: Duration::from_secs(1),
        min_rto: Duration::from_millis(200),
        max_rto: Duration::from_secs(120),
        syn_retries: 6,
        synack_retries: 5,
        retries: 15,
        user_timeout: None,
        keepalive: None,
        mss: 1460,
        default_peer_mss: 536,
        recv_buffer: 131_072,
        send_buffer: 16_384,
        window_scaling: true,
        rfc1337: false,
        time_wait_reuse: true,
        invalid_ratelimit: Duration::from_millis(500),
        rst_carries_ack: true,
        drop_syn_fin: true,
        syn_rto_fallback: true,
        max_syn_backlog: 2048,
        somaxconn: 4096,
        syn_cookies: SynCookies::WhenFull,
        abort_on_overflow: false,
        max_time_wait: 131_072,
        #[cfg(feature = "teeth")]
        bug: None,
    };

    /// The letter of the RFCs where Linux differs: MSL of 2 minutes, RTO at least 1 s and at most
    /// 60 s, SYN retries covering 3 minutes, no FIN-WAIT-2 timeout, no TIME-WAIT reuse, RST
    /// without ACK on abort, SYN+FIN processed as RFC 9293 says.
    pub const RFC_STRICT: Policy = Policy {
        time_wait: Duration::from_secs(240),
        fin_wait2_timeout: None,
        min_rto: Duration::from_secs(1),
        max_rto: Duration::from_secs(60),
        syn_retries: 7,
        time_wait_reuse: false,
        rst_carries_ack: false,
        drop_syn_fin: false,
        ..Policy::LINUX
    };

    /// Linux's defaults.
    #[must_use]
    pub const fn linux() -> Policy {
        Policy::LINUX
    }

    /// The RFC-strict profile.
    #[must_use]
    pub const fn rfc_strict() -> Policy {
        Policy::RFC_STRICT
    }

    /// The window scale shift we offer: the smallest that lets the receive buffer be advertised
    /// (RFC 7323 §2.3, at most 14).
    #[must_use]
    pub fn recv_window_shift(&self) -> u8 {
        let mut shift = 0u8;
        while shift < 14 && (self.recv_buffer >> shift) > u32::from(u16::MAX) {
            shift += 1;
        }
        shift
    }
}

impl Policy {
    /// Whether this policy runs with `bug` (always false without the `teeth` feature).
    #[inline]
    #[must_use]
    #[allow(unused_variables, clippy::unused_self)]
    pub(crate) fn has_bug(&self, bug: BugName) -> bool {
        #[cfg(feature = "teeth")]
        {
            self.bug == Some(bug)
        }
        #[cfg(not(feature = "teeth"))]
        {
            false
        }
    }
}

/// The bug a hook asks about: [`Bug`] with the `teeth` feature, a stand-in without it.
#[cfg(feature = "teeth")]
pub(crate) type BugName = Bug;
/// Without the `teeth` feature no bug exists; hooks compile to `false`.
#[cfg(not(feature = "teeth"))]
#[derive(Clone, Copy)]
#[allow(dead_code)]
pub(crate) enum BugName {
    SkipTimeWait,
    LastAckNoRetransmit,
    RstAnySeq,
    PassiveSynReceivedRstCloses,
    FinNoSeq,
    WindowEdgeOffByOne,
    IgnoreSynInSynSent,
    FinWait1IgnoresFinAck,
    CloseUnreadSendsFin,
    TimeWaitNoRestart,
    CloseWaitToClosing,
    AckOneTooFar,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::LINUX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_shift_fits_buffer_in_16_bits() {
        let mut p = Policy::LINUX;
        assert_eq!(p.recv_window_shift(), 2);
        p.recv_buffer = 65_535;
        assert_eq!(p.recv_window_shift(), 0);
        p.recv_buffer = u32::MAX;
        assert_eq!(p.recv_window_shift(), 14);
    }

    #[test]
    fn strict_profile_differs_where_documented() {
        let (l, s) = (Policy::LINUX, Policy::RFC_STRICT);
        assert_eq!(s.time_wait, Duration::from_secs(240));
        assert_eq!(l.time_wait, Duration::from_secs(60));
        assert!(s.fin_wait2_timeout.is_none() && l.fin_wait2_timeout.is_some());
        assert!(s.min_rto > l.min_rto);
    }
}
