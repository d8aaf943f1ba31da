//! Our stack as an echo server on a TUN device, for `nc` or `curl` on the kernel's side.
//!
//! Run it inside a network namespace of its own (it refuses to configure addresses anywhere
//! else), and talk to it from the same namespace:
//!
//! ```sh
//! cargo build -p tcp-interop --example echo
//! ip netns add tcp-echo
//! ip netns exec tcp-echo target/debug/examples/echo --seconds 120 --pcap /tmp/echo.pcap &
//! ip netns exec tcp-echo nc 10.200.0.2 7          # type lines; they come back
//! ip netns exec tcp-echo curl --http0.9 http://10.200.0.2:7/   # the request comes back
//! ip netns del tcp-echo
//! ```
//!
//! Options: `--port N` (7), `--seconds N` (how long to serve, 300), `--pcap FILE` (write every
//! datagram through the TUN device there on exit).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use tcp_fsm::Policy;
use tcp_interop::ours::Host;
use tcp_interop::peer::Stream;
use tcp_interop::tun::Tun;

const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
const OURS: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 2);

fn main() {
    let mut port = 7u16;
    let mut seconds = 300u64;
    let mut pcap: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage("bad --port")),
            "--seconds" => seconds = value().parse().unwrap_or_else(|_| usage("bad --seconds")),
            "--pcap" => pcap = Some(PathBuf::from(value())),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let tun = Tun::create("tun0", KERNEL, 24).unwrap_or_else(|e| {
        eprintln!("echo: {e}");
        std::process::exit(1)
    });
    let secret = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let host = Host::start(
        tun,
        OURS,
        Policy::LINUX,
        [secret, !secret, secret.rotate_left(17), 42],
    )
    .expect("the host starts");
    let epoch = SystemTime::now();
    let local = SocketAddr::from((OURS, port));
    let listener = host.listen_on(local, 16).expect("listen");
    println!("echo: ours listens on {local} (kernel side {KERNEL} on tun0) for {seconds} s");
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        let Ok(mut conn) = listener.accept_within(Duration::from_millis(500)) else {
            continue;
        };
        println!("echo: connection from {}", conn.peer_addr());
        thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if conn.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(e) => {
                        println!("echo: {e}");
                        break;
                    }
                }
            }
            println!("echo: {} closed", conn.peer_addr());
            Box::new(conn).close();
        });
    }
    if let Some(path) = pcap {
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let name = path
            .file_stem()
            .map_or("echo".into(), |s| s.to_string_lossy().into_owned());
        match tcp_interop::pcap::write(&dir, &name, &host.capture(), epoch) {
            Ok(p) => println!("echo: capture written to {}", p.display()),
            Err(e) => eprintln!("echo: cannot write the capture: {e}"),
        }
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("echo: {problem}\nusage: echo [--port N] [--seconds N] [--pcap FILE]");
    std::process::exit(2)
}
