//! The `wire` target: raw bytes parsed as a TCP header, with no pseudo-header, an IPv4 one or
//! an IPv6 one.
//!
//! Input layout: octet 0 picks the mode (bits 0-1: 0 none, 1 IPv4, 2 IPv6, 3 IPv4; bit 2: write
//! the right checksum into the bytes first, so the checks after the checksum are reached), then
//! 8 (IPv4) or 32 (IPv6) octets of addresses, then the TCP bytes.
//!
//! Oracles:
//! - `parse` never panics;
//! - every accepted header re-emits (under the same pseudo-header) to bytes that parse to the
//!   same value, the re-emitted bytes verify, and emitting is a fixed point;
//! - every rejection is the typed error an independent reference walk of the same checks, in
//!   the documented order, predicts, with the same fields;
//! - an accepted segment's options equal the reference walk's, and its payload is the bytes
//!   after the data offset.

use std::net::{Ipv4Addr, Ipv6Addr};

use arbitrary::Unstructured;
use tcp_fsm::wire::{self, PseudoHeader, WireError, field, option};
use tcp_fsm::{Options, Timestamps};

use crate::input::byte;

/// The mode octet's bit that asks for the checksum to be fixed before parsing.
pub const FIX_CHECKSUM: u8 = 0b100;

/// The decoded input: the pseudo-header (if any) and the TCP bytes.
#[derive(Clone, Debug)]
pub struct WireInput {
    /// Pseudo-header to verify the checksum against.
    pub pseudo: Option<PseudoHeader>,
    /// Whether the checksum field was rewritten to the right value.
    pub fix_checksum: bool,
    /// The TCP header and payload.
    pub tcp: Vec<u8>,
}

/// Splits the raw input into mode, pseudo-header and TCP bytes.
#[must_use]
pub fn split(data: &[u8]) -> (Option<PseudoHeader>, bool, &[u8]) {
    let mut u = Unstructured::new(data);
    let mode = byte(&mut u);
    let pseudo = match mode & 0b11 {
        0 => None,
        2 => {
            let mut a = [0u8; 32];
            let _ = u.fill_buffer(&mut a);
            let src: [u8; 16] = a[..16].try_into().unwrap_or_default();
            let dst: [u8; 16] = a[16..].try_into().unwrap_or_default();
            Some(PseudoHeader::V6 {
                src: Ipv6Addr::from(src),
                dst: Ipv6Addr::from(dst),
            })
        }
        _ => {
            let mut a = [0u8; 8];
            let _ = u.fill_buffer(&mut a);
            Some(PseudoHeader::V4 {
                src: Ipv4Addr::new(a[0], a[1], a[2], a[3]),
                dst: Ipv4Addr::new(a[4], a[5], a[6], a[7]),
            })
        }
    };
    let fix = mode & FIX_CHECKSUM != 0 && pseudo.is_some();
    let rest = u.take_rest();
    (pseudo, fix, rest)
}

/// The input `replay` prints.
#[must_use]
pub fn decode(data: &[u8]) -> WireInput {
    let (pseudo, fix_checksum, tcp) = split(data);
    WireInput {
        pseudo,
        fix_checksum,
        tcp: tcp.to_vec(),
    }
}

/// Encodes an input: the inverse of [`split`].
#[must_use]
pub fn encode(pseudo: Option<&PseudoHeader>, fix_checksum: bool, tcp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tcp.len() + 33);
    match pseudo {
        None => out.push(0),
        Some(PseudoHeader::V4 { src, dst }) => {
            out.push(1 | if fix_checksum { FIX_CHECKSUM } else { 0 });
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
        }
        Some(PseudoHeader::V6 { src, dst }) => {
            out.push(2 | if fix_checksum { FIX_CHECKSUM } else { 0 });
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
        }
    }
    out.extend_from_slice(tcp);
    out
}

