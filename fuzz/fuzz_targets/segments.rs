//! `segments`: one connection, any segments, calls and time; see `tcp_fsm_fuzz::segments`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcp_fsm_fuzz::observe::Silent;

fuzz_target!(|data: &[u8]| {
    tcp_fsm_fuzz::with_scratch(|scratch| {
        tcp_fsm_fuzz::segments::run(data, &mut Silent, scratch);
    });
});
