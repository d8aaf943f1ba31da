//! Socket calls mapped onto the core's [`Endpoint`]. The harness keeps its own per-connection
//! buffers on a driver thread, so it drives the endpoint rather than the core's descriptor
//! layer (`tcp_fsm::socket::Stack`), but what `close()` does is decided by the same function
//! that layer uses, [`close_action`] (Linux's `tcp_close` order):
//!
//! | socket call | what the endpoint is told |
//! |---|---|
//! | `close()` with unread data | [`Endpoint::abort`] (RST, ack = RCV.NXT), then [`Endpoint::release`] |
//! | `close()` with `SO_LINGER {on, 0}` | [`Endpoint::abort`], then [`Endpoint::release`] |
//! | `close()` | [`Endpoint::close`] (FIN after queued data), then [`Endpoint::release`] |
//! | `shutdown(SHUT_WR)` | [`Endpoint::close`] |
//! | a crash | the whole [`Endpoint`] is dropped and a new one made |
//!
//! Errors are told as Linux tells them: a connection error (`ECONNRESET`, `ECONNREFUSED`,
//! `ETIMEDOUT`) once, by the next read or write; after it, reads return end-of-file and writes
//! `EPIPE`.

use std::io;

use tcp_fsm::{
    CallError, CloseAction, ConnError, ConnId, Duration, Endpoint, EndpointError, Instant, Policy,
    close_action,
};

/// How `close()` ends a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linger {
    /// The default: an orderly close.
    Default,
    /// `SO_LINGER {on, 0}`: reset, no TIME-WAIT.
    Zero,
}

/// What a `close()` did on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// A FIN follows the queued data.
    Orderly,
    /// The connection was aborted (a RST, if it was synchronized).
    Reset,
}

/// `close()`: abort when data is left unread (Linux checks this before `SO_LINGER`) or with
/// zero linger, else an orderly CLOSE; the handle is then released either way.
///
/// # Errors
/// [`EndpointError::NoSuchConnection`] for a stale handle.
pub fn close(
    ep: &mut Endpoint,
    now: Instant,
    id: ConnId,
    unread: usize,
    linger: Linger,
) -> Result<Closed, EndpointError> {
    let linger = match linger {
        Linger::Default => None,
        Linger::Zero => Some(Duration::ZERO),
    };
    let unread = u32::try_from(unread).unwrap_or(u32::MAX);
    // The core's one decision (Linux's `tcp_close` order), shared with its socket layer.
    let policy = *ep.connection_policy(id).unwrap_or(ep.policy());
    let how = match close_action(&policy, unread, linger) {
        CloseAction::Reset => {
            ignore_closed(ep.abort(id))?;
            Closed::Reset
        }
        CloseAction::Fin => {
            ignore_closed(ep.close(now, id))?;
            Closed::Orderly
        }
    };
    ep.release(now, id)?;
    Ok(how)
}

/// `shutdown(SHUT_WR)`: our FIN follows the queued data; reading goes on. A second call, or a
/// call on a closed connection, does nothing (as Linux, which returns 0).
///
/// # Errors
/// `ENOTCONN` for a stale handle.
pub fn shutdown_write(ep: &mut Endpoint, now: Instant, id: ConnId) -> io::Result<()> {
    ignore_closed(ep.close(now, id)).map_err(|_| not_connected())
}

/// A crash: every connection, listener and TIME-WAIT entry is forgotten; the host comes back
/// with an empty endpoint (and a new ISN secret, as after a reboot).
pub fn crash(ep: &mut Endpoint, policy: Policy, secret: [u64; 4]) {
    *ep = Endpoint::new(policy, secret);
}

/// The errno a failed `send` reports: `EPIPE` once we closed, `ENOTCONN` before a connection.
#[must_use]
pub fn send_error(e: EndpointError) -> io::Error {
    match e {
        EndpointError::Call(CallError::Closing) => io::Error::new(
            io::ErrorKind::BrokenPipe,
            "EPIPE: the sending side is shut down",
        ),
        EndpointError::Call(CallError::NotConnected) | EndpointError::NoSuchConnection => {
            not_connected()
        }
        other => io::Error::other(other.to_string()),
    }
}

/// The errno a connection error is reported as.
#[must_use]
pub fn conn_error(e: ConnError) -> io::Error {
    let kind = match e {
        ConnError::Refused => io::ErrorKind::ConnectionRefused,
        ConnError::Reset => io::ErrorKind::ConnectionReset,
        ConnError::TimedOut => io::ErrorKind::TimedOut,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e.to_string())
}

fn not_connected() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "ENOTCONN")
}

/// CLOSE or ABORT on a connection that is already closing or closed is not an error for a
/// socket: it has nothing more to do.
fn ignore_closed(r: Result<(), EndpointError>) -> Result<(), EndpointError> {
    match r {
        Err(EndpointError::Call(CallError::Closing | CallError::NotConnected)) => Ok(()),
        other => other,
    }
}
