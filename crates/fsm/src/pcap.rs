//! Classic pcap files (the libpcap format tcpdump and Wireshark read), written and read in
//! memory: a 24-octet global header (little-endian, microsecond timestamps, snaplen 65,535),
//! then per packet a 16-octet record header and the packet. The model's counterexamples, the
//! fuzzers' replays and the interop harness's captures all go through this one writer.

use alloc::vec::Vec;
use core::fmt;

/// `LINKTYPE_RAW`: each packet is a raw IPv4 or IPv6 datagram (told apart by its version).
pub const LINKTYPE_RAW: u32 = 101;

/// `LINKTYPE_IPV4`: each packet is a raw IPv4 datagram.
pub const LINKTYPE_IPV4: u32 = 228;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const GLOBAL_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

/// A capture being written in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty capture of packets of `linktype`: the global header only.
    #[must_use]
    pub fn new(linktype: u32) -> Writer {
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(&MAGIC_MICROS.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        bytes.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        bytes.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
        bytes.extend_from_slice(&linktype.to_le_bytes());
        Writer { bytes }
    }

    /// Appends one packet stamped `micros` microseconds after the Unix epoch (seconds past
    /// 2106 saturate).
    pub fn record(&mut self, micros: u64, packet: &[u8]) {
        let secs = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&secs.to_le_bytes());
        self.bytes
            .extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes()); // captured length
        self.bytes.extend_from_slice(&len.to_le_bytes()); // original length
        self.bytes.extend_from_slice(packet);
    }

    /// The file's bytes so far.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file's bytes.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// One packet read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Microseconds after the Unix epoch.
    pub micros: u64,
    /// The packet.
    pub packet: &'a [u8],
}

/// Why a file could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadError {
    /// Not a little-endian, microsecond pcap file.
    BadMagic,
    /// The global header, or the record at this offset, is cut short.
    Truncated {
        /// Where the cut record starts.
        at: usize,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::BadMagic => f.write_str("not a little-endian microsecond pcap file"),
            ReadError::Truncated { at } => write!(f, "pcap record at offset {at} is truncated"),
        }
    }
}

impl core::error::Error for ReadError {}

/// Reads a file in the format [`Writer`] writes: its link type and its records.
///
/// # Errors
/// [`ReadError`] for another format or a cut file.
pub fn read(bytes: &[u8]) -> Result<(u32, Vec<Record<'_>>), ReadError> {
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.len() < GLOBAL_HEADER_LEN {
        return Err(ReadError::Truncated { at: 0 });
    }
    if word(0) != Some(MAGIC_MICROS) {
        return Err(ReadError::BadMagic);
    }
    let linktype = word(20).ok_or(ReadError::Truncated { at: 0 })?;
    let mut records = Vec::new();
    let mut at = GLOBAL_HEADER_LEN;
    while at < bytes.len() {
        let cut = ReadError::Truncated { at };
        let (secs, usecs, len) = match (word(at), word(at + 4), word(at + 8)) {
            (Some(s), Some(u), Some(l)) => (s, u, l as usize),
            _ => return Err(cut),
        };
        let start = at + RECORD_HEADER_LEN;
        let packet = start
            .checked_add(len)
            .and_then(|end| bytes.get(start..end))
            .ok_or(cut)?;
        records.push(Record {
            micros: u64::from(secs) * 1_000_000 + u64::from(usecs),
            packet,
        });
        at = start + len;
    }
    Ok((linktype, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_records_read_back() {
        let mut w = Writer::new(LINKTYPE_IPV4);
        w.record(1_500_000, b"one");
        w.record(2_000_001, b"");
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), 24 + 16 + 3 + 16);
        let (linktype, records) = read(&bytes).unwrap();
        assert_eq!(linktype, LINKTYPE_IPV4);
        assert_eq!(
            records,
            [
                Record {
                    micros: 1_500_000,
                    packet: b"one"
                },
                Record {
                    micros: 2_000_001,
                    packet: b""
                },
            ]
        );
    }

    #[test]
    fn other_formats_and_cut_files_are_typed_errors() {
        let mut bytes = Writer::new(LINKTYPE_RAW).into_bytes();
        assert_eq!(read(&bytes[..10]), Err(ReadError::Truncated { at: 0 }));
        bytes.extend_from_slice(&[0; 20]); // a record header, cut after 12 of its 16 octets
        bytes.truncate(24 + 12);
        assert_eq!(read(&bytes), Err(ReadError::Truncated { at: 24 }));
        bytes[..4].copy_from_slice(&MAGIC_MICROS.to_be_bytes()); // a big-endian file
        assert_eq!(read(&bytes), Err(ReadError::BadMagic));
    }
}
