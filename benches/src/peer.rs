//! The peer: smoltcp 0.14, two `tcp::Socket`s on one `Interface` over its `Loopback` device
//! (IP medium), with a virtual clock, delayed ACK and Nagle off, doing the same steady-state
//! exchange and the same lifecycle as [`crate::lifecycle`].
//!
//! Note what smoltcp's `Loopback` does and ours does not: it asks for no checksums
//! (`ChecksumCapabilities::ignored()`), so smoltcp neither fills nor verifies them here, and it
//! allocates a `Vec` per packet. It also builds and parses an IPv4 header per segment, which
//! ours leaves to the embedder.

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Loopback, Medium, PacketMeta, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address};

const ADDR: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);
const SERVER_PORT: u16 = 80;
const CLIENT_PORT: u16 = 40_000;
const TICK: Duration = Duration::from_micros(10);
/// More polls than any step needs; a step that takes more is a fixture bug.
const MAX_POLLS: usize = 32;

/// smoltcp's `Loopback`, counting the packets sent through it (one addition per packet), so
/// that the tests can check both stacks send the same segments.
#[derive(Debug)]
struct CountingLoopback {
    inner: Loopback,
    sent: u64,
}

struct CountingTx<'a, T> {
    inner: T,
    sent: &'a mut u64,
}

impl<T: TxToken> TxToken for CountingTx<'_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        *self.sent += 1;
        self.inner.consume(len, f)
    }

    fn set_meta(&mut self, meta: PacketMeta) {
        self.inner.set_meta(meta);
    }
}

impl Device for CountingLoopback {
    type RxToken<'a> = <Loopback as Device>::RxToken<'a>;
    type TxToken<'a> = CountingTx<'a, <Loopback as Device>::TxToken<'a>>;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let sent = &mut self.sent;
        self.inner
            .receive(timestamp)
            .map(|(rx, inner)| (rx, CountingTx { inner, sent }))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        let sent = &mut self.sent;
        self.inner
            .transmit(timestamp)
            .map(|inner| CountingTx { inner, sent })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

fn socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 4096]),
        tcp::SocketBuffer::new(vec![0; 4096]),
    );
    s.set_ack_delay(None);
    s.set_nagle_enabled(false);
    s
}

/// An interface with two TCP sockets, a client and a server.
pub struct SmolPair {
    now: Instant,
    device: CountingLoopback,
    iface: Interface,
    sockets: SocketSet<'static>,
    client: SocketHandle,
    server: SocketHandle,
    polls: usize,
}

impl std::fmt::Debug for SmolPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolPair")
            .field("now", &self.now)
            .field("client", &self.client_state())
            .field("server", &self.server_state())
            .finish_non_exhaustive()
    }
}

