//! Our stack as a real TCP host: the core's socket layer ([`tcp_fsm::socket::Stack`]: its
//! descriptors, buffers, `close`/`shutdown`/`SO_LINGER` and errno) driven over a [`Tun`]
//! device, behind blocking calls ([`OursStream`], [`OursListener`]) that retry while the
//! non-blocking call answers `EAGAIN`/`EALREADY`, with a capture of every datagram read from or
//! written to the device, and a log of every state each connection passes through.
//!
//! One driver thread owns the clock: it feeds datagrams and timeouts to the stack. The
//! application's calls run on their own threads, under the same lock, and wait on a condition
//! variable for what they need (data, room, a connection). Time is read from one
//! `std::time::Instant` origin and handed to the core as its own [`tcp_fsm::Instant`].

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tcp_fsm::ipv4;
use tcp_fsm::socket::{Errno, Fd, Shutdown, SockOpt, Stack as SocketStack};
use tcp_fsm::wire::{self, PseudoHeader};
use tcp_fsm::{Endpoint, FourTuple, Policy, State};

use crate::pcap::Packet;
use crate::peer::{Listener, Stack, Stream};
use crate::trace::Seg;
use crate::tun::Tun;

/// How long a blocking call on our stack may wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// What the harness does with a datagram the kernel sent us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the endpoint.
    Pass,
    /// Lose it (it stays in the capture, marked "dropped").
    Drop,
    /// Keep it back until [`Host::release_held`] (captured when read, marked "held").
    Hold,
}

/// A filter on arriving segments, to lose or delay chosen ones.
pub type Filter = Box<dyn FnMut(&Seg) -> Verdict + Send>;

/// A state a connection of ours entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// When, since the host started.
    pub at: Duration,
    /// The connection's addresses.
    pub tuple: FourTuple,
    /// The state it entered.
    pub state: State,
}

enum Input {
    Datagram(Vec<u8>),
    Wake,
    Stop,
}

struct Inner {
    stack: SocketStack,
    policy: Policy,
    secret: [u64; 4],
    tun: Arc<Tun>,
    addr: Ipv4Addr,
    origin: Instant,
    /// Every connection seen so far, with the last state logged for it.
    watched: Vec<(FourTuple, Option<State>)>,
    capture: Vec<Packet>,
    states: Vec<StateChange>,
    filter: Option<Filter>,
    held: VecDeque<Vec<u8>>,
    ip_id: u16,
    bad_checksums: u32,
}

