//! The byte format of the structured inputs, read and written.
//!
//! Inputs implement [`arbitrary::Arbitrary`] by hand on top of these readers rather than by
//! derive, for two reasons: the seed corpus is *written* by `gen-corpus` with the mirror image
//! of every reader ([`Writer`]), which a derived format (version-dependent, length prefixes read
//! from the end) would not allow; and the fuzz targets decode one operation at a time, with no
//! allocation, while `replay` and the tests decode the same bytes into a `Vec` they can print.
//!
//! Every reader takes what it needs from the front and yields zeros once the data runs out, so
//! every byte string decodes to some input and the fuzzer never wastes an execution.

use arbitrary::Unstructured;

/// One octet, or 0 when the data is exhausted.
#[inline]
pub fn byte(u: &mut Unstructured<'_>) -> u8 {
    let mut b = [0u8; 1];
    // `fill_buffer` never fails: it zero-fills what is missing.
    let _ = u.fill_buffer(&mut b);
    b[0]
}

/// Two octets, little-endian.
#[inline]
pub fn u16le(u: &mut Unstructured<'_>) -> u16 {
    let mut b = [0u8; 2];
    let _ = u.fill_buffer(&mut b);
    u16::from_le_bytes(b)
}

/// Four octets, little-endian.
#[inline]
pub fn u32le(u: &mut Unstructured<'_>) -> u32 {
    let mut b = [0u8; 4];
    let _ = u.fill_buffer(&mut b);
    u32::from_le_bytes(b)
}

/// The mirror image of the readers: what `gen-corpus` uses to write seeds.
#[derive(Clone, Debug, Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// One octet.
    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }

    /// Two octets, little-endian.
    pub fn u16le(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Four octets, little-endian.
    pub fn u32le(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
}

/// A type with a byte encoding that [`arbitrary::Arbitrary`] reads back exactly.
pub trait Encode {
    /// Appends the encoding of `self`.
    fn encode(&self, w: &mut Writer);

    /// The encoding of `self` as a fresh byte string.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.encode(&mut w);
        w.0
    }
}

/// A seed payload: 64 KiB of a fixed pattern that payload lengths slice into, so a segment
/// with data costs no allocation.
pub static PATTERN: [u8; 65_536] = pattern();

const fn pattern() -> [u8; 65_536] {
    let mut p = [0u8; 65_536];
    let mut i = 0;
    while i < p.len() {
        // Printable, and different at every offset of a short window (easy to read in a pcap).
        p[i] = b'a' + (i % 26) as u8;
        i += 1;
    }
    p
}
