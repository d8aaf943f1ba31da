//! The stateright [`Model`]: two peers built from the real core, a faulty network, and the
//! applications' calls, timers, crashes and faults as nondeterministic actions.
//!
//! Every action is one input to one peer (a segment, a timer, an application call, a crash)
//! followed, as the core's polling order says, by `poll_transmit` until `None` (the segments go
//! into that peer's channel), `poll_event` until `None`, and `take_acked`.
//!
//! Time: each peer has its own clock, which jumps to a timer's deadline when the timer fires;
//! segments take no time, except that one arriving in TIME-WAIT moves the receiver's clock up
//! to the sender's (it cannot arrive before it was sent), so that TIME-WAIT's restart of 2*MSL
//! on a retransmitted FIN is observable. Besides the properties over states, a few are checked
//! on the step that could break them and kept as [`hist`] bits: data sent beyond the offered
//! window, an in-order FIN not consumed, a retransmitted FIN that does not restart TIME-WAIT.

use std::sync::Arc;

use stateright::{Model, Property};
use tcp_fsm::{
    CloseAction, ConnError, Connection, Disposition, Event, Policy, SeqNum, State, Timer,
    close_last_descriptor,
};

use crate::coverage::{Cause, Recorder};
use crate::net::{Net, Seg};
use crate::peer::{NO_IRS, Peer, Role, T0, app, flag};
use crate::properties::{self, History, Observation, PeerView};
use crate::scenario::{CloseWhen, Scenario};
use crate::sometimes;

/// Keepalive firings allowed per peer, so that time stays bounded.
pub const KEEPALIVE_BUDGET: u8 = 2;

/// History bits ([`ModelState::history`]).
pub mod hist {
    /// A connection sent a RST or was reset/refused.
    pub const CONNECTION_RESET: u16 = 1 << 0;
    /// A connection timed out.
    pub const TIMED_OUT: u16 = 1 << 1;
    /// An application aborted.
    pub const ABORTED: u16 = 1 << 2;
    /// A peer crashed.
    pub const CRASHED: u16 = 1 << 3;
    /// A connection failed with an error.
    pub const ERRORED: u16 = 1 << 4;
    /// The model's capacities were exceeded.
    pub const OVERFLOW: u16 = 1 << 5;
    /// A retransmitted FIN reached TIME-WAIT and was ACKed again.
    pub const FIN_REACKED: u16 = 1 << 6;
    /// A synchronized connection was reset after its peer crashed (half-open discovered).
    pub const HALF_OPEN_RESET: u16 = 1 << 7;
    /// A RST ended TIME-WAIT early (RFC 1337 hazard).
    pub const TW_ASSASSINATED: u16 = 1 << 8;
    /// A connection sent data beyond SND.UNA + SND.WND.
    pub const BEYOND_WINDOW: u16 = 1 << 9;
    /// An in-order FIN of the current peer was not consumed.
    pub const FIN_NOT_CONSUMED: u16 = 1 << 10;
    /// A retransmitted FIN reached TIME-WAIT without restarting 2*MSL.
    pub const TW_NOT_RESTARTED: u16 = 1 << 11;
    /// A state change took no edge of `tcp_fsm::EDGES` for its kind of event.
    pub const FORBIDDEN_STEP: u16 = 1 << 12;
    /// A connection answered an arriving RST with a RST.
    pub const RST_FOR_RST: u16 = 1 << 13;
}

/// Remaining fault budgets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Budget {
    /// Losses left.
    pub loss: u8,
    /// Duplications left.
    pub dup: u8,
    /// Reorders left.
    pub reorder: u8,
    /// Crashes left.
    pub crash: u8,
    /// Premature timer firings left.
    pub early: u8,
}

/// A state of the model.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ModelState {
    /// Peer A (index 0) and peer B (index 1).
    pub peers: [Peer; 2],
    /// What is in flight.
    pub net: Net,
    /// Fault budgets left.
    pub budget: Budget,
    /// [`hist`] bits.
    pub history: u16,
}

/// An application call.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Call {
    /// OPEN, active.
    Connect,
    /// Write one octet.
    Send,
    /// Read everything buffered.
    Read,
    /// shutdown(SHUT_WR).
    Shutdown,
    /// close (abort when data is unread).
    Close,
    /// abort / SO_LINGER 0.
    Abort,
    /// Close the listener before anything was accepted.
    CloseListener,
}

