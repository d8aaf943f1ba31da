//! Policies chosen by the input: a profile, a few knobs turned, or (rarely) any `Policy` at all.

use arbitrary::{Arbitrary, Unstructured};
use tcp_fsm::{Duration, Keepalive, Policy};

use crate::input::{Writer, byte};

/// The first octet's profile (bits 0-2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Profile {
    /// `Policy::LINUX`.
    Linux,
    /// `Policy::RFC_STRICT`.
    RfcStrict,
    /// The unit tests' policy: Linux without window scaling, a 65535 receive buffer, and no
    /// rate limit on challenge ACKs (so every answer shows).
    Test,
    /// Any `Policy` at all, every field read from the input (only when the caller allows it).
    Arbitrary,
}

/// Knobs turned on top of a profile (the second octet, one bit each).
pub mod knob {
    /// Toggle window scaling.
    pub const WINDOW_SCALING: u8 = 1 << 0;
    /// No rate limit on challenge ACKs.
    pub const NO_RATELIMIT: u8 = 1 << 1;
    /// Small buffers (4 KiB receive, 3000-octet send, MSS 536): windows close often.
    pub const SMALL_BUFFERS: u8 = 1 << 2;
    /// Toggle RFC 1337 (ignore RST in TIME-WAIT).
    pub const RFC1337: u8 = 1 << 3;
    /// Toggle TIME-WAIT reuse by a newer SYN.
    pub const TIME_WAIT_REUSE: u8 = 1 << 4;
    /// Keepalive on: 10 s idle, 1 s interval, 3 probes.
    pub const KEEPALIVE: u8 = 1 << 5;
    /// User timeout of 30 s.
    pub const USER_TIMEOUT: u8 = 1 << 6;
    /// Few retries (2 for data, SYN and SYN,ACK): timeouts come soon.
    pub const FEW_RETRIES: u8 = 1 << 7;
}

/// A policy as the input describes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PolicyChoice {
    /// The profile.
    pub profile: Profile,
    /// [`knob`] bits.
    pub knobs: u8,
    /// The policy itself.
    pub policy: Policy,
}

impl PolicyChoice {
    /// Reads a choice. With `allow_arbitrary`, profile octets 6 and 7 (of 0-7) read a whole
    /// `Policy` ([`any_policy`]); otherwise they mean LINUX.
    pub fn read(u: &mut Unstructured<'_>, allow_arbitrary: bool) -> PolicyChoice {
        let p = byte(u);
        let knobs = byte(u);
        let profile = match p % 8 {
            0..=2 => Profile::Linux,
            3 | 4 => Profile::Test,
            5 => Profile::RfcStrict,
            _ if allow_arbitrary => Profile::Arbitrary,
            _ => Profile::Linux,
        };
        let policy = match profile {
            Profile::Arbitrary => any_policy(u),
            _ => apply(base(profile), knobs),
        };
        PolicyChoice {
            profile,
            knobs,
            policy,
        }
    }

    /// Writes a (non-arbitrary) choice.
    pub fn write(profile: Profile, knobs: u8, w: &mut Writer) {
        let p = match profile {
            Profile::Linux => 0,
            Profile::Test => 3,
            Profile::RfcStrict => 5,
            Profile::Arbitrary => 7,
        };
        w.byte(p).byte(knobs);
    }
}

/// A profile's policy.
#[must_use]
pub fn base(profile: Profile) -> Policy {
    match profile {
        Profile::Linux | Profile::Arbitrary => Policy::LINUX,
        Profile::RfcStrict => Policy::RFC_STRICT,
        Profile::Test => Policy {
            window_scaling: false,
            recv_buffer: 65_535,
            invalid_ratelimit: Duration::ZERO,
            ..Policy::LINUX
        },
    }
}

/// `policy` with `knobs` turned.
#[must_use]
pub fn apply(mut p: Policy, knobs: u8) -> Policy {
    if knobs & knob::WINDOW_SCALING != 0 {
        p.window_scaling = !p.window_scaling;
    }
    if knobs & knob::NO_RATELIMIT != 0 {
        p.invalid_ratelimit = Duration::ZERO;
    }
    if knobs & knob::SMALL_BUFFERS != 0 {
        p.recv_buffer = 4096;
        p.send_buffer = 3000;
        p.mss = 536;
    }
    if knobs & knob::RFC1337 != 0 {
        p.rfc1337 = !p.rfc1337;
    }
    if knobs & knob::TIME_WAIT_REUSE != 0 {
        p.time_wait_reuse = !p.time_wait_reuse;
    }
    if knobs & knob::KEEPALIVE != 0 {
        p.keepalive = Some(Keepalive {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            probes: 3,
        });
    }
    if knobs & knob::USER_TIMEOUT != 0 {
        p.user_timeout = Some(Duration::from_secs(30));
    }
    if knobs & knob::FEW_RETRIES != 0 {
        p.retries = 2;
        p.syn_retries = 2;
        p.synack_retries = 2;
    }
    p
}

/// The longest duration [`any_policy`] keeps: about 19 hours (2^32 * 16 us). Any longer and
/// `now + d` saturates to `Instant::NEVER`, which the core reads as "no timer armed": a
/// TIME-WAIT of 584,000 years that the oracles would take for one that never ends.
pub const MAX_POLICY_DURATION: Duration = Duration::from_micros((1 << 32) * 16);

/// Any `Policy`, every field from the input: the core's derived `Arbitrary` (feature
/// `arbitrary`), with every duration taken modulo [`MAX_POLICY_DURATION`] and the send buffer
/// capped at 256 KiB (a larger buffer only makes an execution slower: one step may send the
/// whole buffer in 48-octet segments).
pub fn any_policy(u: &mut Unstructured<'_>) -> Policy {
    // The derive reads fields in declaration order and zero-fills once the data runs out, so it
    // never fails; the fallback is for form's sake.
    let mut p = Policy::arbitrary(u).unwrap_or(Policy::LINUX);
    let bound = |d: &mut Duration| {
        *d = Duration::from_micros(d.as_micros() % (MAX_POLICY_DURATION.as_micros() + 1));
    };
    for d in [
        &mut p.time_wait,
        &mut p.initial_rto,
        &mut p.min_rto,
        &mut p.max_rto,
        &mut p.invalid_ratelimit,
    ] {
        bound(d);
    }
    for d in [&mut p.fin_wait2_timeout, &mut p.user_timeout]
        .into_iter()
        .flatten()
    {
        bound(d);
    }
    if let Some(k) = &mut p.keepalive {
        bound(&mut k.idle);
        bound(&mut k.interval);
    }
    p.send_buffer %= 256 * 1024 + 1;
    p
}
