//! A TUN device: the kernel routes datagrams for our address into it, and datagrams written to
//! it arrive at the kernel as if from a wire.

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread;

use tun_tap::{Iface, Mode};

use crate::netns;

/// A TUN device without packet information: each read or write is one IP datagram.
#[derive(Debug)]
pub struct Tun {
    iface: Iface,
}

impl Tun {
    /// Creates the device `name` in the current network namespace, gives the kernel's side
    /// `kernel_addr/prefix`, and brings it (and `lo`) up.
    ///
    /// Refuses to run outside a private network namespace (see [`netns::ensure_private`]), so
    /// these addresses can never reach a real network.
    ///
    /// # Errors
    /// No private namespace, no `/dev/net/tun`, or an `ip` command failed.
    pub fn create(name: &str, kernel_addr: Ipv4Addr, prefix: u8) -> io::Result<Tun> {
        netns::ensure_private()?;
        let iface = Iface::without_packet_info(name, Mode::Tun).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open /dev/net/tun and create TUN device {name}: {e}"),
            )
        })?;
        netns::ip(&["link", "set", "lo", "up"])?;
        netns::ip(&[
            "addr",
            "add",
            &format!("{kernel_addr}/{prefix}"),
            "dev",
            iface.name(),
        ])?;
        netns::ip(&["link", "set", iface.name(), "up"])?;
        // No IPv6 chatter (router solicitations, MLD) on the device: only our traffic.
        let _ = std::fs::write(
            format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", iface.name()),
            "1",
        );
        Ok(Tun { iface })
    }

    /// The device's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.iface.name()
    }

    /// Writes one datagram to the kernel.
    ///
    /// # Errors
    /// As `write(2)` on the device.
    pub fn send(&self, datagram: &[u8]) -> io::Result<()> {
        self.iface.send(datagram).map(|_| ())
    }

    /// Blocks until the kernel sends a datagram; returns its length.
    ///
    /// # Errors
    /// As `read(2)` on the device.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.iface.recv(buf)
    }

    /// Starts a thread that forwards every datagram the kernel sends to `sink`, as
    /// `wrap(datagram)`. It runs until `sink` is dropped and a datagram finds it gone, or until
    /// the process exits (a blocking read cannot be interrupted otherwise).
    pub fn spawn_reader<T: Send + 'static>(
        self: &Arc<Self>,
        sink: Sender<T>,
        wrap: fn(Vec<u8>) -> T,
    ) -> io::Result<thread::JoinHandle<()>> {
        let tun = Arc::clone(self);
        thread::Builder::new()
            .name("tun-reader".into())
            .spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while let Ok(n) = tun.recv(&mut buf) {
                    if sink.send(wrap(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            })
    }
}