/// Runs the oracles on one input; panics with the oracle's verdict on a failure.
/// `scratch` must hold at least `data.len()` octets (it is reused across runs).
pub fn run(data: &[u8], scratch: &mut Vec<u8>) {
    let (pseudo, fix, tcp) = split(data);
    let bytes: &[u8] = if fix && tcp.len() >= field::MIN_HEADER_LEN {
        scratch.clear();
        scratch.extend_from_slice(tcp);
        let sum = wire::checksum(pseudo.as_ref().expect("fix implies a pseudo-header"), tcp);
        scratch[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        scratch
    } else {
        tcp
    };
    check(bytes, pseudo.as_ref());
}

/// The oracles for one byte string under one pseudo-header.
pub fn check(bytes: &[u8], pseudo: Option<&PseudoHeader>) {
    let expected = reference(bytes, pseudo);
    match wire::parse(bytes, pseudo) {
        Ok(repr) => {
            let want_options = match expected {
                Ok(o) => o,
                Err(e) => panic!("wire::parse accepted what the reference rejects with {e:?}"),
            };
            assert_eq!(
                repr.segment.options, want_options,
                "options differ from the reference walk"
            );
            let hlen = usize::from(bytes[field::DATA_OFFSET] >> 4) * 4;
            assert_eq!(
                repr.segment.payload,
                &bytes[hlen..],
                "payload is the octets after the data offset"
            );
            let needed = wire::buffer_len(&repr);
            let mut out = vec![0u8; needed];
            let n = wire::emit(&repr, pseudo, &mut out).expect("emit into a buffer of buffer_len");
            assert_eq!(n, needed, "emit writes buffer_len octets");
            if let Some(p) = pseudo {
                assert!(wire::verify(p, &out), "re-emitted bytes verify");
            }
            let again = wire::parse(&out, pseudo).expect("re-emitted bytes parse");
            assert_eq!(
                again, repr,
                "accepted header re-emits to bytes that parse the same"
            );
            let mut out2 = vec![0u8; needed];
            let _ = wire::emit(&again, pseudo, &mut out2);
            assert_eq!(out, out2, "emit(parse(emit(x))) == emit(x)");
            // Too small a buffer is a typed error, and writes nothing.
            if needed > 0 {
                let mut short = vec![0xAAu8; needed - 1];
                assert!(matches!(
                    wire::emit(&repr, pseudo, &mut short),
                    Err(wire::EmitError::BufferTooSmall { .. })
                ));
                assert!(
                    short.iter().all(|&b| b == 0xAA),
                    "a failed emit writes nothing"
                );
            }
        }
        Err(e) => match expected {
            Ok(_) => panic!("wire::parse rejected with {e:?} what the reference accepts"),
            Err(want) => assert_eq!(e, want, "rejection differs from the reference"),
        },
    }
}

/// An independent walk of RFC 9293 §3.1's header checks in the order `wire::parse` documents:
/// fixed header, data offset, checksum, options. Written octet by octet, without the crate's
/// packet view.
pub fn reference(bytes: &[u8], pseudo: Option<&PseudoHeader>) -> Result<Options, WireError> {
    let len = bytes.len();
    if len < 20 {
        return Err(WireError::Truncated { len });
    }
    let offset = bytes[12] >> 4;
    if offset < 5 {
        return Err(WireError::DataOffsetTooSmall { offset });
    }
    let header_len = usize::from(offset) * 4;
    if header_len > len {
        return Err(WireError::DataOffsetPastEnd { header_len, len });
    }
    if let Some(p) = pseudo {
        let expected = naive_checksum(p, bytes);
        let found = u16::from_be_bytes([bytes[16], bytes[17]]);
        // One's complement has two zeros: 0x0000 and 0xffff both verify a zero sum.
        let ok = found == expected || (expected == 0 && found == 0xffff);
        if !ok {
            return Err(WireError::BadChecksum { expected, found });
        }
    }
    let mut out = Options::NONE;
    let mut i = 20;
    while i < header_len {
        let kind = bytes[i];
        if kind == option::EOL {
            break;
        }
        if kind == option::NOP {
            i += 1;
            continue;
        }
        if i + 1 >= header_len {
            return Err(WireError::OptionLengthMissing { kind, at: i });
        }
        let olen = bytes[i + 1];
        if olen < 2 {
            return Err(WireError::OptionLengthInvalid {
                kind,
                len: olen,
                at: i,
            });
        }
        let end = i + usize::from(olen);
        if end > header_len {
            return Err(WireError::OptionPastEnd {
                kind,
                len: olen,
                at: i,
            });
        }
        let body = &bytes[i + 2..end];
        let bad = WireError::OptionBadLength {
            kind,
            len: olen,
            at: i,
        };
        match kind {
            option::MSS if body.len() == 2 => {
                out.mss = Some(u16::from_be_bytes([body[0], body[1]]))
            }
            option::WINDOW_SCALE if body.len() == 1 => out.window_scale = Some(body[0]),
            option::SACK_PERMITTED if body.is_empty() => out.sack_permitted = true,
            option::TIMESTAMPS if body.len() == 8 => {
                out.timestamps = Some(Timestamps {
                    value: u32::from_be_bytes([body[0], body[1], body[2], body[3]]),
                    echo: u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
                });
            }
            option::MSS | option::WINDOW_SCALE | option::SACK_PERMITTED | option::TIMESTAMPS => {
                return Err(bad);
            }
            _ => {}
        }
        i = end;
    }
    Ok(out)
}

/// RFC 1071 octet by octet over pseudo-header and segment, checksum field as zero.
fn naive_checksum(pseudo: &PseudoHeader, tcp: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |hi: u8, lo: u8| sum += u64::from(u16::from_be_bytes([hi, lo]));
    match pseudo {
        PseudoHeader::V4 { src, dst } => {
            let (s, d) = (src.octets(), dst.octets());
            for w in s.chunks(2).chain(d.chunks(2)) {
                add(w[0], w[1]);
            }
            add(0, 6);
            let l = tcp.len() as u64;
            // The 16-bit length field of an IPv4 pseudo-header; longer segments cannot exist
            // in IPv4, and the crate sums the length's 16-bit words, so do the same.
            for shift in [0, 16, 32, 48] {
                let w = ((l >> shift) & 0xffff) as u16;
                let [hi, lo] = w.to_be_bytes();
                add(hi, lo);
            }
        }
        PseudoHeader::V6 { src, dst } => {
            let (s, d) = (src.octets(), dst.octets());
            for w in s.chunks(2).chain(d.chunks(2)) {
                add(w[0], w[1]);
            }
            let l = tcp.len() as u64;
            for shift in [0, 16, 32, 48] {
                let w = ((l >> shift) & 0xffff) as u16;
                let [hi, lo] = w.to_be_bytes();
                add(hi, lo);
            }
            add(0, 6);
        }
    }
    let mut i = 0;
    while i < tcp.len() {
        let hi = tcp[i];
        let lo = if i + 1 < tcp.len() { tcp[i + 1] } else { 0 };
        if i != 16 {
            add(hi, lo);
        }
        i += 2;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
