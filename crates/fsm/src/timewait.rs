//! TIME-WAIT as a compact entry (what Linux calls a mini-socket, `inet_timewait_sock`).
//!
//! A connection that reaches TIME-WAIT needs only what it takes to answer the peer for 2*MSL:
//! SND.NXT and RCV.NXT for the ACK, the window, and two times. [`TimeWait`] is that entry;
//! [`Connection`](crate::Connection) runs the same code while it is itself in TIME-WAIT, so the
//! two never disagree.
//!
//! Why TIME-WAIT exists (RFC 9293 §3.6.1, §3.4.2): the ACK of the peer's FIN may be lost, and
//! the peer will retransmit its FIN, which must be ACKed again rather than answered with RST;
//! and old duplicates of this incarnation must die in the network before the same 4-tuple
//! carries a new one.

use crate::connection::{Disposition, acceptable, rate_limit_allows};
use crate::policy::{BugName, Policy};
use crate::segment::{Flags, Segment};
use crate::seq::SeqNum;
use crate::time::Instant;

/// The state a TIME-WAIT entry keeps: 28 bytes of fields.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimeWait {
    /// SND.NXT (one past our FIN).
    pub snd_nxt: SeqNum,
    /// RCV.NXT (one past the peer's FIN).
    pub rcv_nxt: SeqNum,
    /// When TIME-WAIT ends.
    pub deadline: Instant,
    /// When the last rate-limited answer went ([`Instant::NEVER`] if none).
    pub last_invalid: Instant,
    /// The window field of our ACKs (already shifted).
    pub window: u16,
    /// Our window scale shift.
    pub rcv_wscale: u8,
}

/// What a TIME-WAIT entry does with a segment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TimeWaitVerdict {
    /// Answer with an ACK (an unacceptable segment).
    Ack,
    /// A retransmitted FIN: ACK it; the 2*MSL timer was restarted.
    AckFin,
    /// A RST or SYN inside the window: challenge ACK (RFC 5961).
    ChallengeAck,
    /// Drop silently, for the reason given.
    Drop(Disposition),
    /// An exact RST ended TIME-WAIT early (the RFC 1337 hazard, when the policy allows it).
    Closed,
    /// A SYN beyond RCV.NXT may open a new incarnation (RFC 9293 MAY-2, [`Policy::time_wait_reuse`]).
    Reopen,
}

impl TimeWait {
    /// The receive window in octets.
    #[must_use]
    pub fn rcv_wnd(&self) -> u32 {
        u32::from(self.window) << self.rcv_wscale
    }

    /// An ISS for a new incarnation opened by a SYN in TIME-WAIT: beyond anything this one sent,
    /// so the peer cannot confuse the two (RFC 1122 §4.2.2.13; Linux uses SND.NXT + 65537).
    #[must_use]
    pub fn reopen_iss(&self) -> SeqNum {
        self.snd_nxt + 65_537
    }

    /// The ACK this entry sends: `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`.
    #[must_use]
    pub fn ack_segment(&self) -> Segment<'static> {
        Segment {
            seq: self.snd_nxt,
            ack: self.rcv_nxt,
            flags: Flags::ACK,
            window: self.window,
            ..Segment::default()
        }
    }

    /// A segment arrives in TIME-WAIT (RFC 9293 §3.10.7.4 with RFC 5961 and RFC 1337).
    pub fn handle_segment(
        &mut self,
        policy: &Policy,
        now: Instant,
        seg: &Segment<'_>,
    ) -> TimeWaitVerdict {
        let in_window = acceptable(seg.seq, seg.len(), self.rcv_nxt, self.rcv_wnd());
        if seg.flags.rst() {
            if policy.rfc1337 {
                // RFC 1337 fix F1: ignore RST in TIME-WAIT.
                return TimeWaitVerdict::Drop(Disposition::Ignored);
            }
            if seg.seq == self.rcv_nxt {
                return TimeWaitVerdict::Closed;
            }
            if in_window {
                return self.rate_limited(policy, now, TimeWaitVerdict::ChallengeAck);
            }
            return TimeWaitVerdict::Drop(Disposition::Unacceptable);
        }
        if seg.flags.syn() {
            if policy.time_wait_reuse && !seg.flags.ack() && seg.seq > self.rcv_nxt {
                return TimeWaitVerdict::Reopen;
            }
            return self.rate_limited(policy, now, TimeWaitVerdict::ChallengeAck);
        }
        if seg.flags.fin() && seg.seq + seg.len() == self.rcv_nxt {
            // The peer did not get our ACK of its FIN: ACK again and restart 2*MSL.
            if !policy.has_bug(BugName::TimeWaitNoRestart) {
                self.deadline = now + policy.time_wait;
            }
            return TimeWaitVerdict::AckFin;
        }
        if !in_window {
            if !seg.payload.is_empty() {
                return TimeWaitVerdict::Ack;
            }
            return self.rate_limited(policy, now, TimeWaitVerdict::Ack);
        }
        // An acceptable segment: nothing can be new after the peer's FIN.
        TimeWaitVerdict::Drop(Disposition::Accepted)
    }

    fn rate_limited(
        &mut self,
        policy: &Policy,
        now: Instant,
        verdict: TimeWaitVerdict,
    ) -> TimeWaitVerdict {
        if rate_limit_allows(&mut self.last_invalid, policy, now) {
            verdict
        } else {
            TimeWaitVerdict::Drop(Disposition::Unacceptable)
        }
    }

    /// Whether TIME-WAIT is over at `now`.
    #[must_use]
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.deadline
    }
}
