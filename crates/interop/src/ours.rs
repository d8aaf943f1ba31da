//! Our stack as a real TCP host: the core's [`Endpoint`] driven over a [`Tun`] device, with
//! the application's buffers, a blocking socket-like API ([`OursStream`], [`OursListener`]),
//! a capture of every datagram read from or written to the device, and a log of every state
//! each connection passes through.
//!
//! One driver thread owns the clock: it feeds datagrams and timeouts to the endpoint. The
//! application's calls run on their own threads, under the same lock, and wait on a condition
//! variable for what they need (data, room, an event). Time is read from one `std::time::Instant`
//! origin and handed to the core as its own [`tcp_fsm::Instant`].

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tcp_fsm::wire::{self, PseudoHeader, Repr};
use tcp_fsm::{ConnError, ConnId, Endpoint, Event, FourTuple, Policy, State};

use crate::ipv4;
use crate::pcap::Packet;
use crate::peer::{Listener, Stack, Stream};
use crate::sockets::{self, Linger};
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

/// An event the endpoint reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// When, since the host started.
    pub at: Duration,
    /// The connection's addresses.
    pub tuple: FourTuple,
    /// The event.
    pub event: Event,
}

/// The application's side of one connection: its buffers and what it has been told.
#[derive(Debug)]
struct Conn {
    tuple: FourTuple,
    /// Queued octets, from the oldest unacknowledged one.
    send: Vec<u8>,
    /// Delivered octets the application has not read.
    recv: VecDeque<u8>,
    established: bool,
    peer_fin: bool,
    error: Option<ConnError>,
    error_reported: bool,
    released: bool,
    last: Option<State>,
}

impl Conn {
    fn new(tuple: FourTuple) -> Conn {
        Conn {
            tuple,
            send: Vec::new(),
            recv: VecDeque::new(),
            established: false,
            peer_fin: false,
            error: None,
            error_reported: false,
            released: false,
            last: None,
        }
    }
}

enum Input {
    Datagram(Vec<u8>),
    Wake,
    Stop,
}

struct Inner {
    ep: Endpoint,
    policy: Policy,
    secret: [u64; 4],
    tun: Arc<Tun>,
    addr: Ipv4Addr,
    origin: Instant,
    conns: HashMap<ConnId, Conn>,
    capture: Vec<Packet>,
    states: Vec<StateChange>,
    events: Vec<EventRecord>,
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

    fn record(&mut self, bytes: Vec<u8>, note: Option<&'static str>) {
        self.capture.push(Packet {
            at: self.origin.elapsed(),
            bytes,
            note,
        });
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
        let routed = self.ep.handle_segment(now, tuple, &r.segment);
        if let Some(id) = routed.conn {
            let acked = self.ep.take_acked(id).unwrap_or(0) as usize;
            let c = self.conns.entry(id).or_insert_with(|| Conn::new(tuple));
            c.recv.extend(routed.data);
            c.send.drain(..acked.min(c.send.len()));
        }
    }

    /// Everything the endpoint wants sent goes to the device; events go to the connections.
    fn flush(&mut self) {
        let now = self.now();
        while let Some(o) = self.ep.poll_transmit(now) {
            let (SocketAddr::V4(local), SocketAddr::V4(remote)) = (o.tuple.local, o.tuple.remote)
            else {
                continue;
            };
            let buf = o
                .conn
                .and_then(|id| self.conns.get(&id))
                .map_or(&[][..], |c| &c.send[..]);
            let Some(segment) = o.transmit.with_payload(buf) else {
                eprintln!(
                    "ours: payload {:?} outside the send buffer",
                    o.transmit.payload
                );
                continue;
            };
            let repr = Repr {
                src_port: local.port(),
                dst_port: remote.port(),
                segment,
            };
            let mut out = vec![0u8; ipv4::HEADER_LEN + wire::buffer_len(&repr)];
            let pseudo = PseudoHeader::V4 {
                src: *local.ip(),
                dst: *remote.ip(),
            };
            let Ok(n) = wire::emit(&repr, Some(&pseudo), &mut out[ipv4::HEADER_LEN..]) else {
                continue;
            };
            self.ip_id = self.ip_id.wrapping_add(1);
            ipv4::write_header(
                &mut out,
                *local.ip(),
                *remote.ip(),
                ipv4::PROTO_TCP,
                n,
                self.ip_id,
            );
            if let Err(e) = self.tun.send(&out) {
                eprintln!("ours: write to TUN failed: {e}");
            }
            self.record(out, None);
        }
        while let Some((id, event)) = self.ep.poll_event() {
            let at = self.origin.elapsed();
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            match event {
                Event::Established => c.established = true,
                Event::PeerFin => c.peer_fin = true,
                Event::Error(e) => c.error = Some(e),
                Event::Closed => {}
            }
            self.events.push(EventRecord {
                at,
                tuple: c.tuple,
                event,
            });
        }
        self.observe_states();
    }

