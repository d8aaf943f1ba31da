//! `pair`: two connections over a network the input schedules; see `tcp_fsm_fuzz::pair`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcp_fsm_fuzz::observe::Silent;

fuzz_target!(|data: &[u8]| {
    tcp_fsm_fuzz::with_scratch(|scratch| tcp_fsm_fuzz::pair::run(data, &mut Silent, scratch));
});
