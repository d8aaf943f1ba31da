//! SYN cookies (RFC 4987 §3.6): a listener whose SYN queue is full answers a SYN with a SYN+ACK
//! whose ISS encodes everything it needs, and keeps no state; the ACK that completes the
//! handshake proves the peer received the cookie, and the connection is built from it.
//!
//! The layout is Linux's (`secure_tcp_syn_cookie`) with one change: with `t` a counter of
//! 64-second periods and `h1`, `h2` keyed hashes,
//!
//! ```text
//! ISS = h1(tuple) + client ISN + (t << 24) + (h2(tuple, t, mss_index) & 0xfffffc | mss_index)
//! ```
//!
//! so the ACK's `SEG.ACK - 1` gives back `t` (accepted if at most one period old) and the MSS
//! index, which the 22 hashed bits authenticate. (Linux adds the index to its hash instead, so an
//! ACK off by one or two still passes, with another MSS.) A forger who does not know the key
//! passes the age check once in 128 tries and the hash once in 2^22: once in about 2^29.
//! Window scaling, SACK and timestamps are not encoded: a connection built from a cookie runs
//! without them (as Linux's does without timestamps).

use core::hash::Hasher;

use crate::endpoint::FourTuple;
use crate::isn::{SipHasher24, hash_addr};
use crate::segment::Segment;
use crate::seq::SeqNum;
use crate::time::Instant;

/// The MSS values a cookie can carry (Linux's `msstab`).
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;
const MSS_MASK: u32 = 3;
/// The salt of `h1`, which no period reaches.
const H1: u32 = u32::MAX;
/// Seconds per cookie period.
const PERIOD_SECS: u64 = 64;
/// A cookie is good for this many periods after the one it was made in.
const MAX_AGE: u32 = 1;

/// A keyed SYN cookie generator and checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SynCookieJar {
    key: [u64; 2],
}

impl SynCookieJar {
    /// A jar with a secret key (draw it from a good random source once per boot).
    #[must_use]
    pub const fn new(key: [u64; 2]) -> Self {
        SynCookieJar { key }
    }

    fn hash(&self, tuple: &FourTuple, period: u32, mss_index: u32) -> u32 {
        let mut h = SipHasher24::new(self.key);
        hash_addr(&mut h, &tuple.local);
        hash_addr(&mut h, &tuple.remote);
        h.write_u32(period);
        h.write_u32(mss_index);
        h.finish() as u32
    }

    /// The low 24 bits: 22 bits of hash over (tuple, period, index), then the index.
    fn low_bits(&self, tuple: &FourTuple, period: u32, mss_index: u32) -> u32 {
        (self.hash(tuple, period, mss_index) & COOKIE_MASK & !MSS_MASK) | mss_index
    }

    fn period(now: Instant) -> u32 {
        (now.as_micros() / 1_000_000 / PERIOD_SECS) as u32
    }

    /// The index in [`MSS_TABLE`] of the largest MSS not above the peer's.
    #[must_use]
    pub fn mss_index(peer_mss: u16) -> u32 {
        MSS_TABLE.iter().rposition(|&m| m <= peer_mss).unwrap_or(0) as u32
    }

    /// The ISS to answer `syn` with, on `tuple` (`local` is the listener's address).
    #[must_use]
    pub fn make(&self, now: Instant, tuple: &FourTuple, syn: &Segment<'_>) -> SeqNum {
        let t = Self::period(now);
        let mss = Self::mss_index(syn.options.mss.unwrap_or(MSS_TABLE[0]));
        let top = self
            .hash(tuple, H1, H1)
            .wrapping_add(syn.seq.0)
            .wrapping_add(t << COOKIE_BITS);
        SeqNum(top.wrapping_add(self.low_bits(tuple, t, mss)))
    }

    /// Checks the ACK that should complete a cookie handshake. Returns the MSS the cookie
    /// carries, or `None` for a forged, stale or unrelated segment.
    #[must_use]
    pub fn check(&self, now: Instant, tuple: &FourTuple, ack: &Segment<'_>) -> Option<u16> {
        if !ack.flags.ack() || ack.flags.syn() || ack.flags.rst() {
            return None;
        }
        let client_isn = ack.seq.0.wrapping_sub(1);
        let cookie = ack
            .ack
            .0
            .wrapping_sub(1)
            .wrapping_sub(self.hash(tuple, H1, H1))
            .wrapping_sub(client_isn);
        let now_t = Self::period(now);
        let age = now_t.wrapping_sub(cookie >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
        if age > MAX_AGE {
            return None;
        }
        let t = now_t.wrapping_sub(age);
        let mss = cookie & MSS_MASK;
        if cookie & COOKIE_MASK != self.low_bits(tuple, t, mss) {
            return None;
        }
        MSS_TABLE.get(mss as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Flags, Options};
    use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 80)),
            remote: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), port)),
        }
    }

    fn syn(seq: u32, mss: u16) -> Segment<'static> {
        Segment {
            seq: SeqNum(seq),
            flags: Flags::SYN,
            options: Options {
                mss: Some(mss),
                ..Options::NONE
            },
            ..Segment::default()
        }
    }

    fn ack_for(cookie: SeqNum, client_isn: u32) -> Segment<'static> {
        Segment {
            seq: SeqNum(client_isn.wrapping_add(1)),
            ack: cookie + 1,
            flags: Flags::ACK,
            ..Segment::default()
        }
    }

    #[test]
    fn cookie_round_trips_mss_within_its_age() {
        let jar = SynCookieJar::new([7, 9]);
        let t = tuple(5000);
        let now = Instant::from_millis(1_000_000);
        for (mss, want) in [(1460, 1460), (1400, 1300), (9000, 1460), (100, 536)] {
            let cookie = jar.make(now, &t, &syn(u32::MAX - 3, mss));
            let ack = ack_for(cookie, u32::MAX - 3);
            assert_eq!(jar.check(now, &t, &ack), Some(want));
            let later = now + crate::Duration::from_secs(PERIOD_SECS);
            assert_eq!(jar.check(later, &t, &ack), Some(want), "one period later");
            let too_late = now + crate::Duration::from_secs(3 * PERIOD_SECS);
            assert_eq!(jar.check(too_late, &t, &ack), None, "three periods later");
        }
    }

    #[test]
    fn forged_or_misdirected_cookies_are_rejected() {
        let jar = SynCookieJar::new([7, 9]);
        let now = Instant::from_millis(5_000_000);
        let cookie = jar.make(now, &tuple(5000), &syn(1000, 1460));
        assert_eq!(jar.check(now, &tuple(5001), &ack_for(cookie, 1000)), None);
        assert_eq!(
            jar.check(now, &tuple(5000), &ack_for(cookie + 1, 1000)),
            None
        );
        assert_eq!(jar.check(now, &tuple(5000), &ack_for(cookie, 1001)), None);
        let other_key = SynCookieJar::new([7, 10]);
        assert_eq!(
            other_key.check(now, &tuple(5000), &ack_for(cookie, 1000)),
            None
        );
        // A sweep of forged ACK numbers: about one in 2^29 passes; none of these should.
        let forged = (0..10_000u32)
            .filter(|i| {
                let ack = ack_for(SeqNum(i.wrapping_mul(2_654_435_761)), 1000);
                jar.check(now, &tuple(5000), &ack).is_some()
            })
            .count();
        assert_eq!(forged, 0);
    }
}
