//! Captured datagrams as TCP segments: what the checks read (flags, seq, ack, lengths), printed
//! the way tcpdump prints them.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tcp_fsm::Flags;
use tcp_fsm::wire;

use crate::pcap::Packet;
use tcp_fsm::ipv4;

/// One TCP segment from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    /// When it was captured, since the capture began.
    pub at: Duration,
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// SEG.SEQ.
    pub seq: u32,
    /// SEG.ACK (meaningful with ACK).
    pub ack: u32,
    /// Control bits.
    pub flags: Flags,
    /// Payload octets.
    pub len: u32,
    /// The window field, unscaled.
    pub window: u16,
    /// What the harness did with it, if not simply pass it on.
    pub note: Option<&'static str>,
}

impl Seg {
    /// Parses a captured IPv4 datagram carrying TCP (checksums are not verified here: loopback
    /// captures carry partial checksums).
    #[must_use]
    pub fn from_packet(p: &Packet) -> Option<Seg> {
        let d = ipv4::parse(&p.bytes)?;
        if d.protocol != ipv4::PROTO_TCP {
            return None;
        }
        let r = wire::parse(d.payload, None).ok()?;
        Some(Seg {
            at: p.at,
            src: SocketAddrV4::new(d.src, r.src_port),
            dst: SocketAddrV4::new(d.dst, r.dst_port),
            seq: r.segment.seq.0,
            ack: r.segment.ack.0,
            flags: r.segment.flags,
            len: r.segment.payload.len() as u32,
            window: r.segment.window,
            note: p.note,
        })
    }

    /// SEG.SEQ + SEG.LEN: the sequence number after this segment.
    #[must_use]
    pub fn end(&self) -> u32 {
        self.seq
            .wrapping_add(self.len)
            .wrapping_add(u32::from(self.flags.syn()))
            .wrapping_add(u32::from(self.flags.fin()))
    }

    /// Whether it has every flag of `f` (PSH, ECE and CWR are never required).
    #[must_use]
    pub fn has(&self, f: Flags) -> bool {
        self.flags.contains(f)
    }

    /// SYN, FIN and RST with ACK: the bits that matter to connection management, in
    /// tcpdump's notation (`S`, `S.`, `F.`, `R`, `R.`, `.`).
    #[must_use]
    pub fn control(&self) -> String {
        let f = self.flags.0 & (Flags::SYN.0 | Flags::FIN.0 | Flags::RST.0 | Flags::ACK.0);
        Flags(f).to_string()
    }

    /// Whether it carries SYN, FIN or RST.
    #[must_use]
    pub fn is_control(&self) -> bool {
        self.flags.intersects(Flags::SYN | Flags::FIN | Flags::RST)
    }
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>4}.{:06} {} > {} [{}] seq {}",
            self.at.as_secs(),
            self.at.subsec_micros(),
            self.src,
            self.dst,
            self.flags,
            self.seq
        )?;
        if self.flags.ack() {
            write!(f, " ack {}", self.ack)?;
        }
        write!(f, " win {} len {}", self.window, self.len)?;
        if let Some(n) = self.note {
            write!(f, " ({n})")?;
        }
        Ok(())
    }
}

/// The TCP segments of a capture, in capture order.
#[must_use]
pub fn segments(packets: &[Packet]) -> Vec<Seg> {
    packets.iter().filter_map(Seg::from_packet).collect()
}

/// Which side a segment comes from: `A` is the side under test (ours, or the kernel playing
/// its part on loopback), `B` the kernel peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sides {
    /// A's address.
    pub a: Ipv4Addr,
    /// B's address.
    pub b: Ipv4Addr,
}

impl Sides {
    /// `"A>B"` or `"B>A"` (or `"?"` for other traffic).
    #[must_use]
    pub fn dir(&self, s: &Seg) -> &'static str {
        if *s.src.ip() == self.a && *s.dst.ip() == self.b {
            "A>B"
        } else if *s.src.ip() == self.b && *s.dst.ip() == self.a {
            "B>A"
        } else {
            "?"
        }
    }

    /// The segments with SYN, FIN or RST, as `"A>B S"`, `"B>A R."`…: the control signature
    /// that the kernel-vs-kernel and kernel-vs-ours runs are compared by. Segments the harness
    /// dropped are marked `(dropped)`.
    #[must_use]
    pub fn signature(&self, segs: &[Seg]) -> Vec<String> {
        segs.iter()
            .filter(|s| s.is_control() && self.dir(s) != "?")
            .map(|s| match s.note {
                Some(n) => format!("{} {} ({n})", self.dir(s), s.control()),
                None => format!("{} {}", self.dir(s), s.control()),
            })
            .collect()
    }
}

/// The highest sequence number (SEG.SEQ + SEG.LEN) that `from` sent to `to`: its SND.NXT as
/// the wire saw it.
#[must_use]
pub fn snd_nxt(segs: &[Seg], from: SocketAddrV4, to: SocketAddrV4) -> Option<u32> {
    segs.iter()
        .filter(|s| s.src == from && s.dst == to && !s.has(Flags::RST))
        .map(Seg::end)
        .reduce(|a, b| if (b.wrapping_sub(a) as i32) > 0 { b } else { a })
}

/// Payload octets `from` sent to `to` (retransmissions counted once, by sequence range).
#[must_use]
pub fn payload_octets(segs: &[Seg], from: SocketAddrV4, to: SocketAddrV4) -> u64 {
    let Some(syn) = segs
        .iter()
        .find(|s| s.src == from && s.dst == to && s.has(Flags::SYN))
    else {
        return 0;
    };
    let data_end = segs
        .iter()
        .filter(|s| s.src == from && s.dst == to && s.len > 0)
        .map(|s| {
            s.seq
                .wrapping_add(s.len)
                .wrapping_sub(syn.seq.wrapping_add(1))
        })
        .max()
        .unwrap_or(0);
    u64::from(data_end)
}

/// Prints the segments, one a line, with their direction.
#[must_use]
pub fn render(sides: &Sides, segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        out.push_str(&format!("{} {s}\n", sides.dir(s)));
    }
    out
}
