//! The transition hot paths: one arriving segment, in one state, and what comes out.
//!
//! Each [`Fixture`] holds the machine as it is before the segment arrives (a [`Connection`] or a
//! compact [`TimeWait`] entry), the segment, and the same segment on the wire. A bench copies the
//! machine (outside the timed region), then runs [`Fixture::run`] (state machine only: parsed
//! segment in, segments out) or [`Fixture::run_bytes`] (wire parse with checksum verification,
//! state machine, wire emit with checksum of every segment out).
//!
//! All fixtures run Linux's default [`Policy`]. The challenge-ACK path is the *first* challenge
//! ACK of its connection (`last_invalid` is unset), which the rate limit
//! ([`Policy::invalid_ratelimit`], 500 ms) always lets through; every iteration starts from that
//! same state, so every measured RST draws its challenge ACK.

use std::hint::black_box;
use std::net::SocketAddrV4;

use tcp_fsm::wire::PseudoHeader;
use tcp_fsm::{
    Connection, Disposition, Flags, Instant, Policy, Segment, SeqNum, TimeWait, TimeWaitVerdict,
};

use crate::{CLIENT, SEND_BUFFER, SERVER, WIRE_BUFFER, established_pair};

/// One hot path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Path {
    /// ESTABLISHED: an in-order 1-octet data segment, delivered and ACKed.
    DataInOrder,
    /// ESTABLISHED, one octet in flight: the ACK that acknowledges it (nothing goes out).
    PureAck,
    /// ESTABLISHED, one octet in flight: a duplicate ACK (SEG.ACK = SND.UNA, same window).
    DupAck,
    /// ESTABLISHED: a 1-octet segment far beyond the receive window, answered with an ACK and
    /// dropped (segments with data are never rate-limited).
    OutOfWindow,
    /// ESTABLISHED: a RST inside the window but not at RCV.NXT, answered with a challenge ACK
    /// (RFC 5961 §3.2), the first of its connection.
    RstChallenge,
    /// LISTEN: a SYN (MSS and window scale options), answered with a SYN+ACK.
    SynAtListener,
    /// A compact TIME-WAIT entry: the peer's FIN again, ACKed, 2*MSL restarted.
    TimeWaitFin,
}

impl Path {
    /// Every hot path, in the order of the issue.
    pub const ALL: [Path; 7] = [
        Path::DataInOrder,
        Path::PureAck,
        Path::DupAck,
        Path::OutOfWindow,
        Path::RstChallenge,
        Path::SynAtListener,
        Path::TimeWaitFin,
    ];

    /// The bench name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Path::DataInOrder => "data_in_order",
            Path::PureAck => "pure_ack",
            Path::DupAck => "dup_ack",
            Path::OutOfWindow => "out_of_window",
            Path::RstChallenge => "rst_challenge_ack",
            Path::SynAtListener => "syn_at_listener",
            Path::TimeWaitFin => "time_wait_fin",
        }
    }
}

/// The state a segment arrives in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Machine {
    /// A full connection.
    Conn(Connection),
    /// A compact TIME-WAIT entry.
    TimeWait(TimeWait),
}

/// What a run produced (returned so the optimiser must compute it).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Outcome {
    /// Octets delivered to the receive buffer.
    pub delivered: usize,
    /// Segments sent in answer.
    pub sent: usize,
    /// Octets of those segments on the wire (only with [`Fixture::run_bytes`]).
    pub wire_octets: usize,
}

/// A hot path, ready to run.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// Which path.
    pub path: Path,
    /// The policy (Linux's defaults).
    pub policy: Policy,
    /// When the segment arrives.
    pub now: Instant,
    /// The machine before the segment arrives.
    pub machine: Machine,
    /// The arriving segment, parsed.
    pub segment: Segment<'static>,
    /// The arriving segment on the wire (checksum filled), in its first `len` octets; an array,
    /// so that the fixture owns no heap memory and dropping it costs nothing.
    pub bytes: [u8; WIRE_BUFFER],
    /// The length of the arriving segment on the wire.
    pub len: usize,
    /// Where the arriving segment comes from.
    pub src: SocketAddrV4,
    /// Where it goes.
    pub dst: SocketAddrV4,
    rx_pseudo: PseudoHeader,
    tx_pseudo: PseudoHeader,
}

