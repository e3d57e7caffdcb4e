//! A simple zone through `xsdn daemon` (privileged; fails without root):
//! zone `simple1`, VNet `vnet0` (no tag), vm1 10.0.0.2 and vm2 10.0.0.3 on
//! node1, whose `vmbr0`/`eno1` is cabled to an underlay switch.
//!
//! The guests talk (ping, UDP with default offloads, TCP) through the
//! dataplane, and nothing of theirs leaves the node: the uplink is not
//! taken over, and a capture at the switch sees none of their frames.
//!
//! The subnet gateway on the VNet bridge (the host's own address, as
//! Proxmox's generated interfaces file sets it) stays reachable from the
//! guests while the dataplane serves the VNet, and follows the address
//! coming and going.

mod common;

use std::time::Duration;

use common::*;
use xsdn_testbed::topology::GuestKind;
use xsdn_testbed::{GuestSpec, NodeSpec, Topology, World, wait_until};

const ZONES: &str = "simple: simple1\n";
const VNETS: &str = "vnet: vnet0\n\tzone simple1\n";

/// `examples::simple()` plus an underlay switch behind node1's `eno1`.
fn topology() -> Topology {
    let vm = |name: &str, addr: &str, n: u8| {
        GuestSpec::new(name, "node1", "vnet0")
            .address(addr)
            .mac(&mac_str(vm_mac(n)))
    };
    Topology::new()
        .with_switch()
        .node(NodeSpec::new("node1").bridge("vnet0"))
        .guest(vm("vm1", "10.0.0.2/24", 1))
        .guest(vm("vm2", "10.0.0.3/24", 2))
}

