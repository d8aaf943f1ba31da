//! Transition coverage: which edges of RFC 9293 Figure 5 (and of its notes) the exploration
//! exercised, recorded as a side effect of the model's steps, shown as a table and as a
//! Graphviz graph.
//!
//! Recording uses relaxed atomics (a load first, so that a known edge costs one shared read):
//! the checker's threads share one [`Recorder`] per scenario.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU16, Ordering};

use tcp_fsm::{Flags, State};

use crate::model::Call;

/// What moved a connection from one state to another.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Cause {
    /// connect or listen (OPEN).
    Open,
    /// A segment with SYN (no ACK).
    RcvSyn,
    /// A segment with SYN and ACK.
    RcvSynAck,
    /// A segment with ACK only (or data).
    RcvAck,
    /// A segment with FIN.
    RcvFin,
    /// A segment with RST.
    RcvRst,
    /// A timer.
    Timeout,
    /// close (or shutdown of the sending side).
    Close,
    /// abort, linger 0, close with unread data.
    Abort,
    /// A crash (not an RFC transition: the TCB is lost).
    Crash,
    /// Anything else.
    Other,
}

impl Cause {
    const COUNT: usize = 11;
    const NAMES: [&'static str; Cause::COUNT] = [
        "open",
        "rcv SYN",
        "rcv SYN,ACK",
        "rcv ACK",
        "rcv FIN",
        "rcv RST",
        "timeout",
        "close",
        "abort",
        "crash",
        "other",
    ];

    /// The cause class of an arriving segment, by its most telling control bit.
    #[must_use]
    pub fn of_segment(flags: Flags) -> Cause {
        if flags.rst() {
            Cause::RcvRst
        } else if flags.syn() && flags.ack() {
            Cause::RcvSynAck
        } else if flags.syn() {
            Cause::RcvSyn
        } else if flags.fin() {
            Cause::RcvFin
        } else {
            Cause::RcvAck
        }
    }

    /// The cause class of an application call.
    #[must_use]
    pub fn of_call(call: Call) -> Cause {
        match call {
            Call::Connect => Cause::Open,
            Call::Close | Call::Shutdown | Call::CloseListener => Cause::Close,
            Call::Abort => Cause::Abort,
            Call::Send | Call::Read => Cause::Other,
        }
    }

    /// The kind of event behind this cause, as `tcp_fsm::EDGES` names it; `None` for a crash,
    /// which is no transition of a TCB (the TCB is lost). A call that is neither OPEN, CLOSE nor
    /// ABORT (send, read) counts as a call.
    #[must_use]
    pub fn event_kind(self) -> Option<tcp_fsm::Cause> {
        match self {
            Cause::RcvSyn | Cause::RcvSynAck | Cause::RcvAck | Cause::RcvFin | Cause::RcvRst => {
                Some(tcp_fsm::Cause::Segment)
            }
            Cause::Timeout => Some(tcp_fsm::Cause::Timeout),
            Cause::Open | Cause::Close | Cause::Abort | Cause::Other => Some(tcp_fsm::Cause::Call),
            Cause::Crash => None,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u8)
    }

    /// The names of the causes in `mask`.
    fn names(mask: u16) -> String {
        (0..Cause::COUNT)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| Cause::NAMES[i])
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Edges and states seen, shared by the checker's threads.
#[derive(Default, Debug)]
pub struct Recorder {
    edges: [[AtomicU16; 11]; 11],
    reached: [AtomicU16; 2],
}

impl Recorder {
    /// Records a transition.
    pub fn edge(&self, from: State, to: State, cause: Cause) {
        let cell = &self.edges[from.index()][to.index()];
        if cell.load(Ordering::Relaxed) & cause.bit() == 0 {
            cell.fetch_or(cause.bit(), Ordering::Relaxed);
        }
    }

    /// Records that peer `p` was in `state`.
    pub fn reach(&self, p: usize, state: State) {
        let bit = 1 << state.index();
        if self.reached[p].load(Ordering::Relaxed) & bit == 0 {
            self.reached[p].fetch_or(bit, Ordering::Relaxed);
        }
    }

    /// A plain copy of what was recorded.
    #[must_use]
    pub fn snapshot(&self) -> Coverage {
        let mut c = Coverage::default();
        for (i, row) in self.edges.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                c.edges[i][j] = cell.load(Ordering::Relaxed);
            }
        }
        c.reached = [0, 1].map(|p| self.reached[p].load(Ordering::Relaxed));
        c
    }
}

