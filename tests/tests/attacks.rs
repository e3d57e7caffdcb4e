//! Attacks from guests (privileged; fails without root): each ends with
//! nothing leaked across tenants and legitimate traffic still flowing.
//!
//! - A MAC flood from one guest fills its own VNet's share of the MAC
//!   table only: guests of another VNet keep learning and talking.
//! - A broadcast storm from one guest reaches its VNet at the guest
//!   port's flood rate at most; the other VNet's traffic is untouched.

mod common;

use common::*;
use xsdn_testbed::topology::GuestKind;
use xsdn_testbed::{GuestSpec, NodeSpec, Topology};

const ZONES: &str = "simple: simple1\n";
const VNETS: &str = "vnet: vnet0\n\tzone simple1\n\nvnet: vnet1\n\tzone simple1\n";

/// One node: the attacker vm1 in `vnet0` (with vm2 beside it), vm3, vm4
/// and vm5 in `vnet1`.
fn two_tenants() -> Topology {
    let vm = |name: &str, bridge: &str, addr: &str, n: u8| {
        GuestSpec::new(name, "node1", bridge)
            .address(addr)
            .mac(&mac_str(vm_mac(n)))
    };
    Topology::new()
        .node(NodeSpec::new("node1").bridge("vnet0").bridge("vnet1"))
        .guest(vm("vm1", "vnet0", "10.0.0.1/24", 1))
        .guest(vm("vm2", "vnet0", "10.0.0.2/24", 2))
        .guest(vm("vm3", "vnet1", "10.1.0.3/24", 3))
        .guest(vm("vm4", "vnet1", "10.1.0.4/24", 4))
        .guest(vm("vm5", "vnet1", "10.1.0.5/24", 5))
}

