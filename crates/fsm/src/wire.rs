//! The TCP header on the wire: bytes to [`Segment`] and back.
//!
//! The state machine never touches bytes; this module is the boundary. [`parse`] validates a
//! received TCP header (length, data offset, options and, given a [`PseudoHeader`], the
//! checksum) and borrows the payload; [`emit`] writes a [`Repr`] into a caller's buffer.
//! [`TcpPacket`] is the zero-copy view both are built on, after smoltcp's `wire::tcp`.
//!
//! Header layout (RFC 9293 §3.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |       |       |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           [Options]                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Nothing here panics on any input: every access to received bytes is bounds-checked.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use crate::segment::{Flags, Options, Segment, Timestamps};
use crate::seq::SeqNum;

/// Byte offsets and ranges of the TCP header fields (RFC 9293 §3.1).
pub mod field {
    /// A byte range within the header.
    pub type Field = core::ops::Range<usize>;

    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Sequence number.
    pub const SEQ_NUM: Field = 4..8;
    /// Acknowledgment number.
    pub const ACK_NUM: Field = 8..12;
    /// Data offset (high nibble, in 32-bit words), then 3 reserved bits and the AE bit
    /// (RFC 9293 §3.1; AE is RFC 3168's former NS bit, reused by AccECN).
    pub const DATA_OFFSET: usize = 12;
    /// Control bits CWR ECE URG ACK PSH RST SYN FIN, most significant first.
    pub const FLAGS: usize = 13;
    /// Window.
    pub const WINDOW: Field = 14..16;
    /// Checksum.
    pub const CHECKSUM: Field = 16..18;
    /// Urgent pointer.
    pub const URGENT: Field = 18..20;
    /// Where the options start.
    pub const OPTIONS: usize = 20;

    /// Length of a header without options (data offset 5).
    pub const MIN_HEADER_LEN: usize = 20;
    /// Length of a header with the most options (data offset 15).
    pub const MAX_HEADER_LEN: usize = 60;
}

/// Option kinds and lengths (RFC 9293 §3.1, RFC 7323, RFC 2018).
pub mod option {
    /// End of option list (RFC 9293 §3.1). One octet.
    pub const EOL: u8 = 0;
    /// No-operation (RFC 9293 §3.1). One octet.
    pub const NOP: u8 = 1;
    /// Maximum segment size (RFC 9293 §3.2).
    pub const MSS: u8 = 2;
    /// Length of the MSS option.
    pub const MSS_LEN: u8 = 4;
    /// Window scale (RFC 7323 §2.2).
    pub const WINDOW_SCALE: u8 = 3;
    /// Length of the window scale option.
    pub const WINDOW_SCALE_LEN: u8 = 3;
    /// SACK permitted (RFC 2018 §2).
    pub const SACK_PERMITTED: u8 = 4;
    /// Length of the SACK-permitted option.
    pub const SACK_PERMITTED_LEN: u8 = 2;
    /// SACK blocks (RFC 2018 §3); variable length, skipped by the parser.
    pub const SACK: u8 = 5;
    /// Timestamps (RFC 7323 §3.2).
    pub const TIMESTAMPS: u8 = 8;
    /// Length of the timestamps option.
    pub const TIMESTAMPS_LEN: u8 = 10;
}

/// Why [`parse`] (or [`TcpPacket::new_checked`]) rejected a segment.
///
/// Offsets (`at`) count octets from the start of the TCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer than 20 octets: not even a fixed header.
    Truncated {
        /// Octets available.
        len: usize,
    },
    /// Data offset below 5 words, the size of the fixed header.
    DataOffsetTooSmall {
        /// The data offset field, in 32-bit words.
        offset: u8,
    },
    /// The data offset points past the end of the segment.
    DataOffsetPastEnd {
        /// Header length the data offset claims, in octets.
        header_len: usize,
        /// Octets available.
        len: usize,
    },
    /// An option kind other than EOL or NOP is the last octet of the header, with no length.
    OptionLengthMissing {
        /// Option kind.
        kind: u8,
        /// Offset of the kind octet.
        at: usize,
    },
    /// An option's length octet is 0 or 1, shorter than its kind and length octets.
    OptionLengthInvalid {
        /// Option kind.
        kind: u8,
        /// The length octet.
        len: u8,
        /// Offset of the kind octet.
        at: usize,
    },
    /// An option runs past the end of the header.
    OptionPastEnd {
        /// Option kind.
        kind: u8,
        /// The length octet.
        len: u8,
        /// Offset of the kind octet.
        at: usize,
    },
    /// A known option kind with a length other than its fixed one.
    OptionBadLength {
        /// Option kind.
        kind: u8,
        /// The length octet.
        len: u8,
        /// Offset of the kind octet.
        at: usize,
    },
    /// The checksum does not verify against the pseudo-header and segment.
    BadChecksum {
        /// The checksum the segment should carry.
        expected: u16,
        /// The checksum it carries.
        found: u16,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WireError::Truncated { len } => {
                write!(f, "TCP segment truncated: {len} octets, header needs 20")
            }
            WireError::DataOffsetTooSmall { offset } => {
                write!(
                    f,
                    "TCP data offset {offset} is below the minimum of 5 words"
                )
            }
            WireError::DataOffsetPastEnd { header_len, len } => write!(
                f,
                "TCP header length {header_len} exceeds the segment length {len}"
            ),
            WireError::OptionLengthMissing { kind, at } => write!(
                f,
                "TCP option kind {kind} at offset {at} has no length octet"
            ),
            WireError::OptionLengthInvalid { kind, len, at } => write!(
                f,
                "TCP option kind {kind} at offset {at} has invalid length {len} (minimum 2)"
            ),
            WireError::OptionPastEnd { kind, len, at } => write!(
                f,
                "TCP option kind {kind} at offset {at} with length {len} runs past the header end"
            ),
            WireError::OptionBadLength { kind, len, at } => write!(
                f,
                "TCP option kind {kind} at offset {at} has wrong length {len}"
            ),
            WireError::BadChecksum { expected, found } => write!(
                f,
                "TCP checksum mismatch: found {found:#06x}, expected {expected:#06x}"
            ),
        }
    }
}

impl core::error::Error for WireError {}

/// Why [`emit`] could not write a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmitError {
    /// The output buffer is shorter than header plus payload.
    BufferTooSmall {
        /// Octets the segment needs ([`buffer_len`]).
        needed: usize,
        /// Octets the buffer has.
        available: usize,
    },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EmitError::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small for TCP segment: needs {needed} octets, has {available}"
            ),
        }
    }
}

impl core::error::Error for EmitError {}

