//! The kernel tier never acts on a stale decision (privileged; fails
//! without root). Each test first lets the kernel tier carry a flow (its
//! counters prove it), then changes what the decision depended on, and
//! checks that the very next frames follow the change:
//!
//! - a MAC that moves to another port (a VM migrated) is delivered at its
//!   new port, and nothing more reaches the old one;
//! - a port that moves to another VNet receives nothing more of its old
//!   VNet, although the guests there still address its MAC (tenant
//!   isolation with the kernel tier on);
//! - a reload that changes a VNet's tag: frames leave with the new tag at
//!   once, never the old one;
//! - a VXLAN peer's next hop that changes its MAC: the outer headers follow;
//! - a VM that migrates behind another VTEP: frames to its MAC follow it
//!   to the new VTEP at once.
//!
//! And a MAC whose traffic only the kernel tier carries does not age out
//! while it talks.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use xsdn_testbed::examples;
use xsdn_testbed::pcap::{CapturedFrame, TPID_8021Q};
use xsdn_testbed::{GuestSpec, NodeSpec, PingOpts, Topology, UdpOpts, World, wait_until};

const ZONES: &str = "simple: simple1\n";
const VNETS: &str = "vnet: vnet0\n\tzone simple1\n\nvnet: vnet1\n\tzone simple1\n";

/// One node with VNets `vnet0` and `vnet1`; vm1 10.0.0.1, vm2 10.0.0.2 and
/// vm3 10.0.0.3 in `vnet0`.
fn one_node() -> Topology {
    let vm = |name: &str, addr: &str, n: u8| {
        GuestSpec::new(name, "node1", "vnet0")
            .address(addr)
            .mac(&mac_str(vm_mac(n)))
    };
    Topology::new()
        .node(NodeSpec::new("node1").bridge("vnet0").bridge("vnet1"))
        .guest(vm("vm1", "10.0.0.1/24", 1))
        .guest(vm("vm2", "10.0.0.2/24", 2))
        .guest(vm("vm3", "10.0.0.3/24", 3))
}

fn udp(world: &World, from: &str, to: &str, dst: &str, count: u32) -> xsdn_testbed::UdpReport {
    let opts = UdpOpts {
        count,
        size: 200,
        timeout: Duration::from_secs(3),
        ..UdpOpts::default()
    };
    let dst: IpAddr = dst.parse().expect("address");
    world
        .udp_exchange(from, to, dst, &opts)
        .unwrap_or_else(|e| panic!("UDP {from} -> {to}: {e:#}"))
}

/// vm1 reaches vm2 at `dst` and the kernel tier carries vm1's datagrams
/// (node1's daemon `d1`, vm1's port `p1`).
fn kernel_tier_carries(world: &World, d1: &Daemon, p1: &str, what: &str, logs: Logs<'_>) {
    assert_ping(world, "vm1", "10.0.3.101", &quick(2), what, logs);
    let before = d1.counters(world);
    assert_udp(world, "vm1", "vm2", "10.0.3.101", 200, what, logs);
    let after = d1.counters(world);
    assert_kernel_tier_carried(&before, &after, p1, what);
}

/// Writes `vnets` and reloads `daemons`; then (a reload that changes a
/// VNet's encapsulation forgets its MACs: a round trip teaches them again)
/// sends 200 datagrams vm1 -> vm2 while node1's link is captured with
/// `filter`. Checks that all arrived and that the kernel tier carried them
/// on `p1`; returns the frames captured.
fn reload_and_send(
    world: &World,
    daemons: &[&Daemon],
    p1: &str,
    vnets: &str,
    filter: &str,
    what: &str,
    logs: Logs<'_>,
) -> Vec<CapturedFrame> {
    write_sdn(world, "sdn", &[("vnets.cfg", vnets)]);
    for d in daemons {
        let out = d.cli(world, &["reload"]);
        assert!(out.status.success(), "reload: {}\n{}", out.stderr, logs());
    }
    let wire = world.capture("switch", "node1", filter).expect("capture");
    assert_ping(world, "vm1", "10.0.3.101", &quick(2), what, logs);
    let before = daemons[0].counters(world);
    let r = udp(world, "vm1", "vm2", "10.0.3.101", 200);
    let after = daemons[0].counters(world);
    let frames = wire.stop().expect("capture");
    assert!(r.all_ok(), "{what}: {r:?}\n{}", logs());
    assert_kernel_tier_carried(&before, &after, p1, what);
    frames
}

