//! `xsdn-sysbench`: end-to-end packet rates through `xsdn daemon` next to
//! the kernel path, on the same namespace topology, in the same run.
//!
//! Scenarios (the SDN guide's topologies, built by `xsdn-testbed`):
//! - `simple`: two guests on one node's VNet bridge (kernel: the Linux
//!   bridge; xsdn: a simple zone);
//! - `vxlan`: vm1 on node1 to vm2 on node3 (kernel: a `vxlan_myvnet1`
//!   device in each VNet bridge, as Proxmox's generated configuration
//!   creates; xsdn: a VXLAN zone with the same devices present).
//!
//! Load: `xsdn-loadgen` in vm1 (AF_XDP TX, copy mode) at full speed for a
//! few seconds; the rate is what vm2's `eth0` receives (its `rx_packets`
//! counter), so a path that drops under load reports what it delivered.
//! Prints a table and, with `--json`, one JSON object.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use xsdn_testbed::topology::GuestKind;
use xsdn_testbed::{Proc, World, ensure_root, examples, kernel_vxlan, set_testbed_bin, wait_until};

/// End-to-end packet rates: kernel path vs xsdn.
#[derive(Parser, Debug)]
#[command(name = "xsdn-sysbench")]
struct Args {
    /// Scenarios to run (`simple`, `vxlan`).
    #[arg(long, value_delimiter = ',', default_value = "simple,vxlan")]
    scenarios: Vec<String>,
    /// Frame sizes in bytes.
    #[arg(long, value_delimiter = ',', default_value = "60,1400")]
    sizes: Vec<usize>,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// The `xsdn` binary.
    #[arg(long)]
    xsdn: Option<PathBuf>,
    /// The `xsdn-loadgen` binary.
    #[arg(long)]
    loadgen: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One measurement.
#[derive(Debug, serde::Serialize)]
struct Row {
    scenario: String,
    path: &'static str,
    size: usize,
    offered_pps: f64,
    delivered_pps: f64,
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("binary has no directory")?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{} not found next to xsdn-sysbench (build the workspace binaries)",
            path.display()
        );
    }
    Ok(path)
}

const VM1_MAC: &str = "52:54:00:00:00:01";
const VM2_MAC: &str = "52:54:00:00:00:02";

struct Scenario {
    name: &'static str,
    world: World,
    config: PathBuf,
    nodes: &'static [&'static str],
    src_ip: &'static str,
    dst_ip: &'static str,
}

fn setup(name: &str) -> anyhow::Result<Scenario> {
    match name {
        "simple" => {
            let world = World::up(&examples::simple().with_guest_kind(GuestKind::Container))?;
            let config = world.dir().join("sdn");
            std::fs::create_dir_all(&config)?;
            std::fs::write(config.join("zones.cfg"), "simple: simple1\n")?;
            std::fs::write(config.join("vnets.cfg"), "vnet: vnet0\n\tzone simple1\n")?;
            Ok(Scenario {
                name: "simple",
                world,
                config,
                nodes: &["node1"],
                src_ip: "10.0.0.2",
                dst_ip: "10.0.0.3",
            })
        }
        "vxlan" => {
            let world = World::up(&examples::vxlan().with_guest_kind(GuestKind::Container))?;
            // The kernel path, as Proxmox's generated interfaces file has it.
            for (node, local, peers) in [
                ("node1", "192.168.0.1", ["192.168.0.2", "192.168.0.3"]),
                ("node2", "192.168.0.2", ["192.168.0.1", "192.168.0.3"]),
                ("node3", "192.168.0.3", ["192.168.0.1", "192.168.0.2"]),
            ] {
                kernel_vxlan(&world, node, "myvnet1", 100_000, local, &peers)?;
            }
            let config = world.dir().join("sdn");
            std::fs::create_dir_all(&config)?;
            std::fs::write(
                config.join("zones.cfg"),
                "vxlan: vxzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n",
            )?;
            std::fs::write(
                config.join("vnets.cfg"),
                "vnet: myvnet1\n\tzone vxzone\n\ttag 100000\n",
            )?;
            Ok(Scenario {
                name: "vxlan",
                world,
                config,
                nodes: &["node1", "node2", "node3"],
                src_ip: "10.0.3.100",
                dst_ip: "10.0.3.101",
            })
        }
        other => bail!("unknown scenario {other:?} (simple, vxlan)"),
    }
}

