//! Many connections keyed by 4-tuple, the listeners that spawn them, and TIME-WAIT entries.
//!
//! An [`Endpoint`] routes each arriving segment to its [`Connection`], else to a TIME-WAIT
//! entry, else to a listener on the local address, else answers as RFC 9293's CLOSED state
//! does (a RST, never a RST to a RST). Like a connection it is sans-IO: poll
//! [`poll_transmit`](Endpoint::poll_transmit) until `None`, then
//! [`poll_event`](Endpoint::poll_event) until `None`, then
//! [`poll_timeout`](Endpoint::poll_timeout), after every input or call.
//!
//! Tables are hashed with keyed SipHash so that peers who choose their ports cannot flood one
//! bucket; timers live in a heap with lazy deletion, so a restarted timer costs nothing until its
//! old deadline comes.
//!
//! A connection whose application has [released](Endpoint::release) it lives on until CLOSED;
//! when it reaches TIME-WAIT it is replaced by a compact [`TimeWait`] entry.

use alloc::collections::{BinaryHeap, VecDeque};
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::net::SocketAddr;

use core::hash::BuildHasher as _;

use hashbrown::{HashMap, HashTable};

use crate::conn_table::ConnTable;
use crate::connection::{Arrival, CallError, Connection, Disposition, Event, reset_for};
use crate::isn::{IsnGenerator, KeyedState};
use crate::policy::{Policy, SynCookies};
use crate::segment::{PayloadRange, Segment, Transmit};
use crate::state::State;
use crate::syncookie::SynCookieJar;
use crate::time::Instant;
use crate::timewait::{TimeWait, TimeWaitVerdict};

/// Most answers (RSTs, TIME-WAIT ACKs) queued before new ones are dropped, as a full device
/// queue would drop them.
const MAX_REPLIES: usize = 1024;

/// A connection's addresses, from this endpoint's point of view.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub struct FourTuple {
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
}

/// Hashes addresses and ports as a few integers: every table lookup hashes a 4-tuple, and the
/// derived form (discriminants, length-prefixed octet arrays, ports, one write each) costs
/// several times more. Equal tuples hash equally: IPv6 flow labels and scope ids, which
/// equality also compares, are left out, which only makes such tuples share a hash.
impl core::hash::Hash for FourTuple {
    #[inline(always)]
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        hash_addr_words(&self.local, state);
        hash_addr_words(&self.remote, state);
    }
}

/// Feeds an address and port to a hasher as whole integers: one word for IPv4, the address
/// and a tagged port for IPv6.
#[inline(always)]
fn hash_addr_words<H: core::hash::Hasher>(a: &SocketAddr, state: &mut H) {
    match a {
        SocketAddr::V4(a) => state.write_u64(v4_word(a)),
        SocketAddr::V6(a) => {
            state.write_u128(a.ip().to_bits());
            state.write_u32((1 << 16) | u32::from(a.port()));
        }
    }
}

/// An IPv4 address and port as the one 64-bit word that [`FourTuple`]'s `Hash` feeds.
#[inline(always)]
fn v4_word(a: &core::net::SocketAddrV4) -> u64 {
    (u64::from(a.ip().to_bits()) << 16) | u64::from(a.port())
}

/// The table hash of a 4-tuple, inlined (hashing is most of a table probe): the keyed hash of
/// what its `Hash` feeds, with IPv4 (two whole words) hashed without the hasher's bookkeeping.
#[inline(always)]
#[allow(
    clippy::manual_hash_one,
    reason = "BuildHasher::hash_one is not inlined here and costs about 30 instructions more"
)]
fn tuple_hash(key: &KeyedState, tuple: &FourTuple) -> u64 {
    if let (SocketAddr::V4(l), SocketAddr::V4(r)) = (&tuple.local, &tuple.remote) {
        return key.hash_words([v4_word(l), v4_word(r)]);
    }
    tuple_hash_any(key, tuple)
}

/// [`tuple_hash`] for any other tuple, out of line: inlined at every table probe, this general
/// path made each probe site about 1 KiB longer (`Endpoint::lookup` 2,672 to 1,652 octets of
/// code), and a connection's whole lifecycle runs through more code than a 32 KiB instruction
/// cache holds.
#[cold]
#[inline(never)]
#[allow(clippy::manual_hash_one, reason = "as in tuple_hash")]
fn tuple_hash_any(key: &KeyedState, tuple: &FourTuple) -> u64 {
    use core::hash::{Hash as _, Hasher as _};
    let mut h = key.build_hasher();
    tuple.hash(&mut h);
    h.finish()
}

/// A handle to a connection of an [`Endpoint`]; stale handles are refused, never confused
/// with a later connection in the same slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

/// What went wrong with an endpoint call.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum EndpointError {
    /// The 4-tuple or listening address is taken (`EADDRINUSE`).
    AddrInUse,
    /// The handle names no live connection (`EBADF`).
    NoSuchConnection,
    /// No listener on that address.
    NotListening,
    /// The connection refused the call.
    Call(CallError),
}

impl From<CallError> for EndpointError {
    fn from(e: CallError) -> Self {
        EndpointError::Call(e)
    }
}

impl core::fmt::Display for EndpointError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EndpointError::AddrInUse => f.write_str("address in use"),
            EndpointError::NoSuchConnection => f.write_str("no such connection"),
            EndpointError::NotListening => f.write_str("no listener on that address"),
            EndpointError::Call(e) => core::fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for EndpointError {}

/// Where an arriving segment went (returned by [`Endpoint::handle_segment`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[must_use = "delivered data must be appended to the connection's receive buffer"]
pub struct Routed<'a> {
    /// The connection that took it, if any.
    pub conn: Option<ConnId>,
    /// New in-order octets for that connection's receive buffer.
    pub data: &'a [u8],
    /// What was done with the segment.
    pub disposition: Disposition,
}

