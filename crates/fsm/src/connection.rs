//! One TCP connection: its TCB (RFC 9293 §3.3.1) and the event processing of RFC 9293 §3.10.
//!
//! # The sans-IO contract
//!
//! A [`Connection`] holds sequence-space state, timers and flags; it holds no application bytes.
//! The caller keeps two buffers:
//!
//! - a **receive buffer**: [`Connection::handle_segment`] returns the in-order octets to append to
//!   it, and [`Connection::recv`] tells the connection how many octets the application consumed
//!   (which opens the receive window again);
//! - a **send buffer**: [`Connection::send`] tells the connection how many octets were appended,
//!   [`Transmit::payload`] says which of them an outgoing segment carries, and
//!   [`Connection::take_acked`] says how many octets at its front are acknowledged and may go.
//!
//! Methods come in four groups:
//!
//! - getters: [`state`](Connection::state), [`status`](Connection::status), …
//! - inputs: [`handle_segment`](Connection::handle_segment),
//!   [`handle_timeout`](Connection::handle_timeout);
//! - application calls (RFC 9293 §3.10.1–3.10.6): [`connect`](Connection::connect),
//!   [`listen`](Connection::listen), [`send`](Connection::send), [`recv`](Connection::recv),
//!   [`close`](Connection::close), [`abort`](Connection::abort),
//!   [`shutdown_read`](Connection::shutdown_read), [`orphan`](Connection::orphan);
//! - outputs, to poll after every input or call, in this order:
//!   [`poll_transmit`](Connection::poll_transmit) until `None`,
//!   [`poll_event`](Connection::poll_event) until `None`, then
//!   [`poll_timeout`](Connection::poll_timeout) for the next call to `handle_timeout`.
//!
//! Every method takes the [`Policy`]: pass the same one for a connection's life (or a changed one
//! on purpose, as a `setsockopt` would).
//!
//! # What is not here
//!
//! Out-of-order segments are not held for reassembly: they are acknowledged (a duplicate ACK) and
//! dropped, and the peer retransmits them. Retransmission resends the oldest unacknowledged
//! segment only. There is no congestion control, delayed ACK, Nagle algorithm, sender-side silly
//! window avoidance, urgent data, SACK or timestamps: this crate is about connection management.

use crate::policy::{BugName, Policy};
use crate::segment::{Flags, Options, PayloadRange, Segment, Transmit};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::{Duration, Instant};
use crate::timewait::{TimeWait, TimeWaitVerdict};

/// How far the ISS moves when a passive connection returns to LISTEN and must pick a new one
/// (4.4BSD's `TCP_ISSINCR`), so that segments of the abandoned attempt cannot match the next.
const ISS_STEP: u32 = 125 * 1024;

/// The smallest MSS we honour from a peer (Linux `TCP_MIN_SND_MSS`).
const MIN_SND_MSS: u16 = 48;

/// RTO after a retransmitted SYN when no RTT sample exists (RFC 6298 §5.7).
const RTO_FALLBACK: Duration = Duration::from_secs(3);

/// Why a connection failed, as the application will see it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum ConnError {
    /// The peer answered our SYN with RST (RFC 9293: "connection refused"; `ECONNREFUSED`).
    Refused,
    /// The peer reset an open connection (RFC 9293: "connection reset"; `ECONNRESET`).
    Reset,
    /// Retransmissions, keepalive probes or the user timeout ran out (`ETIMEDOUT`).
    TimedOut,
}

/// An application call made in a state where the RFC answers with an error (RFC 9293 §3.10).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum CallError {
    /// "error: connection does not exist" (CLOSED, or a call that needs a synchronized peer).
    NotConnected,
    /// "error: connection already exists" (OPEN on a connection that is not CLOSED).
    AlreadyExists,
    /// "error: connection closing" (SEND after CLOSE, CLOSE twice in LAST-ACK…).
    Closing,
    /// An argument out of range (consuming more octets than were delivered).
    InvalidArgument,
}

impl core::fmt::Display for ConnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConnError::Refused => "connection refused",
            ConnError::Reset => "connection reset",
            ConnError::TimedOut => "connection timed out",
        })
    }
}

impl core::fmt::Display for CallError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CallError::NotConnected => "connection does not exist",
            CallError::AlreadyExists => "connection already exists",
            CallError::Closing => "connection closing",
            CallError::InvalidArgument => "invalid argument",
        })
    }
}

impl core::error::Error for ConnError {}
impl core::error::Error for CallError {}

/// What the application is told, through [`Connection::poll_event`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Event {
    /// The handshake completed: the connection is ESTABLISHED.
    Established,
    /// The peer's FIN arrived after all its data: reads return end-of-file once the buffer drains.
    PeerFin,
    /// The connection failed; it is now CLOSED (or back in LISTEN for a passive open).
    Error(ConnError),
    /// The connection reached CLOSED; its TCB may be freed.
    Closed,
}

/// What became of one arriving segment (returned by [`Connection::handle_segment`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Disposition {
    /// The segment was processed.
    Accepted,
    /// It failed the acceptability test (RFC 9293 §3.10.7.4 first); an ACK answers it unless it
    /// is a RST or the rate limit holds it back.
    Unacceptable,
    /// A RST or SYN inside the window, answered with a challenge ACK (RFC 5961 §3, §4).
    ChallengeAck,
    /// Its ACK field acknowledges something never sent, or is too old (RFC 5961 §5); answered
    /// with an ACK, or with a RST in the non-synchronized states.
    BadAck,
    /// It carried no ACK bit where one is required.
    NoAck,
    /// Dropped by a rule of its state (RST at LISTEN, SYN+FIN, RFC 1337, neither SYN nor RST in
    /// SYN-SENT, …).
    Ignored,
    /// It reset the connection.
    Reset,
    /// It arrived at a connection in CLOSED, and was answered as by a closed port.
    NoConnection,
    /// A SYN in TIME-WAIT that may open a new incarnation (RFC 9293 MAY-2): the connection is
    /// now CLOSED and the SYN should be handed to a listener.
    Reopen,
}

/// The result of [`Connection::handle_segment`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[must_use = "delivered data must be appended to the receive buffer"]
pub struct Arrival<'a> {
    /// New in-order octets for the receive buffer: a slice of the segment's payload.
    pub data: &'a [u8],
    /// What was done with the segment.
    pub disposition: Disposition,
}

impl<'a> Arrival<'a> {
    const fn dropped(disposition: Disposition) -> Arrival<'a> {
        Arrival {
            data: &[],
            disposition,
        }
    }
}

/// The one timer a connection runs at a time, and what its expiry means.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Timer {
    /// Nothing armed.
    Idle,
    /// Retransmission (RFC 6298) of SYN, SYN+ACK, data or FIN; also carries the user timeout.
    Retransmit,
    /// Zero-window probe (RFC 9293 §3.8.6.1).
    Persist,
    /// Keepalive probe (RFC 9293 §3.8.4).
    Keepalive,
    /// An orphaned FIN-WAIT-2 gives up (Linux `tcp_fin_timeout`).
    FinWait2,
    /// TIME-WAIT ends after 2*MSL.
    TimeWait,
}

/// A RST answering one segment, waiting to be polled.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Reply {
    seq: SeqNum,
    ack: SeqNum,
    flags: Flags,
}

impl Reply {
    /// The RFC 9293 §3.10.7.1 answer of a CLOSED port: `<SEQ=SEG.ACK><CTL=RST>` if the segment
    /// has ACK, else `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`; nothing for a RST.
    fn reset_for(seg: &Segment<'_>) -> Option<Reply> {
        if seg.flags.rst() {
            None
        } else if seg.flags.ack() {
            Some(Reply {
                seq: seg.ack,
                ack: SeqNum(0),
                flags: Flags::RST,
            })
        } else {
            Some(Reply {
                seq: SeqNum(0),
                ack: seg.seq + seg.len(),
                flags: Flags::RST | Flags::ACK,
            })
        }
    }
}