/// One step of the model.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Action {
    /// Deliver the segment at `index` of peer `from`'s channel (index > 0 is a reorder).
    Deliver {
        /// Sender.
        from: u8,
        /// Position in the channel.
        index: u8,
    },
    /// Deliver old duplicate `index` of the pool.
    DeliverOld {
        /// Position in the pool.
        index: u8,
    },
    /// Lose a segment.
    Lose {
        /// Sender.
        from: u8,
        /// Position in the channel.
        index: u8,
    },
    /// Duplicate a segment (the copy goes to the end of the channel).
    Duplicate {
        /// Sender.
        from: u8,
        /// Position in the channel.
        index: u8,
    },
    /// Fire the peer's armed timer: its clock jumps to the deadline.
    Fire(u8),
    /// The peer's application calls.
    Call(u8, Call),
    /// The peer crashes and reboots in a new incarnation.
    Crash(u8),
}

/// The model of one scenario.
#[derive(Clone)]
pub struct TcpModel {
    /// The scenario.
    pub scenario: Scenario,
    /// Coverage of the state diagram, filled as a side effect of exploration.
    pub recorder: Arc<Recorder>,
    closed: Connection,
}

/// A connection in CLOSED (the core has no constructor for one): listen, then abort.
fn closed_connection(policy: &Policy) -> Connection {
    let mut c = Connection::listen(policy, SeqNum(0));
    let _ = c.abort(policy);
    while c.poll_event().is_some() {}
    c
}

impl TcpModel {
    /// The model of `scenario`.
    #[must_use]
    pub fn new(scenario: Scenario) -> TcpModel {
        let closed = closed_connection(&scenario.peers[0].policy);
        TcpModel {
            scenario,
            recorder: Arc::new(Recorder::default()),
            closed,
        }
    }

    fn policy(&self, p: usize) -> &Policy {
        &self.scenario.peers[p].policy
    }

    /// The initial state.
    #[must_use]
    pub fn initial(&self) -> ModelState {
        let f = self.scenario.faults;
        let mut s = ModelState {
            peers: [0, 1].map(|p| self.fresh_peer(p, 1)),
            net: Net::default(),
            budget: Budget {
                loss: f.loss,
                dup: f.dup,
                reorder: f.reorder,
                crash: f.crash,
                early: f.early,
            },
            history: 0,
        };
        for p in 0..2 {
            let setup = &self.scenario.peers[p];
            if setup.role == Role::Client && setup.script.connect_at_start {
                self.connect(&mut s, p);
            }
        }
        for old in &self.scenario.old {
            let seg = Seg::header(old.from, 0, old.seq, old.ack, old.flags);
            if !s.net.old.push(seg) {
                s.history |= hist::OVERFLOW;
            }
        }
        for (p, peer) in s.peers.iter().enumerate() {
            self.recorder.reach(p, peer.state());
        }
        s
    }

    /// A peer as it starts (or reboots) in `incarnation`.
    fn fresh_peer(&self, p: usize, incarnation: u8) -> Peer {
        let setup = &self.scenario.peers[p];
        match setup.role {
            Role::Server => {
                let iss = setup.iss[usize::from(incarnation - 1).min(2)];
                self.recorder
                    .edge(State::Closed, State::Listen, Cause::Open);
                Peer::new(
                    Connection::listen(&setup.policy, SeqNum(iss)),
                    incarnation,
                    0,
                )
            }
            Role::Client => {
                let idle = if incarnation == 1 || setup.script.reconnect {
                    app::IDLE
                } else {
                    0
                };
                Peer::new(self.closed.clone(), incarnation, idle)
            }
        }
    }

    fn connect(&self, s: &mut ModelState, p: usize) {
        let setup = &self.scenario.peers[p];
        let other_inc = s.peers[1 - p].incarnation;
        let peer = &mut s.peers[p];
        let iss = setup.iss[usize::from(peer.incarnation - 1).min(2)];
        peer.open_inc = other_inc;
        peer.conn = Connection::connect(&setup.policy, peer.now, SeqNum(iss));
        peer.app = (peer.app & !app::IDLE) | app::OPEN;
        peer.flags &= flag::STALE_EST;
        peer.irs_inc = NO_IRS;
        self.recorder
            .edge(State::Closed, State::SynSent, Cause::Open);
        self.drain(s, p, State::Closed);
    }