impl Inner {
    fn now(&self) -> tcp_fsm::Instant {
        tcp_fsm::Instant::from_micros(
            u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX),
        )
    }

    fn new_stack(policy: Policy, secret: [u64; 4], addr: Ipv4Addr) -> SocketStack {
        let mut stack = SocketStack::new(policy, secret);
        stack.add_address(IpAddr::V4(addr));
        stack
    }

    fn record(&mut self, bytes: Vec<u8>, note: Option<&'static str>) {
        self.capture.push(Packet {
            at: self.origin.elapsed(),
            bytes,
            note,
        });
    }

    /// Logs the states of `tuple`'s connection from now on.
    fn watch(&mut self, tuple: FourTuple) {
        if !self.watched.iter().any(|(t, _)| *t == tuple) {
            self.watched.push((tuple, None));
        }
    }

    /// A datagram from the kernel: captured, filtered, delivered.
    fn on_datagram(&mut self, bytes: Vec<u8>) {
        let probe = Packet {
            at: self.origin.elapsed(),
            bytes,
            note: None,
        };
        let verdict = match (&mut self.filter, Seg::from_packet(&probe)) {
            (Some(f), Some(seg)) => f(&seg),
            _ => Verdict::Pass,
        };
        let note = match verdict {
            Verdict::Pass => None,
            Verdict::Drop => Some("dropped by the harness"),
            Verdict::Hold => Some("held by the harness"),
        };
        let Packet { bytes, .. } = probe;
        match verdict {
            Verdict::Pass => {
                self.record(bytes.clone(), note);
                self.deliver(&bytes);
            }
            Verdict::Drop => self.record(bytes, note),
            Verdict::Hold => {
                self.record(bytes.clone(), note);
                self.held.push_back(bytes);
            }
        }
        self.flush();
    }

    fn deliver(&mut self, bytes: &[u8]) {
        let Some(d) = ipv4::parse(bytes) else { return };
        if d.protocol != ipv4::PROTO_TCP || d.dst != self.addr {
            return;
        }
        let pseudo = PseudoHeader::V4 {
            src: d.src,
            dst: d.dst,
        };
        let Ok(r) = wire::parse(d.payload, Some(&pseudo)) else {
            self.bad_checksums += 1;
            return;
        };
        let tuple = FourTuple {
            local: SocketAddr::V4(SocketAddrV4::new(d.dst, r.dst_port)),
            remote: SocketAddr::V4(SocketAddrV4::new(d.src, r.src_port)),
        };
        let now = self.now();
        self.stack.handle_segment(now, tuple, &r.segment);
        // A passive open makes a connection the application has not seen yet.
        if self.stack.endpoint().lookup(&tuple).is_some() {
            self.watch(tuple);
        }
    }

    /// Everything the stack wants sent goes to the device.
    fn flush(&mut self) {
        let now = self.now();
        loop {
            let out = {
                let Some((tuple, segment)) = self.stack.poll_transmit(now) else {
                    break;
                };
                let (SocketAddr::V4(local), SocketAddr::V4(remote)) = (tuple.local, tuple.remote)
                else {
                    continue;
                };
                self.ip_id = self.ip_id.wrapping_add(1);
                match ipv4::tcp_datagram(local, remote, &segment, self.ip_id) {
                    Ok(datagram) => datagram,
                    Err(e) => {
                        eprintln!("ours: {e}");
                        continue;
                    }
                }
            };
            if let Err(e) = self.tun.send(&out) {
                eprintln!("ours: write to TUN failed: {e}");
            }
            self.record(out, None);
        }
        // Lingering closes with a timeout are not used by the scenarios; nothing waits on them.
        while self.stack.poll_event().is_some() {}
        self.observe_states();
    }

    fn observe_states(&mut self) {
        let at = self.origin.elapsed();
        let ep = self.stack.endpoint();
        for (tuple, last) in &mut self.watched {
            let state = match ep.lookup(tuple).and_then(|id| ep.connection(id)) {
                Some(conn) => conn.state(),
                None if ep.time_wait_entry(tuple).is_some() => State::TimeWait,
                None => State::Closed,
            };
            if *last != Some(state) {
                *last = Some(state);
                self.states.push(StateChange {
                    at,
                    tuple: *tuple,
                    state,
                });
            }
        }
    }

    fn on_timers(&mut self) {
        let now = self.now();
        self.stack.handle_timeout(now);
        self.flush();
    }

    /// How long the driver may sleep: until the stack's next deadline, at most 100 ms.
    fn sleep_budget(&self) -> Duration {
        let cap = Duration::from_millis(100);
        match self.stack.poll_timeout() {
            Some(t) => {
                let now = self.now();
                Duration::from_micros(t.saturating_since(now).as_micros()).min(cap)
            }
            None => cap,
        }
    }

    /// The connection behind `tuple`, while it lives.
    fn connection(&self, tuple: &FourTuple) -> Option<&tcp_fsm::Connection> {
        let ep = self.stack.endpoint();
        ep.lookup(tuple).and_then(|id| ep.connection(id))
    }
}

/// A socket call's answer, waited on: `Ok` and errors end the wait, `EAGAIN` and `EALREADY`
/// (the call would block) go on waiting.
fn blocking<T>(r: Result<T, Errno>) -> Option<io::Result<T>> {
    match r {
        Err(Errno::EAGAIN | Errno::EALREADY) => None,
        other => Some(other.map_err(errno)),
    }
}

