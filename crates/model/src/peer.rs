//! One peer: a real [`Connection`] of the core, the application's buffers and state, its clock
//! and its incarnation.
//!
//! The connection holds no bytes (the core's caller-owned buffer contract). The application's
//! send buffer is implied by two counters: the writer's stream is
//! [`stream_byte`]`(peer, incarnation, 0..)`, of which `writes` octets were written and the first
//! `send_base` were acknowledged and dropped ([`Connection::take_acked`]). What the connection
//! delivered is kept inline in `rx`.

use tcp_fsm::{Connection, Instant, State};

use crate::properties::stream_byte;

/// Most octets a peer's application writes (and so receives) in one incarnation.
pub const RX_CAP: usize = 3;

/// No SYN accepted yet.
pub const NO_IRS: u8 = 0xff;

/// The clock every peer starts from, and returns to when it holds no connection: a closed or
/// listening connection has no timer, so its time does not matter.
pub const T0: Instant = Instant::from_micros(1_000_000);

/// Application state bits ([`Peer::app`]).
pub mod app {
    /// A client that may still call connect (at start, or after a reboot).
    pub const IDLE: u8 = 1 << 0;
    /// The application holds the socket (connected, or accepted).
    pub const OPEN: u8 = 1 << 1;
    /// The connection was reported established.
    pub const EST: u8 = 1 << 2;
    /// shutdown(SHUT_WR) was called.
    pub const SHUT: u8 = 1 << 3;
    /// close or abort was called: the application is done with the socket.
    pub const DONE: u8 = 1 << 4;
    /// The peer's FIN was reported (reads return end-of-file).
    pub const EOF: u8 = 1 << 5;
}

/// Per-connection flag bits ([`Peer::flags`]).
pub mod flag {
    /// The connection received the peer's FIN before sending its own (went through CLOSE-WAIT).
    pub const PASSIVE_CLOSER: u8 = 1 << 0;
    /// The accepted SYN is older than the connection: its sender's incarnation had crashed
    /// before a listener accepted it, or before the client called connect.
    pub const IRS_STALE: u8 = 1 << 1;
    /// The connection became synchronized on such a SYN (a violation).
    pub const STALE_EST: u8 = 1 << 2;
}

/// Whether a peer listens (server) or connects (client).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Role {
    /// Active open.
    Client,
    /// Passive open; the listener accepts one connection per incarnation.
    Server,
}

/// One peer of the model.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Peer {
    /// The core's connection (a canonical CLOSED one when there is none).
    pub conn: Connection,
    /// This peer's clock.
    pub now: Instant,
    /// Grows at each crash and reboot; the first is 1 (0 marks old duplicates).
    pub incarnation: u8,
    /// [`app`] bits.
    pub app: u8,
    /// Octets the application wrote in this incarnation.
    pub writes: u8,
    /// Octets of them acknowledged and dropped from the send buffer.
    pub send_base: u8,
    /// Octets delivered by the current connection.
    pub rx_len: u8,
    /// The delivered octets.
    pub rx: [u8; RX_CAP],
    /// The other peer's incarnation whose SYN this connection accepted ([`NO_IRS`] if none).
    pub irs_inc: u8,
    /// The other peer's incarnation when this peer called connect: a SYN from an earlier one is
    /// older than the connection.
    pub open_inc: u8,
    /// [`flag`] bits.
    pub flags: u8,
    /// Keepalive timer firings so far (bounded so that time stays finite).
    pub keepalives: u8,
}

impl Peer {
    /// A peer in incarnation `incarnation` holding `conn`.
    #[must_use]
    pub fn new(conn: Connection, incarnation: u8, app: u8) -> Peer {
        Peer {
            conn,
            now: T0,
            incarnation,
            app,
            writes: 0,
            send_base: 0,
            rx_len: 0,
            rx: [0; RX_CAP],
            irs_inc: NO_IRS,
            open_inc: 0,
            flags: 0,
            keepalives: 0,
        }
    }

    /// The connection's state.
    #[must_use]
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Whether `app` bit(s) `bit` are set.
    #[must_use]
    pub fn has(&self, bit: u8) -> bool {
        self.app & bit != 0
    }

    /// The send buffer's contents: written octets not yet acknowledged, for peer `me`.
    #[must_use]
    pub fn send_buffer(&self, me: usize) -> ([u8; RX_CAP], usize) {
        let mut buf = [0; RX_CAP];
        let n = usize::from(self.writes - self.send_base);
        for (i, b) in buf.iter_mut().enumerate().take(n) {
            *b = stream_byte(me, self.incarnation, usize::from(self.send_base) + i);
        }
        (buf, n)
    }

    /// Everything this peer's application wrote in this incarnation, for peer `me`.
    #[must_use]
    pub fn written(&self, me: usize) -> ([u8; RX_CAP], usize) {
        let mut buf = [0; RX_CAP];
        let n = usize::from(self.writes);
        for (i, b) in buf.iter_mut().enumerate().take(n) {
            *b = stream_byte(me, self.incarnation, i);
        }
        (buf, n)
    }

    /// Appends delivered octets; `false` if they do not fit (more than any writer writes).
    pub fn deliver(&mut self, data: &[u8]) -> bool {
        let at = usize::from(self.rx_len);
        let Some(dst) = self.rx.get_mut(at..at + data.len()) else {
            return false;
        };
        dst.copy_from_slice(data);
        self.rx_len += data.len() as u8;
        true
    }

    /// The peer's incarnation whose SYN was accepted, if any.
    #[must_use]
    pub fn peer_incarnation(&self) -> Option<u8> {
        (self.irs_inc != NO_IRS).then_some(self.irs_inc)
    }
}
