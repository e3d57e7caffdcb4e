//! Unit tests of lowering on hand-built kernel snapshots (node1 of the
//! spec's VXLAN/VLAN examples).

use std::collections::HashMap;
use std::net::IpAddr;

use xsdn_common::{SteerKey, SteerKind};
use xsdn_dataplane::tables::{BdEncap, Tpid, Vid, Vni};
use xsdn_dataplane::wire::EthernetAddress;

use super::*;
use crate::compile::{BridgeKind, COMPILED_NODE_FORMAT, ZoneKind};
use crate::compile::{CompiledNode, Encap, VnetTable};
use crate::config::model::VlanProtocol;
use crate::node::kernel_state::Neighbour;
use crate::node::kernel_state::{KernelState, Link, RouteTo};
use xsdn_dataplane::tables::PortRole;

fn link(ifindex: u32, name: &str, kind: Option<&str>, master: Option<u32>) -> Link {
    Link::for_test(ifindex, name, kind, master)
}

/// node1 of the spec's VXLAN/VLAN examples: vmbr0 (eno1), VNet bridges
/// with a guest tap each plus the kernel-side vxlan device.
fn kernel() -> KernelState {
    let mut k = KernelState::default();
    for l in [
        link(2, "eno1", Some("veth"), Some(3)),
        link(3, "vmbr0", Some("bridge"), None),
        link(4, "myvnet1", Some("bridge"), None),
        link(5, "tap101i0", Some("veth"), Some(4)),
        link(6, "vxlan_myvnet1", Some("vxlan"), Some(4)),
        link(7, "vlanvnet", Some("bridge"), None),
        link(8, "tap102i0", Some("veth"), Some(7)),
        link(9, "ln_vlanvnet", Some("veth"), Some(7)),
    ] {
        k.links.insert(l.ifindex, l);
    }
    k.neighbours.push(Neighbour {
        ifindex: 3,
        ip: "192.168.0.3".parse().expect("ip"),
        mac: Some([2, 0, 0, 0, 0, 0x33]),
        usable: true,
    });
    k
}

fn vnet(name: &str, zone: &str, encap: Encap) -> VnetTable {
    VnetTable {
        name: name.into(),
        zone: zone.into(),
        zone_type: ZoneKind::Vxlan,
        alias: None,
        vlanaware: false,
        isolate_ports: false,
        mac_learning: true,
        mtu: None,
        subnets: Vec::new(),
        encap,
    }
}

