//! UDP exchange that proves checksums are right on arrival.
//!
//! Two small tools, run inside namespaces as `xsdn-testbed udp-send` and
//! `xsdn-testbed udp-recv` ([`run_send`], [`run_recv`]), and the helper
//! [`World::udp_exchange`] that runs them between two guests and reads the
//! receiver's `Udp.InCsumErrors` before and after. The kernel drops a
//! datagram with a bad checksum before the socket sees it, so
//! `received == sent` and zero checksum errors mean every datagram arrived
//! intact. Payloads carry a sequence number and a pattern, which the
//! receiver also checks (a zero UDP checksum would hide corruption).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::World;
use crate::preflight::testbed_bin;
use crate::snmp::Snmp;

/// Smallest payload: the 8-byte sequence number.
pub const MIN_SIZE: usize = 8;

/// What `udp-recv` prints to stderr once its socket is bound.
pub const READY_LINE: &str = "udp-recv: listening";

/// Summary printed by `udp-send` (one JSON line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendSummary {
    /// Datagrams handed to the kernel.
    pub sent: u32,
    /// `sendto` failures (e.g. ENOBUFS).
    pub errors: u32,
}

/// Summary printed by `udp-recv` (one JSON line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecvSummary {
    /// Distinct datagrams received.
    pub received: u32,
    /// Payload bytes received.
    pub bytes: u64,
    /// Datagrams whose payload did not match the pattern.
    pub bad_payload: u32,
    /// Datagrams seen more than once.
    pub duplicates: u32,
    /// Datagrams the receiver's own kernel dropped because the socket
    /// buffer was full (`Udp.RcvbufErrors` of its namespace, increase over
    /// the run): a slow receiver, not a lossy path.
    #[serde(default)]
    pub rcvbuf_errors: u64,
}

/// Fills a datagram payload for sequence number `seq`.
pub fn fill_payload(buf: &mut [u8], seq: u64) {
    let (head, rest) = buf.split_at_mut(MIN_SIZE.min(buf.len()));
    head.copy_from_slice(&seq.to_be_bytes()[..head.len()]);
    for (i, b) in rest.iter_mut().enumerate() {
        *b = (seq as u8) ^ (i as u8) ^ 0xa5;
    }
}

/// Checks a payload; returns its sequence number if intact.
pub fn check_payload(buf: &[u8]) -> Option<u64> {
    let seq = u64::from_be_bytes(buf.get(..MIN_SIZE)?.try_into().ok()?);
    let intact = buf[MIN_SIZE..]
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (seq as u8) ^ (i as u8) ^ 0xa5);
    intact.then_some(seq)
}

/// Sends `count` datagrams of `size` bytes to `dst`, `interval` apart.
pub fn run_send(
    dst: SocketAddr,
    count: u32,
    size: usize,
    interval: Duration,
) -> Result<SendSummary> {
    if size < MIN_SIZE {
        bail!("--size must be at least {MIN_SIZE}");
    }
    let bind: SocketAddr = match dst.ip() {
        IpAddr::V4(_) => "0.0.0.0:0".parse()?,
        IpAddr::V6(_) => "[::]:0".parse()?,
    };
    let sock = UdpSocket::bind(bind).context("binding the sender socket")?;
    let mut buf = vec![0u8; size];
    let mut s = SendSummary { sent: 0, errors: 0 };
    for seq in 0..count {
        fill_payload(&mut buf, u64::from(seq));
        match sock.send_to(&buf, dst) {
            Ok(_) => s.sent += 1,
            Err(_) => s.errors += 1,
        }
        if !interval.is_zero() {
            std::thread::sleep(interval);
        }
    }
    Ok(s)
}

/// Receives on `bind` until `count` distinct datagrams arrived or
/// `timeout` passed; prints [`READY_LINE`] to stderr once bound.
pub fn run_recv(bind: SocketAddr, count: u32, timeout: Duration) -> Result<RecvSummary> {
    let sock = UdpSocket::bind(bind).with_context(|| format!("binding {bind}"))?;
    // A receiver descheduled for a moment on a busy machine must not turn
    // into "frames lost on the path": give it seconds of buffer.
    let _ = nix::sys::socket::setsockopt(
        &sock,
        nix::sys::socket::sockopt::RcvBufForce,
        &RECV_BUFFER_BYTES,
    );
    let overflows_before = own_rcvbuf_errors();
    eprintln!("{READY_LINE} on {bind}");
    let mut summary = recv_on(&sock, count, timeout)?;
    summary.rcvbuf_errors = own_rcvbuf_errors().saturating_sub(overflows_before);
    Ok(summary)
}

/// Receive buffer of `udp-recv` (root may exceed `net.core.rmem_max`).
const RECV_BUFFER_BYTES: usize = 16 << 20;

/// `Udp.RcvbufErrors` of the calling process's network namespace.
fn own_rcvbuf_errors() -> u64 {
    let mut snmp = Snmp::default();
    if let Ok(text) = std::fs::read_to_string("/proc/self/net/snmp") {
        snmp.parse_snmp(&text);
    }
    snmp.get("Udp.RcvbufErrors")
}