impl Fixture {
    /// Builds the fixture of `path`.
    ///
    /// # Panics
    /// If the core does not reach the state the path needs (a bug in the core).
    #[must_use]
    pub fn new(path: Path) -> Fixture {
        let policy = Policy::default();
        let now = Instant::from_millis(1);
        let (mut client, mut server) = established_pair(&policy);
        let (src, dst) = (CLIENT, SERVER);
        let status = server.status();
        let in_order = |client: &mut Connection| {
            client.send(&policy, 1).expect("room in the send buffer");
            let t = client
                .poll_transmit(&policy, now)
                .expect("the data segment");
            t.with_payload(&SEND_BUFFER).expect("payload in the buffer")
        };
        // The server has one octet in flight; the client's ACK of it.
        let ack_of_server_data = |client: &mut Connection, server: &mut Connection| {
            server.send(&policy, 1).expect("room in the send buffer");
            let data = server
                .poll_transmit(&policy, now)
                .expect("the data segment");
            let data = data
                .with_payload(&SEND_BUFFER)
                .expect("payload in the buffer");
            let _ = client.handle_segment(&policy, now, &data);
            client.poll_transmit(&policy, now).expect("the ACK").segment
        };
        let (machine, segment, src, dst) = match path {
            Path::DataInOrder => (Machine::Conn(server), in_order(&mut client), src, dst),
            Path::PureAck => {
                let ack = ack_of_server_data(&mut client, &mut server);
                (Machine::Conn(server), ack, src, dst)
            }
            Path::DupAck => {
                let ack = ack_of_server_data(&mut client, &mut server);
                let dup = Segment {
                    ack: server.status().snd_una,
                    ..ack
                };
                (Machine::Conn(server), dup, src, dst)
            }
            Path::OutOfWindow => {
                let data = in_order(&mut client);
                let far = Segment {
                    seq: status.rcv_nxt + (1 << 30),
                    ..data
                };
                (Machine::Conn(server), far, src, dst)
            }
            Path::RstChallenge => {
                let rst = Segment {
                    seq: status.rcv_nxt + 100,
                    flags: Flags::RST,
                    ..Segment::default()
                };
                (Machine::Conn(server), rst, src, dst)
            }
            Path::SynAtListener => {
                let mut c = Connection::connect(&policy, now, SeqNum(7_000));
                let syn = c.poll_transmit(&policy, now).expect("the SYN").segment;
                let listener = Connection::listen(&policy, SeqNum(900_000));
                (Machine::Conn(listener), syn, src, dst)
            }
            Path::TimeWaitFin => {
                let (tw, fin) = time_wait_entry(&policy, client, server);
                (Machine::TimeWait(tw), fin, SERVER, CLIENT)
            }
        };
        let rx_pseudo = crate::pseudo(src, dst);
        let mut bytes = [0; WIRE_BUFFER];
        let len = crate::emit(&segment, src.port(), dst.port(), &rx_pseudo, &mut bytes);
        Fixture {
            path,
            policy,
            now,
            machine,
            segment,
            bytes,
            len,
            src,
            dst,
            rx_pseudo,
            tx_pseudo: crate::pseudo(dst, src),
        }
    }

    /// State machine only: the parsed segment in, every answer polled out.
    #[inline]
    pub fn run(&self, machine: &mut Machine) -> Outcome {
        self.step(machine, &self.segment, |_| 0)
    }

    /// Wire included: parse the arriving bytes (checksum verified), run the state machine, and
    /// emit every answer (checksum filled) into `out`.
    ///
    /// # Panics
    /// If the bytes do not parse (a fixture bug).
    #[inline]
    pub fn run_bytes(&self, machine: &mut Machine, out: &mut [u8; WIRE_BUFFER]) -> Outcome {
        let seg = crate::parse(&self.bytes[..self.len], &self.rx_pseudo);
        let (from, to) = (self.dst.port(), self.src.port());
        self.step(machine, &seg, |s| {
            crate::emit(s, from, to, &self.tx_pseudo, &mut out[..])
        })
    }