/// Reads a big-endian `u16` at `f`, or 0 when the buffer is too short.
#[inline]
fn read_u16(buf: &[u8], f: field::Field) -> u16 {
    match buf.get(f) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Reads a big-endian `u32` at `f`, or 0 when the buffer is too short.
#[inline]
fn read_u32(buf: &[u8], f: field::Field) -> u32 {
    match buf.get(f) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Copies `src` to `f`; does nothing when the buffer is too short.
#[inline]
fn write_bytes(buf: &mut [u8], f: field::Field, src: &[u8]) {
    if let Some(dst) = buf.get_mut(f) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

/// A zero-copy view of a TCP segment (header and payload) in a buffer.
///
/// Getters never panic: on a buffer too short for a field (possible after
/// [`new_unchecked`](Self::new_unchecked)) they return 0 or an empty slice, and setters do
/// nothing. Use [`new_checked`](Self::new_checked) to get meaningful values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    #[must_use]
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    ///
    /// # Errors
    ///
    /// As [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds a fixed header, that the data offset is at least 5 words
    /// and that the header it describes fits in the buffer (RFC 9293 §3.1).
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`], [`WireError::DataOffsetTooSmall`] or
    /// [`WireError::DataOffsetPastEnd`].
    pub fn check_len(&self) -> Result<(), WireError> {
        split(self.buffer.as_ref()).map(|_| ())
    }

    /// The underlying buffer.
    #[inline]
    #[must_use]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    #[must_use]
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// Destination port.
    #[inline]
    #[must_use]
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// Sequence number.
    #[inline]
    #[must_use]
    pub fn seq_number(&self) -> SeqNum {
        SeqNum(read_u32(self.buffer.as_ref(), field::SEQ_NUM))
    }

    /// Acknowledgment number.
    #[inline]
    #[must_use]
    pub fn ack_number(&self) -> SeqNum {
        SeqNum(read_u32(self.buffer.as_ref(), field::ACK_NUM))
    }

    /// The data offset field: header length in 32-bit words.
    #[inline]
    #[must_use]
    pub fn data_offset(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::DATA_OFFSET)
            .map_or(0, |b| b >> 4)
    }

    /// Header length in octets (data offset × 4).
    #[inline]
    #[must_use]
    pub fn header_len(&self) -> u8 {
        self.data_offset() * 4
    }

    /// The control bits; the reserved bits and AE (byte 12) are not included.
    #[inline]
    #[must_use]
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref().get(field::FLAGS).copied().unwrap_or(0))
    }

    /// Window (unscaled).
    #[inline]
    #[must_use]
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW)
    }

    /// Checksum field.
    #[inline]
    #[must_use]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Urgent pointer.
    #[inline]
    #[must_use]
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT)
    }

    /// The options area (octets 20 to the header length); empty when the data offset is
    /// invalid for the buffer.
    #[inline]
    #[must_use]
    pub fn options(&self) -> &[u8] {
        let end = usize::from(self.header_len());
        self.buffer.as_ref().get(field::OPTIONS..end).unwrap_or(&[])
    }

    /// The payload (after the header); empty when the data offset is invalid for the buffer.
    #[inline]
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        let start = usize::from(self.header_len());
        if start < field::MIN_HEADER_LEN {
            return &[];
        }
        self.buffer.as_ref().get(start..).unwrap_or(&[])
    }

    /// Whether the checksum verifies against `pseudo` (RFC 9293 §3.1: the one's-complement
    /// sum of pseudo-header, header and payload is all ones).
    #[inline]
    #[must_use]
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        verify(pseudo, self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        write_bytes(self.buffer.as_mut(), field::SRC_PORT, &port.to_be_bytes());
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        write_bytes(self.buffer.as_mut(), field::DST_PORT, &port.to_be_bytes());
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, seq: SeqNum) {
        write_bytes(self.buffer.as_mut(), field::SEQ_NUM, &seq.0.to_be_bytes());
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, ack: SeqNum) {
        write_bytes(self.buffer.as_mut(), field::ACK_NUM, &ack.0.to_be_bytes());
    }

    /// Sets the header length in octets (rounded down to words, at most 60); clears the
    /// reserved bits and AE.
    #[inline]
    pub fn set_header_len(&mut self, len: u8) {
        let words = (len / 4).min(15);
        if let Some(b) = self.buffer.as_mut().get_mut(field::DATA_OFFSET) {
            *b = words << 4;
        }
    }

    /// Sets the control bits.
    #[inline]
    pub fn set_flags(&mut self, flags: Flags) {
        if let Some(b) = self.buffer.as_mut().get_mut(field::FLAGS) {
            *b = flags.0;
        }
    }

    /// Sets the window.
    #[inline]
    pub fn set_window_len(&mut self, window: u16) {
        write_bytes(self.buffer.as_mut(), field::WINDOW, &window.to_be_bytes());
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, sum: u16) {
        write_bytes(self.buffer.as_mut(), field::CHECKSUM, &sum.to_be_bytes());
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, urgent: u16) {
        write_bytes(self.buffer.as_mut(), field::URGENT, &urgent.to_be_bytes());
    }

    /// The options area, mutably (octets 20 to the header length).
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.header_len());
        self.buffer
            .as_mut()
            .get_mut(field::OPTIONS..end)
            .unwrap_or(&mut [])
    }

    /// The payload, mutably (after the header).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = usize::from(self.header_len());
        if start < field::MIN_HEADER_LEN {
            return &mut [];
        }
        self.buffer.as_mut().get_mut(start..).unwrap_or(&mut [])
    }

    /// Computes the checksum over the whole buffer against `pseudo` and stores it.
    #[inline]
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        let sum = checksum(pseudo, self.buffer.as_ref());
        self.set_checksum(sum);
    }
}

/// The IP pseudo-header covered by the TCP checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PseudoHeader {
    /// IPv4 (RFC 9293 §3.1): source, destination, zero, protocol 6, 16-bit TCP length.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// IPv6 (RFC 8200 §8.1): source, destination, 32-bit upper-layer length, zeros, next
    /// header 6. With a routing header, `dst` is the final destination.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address (the final one).
        dst: Ipv6Addr,
    },
}

/// The IP protocol number of TCP.
const PROTO_TCP: u16 = 6;

impl PseudoHeader {
    /// The pseudo-header's contribution to the one's-complement sum, for a TCP segment of
    /// `tcp_len` octets (header plus payload), as an unfolded accumulator of [`sum_ne`] (its
    /// words read in native byte order).
    ///
    /// Each address is added as its octets read in native order (32 or 64 bits at a time: the
    /// 16-bit lanes of a wider word sum to the same one's-complement sum, RFC 1071 §2(C)). The
    /// protocol and the length are big-endian on the wire, so they are added byte-swapped
    /// (`to_be`) into the native-order sum. The length is added as the 16-bit lanes of its
    /// 64-bit value: for IPv4 that is the 16-bit field whenever the length fits one (an IPv4
    /// datagram cannot carry more), for IPv6 the 32-bit field's two halves.
    #[inline]
    fn sum(&self, tcp_len: usize) -> u64 {
        let proto_len = add_carry(u64::from(PROTO_TCP.to_be()), (tcp_len as u64).to_be());
        match self {
            PseudoHeader::V4 { src, dst } => {
                // Two 32-bit words: their sum cannot carry out of 64 bits.
                let addrs = u64::from(u32::from_ne_bytes(src.octets()))
                    + u64::from(u32::from_ne_bytes(dst.octets()));
                add_carry(proto_len, addrs)
            }
            PseudoHeader::V6 { src, dst } => {
                let (s, d) = (
                    u128::from_ne_bytes(src.octets()),
                    u128::from_ne_bytes(dst.octets()),
                );
                [s as u64, (s >> 64) as u64, d as u64, (d >> 64) as u64]
                    .into_iter()
                    .fold(proto_len, add_carry)
            }
        }
    }
}

/// Folds a one's-complement accumulator to 16 bits with end-around carries (RFC 1071 §4.1):
/// 64 to 32 to 16 bits, one add-with-carry each (the carry of an end-around add cannot carry
/// again). A non-zero accumulator folds to 1..=0xffff, zero to zero.
#[inline]
const fn fold(sum: u64) -> u16 {
    let (s, carry) = (sum as u32).overflowing_add((sum >> 32) as u32);
    let sum = s + carry as u32;
    let (s, carry) = (sum as u16).overflowing_add((sum >> 16) as u16);
    s + carry as u16
}

/// Adds with end-around carry: a one's-complement addition in 64 bits.
#[inline]
const fn add_carry(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    s + carry as u64
}

/// Adds `data` to the one's-complement accumulator `acc` as RFC 1071 16-bit words (an odd
/// last octet padded with a zero), unfolded.
///
/// Because the words are read in native order (see [`sum_words`]), the folded sum is
/// byte-swapped relative to the big-endian one (RFC 1071 §2(B): the sum is independent of byte
/// order, up to that swap): callers fold, then `u16::from_be`.
///
/// The fixed header's 20 octets, which every segment starts with, are summed apart: at a
/// length known to the compiler, [`sum_words`] becomes straight-line code, cheaper than its
/// loop's set-up and branches for the same octets.
///
/// Always inlined (into [`checksum`], [`verify`] and [`emit`], [`verify`] itself into
/// [`parse`]): as a call, the registers its callers keep live across it were spilled and
/// reloaded on every segment, which cost more than the sum of a fixed header.
#[inline(always)]
fn sum_ne(acc: u64, data: &[u8]) -> u64 {
    match data.split_first_chunk::<{ field::MIN_HEADER_LEN }>() {
        Some((header, rest)) => sum_words(sum_words(acc, header), rest),
        None => sum_words(acc, data),
    }
}

/// [`sum_ne`] of any slice: words are read in native byte order, 64 bits at a time, and added
/// with end-around carry (a one's-complement sum in 64 bits is the 16-bit one's-complement sum
/// of its four lanes, RFC 1071 §2(C)); the tail, under 8 octets, is added as 32-, 16- and 8-bit
/// pieces.
///
/// Always inlined, so that a call on an array (the fixed header) unrolls completely.
#[inline(always)]
fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut rest = data;
    while let Some((w, r)) = rest.split_first_chunk::<8>() {
        acc = add_carry(acc, u64::from_ne_bytes(*w));
        rest = r;
    }
    // The tail as a 32-bit, a 16-bit and an odd octet read straight from the slice (octets
    // stored into a padded word and read back whole would stall store forwarding). Each lands
    // on 16-bit lanes in their original pairs, which is all the sum needs.
    if let Some((w, r)) = rest.split_first_chunk::<4>() {
        acc = add_carry(acc, u64::from(u32::from_ne_bytes(*w)));
        rest = r;
    }
    if let Some((w, r)) = rest.split_first_chunk::<2>() {
        acc = add_carry(acc, u64::from(u16::from_ne_bytes(*w)));
        rest = r;
    }
    if let &[a] = rest {
        acc = add_carry(acc, u64::from(u16::from_ne_bytes([a, 0])));
    }
    acc
}

/// The TCP checksum of `tcp_bytes` (header and payload) under `pseudo` (RFC 9293 §3.1,
/// computed as in RFC 1071): the value to store in the checksum field.
///
/// The checksum field in `tcp_bytes` is treated as zero, whatever it holds.
#[must_use]
pub fn checksum(pseudo: &PseudoHeader, tcp_bytes: &[u8]) -> u16 {
    let stored = match tcp_bytes.get(field::CHECKSUM) {
        Some(&[a, b]) => u16::from_ne_bytes([a, b]),
        _ => 0,
    };
    // Subtracting in one's complement is adding the complement.
    let sum = sum_ne(
        add_carry(pseudo.sum(tcp_bytes.len()), u64::from(!stored)),
        tcp_bytes,
    );
    !u16::from_be(fold(sum))
}

/// Whether the checksum in `tcp_bytes` verifies under `pseudo`: the one's-complement sum of
/// pseudo-header and segment, checksum field included, is all ones (RFC 1071 §1; all ones is
/// all ones in either byte order).
#[inline]
#[must_use]
pub fn verify(pseudo: &PseudoHeader, tcp_bytes: &[u8]) -> bool {
    fold(sum_ne(pseudo.sum(tcp_bytes.len()), tcp_bytes)) == 0xffff
}

/// A TCP segment with its ports: what [`parse`] returns and [`emit`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Everything else.
    pub segment: Segment<'a>,
}

/// Parses the options area (RFC 9293 §3.1 "Specific Option Definitions", RFC 7323, RFC 2018).
///
/// `opts` starts at header octet 20. Unknown kinds and SACK blocks are skipped by length;
/// a later occurrence of a kind overrides an earlier one.
fn parse_options(opts: &[u8]) -> Result<Options, WireError> {
    let mut out = Options::NONE;
    let mut i = 0usize;
    while let Some(&kind) = opts.get(i) {
        let at = field::OPTIONS + i;
        match kind {
            option::EOL => break,
            option::NOP => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(i + 1) else {
            return Err(WireError::OptionLengthMissing { kind, at });
        };
        if len < 2 {
            return Err(WireError::OptionLengthInvalid { kind, len, at });
        }
        let end = i + usize::from(len);
        let Some(body) = opts.get(i + 2..end) else {
            return Err(WireError::OptionPastEnd { kind, len, at });
        };
        let bad = WireError::OptionBadLength { kind, len, at };
        match kind {
            option::MSS => match *body {
                [a, b] => out.mss = Some(u16::from_be_bytes([a, b])),
                _ => return Err(bad),
            },
            option::WINDOW_SCALE => match *body {
                // RFC 7323 §2.3: shifts above 14 are clamped when used, kept as received here.
                [shift] => out.window_scale = Some(shift),
                _ => return Err(bad),
            },
            option::SACK_PERMITTED => match *body {
                [] => out.sack_permitted = true,
                _ => return Err(bad),
            },
            option::TIMESTAMPS => match *body {
                [v0, v1, v2, v3, e0, e1, e2, e3] => {
                    out.timestamps = Some(Timestamps {
                        value: u32::from_be_bytes([v0, v1, v2, v3]),
                        echo: u32::from_be_bytes([e0, e1, e2, e3]),
                    });
                }
                _ => return Err(bad),
            },
            // SACK blocks (kind 5) and unknown kinds: skipped by their length.
            _ => {}
        }
        i = end;
    }
    Ok(out)
}

/// A segment cut at its header's boundaries by [`split`].
struct Parts<'a> {
    /// The fixed header, octets 0 to 19.
    fixed: &'a [u8; field::MIN_HEADER_LEN],
    /// The options area, octets 20 to the header length.
    options: &'a [u8],
    /// Everything after the header.
    payload: &'a [u8],
}

/// Splits a segment into its fixed header, options area and payload after the checks of
/// [`TcpPacket::check_len`]: a fixed header is present, the data offset is at least 5 words and
/// the header it describes fits (RFC 9293 §3.1).
///
/// The fixed header comes back as an array, so [`parse`] reads its fields without further
/// bounds checks.
#[inline]
fn split(bytes: &[u8]) -> Result<Parts<'_>, WireError> {
    let len = bytes.len();
    let Some((fixed, rest)) = bytes.split_first_chunk::<{ field::MIN_HEADER_LEN }>() else {
        return Err(WireError::Truncated { len });
    };
    let offset = fixed[field::DATA_OFFSET] >> 4;
    if offset < 5 {
        return Err(WireError::DataOffsetTooSmall { offset });
    }
    let header_len = usize::from(offset) * 4;
    match rest.split_at_checked(header_len - field::MIN_HEADER_LEN) {
        Some((options, payload)) => Ok(Parts {
            fixed,
            options,
            payload,
        }),
        None => Err(WireError::DataOffsetPastEnd { header_len, len }),
    }
}

/// Parses a TCP segment (header and payload); the payload borrows from `bytes`.
///
/// Checks, in order: a fixed header is present, the data offset is at least 5 and within
/// `bytes` (RFC 9293 §3.1), the checksum when `pseudo` is given, and the options. The
/// reserved bits and AE are ignored; the control bits are byte 13 as is.
///
/// # Errors
///
/// The first failed check, as a [`WireError`].
pub fn parse<'a>(bytes: &'a [u8], pseudo: Option<&PseudoHeader>) -> Result<Repr<'a>, WireError> {
    let Parts {
        fixed: h,
        options,
        payload,
    } = split(bytes)?;
    if let Some(pseudo) = pseudo {
        if !verify(pseudo, bytes) {
            return Err(WireError::BadChecksum {
                expected: checksum(pseudo, bytes),
                found: u16::from_be_bytes([h[16], h[17]]),
            });
        }
    }
    // Most segments after the handshake carry no options (data offset 5).
    let options = if options.is_empty() {
        Options::NONE
    } else {
        parse_options(options)?
    };
    // Field offsets as in `field`, on the fixed header array (no bounds checks left).
    Ok(Repr {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        segment: Segment {
            seq: SeqNum(u32::from_be_bytes([h[4], h[5], h[6], h[7]])),
            ack: SeqNum(u32::from_be_bytes([h[8], h[9], h[10], h[11]])),
            flags: Flags(h[field::FLAGS]),
            window: u16::from_be_bytes([h[14], h[15]]),
            urgent: u16::from_be_bytes([h[18], h[19]]),
            options,
            payload,
        },
    })
}

/// Writes one option word at the front of `out` and advances it; does nothing when fewer than
/// 4 octets are left (not the case for the area [`header_len`] sizes).
#[inline]
fn put_word(out: &mut &mut [u8], word: [u8; 4]) {
    if let Some((w, rest)) = core::mem::take(out).split_first_chunk_mut::<4>() {
        *w = word;
        *out = rest;
    }
}

/// Encodes `options` into `out`, the options area, in Linux's layout (`tcp_options_write` in
/// `net/ipv4/tcp_output.c`):
///
/// - MSS: `2 4 mss`;
/// - timestamps: `4 2 8 10 tsval tsecr` with SACK-permitted, else `1 1 8 10 tsval tsecr`;
/// - SACK-permitted without timestamps: `1 1 4 2`;
/// - window scale: `1 3 3 shift`.
///
/// Every item is a whole 32-bit word, so no padding is needed; any octets of `out` left over
/// are zeroed (EOL).
fn encode_options(o: &Options, mut out: &mut [u8]) {
    if let Some(mss) = o.mss {
        let [hi, lo] = mss.to_be_bytes();
        put_word(&mut out, [option::MSS, option::MSS_LEN, hi, lo]);
    }
    if let Some(ts) = o.timestamps {
        if o.sack_permitted {
            put_word(
                &mut out,
                [
                    option::SACK_PERMITTED,
                    option::SACK_PERMITTED_LEN,
                    option::TIMESTAMPS,
                    option::TIMESTAMPS_LEN,
                ],
            );
        } else {
            put_word(
                &mut out,
                [
                    option::NOP,
                    option::NOP,
                    option::TIMESTAMPS,
                    option::TIMESTAMPS_LEN,
                ],
            );
        }
        put_word(&mut out, ts.value.to_be_bytes());
        put_word(&mut out, ts.echo.to_be_bytes());
    } else if o.sack_permitted {
        put_word(
            &mut out,
            [
                option::NOP,
                option::NOP,
                option::SACK_PERMITTED,
                option::SACK_PERMITTED_LEN,
            ],
        );
    }
    if let Some(shift) = o.window_scale {
        put_word(
            &mut out,
            [
                option::NOP,
                option::WINDOW_SCALE,
                option::WINDOW_SCALE_LEN,
                shift,
            ],
        );
    }
    if !out.is_empty() {
        out.fill(option::EOL);
    }
}

/// Octets the encoded options take (before padding).
#[inline]
const fn options_len(o: &Options) -> usize {
    let mss = if o.mss.is_some() { 4 } else { 0 };
    let ts_sack = if o.timestamps.is_some() {
        12
    } else if o.sack_permitted {
        4
    } else {
        0
    };
    let ws = if o.window_scale.is_some() { 4 } else { 0 };
    mss + ts_sack + ws
}

/// Header length [`emit`] writes for `options`: 20 plus the options padded to a multiple of
/// 4 octets (RFC 9293 §3.1). At most 40.
#[inline]
#[must_use]
pub const fn header_len(options: &Options) -> usize {
    (field::MIN_HEADER_LEN + options_len(options) + 3) & !3
}

/// Octets [`emit`] writes for `repr`: header plus payload.
#[inline]
#[must_use]
pub const fn buffer_len(repr: &Repr<'_>) -> usize {
    header_len(&repr.segment.options).saturating_add(repr.segment.payload.len())
}

/// Writes `repr` into the start of `out`: header, options (see [`header_len`]), payload and
/// the checksum under `pseudo`, or a zero checksum when `pseudo` is `None` (for checksum
/// offload). Returns the number of octets written, [`buffer_len`]`(repr)`.
///
/// The reserved bits and AE are written as zero.
///
/// Options and payload are written first; the fixed header is assembled as five 32-bit words
/// and its share of the checksum is summed from those words, not read back from `out`, so the
/// header is written once, checksum included.
///
/// # Errors
///
/// [`EmitError::BufferTooSmall`] when `out` is shorter than [`buffer_len`]`(repr)`; nothing is
/// written then.
pub fn emit(
    repr: &Repr<'_>,
    pseudo: Option<&PseudoHeader>,
    out: &mut [u8],
) -> Result<usize, EmitError> {
    let seg = &repr.segment;
    let hlen = header_len(&seg.options);
    let needed = buffer_len(repr);
    let too_small = EmitError::BufferTooSmall {
        needed,
        available: out.len(),
    };
    // `needed` is at least `hlen`, which is at least 20: the splits fail only with the first.
    let Some((fixed, rest)) = out
        .get_mut(..needed)
        .and_then(|b| b.split_first_chunk_mut::<{ field::MIN_HEADER_LEN }>())
    else {
        return Err(too_small);
    };
    let Some((options, payload)) = rest.split_at_mut_checked(hlen - field::MIN_HEADER_LEN) else {
        return Err(too_small);
    };
    if !options.is_empty() {
        encode_options(&seg.options, options);
    }
    // Equal unless `buffer_len` saturated, which no slice's length can make it do.
    if payload.len() == seg.payload.len() {
        payload.copy_from_slice(seg.payload);
    }
    // The fixed header (RFC 9293 §3.1) as big-endian words; `hlen` is at most 40, so the data
    // offset fits its nibble. The checksum field (the high half of the last word) is zero.
    let mut words = [
        (u32::from(repr.src_port) << 16) | u32::from(repr.dst_port),
        seg.seq.0,
        seg.ack.0,
        ((hlen / 4) as u32) << 28 | u32::from(seg.flags.0) << 16 | u32::from(seg.window),
        u32::from(seg.urgent),
    ];
    if let Some(pseudo) = pseudo {
        // The words as `sum_ne` would read them from `out` (native order): five 32-bit words
        // cannot carry out of 64 bits.
        let header: u64 = words.iter().map(|w| u64::from(w.to_be())).sum();
        let sum = sum_ne(add_carry(pseudo.sum(needed), header), rest);
        words[4] |= u32::from(!u16::from_be(fold(sum))) << 16;
    }
    for (dst, word) in fixed.chunks_exact_mut(4).zip(words) {
        dst.copy_from_slice(&word.to_be_bytes());
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: PseudoHeader = PseudoHeader::V4 {
        src: Ipv4Addr::new(192, 168, 1, 100),
        dst: Ipv4Addr::new(93, 184, 216, 34),
    };
    const V6: PseudoHeader = PseudoHeader::V6 {
        src: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        dst: Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0x1234, 0xabcd, 0, 0xfe, 0x2),
    };

    /// Straightforward RFC 1071 checksum, octet by octet, independent of the code above.
    fn naive_checksum(pseudo: &PseudoHeader, tcp: &[u8]) -> u16 {
        let mut bytes: Vec<u8> = Vec::new();
        match pseudo {
            PseudoHeader::V4 { src, dst } => {
                bytes.extend_from_slice(&src.octets());
                bytes.extend_from_slice(&dst.octets());
                bytes.extend_from_slice(&[0, 6]);
                bytes.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
            }
            PseudoHeader::V6 { src, dst } => {
                bytes.extend_from_slice(&src.octets());
                bytes.extend_from_slice(&dst.octets());
                bytes.extend_from_slice(&(tcp.len() as u32).to_be_bytes());
                bytes.extend_from_slice(&[0, 0, 0, 6]);
            }
        }
        let start = bytes.len();
        bytes.extend_from_slice(tcp);
        if tcp.len() >= 18 {
            bytes[start + 16] = 0;
            bytes[start + 17] = 0;
        }
        let mut sum: u32 = 0;
        for (i, b) in bytes.iter().enumerate() {
            sum += if i % 2 == 0 {
                u32::from(*b) << 8
            } else {
                u32::from(*b)
            };
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// A deterministic LCG (Numerical Recipes constants).
    struct Lcg(u32);
    impl Lcg {
        fn next_u8(&mut self) -> u8 {
            self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (self.0 >> 24) as u8
        }
    }

    fn all_options() -> Options {
        Options {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps {
                value: 0x1a2b_3c4d,
                echo: 0,
            }),
        }
    }

    fn repr(flags: Flags, options: Options, payload: &[u8]) -> Repr<'_> {
        Repr {
            src_port: 51234,
            dst_port: 443,
            segment: Segment {
                seq: SeqNum(0x9f3a_1c2e),
                ack: SeqNum(0x0102_0304),
                flags,
                window: 64240,
                urgent: 0,
                options,
                payload,
            },
        }
    }

    fn emit_vec(r: &Repr<'_>, pseudo: Option<&PseudoHeader>) -> Vec<u8> {
        let mut buf = vec![0u8; buffer_len(r)];
        let n = emit(r, pseudo, &mut buf).unwrap();
        assert_eq!(n, buf.len());
        buf
    }

    fn assert_round_trip(r: &Repr<'_>) {
        for pseudo in [V4, V6] {
            let bytes = emit_vec(r, Some(&pseudo));
            assert_eq!(bytes.len() % 4, (r.segment.payload.len()) % 4);
            assert_eq!(parse(&bytes, Some(&pseudo)), Ok(*r), "{pseudo:?}");
            assert_eq!(
                checksum(&pseudo, &bytes),
                naive_checksum(&pseudo, &bytes),
                "{pseudo:?}"
            );
        }
        let bytes = emit_vec(r, None);
        assert_eq!(TcpPacket::new_unchecked(&bytes[..]).checksum(), 0);
        assert_eq!(parse(&bytes, None), Ok(*r));
    }

    /// A Linux-style IPv4 SYN, 192.168.1.100:51234 -> 93.184.216.34:443, options
    /// MSS 1460, SACK-permitted, TS (val 0x1a2b3c4d, ecr 0), NOP, WS 7. The checksum
    /// 0x7969 was computed independently and is cross-checked by `naive_checksum`.
    const SYN: [u8; 40] = [
        0xc8, 0x22, 0x01, 0xbb, // ports 51234 -> 443
        0x9f, 0x3a, 0x1c, 0x2e, // seq
        0x00, 0x00, 0x00, 0x00, // ack
        0xa0, 0x02, 0xfa, 0xf0, // offset 10, SYN, window 64240
        0x79, 0x69, 0x00, 0x00, // checksum, urgent
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
        0x04, 0x02, 0x08, 0x0a, // SACK-permitted, TS kind/len
        0x1a, 0x2b, 0x3c, 0x4d, // TSval
        0x00, 0x00, 0x00, 0x00, // TSecr
        0x01, 0x03, 0x03, 0x07, // NOP, WS 7
    ];

    /// A 20-octet header (data offset 5) followed by `opts` padded to a word, offset fixed up.
    fn with_options(opts: &[u8]) -> Vec<u8> {
        let mut b = SYN[..20].to_vec();
        b.extend_from_slice(opts);
        while b.len() % 4 != 0 {
            b.push(0);
        }
        b[12] = ((b.len() / 4) as u8) << 4;
        b
    }

    #[test]
    fn known_linux_syn_parses_to_expected_fields() {
        assert_eq!(naive_checksum(&V4, &SYN), 0x7969);
        assert_eq!(checksum(&V4, &SYN), 0x7969);
        assert!(verify(&V4, &SYN));
        let r = parse(&SYN, Some(&V4)).unwrap();
        assert_eq!(r.src_port, 51234);
        assert_eq!(r.dst_port, 443);
        assert_eq!(r.segment.seq, SeqNum(0x9f3a_1c2e));
        assert_eq!(r.segment.ack, SeqNum(0));
        assert_eq!(r.segment.flags, Flags::SYN);
        assert_eq!(r.segment.window, 64240);
        assert_eq!(r.segment.urgent, 0);
        assert_eq!(r.segment.options, all_options());
        assert!(r.segment.payload.is_empty());
        // The same segment emitted again is byte-identical: our layout is Linux's.
        assert_eq!(emit_vec(&r, Some(&V4)), SYN);
    }

    #[test]
    fn packet_getters_read_known_syn() {
        let p = TcpPacket::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.src_port(), 51234);
        assert_eq!(p.dst_port(), 443);
        assert_eq!(p.seq_number(), SeqNum(0x9f3a_1c2e));
        assert_eq!(p.ack_number(), SeqNum(0));
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), Flags::SYN);
        assert_eq!(p.window_len(), 64240);
        assert_eq!(p.checksum(), 0x7969);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.options(), &SYN[20..]);
        assert!(p.payload().is_empty());
        assert!(p.verify_checksum(&V4));
        assert!(!p.verify_checksum(&V6));
    }

    #[test]
    fn packet_getters_do_not_panic_on_short_buffers() {
        for len in 0..SYN.len() {
            let p = TcpPacket::new_unchecked(&SYN[..len]);
            let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number());
            let _ = (p.header_len(), p.flags(), p.window_len(), p.checksum());
            let _ = (p.urgent_at(), p.options(), p.payload());
            let mut buf = SYN[..len].to_vec();
            let mut p = TcpPacket::new_unchecked(&mut buf[..]);
            p.set_checksum(1);
            p.set_urgent_at(1);
            let _ = (p.options_mut().len(), p.payload_mut().len());
        }
        assert_eq!(TcpPacket::new_unchecked(&[][..]).src_port(), 0);
        let mut bad = SYN;
        bad[12] = 0x20; // data offset 2: options and payload are empty, not overlapping
        let p = TcpPacket::new_unchecked(&bad[..]);
        assert!(p.options().is_empty());
        assert!(p.payload().is_empty());
    }

    #[test]
    fn round_trips_syn_with_all_options() {
        assert_round_trip(&repr(Flags::SYN, all_options(), b""));
    }

    #[test]
    fn round_trips_syn_ack_with_subsets_of_options() {
        let base = all_options();
        for bits in 0..16u8 {
            let o = Options {
                mss: (bits & 1 != 0).then_some(536),
                window_scale: (bits & 2 != 0).then_some(255), // kept as received, not clamped
                sack_permitted: bits & 4 != 0,
                timestamps: (bits & 8 != 0).then_some(base.timestamps.unwrap()),
            };
            assert_round_trip(&repr(Flags::SYN | Flags::ACK, o, b""));
        }
    }

    #[test]
    fn round_trips_pure_ack() {
        assert_round_trip(&repr(Flags::ACK, Options::NONE, b""));
    }

    #[test]
    fn round_trips_data_with_psh_and_timestamps() {
        let o = Options {
            timestamps: Some(Timestamps {
                value: 7,
                echo: u32::MAX,
            }),
            ..Options::NONE
        };
        assert_round_trip(&repr(Flags::ACK | Flags::PSH, o, b"hello, world!"));
        assert_round_trip(&repr(Flags::ACK | Flags::PSH, Options::NONE, b"odd"));
    }

    #[test]
    fn round_trips_fin_rst_and_every_flag_bit() {
        assert_round_trip(&repr(Flags::FIN | Flags::ACK, Options::NONE, b""));
        assert_round_trip(&repr(Flags::RST, Options::NONE, b""));
        assert_round_trip(&repr(Flags::RST | Flags::ACK, Options::NONE, b""));
        for bit in 0..8 {
            assert_round_trip(&repr(Flags(1 << bit), Options::NONE, b"x"));
        }
        let mut r = repr(Flags(0xff), Options::NONE, b"");
        r.segment.urgent = 0xbeef;
        assert_round_trip(&r);
    }

    #[test]
    fn header_len_is_word_aligned_and_matches_emit() {
        assert_eq!(header_len(&Options::NONE), 20);
        assert_eq!(header_len(&all_options()), 40);
        let only_sack = Options {
            sack_permitted: true,
            ..Options::NONE
        };
        assert_eq!(header_len(&only_sack), 24);
        let r = repr(Flags::SYN, only_sack, b"abc");
        assert_eq!(buffer_len(&r), 27);
        let bytes = emit_vec(&r, None);
        assert_eq!(&bytes[20..24], &[1, 1, 4, 2]);
    }

    #[test]
    fn emit_rejects_small_buffer() {
        let r = repr(Flags::SYN, all_options(), b"ab");
        let mut buf = [0xaau8; 41];
        assert_eq!(
            emit(&r, Some(&V4), &mut buf),
            Err(EmitError::BufferTooSmall {
                needed: 42,
                available: 41
            })
        );
        assert!(buf.iter().all(|&b| b == 0xaa));
        let mut big = [0u8; 100];
        assert_eq!(emit(&r, Some(&V4), &mut big), Ok(42));
    }

    #[test]
    fn emit_clears_reserved_bits() {
        let bytes = emit_vec(&repr(Flags::ACK, Options::NONE, b""), None);
        assert_eq!(bytes[12], 0x50);
    }

    #[test]
    fn parse_ignores_reserved_and_ae_bits() {
        let mut b = SYN;
        b[12] |= 0x0f;
        let r = parse(&b, None).unwrap();
        assert_eq!(r.segment.flags, Flags::SYN);
        assert_eq!(r.segment.options, all_options());
    }

    #[test]
    fn parse_rejects_truncated_header() {
        assert_eq!(
            parse(&SYN[..19], None),
            Err(WireError::Truncated { len: 19 })
        );
        assert_eq!(parse(&[], None), Err(WireError::Truncated { len: 0 }));
    }

    #[test]
    fn parse_rejects_data_offset_below_five() {
        let mut b = SYN;
        b[12] = 0x40;
        assert_eq!(
            parse(&b, None),
            Err(WireError::DataOffsetTooSmall { offset: 4 })
        );
    }

    #[test]
    fn parse_rejects_data_offset_past_end() {
        assert_eq!(
            parse(&SYN[..39], None),
            Err(WireError::DataOffsetPastEnd {
                header_len: 40,
                len: 39
            })
        );
    }

    #[test]
    fn parse_rejects_option_without_length_octet() {
        let b = with_options(&[1, 1, 1, 2]);
        assert_eq!(
            parse(&b, None),
            Err(WireError::OptionLengthMissing { kind: 2, at: 23 })
        );
    }

    #[test]
    fn parse_rejects_option_length_zero() {
        let b = with_options(&[1, 99, 0, 0]);
        assert_eq!(
            parse(&b, None),
            Err(WireError::OptionLengthInvalid {
                kind: 99,
                len: 0,
                at: 21
            })
        );
    }

    #[test]
    fn parse_rejects_option_length_one() {
        let b = with_options(&[8, 1, 0, 0]);
        assert_eq!(
            parse(&b, None),
            Err(WireError::OptionLengthInvalid {
                kind: 8,
                len: 1,
                at: 20
            })
        );
    }

    #[test]
    fn parse_rejects_option_past_header_end() {
        let b = with_options(&[1, 1, 8, 10, 0, 0, 0, 0]);
        assert_eq!(
            parse(&b, None),
            Err(WireError::OptionPastEnd {
                kind: 8,
                len: 10,
                at: 22
            })
        );
    }

    #[test]
    fn parse_rejects_known_options_with_wrong_length() {
        for (opts, kind, len) in [
            (&[2u8, 3, 5][..], 2, 3),
            (&[2, 5, 5, 0xb4, 0][..], 2, 5),
            (&[3, 4, 7, 0][..], 3, 4),
            (&[4, 3, 0][..], 4, 3),
            (&[8, 6, 0, 0, 0, 0][..], 8, 6),
        ] {
            assert_eq!(
                parse(&with_options(opts), None),
                Err(WireError::OptionBadLength { kind, len, at: 20 }),
                "{opts:?}"
            );
        }
    }

    #[test]
    fn parse_rejects_bad_checksum() {
        let mut b = SYN;
        b[16..18].copy_from_slice(&0x1234u16.to_be_bytes());
        assert_eq!(
            parse(&b, Some(&V4)),
            Err(WireError::BadChecksum {
                expected: 0x7969,
                found: 0x1234
            })
        );
        // Without a pseudo-header the checksum is not checked.
        assert!(parse(&b, None).is_ok());
        // A flipped payload bit is caught too.
        let r = repr(Flags::ACK, Options::NONE, b"payload");
        let mut bytes = emit_vec(&r, Some(&V6));
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        assert!(matches!(
            parse(&bytes, Some(&V6)),
            Err(WireError::BadChecksum { .. })
        ));
    }

    #[test]
    fn checksum_matches_naive_reference_on_odd_and_even_lengths() {
        let mut rng = Lcg(0x1234_5678);
        let data: Vec<u8> = (0..4096).map(|_| rng.next_u8()).collect();
        for len in (0..300).chain([1499, 1500, 4095, 4096]) {
            let tcp = &data[..len];
            for pseudo in [V4, V6] {
                assert_eq!(
                    checksum(&pseudo, tcp),
                    naive_checksum(&pseudo, tcp),
                    "len {len} {pseudo:?}"
                );
            }
        }
        // Inputs of all ones, which exercise end-around carries.
        let ones = [0xffu8; 1001];
        for len in 0..ones.len() {
            assert_eq!(
                checksum(&V4, &ones[..len]),
                naive_checksum(&V4, &ones[..len])
            );
        }
    }

    /// `parse` as it was written on the accessors of [`TcpPacket`], with no fast path: the
    /// reference the fixed-header array and the option-less shortcut are checked against.
    fn reference_parse<'a>(
        bytes: &'a [u8],
        pseudo: Option<&PseudoHeader>,
    ) -> Result<Repr<'a>, WireError> {
        let packet = TcpPacket::new_checked(bytes)?;
        if let Some(pseudo) = pseudo {
            if !packet.verify_checksum(pseudo) {
                return Err(WireError::BadChecksum {
                    expected: checksum(pseudo, bytes),
                    found: packet.checksum(),
                });
            }
        }
        let options = parse_options(packet.options())?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            segment: Segment {
                seq: packet.seq_number(),
                ack: packet.ack_number(),
                flags: packet.flags(),
                window: packet.window_len(),
                urgent: packet.urgent_at(),
                options,
                payload: &bytes[usize::from(packet.header_len())..],
            },
        })
    }

    #[test]
    fn parse_matches_the_accessor_reference_for_every_data_offset() {
        let mut rng = Lcg(0xfeed_f00d);
        let mut oks = 0;
        for offset in 0..16u8 {
            for len in 0..80usize {
                for round in 0..8 {
                    let mut b: Vec<u8> = (0..len).map(|_| rng.next_u8()).collect();
                    if len > 12 {
                        b[12] = (offset << 4) | (b[12] & 0x0f);
                    }
                    if round % 2 == 0 && offset > 5 && len >= usize::from(offset) * 4 {
                        // Options that parse: NOPs, then an MSS where it fits.
                        let opts = &mut b[20..usize::from(offset) * 4];
                        opts.fill(option::NOP);
                        if let Some(mss) = opts.get_mut(..4) {
                            mss.copy_from_slice(&[option::MSS, option::MSS_LEN, 5, 0xb4]);
                        }
                    }
                    for pseudo in [V4, V6] {
                        if round % 4 < 2 && len >= 20 {
                            let sum = checksum(&pseudo, &b);
                            b[16..18].copy_from_slice(&sum.to_be_bytes());
                        }
                        for p in [None, Some(&pseudo)] {
                            let got = parse(&b, p);
                            assert_eq!(got, reference_parse(&b, p), "{b:02x?} {p:?}");
                            oks += usize::from(got.is_ok());
                        }
                    }
                }
            }
        }
        // The inputs reach the success path too, not only the errors.
        assert!(oks > 1000, "{oks}");
    }

    /// The options area as [`encode_options`] should lay it out, octet by octet.
    fn reference_options(o: &Options) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(mss) = o.mss {
            v.extend_from_slice(&[2, 4]);
            v.extend_from_slice(&mss.to_be_bytes());
        }
        match (o.timestamps, o.sack_permitted) {
            (Some(ts), sack) => {
                v.extend_from_slice(if sack { &[4, 2] } else { &[1, 1] });
                v.extend_from_slice(&[8, 10]);
                v.extend_from_slice(&ts.value.to_be_bytes());
                v.extend_from_slice(&ts.echo.to_be_bytes());
            }
            (None, true) => v.extend_from_slice(&[1, 1, 4, 2]),
            (None, false) => {}
        }
        if let Some(shift) = o.window_scale {
            v.extend_from_slice(&[1, 3, 3, shift]);
        }
        v
    }

    /// `emit` as it was written on the setters of [`TcpPacket`] and
    /// [`TcpPacket::fill_checksum`]: the reference the word-wise header and its checksum are
    /// checked against.
    fn reference_emit(r: &Repr<'_>, pseudo: Option<&PseudoHeader>) -> Vec<u8> {
        let opts = reference_options(&r.segment.options);
        let hlen = 20 + opts.len();
        let mut buf = vec![0xa5u8; hlen + r.segment.payload.len()];
        let mut p = TcpPacket::new_unchecked(&mut buf[..]);
        p.set_src_port(r.src_port);
        p.set_dst_port(r.dst_port);
        p.set_seq_number(r.segment.seq);
        p.set_ack_number(r.segment.ack);
        p.set_header_len(hlen as u8);
        p.set_flags(r.segment.flags);
        p.set_window_len(r.segment.window);
        p.set_checksum(0);
        p.set_urgent_at(r.segment.urgent);
        p.options_mut().copy_from_slice(&opts);
        p.payload_mut().copy_from_slice(r.segment.payload);
        if let Some(pseudo) = pseudo {
            p.fill_checksum(pseudo);
        }
        buf
    }

    #[test]
    fn emit_matches_the_setter_reference() {
        let mut rng = Lcg(0xdead_beef);
        let payload: Vec<u8> = (0..64).map(|_| rng.next_u8()).collect();
        let base = all_options();
        for bits in 0..16u8 {
            let o = Options {
                mss: (bits & 1 != 0).then_some(u16::from(rng.next_u8()) << 8 | 0xb4),
                window_scale: (bits & 2 != 0).then_some(rng.next_u8()),
                sack_permitted: bits & 4 != 0,
                timestamps: (bits & 8 != 0).then_some(base.timestamps.unwrap()),
            };
            for len in (0..24).chain([63, 64]) {
                let mut r = repr(Flags(rng.next_u8()), o, &payload[..len]);
                r.src_port = u16::from_be_bytes([rng.next_u8(), rng.next_u8()]);
                r.segment.seq = SeqNum(u32::from_be_bytes([0xff, rng.next_u8(), 0xff, 7]));
                r.segment.window = u16::from_be_bytes([rng.next_u8(), 0xff]);
                r.segment.urgent = u16::from_be_bytes([rng.next_u8(), rng.next_u8()]);
                for pseudo in [None, Some(&V4), Some(&V6)] {
                    let want = reference_emit(&r, pseudo);
                    // Garbage in the buffer, which `emit` must overwrite, and room to spare.
                    let mut out = vec![0x5au8; want.len() + 3];
                    assert_eq!(emit(&r, pseudo, &mut out), Ok(want.len()));
                    assert_eq!(&out[..want.len()], &want[..], "{r:?} {pseudo:?}");
                    assert_eq!(&out[want.len()..], &[0x5a; 3]);
                }
            }
        }
    }

    #[test]
    fn fold_matches_a_carry_loop() {
        fn loop_fold(mut sum: u64) -> u16 {
            while sum >> 16 != 0 {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            sum as u16
        }
        let mut rng = Lcg(0x0bad_cafe);
        let edges = [
            0,
            1,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_ffff,
            0x1_0000_0000,
            0xffff_fffe_0001,
            u64::MAX - 1,
            u64::MAX,
        ];
        let random = (0..10_000).map(|_| {
            let b: [u8; 8] = core::array::from_fn(|_| rng.next_u8());
            u64::from_ne_bytes(b)
        });
        for sum in edges.into_iter().chain(random) {
            assert_eq!(fold(sum), loop_fold(sum), "{sum:#x}");
        }
    }

    #[test]
    fn checksum_matches_naive_reference_for_any_pseudo_header() {
        let mut rng = Lcg(0x5eed_1234);
        let data: Vec<u8> = (0..256).map(|_| rng.next_u8()).collect();
        let mut pseudos = vec![
            PseudoHeader::V4 {
                src: Ipv4Addr::BROADCAST,
                dst: Ipv4Addr::BROADCAST,
            },
            PseudoHeader::V4 {
                src: Ipv4Addr::UNSPECIFIED,
                dst: Ipv4Addr::UNSPECIFIED,
            },
            PseudoHeader::V6 {
                src: Ipv6Addr::from([0xff; 16]),
                dst: Ipv6Addr::from([0xff; 16]),
            },
            PseudoHeader::V6 {
                src: Ipv6Addr::UNSPECIFIED,
                dst: Ipv6Addr::UNSPECIFIED,
            },
        ];
        for _ in 0..200 {
            let v4: [u8; 8] = core::array::from_fn(|_| rng.next_u8());
            let v6: [u8; 32] = core::array::from_fn(|_| rng.next_u8());
            pseudos.push(PseudoHeader::V4 {
                src: Ipv4Addr::from([v4[0], v4[1], v4[2], v4[3]]),
                dst: Ipv4Addr::from([v4[4], v4[5], v4[6], v4[7]]),
            });
            let (s, d) = v6.split_at(16);
            pseudos.push(PseudoHeader::V6 {
                src: Ipv6Addr::from(<[u8; 16]>::try_from(s).unwrap()),
                dst: Ipv6Addr::from(<[u8; 16]>::try_from(d).unwrap()),
            });
        }
        for pseudo in &pseudos {
            for len in [0, 1, 19, 20, 21, 24, 27, 40, 41, 60, 255, 256] {
                let tcp = &data[..len];
                let sum = checksum(pseudo, tcp);
                assert_eq!(sum, naive_checksum(pseudo, tcp), "len {len} {pseudo:?}");
                if len >= 20 {
                    let mut filled = tcp.to_vec();
                    filled[16..18].copy_from_slice(&sum.to_be_bytes());
                    assert!(verify(pseudo, &filled), "len {len} {pseudo:?}");
                    filled[len - 1] ^= 0x80;
                    assert!(!verify(pseudo, &filled), "len {len} {pseudo:?}");
                }
            }
        }
    }

    #[test]
    fn checksum_ignores_stored_field_and_verifies() {
        let r = repr(Flags::ACK | Flags::PSH, all_options(), b"abcde");
        let mut bytes = emit_vec(&r, Some(&V6));
        let sum = TcpPacket::new_unchecked(&bytes[..]).checksum();
        assert_eq!(checksum(&V6, &bytes), sum);
        assert!(verify(&V6, &bytes));
        bytes[16] ^= 0xff;
        assert_eq!(checksum(&V6, &bytes), sum);
        assert!(!verify(&V6, &bytes));
        let mut p = TcpPacket::new_unchecked(&mut bytes[..]);
        p.fill_checksum(&V6);
        assert!(p.verify_checksum(&V6));
    }

    #[test]
    fn unknown_options_are_skipped_by_length() {
        let b = with_options(&[
            254, 6, 0xde, 0xad, 0xbe, 0xef, // experimental (RFC 6994), skipped
            5, 10, 0, 0, 0, 1, 0, 0, 0, 2, // SACK block, skipped
            2, 4, 0x05, 0xb4, // MSS 1460
        ]);
        let r = parse(&b, None).unwrap();
        assert_eq!(r.segment.options.mss, Some(1460));
        assert_eq!(r.segment.options.window_scale, None);
    }

    #[test]
    fn eol_stops_option_parsing() {
        // After EOL, even garbage (an option with length 0) is not looked at.
        let b = with_options(&[2, 4, 0x02, 0x18, 0, 3, 0, 7]);
        let r = parse(&b, None).unwrap();
        assert_eq!(r.segment.options.mss, Some(536));
        assert_eq!(r.segment.options.window_scale, None);
    }

    #[test]
    fn nop_padding_is_accepted() {
        let b = with_options(&[1, 1, 1, 3, 3, 14, 1, 1, 1, 1, 4, 2]);
        let r = parse(&b, None).unwrap();
        assert_eq!(r.segment.options.window_scale, Some(14));
        assert!(r.segment.options.sack_permitted);
    }

    #[test]
    fn truncations_and_corruptions_never_panic() {
        let r = repr(Flags::SYN | Flags::ACK, all_options(), b"some data");
        let good = emit_vec(&r, Some(&V4));
        for len in 0..=good.len() {
            let t = &good[..len];
            let _ = parse(t, Some(&V4));
            let _ = parse(t, None);
            let _ = checksum(&V4, t);
        }
        let hlen = header_len(&r.segment.options);
        let mut buf = good.clone();
        for i in 0..hlen {
            for v in 0..=255u8 {
                buf[i] = v;
                let _ = parse(&buf, None);
                if let Err(e) = parse(&buf, Some(&V4)) {
                    // Every error is a typed value that prints.
                    assert!(!format!("{e}").is_empty());
                }
            }
            buf[i] = good[i];
        }
    }

    #[test]
    fn errors_display_which_check_failed() {
        let cases: [(WireError, &str); 8] = [
            (WireError::Truncated { len: 3 }, "truncated"),
            (WireError::DataOffsetTooSmall { offset: 2 }, "data offset"),
            (
                WireError::DataOffsetPastEnd {
                    header_len: 60,
                    len: 40,
                },
                "exceeds",
            ),
            (
                WireError::OptionLengthMissing { kind: 2, at: 23 },
                "no length",
            ),
            (
                WireError::OptionLengthInvalid {
                    kind: 2,
                    len: 0,
                    at: 20,
                },
                "invalid length",
            ),
            (
                WireError::OptionPastEnd {
                    kind: 8,
                    len: 10,
                    at: 30,
                },
                "past the header end",
            ),
            (
                WireError::OptionBadLength {
                    kind: 3,
                    len: 4,
                    at: 20,
                },
                "wrong length",
            ),
            (
                WireError::BadChecksum {
                    expected: 1,
                    found: 2,
                },
                "checksum",
            ),
        ];
        for (e, needle) in cases {
            assert!(format!("{e}").contains(needle), "{e}");
            let _: &dyn core::error::Error = &e;
        }
        let e = EmitError::BufferTooSmall {
            needed: 40,
            available: 20,
        };
        assert!(format!("{e}").contains("needs 40"));
    }
}
