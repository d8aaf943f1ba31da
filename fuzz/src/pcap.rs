//! A pcap file, written by hand: the classic libpcap format (microsecond timestamps), link type
//! 228 (`LINKTYPE_IPV4`, raw IPv4 with no link-layer header). Each record is a real IPv4 header
//! followed by the TCP header and payload from [`tcp_fsm::wire::emit`], with the checksum
//! computed over the IPv4 pseudo-header, so Wireshark and tcpdump decode and verify it.

use std::net::SocketAddrV4;

use tcp_fsm::wire::{self, PseudoHeader, Repr};
use tcp_fsm::{Instant, Segment};

/// `LINKTYPE_IPV4`: each packet begins with an IPv4 header.
pub const LINKTYPE_IPV4: u32 = 228;

/// A capture being written in memory.
#[derive(Clone, Debug)]
pub struct Pcap {
    bytes: Vec<u8>,
    ip_id: u16,
}

impl Default for Pcap {
    fn default() -> Self {
        Pcap::new()
    }
}

impl Pcap {
    /// An empty capture: the 24-octet global header only.
    #[must_use]
    pub fn new() -> Pcap {
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
        bytes.extend_from_slice(&2u16.to_le_bytes()); // version major
        bytes.extend_from_slice(&4u16.to_le_bytes()); // version minor
        bytes.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        bytes.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        bytes.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
        bytes.extend_from_slice(&LINKTYPE_IPV4.to_le_bytes());
        Pcap { bytes, ip_id: 1 }
    }

    /// Appends one segment as an IPv4 packet from `src` to `dst`, timestamped `now`.
    pub fn record(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seg: &Segment<'_>,
    ) {
        let repr = Repr {
            src_port: src.port(),
            dst_port: dst.port(),
            segment: *seg,
        };
        let pseudo = PseudoHeader::V4 {
            src: *src.ip(),
            dst: *dst.ip(),
        };
        let tcp_len = wire::buffer_len(&repr);
        let total = 20 + tcp_len;
        let Ok(total16) = u16::try_from(total) else {
            return; // larger than an IPv4 datagram: not representable
        };
        let mut packet = vec![0u8; total];
        let (ip, tcp) = packet.split_at_mut(20);
        if wire::emit(&repr, Some(&pseudo), tcp).is_err() {
            return;
        }
        ip[0] = 0x45; // version 4, IHL 5
        ip[2..4].copy_from_slice(&total16.to_be_bytes());
        ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);
        ip[6] = 0x40; // don't fragment
        ip[8] = 64; // TTL
        ip[9] = 6; // TCP
        ip[12..16].copy_from_slice(&src.ip().octets());
        ip[16..20].copy_from_slice(&dst.ip().octets());
        let sum = ipv4_checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());

        let us = now.as_micros();
        let (sec, usec) = (us / 1_000_000, us % 1_000_000);
        self.bytes
            .extend_from_slice(&u32::try_from(sec).unwrap_or(u32::MAX).to_le_bytes());
        self.bytes.extend_from_slice(&(usec as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(total as u32).to_le_bytes()); // incl_len
        self.bytes.extend_from_slice(&(total as u32).to_le_bytes()); // orig_len
        self.bytes.extend_from_slice(&packet);
    }

    /// The file's bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// The IPv4 header checksum (RFC 791, computed as in RFC 1071).
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tcp_fsm::{Flags, SeqNum};

    #[test]
    fn one_syn_makes_a_readable_record() {
        let mut p = Pcap::new();
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40000);
        let b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);
        let seg = Segment {
            seq: SeqNum(100),
            flags: Flags::SYN,
            window: 65535,
            ..Segment::default()
        };
        p.record(Instant::from_millis(1500), a, b, &seg);
        let bytes = p.bytes();
        assert_eq!(bytes.len(), 24 + 16 + 40);
        let ip = &bytes[40..60];
        assert_eq!(
            ipv4_checksum(ip),
            0,
            "a header with its checksum sums to zero"
        );
        let parsed = wire::parse(
            &bytes[60..],
            Some(&PseudoHeader::V4 {
                src: *a.ip(),
                dst: *b.ip(),
            }),
        )
        .unwrap();
        assert_eq!(parsed.segment, seg);
        assert_eq!((parsed.src_port, parsed.dst_port), (40000, 80));
    }
}
