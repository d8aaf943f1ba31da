//! Capture of loopback traffic with an `AF_PACKET` socket, for the kernel-vs-kernel runs:
//! each datagram once (the copy delivered to the host, not the outgoing one), without its
//! link-layer header, so it reads like a TUN capture.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use nix::sys::socket::{
    AddressFamily, LinkAddr, SockFlag, SockProtocol, SockType, recvfrom, setsockopt, socket,
    sockopt,
};
use nix::sys::time::{TimeVal, TimeValLike};

use crate::pcap::Packet;

/// `PACKET_HOST`: the copy of a loopback datagram on its way in.
const PACKET_HOST: u8 = 0;

/// A running capture; [`stop`](LoopbackCapture::stop) returns what it saw.
#[derive(Debug)]
pub struct LoopbackCapture {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Packet>>,
}

impl LoopbackCapture {
    /// Starts capturing every IP datagram on every interface of this namespace (only `lo` is
    /// up in a kernel-vs-kernel run).
    ///
    /// # Errors
    /// The packet socket cannot be made (needs `CAP_NET_RAW`).
    pub fn start() -> io::Result<LoopbackCapture> {
        crate::netns::ensure_private()?;
        let fd: OwnedFd = socket(
            AddressFamily::Packet,
            SockType::Datagram,
            SockFlag::empty(),
            SockProtocol::EthAll,
        )?;
        setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::milliseconds(20))?;
        // Room for a burst of 64 KiB GSO datagrams while the thread catches up.
        setsockopt(&fd, sockopt::RcvBufForce, &(64 << 20))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let start = Instant::now();
        let thread = thread::Builder::new()
            .name("lo-capture".into())
            .spawn(move || {
                let mut packets = Vec::new();
                let mut buf = vec![0u8; 65_536];
                while !flag.load(Ordering::Acquire) {
                    match recvfrom::<LinkAddr>(fd.as_raw_fd(), &mut buf) {
                        Ok((n, Some(addr))) if addr.pkttype() == PACKET_HOST => {
                            packets.push(Packet {
                                at: start.elapsed(),
                                bytes: buf[..n].to_vec(),
                                note: None,
                            })
                        }
                        _ => {}
                    }
                }
                packets
            })?;
        Ok(LoopbackCapture { stop, thread })
    }

    /// Stops and returns the datagrams captured.
    #[must_use]
    pub fn stop(self) -> Vec<Packet> {
        self.stop.store(true, Ordering::Release);
        self.thread.join().unwrap_or_default()
    }
}