/// The segment, if any, that the RFC's CLOSED state sends in answer to `seg` (RFC 9293
/// §3.10.7.1). Never a RST in answer to a RST.
#[must_use]
pub fn reset_for(seg: &Segment<'_>) -> Option<Segment<'static>> {
    Reply::reset_for(seg).map(Reply::segment)
}

impl Reply {
    fn segment(self) -> Segment<'static> {
        Segment {
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            ..Segment::default()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
struct Bits(u16);

impl Bits {
    /// Opened passively (RFC 9293 MUST-11: RST in SYN-RECEIVED returns to LISTEN).
    const PASSIVE: u16 = 1 << 0;
    /// CLOSE was called: our FIN follows the queued data, at `snd_end`.
    const FIN_QUEUED: u16 = 1 << 1;
    /// An ACK must be sent.
    const ACK_NOW: u16 = 1 << 2;
    /// The oldest unacknowledged segment must be retransmitted.
    const RETRANSMIT: u16 = 1 << 3;
    /// A keepalive or zero-window probe `<SEQ=SND.UNA-1>` must be sent.
    const PROBE: u16 = 1 << 4;
    /// Our SYN was retransmitted (Karn; RFC 6298 §5.7).
    const SYN_RETRANSMITTED: u16 = 1 << 5;
    /// An RTT measurement is running.
    const TIMING: u16 = 1 << 6;
    /// SRTT and RTTVAR hold a measurement.
    const RTT_VALID: u16 = 1 << 7;
    /// Window scaling is in use (both SYNs carried the option).
    const WINDOW_SCALING: u16 = 1 << 8;
    /// We put a window scale option in our SYN.
    const OFFERED_WS: u16 = 1 << 9;
    /// The application will read no more: new data in FIN-WAIT-* resets (Linux).
    const RCV_SHUTDOWN: u16 = 1 << 10;
    /// The application released the connection (FIN-WAIT-2 timeout applies).
    const ORPHAN: u16 = 1 << 11;

    #[inline]
    fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    #[inline]
    fn set(&mut self, bit: u16) {
        self.0 |= bit;
    }
    #[inline]
    fn clear(&mut self, bit: u16) {
        self.0 &= !bit;
    }
}

/// Pending events, one bit each, delivered in bit order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
struct Events(u8);

impl Events {
    const ESTABLISHED: u8 = 1 << 0;
    const PEER_FIN: u8 = 1 << 1;
    const ERROR: u8 = 1 << 2;
    const CLOSED: u8 = 1 << 3;
}

/// A snapshot of the TCB (RFC 9293 §3.10.6 STATUS).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Status {
    /// The state.
    pub state: State,
    /// ISS.
    pub iss: SeqNum,
    /// IRS (meaningless before a SYN arrived).
    pub irs: SeqNum,
    /// SND.UNA.
    pub snd_una: SeqNum,
    /// SND.NXT.
    pub snd_nxt: SeqNum,
    /// SND.WND, scaled.
    pub snd_wnd: u32,
    /// SND.WL1.
    pub snd_wl1: SeqNum,
    /// SND.WL2.
    pub snd_wl2: SeqNum,
    /// RCV.NXT.
    pub rcv_nxt: SeqNum,
    /// Octets delivered and not yet consumed by the application.
    pub unread: u32,
    /// Octets queued and not yet sent.
    pub unsent: u32,
    /// Current retransmission timeout.
    pub rto: Duration,
    /// The armed timer.
    pub timer: Timer,
    /// Retransmissions or probes of the armed timer so far.
    pub retries: u8,
    /// Opened passively.
    pub passive: bool,
}

/// One TCP connection (a TCB and its state machine). See the [module docs](self).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Connection {
    state: State,
    timer: Timer,
    retries: u8,
    snd_wscale: u8,
    rcv_wscale: u8,
    events: Events,
    error: Option<ConnError>,
    bits: Bits,
    snd_mss: u16,
    reply: Option<Reply>,

    iss: SeqNum,
    irs: SeqNum,
    snd_una: SeqNum,
    snd_nxt: SeqNum,
    /// One past the last queued data octet; our FIN, once queued, takes this number.
    snd_end: SeqNum,
    /// The first octet the caller still holds in its send buffer.
    snd_head: SeqNum,
    snd_wl1: SeqNum,
    snd_wl2: SeqNum,
    snd_wnd: u32,
    max_snd_wnd: u32,
    rcv_nxt: SeqNum,
    /// The right edge of the window we last advertised.
    rcv_adv: SeqNum,
    rcv_unread: u32,

    rtt_seq: SeqNum,
    srtt: u32,
    rttvar: u32,
    rto: u32,

    deadline: Instant,
    /// When the oldest outstanding segment was first sent (user timeout).
    rtx_since: Instant,
    rtt_time: Instant,
    last_invalid: Instant,
}

impl Connection {
    fn new(state: State, iss: SeqNum, policy: &Policy) -> Connection {
        Connection {
            state,
            timer: Timer::Idle,
            retries: 0,
            snd_wscale: 0,
            rcv_wscale: 0,
            events: Events::default(),
            error: None,
            bits: Bits::default(),
            snd_mss: policy
                .default_peer_mss
                .clamp(MIN_SND_MSS, policy.mss.max(MIN_SND_MSS)),
            reply: None,
            iss,
            irs: SeqNum(0),
            snd_una: iss,
            snd_nxt: iss,
            snd_end: iss + 1,
            snd_head: iss + 1,
            snd_wl1: SeqNum(0),
            snd_wl2: SeqNum(0),
            snd_wnd: 0,
            max_snd_wnd: 0,
            rcv_nxt: SeqNum(0),
            rcv_adv: SeqNum(0),
            rcv_unread: 0,
            rtt_seq: SeqNum(0),
            srtt: 0,
            rttvar: 0,
            rto: micros32(policy.initial_rto),
            deadline: Instant::NEVER,
            rtx_since: Instant::NEVER,
            rtt_time: Instant::NEVER,
            last_invalid: Instant::NEVER,
        }
    }

    /// OPEN, active (RFC 9293 §3.10.1): CLOSED → SYN-SENT. The SYN, with sequence number `iss`,
    /// is the first segment [`poll_transmit`](Self::poll_transmit) returns.
    #[must_use]
    pub fn connect(policy: &Policy, now: Instant, iss: SeqNum) -> Connection {
        let mut c = Connection::new(State::SynSent, iss, policy);
        if policy.window_scaling {
            c.bits.set(Bits::OFFERED_WS);
            c.rcv_wscale = policy.recv_window_shift();
        }
        c.update_timer(policy, now);
        c
    }

    /// OPEN, passive (RFC 9293 §3.10.1): CLOSED → LISTEN. The first SYN to arrive is answered
    /// with a SYN+ACK whose sequence number is `iss`.
    #[must_use]
    pub fn listen(policy: &Policy, iss: SeqNum) -> Connection {
        let mut c = Connection::new(State::Listen, iss, policy);
        c.bits.set(Bits::PASSIVE);
        c
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// STATUS (RFC 9293 §3.10.6): the TCB's variables.
    #[must_use]
    pub fn status(&self) -> Status {
        Status {
            state: self.state,
            iss: self.iss,
            irs: self.irs,
            snd_una: self.snd_una,
            snd_nxt: self.snd_nxt,
            snd_wnd: self.snd_wnd,
            snd_wl1: self.snd_wl1,
            snd_wl2: self.snd_wl2,
            rcv_nxt: self.rcv_nxt,
            unread: self.rcv_unread,
            unsent: self.unsent(),
            rto: Duration::from_micros(u64::from(self.rto)),
            timer: self.timer,
            retries: self.retries,
            passive: self.bits.has(Bits::PASSIVE),
        }
    }

    /// The error that ended the connection, if any (like `SO_ERROR`, but not cleared by reading).
    #[must_use]
    pub fn error(&self) -> Option<ConnError> {
        self.error
    }

    /// Octets delivered to the receive buffer and not yet consumed by [`recv`](Self::recv).
    #[must_use]
    pub fn unread(&self) -> u32 {
        self.rcv_unread
    }

    /// Octets the caller holds in its send buffer (unacknowledged or unsent).
    #[must_use]
    pub fn send_buffered(&self) -> u32 {
        self.snd_end.since(self.snd_head)
    }

    /// Whether the peer's FIN has arrived (reads return end-of-file once the buffer drains).
    #[must_use]
    pub fn peer_fin_received(&self) -> bool {
        self.state.remote_closed()
    }

    /// Whether CLOSE was called (our FIN is queued, sent or acknowledged).
    #[must_use]
    pub fn fin_queued(&self) -> bool {
        self.bits.has(Bits::FIN_QUEUED)
    }

    /// Whether the connection was opened passively.
    #[must_use]
    pub fn is_passive(&self) -> bool {
        self.bits.has(Bits::PASSIVE)
    }

    /// The MSS we send with.
    #[must_use]
    pub fn send_mss(&self) -> u16 {
        self.snd_mss
    }

    fn unsent(&self) -> u32 {
        if self.snd_nxt.in_half_open(self.snd_head, self.snd_end) {
            self.snd_end.since(self.snd_nxt)
        } else if self.snd_nxt == self.iss {
            // Not even the SYN went: everything queued is unsent.
            self.snd_end.since(self.snd_head)
        } else {
            0
        }
    }

    fn fin_sent(&self) -> bool {
        self.bits.has(Bits::FIN_QUEUED) && self.snd_nxt == self.snd_end + 1
    }

    fn fin_acked(&self) -> bool {
        self.bits.has(Bits::FIN_QUEUED) && self.snd_una == self.snd_end + 1
    }

    /// RCV.WND: the receive buffer less what the application has not read, but no more than
    /// the window field can advertise (65535 unless scaled): the acceptability test must use
    /// the window the peer was told (RFC 9293 §3.10.7.4), not a larger buffer.
    fn rcv_wnd(&self, policy: &Policy) -> u32 {
        let field_max = u32::from(u16::MAX) << self.rcv_wscale;
        policy
            .recv_buffer
            .saturating_sub(self.rcv_unread)
            .min(field_max)
    }

    // ----- application calls -------------------------------------------------------------------

    /// SEND (RFC 9293 §3.10.2): the caller appended up to `len` octets to its send buffer.
    /// Returns how many the send buffer had room for (the caller keeps only those); `Ok(0)`
    /// means the buffer is full (`EAGAIN`).
    ///
    /// # Errors
    /// [`CallError::NotConnected`] in CLOSED and LISTEN (a LISTEN connection has no peer to
    /// turn active towards); [`CallError::Closing`] once CLOSE was called.
    pub fn send(&mut self, policy: &Policy, len: usize) -> Result<usize, CallError> {
        match self.state {
            State::Closed | State::Listen => return Err(CallError::NotConnected),
            State::SynSent | State::SynReceived | State::Established | State::CloseWait => {}
            _ => return Err(CallError::Closing),
        }
        if self.bits.has(Bits::FIN_QUEUED) {
            return Err(CallError::Closing);
        }
        let room = policy.send_buffer.saturating_sub(self.send_buffered());
        let n = room.min(u32::try_from(len).unwrap_or(u32::MAX));
        self.snd_end += n;
        Ok(n as usize)
    }

    /// How many octets at the front of the caller's send buffer were acknowledged since the last
    /// call; the caller drops them. [`Transmit::payload`] offsets count from the remaining front.
    pub fn take_acked(&mut self) -> u32 {
        let acked_to = if self.snd_una.in_closed(self.snd_head, self.snd_end) {
            self.snd_una
        } else if self.snd_una == self.snd_end + 1 {
            self.snd_end
        } else {
            return 0;
        };
        let n = acked_to.since(self.snd_head);
        self.snd_head = acked_to;
        n
    }

    /// RECEIVE (RFC 9293 §3.10.3): the application consumed `len` octets from the receive
    /// buffer. The window opens, and a window update is sent when it grew enough
    /// (RFC 9293 §3.8.6.2.2).
    ///
    /// # Errors
    /// [`CallError::NotConnected`] in CLOSED; [`CallError::InvalidArgument`] if `len` exceeds
    /// [`unread`](Self::unread).
    pub fn recv(&mut self, policy: &Policy, len: usize) -> Result<(), CallError> {
        if self.state == State::Closed && self.rcv_unread == 0 {
            return Err(CallError::NotConnected);
        }
        let len = u32::try_from(len).map_err(|_| CallError::InvalidArgument)?;
        if len > self.rcv_unread {
            return Err(CallError::InvalidArgument);
        }
        self.rcv_unread -= len;
        if matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            let right_edge = self.rcv_nxt + self.rcv_wnd(policy);
            let threshold = (policy.recv_buffer / 2).min(u32::from(self.snd_mss)).max(1);
            if right_edge > self.rcv_adv && right_edge.since(self.rcv_adv) >= threshold {
                self.bits.set(Bits::ACK_NOW);
            }
        }
        Ok(())
    }

    /// CLOSE (RFC 9293 §3.10.4): no more data from us. Our FIN follows the queued data.
    ///
    /// LISTEN and SYN-SENT go to CLOSED at once; ESTABLISHED to FIN-WAIT-1; CLOSE-WAIT to
    /// LAST-ACK; SYN-RECEIVED sends its FIN now (FIN-WAIT-1) if nothing was queued, else after
    /// the handshake. A second CLOSE in FIN-WAIT-1 or FIN-WAIT-2 is accepted and does nothing.
    ///
    /// # Errors
    /// [`CallError::NotConnected`] in CLOSED; [`CallError::Closing`] in CLOSING, LAST-ACK and
    /// TIME-WAIT.
    pub fn close(&mut self, policy: &Policy, now: Instant) -> Result<(), CallError> {
        match self.state {
            State::Closed => return Err(CallError::NotConnected),
            State::Listen | State::SynSent => self.enter_closed(),
            State::SynReceived => {
                self.bits.set(Bits::FIN_QUEUED);
                if self.snd_end == self.iss + 1 {
                    self.state = State::FinWait1;
                }
            }
            State::Established => {
                self.bits.set(Bits::FIN_QUEUED);
                self.state = State::FinWait1;
            }
            State::CloseWait => {
                self.bits.set(Bits::FIN_QUEUED);
                self.state = if policy.has_bug(BugName::CloseWaitToClosing) {
                    State::Closing
                } else {
                    State::LastAck
                };
            }
            State::FinWait1 | State::FinWait2 => {}
            State::Closing | State::LastAck | State::TimeWait => return Err(CallError::Closing),
        }
        self.update_timer(policy, now);
        Ok(())
    }

    /// ABORT (RFC 9293 §3.10.5): SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 and
    /// CLOSE-WAIT send `<SEQ=SND.NXT><CTL=RST>` (with ACK = RCV.NXT when
    /// [`Policy::rst_carries_ack`]); every state goes to CLOSED, with no TIME-WAIT.
    ///
    /// # Errors
    /// [`CallError::NotConnected`] in CLOSED.
    pub fn abort(&mut self, policy: &Policy) -> Result<(), CallError> {
        match self.state {
            State::Closed => return Err(CallError::NotConnected),
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait => self.queue_abort_rst(policy),
            State::Listen | State::SynSent | State::Closing | State::LastAck | State::TimeWait => {}
        }
        self.enter_closed();
        Ok(())
    }

    /// The application will read no more (`shutdown(SHUT_RD)`, or close): as Linux, new data
    /// arriving in FIN-WAIT-1 or FIN-WAIT-2 then resets the connection.
    pub fn shutdown_read(&mut self) {
        self.bits.set(Bits::RCV_SHUTDOWN);
    }

    /// The application released the connection (its last descriptor closed): reads are over,
    /// and an orphaned FIN-WAIT-2 times out after [`Policy::fin_wait2_timeout`].
    pub fn orphan(&mut self, policy: &Policy, now: Instant) {
        self.bits.set(Bits::RCV_SHUTDOWN | Bits::ORPHAN);
        self.update_timer(policy, now);
    }

    /// Whether [`orphan`](Self::orphan) was called.
    #[must_use]
    pub fn is_orphan(&self) -> bool {
        self.bits.has(Bits::ORPHAN)
    }

    /// The policy changed (a `setsockopt`): idle timers (keepalive, FIN-WAIT-2) start over
    /// under the new values, as Linux restarts its keepalive timer on `TCP_KEEPIDLE`. A running
    /// retransmission timer keeps its deadline; the new bounds apply from its next arming.
    pub fn policy_changed(&mut self, policy: &Policy, now: Instant) {
        if matches!(self.timer, Timer::Keepalive | Timer::FinWait2 | Timer::Idle) {
            self.timer = Timer::Idle;
            self.deadline = Instant::NEVER;
        }
        self.update_timer(policy, now);
    }

    fn queue_abort_rst(&mut self, policy: &Policy) {
        let ack = policy.rst_carries_ack;
        self.reply = Some(Reply {
            seq: self.snd_nxt,
            ack: if ack { self.rcv_nxt } else { SeqNum(0) },
            flags: if ack {
                Flags::RST | Flags::ACK
            } else {
                Flags::RST
            },
        });
    }

    fn enter_closed(&mut self) {
        self.state = State::Closed;
        self.timer = Timer::Idle;
        self.deadline = Instant::NEVER;
        self.bits
            .clear(Bits::ACK_NOW | Bits::RETRANSMIT | Bits::PROBE);
        self.events.0 |= Events::CLOSED;
    }

    fn fail(&mut self, error: ConnError) {
        self.error = Some(error);
        self.events.0 |= Events::ERROR;
        self.enter_closed();
    }

    /// A passive connection whose handshake failed goes back to LISTEN with a fresh ISS
    /// (RFC 9293 §3.10.7.4 second, SYN-RECEIVED; MUST-11).
    fn return_to_listen(&mut self, policy: &Policy) {
        let orphan = self.bits.0 & (Bits::ORPHAN | Bits::RCV_SHUTDOWN);
        let reply = self.reply;
        // What SEND queued in SYN-RECEIVED is still in the caller's send buffer: it stays
        // queued for the next handshake (§3.10.7.4: "the user need not be informed"), so that
        // `Transmit::payload` offsets and `take_acked` keep matching that buffer. Found by the
        // `segments` and `pair` fuzz targets (the TCB used to forget it).
        let queued = self.send_buffered();
        *self = Connection::listen(policy, self.iss + ISS_STEP);
        self.snd_end = self.snd_head + queued;
        self.bits.set(orphan);
        self.reply = reply;
    }

    // ----- arriving segments -------------------------------------------------------------------

    /// SEGMENT ARRIVES (RFC 9293 §3.10.7). Returns the in-order data to append to the receive
    /// buffer and what was done with the segment. Answers (ACKs, RSTs) are then polled.
    pub fn handle_segment<'a>(
        &mut self,
        policy: &Policy,
        now: Instant,
        seg: &Segment<'a>,
    ) -> Arrival<'a> {
        // Both paths out of line: this dispatch then saves no registers but the one holding
        // the result's address.
        if self.header_predicted(policy, seg) {
            self.established_fast(policy, now, seg)
        } else {
            self.handle_segment_slow(policy, now, seg)
        }
    }

    /// [`Self::handle_segment`] for every segment header prediction declines.
    #[inline(never)]
    fn handle_segment_slow<'a>(
        &mut self,
        policy: &Policy,
        now: Instant,
        seg: &Segment<'a>,
    ) -> Arrival<'a> {
        let arrival = match self.state {
            State::Closed => {
                self.reply = Reply::reset_for(seg);
                Arrival::dropped(Disposition::NoConnection)
            }
            State::Listen => self.on_listen(policy, seg),
            State::SynSent => self.on_syn_sent(policy, now, seg),
            State::TimeWait => self.on_time_wait(policy, now, seg),
            _ => self.on_synchronized(policy, now, seg),
        };
        self.update_timer(policy, now);
        arrival
    }

    /// Header prediction (Van Jacobson's, as Linux's `tcp_rcv_established` fast path): in
    /// ESTABLISHED, the next segment in order (SEG.SEQ = RCV.NXT), ACK set, no SYN, RST or FIN,
    /// SND.UNA =< SEG.ACK =< SND.NXT, acceptable. Such a segment may take
    /// [`Self::established_fast`]; every other goes down the full path.
    #[inline(always)]
    fn header_predicted(&self, policy: &Policy, seg: &Segment<'_>) -> bool {
        const CHECKED: u8 = Flags::SYN.0 | Flags::RST.0 | Flags::FIN.0 | Flags::ACK.0;
        let len = seg.payload.len();
        self.state == State::Established
            && seg.flags.0 & CHECKED == Flags::ACK.0
            && seg.seq == self.rcv_nxt
            && len < 1 << 30
            && seg.ack >= self.snd_una
            && seg.ack <= self.snd_nxt
            && seg.ack >= self.snd_una - self.max_snd_wnd
            // Acceptable: only an empty segment fits a zero window.
            && (len == 0 || self.rcv_wnd(policy) != 0)
    }

    /// A segment that passed [`Self::header_predicted`]: does exactly what
    /// [`Self::handle_segment_slow`] does with it, skipping the steps that cannot apply.
    ///
    /// Why each skipped step is a no-op here: not SYN-RECEIVED (no crossing SYN,ACK, no
    /// unacknowledged SYN, no handshake completion); no RST or SYN (second and fourth steps,
    /// and the RST bug); the ACK passes RFC 5961 §5.2 (tested as the full path does); the state
    /// stays ESTABLISHED (ACK processing changes no state in it); no FIN (eighth step); in
    /// order with a nonzero window, or empty, so acceptable and taken from RCV.NXT on.
    #[inline(never)]
    fn established_fast<'a>(
        &mut self,
        policy: &Policy,
        now: Instant,
        seg: &Segment<'a>,
    ) -> Arrival<'a> {
        let len = seg.payload.len();
        self.segment_received(policy, now);
        if seg.ack > self.snd_una {
            self.ack_advance(policy, now, seg.ack);
        }
        // Window update: SEG.ACK >= SND.UNA holds.
        if self.snd_wl1 < seg.seq || (self.snd_wl1 == seg.seq && self.snd_wl2 <= seg.ack) {
            self.snd_wnd = u32::from(seg.window) << self.snd_wscale;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
        }
        // Seventh step, in order (nothing to skip).
        let mut data: &'a [u8] = &[];
        if len != 0 {
            let take = len.min(self.rcv_wnd(policy) as usize);
            data = seg.payload.get(..take).unwrap_or(&[]);
            self.rcv_nxt += take as u32;
            if take > 0 && policy.has_bug(BugName::AckOneTooFar) {
                self.rcv_nxt += 1;
            }
            self.rcv_unread += take as u32;
            self.bits.set(Bits::ACK_NOW);
        }
        self.update_timer_established(policy, now);
        Arrival {
            data,
            disposition: Disposition::Accepted,
        }
    }

    /// RFC 9293 §3.10.7.2.
    fn on_listen<'a>(&mut self, policy: &Policy, seg: &Segment<'a>) -> Arrival<'a> {
        if seg.flags.rst() {
            return Arrival::dropped(Disposition::Ignored);
        }
        if seg.flags.ack() {
            self.reply = Reply::reset_for(seg);
            return Arrival::dropped(Disposition::BadAck);
        }
        if !seg.flags.syn() || (seg.flags.fin() && policy.drop_syn_fin) {
            return Arrival::dropped(Disposition::Ignored);
        }
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.rcv_adv = self.rcv_nxt;
        self.snd_una = self.iss;
        self.snd_nxt = self.iss;
        self.snd_wnd = u32::from(seg.window);
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = self.iss;
        self.take_syn_options(policy, &seg.options, policy.window_scaling);
        self.state = State::SynReceived;
        // Text and FIN riding on the SYN are not acknowledged (the SYN-ACK acks SEG.SEQ+1 only),
        // so the peer sends them again once synchronized.
        Arrival::dropped(Disposition::Accepted)
    }

    /// Options of a received SYN: the MSS we may send, and window scaling if both offer it.
    fn take_syn_options(&mut self, policy: &Policy, options: &Options, we_offer_ws: bool) {
        let peer_mss = options.mss.unwrap_or(policy.default_peer_mss);
        self.snd_mss = peer_mss.min(policy.mss).max(MIN_SND_MSS);
        match options.window_scale {
            Some(shift) if we_offer_ws => {
                self.bits.set(Bits::WINDOW_SCALING);
                self.snd_wscale = shift.min(14);
                self.rcv_wscale = policy.recv_window_shift();
            }
            _ => {
                self.bits.clear(Bits::WINDOW_SCALING);
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
            }
        }
    }

    /// RFC 9293 §3.10.7.3, with RFC 5961 §3.2 for RST.
    fn on_syn_sent<'a>(&mut self, policy: &Policy, now: Instant, seg: &Segment<'a>) -> Arrival<'a> {
        if seg.flags.ack() && !(seg.ack > self.iss && seg.ack <= self.snd_nxt) {
            // SEG.ACK =< ISS or SEG.ACK > SND.NXT: not for this connection.
            if !seg.flags.rst() {
                self.reply = Some(Reply {
                    seq: seg.ack,
                    ack: SeqNum(0),
                    flags: Flags::RST,
                });
            }
            return Arrival::dropped(Disposition::BadAck);
        }
        if seg.flags.rst() {
            if seg.flags.ack() {
                self.fail(ConnError::Refused);
                return Arrival::dropped(Disposition::Reset);
            }
            return Arrival::dropped(Disposition::Ignored);
        }
        if !seg.flags.syn() || (seg.flags.fin() && policy.drop_syn_fin) {
            return Arrival::dropped(Disposition::Ignored);
        }
        if !seg.flags.ack() && policy.has_bug(BugName::IgnoreSynInSynSent) {
            return Arrival::dropped(Disposition::Ignored);
        }
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.rcv_adv = self.rcv_nxt;
        let offered = self.bits.has(Bits::OFFERED_WS);
        self.take_syn_options(policy, &seg.options, offered);
        // RFC 7323 §2.2: the window of a SYN is never scaled.
        self.snd_wnd = u32::from(seg.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        if seg.flags.ack() {
            self.ack_advance(policy, now, seg.ack);
        }
        if self.snd_una > self.iss {
            self.state = State::Established;
            self.events.0 |= Events::ESTABLISHED;
            self.bits.set(Bits::ACK_NOW);
            self.after_handshake(policy);
            // "continue processing at the sixth step below where the URG bit is checked".
            let data = self.on_text_and_fin(policy, now, seg);
            return Arrival {
                data,
                disposition: Disposition::Accepted,
            };
        }
        // Simultaneous open: our SYN goes again, now with ACK (RFC 9293 §3.5, Figure 7).
        self.state = State::SynReceived;
        self.bits.set(Bits::RETRANSMIT);
        Arrival::dropped(Disposition::Accepted)
    }

    /// The handshake just completed: RFC 6298 §5.7 fallback after a retransmitted SYN.
    fn after_handshake(&mut self, policy: &Policy) {
        if policy.syn_rto_fallback
            && self.bits.has(Bits::SYN_RETRANSMITTED)
            && !self.bits.has(Bits::RTT_VALID)
        {
            self.rto = micros32(RTO_FALLBACK);
        }
    }

    /// TIME-WAIT: the logic shared with the endpoint's compact [`TimeWait`] entries.
    fn on_time_wait<'a>(
        &mut self,
        policy: &Policy,
        now: Instant,
        seg: &Segment<'a>,
    ) -> Arrival<'a> {
        let mut tw = self.time_wait_entry(policy);
        let verdict = tw.handle_segment(policy, now, seg);
        self.deadline = tw.deadline;
        self.last_invalid = tw.last_invalid;
        match verdict {
            TimeWaitVerdict::Ack => {
                self.bits.set(Bits::ACK_NOW);
                Arrival::dropped(Disposition::Unacceptable)
            }
            TimeWaitVerdict::AckFin => {
                self.bits.set(Bits::ACK_NOW);
                Arrival::dropped(Disposition::Accepted)
            }
            TimeWaitVerdict::ChallengeAck => {
                self.bits.set(Bits::ACK_NOW);
                Arrival::dropped(Disposition::ChallengeAck)
            }
            TimeWaitVerdict::Drop(disposition) => Arrival::dropped(disposition),
            TimeWaitVerdict::Closed => {
                self.enter_closed();
                Arrival::dropped(Disposition::Reset)
            }
            TimeWaitVerdict::Reopen => {
                self.enter_closed();
                Arrival::dropped(Disposition::Reopen)
            }
        }
    }

    /// The compact TIME-WAIT entry that stands for this connection (valid in TIME-WAIT).
    #[must_use]
    pub fn time_wait_entry(&self, policy: &Policy) -> TimeWait {
        TimeWait {
            snd_nxt: self.snd_nxt,
            rcv_nxt: self.rcv_nxt,
            deadline: self.deadline,
            last_invalid: self.last_invalid,
            window: self.advertised_window(policy, false),
            rcv_wscale: self.rcv_wscale,
        }
    }

    /// Every state from SYN-RECEIVED on, but TIME-WAIT: RFC 9293 §3.10.7.4.
    fn on_synchronized<'a>(
        &mut self,
        policy: &Policy,
        now: Instant,
        seg: &Segment<'a>,
    ) -> Arrival<'a> {
        let rcv_wnd = self.rcv_wnd(policy);
        // Simultaneous open (RFC 9293 Figure 7, line 6): the peer's SYN,ACK answering our SYN
        // completes the handshake, although its SYN lies before RCV.NXT. Linux passes it the same
        // way (tcp_validate_incoming); the acceptability test alone would only ever ACK it.
        let crossing_synack = self.state == State::SynReceived
            && !self.bits.has(Bits::PASSIVE)
            && seg.flags.contains(Flags::SYN | Flags::ACK)
            && !seg.flags.rst()
            && seg.seq == self.irs
            && seg.ack == self.snd_nxt;

        if seg.flags.rst() && policy.has_bug(BugName::RstAnySeq) {
            self.reset_by_peer(policy);
            return Arrival::dropped(Disposition::Reset);
        }
        let started_in_fin_wait_1 = self.state == State::FinWait1;

        // Not synchronized yet (§3.5.2): SYN-RECEIVED, or FIN-WAIT-1/CLOSING entered from it by
        // CLOSE, our SYN still unacknowledged. A segment whose ACK is not SND.UNA < SEG.ACK =<
        // SND.NXT "acknowledges something not yet sent" and draws a reset <SEQ=SEG.ACK>
        // <CTL=RST> (§3.5.2, §3.10.7.4 SYN-RECEIVED) before its sequence number is looked at:
        // Linux's tcp_check_req does so for a passive open. An active open's SYN,ACK keeps the
        // §3.10.7.4 order (sequence number first, then an ACK), as Linux's full socket does.
        // Otherwise two TCBs holding different incarnations of each other answer each other's
        // unacceptable segments with ACKs, for ever without a rate limit. Found by the `pair`
        // fuzz target.
        let syn_unacked = self.snd_una == self.iss
            && matches!(
                self.state,
                State::SynReceived | State::FinWait1 | State::Closing
            );
        if syn_unacked
            && seg.flags.ack()
            && !seg.flags.rst()
            && (self.bits.has(Bits::PASSIVE) || !seg.flags.syn())
            && !(seg.ack > self.snd_una && seg.ack <= self.snd_nxt)
        {
            self.reply = Some(Reply {
                seq: seg.ack,
                ack: SeqNum(0),
                flags: Flags::RST,
            });
            return Arrival::dropped(Disposition::BadAck);
        }

        // First: the sequence number.
        if !crossing_synack && !acceptable(seg.seq, seg.len(), self.rcv_nxt, rcv_wnd) {
            let repeated_syn = self.state == State::SynReceived
                && seg.flags.syn()
                && !seg.flags.ack()
                && !seg.flags.rst()
                && seg.seq == self.irs;
            if repeated_syn {
                // The peer repeated its SYN: our SYN,ACK was lost, so send it again, rate-limited
                // (Linux tcp_check_req, inet_rtx_syn_ack). Karn: no RTT sample from it.
                if rate_limit_allows(&mut self.last_invalid, policy, now) {
                    self.bits.set(Bits::RETRANSMIT);
                    self.bits.clear(Bits::TIMING);
                }
            } else if !seg.flags.rst() {
                self.ack_rate_limited(policy, now, seg);
            }
            return Arrival::dropped(Disposition::Unacceptable);
        }
        self.segment_received(policy, now);

        // Second: RST (RFC 5961 §3.2: only an exact match resets; in-window draws a challenge).
        if seg.flags.rst() {
            if seg.seq != self.rcv_nxt {
                self.challenge_ack(policy, now);
                return Arrival::dropped(Disposition::ChallengeAck);
            }
            self.reset_by_peer(policy);
            return Arrival::dropped(Disposition::Reset);
        }

        // Fourth: SYN (RFC 5961 §4: a challenge ACK in every synchronized state).
        if seg.flags.syn() && !crossing_synack {
            if self.state == State::SynReceived && self.bits.has(Bits::PASSIVE) {
                self.return_to_listen(policy);
                return Arrival::dropped(Disposition::Reset);
            }
            self.challenge_ack(policy, now);
            return Arrival::dropped(Disposition::ChallengeAck);
        }

        // Fifth: ACK.
        if !seg.flags.ack() {
            return Arrival::dropped(Disposition::NoAck);
        }
        if self.state == State::SynReceived {
            if !(seg.ack > self.snd_una && seg.ack <= self.snd_nxt) {
                self.reply = Some(Reply {
                    seq: seg.ack,
                    ack: SeqNum(0),
                    flags: Flags::RST,
                });
                return Arrival::dropped(Disposition::BadAck);
            }
            self.state = if self.bits.has(Bits::FIN_QUEUED) {
                State::FinWait1
            } else {
                State::Established
            };
            self.events.0 |= Events::ESTABLISHED;
            self.snd_wnd = u32::from(seg.window) << self.snd_wscale;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            self.after_handshake(policy);
        }
        // RFC 5961 §5.2: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT, else ACK and drop.
        if seg.ack > self.snd_nxt || seg.ack < self.snd_una - self.max_snd_wnd {
            self.ack_rate_limited(policy, now, seg);
            return Arrival::dropped(Disposition::BadAck);
        }
        if seg.ack > self.snd_una {
            self.ack_advance(policy, now, seg.ack);
        }
        // Window update (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2), only "if SND.UNA =< SEG.ACK":
        // an ACK older than SND.UNA (kept above as a harmless duplicate) must not move the window.
        let ack_not_old = seg.ack >= self.snd_una;
        if ack_not_old
            && (self.snd_wl1 < seg.seq || (self.snd_wl1 == seg.seq && self.snd_wl2 <= seg.ack))
        {
            self.snd_wnd = u32::from(seg.window) << self.snd_wscale;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
        }
        match self.state {
            State::FinWait1 if self.fin_acked() => self.state = State::FinWait2,
            State::Closing if self.fin_acked() => {
                self.enter_time_wait(policy, now);
                return Arrival::dropped(Disposition::Accepted);
            }
            State::LastAck if self.fin_acked() => {
                self.enter_closed();
                return Arrival::dropped(Disposition::Accepted);
            }
            _ => {}
        }

        // Sixth (URG) is not supported; seventh and eighth: text and FIN.
        let fin_ignored = started_in_fin_wait_1
            && self.state == State::FinWait2
            && policy.has_bug(BugName::FinWait1IgnoresFinAck);
        let data = if fin_ignored {
            &[]
        } else {
            self.on_text_and_fin(policy, now, seg)
        };
        if self.state == State::Closed {
            return Arrival::dropped(Disposition::Reset);
        }
        Arrival {
            data,
            disposition: Disposition::Accepted,
        }
    }

    /// Seventh and eighth steps of RFC 9293 §3.10.7.4: segment text, then FIN.
    fn on_text_and_fin<'a>(
        &mut self,
        policy: &Policy,
        now: Instant,
        seg: &Segment<'a>,
    ) -> &'a [u8] {
        // Where the segment's text starts in sequence space (after a SYN, if any).
        let text_seq = seg.seq + u32::from(seg.flags.syn());
        let payload = seg.payload;
        let mut data: &'a [u8] = &[];
        let text_end = text_seq + payload.len() as u32;
        if !payload.is_empty() {
            let receiving = matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            );
            if receiving && text_end > self.rcv_nxt {
                if self.bits.has(Bits::RCV_SHUTDOWN)
                    && matches!(self.state, State::FinWait1 | State::FinWait2)
                {
                    // Linux (tcp_rcv_state_process): nobody will read this; reset. Any new
                    // data counts, out of order too (Linux tests end_seq after RCV.NXT).
                    self.reply = Reply::reset_for(seg);
                    self.fail(ConnError::Reset);
                    return &[];
                }
                if text_seq <= self.rcv_nxt {
                    let skip = self.rcv_nxt.since(text_seq) as usize;
                    let room = self.rcv_wnd(policy) as usize;
                    let take = (payload.len() - skip).min(room);
                    data = &payload[skip..skip + take];
                    self.rcv_nxt += take as u32;
                    if take > 0 && policy.has_bug(BugName::AckOneTooFar) {
                        self.rcv_nxt += 1;
                    }
                    self.rcv_unread += take as u32;
                }
                // Out of order (not held) or in order: either way, say where we are.
                self.bits.set(Bits::ACK_NOW);
            }
        }
        if seg.flags.fin() {
            if text_end == self.rcv_nxt {
                self.on_fin(policy, now);
            } else if matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            ) {
                // A FIN beyond RCV.NXT (out of order, or behind text the window cut) is not
                // processed; like out-of-order text it draws a duplicate ACK (module docs).
                self.bits.set(Bits::ACK_NOW);
            }
        }
        data
    }

    /// Eighth step: the peer's FIN, in order.
    fn on_fin(&mut self, policy: &Policy, now: Instant) {
        let next = match self.state {
            State::SynReceived | State::Established => State::CloseWait,
            State::FinWait1 if self.fin_acked() => State::TimeWait,
            State::FinWait1 => State::Closing,
            State::FinWait2 => State::TimeWait,
            // The FIN was already consumed in the others; nothing new can be in order here.
            _ => return,
        };
        if !policy.has_bug(BugName::FinNoSeq) {
            self.rcv_nxt += 1;
        }
        self.bits.set(Bits::ACK_NOW);
        self.events.0 |= Events::PEER_FIN;
        if next == State::TimeWait {
            self.enter_time_wait(policy, now);
        } else {
            self.state = next;
        }
    }

    fn enter_time_wait(&mut self, policy: &Policy, now: Instant) {
        if policy.has_bug(BugName::SkipTimeWait) {
            self.enter_closed();
            return;
        }
        self.state = State::TimeWait;
        self.timer = Timer::TimeWait;
        self.retries = 0;
        self.deadline = now + policy.time_wait;
        self.bits.clear(Bits::RETRANSMIT | Bits::PROBE);
    }

    /// An acceptable RST arrived (RFC 9293 §3.10.7.4 second).
    fn reset_by_peer(&mut self, policy: &Policy) {
        match self.state {
            State::SynReceived
                if self.bits.has(Bits::PASSIVE)
                    && !policy.has_bug(BugName::PassiveSynReceivedRstCloses) =>
            {
                self.return_to_listen(policy);
            }
            State::SynReceived => self.fail(ConnError::Refused),
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.fail(ConnError::Reset);
            }
            _ => self.enter_closed(),
        }
    }

    /// SND.UNA moves up to `ack` (which lies in (SND.UNA, SND.NXT]).
    #[inline(always)]
    fn ack_advance(&mut self, policy: &Policy, now: Instant, ack: SeqNum) {
        self.snd_una = ack;
        if self.bits.has(Bits::TIMING) && ack >= self.rtt_seq {
            self.bits.clear(Bits::TIMING);
            self.rtt_sample(policy, now.saturating_since(self.rtt_time));
        }
        self.retries = 0;
        if self.snd_una != self.snd_nxt {
            // RFC 6298 §5.3: restart the timer for what remains outstanding.
            self.rtx_since = now;
            self.deadline = self.rtx_deadline(policy, now);
            self.timer = Timer::Retransmit;
        } else if self.timer == Timer::Retransmit {
            self.timer = Timer::Idle;
            self.deadline = Instant::NEVER;
        }
        self.bits.clear(Bits::RETRANSMIT);
    }

    /// RFC 6298 §2.2–2.3.
    fn rtt_sample(&mut self, policy: &Policy, rtt: Duration) {
        let r = micros32(rtt);
        if self.bits.has(Bits::RTT_VALID) {
            let delta = self.srtt.abs_diff(r);
            self.rttvar = (self.rttvar / 4) * 3 + delta / 4;
            self.srtt = (self.srtt / 8) * 7 + r / 8;
        } else {
            self.srtt = r;
            self.rttvar = r / 2;
            self.bits.set(Bits::RTT_VALID);
        }
        let rto = u64::from(self.srtt) + u64::from(self.rttvar.saturating_mul(4).max(1));
        self.rto = clamp_rto(policy, rto);
    }

    /// Any acceptable segment shows the peer alive: keepalive starts over.
    fn segment_received(&mut self, policy: &Policy, now: Instant) {
        if self.timer == Timer::Keepalive {
            if let Some(k) = policy.keepalive {
                self.deadline = now + k.idle;
            }
            self.retries = 0;
        } else if self.timer == Timer::Persist {
            self.retries = 0;
        }
    }

    /// Answer an unacceptable segment with an ACK, rate-limited as Linux does: segments with
    /// data (without SYN) are always answered, since they cannot be part of an ACK loop.
    fn ack_rate_limited(&mut self, policy: &Policy, now: Instant, seg: &Segment<'_>) {
        if !seg.payload.is_empty() && !seg.flags.syn() {
            self.bits.set(Bits::ACK_NOW);
        } else {
            self.challenge_ack(policy, now);
        }
    }

    /// A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), at most one per
    /// [`Policy::invalid_ratelimit`] (RFC 5961 §7).
    fn challenge_ack(&mut self, policy: &Policy, now: Instant) {
        if rate_limit_allows(&mut self.last_invalid, policy, now) {
            self.bits.set(Bits::ACK_NOW);
        }
    }

    // ----- timers ------------------------------------------------------------------------------

    /// The retransmission deadline from `now`: RTO, or the user timeout if sooner.
    fn rtx_deadline(&self, policy: &Policy, now: Instant) -> Instant {
        let rto = now + Duration::from_micros(u64::from(self.rto));
        match policy.user_timeout {
            Some(ut) => rto.min(self.rtx_since + ut),
            None => rto,
        }
    }

    /// Arms the one timer the state calls for (RFC 6298 §5.1–5.2, RFC 9293 §3.8).
    ///
    /// Runs after every input and most outputs, and nearly always finds the right timer already
    /// armed: choosing is inline, arming (rare) out of line.
    #[inline]
    fn update_timer(&mut self, policy: &Policy, now: Instant) {
        let want = self.timer_for(self.state, policy);
        if want != self.timer {
            self.arm_timer(want, policy, now);
        }
    }

    /// [`Self::update_timer`] where the state is known to be ESTABLISHED (the fast paths): the
    /// same rule, whose other states' arms the compiler folds away.
    #[inline(always)]
    fn update_timer_established(&mut self, policy: &Policy, now: Instant) {
        let want = self.timer_for(State::Established, policy);
        if want != self.timer {
            self.arm_timer(want, policy, now);
        }
    }

    /// The one timer `state` calls for, given the rest of the TCB.
    #[inline(always)]
    fn timer_for(&self, state: State, policy: &Policy) -> Timer {
        match state {
            State::Closed | State::Listen => Timer::Idle,
            State::TimeWait => Timer::TimeWait,
            _ if self.snd_una != self.snd_nxt => Timer::Retransmit,
            State::SynSent | State::SynReceived => Timer::Retransmit,
            _ if self.snd_wnd == 0 && self.snd_nxt.in_half_open(self.snd_head, self.snd_end) => {
                Timer::Persist
            }
            State::FinWait2
                if self.bits.has(Bits::ORPHAN) && policy.fin_wait2_timeout.is_some() =>
            {
                Timer::FinWait2
            }
            State::Established | State::CloseWait | State::FinWait2
                if policy.keepalive.is_some() =>
            {
                Timer::Keepalive
            }
            _ => Timer::Idle,
        }
    }

    /// Arms `want` in place of the running timer: its deadline from `now`, retries from zero.
    #[cold]
    #[inline(never)]
    fn arm_timer(&mut self, want: Timer, policy: &Policy, now: Instant) {
        self.timer = want;
        self.retries = 0;
        self.deadline = match want {
            Timer::Idle => Instant::NEVER,
            Timer::Retransmit => {
                self.rtx_since = now;
                self.rtx_deadline(policy, now)
            }
            Timer::Persist => now + Duration::from_micros(u64::from(self.rto)),
            Timer::Keepalive => policy.keepalive.map_or(Instant::NEVER, |k| now + k.idle),
            Timer::FinWait2 => policy.fin_wait2_timeout.map_or(Instant::NEVER, |t| now + t),
            Timer::TimeWait => self.deadline,
        };
    }

    /// The next time [`handle_timeout`](Self::handle_timeout) has work, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.deadline != Instant::NEVER).then_some(self.deadline)
    }

    /// Timeouts (RFC 9293 §3.10.8): retransmission, user timeout, zero-window probe, keepalive,
    /// FIN-WAIT-2 and TIME-WAIT. Does nothing before the deadline.
    pub fn handle_timeout(&mut self, policy: &Policy, now: Instant) {
        if now < self.deadline {
            return;
        }
        match self.timer {
            Timer::Idle => {}
            Timer::Retransmit => self.on_retransmit_timeout(policy, now),
            Timer::Persist => {
                if self.retries >= policy.retries {
                    self.fail(ConnError::TimedOut);
                    return;
                }
                self.retries += 1;
                self.bits.set(Bits::PROBE);
                self.back_off(policy);
                self.deadline = now + Duration::from_micros(u64::from(self.rto));
            }
            Timer::Keepalive => {
                let Some(k) = policy.keepalive else {
                    self.timer = Timer::Idle;
                    self.deadline = Instant::NEVER;
                    return;
                };
                if self.retries >= k.probes {
                    // Linux (tcp_keepalive_timer) resets the dead connection.
                    self.queue_abort_rst(policy);
                    self.fail(ConnError::TimedOut);
                    return;
                }
                self.retries += 1;
                self.bits.set(Bits::PROBE);
                self.deadline = now + k.interval;
            }
            Timer::FinWait2 | Timer::TimeWait => self.enter_closed(),
        }
    }

    fn on_retransmit_timeout(&mut self, policy: &Policy, now: Instant) {
        let user_timed_out = policy
            .user_timeout
            .is_some_and(|ut| now >= self.rtx_since + ut);
        let limit = match self.state {
            State::SynSent => policy.syn_retries,
            State::SynReceived if self.bits.has(Bits::PASSIVE) => policy.synack_retries,
            State::SynReceived => policy.syn_retries,
            _ => policy.retries,
        };
        if user_timed_out || self.retries >= limit {
            if self.state == State::SynReceived && self.bits.has(Bits::PASSIVE) {
                self.return_to_listen(policy);
            } else {
                self.fail(ConnError::TimedOut);
            }
            return;
        }
        self.retries += 1;
        // RFC 6298 §5.4–5.6; Karn: no RTT sample from a retransmitted segment.
        if !(self.state == State::LastAck && policy.has_bug(BugName::LastAckNoRetransmit)) {
            self.bits.set(Bits::RETRANSMIT);
        }
        self.bits.clear(Bits::TIMING);
        if self.snd_una == self.iss {
            self.bits.set(Bits::SYN_RETRANSMITTED);
        }
        self.back_off(policy);
        self.deadline = self.rtx_deadline(policy, now);
    }

    fn back_off(&mut self, policy: &Policy) {
        self.rto = clamp_rto(policy, u64::from(self.rto) * 2);
    }

    // ----- outputs -----------------------------------------------------------------------------

    /// The next segment to send, if any. Call until `None` after every input, call or timeout.
    pub fn poll_transmit(&mut self, policy: &Policy, now: Instant) -> Option<Transmit> {
        // Shortcuts for the common cases, each doing what the general path does there (checked
        // by a unit test); none applies while a RST waits, or before our SYN went.
        if self.reply.is_none() && self.snd_nxt != self.iss {
            if self.state == State::Established
                && self.bits.0 & (Bits::RETRANSMIT | Bits::PROBE | Bits::FIN_QUEUED) == 0
            {
                if self.snd_nxt == self.snd_end {
                    // `only_ack_due` holds.
                    if self.timer == self.timer_for(State::Established, policy) {
                        return self.poll_ack(policy);
                    }
                } else {
                    let len = self.text_room(policy);
                    if len != 0 {
                        return self.poll_text(policy, now, len);
                    }
                }
            } else if matches!(self.state, State::SynSent | State::SynReceived)
                && self.bits.0 & (Bits::ACK_NOW | Bits::RETRANSMIT | Bits::PROBE) == 0
                && self.timer == Timer::Retransmit
            {
                // The handshake waits on the peer with our SYN sent and its timer running:
                // no text or FIN goes before it completes, so nothing is due.
                return None;
            }
        }
        self.poll_transmit_slow(policy, now)
    }

    /// [`Self::poll_transmit`] in ESTABLISHED when [`Self::only_ack_due`] holds, no RST is
    /// queued and the right timer runs: the pending ACK, if any, is all there is to send, and
    /// sending it leaves the timer right (it moves nothing the timer depends on). Does what the
    /// general path does there (checked by a unit test), without its state dispatch and calls.
    #[inline(always)]
    fn poll_ack(&mut self, policy: &Policy) -> Option<Transmit> {
        if !self.bits.has(Bits::ACK_NOW) {
            return None;
        }
        self.bits.clear(Bits::ACK_NOW);
        let t = self.ack_transmit(policy, self.snd_nxt);
        self.rcv_adv = self.rcv_nxt + (u32::from(t.segment.window) << self.rcv_wscale);
        Some(t)
    }

    /// [`Self::poll_transmit`] in ESTABLISHED with no RST queued, no retransmission, probe or
    /// FIN due, the SYN long sent, and `len` (nonzero, from [`Self::text_room`]) octets of new
    /// text to send: their segment. Does what the general path does there ([`Self::new_segment`],
    /// then the ACK bookkeeping and the timer; checked by a unit test), without its dispatch.
    #[inline(never)]
    fn poll_text(&mut self, policy: &Policy, now: Instant, len: u32) -> Option<Transmit> {
        let seq = self.snd_nxt;
        let mut t = self.ack_transmit(policy, seq);
        t.segment.flags = Flags::ACK | Flags::PSH;
        t.payload = PayloadRange {
            offset: seq.since(self.snd_head),
            len,
        };
        self.snd_nxt = seq + len;
        self.start_timing(now, self.snd_nxt);
        self.bits.clear(Bits::ACK_NOW);
        self.rcv_adv = self.rcv_nxt + (u32::from(t.segment.window) << self.rcv_wscale);
        self.update_timer_established(policy, now);
        Some(t)
    }

    /// [`Self::poll_transmit`], every case.
    #[inline(never)]
    fn poll_transmit_slow(&mut self, policy: &Policy, now: Instant) -> Option<Transmit> {
        if let Some(reply) = self.reply {
            // Cleared only when set: most calls find nothing queued.
            self.reply = None;
            return Some(Transmit {
                segment: reply.segment(),
                payload: PayloadRange::default(),
            });
        }
        let t = match self.state {
            State::Closed | State::Listen => return None,
            State::TimeWait => {
                if !self.bits.has(Bits::ACK_NOW) {
                    return None;
                }
                self.bits.clear(Bits::ACK_NOW);
                let seg = self.time_wait_entry(policy).ack_segment();
                return Some(Transmit {
                    segment: seg,
                    payload: PayloadRange::default(),
                });
            }
            State::Established if self.only_ack_due() => {
                if !self.bits.has(Bits::ACK_NOW) {
                    self.update_timer(policy, now);
                    return None;
                }
                self.ack_transmit(policy, self.snd_nxt)
            }
            _ => match self.next_transmit(policy, now) {
                Some(t) => t,
                None => {
                    // Nothing to send, but a call may have changed what the timer must be:
                    // SEND into a zero window queues data that only the persist timer will
                    // probe for (RFC 9293 §3.8.6.1; send() has no clock, so it is armed here).
                    self.update_timer(policy, now);
                    return None;
                }
            },
        };
        if t.segment.flags.ack() {
            self.bits.clear(Bits::ACK_NOW);
            let adv = u32::from(t.segment.window)
                << if t.segment.flags.syn() {
                    0
                } else {
                    self.rcv_wscale
                };
            self.rcv_adv = self.rcv_nxt + adv;
        }
        self.update_timer(policy, now);
        Some(t)
    }

    /// ESTABLISHED with nothing unsent, no FIN queued, nothing to retransmit or probe, the SYN
    /// long sent: [`Self::next_transmit`] could only answer with the pending ACK, if any, and
    /// changes nothing on the way (checked by a unit test).
    #[inline]
    fn only_ack_due(&self) -> bool {
        self.bits.0 & (Bits::RETRANSMIT | Bits::PROBE | Bits::FIN_QUEUED) == 0
            && self.snd_nxt == self.snd_end
            && self.snd_nxt != self.iss
    }

    fn next_transmit(&mut self, policy: &Policy, now: Instant) -> Option<Transmit> {
        if self.bits.has(Bits::RETRANSMIT) {
            self.bits.clear(Bits::RETRANSMIT);
            if let Some(t) = self.segment_at(policy, self.snd_una, self.snd_nxt) {
                return Some(t);
            }
        }
        if let Some(t) = self.new_segment(policy, now) {
            return Some(t);
        }
        if self.bits.has(Bits::PROBE) {
            self.bits.clear(Bits::PROBE);
            return Some(self.ack_transmit(policy, self.snd_una - 1));
        }
        if self.bits.has(Bits::ACK_NOW) {
            // In SYN-RECEIVED too: an unacceptable segment or a challenge is answered with
            // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 9293 §3.10.7.4 first and second, RFC 5961
            // §3.2; Linux's request socket the same), not with our SYN again. Only a repeated SYN
            // draws the SYN,ACK (see on_synchronized).
            return Some(self.ack_transmit(policy, self.snd_nxt));
        }
        None
    }

    /// Segment text we have never sent (or the SYN, or the FIN), as far as the window allows.
    fn new_segment(&mut self, policy: &Policy, now: Instant) -> Option<Transmit> {
        if self.snd_nxt == self.iss {
            // Our SYN (SYN-SENT) or SYN+ACK (SYN-RECEIVED from LISTEN) has not gone yet.
            let t = self.segment_at(policy, self.iss, self.iss + 1)?;
            self.snd_nxt = self.iss + 1;
            self.start_timing(now, self.snd_nxt);
            return Some(t);
        }
        if matches!(self.state, State::SynSent | State::SynReceived) {
            return None;
        }
        let end = self.snd_nxt + self.text_room(policy);
        let fin_due = self.bits.has(Bits::FIN_QUEUED) && end == self.snd_end && !self.fin_sent();
        if end == self.snd_nxt && !fin_due {
            return None;
        }
        let limit = if fin_due { end + 1 } else { end };
        let t = self.segment_at(policy, self.snd_nxt, limit)?;
        self.snd_nxt = limit;
        self.start_timing(now, limit);
        Some(t)
    }

    /// How many octets of new text go in the next segment: what is queued and unsent, as far
    /// as the send window and one MSS allow. Zero when nothing is unsent or nothing fits.
    #[inline(always)]
    fn text_room(&self, policy: &Policy) -> u32 {
        if !self.snd_nxt.in_half_open(self.snd_head, self.snd_end) {
            return 0;
        }
        let unsent = self.snd_end.since(self.snd_nxt);
        let window_end = self.snd_una + self.snd_wnd;
        let mut room = if window_end > self.snd_nxt {
            window_end.since(self.snd_nxt)
        } else {
            0
        };
        if room > 0 && policy.has_bug(BugName::WindowEdgeOffByOne) {
            room += 1;
        }
        unsent.min(room).min(u32::from(self.snd_mss))
    }

    fn start_timing(&mut self, now: Instant, end: SeqNum) {
        if !self.bits.has(Bits::TIMING) {
            self.bits.set(Bits::TIMING);
            self.rtt_seq = end;
            self.rtt_time = now;
        }
    }

    /// The segment that carries sequence space `[seq, limit)`, at most one MSS of text.
    /// SYN at ISS, text in `[ISS+1, snd_end)`, FIN at `snd_end` when queued.
    #[inline]
    fn segment_at(&self, policy: &Policy, seq: SeqNum, limit: SeqNum) -> Option<Transmit> {
        if seq == limit {
            return None;
        }
        if seq == self.iss {
            let synack = self.state != State::SynSent;
            let mut options = Options {
                mss: Some(policy.mss),
                ..Options::NONE
            };
            if (synack && self.bits.has(Bits::WINDOW_SCALING))
                || (!synack && self.bits.has(Bits::OFFERED_WS))
            {
                options.window_scale = Some(self.rcv_wscale);
            }
            let flags = if synack {
                Flags::SYN | Flags::ACK
            } else {
                Flags::SYN
            };
            return Some(Transmit {
                segment: Segment {
                    seq,
                    ack: if synack { self.rcv_nxt } else { SeqNum(0) },
                    flags,
                    window: self.advertised_window(policy, true),
                    options,
                    ..Segment::default()
                },
                payload: PayloadRange::default(),
            });
        }
        let text_end = limit.min(self.snd_end);
        let len = if text_end > seq {
            text_end.since(seq).min(u32::from(self.snd_mss))
        } else {
            0
        };
        let fin =
            self.bits.has(Bits::FIN_QUEUED) && seq + len == self.snd_end && limit > self.snd_end;
        let mut flags = Flags::ACK;
        if len > 0 {
            flags = flags | Flags::PSH;
        }
        if fin {
            flags = flags | Flags::FIN;
        }
        let mut t = self.ack_transmit(policy, seq);
        t.segment.flags = flags;
        t.payload = PayloadRange {
            offset: seq.since(self.snd_head),
            len,
        };
        Some(t)
    }

    /// `<SEQ=seq><ACK=RCV.NXT><CTL=ACK>` with the current window.
    fn ack_transmit(&self, policy: &Policy, seq: SeqNum) -> Transmit {
        Transmit {
            segment: Segment {
                seq,
                ack: self.rcv_nxt,
                flags: Flags::ACK,
                window: self.advertised_window(policy, false),
                ..Segment::default()
            },
            payload: PayloadRange::default(),
        }
    }

    /// The window field: unscaled on a SYN (RFC 7323 §2.2), else shifted by our scale.
    fn advertised_window(&self, policy: &Policy, syn: bool) -> u16 {
        let wnd = self.rcv_wnd(policy);
        let shifted = if syn { wnd } else { wnd >> self.rcv_wscale };
        u16::try_from(shifted).unwrap_or(u16::MAX)
    }

    /// The next event for the application, in the order Established, PeerFin, Error, Closed.
    pub fn poll_event(&mut self) -> Option<Event> {
        let pending = self.events.0;
        if pending == 0 {
            return None;
        }
        let bit = pending & pending.wrapping_neg();
        self.events.0 &= !bit;
        Some(match bit {
            Events::ESTABLISHED => Event::Established,
            Events::PEER_FIN => Event::PeerFin,
            Events::ERROR => Event::Error(self.error.unwrap_or(ConnError::Reset)),
            _ => Event::Closed,
        })
    }
}

