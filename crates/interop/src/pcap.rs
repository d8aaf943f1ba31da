//! Classic pcap files (the libpcap format that tcpdump and Wireshark read), written by the
//! harness itself from the packets it reads from and writes to the TUN device, through the
//! core's [`tcp_fsm::pcap`] writer and reader.
//!
//! Link type 101 (`LINKTYPE_RAW`): each record is an IP datagram with no link-layer header.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use tcp_fsm::pcap::LINKTYPE_RAW;
use tcp_fsm::pcap::{self as capture, ReadError};

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
    let base = epoch
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = capture::Writer::new(LINKTYPE_RAW);
    for p in packets {
        let micros = u64::try_from((base + p.at).as_micros()).unwrap_or(u64::MAX);
        out.record(micros, &p.bytes);
    }
    out.into_bytes()
}

/// Reads back a file written by [`to_bytes`]: the datagrams, with their times since the first.
///
/// # Errors
/// `InvalidData` if the header or a record is malformed, or the link type is not raw IP.
pub fn from_bytes(bytes: &[u8]) -> io::Result<Vec<Packet>> {
    let bad = |e: ReadError| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let (linktype, records) = capture::read(bytes).map_err(bad)?;
    if linktype != LINKTYPE_RAW {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("link type {linktype}, not LINKTYPE_RAW"),
        ));
    }
    let first = records.first().map_or(0, |r| r.micros);
    Ok(records
        .iter()
        .map(|r| Packet {
            at: Duration::from_micros(r.micros.saturating_sub(first)),
            bytes: r.packet.to_vec(),
            note: None,
        })
        .collect())
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