    // ----- enabled actions ---------------------------------------------------------------------

    /// Whether peer `p`'s armed timer may fire now: armed, within its own limits, and either
    /// the channels are empty or a premature firing is left in the budget.
    #[must_use]
    pub fn timer_allowed(&self, s: &ModelState, p: usize) -> bool {
        self.timer_armed(s, p) && (self.channels_empty(s) || s.budget.early > 0)
    }

    fn channels_empty(&self, s: &ModelState) -> bool {
        s.net.channels.iter().all(|c| c.is_empty())
    }

    /// Whether peer `p`'s armed timer may fire once the network is quiet.
    fn timer_armed(&self, s: &ModelState, p: usize) -> bool {
        let peer = &s.peers[p];
        if peer.conn.poll_timeout().is_none() {
            return false;
        }
        match peer.conn.status().timer {
            Timer::TimeWait => self.time_wait_may_end(s, p),
            Timer::Keepalive => peer.keepalives < KEEPALIVE_BUDGET,
            _ => true,
        }
    }

    /// TIME-WAIT ends only when no segment of its connection is left in the network (what
    /// 2*MSL guarantees): nothing from this peer, nothing from the other peer's incarnation it
    /// talked to or any earlier one (old duplicates included).
    fn time_wait_may_end(&self, s: &ModelState, p: usize) -> bool {
        let irs_inc = s.peers[p].irs_inc;
        s.net
            .iter()
            .all(|seg| seg.from() != p && irs_inc != NO_IRS && seg.incarnation() > irs_inc)
    }

    /// The application calls peer `p` may make now, in a fixed order.
    pub fn calls(&self, s: &ModelState, p: usize, out: &mut impl FnMut(Call)) {
        let script = &self.scenario.peers[p].script;
        let peer = &s.peers[p];
        let state = peer.state();
        if peer.has(app::IDLE) {
            if state == State::Closed {
                out(Call::Connect);
            }
            return;
        }
        if peer.has(app::DONE) {
            return;
        }
        if !peer.has(app::OPEN) {
            if script.close_listener && state == State::Listen {
                out(Call::CloseListener);
            }
            return;
        }
        if state == State::Closed {
            return;
        }
        let writable =
            matches!(state, State::Established | State::CloseWait) && !peer.has(app::SHUT);
        if writable && peer.has(app::EST) && peer.writes < script.writes {
            out(Call::Send);
        }
        if script.explicit_read && peer.conn.unread() > 0 {
            out(Call::Read);
        }
        if script.shutdown && writable && peer.has(app::EST) {
            out(Call::Shutdown);
        }
        let close = match script.close {
            CloseWhen::Never => false,
            CloseWhen::Any => true,
            CloseWhen::AfterEof => peer.has(app::EOF),
            CloseWhen::AfterData => {
                let expected = self.scenario.peers[1 - p].script.writes;
                peer.rx_len >= expected || peer.has(app::EOF)
            }
        };
        if close {
            out(Call::Close);
        }
        if script.abort {
            out(Call::Abort);
        }
    }

    /// Nothing in flight, no timer allowed to fire, no application call left. (Crashes are
    /// faults, not progress: a crash budget left does not make a state active.)
    #[must_use]
    pub fn quiescent(&self, s: &ModelState) -> bool {
        if !s.net.is_empty() {
            return false;
        }
        (0..2).all(|p| {
            let mut any = false;
            self.calls(s, p, &mut |_| any = true);
            !any && !self.timer_allowed(s, p)
        })
    }

    // ----- steps -------------------------------------------------------------------------------

