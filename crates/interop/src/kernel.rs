//! The Linux kernel's side: sockets (through `socket2` and `nix`, no `unsafe` here), and what
//! can be observed of their states: `ss -tan`, and the `sock:inet_sock_set_state` tracepoint.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};

use crate::peer::{Listener, Stack, Stream};

/// How long a blocking kernel socket call may take before it fails with a timeout.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Kernel keepalive for a socket: idle, interval, probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// `TCP_KEEPIDLE`.
    pub idle: Duration,
    /// `TCP_KEEPINTVL`.
    pub interval: Duration,
    /// `TCP_KEEPCNT`.
    pub probes: u32,
}

/// The kernel's TCP stack in the current network namespace.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelStack {
    /// `SO_KEEPALIVE` with these settings on every socket it makes.
    pub keepalive: Option<KeepaliveConfig>,
}

fn new_socket(local: SocketAddr, keepalive: Option<KeepaliveConfig>) -> io::Result<Socket> {
    let s = Socket::new(
        Domain::for_address(local),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    s.bind(&SockAddr::from(local))?;
    if let Some(k) = keepalive {
        s.set_keepalive(true)?;
        s.set_tcp_keepalive(
            &TcpKeepalive::new()
                .with_time(k.idle)
                .with_interval(k.interval)
                .with_retries(k.probes),
        )?;
    }
    Ok(s)
}

impl KernelStack {
    /// A socket bound to `local`, connected to `remote` (blocking, with [`IO_TIMEOUT`]).
    ///
    /// # Errors
    /// As `connect(2)`.
    pub fn connect_socket(&self, local: SocketAddr, remote: SocketAddr) -> io::Result<KSock> {
        let s = new_socket(local, self.keepalive)?;
        s.connect_timeout(&SockAddr::from(remote), IO_TIMEOUT)?;
        KSock::new(s)
    }

    /// A listening socket on `local`.
    ///
    /// # Errors
    /// As `bind(2)` and `listen(2)`.
    pub fn listen_socket(&self, local: SocketAddr, backlog: u32) -> io::Result<KListener> {
        let s = new_socket(local, self.keepalive)?;
        s.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        Ok(KListener {
            socket: s,
            keepalive: self.keepalive,
        })
    }
}

impl Stack for KernelStack {
    fn connect(&self, local: SocketAddr, remote: SocketAddr) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(self.connect_socket(local, remote)?))
    }

    fn listen(&self, local: SocketAddr, backlog: u32) -> io::Result<Box<dyn Listener>> {
        Ok(Box::new(self.listen_socket(local, backlog)?))
    }
}

/// A kernel listening socket.
#[derive(Debug)]
pub struct KListener {
    socket: Socket,
    keepalive: Option<KeepaliveConfig>,
}

impl KListener {
    /// `accept(2)` (blocking, [`IO_TIMEOUT`]).
    ///
    /// # Errors
    /// As `accept(2)`; `EAGAIN`/`ETIMEDOUT` when nothing came in time.
    pub fn accept_socket(&self) -> io::Result<KSock> {
        let (s, _) = self.socket.accept()?;
        if self.keepalive.is_some() {
            s.set_keepalive(true)?;
        }
        KSock::new(s)
    }
}

impl Listener for KListener {
    fn accept(&mut self) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(self.accept_socket()?))
    }
}

/// A connected kernel socket.
#[derive(Debug)]
pub struct KSock {
    /// The socket.
    pub socket: Socket,
}

impl KSock {
    fn new(socket: Socket) -> io::Result<KSock> {
        socket.set_read_timeout(Some(IO_TIMEOUT))?;
        socket.set_write_timeout(Some(IO_TIMEOUT))?;
        socket.set_tcp_nodelay(true)?;
        Ok(KSock { socket })
    }

    /// Octets waiting in the receive queue (`FIONREAD` through `MSG_PEEK`), without blocking.
    #[must_use]
    pub fn unread(&self) -> usize {
        let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 1 << 20];
        self.socket
            .recv_with_flags(&mut buf, libc_flags::PEEK_DONTWAIT)
            .unwrap_or(0)
    }
}

