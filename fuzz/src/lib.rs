//! Fuzz targets for `tcp-fsm`, as a library: each target's decoding, driver and oracles live
//! here so that the fuzz binaries (fuzz_targets/), `replay` and `gen-corpus` (src/bin/) share
//! them.
//!
//! | target     | what it feeds                                          | module            |
//! |------------|--------------------------------------------------------|-------------------|
//! | `wire`     | raw bytes as a TCP header, with IPv4/IPv6 pseudo-headers | [`wire_target`] |
//! | `segments` | one connection: any segments, calls and time steps      | [`segments`]      |
//! | `pair`     | two connections over a network the input schedules     | [`pair`]          |
//! | `listener` | many 4-tuples against one listening endpoint           | [`listener`]      |
//! | `sockets`  | two socket stacks: the applications' calls and a network | [`sockets`]   |
//! | `empty`    | nothing: the harness's own speed limit                 |                   |
//!
//! The two-peer properties the `pair` target checks are the model's, `tcp_model::properties`
//! (the model crate without its `checker` feature): written once, for the model checker, this
//! target and the tests.
//!
//! Oracle failures are panics whose message starts with `oracle failed`, which libFuzzer
//! reports as crashes.

pub mod corpus;
pub mod input;
pub mod listener;
pub mod network;
pub mod observe;
pub mod pair;
pub mod pcap;
pub mod policies;
pub mod segments;
pub mod sockets;
pub mod wire_target;

use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 70_000]);
}

/// Runs `f` with a reusable scratch buffer (at least 70,000 octets: any segment fits), so that
/// the targets allocate nothing per execution for the wire round trips.
pub fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|s| f(&mut s.borrow_mut()))
}