    /// Applies `action` to `s`.
    pub fn apply(&self, s: &mut ModelState, action: Action) {
        let before = [s.peers[0].state(), s.peers[1].state()];
        let mut cause = [Cause::Other; 2];
        match action {
            Action::Deliver { from, index } => {
                let from = usize::from(from);
                let index = usize::from(index);
                if index > 0 {
                    s.budget.reorder -= 1;
                }
                let seg = s.net.channels[from].remove(index);
                cause[1 - from] = Cause::of_segment(seg.flags());
                self.deliver(s, seg);
            }
            Action::DeliverOld { index } => {
                let seg = s.net.old.remove(usize::from(index));
                cause[1 - seg.from()] = Cause::of_segment(seg.flags());
                self.deliver(s, seg);
            }
            Action::Lose { from, index } => {
                s.budget.loss -= 1;
                s.net.channels[usize::from(from)].remove(usize::from(index));
            }
            Action::Duplicate { from, index } => {
                s.budget.dup -= 1;
                let ch = &mut s.net.channels[usize::from(from)];
                let seg = ch.as_slice()[usize::from(index)];
                if !ch.push(seg) {
                    s.history |= hist::OVERFLOW;
                }
            }
            Action::Fire(p) => {
                let p = usize::from(p);
                cause[p] = Cause::Timeout;
                if !self.channels_empty(s) {
                    s.budget.early -= 1;
                }
                self.fire(s, p);
            }
            Action::Call(p, call) => {
                let p = usize::from(p);
                // Closing with unread data aborts (see `call`).
                cause[p] = if call == Call::Close && s.peers[p].conn.unread() > 0 {
                    Cause::Abort
                } else {
                    Cause::of_call(call)
                };
                self.call(s, p, call);
            }
            Action::Crash(p) => {
                let p = usize::from(p);
                cause[p] = Cause::Crash;
                s.budget.crash -= 1;
                s.history |= hist::CRASHED;
                let inc = s.peers[p].incarnation + 1;
                s.peers[p] = self.fresh_peer(p, inc);
            }
        }
        for p in 0..2 {
            let after = s.peers[p].state();
            if after != before[p] {
                self.recorder.edge(before[p], after, cause[p]);
                self.recorder.reach(p, after);
                // A crash is no transition of the TCB: it is lost, and a new one begins.
                if let Some(kind) = cause[p].event_kind()
                    && properties::step_allowed(before[p], after, kind).is_err()
                {
                    s.history |= hist::FORBIDDEN_STEP;
                }
            }
        }
    }

    fn deliver(&self, s: &mut ModelState, seg: Seg) {
        let from = seg.from();
        let to = 1 - from;
        let sender_inc = s.peers[from].incarnation;
        let sender_now = s.peers[from].now;
        let policy = self.policy(to);
        let explicit_read = self.scenario.peers[to].script.explicit_read;
        let segment = seg.segment(self.policy(from));
        let peer = &mut s.peers[to];
        let before = peer.state();
        let status = peer.conn.status();
        if before == State::TimeWait {
            // A segment arrives no earlier than it was sent. Only TIME-WAIT needs the clock
            // to move on arrival: a retransmitted FIN restarts 2*MSL from *now*, and with
            // the receiver's clock standing still a restart would look like none.
            peer.now = peer.now.max(sender_now);
        }
        let arrival = peer.conn.handle_segment(policy, peer.now, &segment);
        let data = arrival.data;
        let current_peer = seg.incarnation() == sender_inc && peer.irs_inc == sender_inc;
        let plain_fin = segment.flags.fin() && !segment.flags.syn() && !segment.flags.rst();
        if plain_fin
            && current_peer
            && matches!(
                before,
                State::Established | State::FinWait1 | State::FinWait2
            )
            && segment.flags.ack()
            && segment.ack <= status.snd_nxt
            && segment.seq == status.rcv_nxt
            && (segment.payload.len() as u32) < policy.recv_buffer.saturating_sub(status.unread)
        {
            // In order, within the window, acknowledging nothing unsent: the FIN must be
            // consumed, unless the connection reset (new data after close).
            let after = peer.conn.status();
            if after.state != State::Closed && after.rcv_nxt != segment.seq + segment.len() {
                s.history |= hist::FIN_NOT_CONSUMED;
            }
        }
        if plain_fin
            && current_peer
            && before == State::TimeWait
            && peer.state() == State::TimeWait
            && segment.seq + segment.len() == status.rcv_nxt
            && peer.conn.poll_timeout() != Some(peer.now + policy.time_wait)
        {
            s.history |= hist::TW_NOT_RESTARTED;
        }
        if !data.is_empty() {
            if !peer.deliver(data) {
                s.history |= hist::OVERFLOW;
            }
            if !explicit_read {
                let _ = peer.conn.recv(policy, data.len());
            }
        }
        if arrival.disposition == Disposition::Reopen {
            // The model's listeners accept one connection: the SYN meets a closed port.
            let _ = peer.conn.handle_segment(policy, peer.now, &segment);
        }
        let after = peer.state();
        if matches!(before, State::Listen | State::SynSent)
            && !matches!(after, State::Listen | State::SynSent | State::Closed)
        {
            peer.irs_inc = seg.incarnation();
            peer.flags &= !flag::IRS_STALE;
            let stale = if before == State::Listen {
                seg.incarnation() != sender_inc
            } else {
                seg.incarnation() < peer.open_inc
            };
            if stale {
                peer.flags |= flag::IRS_STALE;
            }
        }
        if !before.is_synchronized() && after.is_synchronized() && peer.flags & flag::IRS_STALE != 0
        {
            peer.flags |= flag::STALE_EST;
        }
        if before == State::TimeWait && segment.flags.rst() && after == State::Closed {
            s.history |= hist::TW_ASSASSINATED;
        }
        let refin = before == State::TimeWait && after == State::TimeWait && segment.flags.fin();
        let queued = s.net.channels[to].len();
        let sent = self.drain(s, to, before);
        let answers = &s.net.channels[to].as_slice()[queued.min(s.net.channels[to].len())..];
        if segment.flags.rst() && answers.iter().any(|answer| answer.flags().rst()) {
            s.history |= hist::RST_FOR_RST;
        }
        if refin && sent > 0 {
            s.history |= hist::FIN_REACKED;
        }
    }

