//! Counterexamples as pcap files that Wireshark and tcpdump open: real IPv4 and TCP headers
//! with checksums (TCP by [`tcp_fsm::wire::emit`] under a [`PseudoHeader`]).
//!
//! The classic pcap format, written by hand: a 24-octet global header, then per packet a
//! 16-octet record header and the packet. Link type 228 (`LINKTYPE_IPV4`): each packet is a raw
//! IPv4 datagram. Peer A is 192.0.2.1:49152 and peer B 198.51.100.2:80 (documentation
//! addresses, RFC 5737); step `n` of the path is stamped `n` milliseconds after the epoch.

use std::net::Ipv4Addr;

use tcp_fsm::Policy;
use tcp_fsm::wire::{self, PseudoHeader, Repr};

use crate::net::Seg;

/// `LINKTYPE_IPV4`.
pub const LINKTYPE_IPV4: u32 = 228;

const ADDRS: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 2)];
const PORTS: [u16; 2] = [49152, 80];

/// The pcap global header (little-endian, microsecond timestamps).
fn global_header(out: &mut Vec<u8>) {
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&LINKTYPE_IPV4.to_le_bytes());
}

/// The RFC 1071 checksum of an IPv4 header.
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One IPv4 datagram carrying `seg` from peer `seg.from()` to the other.
#[must_use]
pub fn datagram(seg: &Seg, policy: &Policy, id: u16) -> Vec<u8> {
    let (from, to) = (seg.from(), 1 - seg.from());
    let repr = Repr {
        src_port: PORTS[from],
        dst_port: PORTS[to],
        segment: seg.segment(policy),
    };
    let pseudo = PseudoHeader::V4 {
        src: ADDRS[from],
        dst: ADDRS[to],
    };
    let tcp_len = wire::buffer_len(&repr);
    let mut packet = vec![0u8; 20 + tcp_len];
    let total = packet.len() as u16;
    let header = &mut packet[..20];
    header[0] = 0x45; // version 4, IHL 5
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header[4..6].copy_from_slice(&id.to_be_bytes());
    header[6] = 0x40; // don't fragment
    header[8] = 64; // TTL
    header[9] = 6; // TCP
    header[12..16].copy_from_slice(&ADDRS[from].octets());
    header[16..20].copy_from_slice(&ADDRS[to].octets());
    let sum = ipv4_checksum(header);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    // The buffer is exactly `buffer_len` long, so emit cannot fail.
    let _ = wire::emit(&repr, Some(&pseudo), &mut packet[20..]);
    packet
}

/// A pcap file of `packets` (arrival step, segment); `policy_of(peer)` gives the sender's
/// policy (SYN options).
#[must_use]
pub fn file(packets: &[(usize, Seg)], policy_of: impl Fn(usize) -> Policy) -> Vec<u8> {
    let mut out = Vec::new();
    global_header(&mut out);
    for (i, (step, seg)) in packets.iter().enumerate() {
        let data = datagram(seg, &policy_of(seg.from()), i as u16 + 1);
        let micros = *step as u64 * 1000;
        out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_fsm::Flags;

    #[test]
    fn datagram_checksums_verify() {
        let policy = Policy::LINUX;
        let seg = Seg::header(0, 1, u32::MAX, 0, Flags::SYN);
        let d = datagram(&seg, &policy, 1);
        assert_eq!(ipv4_checksum(&d[..20]), 0, "IPv4 header checksum");
        let pseudo = PseudoHeader::V4 {
            src: ADDRS[0],
            dst: ADDRS[1],
        };
        let repr = wire::parse(&d[20..], Some(&pseudo)).expect("TCP checksum verifies");
        assert_eq!(repr.segment, seg.segment(&policy));
        assert_eq!(repr.dst_port, 80);
    }

    #[test]
    fn file_has_global_and_record_headers() {
        let seg = Seg::header(1, 1, 300, 101, Flags::SYN | Flags::ACK);
        let f = file(&[(3, seg)], |_| Policy::LINUX);
        assert_eq!(&f[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(
            u32::from_le_bytes(f[20..24].try_into().unwrap()),
            LINKTYPE_IPV4
        );
        let incl = u32::from_le_bytes(f[32..36].try_into().unwrap()) as usize;
        assert_eq!(f.len(), 24 + 16 + incl);
        assert_eq!(u32::from_le_bytes(f[28..32].try_into().unwrap()), 3000);
    }
}
