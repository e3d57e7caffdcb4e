//! `udp-send` and `udp-recv`: the traffic tools the library's
//! [`xsdn_testbed::World::udp_exchange`] runs inside namespaces. Each prints
//! a one-line JSON summary on stdout.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use xsdn_testbed::udp::{run_recv, run_send};

use crate::args::Args;

/// `udp-send --dst IP:PORT --count N --size S [--interval-us U]`.
pub fn udp_send(args: &[String]) -> Result<()> {
    let a = Args::parse(args, &["dst", "count", "size", "interval-us"])?;
    a.none()?;
    let dst: SocketAddr = a.req("dst")?;
    let count: u32 = a.req("count")?;
    let size: usize = a.or("size", 512)?;
    let interval = Duration::from_micros(a.or("interval-us", 0)?);
    let s = run_send(dst, count, size, interval)?;
    println!("{}", serde_json::to_string(&s)?);
    Ok(())
}

/// `udp-recv --bind IP:PORT --count N [--timeout-ms T]`.
pub fn udp_recv(args: &[String]) -> Result<()> {
    let a = Args::parse(args, &["bind", "count", "timeout-ms"])?;
    a.none()?;
    let bind: SocketAddr = a.req("bind")?;
    let count: u32 = a.req("count")?;
    let timeout = Duration::from_millis(a.or("timeout-ms", 5000)?);
    let r = run_recv(bind, count, timeout)?;
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}
