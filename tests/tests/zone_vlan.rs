//! The Proxmox SDN spec's VLAN example through `xsdn daemon` (privileged;
//! fails without root): zone `myvlanzone` on `vmbr0`, VNet `myvnet1` tag
//! 10, vm1 10.0.3.100 on node1, vm2 10.0.3.101 on node2.
//!
//! This kernel has no 802.1Q devices, so nothing but xsdn can carry the
//! zone: before the daemons start the guests cannot reach each other; with
//! them, ping, UDP (default guest offloads) and TCP flow, every guest frame
//! on the underlay carries exactly one 802.1Q tag with VID 10, and the
//! daemons' counters account for the traffic.

mod common;

use common::*;
use xsdn_testbed::examples;
use xsdn_testbed::pcap::TPID_8021Q;
use xsdn_testbed::topology::GuestKind;

const ZONES: &str = "vlan: myvlanzone\n\tbridge vmbr0\n";
const VNETS: &str = "vnet: myvnet1\n\tzone myvlanzone\n\ttag 10\n";

fn vlan_example_two_nodes_tag_10(kind: GuestKind) {
    let world = world(&examples::vlan().with_guest_kind(kind));
    let p1 = port(&world, "vm1");
    let p2 = port(&world, "vm2");
    let config = write_sdn(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    check_config(&config);

    // Without the dataplane the VNet bridges are islands: no 8021q here.
    assert_no_ping(&world, "vm1", "10.0.3.101", "before the daemons", &no_logs);

    let d1 = start_daemon(&world, "node1", &config, &[p1.as_str(), "eno1"]);
    let d2 = start_daemon(&world, "node2", &config, &[p2.as_str(), "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d2.diag(&world));

    // The VNet as the daemon sees it.
    let vnets = d1.show(&world, "vnets");
    let v = &vnets[0];
    assert_eq!(v["vnet"], "myvnet1", "{vnets}");
    assert_eq!(v["zone"], "myvlanzone", "{vnets}");
    assert_eq!(v["encap"]["type"], "vlan", "{vnets}");
    assert_eq!(v["encap"]["vlan"], 10, "{vnets}");
    assert_eq!(v["uplink"], "eno1", "{vnets}");

    // Underlay: node1's switch port, seen from the switch.
    let underlay = world.capture("switch", "node1", "").expect("capture");
    let before = d1.counters(&world);
    let before2 = d2.counters(&world);
    flush_neighbours(&world, &["vm1", "vm2"]);
    let ping = assert_ping(&world, "vm1", "10.0.3.101", &quick(5), "VLAN 10", &logs);
    assert_ping(
        &world,
        "vm2",
        "10.0.3.100",
        &quick(5),
        "VLAN 10 back",
        &logs,
    );
    let udp = assert_udp(&world, "vm1", "vm2", "10.0.3.101", 1000, "VLAN 10", &logs);
    assert_udp(
        &world,
        "vm2",
        "vm1",
        "10.0.3.100",
        1000,
        "VLAN 10 back",
        &logs,
    );
    let tcp = assert_tcp(&world, "vm1", "vm2", "10.0.3.101", "VLAN 10", &logs);
    let after = d1.counters(&world);
    assert_kernel_tier_carried(&before, &after, &p1, "VLAN 10");
    assert_super_frames(&world, ("vm1", kind), ("vm2", kind));
    let after2 = d2.counters(&world);
    assert_kernel_tier_carried(&before2, &after2, "eno1", "VLAN 10 from the wire");
    let frames = underlay.stop().expect("stop capture");

    // Every frame vm1 sent entered node1's dataplane, every TCP byte too.
    let sent = u64::from(ping.transmitted + udp.send.sent);
    let rx = delta(
        before.port(&p1, "rx_packets"),
        after.port(&p1, "rx_packets"),
    );
    assert!(
        rx >= sent,
        "{p1} rx_packets rose by {rx} < {sent} frames sent\n{}",
        after.0
    );
    let up_tx = delta(
        before.port("eno1", "tx_bytes"),
        after.port("eno1", "tx_bytes"),
    );
    assert!(
        up_tx >= tcp.send.sent,
        "eno1 tx_bytes rose by {up_tx} < {} TCP bytes sent by vm1\n{}",
        tcp.send.sent,
        after.0
    );
    let vnet_rx = delta(
        before.vnet("myvnet1", "rx_packets"),
        after.vnet("myvnet1", "rx_packets"),
    );
    assert!(
        vnet_rx >= sent,
        "myvnet1 rx_packets rose by {vnet_rx} < {sent}\n{}",
        after.0
    );

    // On the wire: exactly one 802.1Q tag, VID 10, on every guest frame.
    let guest_frames: Vec<_> = frames
        .iter()
        .filter(|f| [vm_mac(1), vm_mac(2)].map(Some).contains(&f.src_mac()))
        .collect();
    assert!(
        guest_frames.len() as u64 >= sent,
        "only {} guest frames on the underlay for {sent} sent",
        guest_frames.len()
    );
    for f in &guest_frames {
        let tags = f.vlan_tags();
        assert!(
            tags.len() == 1 && tags[0].tpid == TPID_8021Q && tags[0].vid == 10,
            "guest frame on the underlay without exactly one 802.1Q tag 10: {tags:?} {}",
            hex(f)
        );
    }
    for (d, ports) in [(&d1, [p1.as_str(), "eno1"]), (&d2, [p2.as_str(), "eno1"])] {
        d.assert_running();
        for p in ports {
            assert!(
                hooked(&world, &d.node, p),
                "{p} on {} has no dataplane hook",
                d.node
            );
        }
    }
    // The uplink steers only the zone's tag: the nodes' own untagged
    // traffic still goes through their kernels.
    world
        .exec(
            "node1",
            &["ip", "addr", "add", "192.168.0.1/24", "dev", "vmbr0"],
        )
        .expect("addr");
    world
        .exec(
            "node2",
            &["ip", "addr", "add", "192.168.0.2/24", "dev", "vmbr0"],
        )
        .expect("addr");
    assert_ping(
        &world,
        "node1",
        "192.168.0.2",
        &quick(3),
        "untagged host traffic",
        &logs,
    );
}

#[test]
fn vlan_example_two_nodes_tag_10_vms() {
    vlan_example_two_nodes_tag_10(GuestKind::Vm);
}

#[test]
fn vlan_example_two_nodes_tag_10_containers() {
    vlan_example_two_nodes_tag_10(GuestKind::Container);
}

/// node1's half on its own: vm1's frames leave node1's uplink with exactly
/// one 802.1Q tag, VID 10, and the node's counters account for them.
#[test]
fn vlan_frames_leave_the_node_with_one_tag_10() {
    let world = world(&examples::vlan());
    let config = write_sdn(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    // vm2's address without ARP: only vm1 -> vm2 frames are looked at.
    world
        .exec(
            "vm1",
            &[
                "ip",
                "neigh",
                "replace",
                "10.0.3.101",
                "lladdr",
                &mac_str(vm_mac(2)),
                "dev",
                "eth0",
            ],
        )
        .expect("static neighbour");
    let wire = world.capture("switch", "node1", "").expect("capture");
    let before = d1.counters(&world);
    let r = world
        .ping_with("vm1", "10.0.3.101", &quick(5))
        .expect("ping");
    let after = d1.counters(&world);
    let frames = wire.stop().expect("capture");
    let echoes: Vec<_> = from_mac(&frames, vm_mac(1))
        .into_iter()
        .filter(|f| f.is_icmp())
        .collect();
    assert!(
        echoes.len() >= r.transmitted as usize,
        "{} of vm1's {} echo requests on the underlay\n{}",
        echoes.len(),
        r.transmitted,
        d1.diag(&world)
    );
    for f in &echoes {
        let tags = f.vlan_tags();
        assert!(
            tags.len() == 1 && tags[0].tpid == TPID_8021Q && tags[0].vid == 10,
            "not exactly one 802.1Q tag 10: {tags:?} {}",
            hex(f)
        );
    }
    let tx = delta(
        before.port("eno1", "tx_packets"),
        after.port("eno1", "tx_packets"),
    );
    assert!(
        tx >= u64::from(r.transmitted),
        "eno1 tx_packets +{tx}\n{}",
        after.0
    );
}
