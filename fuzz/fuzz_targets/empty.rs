//! `empty`: does nothing with its input. Its executions per second are the ceiling the harness
//! itself (libFuzzer, instrumentation, input mutation) puts on every other target.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    std::hint::black_box(data);
});
