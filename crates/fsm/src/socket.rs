//! The socket layer a program sees: descriptors, `close` versus `shutdown`, `SO_LINGER`, and
//! errno-like errors, with Linux's behaviour as the reference. Still sans-IO: calls in, results
//! and segments out, time as an input.
//!
//! A [`Stack`] owns an [`Endpoint`] and, per socket, the send and receive buffers and the socket
//! options. Several descriptors may share one socket ([`Stack::dup`]); the socket goes away when
//! the last one is closed.
//!
//! # Close, shutdown and linger (Linux's `tcp_close` and `tcp_shutdown`)
//!
//! - [`Stack::close`] drops one descriptor. Only the last one acts on the connection:
//!   1. unread received data: RST (with ACK = RCV.NXT), no TIME-WAIT — this check comes first;
//!   2. else `SO_LINGER {on, 0}`: RST, no TIME-WAIT;
//!   3. else FIN after the queued data; the connection lives on, orphaned, through FIN-WAIT-1/2
//!      (FIN-WAIT-2 ends after [`Policy::fin_wait2_timeout`]) and TIME-WAIT, and new data that
//!      arrives meanwhile draws a RST.
//!
//!   With `SO_LINGER {on, t > 0}` a blocking close would wait until the FIN is acknowledged or `t`
//!   runs out. Here `close` returns [`Closed::Lingering`] and the outcome arrives later as
//!   [`SocketEvent::LingerDone`] (the caller waits by polling, as for any other event). On
//!   expiry the connection goes on closing in the background, as on Linux, or is reset, as the
//!   BSDs do: the socket option [`SockOpt::LingerExpiry`] chooses.
//! - [`Stack::shutdown`] acts on the socket at once, whatever the descriptor count, and never
//!   releases a descriptor. `Write` (and `Both`) sends FIN after queued data; later writes fail
//!   with `EPIPE`. `Read`: reads return queued data and then 0 (end of file); data that arrives
//!   afterwards is still acknowledged and readable, as on Linux, and if the socket is then closed
//!   with that data unread the close resets. `shutdown` ignores `SO_LINGER`.
//!
//! # Polling
//!
//! After every call or input: [`Stack::poll_transmit`] until `None`, [`Stack::poll_event`] until
//! `None`, then [`Stack::poll_timeout`]. Readiness of one descriptor is [`Stack::poll`], as
//! `poll(2)` would give it.

use alloc::collections::VecDeque;
use hashbrown::HashMap;

use crate::isn::KeyedState;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;

use crate::close::{CloseAction, close_action};
use crate::connection::{CallError, ConnError, Event};
use crate::endpoint::{ConnId, Endpoint, EndpointError, FourTuple};
use crate::policy::{Keepalive, Policy};
use crate::segment::Segment;
use crate::state::State;
use crate::time::{Duration, Instant};

/// Errors, named and meant as their `errno` counterparts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Errno {
    /// Writing after `shutdown(Write)`, or after the connection was reset and reported.
    EPIPE,
    /// The peer reset the connection.
    ECONNRESET,
    /// The peer answered the SYN with RST.
    ECONNREFUSED,
    /// Retransmissions, keepalive probes or the user timeout ran out.
    ETIMEDOUT,
    /// The socket is not connected.
    ENOTCONN,
    /// The socket is already connected.
    EISCONN,
    /// A connect is already in progress.
    EALREADY,
    /// The connect started and completes later (non-blocking).
    EINPROGRESS,
    /// Nothing to read, no room to write, nothing to accept: try again later.
    EAGAIN,
    /// An argument or the socket's state does not fit the call.
    EINVAL,
    /// The address is in use.
    EADDRINUSE,
    /// No such descriptor.
    EBADF,
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Errno::EPIPE => "EPIPE: broken pipe",
            Errno::ECONNRESET => "ECONNRESET: connection reset by peer",
            Errno::ECONNREFUSED => "ECONNREFUSED: connection refused",
            Errno::ETIMEDOUT => "ETIMEDOUT: connection timed out",
            Errno::ENOTCONN => "ENOTCONN: transport endpoint is not connected",
            Errno::EISCONN => "EISCONN: transport endpoint is already connected",
            Errno::EALREADY => "EALREADY: operation already in progress",
            Errno::EINPROGRESS => "EINPROGRESS: operation now in progress",
            Errno::EAGAIN => "EAGAIN: resource temporarily unavailable",
            Errno::EINVAL => "EINVAL: invalid argument",
            Errno::EADDRINUSE => "EADDRINUSE: address already in use",
            Errno::EBADF => "EBADF: bad file descriptor",
        })
    }
}