/// Recorded edges (cause bits per (from, to)) and states reached per peer.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// `edges[from][to]`: the [`Cause`] bits seen.
    pub edges: [[u16; 11]; 11],
    /// Bit `state.index()` set for each state peer A (0) and B (1) was in.
    pub reached: [u16; 2],
}

impl Coverage {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Coverage) {
        for i in 0..11 {
            for j in 0..11 {
                self.edges[i][j] |= other.edges[i][j];
            }
        }
        self.reached[0] |= other.reached[0];
        self.reached[1] |= other.reached[1];
    }

    /// Whether peer `p` was in `state`.
    #[must_use]
    pub fn reached(&self, p: usize, state: State) -> bool {
        self.reached[p] & (1 << state.index()) != 0
    }

    /// Whether `edge` was exercised.
    #[must_use]
    pub fn covers(&self, edge: &Edge) -> bool {
        self.edges[edge.from.index()][edge.to.index()] & edge.causes != 0
    }
}

/// An edge of RFC 9293's state diagram, with the causes that take it.
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    /// From.
    pub from: State,
    /// To.
    pub to: State,
    /// [`Cause`] bits that count for this edge.
    pub causes: u16,
    /// The RFC's label.
    pub label: &'static str,
    /// Where the RFC has it.
    pub source: &'static str,
    /// Why the model cannot take it, when it cannot.
    pub unreachable: Option<&'static str>,
}

const fn bits(causes: &[Cause]) -> u16 {
    let mut m = 0;
    let mut i = 0;
    while i < causes.len() {
        m |= 1 << (causes[i] as u8);
        i += 1;
    }
    m
}

macro_rules! edge {
    ($from:ident -> $to:ident, [$($c:ident),*], $label:literal, $src:literal) => {
        Edge { from: State::$from, to: State::$to, causes: bits(&[$(Cause::$c),*]), label: $label, source: $src, unreachable: None }
    };
    ($from:ident -> $to:ident, [$($c:ident),*], $label:literal, $src:literal, $why:literal) => {
        Edge { from: State::$from, to: State::$to, causes: bits(&[$(Cause::$c),*]), label: $label, source: $src, unreachable: Some($why) }
    };
}

/// RFC 9293 Figure 5, its note on FIN-WAIT-1 → TIME-WAIT, and RST/ABORT from every state.
pub const EDGES: [Edge; 30] = [
    edge!(Closed -> Listen, [Open], "passive OPEN", "Fig. 5"),
    edge!(Closed -> SynSent, [Open], "active OPEN / snd SYN", "Fig. 5"),
    edge!(Listen -> SynReceived, [RcvSyn], "rcv SYN / snd SYN,ACK", "Fig. 5"),
    edge!(Listen -> SynSent, [Other], "SEND / snd SYN", "Fig. 5",
        "the core has no SEND in LISTEN: Connection::send answers NotConnected (a listener never turns active)"),
    edge!(Listen -> Closed, [Close, Abort], "CLOSE / delete TCB", "Fig. 5"),
    edge!(SynSent -> SynReceived, [RcvSyn], "rcv SYN / snd SYN,ACK", "Fig. 5"),
    edge!(SynSent -> Established, [RcvSynAck], "rcv SYN,ACK / snd ACK", "Fig. 5"),
    edge!(SynSent -> Closed, [Close], "CLOSE / delete TCB", "Fig. 5"),
    edge!(SynReceived -> Established, [RcvAck, RcvFin], "rcv ACK of SYN", "Fig. 5"),
    edge!(SynReceived -> FinWait1, [Close], "CLOSE / snd FIN", "Fig. 5"),
    edge!(SynReceived -> Listen, [RcvRst], "rcv RST (passive open)", "Fig. 5"),
    edge!(Established -> FinWait1, [Close], "CLOSE / snd FIN", "Fig. 5"),
    edge!(Established -> CloseWait, [RcvFin], "rcv FIN / snd ACK", "Fig. 5"),
    edge!(FinWait1 -> FinWait2, [RcvAck], "rcv ACK of FIN", "Fig. 5"),
    edge!(FinWait1 -> Closing, [RcvFin], "rcv FIN / snd ACK", "Fig. 5"),
    edge!(FinWait2 -> TimeWait, [RcvFin], "rcv FIN / snd ACK", "Fig. 5"),
    edge!(Closing -> TimeWait, [RcvAck], "rcv ACK of FIN", "Fig. 5"),
    edge!(CloseWait -> LastAck, [Close], "CLOSE / snd FIN", "Fig. 5"),
    edge!(LastAck -> Closed, [RcvAck], "rcv ACK of FIN", "Fig. 5"),
    edge!(TimeWait -> Closed, [Timeout], "Timeout=2MSL", "Fig. 5"),
    edge!(FinWait1 -> TimeWait, [RcvFin], "rcv FIN,ACK of our FIN / snd ACK", "Fig. 5 note 2"),
    edge!(SynSent -> Closed, [RcvRst, Abort, Timeout], "rcv RST,ACK / ABORT / timeout", "note 3"),
    edge!(SynReceived -> Closed, [RcvRst, Abort, Timeout], "rcv RST / ABORT (active open)", "note 3"),
    edge!(Established -> Closed, [RcvRst, Abort, Timeout], "rcv RST / ABORT", "note 3"),
    edge!(FinWait1 -> Closed, [RcvRst, Abort, Timeout, RcvAck], "rcv RST / ABORT", "note 3"),
    edge!(FinWait2 -> Closed, [RcvRst, Abort, Timeout, RcvAck], "rcv RST / ABORT", "note 3"),
    edge!(CloseWait -> Closed, [RcvRst, Abort, Timeout], "rcv RST / ABORT", "note 3"),
    edge!(Closing -> Closed, [RcvRst, Abort, Timeout], "rcv RST / ABORT", "note 3"),
    edge!(LastAck -> Closed, [RcvRst, Abort, Timeout], "rcv RST / ABORT", "note 3"),
    edge!(TimeWait -> Closed, [RcvRst, Abort, RcvSyn], "rcv RST / ABORT", "note 3"),
];