fn simple_zone_guests_talk_and_nothing_leaves_the_node(kind: GuestKind) {
    let world = world(&topology().with_guest_kind(kind));
    let port1 = port(&world, "vm1");
    let port2 = port(&world, "vm2");
    let config = write_sdn(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    check_config(&config);
    let d = start_daemon(&world, "node1", &config, &[port1.as_str(), &port2]);
    let logs = || d.diag(&world);

    assert!(
        !d.port_names(&world).iter().any(|p| p == "eno1"),
        "a simple zone has no uplink, yet eno1 was taken: {:?}",
        d.port_names(&world)
    );
    assert!(!hooked(&world, "node1", "eno1"), "a dataplane hook on eno1");
    let vnets = d.show(&world, "vnets");
    assert_eq!(vnets[0]["encap"]["type"], "local", "{vnets}");

    let wire = world.capture("switch", "node1", "").expect("capture");
    let before = d.counters(&world);
    flush_neighbours(&world, &["vm1", "vm2"]);
    let p1 = assert_ping(&world, "vm1", "10.0.0.3", &quick(5), "simple", &logs);
    let p2 = assert_ping(&world, "vm2", "10.0.0.2", &quick(5), "simple back", &logs);
    let u1 = assert_udp(&world, "vm1", "vm2", "10.0.0.3", 1400, "simple", &logs);
    let u2 = assert_udp(&world, "vm2", "vm1", "10.0.0.2", 1400, "simple back", &logs);
    let tcp = assert_tcp(&world, "vm1", "vm2", "10.0.0.3", "simple", &logs);
    let after = d.counters(&world);
    assert_kernel_tier_carried(&before, &after, &port1, "simple");
    assert_super_frames(&world, ("vm1", kind), ("vm2", kind));
    let frames = wire.stop().expect("capture");

    let sent1 = u64::from(p1.transmitted + u1.send.sent);
    let sent2 = u64::from(p2.transmitted + u2.send.sent);
    for (port, sent) in [(&port1, sent1), (&port2, sent2)] {
        let rx = delta(
            before.port(port, "rx_packets"),
            after.port(port, "rx_packets"),
        );
        assert!(
            rx >= sent,
            "{port} rx_packets +{rx} < {sent} sent\n{}",
            after.0
        );
    }
    let tx = delta(
        before.port(&port2, "tx_bytes"),
        after.port(&port2, "tx_bytes"),
    );
    assert!(
        tx >= tcp.recv.received,
        "{port2} tx_bytes +{tx} < {} TCP bytes vm2 received\n{}",
        tcp.recv.received,
        after.0
    );
    let leaked: Vec<_> = frames
        .iter()
        .filter(|f| {
            [vm_mac(1), vm_mac(2)].map(Some).contains(&f.src_mac())
                || f.ipv4()
                    .is_some_and(|i| i.src[..3] == [10, 0, 0] || i.dst[..3] == [10, 0, 0])
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "{} guest frames left node1 (first: {})",
        leaked.len(),
        leaked.first().map(|f| hex(f)).unwrap_or_default()
    );
    d.assert_running();
}

#[test]
fn simple_zone_vms_talk_and_nothing_leaves_the_node() {
    simple_zone_guests_talk_and_nothing_leaves_the_node(GuestKind::Vm);
}

#[test]
fn simple_zone_containers_talk_and_nothing_leaves_the_node() {
    simple_zone_guests_talk_and_nothing_leaves_the_node(GuestKind::Container);
}

/// Whether every guest port of `d` hands the host's frames to the kernel
/// (`want`), per `xsdn show ports --json`.
fn host_path_is(d: &Daemon, world: &World, want: bool) -> bool {
    let ports = d.show(world, "ports");
    let guests: Vec<&serde_json::Value> = ports
        .as_array()
        .map(|a| a.iter().filter(|p| p["role"] == "guest").collect())
        .unwrap_or_default();
    !guests.is_empty() && guests.iter().all(|p| p["host_path"] == want)
}

#[test]
fn simple_zone_gateway_on_the_vnet_bridge_stays_reachable() {
    let world = world(&topology());
    let subnets = "subnet: simple1-10.0.0.0-24\n\tvnet vnet0\n\tgateway 10.0.0.1\n";
    let config = write_sdn(
        &world,
        "sdn",
        &[
            ("zones.cfg", ZONES),
            ("vnets.cfg", VNETS),
            ("subnets.cfg", subnets),
        ],
    );
    check_config(&config);
    let d = start_daemon(&world, "node1", &config, &["tap101i0", "tap102i0"]);
    let logs = || d.diag(&world);
    assert!(
        host_path_is(&d, &world, false),
        "host path on without a host address: {}",
        d.show(&world, "ports")
    );

    // The gateway address appears on the bridge while the daemon runs.
    world
        .exec(
            "node1",
            &["ip", "addr", "add", "10.0.0.1/24", "dev", "vnet0"],
        )
        .expect("gateway address");
    assert!(
        wait_until(Duration::from_secs(5), || host_path_is(&d, &world, true)),
        "the guest ports did not pick up the host address: {}",
        d.show(&world, "ports")
    );
    flush_neighbours(&world, &["vm1", "vm2"]);
    let before = d.counters(&world);
    let g1 = assert_ping(
        &world,
        "vm1",
        "10.0.0.1",
        &quick(5),
        "vm1 -> gateway",
        &logs,
    );
    let g2 = assert_ping(
        &world,
        "vm2",
        "10.0.0.1",
        &quick(5),
        "vm2 -> gateway",
        &logs,
    );
    let p = assert_ping(&world, "vm1", "10.0.0.3", &quick(5), "vm1 -> vm2", &logs);
    let after = d.counters(&world);
    let to_host = delta(before.xdp_to_host(), after.xdp_to_host());
    let echoes = u64::from(g1.transmitted + g2.transmitted);
    assert!(
        to_host >= echoes,
        "{to_host} guest frames went to the host, fewer than the {echoes} echo requests to the gateway\n{}",
        after.0
    );
    let rx = delta(
        before.port("tap101i0", "rx_packets"),
        after.port("tap101i0", "rx_packets"),
    );
    assert!(
        rx >= u64::from(p.transmitted),
        "guest-to-guest pings did not cross the dataplane: tap101i0 rx_packets +{rx} < {}\n{}",
        p.transmitted,
        after.0
    );

    // The address goes away: the guest ports steer everything again.
    world
        .exec(
            "node1",
            &["ip", "addr", "del", "10.0.0.1/24", "dev", "vnet0"],
        )
        .expect("remove the gateway address");
    assert!(
        wait_until(Duration::from_secs(5), || host_path_is(&d, &world, false)),
        "the host path stayed on after the address went: {}",
        d.show(&world, "ports")
    );
    assert_ping(
        &world,
        "vm1",
        "10.0.0.3",
        &quick(3),
        "vm1 -> vm2 again",
        &logs,
    );
    d.assert_running();
}
