//! `cargo xtask demo`: the Proxmox SDN guide's VXLAN example, forwarded by
//! `xsdn daemon` (its kernel tier, AF_XDP for the rest), with what happened
//! printed along the way, and TCP between the VMs measured on the kernel
//! path first and then through xsdn, in the same run.
//!
//! Topology (built by `xsdn-testbed`): an underlay switch and three nodes
//! (vmbr0 192.168.0.1-3/24 on eno1), VNet bridge `myvnet1` on each, vm1
//! (10.0.3.100, MTU 1450) on node1 and vm2 (10.0.3.101) on node3. The SDN
//! configuration is the guide's: zone `myvxlanzone` (peers
//! 192.168.0.1-3, MTU 1450) and VNet `myvnet1` with VNI 100000. The guests
//! are VM-like: taps opened as QEMU opens them (TSO, partial checksums).
//! The kernel path (a `vxlan_myvnet1` device in each VNet bridge, as
//! Proxmox configures it) is measured first, then removed; one daemon per
//! node then carries every frame between the guests.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xsdn_testbed::{
    IperfOpts, Proc, UdpOpts, World, ensure_root, examples, kernel_vxlan, set_testbed_bin,
    wait_until,
};

use crate::util::Paths;

const ZONES_CFG: &str =
    "vxlan: myvxlanzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n";
const VNETS_CFG: &str = "vnet: myvnet1\n\tzone myvxlanzone\n\ttag 100000\n";

