//! The Proxmox SDN spec's VXLAN example through `xsdn daemon` (privileged;
//! fails without root): zone `myvxlanzone` (peers 192.168.0.1-3, MTU
//! 1450), VNet `myvnet1` tag 100000; node1..node3 with `vmbr0`
//! 192.168.0.1-3/24, vm1 10.0.3.100 on node1, vm2 10.0.3.101 on node3,
//! guest MTU 1450.
//!
//! - ping, 1450-byte DF pings, UDP (default guest offloads) and TCP between
//!   vm1 and vm2; the underlay carries UDP 4789 with VNI 100000 between
//!   192.168.0.1 and 192.168.0.3; `xsdn show fdb|vteps|counters` agree;
//! - VXLAN from an address that is not a configured peer is dropped and
//!   counted (`vxlan_unknown_peer`), never delivered;
//! - a frame whose encapsulation exceeds the uplink MTU is dropped and
//!   counted (`mtu_exceeded`), never truncated.

mod common;

use common::*;
use std::time::Duration;
use xsdn_testbed::pcap::CapturedFrame;
use xsdn_testbed::topology::GuestKind;

use xsdn_testbed::{GuestSpec, PingOpts, Topology, examples, wait_until};

const ZONES: &str = "vxlan: myvxlanzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n";
const VNETS: &str = "vnet: myvnet1\n\tzone myvxlanzone\n\ttag 100000\n";
const VNI: u32 = 100_000;

fn config(world: &xsdn_testbed::World) -> std::path::PathBuf {
    let dir = write_sdn(world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]);
    check_config(&dir);
    dir
}

fn ip(frame: &CapturedFrame) -> Option<([u8; 4], [u8; 4])> {
    frame.ipv4().map(|v| (v.src, v.dst))
}

/// Every frame of an underlay capture is whole (the decode walk accepts
/// it: no length field beyond the bytes), so that none escapes the checks
/// on VXLAN frames by failing to parse, and no VXLAN datagram is an IPv4
/// fragment.
fn assert_whole_unfragmented(frames: &[CapturedFrame]) {
    for f in frames {
        assert_eq!(
            f.malformed(),
            None,
            "malformed frame on the underlay: {}",
            hex(f)
        );
        assert!(
            !f.ipv4().is_some_and(|ip| ip.is_fragment),
            "fragmented VXLAN datagram on the underlay: {}",
            hex(f)
        );
    }
}

