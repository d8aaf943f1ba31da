//! The hot path does not allocate: once a connection is ESTABLISHED inside an `Endpoint`, data,
//! ACKs, duplicate and out-of-window segments, wire parse and emit touch no heap. (`Connection`
//! alone cannot allocate: it is `no_std` without `alloc`.) `allocation_counter` installs a
//! counting global allocator and counts per thread, so the test harness's own threads do not
//! show in the count.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tcp_fsm::wire::{self, PseudoHeader};
use tcp_fsm::{ConnId, Endpoint, Flags, FourTuple, Instant, Policy, State};

fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, host), port))
}

fn pseudo(tuple: &FourTuple) -> PseudoHeader {
    match (tuple.local, tuple.remote) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => PseudoHeader::V4 {
            src: *s.ip(),
            dst: *d.ip(),
        },
        _ => unreachable!("IPv4 only"),
    }
}

/// Moves every segment `from` has to send into `to`, through wire bytes with checksums, using
/// only the caller's fixed buffers. Returns how many segments moved.
fn pump(
    now: Instant,
    from: &mut Endpoint,
    to: &mut Endpoint,
    send_buf: &[u8],
    wire_buf: &mut [u8; 1600],
) -> usize {
    let mut moved = 0;
    while let Some(out) = from.poll_transmit(now) {
        let seg = out
            .transmit
            .with_payload(send_buf)
            .expect("payload in buffer");
        let repr = wire::Repr {
            src_port: out.tuple.local.port(),
            dst_port: out.tuple.remote.port(),
            segment: seg,
        };
        let ph = pseudo(&out.tuple);
        let n = wire::emit(&repr, Some(&ph), wire_buf).expect("emit");
        let parsed = wire::parse(&wire_buf[..n], Some(&ph)).expect("parse");
        let arriving = FourTuple {
            local: out.tuple.remote,
            remote: out.tuple.local,
        };
        let routed = to.handle_segment(now, arriving, &parsed.segment);
        if let Some(id) = routed.conn
            && !routed.data.is_empty()
        {
            to.recv(id, routed.data.len()).expect("consume");
        }
        moved += 1;
    }
    while from.poll_event().is_some() {}
    while to.poll_event().is_some() {}
    moved
}

#[test]
fn established_data_acks_and_wire_round_trips_do_not_allocate() {
    let policy = Policy::default();
    let mut now = Instant::from_millis(1_000);
    let (c_addr, s_addr) = (addr(1, 40_000), addr(2, 80));
    let mut client = Endpoint::new(policy, [1, 2, 3, 4]);
    let mut server = Endpoint::new(policy, [5, 6, 7, 8]);
    let mut wire_buf = [0u8; 1600];
    let send_buf = [b'x'; 64];

    // Setup may allocate (tables grow): handshake and accept.
    server.listen(s_addr, 16).unwrap();
    let c = client.connect(now, c_addr, s_addr).unwrap();
    while pump(now, &mut client, &mut server, &send_buf, &mut wire_buf)
        + pump(now, &mut server, &mut client, &send_buf, &mut wire_buf)
        > 0
    {}
    let s: ConnId = server.accept(s_addr).expect("accepted");
    assert_eq!(client.connection(c).unwrap().state(), State::Established);

    let mut segments = 0;
    let counted = allocation_counter::measure(|| {
        for _ in 0..1_000 {
            now = now + tcp_fsm::Duration::from_millis(1);
            for client_sends in [true, false] {
                let (ep, peer, id) = if client_sends {
                    (&mut client, &mut server, c)
                } else {
                    (&mut server, &mut client, s)
                };
                ep.send(id, 1).unwrap();
                segments += pump(now, ep, peer, &send_buf, &mut wire_buf);
                segments += pump(now, peer, ep, &send_buf, &mut wire_buf);
                ep.take_acked(id).unwrap();
            }
            // A duplicate ACK and an out-of-window segment (drawing an ACK) at the client.
            let st = client.connection(c).unwrap().status();
            let tuple = client.tuple(c).unwrap();
            let dup = tcp_fsm::Segment {
                seq: st.rcv_nxt,
                ack: st.snd_una,
                flags: Flags::ACK,
                window: 1024,
                urgent: 0,
                options: tcp_fsm::Options::default(),
                payload: &[],
            };
            let far = tcp_fsm::Segment {
                seq: st.rcv_nxt + 0x4000_0000,
                payload: b"z",
                ..dup
            };
            let _ = client.handle_segment(now, tuple, &dup);
            let _ = client.handle_segment(now, tuple, &far);
            segments += 2 + pump(now, &mut client, &mut server, &send_buf, &mut wire_buf);
        }
    });
    assert!(segments >= 5_000, "only {segments} segments moved");
    assert_eq!(
        counted.count_total, 0,
        "the hot path allocated over {segments} segments"
    );
    assert_eq!(client.connection(c).unwrap().state(), State::Established);
}