/// RFC 9293 §3.10.7.4, the four cases of the acceptability test. With a zero window, a segment
/// at exactly RCV.NXT is let through so that its ACK, RST and window are processed (the RFC's
/// "special allowance"); its text is not taken.
#[must_use]
pub fn acceptable(seq: SeqNum, len: u32, rcv_nxt: SeqNum, rcv_wnd: u32) -> bool {
    if rcv_wnd == 0 {
        return seq == rcv_nxt;
    }
    let end = rcv_nxt + rcv_wnd;
    if len == 0 {
        seq.in_half_open(rcv_nxt, end)
    } else {
        seq.in_half_open(rcv_nxt, end) || (seq + (len - 1)).in_half_open(rcv_nxt, end)
    }
}

/// One rate-limited answer per [`Policy::invalid_ratelimit`]; `last` is when the previous went.
pub(crate) fn rate_limit_allows(last: &mut Instant, policy: &Policy, now: Instant) -> bool {
    let allowed = policy.invalid_ratelimit == Duration::ZERO
        || *last == Instant::NEVER
        || now >= *last + policy.invalid_ratelimit;
    if allowed {
        *last = now;
    }
    allowed
}

fn clamp_rto(policy: &Policy, micros: u64) -> u32 {
    let lo = policy.min_rto.as_micros();
    let hi = policy.max_rto.as_micros().max(lo);
    u32::try_from(micros.clamp(lo, hi)).unwrap_or(u32::MAX)
}

