//! TCP transfer that proves every byte arrived, in order and intact.
//!
//! Two small tools, run inside namespaces as `xsdn-testbed tcp-send` and
//! `xsdn-testbed tcp-recv` ([`run_send`], [`run_recv`]), and the helper
//! [`World::tcp_transfer`] that runs them between two guests. The sender
//! writes exactly the asked number of bytes of a position-dependent
//! pattern and closes; the receiver reads to the end and checks every
//! byte. iperf3 cannot prove delivery: with `-n` its receiver reports what
//! it had read when the sender finished, not what finally arrived.
//! Retransmits are the sender namespace's `Tcp.RetransSegs` increase.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::World;
use crate::preflight::testbed_bin;
use crate::udp::last_json;

/// What `tcp-recv` prints to stderr once it listens.
pub const READY_LINE: &str = "tcp-recv: listening";

/// Size of each write and read.
const CHUNK: usize = 128 * 1024;

/// Byte `i` of the stream.
#[inline]
fn pattern(i: u64) -> u8 {
    (i % 251) as u8 ^ (i >> 16) as u8
}

fn fill(buf: &mut [u8], offset: u64) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = pattern(offset + k as u64);
    }
}

/// Summary printed by `tcp-send` (one JSON line).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TcpSendSummary {
    /// Bytes written.
    pub sent: u64,
    /// Seconds from connect to the peer's close.
    pub seconds: f64,
}

/// Summary printed by `tcp-recv` (one JSON line).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TcpRecvSummary {
    /// Bytes read before the end of the stream.
    pub received: u64,
    /// Offset of the first byte that did not match the pattern, if any.
    pub first_bad: Option<u64>,
    /// Seconds from accept to the end of the stream.
    pub seconds: f64,
}

/// Connects to `dst`, writes `bytes` bytes of the pattern, half-closes and
/// waits for the receiver to close (so every byte was read).
pub fn run_send(dst: SocketAddr, bytes: u64, timeout: Duration) -> Result<TcpSendSummary> {
    let start = Instant::now();
    let mut s = TcpStream::connect_timeout(&dst, timeout)
        .with_context(|| format!("connecting to {dst}"))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_read_timeout(Some(timeout))?;
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    while sent < bytes {
        let n = CHUNK.min((bytes - sent) as usize);
        fill(&mut buf[..n], sent);
        s.write_all(&buf[..n])
            .with_context(|| format!("writing at offset {sent}"))?;
        sent += n as u64;
    }
    s.shutdown(Shutdown::Write)?;
    // The receiver closes once it has read everything.
    let mut rest = [0u8; 64];
    loop {
        match s.read(&mut rest) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("waiting for the receiver to finish"),
        }
    }
    Ok(TcpSendSummary {
        sent,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Accepts one connection on `listener`, reads to the end of the stream
/// checking every byte, then closes.
pub fn recv_on(listener: &TcpListener, timeout: Duration) -> Result<TcpRecvSummary> {
    let (mut s, _) = listener.accept().context("accepting")?;
    let start = Instant::now();
    s.set_read_timeout(Some(timeout))?;
    let mut buf = vec![0u8; CHUNK];
    let mut summary = TcpRecvSummary::default();
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("reading at offset {}", summary.received));
            }
        };
        if summary.first_bad.is_none()
            && let Some(k) = buf[..n]
                .iter()
                .enumerate()
                .position(|(k, &b)| b != pattern(summary.received + k as u64))
        {
            summary.first_bad = Some(summary.received + k as u64);
        }
        summary.received += n as u64;
    }
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Binds `bind`, says so on stderr ([`READY_LINE`]) and receives one
/// stream.
pub fn run_recv(bind: SocketAddr, timeout: Duration) -> Result<TcpRecvSummary> {
    let listener = TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
    eprintln!("{READY_LINE} on {bind}");
    recv_on(&listener, timeout)
}

/// One transfer between two namespaces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TcpReport {
    /// What the sender wrote.
    pub send: TcpSendSummary,
    /// What the receiver read.
    pub recv: TcpRecvSummary,
    /// Segments the sender's stack retransmitted meanwhile.
    pub retransmits: u64,
}

impl TcpReport {
    /// Every byte arrived and matched.
    pub fn intact(&self) -> bool {
        self.recv.received == self.send.sent && self.recv.first_bad.is_none()
    }

    /// Payload rate seen by the receiver, Gbit/s.
    pub fn gbit_per_s(&self) -> f64 {
        if self.recv.seconds > 0.0 {
            self.recv.received as f64 * 8.0 / self.recv.seconds / 1e9
        } else {
            0.0
        }
    }
}

impl World {
    /// Sends `bytes` bytes over TCP from namespace `from` to `dst` (an
    /// address of namespace `to`, port `port`) and reports what arrived.
    pub fn tcp_transfer(
        &self,
        from: &str,
        to: &str,
        dst: IpAddr,
        port: u16,
        bytes: u64,
        timeout: Duration,
    ) -> Result<TcpReport> {
        let bin = testbed_bin()?;
        let bin = bin.to_str().context("testbed binary path is not UTF-8")?;
        let addr = SocketAddr::new(dst, port).to_string();
        let timeout_ms = timeout.as_millis().to_string();
        let recv = self.spawn_ready(
            to,
            &[
                bin,
                "tcp-recv",
                "--bind",
                &addr,
                "--timeout-ms",
                &timeout_ms,
            ],
            READY_LINE,
        )?;
        let before = self.snmp(from)?;
        let bytes_arg = bytes.to_string();
        let sent = self
            .exec_timeout(
                from,
                &[
                    bin,
                    "tcp-send",
                    "--dst",
                    &addr,
                    "--bytes",
                    &bytes_arg,
                    "--timeout-ms",
                    &timeout_ms,
                ],
                timeout + Duration::from_secs(5),
            )?
            .check()?;
        let retransmits = self.snmp(from)?.since(&before).get("Tcp.RetransSegs");
        let send: TcpSendSummary = last_json(&sent.stdout).context("tcp-send output")?;
        let out = recv
            .wait_output(timeout + Duration::from_secs(5))?
            .check()?;
        let recv: TcpRecvSummary = last_json(&out.stdout).context("tcp-recv output")?;
        Ok(TcpReport {
            send,
            recv,
            retransmits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_transfer_arrives_whole_and_checked() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = std::thread::spawn(move || recv_on(&listener, Duration::from_secs(5)).unwrap());
        let s = run_send(addr, 1_000_003, Duration::from_secs(5)).unwrap();
        let r = rx.join().unwrap();
        assert_eq!(s.sent, 1_000_003);
        assert_eq!(r.received, 1_000_003);
        assert_eq!(r.first_bad, None);
    }

    #[test]
    fn a_changed_byte_is_found() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let rx = std::thread::spawn(move || recv_on(&listener, Duration::from_secs(5)).unwrap());
        let mut s = TcpStream::connect(addr).unwrap();
        let mut buf = vec![0u8; 1000];
        fill(&mut buf, 0);
        buf[777] ^= 0x40;
        s.write_all(&buf).unwrap();
        drop(s);
        let r = rx.join().unwrap();
        assert_eq!((r.received, r.first_bad), (1000, Some(777)));
    }
}