/// The `io::Error` a socket call's errno becomes, as `std::net` reports the kernel's.
#[must_use]
pub fn errno(e: Errno) -> io::Error {
    let kind = match e {
        Errno::EPIPE => io::ErrorKind::BrokenPipe,
        Errno::ECONNRESET => io::ErrorKind::ConnectionReset,
        Errno::ECONNREFUSED => io::ErrorKind::ConnectionRefused,
        Errno::ETIMEDOUT => io::ErrorKind::TimedOut,
        Errno::ENOTCONN => io::ErrorKind::NotConnected,
        Errno::EADDRINUSE => io::ErrorKind::AddrInUse,
        Errno::EAGAIN => io::ErrorKind::WouldBlock,
        Errno::EINVAL => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e.to_string())
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Condvar,
    wake: Mutex<Sender<Input>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn poke(&self) {
        self.changed.notify_all();
        if let Ok(w) = self.wake.lock() {
            let _ = w.send(Input::Wake);
        }
    }

    /// See [`Host::crash`].
    fn crash(&self) {
        self.call(|g| {
            let (policy, secret) = (g.policy, g.secret);
            let next = [
                secret[0] ^ 0x5eed,
                secret[1].wrapping_add(1),
                secret[2],
                secret[3],
            ];
            // Every socket, connection, listener and TIME-WAIT entry is forgotten; the host
            // comes back with a new ISN secret, as after a reboot.
            g.observe_states();
            g.stack = Inner::new_stack(policy, next, g.addr);
            g.secret = next;
            g.watched.clear();
        });
    }

    /// Runs an application call, flushes what it caused, and wakes everyone.
    fn call<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let r = {
            let mut g = self.lock();
            let r = f(&mut g);
            g.flush();
            r
        };
        self.poke();
        r
    }

    /// Waits until `f` has an answer, running it after every change, for at most `timeout`.
    fn wait<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&mut Inner) -> Option<io::Result<T>>,
    ) -> io::Result<T> {
        let deadline = Instant::now() + timeout;
        let mut g = self.lock();
        loop {
            if let Some(r) = f(&mut g) {
                g.flush();
                drop(g);
                self.poke();
                return r;
            }
            g.flush();
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "ours: timed out waiting",
                ));
            }
            g = self
                .changed
                .wait_timeout(g, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

/// Our TCP host on a TUN device. Dropping it stops the driver.
pub struct Host {
    shared: Arc<Shared>,
    driver: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

impl Host {
    /// Runs an endpoint with `policy` at `addr` on `tun`; `secret` keys its ISNs.
    ///
    /// # Errors
    /// The threads cannot be started.
    pub fn start(tun: Tun, addr: Ipv4Addr, policy: Policy, secret: [u64; 4]) -> io::Result<Host> {
        let tun = Arc::new(tun);
        let (tx, rx) = mpsc::channel();
        tun.spawn_reader(tx.clone(), Input::Datagram)?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                stack: Inner::new_stack(policy, secret, addr),
                policy,
                secret,
                tun,
                addr,
                origin: Instant::now(),
                watched: Vec::new(),
                capture: Vec::new(),
                states: Vec::new(),
                filter: None,
                held: VecDeque::new(),
                ip_id: 0,
                bad_checksums: 0,
            }),
            changed: Condvar::new(),
            wake: Mutex::new(tx),
        });
        let s = Arc::clone(&shared);
        let driver = thread::Builder::new()
            .name("ours-driver".into())
            .spawn(move || drive(&s, &rx))?;
        Ok(Host {
            shared,
            driver: Some(driver),
        })
    }

    /// When the host started (time zero of its capture and logs).
    #[must_use]
    pub fn origin(&self) -> Instant {
        self.shared.lock().origin
    }

    /// Connects from `local` to `remote` as a program would: `socket`, `bind`, a non-blocking
    /// `connect` (`EINPROGRESS`), then `connect` again until it answers `Ok` (`EALREADY`
    /// meanwhile) or the handshake's error.
    ///
    /// # Errors
    /// `ECONNREFUSED`, `ETIMEDOUT`, `EADDRINUSE`.
    pub fn connect_stream(&self, local: SocketAddr, remote: SocketAddr) -> io::Result<OursStream> {
        let fd = self.shared.call(|g| {
            let now = g.now();
            let fd = g.stack.socket();
            let started =
                g.stack
                    .bind(fd, local)
                    .and_then(|()| match g.stack.connect(now, fd, remote) {
                        Err(Errno::EINPROGRESS) | Ok(()) => Ok(()),
                        Err(e) => Err(e),
                    });
            if let Err(e) = started {
                let _ = g.stack.close(now, fd);
                return Err(errno(e));
            }
            g.watch(FourTuple { local, remote });
            Ok(fd)
        })?;
        let connected = self.shared.wait(IO_TIMEOUT, |g| {
            let now = g.now();
            blocking(g.stack.connect(now, fd, remote))
        });
        if let Err(e) = connected {
            self.shared.call(|g| {
                let now = g.now();
                let _ = g.stack.close(now, fd);
            });
            return Err(e);
        }
        Ok(OursStream {
            shared: Arc::clone(&self.shared),
            fd,
            tuple: FourTuple { local, remote },
        })
    }

    /// `socket`, `bind` and `listen(backlog)` on `local`.
    ///
    /// # Errors
    /// `EADDRINUSE`.
    pub fn listen_on(&self, local: SocketAddr, backlog: u32) -> io::Result<OursListener> {
        let fd = self.shared.call(|g| {
            let now = g.now();
            let fd = g.stack.socket();
            let r = g
                .stack
                .bind(fd, local)
                .and_then(|()| g.stack.listen(fd, backlog));
            if let Err(e) = r {
                let _ = g.stack.close(now, fd);
                return Err(errno(e));
            }
            Ok(fd)
        })?;
        Ok(OursListener {
            shared: Arc::clone(&self.shared),
            fd,
        })
    }

    /// The host crashes and comes back: every connection, listener and TIME-WAIT entry is
    /// lost, nothing is sent. Handles made before the crash then fail.
    pub fn crash(&self) {
        self.shared.crash();
    }

    /// Installs (or removes) a filter on arriving segments.
    pub fn set_filter(&self, filter: Option<Filter>) {
        self.shared.call(|g| g.filter = filter);
    }

    /// Delivers every held datagram, in arrival order.
    pub fn release_held(&self) {
        self.shared.call(|g| {
            while let Some(d) = g.held.pop_front() {
                g.deliver(&d);
                g.flush();
            }
        });
    }

    /// Datagrams held so far and not released.
    #[must_use]
    pub fn held(&self) -> usize {
        self.shared.lock().held.len()
    }

    /// Waits until `f` holds of the endpoint, for at most `timeout`.
    ///
    /// # Errors
    /// `ETIMEDOUT`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&Endpoint) -> bool,
    ) -> io::Result<()> {
        self.shared
            .wait(timeout, |g| f(g.stack.endpoint()).then_some(Ok(())))
    }

    /// Runs `f` on the endpoint (for inspection).
    pub fn with_endpoint<T>(&self, f: impl FnOnce(&Endpoint) -> T) -> T {
        f(self.shared.lock().stack.endpoint())
    }

    /// The state of our connection on `tuple`: live, TIME-WAIT entry, or `None` (CLOSED, no
    /// state at all).
    #[must_use]
    pub fn state_of(&self, tuple: FourTuple) -> Option<State> {
        self.with_endpoint(|ep| {
            ep.lookup(&tuple)
                .and_then(|id| ep.connection(id))
                .map(tcp_fsm::Connection::state)
                .or_else(|| ep.time_wait_entry(&tuple).map(|_| State::TimeWait))
        })
    }

    /// Every datagram read from or written to the device so far.
    #[must_use]
    pub fn capture(&self) -> Vec<Packet> {
        self.shared.lock().capture.clone()
    }

    /// Every state our connections entered so far.
    #[must_use]
    pub fn states(&self) -> Vec<StateChange> {
        self.shared.lock().states.clone()
    }

    /// Arriving segments whose checksum failed.
    #[must_use]
    pub fn bad_checksums(&self) -> u32 {
        self.shared.lock().bad_checksums
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Ok(w) = self.shared.wake.lock() {
            let _ = w.send(Input::Stop);
        }
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }
}

