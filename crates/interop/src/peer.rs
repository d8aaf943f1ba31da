//! The side under test, "A", whichever stack plays it: ours over the TUN device, or a kernel
//! socket on loopback (the differential run). Scenarios are written once against these traits.

use std::io;
use std::net::SocketAddr;

/// A connected socket, with the calls the scenarios make.
pub trait Stream: Send {
    /// Writes all of `data`, blocking while the send buffer is full.
    ///
    /// # Errors
    /// `ECONNRESET`, `EPIPE`, … as a socket reports them.
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;

    /// Reads what has arrived, blocking until something has; 0 at end of file.
    ///
    /// # Errors
    /// `ECONNRESET`, `ETIMEDOUT`, … as a socket reports them.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// `shutdown(SHUT_WR)`.
    ///
    /// # Errors
    /// `ENOTCONN`.
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// `close()` with the default linger.
    fn close(self: Box<Self>);

    /// `close()` with `SO_LINGER {on, 0}`.
    fn close_linger0(self: Box<Self>);

    /// The stack forgets the connection without sending anything: for ours, a crash of the
    /// whole host; for a kernel socket, `TCP_REPAIR` then close.
    fn vanish(self: Box<Self>);

    /// Octets that arrived and have not been read.
    fn unread(&self) -> usize;

    /// Our address and port.
    fn local_addr(&self) -> SocketAddr;

    /// The peer's address and port.
    fn peer_addr(&self) -> SocketAddr;

    /// Reads until end of file or `limit` octets; what was read, or the error with the count.
    ///
    /// # Errors
    /// The first read error, with the octets read before it.
    fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, (usize, io::Error)> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while out.len() < limit {
            let want = (limit - out.len()).min(buf.len());
            match self.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err((out.len(), e)),
            }
        }
        Ok(out)
    }
}

/// A listening socket.
pub trait Listener: Send {
    /// The next connection from the accept queue, blocking.
    ///
    /// # Errors
    /// `ETIMEDOUT` when none comes in time.
    fn accept(&mut self) -> io::Result<Box<dyn Stream>>;
}

/// A TCP stack that opens connections.
pub trait Stack: Sync {
    /// Connects from `local` to `remote`, blocking until established.
    ///
    /// # Errors
    /// `ECONNREFUSED`, `ETIMEDOUT`, `EADDRINUSE`.
    fn connect(&self, local: SocketAddr, remote: SocketAddr) -> io::Result<Box<dyn Stream>>;

    /// Listens on `local` with an accept backlog.
    ///
    /// # Errors
    /// `EADDRINUSE`.
    fn listen(&self, local: SocketAddr, backlog: u32) -> io::Result<Box<dyn Listener>>;
}
