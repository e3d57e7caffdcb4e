//! `xsdn-tcpbench`: TCP between two guests, per zone type and guest kind,
//! through the kernel's path and through `xsdn daemon` (userspace tier
//! only, and with the kernel tier), in one run on the same topology.
//!
//! Guests behave as Proxmox's: VMs are taps opened as QEMU opens them
//! (TSO, partial checksums: GSO super-frames), containers are veths. Each
//! measurement is an iperf3 run (single stream) from guest 1 to guest 2;
//! the table reports the median run by Gbit/s with its sender's
//! retransmits, and how many runs failed. Every xsdn run is checked
//! against node1's counters: vm1's port must have counted at least the
//! bytes vm2 received (else the traffic took another path and the run is
//! an error), and the kernel tier's share of them is reported. Kernel paths: the Linux bridge for a simple
//! zone, the bridge plus a `vxlan_<vnet>` device for VXLAN (as Proxmox's
//! generated configuration has it); VLAN and QinQ zones have no kernel path
//! on this kernel (no 802.1Q devices), so they are compared with the same
//! hops untagged (each node's uplink moved into the VNet bridge for the
//! kernel's runs) and with the simple zone's bridge for the same guest
//! kind. Root.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use xsdn_testbed::topology::GuestKind;
use xsdn_testbed::{
    Daemon, DaemonOpts, IperfOpts, Topology, World, ensure_root, examples, kernel_vxlan,
    set_testbed_bin, start_daemon, wait_until, write_config,
};

#[derive(Parser)]
#[command(
    name = "xsdn-tcpbench",
    about = "TCP through the kernel path and through xsdn, per zone type and guest kind (root)"
)]
struct Args {
    /// Seconds per iperf3 run
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Runs per path (the median is reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Zone types to measure (simple, vlan, qinq, vxlan)
    #[arg(long, value_delimiter = ',', default_value = "simple,vlan,qinq,vxlan")]
    zones: Vec<String>,
    /// Guest kinds to measure (vm, container)
    #[arg(long, value_delimiter = ',', default_value = "vm,container")]
    guests: Vec<String>,
    /// Also print the table as JSON
    #[arg(long)]
    json: bool,
}

/// One zone type's world: the topology, its SDN configuration and who
/// talks to whom.
struct Zone {
    name: &'static str,
    topology: Topology,
    zones_cfg: String,
    vnets_cfg: &'static str,
    nodes: &'static [&'static str],
    dst_ip: &'static str,
    /// MTU the guests must use (QinQ's 1496), if any.
    guest_mtu: Option<u32>,
    /// Whether the kernel has a path of its own for this zone type.
    kernel_path: KernelPath,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KernelPath {
    /// The VNet's Linux bridge (one node).
    Bridge,
    /// The VNet bridges plus a `vxlan_<vnet>` device each.
    BridgeAndVxlan,
    /// No kernel path for the zone type here (VLAN, QinQ: no 802.1Q
    /// devices); measured instead: the same hops untagged, each node's
    /// uplink moved into the VNet bridge for the run.
    SameHopsUntagged,
}

fn zone(name: &str) -> anyhow::Result<Zone> {
    Ok(match name {
        "simple" => Zone {
            name: "simple",
            topology: examples::simple(),
            zones_cfg: "simple: simple1\n".into(),
            vnets_cfg: "vnet: vnet0\n\tzone simple1\n",
            nodes: &["node1"],
            dst_ip: "10.0.0.3",
            guest_mtu: None,
            kernel_path: KernelPath::Bridge,
        },
        "vlan" => Zone {
            name: "vlan",
            topology: examples::vlan(),
            zones_cfg: "vlan: myvlanzone\n\tbridge vmbr0\n".into(),
            vnets_cfg: "vnet: myvnet1\n\tzone myvlanzone\n\ttag 10\n",
            nodes: &["node1", "node2"],
            dst_ip: "10.0.3.101",
            guest_mtu: None,
            kernel_path: KernelPath::SameHopsUntagged,
        },
        "qinq" => Zone {
            name: "qinq",
            topology: examples::qinq(),
            zones_cfg: "qinq: qinqzone1\n\tbridge vmbr0\n\ttag 20\n\tmtu 1496\n\n\
                        qinq: qinqzone2\n\tbridge vmbr0\n\ttag 30\n\tmtu 1496\n"
                .into(),
            vnets_cfg: "vnet: myvnet1\n\tzone qinqzone1\n\ttag 100\n\n\
                        vnet: myvnet2\n\tzone qinqzone2\n\ttag 100\n",
            nodes: &["node1", "node2"],
            dst_ip: "10.0.3.101",
            guest_mtu: Some(1496),
            kernel_path: KernelPath::SameHopsUntagged,
        },
        "vxlan" => Zone {
            name: "vxlan",
            topology: examples::vxlan(),
            zones_cfg:
                "vxlan: myvxlanzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n"
                    .into(),
            vnets_cfg: "vnet: myvnet1\n\tzone myvxlanzone\n\ttag 100000\n",
            nodes: &["node1", "node2", "node3"],
            dst_ip: "10.0.3.101",
            guest_mtu: None,
            kernel_path: KernelPath::BridgeAndVxlan,
        },
        other => bail!("unknown zone type {other:?} (simple, vlan, qinq, vxlan)"),
    })
}

fn guest_kind(name: &str) -> anyhow::Result<GuestKind> {
    match name {
        "vm" => Ok(GuestKind::Vm),
        "container" => Ok(GuestKind::Container),
        other => bail!("unknown guest kind {other:?} (vm, container)"),
    }
}

fn kind_name(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Vm => "vm (tap)",
        GuestKind::Container => "container (veth)",
    }
}