/// Receives on a bound socket (see [`run_recv`]).
pub fn recv_on(sock: &UdpSocket, count: u32, timeout: Duration) -> Result<RecvSummary> {
    let deadline = Instant::now() + timeout;
    let mut seen = HashSet::new();
    let mut r = RecvSummary::default();
    let mut buf = vec![0u8; 65536];
    while r.received < count {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left))
            .context("setting the read timeout")?;
        let n = match sock.recv_from(&mut buf) {
            Ok((n, _)) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) => return Err(e).context("receiving"),
        };
        match check_payload(&buf[..n]) {
            Some(seq) if seen.insert(seq) => {
                r.received += 1;
                r.bytes += n as u64;
            }
            Some(_) => r.duplicates += 1,
            None => r.bad_payload += 1,
        }
    }
    Ok(r)
}

/// Options of [`World::udp_exchange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpOpts {
    /// Datagrams to send.
    pub count: u32,
    /// Payload size (at least 8).
    pub size: usize,
    /// Receiver port.
    pub port: u16,
    /// Gap between datagrams (keeps the receiver's buffer from overflowing).
    pub interval: Duration,
    /// How long the receiver waits in total.
    pub timeout: Duration,
}

impl Default for UdpOpts {
    fn default() -> Self {
        UdpOpts {
            count: 100,
            size: 512,
            port: 40_000,
            interval: Duration::from_micros(200),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Result of [`World::udp_exchange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpReport {
    /// What the sender handed to the kernel.
    pub send: SendSummary,
    /// What the receiver's socket got.
    pub recv: RecvSummary,
    /// Receiver namespace: increase of UDP checksum errors (v4 + v6).
    pub csum_errors: u64,
    /// Receiver namespace: increase of all UDP receive errors.
    pub in_errors: u64,
    /// Receiver namespace: every counter's increase.
    pub receiver_counters: Snmp,
}

impl UdpReport {
    /// Everything sent arrived, intact, with no checksum errors.
    pub fn all_ok(&self) -> bool {
        self.send.sent > 0
            && self.recv.received == self.send.sent
            && self.recv.bad_payload == 0
            && self.csum_errors == 0
    }
}

impl World {
    /// Sends `opts.count` datagrams from namespace `from` to `dst` (an
    /// address of namespace `to`) and reports what arrived.
    pub fn udp_exchange(
        &self,
        from: &str,
        to: &str,
        dst: IpAddr,
        opts: &UdpOpts,
    ) -> Result<UdpReport> {
        let bin = testbed_bin()?;
        let bin = bin.to_str().context("testbed binary path is not UTF-8")?;
        let addr = SocketAddr::new(dst, opts.port).to_string();
        let before = self.snmp(to)?;
        let recv = self.spawn_ready(
            to,
            &[
                bin,
                "udp-recv",
                "--bind",
                &addr,
                "--count",
                &opts.count.to_string(),
                "--timeout-ms",
                &opts.timeout.as_millis().to_string(),
            ],
            READY_LINE,
        )?;
        let interval = opts.interval.as_micros().to_string();
        let sent = self
            .exec_timeout(
                from,
                &[
                    bin,
                    "udp-send",
                    "--dst",
                    &addr,
                    "--count",
                    &opts.count.to_string(),
                    "--size",
                    &opts.size.to_string(),
                    "--interval-us",
                    &interval,
                ],
                opts.interval * opts.count + Duration::from_secs(30),
            )?
            .check()?;
        let send: SendSummary = last_json(&sent.stdout).context("udp-send output")?;
        let out = recv
            .wait_output(opts.timeout + Duration::from_secs(5))?
            .check()?;
        let recv_summary: RecvSummary = last_json(&out.stdout).context("udp-recv output")?;
        let delta = self.snmp(to)?.since(&before);
        Ok(UdpReport {
            send,
            recv: recv_summary,
            csum_errors: delta.udp_csum_errors(),
            in_errors: delta.udp_in_errors(),
            receiver_counters: delta,
        })
    }
}

/// The last JSON line of a tool's output, parsed.
pub(crate) fn last_json<T: for<'de> Deserialize<'de>>(stdout: &str) -> Result<T> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("no JSON summary in {stdout:?}"))?;
    serde_json::from_str(line).with_context(|| format!("parsing {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let mut buf = vec![0u8; 100];
        fill_payload(&mut buf, 42);
        assert_eq!(check_payload(&buf), Some(42));
        buf[50] ^= 1;
        assert_eq!(check_payload(&buf), None);
        assert_eq!(check_payload(&[1, 2, 3]), None);
        let mut min = [0u8; 8];
        fill_payload(&mut min, 7);
        assert_eq!(check_payload(&min), Some(7));
    }

    #[test]
    fn loopback_exchange_without_namespaces() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let rx = std::thread::spawn(move || recv_on(&sock, 20, Duration::from_secs(5)).unwrap());
        let s = run_send(addr, 20, 64, Duration::ZERO).unwrap();
        assert_eq!(s.sent, 20);
        let r = rx.join().unwrap();
        assert_eq!((r.received, r.bad_payload), (20, 0));
        assert_eq!(r.bytes, 20 * 64);
    }

    #[test]
    fn json_summary() {
        let r: RecvSummary =
            last_json("noise\n{\"received\":3,\"bytes\":9,\"bad_payload\":0,\"duplicates\":0}\n")
                .unwrap();
        assert_eq!(r.received, 3);
        assert!(last_json::<RecvSummary>("nothing").is_err());
    }
}
