//! Initial sequence numbers in the shape of RFC 6528, and the keyed hash behind them.
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)` where `M` is a clock that
//! ticks every 4 microseconds and `F` is SipHash-2-4 keyed with a secret the caller supplies
//! (the core draws no random numbers). The same hash, keyed, protects the endpoint's tables from
//! hash flooding and signs SYN cookies.

use core::hash::{BuildHasher, Hasher};
use core::net::SocketAddr;

use crate::seq::SeqNum;
use crate::time::Instant;

/// SipHash with `C` compression and `D` finalization rounds (Aumasson and Bernstein, 2012).
#[derive(Clone, Debug)]
pub struct SipHasher<const C: usize, const D: usize> {
    v: [u64; 4],
    tail: u64,
    ntail: usize,
    length: usize,
}

/// SipHash-2-4, for ISNs and cookies.
pub type SipHasher24 = SipHasher<2, 4>;
/// SipHash-1-3, for hash tables (as Rust's standard library).
pub type SipHasher13 = SipHasher<1, 3>;

impl<const C: usize, const D: usize> SipHasher<C, D> {
    /// A hasher keyed with `key`.
    #[must_use]
    #[inline]
    pub fn new(key: [u64; 2]) -> Self {
        let [k0, k1] = key;
        SipHasher {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            length: 0,
        }
    }

    #[inline]
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    #[inline]
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        for _ in 0..C {
            Self::round(&mut self.v);
        }
        self.v[0] ^= m;
    }

    /// Appends the `n` (1 to 8) low-order octets of `x`, least significant first: exactly what
    /// `write` does with those octets, without a loop per octet. Hashing a 4-tuple is a dozen
    /// small writes (discriminants, length prefixes, ports), so this is the table lookup's cost.
    #[inline]
    fn push(&mut self, x: u64, n: usize) {
        debug_assert!((1..=8).contains(&n) && (n == 8 || x >> (8 * n) == 0));
        self.length += n;
        let fill = self.ntail;
        self.tail |= x << (8 * fill);
        let total = fill + n;
        if total < 8 {
            self.ntail = total;
            return;
        }
        let m = self.tail;
        self.compress(m);
        // The octets of `x` that did not fit in the word just compressed.
        self.tail = if fill == 0 { 0 } else { x >> (8 * (8 - fill)) };
        self.ntail = total - 8;
    }
}

impl<const C: usize, const D: usize> Hasher for SipHasher<C, D> {
    fn write(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        if (1..=8).contains(&len) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(bytes) {
                *w = *b;
            }
            self.push(u64::from_le_bytes(word), len);
            return;
        }
        self.length += bytes.len();
        let mut rest = bytes;
        if self.ntail != 0 {
            while self.ntail < 8 {
                let Some((&b, tail)) = rest.split_first() else {
                    return;
                };
                self.tail |= u64::from(b) << (8 * self.ntail);
                self.ntail += 1;
                rest = tail;
            }
            let m = self.tail;
            self.compress(m);
            self.tail = 0;
            self.ntail = 0;
        }
        let mut chunks = rest.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.compress(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail += 1;
        }
    }

    // The integer writes feed the same octets as `Hasher`'s defaults (`write(&i.to_ne_bytes())`),
    // read as a little-endian word (a no-op on little-endian targets).
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.push(u64::from(i), 1);
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.push(u64::from(u16::from_le_bytes(i.to_ne_bytes())), 2);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.push(u64::from(u32::from_le_bytes(i.to_ne_bytes())), 4);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.push(u64::from_le_bytes(i.to_ne_bytes()), 8);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        let bytes = i.to_ne_bytes();
        let mut word = [0u8; 8];
        for (w, b) in word.iter_mut().zip(bytes) {
            *w = b;
        }
        self.push(u64::from_le_bytes(word), bytes.len());
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut s = self.clone();
        let b = ((s.length as u64 & 0xff) << 56) | s.tail;
        s.compress(b);
        s.v[2] ^= 0xff;
        for _ in 0..D {
            Self::round(&mut s.v);
        }
        s.v[0] ^ s.v[1] ^ s.v[2] ^ s.v[3]
    }
}

/// A [`BuildHasher`] of keyed SipHash-1-3, for tables whose keys an attacker chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyedState {
    key: [u64; 2],
}

impl KeyedState {
    /// Hash tables keyed with `key`.
    #[must_use]
    pub const fn new(key: [u64; 2]) -> Self {
        KeyedState { key }
    }

    /// Keyed SipHash-1-3 of whole 64-bit words: the same value as [`Hasher::write_u64`] of
    /// each word on [`Self::build_hasher`]'s hasher, without its bookkeeping for partial words
    /// (an IPv4 4-tuple is two words, and hashing it is most of a table probe).
    #[must_use]
    #[inline]
    pub fn hash_words<const N: usize>(&self, words: [u64; N]) -> u64 {
        let mut h = SipHasher13::new(self.key);
        for w in words {
            h.compress(u64::from_le_bytes(w.to_ne_bytes()));
        }
        // The length octet of the final block: at most 255 words here, so `8 * N` is exact
        // modulo 256 as SipHash asks.
        let b = ((8 * N) as u64 & 0xff) << 56;
        h.compress(b);
        h.v[2] ^= 0xff;
        for _ in 0..3 {
            SipHasher13::round(&mut h.v);
        }
        h.v[0] ^ h.v[1] ^ h.v[2] ^ h.v[3]
    }
}

impl BuildHasher for KeyedState {
    type Hasher = SipHasher13;
    #[inline]
    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new(self.key)
    }
}

/// Feeds an address to a hasher in a fixed, version-tagged byte form: the version octet (4 or
/// 6), the address octets, the port in native byte order (as `write_u16`).
pub(crate) fn hash_addr<const C: usize, const D: usize>(
    h: &mut SipHasher<C, D>,
    addr: &SocketAddr,
) {
    match addr {
        // The seven octets as one partial word: what the three writes below would feed.
        SocketAddr::V4(a) => {
            let [o0, o1, o2, o3] = a.ip().octets();
            let [p0, p1] = a.port().to_ne_bytes();
            h.push(u64::from_le_bytes([4, o0, o1, o2, o3, p0, p1, 0]), 7);
        }
        SocketAddr::V6(a) => hash_v6(h, a),
    }
}

/// [`hash_addr`]'s IPv6 case, out of line (its octet-array write is long, and IPv4 is the
/// common case at every call site).
#[inline(never)]
fn hash_v6<const C: usize, const D: usize>(h: &mut SipHasher<C, D>, a: &core::net::SocketAddrV6) {
    h.write_u8(6);
    h.write(&a.ip().octets());
    h.write_u16(a.port());
}

/// RFC 6528 initial sequence numbers: a 4 µs clock plus a keyed hash of the 4-tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IsnGenerator {
    key: [u64; 2],
}

impl IsnGenerator {
    /// A generator with a secret key. Draw the key from a good random source once per boot
    /// (RFC 6528 §3): whoever knows it can predict every ISN.
    #[must_use]
    pub const fn new(key: [u64; 2]) -> Self {
        IsnGenerator { key }
    }

    /// The ISN for a connection from `local` to `remote` opened at `now`.
    #[must_use]
    pub fn isn(&self, now: Instant, local: &SocketAddr, remote: &SocketAddr) -> SeqNum {
        let mut h = SipHasher24::new(self.key);
        hash_addr(&mut h, local);
        hash_addr(&mut h, remote);
        // F is the low 32 bits of the keyed hash; M ticks every 4 µs (RFC 9293 §3.4.1).
        let f = h.finish() as u32;
        let m = (now.as_micros() / 4) as u32;
        SeqNum(m.wrapping_add(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{IpAddr, Ipv4Addr, SocketAddrV4};

    #[test]
    fn siphash24_matches_reference_vectors() {
        // The reference vectors of the SipHash paper: key 00..0f, messages 00, 00 01, ...
        let key = [
            u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]),
            u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]),
        ];
        let expected: [u64; 4] = [
            0x726f_db47_dd0e_0e31,
            0x74f8_39c5_93dc_67fd,
            0x0d6c_8009_d9a9_4f5a,
            0x8567_6696_d7fb_7e2d,
        ];
        let msg: Vec<u8> = (0u8..64).collect();
        for (len, want) in expected.iter().enumerate() {
            let mut h = SipHasher24::new(key);
            h.write(&msg[..len]);
            assert_eq!(h.finish(), *want, "length {len}");
        }
        // Split writes give the same hash as one write.
        let mut whole = SipHasher24::new(key);
        whole.write(&msg[..15]);
        let mut parts = SipHasher24::new(key);
        parts.write(&msg[..3]);
        parts.write(&msg[3..11]);
        parts.write(&msg[11..15]);
        assert_eq!(whole.finish(), parts.finish());
    }

    #[test]
    fn integer_writes_hash_as_their_octets() {
        // Every integer write, at every tail fill, is the same as writing its octets.
        let key = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210];
        for lead in 0..16usize {
            let prefix: Vec<u8> = (0..lead as u8).map(|b| b.wrapping_mul(37)).collect();
            let mut fast = SipHasher13::new(key);
            let mut slow = SipHasher13::new(key);
            fast.write(&prefix);
            slow.write(&prefix);
            for chunk in prefix.chunks(3) {
                // Slices of every length through the bulk path too.
                let mut h = SipHasher13::new(key);
                h.write(chunk);
                let mut g = SipHasher13::new(key);
                for b in chunk {
                    g.write(core::slice::from_ref(b));
                }
                assert_eq!(h.finish(), g.finish());
            }
            fast.write_u8(0xa5);
            slow.write(&[0xa5]);
            fast.write_u16(0xbeef);
            slow.write(&0xbeef_u16.to_ne_bytes());
            fast.write_u32(0xdead_beef);
            slow.write(&0xdead_beef_u32.to_ne_bytes());
            fast.write_u64(0x0102_0304_0506_0708);
            slow.write(&0x0102_0304_0506_0708_u64.to_ne_bytes());
            fast.write_usize(lead);
            slow.write(&lead.to_ne_bytes());
            fast.write(&[9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11]);
            slow.write(&[9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11]);
            assert_eq!(fast.finish(), slow.finish(), "after {lead} octets");
        }
        // A 4-tuple key hashes as before: through `Hash`, which uses the integer writes.
        let a = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1000));
        let mut h = SipHasher13::new(key);
        core::hash::Hash::hash(&a, &mut h);
        let mut octets = SipHasher13::new(key);
        let mut bytes = Vec::new();
        core::hash::Hash::hash(&a, &mut Recorder(&mut bytes));
        octets.write(&bytes);
        assert_eq!(h.finish(), octets.finish());
    }

    #[test]
    fn hash_words_is_the_hasher_fed_those_words() {
        let state = KeyedState::new([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210]);
        let words = [0x0a00_0001_03e8, u64::MAX, 0, 0x8000_0000_0000_0001, 42];
        let via_hasher = |ws: &[u64]| {
            let mut h = state.build_hasher();
            for &w in ws {
                h.write_u64(w);
            }
            h.finish()
        };
        assert_eq!(state.hash_words([]), via_hasher(&[]));
        assert_eq!(state.hash_words([words[0]]), via_hasher(&words[..1]));
        assert_eq!(
            state.hash_words([words[0], words[1]]),
            via_hasher(&words[..2])
        );
        assert_eq!(state.hash_words(words), via_hasher(&words));
        assert_ne!(
            state.hash_words([1, 2]),
            KeyedState::new([1, 2]).hash_words([1, 2])
        );
    }

    #[test]
    fn hash_addr_feeds_version_octets_and_port() {
        let key = [3, 5];
        let addrs = [
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1000)),
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, 65_535)),
            SocketAddr::V6(core::net::SocketAddrV6::new(
                core::net::Ipv6Addr::LOCALHOST,
                80,
                0,
                0,
            )),
        ];
        for lead in 0..9u8 {
            for a in &addrs {
                let mut fast = SipHasher24::new(key);
                let mut slow = SipHasher24::new(key);
                for b in 0..lead {
                    fast.write_u8(b);
                    slow.write_u8(b);
                }
                hash_addr(&mut fast, a);
                slow.write_u8(if a.is_ipv4() { 4 } else { 6 });
                match a.ip() {
                    IpAddr::V4(ip) => slow.write(&ip.octets()),
                    IpAddr::V6(ip) => slow.write(&ip.octets()),
                }
                slow.write_u16(a.port());
                assert_eq!(fast.finish(), slow.finish(), "{a} after {lead} octets");
            }
        }
    }

    /// A hasher that records the octets it is fed (through `Hasher`'s default integer writes).
    struct Recorder<'a>(&'a mut Vec<u8>);

    impl Hasher for Recorder<'_> {
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
        fn finish(&self) -> u64 {
            0
        }
    }

    #[test]
    fn isn_depends_on_tuple_key_and_clock() {
        let a = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1000));
        let b = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80));
        let c = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 81));
        let g = IsnGenerator::new([1, 2]);
        let t = Instant::from_micros(4_000);
        assert_ne!(g.isn(t, &a, &b), g.isn(t, &a, &c));
        assert_ne!(g.isn(t, &a, &b), IsnGenerator::new([1, 3]).isn(t, &a, &b));
        // The clock part advances one per 4 µs for a fixed tuple.
        let later = Instant::from_micros(4_000 + 4 * 1000);
        assert_eq!(g.isn(later, &a, &b).since(g.isn(t, &a, &b)), 1000);
    }
}
