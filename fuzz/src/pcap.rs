//! A replay's capture: link type 228 (`LINKTYPE_IPV4`, raw IPv4 with no link-layer header),
//! written by the core's [`tcp_fsm::pcap::Writer`]. Each record is a real IPv4 datagram from
//! [`tcp_fsm::ipv4::tcp_datagram`] (both checksums filled in), so Wireshark and tcpdump decode
//! and verify it.

use std::net::SocketAddrV4;

use tcp_fsm::{Instant, Segment, ipv4, pcap};

/// `LINKTYPE_IPV4`: each packet begins with an IPv4 header.
pub const LINKTYPE_IPV4: u32 = pcap::LINKTYPE_IPV4;

/// A capture being written in memory.
#[derive(Clone, Debug)]
pub struct Pcap {
    writer: pcap::Writer,
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
        Pcap {
            writer: pcap::Writer::new(LINKTYPE_IPV4),
            ip_id: 1,
        }
    }

    /// Appends one segment as an IPv4 packet from `src` to `dst`, timestamped `now`. A segment
    /// too large for one IPv4 datagram is left out.
    pub fn record(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seg: &Segment<'_>,
    ) {
        let Ok(packet) = ipv4::tcp_datagram(src, dst, seg, self.ip_id) else {
            return;
        };
        self.ip_id = self.ip_id.wrapping_add(1);
        self.writer.record(now.as_micros(), &packet);
    }

    /// The file's bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.writer.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tcp_fsm::wire::{self, PseudoHeader};
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
            ipv4::header_checksum(ip),
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
