//! The parsed form of a TCP segment: what the state machine reads and writes.
//!
//! Ports live in the wire header and the endpoint's 4-tuple, not here: a [`Connection`]
//! never needs them. The [`wire`](crate::wire) module turns bytes into a [`Segment`] and back.
//!
//! [`Connection`]: crate::Connection

use core::fmt;

use crate::seq::SeqNum;

/// The control bits of a TCP header (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN-Echo.
    pub const ECE: Flags = Flags(0x40);
    /// Congestion window reduced.
    pub const CWR: Flags = Flags(0x80);
    /// No bits set.
    pub const NONE: Flags = Flags(0);

    /// Whether every bit of `other` is set in `self`.
    #[inline]
    #[must_use]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self`.
    #[inline]
    #[must_use]
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` with the bits of `other` added.
    #[inline]
    #[must_use]
    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// `self` without the bits of `other`.
    #[inline]
    #[must_use]
    pub const fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// SYN is set.
    #[inline]
    #[must_use]
    pub const fn syn(self) -> bool {
        self.contains(Flags::SYN)
    }
    /// ACK is set.
    #[inline]
    #[must_use]
    pub const fn ack(self) -> bool {
        self.contains(Flags::ACK)
    }
    /// RST is set.
    #[inline]
    #[must_use]
    pub const fn rst(self) -> bool {
        self.contains(Flags::RST)
    }
    /// FIN is set.
    #[inline]
    #[must_use]
    pub const fn fin(self) -> bool {
        self.contains(Flags::FIN)
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.with(rhs)
    }
}

impl fmt::Debug for Flags {
    /// tcpdump's notation: `S` SYN, `F` FIN, `R` RST, `P` PSH, `.` ACK, `U` URG, `E` ECE, `W` CWR.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Flags, char); 8] = [
            (Flags::SYN, 'S'),
            (Flags::FIN, 'F'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
            (Flags::URG, 'U'),
            (Flags::ECE, 'E'),
            (Flags::CWR, 'W'),
            (Flags::ACK, '.'),
        ];
        if self.0 == 0 {
            return f.write_str("none");
        }
        for (flag, c) in NAMES {
            if self.contains(flag) {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// TCP timestamps option values (RFC 7323 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Timestamps {
    /// TSval.
    pub value: u32,
    /// TSecr.
    pub echo: u32,
}

/// The TCP options this implementation understands. Unknown kinds are skipped by the parser.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Options {
    /// Maximum segment size (kind 2), only meaningful on SYN.
    pub mss: Option<u16>,
    /// Window scale shift (kind 3), only meaningful on SYN. Values above 14 are clamped to 14 when
    /// used (RFC 7323 §2.3), but kept as received here.
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// Timestamps (kind 8).
    pub timestamps: Option<Timestamps>,
}

impl Options {
    /// No options.
    pub const NONE: Options = Options {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        timestamps: None,
    };
}

/// A TCP segment as the state machine sees it: header fields and payload, no ports.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Segment<'a> {
    /// SEG.SEQ.
    pub seq: SeqNum,
    /// SEG.ACK; meaningful only when [`Flags::ACK`] is set.
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// SEG.WND as carried in the header (unscaled).
    pub window: u16,
    /// Urgent pointer as carried in the header (this implementation does not act on it).
    pub urgent: u16,
    /// Options.
    pub options: Options,
    /// The payload.
    pub payload: &'a [u8],
}

impl Segment<'_> {
    /// SEG.LEN: payload octets plus one for SYN and one for FIN (RFC 9293 §3.4).
    #[inline]
    #[must_use]
    pub fn len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }

    /// Whether SEG.LEN is zero.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Segment<'_> {
    /// The RFC's figure notation: `<SEQ=100><ACK=301><CTL=SYN,ACK><DATA=3>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<SEQ={}>", self.seq)?;
        if self.flags.ack() {
            write!(f, "<ACK={}>", self.ack)?;
        }
        f.write_str("<CTL=")?;
        let mut first = true;
        for (flag, name) in [
            (Flags::SYN, "SYN"),
            (Flags::FIN, "FIN"),
            (Flags::RST, "RST"),
            (Flags::ACK, "ACK"),
        ] {
            if self.flags.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        f.write_str(">")?;
        if !self.payload.is_empty() {
            write!(f, "<DATA={}>", self.payload.len())?;
        }
        Ok(())
    }
}

/// Where an outgoing segment's payload comes from.
///
/// The connection does not hold application bytes: the caller keeps its send buffer, whose
/// first byte is the oldest byte not yet reported as acknowledged by
/// [`Connection::take_acked`](crate::Connection::take_acked). The payload is
/// `send_buffer[offset .. offset + len]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct PayloadRange {
    /// Offset into the caller's send buffer.
    pub offset: u32,
    /// Number of octets.
    pub len: u32,
}

/// A segment the connection wants sent, whose payload the caller copies from its send buffer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[must_use = "a polled segment must be sent (or deliberately dropped)"]
pub struct Transmit {
    /// Header fields; `payload` is empty and stands for [`Transmit::payload`].
    pub segment: Segment<'static>,
    /// The payload's place in the caller's send buffer.
    pub payload: PayloadRange,
}

impl Transmit {
    /// The segment with its payload taken from `send_buffer`.
    ///
    /// Returns `None` when the buffer is shorter than the range: the caller's buffer and the
    /// connection disagree (the caller dropped bytes it had not been told were acknowledged).
    #[must_use]
    pub fn with_payload<'b>(&self, send_buffer: &'b [u8]) -> Option<Segment<'b>> {
        let start = self.payload.offset as usize;
        let end = start.checked_add(self.payload.len as usize)?;
        let payload = send_buffer.get(start..end)?;
        Some(Segment {
            payload,
            ..self.segment
        })
    }

    /// SEG.LEN of the segment once its payload is filled in.
    #[must_use]
    pub fn len(&self) -> u32 {
        self.segment.len() + self.payload.len
    }

    /// Whether SEG.LEN is zero.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn len_counts_syn_and_fin() {
        let seg = Segment {
            flags: Flags::SYN | Flags::FIN,
            payload: b"abc",
            ..Segment::default()
        };
        assert_eq!(seg.len(), 5);
    }

    #[test]
    fn flags_print_like_tcpdump() {
        assert_eq!(format!("{}", Flags::SYN | Flags::ACK), "S.");
        assert_eq!(format!("{}", Flags::RST | Flags::ACK), "R.");
        assert_eq!(format!("{}", Flags::NONE), "none");
    }

    #[test]
    fn display_uses_rfc_notation() {
        let seg = Segment {
            seq: SeqNum(100),
            ack: SeqNum(301),
            flags: Flags::SYN | Flags::ACK,
            ..Segment::default()
        };
        assert_eq!(format!("{seg}"), "<SEQ=100><ACK=301><CTL=SYN,ACK>");
    }

    #[test]
    fn transmit_payload_out_of_range_is_none() {
        let t = Transmit {
            segment: Segment::default(),
            payload: PayloadRange { offset: 2, len: 3 },
        };
        assert_eq!(t.with_payload(b"abcde").unwrap().payload, b"cde");
        assert!(t.with_payload(b"abcd").is_none());
    }
}