fn rx_packets(world: &World, ns: &str) -> anyhow::Result<u64> {
    let out = world.exec(ns, &["cat", "/sys/class/net/eth0/statistics/rx_packets"])?;
    Ok(out.stdout.trim().parse()?)
}

fn measure(s: &Scenario, loadgen: &str, size: usize, seconds: f64) -> anyhow::Result<(f64, f64)> {
    // Learn the MACs first (and resolve ARP) so nothing is flooded.
    let _ = s
        .world
        .ping("vm1", s.dst_ip, 2, Duration::from_millis(100), None)?;
    let before = rx_packets(&s.world, "vm2")?;
    let out = s.world.exec_timeout(
        "vm1",
        &[
            loadgen,
            "--iface",
            "eth0",
            "--src-mac",
            VM1_MAC,
            "--dst-mac",
            VM2_MAC,
            "--src-ip",
            s.src_ip,
            "--dst-ip",
            s.dst_ip,
            "--size",
            &size.to_string(),
            "--seconds",
            &seconds.to_string(),
        ],
        Duration::from_secs_f64(seconds + 30.0),
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let after = rx_packets(&s.world, "vm2")?;
    let report: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .with_context(|| format!("loadgen output: {}", out.stdout))?;
    let elapsed = report["seconds"].as_f64().unwrap_or(seconds);
    let offered = report["pps"].as_f64().unwrap_or(0.0);
    Ok((offered, (after - before) as f64 / elapsed))
}

fn start_daemons(s: &Scenario, xsdn: &str) -> anyhow::Result<Vec<Proc>> {
    let config = s.config.to_str().context("path")?;
    let mut daemons = Vec::new();
    for node in s.nodes {
        let socket = s.world.dir().join(format!("{node}.sock"));
        let socket = socket.to_str().context("path")?;
        let proc = s.world.spawn(
            node,
            &[
                xsdn,
                "daemon",
                "--config",
                config,
                "--node",
                node,
                "--socket",
                socket,
                "--metrics",
                "off",
            ],
        )?;
        if !wait_until(Duration::from_secs(10), || {
            proc.stderr().contains("running node=") || !proc.is_running()
        }) || !proc.is_running()
        {
            bail!("xsdn daemon on {node} did not start:\n{}", proc.stderr());
        }
        daemons.push(proc);
    }
    // Let the first replans settle.
    std::thread::sleep(Duration::from_millis(500));
    Ok(daemons)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure_root()?;
    set_testbed_bin(sibling("xsdn-testbed")?);
    let xsdn = args.xsdn.clone().map_or_else(|| sibling("xsdn"), Ok)?;
    let loadgen = args
        .loadgen
        .clone()
        .map_or_else(|| sibling("xsdn-loadgen"), Ok)?;
    let (xsdn, loadgen) = (xsdn.display().to_string(), loadgen.display().to_string());
    let mut rows = Vec::new();
    for name in &args.scenarios {
        let scenario = setup(name)?;
        for &size in &args.sizes {
            let size = if scenario.name == "vxlan" {
                size.min(1450 + 14)
            } else {
                size
            };
            let (offered, delivered) = measure(&scenario, &loadgen, size, args.seconds)?;
            rows.push(Row {
                scenario: scenario.name.into(),
                path: "kernel",
                size,
                offered_pps: offered,
                delivered_pps: delivered,
            });
            let daemons = start_daemons(&scenario, &xsdn)?;
            let (offered, delivered) = measure(&scenario, &loadgen, size, args.seconds)?;
            rows.push(Row {
                scenario: scenario.name.into(),
                path: "xsdn",
                size,
                offered_pps: offered,
                delivered_pps: delivered,
            });
            for d in daemons {
                d.stop()?;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<8} {:>6} {:>8} {:>14} {:>14} {:>8}",
        "SCENARIO", "SIZE", "PATH", "OFFERED_MPPS", "DELIVERED_MPPS", "RATIO"
    );
    for pair in rows.chunks(2) {
        let kernel = &pair[0];
        for row in pair {
            let ratio = if row.path == "xsdn" && kernel.delivered_pps > 0.0 {
                format!("{:.2}x", row.delivered_pps / kernel.delivered_pps)
            } else {
                String::new()
            };
            println!(
                "{:<8} {:>6} {:>8} {:>14.3} {:>14.3} {:>8}",
                row.scenario,
                row.size,
                row.path,
                row.offered_pps / 1e6,
                row.delivered_pps / 1e6,
                ratio
            );
        }
    }
    Ok(())
}
