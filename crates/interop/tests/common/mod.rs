//! The scenario harness: a test re-runs its own binary in a fresh network namespace; there the
//! scenario runs twice, kernel-vs-ours over a TUN device and kernel-vs-kernel on loopback, and
//! the two runs are checked and compared.

#![allow(dead_code, reason = "each test file uses part of the harness")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use tcp_fsm::{Duration as FsmDuration, FourTuple, Keepalive, Policy};
use tcp_interop::kernel::{self, KSock, KeepaliveConfig, KernelStack, StateTrace};
use tcp_interop::loopback::LoopbackCapture;
use tcp_interop::netns::{self, ChildGuard};
use tcp_interop::ours::Host;
use tcp_interop::pcap::{self, Packet};
use tcp_interop::peer::{Stack, Stream};
use tcp_interop::trace::{self, Seg, Sides};
use tcp_interop::tun::Tun;

/// Each child (both runs of one scenario) must be done by then.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// The kernel's address on the TUN device, and ours behind it.
pub const TUN_B: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
/// Our address, routed into the TUN device.
pub const TUN_A: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 2);
/// The kernel playing B on loopback.
pub const LO_B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// The kernel playing A on loopback.
pub const LO_A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Which stack plays A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Ours, over the TUN device.
    Ours,
    /// A kernel socket, on loopback.
    Kernel,
}

impl Variant {
    pub fn label(self) -> &'static str {
        match self {
            Variant::Ours => "kernel-vs-ours",
            Variant::Kernel => "kernel-vs-kernel",
        }
    }
}

/// What a scenario asks of the stacks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setup {
    /// Keepalive on A: idle, interval, probes.
    pub keepalive: Option<(Duration, Duration, u8)>,
}

/// One run of a scenario: the stacks, their addresses, and a port range of its own.
pub struct Run<'a> {
    pub variant: Variant,
    pub a: &'a dyn Stack,
    pub b: KernelStack,
    pub host: Option<&'a Host>,
    pub sides: Sides,
    pub port: u16,
}