/// One path's result: the median run by rate, with that run's
/// retransmits, and how many runs failed.
#[derive(Clone, Copy, Debug, serde::Serialize)]
struct Tcp {
    gbit_per_s: f64,
    retransmits: u64,
    /// Runs in which iperf3 failed (counted as 0 Gbit/s).
    failed_runs: usize,
    /// For xsdn's runs: the least share of vm1's bytes that xsdn's
    /// counters saw on vm1's port, and of those the least share the kernel
    /// tier carried, over the runs.
    carried: Option<Carried>,
}

/// What xsdn's own counters saw of one run.
#[derive(Clone, Copy, Debug, serde::Serialize)]
struct Carried {
    /// Bytes counted on vm1's port / bytes vm2 received (headers make it
    /// a little above 1 when xsdn carried everything).
    seen: f64,
    /// Of the bytes counted on vm1's port, the kernel tier's share.
    kernel_tier: f64,
}

/// One iperf3 run.
#[derive(Clone, Copy, Debug)]
struct Run {
    gbit_per_s: f64,
    retransmits: u64,
    received_bytes: u64,
    failed: bool,
}

/// One iperf3 run vm1 -> `dst`; a run that fails counts as 0 Gbit/s and
/// is reported as failed.
fn measure_once(world: &World, dst: &str, seconds: u64) -> anyhow::Result<Run> {
    let server = world.iperf3_server("vm2", 5201)?;
    world.wait_listening("vm2", 5201, Duration::from_secs(5))?;
    let r = world.iperf3_client(
        "vm1",
        dst,
        &IperfOpts {
            duration: Duration::from_secs(seconds),
            ..IperfOpts::default()
        },
    );
    drop(server);
    Ok(match r {
        Ok(r) => Run {
            gbit_per_s: r.bits_per_second / 1e9,
            retransmits: r.retransmits.unwrap_or(0),
            received_bytes: r.received_bytes,
            failed: false,
        },
        Err(e) => {
            eprintln!("   iperf3 vm1 -> {dst} failed: {e:#}");
            Run {
                gbit_per_s: 0.0,
                retransmits: 0,
                received_bytes: 0,
                failed: true,
            }
        }
    })
}

/// The runs of one path, summarized.
#[derive(Default)]
struct Runs {
    runs: Vec<Run>,
    carried: Option<Carried>,
}

impl Runs {
    fn push(&mut self, run: Run) {
        self.runs.push(run);
    }

    /// Adds a run of xsdn with what its counters saw.
    fn push_carried(&mut self, (run, carried): (Run, Carried)) {
        self.runs.push(run);
        let least = self.carried.map_or(carried, |c| Carried {
            seen: c.seen.min(carried.seen),
            kernel_tier: c.kernel_tier.min(carried.kernel_tier),
        });
        self.carried = Some(least);
    }