/// Runs the demo; `paths` locate the built binaries.
pub fn demo(paths: &Paths) -> anyhow::Result<()> {
    ensure_root().context("the demo builds network namespaces")?;
    set_testbed_bin(paths.testbed_bin());
    let xsdn = paths.xsdn_bin();
    let xsdn = xsdn.to_str().context("xsdn path is not UTF-8")?;
    let started = Instant::now();

    section("1. Topology: the SDN guide's VXLAN example in network namespaces");
    let world = World::up(&examples::vxlan()).context("bringing up the topology")?;
    for (role, ns) in world.namespaces() {
        println!("   {role:<7} namespace {ns}");
    }
    println!(
        "   vm1 10.0.3.100/24 (mtu 1450) on node1/myvnet1, vm2 10.0.3.101/24 on node3/myvnet1"
    );

    section("2. SDN configuration (as in /etc/pve/sdn)");
    let config = world.dir().join("sdn");
    std::fs::create_dir_all(&config)?;
    std::fs::write(config.join("zones.cfg"), ZONES_CFG)?;
    std::fs::write(config.join("vnets.cfg"), VNETS_CFG)?;
    print_indented("zones.cfg", ZONES_CFG);
    print_indented("vnets.cfg", VNETS_CFG);
    let config_str = config.to_str().context("config path is not UTF-8")?;
    let check = world.exec("node1", &[xsdn, "check", config_str])?;
    print_indented("xsdn check", &format!("{}{}", check.stdout, check.stderr));

    section(
        "3. Before the dataplane runs: the guests cannot reach each other (no VXLAN device in the kernel)",
    );
    // From vm2, so that vm1 (which sends the traffic later) keeps no
    // half-resolved neighbour entry for vm2 from this failed attempt; vm2's
    // is repaired by vm1's first ARP request.
    let before = world.ping("vm2", "10.0.3.100", 2, Duration::from_millis(200), None)?;
    println!(
        "   ping vm2 -> vm1: {} sent, {} received",
        before.transmitted, before.received
    );

    section(
        "4. The kernel path, as Proxmox configures it: a vxlan_myvnet1 device in each node's VNet bridge",
    );
    let peers = [
        ("node1", "192.168.0.1", ["192.168.0.2", "192.168.0.3"]),
        ("node2", "192.168.0.2", ["192.168.0.1", "192.168.0.3"]),
        ("node3", "192.168.0.3", ["192.168.0.1", "192.168.0.2"]),
    ];
    for (node, local, others) in peers {
        kernel_vxlan(&world, node, "myvnet1", 100_000, local, &others)?;
    }
    let _ = world.ping("vm1", "10.0.3.101", 2, Duration::from_millis(100), None)?;
    let kernel_tcp = tcp(&world, "kernel bridge + vxlan")?;
    for (node, _, _) in peers {
        world.exec(node, &["ip", "link", "del", "vxlan_myvnet1"])?;
    }
    println!("   (vxlan_myvnet1 removed again: from here on only xsdn carries the VNet)");

    section("5. xsdn daemon on node1, node2 and node3");
    let mut daemons = Vec::new();
    for node in ["node1", "node2", "node3"] {
        daemons.push(start_daemon(&world, xsdn, config_str, node)?);
    }
    let socket1 = socket(&world, "node1");
    // Ready when every daemon has its VXLAN next hops resolved (the kernel
    // resolves them on the daemon's request within a few milliseconds).
    for node in ["node1", "node2", "node3"] {
        let socket = socket(&world, node);
        let resolved = wait_until(Duration::from_secs(10), || {
            world
                .exec(
                    node,
                    &[xsdn, "show", "vteps", "--json", "--socket", &socket],
                )
                .map(|out| {
                    !out.stdout.contains("\"unresolved\"") && out.stdout.contains("resolved")
                })
                .unwrap_or(false)
        });
        if !resolved {
            bail!("{node}: VXLAN next hops still unresolved after 10 s");
        }
    }
    show(&world, xsdn, &socket1, &["status"])?;

    section("6. Traffic between vm1 (node1) and vm2 (node3) through xsdn, VXLAN on the wire");
    let capture = world.capture("switch", "node1", "udp port 4789")?;
    let xsdn_tcp = traffic(&world)?;
    println!(
        "   tcp  xsdn / kernel path: {:.2}x the throughput; retransmits {} against {} (same run, same guests)",
        xsdn_tcp.gbit_per_s / kernel_tcp.gbit_per_s.max(1e-9),
        xsdn_tcp.retransmits,
        kernel_tcp.retransmits
    );
    let frames = capture.stop()?;
    if let Some(frame) = frames.iter().find(|f| f.vxlan_vni().is_some()) {
        println!(
            "   underlay: {} VXLAN frames seen on the switch port of node1 (VNI {})",
            frames.len(),
            frame.vxlan_vni().unwrap_or_default()
        );
    }

    section("7. node1's tables: learned MACs, the kernel tier's entries, VTEPs, counters");
    show(&world, xsdn, &socket1, &["show", "fdb"])?;
    show(&world, xsdn, &socket1, &["show", "kernel"])?;
    show(&world, xsdn, &socket1, &["show", "vteps"])?;
    show(&world, xsdn, &socket1, &["show", "counters"])?;

    section("8. Stop the daemons: every port goes back to the kernel");
    for daemon in daemons {
        let out = daemon.stop().context("stopping a daemon")?;
        if let Some(line) = out.stderr.lines().last() {
            println!("   {line}");
        }
    }
    drop(world);
    println!(
        "\nDemo finished in {:.1} s; all namespaces removed.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn xsdn_path() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("xsdn").display().to_string()))
        .unwrap_or_else(|| "xsdn".into())
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn print_indented(title: &str, text: &str) {
    println!("   {title}:");
    for line in text.lines() {
        println!("     {}", line.replace('\t', "    "));
    }
}

fn socket(world: &World, node: &str) -> String {
    world
        .dir()
        .join(format!("{node}.sock"))
        .display()
        .to_string()
}

fn start_daemon(world: &World, xsdn: &str, config: &str, node: &str) -> anyhow::Result<Proc> {
    let socket = socket(world, node);
    let proc = world.spawn(
        node,
        &[
            xsdn,
            "daemon",
            "--config",
            config,
            "--node",
            node,
            "--socket",
            &socket,
            "--metrics",
            "off",
        ],
    )?;
    let ready = wait_until(Duration::from_secs(10), || {
        !proc.is_running() || proc.stderr().contains("running node=")
    });
    if !ready || !proc.is_running() {
        bail!("xsdn daemon on {node} did not start:\n{}", proc.stderr());
    }
    for line in proc
        .stderr()
        .lines()
        .filter(|l| l.contains("took the port over"))
    {
        let short = line.split("INFO").nth(1).unwrap_or(line).trim();
        println!("   {node}: {short}");
    }
    Ok(proc)
}

fn show(world: &World, xsdn: &str, socket: &str, args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec![xsdn];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--socket", socket]);
    let out = world.exec("node1", &argv)?;
    println!("   $ xsdn {}", args.join(" "));
    for line in out.stdout.lines() {
        println!("     {line}");
    }
    Ok(())
}

/// A TCP run of vm1 -> vm2.
struct TcpRun {
    gbit_per_s: f64,
    retransmits: u64,
}

/// iperf3 vm1 -> vm2 for 3 s; prints and returns the rate and the
/// sender's retransmits.
fn tcp(world: &World, path: &str) -> anyhow::Result<TcpRun> {
    let server = world.iperf3_server("vm2", 5201)?;
    world.wait_listening("vm2", 5201, Duration::from_secs(5))?;
    let r = world.iperf3_client(
        "vm1",
        "10.0.3.101",
        &IperfOpts {
            duration: Duration::from_secs(3),
            ..IperfOpts::default()
        },
    )?;
    drop(server);
    let run = TcpRun {
        gbit_per_s: r.bits_per_second / 1e9,
        retransmits: r.retransmits.unwrap_or(0),
    };
    println!(
        "   tcp  vm1 -> vm2 (iperf3, 3 s, {path}): {:.2} Gbit/s, {} retransmits",
        run.gbit_per_s, run.retransmits
    );
    if r.received_bytes == 0 {
        bail!("TCP over the {path} moved nothing");
    }
    Ok(run)
}

fn traffic(world: &World) -> anyhow::Result<TcpRun> {
    let ping = world.ping("vm1", "10.0.3.101", 5, Duration::from_millis(100), None)?;
    println!(
        "   ping vm1 -> vm2: {} sent, {} received, avg rtt {:?}",
        ping.transmitted, ping.received, ping.rtt_avg
    );
    let dst: IpAddr = "10.0.3.101".parse()?;
    let udp = world.udp_exchange("vm1", "vm2", dst, &UdpOpts::default())?;
    println!(
        "   udp  vm1 -> vm2: {} sent, {} received intact, {} checksum errors at vm2",
        udp.send.sent, udp.recv.received, udp.csum_errors
    );
    let tcp = tcp(world, "xsdn")?;
    if !ping.all_received() || !udp.all_ok() {
        for node in ["node1", "node3"] {
            let socket = world
                .dir()
                .join(format!("{node}.sock"))
                .display()
                .to_string();
            if let Ok(out) = world.exec(
                node,
                &[&xsdn_path(), "show", "counters", "--socket", &socket],
            ) {
                println!("   {node} counters:\n{}", out.stdout);
            }
        }
        bail!("traffic through the dataplane did not get through intact");
    }
    Ok(tcp)
}
