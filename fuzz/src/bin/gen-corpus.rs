//! Writes the seed corpus (`tcp_fsm_fuzz::corpus`) to `fuzz/corpus/<target>/`, replacing the
//! seeds it wrote before (files named `seed-*`) and leaving any other file there alone.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --bin gen-corpus [-- <corpus dir>]
//! ```

// See `replay.rs`: under `cargo fuzz build` (cfg `fuzzing`) this tool is an empty fuzz target.
#![cfg_attr(fuzzing, no_main)]
#![cfg_attr(fuzzing, allow(dead_code, unused_imports))]
#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});

use std::path::PathBuf;
use std::process::ExitCode;

use tcp_fsm_fuzz::corpus;

#[cfg(not(fuzzing))]
fn main() -> ExitCode {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    for target in corpus::TARGETS {
        let seeds = corpus::seeds(target).expect("a known target");
        let out = dir.join(target);
        if let Err(e) = write(&out, &seeds) {
            eprintln!("gen-corpus: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        let bytes: usize = seeds.iter().map(|(_, d)| d.len()).sum();
        println!(
            "{target:<9} {:>3} seeds, {bytes:>6} octets -> {}",
            seeds.len(),
            out.display()
        );
    }
    ExitCode::SUCCESS
}

fn write(out: &std::path::Path, seeds: &[corpus::Seed]) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let is_seed = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seed-"));
        if is_seed {
            std::fs::remove_file(&path)?;
        }
    }
    for (name, data) in seeds {
        std::fs::write(out.join(format!("seed-{name}")), data)?;
    }
    Ok(())
}