/// A segment to send, with its addresses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[must_use = "a polled segment must be sent (or deliberately dropped)"]
pub struct Outgoing {
    /// Source (`local`) and destination (`remote`).
    pub tuple: FourTuple,
    /// The connection whose send buffer holds the payload, if it has one.
    pub conn: Option<ConnId>,
    /// The segment.
    pub transmit: Transmit,
}

/// A listening address as the listener table's key, hashed as one word for IPv4 (as
/// [`FourTuple`]'s addresses are) rather than through `SocketAddr`'s derived `Hash`, which
/// feeds the hasher a discriminant, a length-prefixed octet array and the port one by one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct ListenKey(SocketAddr);

impl core::hash::Hash for ListenKey {
    #[inline]
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        hash_addr_words(&self.0, state);
    }
}

/// A listening address: its half-open (SYN-RECEIVED) children and its accept queue.
#[derive(Clone, Debug, Default)]
struct Listener {
    backlog: u32,
    /// The policy children are born with, when the listening socket's options differ.
    policy: Option<alloc::boxed::Box<Policy>>,
    /// Children in SYN-RECEIVED.
    syn_queue: u32,
    /// Established children not yet accepted.
    accept_queue: VecDeque<ConnId>,
}

impl Listener {
    /// Linux's `sk_acceptq_is_full`: full once the queue holds more than the backlog.
    fn accept_queue_full(&self) -> bool {
        self.accept_queue.len() > self.backlog as usize
    }
}

/// One connection of the slab. Aligned to a cache line so that a slot spans exactly four (256
/// octets, 8 more than packed), not five: at a million connections every line a segment
/// touches is a miss to memory (callgrind's cache simulation of the scale bench: 5.6 to 4.8
/// last-level misses per segment).
#[derive(Clone, Debug)]
#[repr(align(64))]
struct Entry {
    tuple: FourTuple,
    conn: Connection,
    generation: u32,
    /// The listening address that spawned it, until it is accepted.
    parent: Option<SocketAddr>,
    in_syn_queue: bool,
    /// In the ready queue.
    queued: bool,
    /// The application let go of it.
    released: bool,
    /// The deadline its live heap entry stands for.
    armed: Instant,
    /// Its own policy when socket options made it differ from the endpoint's (in the entry, so
    /// that a segment touches no other per-connection memory for it).
    policy: Option<alloc::boxed::Box<Policy>>,
}

/// What servicing a connection touches beside its entry (see [`Endpoint::borrow_entry`]).
struct Books<'a> {
    listeners: &'a mut HashMap<ListenKey, Listener, KeyedState>,
    events: &'a mut VecDeque<(ConnId, Event)>,
    timers: &'a mut BinaryHeap<Reverse<(Instant, TimerKey)>>,
    ready: &'a mut VecDeque<ConnId>,
}

#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a slab whose slots are mostly used; boxing would allocate per connection"
)]
enum Slot {
    Used(Entry),
    Free { generation: u32, next: Option<u32> },
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
enum TimerKey {
    Conn(ConnId),
    TimeWait(FourTuple),
}

/// The sizes of an endpoint's per-entry records (its private types), for memory accounting:
/// see [`Endpoint::record_sizes`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RecordSizes {
    /// One slot of the connection slab: the 4-tuple, the [`Connection`], its bookkeeping.
    pub connection_slot: usize,
    /// One bucket of the connection table (a hash tag and a slot index), before the table's
    /// slack (it is at most 13/16 full).
    pub connection_bucket: usize,
    /// One bucket of the TIME-WAIT table (4-tuple and [`TimeWait`]), before the table's slack.
    pub time_wait_bucket: usize,
    /// One entry of the timer heap (deadline and key); a re-armed or ended timer's old entry
    /// stays until its deadline passes (lazy deletion).
    pub timer_entry: usize,
    /// One listener record, with its address key.
    pub listener: usize,
}

/// Connections, listeners and TIME-WAIT entries of one host. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Endpoint {
    policy: Policy,
    isn: IsnGenerator,
    cookies: SynCookieJar,
    slots: Vec<Slot>,
    free: Option<u32>,
    live: usize,
    /// The connections by 4-tuple: slot indices with a hash tag, hashed by the slot's tuple (8
    /// octets a bucket instead of a 64-octet key and a handle; the tuple is compared in the
    /// slot, which the segment touches anyway). Every index names a used slot. A flat
    /// open-addressing table rather than `hashbrown`'s: see [`ConnTable`] for why.
    by_tuple: ConnTable,
    /// The key of the tables' hash.
    hash: KeyedState,
    listeners: HashMap<ListenKey, Listener, KeyedState>,
    /// TIME-WAIT entries by 4-tuple, hashed as the connection table is: a segment that misses
    /// that table probes this one with the same hash.
    time_wait: HashTable<(FourTuple, TimeWait)>,
    ready: VecDeque<ConnId>,
    timers: BinaryHeap<Reverse<(Instant, TimerKey)>>,
    replies: VecDeque<(FourTuple, Segment<'static>)>,
    events: VecDeque<(ConnId, Event)>,
}