    fn fire(&self, s: &mut ModelState, p: usize) {
        let policy = self.policy(p);
        let peer = &mut s.peers[p];
        let before = peer.state();
        let Some(deadline) = peer.conn.poll_timeout() else {
            return;
        };
        let timer = peer.conn.status().timer;
        if timer == Timer::Keepalive {
            peer.keepalives += 1;
        }
        peer.now = peer.now.max(deadline);
        peer.conn.handle_timeout(policy, peer.now);
        if timer == Timer::FinWait2 {
            s.history |= hist::TIMED_OUT;
        }
        self.drain(s, p, before);
    }

    fn call(&self, s: &mut ModelState, p: usize, call: Call) {
        if call == Call::Connect {
            self.connect(s, p);
            return;
        }
        let policy = self.policy(p);
        let peer = &mut s.peers[p];
        let before = peer.state();
        match call {
            Call::Connect => {}
            Call::Send => {
                if peer.conn.send(policy, 1) == Ok(1) {
                    peer.writes += 1;
                }
            }
            Call::Read => {
                let _ = peer.conn.recv(policy, peer.conn.unread() as usize);
            }
            Call::Shutdown => {
                let _ = peer.conn.close(policy, peer.now);
                peer.app |= app::SHUT;
            }
            Call::Close => {
                // The socket layer's decision, from the core (Linux's tcp_close): unread data
                // resets (RFC 2525 §2.17), otherwise CLOSE and orphan. Err(NotConnected) cannot
                // happen: close is offered only on a connection that is not CLOSED.
                let action = close_last_descriptor(&mut peer.conn, policy, peer.now, None);
                // RFC 9293 §3.10.4: closing in SYN-SENT deletes the TCB; a crossing SYN then
                // meets a closed port.
                if action == Ok(CloseAction::Reset) || before == State::SynSent {
                    s.history |= hist::ABORTED;
                }
                peer.app |= app::DONE;
            }
            Call::Abort => {
                let _ = peer.conn.abort(policy);
                peer.app |= app::DONE;
                s.history |= hist::ABORTED;
            }
            Call::CloseListener => {
                // Connections that were on their way are now refused.
                let _ = peer.conn.close(policy, peer.now);
                peer.app |= app::DONE;
                s.history |= hist::ABORTED;
            }
        }
        self.drain(s, p, before);
    }