/// `MSG_PEEK | MSG_DONTWAIT`.
mod libc_flags {
    pub const PEEK_DONTWAIT: i32 = 0x02 | 0x40;
}

impl Stream for KSock {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        (&self.socket).write_all(data)
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.socket).read(buf)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.socket.shutdown(Shutdown::Write)
    }

    fn close(self: Box<Self>) {
        drop(self);
    }

    fn close_linger0(self: Box<Self>) {
        let _ = self.socket.set_linger(Some(Duration::ZERO));
        drop(self);
    }

    fn vanish(self: Box<Self>) {
        // In repair mode close() sends nothing: the connection is gone without a trace, as if
        // the host had crashed (CAP_NET_ADMIN needed; the child runs as root).
        if let Err(e) = setsockopt(&self.socket, sockopt::TcpRepair, &1) {
            panic!("TCP_REPAIR: {e}");
        }
        drop(self);
    }

    fn unread(&self) -> usize {
        KSock::unread(self)
    }

    fn local_addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    fn peer_addr(&self) -> SocketAddr {
        self.socket
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }
}

/// One line of `ss -tan`: state, local and peer address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsEntry {
    /// As `ss` prints it: `ESTAB`, `TIME-WAIT`, `FIN-WAIT-2`, `LISTEN`, …
    pub state: String,
    /// Local address and port.
    pub local: String,
    /// Peer address and port.
    pub peer: String,
}

/// Every TCP socket of this namespace, from `ss -tan`.
///
/// # Errors
/// `ss` is missing or fails.
pub fn ss() -> io::Result<Vec<SsEntry>> {
    let out = crate::netns::run("ss", &["-tan"])?;
    Ok(out
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5).then(|| SsEntry {
                state: f[0].to_string(),
                local: f[3].to_string(),
                peer: f[4].to_string(),
            })
        })
        .collect())
}

/// The `ss` state of the socket `local` → `peer`, if the kernel has one.
///
/// # Errors
/// As [`ss`].
pub fn ss_state(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<String>> {
    let (l, p) = (local.to_string(), peer.to_string());
    Ok(ss()?
        .into_iter()
        .find(|e| e.local == l && e.peer == p)
        .map(|e| e.state))
}

/// `ss`'s state names as the RFC spells them (`ESTAB` is ESTABLISHED, `SYN-RECV` is
/// SYN-RECEIVED, `UNCONN` is CLOSED).
#[must_use]
pub fn ss_rfc_name(ss: &str) -> &'static str {
    match ss {
        "ESTAB" => "ESTABLISHED",
        "SYN-SENT" => "SYN-SENT",
        "SYN-RECV" => "SYN-RECEIVED",
        "FIN-WAIT-1" => "FIN-WAIT-1",
        "FIN-WAIT-2" => "FIN-WAIT-2",
        "TIME-WAIT" => "TIME-WAIT",
        "CLOSE-WAIT" => "CLOSE-WAIT",
        "LAST-ACK" => "LAST-ACK",
        "LISTEN" => "LISTEN",
        "CLOSING" => "CLOSING",
        "UNCONN" | "CLOSE" => "CLOSED",
        _ => "?",
    }
}

/// A kernel state change from the `sock:inet_sock_set_state` tracepoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelTransition {
    /// The socket's address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// The state before, as the RFC names it (`SYN-SENT`, `FIN-WAIT-1`, …).
    pub from: &'static str,
    /// The state after.
    pub to: &'static str,
}

/// Linux's `TCP_*` state names as the RFC spells them.
#[must_use]
pub fn rfc_name(linux: &str) -> &'static str {
    match linux.trim_start_matches("TCP_") {
        "ESTABLISHED" => "ESTABLISHED",
        "SYN_SENT" => "SYN-SENT",
        "SYN_RECV" | "NEW_SYN_RECV" => "SYN-RECEIVED",
        "FIN_WAIT1" => "FIN-WAIT-1",
        "FIN_WAIT2" => "FIN-WAIT-2",
        "TIME_WAIT" => "TIME-WAIT",
        "CLOSE" => "CLOSED",
        "CLOSE_WAIT" => "CLOSE-WAIT",
        "LAST_ACK" => "LAST-ACK",
        "LISTEN" => "LISTEN",
        "CLOSING" => "CLOSING",
        _ => "?",
    }
}