impl Run<'_> {
    pub fn a_addr(&self, offset: u16) -> SocketAddr {
        SocketAddr::from((self.sides.a, self.port + offset))
    }

    pub fn b_addr(&self, offset: u16) -> SocketAddr {
        SocketAddr::from((self.sides.b, self.port + offset))
    }

    /// A connection between A and B, A the client or the server: (A's end, B's end).
    pub fn pair(&self, a_client: bool) -> (Box<dyn Stream>, KSock) {
        if a_client {
            let l = self.b.listen_socket(self.b_addr(0), 16).expect("B listens");
            let a = self
                .a
                .connect(self.a_addr(1), self.b_addr(0))
                .expect("A connects");
            let b = l.accept_socket().expect("B accepts");
            (a, b)
        } else {
            let mut l = self.a.listen(self.a_addr(0), 16).expect("A listens");
            let b = self
                .b
                .connect_socket(self.b_addr(1), self.a_addr(0))
                .expect("B connects");
            let a = l.accept().expect("A accepts");
            (a, b)
        }
    }

    /// A's state for the connection `a` → `b`: RFC name, or "none" when A keeps no state.
    pub fn a_state(&self, a: SocketAddr, b: SocketAddr) -> String {
        match self.host {
            Some(h) => h
                .state_of(FourTuple {
                    local: a,
                    remote: b,
                })
                // A CLOSED connection whose handle is still open is what Linux keeps after a
                // reset too: a socket `ss` no longer lists.
                .filter(|s| *s != tcp_fsm::State::Closed)
                .map_or("none".into(), |s| s.name().to_string()),
            None => kernel_state(a, b),
        }
    }

    /// B's state for `b` → `a`, from `ss`.
    pub fn b_state(&self, b: SocketAddr, a: SocketAddr) -> String {
        kernel_state(b, a)
    }

    /// Waits (up to 3 s) until A and B reach the given end states.
    pub fn expect_end_states(&self, a: SocketAddr, b: SocketAddr, a_end: &str, b_end: &str) {
        let start = Instant::now();
        loop {
            let (sa, sb) = (self.a_state(a, b), self.b_state(b, a));
            if sa == a_end && sb == b_end {
                println!("[{}] end states: A {sa}, B {sb}", self.variant.label());
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "[{}] end states: A is {sa} (want {a_end}), B is {sb} (want {b_end})",
                self.variant.label()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn kernel_state(local: SocketAddr, peer: SocketAddr) -> String {
    match kernel::ss_state(local, peer).expect("ss -tan runs") {
        Some(s) => kernel::ss_rfc_name(&s).to_string(),
        None => "none".into(),
    }
}

/// What a scenario's run left behind, for its checks.
pub struct Observed {
    pub variant: Variant,
    pub sides: Sides,
    pub segs: Vec<Seg>,
    /// State sequences per connection, keyed by (A's port, B's port).
    pub a_states: BTreeMap<(u16, u16), Vec<String>>,
    pub b_states: BTreeMap<(u16, u16), Vec<String>>,
}

impl Observed {
    /// Segments from A to B (or B to A) of the connection between those ports.
    pub fn sent_by_a(&self, a_port: u16, b_port: u16) -> Vec<&Seg> {
        self.segs
            .iter()
            .filter(|s| {
                *s.src.ip() == self.sides.a && s.src.port() == a_port && s.dst.port() == b_port
            })
            .collect()
    }

    pub fn sent_by_b(&self, a_port: u16, b_port: u16) -> Vec<&Seg> {
        self.segs
            .iter()
            .filter(|s| {
                *s.src.ip() == self.sides.b && s.src.port() == b_port && s.dst.port() == a_port
            })
            .collect()
    }

    /// The connection's segments in order.
    pub fn conn(&self, a_port: u16, b_port: u16) -> Vec<Seg> {
        self.segs
            .iter()
            .filter(|s| {
                (s.src.port() == a_port && s.dst.port() == b_port)
                    || (s.src.port() == b_port && s.dst.port() == a_port)
            })
            .cloned()
            .collect()
    }

    pub fn signature(&self, a_port: u16, b_port: u16) -> Vec<String> {
        self.sides.signature(&self.conn(a_port, b_port))
    }

    pub fn render(&self, a_port: u16, b_port: u16) -> String {
        trace::render(&self.sides, &self.conn(a_port, b_port))
    }

    pub fn a_seq(&self, a_port: u16, b_port: u16) -> Vec<String> {
        self.a_states
            .get(&(a_port, b_port))
            .cloned()
            .unwrap_or_default()
    }

    pub fn b_seq(&self, a_port: u16, b_port: u16) -> Vec<String> {
        self.b_states
            .get(&(a_port, b_port))
            .cloned()
            .unwrap_or_default()
    }

    pub fn label(&self) -> &'static str {
        self.variant.label()
    }
}

/// The ports of a connection: (A's, B's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports(pub u16, pub u16);

impl Ports {
    pub fn of(a: &dyn Stream) -> Ports {
        Ports(a.local_addr().port(), a.peer_addr().port())
    }
}

/// A scenario: its name (the test's name), its port range, what it needs, its body (which
/// makes the socket-level assertions and returns the connections to check), and its checks of
/// the capture, run for both variants.
pub struct Scenario {
    pub name: &'static str,
    pub port: u16,
    pub setup: Setup,
    pub body: fn(&Run<'_>) -> Vec<Ports>,
    pub check: fn(&Observed, &[Ports]),
}

/// Runs `scenario`: in the test process, starts the child and judges its exit; in the child,
/// runs both variants.
pub fn run(scenario: &Scenario) {
    match netns::child_scenario() {
        Some(name) => {
            assert_eq!(
                name, scenario.name,
                "the child runs the scenario it was started for"
            );
            child(scenario);
        }
        None => parent(scenario),
    }
}

fn parent(scenario: &Scenario) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let guard = ChildGuard::spawn(&exe, scenario.name, scenario.name).unwrap_or_else(|e| {
        panic!(
            "scenario {}: cannot create a network namespace: {e} \
             (needs root, util-linux `unshare`, and /dev/net/tun)",
            scenario.name
        )
    });
    let out = guard.wait(CHILD_TIMEOUT);
    println!("{}", out.output);
    println!("scenario {} took {:.1?}", scenario.name, out.elapsed);
    match out.status {
        Some(s) if s.success() => {}
        Some(s) => panic!(
            "scenario {} failed in its namespace ({s}); output above",
            scenario.name
        ),
        None => panic!(
            "scenario {} did not finish within {CHILD_TIMEOUT:?} and was killed",
            scenario.name
        ),
    }
}

/// Where pcaps and reports go: `$TCP_INTEROP_PCAP_DIR`, else `target/interop-pcaps`.
pub fn artifact_dir() -> PathBuf {
    let target_tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let default = target_tmp
        .parent()
        .map_or_else(|| target_tmp.clone(), |t| t.join("interop-pcaps"));
    pcap::dir(&default)
}

fn ports_of_interest(scenario: &Scenario) -> Vec<u16> {
    (scenario.port..scenario.port + 40).collect()
}

fn child(scenario: &Scenario) {
    let dir = artifact_dir();
    let trace = match StateTrace::start() {
        Ok(t) => Some(t),
        Err(e) => {
            println!("note: no kernel state trace (tracefs: {e}); states come from ss only");
            None
        }
    };
    let mut report = String::new();

    // Kernel vs ours, over the TUN device.
    let tun = Tun::create("tun0", TUN_B, 24).unwrap_or_else(|e| {
        panic!(
            "scenario {}: cannot set up the TUN device: {e}",
            scenario.name
        )
    });
    let mut policy = Policy {
        send_buffer: 65_536,
        ..Policy::LINUX
    };
    if let Some((idle, interval, probes)) = scenario.setup.keepalive {
        policy.keepalive = Some(Keepalive {
            idle: fsm_duration(idle),
            interval: fsm_duration(interval),
            probes,
        });
    }
    let secret = [
        0x0123_4567_89ab_cdef ^ u64::from(scenario.port),
        0xfeed_f00d,
        0xdead_beef,
        u64::from(std::process::id()),
    ];
    let host = Host::start(tun, TUN_A, policy, secret).expect("our host starts");
    let epoch = SystemTime::now() - host.origin().elapsed();
    let ours_run = Run {
        variant: Variant::Ours,
        a: &host,
        b: KernelStack::default(),
        host: Some(&host),
        sides: Sides { a: TUN_A, b: TUN_B },
        port: scenario.port,
    };
    let started = Instant::now();
    let conns = (scenario.body)(&ours_run);
    std::thread::sleep(Duration::from_millis(50));
    let packets = host.capture();
    let path = pcap::write(&dir, &format!("{}.ours", scenario.name), &packets, epoch)
        .expect("pcap written");
    println!(
        "[kernel-vs-ours] {:.1?}, {} datagrams, pcap {}",
        started.elapsed(),
        packets.len(),
        path.display()
    );
    assert_eq!(
        host.bad_checksums(),
        0,
        "every segment from the kernel verified"
    );
    let ss_end = kernel::ss().unwrap_or_default();
    let ours_obs = observe(
        Variant::Ours,
        ours_run.sides,
        &packets,
        ours_states(&host),
        trace.as_ref(),
        scenario,
        &ss_end,
    );
    drop(host);

    // Kernel vs kernel, on loopback.
    netns::ip(&["link", "set", "lo", "mtu", "1500"]).expect("lo mtu");
    let a_stack = KernelStack {
        keepalive: scenario
            .setup
            .keepalive
            .map(|(idle, interval, probes)| KeepaliveConfig {
                idle,
                interval,
                probes: u32::from(probes),
            }),
    };
    let capture = LoopbackCapture::start().expect("AF_PACKET capture on loopback");
    let epoch = SystemTime::now();
    let kernel_run = Run {
        variant: Variant::Kernel,
        a: &a_stack,
        b: KernelStack::default(),
        host: None,
        sides: Sides { a: LO_A, b: LO_B },
        port: scenario.port,
    };
    let started = Instant::now();
    let kconns = (scenario.body)(&kernel_run);
    std::thread::sleep(Duration::from_millis(50));
    let kpackets = capture.stop();
    let path = pcap::write(&dir, &format!("{}.kernel", scenario.name), &kpackets, epoch)
        .expect("pcap written");
    println!(
        "[kernel-vs-kernel] {:.1?}, {} datagrams, pcap {}",
        started.elapsed(),
        kpackets.len(),
        path.display()
    );
    let ss_end = kernel::ss().unwrap_or_default();
    let kernel_obs = observe(
        Variant::Kernel,
        kernel_run.sides,
        &kpackets,
        BTreeMap::new(),
        trace.as_ref(),
        scenario,
        &ss_end,
    );

    for (obs, conns) in [(&ours_obs, &conns), (&kernel_obs, &kconns)] {
        for p in conns.iter() {
            let _ = writeln!(
                report,
                "== {} {}: A port {} / B port {}",
                scenario.name,
                obs.label(),
                p.0,
                p.1
            );
            let _ = writeln!(report, "A states: {}", obs.a_seq(p.0, p.1).join(" > "));
            let _ = writeln!(report, "B states: {}", obs.b_seq(p.0, p.1).join(" > "));
            report.push_str(&obs.render(p.0, p.1));
        }
    }
    let diff = differences(&ours_obs, &conns, &kernel_obs, &kconns);
    report.push_str(&diff);
    let path = dir.join(format!("{}.txt", scenario.name));
    std::fs::write(&path, &report).expect("report written");
    println!("{report}");
    println!("report {}", path.display());

    (scenario.check)(&ours_obs, &conns);
    (scenario.check)(&kernel_obs, &kconns);
}

fn fsm_duration(d: Duration) -> FsmDuration {
    FsmDuration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn ours_states(host: &Host) -> BTreeMap<(u16, u16), Vec<String>> {
    let mut out: BTreeMap<(u16, u16), Vec<String>> = BTreeMap::new();
    for c in host.states() {
        out.entry((c.tuple.local.port(), c.tuple.remote.port()))
            .or_default()
            .push(c.state.name().to_string());
    }
    out
}

/// Kernel state sequences from the tracepoint, per connection, for the side at `ip`; a
/// trailing CLOSED becomes TIME-WAIT where `ss` shows the TIME-WAIT mini-socket.
fn kernel_states(
    trace: Option<&StateTrace>,
    scenario: &Scenario,
    ip: Ipv4Addr,
    is_a: bool,
    ss_end: &[kernel::SsEntry],
) -> BTreeMap<(u16, u16), Vec<String>> {
    let mut out: BTreeMap<(u16, u16), Vec<String>> = BTreeMap::new();
    let Some(trace) = trace else { return out };
    let transitions = trace
        .transitions(&ports_of_interest(scenario))
        .unwrap_or_default();
    for t in transitions {
        if t.local.ip() != ip || t.remote.port() == 0 {
            continue;
        }
        let key = if is_a {
            (t.local.port(), t.remote.port())
        } else {
            (t.remote.port(), t.local.port())
        };
        let seq = out.entry(key).or_default();
        // A socket starts CLOSED (connect) or as a clone of its listener (LISTEN); ours's log
        // starts at SYN-SENT or SYN-RECEIVED, and so does this one.
        if seq.is_empty() && t.from != "CLOSED" && t.from != "LISTEN" {
            seq.push(t.from.to_string());
        }
        seq.push(t.to.to_string());
    }
    for ((a_port, b_port), seq) in &mut out {
        let (local, peer) = if is_a {
            (*a_port, *b_port)
        } else {
            (*b_port, *a_port)
        };
        let in_tw = ss_end.iter().any(|e| {
            e.state == "TIME-WAIT"
                && e.local == format!("{ip}:{local}")
                && e.peer.ends_with(&format!(":{peer}"))
        });
        if in_tw && seq.last().map(String::as_str) == Some("CLOSED") {
            seq.pop();
            seq.push("TIME-WAIT".into());
        }
    }
    out
}

fn observe(
    variant: Variant,
    sides: Sides,
    packets: &[Packet],
    ours: BTreeMap<(u16, u16), Vec<String>>,
    trace: Option<&StateTrace>,
    scenario: &Scenario,
    ss_end: &[kernel::SsEntry],
) -> Observed {
    let ports = ports_of_interest(scenario);
    let segs = trace::segments(packets)
        .into_iter()
        .filter(|s| ports.contains(&s.src.port()) || ports.contains(&s.dst.port()))
        .collect();
    let a_states = match variant {
        Variant::Ours => ours,
        Variant::Kernel => kernel_states(trace, scenario, sides.a, true, ss_end),
    };
    let b_states = kernel_states(trace, scenario, sides.b, false, ss_end);
    Observed {
        variant,
        sides,
        segs,
        a_states,
        b_states,
    }
}

/// Every difference between the two runs, connection by connection (paired in order).
fn differences(ours: &Observed, conns: &[Ports], kernel: &Observed, kconns: &[Ports]) -> String {
    let mut out = String::from("== differences (kernel-vs-ours | kernel-vs-kernel)\n");
    let mut any = false;
    for (p, k) in conns.iter().zip(kconns) {
        let pairs = [
            (
                "segments",
                ours.signature(p.0, p.1),
                kernel.signature(k.0, k.1),
            ),
            ("A states", ours.a_seq(p.0, p.1), kernel.a_seq(k.0, k.1)),
            ("B states", ours.b_seq(p.0, p.1), kernel.b_seq(k.0, k.1)),
        ];
        for (what, o, kk) in pairs {
            if o != kk {
                any = true;
                let _ = writeln!(
                    out,
                    "{what} of {}/{}:\n  ours:   {}\n  kernel: {}",
                    p.0,
                    p.1,
                    o.join(", "),
                    kk.join(", ")
                );
            }
        }
    }
    if conns.len() != kconns.len() {
        any = true;
        let _ = writeln!(
            out,
            "connections: ours {} kernel {}",
            conns.len(),
            kconns.len()
        );
    }
    if !any {
        out.push_str("none\n");
    }
    out
}

/// A deterministic pseudo-random pattern, so integrity is checked octet by octet.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Asserts that `r` failed with `kind`.
pub fn expect_err<T: std::fmt::Debug>(r: io::Result<T>, kind: io::ErrorKind, what: &str) {
    match r {
        Err(e) if e.kind() == kind => println!("{what}: {e} ({kind:?}) as expected"),
        other => panic!("{what}: expected {kind:?}, got {other:?}"),
    }
}
