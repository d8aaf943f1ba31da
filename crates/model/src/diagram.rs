//! A path of the model as a two-column sequence diagram in the style of RFC 9293's figures:
//!
//! ```text
//!      TCP A                                                   TCP B
//!  0.  SYN-SENT                                                LISTEN
//!  1.  SYN-SENT     --> <SEQ=100><CTL=SYN>                 --> SYN-RECEIVED
//!  2.  ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK>    <-- SYN-RECEIVED
//! ```
//!
//! Each line shows both peers' states *after* the step; a segment line is its arrival.

use std::fmt::Write as _;

use tcp_fsm::State;

use crate::model::{Action, Call, ModelState, TcpModel};
use crate::net::Seg;

const STATE_W: usize = 12;
const MIDDLE_W: usize = 48;

/// A short label for an action, without its state (the Explorer's action list).
#[must_use]
pub fn action_label(action: &Action) -> String {
    let peer = |p: u8| if p == 0 { "A" } else { "B" };
    match *action {
        Action::Deliver { from, index } => {
            let reorder = if index > 0 { " (reordered)" } else { "" };
            format!(
                "deliver {}->{} #{index}{reorder}",
                peer(from),
                peer(1 - from)
            )
        }
        Action::DeliverOld { index } => format!("deliver old duplicate #{index}"),
        Action::Lose { from, index } => format!("lose {}'s #{index}", peer(from)),
        Action::Duplicate { from, index } => format!("duplicate {}'s #{index}", peer(from)),
        Action::Fire(p) => format!("{}: timer fires", peer(p)),
        Action::Call(p, call) => format!("{}: {}", peer(p), call_name(call)),
        Action::Crash(p) => format!("{}: crash and reboot", peer(p)),
    }
}

fn call_name(call: Call) -> &'static str {
    match call {
        Call::Connect => "connect",
        Call::Send => "send 1 octet",
        Call::Read => "read",
        Call::Shutdown => "shutdown(SHUT_WR)",
        Call::Close => "close",
        Call::Abort => "abort (linger 0)",
        Call::CloseListener => "close listener",
    }
}

fn seg_text(model: &TcpModel, seg: &Seg) -> String {
    let old = if seg.incarnation() == 0 { " (old)" } else { "" };
    format!(
        "{}{old}",
        seg.segment(&model.scenario.peers[seg.from()].policy)
    )
}

/// What a step did, for the middle column, and the direction of its arrows (if a segment
/// arrived).
fn describe(model: &TcpModel, before: &ModelState, action: &Action) -> (String, Option<usize>) {
    let peer = |p: usize| if p == 0 { "A" } else { "B" };
    match *action {
        Action::Deliver { from, index } => {
            let seg = before.net.channels[usize::from(from)].as_slice()[usize::from(index)];
            let mut text = seg_text(model, &seg);
            if index > 0 {
                text.push_str(" (reordered)");
            }
            (text, Some(usize::from(from)))
        }
        Action::DeliverOld { index } => {
            let seg = before.net.old.as_slice()[usize::from(index)];
            (seg_text(model, &seg), Some(seg.from()))
        }
        Action::Lose { from, index } => {
            let seg = before.net.channels[usize::from(from)].as_slice()[usize::from(index)];
            (
                format!(
                    "{} lost: {}",
                    peer(usize::from(from)),
                    seg_text(model, &seg)
                ),
                None,
            )
        }
        Action::Duplicate { from, index } => {
            let seg = before.net.channels[usize::from(from)].as_slice()[usize::from(index)];
            (
                format!(
                    "{} duplicated: {}",
                    peer(usize::from(from)),
                    seg_text(model, &seg)
                ),
                None,
            )
        }
        Action::Fire(p) => {
            let timer = before.peers[usize::from(p)].conn.status().timer;
            (
                format!("({}: {timer:?} timer fires)", peer(usize::from(p))),
                None,
            )
        }
        Action::Call(p, call) => {
            let unread = before.peers[usize::from(p)].conn.unread();
            let extra = if call == Call::Close && unread > 0 {
                ", with unread data"
            } else {
                ""
            };
            (
                format!("({}: {}{extra})", peer(usize::from(p)), call_name(call)),
                None,
            )
        }
        Action::Crash(p) => (
            format!(
                "({}: crashes, reboots with a new ISN)",
                peer(usize::from(p))
            ),
            None,
        ),
    }
}

fn line(out: &mut String, n: usize, a: State, middle: &str, dir: Option<usize>, b: State) {
    let (l, r) = match dir {
        Some(0) => ("-->", "-->"),
        Some(_) => ("<--", "<--"),
        None => ("   ", "   "),
    };
    let _ = writeln!(
        out,
        "{n:>3}. {:<STATE_W$} {l} {middle:<MIDDLE_W$} {r} {}",
        a.name(),
        b.name()
    );
}

/// Renders `path` (states with the action taken from each; the last has none).
#[must_use]
pub fn render(model: &TcpModel, path: &[(ModelState, Option<Action>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "     {:<STATE_W$}     {:<MIDDLE_W$}     TCP B",
        "TCP A", ""
    );
    let Some((first, _)) = path.first() else {
        return out;
    };
    line(
        &mut out,
        0,
        first.peers[0].state(),
        "",
        None,
        first.peers[1].state(),
    );
    for (n, pair) in path.windows(2).enumerate() {
        let (before, Some(action)) = &pair[0] else {
            continue;
        };
        let after = &pair[1].0;
        let (middle, dir) = describe(model, before, action);
        line(
            &mut out,
            n + 1,
            after.peers[0].state(),
            &middle,
            dir,
            after.peers[1].state(),
        );
    }
    out
}

/// The segments that arrived along `path`, in order, with the step number of their arrival:
/// what a capture at the receivers would show.
#[must_use]
pub fn arrivals(path: &[(ModelState, Option<Action>)]) -> Vec<(usize, Seg)> {
    path.iter()
        .enumerate()
        .filter_map(|(n, (s, a))| match *a {
            Some(Action::Deliver { from, index }) => Some((
                n + 1,
                s.net.channels[usize::from(from)].as_slice()[usize::from(index)],
            )),
            Some(Action::DeliverOld { index }) => {
                Some((n + 1, s.net.old.as_slice()[usize::from(index)]))
            }
            _ => None,
        })
        .collect()
}