fn compiled(vnets: Vec<VnetTable>) -> CompiledNode {
    CompiledNode {
        format: COMPILED_NODE_FORMAT,
        node: "node1".into(),
        config_version: None,
        zones: Vec::new(),
        vnets,
        skipped: Vec::new(),
        warnings: Vec::new(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn vxlan_vnet() -> VnetTable {
    vnet(
        "myvnet1",
        "vx",
        Encap::Vxlan {
            vni: vni(100000),
            udp_port: 4789,
            local_ip: Some(ip("192.168.0.1")),
            peers: vec![ip("192.168.0.2"), ip("192.168.0.3")],
        },
    )
}

fn routes() -> HashMap<IpAddr, RouteTo> {
    ["192.168.0.2", "192.168.0.3"]
        .iter()
        .map(|p| {
            (
                ip(p),
                RouteTo {
                    oif: 3,
                    source: Some(ip("192.168.0.1")),
                    gateway: None,
                },
            )
        })
        .collect()
}

#[test]
fn vxlan_vnet_takes_its_guest_and_the_routed_uplink() {
    let mut slots = SlotAllocator::default();
    let plan = lower(
        &compiled(vec![vxlan_vnet()]),
        &kernel(),
        &routes(),
        &LowerSettings::default(),
        &mut slots,
    );
    let names: Vec<(&str, Steering)> = plan
        .ports
        .values()
        .map(|p| (p.name.as_str(), p.steering))
        .collect();
    assert!(names.contains(&("tap101i0", Steering::All)), "{names:?}");
    assert!(names.contains(&("eno1", Steering::Matched)), "{names:?}");
    assert!(
        !names.iter().any(|(n, _)| *n == "vxlan_myvnet1"),
        "kernel plumbing is not a guest port: {names:?}"
    );
    assert_eq!(plan.tables.local_vtep_ips, vec![ip("192.168.0.1")]);
    assert_eq!(
        plan.steer,
        vec![
            SteerKey {
                ifindex: 2,
                kind: SteerKind::UdpDstPort as u32,
                value: 4789
            },
            SteerKey {
                ifindex: 2,
                kind: SteerKind::VxlanVni as u32,
                value: 100_000
            }
        ]
    );
    // .3 has a neighbour entry, .2 has not: one resolved, one to resolve.
    let vtep3 = plan.tables.vtep_by_ip[&ip("192.168.0.3")];
    let nh = plan.tables.vteps[usize::from(vtep3)]
        .next_hop
        .expect("resolved");
    assert_eq!(nh.dst_mac, EthernetAddress([2, 0, 0, 0, 0, 0x33]));
    assert_eq!(
        nh.src_mac,
        EthernetAddress([2, 0, 0, 0, 0, 3]),
        "vmbr0's MAC"
    );
    assert_eq!(plan.tables.ports[nh.port.index()].name, "eno1");
    assert_eq!(plan.unresolved, vec![(3, ip("192.168.0.2"))]);
    plan.tables.validate().expect("valid tables");
}

#[test]
fn vlan_vnet_steers_its_tag_on_the_bridge_port() {
    let v = vnet(
        "vlanvnet",
        "vl",
        Encap::Vlan {
            bridge: "vmbr0".into(),
            bridge_kind: BridgeKind::Linux,
            ports: vec!["eno1".into()],
            tag: vid(10),
        },
    );
    let mut slots = SlotAllocator::default();
    let plan = lower(
        &compiled(vec![v]),
        &kernel(),
        &HashMap::new(),
        &LowerSettings::default(),
        &mut slots,
    );
    assert_eq!(
        plan.steer,
        vec![SteerKey {
            ifindex: 2,
            kind: SteerKind::Dot1qVid as u32,
            value: 10
        }]
    );
    let guests: Vec<&str> = plan
        .ports
        .values()
        .filter(|p| p.steering == Steering::All)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(guests, ["tap102i0"], "ln_ veth is plumbing");
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
}

#[test]
fn qinq_8021ad_steers_the_service_tag_with_its_protocol() {
    let v = vnet(
        "vlanvnet",
        "qq",
        Encap::Qinq {
            bridge: "vmbr0".into(),
            bridge_kind: BridgeKind::Linux,
            ports: vec!["eno1".into()],
            service_tag: vid(20),
            protocol: VlanProtocol::Dot1Ad,
            customer_tag: Some(vid(100)),
        },
    );
    let plan = lower(
        &compiled(vec![v]),
        &kernel(),
        &HashMap::new(),
        &LowerSettings::default(),
        &mut SlotAllocator::default(),
    );
    assert_eq!(plan.steer[0].kind, SteerKind::Dot1adVid as u32);
    assert_eq!(plan.steer[0].value, 20);
    let bd = &plan.tables.bds[0];
    assert_eq!(
        bd.encap,
        BdEncap::QinQ {
            s_tpid: Tpid::Dot1ad,
            s_vid: vid(20),
            c_vid: Some(vid(100))
        }
    );
}

#[test]
fn slots_are_stable_and_not_reused_at_once() {
    let mut slots = SlotAllocator::default();
    let k = kernel();
    let t = compiled(vec![vxlan_vnet()]);
    let first = lower(&t, &k, &routes(), &LowerSettings::default(), &mut slots);
    let again = lower(&t, &k, &routes(), &LowerSettings::default(), &mut slots);
    assert_eq!(first.ports, again.ports, "same interfaces, same slots");
    let tap_slot = *first
        .ports
        .iter()
        .find(|(_, p)| p.name == "tap101i0")
        .expect("tap")
        .0;
    // The guest goes away and another one arrives.
    let mut k2 = k.clone();
    k2.links.remove(&5);
    k2.links
        .insert(10, link(10, "tap103i0", Some("veth"), Some(4)));
    let later = lower(&t, &k2, &routes(), &LowerSettings::default(), &mut slots);
    let new_slot = *later
        .ports
        .iter()
        .find(|(_, p)| p.name == "tap103i0")
        .expect("new tap")
        .0;
    assert_ne!(new_slot, tap_slot, "a freed slot is not reused at once");
    assert!(matches!(
        later.tables.ports[new_slot.index()].role,
        PortRole::Guest { .. }
    ));
}

#[test]
fn missing_bridge_and_explicit_ports() {
    let mut settings = LowerSettings::default();
    settings.ports.insert("tap102i0".into(), "nobridge".into());
    let v = vnet("nobridge", "s", Encap::Local);
    let plan = lower(
        &compiled(vec![v]),
        &kernel(),
        &HashMap::new(),
        &settings,
        &mut SlotAllocator::default(),
    );
    let names: Vec<&str> = plan.ports.values().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["tap102i0"]);
    let plan2 = lower(
        &compiled(vec![vnet("ghost", "s", Encap::Local)]),
        &kernel(),
        &HashMap::new(),
        &LowerSettings::default(),
        &mut SlotAllocator::default(),
    );
    assert!(plan2.ports.is_empty());
    assert!(
        plan2
            .diagnostics
            .iter()
            .any(|d| d.message.contains("no kernel bridge named ghost")
                && d.section.as_deref() == Some("vnet 'ghost'")),
        "{:?}",
        plan2.diagnostics
    );
}

#[test]
fn evpn_zones_are_reported_once_and_keep_their_counter_slots() {
    let evpn = |name: &str| {
        vnet(
            name,
            "evz",
            Encap::Evpn {
                vni: vni(20000),
                vrf_vni: Some(vni(10000)),
                vrf: "vrf_evz".into(),
                udp_port: 4789,
                local_ip: Some(ip("192.168.0.1")),
                anycast_mac: None,
                arp_nd_suppression: true,
                bgp_peers: Vec::new(),
            },
        )
    };
    let plan = lower(
        &compiled(vec![evpn("ev1"), evpn("ev2")]),
        &kernel(),
        &HashMap::new(),
        &LowerSettings::default(),
        &mut SlotAllocator::default(),
    );
    assert!(plan.tables.bds.is_empty(), "the kernel path serves EVPN");
    assert_eq!(plan.vnet_counters.len(), 2);
    let texts: Vec<String> = plan.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "dataplane: zone 'evz': EVPN zones are not forwarded by the dataplane yet (the kernel path serves them)"
        ]
    );
}

#[test]
fn plumbing_is_never_a_guest_port() {
    for (name, kind) in [
        ("vxlan_myvnet1", Some("vxlan")),
        ("ln_vlanvnet", Some("veth")),
        ("pr_vlanvnet", Some("veth")),
        ("eno1.10", Some("veth")),
        ("vmbr9", Some("bridge")),
        ("sv_x", None),
    ] {
        assert!(plumbing::is_plumbing(&link(9, name, kind, None)), "{name}");
    }
    for name in ["tap101i0", "veth100i0", "fwpr100p0"] {
        assert!(
            !plumbing::is_plumbing(&link(9, name, Some("veth"), None)),
            "{name}"
        );
    }
}

fn vid(v: u16) -> Vid {
    Vid::new(v).expect("VLAN id")
}

fn vni(v: u32) -> Vni {
    Vni::new(v).expect("VNI")
}
