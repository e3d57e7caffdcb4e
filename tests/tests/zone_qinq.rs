//! The Proxmox SDN spec's QinQ example through `xsdn daemon` (privileged;
//! fails without root): zones `qinqzone1` (service VLAN 20) and
//! `qinqzone2` (30) on `vmbr0`, VNets `myvnet1`/`myvnet2` with the same
//! customer VLAN 100; vm1 10.0.3.100 (node1) and vm2 .101 (node2) on
//! `myvnet1`, vm3 .102 (node1) and vm4 .103 (node2) on `myvnet2`.
//!
//! vm1<->vm2 and vm3<->vm4 ping, exchange UDP and TCP; vm1 never reaches
//! vm3/vm4 and no frame of one zone (broadcast ARP included) ever shows up
//! on a guest of the other; the underlay carries S-tag 20 + C-tag 100 for
//! one zone and 30 + 100 for the other, with the configured S-tag TPID
//! (802.1Q by default, 802.1ad when the zone says so).

mod common;

use common::*;
use xsdn_testbed::pcap::{CapturedFrame, EtherType, TPID_8021AD, TPID_8021Q};
use xsdn_testbed::topology::GuestKind;
use xsdn_testbed::{PingOpts, examples};

const VNETS: &str = "vnet: myvnet1\n\tzone qinqzone1\n\ttag 100\n\n\
                     vnet: myvnet2\n\tzone qinqzone2\n\ttag 100\n";

/// Guest MTU: "Due to the double stacking of tags, you need 4 more bytes
/// for QinQ VLANs [...] reduce the MTU to 1496" (spec, QinQ zones).
const QINQ_MTU: u32 = 1496;

fn zones(protocol: Option<&str>) -> String {
    let mut extra = format!("\tmtu {QINQ_MTU}\n");
    if let Some(p) = protocol {
        extra.push_str(&format!("\tvlan-protocol {p}\n"));
    }
    format!(
        "qinq: qinqzone1\n\tbridge vmbr0\n\ttag 20\n{extra}\n\
         qinq: qinqzone2\n\tbridge vmbr0\n\ttag 30\n{extra}"
    )
}

/// Guest frames (by source MAC) on a capture.
fn guest_frames(frames: &[CapturedFrame], guests: &[u8]) -> Vec<CapturedFrame> {
    frames
        .iter()
        .filter(|f| guests.iter().any(|n| f.src_mac() == Some(vm_mac(*n))))
        .cloned()
        .collect()
}

/// How the example's guests are plugged in.
#[derive(Clone, Copy)]
enum Guests {
    /// All of one kind.
    All(GuestKind),
    /// VMs on node1, containers on node2.
    Mixed,
}