impl core::error::Error for Errno {}

impl From<ConnError> for Errno {
    fn from(e: ConnError) -> Self {
        match e {
            ConnError::Refused => Errno::ECONNREFUSED,
            ConnError::Reset => Errno::ECONNRESET,
            ConnError::TimedOut => Errno::ETIMEDOUT,
        }
    }
}

/// A file descriptor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Fd(pub u32);

/// Which direction [`Stack::shutdown`] closes (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Shutdown {
    /// `SHUT_RD`.
    Read,
    /// `SHUT_WR`.
    Write,
    /// `SHUT_RDWR`.
    Both,
}

/// What `close` did with the socket's last descriptor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Closed {
    /// Done: other descriptors remain, or the connection was reset, or it closes in the
    /// background.
    Done,
    /// `SO_LINGER {on, t > 0}` with data or FIN unacknowledged: a blocking close would wait.
    /// [`SocketEvent::LingerDone`] with this descriptor number tells the outcome.
    Lingering,
}

/// What happens when a lingering close runs out of time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum LingerExpiry {
    /// The close returns and the connection goes on closing in the background (Linux).
    Orphan,
    /// The connection is reset (BSD's and Windows' choice for a timed-out linger).
    Reset,
}

/// A socket option (`setsockopt` / `getsockopt`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum SockOpt {
    /// `SO_LINGER`: `None` is off, `Some(t)` is on with timeout `t`.
    Linger(Option<Duration>),
    /// What a lingering close does when its time runs out (this crate's knob).
    LingerExpiry(LingerExpiry),
    /// `SO_KEEPALIVE`.
    KeepAlive(bool),
    /// `TCP_KEEPIDLE`.
    KeepIdle(Duration),
    /// `TCP_KEEPINTVL`.
    KeepInterval(Duration),
    /// `TCP_KEEPCNT`.
    KeepCount(u8),
    /// `SO_REUSEADDR`: bind to an address whose old connections linger in TIME-WAIT.
    ReuseAddr(bool),
    /// `TCP_USER_TIMEOUT`: `None` is off.
    UserTimeout(Option<Duration>),
    /// `SO_ERROR` (get only): the pending error, cleared by reading it.
    Error(Option<Errno>),
}

/// The option to read with [`Stack::getsockopt`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum SockOptName {
    /// `SO_LINGER`.
    Linger,
    /// The linger expiry knob.
    LingerExpiry,
    /// `SO_KEEPALIVE`.
    KeepAlive,
    /// `TCP_KEEPIDLE`.
    KeepIdle,
    /// `TCP_KEEPINTVL`.
    KeepInterval,
    /// `TCP_KEEPCNT`.
    KeepCount,
    /// `SO_REUSEADDR`.
    ReuseAddr,
    /// `TCP_USER_TIMEOUT`.
    UserTimeout,
    /// `SO_ERROR`.
    Error,
}

/// Readiness of a descriptor, as `poll(2)` reports it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Readiness {
    /// `POLLIN`: data, end of file, a connection to accept, or an error to read.
    pub readable: bool,
    /// `POLLOUT`: room in the send buffer on a connected socket.
    pub writable: bool,
    /// `POLLERR`: an error is pending.
    pub error: bool,
    /// `POLLHUP`: both directions are closed.
    pub hangup: bool,
}

/// How a lingering close ended.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum LingerOutcome {
    /// Our FIN (and all data before it) was acknowledged in time.
    Acknowledged,
    /// The time ran out; the connection goes on closing in the background
    /// ([`LingerExpiry::Orphan`], Linux: the blocking close returns 0).
    TimedOut,
    /// The time ran out and the connection was reset ([`LingerExpiry::Reset`]), or the peer
    /// reset it meanwhile.
    Reset,
}

/// Something a program waiting on the stack learns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SocketEvent {
    /// A lingering close finished. The descriptor number was already released by
    /// [`Stack::close`]; this is where a blocking close would return.
    LingerDone(Fd, LingerOutcome),
}

/// The socket behind one or more descriptors.
#[derive(Clone, Debug)]
enum Role {
    Fresh,
    Bound(SocketAddr),
    Listening(SocketAddr),
    Connected(ConnId),
}