/// A private tracefs instance recording `sock:inet_sock_set_state`: every state change of every
/// kernel TCP socket, exact where sampling `ss` would miss the short-lived ones. The instance is
/// removed on drop.
///
/// The tracepoint fires for full sockets only: request sockets (a listener's SYN-RECEIVED) and
/// TIME-WAIT mini-sockets are invisible to it, so a socket that enters TIME-WAIT shows as
/// `FIN-WAIT-2 → CLOSED` or `CLOSING → CLOSED` here and as `TIME-WAIT` in `ss`.
#[derive(Debug)]
pub struct StateTrace {
    dir: PathBuf,
}

impl StateTrace {
    /// Starts recording (needs tracefs: see [`crate::netns::mount_tracefs`]).
    ///
    /// # Errors
    /// tracefs is missing or the instance cannot be made.
    pub fn start() -> io::Result<StateTrace> {
        crate::netns::mount_tracefs()?;
        let dir = PathBuf::from(format!(
            "/sys/kernel/tracing/instances/tcp-interop-{}",
            std::process::id()
        ));
        if !dir.exists() {
            fs::create_dir(&dir)?;
        }
        let trace = StateTrace { dir };
        fs::write(trace.dir.join("buffer_size_kb"), "1024")?;
        fs::write(
            trace.dir.join("events/sock/inet_sock_set_state/enable"),
            "1",
        )?;
        Ok(trace)
    }

    /// The transitions so far of sockets whose local or remote port is in `ports`. Ports keep
    /// the records of concurrent tests (other namespaces share the tracepoint) apart.
    ///
    /// # Errors
    /// Reading the trace failed.
    pub fn transitions(&self, ports: &[u16]) -> io::Result<Vec<KernelTransition>> {
        let text = fs::read_to_string(self.dir.join("trace"))?;
        Ok(text
            .lines()
            .filter_map(|l| parse_trace_line(l, ports))
            .collect())
    }
}

impl Drop for StateTrace {
    fn drop(&mut self) {
        let _ = fs::write(self.dir.join("events/sock/inet_sock_set_state/enable"), "0");
        let _ = fs::remove_dir(&self.dir);
    }
}

fn parse_trace_line(line: &str, ports: &[u16]) -> Option<KernelTransition> {
    let rest = line.split("inet_sock_set_state: ").nth(1)?;
    let field = |name: &str| {
        rest.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    if field("protocol")? != "IPPROTO_TCP" || field("family")? != "AF_INET" {
        return None;
    }
    let sport: u16 = field("sport")?.parse().ok()?;
    let dport: u16 = field("dport")?.parse().ok()?;
    if !ports.contains(&sport) && !ports.contains(&dport) {
        return None;
    }
    let saddr: std::net::Ipv4Addr = field("saddr")?.parse().ok()?;
    let daddr: std::net::Ipv4Addr = field("daddr")?.parse().ok()?;
    Some(KernelTransition {
        local: SocketAddr::from((saddr, sport)),
        remote: SocketAddr::from((daddr, dport)),
        from: rfc_name(field("oldstate")?),
        to: rfc_name(field("newstate")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_lines_parse() {
        let l = "  x-1 [001] ..s1. 10.0: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP \
                 sport=5000 dport=40000 saddr=10.200.0.1 daddr=10.200.0.2 saddrv6=::ffff:10.200.0.1 \
                 daddrv6=::ffff:10.200.0.2 oldstate=TCP_SYN_RECV newstate=TCP_ESTABLISHED";
        let t = parse_trace_line(l, &[5000]).expect("parses");
        assert_eq!((t.from, t.to), ("SYN-RECEIVED", "ESTABLISHED"));
        assert_eq!(t.local, "10.200.0.1:5000".parse().unwrap());
        assert!(parse_trace_line(l, &[6000]).is_none());
    }
}