fn run_qinq_example(protocol: Option<&str>, s_tpid: EtherType, guests: Guests) {
    let mut topo = examples::qinq();
    for g in &mut topo.guests {
        g.kind = match guests {
            Guests::All(kind) => kind,
            Guests::Mixed if g.node == "node1" => GuestKind::Vm,
            Guests::Mixed => GuestKind::Container,
        };
    }
    let world = world(&topo);
    let ports = ["vm1", "vm2", "vm3", "vm4"].map(|g| port(&world, g));
    let zones = zones(protocol);
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", &zones), ("vnets.cfg", VNETS)],
    );
    check_config(&config);
    for vm in ["vm1", "vm2", "vm3", "vm4"] {
        let mtu = QINQ_MTU.to_string();
        world
            .exec(vm, &["ip", "link", "set", "eth0", "mtu", &mtu])
            .expect("guest MTU");
    }

    // No 8021q and no VLAN filtering here: nothing but xsdn can carry it.
    assert_no_ping(&world, "vm1", "10.0.3.101", "before the daemons", &no_logs);

    let d1 = start_daemon(&world, "node1", &config, &[&ports[0], &ports[2], "eno1"]);
    let d2 = start_daemon(&world, "node2", &config, &[&ports[1], &ports[3], "eno1"]);
    let logs = || format!("{}\n{}", d1.diag(&world), d2.diag(&world));

    let vnets = d1.show(&world, "vnets");
    for (vnet, stag) in [("myvnet1", 20), ("myvnet2", 30)] {
        let v = vnets
            .as_array()
            .and_then(|a| a.iter().find(|v| v["vnet"] == vnet))
            .unwrap_or_else(|| panic!("{vnet} not in {vnets}"));
        assert_eq!(v["encap"]["type"], "qinq", "{v}");
        assert_eq!(v["encap"]["service_vlan"], stag, "{v}");
        assert_eq!(v["encap"]["vlan"], 100, "{v}");
        assert_eq!(
            v["encap"]["vlan_protocol"],
            protocol.unwrap_or("802.1q"),
            "{v}"
        );
    }

    // Zone 1 talks while zone 2's guests listen, then the other way round.
    for (zone, (a, b), (c, d), stag) in
        [(1, (1u8, 2u8), (3u8, 4u8), 20u16), (2, (3, 4), (1, 2), 30)]
    {
        let ip = |n: u8| format!("10.0.3.{}", 99 + u32::from(n));
        let (ga, gb) = (format!("vm{a}"), format!("vm{b}"));
        let (gc, gd) = (format!("vm{c}"), format!("vm{d}"));
        let what = format!("qinq zone {zone} (S-tag {stag})");

        let underlay = world.capture("switch", "node1", "").expect("capture");
        let other_c = world.capture(&gc, "eth0", "").expect("capture");
        let other_d = world.capture(&gd, "eth0", "").expect("capture");
        let before = d1.counters(&world);
        let before2 = d2.counters(&world);
        flush_neighbours(&world, &[&ga, &gb, &gc, &gd]);

        let ping = assert_ping(&world, &ga, &ip(b), &quick(5), &what, &logs);
        assert_ping(&world, &gb, &ip(a), &quick(5), &what, &logs);
        // Full-size frames (1496-byte IP packets, DF) cross unfragmented.
        let big = PingOpts {
            size: Some(QINQ_MTU as usize - 28),
            dont_fragment: true,
            ..quick(5)
        };
        let big_ping = assert_ping(&world, &ga, &ip(b), &big, &what, &logs);
        let udp = assert_udp(&world, &ga, &gb, &ip(b), 1000, &what, &logs);
        assert_udp(&world, &gb, &ga, &ip(a), 1000, &what, &logs);
        let tcp = assert_tcp(&world, &ga, &gb, &ip(b), &what, &logs);
        // Across zones: same subnet, same customer tag, different service
        // VLAN: unreachable (the ARP broadcasts must not leak either).
        assert_no_ping(&world, &ga, &ip(c), &format!("{what} -> other zone"), &logs);
        assert_no_ping(&world, &ga, &ip(d), &format!("{what} -> other zone"), &logs);
        let after = d1.counters(&world);

        let port_a = world.guest_port(&ga).expect("port").port.clone();
        assert_kernel_tier_carried(&before, &after, &port_a, &what);
        let kind = |name: &str| {
            topo.guests
                .iter()
                .find(|g| g.name == name)
                .expect("guest")
                .kind
        };
        assert_super_frames(&world, (&ga, kind(&ga)), (&gb, kind(&gb)));
        let after2 = d2.counters(&world);
        assert_kernel_tier_carried(&before2, &after2, "eno1", &format!("{what} from the wire"));
        let vnet = if zone == 1 { "myvnet1" } else { "myvnet2" };
        let sent = u64::from(ping.transmitted + big_ping.transmitted + udp.send.sent);
        let rx = delta(
            before.port(&port_a, "rx_packets"),
            after.port(&port_a, "rx_packets"),
        );
        assert!(
            rx >= sent,
            "{what}: {port_a} rx_packets +{rx} < {sent} sent\n{}",
            after.0
        );
        let vnet_rx = delta(before.vnet(vnet, "rx_bytes"), after.vnet(vnet, "rx_bytes"));
        assert!(
            vnet_rx >= tcp.send.sent,
            "{what}: {vnet} rx_bytes +{vnet_rx} < {} TCP bytes\n{}",
            tcp.send.sent,
            after.0
        );

        let wire = underlay.stop().expect("capture");
        let leaked_c = guest_frames(&other_c.stop().expect("capture"), &[a, b]);
        let leaked_d = guest_frames(&other_d.stop().expect("capture"), &[a, b]);
        assert!(
            leaked_c.is_empty() && leaked_d.is_empty(),
            "{what}: frames of vm{a}/vm{b} reached the other zone's guests: {:?}",
            leaked_c
                .iter()
                .chain(&leaked_d)
                .map(hex)
                .collect::<Vec<_>>()
        );
        let ours = guest_frames(&wire, &[a, b]);
        assert!(
            ours.len() as u64 >= sent,
            "{what}: only {} guest frames on the underlay for {sent} sent",
            ours.len()
        );
        for f in &ours {
            let tags = f.vlan_tags();
            let ok = tags.len() == 2
                && (tags[0].tpid, tags[0].vid) == (s_tpid, stag)
                && (tags[1].tpid, tags[1].vid) == (TPID_8021Q, 100);
            assert!(
                ok,
                "{what}: underlay frame not tagged S {:#06x}/{stag} + C 0x8100/100: {tags:?} (malformed: {:?}) {}",
                s_tpid.raw(),
                f.malformed(),
                hex(f)
            );
        }
    }
    d1.assert_running();
    d2.assert_running();
}