    fn median(mut self) -> Option<Tcp> {
        self.runs.sort_by(|a, b| {
            a.gbit_per_s
                .partial_cmp(&b.gbit_per_s)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mid = self.runs.get(self.runs.len() / 2)?;
        Some(Tcp {
            gbit_per_s: mid.gbit_per_s,
            retransmits: mid.retransmits,
            failed_runs: self.runs.iter().filter(|r| r.failed).count(),
            carried: self.carried,
        })
    }
}

/// Waits until vm1 reaches `dst` (learning done, next hops resolved).
fn reachable(world: &World, dst: &str) -> bool {
    wait_until(Duration::from_secs(15), || {
        world
            .ping("vm1", dst, 1, Duration::from_millis(100), None)
            .is_ok_and(|p| p.received > 0)
    })
}

/// One row of the table.
#[derive(Debug, serde::Serialize)]
struct Row {
    zone: &'static str,
    guests: &'static str,
    /// What the kernel column measured.
    kernel_path: String,
    kernel: Option<Tcp>,
    userspace_only: Tcp,
    xsdn: Tcp,
}

/// vm1's port's received bytes and the kernel tier's share of them, from
/// node1's daemon.
fn port_rx_bytes(world: &World, daemon: &Daemon) -> anyhow::Result<(u64, u64)> {
    let port = world
        .guest_port("vm1")
        .context("no guest vm1")?
        .port
        .clone();
    let counters = daemon.show(world, "counters")?;
    let row = counters["ports"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["ifname"] == port.as_str()))
        .with_context(|| format!("no counters for {port}: {counters}"))?;
    let rx = row["rx_bytes"].as_u64().context("rx_bytes")?;
    let kernel = row["kernel_tier"]["rx_bytes"].as_u64().unwrap_or(0);
    Ok((rx, kernel))
}

/// Starts a daemon on every node of the zone (with `extra` arguments),
/// waits until vm1 reaches vm2, runs iperf3 once, checks with node1's
/// counters that xsdn carried what vm2 received, stops the daemons.
fn run_xsdn(
    world: &World,
    z: &Zone,
    config: &std::path::Path,
    extra: &[&str],
    seconds: u64,
) -> anyhow::Result<(Run, Carried)> {
    let opts = DaemonOpts {
        metrics: None,
        extra: extra.iter().map(|s| s.to_string()).collect(),
    };
    let daemons: Vec<Daemon> = z
        .nodes
        .iter()
        .map(|node| start_daemon(world, node, config, &opts))
        .collect::<anyhow::Result<_>>()?;
    if !reachable(world, z.dst_ip) {
        bail!(
            "{}: vm1 cannot reach {} through xsdn {extra:?}",
            z.name,
            z.dst_ip
        );
    }
    let before = port_rx_bytes(world, &daemons[0])?;
    let run = measure_once(world, z.dst_ip, seconds)?;
    let after = port_rx_bytes(world, &daemons[0])?;
    drop(daemons);
    // The daemons' programs go with their processes: let the kernel finish
    // detaching before the next path starts.
    std::thread::sleep(Duration::from_millis(300));
    let (rx, kernel) = (after.0 - before.0, after.1 - before.1);
    let carried = Carried {
        seen: rx as f64 / run.received_bytes.max(1) as f64,
        kernel_tier: kernel as f64 / rx.max(1) as f64,
    };
    if !run.failed && carried.seen < 1.0 {
        bail!(
            "{}: xsdn {extra:?} counted {rx} bytes from vm1 but vm2 received {}: \
             the traffic took another path",
            z.name,
            run.received_bytes
        );
    }
    Ok((run, carried))
}

/// The VXLAN kernel path's devices: (node, local address, peers).
const VXLAN_NODES: [(&str, &str, [&str; 2]); 3] = [
    ("node1", "192.168.0.1", ["192.168.0.2", "192.168.0.3"]),
    ("node2", "192.168.0.2", ["192.168.0.1", "192.168.0.3"]),
    ("node3", "192.168.0.3", ["192.168.0.1", "192.168.0.2"]),
];

/// Moves each node's uplink into `bridge`.
fn uplinks_into(world: &World, z: &Zone, bridge: &str) -> anyhow::Result<()> {
    for node in z.nodes {
        world.exec(node, &["ip", "link", "set", "eno1", "master", bridge])?;
    }
    Ok(())
}

/// One run over the kernel's own path (set up and taken down again).
fn run_kernel(world: &World, z: &Zone, seconds: u64) -> anyhow::Result<Run> {
    match z.kernel_path {
        KernelPath::Bridge => {}
        KernelPath::BridgeAndVxlan => {
            for (node, local, peers) in VXLAN_NODES {
                kernel_vxlan(world, node, "myvnet1", 100_000, local, &peers)?;
            }
        }
        KernelPath::SameHopsUntagged => uplinks_into(world, z, "myvnet1")?,
    }
    if !reachable(world, z.dst_ip) {
        bail!("{}: vm1 cannot reach vm2 over the kernel's path", z.name);
    }
    let result = measure_once(world, z.dst_ip, seconds)?;
    match z.kernel_path {
        KernelPath::Bridge => {}
        KernelPath::BridgeAndVxlan => {
            for (node, _, _) in VXLAN_NODES {
                world.exec(node, &["ip", "link", "del", "vxlan_myvnet1"])?;
            }
        }
        KernelPath::SameHopsUntagged => uplinks_into(world, z, "vmbr0")?,
    }
    Ok(result)
}

/// Every path of one zone type and guest kind, the paths' runs
/// interleaved (kernel, userspace only, xsdn, kernel, ...) so that a slow
/// moment of the machine does not fall on one path only.
fn bench(z: &Zone, kind: GuestKind, args: &Args) -> anyhow::Result<Row> {
    let world = World::up(&z.topology.clone().with_guest_kind(kind))?;
    if let Some(mtu) = z.guest_mtu {
        for g in &z.topology.guests {
            world.exec(
                &g.name,
                &["ip", "link", "set", "eth0", "mtu", &mtu.to_string()],
            )?;
        }
    }
    let config = write_config(
        &world,
        "sdn",
        &[("zones.cfg", &z.zones_cfg), ("vnets.cfg", z.vnets_cfg)],
    )?;
    let (mut kernel, mut userspace_only, mut xsdn) =
        (Runs::default(), Runs::default(), Runs::default());
    for _ in 0..args.runs {
        kernel.push(run_kernel(&world, z, args.seconds)?);
        userspace_only.push_carried(run_xsdn(
            &world,
            z,
            &config,
            &["--kernel-tier", "off"],
            args.seconds,
        )?);
        xsdn.push_carried(run_xsdn(&world, z, &config, &[], args.seconds)?);
    }
    let kernel_path = match z.kernel_path {
        KernelPath::Bridge => "bridge",
        KernelPath::BridgeAndVxlan => "bridge + vxlan",
        KernelPath::SameHopsUntagged => {
            "none for tags here; bridges across the same hops, untagged"
        }
    };
    Ok(Row {
        zone: z.name,
        guests: kind_name(kind),
        kernel_path: kernel_path.to_owned(),
        kernel: kernel.median(),
        userspace_only: userspace_only.median().context("no run")?,
        xsdn: xsdn.median().context("no run")?,
    })
}

fn cell(t: Option<Tcp>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| {
            let failed = if t.failed_runs > 0 {
                format!(", {} runs FAILED", t.failed_runs)
            } else {
                String::new()
            };
            format!("{:.2} ({}{failed})", t.gbit_per_s, t.retransmits)
        },
    )
}