    /// Polls peer `p`'s outputs after an input made in state `before`: segments into its channel,
    /// events into the application, acknowledged octets out of the send buffer. Returns the
    /// number of segments sent.
    fn drain(&self, s: &mut ModelState, p: usize, before: State) -> usize {
        let policy = self.policy(p);
        let other_inc = s.peers[1 - p].incarnation;
        let peer = &mut s.peers[p];
        let mut sent = 0;
        let status = peer.conn.status();
        while let Some(t) = peer.conn.poll_transmit(policy, peer.now) {
            sent += 1;
            let (buf, n) = peer.send_buffer(p);
            let segment = t.with_payload(&buf[..n]);
            if let Some(seg) = &segment {
                let end = seg.seq + seg.payload.len() as u32;
                if !seg.payload.is_empty() && end > status.snd_una + status.snd_wnd {
                    s.history |= hist::BEYOND_WINDOW;
                }
            }
            let stored = segment.and_then(|seg| Seg::capture(&seg, p, peer.incarnation, policy));
            let Some(stored) = stored else {
                s.history |= hist::OVERFLOW;
                continue;
            };
            if stored.flags().rst() && !matches!(before, State::Closed | State::Listen) {
                s.history |= hist::CONNECTION_RESET;
            }
            if !s.net.channels[p].push(stored) {
                s.history |= hist::OVERFLOW;
            }
            if sent > 16 {
                s.history |= hist::OVERFLOW;
                break;
            }
        }
        while let Some(event) = peer.conn.poll_event() {
            match event {
                Event::Established => {
                    peer.app |= app::EST;
                    if peer.conn.is_passive() {
                        peer.app |= app::OPEN;
                    }
                }
                Event::PeerFin => peer.app |= app::EOF,
                Event::Error(e) => {
                    s.history |= hist::ERRORED;
                    match e {
                        ConnError::TimedOut => s.history |= hist::TIMED_OUT,
                        _ => {
                            s.history |= hist::CONNECTION_RESET;
                            if e == ConnError::Reset
                                && peer.irs_inc != NO_IRS
                                && peer.irs_inc != other_inc
                            {
                                s.history |= hist::HALF_OPEN_RESET;
                            }
                        }
                    }
                }
                Event::Closed => {}
            }
        }
        peer.send_base += peer.conn.take_acked() as u8;
        match peer.state() {
            State::Closed => {
                peer.conn = self.closed.clone();
                peer.now = T0;
            }
            State::Listen => peer.now = T0,
            State::CloseWait => peer.flags |= flag::PASSIVE_CLOSER,
            _ => {}
        }
        sent
    }

    // ----- observation -------------------------------------------------------------------------

    /// The properties' view of `s`, handed to `f` (the written octets live on the stack).
    pub fn observe<R>(&self, s: &ModelState, f: impl FnOnce(&Observation<'_>) -> R) -> R {
        self.observe_with(s, true, f)
    }

    /// As [`observe`](Self::observe); `quiescence` false skips working out whether `s` is
    /// quiescent (it reads as not quiescent), for properties that do not need it.
    pub fn observe_with<R>(
        &self,
        s: &ModelState,
        quiescence: bool,
        f: impl FnOnce(&Observation<'_>) -> R,
    ) -> R {
        let written = [s.peers[0].written(0), s.peers[1].written(1)];
        let view = |p: usize| {
            let peer = &s.peers[p];
            PeerView {
                status: peer.conn.status(),
                incarnation: peer.incarnation,
                peer_incarnation: peer.peer_incarnation(),
                written: &written[p].0[..written[p].1],
                read: &peer.rx[..usize::from(peer.rx_len)],
                passive_closer: peer.flags & flag::PASSIVE_CLOSER != 0,
                stale_isn_established: peer.flags & flag::STALE_EST != 0,
                app_closed: peer.has(app::DONE),
                listening: self.scenario.peers[p].role == Role::Server
                    && !peer.has(app::OPEN)
                    && !peer.has(app::DONE),
            }
        };
        let h = s.history;
        let obs = Observation {
            peers: [view(0), view(1)],
            history: History {
                connection_reset: h & hist::CONNECTION_RESET != 0,
                timed_out: h & hist::TIMED_OUT != 0,
                aborted: h & hist::ABORTED != 0,
                crashed: h & hist::CRASHED != 0,
                errored: h & hist::ERRORED != 0,
                model_overflow: h & hist::OVERFLOW != 0,
                beyond_window: h & hist::BEYOND_WINDOW != 0,
                fin_not_consumed: h & hist::FIN_NOT_CONSUMED != 0,
                time_wait_not_restarted: h & hist::TW_NOT_RESTARTED != 0,
                forbidden_step: h & hist::FORBIDDEN_STEP != 0,
                rst_for_rst: h & hist::RST_FOR_RST != 0,
            },
            resets_expected: self.scenario.resets_expected,
            quiescent: quiescence && self.quiescent(s),
        };
        f(&obs)
    }

    /// The names of the properties `s` violates.
    #[must_use]
    pub fn violations(&self, s: &ModelState) -> Vec<&'static str> {
        self.observe(s, |o| properties::violations(o).collect())
    }
}

macro_rules! safety {
    ($name:literal, $f:path) => {
        safety!($name, $f, false)
    };
    ($name:literal, $f:path, $quiescence:literal) => {
        Property::always($name, |m: &TcpModel, s: &ModelState| {
            m.observe_with(s, $quiescence, |o| $f(o))
        })
    };
}

impl Model for TcpModel {
    type State = ModelState;
    type Action = Action;

