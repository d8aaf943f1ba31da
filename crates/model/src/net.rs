//! The network between the two peers: a channel per direction, and a pool of old duplicates.
//!
//! Segments are stored compactly ([`Seg`], 16 bytes, payload inline) in fixed arrays so that a
//! model state is cheap to clone and hash. Each channel is first-in first-out; delivering any
//! other segment than the oldest is a *reorder*, which the model counts against a budget. Old
//! duplicates from an earlier incarnation sit in a separate pool and may arrive at any time:
//! they are arbitrarily delayed by definition.

use core::hash::{Hash, Hasher};

use tcp_fsm::{Flags, Options, Policy, Segment, SeqNum};

/// Most payload octets one stored segment carries (the model's writers write fewer).
pub const PAYLOAD_CAP: usize = 3;
/// Most segments in flight in one direction.
pub const CHANNEL_CAP: usize = 12;
/// Most old duplicates in the pool.
pub const POOL_CAP: usize = 2;

/// A segment in flight, with its sender and the sender's incarnation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Seg {
    /// SEG.SEQ.
    pub seq: u32,
    /// SEG.ACK.
    pub ack: u32,
    /// SEG.WND (unscaled: the model does not scale windows).
    pub window: u16,
    /// Control bits ([`Flags`]).
    pub flags: u8,
    /// Sender: peer index in bit 7, its incarnation in bits 0..7.
    pub origin: u8,
    /// Payload length.
    pub len: u8,
    /// Payload octets (the first `len`).
    pub payload: [u8; PAYLOAD_CAP],
}

impl Seg {
    /// Stores `segment` sent by peer `from` in incarnation `incarnation`; `None` if its payload
    /// or options do not fit the compact form (the model's bounds were exceeded).
    #[must_use]
    pub fn capture(
        segment: &Segment<'_>,
        from: usize,
        incarnation: u8,
        policy: &Policy,
    ) -> Option<Seg> {
        if segment.payload.len() > PAYLOAD_CAP
            || segment.options != syn_options(segment.flags, policy)
        {
            return None;
        }
        let mut payload = [0; PAYLOAD_CAP];
        payload[..segment.payload.len()].copy_from_slice(segment.payload);
        Some(Seg {
            seq: segment.seq.0,
            ack: segment.ack.0,
            window: segment.window,
            flags: segment.flags.0,
            origin: ((from as u8) << 7) | (incarnation & 0x7f),
            len: segment.payload.len() as u8,
            payload,
        })
    }

    /// A segment without payload, as the core would send it with these header fields (SYNs carry
    /// the MSS option, which is not stored).
    #[must_use]
    pub fn header(from: usize, incarnation: u8, seq: u32, ack: u32, flags: Flags) -> Seg {
        Seg {
            seq,
            ack,
            window: 64,
            flags: flags.0,
            origin: ((from as u8) << 7) | (incarnation & 0x7f),
            len: 0,
            payload: [0; PAYLOAD_CAP],
        }
    }

    /// The segment as the core reads it. SYNs carry the MSS option of `policy`, as the core
    /// sends them (no window scaling, no timestamps in the model's policies).
    #[must_use]
    pub fn segment(&self, policy: &Policy) -> Segment<'_> {
        Segment {
            seq: SeqNum(self.seq),
            ack: SeqNum(self.ack),
            flags: Flags(self.flags),
            window: self.window,
            urgent: 0,
            options: syn_options(Flags(self.flags), policy),
            payload: &self.payload[..usize::from(self.len)],
        }
    }

    /// The sending peer's index.
    #[must_use]
    pub fn from(&self) -> usize {
        usize::from(self.origin >> 7)
    }

    /// The sender's incarnation when it sent the segment.
    #[must_use]
    pub fn incarnation(&self) -> u8 {
        self.origin & 0x7f
    }

    /// The control bits.
    #[must_use]
    pub fn flags(&self) -> Flags {
        Flags(self.flags)
    }
}

/// The options the core puts on a segment with these flags under the model's policies.
fn syn_options(flags: Flags, policy: &Policy) -> Options {
    if flags.syn() {
        Options {
            mss: Some(policy.mss),
            ..Options::NONE
        }
    } else {
        Options::NONE
    }
}

/// A bounded, ordered list of segments; unused slots stay zeroed, and only the used prefix is
/// hashed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Queue<const N: usize> {
    segs: [Seg; N],
    len: u8,
}

impl<const N: usize> Default for Queue<N> {
    fn default() -> Self {
        Queue {
            segs: [Seg::default(); N],
            len: 0,
        }
    }
}

impl<const N: usize> Hash for Queue<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<const N: usize> Queue<N> {
    /// The segments, oldest first.
    #[must_use]
    pub fn as_slice(&self) -> &[Seg] {
        &self.segs[..usize::from(self.len)]
    }

    /// Number of segments.
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the queue is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `seg`; `false` if the queue is full.
    pub fn push(&mut self, seg: Seg) -> bool {
        let len = usize::from(self.len);
        if len == N {
            return false;
        }
        self.segs[len] = seg;
        self.len += 1;
        true
    }

    /// Removes and returns the segment at `index`, keeping the others in order.
    pub fn remove(&mut self, index: usize) -> Seg {
        let len = usize::from(self.len);
        let seg = self.segs[index];
        self.segs.copy_within(index + 1..len, index);
        self.segs[len - 1] = Seg::default();
        self.len -= 1;
        seg
    }
}

/// Everything in flight.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Net {
    /// `channels[p]` holds what peer `p` sent, oldest first.
    pub channels: [Queue<CHANNEL_CAP>; 2],
    /// Old duplicates from an earlier incarnation, delivered in any order at any time.
    pub old: Queue<POOL_CAP>,
}

impl Net {
    /// Whether nothing is in flight.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.channels[0].is_empty() && self.channels[1].is_empty() && self.old.is_empty()
    }

    /// Every segment in flight.
    pub fn iter(&self) -> impl Iterator<Item = &Seg> {
        self.channels[0]
            .as_slice()
            .iter()
            .chain(self.channels[1].as_slice())
            .chain(self.old.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keeps_order_and_zeroes_freed_slots() {
        let mut q = Queue::<3>::default();
        for seq in 1..=3 {
            assert!(q.push(Seg {
                seq,
                ..Seg::default()
            }));
        }
        assert!(!q.push(Seg::default()));
        assert_eq!(q.remove(1).seq, 2);
        let seqs: Vec<u32> = q.as_slice().iter().map(|s| s.seq).collect();
        assert_eq!(seqs, [1, 3]);
        let mut fresh = Queue::<3>::default();
        fresh.push(Seg {
            seq: 1,
            ..Seg::default()
        });
        fresh.push(Seg {
            seq: 3,
            ..Seg::default()
        });
        assert_eq!(q, fresh);
    }

    #[test]
    fn capture_round_trips() {
        let policy = Policy::LINUX;
        let seg = Segment {
            seq: SeqNum(u32::MAX),
            ack: SeqNum(7),
            flags: Flags::SYN | Flags::ACK,
            window: 64,
            options: syn_options(Flags::SYN, &policy),
            ..Segment::default()
        };
        let stored = Seg::capture(&seg, 1, 3, &policy).unwrap();
        assert_eq!(stored.from(), 1);
        assert_eq!(stored.incarnation(), 3);
        assert_eq!(stored.segment(&policy), seg);
    }
}