/// The kernel tier's least share of vm1's bytes over xsdn's runs.
fn share(t: Tcp) -> String {
    t.carried.map_or_else(
        || "-".to_owned(),
        |c| format!("{:.0} %", c.kernel_tier * 100.0),
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure_root().context("the TCP benchmark builds network namespaces")?;
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        let testbed: PathBuf = dir.join("xsdn-testbed");
        if testbed.is_file() {
            set_testbed_bin(testbed);
        }
    }
    let kinds: Vec<GuestKind> = args
        .guests
        .iter()
        .map(|g| guest_kind(g))
        .collect::<anyhow::Result<_>>()?;
    let mut rows = Vec::new();
    for name in &args.zones {
        let z = zone(name)?;
        for &kind in &kinds {
            eprintln!("xsdn-tcpbench: {} zone, {}", z.name, kind_name(kind));
            rows.push(bench(&z, kind, &args)?);
        }
    }
    // VLAN and QinQ have no kernel path here: beside the same hops
    // untagged, the simple zone's bridge for the same guests is shown, as
    // the other reference.
    let simple_bridge = |guests: &str| {
        rows.iter()
            .find(|r| r.zone == "simple" && r.guests == guests)
            .and_then(|r| r.kernel)
    };
    println!(
        "\nTCP, single stream, vm1 -> vm2, {} s x {} runs, interleaved (the median run by Gbit/s, its retransmits in parentheses; \
         every xsdn run checked to be carried by xsdn: its counters on vm1's port saw at least the bytes vm2 received; \
         kernel tier share = the least share of those bytes the kernel tier carried in a run)\n",
        args.seconds, args.runs
    );
    println!(
        "| zone | guests | kernel path | kernel | xsdn userspace only | xsdn | kernel tier share | xsdn / kernel | xsdn / simple zone's bridge |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let ratio = |reference: Option<Tcp>| {
            reference.filter(|k| k.gbit_per_s > 0.0).map_or_else(
                || "-".to_owned(),
                |k| format!("{:.2}x", r.xsdn.gbit_per_s / k.gbit_per_s),
            )
        };
        let versus_simple = if r.zone == "simple" {
            "-".to_owned()
        } else {
            ratio(simple_bridge(r.guests))
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.zone,
            r.guests,
            r.kernel_path,
            cell(r.kernel),
            cell(Some(r.userspace_only)),
            cell(Some(r.xsdn)),
            share(r.xsdn),
            ratio(r.kernel),
            versus_simple
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(())
}