impl SmolPair {
    fn bare() -> SmolPair {
        let now = Instant::from_millis(0);
        let mut device = CountingLoopback {
            inner: Loopback::new(Medium::Ip),
            sent: 0,
        };
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = 0x5eed;
        let mut iface = Interface::new(config, &mut device, now);
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(IpAddress::Ipv4(ADDR), 8))
                .expect("room for one address");
        });
        let mut sockets = SocketSet::new(Vec::with_capacity(2));
        let client = sockets.add(socket());
        let server = sockets.add(socket());
        SmolPair {
            now,
            device,
            iface,
            sockets,
            client,
            server,
            polls: 0,
        }
    }

    /// A pair whose server listens and whose client is CLOSED, after one warm-up lifecycle (so
    /// that the loopback queue holds its first allocation, as [`crate::lifecycle::EndpointPair`]
    /// is warm), then reset by aborting both sockets.
    ///
    /// # Panics
    /// If smoltcp does not go through the lifecycle (a fixture bug).
    #[must_use]
    pub fn listening() -> SmolPair {
        let mut p = SmolPair::bare();
        p.srv().listen(SERVER_PORT).expect("listen");
        p.lifecycle();
        p.cli().abort();
        p.srv().abort();
        // The RSTs go out and arrive (at no listener); nothing is left in flight.
        for _ in 0..3 {
            p.now += TICK;
            p.iface.poll(p.now, &mut p.device, &mut p.sockets);
        }
        p.srv().listen(SERVER_PORT).expect("listen again");
        p
    }

    /// A pair in ESTABLISHED on both sides.
    ///
    /// # Panics
    /// If the handshake does not complete (a fixture bug).
    #[must_use]
    pub fn established() -> SmolPair {
        let mut p = SmolPair::listening();
        p.connect();
        p
    }

    /// Packets (segments) sent through the loopback device so far.
    #[must_use]
    pub fn segments_sent(&self) -> u64 {
        self.device.sent
    }

    fn cli(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.client)
    }

    fn srv(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.server)
    }

    /// The client socket's state.
    #[must_use]
    pub fn client_state(&self) -> tcp::State {
        self.sockets.get::<tcp::Socket>(self.client).state()
    }

    /// The server socket's state.
    #[must_use]
    pub fn server_state(&self) -> tcp::State {
        self.sockets.get::<tcp::Socket>(self.server).state()
    }

    /// Polls the interface until `done`, a tick of the virtual clock per poll.
    fn poll_until(&mut self, done: impl Fn(&mut SmolPair) -> bool) {
        self.polls = 0;
        for _ in 0..MAX_POLLS {
            self.now += TICK;
            self.iface
                .poll(self.now, &mut self.device, &mut self.sockets);
            self.polls += 1;
            if done(self) {
                return;
            }
        }
        panic!("smoltcp did not get there in {MAX_POLLS} polls: {self:?}");
    }

    fn connect(&mut self) {
        let cx = self.iface.context();
        self.sockets
            .get_mut::<tcp::Socket>(self.client)
            .connect(cx, (IpAddress::Ipv4(ADDR), SERVER_PORT), CLIENT_PORT)
            .expect("connect");
        self.poll_until(|p| {
            p.client_state() == tcp::State::Established
                && p.server_state() == tcp::State::Established
        });
    }

    /// One exchange: the client sends one octet, the server's application reads it, the
    /// client has its ACK.
    ///
    /// # Panics
    /// If the octet does not arrive (a fixture bug).
    pub fn exchange(&mut self) {
        let _ = self.cli().send_slice(b"x");
        self.poll_until(|p| p.cli().send_queue() == 0 && p.srv().recv_queue() == 1);
        let mut byte = [0u8; 1];
        let n = self.srv().recv_slice(&mut byte).expect("readable");
        assert_eq!(n, 1);
    }

    /// One connection, whole: handshake, one octet each way, the client closes first, the
    /// server closes on the peer's FIN, until the client is in TIME-WAIT and the server CLOSED.
    ///
    /// # Panics
    /// If a step does not reach its state (a fixture bug).
    pub fn lifecycle(&mut self) {
        self.connect();
        let _ = self.cli().send_slice(b"x");
        let _ = self.srv().send_slice(b"y");
        self.poll_until(|p| {
            p.cli().send_queue() == 0
                && p.srv().send_queue() == 0
                && p.cli().recv_queue() == 1
                && p.srv().recv_queue() == 1
        });
        let mut byte = [0u8; 1];
        let _ = self.cli().recv_slice(&mut byte);
        let _ = self.srv().recv_slice(&mut byte);
        self.cli().close();
        self.poll_until(|p| p.server_state() == tcp::State::CloseWait);
        self.srv().close();
        self.poll_until(|p| {
            p.client_state() == tcp::State::TimeWait && p.server_state() == tcp::State::Closed
        });
    }
}

/// `size_of::<smoltcp::socket::tcp::Socket>()` with the features this crate enables.
#[must_use]
pub const fn socket_size() -> usize {
    size_of::<tcp::Socket<'static>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_repeats() {
        let mut p = SmolPair::established();
        for _ in 0..1000 {
            let before = p.segments_sent();
            p.exchange();
            // Data out; data in and its ACK out; ACK in: no delayed ACK, no window update.
            assert_eq!(p.polls, 3);
            assert_eq!(p.segments_sent() - before, 2);
        }
        assert_eq!(p.client_state(), tcp::State::Established);
    }

    #[test]
    fn lifecycle_ends_in_time_wait_and_closed() {
        let mut p = SmolPair::listening();
        assert_eq!(p.client_state(), tcp::State::Closed);
        assert_eq!(p.server_state(), tcp::State::Listen);
        let before = p.segments_sent();
        p.lifecycle();
        assert_eq!(p.client_state(), tcp::State::TimeWait);
        assert_eq!(p.server_state(), tcp::State::Closed);
        // The same segments as ours (crate::lifecycle::tests::lifecycle_repeats).
        assert_eq!(
            p.segments_sent() - before,
            crate::lifecycle::EndpointPair::new().lifecycle() as u64
        );
    }
}
