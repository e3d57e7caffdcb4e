//! `xsdn switch`: a learning switch between interfaces over AF_XDP.
//!
//! The smallest complete use of the fast path: load the XDP program, bind
//! one AF_XDP socket per (interface, RX queue) on a shared UMEM, steer every
//! frame of the given interfaces to userspace, switch them by MAC address
//! through the same pipeline the daemon uses (one local bridge domain), and
//! detach everything on exit. The dataplane is assembled by
//! [`crate::dataplane_host`], as the daemon's is. Useful to check that a machine can run
//! the dataplane at all, and as a benchmark subject next to the kernel
//! bridge.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use xsdn_common::PortMode;
use xsdn_dataplane::counters::PortSnapshot;
use xsdn_dataplane::netdev;
use xsdn_dataplane::tables::{BdEncap, BridgeDomain, ForwardingTables, MAX_PORTS, PortSlot};
use xsdn_dataplane::wire::EthernetAddress;
use xsdn_dataplane::xsk::SocketStats;

use crate::cli::show::xdp_line;
use crate::dataplane_host::counters_json::xdp_json;
use crate::dataplane_host::ports::PortRequest;
use crate::dataplane_host::{AttachArg, DataplaneHost, HostConfig};

/// Format of the summary printed on exit.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SummaryArg {
    /// A table for people.
    Text,
    /// One JSON object (stable field names) for scripts.
    Json,
}

/// Arguments of `xsdn switch`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Interface to take over; repeat for each port (at least two).
    #[arg(long = "port", required = true, value_name = "IFACE")]
    pub ports: Vec<String>,
    /// Path of the compiled XDP object (default: $XSDN_XDP_OBJECT, next to
    /// the xsdn binary, /usr/lib/xsdn/xsdn-xdp.o).
    #[arg(long, value_name = "FILE")]
    pub xdp_object: Option<PathBuf>,
    /// How to attach the XDP program.
    #[arg(long, value_enum, default_value = "auto")]
    pub attach: AttachArg,
    /// Maximum learned MAC addresses.
    #[arg(long, default_value_t = 8192)]
    pub fdb_size: usize,
    /// UMEM frames (4 KiB each) shared by all sockets.
    #[arg(long, default_value_t = 16384)]
    pub frames: u32,
    /// Summary printed on stdout when the switch stops.
    #[arg(long, value_enum, default_value = "text")]
    pub summary: SummaryArg,
}

/// One local bridge domain with every port of `names` as a member, port
/// slot `i` for the `i`-th name; returns the tables and the take-over
/// requests.
fn one_bridge(names: &[String]) -> anyhow::Result<(ForwardingTables, Vec<PortRequest>)> {
    let mut tables = ForwardingTables::new();
    let bd = tables.add_bd(BridgeDomain::new("switch", "switch", BdEncap::Local))?;
    let mut requests = Vec::with_capacity(names.len());
    for (slot, name) in PortSlot::all().zip(names) {
        let ifindex = netdev::ifindex(name)?;
        let (mac, mtu) = netdev::mac_and_mtu(name)?;
        tables
            .add_guest_port(slot, name, EthernetAddress(mac), mtu, bd)
            .with_context(|| format!("port {name}"))?;
        requests.push(PortRequest {
            slot,
            name: name.clone(),
            ifindex,
            mode: PortMode::SteerAll,
            host_mac: None,
            kernel_tier: false,
            bd: 0,
            xdp_target: false,
        });
    }
    Ok((tables, requests))
}

