//! Policies chosen by the input: a profile, a few knobs turned, or (rarely) any `Policy` at all.

use arbitrary::Unstructured;
use tcp_fsm::{Duration, Keepalive, Policy, SynCookies};

use crate::input::{Writer, byte, u16le, u32le};

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

/// Any `Policy`, every field from the input.
///
/// The core's `arbitrary` feature would derive this, but it does not compile today (the derive
/// expands to `::std::thread_local!` in a `no_std` crate), so the fuzz crate reads the fields
/// itself.
pub fn any_policy(u: &mut Unstructured<'_>) -> Policy {
    let dur = |u: &mut Unstructured<'_>| Duration::from_micros(u64::from(u32le(u)) * 16);
    let opt_dur = |u: &mut Unstructured<'_>| {
        let d = dur(u);
        (byte(u) & 1 == 1).then_some(d)
    };
    let flags = u16le(u);
    let bit = |i: u32| flags & (1 << i) != 0;
    Policy {
        time_wait: dur(u),
        fin_wait2_timeout: opt_dur(u),
        initial_rto: dur(u),
        min_rto: dur(u),
        max_rto: dur(u),
        syn_retries: byte(u),
        synack_retries: byte(u),
        retries: byte(u),
        user_timeout: opt_dur(u),
        keepalive: bit(0).then(|| Keepalive {
            idle: dur(u),
            interval: dur(u),
            probes: byte(u),
        }),
        mss: u16le(u),
        default_peer_mss: u16le(u),
        recv_buffer: u32le(u),
        // At most 256 KiB: a larger buffer only makes an execution slower (one step may send
        // the whole buffer in 48-octet segments).
        send_buffer: u32le(u) % (256 * 1024 + 1),
        window_scaling: bit(1),
        rfc1337: bit(2),
        time_wait_reuse: bit(3),
        invalid_ratelimit: dur(u),
        rst_carries_ack: bit(4),
        drop_syn_fin: bit(5),
        syn_rto_fallback: bit(6),
        max_syn_backlog: u32le(u),
        somaxconn: u32le(u),
        syn_cookies: match byte(u) % 3 {
            0 => SynCookies::Off,
            1 => SynCookies::WhenFull,
            _ => SynCookies::Always,
        },
        abort_on_overflow: bit(7),
        max_time_wait: u32le(u),
    }
}
