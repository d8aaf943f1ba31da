//! What a run shows: nothing while fuzzing; a sequence diagram and a pcap file when replayed.
//!
//! Every target's driver is generic over [`Observer`]. The fuzz targets pass [`Silent`], whose
//! methods are empty and inlined away; `replay` passes a [`Recorder`].

use core::fmt;
use std::fmt::Write as _;
use std::net::SocketAddrV4;

use tcp_fsm::{Instant, Segment};

use crate::pcap::Pcap;

/// Receives what a run does, step by step.
pub trait Observer {
    /// Whether anything is recorded (drivers skip building text when not).
    const ENABLED: bool;

    /// A segment went from `src` to `dst` at `now` (sent by a TCP, or injected by the input).
    fn segment(&mut self, now: Instant, src: SocketAddrV4, dst: SocketAddrV4, seg: &Segment<'_>);

    /// A line of commentary: a call, a state change, a network decision, an oracle's verdict.
    fn note(&mut self, now: Instant, args: fmt::Arguments<'_>);
}

/// Records nothing: the fuzzing configuration.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    const ENABLED: bool = false;

    #[inline(always)]
    fn segment(&mut self, _: Instant, _: SocketAddrV4, _: SocketAddrV4, _: &Segment<'_>) {}

    #[inline(always)]
    fn note(&mut self, _: Instant, _: fmt::Arguments<'_>) {}
}

/// Records a sequence diagram in RFC 9293 notation and a pcap file of every segment.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Names of the hosts, for the diagram.
    names: Vec<(SocketAddrV4, String)>,
    /// The diagram, one line per event.
    pub text: String,
    /// The capture.
    pub pcap: Pcap,
    /// Segments recorded.
    pub segments: usize,
}

impl Recorder {
    /// A recorder with no named hosts.
    #[must_use]
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Names `addr` in the diagram (otherwise it shows as `ip:port`).
    pub fn name(&mut self, addr: SocketAddrV4, name: &str) {
        self.names.push((addr, name.to_owned()));
    }

    fn label(&self, addr: SocketAddrV4) -> String {
        self.names
            .iter()
            .find(|(a, _)| *a == addr)
            .map_or_else(|| addr.to_string(), |(_, n)| n.clone())
    }
}

/// `12.345678` seconds.
pub fn secs(now: Instant) -> String {
    let us = now.as_micros();
    if now == Instant::NEVER {
        return "never".to_owned();
    }
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

impl Observer for Recorder {
    const ENABLED: bool = true;

    fn segment(&mut self, now: Instant, src: SocketAddrV4, dst: SocketAddrV4, seg: &Segment<'_>) {
        let (s, d) = (self.label(src), self.label(dst));
        let _ = writeln!(
            self.text,
            "{:>12}  {s:>8} --> {d:<8} {seg}  WND={}{}",
            secs(now),
            seg.window,
            if seg.options == tcp_fsm::Options::NONE {
                String::new()
            } else {
                format!("  {:?}", seg.options)
            }
        );
        self.pcap.record(now, src, dst, seg);
        self.segments += 1;
    }

    fn note(&mut self, now: Instant, args: fmt::Arguments<'_>) {
        let _ = writeln!(self.text, "{:>12}  # {args}", secs(now));
    }
}
