//! `sockets`: two socket stacks, their applications' calls and the network between them; see `tcp_fsm_fuzz::sockets`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcp_fsm_fuzz::observe::Silent;

fuzz_target!(|data: &[u8]| {
    tcp_fsm_fuzz::with_scratch(|scratch| {
        tcp_fsm_fuzz::sockets::run(data, &mut Silent, scratch);
    });
});
