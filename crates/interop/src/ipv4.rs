//! Just enough IPv4 (RFC 791) to put TCP segments on a TUN device and take them off: a
//! 20-octet header without options, no fragmentation.

use std::net::Ipv4Addr;

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
    // More-fragments set, or a non-zero offset: this harness never reassembles.
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
/// # Panics
/// If `out` is shorter than [`HEADER_LEN`] or the datagram would exceed 65,535 octets.
pub fn write_header(
    out: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload_len: usize,
    id: u16,
) {
    let total = u16::try_from(HEADER_LEN + payload_len).expect("an IPv4 datagram fits 64 KiB");
    let h = &mut out[..HEADER_LEN];
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
}

/// The RFC 1071 checksum of a header (its checksum field taken as it is).
#[must_use]
pub fn header_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_header_parses_back_and_verifies() {
        let mut buf = [0u8; HEADER_LEN + 3];
        let (src, dst) = (Ipv4Addr::new(10, 200, 0, 2), Ipv4Addr::new(10, 200, 0, 1));
        write_header(&mut buf, src, dst, PROTO_TCP, 3, 7);
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
    fn ipv6_and_fragments_are_not_parsed() {
        assert!(parse(&[0x60; 40]).is_none());
        let mut buf = [0u8; HEADER_LEN];
        write_header(&mut buf, Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 6, 0, 1);
        buf[6] = 0x20; // more fragments
        assert!(parse(&buf).is_none());
    }
}
