//! Compile tests: fixtures and invariants.

use std::net::IpAddr;

use proptest::prelude::*;

use super::*;
use crate::config::{VlanProtocol, parse_running};
use crate::node::RouteSource;
use crate::node::interfaces::InterfacesFile;

const IFACES: &str = "\
auto vmbr0
iface vmbr0 inet static
\taddress 192.168.0.1/24
\tbridge-ports eth0 eth1
\tbridge-vlan-aware yes
";

fn facts(name: &str) -> NodeFacts {
    let mut f = NodeFacts::from_interfaces(name, &InterfacesFile::parse(IFACES));
    f.set_route_source(Some(RouteSource {
        ip: "192.168.0.1".parse().unwrap(),
        iface: "vmbr0".into(),
    }));
    f
}

const CFG: &str = r#"{"version": 9,
 "zones": {"ids": {
   "vl": {"type": "vlan", "bridge": "vmbr0", "bridge-disable-mac-learning": 1},
   "qq": {"type": "qinq", "bridge": "vmbr0", "tag": 20, "vlan-protocol": "802.1ad"},
   "vx": {"type": "vxlan", "peers": "192.168.0.1,192.168.0.2,192.168.0.3", "vxlan-port": 6000},
   "ev": {"type": "evpn", "controller": "ctl", "vrf-vxlan": 10000, "mac": "32:F4:05:FE:6C:0A",
          "exitnodes": {"n1": 1, "n2": 1}, "exitnodes-primary": "n2"},
   "si": {"type": "simple"},
   "off": {"type": "simple", "nodes": {"n9": 1}}}},
 "vnets": {"ids": {
   "v10": {"type": "vnet", "zone": "vl", "tag": 10, "isolate-ports": 1},
   "q1": {"type": "vnet", "zone": "qq", "tag": 100},
   "q0": {"type": "vnet", "zone": "qq"},
   "x1": {"type": "vnet", "zone": "vx", "tag": 100000},
   "e1": {"type": "vnet", "zone": "ev", "tag": 11000},
   "s1": {"type": "vnet", "zone": "si"},
   "o1": {"type": "vnet", "zone": "off"},
   "bad": {"type": "vnet", "zone": "vl"}}},
 "subnets": {"ids": {
   "ev-10.0.1.0-24": {"type": "subnet", "vnet": "e1", "gateway": "10.0.1.1", "snat": 1},
   "si-10.9.0.0-24": {"type": "subnet", "vnet": "s1", "gateway": "10.9.0.1", "snat": 1},
   "si-2001:db8::-64": {"type": "subnet", "vnet": "s1", "gateway": "2001:db8::1"}}},
 "controllers": {"ids": {"ctl": {"type": "evpn", "asn": 65000, "peers": "192.168.0.1,192.168.0.2"}}}}"#;

fn tables(node: &str) -> CompiledNode {
    let parsed = parse_running(CFG, ".running-config");
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    compile(&parsed.config, &facts(node)).unwrap()
}