#[derive(Clone, Debug)]
struct Socket {
    refs: u32,
    role: Role,
    local: Option<SocketAddr>,
    /// The endpoint's policy with this socket's options applied.
    policy: Policy,
    /// `TCP_KEEPIDLE`/`TCP_KEEPINTVL`/`TCP_KEEPCNT`, kept while `SO_KEEPALIVE` is off.
    keepalive: Keepalive,
    linger: Option<Duration>,
    linger_expiry: LingerExpiry,
    reuse_addr: bool,
    send_buf: VecDeque<u8>,
    recv_buf: VecDeque<u8>,
    shut_rd: bool,
    shut_wr: bool,
    /// `connect` was called and its completion not yet reported by a later call.
    connecting: bool,
    /// `SO_ERROR`: reported once, by the next call that fails or by `getsockopt`.
    error: Option<Errno>,
    /// The connection failed; once its error was reported, writes fail with `EPIPE` and reads
    /// return 0.
    dead: bool,
    peer_fin: bool,
}

impl Socket {
    fn new(policy: Policy) -> Socket {
        Socket {
            refs: 1,
            role: Role::Fresh,
            local: None,
            keepalive: policy.keepalive.unwrap_or(Keepalive::LINUX),
            policy,
            linger: None,
            linger_expiry: LingerExpiry::Orphan,
            reuse_addr: false,
            send_buf: VecDeque::new(),
            recv_buf: VecDeque::new(),
            shut_rd: false,
            shut_wr: false,
            connecting: false,
            error: None,
            dead: false,
            peer_fin: false,
        }
    }
}

/// A lingering close waiting for its FIN to be acknowledged.
#[derive(Clone, Copy, Debug)]
struct Linger {
    fd: Fd,
    conn: ConnId,
    deadline: Instant,
    expiry: LingerExpiry,
}

/// Sockets, their descriptors, and the endpoint that carries their connections.
#[derive(Clone, Debug)]
pub struct Stack {
    ep: Endpoint,
    sockets: Vec<Option<Socket>>,
    fds: Vec<Option<usize>>,
    by_conn: HashMap<ConnId, usize, KeyedState>,
    /// Data that arrived for connections not yet accepted.
    unaccepted_rx: HashMap<ConnId, VecDeque<u8>, KeyedState>,
    /// Send buffers of connections whose socket is gone (orphans), still being sent.
    orphan_tx: HashMap<ConnId, VecDeque<u8>, KeyedState>,
    lingering: Vec<Linger>,
    events: VecDeque<SocketEvent>,
    next_port: u16,
    /// The host's own addresses, for the source of connections from unbound sockets.
    addresses: Vec<core::net::IpAddr>,
}

impl Stack {
    /// A stack whose endpoint runs `policy`, keyed with `secret` (see [`Endpoint::new`]).
    #[must_use]
    pub fn new(policy: Policy, secret: [u64; 4]) -> Stack {
        let hash = KeyedState::new([secret[3], secret[0]]);
        Stack {
            ep: Endpoint::new(policy, secret),
            sockets: Vec::new(),
            fds: Vec::new(),
            by_conn: HashMap::with_hasher(hash),
            unaccepted_rx: HashMap::with_hasher(hash),
            orphan_tx: HashMap::with_hasher(hash),
            lingering: Vec::new(),
            events: VecDeque::new(),
            next_port: 32768,
            addresses: Vec::new(),
        }
    }

    /// Tells the stack one of its host's addresses. A `connect` on an unbound socket takes the
    /// first address of the peer's family as its source (the routing decision a sans-IO stack
    /// cannot make), and an ephemeral port.
    pub fn add_address(&mut self, ip: core::net::IpAddr) {
        if !self.addresses.contains(&ip) {
            self.addresses.push(ip);
        }
    }

    /// The endpoint underneath, for inspection.
    #[must_use]
    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn socket_index(&self, fd: Fd) -> Result<usize, Errno> {
        self.fds
            .get(fd.0 as usize)
            .copied()
            .flatten()
            .ok_or(Errno::EBADF)
    }

    fn sock(&self, fd: Fd) -> Result<&Socket, Errno> {
        let i = self.socket_index(fd)?;
        self.sockets
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    fn sock_mut(&mut self, fd: Fd) -> Result<&mut Socket, Errno> {
        let i = self.socket_index(fd)?;
        self.sockets
            .get_mut(i)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)
    }

    fn new_fd(&mut self, socket: usize) -> Fd {
        // The lowest free number, as POSIX requires.
        if let Some(i) = self.fds.iter().position(Option::is_none) {
            self.fds[i] = Some(socket);
            Fd(i as u32)
        } else {
            self.fds.push(Some(socket));
            Fd(self.fds.len() as u32 - 1)
        }
    }

