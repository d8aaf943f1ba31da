//! A first end-to-end pass through handshake, data and close.
mod common;
use common::*;
use tcp_fsm::{Event, State};

#[test]
fn smoke_handshake_data_close() {
    let mut c = Peer::connect(100);
    let mut s = Peer::listen(300);
    sends!(c, ["<SEQ=100><CTL=SYN>"]);
    assert_eq!(c.state(), State::SynSent);
    s.rx("<SEQ=100><CTL=SYN>");
    assert_eq!(s.state(), State::SynReceived);
    sends!(s, ["<SEQ=300><ACK=101><CTL=SYN,ACK>"]);
    c.rx("<SEQ=300><ACK=101><CTL=SYN,ACK>");
    assert_eq!(c.state(), State::Established);
    sends!(c, ["<SEQ=101><ACK=301><CTL=ACK>"]);
    s.rx("<SEQ=101><ACK=301><CTL=ACK>");
    assert_eq!(s.state(), State::Established);
    assert_eq!(c.take_events(), [Event::Established]);
    c.write(b"hi");
    sends!(c, ["<SEQ=101><ACK=301><CTL=ACK><DATA=2>"]);
    s.rx("<SEQ=101><ACK=301><DATA=\"hi\">");
    assert_eq!(s.recv_buf, b"hi");
    sends!(s, ["<SEQ=301><ACK=103><CTL=ACK>"]);
    c.close();
    assert_eq!(c.state(), State::FinWait1);
}
