//! # tcp-model: exhaustive model checking of two `tcp-fsm` peers
//!
//! A [stateright](https://docs.rs/stateright) model that drives the real core — two
//! [`tcp_fsm::Connection`]s with their applications' buffers — over a network that loses,
//! duplicates and reorders segments within per-scenario budgets, with crashes and reboots, old
//! duplicates from an earlier incarnation, nondeterministic timers, and the applications' calls
//! (connect, listen, send, shutdown, close, abort, close with unread data) as actions.
//!
//! - [`model`]: the [`stateright::Model`] ([`model::TcpModel`]);
//! - [`scenario`] and [`suite`]: what each row of `check` explores, and its bounds;
//! - [`properties`]: the safety and quiescence properties over a plain
//!   [`properties::Observation`], shared with fuzz targets and tests;
//! - [`sometimes`]: reachability properties;
//! - [`coverage`]: RFC 9293 Figure 5 transition coverage, as a table and a Graphviz graph;
//! - [`diagram`] and [`pcap`]: counterexamples as RFC-style sequence diagrams and pcap files;
//! - [`run`]: checking a scenario and the `check` table.
//!
//! Everything that needs stateright (the model, its runs, reachability, coverage and diagrams
//! of its paths) is behind the default feature `checker`; with `default-features = false` the
//! crate is [`properties`] plus the network and scenario data, which the `pair` fuzz target
//! uses.

#[cfg(feature = "checker")]
pub mod coverage;
#[cfg(feature = "checker")]
pub mod diagram;
#[cfg(feature = "checker")]
pub mod model;
pub mod net;
pub mod pcap;
pub mod peer;
pub mod properties;
#[cfg(feature = "checker")]
pub mod run;
pub mod scenario;
#[cfg(feature = "checker")]
pub mod sometimes;
pub mod suite;

#[cfg(feature = "checker")]
pub use model::{Action, Call, ModelState, TcpModel};
pub use scenario::Scenario;