fn drive(shared: &Shared, rx: &Receiver<Input>) {
    loop {
        let budget = shared.lock().sleep_budget();
        let first = match rx.recv_timeout(budget) {
            Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(input) => Some(input),
            Err(RecvTimeoutError::Timeout) => None,
        };
        {
            let mut g = shared.lock();
            let mut next = first;
            loop {
                match next {
                    Some(Input::Datagram(d)) => g.on_datagram(d),
                    Some(Input::Stop) => return,
                    Some(Input::Wake) | None => {}
                }
                // Take whatever else is already waiting before letting go of the lock.
                match rx.try_recv() {
                    Ok(i) => next = Some(i),
                    Err(_) => break,
                }
            }
            g.on_timers();
        }
        shared.changed.notify_all();
    }
}

impl Stack for Host {
    fn connect(&self, local: SocketAddr, remote: SocketAddr) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(self.connect_stream(local, remote)?))
    }

    fn listen(&self, local: SocketAddr, backlog: u32) -> io::Result<Box<dyn Listener>> {
        Ok(Box::new(self.listen_on(local, backlog)?))
    }
}

/// A listening socket of ours.
#[derive(Clone)]
pub struct OursListener {
    shared: Arc<Shared>,
    fd: Fd,
}

impl OursListener {
    /// The next established connection, waiting up to [`IO_TIMEOUT`].
    ///
    /// # Errors
    /// `ETIMEDOUT`.
    pub fn accept_stream(&self) -> io::Result<OursStream> {
        self.accept_within(IO_TIMEOUT)
    }

