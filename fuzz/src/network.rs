//! The part of a fuzzed network that does not depend on what travels on it: segments in flight,
//! each with an id for the replay's diagram, losses and duplicates chosen by the input, and a
//! pool of payload buffers so that nothing is allocated per segment once warm. The `pair` and
//! `sockets` targets put their own packet types on it.

/// Most segments in flight at once; a duplicate past it is not made.
pub const CAPACITY: usize = 64;

/// A segment in flight, as the network sees it.
pub trait InFlight: Clone {
    /// Its id (for the replay's diagram).
    fn id(&self) -> u32;
    /// Gives it a new id (a duplicate).
    fn set_id(&mut self, id: u32);
    /// Its payload buffer, given back to the pool when the segment is lost.
    fn into_payload(self) -> Vec<u8>;
}

/// Segments in flight, in the order they were sent.
#[derive(Debug)]
pub struct Network<P> {
    /// The segments; delivering index `i` > 0 is a reorder.
    pub packets: Vec<P>,
    /// Payload buffers to reuse.
    pub pool: Vec<Vec<u8>>,
    next_id: u32,
}

impl<P: InFlight> Network<P> {
    /// An empty network.
    #[must_use]
    pub fn new() -> Network<P> {
        Network {
            packets: Vec::with_capacity(CAPACITY),
            pool: Vec::new(),
            next_id: 1,
        }
    }

    /// A fresh segment id.
    pub fn next_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The index the input's `choice` names, if anything is in flight.
    #[must_use]
    pub fn pick(&self, choice: u8) -> Option<usize> {
        (!self.packets.is_empty()).then(|| usize::from(choice) % self.packets.len())
    }

    /// Loses the segment `choice` names; returns its id.
    pub fn lose(&mut self, choice: u8) -> Option<u32> {
        let i = self.pick(choice)?;
        let p = self.packets.remove(i);
        let id = p.id();
        self.pool.push(p.into_payload());
        Some(id)
    }

    /// Sends the segment `choice` names once more, under a new id, unless the network is full;
    /// returns the original's id and the copy's.
    pub fn duplicate(&mut self, choice: u8) -> Option<(u32, u32)> {
        if self.packets.len() >= CAPACITY {
            return None;
        }
        let mut p = self.packets[self.pick(choice)?].clone();
        let (original, copy) = (p.id(), self.next_id());
        p.set_id(copy);
        self.packets.push(p);
        Some((original, copy))
    }
}

impl<P: InFlight> Default for Network<P> {
    fn default() -> Self {
        Network::new()
    }
}
