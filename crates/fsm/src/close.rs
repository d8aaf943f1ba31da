//! What closing a socket's last descriptor does to its connection, in Linux's order
//! (`tcp_close`): one decision, shared by the socket layer and by anyone who drives a bare
//! [`Connection`] as a socket would (the model checker, the fuzzers).

use crate::connection::{CallError, Connection};
use crate::policy::{BugName, Policy};
use crate::time::{Duration, Instant};

/// What the last `close` does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CloseAction {
    /// RST, no TIME-WAIT: unread received data (checked first), or `SO_LINGER {on, 0}`.
    Reset,
    /// FIN after the queued data; the connection lives on, orphaned.
    Fin,
}

/// The decision: unread data first, then zero linger, else FIN.
#[must_use]
pub fn close_action(policy: &Policy, unread: u32, linger: Option<Duration>) -> CloseAction {
    // Linux checks unread data before the linger option; either one resets.
    let unread_data = unread > 0 && !policy.has_bug(BugName::CloseUnreadSendsFin);
    if unread_data || linger == Some(Duration::ZERO) {
        CloseAction::Reset
    } else {
        CloseAction::Fin
    }
}

/// Closes `conn` as the last descriptor of its socket would: [`close_action`], then ABORT, or
/// CLOSE and [`Connection::orphan`].
///
/// # Errors
/// [`CallError::NotConnected`] if the connection is already CLOSED.
pub fn close_last_descriptor(
    conn: &mut Connection,
    policy: &Policy,
    now: Instant,
    linger: Option<Duration>,
) -> Result<CloseAction, CallError> {
    let action = close_action(policy, conn.unread(), linger);
    match action {
        CloseAction::Reset => conn.abort(policy)?,
        CloseAction::Fin => {
            match conn.close(policy, now) {
                // FIN already sent or acknowledged: closing again is fine.
                Ok(()) | Err(CallError::Closing) => {}
                Err(e) => return Err(e),
            }
            conn.orphan(policy, now);
        }
    }
    Ok(action)
}
