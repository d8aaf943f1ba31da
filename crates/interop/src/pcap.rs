//! Classic pcap files (the libpcap format that tcpdump and Wireshark read), written by the
//! harness itself from the packets it reads from and writes to the TUN device.
//!
//! Link type 101 (`LINKTYPE_RAW`): each record is an IP datagram with no link-layer header.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `LINKTYPE_RAW`: raw IPv4 or IPv6, told apart by the version nibble.
pub const LINKTYPE_RAW: u32 = 101;

/// The environment variable naming the directory pcaps are written to.
pub const PCAP_DIR_ENV: &str = "TCP_INTEROP_PCAP_DIR";

/// One captured datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// When it was read or written, since the capture began.
    pub at: Duration,
    /// The IP datagram.
    pub bytes: Vec<u8>,
    /// What the harness did with it, when it did not simply pass (e.g. "dropped", "held").
    pub note: Option<&'static str>,
}

/// Serialises `packets` as a pcap file; `epoch` is the wall-clock time of `at = 0`.
#[must_use]
pub fn to_bytes(packets: &[Packet], epoch: SystemTime) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(24 + packets.iter().map(|p| 16 + p.bytes.len()).sum::<usize>());
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // microsecond timestamps
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    let base = epoch
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    for p in packets {
        let t = base + p.at;
        let len = u32::try_from(p.bytes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&u32::try_from(t.as_secs()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&t.subsec_micros().to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&p.bytes);
    }
    out
}

/// Reads back a file written by [`to_bytes`]: the datagrams, with their times since the first.
///
/// # Errors
/// `InvalidData` if the header or a record is malformed.
pub fn from_bytes(bytes: &[u8]) -> io::Result<Vec<Packet>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let word = |at: usize| -> io::Result<u32> {
        let b = bytes.get(at..at + 4).ok_or_else(|| bad("truncated"))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(0)? != 0xa1b2_c3d4 || word(20)? != LINKTYPE_RAW {
        return Err(bad("not a little-endian LINKTYPE_RAW pcap"));
    }
    let mut at = 24;
    let mut packets = Vec::new();
    let mut first = None;
    while at < bytes.len() {
        let t = Duration::from_secs(u64::from(word(at)?))
            + Duration::from_micros(u64::from(word(at + 4)?));
        let len = word(at + 8)? as usize;
        let data = bytes
            .get(at + 16..at + 16 + len)
            .ok_or_else(|| bad("truncated record"))?;
        let t0 = *first.get_or_insert(t);
        packets.push(Packet {
            at: t.saturating_sub(t0),
            bytes: data.to_vec(),
            note: None,
        });
        at += 16 + len;
    }
    Ok(packets)
}

/// Where pcaps go: `$TCP_INTEROP_PCAP_DIR` if set, else `default`.
#[must_use]
pub fn dir(default: &Path) -> PathBuf {
    std::env::var_os(PCAP_DIR_ENV).map_or_else(|| default.to_path_buf(), PathBuf::from)
}

/// Writes `packets` to `dir/name.pcap`, creating the directory; returns the path.
///
/// # Errors
/// As [`fs::create_dir_all`] and [`fs::File::create`].
pub fn write(dir: &Path, name: &str, packets: &[Packet], epoch: SystemTime) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.pcap"));
    fs::File::create(&path)?.write_all(&to_bytes(packets, epoch))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_round_trips() {
        let packets = vec![
            Packet {
                at: Duration::ZERO,
                bytes: vec![0x45, 1, 2],
                note: None,
            },
            Packet {
                at: Duration::from_micros(1_500_001),
                bytes: vec![0x45; 60],
                note: None,
            },
        ];
        let bytes = to_bytes(&packets, SystemTime::UNIX_EPOCH + Duration::from_secs(1000));
        assert_eq!(bytes.len(), 24 + 16 + 3 + 16 + 60);
        assert_eq!(from_bytes(&bytes).expect("parses"), packets);
    }
}