/// `xsdn daemon` on node1 with `extra` arguments, waiting for the ports of
/// `guests`; returns it and those ports, in order.
fn daemon_for(
    world: &xsdn_testbed::World,
    guests: &[&str],
    extra: &[&str],
) -> (Daemon, Vec<String>) {
    let config = write_sdn(world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    let ports: Vec<String> = guests.iter().map(|g| port(world, g)).collect();
    let wanted: Vec<&str> = ports.iter().map(String::as_str).collect();
    let d = start_daemon_with(world, "node1", &config, &wanted, extra);
    (d, ports)
}

/// Sends `count` broadcast frames from `guest`'s `eth0`, each from another
/// locally administered source MAC, paced (50 frames per millisecond or
/// so) so that every one reaches the dataplane's learning.
fn mac_flood(world: &xsdn_testbed::World, guest: &str, count: u32) {
    let script = format!(
        "import socket, struct, time\n\
         s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
         s.bind(('eth0', 0))\n\
         for i in range({count}):\n\
         \x20   src = b'\\x02\\xaa' + struct.pack('>I', i)\n\
         \x20   s.send(b'\\xff' * 6 + src + b'\\x88\\xb5' + b'\\x00' * 46)\n\
         \x20   if i % 50 == 49: time.sleep(0.002)\n"
    );
    world
        .exec(guest, &["python3", "-c", &script])
        .unwrap_or_else(|e| panic!("MAC flood from {guest}: {e:#}"));
}

#[test]
fn a_mac_flood_in_one_vnet_leaves_learning_in_another_alone() {
    let world = world(&two_tenants());
    // A small table so the flood is quick: 2048 entries, 512 per VNet.
    let (d, ports) = daemon_for(
        &world,
        &["vm1", "vm3", "vm4", "vm5"],
        &["--fdb-size", "2048", "--fdb-max-per-vnet", "512"],
    );
    let logs = || d.diag(&world);

    mac_flood(&world, "vm1", 5000);
    let status = d.status(&world);
    let fdb = &status["fdb"];
    assert!(
        fdb["entries"].as_u64().is_some_and(|n| n <= 512 + 8),
        "the flood took more than its VNet's share: {fdb}\n{}",
        logs()
    );
    // More MACs were refused than the whole table holds: without the
    // per-VNet share this flood would have filled it.
    assert!(
        fdb["vnet_full"].as_u64().is_some_and(|n| n >= 2048),
        "the flood did not reach the dataplane as a flood: {fdb}\n{}",
        logs()
    );

    // The other tenant still learns (its MACs are in the table) and talks
    // by unicast.
    flush_neighbours(&world, &["vm3", "vm4"]);
    assert_ping(
        &world,
        "vm3",
        "10.1.0.4",
        &quick(5),
        "vnet1 under a flood in vnet0",
        &logs,
    );
    let entries = d.show(&world, "fdb");
    for mac in [vm_mac(3), vm_mac(4)] {
        let learnt = entries.as_array().is_some_and(|a| {
            a.iter()
                .any(|e| e["mac"] == mac_str(mac).as_str() && e["vnet"] == "vnet1")
        });
        assert!(
            learnt,
            "{} not learnt in vnet1 during a MAC flood in vnet0: {}\n{}",
            mac_str(mac),
            d.status(&world)["fdb"],
            logs()
        );
    }
    let before = d.counters(&world);
    assert_udp(
        &world,
        "vm3",
        "vm4",
        "10.1.0.4",
        200,
        "vnet1 unicast",
        &logs,
    );
    let after = d.counters(&world);
    // Known unicast in vnet1: vm5, beside vm3 and vm4, got none of it (an
    // unlearnt vm4 would have had its datagrams flooded to vm5).
    let flooded = delta(
        before.port(&ports[3], "tx_packets"),
        after.port(&ports[3], "tx_packets"),
    );
    assert_eq!(
        flooded, 0,
        "vm5 received {flooded} frames of vm3's unicast to vm4\n{}",
        after.0
    );
    d.assert_running();
}

/// Sends broadcast frames from `guest`'s `eth0` (its own MAC, EtherType
/// 0x88b6) as fast as it can for `count` frames.
fn broadcast_storm(world: &xsdn_testbed::World, guest: &str, count: u32) {
    let script = format!(
        "import socket\n\
         s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
         s.bind(('eth0', 0))\n\
         src = s.getsockname()[4]\n\
         frame = b'\\xff' * 6 + src + b'\\x88\\xb6' + b'\\x00' * 46\n\
         for i in range({count}):\n\
         \x20   try:\n\
         \x20       s.send(frame)\n\
         \x20   except BlockingIOError:\n\
         \x20       pass\n"
    );
    world
        .exec(guest, &["python3", "-c", &script])
        .unwrap_or_else(|e| panic!("broadcast storm from {guest}: {e:#}"));
}

#[test]
fn a_broadcast_storm_reaches_its_vnet_at_the_flood_rate_at_most() {
    const RATE: u64 = 1000;
    // Container guests: a veth takes a storm faster than a VM's tap relay.
    let world = world(&two_tenants().with_guest_kind(GuestKind::Container));
    let (d, ports) = daemon_for(
        &world,
        &["vm1", "vm2", "vm3", "vm4"],
        &["--flood-rate", &RATE.to_string()],
    );
    let logs = || d.diag(&world);
    assert_ping(&world, "vm1", "10.0.0.2", &quick(2), "vnet0", &logs);

    let at_vm2 = world
        .capture("vm2", "eth0", "ether proto 0x88b6")
        .expect("capture");
    let before = d.counters(&world);
    let started = std::time::Instant::now();
    broadcast_storm(&world, "vm1", 30_000);
    // Unicast in the other VNet during the storm's aftermath: all of it.
    assert_udp(
        &world,
        "vm3",
        "vm4",
        "10.1.0.4",
        500,
        "vnet1 during a storm in vnet0",
        &logs,
    );
    let elapsed = started.elapsed();
    let after = d.counters(&world);
    let storm = at_vm2.stop().expect("capture");

    let received = delta(
        before.port(&ports[0], "rx_packets"),
        after.port(&ports[0], "rx_packets"),
    );
    let limited = delta(
        before.port_drop(&ports[0], "flood_rate_limited"),
        after.port_drop(&ports[0], "flood_rate_limited"),
    );
    // The budget over the whole window, plus the burst (a tenth of a
    // second's worth, at least 64).
    let allowed = RATE * (elapsed.as_millis() as u64 + 1000) / 1000 + (RATE / 10).max(64);
    assert!(
        (storm.len() as u64) <= allowed,
        "vm2 received {} storm frames in {elapsed:?} ({received} sent into the dataplane); the flood rate allows {allowed}\n{}",
        storm.len(),
        after.0
    );
    assert!(
        received > allowed && limited >= received - allowed,
        "the storm did not reach the dataplane as a storm ({received} frames, {limited} limited): the test proves nothing\n{}",
        after.0
    );
    assert!(!storm.is_empty(), "nothing of vm1's broadcasts reached vm2");
    eprintln!(
        "storm: {received} frames into the dataplane, {limited} limited, {} at vm2 in {elapsed:?}",
        storm.len()
    );
    d.assert_running();
}