#[test]
fn qinq_example_two_zones_isolated_vms() {
    run_qinq_example(None, TPID_8021Q, Guests::All(GuestKind::Vm));
}

#[test]
fn qinq_example_two_zones_isolated_containers() {
    run_qinq_example(None, TPID_8021Q, Guests::All(GuestKind::Container));
}

#[test]
fn qinq_example_802_1ad_vms_to_containers() {
    run_qinq_example(Some("802.1ad"), TPID_8021AD, Guests::Mixed);
}

/// A guest that keeps MTU 1500 in a QinQ zone: its 1500-byte DF packets
/// would need 1504 bytes of L3 with two tags on eno1 (MTU 1500), so node1
/// drops and counts them (`mtu_exceeded`) and never puts a truncated frame
/// on the wire; 1496-byte packets leave whole with S-tag 20 + C-tag 100.
#[test]
fn qinq_over_mtu_is_dropped_and_counted_never_truncated() {
    let world = world(&examples::qinq());
    let zones = zones(None);
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", &zones), ("vnets.cfg", VNETS)],
    );
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "tap103i0", "eno1"]);
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
    let df = |size: usize| PingOpts {
        size: Some(size),
        dont_fragment: true,
        ..quick(5)
    };
    let too_big = world
        .ping_with("vm1", "10.0.3.101", &df(1472))
        .expect("ping");
    let fits = world
        .ping_with("vm1", "10.0.3.101", &df(1468))
        .expect("ping");
    let after = d1.counters(&world);
    let frames = wire.stop().expect("capture");

    let dropped = delta(
        before.vnet_drop("myvnet1", "mtu_exceeded"),
        after.vnet_drop("myvnet1", "mtu_exceeded"),
    );
    assert!(
        dropped >= u64::from(too_big.transmitted),
        "mtu_exceeded +{dropped} for {} over-MTU frames\n{}",
        too_big.transmitted,
        after.0
    );
    let of_vm1 = from_mac(&frames, vm_mac(1));
    for f in &of_vm1 {
        assert_eq!(
            f.malformed(),
            None,
            "a truncated or malformed frame of vm1 left node1: {}",
            hex(f)
        );
    }
    let echoes: Vec<_> = of_vm1.into_iter().filter(|f| f.is_icmp()).collect();
    for f in &echoes {
        let ip_len = f.ipv4().map_or(0, |ip| usize::from(ip.total_len));
        assert_eq!(
            ip_len,
            1496,
            "an echo of another size left node1: {}",
            hex(f)
        );
        assert_eq!(
            f.data.len(),
            14 + 8 + 1496,
            "truncated or padded frame: {}",
            hex(f)
        );
        assert_eq!(f.vlan_ids(), [20, 100], "{}", hex(f));
    }
    assert!(
        echoes.len() >= fits.transmitted as usize,
        "{} of {} 1496-byte echoes on the wire\n{}",
        echoes.len(),
        fits.transmitted,
        d1.diag(&world)
    );
}
