//! `xsdn-loadgen`: a small AF_XDP traffic generator for the system
//! benchmarks (trafgen quits at the first ENOBUFS here and Debian's
//! xdp-tools fail on this kernel, see the platform notes).
//!
//! Sends UDP/IPv4 frames of one size from one interface as fast as the
//! AF_XDP TX ring takes them, for a given time, cycling the UDP source port
//! over `--flows` values so hashing paths see several flows. Prints one
//! JSON line: `{"sent": N, "seconds": S, "pps": R, "tx_ring_full": F}`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use xsdn_dataplane::wire::EthernetAddress;
use xsdn_dataplane::wire::checksum;
use xsdn_dataplane::xsk::{BATCH, FrameBatch, XskSet, XskSettings};

/// Generate UDP traffic over AF_XDP.
#[derive(Parser, Debug)]
#[command(name = "xsdn-loadgen")]
struct Args {
    /// Interface to send on.
    #[arg(long)]
    iface: String,
    /// Source MAC (the interface's).
    #[arg(long)]
    src_mac: EthernetAddress,
    /// Destination MAC.
    #[arg(long)]
    dst_mac: EthernetAddress,
    /// Source IPv4 address.
    #[arg(long)]
    src_ip: Ipv4Addr,
    /// Destination IPv4 address.
    #[arg(long)]
    dst_ip: Ipv4Addr,
    /// Frame size in bytes (without FCS), at least 60.
    #[arg(long, default_value_t = 60)]
    size: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Number of distinct UDP source ports.
    #[arg(long, default_value_t = 64)]
    flows: u16,
}

/// One Ethernet/IPv4/UDP frame of `args.size` bytes (UDP checksum 0, which
/// IPv4 allows).
fn udp_frame(args: &Args, src_port: u16) -> anyhow::Result<Vec<u8>> {
    let mut f = vec![0x5a_u8; args.size];
    f[0..6].copy_from_slice(&args.dst_mac.0);
    f[6..12].copy_from_slice(&args.src_mac.0);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (args.size - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[4..8].copy_from_slice(&[0, 0, 0x40, 0]); // id 0, DF
    ip[8] = 64;
    ip[9] = 17;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&args.src_ip.octets());
    ip[16..20].copy_from_slice(&args.dst_ip.octets());
    checksum::fill_ipv4_header(ip).map_err(|_| anyhow::anyhow!("bad IPv4 header"))?;
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&src_port.to_be_bytes());
    udp[2..4].copy_from_slice(&9u16.to_be_bytes());
    udp[4..6].copy_from_slice(&(ip_len - 20).to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    Ok(f)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.size < 60 || args.size > 1514 {
        bail!("--size must be between 60 and 1514");
    }
    let frames: Vec<Vec<u8>> = (0..args.flows.max(1))
        .map(|flow| udp_frame(&args, 20000 + flow))
        .collect::<anyhow::Result<_>>()?;
    let mut xsk = XskSet::new(XskSettings {
        frames: 8192,
        fill_target: 64,
        ..XskSettings::default()
    })
    .context("creating the UMEM")?;
    let q = xsk
        .open(&args.iface, 0)
        .with_context(|| format!("AF_XDP socket on {}", args.iface))?;
    let deadline = Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let mut sent: u64 = 0;
    let mut refused: u64 = 0;
    let mut next = 0usize;
    let mut batch = FrameBatch::new();
    while started.elapsed() < deadline {
        xsk.service_tx(q);
        let (area, pool) = xsk.area_and_pool();
        while batch.len() < BATCH {
            let Some(mut frame) = pool.alloc(256) else {
                break;
            };
            let bytes = &frames[next % frames.len()];
            next += 1;
            if !frame.set_bounds(256, bytes.len() as u32, area.frame_size()) {
                pool.free(frame);
                break;
            }
            area.data_mut(&mut frame).copy_from_slice(bytes);
            if let Err(frame) = batch.push(frame) {
                pool.free(frame);
                break;
            }
        }
        let offered = batch.len();
        let accepted = xsk.transmit(q, &mut batch);
        sent += accepted as u64;
        refused += (offered - accepted) as u64;
        // A generator does not wait for room: what the ring refused is
        // counted and given back.
        for frame in batch.drain(..) {
            xsk.pool().free(frame);
        }
    }
    // Let the last frames complete.
    let drain = Instant::now();
    while xsk.service_tx(q) && drain.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "sent": sent,
            "seconds": seconds,
            "pps": sent as f64 / seconds,
            "tx_ring_full": refused,
        })
    );
    Ok(())
}