    fn observe_states(&mut self) {
        let at = self.origin.elapsed();
        for (&id, c) in &mut self.conns {
            let state = match self.ep.connection(id) {
                Some(conn) => conn.state(),
                None if self.ep.time_wait_entry(&c.tuple).is_some() => State::TimeWait,
                None => State::Closed,
            };
            if c.last != Some(state) {
                c.last = Some(state);
                self.states.push(StateChange {
                    at,
                    tuple: c.tuple,
                    state,
                });
            }
        }
    }

    fn on_timers(&mut self) {
        let now = self.now();
        self.ep.handle_timeout(now);
        self.flush();
    }

    /// How long the driver may sleep: until the endpoint's next deadline, at most 100 ms.
    fn sleep_budget(&self) -> Duration {
        let cap = Duration::from_millis(100);
        match self.ep.poll_timeout() {
            Some(t) => {
                let now = self.now();
                Duration::from_micros(t.saturating_since(now).as_micros()).min(cap)
            }
            None => cap,
        }
    }
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
            sockets::crash(&mut g.ep, policy, next);
            g.secret = next;
            g.observe_states();
            g.conns.clear();
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
                ep: Endpoint::new(policy, secret),
                policy,
                secret,
                tun,
                addr,
                origin: Instant::now(),
                conns: HashMap::new(),
                capture: Vec::new(),
                states: Vec::new(),
                events: Vec::new(),
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

    /// Connects from `local` to `remote`, waiting for ESTABLISHED.
    ///
    /// # Errors
    /// `ECONNREFUSED`, `ETIMEDOUT`, `EADDRINUSE`.
    pub fn connect_stream(&self, local: SocketAddr, remote: SocketAddr) -> io::Result<OursStream> {
        let id = self.shared.call(|g| {
            let now = g.now();
            let id = g
                .ep
                .connect(now, local, remote)
                .map_err(|e| io::Error::new(io::ErrorKind::AddrInUse, format!("connect: {e}")))?;
            g.conns.insert(id, Conn::new(FourTuple { local, remote }));
            Ok::<_, io::Error>(id)
        })?;
        self.shared.wait(IO_TIMEOUT, |g| {
            let c = g.conns.get_mut(&id)?;
            if let Some(e) = c.error {
                c.error_reported = true;
                return Some(Err(sockets::conn_error(e)));
            }
            c.established.then_some(Ok(()))
        })?;
        Ok(OursStream {
            shared: Arc::clone(&self.shared),
            id,
            tuple: FourTuple { local, remote },
        })
    }

