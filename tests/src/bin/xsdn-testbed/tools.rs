//! `udp-send`/`udp-recv` and `tcp-send`/`tcp-recv`, the traffic tools the library's
//! [`xsdn_testbed::World::udp_exchange`] and
//! [`xsdn_testbed::World::tcp_transfer`] run inside namespaces. Each prints
//! a one-line JSON summary on stdout; `hooks`, the tcx programs of an
//! interface, for [`xsdn_testbed::World::hooks`].

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use xsdn_testbed::udp::{run_recv, run_send};

/// Options of `udp-send`.
#[derive(Args)]
pub struct UdpSend {
    /// Where to send
    #[arg(long, value_name = "IP:PORT")]
    pub dst: SocketAddr,
    /// Datagrams to send
    #[arg(long, value_name = "N")]
    pub count: u32,
    /// Payload bytes of each datagram (at least 8)
    #[arg(long, value_name = "BYTES", default_value_t = 512)]
    pub size: usize,
    /// Pause after each datagram, in microseconds
    #[arg(long, value_name = "US", default_value_t = 0)]
    pub interval_us: u64,
}

/// Options of `udp-recv`.
#[derive(Args)]
pub struct UdpRecv {
    /// Address to listen on
    #[arg(long, value_name = "IP:PORT")]
    pub bind: SocketAddr,
    /// Distinct datagrams to wait for
    #[arg(long, value_name = "N")]
    pub count: u32,
    /// How long to wait in total, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub timeout_ms: u64,
}

/// `udp-send --dst IP:PORT --count N [--size BYTES] [--interval-us US]`.
pub fn udp_send(a: &UdpSend) -> Result<()> {
    let interval = Duration::from_micros(a.interval_us);
    let s = run_send(a.dst, a.count, a.size, interval)?;
    println!("{}", serde_json::to_string(&s)?);
    Ok(())
}

/// `udp-recv --bind IP:PORT --count N [--timeout-ms MS]`.
pub fn udp_recv(a: &UdpRecv) -> Result<()> {
    let timeout = Duration::from_millis(a.timeout_ms);
    let r = run_recv(a.bind, a.count, timeout)?;
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

/// `hooks`: prints the tcx programs of `ifname` as one JSON line.
pub fn hooks(ifname: &str) -> Result<()> {
    let hooks = xsdn_testbed::hooks::query_tcx(ifname)?;
    println!("{}", serde_json::to_string(&hooks)?);
    Ok(())
}

/// Options of `tcp-send`.
#[derive(Args)]
pub struct TcpSend {
    /// Where to connect
    #[arg(long, value_name = "IP:PORT")]
    pub dst: SocketAddr,
    /// Bytes to send
    #[arg(long, value_name = "N")]
    pub bytes: u64,
    /// Give up after this long without progress
    #[arg(long, value_name = "MS", default_value_t = 20_000)]
    pub timeout_ms: u64,
}

/// Options of `tcp-recv`.
#[derive(Args)]
pub struct TcpRecv {
    /// Address to listen on
    #[arg(long, value_name = "IP:PORT")]
    pub bind: SocketAddr,
    /// Give up after this long without progress
    #[arg(long, value_name = "MS", default_value_t = 20_000)]
    pub timeout_ms: u64,
}

/// `tcp-send --dst IP:PORT --bytes N`.
pub fn tcp_send(a: &TcpSend) -> Result<()> {
    let s = xsdn_testbed::tcp::run_send(a.dst, a.bytes, Duration::from_millis(a.timeout_ms))?;
    println!("{}", serde_json::to_string(&s)?);
    Ok(())
}

/// `tcp-recv --bind IP:PORT`.
pub fn tcp_recv(a: &TcpRecv) -> Result<()> {
    let r = xsdn_testbed::tcp::run_recv(a.bind, Duration::from_millis(a.timeout_ms))?;
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}
