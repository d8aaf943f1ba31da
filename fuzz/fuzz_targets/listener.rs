//! `listener`: many 4-tuples against one listening endpoint; see `tcp_fsm_fuzz::listener`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcp_fsm_fuzz::observe::Silent;

fuzz_target!(|data: &[u8]| {
    tcp_fsm_fuzz::with_scratch(|scratch| {
        tcp_fsm_fuzz::listener::run(data, &mut Silent, scratch);
    });
});