    #[inline]
    fn step(
        &self,
        machine: &mut Machine,
        seg: &Segment<'_>,
        mut send: impl FnMut(&Segment<'_>) -> usize,
    ) -> Outcome {
        let (policy, now) = (&self.policy, self.now);
        let mut outcome = Outcome::default();
        match machine {
            Machine::Conn(c) => {
                outcome.delivered = c.handle_segment(policy, now, seg).data.len();
                while let Some(t) = c.poll_transmit(policy, now) {
                    let s = t.with_payload(&SEND_BUFFER).unwrap_or(t.segment);
                    outcome.wire_octets += send(black_box(&s));
                    outcome.sent += 1;
                }
            }
            Machine::TimeWait(tw) => match tw.handle_segment(policy, now, seg) {
                TimeWaitVerdict::Ack | TimeWaitVerdict::AckFin | TimeWaitVerdict::ChallengeAck => {
                    outcome.wire_octets += send(black_box(&tw.ack_segment()));
                    outcome.sent += 1;
                }
                _ => {}
            },
        }
        outcome
    }

    /// What the path must produce: octets delivered and segments sent.
    #[must_use]
    pub fn expected(&self) -> (usize, usize) {
        match self.path {
            Path::DataInOrder => (1, 1),
            Path::PureAck | Path::DupAck => (0, 0),
            Path::OutOfWindow | Path::RstChallenge | Path::SynAtListener | Path::TimeWaitFin => {
                (0, 1)
            }
        }
    }

    /// The disposition the core gives the segment (for the tests).
    #[must_use]
    pub fn disposition(&self) -> Option<Disposition> {
        match self.machine.clone() {
            Machine::Conn(mut c) => Some(
                c.handle_segment(&self.policy, self.now, &self.segment)
                    .disposition,
            ),
            Machine::TimeWait(_) => None,
        }
    }
}

/// Closes an established pair client first, until the client is in TIME-WAIT; returns the
/// client's compact entry and the server's FIN (which the client has ACKed once already).
fn time_wait_entry(
    policy: &Policy,
    mut client: Connection,
    mut server: Connection,
) -> (TimeWait, Segment<'static>) {
    let now = Instant::from_millis(1);
    client.close(policy, now).expect("close in ESTABLISHED");
    let fin = client
        .poll_transmit(policy, now)
        .expect("the client's FIN")
        .segment;
    let _ = server.handle_segment(policy, now, &fin);
    while server.poll_transmit(policy, now).is_some() {}
    server.close(policy, now).expect("close in CLOSE-WAIT");
    let server_fin = server
        .poll_transmit(policy, now)
        .expect("the server's FIN")
        .segment;
    let _ = client.handle_segment(policy, now, &server_fin);
    while client.poll_transmit(policy, now).is_some() {}
    assert_eq!(client.state(), tcp_fsm::State::TimeWait);
    (client.time_wait_entry(policy), server_fin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_produces_what_its_name_says() {
        for path in Path::ALL {
            let f = Fixture::new(path);
            let mut m = f.machine.clone();
            let o = f.run(&mut m);
            assert_eq!((o.delivered, o.sent), f.expected(), "{path:?}");
            let mut m = f.machine.clone();
            let mut out = [0; WIRE_BUFFER];
            let b = f.run_bytes(&mut m, &mut out);
            assert_eq!((b.delivered, b.sent), f.expected(), "{path:?} with bytes");
            assert_eq!(b.wire_octets > 0, b.sent > 0, "{path:?}");
        }
    }

    #[test]
    fn dispositions_are_the_named_ones() {
        let d = |p| Fixture::new(p).disposition();
        assert_eq!(d(Path::DataInOrder), Some(Disposition::Accepted));
        assert_eq!(d(Path::PureAck), Some(Disposition::Accepted));
        assert_eq!(d(Path::DupAck), Some(Disposition::Accepted));
        assert_eq!(d(Path::OutOfWindow), Some(Disposition::Unacceptable));
        assert_eq!(d(Path::RstChallenge), Some(Disposition::ChallengeAck));
        assert_eq!(d(Path::SynAtListener), Some(Disposition::Accepted));
        let f = Fixture::new(Path::TimeWaitFin);
        let Machine::TimeWait(mut tw) = f.machine.clone() else {
            panic!("a TIME-WAIT entry")
        };
        assert_eq!(
            tw.handle_segment(&f.policy, f.now, &f.segment),
            TimeWaitVerdict::AckFin
        );
    }

    #[test]
    fn answers_are_acks_of_the_right_kind() {
        let f = Fixture::new(Path::SynAtListener);
        let Machine::Conn(mut c) = f.machine.clone() else {
            panic!("a listener")
        };
        let _ = c.handle_segment(&f.policy, f.now, &f.segment);
        let t = c.poll_transmit(&f.policy, f.now).expect("SYN+ACK");
        assert!(t.segment.flags.contains(Flags::SYN | Flags::ACK));
    }
}