/// Runs the switch until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.ports.len() < 2 {
        bail!("a switch needs at least two --port interfaces");
    }
    if args.ports.len() > MAX_PORTS {
        bail!("at most {MAX_PORTS} ports");
    }
    for (i, port) in args.ports.iter().enumerate() {
        if args.ports[..i].contains(port) {
            bail!("--port {port} is given twice");
        }
    }
    let (tables, requests) = one_bridge(&args.ports)?;
    let mut host = DataplaneHost::start(
        &HostConfig {
            kernel_tier: false,
            xdp_object: args.xdp_object.clone(),
            attach: args.attach.into(),
            frames: args.frames,
            fdb_capacity: args.fdb_size,
            fdb_age: None,
            fdb_max_per_vnet: None,
            flood_rate: None,
        },
        Arc::new(tables),
    )?;
    for request in requests {
        if let Err(e) = host.take_over(request) {
            host.shutdown();
            return Err(e.into());
        }
    }
    let attached: Vec<(PortSlot, String)> = host
        .ports()
        .values()
        .map(|p| (p.slot(), p.name().to_owned()))
        .collect();
    let described: Vec<String> = host
        .ports()
        .values()
        .map(|p| {
            format!(
                "{} ({}, {} queue{})",
                p.name(),
                p.attach().as_str(),
                p.queues(),
                if p.queues() == 1 { "" } else { "s" }
            )
        })
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the signal handler")?;
    }
    tracing::info!(ports = %described.join(", "), "switching; SIGINT or SIGTERM stops");
    let mut xdp_logs = host.take_xdp_logger();
    while !stop.load(Ordering::Relaxed) && host.worker().is_running() {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(logs) = xdp_logs.as_mut() {
            logs.flush();
        }
    }

    let xdp_stats = host.xdp_stats();
    host.release()?;
    tracing::info!("stopped; XDP detached");
    let worker = host.worker();
    let fdb_entries = worker.query(|view| view.pipeline.fdb().len()).unwrap_or(0);
    let slots: Vec<PortSlot> = attached.iter().map(|(slot, _)| *slot).collect();
    let kernel = worker
        .query(move |view| {
            slots
                .iter()
                .map(|&slot| view.port_socket_stats(slot))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let summary = Summary {
        ports: attached
            .iter()
            .enumerate()
            .map(|(i, (slot, name))| {
                (
                    name.clone(),
                    worker.port_counters()[slot.index()].snapshot(),
                    kernel.get(i).copied().unwrap_or_default(),
                )
            })
            .collect(),
        xdp: xdp_stats,
        fdb_entries,
    };
    host.stop();
    match args.summary {
        SummaryArg::Text => summary.print_text(),
        SummaryArg::Json => println!("{}", summary.to_json()),
    }
    Ok(ExitCode::SUCCESS)
}

/// What the switch did, printed on exit.
struct Summary {
    /// Per port: name, dataplane counters, kernel AF_XDP statistics.
    ports: Vec<(String, PortSnapshot, SocketStats)>,
    xdp: Option<[u64; xsdn_common::XDP_STAT_COUNT as usize]>,
    fdb_entries: usize,
}

impl Summary {
    fn print_text(&self) {
        println!(
            "{:<16} {:>12} {:>14} {:>12} {:>14} {:>10}",
            "PORT", "RX_PACKETS", "RX_BYTES", "TX_PACKETS", "TX_BYTES", "DROPPED"
        );
        for (name, s, k) in &self.ports {
            println!(
                "{:<16} {:>12} {:>14} {:>12} {:>14} {:>10}",
                name,
                s.rx_packets,
                s.rx_bytes,
                s.tx_packets,
                s.tx_bytes,
                s.dropped()
            );
            for (reason, n) in s.drops.iter().filter(|(_, n)| *n > 0) {
                println!("{:<16}   dropped {n} ({reason})", "");
            }
            for (what, n) in [
                ("kernel rx_dropped", k.rx_dropped),
                ("kernel rx_ring_full", k.rx_ring_full),
                ("kernel fill_ring_empty", k.rx_fill_ring_empty_descs),
                ("kernel tx_invalid", k.tx_invalid_descs),
            ] {
                if n > 0 {
                    println!("{:<16}   {what} {n}", "");
                }
            }
        }
        if let Some(x) = &self.xdp {
            println!("{}", xdp_line(&xdp_json(x)));
        }
        println!("fdb: {} learned addresses", self.fdb_entries);
    }

    fn to_json(&self) -> serde_json::Value {
        let ports: Vec<serde_json::Value> = self
            .ports
            .iter()
            .map(|(name, s, k)| {
                let drops: serde_json::Map<String, serde_json::Value> = s
                    .drops
                    .iter()
                    .map(|(reason, n)| ((*reason).to_owned(), (*n).into()))
                    .collect();
                serde_json::json!({
                    "name": name,
                    "rx_packets": s.rx_packets,
                    "rx_bytes": s.rx_bytes,
                    "tx_packets": s.tx_packets,
                    "tx_bytes": s.tx_bytes,
                    "drops": drops,
                    "kernel": {
                        "rx_dropped": k.rx_dropped,
                        "rx_ring_full": k.rx_ring_full,
                        "fill_ring_empty": k.rx_fill_ring_empty_descs,
                        "tx_invalid": k.tx_invalid_descs,
                    },
                })
            })
            .collect();
        serde_json::json!({
            "ports": ports,
            "xdp": self.xdp.as_ref().map(xdp_json),
            "fdb_entries": self.fdb_entries,
        })
    }
}
