//! Replays one fuzz input: prints the decoded input, a sequence diagram in RFC 9293 notation,
//! and the oracles' verdict; writes every segment to a pcap file (link type 228, raw IPv4).
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --bin replay -- <target> <file> [--pcap <out.pcap>]
//! ```
//!
//! `<target>` is `wire`, `segments`, `pair`, `listener` or `sockets`. The pcap goes to `<file>.pcap`
//! unless `--pcap` names another path. Exits 1 if an oracle failed.

// `cargo fuzz build` with no target builds every binary of the crate with libFuzzer's coverage
// instrumentation, which only links against libFuzzer's runtime: under `cfg(fuzzing)` this tool
// is an empty fuzz target (never run), so that command works; everywhere else it is the tool.
#![cfg_attr(fuzzing, no_main)]
#![cfg_attr(fuzzing, allow(dead_code, unused_imports))]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use arbitrary::{Arbitrary, Unstructured};
use tcp_fsm_fuzz::observe::{Observer, Recorder};
use tcp_fsm_fuzz::{listener, pair, segments, sockets, wire_target};

fn usage() -> ExitCode {
    eprintln!("usage: replay <wire|segments|pair|listener|sockets> <file> [--pcap <out.pcap>]");
    ExitCode::from(2)
}

#[cfg(not(fuzzing))]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(target), Some(file)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let pcap_path = match args.iter().position(|a| a == "--pcap") {
        Some(i) => match args.get(i + 1) {
            Some(p) => p.clone(),
            None => return usage(),
        },
        None => format!("{file}.pcap"),
    };
    let data = match std::fs::read(file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("replay: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rec = Recorder::new();
    let mut scratch = vec![0u8; 70_000];
    println!("{target} input, {} octets", data.len());
    // Panics are the oracles' verdicts: print them after the diagram, not in the middle of it.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = match target.as_str() {
        "wire" => {
            let input = wire_target::decode(&data);
            println!("{input:?}");
            wire(&data, &mut rec, &mut scratch)
        }
        "segments" => {
            print_decoded::<segments::SegmentsInput>(&data);
            name(&mut rec, &[(segments::US, "TCP"), (segments::PEER, "peer")]);
            catch_unwind(AssertUnwindSafe(|| {
                segments::run(&data, &mut rec, &mut scratch)
            }))
        }
        "pair" => {
            print_decoded::<pair::PairInput>(&data);
            name(&mut rec, &[(pair::ADDR_A, "A"), (pair::ADDR_B, "B")]);
            catch_unwind(AssertUnwindSafe(|| {
                pair::run(&data, &mut rec, &mut scratch)
            }))
        }
        "listener" => {
            print_decoded::<listener::ListenerInput>(&data);
            name(&mut rec, &[(listener::LISTEN_ADDR, "listener")]);
            catch_unwind(AssertUnwindSafe(|| {
                listener::run(&data, &mut rec, &mut scratch)
            }))
        }
        "sockets" => {
            print_decoded::<sockets::SocketsInput>(&data);
            catch_unwind(AssertUnwindSafe(|| {
                sockets::run(&data, &mut rec, &mut scratch)
            }))
        }
        _ => return usage(),
    };
    println!("\n--- sequence diagram ---");
    print!("{}", rec.text);
    if let Err(e) = std::fs::write(&pcap_path, rec.pcap.bytes()) {
        eprintln!("replay: {pcap_path}: {e}");
    } else {
        println!("--- {} segments written to {pcap_path} ---", rec.segments);
    }
    match outcome {
        Ok(()) => {
            println!("verdict: every oracle held");
            ExitCode::SUCCESS
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            println!("verdict: {msg}");
            ExitCode::from(1)
        }
    }
}

fn name(rec: &mut Recorder, names: &[(std::net::SocketAddrV4, &str)]) {
    for (a, n) in names {
        rec.name(*a, n);
    }
}

fn print_decoded<T: for<'a> Arbitrary<'a> + std::fmt::Debug>(data: &[u8]) {
    let mut u = Unstructured::new(data);
    match T::arbitrary(&mut u) {
        Ok(input) => println!("{input:#?}"),
        Err(e) => println!("(does not decode: {e})"),
    }
}

fn wire(data: &[u8], rec: &mut Recorder, scratch: &mut Vec<u8>) -> std::thread::Result<()> {
    let (pseudo, _, tcp) = wire_target::split(data);
    match tcp_fsm::wire::parse(tcp, pseudo.as_ref()) {
        Ok(repr) => {
            let src =
                std::net::SocketAddrV4::new(std::net::Ipv4Addr::new(192, 0, 2, 1), repr.src_port);
            let dst =
                std::net::SocketAddrV4::new(std::net::Ipv4Addr::new(192, 0, 2, 2), repr.dst_port);
            rec.segment(tcp_fsm::Instant::ZERO, src, dst, &repr.segment);
        }
        Err(e) => rec.note(
            tcp_fsm::Instant::ZERO,
            format_args!("rejected: {e} ({e:?})"),
        ),
    }
    catch_unwind(AssertUnwindSafe(|| wire_target::run(data, scratch)))
}
