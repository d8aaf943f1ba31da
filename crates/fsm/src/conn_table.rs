//! The endpoint's connection table: slab indices by 4-tuple hash, in one flat array.
//!
//! A segment's lookup at scale is a chain of dependent cache misses. With `hashbrown` it was
//! three before the connection's own lines: the control bytes, then the bucket (another
//! array), then the slot to compare the tuple. Here a bucket is one `u64` packing the top 32
//! bits of the hash (the *tag*) and the slot index, in an open-addressing table with linear
//! probing: a lookup reads the home bucket's line (at most 13/16 of the buckets are used, so a
//! probe that finds its entry averages under three buckets and seldom leaves the line), compares
//! tags there, and only then touches the slot. A tuple that is not in the table (a segment for a
//! TIME-WAIT entry) costs that line before the TIME-WAIT table.
//!
//! Measured on the scale bench (one data segment to a random connection, its ACK polled; medians
//! of three alternating runs against `hashbrown`): 569 to 467 ns at a million connections,
//! 301 to 293 at 100,000, 80 to 76 at one. Callgrind's cache simulation (32 MiB last level)
//! counts the same 5.8 last-level misses per data segment: `hashbrown`'s 10 MiB of control
//! bytes and buckets mostly stayed in that cache, as this 16 MiB table partly does; the time
//! saved is the dependent step (and its page walk) between control bytes and bucket. The price
//! is on misses: a TIME-WAIT segment's probe reads 8 octets a bucket where `hashbrown` reads
//! one, 2.8 to 3.3 simulated misses per segment at a million entries, not visible in wall clock
//! (318 to 316 ns; 204 to 212 ns at 100,000, within the runs' spread).
//!
//! The home bucket is the tag's top bits, so the table grows by doubling and re-placing the
//! stored tags, without rehashing tuples or touching the slab. Removal shifts the rest of the
//! probe run back (no tombstones), so lookups never slow down with churn.
//!
//! The hash is the endpoint's keyed SipHash: peers choose ports, but cannot aim at a bucket.
//!
//! Limits: slot indices are below `u32::MAX` (that bucket value is the empty marker), and the
//! table has at most 2^32 buckets (the home bucket comes from the 32-bit tag); past that it
//! stops growing and fills up, which only lengthens probes. It is never full: it holds at most
//! one bucket per slab slot and the slab has fewer than 2^32 slots.

use alloc::vec::Vec;

/// An unused bucket: tag `u32::MAX` with index `u32::MAX`, which is never a slot index.
const EMPTY: u64 = u64::MAX;

/// The most entries per 16 buckets before the table doubles (a load of 0.81). Lower loads
/// make probes shorter but the table larger, and its size decides how much of it stays in the
/// caches: at 100,000 connections a table at most half full (2 MiB instead of 1) made the scale
/// bench's data segment 20% slower (311 to 372 ns, medians); at a million the table has 2^21
/// buckets either way.
const MAX_LOAD_SIXTEENTHS: usize = 13;

/// The smallest table once something is stored: one cache line of buckets.
const MIN_BUCKETS: usize = 8;

/// The most buckets: the home bucket is taken from the 32-bit tag.
const MAX_BUCKETS: u64 = 1 << 32;

/// Slab indices by their tuple's hash. See the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct ConnTable {
    /// A power of two long, or empty; each bucket is `tag << 32 | index`, or [`EMPTY`].
    buckets: Vec<u64>,
    /// Used buckets.
    len: usize,
    /// `32 - log2(buckets.len())`: a tag shifted right by this is its home bucket.
    shift: u32,
}

/// The tag of a hash: its top 32 bits, which also choose the home bucket.
#[inline(always)]
fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

#[inline(always)]
fn pack(tag: u32, index: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(index)
}

#[inline(always)]
fn index_of(bucket: u64) -> u32 {
    bucket as u32
}

impl ConnTable {
    pub(crate) const fn new() -> ConnTable {
        ConnTable {
            buckets: Vec::new(),
            len: 0,
            shift: 32,
        }
    }

    /// The entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bucket where a tag's probe starts.
    #[inline(always)]
    fn home(&self, tag: u32) -> usize {
        // `shift` is at most 32: a `u64` shift of a `u32` never overflows.
        (u64::from(tag) >> self.shift) as usize
    }