fn micros32(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    /// Two connections through the handshake, then `data` octets sent each way and `unread`
    /// left unread by the client: ESTABLISHED with some variety in the numbers.
    fn established(policy: &Policy, iss: u32, sent: u32, in_flight: u32) -> Connection {
        let now = Instant::from_micros(1_000);
        let mut c = Connection::connect(policy, now, SeqNum(iss));
        let mut s = Connection::listen(policy, SeqNum(iss.wrapping_mul(7).wrapping_add(99)));
        let mut to_s = alloc::vec::Vec::new();
        let mut to_c = alloc::vec::Vec::new();
        while let Some(t) = c.poll_transmit(policy, now) {
            to_s.push(t.segment);
        }
        for seg in to_s.drain(..) {
            let _ = s.handle_segment(policy, now, &seg);
        }
        while let Some(t) = s.poll_transmit(policy, now) {
            to_c.push(t.segment);
        }
        for seg in to_c.drain(..) {
            let _ = c.handle_segment(policy, now, &seg);
        }
        while let Some(t) = c.poll_transmit(policy, now) {
            to_s.push(t.segment);
        }
        for seg in to_s.drain(..) {
            let _ = s.handle_segment(policy, now, &seg);
        }
        assert_eq!(c.state(), State::Established);
        // Data from the client; ACKed, then some more left in flight.
        let _ = c.send(policy, (sent + in_flight) as usize);
        let later = Instant::from_micros(5_000);
        while let Some(t) = c.poll_transmit(policy, later) {
            if t.segment.seq.since(c.iss) <= sent {
                let payload = alloc::vec![0u8; t.payload.len as usize];
                let seg = Segment {
                    payload: &payload,
                    ..t.segment
                };
                let _ = s.handle_segment(policy, later, &seg);
            }
        }
        while let Some(t) = s.poll_transmit(policy, later) {
            let _ = c.handle_segment(policy, later, &t.segment);
        }
        c
    }

    /// Every segment the fast path takes is handled exactly as the full path handles it.
    #[test]
    fn header_prediction_agrees_with_the_full_path() {
        let policy = Policy::linux();
        let keepalive = Policy {
            keepalive: Some(crate::policy::Keepalive::LINUX),
            ..Policy::linux()
        };
        let now = Instant::from_micros(9_000);
        let payload = [7u8; 300];
        let mut taken = 0;
        for (iss, sent, in_flight) in [
            (1, 0, 0),
            (u32::MAX - 3, 10, 0),
            (0x7fff_fff0, 100, 50),
            (12345, 0, 200),
        ] {
            let base = established(&policy, iss, sent, in_flight);
            for unread in [0u32, 1, 1000] {
                let mut conn = base.clone();
                conn.rcv_unread = unread.min(policy.recv_buffer);
                let seqs = [0i64, -1, 1, 100, -100, 1 << 20];
                let acks = [0i64, -1, 1, 50, 199, 200, 201, -70_000, 1 << 30];
                for ds in seqs {
                    for da in acks {
                        for flags in [0x10u8, 0x18, 0x11, 0x12, 0x14, 0x00, 0x30, 0xd0, 0x19] {
                            for len in [0usize, 1, 300] {
                                for window in [0u16, 1, 512, 65535] {
                                    let seg = Segment {
                                        seq: conn.rcv_nxt + ds as u32,
                                        ack: conn.snd_una + da as u32,
                                        flags: Flags(flags),
                                        window,
                                        payload: &payload[..len],
                                        ..Segment::default()
                                    };
                                    let mut fast = conn.clone();
                                    let mut full = conn.clone();
                                    if !conn.header_predicted(&policy, &seg) {
                                        continue;
                                    }
                                    taken += 1;
                                    let a = fast.established_fast(&policy, now, &seg);
                                    let b = full.handle_segment_slow(&policy, now, &seg);
                                    assert_eq!(a, b, "{seg:?}");
                                    assert_eq!(fast, full, "{seg:?}");
                                    // Keepalive running: the timer update is checked too.
                                    let mut fast = conn.clone();
                                    let mut full = conn.clone();
                                    let a = fast.established_fast(&keepalive, now, &seg);
                                    let b = full.handle_segment_slow(&keepalive, now, &seg);
                                    assert_eq!(a, b, "{seg:?}");
                                    assert_eq!(fast, full, "{seg:?}");
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(taken > 100, "the fast path was taken {taken} times");
    }

    /// Where `only_ack_due` holds, `next_transmit` yields the pending ACK or nothing, and
    /// changes nothing else.
    #[test]
    fn only_ack_due_means_next_transmit_yields_the_ack_or_nothing() {
        let policy = Policy::linux();
        let now = Instant::from_micros(9_000);
        let mut checked = 0;
        for (iss, sent, in_flight) in [(1, 0, 0), (u32::MAX - 3, 10, 0), (12345, 0, 200)] {
            let base = established(&policy, iss, sent, in_flight);
            for bits in 0u16..(1 << 12) {
                for unsent in [0u32, 1] {
                    for wnd in [0u32, 1000] {
                        let mut conn = base.clone();
                        conn.bits = Bits(bits);
                        conn.snd_end = conn.snd_nxt + unsent;
                        conn.snd_wnd = wnd;
                        if conn.state != State::Established || !conn.only_ack_due() {
                            continue;
                        }
                        checked += 1;
                        let mut full = conn.clone();
                        let got = full.next_transmit(&policy, now);
                        let want = conn
                            .bits
                            .has(Bits::ACK_NOW)
                            .then(|| conn.ack_transmit(&policy, conn.snd_nxt));
                        assert_eq!(got, want, "bits {bits:#x}");
                        assert_eq!(full, conn, "bits {bits:#x}");
                    }
                }
            }
        }
        assert!(checked > 1000, "checked {checked}");
    }

    /// `poll_transmit` (its ACK and text shortcuts included) does what the general path does, in
    /// every state the handshake and a close reach, with pending ACKs, queued RSTs, unsent data,
    /// FINs, closed windows, stale timers and policies with and without keepalive.
    #[test]
    fn poll_transmit_agrees_with_the_general_path() {
        let linux = Policy::linux();
        let keepalive = Policy {
            keepalive: Some(crate::policy::Keepalive::LINUX),
            ..Policy::linux()
        };
        let now = Instant::from_micros(9_000);
        let mut bases = alloc::vec::Vec::new();
        for (iss, sent, in_flight) in [(1, 0, 0), (u32::MAX - 3, 10, 0), (12345, 0, 200)] {
            let c = established(&linux, iss, sent, in_flight);
            let mut closing = c.clone();
            closing.close(&linux, now).expect("close in ESTABLISHED");
            let mut close_wait = c.clone();
            close_wait.state = State::CloseWait;
            bases.extend([c, closing, close_wait]);
        }
        // The handshake's states, before and after our SYN (and SYN,ACK) went.
        let syn_sent = Connection::connect(&linux, now, SeqNum(5));
        let mut syn = syn_sent.clone();
        let syn_seg = syn.poll_transmit(&linux, now).expect("the SYN").segment;
        let listen = Connection::listen(&linux, SeqNum(900));
        let mut syn_received = listen.clone();
        let _ = syn_received.handle_segment(&linux, now, &syn_seg);
        let mut synack = syn_received.clone();
        let _ = synack.poll_transmit(&linux, now).expect("the SYN,ACK");
        bases.extend([syn_sent, syn, listen, syn_received, synack]);
        let (mut ack_shortcut, mut text_shortcut, mut handshake_shortcut) = (0, 0, 0);
        for base in &bases {
            for bits in [
                0,
                Bits::ACK_NOW,
                Bits::RETRANSMIT,
                Bits::PROBE,
                Bits::FIN_QUEUED,
            ] {
                for unsent in [0u32, 1, 700, 3000] {
                    for wnd in [0u32, 1, 1000, 70_000] {
                        for timer in [Timer::Idle, Timer::Retransmit, Timer::Keepalive] {
                            for reply in [None, Reply::reset_for(&Segment::default())] {
                                for policy in [linux, keepalive] {
                                    let mut conn = base.clone();
                                    conn.bits.set(bits);
                                    conn.snd_end += unsent;
                                    conn.snd_wnd = wnd;
                                    conn.timer = timer;
                                    conn.reply = reply;
                                    let shortcuts = conn.reply.is_none()
                                        && conn.state == State::Established
                                        && !conn.bits.has(Bits::RETRANSMIT | Bits::PROBE)
                                        && !conn.bits.has(Bits::FIN_QUEUED)
                                        && conn.snd_nxt != conn.iss;
                                    ack_shortcut += usize::from(
                                        shortcuts
                                            && conn.only_ack_due()
                                            && conn.timer
                                                == conn.timer_for(State::Established, &policy),
                                    );
                                    text_shortcut +=
                                        usize::from(shortcuts && conn.text_room(&policy) != 0);
                                    handshake_shortcut += usize::from(
                                        conn.reply.is_none()
                                            && matches!(
                                                conn.state,
                                                State::SynSent | State::SynReceived
                                            )
                                            && conn.snd_nxt != conn.iss
                                            && conn.bits.0
                                                & (Bits::ACK_NOW | Bits::RETRANSMIT | Bits::PROBE)
                                                == 0
                                            && conn.timer == Timer::Retransmit,
                                    );
                                    let mut fast = conn.clone();
                                    let mut full = conn;
                                    for _ in 0..4 {
                                        let a = fast.poll_transmit(&policy, now);
                                        let b = full.poll_transmit_slow(&policy, now);
                                        assert_eq!(a, b);
                                        assert_eq!(fast, full);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(
            ack_shortcut > 20,
            "the ACK shortcut was taken {ack_shortcut} times"
        );
        assert!(
            text_shortcut > 20,
            "the text shortcut was taken {text_shortcut} times"
        );
        assert!(
            handshake_shortcut > 20,
            "the handshake shortcut was taken {handshake_shortcut} times"
        );
    }
}