    /// The next established connection (`accept`, retried while it answers `EAGAIN`), waiting
    /// up to `timeout`.
    ///
    /// # Errors
    /// `ETIMEDOUT`.
    pub fn accept_within(&self, timeout: Duration) -> io::Result<OursStream> {
        let listener = self.fd;
        let (fd, tuple) = self.shared.wait(timeout, |g| {
            let accepted = blocking(g.stack.accept(listener))?;
            Some(accepted.and_then(|(fd, _peer)| {
                let tuple = g.stack.tuple(fd).map_err(errno)?;
                g.watch(tuple);
                Ok((fd, tuple))
            }))
        })?;
        Ok(OursStream {
            shared: Arc::clone(&self.shared),
            fd,
            tuple,
        })
    }
}

impl Listener for OursListener {
    fn accept(&mut self) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(self.accept_stream()?))
    }
}

/// A connected socket of ours, with blocking calls.
pub struct OursStream {
    shared: Arc<Shared>,
    fd: Fd,
    tuple: FourTuple,
}

impl OursStream {
    /// The connection's addresses.
    #[must_use]
    pub fn tuple(&self) -> FourTuple {
        self.tuple
    }

    /// Octets delivered and not yet read.
    #[must_use]
    pub fn unread(&self) -> usize {
        self.shared
            .lock()
            .connection(&self.tuple)
            .map_or(0, |c| c.unread() as usize)
    }

    /// The connection's TCB variables, while it lives.
    #[must_use]
    pub fn status(&self) -> Option<tcp_fsm::Status> {
        self.shared
            .lock()
            .connection(&self.tuple)
            .map(tcp_fsm::Connection::status)
    }

    /// `close`, after setting `SO_LINGER` as asked.
    fn close_with(self, linger: Option<SockOpt>) {
        let fd = self.fd;
        self.shared.call(|g| {
            let now = g.now();
            if let Some(opt) = linger {
                let _ = g.stack.setsockopt(now, fd, opt);
            }
            let _ = g.stack.close(now, fd);
        });
    }
}

impl Stream for OursStream {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let fd = self.fd;
        let mut done = 0;
        self.shared.wait(IO_TIMEOUT, |g| {
            while done < data.len() {
                match blocking(g.stack.send(fd, &data[done..]))? {
                    Ok(n) => {
                        done += n;
                        g.flush();
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            Some(Ok(()))
        })
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.fd;
        self.shared
            .wait(IO_TIMEOUT, |g| blocking(g.stack.recv(fd, buf)))
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        let fd = self.fd;
        self.shared.call(|g| {
            let now = g.now();
            g.stack.shutdown(now, fd, Shutdown::Write).map_err(errno)
        })
    }

    fn close(self: Box<Self>) {
        self.close_with(None);
    }

    fn close_linger0(self: Box<Self>) {
        self.close_with(Some(SockOpt::Linger(Some(tcp_fsm::Duration::ZERO))));
    }

    fn vanish(self: Box<Self>) {
        self.shared.crash();
    }

    fn unread(&self) -> usize {
        OursStream::unread(self)
    }

    fn local_addr(&self) -> SocketAddr {
        self.tuple.local
    }

    fn peer_addr(&self) -> SocketAddr {
        self.tuple.remote
    }
}