/// The coverage table, the percentage, and an explanation for each missing edge.
#[must_use]
pub fn report(cov: &Coverage) -> String {
    let mut out = String::new();
    let covered = EDGES.iter().filter(|e| cov.covers(e)).count();
    let _ = writeln!(
        out,
        "{:<13} {:<13} {:<12} {:<7} {:<34} seen as",
        "from", "to", "source", "covered", "RFC label"
    );
    for e in &EDGES {
        let seen = cov.edges[e.from.index()][e.to.index()] & e.causes;
        let _ = writeln!(
            out,
            "{:<13} {:<13} {:<12} {:<7} {:<34} {}",
            e.from.name(),
            e.to.name(),
            e.source,
            if seen != 0 { "yes" } else { "NO" },
            e.label,
            Cause::names(seen)
        );
    }
    let _ = writeln!(
        out,
        "\ntransition coverage: {covered}/{} edges = {:.1}%",
        EDGES.len(),
        100.0 * covered as f64 / EDGES.len() as f64
    );
    for e in EDGES.iter().filter(|e| !cov.covers(e)) {
        let why = e
            .unreachable
            .unwrap_or("not exercised by any scenario at the suite's bounds");
        let _ = writeln!(
            out,
            "  missing {} -> {} ({}): {why}",
            e.from.name(),
            e.to.name(),
            e.label
        );
    }
    let extra: Vec<String> = (0..11)
        .flat_map(|i| (0..11).map(move |j| (i, j)))
        .filter(|&(i, j)| {
            let known = EDGES
                .iter()
                .filter(|e| e.from.index() == i && e.to.index() == j)
                .fold(Cause::Crash.bit(), |m, e| m | e.causes);
            cov.edges[i][j] & !known != 0
        })
        .map(|(i, j)| {
            let known = EDGES
                .iter()
                .filter(|e| e.from.index() == i && e.to.index() == j)
                .fold(Cause::Crash.bit(), |m, e| m | e.causes);
            let mask = cov.edges[i][j] & !known;
            format!(
                "  {} -> {} ({})",
                State::ALL[i].name(),
                State::ALL[j].name(),
                Cause::names(mask)
            )
        })
        .collect();
    if !extra.is_empty() {
        let _ = writeln!(
            out,
            "explored transitions outside the table (one step passing through several states, or causes the figure does not name):"
        );
        for line in extra {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The explored (state, state) edges as a Graphviz digraph; RFC edges never taken are dashed.
#[must_use]
pub fn dot(cov: &Coverage) -> String {
    let mut out =
        String::from("digraph tcp {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
    for s in State::ALL {
        let _ = writeln!(out, "  \"{}\";", s.name());
    }
    for (i, row) in cov.edges.iter().enumerate() {
        for (j, &mask) in row.iter().enumerate() {
            if mask != 0 {
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\" [label=\"{}\"];",
                    State::ALL[i].name(),
                    State::ALL[j].name(),
                    Cause::names(mask)
                );
            }
        }
    }
    for e in EDGES
        .iter()
        .filter(|e| cov.edges[e.from.index()][e.to.index()] == 0)
    {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [style=dashed, color=red, label=\"not covered: {}\"];",
            e.from.name(),
            e.to.name(),
            e.label
        );
    }
    out.push_str("}\n");
    out
}
