//! Just enough IPv4 (RFC 791) to carry TCP segments where an embedder owns the IP layer (a TUN
//! device, a capture file): a 20-octet header without options, no fragmentation. The state
//! machine never needs it; the interop harness, the model's and the fuzzers' captures do.

use core::fmt;
use core::net::Ipv4Addr;
#[cfg(feature = "alloc")]
use core::net::SocketAddrV4;

#[cfg(feature = "alloc")]
use alloc::{vec, vec::Vec};

#[cfg(feature = "alloc")]
use crate::segment::Segment;
#[cfg(feature = "alloc")]
use crate::wire::{self, PseudoHeader, Repr};

/// Length of the header this module writes (no options).
pub const HEADER_LEN: usize = 20;

/// The IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// A parsed IPv4 datagram: addresses, protocol and the payload it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number (6 for TCP).
    pub protocol: u8,
    /// The payload, cut at the header's total length.
    pub payload: &'a [u8],
}

/// A datagram that cannot be written: more than 65,535 octets, or a buffer too short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TooLarge {
    /// The octets the datagram (or header) needs.
    pub needed: usize,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an IPv4 datagram of {} octets does not fit", self.needed)
    }
}

impl core::error::Error for TooLarge {}

/// Parses an IPv4 datagram; `None` for anything else (IPv6, truncated, fragments).
#[must_use]
pub fn parse(bytes: &[u8]) -> Option<Datagram<'_>> {
    let first = *bytes.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]));
    let frag = u16::from_be_bytes([*bytes.get(6)?, *bytes.get(7)?]);
    // More-fragments set, or a non-zero offset: nothing here reassembles.
    if ihl < HEADER_LEN || total < ihl || total > bytes.len() || frag & 0x3fff != 0 {
        return None;
    }
    let octets = |at: usize| Ipv4Addr::new(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
    Some(Datagram {
        src: octets(12),
        dst: octets(16),
        protocol: bytes[9],
        payload: &bytes[ihl..total],
    })
}

/// Writes a datagram header for `payload_len` octets of `protocol` into `out[..20]`: TTL 64,
/// Don't Fragment (as Linux sets for TCP), identification `id`, header checksum filled in.
///
/// # Errors
/// [`TooLarge`] if `out` is shorter than [`HEADER_LEN`] or the datagram would exceed 65,535
/// octets; `out` is then untouched.
pub fn write_header(
    out: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload_len: usize,
    id: u16,
) -> Result<(), TooLarge> {
    let needed = HEADER_LEN.saturating_add(payload_len);
    let total = u16::try_from(needed).map_err(|_| TooLarge { needed })?;
    let h = out
        .get_mut(..HEADER_LEN)
        .ok_or(TooLarge { needed: HEADER_LEN })?;
    h[0] = 0x45;
    h[1] = 0;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    h[8] = 64;
    h[9] = protocol;
    h[10..12].copy_from_slice(&[0, 0]);
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let sum = header_checksum(h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    Ok(())
}

/// The RFC 1071 checksum of a header (its checksum field taken as it is): 0 for a valid one.
#[must_use]
pub fn header_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One whole datagram carrying `segment` from `src` to `dst`: an IPv4 header (identification
/// `id`) and the TCP header and payload from [`wire::emit`], both checksums filled in.
///
/// # Errors
/// [`TooLarge`] past 65,535 octets.
#[cfg(feature = "alloc")]
pub fn tcp_datagram(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    segment: &Segment<'_>,
    id: u16,
) -> Result<Vec<u8>, TooLarge> {
    let repr = Repr {
        src_port: src.port(),
        dst_port: dst.port(),
        segment: *segment,
    };
    let tcp_len = wire::buffer_len(&repr);
    let mut out = vec![0u8; HEADER_LEN + tcp_len];
    write_header(&mut out, *src.ip(), *dst.ip(), PROTO_TCP, tcp_len, id)?;
    let pseudo = PseudoHeader::V4 {
        src: *src.ip(),
        dst: *dst.ip(),
    };
    // The buffer is exactly `buffer_len` long, so emit has the room it needs.
    let n = wire::emit(&repr, Some(&pseudo), &mut out[HEADER_LEN..]).map_err(|_| TooLarge {
        needed: HEADER_LEN + tcp_len,
    })?;
    out.truncate(HEADER_LEN + n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_header_parses_back_and_verifies() {
        let mut buf = [0u8; HEADER_LEN + 3];
        let (src, dst) = (Ipv4Addr::new(10, 200, 0, 2), Ipv4Addr::new(10, 200, 0, 1));
        write_header(&mut buf, src, dst, PROTO_TCP, 3, 7).unwrap();
        buf[HEADER_LEN..].copy_from_slice(b"abc");
        let d = parse(&buf).expect("parses");
        assert_eq!(
            (d.src, d.dst, d.protocol, d.payload),
            (src, dst, 6, &b"abc"[..])
        );
        assert_eq!(
            header_checksum(&buf[..HEADER_LEN]),
            0,
            "a valid header sums to zero"
        );
    }

    #[test]
    fn ipv6_truncated_and_fragments_are_not_parsed() {
        assert!(parse(&[0x60; 40]).is_none());
        assert!(parse(&[0x45, 0, 0]).is_none());
        let mut buf = [0u8; HEADER_LEN];
        write_header(&mut buf, Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 6, 0, 1).unwrap();
        buf[6] = 0x20; // more fragments
        assert!(parse(&buf).is_none());
    }

    #[test]
    fn oversized_datagrams_and_short_buffers_are_refused_untouched() {
        let mut buf = [0xaau8; HEADER_LEN];
        let a = Ipv4Addr::LOCALHOST;
        assert_eq!(
            write_header(&mut buf, a, a, 6, 65_516, 1),
            Err(TooLarge { needed: 65_536 })
        );
        assert_eq!(
            write_header(&mut buf[..19], a, a, 6, 0, 1),
            Err(TooLarge { needed: HEADER_LEN })
        );
        assert_eq!(buf, [0xaa; HEADER_LEN]);
    }

    #[test]
    fn tcp_datagram_carries_a_segment_that_parses_back_with_both_checksums() {
        let (src, dst) = (
            SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40_000),
            SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 2), 80),
        );
        let seg = Segment {
            seq: crate::SeqNum(100),
            ack: crate::SeqNum(301),
            flags: crate::Flags::ACK | crate::Flags::PSH,
            window: 1024,
            payload: b"hello",
            ..Segment::default()
        };
        let bytes = tcp_datagram(src, dst, &seg, 9).unwrap();
        assert_eq!(header_checksum(&bytes[..HEADER_LEN]), 0);
        let d = parse(&bytes).unwrap();
        assert_eq!(
            (d.src, d.dst, d.protocol),
            (*src.ip(), *dst.ip(), PROTO_TCP)
        );
        let pseudo = PseudoHeader::V4 {
            src: d.src,
            dst: d.dst,
        };
        let repr = wire::parse(d.payload, Some(&pseudo)).expect("checksum verifies");
        assert_eq!((repr.src_port, repr.dst_port), (40_000, 80));
        assert_eq!(repr.segment, seg);
    }
}