#[test]
fn encapsulations_per_zone_type() {
    let t = tables("n1");
    assert_eq!(t.config_version, Some(9));
    let v10 = t.vnet("v10").unwrap();
    assert!(v10.isolate_ports && !v10.mac_learning);
    assert_eq!(
        v10.encap,
        Encap::Vlan {
            bridge: "vmbr0".into(),
            bridge_kind: BridgeKind::LinuxVlanAware,
            ports: vec!["eth0".into(), "eth1".into()],
            tag: vid(10)
        }
    );
    match &t.vnet("q1").unwrap().encap {
        Encap::Qinq {
            service_tag,
            protocol,
            customer_tag,
            ..
        } => {
            assert_eq!(
                (*service_tag, *protocol, *customer_tag),
                (vid(20), VlanProtocol::Dot1Ad, Some(vid(100)))
            );
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        t.vnet("q0").unwrap().encap,
        Encap::Qinq {
            customer_tag: None,
            ..
        }
    ));
    assert_eq!(
        t.vnet("x1").unwrap().encap,
        Encap::Vxlan {
            vni: vni(100000),
            udp_port: 6000,
            local_ip: Some("192.168.0.1".parse().unwrap()),
            peers: vec![
                "192.168.0.2".parse().unwrap(),
                "192.168.0.3".parse().unwrap()
            ],
        }
    );
    match &t.vnet("e1").unwrap().encap {
        Encap::Evpn {
            vni,
            vrf_vni,
            anycast_mac,
            bgp_peers,
            udp_port,
            ..
        } => {
            assert_eq!(
                (vni.get(), vrf_vni.map(|v| v.get()), *udp_port),
                (11000, Some(10000), 4789)
            );
            assert_eq!(anycast_mac.as_deref(), Some("32:f4:05:fe:6c:0a"));
            assert_eq!(bgp_peers, &vec!["192.168.0.2".parse::<IpAddr>().unwrap()]);
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(t.vnet("s1").unwrap().encap, Encap::Local);
    assert!(t.vnet("o1").is_none(), "zone not on this node");
    assert_eq!(t.skipped.len(), 1);
    assert_eq!(t.skipped[0].reason, "missing VLAN tag");
}

#[test]
fn zones_gateways_snat_and_exit_roles() {
    let t = tables("n1");
    let si = t.zone("si").unwrap();
    assert_eq!(si.default_route, DefaultRoute::Host);
    assert_eq!(si.gateways.len(), 2);
    assert_eq!(si.snat.len(), 1);
    assert_eq!(
        si.snat[0].to_source,
        "192.168.0.1".parse::<IpAddr>().unwrap()
    );
    assert!(!t.zone("off").unwrap().participates);
    let ev = t.zone("ev").unwrap();
    assert_eq!(ev.exit.role, ExitRole::Secondary);
    assert_eq!(ev.default_route, DefaultRoute::Host);
    assert_eq!(ev.snat.len(), 1, "exit nodes apply SNAT");
    assert_eq!(ev.null_routes.len(), 2);
    assert_eq!(ev.mtu, Some(1450));
    let other = tables("n3");
    let ev3 = other.zone("ev").unwrap();
    assert_eq!(ev3.exit.role, ExitRole::None);
    assert!(ev3.snat.is_empty() && ev3.null_routes.is_empty());
    assert_eq!(
        ev3.default_route,
        DefaultRoute::Evpn {
            unreachable_metric: 4_278_198_272
        }
    );
    assert_eq!(
        tables("n2").zone("ev").unwrap().exit.role,
        ExitRole::Primary
    );
}

#[test]
fn json_field_names_are_stable() {
    let json = serde_json::to_value(tables("n1")).unwrap();
    let v = &json["vnets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "x1")
        .unwrap();
    assert_eq!(v["encap"]["type"], "vxlan");
    assert_eq!(v["encap"]["udp_port"], 6000);
    let q = &json["vnets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "q1")
        .unwrap();
    assert_eq!(q["encap"]["protocol"], "802.1ad");
    let ev = json["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["id"] == "ev")
        .unwrap();
    assert_eq!(ev["exit"]["role"], "secondary");
    assert_eq!(ev["default_route"]["kind"], "host");
    let back: CompiledNode = serde_json::from_value(json).unwrap();
    assert_eq!(back, tables("n1"));
}

proptest! {
    /// A VXLAN VNet's peers never contain the node's own address, whatever
    /// the peer list and wherever the node's address sits in it.
    #[test]
    fn vxlan_peers_never_contain_the_local_address(
        peers in proptest::collection::vec(any::<[u8; 4]>(), 0..6),
        own_at in proptest::option::of(0usize..6),
    ) {
        let own = IpAddr::from([192, 168, 0, 1]);
        let mut list: Vec<IpAddr> = peers.into_iter().map(IpAddr::from).collect();
        if let Some(i) = own_at {
            list.insert(i.min(list.len()), own);
        }
        let peers_s: Vec<String> = list.iter().map(ToString::to_string).collect();
        let json = format!(
            r#"{{"zones": {{"ids": {{"vx": {{"type": "vxlan", "peers": "{}"}}}}}},
                "vnets": {{"ids": {{"x": {{"type": "vnet", "zone": "vx", "tag": 5}}}}}}}}"#,
            peers_s.join(",")
        );
        let cfg = parse_running(&json, "rc").config;
        let t = compile(&cfg, &facts("n1")).unwrap();
        if let Some(Encap::Vxlan { peers, local_ip, .. }) = t.vnets.first().map(|v| &v.encap) {
            if let Some(local) = local_ip {
                prop_assert!(!peers.contains(local));
            }
            prop_assert!(!peers.contains(&own) || own_at.is_none());
        }
    }
}

#[test]
fn vlan_id_4095_is_refused_like_4096() {
    let json = r#"{"zones": {"ids": {
   "vl": {"type": "vlan", "bridge": "vmbr0"},
   "qq": {"type": "qinq", "bridge": "vmbr0", "tag": 30}}},
 "vnets": {"ids": {
   "top": {"type": "vnet", "zone": "vl", "tag": 4094},
   "resv": {"type": "vnet", "zone": "vl", "tag": 4095},
   "over": {"type": "vnet", "zone": "vl", "tag": 4096},
   "cres": {"type": "vnet", "zone": "qq", "tag": 4095}}}}"#;
    let t = compile(&parse_running(json, "rc").config, &facts("n1")).unwrap();
    assert!(matches!(
        t.vnet("top").unwrap().encap,
        Encap::Vlan { tag, .. } if tag.get() == 4094
    ));
    let reasons: Vec<(&str, &str)> = t
        .skipped
        .iter()
        .map(|s| (s.vnet.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("cres", "customer VLAN tag 4095 is out of range 1..4094"),
            ("over", "VLAN tag 4096 is out of range 1..4094"),
            ("resv", "VLAN tag 4095 is out of range 1..4094"),
        ]
    );
}