    fn new_socket(&mut self, s: Socket) -> usize {
        if let Some(i) = self.sockets.iter().position(Option::is_none) {
            self.sockets[i] = Some(s);
            i
        } else {
            self.sockets.push(Some(s));
            self.sockets.len() - 1
        }
    }

    /// `socket(AF_INET, SOCK_STREAM, 0)`: a fresh socket with the stack's policy.
    pub fn socket(&mut self) -> Fd {
        let policy = *self.ep.policy();
        let i = self.new_socket(Socket::new(policy));
        self.new_fd(i)
    }

    /// `dup`: another descriptor for the same socket.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn dup(&mut self, fd: Fd) -> Result<Fd, Errno> {
        let i = self.socket_index(fd)?;
        if let Some(s) = self.sockets[i].as_mut() {
            s.refs += 1;
        }
        Ok(self.new_fd(i))
    }

    /// How many descriptors refer to `fd`'s socket.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn descriptor_count(&self, fd: Fd) -> Result<u32, Errno> {
        Ok(self.sock(fd)?.refs)
    }

    /// `bind`.
    ///
    /// # Errors
    /// `EINVAL` if already bound or connected; `EADDRINUSE` if a listener holds the address, or
    /// another socket, a closing connection or a TIME-WAIT entry does and `SO_REUSEADDR` is off.
    pub fn bind(&mut self, fd: Fd, addr: SocketAddr) -> Result<(), Errno> {
        let s = self.sock(fd)?;
        if !matches!(s.role, Role::Fresh) {
            return Err(Errno::EINVAL);
        }
        let reuse = s.reuse_addr;
        let held_by_socket = self.sockets.iter().flatten().any(|o| match o.role {
            Role::Listening(a) => a == addr,
            Role::Bound(a) => a == addr && !(reuse && o.reuse_addr),
            Role::Connected(_) => o.local == Some(addr) && !(reuse && o.reuse_addr),
            Role::Fresh => false,
        });
        if held_by_socket || (!reuse && self.ep.local_in_use(addr)) {
            return Err(Errno::EADDRINUSE);
        }
        let s = self.sock_mut(fd)?;
        s.role = Role::Bound(addr);
        s.local = Some(addr);
        Ok(())
    }

    /// `listen(backlog)`. As on Linux 6.x, the accept queue counts as full once it holds more
    /// than `backlog` connections (capped by [`Policy::somaxconn`]), and the SYN queue once it
    /// holds more than `backlog` half-open ones (capped by [`Policy::max_syn_backlog`]); past
    /// that, SYN cookies answer ([`Policy::syn_cookies`]) or the SYN is dropped.
    ///
    /// # Errors
    /// `EINVAL` unless bound (and not connected); `EADDRINUSE` if another socket listens there.
    pub fn listen(&mut self, fd: Fd, backlog: u32) -> Result<(), Errno> {
        let addr = match self.sock(fd)?.role {
            Role::Bound(a) => a,
            Role::Listening(_) => return Ok(()),
            _ => return Err(Errno::EINVAL),
        };
        self.ep.listen(addr, backlog).map_err(|e| match e {
            EndpointError::AddrInUse => Errno::EADDRINUSE,
            _ => Errno::EINVAL,
        })?;
        let s = self.sock_mut(fd)?;
        s.role = Role::Listening(addr);
        let policy = s.policy;
        // Cannot fail: it listens now.
        let _ = self.ep.set_listener_policy(addr, policy);
        Ok(())
    }

    /// `accept`: the next established connection, as a new descriptor, with the peer's address.
    /// The new socket inherits the listener's options.
    ///
    /// # Errors
    /// `EINVAL` if not listening; `EAGAIN` if none is waiting.
    pub fn accept(&mut self, fd: Fd) -> Result<(Fd, SocketAddr), Errno> {
        let listener = self.sock(fd)?;
        let Role::Listening(addr) = listener.role else {
            return Err(Errno::EINVAL);
        };
        let mut s = listener.clone();
        let id = self.ep.accept(addr).ok_or(Errno::EAGAIN)?;
        let tuple = self.ep.tuple(id).ok_or(Errno::EAGAIN)?;
        s.refs = 1;
        s.role = Role::Connected(id);
        s.local = Some(tuple.local);
        s.send_buf = VecDeque::new();
        s.recv_buf = self.unaccepted_rx.remove(&id).unwrap_or_default();
        let conn = self.ep.connection(id);
        s.peer_fin = conn.is_some_and(|c| c.peer_fin_received());
        s.error = conn.and_then(|c| c.error()).map(Errno::from);
        s.dead = conn.is_some_and(|c| c.state() == State::Closed);
        // The connection was born with the listener's options (see `listen`).
        let i = self.new_socket(s);
        self.by_conn.insert(id, i);
        Ok((self.new_fd(i), tuple.remote))
    }

    fn ephemeral(&mut self, remote: SocketAddr) -> Result<SocketAddr, Errno> {
        let ip = self
            .addresses
            .iter()
            .copied()
            .find(|ip| ip.is_ipv4() == remote.is_ipv4())
            // EADDRNOTAVAIL on Linux; the nearest error here.
            .ok_or(Errno::EINVAL)?;
        // Linux's default ip_local_port_range: 32768-60999.
        // Skip ports whose 4-tuple is taken.
        for _ in 32768..=60999 {
            let port = self.next_port;
            self.next_port = if port >= 60999 { 32768 } else { port + 1 };
            let local = SocketAddr::new(ip, port);
            if self.ep.lookup(&FourTuple { local, remote }).is_none() {
                return Ok(local);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// `connect`, non-blocking, as Linux: the first call answers `EINPROGRESS`; while the
    /// handshake runs, `EALREADY`; the first call after it completed `Ok`, later ones `EISCONN`;
    /// after it failed, its error (`ECONNREFUSED`, `ETIMEDOUT`) once. Completion can also be
    /// seen as writability in [`Stack::poll`], and the error through `SO_ERROR`.
    ///
    /// # Errors
    /// As above; `EINVAL` on a listening socket, or on an unbound one when the stack knows no
    /// address of the peer's family ([`Stack::add_address`]); `EADDRINUSE` if the 4-tuple is
    /// taken.
    pub fn connect(&mut self, now: Instant, fd: Fd, remote: SocketAddr) -> Result<(), Errno> {
        let i = self.socket_index(fd)?;
        let s = self.sockets[i].as_mut().ok_or(Errno::EBADF)?;
        let local = match s.role {
            Role::Listening(_) => return Err(Errno::EINVAL),
            Role::Connected(id) => {
                if !s.connecting {
                    return Err(Errno::EISCONN);
                }
                let state = self.ep.connection(id).map_or(State::Closed, |c| c.state());
                return match state {
                    State::SynSent | State::SynReceived => Err(Errno::EALREADY),
                    State::Closed => {
                        s.connecting = false;
                        s.dead = true;
                        Err(s.error.take().unwrap_or(Errno::ECONNREFUSED))
                    }
                    _ => {
                        s.connecting = false;
                        Ok(())
                    }
                };
            }
            Role::Bound(a) => a,
            Role::Fresh => self.ephemeral(remote)?,
        };
        let policy = self.sockets[i].as_ref().ok_or(Errno::EBADF)?.policy;
        let id = self
            .ep
            .connect(now, local, remote)
            .map_err(|_| Errno::EADDRINUSE)?;
        self.apply_policy(now, id, &policy);
        self.by_conn.insert(id, i);
        let s = self.sockets[i].as_mut().ok_or(Errno::EBADF)?;
        s.role = Role::Connected(id);
        s.local = Some(local);
        s.connecting = true;
        Err(Errno::EINPROGRESS)
    }

    fn apply_policy(&mut self, now: Instant, id: ConnId, policy: &Policy) {
        // Cannot fail: `id` names a live connection.
        let _ = self.ep.set_connection_policy(now, id, *policy);
    }

    fn conn_of(&self, fd: Fd) -> Result<ConnId, Errno> {
        match self.sock(fd)?.role {
            Role::Connected(id) => Ok(id),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// `send` / `write`: queues what fits in the send buffer and returns how much.
    ///
    /// # Errors
    /// The pending error (`ECONNRESET`, `ETIMEDOUT`) once, first; then `EPIPE` after
    /// `shutdown(Write)` or a failed connection (the embedder decides about `SIGPIPE`);
    /// `EAGAIN` when the buffer is full or the handshake still runs; `ENOTCONN` if never
    /// connected.
    pub fn send(&mut self, fd: Fd, data: &[u8]) -> Result<usize, Errno> {
        let id = self.conn_of(fd)?;
        let s = self.sock_mut(fd)?;
        if let Some(e) = s.error.take() {
            s.dead = true;
            return Err(e);
        }
        if s.shut_wr || s.dead {
            return Err(Errno::EPIPE);
        }
        let state = self.ep.connection(id).map_or(State::Closed, |c| c.state());
        match state {
            State::SynSent | State::SynReceived => return Err(Errno::EAGAIN),
            State::Established | State::CloseWait => {}
            _ => return Err(Errno::EPIPE),
        }
        let n = self.ep.send(id, data.len()).map_err(|_| Errno::EPIPE)?;
        if n == 0 && !data.is_empty() {
            return Err(Errno::EAGAIN);
        }
        self.sock_mut(fd)?.send_buf.extend(&data[..n]);
        Ok(n)
    }

    /// `recv` / `read`: copies buffered data into `buf`. Returns 0 at end of file: after the
    /// peer's FIN or `shutdown(Read)` once the buffer is empty, or after a reported error.
    ///
    /// # Errors
    /// The pending error (`ECONNRESET`, `ETIMEDOUT`…) once; `EAGAIN` when nothing is buffered
    /// yet; `ENOTCONN` if never connected.
    pub fn recv(&mut self, fd: Fd, buf: &mut [u8]) -> Result<usize, Errno> {
        let id = self.conn_of(fd)?;
        let s = self.sock_mut(fd)?;
        if !s.recv_buf.is_empty() && !buf.is_empty() {
            let n = buf.len().min(s.recv_buf.len());
            for (dst, src) in buf.iter_mut().zip(s.recv_buf.drain(..n)) {
                *dst = src;
            }
            // Cannot fail: `n` octets were delivered and not yet consumed.
            let _ = self.ep.recv(id, n);
            return Ok(n);
        }
        if let Some(e) = s.error.take() {
            s.dead = true;
            return Err(e);
        }
        if s.shut_rd || s.peer_fin || s.dead {
            return Ok(0);
        }
        Err(Errno::EAGAIN)
    }

    /// `shutdown`: acts on the socket at once, whatever the descriptor count; never releases a
    /// descriptor; ignores `SO_LINGER`.
    ///
    /// # Errors
    /// `ENOTCONN` if the socket is not connected.
    pub fn shutdown(&mut self, now: Instant, fd: Fd, how: Shutdown) -> Result<(), Errno> {
        let id = self.conn_of(fd)?;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.sock_mut(fd)?.shut_rd = true;
            // Cannot fail for a live handle.
            let _ = self.ep.shutdown_read(id);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            let s = self.sock_mut(fd)?;
            if !s.shut_wr {
                s.shut_wr = true;
                match self.ep.close(now, id) {
                    Ok(()) | Err(EndpointError::Call(CallError::Closing)) => {}
                    Err(_) => return Err(Errno::ENOTCONN),
                }
            }
        }
        self.pump(now);
        Ok(())
    }

    /// `close`: drops one descriptor; the last one closes the socket (see the module docs).
    ///
    /// # Errors
    /// `EBADF`.
    pub fn close(&mut self, now: Instant, fd: Fd) -> Result<Closed, Errno> {
        let i = self.socket_index(fd)?;
        self.fds[fd.0 as usize] = None;
        let s = self.sockets[i].as_mut().ok_or(Errno::EBADF)?;
        s.refs -= 1;
        if s.refs > 0 {
            return Ok(Closed::Done);
        }
        let Some(s) = self.sockets[i].take() else {
            return Ok(Closed::Done);
        };
        let id = match s.role {
            Role::Fresh | Role::Bound(_) => return Ok(Closed::Done),
            Role::Listening(addr) => {
                // Resets every connection still waiting for accept; cannot fail: it listens.
                let _ = self.ep.unlisten(addr);
                self.pump(now);
                return Ok(Closed::Done);
            }
            Role::Connected(id) => id,
        };
        self.by_conn.remove(&id);
        let state = self.ep.connection(id).map_or(State::Closed, |c| c.state());
        let mut outcome = Closed::Done;
        if state == State::Closed {
            // Nothing left to close.
        } else if close_action(
            self.ep.connection_policy(id).unwrap_or(&s.policy),
            s.recv_buf.len() as u32,
            s.linger,
        ) == CloseAction::Reset
        {
            // Unread data first, then zero linger: RST, no TIME-WAIT (Linux tcp_close).
            let _ = self.ep.abort(id);
        } else {
            // Cannot fail but with `Closing`, which is fine: the FIN is already on its way.
            let _ = self.ep.close(now, id);
            if let Some(t) = s.linger
                && self.fin_unacked(id)
            {
                self.lingering.push(Linger {
                    fd,
                    conn: id,
                    deadline: now + t,
                    expiry: s.linger_expiry,
                });
                outcome = Closed::Lingering;
            }
            if !s.send_buf.is_empty() {
                self.orphan_tx.insert(id, s.send_buf);
            }
        }
        // Cannot fail: the handle is live.
        let _ = self.ep.release(now, id);
        self.pump(now);
        Ok(outcome)
    }

    fn fin_unacked(&self, id: ConnId) -> bool {
        self.ep.connection(id).is_some_and(|c| {
            matches!(
                c.state(),
                State::SynReceived | State::FinWait1 | State::Closing | State::LastAck
            )
        })
    }

    /// `setsockopt`. Options that shape the connection (keepalive, user timeout) take effect at
    /// once on a connected socket.
    ///
    /// # Errors
    /// `EINVAL` for `SO_ERROR` (read-only) or a keepalive count of 0.
    pub fn setsockopt(&mut self, now: Instant, fd: Fd, opt: SockOpt) -> Result<(), Errno> {
        let s = self.sock_mut(fd)?;
        match opt {
            SockOpt::Linger(l) => s.linger = l,
            SockOpt::LingerExpiry(e) => s.linger_expiry = e,
            SockOpt::ReuseAddr(on) => s.reuse_addr = on,
            SockOpt::KeepAlive(on) => s.policy.keepalive = on.then_some(s.keepalive),
            SockOpt::KeepIdle(d) => s.keepalive.idle = d,
            SockOpt::KeepInterval(d) => s.keepalive.interval = d,
            SockOpt::KeepCount(0) => return Err(Errno::EINVAL),
            SockOpt::KeepCount(n) => s.keepalive.probes = n,
            SockOpt::UserTimeout(t) => s.policy.user_timeout = t,
            SockOpt::Error(_) => return Err(Errno::EINVAL),
        }
        if s.policy.keepalive.is_some() {
            s.policy.keepalive = Some(s.keepalive);
        }
        let policy = s.policy;
        match s.role {
            Role::Connected(id) => self.apply_policy(now, id, &policy),
            Role::Listening(addr) => {
                // Cannot fail: it listens.
                let _ = self.ep.set_listener_policy(addr, policy);
            }
            Role::Fresh | Role::Bound(_) => {}
        }
        Ok(())
    }

    /// `getsockopt`. Reading `SO_ERROR` clears the pending error.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn getsockopt(&mut self, fd: Fd, name: SockOptName) -> Result<SockOpt, Errno> {
        let s = self.sock_mut(fd)?;
        Ok(match name {
            SockOptName::Linger => SockOpt::Linger(s.linger),
            SockOptName::LingerExpiry => SockOpt::LingerExpiry(s.linger_expiry),
            SockOptName::KeepAlive => SockOpt::KeepAlive(s.policy.keepalive.is_some()),
            SockOptName::KeepIdle => SockOpt::KeepIdle(s.keepalive.idle),
            SockOptName::KeepInterval => SockOpt::KeepInterval(s.keepalive.interval),
            SockOptName::KeepCount => SockOpt::KeepCount(s.keepalive.probes),
            SockOptName::ReuseAddr => SockOpt::ReuseAddr(s.reuse_addr),
            SockOptName::UserTimeout => SockOpt::UserTimeout(s.policy.user_timeout),
            SockOptName::Error => SockOpt::Error(s.error.take()),
        })
    }

    /// The TCP state of the socket's connection (`TCP_INFO`'s `tcpi_state`): LISTEN for a
    /// listener, CLOSED for a fresh or bound socket.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn tcp_state(&self, fd: Fd) -> Result<State, Errno> {
        Ok(match self.sock(fd)?.role {
            Role::Fresh | Role::Bound(_) => State::Closed,
            Role::Listening(_) => State::Listen,
            Role::Connected(id) => self.ep.connection(id).map_or(State::Closed, |c| c.state()),
        })
    }

    /// The addresses of a connected socket.
    ///
    /// # Errors
    /// `ENOTCONN`.
    pub fn tuple(&self, fd: Fd) -> Result<FourTuple, Errno> {
        let id = self.conn_of(fd)?;
        self.ep.tuple(id).ok_or(Errno::ENOTCONN)
    }

    /// Readiness of a descriptor, as `poll(2)` would report it.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn poll(&self, fd: Fd) -> Result<Readiness, Errno> {
        let s = self.sock(fd)?;
        let mut r = Readiness {
            error: s.error.is_some(),
            ..Readiness::default()
        };
        match s.role {
            Role::Fresh | Role::Bound(_) => r.hangup = true,
            Role::Listening(addr) => r.readable = self.ep.accept_queue_len(addr) > 0,
            Role::Connected(id) => {
                let state = self.ep.connection(id).map_or(State::Closed, |c| c.state());
                let room = self
                    .ep
                    .connection(id)
                    .is_some_and(|c| c.send_buffered() < s.policy.send_buffer);
                r.readable = !s.recv_buf.is_empty()
                    || s.peer_fin
                    || s.shut_rd
                    || s.error.is_some()
                    || state == State::Closed;
                r.writable =
                    matches!(state, State::Established | State::CloseWait) && !s.shut_wr && room;
                r.hangup = state == State::Closed || (s.shut_wr && s.peer_fin);
            }
        }
        Ok(r)
    }

    // ----- the network side --------------------------------------------------------------------

    /// A segment arrived for `tuple` (`local` is its destination).
    pub fn handle_segment(&mut self, now: Instant, tuple: FourTuple, seg: &Segment<'_>) {
        let routed = self.ep.handle_segment(now, tuple, seg);
        if let Some(id) = routed.conn {
            if !routed.data.is_empty() {
                match self
                    .by_conn
                    .get(&id)
                    .and_then(|&i| self.sockets[i].as_mut())
                {
                    Some(s) => s.recv_buf.extend(routed.data),
                    None => self
                        .unaccepted_rx
                        .entry(id)
                        .or_default()
                        .extend(routed.data),
                }
            }
            self.drop_acked(id);
        }
        self.pump(now);
    }

    fn drop_acked(&mut self, id: ConnId) {
        let acked = self.ep.take_acked(id).unwrap_or(0) as usize;
        if acked == 0 {
            return;
        }
        let buf = match self
            .by_conn
            .get(&id)
            .and_then(|&i| self.sockets[i].as_mut())
        {
            Some(s) => &mut s.send_buf,
            None => match self.orphan_tx.get_mut(&id) {
                Some(b) => b,
                None => return,
            },
        };
        let n = acked.min(buf.len());
        buf.drain(..n);
    }

    /// The next segment to send, with its addresses; its payload borrows the socket's buffer.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(FourTuple, Segment<'_>)> {
        let out = self.ep.poll_transmit(now)?;
        let buf: &[u8] = match out.conn {
            Some(id) => match self.by_conn.get(&id).copied() {
                Some(i) => match self.sockets[i].as_mut() {
                    Some(s) => s.send_buf.make_contiguous(),
                    None => &[],
                },
                None => match self.orphan_tx.get_mut(&id) {
                    Some(b) => b.make_contiguous(),
                    None => &[],
                },
            },
            None => &[],
        };
        // The connection only names octets the caller holds; an empty range otherwise.
        let seg = out
            .transmit
            .with_payload(buf)
            .unwrap_or(out.transmit.segment);
        Some((out.tuple, seg))
    }

    /// The next stack event (lingering closes that finished).
    pub fn poll_event(&mut self) -> Option<SocketEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline of any timer.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let linger = self.lingering.iter().map(|l| l.deadline).min();
        match (self.ep.poll_timeout(), linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.pump(now);
    }

    /// Applies what the endpoint reported to the sockets, and settles lingering closes.
    fn pump(&mut self, now: Instant) {
        while let Some((id, event)) = self.ep.poll_event() {
            let socket = self
                .by_conn
                .get(&id)
                .and_then(|&i| self.sockets[i].as_mut());
            match (event, socket) {
                (Event::PeerFin, Some(s)) => s.peer_fin = true,
                (Event::Error(e), Some(s)) => s.error = Some(e.into()),
                (Event::Closed, None) => {
                    self.orphan_tx.remove(&id);
                    self.unaccepted_rx.remove(&id);
                }
                _ => {}
            }
        }
        let mut i = 0;
        while i < self.lingering.len() {
            let l = self.lingering[i];
            let conn = self.ep.connection(l.conn);
            let outcome = match conn.map(|c| (c.state(), c.error())) {
                None => Some(LingerOutcome::Acknowledged),
                Some((State::Closed, Some(_))) => Some(LingerOutcome::Reset),
                Some(_) if !self.fin_unacked(l.conn) => Some(LingerOutcome::Acknowledged),
                Some(_) if now >= l.deadline => match l.expiry {
                    LingerExpiry::Orphan => Some(LingerOutcome::TimedOut),
                    LingerExpiry::Reset => {
                        let _ = self.ep.abort(l.conn);
                        Some(LingerOutcome::Reset)
                    }
                },
                Some(_) => None,
            };
            if let Some(outcome) = outcome {
                self.events
                    .push_back(SocketEvent::LingerDone(l.fd, outcome));
                self.lingering.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
}