fn vxlan_example_three_nodes(kind: GuestKind) {
    let world = world(&examples::vxlan().with_guest_kind(kind));
    let p1 = port(&world, "vm1");
    let p2 = port(&world, "vm2");
    let config = config(&world);
    let d1 = start_daemon(&world, "node1", &config, &[p1.as_str(), "eno1"]);
    let d2 = start_daemon(&world, "node2", &config, &["eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &[p2.as_str(), "eno1"]);
    let logs = || {
        format!(
            "{}\n{}\n{}",
            d1.diag(&world),
            d2.diag(&world),
            d3.diag(&world)
        )
    };

    // Both peers' next hops resolved (the daemon has the kernel resolve
    // them): from now on every flood reaches both.
    let resolved = wait_until(Duration::from_secs(5), || {
        let vteps = d1.show(&world, "vteps");
        vteps
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(|v| v["state"] == "resolved"))
    });
    assert!(resolved, "VTEPs not resolved: {}", d1.show(&world, "vteps"));
    let underlay = world
        .capture("switch", "node1", "udp port 4789")
        .expect("capture");
    let to_node2 = world
        .capture("switch", "node2", "udp port 4789")
        .expect("capture");
    let before = d1.counters(&world);
    let before3 = d3.counters(&world);
    flush_neighbours(&world, &["vm1", "vm2"]);
    let ping = assert_ping(&world, "vm1", "10.0.3.101", &quick(5), "VXLAN", &logs);
    assert_ping(&world, "vm2", "10.0.3.100", &quick(5), "VXLAN back", &logs);
    // 1450-byte IP packets with DF: the guest MTU, exactly.
    let full = PingOpts {
        size: Some(1422),
        dont_fragment: true,
        ..quick(5)
    };
    let big = assert_ping(&world, "vm1", "10.0.3.101", &full, "VXLAN 1450 DF", &logs);
    assert_ping(
        &world,
        "vm2",
        "10.0.3.100",
        &full,
        "VXLAN 1450 DF back",
        &logs,
    );
    let udp = assert_udp(&world, "vm1", "vm2", "10.0.3.101", 1400, "VXLAN", &logs);
    assert_udp(
        &world,
        "vm2",
        "vm1",
        "10.0.3.100",
        1400,
        "VXLAN back",
        &logs,
    );
    let tcp = assert_tcp(&world, "vm1", "vm2", "10.0.3.101", "VXLAN", &logs);
    let after = d1.counters(&world);
    assert_kernel_tier_carried(&before, &after, &p1, "VXLAN");
    assert_super_frames(&world, ("vm1", kind), ("vm2", kind));
    let after3 = d3.counters(&world);
    assert_kernel_tier_carried(&before3, &after3, "eno1", "VXLAN from the wire");
    let frames = underlay.stop().expect("capture");
    let node2_frames = to_node2.stop().expect("capture");

    let sent = u64::from(ping.transmitted + big.transmitted + udp.send.sent);
    let rx = delta(
        before.port(&p1, "rx_packets"),
        after.port(&p1, "rx_packets"),
    );
    assert!(
        rx >= sent,
        "{p1} rx_packets +{rx} < {sent} sent\n{}",
        after.0
    );
    let vnet_tx = delta(
        before.vnet("myvnet1", "rx_bytes"),
        after.vnet("myvnet1", "rx_bytes"),
    );
    assert!(
        vnet_tx >= tcp.send.sent,
        "myvnet1 rx_bytes +{vnet_tx} < {} TCP bytes sent\n{}",
        tcp.send.sent,
        after.0
    );
    assert_eq!(after.drop_anywhere("mtu_exceeded"), 0, "{}", after.0);

    // Underlay: VXLAN, VNI 100000, between node1 and node3 for unicast.
    let (n1, n3) = ([192, 168, 0, 1], [192, 168, 0, 3]);
    assert_whole_unfragmented(&frames);
    let vx: Vec<&CapturedFrame> = frames.iter().filter(|f| f.vxlan_vni().is_some()).collect();
    assert!(
        vx.len() as u64 >= sent,
        "only {} VXLAN frames for {sent} sent",
        vx.len()
    );
    assert!(
        vx.iter().all(|f| f.vxlan_vni() == Some(VNI)),
        "a VNI other than {VNI}"
    );
    let echo_requests = vx
        .iter()
        .filter(|f| {
            ip(f) == Some((n1, n3))
                && f.vxlan_inner()
                    .is_some_and(|i| i.is_icmp() && i.src_mac() == Some(vm_mac(1)))
        })
        .count();
    assert!(
        echo_requests >= (ping.transmitted + big.transmitted) as usize,
        "{echo_requests} ICMP frames of vm1 from 192.168.0.1 to 192.168.0.3"
    );
    assert!(
        vx.iter().any(|f| ip(f) == Some((n3, n1))
            && f.vxlan_inner()
                .is_some_and(|i| i.src_mac() == Some(vm_mac(2)))),
        "no VXLAN from 192.168.0.3 to 192.168.0.1 carrying vm2's frames"
    );
    for f in &vx {
        let inner = f.vxlan_inner().expect("inner");
        assert_eq!(
            inner.malformed(),
            None,
            "truncated or malformed inner frame: {}",
            hex(f)
        );
    }

    // Head-end replication: vm1's broadcasts (its ARP for vm2, neighbours
    // flushed above) reach node2 too, as VXLAN from node1 with the VNet's
    // VNI, although node2 has no guest.
    let floods_to_node2 = node2_frames
        .iter()
        .filter(|f| ip(f) == Some(([192, 168, 0, 1], [192, 168, 0, 2])))
        .filter(|f| f.vxlan_vni() == Some(VNI))
        .filter_map(CapturedFrame::vxlan_inner)
        .filter(|i| i.src_mac() == Some(vm_mac(1)) && i.dst_mac() == Some([0xff; 6]))
        .count();
    assert!(
        floods_to_node2 >= 1,
        "no broadcast of vm1 was replicated to node2 ({} VXLAN frames captured there: {:?})",
        node2_frames.len(),
        node2_frames.iter().map(hex).collect::<Vec<_>>()
    );

    // Learnt unicast goes to node3 only: node2 (no guest) sees floods
    // (ARP), never the TCP stream.
    let tcp_to_node2 = node2_frames
        .iter()
        .filter_map(CapturedFrame::vxlan_inner)
        .filter(|i| i.ipv4().is_some_and(|v| v.proto == 6))
        .count();
    assert_eq!(
        tcp_to_node2, 0,
        "{tcp_to_node2} TCP segments flooded to node2 after learning"
    );

    // The tables as a user sees them.
    let fdb = d1.show(&world, "fdb");
    let entry = |mac: [u8; 6]| {
        fdb.as_array()
            .and_then(|a| a.iter().find(|e| e["mac"] == mac_str(mac).as_str()))
            .unwrap_or_else(|| panic!("{} not in node1's fdb {fdb}", mac_str(mac)))
    };
    let vm2 = entry(vm_mac(2));
    assert_eq!(vm2["dst"], "192.168.0.3", "{fdb}");
    assert_eq!(vm2["vni"], VNI, "{fdb}");
    assert_eq!(vm2["vnet"], "myvnet1", "{fdb}");
    let vm1 = entry(vm_mac(1));
    assert_eq!(vm1["ifname"], p1.as_str(), "{fdb}");
    let vteps = d1.show(&world, "vteps");
    let dsts = names(&vteps, "dst");
    assert_eq!(dsts, ["192.168.0.2", "192.168.0.3"], "{vteps}");
    for v in vteps.as_array().expect("array") {
        assert_eq!(v["state"], "resolved", "{vteps}");
        assert_eq!(v["next_hop"]["src"], "192.168.0.1", "{vteps}");
    }
    let vnets = d1.show(&world, "vnets");
    assert_eq!(vnets[0]["encap"]["vni"], VNI, "{vnets}");
    assert_eq!(vnets[0]["mtu"], 1450, "{vnets}");
    let fdb3 = d3.show(&world, "fdb");
    assert!(
        fdb3.as_array().is_some_and(|a| a
            .iter()
            .any(|e| e["mac"] == mac_str(vm_mac(1)).as_str() && e["dst"] == "192.168.0.1")),
        "node3 did not learn vm1 behind 192.168.0.1: {fdb3}"
    );
    for d in [&d1, &d2, &d3] {
        d.assert_running();
    }
}

#[test]
fn vxlan_example_three_nodes_vms() {
    vxlan_example_three_nodes(GuestKind::Vm);
}

#[test]
fn vxlan_example_three_nodes_containers() {
    vxlan_example_three_nodes(GuestKind::Container);
}

#[test]
fn vxlan_from_a_non_peer_is_dropped_and_counted() {
    // An extra host on the underlay, 192.168.0.9: not in the peers list.
    let topo: Topology = examples::vxlan().guest(
        GuestSpec::new("rogue", "switch", "br0")
            .address("192.168.0.9/24")
            .mac("52:54:00:00:00:99"),
    );
    let world = world(&topo);
    let config = config(&world);
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &["tap102i0", "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d3.diag(&world));
    assert_ping(&world, "vm1", "10.0.3.101", &quick(3), "VXLAN", &logs);

    // The rogue host speaks real VXLAN (the kernel's) with VNI 100000 to
    // node1, with an inner address in vm1's subnet.
    for cmd in [
        "ip link add vx9 type vxlan id 100000 local 192.168.0.9 remote 192.168.0.1 dstport 4789 dev eth0",
        "ip link set vx9 address 52:54:00:00:00:09 mtu 1450 up",
        "ip addr add 10.0.3.9/24 dev vx9",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        world.exec("rogue", &args).expect("rogue vxlan device");
    }
    let on_wire = world
        .capture("switch", "node1", "udp port 4789 and src host 192.168.0.9")
        .expect("capture");
    let at_vm1 = world.capture("vm1", "eth0", "").expect("capture");
    let before = d1.counters(&world);
    assert_no_ping(
        &world,
        "rogue",
        "10.0.3.100",
        "VXLAN from a non-peer",
        &logs,
    );
    // Unicast too, straight to vm1's MAC (no ARP needed).
    world
        .exec(
            "rogue",
            &[
                "ip",
                "neigh",
                "replace",
                "10.0.3.100",
                "lladdr",
                "52:54:00:00:00:01",
                "dev",
                "vx9",
            ],
        )
        .expect("static neighbour");
    assert_no_ping(
        &world,
        "rogue",
        "10.0.3.100",
        "VXLAN unicast from a non-peer",
        &logs,
    );
    let after = d1.counters(&world);
    let arrived = on_wire.stop().expect("capture");
    let seen = at_vm1.stop().expect("capture");

    assert!(
        arrived
            .iter()
            .filter(|f| f.vxlan_vni() == Some(VNI))
            .count()
            >= 4,
        "the rogue VXLAN did not reach node1's uplink ({} frames): the test proves nothing",
        arrived.len()
    );
    let from_rogue = from_mac(&seen, [0x52, 0x54, 0, 0, 0, 9]);
    assert!(
        from_rogue.is_empty(),
        "vm1 received {} frames from the non-peer: {:?}",
        from_rogue.len(),
        from_rogue.iter().map(|f| hex(f)).collect::<Vec<_>>()
    );
    assert!(
        !seen
            .iter()
            .any(|f| f.ipv4().is_some_and(|i| i.src == [10, 0, 3, 9])),
        "vm1 received IPv4 from the non-peer's inner address"
    );
    let counted = delta(
        before.drop_anywhere("vxlan_unknown_peer"),
        after.drop_anywhere("vxlan_unknown_peer"),
    );
    assert!(
        counted >= 4,
        "vxlan_unknown_peer rose by {counted} for >= 4 rogue VXLAN frames\n{}",
        after.0
    );
    // The real peer still works.
    assert_ping(
        &world,
        "vm1",
        "10.0.3.101",
        &quick(3),
        "VXLAN after the rogue",
        &logs,
    );
}

#[test]
fn vxlan_over_mtu_is_dropped_and_counted_never_truncated() {
    let world = world(&examples::vxlan());
    let config = config(&world);
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &["tap102i0", "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d3.diag(&world));
    assert_ping(&world, "vm1", "10.0.3.101", &quick(3), "VXLAN", &logs);

    // The guest ignores the zone MTU: 1500 on its NIC (and the tap).
    world
        .exec("vm1", &["ip", "link", "set", "eth0", "mtu", "1500"])
        .expect("mtu");
    world
        .exec("node1", &["ip", "link", "set", "tap101i0", "mtu", "1500"])
        .expect("mtu");
    // The kernel tier holds vm1's entry again once the new MTU is planned
    // (its VNet's generation changed with the port's MTU): from then on
    // the kernel tier itself judges the frames.
    let mac1 = mac_str(vm_mac(1));
    let replanned = wait_until(Duration::from_secs(5), || {
        d1.show(&world, "kernel").as_array().is_some_and(|a| {
            a.iter()
                .any(|e| e["mac"] == mac1.as_str() && e["mtu"] == 1500 && e["state"] == "current")
        })
    });
    assert!(replanned, "{}", d1.show(&world, "kernel"));
    assert_ping(&world, "vm2", "10.0.3.100", &quick(2), "VXLAN back", &logs);
    let underlay = world
        .capture("switch", "node1", "udp port 4789")
        .expect("capture");
    let at_vm2 = world.capture("vm2", "eth0", "icmp").expect("capture");
    let before = d1.counters(&world);
    // 1500-byte IP packets with DF: 1550 bytes once encapsulated, more
    // than eno1's 1500.
    let too_big = PingOpts {
        size: Some(1472),
        dont_fragment: true,
        ..quick(5)
    };
    let r = world
        .ping_with("vm1", "10.0.3.101", &too_big)
        .expect("ping");
    assert!(
        r.none_received(),
        "an over-MTU frame crossed: {r:?}\n{}",
        logs()
    );
    let after = d1.counters(&world);
    let wire = underlay.stop().expect("capture");
    let got = at_vm2.stop().expect("capture");

    let dropped = delta(
        before.vnet_drop("myvnet1", "mtu_exceeded"),
        after.vnet_drop("myvnet1", "mtu_exceeded"),
    );
    assert!(
        dropped >= u64::from(r.transmitted),
        "mtu_exceeded rose by {dropped} for {} over-MTU frames\n{}",
        r.transmitted,
        after.0
    );
    let in_kernel = delta(
        before.kernel_tier("tap101i0", "mtu_exceeded"),
        after.kernel_tier("tap101i0", "mtu_exceeded"),
    );
    assert!(
        in_kernel >= u64::from(r.transmitted),
        "the kernel tier dropped {in_kernel} of the {} over-MTU frames (established traffic)\n{}",
        r.transmitted,
        after.0
    );
    assert_whole_unfragmented(&wire);
    for f in wire.iter().filter(|f| f.vxlan_vni().is_some()) {
        let inner = f.vxlan_inner().expect("inner");
        assert!(
            !(inner.is_icmp() && inner.src_mac() == Some(vm_mac(1))),
            "vm1's over-MTU echo request left node1 (orig_len {}): {}",
            f.orig_len,
            hex(f)
        );
        assert_eq!(
            inner.malformed(),
            None,
            "truncated frame on the underlay: {}",
            hex(f)
        );
    }
    assert!(
        got.iter().all(|f| f.src_mac() != Some(vm_mac(1))),
        "vm2 received {} ICMP frames from vm1",
        got.len()
    );
    // Frames that fit still pass.
    let fits = PingOpts {
        size: Some(1422),
        dont_fragment: true,
        ..quick(3)
    };
    assert_ping(
        &world,
        "vm1",
        "10.0.3.101",
        &fits,
        "VXLAN 1450 after drops",
        &logs,
    );

    // Both guests at 1500: their TCP segments (MSS 1460) no longer fit
    // once encapsulated. A VM's GSO super-frame is judged by its
    // segments, like a single frame that large: dropped and counted, not
    // cut into smaller segments behind the guest's back.
    world
        .exec("vm2", &["ip", "link", "set", "eth0", "mtu", "1500"])
        .expect("mtu");
    world
        .exec("node3", &["ip", "link", "set", "tap102i0", "mtu", "1500"])
        .expect("mtu");
    let before = d1.counters(&world);
    let relay_before = world.vm_tap_stats("vm1").expect("relay counters");
    let r = world.tcp_transfer(
        "vm1",
        "vm2",
        "10.0.3.101".parse().expect("address"),
        5202,
        4 << 20,
        Duration::from_secs(4),
    );
    let relay_after = world.vm_tap_stats("vm1").expect("relay counters");
    let after = d1.counters(&world);
    let super_frames = relay_after.gso_from_guest - relay_before.gso_from_guest;
    let in_kernel = delta(
        before.kernel_tier("tap101i0", "mtu_exceeded"),
        after.kernel_tier("tap101i0", "mtu_exceeded"),
    );
    assert!(
        super_frames > 0,
        "vm1 sent no super-frame ({r:?}): {relay_after:?}"
    );
    assert!(
        in_kernel >= super_frames,
        "{super_frames} over-MTU super-frames, {in_kernel} dropped by the kernel tier ({r:?})\n{}",
        after.0
    );
    d1.assert_running();
}

/// VXLAN the kernel serves on the same UDP port with another VNI (as an
/// EVPN zone's `vxlan_*` devices do) stays with the kernel while the
/// daemons run: the uplink steers only the VNIs the dataplane serves.
#[test]
fn kernel_vxlan_with_another_vni_on_the_same_port_stays_with_the_kernel() {
    let world = world(&examples::vxlan());
    let config = config(&world);
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &["tap102i0", "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d3.diag(&world));
    for (node, local, peer, addr) in [
        ("node1", "192.168.0.1", "192.168.0.3", "172.16.200.1/24"),
        ("node3", "192.168.0.3", "192.168.0.1", "172.16.200.3/24"),
    ] {
        for cmd in [
            vec![
                "ip",
                "link",
                "add",
                "vx200",
                "type",
                "vxlan",
                "id",
                "200",
                "local",
                local,
                "dstport",
                "4789",
                "nolearning",
            ],
            vec![
                "bridge",
                "fdb",
                "append",
                "00:00:00:00:00:00",
                "dev",
                "vx200",
                "dst",
                peer,
            ],
            vec!["ip", "addr", "add", addr, "dev", "vx200"],
            vec!["ip", "link", "set", "vx200", "up"],
        ] {
            world.exec(node, &cmd).expect("kernel VXLAN device");
        }
    }
    let before = d1.counters(&world);
    assert_ping(
        &world,
        "node1",
        "172.16.200.3",
        &quick(5),
        "kernel VNI 200",
        &logs,
    );
    // The dataplane's own VNI still crosses the dataplane.
    assert_ping(
        &world,
        "vm1",
        "10.0.3.101",
        &quick(3),
        "xsdn VNI 100000",
        &logs,
    );
    let after = d1.counters(&world);
    assert_eq!(
        before.drop_anywhere("no_bridge_domain"),
        after.drop_anywhere("no_bridge_domain"),
        "kernel VXLAN reached the dataplane\n{}",
        after.0
    );
    d1.assert_running();
    d3.assert_running();
}

/// A crafted VXLAN datagram in two IPv4 fragments, the first carrying only
/// the UDP header, from 192.168.0.9 (no peer) to node1: five of them.
const FRAGMENTED_VXLAN: &str = r#"
import socket, struct
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def ip(src, dst, ident, flags_off, proto, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, flags_off, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload
icmp = struct.pack('!BBHHH', 8, 0, 0, 0x77, 1) + b'x' * 32
icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
inner_ip = ip('10.0.3.9', '10.0.3.100', 1, 0, 1, icmp)
inner = bytes.fromhex('525400000001') + bytes.fromhex('525400000009') + b'\x08\x00' + inner_ip
vxlan = struct.pack('!II', 0x08000000, 100000 << 8)
udp_len = 8 + len(vxlan) + len(inner)
udp = struct.pack('!HHHH', 40000, 4789, udp_len, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for n in range(5):
    ident = 0x4000 + n
    first = ip('192.168.0.9', '192.168.0.1', ident, 0x2000, 17, udp)           # MF, offset 0: the UDP header only
    rest = ip('192.168.0.9', '192.168.0.1', ident, 1, 17, vxlan + inner)       # offset 8 bytes, last
    s.sendto(first, ('192.168.0.1', 0))
    s.sendto(rest, ('192.168.0.1', 0))
"#;

/// Fragmented VXLAN from a host that is no peer never reaches a guest,
/// although node1 has the kernel's `vxlan_myvnet1` device (as Proxmox's
/// generated configuration has it, for fail-open), which decapsulates
/// whatever the kernel reassembles, from any source. The attacker's first
/// fragment carries only the UDP header, so there is no VXLAN header to
/// judge: the first fragment of any datagram to the VXLAN port goes to
/// userspace, which drops and counts it, and the kernel never has all the
/// pieces.
#[test]
fn fragmented_vxlan_from_a_non_peer_never_reaches_a_guest() {
    let topo: Topology = examples::vxlan().guest(
        GuestSpec::new("rogue", "switch", "br0")
            .address("192.168.0.9/24")
            .mac("52:54:00:00:00:99"),
    );
    let world = world(&topo);
    let config = config(&world);
    xsdn_testbed::kernel_vxlan(
        &world,
        "node1",
        "myvnet1",
        VNI,
        "192.168.0.1",
        &["192.168.0.2", "192.168.0.3"],
    )
    .expect("kernel vxlan device");
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    let logs = || d1.diag(&world);
    world
        .ping("rogue", "192.168.0.1", 1, Duration::from_millis(100), None)
        .expect("underlay ping");
    let fragments = world
        .capture(
            "switch",
            "node1",
            "src host 192.168.0.9 and (ip[6:2] & 0x3fff != 0)",
        )
        .expect("capture");
    let at_vm1 = world.capture("vm1", "eth0", "").expect("capture");
    let before = d1.counters(&world);
    world
        .exec("rogue", &["python3", "-c", FRAGMENTED_VXLAN])
        .expect("crafted fragments");
    // Give the kernel time to reassemble and deliver, were it to.
    std::thread::sleep(Duration::from_millis(500));
    let after = d1.counters(&world);
    let arrived = fragments.stop().expect("capture");
    let seen = at_vm1.stop().expect("capture");
    assert!(
        arrived.len() >= 10,
        "the rogue's fragments did not reach node1 ({} frames): the test proves nothing",
        arrived.len()
    );
    let from_rogue = from_mac(&seen, [0x52, 0x54, 0, 0, 0, 9]);
    assert!(
        from_rogue.is_empty(),
        "vm1 received {} frames of the non-peer's fragmented VXLAN: {:?}\n{}",
        from_rogue.len(),
        from_rogue.iter().map(|f| hex(f)).collect::<Vec<_>>(),
        logs()
    );
    let counted = delta(
        before.drop_anywhere("vxlan_fragment"),
        after.drop_anywhere("vxlan_fragment"),
    );
    assert!(
        counted >= 5,
        "vxlan_fragment rose by {counted} for 5 fragmented datagrams\n{}",
        after.0
    );
    d1.assert_running();
}
