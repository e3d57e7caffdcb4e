//! Interface rendering over small hand-written configurations.

use crate::config::parse_running;
use crate::node::interfaces::InterfacesFile;
use crate::node::{NodeFacts, RouteSource};
use crate::render::render_interfaces;

fn facts(ifaces: &str) -> NodeFacts {
    let mut f = NodeFacts::from_interfaces("n1", &InterfacesFile::parse(ifaces));
    f.set_route_source(Some(RouteSource {
        ip: "192.0.2.10".parse().unwrap(),
        iface: "vmbr0".into(),
    }));
    f
}

const BRIDGE: &str =
    "auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tbridge-ports eno1 eno2\n";

#[test]
fn simple_zone_routed_32_snat_alias_and_nodes() {
    let cfg = parse_running(
        r#"{"version": 3,
        "zones": {"ids": {"s": {"type": "simple", "mtu": 1400},
                          "other": {"type": "simple", "nodes": {"n2": 1}}}},
        "vnets": {"ids": {"v1": {"type": "vnet", "zone": "s", "alias": "my net"},
                          "v2": {"type": "vnet", "zone": "other"}}},
        "subnets": {"ids": {"s-203.0.113.7-32": {"type": "subnet", "vnet": "v1", "gateway": "198.51.100.1"},
                            "s-10.1.0.0-16": {"type": "subnet", "vnet": "v1", "gateway": "10.1.0.1", "snat": 1}}}}"#,
        ".running-config",
    );
    assert!(cfg.diagnostics.is_empty(), "{:?}", cfg.diagnostics);
    let out = render_interfaces(&cfg.config, &facts(BRIDGE));
    assert_eq!(
        out.text,
        "#version:3\n\nauto v1\niface v1\n\
         \taddress 10.1.0.1/16\n\
         \tpost-up iptables -t nat -A POSTROUTING -s '10.1.0.0/16' -o vmbr0 -j SNAT --to-source 192.0.2.10\n\
         \tpost-down iptables -t nat -D POSTROUTING -s '10.1.0.0/16' -o vmbr0 -j SNAT --to-source 192.0.2.10\n\
         \tpost-up iptables -t raw -I PREROUTING -i fwbr+ -j CT --zone 1\n\
         \tpost-down iptables -t raw -D PREROUTING -i fwbr+ -j CT --zone 1\n\
         \taddress 198.51.100.1/32\n\
         \tup ip route add 203.0.113.7/32 dev v1\n\
         \tbridge_ports none\n\tbridge_stp off\n\tbridge_fd 0\n\tmtu 1400\n\talias my net\n\tip-forward on\n"
    );
}

#[test]
fn vlan_on_plain_bridge_uses_every_physical_port() {
    let cfg = parse_running(
        r#"{"version": 1, "zones": {"ids": {"z": {"type": "vlan", "bridge": "vmbr0"}}},
        "vnets": {"ids": {"v": {"type": "vnet", "zone": "z", "tag": 7}}}}"#,
        "rc",
    );
    let out = render_interfaces(&cfg.config, &facts(BRIDGE));
    assert!(
        out.text
            .contains("\nauto vmbr0v7\niface vmbr0v7\n\tbridge_ports  eno1.7 eno2.7 pr_v\n"),
        "{}",
        out.text
    );
}

#[test]
fn broken_vnets_are_skipped_with_a_warning() {
    let cfg = parse_running(
        r#"{"version": 1, "zones": {"ids": {"z": {"type": "vlan", "bridge": "vmbr9"},
                                            "x": {"type": "vxlan", "peers": "192.0.2.10,192.0.2.11"}}},
        "vnets": {"ids": {"v": {"type": "vnet", "zone": "z", "tag": 7},
                          "w": {"type": "vnet", "zone": "x"},
                          "y": {"type": "vnet", "zone": "nope"}}}}"#,
        "rc",
    );
    let out = render_interfaces(&cfg.config, &facts(BRIDGE));
    assert_eq!(out.text, "#version:1\n");
    assert_eq!(
        out.warnings,
        vec![
            "zone z : vnet v : can't find bridge vmbr9",
            "zone x : vnet w : missing vxlan tag",
            "can't generate vnet 'y': zone nope don't exist",
        ]
    );
}