#[test]
fn ovs_uplinks_exclude_internal_ports() {
    let ifaces = "\
iface eno1 inet manual
\tovs_type OVSPort
\tovs_bridge vmbr1

iface mgmt50 inet static
\taddress 10.50.0.2/24
\tovs_type OVSIntPort
\tovs_bridge vmbr1

auto vmbr1
iface vmbr1 inet manual
\tovs_type OVSBridge
\tovs_ports eno1 mgmt50
";
    let json = r#"{"zones": {"ids": {"vl": {"type": "vlan", "bridge": "vmbr1"}}},
 "vnets": {"ids": {"v7": {"type": "vnet", "zone": "vl", "tag": 7}}}}"#;
    let facts = NodeFacts::from_interfaces("n1", &InterfacesFile::parse(ifaces));
    let t = compile(&parse_running(json, "rc").config, &facts).unwrap();
    assert_eq!(
        t.vnet("v7").unwrap().encap,
        Encap::Vlan {
            bridge: "vmbr1".into(),
            bridge_kind: BridgeKind::Ovs,
            ports: vec!["eno1".into()],
            tag: vid(7)
        }
    );
    // render still adds its own internal port to the bridge's ovs_ports
    let sdn = crate::render::render_interfaces(&parse_running(json, "rc").config, &facts).text;
    assert!(
        sdn.contains("\nauto vmbr1\niface vmbr1\n\tovs_ports ln_v7\n"),
        "{sdn}"
    );
}

fn vid(v: u16) -> xsdn_common::Vid {
    xsdn_common::Vid::new(v).expect("VLAN id")
}

fn vni(v: u32) -> xsdn_common::Vni {
    xsdn_common::Vni::new(v).expect("VNI")
}