    /// The index with hash `hash` for which `eq` holds (it compares the slot's tuple), if any.
    #[inline(always)]
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let mask = self.buckets.len().wrapping_sub(1);
        let tag = tag(hash);
        let mut i = self.home(tag);
        // Bounded by the table's size, though an empty bucket always ends the probe first.
        for _ in 0..self.buckets.len() {
            let b = *self.buckets.get(i)?;
            if b == EMPTY {
                return None;
            }
            if (b >> 32) as u32 == tag && eq(index_of(b)) {
                return Some(index_of(b));
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Stores `index` under `hash`, in place of the index for which `eq` holds if there is one
    /// (a tuple's newer connection takes its place).
    ///
    /// `index` must be below `u32::MAX`; that value is refused (it marks empty buckets).
    pub(crate) fn insert(&mut self, hash: u64, index: u32, mut eq: impl FnMut(u32) -> bool) {
        if index == u32::MAX {
            return;
        }
        let tag = tag(hash);
        let mask = self.buckets.len().wrapping_sub(1);
        let mut i = self.home(tag);
        for _ in 0..self.buckets.len() {
            let Some(b) = self.buckets.get_mut(i) else {
                break;
            };
            if *b == EMPTY {
                break;
            }
            if (*b >> 32) as u32 == tag && eq(index_of(*b)) {
                *b = pack(tag, index);
                return;
            }
            i = (i + 1) & mask;
        }
        if self.len.saturating_add(1).saturating_mul(16)
            > self.buckets.len().saturating_mul(MAX_LOAD_SIXTEENTHS)
        {
            self.grow();
        }
        self.place(pack(tag, index));
    }

    /// Puts a bucket value in the first empty bucket from its home (it is not in the table).
    fn place(&mut self, bucket: u64) {
        let mask = self.buckets.len().wrapping_sub(1);
        let mut i = self.home(tag_of(bucket));
        for _ in 0..self.buckets.len() {
            let Some(b) = self.buckets.get_mut(i) else {
                break;
            };
            if *b == EMPTY {
                *b = bucket;
                self.len += 1;
                return;
            }
            i = (i + 1) & mask;
        }
        // No empty bucket: the table is at its largest, or could not be allocated larger,
        // and has as many entries as buckets. The slab, 32 times its size per entry, runs out
        // of memory (or indices) long before; report it as the allocation failure it is.
        alloc::alloc::handle_alloc_error(core::alloc::Layout::new::<u64>());
    }

    /// Doubles the table (to [`MIN_BUCKETS`] from empty), re-placing every entry by its tag.
    /// At [`MAX_BUCKETS`], or when the larger array cannot be allocated, it stays as it is.
    fn grow(&mut self) {
        let Some(cap) = self
            .buckets
            .len()
            .checked_mul(2)
            .map(|c| c.max(MIN_BUCKETS))
            .filter(|&c| c as u64 <= MAX_BUCKETS)
        else {
            return;
        };
        let mut buckets = Vec::new();
        if buckets.try_reserve_exact(cap).is_err() {
            return;
        }
        buckets.resize(cap, EMPTY);
        let old = core::mem::replace(&mut self.buckets, buckets);
        // `cap` is a power of two of at most 2^32 buckets: its log is at most 32.
        self.shift = 32 - cap.trailing_zeros().min(32);
        self.len = 0;
        for b in old {
            if b != EMPTY {
                self.place(b);
            }
        }
    }

    /// Removes `index`, stored under `hash`, if it is there (a newer connection on its tuple
    /// may have taken its place). The rest of the probe run moves back over the hole.
    pub(crate) fn remove(&mut self, hash: u64, index: u32) {
        let mask = self.buckets.len().wrapping_sub(1);
        let target = pack(tag(hash), index);
        let mut i = self.home(tag(hash));
        let mut found = false;
        for _ in 0..self.buckets.len() {
            match self.buckets.get(i) {
                Some(&b) if b == target => {
                    found = true;
                    break;
                }
                Some(&b) if b != EMPTY => i = (i + 1) & mask,
                _ => return,
            }
        }
        if !found {
            return;
        }
        self.len -= 1;
        // Backward shift: walk the run after the hole; an entry whose home is not after the
        // hole (cyclically, within its distance from home) moves into it, leaving a new hole.
        let mut hole = i;
        let mut j = i;
        for _ in 0..self.buckets.len() {
            j = (j + 1) & mask;
            let Some(&b) = self.buckets.get(j) else {
                break;
            };
            if b == EMPTY {
                break;
            }
            let home = self.home(tag_of(b));
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                if let Some(h) = self.buckets.get_mut(hole) {
                    *h = b;
                }
                hole = j;
            }
        }
        if let Some(h) = self.buckets.get_mut(hole) {
            *h = EMPTY;
        }
    }

    /// The stored indices, in no particular order.
    pub(crate) fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets
            .iter()
            .filter(|&&b| b != EMPTY)
            .map(|&b| index_of(b))
    }
}

