//! Network namespaces: every scenario runs in a child process of its own, started with
//! `unshare --net --mount`, so its TUN device, addresses, sockets and TIME-WAIT entries live in
//! a namespace that nothing else shares and that the kernel frees when the child exits.
//!
//! The test process (outside) re-executes its own binary with [`CHILD_ENV`] set; the child
//! (inside) checks with [`ensure_private`] that it really is in a fresh namespace before it
//! configures any address. A [`ChildGuard`] kills the child if the test gives up on it or
//! panics, which also tears the namespace down: nothing is left behind.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Set in a child's environment: the name of the scenario it must run.
pub const CHILD_ENV: &str = "TCP_INTEROP_CHILD";

/// The scenario this process must run, if it is a child.
#[must_use]
pub fn child_scenario() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

fn netns_inode(path: &str) -> io::Result<String> {
    std::fs::read_link(path).map(|p| p.to_string_lossy().into_owned())
}

/// Set by the test process in a child's environment: its own network namespace, which the
/// child's must differ from.
pub const OUTER_NETNS_ENV: &str = "TCP_INTEROP_OUTER_NETNS";

/// Fails unless this thread is in a private network namespace: not the initial one (PID 1's,
/// where `/proc/1` can be read), not the test process's, and holding no interface but
/// loopback and TUN devices (a namespace made by `unshare -n` or `ip netns add` starts with
/// `lo` alone). Addresses configured after this check can reach no real network.
///
/// # Errors
/// `PermissionDenied`, naming what gave the namespace away.
pub fn ensure_private() -> io::Result<()> {
    let ours = netns_inode("/proc/thread-self/ns/net")?;
    let refuse = |why: String| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "refusing to configure addresses: {why}; run inside `unshare -n` or `ip netns exec`"
            ),
        ))
    };
    if netns_inode("/proc/1/ns/net").is_ok_and(|init| init == ours) {
        return refuse(format!("{ours} is the initial network namespace"));
    }
    if std::env::var(OUTER_NETNS_ENV).is_ok_and(|outer| outer == ours) {
        return refuse(format!(
            "{ours} is the test process's own network namespace"
        ));
    }
    for line in run("ip", &["-o", "link", "show"])?.lines() {
        let name = line.split(':').nth(1).map_or("", str::trim);
        let tunnel_or_lo = line.contains("link/loopback") || line.contains("link/none");
        if !tunnel_or_lo {
            return refuse(format!(
                "interface {name} shows this namespace is not a private one"
            ));
        }
    }
    Ok(())
}

/// This thread's network namespace, as `net:[inode]`.
///
/// # Errors
/// `/proc` is missing.
pub fn current() -> io::Result<String> {
    netns_inode("/proc/thread-self/ns/net")
}

/// Runs `ip ARGS...` and fails with its stderr if it fails.
///
/// # Errors
/// `ip` missing, or its exit status.
pub fn ip(args: &[&str]) -> io::Result<()> {
    run("ip", args).map(|_| ())
}

/// Runs a command to completion; its stdout, or an error with its stderr.
///
/// # Errors
/// The command is missing or exits non-zero.
pub fn run(program: &str, args: &[&str]) -> io::Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Mounts tracefs at `/sys/kernel/tracing` if nothing is there. Only in a private mount
/// namespace (the child's `unshare --mount` makes mounts private), so the mount vanishes with
/// the child.
///
/// # Errors
/// `mount` failed (no tracefs in this kernel).
pub fn mount_tracefs() -> io::Result<()> {
    let root = Path::new("/sys/kernel/tracing");
    if root.join("instances").is_dir() {
        return Ok(());
    }
    let ours = netns_inode("/proc/thread-self/ns/mnt")?;
    let outer = std::env::var("TCP_INTEROP_OUTER_MNTNS").ok();
    if netns_inode("/proc/1/ns/mnt").is_ok_and(|init| init == ours)
        || outer.as_deref() == Some(&ours)
    {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "refusing to mount tracefs in the initial mount namespace",
        ));
    }
    run("mount", &["-t", "tracefs", "nodev", "/sys/kernel/tracing"]).map(|_| ())
}

/// A child process running a scenario inside its own namespaces; killed (and so its
/// namespaces freed) when dropped before it exited.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
}

/// What a child printed and how it ended.
#[derive(Debug)]
pub struct ChildOutput {
    /// Exit status (`None`: killed at the deadline).
    pub status: Option<ExitStatus>,
    /// Standard output and standard error, interleaved as they were read.
    pub output: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl ChildGuard {
    /// Starts `exe` (a libtest binary) inside `unshare --net --mount`, running only the test
    /// `test_name`, with [`CHILD_ENV`] = `scenario`.
    ///
    /// # Errors
    /// `unshare` cannot be started.
    pub fn spawn(exe: &Path, test_name: &str, scenario: &str) -> io::Result<ChildGuard> {
        let child = Command::new("unshare")
            .args(["--net", "--mount", "--propagation", "private", "--"])
            .arg(exe)
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, scenario)
            .env(OUTER_NETNS_ENV, current()?)
            .env(
                "TCP_INTEROP_OUTER_MNTNS",
                netns_inode("/proc/thread-self/ns/mnt")?,
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run unshare: {e}")))?;
        Ok(ChildGuard { child: Some(child) })
    }

    /// Waits for the child until `timeout`, then kills it.
    #[must_use]
    pub fn wait(mut self, timeout: Duration) -> ChildOutput {
        let start = Instant::now();
        let Some(mut child) = self.child.take() else {
            return ChildOutput {
                status: None,
                output: String::new(),
                elapsed: Duration::ZERO,
            };
        };
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|mut r| {
            thread::spawn(move || {
                let mut s = Vec::new();
                let _ = r.read_to_end(&mut s);
                String::from_utf8_lossy(&s).into_owned()
            })
        })
        .collect();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() < timeout => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let output = readers
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--- stderr ---\n");
        ChildOutput {
            status,
            output,
            elapsed: start.elapsed(),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
