//! Counterexamples as pcap files that Wireshark and tcpdump open: real IPv4 and TCP headers
//! with checksums, by the core's [`tcp_fsm::ipv4::tcp_datagram`] and [`tcp_fsm::pcap::Writer`].
//!
//! Link type 228 (`LINKTYPE_IPV4`): each packet is a raw IPv4 datagram. Peer A is
//! 192.0.2.1:49152 and peer B 198.51.100.2:80 (documentation addresses, RFC 5737); step `n` of
//! the path is stamped `n` milliseconds after the epoch.

use std::net::{Ipv4Addr, SocketAddrV4};

use tcp_fsm::Policy;
use tcp_fsm::{ipv4, pcap};

use crate::net::Seg;

/// `LINKTYPE_IPV4`.
pub const LINKTYPE_IPV4: u32 = pcap::LINKTYPE_IPV4;

const ADDRS: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 2)];
const PORTS: [u16; 2] = [49152, 80];

/// One IPv4 datagram carrying `seg` from peer `seg.from()` to the other.
#[must_use]
pub fn datagram(seg: &Seg, policy: &Policy, id: u16) -> Vec<u8> {
    let (from, to) = (seg.from(), 1 - seg.from());
    let addr = |p: usize| SocketAddrV4::new(ADDRS[p], PORTS[p]);
    // The model's segments carry at most a few octets: always far below 64 KiB.
    ipv4::tcp_datagram(addr(from), addr(to), &seg.segment(policy), id).unwrap_or_default()
}

/// A pcap file of `packets` (arrival step, segment); `policy_of(peer)` gives the sender's
/// policy (SYN options).
#[must_use]
pub fn file(packets: &[(usize, Seg)], policy_of: impl Fn(usize) -> Policy) -> Vec<u8> {
    let mut out = pcap::Writer::new(LINKTYPE_IPV4);
    for (i, (step, seg)) in packets.iter().enumerate() {
        let data = datagram(seg, &policy_of(seg.from()), i as u16 + 1);
        out.record(*step as u64 * 1000, &data);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_fsm::Flags;
    use tcp_fsm::wire::{self, PseudoHeader};

    #[test]
    fn datagram_checksums_verify() {
        let policy = Policy::LINUX;
        let seg = Seg::header(0, 1, u32::MAX, 0, Flags::SYN);
        let d = datagram(&seg, &policy, 1);
        assert_eq!(ipv4::header_checksum(&d[..20]), 0, "IPv4 header checksum");
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
