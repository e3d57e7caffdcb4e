//! `cargo xtask demo`: the Proxmox SDN guide's VXLAN example, forwarded by
//! `xsdn daemon` over AF_XDP, with what happened printed along the way.
//!
//! Topology (built by `xsdn-testbed`): an underlay switch and three nodes
//! (vmbr0 192.168.0.1-3/24 on eno1), VNet bridge `myvnet1` on each, vm1
//! (10.0.3.100, MTU 1450) on node1 and vm2 (10.0.3.101) on node3. The SDN
//! configuration is the guide's: zone `myvxlanzone` (peers
//! 192.168.0.1-3, MTU 1450) and VNet `myvnet1` with VNI 100000. One daemon
//! per node; the kernel has no VXLAN device, so every frame between the
//! guests crosses the dataplane.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xsdn_testbed::{
    IperfOpts, Proc, UdpOpts, World, ensure_root, examples, set_testbed_bin, wait_until,
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

    section("4. xsdn daemon on node1, node2 and node3");
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

    section("5. Traffic between vm1 (node1) and vm2 (node3), through AF_XDP and VXLAN");
    let capture = world.capture("switch", "node1", "udp port 4789")?;
    traffic(&world)?;
    let frames = capture.stop()?;
    if let Some(frame) = frames.iter().find(|f| f.vxlan_vni().is_some()) {
        println!(
            "   underlay: {} VXLAN frames seen on the switch port of node1 (VNI {})",
            frames.len(),
            frame.vxlan_vni().unwrap_or_default()
        );
    }

    section("6. node1's tables: learned MACs, VTEPs, counters");
    show(&world, xsdn, &socket1, &["show", "fdb"])?;
    show(&world, xsdn, &socket1, &["show", "vteps"])?;
    show(&world, xsdn, &socket1, &["show", "counters"])?;

    section("7. Stop the daemons: every port goes back to the kernel");
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

fn traffic(world: &World) -> anyhow::Result<()> {
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
    let server = world.iperf3_server("vm2", 5201)?;
    world.wait_listening("vm2", 5201, Duration::from_secs(5))?;
    let tcp = world.iperf3_client(
        "vm1",
        "10.0.3.101",
        &IperfOpts {
            duration: Duration::from_secs(2),
            ..IperfOpts::default()
        },
    )?;
    drop(server);
    println!(
        "   tcp  vm1 -> vm2 (iperf3, 2 s): {:.2} Gbit/s, {} retransmits",
        tcp.bits_per_second / 1e9,
        tcp.retransmits.unwrap_or(0)
    );
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
    Ok(())
}
