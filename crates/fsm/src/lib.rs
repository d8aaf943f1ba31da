//! # tcp-fsm: TCP connection management as a sans-IO state machine
//!
//! RFC 9293's connection states and event processing (§3.10), with RFC 5961's defences against
//! blind attacks, RFC 1337's TIME-WAIT hazards as a policy, RFC 6298's retransmission timer,
//! RFC 6528's initial sequence numbers and RFC 7323's window scaling.
//!
//! The crate does no I/O, reads no clock and draws no random numbers: segments, application
//! calls and time go in; segments, events and the next deadline come out.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
// `arbitrary` (a fuzzing-only feature) needs std: the crate itself does, and its derive expands
// to `::std` paths. Without the feature the core stays `no_std`.
#[cfg(all(feature = "arbitrary", not(test)))]
extern crate std;

pub mod close;
#[cfg(feature = "alloc")]
mod conn_table;
pub mod connection;
#[cfg(feature = "alloc")]
pub mod endpoint;
pub mod ipv4;
pub mod isn;
#[cfg(feature = "alloc")]
pub mod pcap;
pub mod policy;
pub mod segment;
pub mod seq;
#[cfg(feature = "alloc")]
pub mod socket;
pub mod state;
#[cfg(feature = "alloc")]
pub mod syncookie;
pub mod time;
pub mod timewait;
pub mod wire;

pub use close::{CloseAction, close_action, close_last_descriptor};
pub use connection::{
    Arrival, CallError, ConnError, Connection, Disposition, Event, Status, Timer, acceptable,
    reset_for,
};
#[cfg(feature = "alloc")]
pub use endpoint::{ConnId, Endpoint, EndpointError, FourTuple, Outgoing, RecordSizes, Routed};
pub use isn::{IsnGenerator, KeyedState, SipHasher13, SipHasher24};
#[cfg(feature = "teeth")]
pub use policy::Bug;
pub use policy::{Keepalive, Policy, SynCookies};
pub use segment::{Flags, Options, PayloadRange, Segment, Timestamps, Transmit};
pub use seq::SeqNum;
pub use state::{Cause, EDGES, Edge, State, is_allowed_step};
pub use time::{Duration, Instant};
pub use timewait::{TimeWait, TimeWaitVerdict};

#[cfg(test)]
mod size_tests {
    use core::mem::size_of;

    /// The budget: a live connection in 128 bytes, a TIME-WAIT entry in 32.
    #[test]
    fn connection_and_time_wait_entry_fit_their_budgets() {
        let conn = size_of::<crate::Connection>();
        let tw = size_of::<crate::TimeWait>();
        println!("size_of Connection = {conn}, TimeWait = {tw}");
        assert!(conn <= 128, "Connection is {conn} bytes");
        assert!(tw <= 32, "TimeWait is {tw} bytes");
    }
}

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
