//! `wire`: raw bytes parsed as a TCP header; see `tcp_fsm_fuzz::wire_target`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tcp_fsm_fuzz::with_scratch(|scratch| tcp_fsm_fuzz::wire_target::run(data, scratch));
});