#[inline(always)]
fn tag_of(bucket: u64) -> u32 {
    (bucket >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A small deterministic generator (xorshift64*), so that failures replay by seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The table checked against a `HashMap` of key to index, with a slab of keys by index
    /// (the endpoint's slots) and a hash function the test chooses (to force collisions).
    struct Harness<H: Fn(u64) -> u64> {
        table: ConnTable,
        model: HashMap<u64, u32>,
        /// The key of each slab index; `None` once removed (and the index may be reused).
        slab: Vec<Option<u64>>,
        free: Vec<u32>,
        /// Indices of older connections whose key a newer one took over.
        orphans: Vec<u32>,
        hash: H,
    }

    impl<H: Fn(u64) -> u64> Harness<H> {
        fn new(hash: H) -> Self {
            Harness {
                table: ConnTable::new(),
                model: HashMap::new(),
                slab: Vec::new(),
                free: Vec::new(),
                orphans: Vec::new(),
                hash,
            }
        }

        fn find(&self, key: u64) -> Option<u32> {
            let slab = &self.slab;
            self.table
                .find((self.hash)(key), |i| slab[i as usize] == Some(key))
        }

        /// A new connection on `key`: a new slab index, which takes the key over. As in the
        /// endpoint, an older connection on the key keeps its slot and its key (the
        /// application still holds it) but is no longer found.
        fn insert(&mut self, key: u64) {
            let index = self.free.pop().unwrap_or_else(|| {
                self.slab.push(None);
                u32::try_from(self.slab.len() - 1).unwrap()
            });
            self.slab[index as usize] = Some(key);
            if let Some(old) = self.model.insert(key, index) {
                self.orphans.push(old);
            }
            let slab = &self.slab;
            self.table
                .insert((self.hash)(key), index, |i| slab[i as usize] == Some(key));
        }

        /// The connection on `key` ends; or, now and then, an orphaned older one does (its
        /// removal must leave the newer one in place).
        fn remove(&mut self, key: u64, orphan: bool) {
            let index = if orphan && !self.orphans.is_empty() {
                let at = (key as usize) % self.orphans.len();
                self.orphans.swap_remove(at)
            } else {
                let Some(index) = self.model.remove(&key) else {
                    return;
                };
                index
            };
            let Some(key) = self.slab[index as usize].take() else {
                panic!("index {index} is not in use");
            };
            self.free.push(index);
            self.table.remove((self.hash)(key), index);
        }

        fn check(&self, keys: impl Iterator<Item = u64>) {
            assert_eq!(self.table.len(), self.model.len());
            assert_eq!(self.table.indices().count(), self.model.len());
            let mut stored: Vec<u32> = self.table.indices().collect();
            stored.sort_unstable();
            let mut expected: Vec<u32> = self.model.values().copied().collect();
            expected.sort_unstable();
            assert_eq!(stored, expected);
            for key in keys {
                assert_eq!(self.find(key), self.model.get(&key).copied(), "key {key}");
            }
            assert!(self.table.len() * 16 <= self.table.buckets.len() * MAX_LOAD_SIXTEENTHS);
            self.check_runs();
        }

        /// Every entry is reachable: no empty bucket between its home and its place.
        fn check_runs(&self) {
            let n = self.table.buckets.len();
            for (at, &b) in self.table.buckets.iter().enumerate() {
                if b == EMPTY {
                    continue;
                }
                let mut i = self.table.home(tag_of(b));
                while i != at {
                    assert_ne!(self.table.buckets[i], EMPTY, "hole before bucket {at}");
                    i = (i + 1) % n;
                }
            }
        }
    }

    /// Random inserts, re-inserts (a newer connection on a key) and removals over `keys`
    /// distinct keys, checked against the model after every step.
    fn random_ops(seed: u64, keys: u64, steps: usize, hash: impl Fn(u64) -> u64) {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut h = Harness::new(hash);
        for step in 0..steps {
            let key = rng.below(keys);
            match rng.below(8) {
                0..=3 => h.insert(key),
                4..=5 => h.remove(key, false),
                6 => h.remove(key, true),
                _ => {}
            }
            if step % 7 == 0 || keys <= 64 {
                h.check(0..keys);
            }
        }
        h.check(0..keys);
    }

    /// A well-mixed hash (splitmix64's finalizer).
    fn mixed(k: u64) -> u64 {
        let mut z = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn random_operations_match_a_hash_map() {
        for seed in 0..200 {
            random_ops(seed, 40, 400, mixed);
        }
    }

    #[test]
    fn equal_tags_are_told_apart_by_the_slot() {
        // Every key has the same hash: one run, found by comparing slots only.
        for seed in 0..50 {
            random_ops(seed, 24, 300, |_| 0x1234_5678_9ABC_DEF0);
        }
        // A few tags only, so that runs of different tags interleave.
        for seed in 0..100 {
            random_ops(seed, 60, 600, |k| mixed(k % 5) & 0xFFFF_FFFF_0000_0000);
        }
    }

    #[test]
    fn runs_wrap_around_the_end_of_the_array() {
        // Homes in the last bucket(s) of whatever size the table has: runs wrap to bucket 0,
        // and removals shift entries back across the end.
        for seed in 0..200 {
            random_ops(seed, 30, 400, |k| {
                u64::MAX - (mixed(k) & 0x0000_0001_0000_0000) - (k & 0xFFFF)
            });
        }
        // And a mix: half at the top, half anywhere.
        for seed in 0..100 {
            random_ops(seed, 50, 500, |k| {
                if k % 2 == 0 { u64::MAX - k } else { mixed(k) }
            });
        }
    }

    #[test]
    fn grows_across_many_doublings() {
        for seed in 0..4 {
            let mut rng = Rng(seed + 1);
            let mut h = Harness::new(mixed);
            let keys: Vec<u64> = (0..5000).map(|_| rng.next()).collect();
            for (n, &k) in keys.iter().enumerate() {
                h.insert(k);
                if n.is_power_of_two() {
                    h.check(keys.iter().copied().take(n + 10));
                }
            }
            assert_eq!(h.table.buckets.len(), 8192);
            h.check(keys.iter().copied());
            // Remove most of them, re-insert some: the table keeps its size, without holes.
            for &k in keys.iter().step_by(3) {
                h.remove(k, false);
            }
            for &k in keys.iter().step_by(7) {
                h.insert(k);
            }
            h.check(keys.iter().copied());
            for &k in &keys {
                h.remove(k, false);
            }
            while !h.orphans.is_empty() {
                h.remove(0, true);
            }
            h.check(keys.iter().copied());
            assert!(h.table.buckets.iter().all(|&b| b == EMPTY));
        }
    }

    #[test]
    fn newer_index_takes_the_place_and_old_removal_is_a_no_op() {
        let mut t = ConnTable::new();
        let h = mixed(7);
        t.insert(h, 3, |_| false);
        t.insert(h, 9, |i| i == 3);
        assert_eq!(t.len(), 1);
        assert_eq!(t.find(h, |i| i == 9), Some(9));
        assert_eq!(t.find(h, |i| i == 3), None);
        t.remove(h, 3);
        assert_eq!(t.find(h, |i| i == 9), Some(9));
        t.remove(h, 9);
        assert_eq!(t.len(), 0);
        assert_eq!(t.find(h, |_| true), None);
    }

    #[test]
    fn an_empty_table_finds_and_removes_nothing() {
        let mut t = ConnTable::new();
        assert_eq!(t.find(0, |_| true), None);
        assert_eq!(t.find(u64::MAX, |_| true), None);
        t.remove(u64::MAX, 0);
        assert_eq!(t.indices().count(), 0);
        // The empty marker's index is refused rather than stored.
        t.insert(u64::MAX, u32::MAX, |_| true);
        assert_eq!(t.len(), 0);
        t.insert(u64::MAX, u32::MAX - 1, |_| true);
        assert_eq!(t.find(u64::MAX, |_| true), Some(u32::MAX - 1));
    }
}
