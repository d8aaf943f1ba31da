//! Sequence numbers: arithmetic modulo 2^32 (RFC 9293 §3.4).
//!
//! Every comparison is wrapping: `a < b` means `b` lies less than 2^31 ahead of `a`.
//! The order is therefore not transitive across more than half the sequence space, which is
//! why [`SeqNum`] implements [`PartialOrd`] and not `Ord`.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence or acknowledgment number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The distance from `earlier` to `self`, as a wrapping count of octets.
    ///
    /// Only meaningful when `earlier <= self`; otherwise it is the wrapped (huge) distance.
    #[inline]
    #[must_use]
    pub const fn since(self, earlier: SeqNum) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// `lo <= self < hi` in sequence space (RFC 9293 §3.4 `=<` and `<`).
    #[inline]
    #[must_use]
    pub fn in_half_open(self, lo: SeqNum, hi: SeqNum) -> bool {
        self.since(lo) < hi.since(lo)
    }

    /// `lo <= self <= hi` in sequence space. Requires `lo <= hi`: a range whose `hi` lies just
    /// before `lo` wraps around and holds every number.
    #[inline]
    #[must_use]
    pub fn in_closed(self, lo: SeqNum, hi: SeqNum) -> bool {
        self.since(lo) <= hi.since(lo)
    }

    /// The later of two sequence numbers.
    #[inline]
    #[must_use]
    pub fn max(self, other: SeqNum) -> SeqNum {
        if self > other { self } else { other }
    }

    /// The earlier of two sequence numbers.
    #[inline]
    #[must_use]
    pub fn min(self, other: SeqNum) -> SeqNum {
        if self < other { self } else { other }
    }
}

impl PartialOrd for SeqNum {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        // RFC 9293 §3.4: compare by the sign of the 32-bit wrapped difference.
        Some((self.0.wrapping_sub(other.0) as i32).cmp(&0))
    }
}

impl Add<u32> for SeqNum {
    type Output = SeqNum;
    #[inline]
    fn add(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<u32> for SeqNum {
    #[inline]
    fn add_assign(&mut self, rhs: u32) {
        self.0 = self.0.wrapping_add(rhs);
    }
}

impl Sub<u32> for SeqNum {
    type Output = SeqNum;
    #[inline]
    fn sub(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs))
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap_at_2_pow_32() {
        let top = SeqNum(u32::MAX);
        assert!(top < top + 1);
        assert!(top + 1 > top);
        assert_eq!((top + 1).0, 0);
        assert_eq!((top + 5).since(top), 5);
        assert!(SeqNum(0) > SeqNum(u32::MAX - 10));
    }

    #[test]
    fn ranges_are_modular() {
        let lo = SeqNum(u32::MAX - 2);
        let hi = lo + 10;
        assert!(SeqNum(3).in_half_open(lo, hi));
        assert!(!hi.in_half_open(lo, hi));
        assert!(hi.in_closed(lo, hi));
        assert!(!(lo - 1).in_closed(lo, hi));
        // An empty range holds nothing.
        assert!(!lo.in_half_open(lo, lo));
    }

    #[test]
    fn min_max_follow_modular_order() {
        let a = SeqNum(u32::MAX);
        let b = SeqNum(1);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
    }
}