/// Pins `ip`'s neighbour entry in `guest` to `mac`, so the guest keeps
/// addressing that MAC whatever happens (no ARP to reveal a change).
fn pin_neighbour(world: &World, guest: &str, ip: &str, mac: [u8; 6]) {
    world
        .exec(
            guest,
            &[
                "ip",
                "neigh",
                "replace",
                ip,
                "lladdr",
                &mac_str(mac),
                "dev",
                "eth0",
                "nud",
                "permanent",
            ],
        )
        .expect("static neighbour");
}

#[test]
fn a_mac_that_moves_to_another_port_is_followed() {
    let world = world(&one_node());
    let config = write_sdn(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    let (p1, p2, p3) = (
        port(&world, "vm1"),
        port(&world, "vm2"),
        port(&world, "vm3"),
    );
    let d = start_daemon(&world, "node1", &config, &[&p1, &p2, &p3]);
    let logs = || d.diag(&world);
    pin_neighbour(&world, "vm1", "10.0.0.2", vm_mac(2));

    // vm1 -> vm2 established: the kernel tier carries it.
    assert_ping(&world, "vm2", "10.0.0.1", &quick(2), "vm2 -> vm1", &logs);
    let before = d.counters(&world);
    assert_udp(
        &world,
        "vm1",
        "vm2",
        "10.0.0.2",
        200,
        "before the move",
        &logs,
    );
    let after = d.counters(&world);
    assert_kernel_tier_carried(&before, &after, &p1, "before the move");

    // vm2 "migrates" to vm3's port: at the old port the guest stays
    // plugged in but silent, under another MAC, without addresses (so a
    // capture there shows whatever the node still sends it); vm3 takes
    // vm2's MAC and address and speaks once (a migrated VM announces
    // itself).
    for args in [
        &["sysctl", "-q", "-w", "net.ipv6.conf.eth0.disable_ipv6=1"][..],
        &["ip", "addr", "flush", "dev", "eth0"],
        &["ip", "link", "set", "eth0", "address", "52:54:00:00:00:22"],
    ] {
        world.exec("vm2", args).expect("vm2 leaves");
    }
    for args in [
        &["ip", "link", "set", "eth0", "down"][..],
        &["ip", "link", "set", "eth0", "address", &mac_str(vm_mac(2))],
        &["ip", "addr", "flush", "dev", "eth0"],
        &["ip", "addr", "add", "10.0.0.2/24", "dev", "eth0"],
        &["ip", "link", "set", "eth0", "up"],
    ] {
        world.exec("vm3", args).expect("vm3 takes vm2's place");
    }
    assert_ping(
        &world,
        "vm3",
        "10.0.0.1",
        &quick(2),
        "moved vm2 -> vm1",
        &logs,
    );

    // Every datagram vm1 sends to that MAC now reaches the new port, in
    // the kernel tier, and not one the old port.
    let old = world.capture("vm2", "eth0", "").expect("capture");
    let before = d.counters(&world);
    let r = udp(&world, "vm1", "vm3", "10.0.0.2", 200);
    let after = d.counters(&world);
    let at_old = old.stop().expect("capture");
    assert!(
        r.all_ok(),
        "after the move, vm1 -> moved vm2 (port {p3}) lost datagrams: {r:?}\n{}",
        logs()
    );
    let stale: Vec<_> = from_mac(&at_old, vm_mac(1))
        .into_iter()
        .filter(|f| f.dst_mac() == Some(vm_mac(2)))
        .collect();
    assert!(
        stale.is_empty(),
        "{} frames of vm1 for vm2's MAC still reached the old port {p2}: first {}\n{}",
        stale.len(),
        stale.first().map(|f| hex(f)).unwrap_or_default(),
        after.0
    );
    assert_kernel_tier_carried(&before, &after, &p1, "after the move");
    let fdb = d.show(&world, "fdb");
    let entry = fdb
        .as_array()
        .and_then(|a| a.iter().find(|e| e["mac"] == mac_str(vm_mac(2)).as_str()))
        .unwrap_or_else(|| panic!("vm2's MAC not in the fdb: {fdb}"));
    assert_eq!(entry["ifname"], p3.as_str(), "{fdb}");
}

#[test]
fn a_port_moved_to_another_vnet_gets_nothing_of_its_old_vnet() {
    let world = world(&one_node());
    let config = write_sdn(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    let (p1, p2) = (port(&world, "vm1"), port(&world, "vm2"));
    let d = start_daemon(&world, "node1", &config, &[&p1, &p2]);
    let logs = || d.diag(&world);
    pin_neighbour(&world, "vm1", "10.0.0.2", vm_mac(2));
    assert_ping(&world, "vm2", "10.0.0.1", &quick(2), "vm2 -> vm1", &logs);
    let before = d.counters(&world);
    assert_udp(&world, "vm1", "vm2", "10.0.0.2", 200, "same VNet", &logs);
    let after = d.counters(&world);
    assert_kernel_tier_carried(&before, &after, &p1, "same VNet");

    // The operator moves vm2's port into vnet1 (another tenant's VNet).
    world
        .exec("node1", &["ip", "link", "set", &p2, "nomaster"])
        .expect("nomaster");
    world
        .exec("node1", &["ip", "link", "set", &p2, "master", "vnet1"])
        .expect("master vnet1");
    let moved = wait_until(Duration::from_secs(5), || {
        d.show(&world, "ports").as_array().is_some_and(|a| {
            a.iter()
                .any(|p| p["ifname"] == p2.as_str() && p["vnets"] == serde_json::json!(["vnet1"]))
        })
    });
    assert!(
        moved,
        "{p2} not in vnet1 after 5 s: {}",
        d.show(&world, "ports")
    );

    // vm1 still addresses vm2's MAC: not one frame may reach vnet1.
    let seen = world.capture("vm2", "eth0", "").expect("capture");
    let before = d.counters(&world);
    let r = udp(&world, "vm1", "vm2", "10.0.0.2", 50);
    let after = d.counters(&world);
    let frames = seen.stop().expect("capture");
    let leaked = from_mac(&frames, vm_mac(1));
    assert!(
        leaked.is_empty() && r.recv.received == 0,
        "{} frames of vm1 (vnet0) reached vm2 in vnet1 ({} datagrams): first {}\n{}",
        leaked.len(),
        r.recv.received,
        leaked.first().map(|f| hex(f)).unwrap_or_default(),
        after.0
    );
    let to_p2 = delta(
        before.port(&p2, "tx_packets"),
        after.port(&p2, "tx_packets"),
    );
    assert_eq!(
        to_p2, 0,
        "{p2} transmitted {to_p2} frames of vnet0\n{}",
        after.0
    );
}

#[test]
fn a_reload_that_changes_the_tag_is_followed_at_once() {
    const ZONES: &str = "vlan: myvlanzone\n\tbridge vmbr0\n";
    let vnets = |tag: u16| format!("vnet: myvnet1\n\tzone myvlanzone\n\ttag {tag}\n");
    let world = world(&examples::vlan());
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", ZONES), ("vnets.cfg", &vnets(10))],
    );
    let (p1, p2) = (port(&world, "vm1"), port(&world, "vm2"));
    let d1 = start_daemon(&world, "node1", &config, &[&p1, "eno1"]);
    let d2 = start_daemon(&world, "node2", &config, &[&p2, "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d2.diag(&world));
    kernel_tier_carries(&world, &d1, &p1, "tag 10", &logs);

    let frames = reload_and_send(&world, &[&d1, &d2], &p1, &vnets(20), "", "tag 20", &logs);
    let ours = from_mac(&frames, vm_mac(1));
    assert!(!ours.is_empty(), "no frame of vm1 on the underlay");
    for f in &ours {
        let tags = f.vlan_tags();
        assert!(
            tags.len() == 1 && tags[0].tpid == TPID_8021Q && tags[0].vid == 20,
            "a frame of vm1 left with {tags:?} after the reload to tag 20: {}",
            hex(f)
        );
    }
    // The entries written for tag 10 are freed once the tables are
    // written again for tag 20.
    let swept = wait_until(Duration::from_secs(5), || {
        let tier = &d1.status(&world)["kernel_tier"];
        tier["swept"].as_u64().is_some_and(|n| n > 0) && tier["stale_entries"] == 0
    });
    assert!(
        swept,
        "entries of tag 10 not swept: {}",
        d1.status(&world)["kernel_tier"]
    );
}

#[test]
fn a_vxlan_next_hop_that_changes_its_mac_is_followed() {
    const NEW_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x03, 0x33];
    let world = world(&examples::vxlan());
    let config = write_sdn(
        &world,
        "sdn",
        &[
            (
                "zones.cfg",
                "vxlan: myvxlanzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n",
            ),
            (
                "vnets.cfg",
                "vnet: myvnet1\n\tzone myvxlanzone\n\ttag 100000\n",
            ),
        ],
    );
    let (p1, p2) = (port(&world, "vm1"), port(&world, "vm2"));
    let d1 = start_daemon(&world, "node1", &config, &[&p1, "eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &[&p2, "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d3.diag(&world));
    kernel_tier_carries(&world, &d1, &p1, "VXLAN", &logs);

    // node3's underlay address moves to another MAC (a replaced NIC), and
    // node1's kernel learns it.
    world
        .exec(
            "node3",
            &["ip", "link", "set", "vmbr0", "address", &mac_str(NEW_MAC)],
        )
        .expect("new MAC");
    world
        .exec(
            "node1",
            &[
                "ip",
                "neigh",
                "replace",
                "192.168.0.3",
                "lladdr",
                &mac_str(NEW_MAC),
                "dev",
                "vmbr0",
            ],
        )
        .expect("neighbour");
    let followed = wait_until(Duration::from_secs(5), || {
        d1.show(&world, "vteps").as_array().is_some_and(|a| {
            a.iter().any(|v| {
                v["dst"] == "192.168.0.3" && v["next_hop"]["dst_mac"] == mac_str(NEW_MAC).as_str()
            })
        })
    });
    assert!(
        followed,
        "node1 did not follow the next hop's new MAC: {}",
        d1.show(&world, "vteps")
    );

    let wire = world
        .capture("switch", "node1", "udp port 4789")
        .expect("capture");
    let before = d1.counters(&world);
    let r = udp(&world, "vm1", "vm2", "10.0.3.101", 200);
    let after = d1.counters(&world);
    let frames = wire.stop().expect("capture");
    assert!(r.all_ok(), "after the next hop's change: {r:?}\n{}", logs());
    let to_node3: Vec<_> = frames
        .iter()
        .filter(|f| f.ipv4().is_some_and(|i| i.dst == [192, 168, 0, 3]))
        .collect();
    assert!(!to_node3.is_empty(), "no VXLAN to node3 captured");
    for f in &to_node3 {
        assert_eq!(
            f.dst_mac(),
            Some(NEW_MAC),
            "VXLAN to node3 still addressed to its old MAC: {}",
            hex(f)
        );
    }
    assert_kernel_tier_carried(&before, &after, &p1, "after the next hop's change");
}

#[test]
fn show_kernel_lists_the_entries_and_trace_names_the_tier() {
    let world = world(&one_node());
    let config = write_sdn(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    let (p1, p2) = (port(&world, "vm1"), port(&world, "vm2"));
    let d = start_daemon(&world, "node1", &config, &[&p1, &p2]);
    let logs = || d.diag(&world);
    assert_ping(&world, "vm1", "10.0.0.2", &quick(2), "vm1 -> vm2", &logs);
    let before = d.counters(&world);
    assert_ping(&world, "vm1", "10.0.0.2", &quick(3), "vm1 -> vm2", &logs);
    let after = d.counters(&world);
    // What `trace` will call `kernel` below, the kernel tier did carry.
    assert_kernel_tier_carried(&before, &after, &p1, "vm1 -> vm2");

    let entries = d.show(&world, "kernel");
    for (mac, ifname) in [(vm_mac(1), &p1), (vm_mac(2), &p2)] {
        let e = entries
            .as_array()
            .and_then(|a| a.iter().find(|e| e["mac"] == mac_str(mac).as_str()))
            .unwrap_or_else(|| panic!("{} not in the kernel tier: {entries}", mac_str(mac)));
        assert_eq!(e["vnet"], "vnet0", "{entries}");
        assert_eq!(e["ifname"], ifname.as_str(), "{entries}");
        assert_eq!(e["action"]["type"], "forward", "{entries}");
        assert_eq!(e["state"], "current", "{entries}");
    }
    let table = d.cli(&world, &["show", "kernel"]);
    assert!(
        table.success() && table.stdout.contains("forward") && table.stdout.contains(&p2),
        "{}",
        table.stdout
    );

    let trace = |src: [u8; 6], dst: &str| {
        d.json(
            &world,
            &[
                "trace",
                "--port",
                &p1,
                "--src-mac",
                &mac_str(src),
                "--dst-mac",
                dst,
                "--src-ip",
                "10.0.0.1",
                "--dst-ip",
                "10.0.0.2",
            ],
        )
    };
    let known = trace(vm_mac(1), &mac_str(vm_mac(2)));
    assert_eq!(known["tier"], "kernel", "{known}");
    let broadcast = trace(vm_mac(1), "ff:ff:ff:ff:ff:ff");
    assert_eq!(broadcast["tier"], "userspace", "{broadcast}");
    let stranger = trace([0x52, 0x54, 0, 0, 0, 0x77], &mac_str(vm_mac(2)));
    assert_eq!(stranger["tier"], "userspace", "{stranger}");
    assert!(
        stranger["tier_reason"]
            .as_str()
            .is_some_and(|r| r.contains("52:54:00:00:00:77")),
        "{stranger}"
    );
    // From vm2's port with vm1's MAC: a move, punted.
    let moved = d.json(
        &world,
        &[
            "trace",
            "--port",
            &p2,
            "--src-mac",
            &mac_str(vm_mac(1)),
            "--dst-mac",
            &mac_str(vm_mac(2)),
        ],
    );
    assert_eq!(moved["tier"], "userspace", "{moved}");
}

/// Traffic that only the kernel tier carries keeps its MACs alive: with an
/// ageing time of 4 s, 10 s of pings between two guests age nothing out
/// (no flood, no relearning), because the worker reads the kernel tier's
/// hits before an entry expires.
#[test]
fn macs_whose_traffic_the_kernel_tier_carries_do_not_age_out() {
    let topo = one_node();
    let world = world(&topo);
    // Only pings and ARP: no IPv6 chatter (router solicitations, MLD) that
    // would reach userspace and refresh the ages the slow way.
    for g in &topo.guests {
        world
            .exec(
                &g.name,
                &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
            )
            .expect("disable IPv6");
    }
    let config = write_sdn(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    let (p1, p2) = (port(&world, "vm1"), port(&world, "vm2"));
    let d = start_daemon_with(&world, "node1", &config, &[&p1, &p2], &["--fdb-age", "4"]);
    let logs = || d.diag(&world);
    assert_ping(&world, "vm1", "10.0.0.2", &quick(2), "warm-up", &logs);
    let before = d.counters(&world);
    let learned =
        |status: &serde_json::Value| status["fdb"]["learned"].as_u64().expect("fdb.learned");
    let learned_before = learned(&d.status(&world));
    let opts = PingOpts {
        count: 100,
        interval: Duration::from_millis(100),
        wait: Duration::from_secs(1),
        ..PingOpts::default()
    };
    assert_ping(&world, "vm1", "10.0.0.2", &opts, "10 s of pings", &logs);
    let after = d.counters(&world);
    assert_kernel_tier_carried(&before, &after, &p1, "10 s of pings");
    let status = d.status(&world);
    // An entry that aged out would have been learnt again by the next
    // frame.
    assert!(
        learned(&status) == learned_before && status["fdb"]["aged"] == 0,
        "MACs aged out and were learnt again while the kernel tier carried their traffic: {}\n{}",
        status["fdb"],
        logs()
    );
    let fdb = d.show(&world, "fdb");
    for mac in [vm_mac(1), vm_mac(2)] {
        let entry = fdb
            .as_array()
            .and_then(|a| a.iter().find(|e| e["mac"] == mac_str(mac).as_str()));
        assert!(entry.is_some(), "{} aged out: {fdb}", mac_str(mac));
    }
    // Nothing but punted guest frames crosses the punt device (the host
    // sends nothing of its own there).
    assert_eq!(status["punt_rejected"], 0, "{status}");
    assert!(
        status["kernel_tier"]["refreshed"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "no age refreshed from the kernel tier: {}",
        status["kernel_tier"]
    );
}

/// A VM migrates from node3 to node2 (its MAC now speaks from node2's
/// VTEP, as after a live migration): node1's kernel tier, which held the
/// MAC behind node3, sends its frames to node2 from the first reply on.
#[test]
fn a_vm_that_migrates_behind_another_vtep_is_followed() {
    let topo = examples::vxlan().guest(
        GuestSpec::new("vm3", "node2", "myvnet1")
            .address("10.0.3.102/24")
            .mac(&mac_str(vm_mac(3)))
            .mtu(1450),
    );
    let world = world(&topo);
    let config = write_sdn(
        &world,
        "sdn",
        &[
            (
                "zones.cfg",
                "vxlan: myvxlanzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n",
            ),
            (
                "vnets.cfg",
                "vnet: myvnet1\n\tzone myvxlanzone\n\ttag 100000\n",
            ),
        ],
    );
    let (p1, p2, p3) = (
        port(&world, "vm1"),
        port(&world, "vm2"),
        port(&world, "vm3"),
    );
    let d1 = start_daemon(&world, "node1", &config, &[&p1, "eno1"]);
    let d2 = start_daemon(&world, "node2", &config, &[&p3, "eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &[&p2, "eno1"]);
    let logs = || {
        format!(
            "{}\n{}\n{}",
            d1.diag(&world),
            d2.diag(&world),
            d3.diag(&world)
        )
    };
    assert_ping(
        &world,
        "vm1",
        "10.0.3.101",
        &quick(2),
        "to vm2 on node3",
        &logs,
    );
    let vm2_mac = mac_str(vm_mac(2));
    let behind = |vtep: &str| {
        d1.show(&world, "kernel").as_array().is_some_and(|a| {
            a.iter().any(|e| {
                e["mac"] == vm2_mac.as_str()
                    && e["action"]["dst"] == vtep
                    && e["state"] == "current"
            })
        })
    };
    assert!(behind("192.168.0.3"), "{}", d1.show(&world, "kernel"));

    // The migration: vm2 stops on node3, and vm3 on node2 takes its MAC
    // and address and speaks first (as a migrated VM announces itself).
    world
        .exec("vm2", &["ip", "link", "set", "eth0", "down"])
        .expect("vm2 down");
    for args in [
        &["ip", "link", "set", "eth0", "address", vm2_mac.as_str()][..],
        &["ip", "addr", "add", "10.0.3.101/24", "dev", "eth0"],
    ] {
        world.exec("vm3", args).expect("vm3 takes vm2's identity");
    }
    let announce = PingOpts {
        source: Some("10.0.3.101".into()),
        ..quick(3)
    };
    let r = world
        .ping_with("vm3", "10.0.3.100", &announce)
        .expect("ping");
    assert!(
        r.all_received(),
        "vm1's replies did not follow the migrated MAC to node2: {r:?}\n{}",
        logs()
    );
    assert!(
        wait_until(Duration::from_secs(2), || behind("192.168.0.2")),
        "node1's kernel tier still holds the MAC elsewhere: {}",
        d1.show(&world, "kernel")
    );
    let before = d1.counters(&world);
    let r = udp(&world, "vm1", "vm3", "10.0.3.101", 200);
    let after = d1.counters(&world);
    assert!(r.all_ok(), "after the migration: {r:?}\n{}", logs());
    assert_kernel_tier_carried(&before, &after, &p1, "after the migration");
}

/// A reload that changes a VXLAN VNet's VNI: frames leave with the new VNI
/// at once, never the old one, the kernel tier carrying them again. (Two
/// mechanisms ensure it, the domain's new generation and the rewrite of
/// every entry after the tables swap; this checks the behaviour, and still
/// passes with either one alone.)
#[test]
fn a_reload_that_changes_the_vni_is_followed_at_once() {
    const ZONES: &str =
        "vxlan: myvxlanzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n";
    let vnets = |vni: u32| format!("vnet: myvnet1\n\tzone myvxlanzone\n\ttag {vni}\n");
    let world = world(&examples::vxlan());
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", ZONES), ("vnets.cfg", &vnets(100_000))],
    );
    let (p1, p2) = (port(&world, "vm1"), port(&world, "vm2"));
    let d1 = start_daemon(&world, "node1", &config, &[&p1, "eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &[&p2, "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d3.diag(&world));
    kernel_tier_carries(&world, &d1, &p1, "VNI 100000", &logs);

    let frames = reload_and_send(
        &world,
        &[&d1, &d3],
        &p1,
        &vnets(200_000),
        "udp port 4789",
        "VNI 200000",
        &logs,
    );
    let vnis: Vec<u32> = frames.iter().filter_map(|f| f.vxlan_vni()).collect();
    assert!(!vnis.is_empty(), "no VXLAN captured on node1's link");
    assert!(
        vnis.iter().all(|&v| v == 200_000),
        "VXLAN with another VNI than 200000 after the reload: {:?}",
        vnis.iter().filter(|&&v| v != 200_000).collect::<Vec<_>>()
    );
}