    fn init_states(&self) -> Vec<ModelState> {
        vec![self.initial()]
    }

    fn actions(&self, s: &ModelState, actions: &mut Vec<Action>) {
        for from in 0..2u8 {
            let ch = &s.net.channels[usize::from(from)];
            for index in 0..ch.len() as u8 {
                if index == 0 || s.budget.reorder > 0 {
                    actions.push(Action::Deliver { from, index });
                }
                if s.budget.loss > 0 {
                    actions.push(Action::Lose { from, index });
                }
                if s.budget.dup > 0 {
                    actions.push(Action::Duplicate { from, index });
                }
            }
        }
        for index in 0..s.net.old.len() as u8 {
            actions.push(Action::DeliverOld { index });
        }
        for p in 0..2u8 {
            if self.timer_allowed(s, usize::from(p)) {
                actions.push(Action::Fire(p));
            }
            self.calls(s, usize::from(p), &mut |c| actions.push(Action::Call(p, c)));
            let setup = &self.scenario.peers[usize::from(p)];
            let state = s.peers[usize::from(p)].state();
            if s.budget.crash > 0
                && setup.may_crash
                && !matches!(state, State::Closed | State::Listen)
            {
                actions.push(Action::Crash(p));
            }
        }
    }

    fn next_state(&self, last: &ModelState, action: Action) -> Option<ModelState> {
        let mut s = last.clone();
        self.apply(&mut s, action);
        Some(s)
    }

    fn format_action(&self, action: &Action) -> String {
        crate::diagram::action_label(action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut props = vec![
            safety!("sequence views agree", properties::sequence_views_agree),
            safety!(
                "reads are prefixes of writes",
                properties::reads_are_prefixes_of_writes
            ),
            safety!(
                "no stale ISN established",
                properties::no_stale_isn_established
            ),
            safety!("no unexpected reset", properties::no_unexpected_reset),
            safety!(
                "TIME-WAIT only for the active closer",
                properties::time_wait_only_for_active_closer
            ),
            safety!(
                "quiescent: all closed",
                properties::quiescent_all_closed,
                true
            ),
            safety!(
                "quiescent: all delivered",
                properties::quiescent_all_delivered,
                true
            ),
            safety!(
                "no unread data after close",
                properties::no_unread_data_after_close
            ),
            safety!("listener survives", properties::listener_survives),
            safety!("sender respects window", properties::sender_respects_window),
            safety!("in-order FIN consumed", properties::in_order_fin_consumed),
            safety!(
                "TIME-WAIT restarts on FIN",
                properties::time_wait_restarts_on_fin
            ),
            safety!(
                "state changes follow Figure 5",
                properties::state_changes_follow_figure_5
            ),
            safety!("no RST answers a RST", properties::no_rst_answers_a_rst),
            safety!(
                "send sequences in order",
                properties::send_sequences_in_order
            ),
            safety!("within model bounds", properties::within_model_bounds),
        ];
        for name in &self.scenario.expect {
            if let Some(p) = sometimes::property(name) {
                props.push(p);
            }
        }
        props
    }
}