impl Endpoint {
    /// An endpoint with `policy`, whose ISNs, SYN cookies and table hashes are keyed with
    /// `secret` (draw it from a good random source once per boot).
    #[must_use]
    pub fn new(policy: Policy, secret: [u64; 4]) -> Endpoint {
        let hash = KeyedState::new([secret[2], secret[3]]);
        Endpoint {
            policy,
            isn: IsnGenerator::new([secret[0], secret[1]]),
            cookies: SynCookieJar::new([secret[1] ^ secret[2], secret[0] ^ secret[3]]),
            slots: Vec::new(),
            free: None,
            live: 0,
            by_tuple: ConnTable::new(),
            hash,
            listeners: HashMap::with_hasher(hash),
            time_wait: HashTable::new(),
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            replies: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The sizes of the records an endpoint keeps per connection, TIME-WAIT entry, timer and
    /// listener (hash-table slack and allocator overhead not included).
    #[must_use]
    pub const fn record_sizes() -> RecordSizes {
        RecordSizes {
            connection_slot: size_of::<Slot>(),
            connection_bucket: size_of::<u64>(),
            time_wait_bucket: size_of::<(FourTuple, TimeWait)>(),
            timer_entry: size_of::<Reverse<(Instant, TimerKey)>>(),
            listener: size_of::<(SocketAddr, Listener)>(),
        }
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Live connections (not counting TIME-WAIT entries).
    #[must_use]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether there are no live connections.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// TIME-WAIT entries.
    #[must_use]
    pub fn time_wait_len(&self) -> usize {
        self.time_wait.len()
    }

    /// The TIME-WAIT entry of a 4-tuple, if any.
    #[must_use]
    pub fn time_wait_entry(&self, tuple: &FourTuple) -> Option<&TimeWait> {
        if self.time_wait.is_empty() {
            return None;
        }
        self.time_wait
            .find(tuple_hash(&self.hash, tuple), |(t, _)| t == tuple)
            .map(|(_, tw)| tw)
    }

    /// A connection, by handle.
    #[must_use]
    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.entry(id).map(|e| &e.conn)
    }

    /// A connection's 4-tuple.
    #[must_use]
    pub fn tuple(&self, id: ConnId) -> Option<FourTuple> {
        self.entry(id).map(|e| e.tuple)
    }

    /// Whether any connection or TIME-WAIT entry uses `local` as its address (what `bind`
    /// without `SO_REUSEADDR` must respect).
    #[must_use]
    pub fn local_in_use(&self, local: SocketAddr) -> bool {
        self.by_tuple.indices().any(
            |i| matches!(self.slots.get(i as usize), Some(Slot::Used(e)) if e.tuple.local == local),
        ) || self.time_wait.iter().any(|(t, _)| t.local == local)
    }

    /// The connection on a 4-tuple, if any.
    #[must_use]
    pub fn lookup(&self, tuple: &FourTuple) -> Option<ConnId> {
        self.lookup_hashed(tuple_hash(&self.hash, tuple), tuple)
    }

    /// [`Self::lookup`] with the tuple's hash already computed.
    #[inline(always)]
    fn lookup_hashed(&self, hash: u64, tuple: &FourTuple) -> Option<ConnId> {
        let slots = &self.slots;
        let index = self.by_tuple.find(
            hash,
            |i| matches!(slots.get(i as usize), Some(Slot::Used(e)) if e.tuple == *tuple),
        )?;
        match slots.get(index as usize)? {
            Slot::Used(e) => Some(ConnId {
                index,
                generation: e.generation,
            }),
            Slot::Free { .. } => None,
        }
    }

    fn entry(&self, id: ConnId) -> Option<&Entry> {
        match self.slots.get(id.index as usize)? {
            Slot::Used(e) if e.generation == id.generation => Some(e),
            _ => None,
        }
    }

    fn entry_mut(&mut self, id: ConnId) -> Option<&mut Entry> {
        self.borrow_entry(id).map(|(e, _, _)| e)
    }

    /// The policy a connection runs under.
    #[must_use]
    pub fn connection_policy(&self, id: ConnId) -> Option<&Policy> {
        let own = self.entry(id)?.policy.as_deref();
        Some(own.unwrap_or(&self.policy))
    }

    /// Gives one connection its own policy (socket options such as keepalive, user timeout).
    ///
    /// # Errors
    /// [`EndpointError::NoSuchConnection`].
    pub fn set_connection_policy(
        &mut self,
        now: Instant,
        id: ConnId,
        policy: Policy,
    ) -> Result<(), EndpointError> {
        let own = (policy != self.policy).then(|| alloc::boxed::Box::new(policy));
        self.entry_mut(id)
            .ok_or(EndpointError::NoSuchConnection)?
            .policy = own;
        // The timers may move: servicing asks the connection again.
        self.serve(id, |c, policy| {
            c.policy_changed(policy, now);
            Ok(())
        })
        .ok_or(EndpointError::NoSuchConnection)?
    }

    fn insert(
        &mut self,
        tuple: FourTuple,
        conn: Connection,
        parent: Option<SocketAddr>,
        policy: Option<alloc::boxed::Box<Policy>>,
    ) -> ConnId {
        let entry = |generation| Entry {
            tuple,
            conn,
            generation,
            parent,
            in_syn_queue: false,
            queued: false,
            released: false,
            armed: Instant::NEVER,
            policy,
        };
        let id = if let Some(index) = self.free {
            let slot = &mut self.slots[index as usize];
            let (generation, next) = match *slot {
                Slot::Free { generation, next } => (generation, next),
                Slot::Used(_) => unreachable!("the free list holds free slots only"),
            };
            self.free = next;
            *slot = Slot::Used(entry(generation));
            ConnId { index, generation }
        } else {
            // Below `u32::MAX`, which the connection table keeps for its empty buckets.
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != u32::MAX)
                .expect("fewer than 2^32 - 1 connections");
            self.slots.push(Slot::Used(entry(0)));
            ConnId {
                index,
                generation: 0,
            }
        };
        // A tuple's newer connection takes its place in the table (TIME-WAIT reuse, while the
        // application still holds the old one).
        let slots = &self.slots;
        let same =
            |i: u32| matches!(slots.get(i as usize), Some(Slot::Used(e)) if e.tuple == tuple);
        self.by_tuple
            .insert(tuple_hash(&self.hash, &tuple), id.index, same);
        self.live += 1;
        id
    }

    fn remove(&mut self, id: ConnId) -> Option<Entry> {
        let slot = self.slots.get_mut(id.index as usize)?;
        let generation = match slot {
            Slot::Used(e) if e.generation == id.generation => e.generation.wrapping_add(1),
            _ => return None,
        };
        let old = core::mem::replace(
            slot,
            Slot::Free {
                generation,
                next: self.free,
            },
        );
        self.free = Some(id.index);
        self.live -= 1;
        let Slot::Used(entry) = old else {
            return None;
        };
        // Unless a newer connection took the tuple over.
        self.by_tuple
            .remove(tuple_hash(&self.hash, &entry.tuple), id.index);
        if entry.in_syn_queue {
            if let Some(l) = entry
                .parent
                .and_then(|p| self.listeners.get_mut(&ListenKey(p)))
            {
                l.syn_queue = l.syn_queue.saturating_sub(1);
            }
        }
        Some(entry)
    }

    // ----- application calls -------------------------------------------------------------------

    /// Listens on `local` with an accept queue of `backlog` (capped at [`Policy::somaxconn`]).
    ///
    /// # Errors
    /// [`EndpointError::AddrInUse`] if something already listens there.
    pub fn listen(&mut self, local: SocketAddr, backlog: u32) -> Result<(), EndpointError> {
        if self.listeners.contains_key(&ListenKey(local)) {
            return Err(EndpointError::AddrInUse);
        }
        let backlog = backlog.min(self.policy.somaxconn);
        self.listeners.insert(
            ListenKey(local),
            Listener {
                backlog,
                ..Listener::default()
            },
        );
        Ok(())
    }

    /// Stops listening on `local`. As Linux, every connection still waiting in the accept queue
    /// is reset, and half-open ones are dropped silently.
    ///
    /// # Errors
    /// [`EndpointError::NotListening`].
    pub fn unlisten(&mut self, local: SocketAddr) -> Result<(), EndpointError> {
        let listener = self
            .listeners
            .remove(&ListenKey(local))
            .ok_or(EndpointError::NotListening)?;
        for id in listener.accept_queue {
            if let Some(e) = self.entry_mut(id) {
                e.released = true;
                e.parent = None;
            }
            // Cannot fail on a live connection; a CLOSED one just stays CLOSED.
            let _ = self.serve(id, |c, policy| {
                let _ = c.abort(policy);
                Ok(())
            });
        }
        let children: Vec<ConnId> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Used(e) if e.parent == Some(local) => Some(ConnId {
                    index: i as u32,
                    generation: e.generation,
                }),
                _ => None,
            })
            .collect();
        for id in children {
            self.remove(id);
        }
        Ok(())
    }

    /// Gives the listener on `local` its own policy, which its children inherit from the SYN on
    /// (socket options set on a listening socket).
    ///
    /// # Errors
    /// [`EndpointError::NotListening`].
    pub fn set_listener_policy(
        &mut self,
        local: SocketAddr,
        policy: Policy,
    ) -> Result<(), EndpointError> {
        let own = (policy != self.policy).then(|| alloc::boxed::Box::new(policy));
        let l = self
            .listeners
            .get_mut(&ListenKey(local))
            .ok_or(EndpointError::NotListening)?;
        l.policy = own;
        Ok(())
    }

    /// Connections waiting in `local`'s accept queue.
    #[must_use]
    pub fn accept_queue_len(&self, local: SocketAddr) -> usize {
        self.listeners
            .get(&ListenKey(local))
            .map_or(0, |l| l.accept_queue.len())
    }

    /// Half-open connections in `local`'s SYN queue.
    #[must_use]
    pub fn syn_queue_len(&self, local: SocketAddr) -> usize {
        self.listeners
            .get(&ListenKey(local))
            .map_or(0, |l| l.syn_queue as usize)
    }

    /// The next established connection from `local`'s accept queue.
    pub fn accept(&mut self, local: SocketAddr) -> Option<ConnId> {
        loop {
            let id = self
                .listeners
                .get_mut(&ListenKey(local))?
                .accept_queue
                .pop_front()?;
            if let Some(e) = self.entry_mut(id) {
                e.parent = None;
                return Some(id);
            }
        }
    }

    /// Opens a connection from `local` to `remote`; its SYN is the next segment polled.
    ///
    /// # Errors
    /// [`EndpointError::AddrInUse`] if the 4-tuple has a connection or a TIME-WAIT entry.
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<ConnId, EndpointError> {
        let tuple = FourTuple { local, remote };
        if self.lookup(&tuple).is_some() || self.time_wait_entry(&tuple).is_some() {
            return Err(EndpointError::AddrInUse);
        }
        let iss = self.isn.isn(now, &local, &remote);
        let conn = Connection::connect(&self.policy, now, iss);
        let id = self.insert(tuple, conn, None, None);
        self.service(id);
        Ok(id)
    }

    /// Runs an application call on a connection and schedules what follows from it.
    fn call<T>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Connection, &Policy) -> Result<T, CallError>,
    ) -> Result<T, EndpointError> {
        self.serve(id, f).ok_or(EndpointError::NoSuchConnection)?
    }

    /// [`Connection::send`].
    ///
    /// # Errors
    /// As [`Connection::send`], or [`EndpointError::NoSuchConnection`].
    pub fn send(&mut self, id: ConnId, len: usize) -> Result<usize, EndpointError> {
        self.call(id, |c, p| c.send(p, len))
    }

    /// [`Connection::recv`].
    ///
    /// # Errors
    /// As [`Connection::recv`], or [`EndpointError::NoSuchConnection`].
    pub fn recv(&mut self, id: ConnId, len: usize) -> Result<(), EndpointError> {
        self.call(id, |c, p| c.recv(p, len))
    }

    /// [`Connection::take_acked`].
    ///
    /// # Errors
    /// [`EndpointError::NoSuchConnection`].
    pub fn take_acked(&mut self, id: ConnId) -> Result<u32, EndpointError> {
        self.call(id, |c, _| Ok(c.take_acked()))
    }

    /// [`Connection::close`].
    ///
    /// # Errors
    /// As [`Connection::close`], or [`EndpointError::NoSuchConnection`].
    pub fn close(&mut self, now: Instant, id: ConnId) -> Result<(), EndpointError> {
        self.call(id, |c, p| c.close(p, now))
    }

    /// [`Connection::abort`].
    ///
    /// # Errors
    /// As [`Connection::abort`], or [`EndpointError::NoSuchConnection`].
    pub fn abort(&mut self, id: ConnId) -> Result<(), EndpointError> {
        self.call(id, |c, p| c.abort(p))
    }

    /// [`Connection::shutdown_read`].
    ///
    /// # Errors
    /// [`EndpointError::NoSuchConnection`].
    pub fn shutdown_read(&mut self, id: ConnId) -> Result<(), EndpointError> {
        self.call(id, |c, _| {
            c.shutdown_read();
            Ok(())
        })
    }

    /// The application lets go of the handle: the connection is [orphaned](Connection::orphan)
    /// and lives on until CLOSED (or becomes a TIME-WAIT entry). The handle is then stale.
    ///
    /// # Errors
    /// [`EndpointError::NoSuchConnection`].
    pub fn release(&mut self, now: Instant, id: ConnId) -> Result<(), EndpointError> {
        self.entry_mut(id)
            .ok_or(EndpointError::NoSuchConnection)?
            .released = true;
        // Freed (or turned into TIME-WAIT) by `poll_transmit` once nothing is left to send.
        self.serve(id, |c, policy| {
            c.orphan(policy, now);
            Ok(())
        })
        .ok_or(EndpointError::NoSuchConnection)?
    }

    // ----- arriving segments -------------------------------------------------------------------

    /// A segment arrived for `tuple` (`local` is its destination, `remote` its source).
    pub fn handle_segment<'a>(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &Segment<'a>,
    ) -> Routed<'a> {
        let hash = tuple_hash(&self.hash, &tuple);
        if let Some(id) = self.lookup_hashed(hash, &tuple) {
            let routed = self.route_to_connection(now, id, seg);
            if routed.disposition != Disposition::Reopen {
                return routed;
            }
            // TIME-WAIT reuse: the connection is gone; the SYN goes to the listener.
            let iss = self
                .connection_policy(id)
                .zip(self.entry(id))
                .map(|(p, e)| e.conn.time_wait_entry(p).reopen_iss());
            self.settle(id);
            return self.route_to_listener(now, tuple, seg, iss);
        }
        if let Some((_, tw)) = self.time_wait.find_mut(hash, |(t, _)| *t == tuple) {
            let verdict = tw.handle_segment(&self.policy, now, seg);
            let ack = tw.ack_segment();
            let iss = tw.reopen_iss();
            let disposition = match verdict {
                TimeWaitVerdict::Ack | TimeWaitVerdict::AckFin | TimeWaitVerdict::ChallengeAck => {
                    self.reply(tuple, ack);
                    match verdict {
                        TimeWaitVerdict::ChallengeAck => Disposition::ChallengeAck,
                        TimeWaitVerdict::AckFin => Disposition::Accepted,
                        _ => Disposition::Unacceptable,
                    }
                }
                TimeWaitVerdict::Drop(d) => d,
                TimeWaitVerdict::Closed => {
                    self.remove_time_wait(hash, &tuple);
                    Disposition::Reset
                }
                TimeWaitVerdict::Reopen => {
                    self.remove_time_wait(hash, &tuple);
                    return self.route_to_listener(now, tuple, seg, Some(iss));
                }
            };
            return Routed {
                conn: None,
                data: &[],
                disposition,
            };
        }
        self.route_to_listener(now, tuple, seg, None)
    }

    fn route_to_connection<'a>(
        &mut self,
        now: Instant,
        id: ConnId,
        seg: &Segment<'a>,
    ) -> Routed<'a> {
        if self.completes_into_full_queue(id, seg) {
            return self.overflow(id, seg);
        }
        // The common case, in one access to the slot: the segment, then what it caused.
        let Some(Ok((Arrival { data, disposition }, kept))) =
            self.serve_kept(id, |c, policy| Ok(c.handle_segment(policy, now, seg)))
        else {
            return Routed {
                conn: None,
                data: &[],
                disposition: Disposition::NoConnection,
            };
        };
        Routed {
            // A child that went back to LISTEN is gone already.
            conn: kept.then_some(id),
            data,
            disposition,
        }
    }

    /// A segment that would complete the handshake of a child whose listener's accept queue is
    /// full (see [`Self::completes_into_full_queue`]).
    #[cold]
    fn overflow<'a>(&mut self, id: ConnId, seg: &Segment<'_>) -> Routed<'a> {
        let Some(e) = self.entry(id) else {
            return Routed {
                conn: None,
                data: &[],
                disposition: Disposition::NoConnection,
            };
        };
        let policy = e.policy.as_deref().unwrap_or(&self.policy);
        // Linux drops the ACK that would complete the handshake, so the child stays in
        // SYN-RECEIVED and retransmits its SYN+ACK (or, with tcp_abort_on_overflow, resets it).
        if !policy.abort_on_overflow {
            return Routed {
                conn: Some(id),
                data: &[],
                disposition: Disposition::Ignored,
            };
        }
        let tuple = e.tuple;
        if let Some(rst) = reset_for(seg) {
            self.reply(tuple, rst);
        }
        self.remove(id);
        Routed {
            conn: None,
            data: &[],
            disposition: Disposition::Reset,
        }
    }

    /// Whether `seg` would complete the handshake of a child whose listener's accept queue is
    /// full.
    fn completes_into_full_queue(&self, id: ConnId, seg: &Segment<'_>) -> bool {
        let Some(e) = self.entry(id) else {
            return false;
        };
        e.conn.state() == State::SynReceived
            && seg.flags.ack()
            && !seg.flags.syn()
            && !seg.flags.rst()
            && e.parent
                .and_then(|p| self.listeners.get(&ListenKey(p)))
                .is_some_and(Listener::accept_queue_full)
    }

    fn route_to_listener<'a>(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &Segment<'a>,
        iss: Option<crate::SeqNum>,
    ) -> Routed<'a> {
        let local = tuple.local;
        let wildcard = SocketAddr::new(unspecified_like(&local), local.port());
        let (key, l) = if let Some(l) = self.listeners.get(&ListenKey(local)) {
            (local, l)
        } else if let Some(l) = self.listeners.get(&ListenKey(wildcard)) {
            (wildcard, l)
        } else {
            return self.closed_port(tuple, seg);
        };
        let policy = l.policy.as_deref().unwrap_or(&self.policy);
        let is_syn = seg.flags.syn() && !seg.flags.ack() && !seg.flags.rst();
        let mut use_cookie = false;
        if is_syn {
            // Linux 6.x (inet_csk_reqsk_queue_is_full): full once it holds more than the
            // backlog, like the accept queue.
            let syn_queue_full = l.syn_queue > l.backlog.min(policy.max_syn_backlog);
            use_cookie = match policy.syn_cookies {
                SynCookies::Always => true,
                SynCookies::WhenFull => syn_queue_full,
                SynCookies::Off => false,
            };
            if l.accept_queue_full() || (syn_queue_full && !use_cookie) {
                // Linux drops the SYN; the peer retries after its RTO.
                return Routed {
                    conn: None,
                    data: &[],
                    disposition: Disposition::Ignored,
                };
            }
        } else if policy.syn_cookies != SynCookies::Off
            && seg.flags.ack()
            && !seg.flags.rst()
            && !seg.flags.syn()
            && let Some(mss) = self.cookies.check(now, &tuple, seg)
        {
            let (full, abort) = (l.accept_queue_full(), policy.abort_on_overflow);
            return self.cookie_ack(now, tuple, key, seg, mss, full, abort);
        }
        if use_cookie {
            return self.answer_with_cookie(now, tuple, key, seg);
        }
        let iss = iss.unwrap_or_else(|| self.isn.isn(now, &tuple.local, &tuple.remote));
        let mut child = Connection::listen(policy, iss);
        let Arrival { disposition, .. } = child.handle_segment(policy, now, seg);
        if child.state() != State::SynReceived {
            // LISTEN's answer (a RST for an ACK, nothing for a RST) goes out; no state stays.
            // At most one answer: a RST.
            if let Some(t) = child.poll_transmit(policy, now) {
                self.reply(tuple, t.segment);
            }
            return Routed {
                conn: None,
                data: &[],
                disposition,
            };
        }
        let inherited = l.policy.clone();
        let id = self.insert(tuple, child, Some(key), inherited);
        if let Some(e) = self.entry_mut(id) {
            e.in_syn_queue = true;
        }
        if let Some(l) = self.listeners.get_mut(&ListenKey(key)) {
            l.syn_queue += 1;
        }
        self.service(id);
        Routed {
            conn: Some(id),
            data: &[],
            disposition,
        }
    }

    /// An ACK at `listener` that carries a valid cookie (for an MSS of `mss`): the connection
    /// it stands for, unless the accept queue is full. Out of line, as the other cookie paths:
    /// they run only under a SYN flood, and inlined they made the common handshake's code
    /// longer (`route_to_listener` 5,354 to 2,374 octets).
    #[cold]
    #[inline(never)]
    #[allow(
        clippy::too_many_arguments,
        reason = "the listener's state, read before the call"
    )]
    fn cookie_ack<'a>(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        listener: SocketAddr,
        seg: &Segment<'a>,
        mss: u16,
        accept_queue_full: bool,
        abort_on_overflow: bool,
    ) -> Routed<'a> {
        if !accept_queue_full {
            return self.complete_cookie(now, tuple, listener, seg, mss);
        }
        // A good cookie at a full accept queue: dropped silently, as Linux does, so that the
        // peer's next segment completes it once there is room (or reset, when told to).
        if abort_on_overflow && let Some(rst) = reset_for(seg) {
            self.reply(tuple, rst);
            return Routed {
                conn: None,
                data: &[],
                disposition: Disposition::Reset,
            };
        }
        Routed {
            conn: None,
            data: &[],
            disposition: Disposition::Ignored,
        }
    }

    /// RFC 4987 §3.6: answers a SYN at `listener` with a cookie and keeps nothing.
    #[cold]
    #[inline(never)]
    fn answer_with_cookie<'a>(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        listener: SocketAddr,
        seg: &Segment<'a>,
    ) -> Routed<'a> {
        let own = self
            .listeners
            .get(&ListenKey(listener))
            .and_then(|l| l.policy.as_deref());
        let policy = own.unwrap_or(&self.policy);
        let cookie = self.cookies.make(now, &tuple, seg);
        let mut probe = Connection::listen(policy, cookie);
        let _ = probe.handle_segment(policy, now, seg);
        let synack = probe.poll_transmit(policy, now).map(|t| t.segment);
        if let Some(mut synack) = synack {
            // No window scaling: a cookie cannot carry it.
            synack.options.window_scale = None;
            self.reply(tuple, synack);
        }
        Routed {
            conn: None,
            data: &[],
            disposition: Disposition::Accepted,
        }
    }

    /// A valid cookie came back: build the connection through the ordinary path, as if the
    /// SYN had been queued (the SYN it stands for, then this ACK), and queue it for accept.
    fn complete_cookie<'a>(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        listener: SocketAddr,
        ack: &Segment<'a>,
        mss: u16,
    ) -> Routed<'a> {
        let own = self
            .listeners
            .get(&ListenKey(listener))
            .and_then(|l| l.policy.clone());
        let policy = own.as_deref().unwrap_or(&self.policy);
        let syn = Segment {
            seq: ack.seq - 1,
            flags: crate::Flags::SYN,
            window: ack.window,
            options: crate::Options {
                mss: Some(mss),
                ..crate::Options::NONE
            },
            ..Segment::default()
        };
        let mut child = Connection::listen(policy, ack.ack - 1);
        let _ = child.handle_segment(policy, now, &syn);
        // The SYN+ACK went out statelessly, with the cookie.
        while child.poll_transmit(policy, now).is_some() {}
        let Arrival { data, disposition } = child.handle_segment(policy, now, ack);
        let id = self.insert(tuple, child, Some(listener), own);
        self.service(id);
        Routed {
            conn: Some(id),
            data,
            disposition,
        }
    }

    /// RFC 9293 §3.10.7.1: no connection, no listener.
    fn closed_port<'a>(&mut self, tuple: FourTuple, seg: &Segment<'a>) -> Routed<'a> {
        if let Some(rst) = reset_for(seg) {
            self.reply(tuple, rst);
        }
        Routed {
            conn: None,
            data: &[],
            disposition: Disposition::NoConnection,
        }
    }

    fn remove_time_wait(&mut self, hash: u64, tuple: &FourTuple) {
        if let Ok(found) = self.time_wait.find_entry(hash, |(t, _)| t == tuple) {
            found.remove();
        }
    }

    fn reply(&mut self, tuple: FourTuple, seg: Segment<'static>) {
        if self.replies.len() < MAX_REPLIES {
            self.replies.push_back((tuple, seg));
        }
    }

    /// After an input or call: collect what happened and queue the connection for polling.
    fn service(&mut self, id: ConnId) {
        let _ = self.serve(id, |_, _| Ok(()));
    }

    /// Runs `f` (an input or a call) on connection `id` under its policy, then services the
    /// connection in the same access to its slot: its events and timer are collected
    /// ([`Self::collect_entry`]) and it is queued for polling. `None` for a stale handle; an
    /// error of `f` is returned as is, with nothing serviced (the call changed nothing).
    #[inline]
    fn serve<T>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Connection, &Policy) -> Result<T, CallError>,
    ) -> Option<Result<T, EndpointError>> {
        Some(match self.serve_kept(id, f)? {
            Ok((r, _)) => Ok(r),
            Err(e) => Err(e),
        })
    }

    /// [`Self::serve`], also telling whether the connection is still there afterwards (a child
    /// whose handshake failed is removed).
    #[inline]
    fn serve_kept<T>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Connection, &Policy) -> Result<T, CallError>,
    ) -> Option<Result<(T, bool), EndpointError>> {
        let (e, default, books) = self.borrow_entry(id)?;
        let policy = e.policy.as_deref().unwrap_or(default);
        let r = match f(&mut e.conn, policy) {
            Ok(r) => r,
            Err(err) => return Some(Err(err.into())),
        };
        if Self::collect_entry(e, id, books.listeners, books.events, books.timers) {
            self.remove(id);
            return Some(Ok((r, false)));
        }
        if !e.queued {
            e.queued = true;
            books.ready.push_back(id);
        }
        Some(Ok((r, true)))
    }

    /// Connection `id`'s entry, the endpoint's policy (the entry's own, if it has one, is in
    /// the entry: see [`Entry::policy`]), and the queues servicing it touches, borrowed together
    /// (one access to the slot); `None` for a stale handle.
    #[inline]
    fn borrow_entry(&mut self, id: ConnId) -> Option<(&mut Entry, &Policy, Books<'_>)> {
        let Endpoint {
            policy: default,
            slots,
            listeners,
            events,
            timers,
            ready,
            ..
        } = self;
        match slots.get_mut(id.index as usize)? {
            Slot::Used(e) if e.generation == id.generation => {
                let books = Books {
                    listeners,
                    events,
                    timers,
                    ready,
                };
                Some((e, default, books))
            }
            _ => None,
        }
    }

    /// Collects what the connection `id` (borrowed as `e`) produced: its events (a child's
    /// ESTABLISHED moves it from the SYN queue to the accept queue), and its timer. Returns
    /// whether it is a child whose handshake failed, which the caller removes.
    #[inline]
    fn collect_entry(
        e: &mut Entry,
        id: ConnId,
        listeners: &mut HashMap<ListenKey, Listener, KeyedState>,
        events: &mut VecDeque<(ConnId, Event)>,
        timers: &mut BinaryHeap<Reverse<(Instant, TimerKey)>>,
    ) -> bool {
        while let Some(event) = e.conn.poll_event() {
            if event == Event::Established
                && let Some(parent) = e.parent
            {
                // From the SYN queue (or from a cookie, which never was in it) to the accept
                // queue.
                if let Some(l) = listeners.get_mut(&ListenKey(parent)) {
                    if e.in_syn_queue {
                        l.syn_queue = l.syn_queue.saturating_sub(1);
                    }
                    l.accept_queue.push_back(id);
                }
                e.in_syn_queue = false;
                continue;
            }
            events.push_back((id, event));
        }
        if let Some(deadline) = e.conn.poll_timeout()
            && deadline < e.armed
        {
            e.armed = deadline;
            timers.push(Reverse((deadline, TimerKey::Conn(id))));
        }
        // A child whose handshake failed went back to LISTEN: it was never more than an entry
        // in the SYN queue.
        e.parent.is_some() && e.conn.state() == State::Listen
    }

    /// Once a connection has nothing left to send: free it, or turn it into a TIME-WAIT entry,
    /// if the application has let go of it.
    fn settle(&mut self, id: ConnId) {
        let Some(e) = self.entry(id) else { return };
        if !e.released {
            return;
        }
        match e.conn.state() {
            State::Closed => {
                self.remove(id);
            }
            State::TimeWait => {
                let tw = e
                    .conn
                    .time_wait_entry(e.policy.as_deref().unwrap_or(&self.policy));
                let tuple = e.tuple;
                self.remove(id);
                if self.time_wait.len() < self.policy.max_time_wait as usize {
                    self.timers
                        .push(Reverse((tw.deadline, TimerKey::TimeWait(tuple))));
                    let key = self.hash;
                    let h = tuple_hash(&key, &tuple);
                    match self.time_wait.entry(
                        h,
                        |(t, _)| *t == tuple,
                        |(t, _)| tuple_hash(&key, t),
                    ) {
                        hashbrown::hash_table::Entry::Occupied(mut old) => old.get_mut().1 = tw,
                        hashbrown::hash_table::Entry::Vacant(slot) => {
                            slot.insert((tuple, tw));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // ----- outputs -----------------------------------------------------------------------------

    /// The next segment to send, if any.
    #[inline]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing> {
        // The common last call: nothing queued.
        if self.replies.is_empty() && self.ready.is_empty() {
            return None;
        }
        self.poll_queued(now)
    }

    /// [`Self::poll_transmit`] with something queued.
    fn poll_queued(&mut self, now: Instant) -> Option<Outgoing> {
        if let Some((tuple, segment)) = self.replies.pop_front() {
            return Some(Outgoing {
                tuple,
                conn: None,
                transmit: Transmit {
                    segment,
                    payload: PayloadRange::default(),
                },
            });
        }
        while let Some(&id) = self.ready.front() {
            // One access to the slot per segment: poll it, then collect what polling changed.
            let Some((e, default, books)) = self.borrow_entry(id) else {
                self.ready.pop_front();
                continue;
            };
            let policy = e.policy.as_deref().unwrap_or(default);
            let transmit = e.conn.poll_transmit(policy, now);
            let tuple = e.tuple;
            if transmit.is_none() {
                e.queued = false;
                books.ready.pop_front();
            }
            let failed = Self::collect_entry(e, id, books.listeners, books.events, books.timers);
            let settle = e.released && matches!(e.conn.state(), State::Closed | State::TimeWait);
            if failed {
                self.remove(id);
            } else if settle && transmit.is_none() {
                self.settle(id);
            }
            if let Some(transmit) = transmit {
                return Some(Outgoing {
                    tuple,
                    conn: Some(id),
                    transmit,
                });
            }
        }
        None
    }

    /// The next event of a connection.
    pub fn poll_event(&mut self) -> Option<(ConnId, Event)> {
        self.events.pop_front()
    }

    /// The earliest deadline of any timer.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((deadline, key))) = self.timers.peek() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            match key {
                TimerKey::Conn(id) => {
                    // Only the entry that stands for the connection's current deadline.
                    match self.entry_mut(id) {
                        Some(e) if e.armed == deadline => e.armed = Instant::NEVER,
                        _ => continue,
                    }
                    let _ = self.serve(id, |c, policy| {
                        c.handle_timeout(policy, now);
                        Ok(())
                    });
                }
                TimerKey::TimeWait(tuple) => {
                    let h = tuple_hash(&self.hash, &tuple);
                    let Some((_, tw)) = self.time_wait.find(h, |(t, _)| *t == tuple) else {
                        continue;
                    };
                    if tw.expired(now) {
                        self.remove_time_wait(h, &tuple);
                    } else if tw.deadline != deadline {
                        let next = tw.deadline;
                        self.timers.push(Reverse((next, TimerKey::TimeWait(tuple))));
                    }
                }
            }
        }
    }
}

/// The unspecified address of `addr`'s family (a wildcard listener).
fn unspecified_like(addr: &SocketAddr) -> core::net::IpAddr {
    match addr {
        SocketAddr::V4(_) => core::net::IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => core::net::IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

    /// The table hash is the keyed hash of what `FourTuple`'s `Hash` feeds, whichever way it is
    /// computed, so that a lookup finds what an insert stored for any address family.
    #[test]
    fn tuple_hash_is_the_keyed_hash_of_the_tuple() {
        let key = KeyedState::new([7, 9]);
        let v4 = |a: [u8; 4], p| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), p));
        let v6 = |p| SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, p, 0, 0));
        let tuples = [
            (v4([10, 0, 0, 1], 80), v4([192, 0, 2, 1], 40_000)),
            (v4([255, 255, 255, 255], 65_535), v4([0, 0, 0, 0], 0)),
            (v6(80), v6(40_000)),
            (v4([10, 0, 0, 1], 80), v6(40_000)),
        ];
        for (local, remote) in tuples {
            let tuple = FourTuple { local, remote };
            assert_eq!(tuple_hash(&key, &tuple), key.hash_one(tuple), "{tuple:?}");
        }
        let a = FourTuple {
            local: v4([10, 0, 0, 1], 80),
            remote: v4([192, 0, 2, 1], 40_000),
        };
        let b = FourTuple {
            remote: v4([192, 0, 2, 1], 40_001),
            ..a
        };
        assert_ne!(tuple_hash(&key, &a), tuple_hash(&key, &b));
    }
}
