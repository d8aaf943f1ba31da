//! # tcp-interop: the Linux kernel as a real peer of `tcp-fsm`
//!
//! Runs the core's socket layer ([`tcp_fsm::socket::Stack`]) as a TCP host on a TUN device inside a
//! network namespace made for the purpose, with the kernel's TCP stack (plain `std::net`-style
//! sockets) as its peer, and records what crossed the wire.
//!
//! - [`netns`]: private namespaces (a child process per scenario, under `unshare`), `ip`;
//! - [`tun`]: the TUN device;
//! - [`ours`]: our host: the core's socket layer, driver thread, capture, state log, blocking
//!   calls;
//! - [`kernel`]: kernel sockets, `ss`, and the `inet_sock_set_state` tracepoint;
//! - [`peer`]: the traits both stacks implement, so a scenario is written once;
//! - [`loopback`]: `AF_PACKET` capture for the kernel-vs-kernel runs;
//! - [`pcap`], [`trace`]: captures and segments (IPv4 framing is the core's `tcp_fsm::ipv4`).
//!
//! The scenarios are in `tests/scenarios.rs`; `examples/echo.rs` is an echo server to talk to
//! with `nc` or `curl`. See the crate's README.

pub mod kernel;
pub mod loopback;
pub mod netns;
pub mod ours;
pub mod pcap;
pub mod peer;
pub mod trace;
pub mod tun;