    /// Listens on `local`.
    ///
    /// # Errors
    /// `EADDRINUSE`.
    pub fn listen_on(&self, local: SocketAddr, backlog: u32) -> io::Result<OursListener> {
        self.shared.call(|g| {
            g.ep.listen(local, backlog)
                .map_err(|e| io::Error::new(io::ErrorKind::AddrInUse, format!("listen: {e}")))
        })?;
        Ok(OursListener {
            shared: Arc::clone(&self.shared),
            local,
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
        self.shared.wait(timeout, |g| f(&g.ep).then_some(Ok(())))
    }

    /// Runs `f` on the endpoint (for inspection).
    pub fn with_endpoint<T>(&self, f: impl FnOnce(&Endpoint) -> T) -> T {
        f(&self.shared.lock().ep)
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

    /// Every event the endpoint reported so far.
    #[must_use]
    pub fn events(&self) -> Vec<EventRecord> {
        self.shared.lock().events.clone()
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

/// A listening address of ours.
#[derive(Clone)]
pub struct OursListener {
    shared: Arc<Shared>,
    local: SocketAddr,
}

impl OursListener {
    /// The next established connection, waiting up to [`IO_TIMEOUT`].
    ///
    /// # Errors
    /// `ETIMEDOUT`.
    pub fn accept_stream(&self) -> io::Result<OursStream> {
        self.accept_within(IO_TIMEOUT)
    }

    /// The next established connection, waiting up to `timeout`.
    ///
    /// # Errors
    /// `ETIMEDOUT`.
    pub fn accept_within(&self, timeout: Duration) -> io::Result<OursStream> {
        let local = self.local;
        let id = self.shared.wait(timeout, |g| g.ep.accept(local).map(Ok))?;
        let tuple = self.shared.call(|g| {
            let tuple = g.ep.tuple(id).unwrap_or(FourTuple {
                local,
                remote: local,
            });
            g.conns
                .entry(id)
                .or_insert_with(|| Conn::new(tuple))
                .established = true;
            tuple
        });
        Ok(OursStream {
            shared: Arc::clone(&self.shared),
            id,
            tuple,
        })
    }
}

impl Listener for OursListener {
    fn accept(&mut self) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(self.accept_stream()?))
    }
}

/// A connection of ours, with a socket's blocking calls.
pub struct OursStream {
    shared: Arc<Shared>,
    id: ConnId,
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
            .conns
            .get(&self.id)
            .map_or(0, |c| c.recv.len())
    }

    /// The connection's TCB variables, while it lives.
    #[must_use]
    pub fn status(&self) -> Option<tcp_fsm::Status> {
        self.shared
            .lock()
            .ep
            .connection(self.id)
            .map(tcp_fsm::Connection::status)
    }

    fn close_with(self, linger: Linger) {
        let id = self.id;
        self.shared.call(|g| {
            let now = g.now();
            let unread = g.conns.get(&id).map_or(0, |c| c.recv.len());
            let _ = sockets::close(&mut g.ep, now, id, unread, linger);
            if let Some(c) = g.conns.get_mut(&id) {
                c.released = true;
                c.recv.clear();
            }
        });
    }
}

impl Stream for OursStream {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let id = self.id;
        let mut done = 0;
        self.shared.wait(IO_TIMEOUT, |g| {
            loop {
                let c = g.conns.get_mut(&id)?;
                if let Some(e) = c.error {
                    if c.error_reported {
                        return Some(Err(sockets::send_error(tcp_fsm::EndpointError::Call(
                            tcp_fsm::CallError::Closing,
                        ))));
                    }
                    c.error_reported = true;
                    return Some(Err(sockets::conn_error(e)));
                }
                if done == data.len() {
                    return Some(Ok(()));
                }
                match g.ep.send(id, data.len() - done) {
                    Ok(0) => return None,
                    Ok(n) => {
                        if let Some(c) = g.conns.get_mut(&id) {
                            c.send.extend_from_slice(&data[done..done + n]);
                        }
                        done += n;
                        g.flush();
                    }
                    Err(e) => return Some(Err(sockets::send_error(e))),
                }
            }
        })
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let id = self.id;
        self.shared.wait(IO_TIMEOUT, |g| {
            let Some(c) = g.conns.get_mut(&id) else {
                return Some(Err(io::Error::new(io::ErrorKind::NotConnected, "ENOTCONN")));
            };
            if !c.recv.is_empty() {
                let n = buf.len().min(c.recv.len());
                for (d, s) in buf.iter_mut().zip(c.recv.drain(..n)) {
                    *d = s;
                }
                let _ = g.ep.recv(id, n);
                return Some(Ok(n));
            }
            if let Some(e) = c.error {
                if !c.error_reported {
                    c.error_reported = true;
                    return Some(Err(sockets::conn_error(e)));
                }
                return Some(Ok(0));
            }
            c.peer_fin.then_some(Ok(0))
        })
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        let id = self.id;
        self.shared.call(|g| {
            let now = g.now();
            sockets::shutdown_write(&mut g.ep, now, id)
        })
    }

    fn close(self: Box<Self>) {
        self.close_with(Linger::Default);
    }

    fn close_linger0(self: Box<Self>) {
        self.close_with(Linger::Zero);
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
